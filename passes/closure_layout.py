"""closure-layout: defunc -> layout.

Give every value its cells and every procedure its frame (docs/machine.md,
"Frames"): the return slot, the argument and the capture record below the
saved pc and fp, each capture at its place in the record, and every local
(`let` and `Done` binders) above fp. Locals are allocated like a stack: a
binder takes the first cells free in its scope and gives them back when its
scope ends, so sibling scopes share cells. A binder's value is computed
before the binder is live, so the value's own locals may share its cells too.
"""

from __future__ import annotations

from ir import defunc, layout, typed
from ir.immutable import replace
from ir.layout import Slot, incoming_frame
from ir.scope import Scope
from ir.traverse import Rewriter
from ir.types import Type, cell_size
from passes.framework import Pass


class ClosureLayout(Pass):
    name = "closure-layout"
    input_ir = "defunc"
    output_ir = "layout"
    summary = "give every value its cells and every procedure its frame"

    def run(self, program: defunc.Program) -> layout.Program:
        builder = _FrameBuilder()
        return layout.Program(tuple(builder.lay_out(p) for p in program.procs), program.source,
                              program.boxed, program.value_type)


class _FrameBuilder(Rewriter):
    pass_name = "closure-layout"

    def __init__(self):
        super().__init__(layout.IR)

    def lay_out(self, proc: defunc.Proc) -> layout.Proc:
        incoming = incoming_frame(proc.param, proc.param_type, proc.captures, proc.result_type)
        self.slots = list(incoming.slots)
        self.scope = Scope((s.name, s.offset) for s in self.slots[1:])
        self.free = 0  # the first local cell not taken in the current scope
        self.locals_size = 0
        body = self(proc.body)
        frame = replace(incoming, locals_size=self.locals_size, slots=tuple(self.slots))
        return layout.Proc(proc.name, proc.param, proc.param_type, proc.captures, proc.result_type,
                           frame, body, proc.span)

    def local(self, name: str, t: Type, e):
        """(the slot of a new local, e rewritten in its scope)."""
        offset = self.free
        self.slots.append(Slot(name, offset, t))
        mark = self.scope.bind(name, offset)
        self.free = offset + cell_size(t)
        self.locals_size = max(self.locals_size, self.free)
        body = self(e)
        self.scope.restore(mark)
        self.free = offset
        return offset, body

    def Var(self, e: typed.Var) -> layout.Var:
        return layout.Var(e.name, e.type, self.scope[e.name], e.span)

    def Let(self, e: typed.Let) -> layout.Let:
        value = self(e.value)
        offset, body = self.local(e.name, e.value.type, e.body)
        return layout.Let(e.name, offset, value, body, e.type, e.span)

    def Stat(self, e: typed.Stat) -> layout.Stat:
        fiber, pending = self(e.fiber), self(e.pending)
        offset, done = self.local(e.done_name, e.fiber.type.result, e.done)
        return layout.Stat(fiber, pending, e.done_name, offset, done, e.type, e.span)

    def Call(self, e: defunc.Call) -> layout.Call:
        return layout.Call(e.proc, self(e.arg), self(e.closure), e.type, False, e.span)
