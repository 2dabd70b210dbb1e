"""to-python: blocks -> python, the program as Python source for machine.fast.

Every proc becomes a Python function; its frame cells become locals
(stack-to-register conversion, by the blocks IR's static stack heights):
the argument and capture cells are parameters (lowest address first), the
return slot cells the return value, and within a block each operand is a
symbolic pure expression, so pushes, stores and pops cost nothing. Calls,
spawns, resumes and yields are statements kept in program order (at most
one call waits in an expression, and only pure code moves past it).

Control flow: a self tail call (a jump back to the entry) is a `while`
loop; branches and jump tables are `if`/`elif`, each arm ending where the
branch's immediate post-dominator begins. A proc whose blocks do not nest
this way (a loop elsewhere, a block shared by arms, nesting too deep for
Python) falls back to a flat loop dispatching on the block's number.

Fibers: a proc that can reach a `yield` (ir.blocks.procs_that_may_yield,
over reachable blocks) runs as a generator on a fiber and as a plain
function on main, where yield does nothing; each version is made only where
it is used. See machine/fast.py for the trampoline that bounds `yield from`
chains (the generator's extra `depth` parameter).

Integers: a variable always holds a wrapped (64-bit) value; an expression
may not, and knows an interval of the Python int it can be. It is wrapped
where it is assigned, compared, branched on, passed or moved to a join,
by a check that tests only the side it can overflow on. Branch tests
narrow the intervals of what they compare, so `n - 1` under `n < 2 ==
false` needs no check. A call's result is loose: any int congruent to the
value, unless every `return` of the callee is wrapped (assumed, then
withdrawn and the callers compiled again). A loose value is read at most
once and flows only through `+` and `-` into a return (anything else wraps
it; `*` takes wrapped operands), so its size grows with the logarithm of
the work done, never without bound: `fib` needs no check at all.
"""

from __future__ import annotations

import re

from ir import blocks as B
from ir import python as P
from ir.immutable import immutable, replace
from ir.ints import INT_MAX, INT_MIN, wrap
from ir.source import CompileError
from machine.fast import CHAIN_DEPTH
from passes.framework import Pass

MAX_NESTING = 60  # indentation levels of structured code (Python's limit is 100)
MAX_EXPR_SIZE = 24  # operators in one expression before it is given a name
GROWTH = 2**127  # an unwrapped value stays within +-GROWTH
# The range test, as the generated code spells it.
LOWEST, HIGHEST = "-0x8000000000000000", "0x7fffffffffffffff"
assert int(LOWEST, 16) == INT_MIN and int(HIGHEST, 16) == INT_MAX

ATOM, UNARY, MUL, ADD, COMPARE, TEST = 16, 14, 13, 12, 7, 1
_OPS = {B.Add: ("+", ADD), B.Sub: ("-", ADD), B.Mul: ("*", MUL), B.Lt: ("<", COMPARE), B.Eq: ("==", COMPARE)}


class ToPython(Pass):
    name = "to-python"
    input_ir = "blocks"
    output_ir = "python"
    summary = "compile the blocks program to Python (locals for cells, generators for fibers)"

    def run(self, program: B.Program) -> P.Program:
        return compile_program(program)


class CannotCompile(Exception):
    """A hand-written listing does something the fast backend does not reproduce."""


def compile_program(program: B.Program) -> P.Program:
    heights = {proc.name: B.stack_heights(proc) for proc in program.procs}
    procs = {proc.name: _reachable(proc, heights[proc.name]) for proc in program.procs}
    facts = {name: ProcFacts.of(proc) for name, proc in procs.items()}
    may_yield = B.procs_that_may_yield(B.Program(tuple(procs.values()), program.result_type, program.main))
    spawned = {name: _spawn_target(name, procs, facts) for name in procs}
    versions = _versions(procs, program.main, may_yield, spawned)
    names = _python_names(versions)
    callers: dict[str, set[str]] = {name: set() for name in procs}
    for name, proc in procs.items():
        for block in proc.blocks:
            for instr in block.instrs:
                if isinstance(instr, B.Call):
                    callers[instr.proc].add(name)
    # Whether each proc returns wrapped values, so that its callers need not
    # check them: assumed at first, then withdrawn where a compiled proc
    # returns a loose value, and its callers compiled again.
    returns_wrapped = {name: True for name in procs}
    sources: dict[tuple[str, str], str] = {}
    todo = versions
    try:
        while todo:
            withdrawn = set()
            for name, kind in todo:
                context = _Context(procs, facts, names, may_yield, spawned, heights, returns_wrapped, kind)
                compiler = _ProcCompiler(procs[name], context)
                sources[name, kind] = compiler.compile()
                if returns_wrapped[name] and not compiler.returned_wrapped:
                    withdrawn.add(name)
            for name in withdrawn:
                returns_wrapped[name] = False
            again = set().union(*(callers[name] for name in withdrawn))
            todo = [(name, kind) for name, kind in versions if name in again]
    except CannotCompile as problem:
        raise CompileError(f"the fast backend cannot compile this program: {problem} "
                           "(run it with --backend vm)", None) from None
    out = tuple(P.Proc(name, names[name, kind], kind, sources[name, kind]) for name, kind in versions)
    return P.Program(program.result_type, names[program.main, P.FUNCTION], out)


def _reachable(proc: B.Proc, heights: dict[str, int]) -> B.Proc:
    """proc without the blocks no path reaches (they never run)."""
    return B.Proc(proc.name, proc.arg_size, proc.captures_size, proc.ret_size, proc.frame_size,
                  tuple(b for b in proc.blocks if b.label in heights))


def _versions(procs: dict[str, B.Proc], main: str, may_yield: frozenset[str],
              spawned: dict[str, tuple[str, tuple | None]]) -> list[tuple[str, str]]:
    """(proc, kind) for every version some run can use, in program order: plain
    functions for main and for procs that cannot yield, generators on fibers."""
    needed = {(main, P.FUNCTION)}
    work = [(main, P.FUNCTION)]
    while work:
        name, kind = work.pop()
        for block in procs[name].blocks:
            for instr in block.instrs:
                if isinstance(instr, B.Call):
                    found = (instr.proc, kind if instr.proc in may_yield else P.FUNCTION)
                elif isinstance(instr, B.Spawn):
                    found = (spawned[instr.proc][0], P.GENERATOR if instr.proc in may_yield else P.FUNCTION)
                else:
                    continue
                if found not in needed:
                    needed.add(found)
                    work.append(found)
    return [(name, kind) for name in procs for kind in (P.FUNCTION, P.GENERATOR) if (name, kind) in needed]


def _spawn_target(name: str, procs: dict[str, B.Proc], facts: dict[str, ProcFacts]) -> tuple[str, tuple | None]:
    """The proc a spawn of name runs, and where each of its parameters comes
    from: a proc that only passes its cells on to another and returns that
    one's result (as `spawn (f x)` compiles) is skipped, saving a generator."""
    sources = None
    for _ in range(len(procs)):
        forwarded = _forwarding(procs[name], procs, facts)
        if forwarded is None:
            break
        name, inner = forwarded
        sources = inner if sources is None else tuple(s if s[0] == "const" else sources[s[1]] for s in inner)
    return name, sources


def _forwarding(proc: B.Proc, procs: dict[str, B.Proc], facts: dict[str, ProcFacts]) -> tuple[str, tuple] | None:
    """(callee, its parameters as ("param", i) or ("const", n)) if proc is one
    block that calls callee with its own cells or constants and returns its result."""
    if len(proc.blocks) != 1 or facts[proc.name].takes_return_slot:
        return None
    arg_low = _lowest(proc) + proc.ret_size
    stack: list[tuple] = []
    callee, returned = None, {}
    for instr in proc.blocks[0].instrs:
        match instr:
            case B.SpAdd(n):
                stack += [("const", 0)] * n
            case B.Push(B.Imm(value)):
                stack.append(("const", value))
            case B.Push(B.FpOffset(k)) if arg_low <= k <= -3:
                stack.append(("param", k - arg_low))
            case B.Call(proc=target) if callee is None and not facts[target].takes_return_slot:
                callee, size = procs[target], procs[target].arg_size + procs[target].captures_size
                arguments = tuple(stack[len(stack) - size:])
                if len(stack) < size + callee.ret_size or any(a[0] not in ("param", "const") for a in arguments):
                    return None
                stack[len(stack) - size - callee.ret_size:] = [("result", i) for i in range(callee.ret_size)] \
                    + [("spent",)] * size
            case B.SpSub(n) if n <= len(stack):
                del stack[len(stack) - n:]
            case B.Store(k) if k < arg_low and stack:
                returned[k - _lowest(proc)] = stack.pop()
            case B.Ret() if callee is not None and callee.ret_size == proc.ret_size:
                ok = all(returned.get(i) == ("result", i) for i in range(proc.ret_size))
                return (callee.name, arguments) if ok else None
            case _:
                return None
    return None


# -- names -------------------------------------------------------------------------

# The locals' names (see _ProcCompiler.cell_name); no proc takes one of these.
_LOCAL_NAME = re.compile(r"(arg|cap|ret|loc|stk|t|depth|label)(_[0-9]+)?")


def _python_names(versions: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """An injective map to the safe alphabet: names already safe keep their
    spelling when they can; the rest, and clashes, get a numeric suffix."""
    taken = set(P.RUNTIME_NAMES)
    wanted = {}
    for name, kind in versions:
        base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "proc"
        if not base[0].isalpha():
            base = "p_" + base
        wanted[name, kind] = base + ("_gen" if kind == P.GENERATOR else "")
    names = {}
    exact = [key for key in versions if key[1] == P.FUNCTION and wanted[key] == key[0]]
    exact_keys = set(exact)  # a list's `in` made this quadratic in the number of procs
    for key in exact + [key for key in versions if key not in exact_keys]:
        candidate, suffix = wanted[key], 1
        while (candidate in taken or not P.is_safe_name(candidate) or _LOCAL_NAME.fullmatch(candidate)):
            suffix += 1
            candidate = f"{wanted[key]}_v{suffix}"
        taken.add(candidate)
        names[key] = candidate
    return names


# -- facts about a proc --------------------------------------------------------------


@immutable
class ProcFacts:
    takes_return_slot: bool  # it may read its return slot, or return cells it never wrote
    writes_arguments: bool  # it stores into its argument or capture cells

    @staticmethod
    def of(proc: B.Proc) -> ProcFacts:
        low = _lowest(proc)
        arg_low = low + proc.ret_size
        writes_arguments = any(isinstance(i, B.Store) and arg_low <= i.offset <= -3
                               for b in proc.blocks for i in b.instrs)
        reads_return = any(isinstance(i, B.Push) and isinstance(i.operand, B.FpOffset)
                           and low <= i.operand.offset < arg_low for b in proc.blocks for i in b.instrs)
        return ProcFacts(reads_return or not _return_slot_always_written(proc), writes_arguments)


def _lowest(proc: B.Proc) -> int:
    return -(2 + proc.captures_size + proc.arg_size + proc.ret_size)


def _return_slot_always_written(proc: B.Proc) -> bool:
    """Whether every path to a `ret` stores every cell of the return slot (a
    forward data flow over bit masks, one bit per return cell)."""
    full = (1 << proc.ret_size) - 1
    if not full:
        return True
    low = _lowest(proc)
    entry = proc.blocks[0].label
    arriving = {b.label: (0 if b.label == entry else full) for b in proc.blocks}
    by_label = {b.label: b for b in proc.blocks}
    work = [entry]
    while work:
        block = by_label[work.pop()]
        written = arriving[block.label]
        for instr in block.instrs:
            if isinstance(instr, B.Store) and low <= instr.offset < low + proc.ret_size:
                written |= 1 << (instr.offset - low)
            elif isinstance(instr, B.Ret) and written != full:
                return False
            for target in B.jump_targets(instr):
                narrowed = arriving[target] & (0 if target == entry else written)
                if narrowed != arriving[target]:
                    arriving[target] = narrowed
                    work.append(target)
    return True


# -- expressions -------------------------------------------------------------------


@immutable
class Expr:
    """A pure expression (or one waiting call) over Python locals, with an
    interval holding the Python int it evaluates to."""

    text: str
    prec: int
    lo: int
    hi: int
    names: frozenset[str] = frozenset()
    effect: bool = False  # holds a call that has not run yet
    size: int = 0  # operators in it
    test: tuple | None = None  # (op, left, right) of a comparison, to narrow intervals on a branch
    loose: bool = False  # a call's result, or sums of them: any int, interval unknown (see the docstring)

    @property
    def wrapped(self) -> bool:
        return not self.loose and INT_MIN <= self.lo and self.hi <= INT_MAX

    @property
    def trivial(self) -> bool:
        return self.prec == ATOM and self.size == 0 and not self.effect or self.is_const

    @property
    def is_const(self) -> bool:
        return self.lo == self.hi and not self.names and not self.effect and not self.loose


def const(n: int) -> Expr:
    return Expr(str(n), ATOM if n >= 0 else UNARY, n, n)


def var(name: str, lo: int = INT_MIN, hi: int = INT_MAX, loose: bool = False) -> Expr:
    if lo == hi and not loose:
        return const(wrap(lo))
    return Expr(name, ATOM, lo, hi, frozenset((name,)), loose=loose)


UNSET = Expr("<unset>", ATOM, 0, 0)  # a return cell not written yet (never read: see ProcFacts)
CLOBBERED = Expr("<clobbered>", ATOM, 0, 0)  # an argument cell after a call that may change it


def paren(e: Expr, above: int) -> str:
    return e.text if e.prec > above else f"({e.text})"


def binary(op: type, x: Expr, y: Expr) -> Expr:
    """x op y, x being the left operand (the stack's top)."""
    symbol, prec = _OPS[op]
    if op is B.Add:
        lo, hi = x.lo + y.lo, x.hi + y.hi
    elif op is B.Sub:
        lo, hi = x.lo - y.hi, x.hi - y.lo
    elif op is B.Mul:
        corners = (x.lo * y.lo, x.lo * y.hi, x.hi * y.lo, x.hi * y.hi)
        lo, hi = min(corners), max(corners)
    else:
        lo, hi = 0, 1
    if x.is_const and y.is_const:
        value = {B.Add: x.lo + y.lo, B.Sub: x.lo - y.lo, B.Mul: x.lo * y.lo,
                 B.Lt: int(x.lo < y.lo), B.Eq: int(x.lo == y.lo)}[op]
        return const(wrap(value))
    if op is B.Sub and x.is_const and x.lo == 0:
        text, prec = f"-{paren(y, UNARY - 1)}", UNARY
    else:
        # Comparisons chain in Python: an operand that is one needs parentheses.
        left = paren(x, prec - 1 if prec != COMPARE else prec)
        text, prec = f"{left} {symbol} {paren(y, prec)}", prec
    test = (op, x, y) if op in (B.Lt, B.Eq) else None
    return Expr(text, prec, lo, hi, x.names | y.names, x.effect or y.effect, x.size + y.size + 1, test,
                x.loose or y.loose)


def call(function: str, args: list[Expr], lo: int = INT_MIN, hi: int = INT_MAX) -> Expr:
    text = f"{function}({', '.join(paren(a, 0) for a in args)})"
    return Expr(text, ATOM, lo, hi, frozenset().union(*(a.names for a in args)), True, 1, loose=True)


# -- state between blocks -------------------------------------------------------------


class Ranges:
    """Intervals of variables, as an overlay on the state at the branch that
    led here: an arm's changes stay in its own overlay until the arms join."""

    def __init__(self, parent: Ranges | None = None):
        self.parent = parent
        self.own: dict[str, tuple[int, int]] = {}

    def get(self, name: str) -> tuple[int, int]:
        ranges = self
        while ranges is not None:
            found = ranges.own.get(name)
            if found is not None:
                return found
            ranges = ranges.parent
        return INT_MIN, INT_MAX

    def set(self, name: str, lo: int, hi: int) -> None:
        self.own[name] = (lo, hi)

    def changed_since(self, base: Ranges) -> set[str]:
        names, ranges = set(), self
        while ranges is not base and ranges is not None:
            names.update(ranges.own)
            ranges = ranges.parent
        return names

    def join(self, arms: list[Ranges]) -> None:
        """Make self (the state at the branch) the state where the arms meet."""
        changed = sorted(set().union(*(arm.changed_since(self) for arm in arms)))
        for name in changed:
            bounds = [arm.get(name) for arm in arms]
            self.own[name] = (min(b[0] for b in bounds), max(b[1] for b in bounds))


class Unstructured(Exception):
    """The proc's control flow does not nest: compile it as a dispatch loop."""


@immutable
class _Context:
    procs: dict[str, B.Proc]
    facts: dict[str, ProcFacts]
    names: dict[tuple[str, str], str]
    may_yield: frozenset[str]
    spawned: dict[str, tuple[str, tuple | None]]  # what a spawn of each proc runs (see _spawn_target)
    heights: dict[str, dict[str, int]]  # each proc's blocks' stack heights
    returns_wrapped: dict[str, bool]  # whether a call's results need no check (see compile_program)
    kind: str


# -- procs -----------------------------------------------------------------------------


class _Block:
    """The symbolic state inside one block: the cells not in their own variable."""

    __slots__ = ("height", "cells", "readers", "pending")

    def __init__(self, height: int, cells: dict[int, Expr] | None = None,
                 readers: dict[str, set[int]] | None = None, pending: int | None = None):
        self.height = height
        self.cells = {} if cells is None else cells
        self.readers = {} if readers is None else readers  # variable -> cells whose expression reads it
        self.pending = pending  # the cell holding the call that has not run yet

    def copy(self) -> _Block:
        readers = {name: set(cells) for name, cells in self.readers.items() if cells}
        return _Block(self.height, dict(self.cells), readers, self.pending)


class _ProcCompiler:
    def __init__(self, proc: B.Proc, context: _Context):
        self.proc, self.context = proc, context
        self.facts = context.facts[proc.name]
        self.generator = context.kind == P.GENERATOR
        self.blocks = {b.label: b for b in proc.blocks}
        self.heights = context.heights[proc.name]
        self.entry = proc.blocks[0].label
        self.low = _lowest(proc)
        self.arg_low = self.low + proc.ret_size
        self.cap_low = self.arg_low + proc.arg_size
        self.lines: list[str] = []
        self.returned_wrapped = True  # every `return` so far returns wrapped values
        self.indent = 1
        self.temps = 0
        self.ranges = Ranges()
        self.block: _Block | None = None
        self.loops = any(self.entry in _targets(b) for b in proc.blocks)
        # Liveness matters only where cells are moved: at joins and jumps back to the entry.
        self.live = _live_cells(proc, self.heights, context) if len(proc.blocks) > 1 or self.loops else {}

    # -- the function ---------------------------------------------------------------

    def compile(self) -> str:
        params = [self.cell_name(k) for k in range(self.low, -2)
                  if k >= self.arg_low or self.facts.takes_return_slot]
        if self.generator:
            params.append("depth")
        name = self.context.names[self.proc.name, self.context.kind]
        kind = "generator: runs on a fiber" if self.generator else "plain function"
        head = [f"def {name}({', '.join(params)}):", f"    # {kind}; blocks proc {self.proc.name}"]
        try:
            body = self.structured()
        except Unstructured:
            body = self.dispatch_loop()
        return "\n".join(head + body) + "\n"

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

    # -- structured control flow ---------------------------------------------------------

    def structured(self) -> list[str]:
        self.ipdom = _post_dominators(self.proc, self.entry)
        self.joins = _joins(self.proc)
        self.done: set[str] = set()
        if self.loops:
            self.emit("while True:")
            self.indent += 1
        self.block = self.fresh_block(self.entry)
        self.region(self.entry, None, 0)
        return self.lines

    def region(self, label: str, stop: str | None, nesting: int) -> bool:
        """Emit the blocks from label until stop (the join), going on from the
        symbolic state in self.block; whether control gets to stop. A block
        with one predecessor goes on from its state; at a join every cell is
        moved to its own variable first."""
        if nesting > MAX_NESTING:
            raise Unstructured
        while True:
            if label == stop:
                self.canonicalize(stop)
                return True
            if label == self.entry and self.done:
                self.back_to_entry()
                return False
            if label in self.done:
                raise Unstructured  # a block shared by arms that do not join there
            self.done.add(label)
            if label in self.joins and self.block.cells:
                self.canonicalize(label)
                self.block = self.fresh_block(label)
            block = self.blocks[label]
            end = self.straight_line(block)
            instrs = block.instrs[end:]
            if isinstance(instrs[-1], B.Ret):
                self.ret()
                return False
            if isinstance(instrs[-1], B.Jmp) and len(instrs) == 1:
                label = instrs[-1].label
                continue
            join = self.ipdom[label]
            arms = self.branch(instrs)
            base, at_branch = self.ranges, self.block
            reaching, first_reaches = [], True
            for position, (test, target, narrow) in enumerate(arms):
                self.ranges, self.block = Ranges(base), at_branch.copy()
                narrow(self.ranges)
                alone = len(arms) == 2 and position == 1 and not first_reaches
                if not alone:
                    self.emit(test)
                    self.indent += 1
                before = len(self.lines)
                if target is None:  # the table's index is out of range
                    self.emit(f"bad_jump({self.table_index}, {len(instrs[0].labels)})")
                    gets_there = False
                else:
                    gets_there = self.region(target, join, nesting + (0 if alone else 1))
                if len(self.lines) == before:
                    self.emit("pass")
                if not alone:
                    self.indent -= 1
                if gets_there:
                    reaching.append(self.ranges)
                if position == 0:
                    first_reaches = gets_there
            self.ranges = base
            if not reaching:
                return False
            base.join(reaching)
            if join is None:
                raise Unstructured  # arms meeting nowhere, yet getting somewhere
            label, self.block = join, self.fresh_block(join)

    def fresh_block(self, label: str) -> _Block:
        """The state on entry to a block: every cell in its own variable (and,
        at the proc's entry, a return slot not yet written)."""
        block = _Block(self.heights[label])
        if label == self.entry and not self.facts.takes_return_slot:
            for k in range(self.low, self.arg_low):
                block.cells[k] = UNSET
        return block

    def branch(self, instrs: tuple, canonical: bool = False) -> list[tuple[str, str | None, object]]:
        """The arms of a block's ending branch: (`if` line, target, how it narrows
        ranges). canonical: every cell goes to its own variable before the test."""
        if isinstance(instrs[0], B.Jmpz):
            condition = self.wrapped(self.pop())
            if canonical:
                condition = self.test_before_moves(condition)
                self.canonicalize(instrs[0].label, instrs[1].label)
            elif condition.effect:
                condition = self.materialize(condition)
            self.flush_effects()
            yes, no = instrs[1].label, instrs[0].label
            return [(f"if {condition.text}:", yes, lambda r: _narrow(r, condition, True)),
                    ("else:", no, lambda r: _narrow(r, condition, False))]
        table = instrs[0]
        index = self.wrapped(self.pop())
        if canonical:
            index = self.test_before_moves(index)
            self.canonicalize(*table.labels)
        if not index.trivial:
            index = self.materialize(index)
        self.flush_effects()
        self.table_index = index.text
        arms, seen = [], {}
        for i, target in enumerate(table.labels):
            seen.setdefault(target, []).append(i)
        complete = 0 <= index.lo and index.hi < len(table.labels)
        targets = list(seen.items())
        for position, (target, indices) in enumerate(targets):
            word = "if" if position == 0 else "elif"
            if complete and position == len(targets) - 1 and position > 0:
                line = "else:"
            else:
                line = f"{word} {' or '.join(f'{index.text} == {i}' for i in indices)}:"
            narrow = (lambda r, i=indices: r.set(index.text, min(i), max(i))) if index.names else (lambda r: None)
            arms.append((line, target, narrow))
        if not complete:
            arms.append(("else:", None, lambda r: None))
        return arms

    # -- the dispatch loop (any control flow) ------------------------------------------

    def dispatch_loop(self) -> list[str]:
        self.lines, self.indent, self.temps = [], 1, 0
        self.ranges = Ranges()
        numbers = {b.label: i for i, b in enumerate(self.proc.blocks)}
        self.emit("label = 0")
        self.emit("while True:")
        for i, block in enumerate(self.proc.blocks):
            self.indent = 2
            self.emit(f"{'if' if i == 0 else 'elif'} label == {i}:")
            self.indent = 3
            self.ranges = Ranges()  # nothing known at a block's start
            self.block = self.fresh_block(block.label)
            end = self.straight_line(block)
            instrs = block.instrs[end:]
            if isinstance(instrs[-1], B.Ret):
                self.ret()
            elif len(instrs) == 1 and isinstance(instrs[0], B.Jmp):
                if instrs[0].label == self.entry:
                    self.back_to_entry(continue_=False)
                else:
                    self.canonicalize(instrs[0].label)
                self.emit(f"label = {numbers[instrs[0].label]}")
            else:
                for test, target, _ in self.branch(instrs, canonical=True):
                    self.emit(test)
                    self.indent += 1
                    if target is None:
                        self.emit(f"bad_jump({self.table_index}, {len(instrs[0].labels)})")
                    else:
                        self.emit(f"label = {numbers[target]}")
                    self.indent -= 1
        return self.lines

    # -- straight-line code -----------------------------------------------------------------

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
                x = self.pop()
                self.push(self.operate(type(instr), x, self.pop()))
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

    def drop(self, e: Expr) -> None:
        """A popped value nothing uses: its waiting call still runs."""
        if e.effect:
            self.emit(e.text)

    def read(self, k: int) -> Expr:
        e = self.cell(k)
        if e is CLOBBERED:
            raise CannotCompile(f"proc {self.proc.name} reads fp[{k}], an argument cell of a call "
                                "after the callee may have changed it")
        if e is UNSET:
            raise AssertionError("a return cell read before written (ProcFacts says it is not)")
        if not e.trivial or e.loose:  # a loose value is read once: a second reader gets it wrapped
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

    def assign(self, name: str, e: Expr, keep: int | None = None) -> None:
        """name = e, first giving its own variable to every cell still reading name."""
        for k in sorted(self.block.readers.get(name, ())):
            if k != keep:
                self.set_cell(k, self.materialize(self.cell(k)))
        self.emit(f"{name} = {e.text}")
        self.check(name, e)

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

    # -- block ends --------------------------------------------------------------------

    def canonicalize(self, *targets: str, below_fp_only: bool = False) -> None:
        """Bring every cell that one of the target blocks may read into its own
        variable, as blocks expect them on entry: a parallel move, in an order
        where each variable is read before it is overwritten (a cycle goes
        through a temporary). Dead cells are dropped (their waiting call runs)."""
        block = self.block
        live = frozenset().union(*(self.live[target] for target in targets))
        moves: dict[str, Expr] = {}
        for k in sorted(block.cells):
            e = block.cells[k]
            if below_fp_only and k >= 0 or e is UNSET:
                continue
            if k not in live:
                self.drop(e)
                self.set_cell(k, None)
                continue
            if e is CLOBBERED:
                raise CannotCompile(f"proc {self.proc.name} keeps an argument cell of a call, which "
                                    "the callee may have changed, across a jump")
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
                moves[name] = self.materialize(e)
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
            return self.materialize(e)
        return e

    def ret(self) -> None:
        values = [self.cell(k) for k in range(self.low, self.arg_low)]
        if any(e is UNSET for e in values):
            raise AssertionError("a return cell never written (ProcFacts says it is)")
        self.flush_effects(keep=tuple(range(self.low, self.arg_low)))
        self.returned_wrapped = self.returned_wrapped and all(e.wrapped for e in values)
        self.emit("return " + ", ".join(paren(e, 0) for e in values) if values else "return")

    def back_to_entry(self, continue_: bool = True) -> None:
        self.flush_effects()
        self.canonicalize(self.entry, below_fp_only=True)
        if continue_:
            self.emit("continue")

    # -- calls and fibers ------------------------------------------------------------------

    def arguments(self, count: int) -> list[Expr]:
        """The top count cells, lowest first, wrapped; every waiting call has run."""
        top = self.block.height
        self.flush_effects()
        args = [self.cell(k) for k in range(top - count, top)]
        for k, e in zip(range(top - count, top), args):
            if e is CLOBBERED:
                raise CannotCompile(f"proc {self.proc.name} passes on an argument cell of a call "
                                    "after the callee may have changed it")
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
        loose = not self.context.returns_wrapped[callee]
        if generator:
            deeper = call(function, [*args, var("depth + 1")])
            trampolined = call(function, [*args, const(0)])
            e = Expr(f"(yield from {deeper.text}) if depth < {CHAIN_DEPTH} else (yield {trampolined.text})",
                     TEST, INT_MIN, INT_MAX, deeper.names - {"depth + 1"} | {"depth"}, True, 1, loose=loose)
        else:
            e = replace(call(function, args), loose=loose)
        if facts.writes_arguments:
            for k in range(top - size, top):
                self.set_cell(k, CLOBBERED)
        if proc.ret_size == 1:
            self.set_cell(slot, e)
        elif proc.ret_size == 0:
            self.emit(e.text)
        else:
            self.unpack(e.text, slot, proc.ret_size, loose=loose)

    def unpack(self, text: str, first: int, count: int, handle: bool = False, loose: bool = False) -> None:
        """Cells from a call's tuple of results, or from a handle (wrapped)."""
        names = [self.fresh() for _ in range(count)]
        self.emit(f"{', '.join(names)} = {text}")
        for k, name in zip(range(first, first + count), names):
            bit = handle and k == first + count - 1
            self.set_cell(k, var(name, 0, 1) if bit else var(name, loose=loose))
            self.ranges.set(name, *((0, 1) if bit else (INT_MIN, INT_MAX)))

    def spawn(self, instr: B.Spawn) -> None:
        args = self.arguments(instr.args_size)
        target, sources = self.context.spawned[instr.proc]
        if sources is not None:
            args = [const(s[1]) if s[0] == "const" else args[s[1]] for s in sources]
        if self.context.facts[target].takes_return_slot:
            args = [const(0)] * instr.ret_size + args  # a fiber's return slot starts zeroed
        generator = instr.proc in self.context.may_yield
        function = self.context.names[target, P.GENERATOR if generator else P.FUNCTION]
        if generator:
            text = f"spawn({call(function, [*args, const(0)]).text}, {instr.ret_size})"
        else:
            text = call("spawn_plain", [var(function), const(instr.ret_size), *args]).text
        self.block.height -= instr.args_size
        for k in range(self.block.height, self.block.height + instr.args_size):
            self.set_cell(k, None)
        first = self.block.height
        self.block.height += 3 + instr.ret_size
        self.unpack(text, first, 3 + instr.ret_size, handle=True)

    def resume(self, instr: B.Resume) -> None:
        size = 3 + instr.ret_size
        handle = self.arguments(size)
        line, column = map(int, instr.site.split(":")) if instr.site else (0, 0)
        text = f"resume({line}, {column}, ({', '.join(paren(e, 0) for e in handle)}))"
        self.unpack(text, self.block.height - size, size, handle=True)


def _narrow(ranges: Ranges, test: Expr, holds: bool) -> None:
    """What a comparison's outcome says about the variables it compares."""
    if test.test is None:
        return
    op, x, y = test.test
    if op is B.Eq and not holds:
        for v, c in ((x, y), (y, x)):
            if v.names and v.prec == ATOM and c.is_const:
                lo, hi = ranges.get(v.text)
                if c.lo == lo:
                    ranges.set(v.text, lo + 1, hi)
                elif c.lo == hi:
                    ranges.set(v.text, lo, hi - 1)
        return
    if op is B.Eq:
        lo, hi = max(x.lo, y.lo), min(x.hi, y.hi)
        bounds = {x: (lo, hi), y: (lo, hi)}
    elif holds:  # x < y
        bounds = {x: (x.lo, min(x.hi, y.hi - 1)), y: (max(y.lo, x.lo + 1), y.hi)}
    else:  # x >= y
        bounds = {x: (max(x.lo, y.lo), x.hi), y: (y.lo, min(y.hi, x.hi))}
    for v, (lo, hi) in bounds.items():
        if v.names and v.prec == ATOM and not v.is_const and lo <= hi:
            ranges.set(v.text, lo, hi)


def _live_cells(proc: B.Proc, heights: dict[str, int], context: _Context) -> dict[str, frozenset[int]]:
    """The cells (fp offsets) each block may read before writing them, by the
    usual backward data flow to a fixed point, each block summed up first as
    the cells it reads before writing (gen) and those it writes (kill)."""
    entry = proc.blocks[0].label
    summaries = {}
    for block in proc.blocks:
        gen: set[int] = set()
        kill: set[int] = set()
        steps = list(zip(block.instrs, B.block_heights(block, heights[block.label])))
        for instr, h in reversed(steps):
            uses, defs = _cell_effects(instr, h, proc, context)
            if defs is None:  # ret: nothing after it is read
                gen, kill = set(uses), set()
                continue
            gen.difference_update(defs)
            kill.update(defs)
            gen.update(uses)
            kill.difference_update(uses)
        targets = _targets(block)
        ends = isinstance(block.instrs[-1], B.Ret)
        summaries[block.label] = (frozenset(gen), frozenset(kill), targets, ends)
    live = {block.label: frozenset() for block in proc.blocks}
    changed = True
    while changed:
        changed = False
        for block in reversed(proc.blocks):
            gen, kill, targets, ends = summaries[block.label]
            out: set[int] = set()
            for target in targets:  # back to the entry, only the cells below fp survive
                out.update(k for k in live[target] if k < 0) if target == entry else out.update(live[target])
            now = gen | (out - kill) if not ends else gen
            if now != live[block.label]:
                live[block.label], changed = frozenset(now), True
    return live


def _cell_effects(instr: B.Instr, h: int, proc: B.Proc, context: _Context) -> tuple[range, range | None]:
    """The cells instr reads and writes, at stack height h (writes None: a ret)."""
    match instr:
        case B.Push(B.FpOffset(k)):
            return range(k, k + 1), range(h, h + 1)
        case B.Push():
            return range(0), range(h, h + 1)
        case B.Store(k):
            return range(h - 1, h), range(k, k + 1)
        case B.SpAdd(n):
            return range(0), range(h, h + n)
        case B.SpSub(n):
            return range(0), range(h - n, h)
        case B.SpRestoreFp():
            return range(0), range(0, h)
        case B.Add() | B.Sub() | B.Mul() | B.Lt() | B.Eq():
            return range(h - 2, h), range(h - 1, h)
        case B.Jmpz() | B.Jmprel1():
            return range(h - 1, h), range(0)
        case B.Call(proc=callee):
            target = context.procs[callee]
            size = target.arg_size + target.captures_size
            slot = range(h - size - target.ret_size, h - size)
            return range(slot.start if context.facts[callee].takes_return_slot else h - size, h), slot
        case B.Spawn(args_size=args_size, ret_size=ret_size):
            return range(h - args_size, h), range(h - args_size, h - args_size + 3 + ret_size)
        case B.Resume(ret_size=ret_size):
            return range(h - 3 - ret_size, h), range(0)
        case B.Ret():
            low = _lowest(proc)
            return range(low, low + proc.ret_size), None
    return range(0), range(0)


def _targets(block: B.Block) -> tuple[str, ...]:
    """The blocks block may jump to, each once (only its last two instructions jump)."""
    return tuple(dict.fromkeys(t for instr in block.instrs[-2:] for t in B.jump_targets(instr)))


def _joins(proc: B.Proc) -> frozenset[str]:
    """The blocks entered from more than one block (or jumped back to, for the entry)."""
    entered: dict[str, int] = {proc.blocks[0].label: 1}
    for block in proc.blocks:
        for target in _targets(block):
            entered[target] = entered.get(target, 0) + 1
    return frozenset(label for label, count in entered.items() if count > 1)


def _post_dominators(proc: B.Proc, entry: str) -> dict[str, str | None]:
    """Each block's immediate post-dominator in the graph without the jumps back
    to the entry (None: the proc's exit). Raises Unstructured on any other cycle."""
    successors = {}
    for block in proc.blocks:
        targets = _targets(block)
        exits = isinstance(block.instrs[-1], B.Ret) or entry in targets
        successors[block.label] = ([t for t in targets if t != entry], exits)
    # Reverse topological order (sinks first) by depth-first search, without recursion.
    order, state = [], {}
    for root in [b.label for b in proc.blocks]:
        if root in state:
            continue
        stack = [(root, iter(successors[root][0]))]
        state[root] = "open"
        while stack:
            label, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                state[label] = "done"
                order.append(label)
            elif state.get(child) == "open":
                raise Unstructured  # a loop other than the self tail call
            elif child not in state:
                state[child] = "open"
                stack.append((child, iter(successors[child][0])))
    rank = {None: 0}
    ipdom: dict[str, str | None] = {}
    for label in order:  # every successor comes before its predecessors
        targets, exits = successors[label]
        found = None if exits or not targets else targets[0]
        for other in targets:
            found = _meet(found, other, ipdom, rank)
        ipdom[label] = found
        rank[label] = len(rank)
    return ipdom


def _meet(a: str | None, b: str | None, ipdom: dict, rank: dict) -> str | None:
    while a != b:
        if a is None or b is None:
            return None
        if rank[a] > rank[b]:
            a = ipdom[a]
        else:
            b = ipdom[b]
    return a
