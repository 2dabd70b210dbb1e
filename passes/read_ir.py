"""read-typed, read-defunc, read-layout, read-blocks: source -> an IR, for
programs written in an IR's text.

Every IR's printed text parses back into the IR (its IRSpec's `parser`), so
a program may start anywhere in the pipeline: `python -m passes prog.defunc`
reads one with read-defunc and runs the passes after defunc. A text that
parses but breaks its IR's rules is its writer's error, reported at the
offending node like a syntax error, not as a pass's bug.
"""

from __future__ import annotations

from dataclasses import dataclass

import ir
from ir import VerifyError
from ir.source import CompileError, Source
from passes.framework import Pass


@dataclass(frozen=True)
class ReadIR(Pass):
    input_ir = "source"

    def run(self, program: Source):
        spec = ir.lookup(self.output_ir)
        read = spec.parser(program.text, program.name)
        try:
            spec.verifier(read)
        except VerifyError as broken:
            raise CompileError(f"this program breaks the {spec.name} rule {broken.rule!r}: {broken.message}",
                               getattr(broken.node, "span", None)) from None
        return read


def _reading(ir_name: str) -> type[ReadIR]:
    """The pass `read-<IR>`."""
    return type(f"Read{ir_name.title()}", (ReadIR,), {
        "__module__": __name__, "name": f"read-{ir_name}", "output_ir": ir_name,
        "summary": f"read a program written in the {ir_name} IR (a .{ir_name} file)"})


ReadTyped = _reading("typed")
ReadDefunc = _reading("defunc")
ReadLayout = _reading("layout")
ReadBlocks = _reading("blocks")
