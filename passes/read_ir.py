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


@dataclass(frozen=True)
class ReadTyped(ReadIR):
    name = "read-typed"
    output_ir = "typed"
    summary = "read a program written in the typed IR (a .typed file)"


@dataclass(frozen=True)
class ReadDefunc(ReadIR):
    name = "read-defunc"
    output_ir = "defunc"
    summary = "read a program written in the defunc IR (a .defunc file)"


@dataclass(frozen=True)
class ReadLayout(ReadIR):
    name = "read-layout"
    output_ir = "layout"
    summary = "read a program written in the layout IR (a .layout file)"


@dataclass(frozen=True)
class ReadBlocks(ReadIR):
    name = "read-blocks"
    output_ir = "blocks"
    summary = "read a hand-written blocks listing (a .blocks file)"
