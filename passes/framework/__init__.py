"""What a pass is.

A pass is a small immutable class: a `name`, the IR it reads, the IR it
writes (None for an analysis such as a checker, which hands its input on
unchanged), and `run`. A pass with options is a frozen dataclass whose
fields are its options; one without needs no decorator (the default
pipeline's passes have none, and importing dataclasses would slow the
start of every compile).

    class Tailcall(Pass):
        name = "tailcall"
        input_ir = "layout"
        output_ir = "layout"
        summary = "mark each self call in tail position"

        def run(self, program): ...

A pass outside the default pipeline (a plugin's, or an opt-in checker)
says where it goes when enabled with `runs_after`. A checker's `run`
returns the diagnostics it found (warnings, or errors that stop the
compile); a transformation's returns the new program.

A pass never mutates its input: IR nodes are immutable values, and a pass
returns a new program.
"""

from __future__ import annotations

from ir.immutable import immutable
from ir.source import Note, Span


class Pass:
    # Class attributes, the same for every instance of a pass:
    name: str
    input_ir: str
    output_ir: str | None
    summary: str
    runs_after: str | None = None

    def run(self, program: object) -> object:
        raise NotImplementedError

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"pass {self.name!r} is immutable: its options are the fields of a frozen dataclass")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@immutable
class Diagnostic:
    """One finding of a checker, rendered like a syntax error (ir.source.render_diagnostic)."""

    severity: str  # "error" stops the compile; "warning" does not
    message: str
    span: Span | None
    notes: tuple[Note, ...] = ()
