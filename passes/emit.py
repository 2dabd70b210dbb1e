"""Emit: layout -> blocks.

Turn each procedure into labelled basic blocks of stack-machine code
(docs/machine.md). Each expression is compiled towards a target (anywhere, a
frame offset, or the stack top) and reports where its value landed, so a
variable that is only read is never pushed and stored back. Operands are
evaluated right to left, which pushes every value in its cell layout. A call
through a set of several lambdas jumps through a table on the closure's tag,
each arm a direct call; a marked self tail call overwrites the argument (and
the captures, unless they are the procedure's own) and jumps to the entry.
"""

from __future__ import annotations

from ir import blocks, layout
from ir.blocks import (Add, Eq, FpOffset, Imm, Jmp, Jmprel1, Jmpz, Lt, Mul, Push, Ret, SpAdd,
                       SpRestoreFp, SpSub, Store, Sub, stack_effect)
from ir.defunc import MAIN, Closure, OwnCaptures
from ir.layout import element_offset
from ir.types import cell_size
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
        procs = tuple(_ProcEmitter(proc, program.source).emit() for proc in program.procs)
        return blocks.Program(procs, program.procs[0].result_type, MAIN)


class _ProcEmitter:
    def __init__(self, proc: layout.Proc, source: Source):
        self.proc, self.frame, self.source = proc, proc.frame, source
        self.blocks: list[blocks.Block] = []
        self.label: str | None = None
        self.instrs: list = []
        self.height = 0  # cells above fp
        self.labels = 0

    def emit(self) -> blocks.Proc:
        self.start(self.proc.name, 0)
        if self.frame.locals_size:
            self.op(SpAdd(self.frame.locals_size))
        if self.expr(self.proc.body, self.frame.return_offset) is not None:
            self.end(Ret())
        captures_size = sum(cell_size(c.type) for c in self.proc.captures)
        return blocks.Proc(self.proc.name, cell_size(self.proc.param_type), captures_size,
                           cell_size(self.proc.result_type), self.frame.locals_size,
                           _thread_jumps(self.blocks))

    # -- blocks and instructions ------------------------------------------------

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
        self.height += stack_effect(instr, self.height)[1]

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
        return self.move(emit(self, e, target), cell_size(e.type), target)

    def emit_Int(self, e, target):
        self.op(Push(Imm(e.value)))
        return STACK

    def emit_Bool(self, e, target):
        self.op(Push(Imm(int(e.value))))
        return STACK

    def emit_Var(self, e, target):
        return e.offset

    def emit_OwnCaptures(self, e, target):
        return self.frame.captures_offset

    def emit_Tuple(self, e, target):
        for elem in reversed(e.elems):
            self.expr(elem, STACK)
        return STACK

    def emit_Proj(self, e, target):
        place = self.expr(e.tuple, ANYWHERE)
        offset = element_offset(e.tuple.type, e.index)
        if place != STACK:
            return place + offset
        # Slide the element down to where the tuple starts, then drop the rest.
        base = self.height - cell_size(e.tuple.type)
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
        return self.expr(e.body, target)

    def emit_If(self, e, target):
        self.expr(e.cond, STACK)
        then, else_ = self.fresh("then"), self.fresh("else")
        self.end(Jmpz(else_), Jmp(then))
        return self.arms(target, [(then, lambda place: self.expr(e.then, place)),
                                  (else_, lambda place: self.expr(e.else_, place))])

    def emit_Stat(self, e, target):
        value_size = cell_size(e.fiber.type.result)
        place = self.expr(e.fiber, ANYWHERE)
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
            if place == STACK:
                self.move(STACK, value_size, e.done_offset)
                self.pop(2)
            else:
                self.move(place + 2, value_size, e.done_offset)
            return self.expr(e.done, place_of_result)

        return self.arms(target, [(pending, pending_arm), (done, done_arm)])

    def arms(self, target: Target, arms) -> Place | None:
        """Compile each (label, arm) in its own block, every arm landing in the
        same place, then continue in a join block (if any arm gets there)."""
        place = STACK if target == ANYWHERE else target
        entry_height, joined_height = self.height, None
        join = self.fresh("join")
        for label, arm in arms:
            self.start(label, entry_height)
            if arm(place) is not None:
                joined_height = self.height
                self.end(Jmp(join))
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
        self.op(blocks.Call(e.proc))
        self.pop(cell_size(e.arg.type) + cell_size(e.closure.type))
        return STACK

    def tail_call(self, e) -> None:
        self.expr(e.arg, STACK)
        if not (isinstance(e.closure, Closure) and isinstance(e.closure.captures, OwnCaptures)):
            self.expr(e.closure, STACK)
            self.move(STACK, cell_size(e.closure.type), self.frame.captures_offset)
        self.move(STACK, cell_size(e.arg.type), self.frame.arg_offset)
        self.end(SpRestoreFp(), Jmp(self.proc.name))
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
                self.op(blocks.Call(member.name))
                self.pop(arg_size + record_size)
                return STACK
            return arm

        return self.arms(STACK, list(zip(labels, map(call, e.closure.type.lambdas.members))))

    def emit_Spawn(self, e, target):
        self.expr(e.captures, STACK)
        self.op(blocks.Spawn(e.proc, cell_size(e.captures.type), cell_size(e.type.result)))
        return STACK

    def emit_Resume(self, e, target):
        self.expr(e.fiber, STACK)
        line, column = self.source.position(e.span.start)
        self.op(blocks.Resume(cell_size(e.type.result), f"{line}:{column}"))
        return STACK

    def emit_Yield(self, e, target):
        self.op(blocks.Yield())
        return STACK

    def emit_Unreachable(self, e, target):
        # Control never gets here; the cells only keep the code after it well-formed.
        self.grow(cell_size(e.type))
        return STACK


_EMITTERS: dict[type, object] = {}  # form -> its _ProcEmitter.emit_<form> method


def _thread_jumps(code: list[blocks.Block]) -> tuple[blocks.Block, ...]:
    """The blocks, minus those that only jump on (the join of an `if` nested in
    an arm), with a lone jump to a bare `ret` made a `ret` itself."""
    hops = {b.label: b.instrs[0].label for b in code[1:] if len(b.instrs) == 1 and isinstance(b.instrs[0], Jmp)}
    returns = {b.label for b in code if b.instrs == (Ret(),)}

    def final(label: str) -> str:
        on_the_way = []
        while label in hops:
            on_the_way.append(label)
            label = hops[label]
        # Each label passed now jumps straight to the end: nested ifs make
        # chains as long as the nesting, and walking each again was quadratic.
        for hop in on_the_way:
            hops[hop] = label
        return label

    def retarget(instrs: tuple) -> tuple:
        *body, last = (_map_labels(instr, final) for instr in instrs)
        alone = not (body and isinstance(body[-1], Jmpz))  # `jmpz L` must be followed by a jump
        if isinstance(last, Jmp) and last.label in returns and alone:
            last = Ret()
        return (*body, last)

    kept = [blocks.Block(b.label, retarget(b.instrs)) for b in code if b.label not in hops]
    used = {label for b in kept for instr in b.instrs for label in blocks.jump_targets(instr)}
    return tuple(b for i, b in enumerate(kept) if i == 0 or b.label in used)


def _map_labels(instr, f):
    match instr:
        case Jmp(label):
            return Jmp(f(label))
        case Jmpz(label):
            return Jmpz(f(label))
        case Jmprel1(labels):
            return Jmprel1(tuple(map(f, labels)))
    return instr
