"""Source text, spans, and compiler diagnostics.

A diagnostic is rendered the way C compilers do it, so editors and people
both understand it:

    prog.co:3:9: error: expected `in`, found `then`
        3 | let x = 1 then 2
          |           ^^^^
"""

from __future__ import annotations

from ir.immutable import immutable


@immutable
class Span:
    """Half-open range of character offsets into a source text."""

    start: int
    end: int

    def to(self, other: Span) -> Span:
        return Span(min(self.start, other.start), max(self.end, other.end))


class Source:
    """A program's text and the name of its file; a value of its own, equal only to itself."""

    __slots__ = ("name", "text", "_line_starts")

    def __init__(self, name: str, text: str):
        if text.startswith("\ufeff"):  # a byte-order mark is not part of the program
            text = text[1:]
        starts = [0]
        end = text.find("\n")
        while end >= 0:
            starts.append(end + 1)
            end = text.find("\n", end + 1)
        for slot, value in (("name", name), ("text", text), ("_line_starts", tuple(starts))):
            object.__setattr__(self, slot, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to {name!r} of a Source")

    def __repr__(self) -> str:
        return f"Source(name={self.name!r})"

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        from bisect import bisect_right  # here: most runs never ask, and importing it is not free

        line = bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def offset(self, line: int, column: int) -> int:
        """The character offset of a 1-based (line, column), clamped to the text."""
        line = min(max(line, 1), len(self._line_starts))
        return min(self._line_starts[line - 1] + max(column, 1) - 1, len(self.text))

    def line_text(self, line: int) -> str:
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start : end if end >= 0 else len(self.text)]

    def location(self, span: Span) -> str:
        line, col = self.position(span.start)
        return f"{self.name}:{line}:{col}"


@immutable
class Note:
    message: str
    span: Span | None = None


class CompileError(Exception):
    """A problem in the user's program: reported as a diagnostic, exit status 1."""

    def __init__(self, message: str, span: Span | None, notes: tuple[Note, ...] = ()):
        super().__init__(message)
        self.message = message
        self.span = span
        self.notes = notes


def render_diagnostic(
    source: Source, severity: str, message: str, span: Span | None, notes: tuple[Note, ...] = ()
) -> str:
    """The full text of one diagnostic with its notes, ending in a newline."""
    parts = [_render_one(source, severity, message, span)]
    parts.extend(_render_one(source, "note", note.message, note.span) for note in notes)
    return "".join(parts)


_MAX_SHOWN = 120  # characters of a source line shown under a diagnostic


def _render_one(source: Source, severity: str, message: str, span: Span | None) -> str:
    if span is None:
        return f"{source.name}: {severity}: {message}\n"
    line, col = source.position(span.start)
    text = source.line_text(line).replace("\t", " ")
    # The caret run covers the span but stops at the end of its first line.
    width = max(1, min(span.end - span.start, len(text) - (col - 1)))
    start = col - 1
    if len(text) > _MAX_SHOWN:  # a very long line: show a window around the caret
        first = max(0, start - _MAX_SHOWN // 4)
        width = min(width, _MAX_SHOWN // 2)
        more = "..." if first + _MAX_SHOWN < len(text) else ""
        text = ("..." if first else "") + text[first : first + _MAX_SHOWN] + more
        start = start - first + (3 if first else 0)
    gutter = f"{line:5d} | "
    underline = " " * start + "^" * width
    return (
        f"{source.name}:{line}:{col}: {severity}: {message}\n"
        f"{gutter}{text}\n"
        f"{' ' * (len(gutter) - 2)}| {underline}\n"
    )
