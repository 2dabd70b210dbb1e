"""Spawns and resumes, inline: the fast backend's fibers in the generated code.

A fiber is a generator (machine/fast.py) in a list [generator, dirty,
number, size]; a handle's fibidx cell holds that list. A spawn makes the
generator, numbers the fiber and runs it with next() to its first yield
(a pending handle) or its end (StopIteration: a done one). A resume of a
pending handle checks it against the fiber's dirty counter, bumps the
counter and runs the fiber on with next(). What is known statically is
used: a spawned proc that cannot yield is a plain call, done at once; one
whose first effect is a yield needs no check at its spawn; a done or
pending bit known from a branch skips the test; the result size is checked
only if spawns of another size exist; results are wrapped only if the
fiber's proc may return them loose (a handle's cells never are: its
fibidx holds a fiber, which no range check may compare). Everything else (a stale or forged
handle, a fiber that runs, calls past the `yield from` chain's depth) goes
to the runtime's `refuse` and `trampoline`.
"""

from __future__ import annotations

from ir import blocks as B
from ir import python as P
from machine.fast import DIRTY, GENERATOR, SIZE
from passes.to_python.cells import BlockCompiler
from passes.to_python.exprs import ADD, ATOM, Expr, call, const, paren, var


class FiberCompiler(BlockCompiler):
    """BlockCompiler with spawn and resume."""

    def spawn(self, instr: B.Spawn) -> None:
        args = self.arguments(instr.args_size)
        target, sources = self.context.spawned[instr.proc]
        if sources is not None:
            args = [const(s[1]) if s[0] == "const" else args[s[1]] for s in sources]
        if self.context.facts[target].takes_return_slot:
            args = [const(0)] * instr.ret_size + args  # a fiber's return slot starts zeroed
        self.block.height -= instr.args_size
        for k in range(self.block.height, self.block.height + instr.args_size):
            self.set_cell(k, None)
        size = instr.ret_size
        loose = [not wrapped for wrapped in self.context.returns_wrapped[target]]
        if instr.proc not in self.context.may_yield:  # it runs to its end: done at once
            number = self.fresh()
            self.emit(f"{number} = next(numbers)")  # numbered before it runs, as on the VM
            values = self.results(call(self.context.names[target, P.FUNCTION], args).text, size, loose)
            self.push_handle(const(0), var(number), values, const(1))
            return
        generator, fiber = self.fresh(), self.fresh()
        self.emit(f"{generator} = {call(self.context.names[target, P.GENERATOR], [*args, const(0)]).text}")
        self.emit(f"{fiber} = [{generator}, 0, next(numbers), {size}]")
        if yields_first(self.context.procs[target]):
            self.emit(f"next({generator})")
            self.push_handle(const(0), var(fiber), [const(0)] * size, const(0))
            return
        values, bit = [self.fresh() for _ in range(size)], self.fresh()
        self.run_fiber(fiber, f"next({generator})", values, bit, loose)
        self.push_handle(const(0), var(fiber), [var(v) for v in values], var(bit, 0, 1))

    def resume(self, instr: B.Resume) -> None:
        size = instr.ret_size
        dirty, fiber, *values, bit = handle = self.arguments(3 + size)
        self.block.height -= 3 + size
        for k in range(self.block.height, self.block.height + 3 + size):
            self.set_cell(k, None)
        if bit.is_const and bit.lo != 0:  # done: resume gives it back unchanged
            self.push_handle(*handle[:2], handle[2:-1], bit)
            return
        line, column = map(int, instr.site.split(":")) if instr.site else (0, 0)
        place = f"{line}, {column}, {paren(dirty, 0)}, {paren(fiber, 0)}, {size}"
        pending = bit.is_const
        if not pending:
            self.emit(f"if not {paren(bit, 0)}:")
            self.indent += 1
        if fiber.is_const:  # a number: a hand-written listing forged this handle
            self.emit(f"refuse({place})")
            new_dirty, new_values, new_bit = dirty, values, bit
        else:
            if fiber.prec != ATOM or fiber.size:
                fiber = self.materialize(fiber)
            new_dirty, new_values, new_bit = self.fresh(), [self.fresh() for _ in range(size)], self.fresh()
            self.emit("try:")
            stale = f"{fiber.text}[{DIRTY}] != {paren(dirty, 0)}"
            if self.context.fiber_sizes - {size}:
                stale += f" or {fiber.text}[{SIZE}] != {size}"
            self.emit(f"    if {stale}:")
            self.emit(f"        refuse({place})")
            bumped = const(dirty.lo + 1).text if dirty.is_const else f"{paren(dirty, ADD)} + 1"
            self.emit(f"    {fiber.text}[{DIRTY}] = {new_dirty} = {bumped}")
            self.run_fiber(fiber.text, f"next({fiber.text}[{GENERATOR}])", new_values, new_bit,
                           self.fiber_results_loose(size), opened=True, refused=place)
            if not pending:
                self.indent -= 1
                self.emit("else:")
                self.indent += 1
                for name, e in zip([new_dirty, *new_values, new_bit], [dirty, *values, bit]):
                    self.emit(f"{name} = {e.text}")
            new_dirty, new_values, new_bit = var(new_dirty), [var(v) for v in new_values], var(new_bit, 0, 1)
        if not pending:
            self.indent -= 1
        self.push_handle(new_dirty, fiber, new_values, new_bit)

    def run_fiber(self, fiber: str, advance: str, values: list[str], bit: str, loose: list[bool],
                  opened: bool = False, refused: str | None = None) -> None:
        """Run a fiber to its next yield or its end: the value cells and bit of
        its handle then. opened: the `try:` is emitted already; refused: the
        arguments of `refuse` for a fiber that cannot be resumed."""
        request, stop = self.fresh(), self.fresh()
        if not opened:
            self.emit("try:")
        self.indent += 1
        self.emit(f"{request} = {advance}")
        self.emit(f"if {request}:")  # a call past the chain's depth
        self.emit(f"    trampoline({fiber}, {request})")
        self.indent -= 1
        self.emit(f"except stop_iteration as {stop}:")
        self.indent += 1
        if values:
            self.emit(f"{', '.join(values)} = result_of({stop})")
            for name, unwrapped in zip(values, loose):
                self.check(name, var(name, loose=unwrapped))
        self.emit(f"{fiber}[{GENERATOR}] = None  # it ended: no handle resumes it")
        self.emit(f"{bit} = 1")
        self.indent -= 1
        if refused is not None:
            self.emit(f"except cannot_resume as {stop}:")
            self.emit(f"    refuse({refused}, {stop})")
        self.emit("else:")
        for name in [*values, bit]:
            self.emit(f"    {name} = 0")

    def results(self, text: str, size: int, loose: list[bool]) -> list[Expr]:
        """The cells of a proc's result, wrapped."""
        if size == 0:
            self.emit(text)
            return []
        names = [self.fresh() for _ in range(size)]
        self.emit(f"{', '.join(names)} = {text}")
        return [self.check(name, var(name, loose=unwrapped)) for name, unwrapped in zip(names, loose)]

    def push_handle(self, dirty: Expr, fiber: Expr, values: list[Expr], bit: Expr) -> None:
        for e in (dirty, fiber, *values, bit):
            self.set_cell(self.block.height, e)
            self.block.height += 1

    def fiber_results_loose(self, size: int) -> list[bool]:
        """Which cells of a fiber's result of size cells some proc a fiber may run returns loose."""
        procs = [self.context.returns_wrapped[p] for p in self.context.fiber_procs
                 if self.context.procs[p].ret_size == size]
        return [not all(wrapped[i] for wrapped in procs) for i in range(size)]


def yields_first(proc: B.Proc) -> bool:
    """Whether proc's first effect is a yield: its first run stops there."""
    for instr in proc.blocks[0].instrs:
        if isinstance(instr, B.Yield):
            return True
        if isinstance(instr, (*B.SAFEPOINTS, B.Ret, B.Jmp, B.Jmpz, B.Jmprel1)):
            return False
    return False
