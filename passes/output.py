"""What the driver shows: IR listings (colored by rich on a terminal), tables, errors.

IR text is always produced by the IR's own plain-text printer, the same text
that snapshots store; color is only added on top, never changes a character.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from rich.console import Console
from rich.highlighter import RegexHighlighter
from rich.table import Table
from rich.theme import Theme

import ir
from ir.source import Source
from passes.pipeline import PassBroke
from passes.registry import Registry


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


class Stream:
    def __init__(self, file: TextIO, color: bool):
        self.file = file
        self.color = color
        self.console = Console(file=file, force_terminal=color, no_color=not color, highlight=False,
                               soft_wrap=True, theme=THEME)

    def write(self, text: str) -> None:
        self.file.write(text)
        self.file.flush()

    def write_ir(self, text: str) -> None:
        if self.color:
            self.console.print(IRHighlighter()(text.rstrip("\n")))
        else:
            self.write(text)


class Consoles:
    def __init__(self, color: bool | None):
        self.out = Stream(sys.stdout, sys.stdout.isatty() if color is None else color)
        self.err = Stream(sys.stderr, sys.stderr.isatty() if color is None else color)


def print_ir(console: Consoles, ir_name: str, program: Any, header: str | None = None) -> None:
    text = ir.lookup(ir_name).printer(program)
    if header is not None:
        console.out.write(f"# {header}\n")
    console.out.write_ir(text)


def list_passes(console: Consoles, registry: Registry) -> None:
    table = Table("pass", "reads", "writes", "what it does", "from", box=None, pad_edge=False)
    for entry in registry.available():
        p = entry.load()
        table.add_row(p.name, p.input_ir, p.output_ir or "(checks only)", p.summary, entry.origin)
    console.out.console.print(table)


def time_table(console: Consoles, timings: list[tuple[str, float]]) -> None:
    table = Table("pass", "ms", "share", title="time per pass", box=None, pad_edge=False)
    total = sum(seconds for _, seconds in timings) or 1e-9
    for name, seconds in timings:
        table.add_row(name, f"{seconds * 1000:.2f}", f"{100 * seconds / total:.0f}%")
    table.add_row("total", f"{total * 1000:.2f}", "100%")
    console.err.console.print(table)


def pass_broke(console: Consoles, broke: PassBroke) -> None:
    where = f" {broke.ir_name!r} IR" if broke.ir_name else ""
    console.err.write(f"error: pass {broke.pass_name!r} produced invalid{where}: {broke.message}\n")
    if broke.node_text:
        console.err.write("the offending node:\n")
        console.err.write("".join(f"    {line}\n" for line in broke.node_text.rstrip("\n").split("\n")))
    console.err.write("this is a bug in that pass, not in your program\n")


def runtime_error(source: Source, fault: Any) -> str:
    site = getattr(fault, "site", None)
    if site:
        line, col = (int(x) for x in site.split(":"))
        text = source.line_text(line) if 1 <= line <= source.text.count("\n") + 1 else ""
        return (f"{source.name}:{line}:{col}: runtime error: {fault.message}\n"
                f"{line:5d} | {text}\n      | {' ' * (col - 1)}^\n")
    return f"{source.name}: runtime error: {fault.message}\n"


def stats(console: Consoles, counts: Any) -> None:
    fields = counts if isinstance(counts, dict) else vars(counts)
    width = max(len(k) for k in fields)
    console.err.write("".join(f"{k.replace('_', ' '):<{width}}  {v}\n" for k, v in fields.items()))
