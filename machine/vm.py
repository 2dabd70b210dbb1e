"""The reference VM: runs a blocks program step by step (docs/machine.md).

The program is first flattened into one list of (opcode, a, b) triples with
every label and proc resolved to a code index, so the dispatch loop does
nothing but integer comparisons, list indexing and arithmetic. Each fiber
owns a Python list as its stack; calls, spawns and resumes switch lists and
registers inside the one loop, never by Python recursion, so deep recursion
costs memory only.

The largest stack depth is kept exactly without a check on every push: the
verifier gives every instruction a static height above fp, so a run of
instructions that must go on to its end once started (a "segment", cut after
every jump, call, return and yield; a spawn or resume always comes back)
reaches at most fp + the highest height in it; the VM records that sum
whenever control enters a segment.

A box cell holds a `Record` (machine/records.py): `box n` packs the top n
cells into one, `unbox n` pushes them back; it is freed when no cell refers
to it. A cell used as a number that holds a record (or `unbox` of a number)
is a runtime fault, never a Python error.

Fibers alive (pending, or on the chain of active fibers) are kept in a dict
by their number; one that finishes is dropped at once, and one pending that
nothing can resume any more is found by the collector (docs/machine.md,
"The collector"), which reads every frame with its stack map.
"""

from __future__ import annotations

from ir import blocks as B
from ir.faults import RuntimeFault
from ir.immutable import immutable
from ir.ints import INT_MAX, INT_MIN
from ir.ints import wrap as _wrap
from ir.types import BoxT, FiberT, cell_size
from machine.records import Record

# Most frequent first: the dispatch loop tests them in this order.
(PUSH_FP, PUSH_IMM, STORE, JMPZ, JMP, ADD, SUB, LT, EQ, CALL, RET, SPADD, SPSUB, MUL,
 SPRESTOREFP, JMPREL1, SPAWN, RESUME, YIELD, BOX, UNBOX) = range(21)
_MNEMONIC = ("push", "push", "store", "jmpz", "jmp", "add", "sub", "lt", "eq", "call", "ret", "spadd", "spsub",
             "mul", "sprestorefp", "jmprel1", "spawn", "resume", "yield", "box", "unbox")

_NO_PC = -1  # the saved pc under a fiber's outermost frame: returning there ends the fiber

# A collection runs when the fibers alive have doubled since the last one,
# counting from at least this many (small programs never collect) or, when
# stacks are deep, from the frames the last collection read / FRAMES_PER_FIBER,
# so that the spawns between two collections pay for the second.
FEWEST_FIBERS = 64
FRAMES_PER_FIBER = 4

# How the collector reads a stack map entry (see _Tracer): a handle, a closure whose tag decides, a box.
_HANDLE, _TAGGED, _BOXED = range(3)

# The instructions after which a segment ends (see the module docstring).
_CUTS = (B.Jmp, B.Jmpz, B.Jmprel1, B.Call, B.Ret, B.Yield)

_SIMPLE = {B.Add: ADD, B.Sub: SUB, B.Mul: MUL, B.Lt: LT, B.Eq: EQ, B.Ret: RET, B.SpRestoreFp: SPRESTOREFP}

# Fiber states. A fiber is RUNNING while it is on the chain of active fibers
# (the one executing, or one waiting for the fiber it spawned or resumed).
# One that finishes is dropped.
SUSPENDED, RUNNING = range(2)


@immutable
class Stats:
    instructions: int  # instructions executed
    calls: int  # Call instructions executed
    yields: int  # Yield instructions executed, including those that did nothing on main
    resumes: int  # Resume instructions executed, including those of Done handles
    fibers_created: int  # Spawn instructions executed
    fibers_freed: int  # fibers finished, and pending fibers the collector found unreachable
    most_fibers_alive: int  # the most fibers (main included) alive at once: pending or running
    max_stack_depth: int  # the most cells any one fiber's stack ever held


@immutable
class RunResult:
    cells: tuple[int, ...]  # Main's return slot, lowest address first
    stats: Stats


class _Fiber:
    __slots__ = ("index", "stack", "pc", "fp", "parent", "dirty", "ret_size", "state")

    def __init__(self, index: int, stack: list[int], parent: _Fiber | None, ret_size: int):
        self.index = index
        self.stack = stack
        self.pc = _NO_PC
        self.fp = len(stack)
        self.parent = parent  # while it runs; a suspended fiber has none
        self.dirty = 0
        self.ret_size = ret_size
        self.state = RUNNING


@immutable
class _Code:
    code: list[tuple]
    segment_max: list[int]  # per code index: highest height above fp in its segment from there
    entries: dict[str, int]
    roots_at: dict[int, tuple]  # where a frame stops (pc after a safepoint, or an entry) -> (offset, shape), ...


class _Tracer:
    """Stack map entries made into what the collector reads: (offset, shape),
    where a shape is (_HANDLE, size of the result, entries of a Done value
    from the handle's lowest cell), (_TAGGED, offset of the tag, entries of
    each member's record) or (_BOXED, None, entries of the boxed record)."""

    def __init__(self) -> None:
        self.finder = B.HandleFinder()
        self.shapes: dict[object, tuple] = {}

    def entries(self, live) -> tuple:
        return tuple((entry.offset, self.shape(entry.type)) for entry in live)

    def shape(self, t) -> tuple:
        known = self.shapes.get(t)
        if known is None:
            if isinstance(t, FiberT):
                known = (_HANDLE, cell_size(t.result), self.entries(self.finder.entries(2, t.result)))
            elif isinstance(t, BoxT):
                self.shapes[t] = known = [_BOXED, None, ()]  # its record may hold boxes of its own type
                known[2] = self.entries(self.finder.entries(0, t.contents))
            else:
                records = tuple(self.entries(self.finder.record_entries(0, tuple(c.type for c in m.captures)))
                                for m in t.lambdas.members)
                known = (_TAGGED, cell_size(t) - 1, records)
            self.shapes[t] = known
        return known


def _flatten(program: B.Program, heights: dict[str, dict[str, tuple[int, ...]]]) -> _Code:
    """One code list for the whole program, labels and procs resolved to indices.
    heights: before each instruction of each reachable block, by proc (as B.verify gives them)."""
    index: dict[str, int] = {}
    entries: dict[str, int] = {}
    segment_max: list[int] = []
    roots_at: dict[int, tuple] = {}
    tracer = _Tracer()
    for proc in program.procs:
        entries[proc.name] = len(segment_max)
        own = tracer.entries(proc.live)
        roots_at[len(segment_max)] = own  # a new fiber stops at its entry
        for block in proc.blocks:
            index[block.label] = len(segment_max)
            # A block that no path reaches never runs; its heights do not matter.
            before = heights[proc.name].get(block.label) or (0,) * len(block.instrs)
            highest = [0] * len(before)
            running = 0
            for k in range(len(before) - 1, -1, -1):
                running = before[k] if isinstance(block.instrs[k], _CUTS) else max(before[k], running)
                highest[k] = running
            for k, instr in enumerate(block.instrs):
                if isinstance(instr, B.SAFEPOINTS):
                    roots_at[len(segment_max) + k + 1] = own + tracer.entries(instr.live)
            segment_max.extend(highest)
    code: list[tuple] = []
    for proc in program.procs:
        for block in proc.blocks:
            for instr in block.instrs:
                code.append(_encode(instr, index, entries, segment_max, len(code)))
    return _Code(code, segment_max, entries, roots_at)


def _encode(instr: B.Instr, index: dict[str, int], entries: dict[str, int],
            segment_max: list[int], at: int) -> tuple:
    cls = instr.__class__
    if cls is B.Push:  # the most frequent instructions first
        operand = instr.operand
        return (PUSH_FP, operand.offset, None) if operand.__class__ is B.FpOffset else (PUSH_IMM, operand.value, None)
    if cls is B.Store:
        return (STORE, instr.offset, None)
    simple = _SIMPLE.get(cls)
    if simple is not None:
        return (simple, None, None)
    match instr:
        case B.Jmp(label):
            return (JMP, index[label], segment_max[index[label]])
        case B.Jmpz(label):
            return (JMPZ, index[label], segment_max[index[label]])
        case B.Jmprel1(labels):
            targets = tuple(index[label] for label in labels)
            return (JMPREL1, targets, tuple(segment_max[t] for t in targets))
        case B.Call(proc):
            return (CALL, entries[proc], segment_max[entries[proc]])
        case B.SpAdd(n):
            return (SPADD, n, (0,) * n)
        case B.SpSub(n):
            return (SPSUB, n, None)
        case B.Spawn(proc, args_size, ret_size):
            return (SPAWN, (entries[proc], segment_max[entries[proc]], args_size, ret_size), proc)
        case B.Resume(ret_size, site):
            return (RESUME, ret_size, site)
        case B.Yield():
            # On main, yield does nothing and the next segment starts right after it.
            return (YIELD, None, segment_max[at + 1])  # a yield never ends a block
        case B.Box(n):
            return (BOX, n, None)
        case B.Unbox(n):
            return (UNBOX, n, None)
    raise TypeError(f"not an instruction: {instr!r}")


class _Fibers:
    """The fibers alive, by number (main is #0, the others in order of
    creation), and the collector that frees the pending ones nothing can
    resume: it marks from every frame of the chain of active fibers, then
    from every fiber a marked frame holds a fresh handle to."""

    def __init__(self, main: _Fiber, roots_at: dict[int, tuple], collect_at_every_spawn: bool):
        self.live = {0: main}
        self.created = 1
        self.freed = 0
        self.most_alive = 1
        self.roots_at = roots_at
        self.collect_at_every_spawn = collect_at_every_spawn
        self.next_collection = 2 * FEWEST_FIBERS

    def spawn(self, stack: list[int], parent: _Fiber, ret_size: int, entry: int) -> _Fiber:
        child = _Fiber(self.created, stack, parent, ret_size)
        child.pc = entry
        self.created += 1
        self.live[child.index] = child
        alive = len(self.live)
        self.most_alive = max(self.most_alive, alive)
        if self.collect_at_every_spawn or alive >= self.next_collection:
            self.collect(child)
        return child

    def finished(self, fiber: _Fiber) -> None:
        del self.live[fiber.index]
        self.freed += 1

    def resumable(self, index: int, dirty: int, ret_size: int, site: str | None) -> _Fiber:
        """The fiber a pending handle names, if resuming it is allowed."""
        target = self.live.get(index)
        if target is None:
            if 0 < index < self.created:  # it finished, or was freed: only stale handles named it
                raise RuntimeFault(f"fiber resumed twice: fiber #{index}'s handle was already resumed", site)
            raise RuntimeFault(f"resume of a handle to fiber #{index}, which does not exist", site)
        if dirty != target.dirty:
            raise RuntimeFault(f"fiber resumed twice: fiber #{index}'s handle was already resumed", site)
        if target.state == RUNNING:
            raise RuntimeFault(f"fiber #{index} is running, so it cannot be resumed", site)
        if target.ret_size != ret_size:
            raise RuntimeFault(f"resume expects a result of {ret_size} cells, but fiber #{index} "
                               f"returns {target.ret_size}", site)
        return target

    def collect(self, running: _Fiber) -> None:
        self.traced_records: set[int] = set()  # ids of the records read: many cells may share one
        marked: set[int] = set()
        work: list[_Fiber] = []
        fiber: _Fiber | None = running
        while fiber is not None:  # the chain, from the running fiber to main
            marked.add(fiber.index)
            work.append(fiber)
            fiber = fiber.parent
        frames = 0
        while work:
            fiber = work.pop()
            stack, pc, fp = fiber.stack, fiber.pc, fiber.fp
            while pc != _NO_PC:
                frames += 1
                for offset, shape in self.roots_at[pc]:
                    self.trace(stack, fp + offset, shape, marked, work)
                pc, fp = stack[fp - 2], stack[fp - 1]
        unreachable = [index for index in self.live if index not in marked]
        for index in unreachable:
            del self.live[index]  # its stack goes with it
        self.freed += len(unreachable)
        self.next_collection = 2 * max(len(self.live), frames // FRAMES_PER_FIBER, FEWEST_FIBERS)

    def trace(self, stack: list[int], at: int, shape: tuple, marked: set[int], work: list[_Fiber]) -> None:
        """Mark what the value at stack[at] reaches: a pending handle's fiber, if
        the handle is fresh (a stale one can never resume it), or what a Done
        handle's value, a closure's captures or a box's record hold. A list of
        parts to read, not recursion: a chain of boxes may be as long as memory."""
        todo = [(stack, at, shape)]
        while todo:
            cells, at, (kind, size, inner) = todo.pop()
            if kind == _HANDLE:
                if cells[at + 2 + size] == 0:
                    fiber = self.live.get(cells[at + 1])
                    if fiber is not None and fiber.index not in marked and fiber.dirty == cells[at]:
                        marked.add(fiber.index)
                        work.append(fiber)
                    continue
            elif kind == _TAGGED:
                inner = inner[cells[at + size]]  # the tag says which member's record is there
            else:
                cells, at = cells[at], 0  # the parts lie in the record
                if id(cells) in self.traced_records:
                    continue
                self.traced_records.add(id(cells))
            todo.extend((cells, at + offset, part) for offset, part in inner)


def run(program: B.Program, *, fuel: int | None = None, collect_at_every_spawn: bool = False) -> RunResult:
    """Run program's main proc to its return. fuel bounds the instructions
    executed; collect_at_every_spawn runs the collector at every spawn, not
    only when the fibers alive have doubled (for tests: a wrong stack map
    then shows at once)."""
    flat = _flatten(program, B.verify(program))
    code = flat.code
    segment_max = flat.segment_max
    ret_size = next(p for p in program.procs if p.name == program.main).ret_size

    stack = [0] * ret_size + [_NO_PC, 0]
    push, pop = stack.append, stack.pop
    main = cur = _Fiber(0, stack, parent=None, ret_size=ret_size)
    fibers = _Fibers(main, flat.roots_at, collect_at_every_spawn)
    fp = len(stack)
    pc = flat.entries[program.main]
    deepest = fp + segment_max[pc]
    calls = yields = resumes = spawns = 0
    limit = fuel if fuel is not None else 2**62
    lowest, highest = INT_MIN, INT_MAX  # locals: the range check is on the hot path
    steps = -1

    # Opcodes are literals below: CPython compares them faster than globals.
    try:
        for steps in range(limit):
            op, a, b = code[pc]
            pc += 1
            if op == 0:  # PUSH_FP
                push(stack[fp + a])
            elif op == 1:  # PUSH_IMM
                push(a)
            elif op == 2:  # STORE
                stack[fp + a] = pop()
            elif op == 3:  # JMPZ
                if pop() == 0:
                    pc = a
                    if fp + b > deepest:
                        deepest = fp + b
            elif op == 4:  # JMP
                pc = a
                if fp + b > deepest:
                    deepest = fp + b
            elif op == 5:  # ADD (pop() runs first, so the left operand is the old top)
                v = pop() + stack[-1]
                stack[-1] = v if lowest <= v <= highest else _wrap(v)
            elif op == 6:  # SUB
                v = pop() - stack[-1]
                stack[-1] = v if lowest <= v <= highest else _wrap(v)
            elif op == 7:  # LT
                stack[-1] = 1 if pop() < stack[-1] else 0
            elif op == 8:  # EQ
                stack[-1] = 1 if pop() == stack[-1] else 0
            elif op == 9:  # CALL
                calls += 1
                push(pc)
                push(fp)
                fp = len(stack)
                pc = a
                if fp + b > deepest:
                    deepest = fp + b
            elif op == 10:  # RET
                return_pc = stack[fp - 2]
                caller_fp = stack[fp - 1]
                del stack[fp - 2:]
                if return_pc != _NO_PC:
                    pc = return_pc
                    fp = caller_fp
                    if fp + segment_max[pc] > deepest:
                        deepest = fp + segment_max[pc]
                    continue
                # The fiber's outermost procedure returned: its result is at the bottom.
                if cur is main:
                    return RunResult(tuple(stack[:ret_size]), Stats(
                        steps + 1, calls, yields, resumes, spawns, fibers.freed, fibers.most_alive, deepest))
                fibers.finished(cur)  # no handle can run it again: its stack goes
                result = stack[:cur.ret_size]
                parent = cur.parent
                stack = parent.stack
                push, pop = stack.append, stack.pop
                push(cur.dirty)
                push(cur.index)
                stack.extend(result)
                push(1)
                cur, pc, fp = parent, parent.pc, parent.fp
            elif op == 11:  # SPADD
                stack.extend(b)
            elif op == 12:  # SPSUB
                del stack[len(stack) - a:]
            elif op == 13:  # MUL
                v = pop() * stack[-1]
                stack[-1] = v if lowest <= v <= highest else _wrap(v)
            elif op == 14:  # SPRESTOREFP
                del stack[fp:]
            elif op == 15:  # JMPREL1
                t = pop()
                if not 0 <= t < len(a):
                    raise RuntimeFault(f"jump table index {t} is out of range (the table has {len(a)} entries)")
                pc = a[t]
                if fp + b[t] > deepest:
                    deepest = fp + b[t]
            elif op == 16:  # SPAWN
                spawns += 1
                entry, entry_max, args_size, child_ret = a
                start = len(stack) - args_size
                child_stack = [0] * child_ret + stack[start:]
                child_stack.append(_NO_PC)
                child_stack.append(0)
                del stack[start:]
                cur.pc, cur.fp = pc, fp
                cur = fibers.spawn(child_stack, cur, child_ret, entry)
                stack, fp, pc = child_stack, cur.fp, entry
                push, pop = stack.append, stack.pop
                if fp + entry_max > deepest:
                    deepest = fp + entry_max
            elif op == 17:  # RESUME
                resumes += 1
                if stack[-1] != 0:
                    continue  # a Done handle: resume gives it back unchanged
                base = len(stack) - (3 + a)
                target = fibers.resumable(stack[base + 1], stack[base], a, b)
                del stack[base:]
                target.dirty += 1
                target.parent = cur
                target.state = RUNNING
                cur.pc, cur.fp = pc, fp
                cur, stack, fp, pc = target, target.stack, target.fp, target.pc
                push, pop = stack.append, stack.pop
                if fp + segment_max[pc] > deepest:
                    deepest = fp + segment_max[pc]
            elif op == 18:  # YIELD
                yields += 1
                if cur is main:
                    if fp + b > deepest:
                        deepest = fp + b
                    continue  # yield on main does nothing
                cur.pc, cur.fp = pc, fp
                cur.state = SUSPENDED
                parent, cur.parent = cur.parent, None
                stack = parent.stack
                push, pop = stack.append, stack.pop
                push(cur.dirty)
                push(cur.index)
                stack.extend([0] * cur.ret_size)
                push(0)
                cur, pc, fp = parent, parent.pc, parent.fp
            elif op == 19:  # BOX
                record = Record(stack[len(stack) - a:])
                del stack[len(stack) - a:]
                push(record)
            else:  # UNBOX
                record = pop()
                if type(record) is not Record:
                    raise RuntimeFault(f"`unbox {a}` needs a box, but the cell holds the number {record}")
                if len(record) != a:
                    raise RuntimeFault(f"`unbox {a}` needs a box of {a} cells, but this one holds {len(record)}")
                stack.extend(record)
    except TypeError:  # op is the instruction that met a record where it needs a number
        raise RuntimeFault(f"`{_MNEMONIC[op]}` needs a number, but a cell it reads holds a box") from None
    raise RuntimeFault(f"out of fuel after {steps + 1} steps")
