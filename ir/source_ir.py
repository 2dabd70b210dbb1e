"""The pipeline's starting point: a source file's text (ir.source.Source)."""

from ir import IRSpec
from ir.source import Source


def _verify(program: Source) -> None:
    pass  # any text is a valid input; the parser judges it


IR = IRSpec(
    name="source",
    summary="the program's text",
    forms=(Source,),
    printer=lambda source: source.text,
    verifier=_verify,
)
