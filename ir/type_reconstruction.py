"""Finding again the types that an IR's text does not write.

The texts of typed, defunc and layout write the type of every binder, not
of every node. A reader builds its IR's nodes with those fields empty, and a
`Reconstruction` walks them with each form's typing rule (`term_<Form>`),
giving each node a term: a written type, a `Shape` whose parts are terms,
or an `Unknown`, unified along the rules. A lambda set the text does not
write is a `SetVar`: the lambdas found to flow together, and the written set
they flow into, if any. At the end every term becomes an ir.types value
(equal types shared, an unknown one `{}` as inference defaults it) and every
node is rebuilt with its type.

Where two written types conflict, both stay as written: `conflict` is the
IR's to decide (the typed IR's verifier re-checks every typing rule; the
defunc and layout readers report it themselves).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from pyrsistent import pmap

from ir import Node
from ir.types import UNIT, BoolT, BoxT, ClosureT, FiberT, FunT, IntT, LambdaSet, LambdaTable, TupleT, Type, show_type


class Unknown:
    """A type the text does not write, until unification finds it."""

    __slots__ = ("link",)

    def __init__(self) -> None:
        self.link = None


class SetVar:
    """A lambda set the text does not write: the lambdas that flow together,
    and the written set they flow into, if any."""

    __slots__ = ("link", "names", "written")

    def __init__(self, name: str) -> None:
        self.link: SetVar | None = None
        self.names = {name}
        self.written: LambdaSet | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Shape:
    """A type being found: a type's form with parts that may still be unknown."""

    kind: str  # "tuple", "fiber", "box", "fun" (param, set, result) or "closure" (set)
    parts: tuple


def view(t) -> tuple[str, tuple]:
    """A type's form and parts, whether it is known or being found."""
    match t:
        case Shape(kind, parts):
            return kind, parts
        case IntT() | BoolT():
            return type(t).__name__, ()
        case TupleT(elems):
            return "tuple", elems
        case FiberT(result):
            return "fiber", (result,)
        case BoxT(contents):
            return "box", (contents,)
        case FunT(param, lambdas, result):
            return "fun", (param, lambdas, result)
        case ClosureT(lambdas):
            return "closure", (lambdas,)
    raise TypeError(t)


def find(t):
    while isinstance(t, (Unknown, SetVar)) and t.link is not None:
        t = t.link
    return t


@dataclass(frozen=True, slots=True)
class Binding:
    type: object  # a term
    offset: int | None = None  # its place in the frame (layout)


class Reconstruction:
    """The type of every node, found from the written ones by the rules of
    an IR (`term_<Form>` methods, which subclasses bring), and the nodes
    rebuilt with them."""

    def __init__(self, table: LambdaTable):
        self.table = table
        self.terms: dict[int, object] = {}  # id(node) -> its type's term
        self.filled: dict[int, dict] = {}  # id(node) -> other fields found (layout's offsets)
        self.order: dict[str, int] = {}  # lambda -> its place in the text, for the order of sets
        self.frozen: dict[int, Type] = {}
        self.shared: dict[Type, Type] = {}

    def expression(self, body):
        self.term(body, pmap())
        return self.rebuild(body)

    def term(self, e, scope):
        t = getattr(self, "term_" + type(e).__name__)(e, scope)
        self.terms[id(e)] = t
        return t

    def own_set(self, name: str) -> SetVar:
        """The set of a lambda written where it stands (a typed lambda, a defunc closure)."""
        self.order.setdefault(name, len(self.order))
        return SetVar(name)

    # -- unification: what the text leaves unknown is found; what conflicts stays as written

    def unify(self, expected, found, at) -> None:
        if not self.merge(expected, found):
            self.conflict(at, lambda: f"type mismatch: expected {self.show(expected)}, found {self.show(found)}")

    def conflict(self, at, message: Callable[[], str]) -> None:
        """The text breaks a typing rule at node `at` (`message` says how)."""
        raise NotImplementedError

    def show(self, t) -> str:
        return show_type(self.freeze(t))

    def merge(self, expected, found) -> bool:
        """Unify two terms; False if they conflict somewhere (all else is merged)."""
        a, b = find(expected), find(found)
        if a is b or (isinstance(a, Type) and isinstance(b, Type)):
            return a == b
        if isinstance(a, Unknown) or isinstance(b, Unknown):
            var, other = (a, b) if isinstance(a, Unknown) else (b, a)
            if not self.occurs(var, other):
                var.link = other
            return True
        (kind, parts), (other_kind, other_parts) = view(a), view(b)
        if kind != other_kind or len(parts) != len(other_parts):
            return False
        merged = True
        for x, y in zip(parts, other_parts):
            merged &= self.merge_sets(x, y) if isinstance(x, (LambdaSet, SetVar)) else self.merge(x, y)
        return merged

    def merge_sets(self, x, y) -> bool:
        a, b = find(x), find(y)
        if a is b or (isinstance(a, LambdaSet) and isinstance(b, LambdaSet)):
            return a == b
        if isinstance(a, LambdaSet):
            a, b = b, a
        if isinstance(b, LambdaSet):  # the lambdas flow into a written set
            a.written = a.written or b
            return a.written == b and a.names <= set(b.names)
        b.link = a
        a.names |= b.names
        a.written = a.written or b.written
        return b.written in (None, a.written) and (a.written is None or a.names <= set(a.written.names))

    def occurs(self, var: Unknown, t) -> bool:
        stack = [t]
        while stack:
            t = find(stack.pop())
            if t is var:
                return True
            if isinstance(t, Shape):
                stack.extend(p for p in t.parts if not isinstance(p, (LambdaSet, SetVar)))
        return False

    # -- freezing terms into types, and nodes into the IR ---------------------------------

    def freeze(self, t) -> Type:
        t = find(t)
        if isinstance(t, Type):
            return self.shared.setdefault(t, t)
        if id(t) not in self.frozen:
            match view(t) if isinstance(t, Shape) else ("unknown", ()):
                case "unknown", _:
                    out: Type = UNIT  # nothing says: as inference, {}
                case "tuple", elems:
                    out = TupleT(tuple(self.freeze(x) for x in elems))
                case "fiber", (result,):
                    out = FiberT(self.freeze(result))
                case "box", (contents,):
                    out = BoxT(self.freeze(contents))
                case "fun", (param, lambdas, result):
                    out = FunT(self.freeze(param), self.lambda_set(lambdas), self.freeze(result))
                case "closure", (lambdas,):
                    out = ClosureT(self.lambda_set(lambdas))
            self.frozen[id(t)] = self.shared.setdefault(out, out)
        return self.frozen[id(t)]

    def lambda_set(self, s) -> LambdaSet:
        s = find(s)
        if isinstance(s, LambdaSet):
            return s
        if s.written is not None:
            return s.written
        return LambdaSet(tuple(sorted(s.names, key=self.order.__getitem__)), self.table)

    def rebuild(self, node):
        changes = {}
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if isinstance(value, Node):
                changes[f.name] = self.rebuild(value)
            elif isinstance(value, tuple) and value and isinstance(value[0], Node):
                changes[f.name] = tuple(self.rebuild(v) for v in value)
        if id(node) in self.terms:
            changes["type"] = self.freeze(self.terms[id(node)])
        changes.update(self.filled.get(id(node), {}))
        return dataclasses.replace(node, **changes)
