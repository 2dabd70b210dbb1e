"""The types of co, as immutable values shared by every IR from `typed` on.

    Type ::= int | bool
           | {T0; T1; ...}                  TupleT (empty: unit)
           | Fiber T                        FiberT
           | A -[lambda set]-> B            FunT        (typed only)
           | closure[lambda set]            ClosureT    (defunc and later:
                                             a function value is its captures)
    lambda set ::= member | member | ...     members in source order
    member     ::= name {x: T, y: U, ...}   the lambda and what it captures

A lambda belongs to exactly one lambda set (the set of its own type), so a
member's position in its set is a stable tag for dispatch.
"""

from __future__ import annotations

from dataclasses import dataclass


class Type:
    __slots__ = ()

    def __str__(self) -> str:
        return show_type(self)


@dataclass(frozen=True, slots=True)
class IntT(Type):
    pass


@dataclass(frozen=True, slots=True)
class BoolT(Type):
    pass


@dataclass(frozen=True, slots=True)
class TupleT(Type):
    elems: tuple[Type, ...]


@dataclass(frozen=True, slots=True)
class FiberT(Type):
    result: Type


@dataclass(frozen=True, slots=True)
class Capture:
    name: str
    type: Type


@dataclass(frozen=True, slots=True)
class LambdaMember:
    name: str
    captures: tuple[Capture, ...]


@dataclass(frozen=True, slots=True)
class LambdaSet:
    members: tuple[LambdaMember, ...]

    def tag_of(self, lambda_name: str) -> int:
        for tag, member in enumerate(self.members):
            if member.name == lambda_name:
                return tag
        raise KeyError(lambda_name)

    def member(self, lambda_name: str) -> LambdaMember:
        return self.members[self.tag_of(lambda_name)]


@dataclass(frozen=True, slots=True)
class FunT(Type):
    param: Type
    lambdas: LambdaSet
    result: Type


@dataclass(frozen=True, slots=True)
class ClosureT(Type):
    """A function value after defunctionalization: one of its set's capture records."""

    lambdas: LambdaSet


INT = IntT()
BOOL = BoolT()
UNIT = TupleT(())


def show_lambda_set(lambdas: LambdaSet) -> str:
    return " | ".join(
        f"{m.name} {{{', '.join(f'{c.name}: {show_type(c.type)}' for c in m.captures)}}}"
        for m in lambdas.members
    )


def show_type(t: Type) -> str:
    match t:
        case IntT():
            return "int"
        case BoolT():
            return "bool"
        case TupleT(elems):
            return "{" + "; ".join(show_type(e) for e in elems) + "}"
        case FiberT(result):
            return "Fiber " + _show_argument(result)
        case FunT(param, lambdas, result):
            return f"{_show_argument(param)} -[{show_lambda_set(lambdas)}]-> {show_type(result)}"
        case ClosureT(lambdas):
            return f"closure[{show_lambda_set(lambdas)}]"
    raise TypeError(f"not a type: {t!r}")


def _show_argument(t: Type) -> str:
    """A Fiber's or function's argument is parenthesized when it is itself one."""
    text = show_type(t)
    return f"({text})" if isinstance(t, (FiberT, FunT)) else text


def contains_function(t: Type) -> bool:
    """Whether a FunT occurs anywhere in t, including inside captured types."""
    match t:
        case FunT():
            return True
        case TupleT(elems):
            return any(contains_function(e) for e in elems)
        case FiberT(result):
            return contains_function(result)
        case ClosureT(lambdas):
            return any(contains_function(c.type) for m in lambdas.members for c in m.captures)
    return False
