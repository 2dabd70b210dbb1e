"""An interpreter for the layout IR: defunc's, with every variable in its frame cells.

Each procedure call gets a frame of cells laid out as docs/machine.md says
(return slot, argument, captures, saved pc and fp, locals). The argument and
capture record are written into it as cells, every `let` and `Done` binder
writes its value at its offset, and every variable is read back from the
cells at its offset, never by name. So a slot that overlaps a live one, an
offset off by one, or a capture record laid out in the wrong order changes
the program's value here, as it would on the machine. A boxed value's one
cell holds its record, the tuple of its contents' cells.

A call marked `tail` must be in tail position, where it is made as any call
there is: by the loop that entered the procedure (ir/typed_interp.py).
"""

from __future__ import annotations

from typing import Any, Callable

from ir import layout
from ir.defunc import capture_record
from ir.defunc_interp import InterpDefunc
from ir.interp_runtime import Closure, Handle, InterpError
from ir.types import cell_size
from ir.typed_interp import TailCall
from ir.types import BoolT, BoxT, ClosureT, FiberT, IntT, TupleT, Type


class Boxes:
    """What the codecs of boxes share: the codec of each box's contents, made
    when a value first needs it (the contents may hold boxes of the very same
    type), and the record of each value boxed and the value of each record
    read, kept, so that boxing a chain of boxed closures link by link (or
    reading it) does not go down the chain at every link. Records and the
    interpreter's values are immutable: one boxed twice has one record."""

    def __init__(self) -> None:
        self.codecs: dict[tuple[Callable, Type], Callable] = {}
        self.records: dict[int, tuple[Any, tuple]] = {}  # by id of the value; the value kept, so its id stays its own
        self.values: dict[int, tuple[tuple, Any]] = {}  # by id of the record

    def codec(self, make: Callable, t: Type) -> Callable:
        known = self.codecs.get((make, t))
        if known is None:
            known = self.codecs[make, t] = make(t, self)
        return known

    def record(self, value, contents: Type) -> tuple:
        known = self.records.get(id(value))
        if known is None:
            record = tuple(self.codec(encoder, contents)(value))
            known = self.records[id(value)] = self.values[id(record)] = (value, record)
        return known[1]

    def value(self, record: tuple, contents: Type):
        known = self.values.get(id(record))
        if known is None:
            value = self.codec(decoder, contents)(record, 0)
            known = self.records[id(value)] = self.values[id(record)] = (value, record)
        return known[0]


def encoder(t: Type, boxes: Boxes | None = None) -> Callable[[Any], list[int]]:
    """The function giving a value's cells, lowest address first (docs/machine.md,
    "Cells and values"). Built once per type: a loop reads and writes the same
    types over and over. A box's one cell holds the record of its contents."""
    boxes = Boxes() if boxes is None else boxes
    match t:
        case IntT():
            return lambda value: [value]
        case BoolT():
            return lambda value: [1 if value else 0]
        case TupleT(elems):
            # Element 0 nearest the top: the last element's cells come first.
            parts = [(i, encoder(e, boxes)) for i, e in reversed(list(enumerate(elems)))]
            return lambda value: [cell for i, encode in parts for cell in encode(value[i])]
        case FiberT(result):
            encode, zeros = encoder(result, boxes), [0] * cell_size(result)
            return lambda h: [h.dirty, h.fiber, *(encode(h.value) if h.done else zeros), 1 if h.done else 0]
        case ClosureT(lambdas):
            names = lambdas.names
            records = {name: encoder(_record_type(lambdas, name), boxes) for name in names}
            if len(names) == 1:
                return lambda closure: records[closure.lambda_name](closure.captures)
            size = cell_size(t)

            def encode_tagged(closure):
                record = records[closure.lambda_name](closure.captures)
                return [*record, *[0] * (size - 1 - len(record)), names.index(closure.lambda_name)]

            return encode_tagged
        case BoxT(contents):
            return lambda value: [boxes.record(value, contents)]
    raise TypeError(f"no value has type {t}")


def decoder(t: Type, boxes: Boxes | None = None) -> Callable[[list[int], int], Any]:
    """The function reading the value of type t whose cells start at an index."""
    boxes = Boxes() if boxes is None else boxes
    match t:
        case IntT():
            return lambda cells, at: cells[at]
        case BoolT():
            return lambda cells, at: cells[at] != 0
        case TupleT(elems):
            parts, above = [], 0
            for e in reversed(elems):
                parts.append((above, decoder(e, boxes)))
                above += cell_size(e)
            parts.reverse()
            return lambda cells, at: tuple(decode(cells, at + offset) for offset, decode in parts)
        case FiberT(result):
            decode, bit = decoder(result, boxes), 2 + cell_size(result)

            def decode_handle(cells, at):
                done = cells[at + bit] != 0
                return Handle(cells[at + 1], cells[at], done, decode(cells, at + 2) if done else None)

            return decode_handle
        case ClosureT(lambdas):
            names = lambdas.names
            records = [decoder(_record_type(lambdas, name), boxes) for name in names]
            tag_at = cell_size(t) - 1

            def decode_closure(cells, at):
                tag = cells[at + tag_at] if len(names) > 1 else 0
                if not 0 <= tag < len(names):
                    raise InterpError(f"closure tag {tag} is not a member of {t}")
                return Closure(names[tag], records[tag](cells, at))

            return decode_closure
        case BoxT(contents):
            return lambda cells, at: boxes.value(cells[at], contents)
    raise TypeError(f"no value has type {t}")


def _record_type(lambdas, name: str) -> TupleT:
    return TupleT(tuple(c.type for c in lambdas.member(name).captures))


class Codecs:
    """Every type's encoder and decoder, made on first use. Keyed by the type
    object: the IR shares its types, and hashing a type walks it."""

    def __init__(self) -> None:
        self.known: dict[int, tuple[Type, int, Callable, Callable]] = {}
        self.boxes = Boxes()

    def __getitem__(self, t: Type) -> tuple[int, Callable, Callable]:
        entry = self.known.get(id(t))
        if entry is None:
            # t kept: its id stays its own
            entry = self.known[id(t)] = (t, cell_size(t), encoder(t, self.boxes), decoder(t, self.boxes))
        return entry[1:]


class Frame:
    """One procedure call's cells, addressed by offsets from fp."""

    def __init__(self, proc: layout.Proc, codecs: Codecs):
        self.proc = proc
        self.codecs = codecs
        self.low = proc.frame.return_offset  # the lowest offset: the return slot
        self.cells = [0] * (proc.frame.locals_size - self.low)

    def read(self, offset: int, t: Type):
        _, _, decode = self.codecs[t]
        return decode(self.cells, offset - self.low)

    def write(self, offset: int, t: Type, value) -> None:
        size, encode, _ = self.codecs[t]
        start = offset - self.low
        if start < 0 or offset + size > self.proc.frame.locals_size:
            raise InterpError(f"fp[{offset}] is outside {self.proc.name}'s frame")
        self.cells[start:start + size] = encode(value)


class InterpLayout(InterpDefunc):
    ir = layout.IR

    def __init__(self, program, fuel: int | None = None):
        super().__init__(program, fuel)
        self.codecs = Codecs()

    def enter(self, call: TailCall):
        proc = self.procs[call.proc]
        frame = Frame(proc, self.codecs)
        frame.write(proc.frame.arg_offset, proc.param_type, call.arg)
        frame.write(proc.frame.captures_offset, capture_record(proc.captures), call.captures)
        return proc.body, frame

    def eval_Var(self, e, frame, tail):
        yield from ()
        return frame.read(e.offset, e.type)

    def eval_OwnCaptures(self, e, frame, tail):
        yield from ()
        return frame.read(frame.proc.frame.captures_offset, e.type)

    def eval_Let(self, e, frame, tail):
        frame.write(e.offset, e.value.type, (yield from self.eval(e.value, frame)))
        return (yield from self.eval(e.body, frame, tail))

    def eval_Stat(self, e, frame, tail):
        handle = yield from self.eval(e.fiber, frame)
        if not handle.done:
            return (yield from self.eval(e.pending, frame, tail))
        frame.write(e.done_offset, e.fiber.type.result, handle.value)
        return (yield from self.eval(e.done, frame, tail))

    def eval_Call(self, e, frame, tail):
        if e.tail and not tail:
            raise InterpError(f"tailcall {e.proc} is not in tail position")
        return (yield from super().eval_Call(e, frame, tail))


def interpret(program: layout.Program, fuel: int | None = None) -> str:
    return InterpLayout(program, fuel).run()
