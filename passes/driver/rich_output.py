"""What the driver shows through rich: colored IR listings and tables.

Imported only when color or a table is printed: rich takes longer to import
than a small program takes to compile and run.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.highlighter import RegexHighlighter
from rich.table import Table
from rich.theme import Theme


class IRHighlighter(RegexHighlighter):
    base_style = "ir."
    highlights = [
        r"(?P<comment>#.*)",
        r"\b(?P<keyword>let|rec|in|if|then|else|spawn|yield|resume|stat|proc|call|ret)\b",
        r"(?P<tag>`(Pending|Done))",
        r"(?P<lambdaset>-\[[^\]]*\]->)",
        r"(?P<slot>fp\[-?\d+\])",
        r"\b(?P<number>-?\d+)\b",
        r"(?P<label>^\s*[A-Za-z_][\w.']*:)",
    ]


THEME = Theme({
    "ir.comment": "dim", "ir.keyword": "bold magenta", "ir.tag": "cyan", "ir.lambdaset": "yellow",
    "ir.slot": "green", "ir.number": "blue", "ir.label": "bold",
})


def console(file: TextIO, color: bool) -> Console:
    return Console(file=file, force_terminal=color, no_color=not color, highlight=False, soft_wrap=True, theme=THEME)


def print_ir(console: Console, text: str) -> None:
    console.print(IRHighlighter()(text.rstrip("\n")))


def print_time_table(console: Console, timings: list[tuple[str, float]]) -> None:
    table = Table("pass", "ms", "share", title="time per pass", box=None, pad_edge=False)
    total = sum(seconds for _, seconds in timings) or 1e-9
    for name, seconds in timings:
        table.add_row(name, f"{seconds * 1000:.2f}", f"{100 * seconds / total:.0f}%")
    table.add_row("total", f"{total * 1000:.2f}", "100%")
    console.print(table)
