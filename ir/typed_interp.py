"""An interpreter for the typed IR: the meaning of a co program, at source level.

    interpret(program, fuel=None) -> str    the printed value; raises RuntimeFault

Evaluation is right to left (README, "Language decisions"): tuple elements,
the argument before the function, the right operand first. Every handler is
a generator that yields wherever the running fiber yields (see
ir.interp_runtime); `yield from ()` makes a handler that never yields one.

Calls in tail position are returned as a TailCall and made by the caller's
loop (`run_tail`), so a tail-recursive loop runs in constant Python stack,
as it runs in constant machine stack. The interpreters of the later IRs
extend this one: they change only how procedures are entered and the forms
their IR adds or changes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ir import typed
from ir.interp_runtime import ARITHMETIC, Closure, Fibers, InterpError, run_main, show, wrap
from ir.traverse import walk
from ir.faults import RuntimeFault

DEFAULT_FUEL = 10_000_000  # node evaluations: far beyond any test program, short of forever


@dataclass(frozen=True, slots=True)
class TailCall:
    proc: str  # the lambda (or procedure) to enter
    arg: Any
    captures: tuple


class InterpTyped:
    ir = typed.IR

    def __init__(self, program, fuel: int | None = None):
        self.program = program
        self.fuel = DEFAULT_FUEL if fuel is None else fuel
        self.steps = 0
        self.fibers = Fibers()
        # One handler per form of this IR: a form of another IR is an error, never passed over.
        self.handlers = {form: getattr(self, "eval_" + form.__name__)
                         for form in self.ir.forms if issubclass(form, typed.Expr)}

    # -- running a program ------------------------------------------------------------

    def run(self) -> str:
        value = run_main(self.main())
        return show(value, self.result_type())

    def main(self):
        return self.run_tail(self.program.body, {})

    def result_type(self):
        """The type the program's value prints with: as co writes it."""
        return self.program.body.type

    @functools.cached_property
    def lambdas(self) -> dict[str, tuple[typed.Lam, str | None]]:
        """Every lambda by name, with the name it is bound to by `let rec`, if any."""
        found = {}
        for node in walk(self.program.body):
            if isinstance(node, typed.LetRec):
                found[node.value.name] = (node.value, node.name)
            elif isinstance(node, typed.Lam):
                found.setdefault(node.name, (node, None))
        return found

    def enter(self, call: TailCall):
        """(body, environment) of the called lambda. A `let rec` lambda sees
        itself as a closure of its own captures (ir/typed.py)."""
        lam, self_name = self.lambdas[call.proc]
        env = dict(zip((c.name for c in lam.captures), call.captures, strict=True))
        if self_name is not None:
            env[self_name] = Closure(call.proc, call.captures)
        env[lam.param] = call.arg
        return lam.body, env

    # -- the evaluation loop ----------------------------------------------------------

    def eval(self, e, env, tail: bool = False):
        """A generator computing e's value (a TailCall when e is a call and tail)."""
        self.steps += 1
        if self.steps > self.fuel:
            raise RuntimeFault(f"out of fuel after {self.fuel} evaluation steps")
        handler = self.handlers.get(type(e))
        if handler is None:
            raise InterpError(f"{type(e).__name__} is not a form of the {self.ir.name} IR")
        return handler(e, env, tail)

    def run_tail(self, e, env):
        """e's value, e being in tail position: the calls it ends in are made here, in a loop."""
        result = yield from self.eval(e, env, True)
        while isinstance(result, TailCall):
            body, env = self.enter(result)
            result = yield from self.eval(body, env, True)
        return result

    def call(self, target: TailCall, tail: bool):
        if tail:
            return target
        body, env = self.enter(target)
        return (yield from self.run_tail(body, env))

    def site(self, e) -> str:
        """Where a resume is in the source, as the machine reports it."""
        line, column = self.program.source.position(e.span.start)
        return f"{line}:{column}"

    # -- forms --------------------------------------------------------------------------

    def eval_Int(self, e, env, tail):
        yield from ()
        return e.value

    def eval_Bool(self, e, env, tail):
        yield from ()
        return e.value

    def eval_Var(self, e, env, tail):
        yield from ()
        return env[e.name]

    def eval_Lam(self, e, env, tail):
        yield from ()
        return Closure(e.name, tuple(env[c.name] for c in e.captures))

    def eval_App(self, e, env, tail):
        arg = yield from self.eval(e.arg, env)
        fn = yield from self.eval(e.fn, env)
        return (yield from self.call(TailCall(fn.lambda_name, arg, fn.captures), tail))

    def eval_Let(self, e, env, tail):
        value = yield from self.eval(e.value, env)
        return (yield from self.eval(e.body, env | {e.name: value}, tail))

    def eval_LetRec(self, e, env, tail):
        closure = Closure(e.value.name, tuple(env[c.name] for c in e.value.captures))
        return (yield from self.eval(e.body, env | {e.name: closure}, tail))

    def eval_If(self, e, env, tail):
        cond = yield from self.eval(e.cond, env)
        return (yield from self.eval(e.then if cond else e.else_, env, tail))

    def eval_BinOp(self, e, env, tail):
        right = yield from self.eval(e.right, env)
        left = yield from self.eval(e.left, env)
        return ARITHMETIC[e.op](left, right)

    def eval_Neg(self, e, env, tail):
        return wrap(-(yield from self.eval(e.operand, env)))

    def eval_Tuple(self, e, env, tail):
        values = []
        for elem in reversed(e.elems):
            values.append((yield from self.eval(elem, env)))
        return tuple(reversed(values))

    def eval_Proj(self, e, env, tail):
        return (yield from self.eval(e.tuple, env))[e.index]

    def eval_Seq(self, e, env, tail):
        yield from self.eval(e.first, env)
        return (yield from self.eval(e.second, env, tail))

    def eval_Spawn(self, e, env, tail):
        yield from ()
        return self.fibers.spawn(self.run_tail(e.body, env))

    def eval_Yield(self, e, env, tail):
        yield
        return ()

    def eval_Resume(self, e, env, tail):
        handle = yield from self.eval(e.fiber, env)
        return self.fibers.resume(handle, self.site(e))

    def eval_Stat(self, e, env, tail):
        handle = yield from self.eval(e.fiber, env)
        if handle.done:
            return (yield from self.eval(e.done, env | {e.done_name: handle.value}, tail))
        return (yield from self.eval(e.pending, env, tail))


def interpret(program: typed.Program, fuel: int | None = None) -> str:
    return InterpTyped(program, fuel).run()
