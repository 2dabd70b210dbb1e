"""An interpreter for the defunc IR: typed's, with procedures for lambdas.

A closure is its lambda's name and capture record; a call enters the named
procedure with the argument and the closure's record; a dispatch enters the
member the closure is. Boxing changes where a closure lives, not what it
is: `box` and `unbox` give their operand's value. A closure that a call does not expect (a `call f`
given a closure of g), a closure or an argument whose values do not fit its
type (captures swapped, say), or a reached `<unreachable>` is an
InterpError: the IR is wrong, whatever the program does.
"""

from __future__ import annotations

from ir import defunc
from ir.interp_runtime import Closure, InterpError, conforms
from ir.typed_interp import InterpTyped, TailCall
from ir.types import show_type

OWN_CAPTURES = "<captures>"  # where a procedure's environment keeps its record: no variable has this name


class InterpDefunc(InterpTyped):
    ir = defunc.IR

    def __init__(self, program, fuel: int | None = None):
        super().__init__(program, fuel)
        self.procs = {proc.name: proc for proc in program.procs}

    def main(self):
        return self.call(TailCall(defunc.MAIN, (), ()), False)

    def result_type(self):
        return defunc.value_type(self.program)

    def enter(self, call: TailCall):
        proc = self.procs[call.proc]
        if not conforms(call.arg, proc.param_type):
            raise InterpError(f"{proc.name} is called with an argument that is not a {show_type(proc.param_type)}")
        env = dict(zip((c.name for c in proc.captures), call.captures, strict=True))
        env[OWN_CAPTURES] = call.captures
        env[proc.param] = call.arg
        return proc.body, env

    def eval_Closure(self, e, env, tail):
        closure = Closure(e.lambda_name, (yield from self.eval(e.captures, env)))
        if not conforms(closure, e.type):
            raise InterpError(f"closure {e.lambda_name} is built with captures that do not fit its record")
        return closure

    def eval_OwnCaptures(self, e, env, tail):
        yield from ()
        return env[OWN_CAPTURES]

    def eval_Call(self, e, env, tail):
        arg = yield from self.eval(e.arg, env)
        closure = yield from self.eval(e.closure, env)
        if closure.lambda_name != e.proc:
            raise InterpError(f"call {e.proc} got a closure of {closure.lambda_name}")
        return (yield from self.call(TailCall(e.proc, arg, closure.captures), tail))

    def eval_Dispatch(self, e, env, tail):
        arg = yield from self.eval(e.arg, env)
        closure = yield from self.eval(e.closure, env)
        if closure.lambda_name not in e.arms:
            raise InterpError(f"dispatch[{' | '.join(e.arms)}] got a closure of {closure.lambda_name}")
        return (yield from self.call(TailCall(closure.lambda_name, arg, closure.captures), tail))

    def eval_Spawn(self, e, env, tail):
        record = yield from self.eval(e.captures, env)
        return self.fibers.spawn(self.call(TailCall(e.proc, (), record), False))

    def eval_Box(self, e, env, tail):
        return (yield from self.eval(e.value, env))  # a value is the same boxed or not

    def eval_Unbox(self, e, env, tail):
        return (yield from self.eval(e.box, env))

    def eval_Unreachable(self, e, env, tail):
        yield from ()
        raise InterpError("control reached <unreachable>")


def interpret(program: defunc.Program, fuel: int | None = None) -> str:
    return InterpDefunc(program, fuel).run()
