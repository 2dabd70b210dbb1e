"""What the IR interpreters share: run-time values, fibers, and printing values.

    Value ::= int | bool | tuple of values
            | Closure(lambda_name, captures)     captures: values, in the lambda's capture order
            | Handle(fiber, dirty, done, value)  an immutable fiber handle

A fiber is a Python generator evaluating the fiber's body: the evaluator
`yield`s wherever the program yields, so a yield inside nested calls
suspends the whole fiber (stackful, as in the machine). Fibers are numbered
in creation order, main being #0, and a handle carries the fiber's resume
counter when it was made, exactly as the machine's `{bit, value, fibidx,
fibdirty}` does, so runtime errors read the same at every level.

Values print in LANGUAGE.md's forms, byte for byte what `machine.show_value`
prints for the same value, so outcomes compare as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generator

from ir.types import BoolT, BoxT, ClosureT, FiberT, FunT, IntT, TupleT, Type, show_type
from ir.faults import RuntimeFault
from ir.ints import wrap


class InterpError(Exception):
    """The IR cannot mean anything at this point (an unknown form, a call whose
    closure belongs to another procedure, a reached `<unreachable>`): a bug in
    the pass that produced it, never in the program."""


@dataclass(frozen=True, slots=True)
class Closure:
    lambda_name: str
    captures: tuple


@dataclass(frozen=True, slots=True)
class Handle:
    fiber: int  # the fiber's number: 0 is main
    dirty: int  # the fiber's resume counter when this handle was made
    done: bool
    value: Any = None  # the fiber's result, once done


ARITHMETIC = {
    "+": lambda a, b: wrap(a + b),
    "-": lambda a, b: wrap(a - b),
    "*": lambda a, b: wrap(a * b),
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
}

SUSPENDED, RUNNING, DONE = range(3)


class _Fiber:
    __slots__ = ("index", "body", "dirty", "state")

    def __init__(self, index: int, body: Generator | None):
        self.index = index
        self.body = body
        self.dirty = 0
        self.state = RUNNING


class Fibers:
    """Every fiber of one run. spawn and resume drive a fiber's generator until
    its next yield (a pending handle) or its end (a done handle); control then
    comes back to whoever spawned or resumed it: its current parent."""

    def __init__(self) -> None:
        self.fibers = [_Fiber(0, None)]  # main is driven by the interpreter itself
        self.current = 0

    def spawn(self, body: Generator) -> Handle:
        fiber = _Fiber(len(self.fibers), body)
        self.fibers.append(fiber)
        return self._run(fiber)

    def resume(self, handle: Handle, site: str | None) -> Handle:
        if handle.done:
            return handle
        if not 0 <= handle.fiber < len(self.fibers):
            raise RuntimeFault(f"resume of a handle to fiber #{handle.fiber}, which does not exist", site)
        fiber = self.fibers[handle.fiber]
        # The same checks, in the same order, as the machine's Resume.
        if handle.dirty != fiber.dirty:
            raise RuntimeFault(f"fiber resumed twice: fiber #{fiber.index}'s handle was already resumed", site)
        if fiber.state == RUNNING:
            raise RuntimeFault(f"fiber #{fiber.index} is running, so it cannot be resumed", site)
        if fiber.state == DONE:
            raise RuntimeFault(f"fiber #{fiber.index} has finished, but the handle says it is pending", site)
        fiber.dirty += 1
        return self._run(fiber)

    def _run(self, fiber: _Fiber) -> Handle:
        parent = self.current
        self.current, fiber.state = fiber.index, RUNNING
        try:
            next(fiber.body)
        except StopIteration as finished:
            fiber.state, fiber.body = DONE, None
            return Handle(fiber.index, fiber.dirty, True, finished.value)
        finally:
            self.current = parent
        fiber.state = SUSPENDED
        return Handle(fiber.index, fiber.dirty, False)


def run_main(body: Generator) -> Any:
    """Main's value. A yield on main does nothing: main's body is the one
    generator nobody resumes, so its yields come here and are passed over."""
    while True:
        try:
            next(body)
        except StopIteration as finished:
            return finished.value


def conforms(value: Any, t: Type) -> bool:
    """Whether value is a value of type t (function types as closure types).
    An interpreter checks this where a pass decides what goes where (a
    capture record, a procedure's argument), so that a value put in the wrong
    place is caught at the pass that put it there, not later."""
    match t:
        case IntT():
            return type(value) is int
        case BoolT():
            return type(value) is bool
        case TupleT(elems):
            return (type(value) is tuple and len(value) == len(elems)
                    and all(conforms(v, e) for v, e in zip(value, elems)))
        case FiberT(result):
            return type(value) is Handle and (not value.done or conforms(value.value, result))
        case ClosureT(lambdas):
            if type(value) is not Closure or value.lambda_name not in lambdas.names:
                return False
            captures = lambdas.member(value.lambda_name).captures
            return conforms(value.captures, TupleT(tuple(c.type for c in captures)))
        case BoxT(ClosureT(lambdas)):
            # A box holds a closure checked when it was made: looking into it again at
            # every step would go down a whole chain of boxed closures each time.
            return type(value) is Closure and value.lambda_name in lambdas.names
    return False


# -- printing ---------------------------------------------------------------------


def show(value: Any, t: Type) -> str:
    """The printed form of a value of type t. t is the type as co writes it
    (a function type, which a fiber's type prints as), or a closure type, boxed or not."""
    match t:
        case IntT():
            return str(value)
        case BoolT():
            return "true" if value else "false"
        case TupleT(elems):
            return "{" + ", ".join(show(v, e) for v, e in zip(value, elems, strict=True)) + "}"
        case FiberT(result):
            if not value.done:
                return f"{show_type(t)} `Pending"
            return f"{show_type(t)} (`Done {show(value.value, result)})"
        case FunT(lambdas=lambdas) | ClosureT(lambdas):
            captures = lambdas.member(value.lambda_name).captures
            shown = [f"{c.name}, {show(v, c.type)}" for c, v in zip(captures, value.captures, strict=True)]
            return f"{value.lambda_name} {{{', '.join(shown)}}}"
        case BoxT(contents):
            return show(value, contents)  # a boxed closure prints as an unboxed one
    raise TypeError(f"no value has type {show_type(t)}")
