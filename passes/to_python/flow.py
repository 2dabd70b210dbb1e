"""Control and data flow of a blocks proc, for to-python: how its blocks
nest into `if`s and `while`s, and which cells each block reads and writes.

    ControlFlow.of(proc)                   its loops, joins and post-dominators;
                                           Unstructured if its blocks do not nest
    CellFlow.of(proc, heights, procs, facts)
                                           the cells live on entry to each block, and those it writes
    RegionWrites(flow, writes)             the cells written on the way from blocks to a join
    depth_first(roots, successors)         a graph's postorder from roots, and its edges back

Loops are the natural loops of a reducible graph: a header that dominates
every block jumping back to it (a self tail call's jump to the entry, or
to the entry's copy `P.loop`, or any loop of a hand-written listing). A
loop's body is its header and every block that reaches a jump back without
passing the header; its follow, where a `break` goes, is where its exits
meet, leaving out leaves (below), or else the exit most jumped to.
Without the jumps back the graph is acyclic, and there a block's
immediate post-dominator is where the arms of its branch join; an arm that
returns without joining anything (a leaf) is left out of that. A cycle
entered other than through one header (an irreducible graph) does not nest.
"""

from __future__ import annotations

from collections.abc import Iterable
from ir import blocks as B
from ir.immutable import immutable
from passes.to_python.facts import ProcFacts, lowest


class Unstructured(Exception):
    """The proc's control flow does not nest: compile it as a dispatch loop."""


@immutable
class Loop:
    header: str
    body: frozenset[str]
    follow: str | None  # where its exits lead (a `break` goes there); None: it has none


@immutable
class ControlFlow:
    successors: dict[str, tuple[str, ...]]  # the blocks each may jump to, each once
    forward: dict[str, tuple[str, ...]]  # the same without the jumps back to a loop's header
    loops: dict[str, Loop]  # by header
    ipdom: dict[str, str | None]  # immediate post-dominator in the forward graph (None: the exit)
    joins: frozenset[str]  # blocks entered from more than one block (or jumped back to, the entry)
    order: tuple[str, ...]  # the blocks, each after every block the forward graph leads it to

    @staticmethod
    def of(proc: B.Proc) -> ControlFlow:
        entry = proc.blocks[0].label
        if len(proc.blocks) == 1 and isinstance(proc.blocks[0].instrs[-1], B.Ret):  # most procs
            return ControlFlow({entry: ()}, {entry: ()}, {}, {entry: None}, frozenset(), (entry,))
        successors = {b.label: targets(b) for b in proc.blocks}
        predecessors: dict[str, list[str]] = {b.label: [] for b in proc.blocks}
        for label, after in successors.items():
            for target in after:
                predecessors[target].append(label)
        postorder, retreating = depth_first((entry,), successors)
        idom = _dominators(entry, postorder, predecessors)
        jumps_back: dict[str, list[str]] = {}
        for source, header in retreating:
            if not _dominates(header, source, idom):
                raise Unstructured  # a cycle with two ways in
            jumps_back.setdefault(header, []).append(source)
        forward = {label: tuple(t for t in after if label not in jumps_back.get(t, ()))
                   for label, after in successors.items()}
        sinks_first, _ = depth_first((entry,), forward)
        returns = {b.label for b in proc.blocks if isinstance(b.instrs[-1], B.Ret)}
        leaves = _leaves(sinks_first, forward, predecessors, returns)
        ipdom, rank = _post_dominators(sinks_first, forward, leaves)
        position = {b.label: i for i, b in enumerate(proc.blocks)}
        loops = {}
        for header, sources in jumps_back.items():
            body = _loop_body(header, sources, predecessors)
            loops[header] = Loop(header, body, _follow(body, successors, ipdom, rank, position, leaves))
        entered = {entry: 1}
        for after in successors.values():
            for target in after:
                entered[target] = entered.get(target, 0) + 1
        joins = frozenset(label for label, count in entered.items() if count > 1)
        return ControlFlow(successors, forward, loops, ipdom, joins, tuple(sinks_first))

    def post_dominates(self, later: str, label: str | None) -> bool:
        """Whether every forward path from label to the exit passes later."""
        while label is not None:
            if label == later:
                return True
            label = self.ipdom[label]
        return False


def targets(block: B.Block) -> tuple[str, ...]:
    """The blocks block may jump to, each once (only its last two instructions jump)."""
    return tuple(dict.fromkeys(t for instr in block.instrs[-2:] for t in B.jump_targets(instr)))


def depth_first(roots: Iterable[str],
                successors: dict[str, tuple[str, ...]]) -> tuple[list[str], list[tuple[str, str]]]:
    """The nodes in postorder of a depth-first search from each root in turn
    (without recursion), and the edges it found going back to a node still open."""
    postorder, retreating = [], []
    seen = set()
    for root in roots:
        if root in seen:
            continue
        open_ = {root}
        seen.add(root)
        stack = [(root, iter(successors[root]))]
        while stack:
            label, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                open_.discard(label)
                postorder.append(label)
            elif child in open_:
                retreating.append((label, child))
            elif child not in seen:
                seen.add(child)
                open_.add(child)
                stack.append((child, iter(successors[child])))
    return postorder, retreating


def _dominators(entry: str, postorder: list[str], predecessors: dict[str, list[str]]) -> dict[str, str]:
    """Each block's immediate dominator (the entry's is itself), by Cooper,
    Harvey and Kennedy's iteration over the reverse postorder."""
    number = {label: i for i, label in enumerate(postorder)}
    idom = {entry: entry}

    def intersect(a: str, b: str) -> str:
        while a != b:
            while number[a] < number[b]:
                a = idom[a]
            while number[b] < number[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for label in reversed(postorder):
            if label == entry:
                continue
            found = None
            for pred in predecessors[label]:
                if pred in idom:
                    found = pred if found is None else intersect(pred, found)
            if idom.get(label) != found:
                idom[label], changed = found, True
    return idom


def _dominates(a: str, b: str, idom: dict[str, str]) -> bool:
    while True:
        if a == b:
            return True
        if idom[b] == b:
            return False
        b = idom[b]


def _loop_body(header: str, sources: list[str], predecessors: dict[str, list[str]]) -> frozenset[str]:
    body = {header}
    work = [s for s in sources if s != header]
    while work:
        label = work.pop()
        if label not in body:
            body.add(label)
            work.extend(predecessors[label])
    return frozenset(body)


def _leaves(sinks_first: list[str], forward: dict, predecessors: dict, returns: set[str]) -> set[str]:
    """The blocks entered from one block only, from which every path returns
    through such blocks: the arm of a branch or the exit of a loop that
    returns at once. One is emitted where it is jumped to, and never joins."""
    leaves: set[str] = set()
    for label in sinks_first:
        if len(predecessors[label]) == 1 and (label in returns or forward[label] and leaves.issuperset(forward[label])):
            leaves.add(label)
    return leaves


def _post_dominators(sinks_first: list[str], forward: dict[str, tuple[str, ...]],
                     leaves: set[str]) -> tuple[dict, dict]:
    """Each block's immediate post-dominator in the acyclic forward graph
    with the paths into leaves left out, as they return before any join
    (None: the exit), and each block's rank (successors rank lower)."""
    rank: dict[str | None, int] = {None: 0}
    ipdom: dict[str, str | None] = {}
    for label in sinks_first:
        after = [t for t in forward[label] if t not in leaves]
        found = after[0] if after else None
        for other in after[1:]:
            found = _meet(found, other, ipdom, rank)
        ipdom[label] = found
        rank[label] = len(rank)
    return ipdom, rank


def _meet(a: str | None, b: str | None, ipdom: dict, rank: dict) -> str | None:
    while a != b:
        if a is None or b is None:
            return None
        if rank[a] > rank[b]:
            a = ipdom[a]
        else:
            b = ipdom[b]
    return a


def _follow(body: frozenset[str], successors: dict, ipdom: dict, rank: dict, position: dict,
            leaves: set[str]) -> str | None:
    """Where a loop's `break` goes: the block where its exits meet, leaving
    out the leaves; if some exit never meets the others (it returns), the
    exit jumped to most."""
    inside = body | leaves
    exits = [t for label in sorted(body, key=position.get) for t in successors[label] if t not in inside]
    if not exits:
        return None
    meet = exits[0]
    for other in exits[1:]:
        meet = _meet(meet, other, ipdom, rank)
    if meet is not None:
        return meet
    return max(dict.fromkeys(exits), key=lambda x: (exits.count(x), -position[x]))


class RegionWrites:
    """The cells written on the way from blocks to a block that post-dominates
    them, found along the chains of immediate post-dominators: what each
    block's own region writes is summed up once, so a branch asks in time
    proportional to the blocks on the way, not to all the blocks it spans."""

    def __init__(self, flow: ControlFlow, writes: dict[str, frozenset[int]]):
        self.flow, self.writes = flow, writes
        self.within: dict[str, frozenset[int]] = {}  # by the blocks from a block's successors to its ipdom
        for label in flow.order:
            stop = flow.ipdom[label]
            self.within[label] = frozenset().union(*(self.on_the_way(s, stop) for s in flow.forward[label]))

    def on_the_way(self, label: str | None, stop: str | None) -> frozenset[int]:
        """The cells written from label on, until stop (which post-dominates label) or the exit."""
        found: frozenset[int] = frozenset()
        while label is not None and label != stop:
            found = found | self.writes[label] | self.within[label]
            label = self.flow.ipdom[label]
        return found

    def between(self, starts: Iterable[str], stop: str | None) -> frozenset[int]:
        return frozenset().union(*(self.on_the_way(label, stop) for label in starts))


@immutable
class CellFlow:
    live: dict[str, frozenset[int]]  # cells (fp offsets) a block may read before writing them
    writes: dict[str, frozenset[int]]  # cells a block writes (or pops)

    @staticmethod
    def of(proc: B.Proc, heights: dict[str, int], procs: dict[str, B.Proc],
           facts: dict[str, ProcFacts]) -> CellFlow:
        """By the usual backward data flow to a fixed point, each block summed
        up first as the cells it reads before writing (gen) and those it writes (kill)."""
        summaries, writes = {}, {}
        for block in proc.blocks:
            gen: set[int] = set()
            kill: set[int] = set()
            written: set[int] = set()
            steps = list(zip(block.instrs, B.block_heights(block, heights[block.label])))
            for instr, h in reversed(steps):
                uses, defs = cell_effects(instr, h, proc, procs, facts)
                if defs is None:  # ret: nothing after it is read
                    gen, kill = set(uses), set()
                    continue
                written.update(defs)
                gen.difference_update(defs)
                kill.update(defs)
                gen.update(uses)
                kill.difference_update(uses)
            ends = isinstance(block.instrs[-1], B.Ret)
            summaries[block.label] = (frozenset(gen), frozenset(kill), targets(block), ends)
            writes[block.label] = frozenset(written)
        live = {block.label: frozenset() for block in proc.blocks}
        changed = True
        while changed:
            changed = False
            for block in reversed(proc.blocks):
                gen, kill, after, ends = summaries[block.label]
                out = set().union(*(live[t] for t in after))
                now = gen if ends else gen | (out - kill)
                if now != live[block.label]:
                    live[block.label], changed = frozenset(now), True
        return CellFlow(live, writes)


def cell_effects(instr: B.Instr, h: int, proc: B.Proc, procs: dict[str, B.Proc],
                 facts: dict[str, ProcFacts]) -> tuple[range, range | None]:
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
            return range(h - 2, h), range(h - 2, h)  # the result overwrites h - 2; h - 1 is popped
        case B.Box(n):
            return range(h - n, h), range(h - n, h - n + 1)
        case B.Unbox(n):
            return range(h - 1, h), range(h - 1, h - 1 + n)
        case B.Jmpz() | B.Jmprel1():
            return range(h - 1, h), range(0)
        case B.Call(proc=callee):
            target = procs[callee]
            size = target.arg_size + target.captures_size
            slot = range(h - size - target.ret_size, h - size)
            return range(slot.start if facts[callee].takes_return_slot else h - size, h), slot
        case B.Spawn(args_size=args_size, ret_size=ret_size):
            return range(h - args_size, h), range(h - args_size, h - args_size + 3 + ret_size)
        case B.Resume(ret_size=ret_size):
            return range(h - 3 - ret_size, h), range(h - 3 - ret_size, h)
        case B.Ret():
            low = lowest(proc)
            return range(low, low + proc.ret_size), None
        case B.Jmp() | B.Yield():
            return range(0), range(0)
    raise TypeError(f"no cell effects for `{B.show_instr(instr)}`: add them here")  # a new instruction
