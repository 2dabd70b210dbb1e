"""Facts about blocks procs that to-python compiles by.

    ProcFacts.of(proc)                   whether it reads its return slot, writes its arguments;
                                         what it calls and spawns, whether it resumes or boxes
    lowest(proc)                         the fp offset of its lowest cell (its return slot's first)
    spawn_target(name, procs, facts)     what a spawn of name runs: name, or the proc it forwards to
"""

from __future__ import annotations

from ir import blocks as B
from ir.immutable import immutable


@immutable
class ProcFacts:
    takes_return_slot: bool  # it may read its return slot, or return cells it never wrote
    writes_arguments: bool  # it stores into its argument or capture cells
    callees: tuple[str, ...]  # the procs it calls, each once, in the order it first calls them
    spawns: tuple[B.Spawn, ...]  # its spawns, in order
    resumes: bool  # it has a resume
    boxes: bool  # it has a box

    @staticmethod
    def of(proc: B.Proc) -> ProcFacts:
        """The facts of proc, found in one scan of its instructions."""
        low = lowest(proc)
        arg_low = low + proc.ret_size
        writes_arguments = reads_return = resumes = boxes = False
        callees: dict[str, None] = {}  # an ordered set
        spawns = []
        for block in proc.blocks:
            for instr in block.instrs:
                if isinstance(instr, B.Push):
                    operand = instr.operand
                    if isinstance(operand, B.FpOffset) and low <= operand.offset < arg_low:
                        reads_return = True
                elif isinstance(instr, B.Store):
                    if arg_low <= instr.offset <= -3:
                        writes_arguments = True
                elif isinstance(instr, B.Call):
                    callees[instr.proc] = None
                elif isinstance(instr, B.Spawn):
                    spawns.append(instr)
                elif isinstance(instr, B.Resume):
                    resumes = True
                elif isinstance(instr, B.Box):
                    boxes = True
        return ProcFacts(reads_return or not _return_slot_always_written(proc), writes_arguments,
                         tuple(callees), tuple(spawns), resumes, boxes)


def lowest(proc: B.Proc) -> int:
    return -(2 + proc.captures_size + proc.arg_size + proc.ret_size)


def _return_slot_always_written(proc: B.Proc) -> bool:
    """Whether every path to a `ret` stores every cell of the return slot (a
    forward data flow over bit masks, one bit per return cell)."""
    full = (1 << proc.ret_size) - 1
    if not full:
        return True
    low = lowest(proc)
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


def spawn_target(name: str, procs: dict[str, B.Proc], facts: dict[str, ProcFacts]) -> tuple[str, tuple | None]:
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
    arg_low = lowest(proc) + proc.ret_size
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
                returned[k - lowest(proc)] = stack.pop()
            case B.Ret() if callee is not None and callee.ret_size == proc.ret_size:
                ok = all(returned.get(i) == ("result", i) for i in range(proc.ret_size))
                return (callee.name, arguments) if ok else None
            case _:
                return None
    return None
