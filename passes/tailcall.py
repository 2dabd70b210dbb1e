"""tailcall: layout -> layout.

Mark each call of a procedure to itself in tail position, so that emit
reuses the frame instead of growing the stack. Calls through a one-member
lambda set are direct calls already, so they are covered; a dispatch over
several lambdas is never marked. Only tail positions are visited: a node
outside them has no tail position below it.
"""

from __future__ import annotations

from ir import layout
from ir.immutable import replace
from ir.layout import TAIL_CHILDREN
from passes.framework import Pass


class Tailcall(Pass):
    name = "tailcall"
    input_ir = "layout"
    output_ir = "layout"
    summary = "mark each self call in tail position"

    def run(self, program: layout.Program) -> layout.Program:
        procs = tuple(replace(p, body=_mark(p.body, p.name)) for p in program.procs)
        return replace(program, procs=procs)


def _mark(e: layout.Expr, proc: str) -> layout.Expr:
    """e, in tail position of procedure proc, with its self tail calls marked."""
    if isinstance(e, layout.Call):
        return replace(e, tail=True) if e.proc == proc else e
    tail_children = TAIL_CHILDREN.get(type(e), ())
    if not tail_children:
        return e
    return replace(e, **{name: _mark(getattr(e, name), proc) for name in tail_children})
