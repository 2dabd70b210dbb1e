"""read-blocks: source -> blocks, for bytecode written by hand.

The blocks IR's listing parses back into the IR it was printed from, so a
listing is also a program: `python -m passes prog.blocks` reads one with
this pass (instead of the co pipeline) and runs it on the VM.
"""

from __future__ import annotations

from ir import VerifyError, blocks
from ir.source import CompileError, Source
from passes.framework import Pass


class ReadBlocks(Pass):
    name = "read-blocks"
    input_ir = "source"
    output_ir = "blocks"
    summary = "read a hand-written blocks listing (the pipeline for a .blocks file)"

    def run(self, program: Source) -> blocks.Program:
        listing = blocks.IR.parser(program.text, program.name)
        try:
            blocks.verify(listing)  # here a broken program is the writer's, not a pass's
        except VerifyError as broken:
            raise CompileError(f"this listing breaks the rule {broken.rule!r}: {broken.message}", None) from None
        return listing
