"""Offsets into a text <-> (line, column) as the Language Server Protocol counts them.

Both numbers are 0-based. A line ends at "\n", "\r\n" or "\r" (the three
line ends LSP knows), and a column counts UTF-16 code units, so a
character beyond U+FFFF (an emoji) is two columns wide. The analysis
speaks in offsets (indices into the Python string); an editor converts at
its edge with this.
"""

from __future__ import annotations

import bisect
import re

from ir.source import Span

_LINE_END = re.compile(r"\r\n|\r|\n")


class Positions:
    def __init__(self, text: str):
        self.text = text
        self._line_starts = [0, *(m.end() for m in _LINE_END.finditer(text))]

    def position(self, offset: int) -> tuple[int, int]:
        """The (line, UTF-16 column) of an offset, clamped to the text."""
        offset = min(max(offset, 0), len(self.text))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line, utf16_length(self.text[self._line_starts[line]:offset])

    def offset(self, line: int, column: int) -> int:
        """The offset of a (line, UTF-16 column). A line past the end is the end
        of the text; a column past the line's end is its end (before the line
        end); a column inside a character's two UTF-16 units is that character."""
        if line < 0:
            return 0
        if line >= len(self._line_starts):
            return len(self.text)
        start = self._line_starts[line]
        content = _LINE_END.split(self.text[start:self._next_line_start(line)], maxsplit=1)[0]
        if max(content, default="\0") <= "\uffff":  # one unit per character
            return start + min(max(column, 0), len(content))
        units = 0
        for index, ch in enumerate(content):
            units += 2 if ch > "\uffff" else 1
            if units > column:
                return start + index
        return start + len(content)

    def range(self, span: Span) -> tuple[tuple[int, int], tuple[int, int]]:
        """A span's start and end positions."""
        return self.position(span.start), self.position(span.end)

    def _next_line_start(self, line: int) -> int:
        return self._line_starts[line + 1] if line + 1 < len(self._line_starts) else len(self.text)


def utf16_length(text: str) -> int:
    """How many UTF-16 code units the text takes (a lone surrogate counts one)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
