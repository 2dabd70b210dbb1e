"""What the driver shows: IR listings (colored by rich on a terminal), tables, errors.

IR text is always produced by the IR's own plain-text printer, the same text
that snapshots store; color is only added on top, never changes a character.
Color and tables come from `rich_output`, imported only when they are printed.
"""

from __future__ import annotations

import re
import sys

import ir
from ir.source import Source, Span, render_diagnostic
from passes.framework.pipeline import PassBroke, PassCrashed
from passes.framework.registry import PluginError, Registry


class Stream:
    def __init__(self, file, color: bool):
        self.file = file
        self.color = color
        self._console = None

    @property
    def console(self):
        """A rich console on this stream, made when first needed."""
        if self._console is None:
            from passes.driver import rich_output

            self._console = rich_output.console(self.file, self.color)
        return self._console

    def write(self, text: str) -> None:
        self.file.write(text)
        self.file.flush()

    def write_ir(self, text: str) -> None:
        if self.color:
            from passes.driver import rich_output

            rich_output.print_ir(self.console, text)
        else:
            self.write(text)


class Consoles:
    def __init__(self, color: bool | None):
        self.out = Stream(sys.stdout, sys.stdout.isatty() if color is None else color)
        self.err = Stream(sys.stderr, sys.stderr.isatty() if color is None else color)


def print_ir(console: Consoles, ir_name: str, program: object, header: str | None = None) -> None:
    text = ir.lookup(ir_name).printer(program)
    if header is not None:
        console.out.write(f"# {header}\n")
    console.out.write_ir(text)


def list_passes(console: Consoles, registry: Registry) -> None:
    """Every pass, default pipeline first; optional ones show where they run when enabled.
    A plugin that cannot be loaded is listed with its problem instead of failing the listing.
    Plain aligned columns, never wrapped, so the listing reads the same in a pipe."""
    default = {entry.name for entry in registry.available()}
    rows = [("pass", "reads", "writes", "runs", "from", "what it does")]
    for entry in registry.entries():
        try:
            p = entry.load()
        except PluginError as problem:
            rows.append((entry.name, "?", "?", "?", entry.origin, f"cannot be loaded: {problem}"))
            continue
        runs = "always" if entry.name in default else f"after {p.runs_after}" if p.runs_after else "when placed"
        rows.append((p.name, p.input_ir, p.output_ir or "(checks)", runs, entry.origin, p.summary))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    console.out.write("".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] + "\n" for row in rows))


def time_table(console: Consoles, timings: list[tuple[str, float]]) -> None:
    from passes.driver import rich_output

    rich_output.print_time_table(console.err.console, timings)


def pass_broke(console: Consoles, broke: PassBroke, origin: str) -> None:
    where = f" {broke.ir_name!r} IR" if broke.ir_name else ""
    console.err.write(f"error: pass {broke.pass_name!r} produced invalid{where}: {broke.message}\n")
    span, source = getattr(broke.node, "span", None), getattr(broke.program, "source", None)
    if isinstance(span, Span) and span.end > span.start and isinstance(source, Source):
        console.err.write(render_diagnostic(source, "note", "the offending node comes from here", span))
    if broke.node_text:
        in_place = node_in_program(broke)
        if in_place:
            console.err.write(f"the offending node, marked `>` in the printed {broke.ir_name} IR:\n{in_place}")
        else:
            console.err.write("the offending node:\n")
            console.err.write("".join(f"    {line}\n" for line in broke.node_text.rstrip("\n").split("\n")))
    console.err.write(f"this is a bug in that pass ({origin}), not in your program\n")


CONTEXT_LINES = 3


def node_in_program(broke: PassBroke) -> str | None:
    """The printed program around the offending node, its lines marked; None if
    the printer cannot print the program or the node's first line is not in it."""
    try:
        program_lines = ir.lookup(broke.ir_name).printer(broke.program).rstrip("\n").split("\n")
    except Exception:  # the program is too broken to print: the node alone will do
        return None
    node_lines = broke.node_text.rstrip("\n").split("\n")
    first = re.escape(node_lines[0].strip())
    # Whole words only: a variable `x` is not the x of `max`.
    pattern = re.compile(rf"(?<!\w){first}(?!\w)")
    starts = [i for i, text in enumerate(program_lines) if first and pattern.search(text)]
    if not starts:
        return None
    start = starts[0]
    end = min(len(program_lines), start + len(node_lines))
    shown = range(max(0, start - CONTEXT_LINES), min(len(program_lines), end + CONTEXT_LINES))
    return "".join(f"{'>' if start <= i < end else ' '} {i + 1:4d} | {program_lines[i]}\n" for i in shown)


def pass_crashed(console: Consoles, crashed: PassCrashed, origin: str) -> None:
    console.err.write(f"error: pass {crashed.pass_name!r} failed: {crashed}\n"
                      f"this is a bug in that pass ({origin}), not in your program\n")


def runtime_error(source: Source, fault: object) -> str:
    site = getattr(fault, "site", None)
    span = None
    if site:
        at = source.offset(*(int(x) for x in site.split(":")))
        span = Span(at, at + 1)
    return render_diagnostic(source, "runtime error", fault.message, span)


def stats(console: Consoles, counts: object) -> None:
    fields = counts if isinstance(counts, dict) else {name: getattr(counts, name) for name in counts._fields}
    width = max(len(k) for k in fields)
    console.err.write("".join(f"{k.replace('_', ' '):<{width}}  {v}\n" for k, v in fields.items()))
