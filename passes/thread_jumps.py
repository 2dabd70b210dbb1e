"""thread-jumps: blocks -> blocks.

Emit ends every arm of an `if`, `stat` or jump table with a jump to a join
block, and the join of an `if` nested in an arm is often nothing but a jump
to the next join out. This pass sends every jump straight to where such a
chain ends, turns a lone jump to a block that only returns into a `ret`,
and drops the blocks that no path from the entry reaches any more. Nothing
else changes: a block that is kept keeps its instructions (stack maps
included), so its stack heights stay those the verifier computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ir import blocks
from ir.blocks import Block, Instr, Jmp, Jmprel1, Jmpz, Ret
from passes.framework import Pass


class ThreadJumps(Pass):
    name = "thread-jumps"
    input_ir = "blocks"
    output_ir = "blocks"
    summary = "send each jump to the end of a chain of jumps; drop blocks no jump reaches"

    def run(self, program: blocks.Program) -> blocks.Program:
        return blocks.with_blocks(program, thread_jumps)


def thread_jumps(code: Sequence[Block]) -> tuple[Block, ...]:
    """One procedure's blocks (the entry first), minus those that only jump on,
    every jump sent to the end of its chain, and a lone jump to a bare `ret`
    made a `ret` itself."""
    hops = {b.label: b.instrs[0].label for b in code[1:] if len(b.instrs) == 1 and isinstance(b.instrs[0], Jmp)}
    returns = {b.label for b in code if b.instrs == (Ret(),)}

    def final(label: str) -> str:
        on_the_way: list[str] = []
        seen: set[str] = set()
        while label in hops and label not in seen:  # a cycle of jumps loops for ever: it ends where it closes
            seen.add(label)
            on_the_way.append(label)
            label = hops[label]
        # Each label passed now jumps straight to the end: nested ifs make
        # chains as long as the nesting, and walking each again was quadratic.
        for hop in on_the_way:
            hops[hop] = label
        return label

    def retarget(instrs: tuple[Instr, ...]) -> tuple[Instr, ...]:
        *body, last = (map_labels(instr, final) for instr in instrs)
        alone = not (body and isinstance(body[-1], Jmpz))  # `jmpz L` must be followed by a jump
        if isinstance(last, Jmp) and last.label in returns and alone:
            last = Ret()
        return (*body, last)

    kept = [Block(b.label, retarget(b.instrs)) for b in code if b.label not in hops or final(b.label) == b.label]
    return blocks.reachable(kept)


def map_labels(instr: Instr, f: Callable[[str], str]) -> Instr:
    """instr with every label it may jump to replaced by f(label)."""
    match instr:
        case Jmp(label):
            return Jmp(f(label))
        case Jmpz(label):
            return Jmpz(f(label))
        case Jmprel1(labels):
            return Jmprel1(tuple(map(f, labels)))
    return instr
