"""layout: defunc, with every value's place in its procedure's frame.

Its grammar is GRAMMAR below, a delta of defunc's. Offsets are relative
to fp (docs/machine.md, "Frames"); a value of size s at offset k occupies
fp[k] ... fp[k+s-1]. Sizes of types are `cell_size`.
"""

from __future__ import annotations

from ir import IRSpec, VerifyError
from ir import defunc
from ir import pretty as pp
from ir.pretty import concat, hardline, nest
from ir.scope import Scope
from ir.surface import SEQ
from ir.types import BoxT, Capture, ClosureT, FiberT, TupleT, Type, cell_size, show_type

GRAMMAR = defunc.GRAMMAR.extend("layout", """
    Proc ::= Proc(name: str, param: str, param_type: Type, captures: (Capture, ...), result_type: Type,
                  frame: Frame, body: Expr, span: Span)
                 printed with its frame as a table, one row per cell, then its body
    Frame ::= Frame(return_offset: int, arg_offset: int, captures_offset: int, locals_size: int,
                    slots: (Slot, ...))
                 slots: every named region (return slot, argument, captures, locals);
                 sibling scopes share cells
    Slot ::= Slot(name: str, offset: int, type: Type)  a named region: its lowest cell, its type
    Expr ::= ...
           - Var, Let, Stat, Call
           + Var(name: str, type: Type, offset: int)     where the variable lives
           + Let(name: str, offset: int, value: Expr, body: Expr, type: Type)
                 let x : T @fp[k] = value in body
           + Stat(fiber: Expr, pending: Expr, done_name: str, done_offset: int, done: Expr, type: Type)
                 stat fiber | `Pending -> pending | `Done (x : T @fp[k]) -> done
           + Call(proc: str, arg: Expr, closure: Expr, type: Type, tail: bool)
                 tailcall f arg closure, when tail: a self call in tail position, reusing the frame
""")
GRAMMAR.export(globals())  # the forms: layout.Proc, layout.Frame, layout.Var, ...; defunc's Program, Closure, ...

# The children of each form that are in tail position when the form is.
TAIL_CHILDREN = {Let: ("body",), If: ("then", "else_"), Seq: ("second",), Stat: ("pending", "done")}


def capture_offsets(captures_offset: int, captures: tuple[Capture, ...]) -> list[int]:
    """Where each capture lives: the record is a tuple, its first element on top."""
    offsets = []
    above = captures_offset + sum(cell_size(c.type) for c in captures)
    for capture in captures:
        above -= cell_size(capture.type)
        offsets.append(above)
    return offsets


def incoming_frame(param: str, param_type: Type, captures: tuple[Capture, ...], result_type: Type) -> Frame:
    """A procedure's frame before its locals: the return slot, the argument
    and each capture, below the saved pc and fp (docs/machine.md, "Frames")."""
    captures_offset = -(2 + sum(cell_size(c.type) for c in captures))
    arg_offset = captures_offset - cell_size(param_type)
    return_offset = arg_offset - cell_size(result_type)
    slots = (Slot("#return", return_offset, result_type), Slot(param, arg_offset, param_type),
             *(Slot(c.name, k, c.type) for c, k in zip(captures, capture_offsets(captures_offset, captures))))
    return Frame(return_offset, arg_offset, captures_offset, 0, slots)


def element_offsets(t: TupleT) -> tuple[int, ...]:
    """Where each element starts within a tuple's cells (the last element is lowest)."""
    offsets, above = [], 0
    for e in reversed(t.elems):
        offsets.append(above)
        above += cell_size(e)
    return tuple(reversed(offsets))


def cell_names(name: str, t: Type) -> list[str]:
    """A name for every cell of a value called `name`, lowest address first."""
    match t:
        case TupleT(elems):
            return [cell for i in reversed(range(len(elems))) for cell in cell_names(f"{name}.{i}", elems[i])]
        case FiberT(result):
            return [f"{name}.fibdirty", f"{name}.fibidx", *cell_names(f"{name}.value", result), f"{name}.bit"]
        case ClosureT(lambdas) if len(lambdas.names) == 1:
            captures = lambdas.table.captures(lambdas.names[0])
            return [cell for c in reversed(captures) for cell in cell_names(f"{name}.{c.name}", c.type)]
        case ClosureT():
            # The record cells mean different captures for different members.
            return [f"{name}#{i}" for i in range(cell_size(t) - 1)] + [f"{name}#tag"]
        case BoxT():
            return [f"{name}#box"]  # one cell, referring to the record
    return [name]


def frame_rows(frame: Frame) -> list[tuple[int, str]]:
    """The frame as a table: (offset, name) of every cell, by offset."""
    return sorted(((slot.offset + i, cell) for slot in frame.slots
                   for i, cell in enumerate(cell_names(slot.name, slot.type))), key=lambda row: row[0])


class Printer(defunc.Printer):
    """defunc's syntax, each procedure headed by its frame, one row per cell."""

    def proc_doc(self, proc) -> pp.Doc:
        rows = frame_rows(proc.frame)
        width = max((len(f"fp[{offset}]") for offset, _ in rows), default=0) + 2
        table = [concat(hardline, f"fp[{offset}]".ljust(width), cell) for offset, cell in rows]
        return concat(
            self.proc_head(proc),
            nest(2, hardline, f"frame ({proc.frame.locals_size} cells of locals)", nest(2, *table)),
            nest(2, hardline, "body", nest(2, hardline, self.doc(proc.body, SEQ))),
        )

    def binder(self, e, name: str, kind: str) -> str:
        if kind == "let":
            return f"{name} : {show_type(e.value.type)} @fp[{e.offset}]"
        return f"({name} : {show_type(e.fiber.type.result)} @fp[{e.done_offset}])"

    def doc_Call(self, e):
        return self.call_doc(f"{'tailcall' if e.tail else 'call'} {e.proc}", e), defunc.APPLY


def print_program(program: Program) -> str:
    return Printer().program(program)


class Checker(defunc.Checker):
    """defunc's invariants, plus: every variable read where its binder put it,
    no local overlapping a live one or leaving the frame, and tail calls only
    to the procedure itself, from tail position."""

    def check_proc(self, proc) -> None:
        self.tail_positions = set(map(id, tail_positions(proc.body)))
        super().check_proc(proc)

    def initial_scope(self, proc) -> dict:
        frame = proc.frame
        scope = {proc.param: (frame.arg_offset, proc.param_type)}
        offsets = capture_offsets(frame.captures_offset, proc.captures)
        return scope | {c.name: (k, c.type) for c, k in zip(proc.captures, offsets)}

    def check(self, e, scope: Scope) -> None:
        match e:
            case Var(name=name, offset=offset):
                if scope.get(name, (None,))[0] != offset:
                    raise VerifyError("var-offset", f"{name} is read at fp[{offset}], not where it is bound", e)
            case Let(name=name, offset=offset, value=value, body=body):
                self.check(value, scope)
                mark = self.bind_local(e, name, offset, value.type, scope)
                self.check(body, scope)
                scope.restore(mark)
                return
            case Stat(fiber=fiber, pending=pending, done_name=name, done_offset=offset, done=done):
                self.check(fiber, scope)
                self.check(pending, scope)
                mark = self.bind_local(e, name, offset, fiber.type.result, scope)
                self.check(done, scope)
                scope.restore(mark)
                return
            case Call(proc=proc, tail=tail):
                self.check_call(e)
                if tail and (proc != self.proc.name or id(e) not in self.tail_positions):
                    raise VerifyError("tail-call", f"a tail call of {proc} from {self.proc.name} "
                                      "must call its own procedure from tail position", e)
        super().check(e, scope)

    def bind_local(self, node, name: str, offset: int, t: Type, scope: Scope) -> int:
        """Bind a local at offset, after checking that its cells are in the frame
        and hold no live local; returns the scope's mark from before. Each
        cell is bound too, to (name, offset) of the local holding it: that
        local is live while its name is still bound to that offset."""
        end = offset + cell_size(t)
        if offset < 0 or end > self.proc.frame.locals_size:
            raise VerifyError("slot-in-frame", f"fp[{offset}..{end - 1}] is outside {self.proc.name}'s locals", node)
        for cell in range(offset, end):
            holder = scope.get(cell)
            if holder is not None and scope.get(holder[0], (None,))[0] == holder[1]:
                raise VerifyError("slot-overlap", f"fp[{offset}..{end - 1}] overlaps live local {holder[0]}", node)
        mark = scope.bind(name, (offset, t))
        for cell in range(offset, end):
            scope.bind(cell, (name, offset))
        return mark


def tail_positions(e: Expr) -> list[Expr]:
    """e and every node in tail position below it."""
    found, todo = [], [e]
    while todo:
        node = todo.pop()
        found.append(node)
        todo.extend(getattr(node, name) for name in TAIL_CHILDREN.get(type(node), ()))
    return found


def verify(program: Program) -> None:
    GRAMMAR.check(program)
    Checker().check_program(program)


def _parse(text: str, name: str) -> Program:
    from ir.layout_syntax import parse_program

    return parse_program(text, name)


IR = IRSpec(
    grammar=GRAMMAR,
    summary="defunc, with a frame layout for every procedure and a slot for every local",
    printer=print_program,
    verifier=verify,
    parser=_parse,
)
