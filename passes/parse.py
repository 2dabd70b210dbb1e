"""parse: source -> surface.

Read the program's text with the co reader of `ir/surface_syntax.py` (a
hand-written lexer and a precedence-climbing parser for LANGUAGE.md's
grammar). The reader lives with the IR because it is the IR's own text
form: the surface printer's output parses back through it.
"""

from __future__ import annotations

from ir import surface as S
from ir.source import Source
from ir.surface_syntax import parse_program
from passes.framework import Pass


class Parse(Pass):
    name = "parse"
    input_ir = "source"
    output_ir = "surface"
    summary = "read the program's text into the surface IR"

    def run(self, program: Source) -> S.Program:
        return parse_program(program)
