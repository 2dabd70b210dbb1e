"""A small Wadler-style layout engine shared by the IR printers.

Printers build documents from `text`, `line` (a space, or a newline when its
group does not fit), `nest` and `group`; `render` lays them out at a width.
Both building blocks and `render` avoid recursion in the renderer, so very
deeply nested programs still print.
"""

from __future__ import annotations

from ir.immutable import immutable

WIDTH = 80
# Indentation stops growing here: a program nested thousands deep would
# otherwise print in space quadratic in its depth.
MAX_INDENT = 60


class Doc:
    __slots__ = ()

    def __add__(self, other: Doc | str) -> Doc:
        return Concat((self, as_doc(other)))

    def __radd__(self, other: str) -> Doc:
        return Concat((as_doc(other), self))


@immutable
class Text(Doc):
    text: str


@immutable
class Line(Doc):
    """A break: `flat` when its group fits on the line, else a newline."""

    flat: str = " "


@immutable
class HardLine(Doc):
    """Always a newline; a group containing one never lays out flat."""


@immutable
class Nest(Doc):
    indent: int
    doc: Doc


@immutable
class Group(Doc):
    doc: Doc


@immutable
class Concat(Doc):
    parts: tuple[Doc, ...]


def as_doc(d: Doc | str) -> Doc:
    return Text(d) if isinstance(d, str) else d


def text(s: str) -> Doc:
    return Text(s)


line = Line()
softline = Line("")
hardline = HardLine()


def concat(*parts: Doc | str) -> Doc:
    return Concat(tuple(as_doc(p) for p in parts))


def join(sep: Doc | str, docs: list[Doc]) -> Doc:
    out: list[Doc] = []
    for i, d in enumerate(docs):
        if i:
            out.append(as_doc(sep))
        out.append(d)
    return Concat(tuple(out))


def nest(indent: int, *parts: Doc | str) -> Doc:
    return Nest(indent, concat(*parts))


def group(*parts: Doc | str) -> Doc:
    return Group(concat(*parts))


_INFINITE = 1 << 60


def _flat_widths(root: Doc) -> dict[int, int]:
    """Width of every Group laid out flat (_INFINITE if it holds a hard line)."""
    widths: dict[int, int] = {}
    stack: list[tuple[Doc, bool]] = [(root, False)]
    while stack:
        doc, done = stack.pop()
        key = id(doc)
        if key in widths:
            continue
        if isinstance(doc, Text):
            widths[key] = len(doc.text)
        elif isinstance(doc, Line):
            widths[key] = len(doc.flat)
        elif isinstance(doc, HardLine):
            widths[key] = _INFINITE
        else:
            children = doc.parts if isinstance(doc, Concat) else (doc.doc,)
            if done:
                widths[key] = min(_INFINITE, sum(widths[id(c)] for c in children))
            else:
                stack.append((doc, True))
                stack.extend((c, False) for c in children)
    return widths


def render(doc: Doc, width: int = WIDTH) -> str:
    widths = _flat_widths(doc)
    out: list[str] = []
    column = 0
    # (indent, flat?, doc) in reverse order of output
    stack: list[tuple[int, bool, Doc]] = [(0, False, doc)]
    while stack:
        indent, flat, d = stack.pop()
        if isinstance(d, Text):
            out.append(d.text)
            column += len(d.text)
        elif isinstance(d, Line):
            if flat:
                out.append(d.flat)
                column += len(d.flat)
            else:
                out.append("\n" + " " * indent)
                column = indent
        elif isinstance(d, HardLine):
            out.append("\n" + " " * indent)
            column = indent
        elif isinstance(d, Concat):
            stack.extend((indent, flat, p) for p in reversed(d.parts))
        elif isinstance(d, Nest):
            stack.append((min(indent + d.indent, MAX_INDENT), flat, d.doc))
        elif isinstance(d, Group):
            fits = flat or column + widths[id(d)] <= width
            stack.append((indent, fits, d.doc))
    # No trailing spaces: snapshot files must diff cleanly.
    return "\n".join(l.rstrip() for l in "".join(out).split("\n"))
