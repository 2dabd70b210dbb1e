"""Reading the layout IR back from its printed text (extends ir/defunc_syntax.py).

    proc    ::= "proc" NAME "(" x ":" T ")" "{" captures "}" "->" T
                "frame" "(" INT "cells" "of" "locals" ")" row*
                "body" seq
    row     ::= "fp[" INT "]" CELL                 one line each
    binders ::= let x : T @fp[k] = ...            `Done (v : T @fp[k]) -> ...
    apply   ::= ... | "tailcall" NAME atom atom   a self call in tail position

A variable's place is its binder's. The frame is what closure-layout makes
of the header and the binders (the return slot, the argument and the
captures below fp, then each local in the order its binder is met) with the
written number of local cells; its table, printed in full, must say the same
cell for cell, and a row that does not is an error.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from pyrsistent import pmap

from ir import layout as L
from ir.defunc_syntax import DefuncParser, DefuncReconstruction
from ir.source import CompileError, Source, Span
from ir.type_reconstruction import Binding
from ir.types import InfiniteSize

_ROW = re.compile(r"\s*fp\[(-?[0-9]+)\][ \t]+(\S+)")


@dataclass(frozen=True)
class WrittenFrame:
    """A frame as the text writes it, until the procedure's frame is built to match it."""

    locals_size: int
    rows: tuple[tuple[int, str, Span], ...]
    span: Span


class LayoutParser(DefuncParser):
    forms = {**DefuncParser.forms, **{form.__name__: form for form in (
        L.Var, L.Let, L.Stat, L.Call, L.Proc, L.Program)}}
    calls = {"call": {"tail": False}, "tailcall": {"tail": True}}

    def reconstruction(self) -> LayoutReconstruction:
        return LayoutReconstruction(self.types.table)

    def prefix_let(self):
        if self.peek_after().text == "rec":  # a recursive function is a procedure by now
            raise CompileError("the layout IR has no `let rec`", self.peek_after().span)
        return super().prefix_let()

    def annotation(self, binder: str, name: str) -> dict:
        written = super().annotation(binder, name)
        self.expect("@", f" and the place of `{name}` in the frame, @fp[k]")
        self.expect_word("fp")
        self.expect("[")
        negative = self.at("-")
        if negative:
            self.advance()
        if self.peek.kind != "int":
            self.error("a frame offset")
        offset = int(self.advance().text) * (-1 if negative else 1)
        self.expect("]")
        return {**written, "offset" if binder == "let" else "done_offset": offset}

    def expect_word(self, word: str) -> None:
        if self.peek.kind != "ident" or self.peek.text != word:
            self.error(f"`{word}`")
        self.advance()

    def proc_body(self) -> dict:
        start = self.peek.span
        self.expect_word("frame")
        self.expect("(")
        if self.peek.kind != "int":
            self.error("the number of cells of locals")
        locals_size = int(self.advance().text)
        for word in ("cells", "of", "locals"):
            self.expect_word(word)
        self.expect(")")
        span = self.span_from(start)
        rows = self.read_in_place(self.rows)
        self.expect_word("body")
        return {"frame": WrittenFrame(locals_size, rows, span), "body": self.seq()}

    def rows(self, start: int) -> tuple[tuple, int]:
        rows, end = [], start
        while (m := _ROW.match(self.source.text, end)) is not None:
            rows.append((int(m.group(1)), m.group(2), Span(m.start(1) - 3, m.end())))
            end = m.end()
        return tuple(rows), end


class LayoutReconstruction(DefuncReconstruction):
    """defunc's rules; each variable is where its binder put it, and each
    procedure's frame is built from its header and its binders."""

    def type_proc(self, proc) -> None:
        try:
            incoming = L.incoming_frame(proc.param, proc.param_type, proc.captures, proc.result_type)
        except InfiniteSize as cycle:
            raise CompileError(str(cycle), proc.span) from None
        self.incoming, self.locals = incoming, []
        super().type_proc(proc)
        written: WrittenFrame = proc.frame
        frame = dataclasses.replace(incoming, locals_size=written.locals_size,
                                    slots=incoming.slots + tuple(self.locals))
        check_table(frame, written)
        self.filled[id(proc)] = {"frame": frame}

    def proc_scope(self, proc):
        _, argument, *captures = self.incoming.slots
        return pmap({s.name: Binding(s.type, s.offset) for s in (argument, *captures)})

    def let_binding(self, e) -> Binding:
        self.locals.append(L.Slot(e.name, e.offset, e.type))
        return Binding(e.type, e.offset)

    def done_binding(self, e) -> Binding:
        self.locals.append(L.Slot(e.done_name, e.done_offset, e.type))
        return Binding(e.type, e.done_offset)

    def term_Var(self, e, scope):
        binding = scope.get(e.name)
        if binding is None:
            raise CompileError(f"`{e.name}` is not bound here, so it has no place in the frame", e.span)
        self.filled[id(e)] = {"offset": binding.offset}
        return binding.type


def check_table(frame: L.Frame, written: WrittenFrame) -> None:
    """The written table says, row for row, what the frame holds."""
    try:
        rows = L.frame_rows(frame)
    except InfiniteSize as cycle:
        raise CompileError(str(cycle), written.span) from None
    for (offset, cell), (written_offset, written_cell, span) in zip(rows, written.rows):
        if (offset, cell) != (written_offset, written_cell):
            raise CompileError(f"this row should read `fp[{offset}]  {cell}`: the frame the header and the "
                               f"binders give has that cell here", span)
    if len(written.rows) > len(rows):
        raise CompileError("this row is beyond the frame the header and the binders give",
                           written.rows[len(rows)][2])
    if len(rows) > len(written.rows):
        offset, cell = rows[len(written.rows)]
        raise CompileError(f"the frame table lacks the row `fp[{offset}]  {cell}`", written.span)


def parse_program(text: str, name: str) -> L.Program:
    return LayoutParser(Source(name, text)).program()
