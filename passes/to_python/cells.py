"""Straight-line code: a block's instructions as Python statements over locals.

Each frame cell has a local named by its role (`arg_1`, `cap`, `ret_0`,
`loc_2`, `stk_5`); within a block a cell may instead hold a symbolic
expression (exprs.Expr), so pushes, stores and pops cost nothing. Only
calls, spawns, resumes and yields are statements, kept in program order:
at most one call waits in an expression, and only pure code moves past it.
Where control meets (a join, a loop's header) every cell that the code
after may read is moved into its own local: `canonicalize`, a parallel move.

Integers: a local always holds a wrapped (64-bit) value; an expression may
not. It is wrapped where it is assigned, compared, branched on, passed or
moved to a join, by a check that tests only the side it can overflow on.
A loose value (a call's result, or sums of them) is read at most once and
flows only through `+` and `-` into a return (anything else wraps it; `*`
takes wrapped operands), so its size grows with the logarithm of the work
done, never without bound.
"""

from __future__ import annotations

from functools import cached_property

from ir import blocks as B
from ir import python as P
from ir.immutable import immutable
from ir.ints import INT_MAX, INT_MIN, wrap
from machine.fast import CHAIN_DEPTH
from passes.to_python.exprs import (ATOM, CLOBBERED, TEST, UNSET, Expr, Ranges, binary, call, const, paren,
                                    var)
from passes.to_python.facts import ProcFacts, lowest
from passes.to_python.flow import CellFlow

MAX_EXPR_SIZE = 24  # operators in one expression before it is given a name
GROWTH = 2**127  # an unwrapped value stays within +-GROWTH
# The range test, as the generated code spells it.
LOWEST, HIGHEST = "-0x8000000000000000", "0x7fffffffffffffff"
assert int(LOWEST, 16) == INT_MIN and int(HIGHEST, 16) == INT_MAX


class CannotCompile(Exception):
    """A hand-written listing does something the fast backend does not reproduce."""


@immutable
class Context:
    """What compiling one proc needs to know of the whole program."""

    procs: dict[str, B.Proc]
    facts: dict[str, ProcFacts]
    names: dict[tuple[str, str], str]
    may_yield: frozenset[str]
    spawned: dict[str, tuple[str, tuple | None]]  # what a spawn of each spawned proc runs (facts.spawn_target)
    heights: dict[str, dict[str, int]]  # each proc's blocks' stack heights
    returns_wrapped: dict[str, tuple[bool, ...]]  # which result cells need no check (see compile_program)
    fiber_sizes: frozenset[int]  # the result sizes of the fibers that may be pending
    fiber_procs: frozenset[str]  # the procs such a fiber runs
    kind: str
    # The procs that wrap every cell they return: those of fibers, in a program
    # that boxes, where one fiber's int may be another's box, a record that no
    # range check at a resume may compare.
    wraps_results: frozenset[str] = frozenset()


class BlockState:
    """The symbolic state inside one block: the cells not in their own variable."""

    __slots__ = ("height", "cells", "readers", "pending")

    def __init__(self, height: int, cells: dict[int, Expr] | None = None,
                 readers: dict[str, set[int]] | None = None, pending: int | None = None):
        self.height = height
        self.cells = {} if cells is None else cells
        self.readers = {} if readers is None else readers  # variable -> cells whose expression reads it
        self.pending = pending  # the cell holding the call that has not run yet

    def copy(self) -> BlockState:
        readers = {name: set(cells) for name, cells in self.readers.items() if cells}
        return BlockState(self.height, dict(self.cells), readers, self.pending)


class BlockCompiler:
    """Emits a proc's straight-line code; control.ProcCompiler adds the control flow."""

    def __init__(self, proc: B.Proc, context: Context):
        self.proc, self.context = proc, context
        self.facts = context.facts[proc.name]
        self.generator = context.kind == P.GENERATOR
        self.heights = context.heights[proc.name]
        self.entry = proc.blocks[0].label
        self.low = lowest(proc)
        self.arg_low = self.low + proc.ret_size
        self.cap_low = self.arg_low + proc.arg_size
        self.lines: list[str] = []
        self.returned_wrapped = [True] * proc.ret_size  # which cells every `return` so far wraps
        self.indent = 1
        self.temps = 0
        self.ranges = Ranges()
        self.block: BlockState | None = None

    @cached_property
    def cells(self) -> CellFlow:
        """Which cells each block reads and writes: asked only where control meets."""
        return CellFlow.of(self.proc, self.heights, self.context.procs, self.context.facts)

    def cell_name(self, k: int) -> str:
        """The variable holding cell fp[k]: by its role in the frame."""
        if k < 0:
            if k < self.arg_low:
                role, first, count = "ret", self.low, self.proc.ret_size
            elif k < self.cap_low:
                role, first, count = "arg", self.arg_low, self.proc.arg_size
            else:
                role, first, count = "cap", self.cap_low, self.proc.captures_size
            return role if count == 1 else f"{role}_{k - first}"
        return f"loc_{k}" if k < self.proc.frame_size else f"stk_{k}"

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def fresh(self) -> str:
        self.temps += 1
        return f"t_{self.temps}"

    def fresh_block(self, label: str) -> BlockState:
        """The state on entry to a block: every cell in its own variable (and,
        at the proc's entry, a return slot not yet written)."""
        block = BlockState(self.heights[label])
        if label == self.entry and not self.facts.takes_return_slot:
            for k in range(self.low, self.arg_low):
                block.cells[k] = UNSET
        return block

    # -- instructions -------------------------------------------------------------------

    def straight_line(self, block: B.Block) -> int:
        """Emit block's instructions up to its ending jumps, from the state in
        self.block; the index of the first of those jumps."""
        instrs = block.instrs
        end = len(instrs) - (2 if len(instrs) >= 2 and isinstance(instrs[-2], B.Jmpz) else 1)
        for instr in instrs[:end]:
            self.instruction(instr)
        return end

    def instruction(self, instr: B.Instr) -> None:
        match instr:
            case B.Push(B.Imm(value)):
                self.push(const(value))
            case B.Push(B.FpOffset(k)):
                self.push(self.read(k))
            case B.Store(k):
                self.store(k, self.pop())
            case B.SpAdd(n):
                for _ in range(n):
                    self.push(const(0))
            case B.SpSub(n):
                for _ in range(n):
                    self.drop(self.pop())
            case B.SpRestoreFp():
                while self.block.height:
                    self.drop(self.pop())
            case B.Add() | B.Sub() | B.Mul() | B.Lt() | B.Eq():
                x = self.pop_number()
                self.push(self.operate(type(instr), x, self.pop_number()))
            case B.Box(n):
                self.push(self.box([self.wrapped(self.pop()) for _ in range(n)][::-1]))
            case B.Unbox(n):
                record = self.record_name(self.pop_number(), {self.cell_name(k) for k in range(
                    self.block.height, self.block.height + n)})
                for i in range(n):
                    self.push(Expr(f"{record}[{i}]", ATOM, INT_MIN, INT_MAX, frozenset((record,))))
            case B.Call():
                self.call(instr.proc)
            case B.Spawn():
                self.spawn(instr)
            case B.Resume():
                self.resume(instr)
            case B.Yield():
                if self.generator:
                    self.flush_effects()
                    self.emit("yield")
            case _:
                raise CannotCompile(f"`{B.show_instr(instr)}` in the middle of a block")

    def box(self, cells: list[Expr]) -> Expr:
        """The record of cells, lowest first: a Python tuple (machine/fast.py),
        never taken for an integer (its interval is any)."""
        parts = [paren(e, TEST) for e in cells]
        text = f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
        names = frozenset().union(*(e.names for e in cells))
        return Expr(text, ATOM, INT_MIN, INT_MAX, names, any(e.effect for e in cells), 1 + len(cells))

    def record_name(self, e: Expr, cells: set[str]) -> str:
        """A local holding the record e, which `unbox` indexes: not the variable
        of one of the cells it unboxes into, which a move may overwrite while
        the others still read the record."""
        if e.trivial and e.names and not e.is_const and e.text not in cells:
            return e.text
        name = self.fresh()
        self.emit(f"{name} = {e.text}")
        return name

    def spawn(self, instr: B.Spawn) -> None:
        raise NotImplementedError  # fibers.FiberCompiler

    def resume(self, instr: B.Resume) -> None:
        raise NotImplementedError  # fibers.FiberCompiler

    # -- cells ---------------------------------------------------------------------------

    def cell(self, k: int) -> Expr:
        found = self.block.cells.get(k)
        if found is not None:
            return found
        name = self.cell_name(k)
        return var(name, *self.ranges.get(name))

    def set_cell(self, k: int, e: Expr | None) -> None:
        block = self.block
        old = block.cells.pop(k, None)
        if old is not None:
            for name in old.names:
                block.readers[name].discard(k)
            if block.pending == k:
                block.pending = None
        if e is not None:
            block.cells[k] = e
            for name in e.names:
                block.readers.setdefault(name, set()).add(k)
            if e.effect:
                block.pending = k

    def push(self, e: Expr) -> None:
        if e.size > MAX_EXPR_SIZE:
            e = self.materialize(e)
        self.set_cell(self.block.height, e)
        self.block.height += 1

    def pop(self) -> Expr:
        self.block.height -= 1
        k = self.block.height
        e = self.cell(k)
        self.set_cell(k, None)
        return e

    def pop_number(self) -> Expr:
        """The top cell, which an operation or a test uses as a value: never
        an argument cell the callee may have changed (only padding is one)."""
        e = self.pop()
        if e is CLOBBERED:
            raise CannotCompile(f"proc {self.proc.name} computes with an argument cell of a call "
                                "after the callee may have changed it")
        return e

    def drop(self, e: Expr) -> None:
        """A popped value nothing uses: its waiting call still runs."""
        if e.effect:
            self.emit(e.text)

    def read(self, k: int) -> Expr:
        e = self.cell(k)
        if e is CLOBBERED:  # copied, as a tuple's field copies a closure's padding: it goes on as a 0
            return e
        if e is UNSET:
            raise AssertionError("a return cell read before written (ProcFacts says it is not)")
        if not e.trivial or e.loose:  # a loose value is read once: a second reader gets it wrapped
            if k < 0:  # a new argument or result: into its own variable, where it goes anyway
                name = self.cell_name(k)
                self.assign(name, e, keep=k)
                self.set_cell(k, None)
                return self.cell(k)
            e = self.wrapped(self.materialize(e))
            self.set_cell(k, e)
        return e

    def store(self, k: int, e: Expr) -> None:
        if self.block.pending == k:  # the value of a call nobody reads: the call still runs
            self.drop(self.block.cells[k])
            self.set_cell(k, None)
        if e.trivial or k < 0:  # below fp: results and new arguments, moved at the block's end
            self.set_cell(k, e)
            return
        name = self.cell_name(k)
        self.assign(name, e, keep=k)
        self.set_cell(k, None)

    def make_room(self, name: str, keep: int | None = None) -> None:
        """Give its own variable to every cell (but keep) still reading name, which is about to change."""
        for k in sorted(self.block.readers.get(name, ())):
            if k != keep:
                self.set_cell(k, self.copied(self.cell(k)))

    def assign(self, name: str, e: Expr, keep: int | None = None) -> None:
        """name = e, first giving its own variable to every cell still reading name."""
        self.make_room(name, keep)
        self.emit(f"{name} = {e.text}")
        self.check(name, e)

    def copied(self, e: Expr) -> Expr:
        """e in a variable of its own, even where e reads just one (a variable,
        or one cell of a record in it), which materialize would keep: for a
        reader of a variable about to change."""
        if not e.trivial or e.is_const:
            return self.materialize(e)
        copy = self.fresh()
        self.emit(f"{copy} = {e.text}")
        return var(copy, e.lo, e.hi, e.loose)

    def materialize(self, e: Expr, keep_loose: bool = False) -> Expr:
        """e in a variable of its own, which holds a wrapped value; or, for a
        loose e that keep_loose allows, a loose one (read at most once)."""
        if e.is_const:
            return const(wrap(e.lo))
        if e.trivial:
            return e
        name = self.fresh()
        self.emit(f"{name} = {e.text}")
        if e.loose and keep_loose:
            return var(name, loose=True)
        return self.check(name, e)

    def flush_effects(self, keep: tuple[int, ...] = ()) -> None:
        """Run the waiting call now (before another effect), unless it is in keep."""
        k = self.block.pending
        if k is not None and k not in keep:
            self.set_cell(k, self.materialize(self.block.cells[k], keep_loose=True))

    # -- integers -------------------------------------------------------------------------

    def wrapped(self, e: Expr) -> Expr:
        """e as a value within 64 bits."""
        if e.wrapped:
            return e
        if e.loose and e.trivial:  # a loose variable has no other reader: wrap it in place
            return self.check(e.text, e)
        return self.materialize(e)

    def check(self, name: str, e: Expr) -> Expr:
        """After `name = e`: wrap name if e may be outside 64 bits, testing only
        the side it can overflow on. The variable of name, with its interval."""
        low, high = e.lo < INT_MIN or e.loose, e.hi > INT_MAX or e.loose
        if low and high:
            self.emit(f"if not {LOWEST} <= {name} <= {HIGHEST}:")
        elif high:
            self.emit(f"if {name} > {HIGHEST}:")
        elif low:
            self.emit(f"if {name} < {LOWEST}:")
        if low or high:
            self.emit(f"    {name} = wrap({name})")
        lo, hi = (INT_MIN, INT_MAX) if low or high else (e.lo, e.hi)  # a wrapped value lands anywhere
        self.ranges.set(name, lo, hi)
        return var(name, lo, hi)

    def operate(self, op: type, x: Expr, y: Expr) -> Expr:
        if op in (B.Lt, B.Eq, B.Mul):
            x, y = self.wrapped(x), self.wrapped(y)
        result = binary(op, x, y)
        if not result.loose and not -GROWTH <= result.lo <= result.hi <= GROWTH:
            result = binary(op, self.wrapped(x), self.wrapped(y))
        return result

    # -- where control meets ------------------------------------------------------------------

    def canonicalize(self, *targets: str, keep: dict[int, Expr] | None = None) -> None:
        """Bring every cell that one of the target blocks may read into its own
        variable, as blocks expect them on entry, but the cells of keep (which
        hold those expressions on every path there): a parallel move, in an
        order where each variable is read before it is overwritten (a cycle
        goes through a temporary). Dead cells are dropped (their waiting call runs)."""
        block = self.block
        live = frozenset().union(*(self.cells.live[target] for target in targets))
        moves: dict[str, Expr] = {}
        for k in sorted(block.cells):
            e = block.cells[k]
            if e is UNSET or keep and k in keep:
                continue
            if k not in live:
                self.drop(e)
                self.set_cell(k, None)
                continue
            name = self.cell_name(k)
            if e.text != name:
                moves[name] = e
            self.set_cell(k, None)
        readers = {name: 0 for name in moves}  # how many other moves still to come read each target
        for target, e in moves.items():
            for name in e.names & readers.keys() - {target}:
                readers[name] += 1
        ready = [name for name in moves if not readers[name]]
        while moves:
            if not ready:  # a cycle: one move's value goes to a temporary first
                name = next(iter(moves))
                e = moves[name]
                moves[name] = self.copied(e)
                ready.extend(self.unread(name, e, readers))
                continue
            name = ready.pop()
            e = moves.pop(name)
            self.assign(name, e)
            ready.extend(self.unread(name, e, readers))

    @staticmethod
    def unread(target: str, e: Expr, readers: dict[str, int]) -> list[str]:
        """Count the reads of `target = e` as done; the targets nothing reads any more."""
        freed = []
        for name in sorted(e.names & readers.keys() - {target}):
            readers[name] -= 1
            if not readers[name]:
                freed.append(name)
        return freed

    def test_before_moves(self, e: Expr) -> Expr:
        """A branch's test or table index, wrapped, named if the moves before
        the branch would change what it reads (or it waits for a call)."""
        e = self.wrapped(e)
        overwritten = {self.cell_name(k) for k, c in self.block.cells.items() if c is not UNSET}
        if e.effect or e.names & overwritten:
            return self.copied(e)
        return e

    def ret(self) -> None:
        values = [self.cell(k) for k in range(self.low, self.arg_low)]
        if any(e is UNSET for e in values):
            raise AssertionError("a return cell never written (ProcFacts says it is)")
        self.flush_effects(keep=tuple(range(self.low, self.arg_low)))
        if self.proc.name in self.context.wraps_results:
            values = [self.wrapped(e) for e in values]
        self.returned_wrapped = [w and e.wrapped for w, e in zip(self.returned_wrapped, values)]
        self.emit("return " + ", ".join(paren(e, 0) for e in values) if values else "return")

    # -- calls --------------------------------------------------------------------------------

    def arguments(self, count: int) -> list[Expr]:
        """The top count cells, lowest first, wrapped; every waiting call has run."""
        top = self.block.height
        self.flush_effects()
        args = [self.cell(k) for k in range(top - count, top)]
        return [self.wrapped(e) for e in args]

    def call(self, callee: str) -> None:
        proc = self.context.procs[callee]
        facts = self.context.facts[callee]
        size = proc.arg_size + proc.captures_size
        top = self.block.height
        slot = top - size - proc.ret_size
        args = self.arguments(size + (proc.ret_size if facts.takes_return_slot else 0))
        generator = self.generator and callee in self.context.may_yield
        function = self.context.names[callee, P.GENERATOR if generator else P.FUNCTION]
        loose = [not wrapped for wrapped in self.context.returns_wrapped[callee]]
        if generator:
            deeper = call(function, [*args, var("depth + 1")])
            trampolined = call(function, [*args, const(0)])
            e = Expr(f"(yield from {deeper.text}) if depth < {CHAIN_DEPTH} else (yield {trampolined.text})",
                     TEST, INT_MIN, INT_MAX, deeper.names - {"depth + 1"} | {"depth"}, True, 1, loose=any(loose))
        else:
            e = call(function, args, any(loose))
        if facts.writes_arguments:
            for k in range(top - size, top):
                self.set_cell(k, CLOBBERED)
        if proc.ret_size == 1:
            self.set_cell(slot, e)
        elif proc.ret_size == 0:
            self.emit(e.text)
        else:
            self.unpack(e.text, slot, proc.ret_size, loose=loose)

    def unpack(self, text: str, first: int, count: int, loose: list[bool]) -> None:
        """Cells from a call's tuple of results, the loose ones marked so."""
        names = [self.fresh() for _ in range(count)]
        self.emit(f"{', '.join(names)} = {text}")
        for k, name, unwrapped in zip(range(first, first + count), names, loose):
            self.set_cell(k, var(name, loose=unwrapped))
            self.ranges.set(name, INT_MIN, INT_MAX)
