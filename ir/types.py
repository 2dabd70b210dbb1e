"""The types of co, as immutable values shared by every IR from `typed` on.

    Type ::= int | bool
           | {T0; T1; ...}                  TupleT (empty: unit)
           | Fiber T                        FiberT
           | A -[lambda set]-> B            FunT        (typed only)
           | closure[lambda set]            ClosureT    (defunc and later:
                                             a function value is its captures)
           | Box T                          BoxT        (defunc and later: one cell
                                             referring to a record of T's cells)
    lambda set ::= member | member | ...     members in source order
    member     ::= name {x: T, y: U, ...}   the lambda and what it captures

A lambda belongs to exactly one lambda set (the set of its own type), so a
member's position in its set is a stable tag for dispatch.

A lambda set holds the names of its lambdas and a reference to the
program's LambdaTable, which holds each lambda's captures. Captures are a
property of the lambda, not of each place its type is written, and keeping
them in one table keeps types finite: a curried recursive function
`let rec add = \a -> \b -> ... add ...` has a lambda (`lam`) that captures
`add`, whose own type mentions `lam`'s set. Printing cuts such a cycle by
writing a member already being printed by its name alone.
"""

from __future__ import annotations

from ir.immutable import immutable, uncompared


class Type:
    __slots__ = ()

    def __str__(self) -> str:
        return show_type(self)


@immutable
class IntT(Type):
    pass


@immutable
class BoolT(Type):
    pass


class _Composite(Type):
    """A type built from other types. Types are shared deeply (a 20,000-deep
    tuple type is 20,000 objects), so each computes its hash once, when it is
    made, and remembers its size in cells once asked: recomputing both made
    deep programs quadratic."""

    __slots__ = ("_hash", "_size")

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((type(self).__name__, self._key(self))))
        object.__setattr__(self, "_size", None)

    def __hash__(self) -> int:
        return self._hash


@immutable
class TupleT(_Composite):
    elems: tuple[Type, ...]


@immutable
class FiberT(_Composite):
    result: Type


@immutable
class Capture:
    name: str
    type: Type


@immutable
class LambdaMember:
    name: str
    captures: tuple[Capture, ...]


class LambdaTable:
    """The captures of every lambda of one program, shared by all its lambda sets.

    Written once, while a pass builds its program's types (a name is defined
    once and never changed); read-only after that."""

    __slots__ = ("_captures",)

    def __init__(self) -> None:
        self._captures: dict[str, tuple[Capture, ...]] = {}

    def define(self, name: str, captures: tuple[Capture, ...]) -> None:
        if name in self._captures:
            raise ValueError(f"lambda {name} is already defined")
        self._captures[name] = tuple(captures)

    def captures(self, name: str) -> tuple[Capture, ...]:
        return self._captures[name]

    def items(self) -> list[tuple[str, tuple[Capture, ...]]]:
        return list(self._captures.items())

    def __contains__(self, name: str) -> bool:
        return name in self._captures


@immutable
class LambdaSet:
    names: tuple[str, ...]  # in source order; a member's index is its tag
    table: LambdaTable = uncompared()

    @classmethod
    def of(cls, members: tuple[LambdaMember, ...]) -> LambdaSet:
        """A set with a table of its own: for sets written by hand (tests, tools)."""
        table = LambdaTable()
        for m in members:
            table.define(m.name, m.captures)
        return cls(tuple(m.name for m in members), table)

    @property
    def members(self) -> tuple[LambdaMember, ...]:
        return tuple(LambdaMember(n, self.table.captures(n)) for n in self.names)

    def tag_of(self, lambda_name: str) -> int:
        return self.names.index(lambda_name)

    def member(self, lambda_name: str) -> LambdaMember:
        if lambda_name not in self.names:
            raise KeyError(lambda_name)
        return LambdaMember(lambda_name, self.table.captures(lambda_name))


@immutable
class FunT(_Composite):
    param: Type
    lambdas: LambdaSet
    result: Type


@immutable
class ClosureT(_Composite):
    """A function value after defunctionalization: one of its set's capture records."""

    lambdas: LambdaSet


@immutable
class BoxT(_Composite):
    """A boxed value: one cell referring to an immutable record of the cells
    of a `contents` (the closures of a boxed lambda set: ir/boxing.py)."""

    contents: Type


INT = IntT()
BOOL = BoolT()
UNIT = TupleT(())


def show_member(member: LambdaMember, expanding: frozenset[str] = frozenset()) -> str:
    inner = expanding | {member.name}
    captures = ", ".join(f"{c.name}: {show_type(c.type, inner)}" for c in member.captures)
    return f"{member.name} {{{captures}}}"


def show_lambda_set(lambdas: LambdaSet, expanding: frozenset[str] = frozenset()) -> str:
    """Members with their captures; one already being shown further out is just its name."""
    return " | ".join(
        name if name in expanding else show_member(lambdas.member(name), expanding)
        for name in lambdas.names
    )


def show_type(t: Type, expanding: frozenset[str] = frozenset()) -> str:
    match t:
        case IntT():
            return "int"
        case BoolT():
            return "bool"
        case TupleT(elems):
            return "{" + "; ".join(show_type(e, expanding) for e in elems) + "}"
        case FiberT(result):
            return "Fiber " + _show_argument(result, expanding)
        case FunT(param, lambdas, result):
            return (f"{_show_argument(param, expanding)} -[{show_lambda_set(lambdas, expanding)}]-> "
                    f"{show_type(result, expanding)}")
        case ClosureT(lambdas):
            return f"closure[{show_lambda_set(lambdas, expanding)}]"
        case BoxT(contents):
            return "Box " + _show_argument(contents, expanding)
    raise TypeError(f"not a type: {t!r}")


def _show_argument(t: Type, expanding: frozenset[str]) -> str:
    """A Fiber's, Box's or function's argument is parenthesized when it is itself one."""
    text = show_type(t, expanding)
    return f"({text})" if isinstance(t, (FiberT, FunT, BoxT)) else text


class InfiniteSize(ValueError):
    """A closure that would contain itself: it has no size in cells."""

    def __init__(self, lambda_name: str, capture: str):
        super().__init__(f"a closure of {lambda_name} would contain itself through {capture}")
        self.lambda_name = lambda_name
        self.capture = capture


def cell_size(t: Type) -> int:
    """How many cells a value of type t occupies (docs/machine.md, "Cells and values")."""
    if t.__class__ is IntT or t.__class__ is BoolT:  # most values: checked first
        return 1
    if isinstance(t, _Composite) and t._size is not None:
        return t._size
    return _Sizer().size(t)


class _Sizer:
    def __init__(self) -> None:
        self.path: list[tuple[str, str]] = []  # (lambda, capture) being sized, outermost first

    def size(self, t: Type) -> int:
        match t:
            case IntT() | BoolT():
                return 1
            case _Composite(_size=int(known)):
                return known
            case TupleT(elems):
                size = sum(self.size(e) for e in elems)
            case FiberT(result):
                size = 3 + self.size(result)
            case BoxT():
                size = 1  # the record is on the heap
            case ClosureT(lambdas) | FunT(lambdas=lambdas):
                records = [self.record(name, lambdas.table.captures(name)) for name in lambdas.names]
                size = max(records, default=0) + (1 if len(records) > 1 else 0)
            case _:
                raise TypeError(f"not a type: {t!r}")
        object.__setattr__(t, "_size", size)
        return size

    def record(self, lambda_name: str, captures: tuple[Capture, ...]) -> int:
        if any(name == lambda_name for name, _ in self.path):
            raise InfiniteSize(*self.path[-1])  # the capture that led back
        total = 0
        for capture in captures:
            self.path.append((lambda_name, capture.name))
            total += self.size(capture.type)
            self.path.pop()
        return total


def contains_function(t: Type) -> bool:
    """Whether a FunT occurs anywhere in t, including inside captured types."""
    return FunctionFinder()(t)


class FunctionFinder:
    """contains_function for many types of one program: it remembers each type
    and lambda it looked into, so asking about every node's type costs time
    linear in the program (a deep tuple type shares its parts with the types
    inside it)."""

    def __init__(self) -> None:
        self._types: dict[int, tuple[Type, bool]] = {}  # by id; the type is kept so that its id stays its own
        self._lambdas: dict[str, bool] = {}  # False while its captures are being looked into

    def __call__(self, t: Type) -> bool:
        match t:
            case FunT():
                return True
            case IntT() | BoolT():
                return False
        known = self._types.get(id(t))
        if known is not None:
            return known[1]
        match t:
            case TupleT(elems):
                found = any(self(e) for e in elems)
            case FiberT(result) | BoxT(result):
                found = self(result)
            case ClosureT(lambdas):
                found = any(self.captures_hold_one(name, lambdas) for name in lambdas.names)
            case _:
                found = False
        self._types[id(t)] = (t, found)
        return found

    def captures_hold_one(self, name: str, lambdas: LambdaSet) -> bool:
        if name not in self._lambdas:
            self._lambdas[name] = False  # a closure that holds itself adds nothing new
            self._lambdas[name] = any(self(c.type) for c in lambdas.table.captures(name))
        return self._lambdas[name]
