"""Control flow: a proc's blocks as nested `if`s and `while`s, or else a
loop dispatching on the block's number.

The blocks are emitted in a walk from the entry, nested as flow.ControlFlow
says: a branch is an `if` (a jump table an `if`/`elif` chain) whose arms
end where the branch's immediate post-dominator begins, the join, where the
walk goes on; a loop's header is a `while True:`, a jump back to it a
`continue`, a jump to its follow a `break`. Each block is emitted once: one
with a single predecessor goes on from its symbolic state, and where control
meets, the cells go to their own variables (but for constants that no arm
changes, which stay constants). A proc whose blocks do not nest so (a loop
with two ways in, a block shared by arms that do not join there, a `break`
out of two loops, nesting too deep for Python) runs as a dispatch loop.
"""

from __future__ import annotations

from functools import cached_property

from ir import blocks as B
from ir.ints import INT_MAX, INT_MIN
from passes.to_python.cells import BlockState
from passes.to_python.exprs import CLOBBERED, UNSET, Expr, Ranges, narrow, negated
from passes.to_python.fibers import FiberCompiler
from passes.to_python.flow import ControlFlow, RegionWrites, Unstructured

MAX_INDENT = 60  # indentation levels of structured code (Python's limit is 100)
MAX_NESTING = 4 * MAX_INDENT  # arms within arms while compiling (an arm after one that returns is not indented)
MAX_LOOPS = 18  # nested `while`s (Python allows 20 nested loops and `try`s, and a resume is a `try`)
HOPEFUL_LOOPS = 3  # loops nested less deeply assume on entry what is known before them (see ProcCompiler.loop)


class ActiveLoop:
    """A `while` being emitted."""

    __slots__ = ("header", "follow", "assumed", "breaks", "continued")

    def __init__(self, header: str, follow: str | None, assumed: dict[str, tuple[int, int]]):
        self.header, self.follow = header, follow
        self.assumed = assumed  # intervals of cells assumed at the header
        self.breaks = False  # whether some path leaves it by `break`
        self.continued: list[dict[str, tuple[int, int]]] = []  # the assumed cells' intervals at each `continue`


class Arm:
    """An arm of a branch: where it goes, and once compiled, its code and where it ends."""

    __slots__ = ("test", "target", "narrowing", "negation", "lines", "reaches", "ranges", "block")

    def __init__(self, test: str | None, target: str | None, narrowing=None, negation: str = ""):
        self.test = test  # the `if` line's condition ("" for `else`; None: taken whatever the test)
        self.target = target  # None: a jump table's index out of range
        self.narrowing = narrowing  # what taking the arm says of the variables: ranges -> None
        self.negation = negation  # for a two-way branch, the condition of the other arm
        self.lines: list[str] = []  # its body, once compiled
        self.reaches = False  # whether it falls through to the join
        self.ranges: Ranges | None = None  # the intervals where it ends
        self.block: BlockState | None = None  # the symbolic state where it ends


class ProcCompiler(FiberCompiler):
    """Compiles one version (function or generator) of a proc to a `def`."""

    def __init__(self, proc: B.Proc, context) -> None:
        super().__init__(proc, context)
        self.index = {b.label: i for i, b in enumerate(proc.blocks)}

    @cached_property
    def cell_names(self) -> list[str]:
        """The variables of every cell the proc may use."""
        top = 0
        for block in self.proc.blocks:
            height = self.heights[block.label]
            for instr in block.instrs:
                height = B.height_after(instr, height)
                top = max(top, height)
        return [self.cell_name(k) for k in (*range(self.low, -2), *range(top))]

    @cached_property
    def region_writes(self) -> RegionWrites:
        return RegionWrites(self.flow, self.cells.writes)

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
        if self.generator and not any("yield" in line for line in body):
            # Its yields were in arms that a known test left out; its callers drive a generator.
            body.append("    yield  # never reached: every path above returns")
        return "\n".join(head + body) + "\n"

    # -- structured control flow ---------------------------------------------------------

    def structured(self) -> list[str]:
        self.flow = ControlFlow.of(self.proc)
        self.done: set[str] = set()
        self.loops: list[ActiveLoop] = []
        self.carried: dict[str, dict[int, Expr]] = {}  # join -> the constants every arm leaves in cells
        self.block = self.fresh_block(self.entry)
        self.region(self.entry, None, 0)
        if max(len(line) - len(line.lstrip(" ")) for line in self.lines) > 4 * MAX_INDENT:
            raise Unstructured
        return self.lines

    def region(self, label: str, stop: str | None, nesting: int, entering: bool = False) -> bool:
        """Emit the blocks from label until stop (a join), going on from the
        symbolic state in self.block; whether control falls through to stop.
        entering: label is the header of the loop just opened."""
        if nesting > MAX_NESTING:
            raise Unstructured
        settled = True  # the state is what the block expects on entry
        while True:
            loop = self.loops[-1] if self.loops else None
            if label == stop:
                if stop in self.flow.joins:  # else this is its one way in: its state goes on as it is
                    self.canonicalize(stop, keep=self.carried.get(stop))
                return True
            if loop is not None and label == loop.header and not entering:
                self.canonicalize(label)
                loop.continued.append({name: self.ranges.get(name) for name in loop.assumed})
                self.emit("continue")
                return False
            if loop is not None and label == loop.follow:
                self.canonicalize(label, keep=self.carried.get(label))
                self.emit("break")
                loop.breaks = True
                return False
            if label in self.done:
                raise Unstructured  # a block shared by arms that do not join there
            if label in self.flow.loops and not entering:
                if not self.loop(label, nesting):
                    return False
                label = self.flow.loops[label].follow
                self.block = self.fresh_block(label, self.carried.get(label))
                continue
            entering = False
            self.done.add(label)
            if label in self.flow.joins and not settled:
                self.canonicalize(label)
                self.block = self.fresh_block(label)
            block = self.proc.blocks[self.index[label]]
            end = self.straight_line(block)
            instrs = block.instrs[end:]
            if isinstance(instrs[-1], B.Ret):
                self.ret()
                return False
            if isinstance(instrs[-1], B.Jmp) and len(instrs) == 1:
                label, settled = instrs[-1].label, False
                continue
            label, settled = self.branch(label, instrs, nesting)
            if label is None:
                return False

    def fresh_block(self, label: str, carried: dict[int, Expr] | None = None):
        """The state on entry to label, with the constants carried there."""
        block = super().fresh_block(label)
        block.cells.update(carried or {})  # constants: they read no variable
        return block

    def loop(self, header: str, nesting: int) -> bool:
        """Emit the loop whose header is header as a `while`; whether it ever
        breaks. What is known of the cells on the way in is assumed at the
        header; where a `continue` breaks that, the body is compiled again
        knowing less."""
        if len(self.loops) >= MAX_LOOPS:
            raise Unstructured
        self.canonicalize(header)
        outside = self.ranges
        assumed = {}
        if len(self.loops) < HOPEFUL_LOOPS:
            assumed = {name: outside.get(name) for name in self.cell_names
                       if outside.get(name) != (INT_MIN, INT_MAX)}
        start, temps, done, carried = len(self.lines), self.temps, set(self.done), dict(self.carried)
        returned_wrapped = list(self.returned_wrapped)
        while True:
            self.block = self.fresh_block(header)
            self.ranges = outside.forgetting(self.cell_names)  # the loop may change any cell
            for name, (lo, hi) in assumed.items():
                self.ranges.set(name, lo, hi)
            self.emit("while True:")
            self.indent += 1
            body = len(self.lines)
            active = ActiveLoop(header, self.flow.loops[header].follow, assumed)
            self.loops.append(active)
            self.region(header, None, nesting + 1, entering=True)
            self.loops.pop()
            broken = {name for name, (lo, hi) in assumed.items()
                      for back in active.continued if not lo <= back[name][0] <= back[name][1] <= hi}
            if not broken:
                break
            assumed = {name: bounds for name, bounds in assumed.items() if name not in broken}
            del self.lines[start:]
            self.indent -= 1
            self.temps, self.done, self.carried = temps, set(done), dict(carried)
            self.returned_wrapped = returned_wrapped
        if len(self.lines) > body and self.lines[-1] == "    " * self.indent + "continue":
            self.lines.pop()  # the end of the body goes back to its start anyway
        if len(self.lines) == body:
            self.emit("pass")
        self.indent -= 1
        self.ranges = outside.forgetting(self.cell_names)
        return active.breaks

    def branch(self, label: str, instrs: tuple, nesting: int) -> tuple[str | None, bool]:
        """Emit the branch that ends block label, and its arms: the block where
        the walk goes on (None: nowhere), and whether its state is settled."""
        join = self.flow.ipdom[label]
        loop = self.loops[-1] if self.loops else None
        if loop is not None and join is not None and self.flow.post_dominates(join, loop.follow):
            join = None  # the arms meet only past the loop: each ends in `break` or earlier
        targets = [t for instr in instrs for t in B.jump_targets(instr)]
        if loop is not None and set(targets) <= {join, loop.header, loop.follow}:
            # Every arm jumps at once: the cells move to their variables before the test, once.
            test = self.test_before_moves(self.pop_number())
            live = frozenset().union(*(self.cells.live[t] for t in targets))
            same = [k for k, e in sorted(self.block.cells.items()) if e == test and not e.effect and k in live]
            self.canonicalize(*targets)
            if same and test.trivial:  # test the variable the value moved to, so that the arms narrow it
                test = self.cell(same[0])
        else:
            self.settle(targets, join)
            test = self.pop_number()
        arms = self.arms(instrs, test)
        if len(arms) == 1 and arms[0].test is None:  # a constant test: a jump
            if arms[0].target is None:
                self.emit(f"bad_jump({self.table_index}, {len(instrs[0].labels)})")
            return arms[0].target, False
        base, at_branch = self.ranges, self.block
        for arm in arms:
            self.ranges, self.block = Ranges(base), at_branch.copy()
            if arm.narrowing is not None:
                arm.narrowing(self.ranges)
            outer, self.lines = self.lines, []
            self.indent += 1
            if arm.target is None:
                self.emit(f"bad_jump({self.table_index}, {len(instrs[0].labels)})")
            else:
                arm.reaches = self.region(arm.target, join, nesting + 1)
            self.indent -= 1
            arm.lines, self.lines = self.lines, outer
            arm.ranges, arm.block = self.ranges, self.block
        self.ranges = base
        self.lay_out(arms)
        reaching = [arm for arm in arms if arm.reaches]
        if not reaching:
            return None, True
        base.join([arm.ranges for arm in reaching])
        if join in self.flow.joins:
            self.block = self.fresh_block(join, self.carried.get(join))
        else:  # entered from this branch only (each arm reaching it jumps there at once): its state goes on
            self.block = reaching[0].block
        return join, True

    def settle(self, targets: list[str], join: str | None) -> None:
        """Before a branch: a cell reading the variable of a cell that the arms
        change goes to its own variable now, rather than in every arm; the
        constants no arm changes stay constants at the join."""
        live = frozenset().union(*(self.cells.live[t] for t in targets))
        reading = [(k, e) for k, e in sorted(self.block.cells.items())
                   if k < self.block.height - 1 and k in live and e.names and not e.effect]
        constants = {} if join is None or join in self.carried else \
            {k: e for k, e in self.block.cells.items()
             if e.is_const and e is not UNSET and e is not CLOBBERED and k in self.cells.live[join]}
        written = self.region_writes.between(targets, join) if reading or constants else frozenset()
        changed = {self.cell_name(k) for k in written}
        for k, _ in reading:
            e = self.block.cells[k]  # as it is now: an assignment above may have copied it (make_room)
            if e.names & changed:
                if e.text != self.cell_name(k):
                    self.assign(self.cell_name(k), e, keep=k)
                self.set_cell(k, None)
        if join is not None and join not in self.carried:
            self.carried[join] = {k: e for k, e in constants.items() if k not in written}

    def arms(self, instrs: tuple, test: Expr) -> list[Arm]:
        """The arms of a block's ending branch on test (popped); one arm without
        a condition if test is a constant."""
        if isinstance(instrs[0], B.Jmpz):
            condition = self.wrapped(test)
            if condition.effect:
                condition = self.materialize(condition)
            self.flush_effects()
            yes, no = instrs[1].label, instrs[0].label
            if condition.is_const:
                return [Arm(None, yes if condition.lo else no)]
            test, other = condition.text, negated(condition)
            return [Arm(test, yes, lambda r: narrow(r, condition, True), other),
                    Arm(other, no, lambda r: narrow(r, condition, False), test)]
        table = instrs[0]
        index = self.wrapped(test)
        if not index.trivial:
            index = self.materialize(index)
        self.flush_effects()
        self.table_index = index.text
        if index.is_const:
            return [Arm(None, table.labels[index.lo] if 0 <= index.lo < len(table.labels) else None)]
        seen: dict[str, list[int]] = {}
        for i, target in enumerate(table.labels):
            seen.setdefault(target, []).append(i)
        complete = 0 <= index.lo and index.hi < len(table.labels)
        arms = []
        for position, (target, indices) in enumerate(seen.items()):
            last = complete and position == len(seen) - 1 and position > 0
            test = "" if last else " or ".join(f"{index.text} == {i}" for i in indices)
            narrowing = (lambda r, i=indices: r.set(index.text, min(i), max(i))) if index.names else None
            arms.append(Arm(test, target, narrowing))
        if not complete:
            arms.append(Arm("", None))
        return arms

    def lay_out(self, arms: list[Arm]) -> None:
        """Emit the compiled arms: a two-way branch with an empty arm as one
        `if`, an arm that does not fall through first and the other after it."""
        if len(arms) == 2 and arms[0].negation:
            first, second = arms
            empty = [arm.reaches and not arm.lines for arm in arms]
            if empty[1] or empty[0]:
                arm = first if empty[1] else second
                if arm.lines:
                    self.emit(f"if {arm.test}:")
                    self.lines.extend(arm.lines)
                return
            if not (first.reaches and second.reaches):  # one ends: it goes first, the other after it
                if first.reaches or not second.reaches and _order(second) < _order(first):
                    first, second = second, first
                self.emit(f"if {first.test}:")
                self.lines.extend(first.lines)
                self.lines.extend(line[4:] for line in second.lines)  # after the `if`, unindented
                return
        for position, arm in enumerate(arms):
            if not arm.test:
                self.emit("else:")
            else:
                self.emit(f"{'if' if position == 0 else 'elif'} {arm.test}:")
            self.lines.extend(arm.lines or ["    " * (self.indent + 1) + "pass"])

    # -- the dispatch loop (any control flow) ------------------------------------------

    def dispatch_loop(self) -> list[str]:
        self.lines, self.indent, self.temps = [], 1, 0
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
                self.canonicalize(instrs[0].label)
                self.emit(f"label = {numbers[instrs[0].label]}")
            else:
                for test, target in self.dispatch_arms(instrs):
                    if test is not None:
                        self.emit(test)
                        self.indent += 1
                    if target is None:
                        self.emit(f"bad_jump({self.table_index}, {len(instrs[0].labels)})")
                    else:
                        self.emit(f"label = {numbers[target]}")
                    if test is not None:
                        self.indent -= 1
        return self.lines

    def dispatch_arms(self, instrs: tuple) -> list[tuple[str | None, str | None]]:
        """The `if` lines and targets of a branch, every cell moved to its own variable first."""
        index = self.test_before_moves(self.pop_number())
        targets = instrs[0].labels if isinstance(instrs[0], B.Jmprel1) else (instrs[1].label, instrs[0].label)
        self.canonicalize(*targets)
        self.flush_effects()
        if isinstance(instrs[0], B.Jmpz):
            if index.is_const:
                return [(None, targets[0] if index.lo else targets[1])]
            return [(f"if {index.text}:", targets[0]), ("else:", targets[1])]
        if not index.trivial:
            index = self.materialize(index)
        self.table_index = index.text
        if index.is_const:
            return [(None, targets[index.lo] if 0 <= index.lo < len(targets) else None)]
        return [(f"{'if' if i == 0 else 'elif'} {index.text} == {i}:", target) for i, target in enumerate(targets)] \
            + [("else:", None)]


def _order(arm: Arm) -> tuple[bool, int]:
    """Of two arms that end, the one to put first: not the `continue` (which
    then ends a loop's body, and goes), and the shorter."""
    return arm.lines[-1].strip() == "continue", len(arm.lines)
