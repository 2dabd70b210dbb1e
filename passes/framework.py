"""What a pass is.

A pass is a small frozen dataclass: a `name`, the IR it reads, the IR it
writes (None for an analysis such as a checker, which hands its input on
unchanged), and `run`. Its options are its dataclass fields.

    @dataclass(frozen=True)
    class MarkTailCalls(Pass):
        name = "tailcall"
        input_ir = "layout"
        output_ir = "layout"
        summary = "mark each self call in tail position"

        def run(self, program): ...

A pass never mutates its input: IR nodes are immutable values, and a pass
returns a new program.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Pass:
    name: ClassVar[str]
    input_ir: ClassVar[str]
    output_ir: ClassVar[str | None]
    summary: ClassVar[str]

    def run(self, program: Any) -> Any:
        raise NotImplementedError


class PassFailure(Exception):
    """A pass broke the framework's contract (not the user's program's fault)."""
