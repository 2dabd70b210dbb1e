"""peephole: blocks -> blocks.

Small rewrites of a few instructions in a row, each doing the same with
fewer instructions executed. A rule looks at the instructions just written
and replaces its window with something shorter, which is read again, so
rules apply to each other's results and the whole pass is one walk over
every block. No rule takes in a call, spawn, resume or yield, and each
leaves the stack as tall as before at the end of its window, so every
stack map stays true.

    merge-grows        spadd a; spadd b                  spadd a+b
    merge-drops        spsub a; spsub b                  spsub a+b
    reuse-dropped      spsub a; spadd b                  spsub a-b | spadd b-a | nothing
    drop-a-push        push x; spsub n                   spsub n-1 | nothing
    fold-constants     push a; push b; add               push b+a    (and sub, mul, lt, eq)
    test-zero          push 0; eq; jmpz A; jmp B         jmpz B; jmp A
                       push 0; push x; eq; jmpz A; ...   push x; jmpz B; jmp A
    constant-branch    push c; jmpz A; jmp B             jmp A if c is 0, else jmp B

A branch made constant leaves blocks that no jump reaches: they are dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from ir import blocks
from ir.blocks import Add, Block, Eq, Imm, Instr, Jmp, Jmpz, Lt, Mul, Push, SpAdd, SpSub, Sub
from ir.ints import wrap
from passes.framework import Pass

# A rule: the instructions written so far in a block (the last few are its
# window) -> how many of the last ones it replaces, and with what; or None.
Rule = Callable[[list[Instr]], tuple[int, tuple[Instr, ...]] | None]


def merge_grows(written: list[Instr]):
    """Two grows in a row (a return slot, then another inside the argument) are one."""
    match written[-2:]:
        case [SpAdd(a), SpAdd(b)]:
            return 2, (SpAdd(a + b),)


def merge_drops(written: list[Instr]):
    """Two drops in a row (a call's argument, then the padding of a closure) are one."""
    match written[-2:]:
        case [SpSub(a), SpSub(b)]:
            return 2, (SpSub(a + b),)


def reuse_dropped(written: list[Instr]):
    """Cells dropped and grown again are reused as they are: a call's argument
    becomes the return slot of the next call. The cells spadd grows are a
    return slot or closure padding, which nothing reads before writing, so
    they need not be zero."""
    match written[-2:]:
        case [SpSub(a), SpAdd(b)]:
            return 2, (SpSub(a - b),) if a > b else (SpAdd(b - a),) if b > a else ()


def drop_a_push(written: list[Instr]):
    """A value pushed only to be dropped (the first half of `e1; e2`) is never pushed."""
    match written[-2:]:
        case [Push(), SpSub(n)]:
            return 2, (SpSub(n - 1),) if n > 1 else ()


_FOLD = {Add: lambda x, y: wrap(x + y), Sub: lambda x, y: wrap(x - y), Mul: lambda x, y: wrap(x * y),
         Lt: lambda x, y: int(x < y), Eq: lambda x, y: int(x == y)}


def fold_constants(written: list[Instr]):
    """Arithmetic on two constants is its result (`-1` is `0 - 1` to emit). The
    top is the left operand, as the machine does it."""
    match written[-3:]:
        case [Push(Imm(y)), Push(Imm(x)), op] if type(op) in _FOLD:
            return 3, (Push(Imm(_FOLD[type(op)](x, y))),)


def zero_test(written: list[Instr]):
    """`x == 0` is false exactly when x is not: branch on x itself, arms swapped."""
    match written[-5:]:
        case [Push(Imm(0)), Push() as x, Eq(), Jmpz(a), Jmp(b)]:
            return 5, (x, Jmpz(b), Jmp(a))
    match written[-4:]:
        case [Push(Imm(0)), Eq(), Jmpz(a), Jmp(b)]:
            return 4, (Jmpz(b), Jmp(a))


def constant_branch(written: list[Instr]):
    """A branch on a constant (`if true`) goes one way."""
    match written[-3:]:
        case [Push(Imm(c)), Jmpz(a), Jmp(b)]:
            return 3, (Jmp(a if c == 0 else b),)


RULES: dict[str, Rule] = {
    "merge-grows": merge_grows,
    "merge-drops": merge_drops,
    "reuse-dropped": reuse_dropped,
    "drop-a-push": drop_a_push,
    "fold-constants": fold_constants,
    "test-zero": zero_test,
    "constant-branch": constant_branch,
}

# The instructions each rule's run may end in: a rule is tried only after one is written.
ENDS_IN: dict[Rule, tuple[type, ...]] = {
    merge_grows: (SpAdd,), merge_drops: (SpSub,), reuse_dropped: (SpAdd,), drop_a_push: (SpSub,),
    fold_constants: tuple(_FOLD), zero_test: (Jmp,), constant_branch: (Jmp,),
}


def by_last_instruction(rules: tuple[Rule, ...]) -> dict[type, tuple[Rule, ...]]:
    """The rules to try after writing each kind of instruction, in their order."""
    return {cls: tuple(rule for rule in rules if cls in ENDS_IN[rule])
            for cls in {cls for rule in rules for cls in ENDS_IN[rule]}}


_ALL_RULES = by_last_instruction(tuple(RULES.values()))


class Peephole(Pass):
    name = "peephole"
    input_ir = "blocks"
    output_ir = "blocks"
    summary = "rewrite short runs of instructions into fewer (see the rules in passes/peephole.py)"

    def run(self, program: blocks.Program) -> blocks.Program:
        return blocks.with_blocks(program, lambda code: blocks.reachable(tuple(Block(b.label, rewrite(b.instrs))
                                                                              for b in code)))


def rewrite(instrs: tuple[Instr, ...], rules: dict[type, tuple[Rule, ...]] = _ALL_RULES) -> tuple[Instr, ...]:
    """One block's instructions with every rule applied wherever it matches.
    A replacement is read again, instruction by instruction, so that a rule
    may match what another made; every rule shortens the code, so this ends,
    after work linear in the block's length. rules: by_last_instruction() of
    the rules to apply, all of them unless said."""
    unread = list(reversed(instrs))
    written: list[Instr] = []
    while unread:
        written.append(unread.pop())
        for rule in rules.get(written[-1].__class__, ()):
            hit = rule(written)
            if hit is not None:
                count, replacement = hit
                del written[len(written) - count:]
                unread.extend(reversed(replacement))
                break
    return tuple(written)
