"""Emit: layout -> blocks.

Turn each procedure into labelled basic blocks of stack-machine code
(docs/machine.md). Each expression is compiled towards a target (anywhere, a
frame offset, or the stack top) and reports where its value landed, so a
variable that is only read is never pushed and stored back. Operands are
evaluated right to left, which pushes every value in its cell layout. A call
through a set of several lambdas jumps through a table on the closure's tag,
each arm a direct call; a marked self tail call overwrites the argument (and
the captures, unless they are the procedure's own) and jumps to the entry.
A closure is boxed (`box n`) as soon as it is made, and unboxed (`unbox n`)
just before its call.

Emit knows every value's type, so it writes the stack maps: each procedure's
map of its argument and captures, and at every call, spawn, resume and yield
the map of the cells that hold fiber handles while the frame is stopped
there (`_Holdings` follows them as the code is written).
"""

from __future__ import annotations

from ir import blocks, layout
from ir.blocks import Add, Eq, FpOffset, Imm, Jmp, Jmprel1, Jmpz, Lt, Mul, Push, Ret, SpAdd, SpSub, Store, Sub
from ir.defunc import MAIN, Closure, OwnCaptures
from ir.typed import Proj
from ir.layout import element_offsets
from ir.types import TupleT, Type, cell_size
from ir.immutable import replace
from ir.source import Source
from passes.framework import Pass

# Where a value lands: a frame offset, or the top of the stack. A target is a
# place, or ANYWHERE. An expression that leaves by a tail call lands nowhere (None).
STACK = "stack"
ANYWHERE = "anywhere"
Place = int | str  # a frame offset, or STACK
Target = int | str  # a place, or ANYWHERE

ARITHMETIC = {"+": Add, "-": Sub, "*": Mul, "<": Lt, "==": Eq}


class Emit(Pass):
    name = "emit"
    input_ir = "layout"
    output_ir = "blocks"
    summary = "compile every procedure to basic blocks of stack-machine code"

    def run(self, program: layout.Program) -> blocks.Program:
        finder, offsets = blocks.HandleFinder(), {}
        procs = tuple(_ProcEmitter(proc, program.source, finder, offsets).emit() for proc in program.procs)
        return blocks.Program(procs, program.procs[0].result_type, MAIN, program.value_type)


class _Holdings:
    """The values of the frame being emitted that hold fiber handles: those
    written to frame places (locals in scope, parts of the result) and those
    on the operand stack, lowest first, each until it is dropped."""

    def __init__(self, finder: blocks.HandleFinder):
        self.finder = finder
        self.places: dict[int, Type] = {}
        self.operands: list[tuple[int, int, Type]] = []  # (offset, end, type)

    def wrote(self, offset: int, t: Type) -> None:
        """A value of type t is now at fp[offset], over whatever parts of it were there."""
        for part in range(offset, offset + cell_size(t)):
            self.places.pop(part, None)
        if self.finder.holds_handles(t):
            self.places[offset] = t

    def forget(self, offset: int) -> None:
        self.places.pop(offset, None)

    def pushed(self, offset: int, t: Type) -> None:
        """A value of type t now fills the stack from fp[offset] to the top (made of what was there)."""
        while self.operands and self.operands[-1][0] >= offset:
            self.operands.pop()
        if self.finder.holds_handles(t):
            self.operands.append((offset, offset + cell_size(t), t))

    def dropped_to(self, height: int) -> None:
        """The stack is `height` cells tall: a value with a cell above that is gone."""
        while self.operands and self.operands[-1][1] > height:
            self.operands.pop()

    def saved(self) -> tuple:
        return dict(self.places), list(self.operands)

    def restore(self, saved: tuple) -> None:
        self.places, self.operands = dict(saved[0]), list(saved[1])

    def stack_map(self, below: int) -> tuple[blocks.Live, ...]:
        """The map of the frame while what lies from fp[below] up belongs to another frame or fiber."""
        values = [*self.places.items(), *((offset, t) for offset, end, t in self.operands if end <= below)]
        entries = {entry.offset: entry for offset, t in values for entry in self.finder.entries(offset, t)}
        return tuple(entries[offset] for offset in sorted(entries))


class _ProcEmitter:
    def __init__(self, proc: layout.Proc, source: Source, finder: blocks.HandleFinder,
                 offsets: dict[int, tuple[TupleT, tuple[int, ...]]]):
        self.proc, self.frame, self.source, self.finder = proc, proc.frame, source, finder
        self.offsets = offsets  # by id of a tuple type (kept, so that its id stays its own): its element_offsets
        self.holdings = _Holdings(finder)
        self.blocks: list[blocks.Block] = []
        self.label: str | None = None
        self.instrs: list = []
        self.height = 0  # cells above fp
        self.labels = 0
        self.aliases: dict[int, int] = {}  # a binder's offset -> where its value already lies
        self.loops = False  # whether a self tail call jumps past the entry's `spadd`

    def emit(self) -> blocks.Proc:
        self.start(self.proc.name, 0)
        if self.frame.locals_size:
            self.op(SpAdd(self.frame.locals_size))
        if self.expr(self.proc.body, self.frame.return_offset) is not None:
            self.end(Ret())
        if self.loops:
            self.blocks.append(blocks.Block(self.loop_label(), self.blocks[0].instrs[1:]))
        captures = tuple(c.type for c in self.proc.captures)
        live = (*self.finder.entries(self.frame.arg_offset, self.proc.param_type),
                *self.finder.record_entries(self.frame.captures_offset, captures))
        return blocks.Proc(self.proc.name, cell_size(self.proc.param_type), cell_size(TupleT(captures)),
                           cell_size(self.proc.result_type), self.frame.locals_size,
                           tuple(self.blocks), live)

    # -- blocks and instructions ------------------------------------------------

    def loop_label(self) -> str:
        """Where a self tail call jumps: the entry, or with locals a copy of the
        entry block without its `spadd`, since the locals stay allocated."""
        return f"{self.proc.name}.loop" if self.frame.locals_size else self.proc.name

    def element_offset(self, t: TupleT, index: int) -> int:
        """Where element `index` starts in a value of type t: all of t's worked out once in the pass."""
        known = self.offsets.get(id(t))
        if known is None:
            known = self.offsets[id(t)] = (t, element_offsets(t))
        return known[1][index]

    def in_return_slot(self, target: Target) -> bool:
        return target not in (STACK, ANYWHERE) and \
            self.frame.return_offset <= target < self.frame.return_offset + cell_size(self.proc.result_type)

    def fresh(self, kind: str) -> str:
        self.labels += 1
        return f"{self.proc.name}.{kind}{self.labels}"

    def start(self, label: str, height: int) -> None:
        self.label, self.instrs, self.height = label, [], height

    def end(self, *instrs) -> None:
        """Finish the current block with its jump or return."""
        for instr in instrs:
            self.op(instr)
        self.blocks.append(blocks.Block(self.label, tuple(self.instrs)))

    def op(self, instr) -> None:
        self.instrs.append(instr)
        self.height = blocks.height_after(instr, self.height)
        self.holdings.dropped_to(self.height)

    def stop(self, instr: blocks.Instr, handed_over: int) -> None:
        """A call, spawn, resume or yield, with the map of the frame stopped there;
        the top `handed_over` cells are the callee's, the new fiber's, or the handle resumed."""
        self.op(replace(instr, live=self.holdings.stack_map(self.height - handed_over)))

    def pop(self, n: int) -> None:
        if n:
            self.op(SpSub(n))

    def grow(self, n: int) -> None:
        if n:
            self.op(SpAdd(n))

    def move(self, place: Place | None, size: int, target: Target) -> Place | None:
        """The value of `size` cells at place, brought to target."""
        if place is None or target in (ANYWHERE, place):
            return place
        if place != STACK:
            for i in range(size):
                self.op(Push(FpOffset(place + i)))
        if target != STACK:
            # Everything is on the stack before the first store, so overlapping
            # places are safe.
            for i in reversed(range(size)):
                self.op(Store(target + i))
        return target

    # -- expressions --------------------------------------------------------------

    def expr(self, e, target: Target) -> Place | None:
        """Compile e towards target; where its value landed (None: control left)."""
        emit = _EMITTERS.get(e.__class__)
        if emit is None:
            emit = _EMITTERS[e.__class__] = getattr(_ProcEmitter, "emit_" + e.__class__.__name__)
        size = cell_size(e.type)
        place = self.move(emit(self, e, target), size, target)
        if place == STACK:
            self.holdings.pushed(self.height - size, e.type)
        elif place is not None and place == target:
            self.holdings.wrote(place, e.type)
        return place

    def emit_Int(self, e, target):
        self.op(Push(Imm(e.value)))
        return STACK

    def emit_Bool(self, e, target):
        self.op(Push(Imm(int(e.value))))
        return STACK

    def emit_Var(self, e, target):
        return self.aliases.get(e.offset, e.offset)

    def emit_OwnCaptures(self, e, target):
        return self.frame.captures_offset

    def emit_Tuple(self, e, target):
        if self.in_return_slot(target):
            # Each element straight into its cells: nothing else lives in the return slot.
            offset = target
            for elem in reversed(e.elems):  # the last element lies lowest
                self.expr(elem, offset)
                offset += cell_size(elem.type)
            return target
        for elem in reversed(e.elems):
            self.expr(elem, STACK)
        return STACK

    def emit_Proj(self, e, target):
        place = self.expr(e.tuple, ANYWHERE)
        offset = self.element_offset(e.tuple.type, e.index)
        if place != STACK:
            return place + offset
        base = self.height - cell_size(e.tuple.type)
        if target not in (STACK, ANYWHERE):
            # Copy the element to its frame place (below the operands), then drop the tuple.
            self.move(base + offset, cell_size(e.type), target)
            self.pop(cell_size(e.tuple.type))
            return target
        # Slide the element down to where the tuple starts, then drop the rest.
        if offset:
            for i in range(cell_size(e.type)):
                self.op(Push(FpOffset(base + offset + i)))
                self.op(Store(base + i))
        self.pop(cell_size(e.tuple.type) - cell_size(e.type))
        return STACK

    def emit_BinOp(self, e, target):
        self.expr(e.right, STACK)
        self.expr(e.left, STACK)
        self.op(ARITHMETIC[e.op]())
        return STACK

    def emit_Neg(self, e, target):
        self.expr(e.operand, STACK)
        self.op(Push(Imm(0)))
        self.op(Sub())
        return STACK

    def emit_Seq(self, e, target):
        if self.expr(e.first, ANYWHERE) == STACK:
            self.pop(cell_size(e.first.type))
        return self.expr(e.second, target)

    def emit_Let(self, e, target):
        self.expr(e.value, e.offset)
        landed = self.expr(e.body, target)
        self.holdings.forget(e.offset)
        return landed

    def emit_If(self, e, target):
        self.expr(e.cond, STACK)
        then, else_ = self.fresh("then"), self.fresh("else")
        self.end(Jmpz(else_), Jmp(then))
        return self.arms(target, [(then, lambda place: self.expr(e.then, place)),
                                  (else_, lambda place: self.expr(e.else_, place))])

    def emit_Stat(self, e, target):
        value_size = cell_size(e.fiber.type.result)
        place = self.expr(e.fiber, ANYWHERE)
        # A handle read from a variable stays where it is while the arm runs: the
        # `Done binder can be read from the handle's own cells.
        aliased = place != STACK and value_size > 0 and _names_a_variable(e.fiber)
        if place != STACK:
            self.op(Push(FpOffset(place + cell_size(e.fiber.type) - 1)))  # the bit
        pending, done = self.fresh("pending"), self.fresh("done")
        self.end(Jmpz(pending), Jmp(done))
        # On the stack, with the bit popped: fibdirty, fibidx, then the value on top.

        def pending_arm(place_of_result):
            if place == STACK:
                self.pop(2 + value_size)
            return self.expr(e.pending, place_of_result)

        def done_arm(place_of_result):
            if aliased:
                self.aliases[e.done_offset] = place + 2
            else:
                self.move(STACK if place == STACK else place + 2, value_size, e.done_offset)
                self.holdings.wrote(e.done_offset, e.fiber.type.result)
                if place == STACK:
                    self.pop(2)
            landed = self.expr(e.done, place_of_result)
            self.aliases.pop(e.done_offset, None)
            return landed

        return self.arms(target, [(pending, pending_arm), (done, done_arm)])

    def arms(self, target: Target, arms) -> Place | None:
        """Compile each (label, arm) in its own block, every arm landing in the
        same place, then continue in a join block (if any arm gets there)."""
        place = STACK if target == ANYWHERE else target
        entry_height, joined_height = self.height, None
        held = self.holdings.saved()
        join = self.fresh("join")
        for label, arm in arms:
            self.start(label, entry_height)
            self.holdings.restore(held)
            if arm(place) is not None:
                joined_height = self.height
                self.end(Jmp(join))
        self.holdings.restore(held)  # the caller records the value the arms left
        if joined_height is None:
            return None
        self.start(join, joined_height)
        return place

    def emit_Closure(self, e, target):
        lambdas = e.type.lambdas
        if len(lambdas.names) == 1:
            return self.expr(e.captures, target)  # the record is the whole closure
        self.expr(e.captures, STACK)
        self.grow(cell_size(e.type) - 1 - cell_size(e.captures.type))
        self.op(Push(Imm(lambdas.tag_of(e.lambda_name))))
        return STACK

    def emit_Call(self, e, target):
        if e.tail:
            return self.tail_call(e)
        self.grow(cell_size(e.type))
        self.expr(e.arg, STACK)
        self.expr(e.closure, STACK)
        self.stop(blocks.Call(e.proc), cell_size(e.type) + cell_size(e.arg.type) + cell_size(e.closure.type))
        self.pop(cell_size(e.arg.type) + cell_size(e.closure.type))
        return STACK

    def tail_call(self, e) -> None:
        self.expr(e.arg, STACK)
        if not (isinstance(e.closure, Closure) and isinstance(e.closure.captures, OwnCaptures)):
            self.expr(e.closure, STACK)
            self.move(STACK, cell_size(e.closure.type), self.frame.captures_offset)
        self.move(STACK, cell_size(e.arg.type), self.frame.arg_offset)
        # In tail position only the locals are on the stack (the verifier checks
        # the loop block's height): the stack stays as it is.
        self.loops = self.loops or self.frame.locals_size > 0
        self.end(Jmp(self.loop_label()))
        return None

    def emit_Dispatch(self, e, target):
        closure_size, arg_size = cell_size(e.closure.type), cell_size(e.arg.type)
        self.grow(cell_size(e.type))
        self.expr(e.arg, STACK)
        self.expr(e.closure, STACK)
        labels = tuple(self.fresh("arm") for _ in e.arms)
        self.end(Jmprel1(labels))

        def call(member):
            def arm(place_of_result):
                record_size = sum(cell_size(c.type) for c in member.captures)
                self.pop(closure_size - 1 - record_size)  # the padding: the callee wants its record on top
                self.stop(blocks.Call(member.name), cell_size(e.type) + arg_size + record_size)
                self.pop(arg_size + record_size)
                return STACK
            return arm

        return self.arms(STACK, list(zip(labels, map(call, e.closure.type.lambdas.members))))

    def emit_Spawn(self, e, target):
        self.expr(e.captures, STACK)
        self.stop(blocks.Spawn(e.proc, cell_size(e.captures.type), cell_size(e.type.result)),
                  cell_size(e.captures.type))
        return STACK

    def emit_Resume(self, e, target):
        self.expr(e.fiber, STACK)
        line, column = self.source.position(e.span.start)
        self.stop(blocks.Resume(cell_size(e.type.result), f"{line}:{column}"), cell_size(e.fiber.type))
        return STACK

    def emit_Yield(self, e, target):
        self.stop(blocks.Yield(), 0)
        return STACK

    def emit_Box(self, e, target):
        self.expr(e.value, STACK)
        self.op(blocks.Box(cell_size(e.value.type)))
        return STACK

    def emit_Unbox(self, e, target):
        self.expr(e.box, STACK)
        self.op(blocks.Unbox(cell_size(e.type)))
        return STACK

    def emit_Unreachable(self, e, target):
        # Control never gets here; the cells only keep the code after it well-formed.
        self.grow(cell_size(e.type))
        return STACK


def _names_a_variable(e) -> bool:
    """Whether e is a variable, or an element of one: its cells stay put while it is in scope."""
    while isinstance(e, Proj):
        e = e.tuple
    return isinstance(e, layout.Var)


_EMITTERS: dict[type, object] = {}  # form -> its _ProcEmitter.emit_<form> method
