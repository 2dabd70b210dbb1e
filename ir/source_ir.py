"""The pipeline's starting point: a source file's text (ir.source.Source).
Any text is a valid input: the parser judges it."""

from ir import IRSpec
from ir.grammar import Grammar
from ir.source import Source

GRAMMAR = Grammar("source", """
    Program ::= Source                  the program's text, and the name of its file
""", kinds=(Source,))

IR = IRSpec(
    grammar=GRAMMAR,
    summary="the program's text",
    printer=lambda source: source.text,
)
