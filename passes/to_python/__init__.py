"""to-python: blocks -> python, the program as Python source for machine.fast.

Every proc becomes a Python function; its frame cells become locals
(stack-to-register conversion, by the blocks IR's static stack heights):
the argument and capture cells are parameters (lowest address first), the
return slot cells the return value, and within a block each operand is a
symbolic pure expression, so pushes, stores and pops cost nothing
(cells.py; the expressions and their intervals: exprs.py). An instruction
is compiled in one place, BlockCompiler.instruction (cells.py; spawn and
resume in fibers.py), and the cells it reads and writes, for the data flow,
are in flow.cell_effects.

Control flow (control.py, from the analyses of flow.py): loops are `while
True:` loops with `continue` and `break`, branches and jump tables `if`s
whose arms end where they join (the branch's immediate post-dominator). A
proc whose blocks do not nest so falls back to a flat loop dispatching on
the block's number.

Fibers: a proc that can reach a `yield` (ir.blocks.procs_that_may_yield,
over reachable blocks) runs as a generator on a fiber and as a plain
function on main, where yield does nothing; each version is made only where
it is used. Spawns and resumes are inline (fibers.py); machine/fast.py has
the fiber's layout and the trampoline that bounds `yield from` chains (the
generator's extra `depth` parameter).

Integers stay exact with few checks (cells.py): a branch narrows the
intervals of what it compares, so `n - 1` under `n < 2 == false` needs no
check. A call's result cell is loose (any int congruent to the value)
unless every `return` of the callee wraps that cell: that is assumed, then
withdrawn where a compiled proc returns a loose value, and the procs that
call, spawn or resume it compiled again. Callees are compiled first, so
that outside cycles of calls no proc is compiled twice. `fib` needs no
check at all.
"""

from __future__ import annotations

import re
from collections import deque
from ir import blocks as B
from ir import python as P
from ir.source import CompileError
from passes.framework import Pass
from passes.to_python.cells import CannotCompile, Context
from passes.to_python.control import ProcCompiler
from passes.to_python.facts import ProcFacts, spawn_target
from passes.to_python.flow import depth_first


class ToPython(Pass):
    name = "to-python"
    input_ir = "blocks"
    output_ir = "python"
    summary = "compile the blocks program to Python (locals for cells, generators for fibers)"

    def run(self, program: B.Program) -> P.Program:
        return compile_program(program)


def compile_program(program: B.Program) -> P.Program:
    heights = {proc.name: B.stack_heights(proc) for proc in program.procs}
    procs = {proc.name: _reachable(proc, heights[proc.name]) for proc in program.procs}
    facts = {name: ProcFacts.of(proc) for name, proc in procs.items()}
    may_yield = B.procs_that_may_yield(B.Program(tuple(procs.values()), program.result_type, program.main))
    spawns = [instr for proc_facts in facts.values() for instr in proc_facts.spawns]
    spawned = {instr.proc: spawn_target(instr.proc, procs, facts) for instr in spawns}
    versions = _versions(facts, program.main, may_yield, spawned)
    names = _python_names(versions)
    fibers = [instr for instr in spawns if instr.proc in may_yield]  # the spawns of fibers that may be pending
    fiber_procs = frozenset(spawned[instr.proc][0] for instr in fibers)
    fiber_sizes = frozenset(instr.ret_size for instr in fibers)
    uses = _uses(facts, spawned, fiber_procs)
    dependents = _dependents(uses)
    boxes = any(proc_facts.boxes for proc_facts in facts.values())
    # Whether each proc returns each cell wrapped, so that the code using its
    # results need not check them: assumed at first, then withdrawn where a
    # compiled proc returns a loose value, and its dependents compiled again.
    returns_wrapped = {name: (True,) * proc.ret_size for name, proc in procs.items()}
    contexts = {kind: Context(procs, facts, names, may_yield, spawned, heights, returns_wrapped, fiber_sizes,
                              fiber_procs, kind, fiber_procs if boxes else frozenset())
                for kind in (P.FUNCTION, P.GENERATOR)}
    sources: dict[tuple[str, str], str] = {}
    # Callees first (a depth-first postorder of the uses): where no cycle of calls
    # intervenes, each version is compiled once, knowing already how its callees return.
    rank = {name: i for i, name in enumerate(depth_first(uses, uses)[0])}
    todo = deque(sorted(versions, key=lambda version: rank[version[0]]))
    queued = set(todo)
    kinds = {name: [] for name in procs}
    for name, kind in versions:
        kinds[name].append(kind)
    try:
        while todo:
            name, kind = version = todo.popleft()
            queued.remove(version)
            compiler = ProcCompiler(procs[name], contexts[kind])
            sources[version] = compiler.compile()
            wrapped = tuple(a and b for a, b in zip(returns_wrapped[name], compiler.returned_wrapped))
            if wrapped != returns_wrapped[name]:
                returns_wrapped[name] = wrapped
                again = [(user, kind) for user in sorted(dependents[name], key=rank.__getitem__)
                         for kind in kinds[user]]
                todo.extend(version for version in again if version not in queued)
                queued.update(again)
    except CannotCompile as problem:
        raise CompileError(f"the fast backend cannot compile this program: {problem} "
                           "(run it with --backend vm)", None) from None
    out = tuple(P.Proc(name, names[name, kind], kind, sources[name, kind]) for name, kind in versions)
    return P.Program(program.result_type, names[program.main, P.FUNCTION], out, program.value_type)


def _reachable(proc: B.Proc, heights: dict[str, int]) -> B.Proc:
    """proc without the blocks no path reaches (they never run)."""
    if len(heights) == len(proc.blocks):
        return proc
    return B.Proc(proc.name, proc.arg_size, proc.captures_size, proc.ret_size, proc.frame_size,
                  tuple(b for b in proc.blocks if b.label in heights))


def _uses(facts: dict[str, ProcFacts], spawned: dict, fiber_procs: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """For each proc, the procs whose results its code uses: its callees, what
    its spawns run, and, if it resumes, every proc a fiber may run."""
    return {name: tuple(dict.fromkeys((*proc_facts.callees, *(spawned[instr.proc][0] for instr in proc_facts.spawns),
                                       *(sorted(fiber_procs) if proc_facts.resumes else ()))))
            for name, proc_facts in facts.items()}


def _dependents(uses: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    """For each proc, the procs whose code uses its results."""
    dependents: dict[str, set[str]] = {name: set() for name in uses}
    for name, used in uses.items():
        for target in used:
            dependents[target].add(name)
    return dependents


def _versions(facts: dict[str, ProcFacts], main: str, may_yield: frozenset[str],
              spawned: dict[str, tuple[str, tuple | None]]) -> list[tuple[str, str]]:
    """(proc, kind) for every version some run can use, in program order: plain
    functions for main and for procs that cannot yield, generators on fibers."""
    needed = {(main, P.FUNCTION)}
    work = [(main, P.FUNCTION)]
    while work:
        name, kind = work.pop()
        found = [(callee, kind if callee in may_yield else P.FUNCTION) for callee in facts[name].callees]
        found += [(spawned[instr.proc][0], P.GENERATOR if instr.proc in may_yield else P.FUNCTION)
                  for instr in facts[name].spawns]
        for version in found:
            if version not in needed:
                needed.add(version)
                work.append(version)
    return [(name, kind) for name in facts for kind in (P.FUNCTION, P.GENERATOR) if (name, kind) in needed]


# The locals' names (see cells.BlockCompiler.cell_name); no proc takes one of these.
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
