"""defunc: typed -> defunc.

Every lambda becomes a top-level procedure named after it, taking its
argument and its capture record; in its place stays a closure: that record
(plus, in a set of several lambdas, a tag). Every application becomes a direct
call when the function's lambda set has one member, a dispatch over the set
when it has several, and is unreachable when it has none. A `let rec`
function sees itself as a closure rebuilt from its own captures. `spawn e`
runs a lifted procedure (`Spawn`, `Spawn1`, ... in source order) whose
captures are e's free variables; the program itself is the procedure `Main`.

The lambda sets whose closures would contain themselves are boxed, by the
rule of ir/boxing.py: their closure type becomes `Box closure[...]`, a
closure of one is boxed where it is made, and unboxed where it is called.
"""

from __future__ import annotations

from ir import defunc, typed
from ir.boxing import boxed_sets
from ir.defunc import (MAIN, UNIT_PARAM, Box, Call, Closure, Dispatch, OwnCaptures, Proc, Program, Unbox, Unreachable,
                       capture_record)
from ir.scope import Scope
from ir.traverse import Rewriter
from ir.types import UNIT, BoxT, Capture, ClosureT, FiberT, FunT, LambdaSet, LambdaTable, TupleT, Type, contains_function
from passes.framework import Pass


class Defunc(Pass):
    name = "defunc"
    input_ir = "typed"
    output_ir = "defunc"
    summary = "lift lambdas to procedures and make every call direct"

    def run(self, program: typed.Program) -> Program:
        return _Lifter().lift(program)


class _Lifter(Rewriter):
    pass_name = "defunc"

    def __init__(self):
        super().__init__(defunc.IR)
        self.procs: list[Proc | None] = []  # in source order: a slot is taken when a lambda is met
        self.spawns = 0
        self.scope = Scope()  # name -> typed type of every visible variable
        self.own: str | None = None  # the `let rec` name under which this procedure sees itself
        self.own_record: TupleT = UNIT  # this procedure's capture record type
        self.proc_name = MAIN  # the procedure being built: a `let rec` lambda's own closure names it
        self.boxed: set[tuple[str, ...]] = set()  # the names of the boxed lambda sets
        self.types: dict[int, tuple[Type, Type]] = {}  # by id: hashing deep types costs; t kept, so its id stays its own
        self.table = LambdaTable()  # the same lambdas, their captures' types defunctionalized

    def lift(self, program: typed.Program) -> Program:
        boxed = boxed_sets(typed.lambda_sets(program))
        self.boxed = {b.names for b in boxed}
        self.body = program.body
        self.spawn_captures: dict[int, list[str]] | None = None  # by id of a Spawn, found at the first one
        for name, captures in program.lambdas.items():
            self.table.define(name, self.rewrite_value(captures))
        self.procedure(MAIN, UNIT_PARAM, UNIT, (), program.body, program.body.span)
        value = program.body.type if contains_function(program.body.type) else None  # how fibers print
        return Program(tuple(self.procs), program.source, boxed, value)

    def procedure(self, name: str, param: str, param_type: Type, captures: tuple[Capture, ...],
                  body: typed.Expr, span, own: tuple[str, FunT] | None = None) -> None:
        index = len(self.procs)
        self.procs.append(None)
        outer = self.scope, self.own, self.own_record, self.proc_name
        captures = self.rewrite_value(captures)
        self.scope, self.own, self.own_record = Scope((c.name, c.type) for c in captures), None, capture_record(captures)
        self.proc_name = name
        if own is not None:
            self.bind(*own)
            self.own = own[0]
        self.bind(param, param_type)
        result = Proc(name, param, self.rewrite_type(param_type), captures,
                      self.rewrite_type(body.type), self(body), span)
        self.scope, self.own, self.own_record, self.proc_name = outer
        self.procs[index] = result

    def bind(self, name: str, t: Type) -> None:
        self.scope.bind(name, t)
        if name == self.own:
            self.own = None

    def scoped(self, name: str, t: Type, e: typed.Expr):
        """e rewritten where name is bound to a value of type t."""
        mark, own = self.scope.mark(), self.own
        self.bind(name, t)
        result = self(e)
        self.scope.restore(mark)
        self.own = own
        return result

    def rewrite_type(self, t: Type) -> Type:
        done = self.types.get(id(t))
        if done is not None:
            return done[1]
        match t:
            case FunT(lambdas=lambdas):
                out: Type = ClosureT(LambdaSet(lambdas.names, self.table))
                if lambdas.names in self.boxed:
                    out = BoxT(out)
            case TupleT(elems):
                out = TupleT(tuple([self.rewrite_type(x) for x in elems]))
            case FiberT(result):
                out = FiberT(self.rewrite_type(result))
            case _:
                out = t
        self.types[id(t)] = (t, out)
        return out

    def record(self, captures: tuple[Capture, ...], span) -> typed.Tuple:
        """The capture record, built where the lambda (or spawn) stands."""
        values = tuple(self(typed.Var(c.name, c.type, span)) for c in captures)
        return typed.Tuple(values, capture_record(self.rewrite_value(captures)), span)

    def closure(self, e: typed.Lam, own: tuple[str, FunT] | None):
        self.procedure(e.name, e.param, e.type.param, e.captures, e.body, e.span, own)
        return self.made(Closure(e.name, self.record(e.captures, e.span), self.unboxed(e.type), e.span))

    def unboxed(self, t: FunT) -> ClosureT:
        closure = self.rewrite_type(t)
        return closure.contents if isinstance(closure, BoxT) else closure

    def made(self, closure: Closure):
        """The closure as a value: boxed, if its set is."""
        if closure.type.lambdas.names in self.boxed:
            return Box(closure, BoxT(closure.type), closure.span)
        return closure

    def Lam(self, e: typed.Lam):
        return self.closure(e, None)

    def LetRec(self, e: typed.LetRec) -> typed.Let:
        closure = self.closure(e.value, (e.name, e.value.type))
        return typed.Let(e.name, closure, self.scoped(e.name, e.value.type, e.body),
                         self.rewrite_type(e.type), e.span)

    def Let(self, e: typed.Let) -> typed.Let:
        return typed.Let(e.name, self(e.value), self.scoped(e.name, e.value.type, e.body),
                         self.rewrite_type(e.type), e.span)

    def Stat(self, e: typed.Stat) -> typed.Stat:
        return typed.Stat(self(e.fiber), self(e.pending), e.done_name,
                          self.scoped(e.done_name, e.fiber.type.result, e.done),
                          self.rewrite_type(e.type), e.span)

    def Var(self, e: typed.Var):
        if e.name == self.own:
            # The lambda's name, which is the let's only when no other lambda took it first.
            return self.made(Closure(self.proc_name, OwnCaptures(self.own_record, e.span), self.unboxed(e.type),
                                     e.span))
        return self.rebuild(e)

    def App(self, e: typed.App):
        arg, closure, result = self(e.arg), self(e.fn), self.rewrite_type(e.type)
        if isinstance(closure, Box):
            closure = closure.value  # made to be called at once: never boxed
        elif isinstance(closure.type, BoxT):
            closure = Unbox(closure, closure.type.contents, closure.span)
        members = e.fn.type.lambdas.names
        if len(members) == 1:
            return Call(members[0], arg, closure, result, e.span)
        if members:
            return Dispatch(members, arg, closure, result, e.span)
        # Nothing flows into an empty lambda set: the operands still run for
        # their effects, but control never gets past them.
        unreachable = typed.Seq(closure, Unreachable(result, e.span), result, e.span)
        return typed.Seq(arg, unreachable, result, e.span)

    def Spawn(self, e: typed.Spawn) -> defunc.Spawn:
        name = f"Spawn{self.spawns or ''}"
        self.spawns += 1
        if self.spawn_captures is None:
            # What each spawn captures, found in one walk: asking spawn by spawn was
            # quadratic, and a program without spawns needs no walk at all.
            self.spawn_captures = typed.free_variables_of_each(self.body, (typed.Spawn,))
        captures = tuple(Capture(x, self.scope[x]) for x in self.spawn_captures[id(e)])
        self.procedure(name, UNIT_PARAM, UNIT, captures, e.body, e.span)
        return defunc.Spawn(name, self.record(captures, e.span), self.rewrite_type(e.type), e.span)
