"""The shared traversal: passes write only the forms they change.

A `Rewriter` turns a tree of one IR into a tree of another. A subclass
defines a method named after each input form it changes:

    class Defunc(Rewriter):
        def Lam(self, node): ...        # turn lambdas into closures
        def App(self, node): ...        # and applications into direct calls

Every other form is rebuilt as the same-named form of the output IR, its
children rewritten in turn. It is strict, unlike classic nanopass: a form
that the output IR does not have, and that the pass has no rule for, stops
with an error naming the pass, the form and the IR; it is never silently
passed through. Types found in fields go through `rewrite_type`.
"""

from __future__ import annotations

from operator import attrgetter

from ir import IRSpec, Node
from ir.immutable import fields
from ir.source import Span
from ir.types import BoolT, Capture, ClosureT, FiberT, FunT, IntT, TupleT, Type


class MissingRule(Exception):
    """A pass met a form that its output IR lacks and that it has no rule for."""


class Rewriter:
    pass_name = "?"

    def __init__(self, output: IRSpec):
        self.output = output
        self._rules: dict[type, object] = {}
        self._plans: dict[type, tuple[type, object]] = {}  # input form -> (output form, getter of its fields)
        # A pass that does not rewrite types carries them over as they are.
        self._leaves = _LEAVES if type(self).rewrite_type is not Rewriter.rewrite_type else _LEAVES | _TYPES

    def __call__(self, node: Node) -> object:
        rule = self._rules.get(node.__class__) or self._rule(node.__class__)
        return rule(node)

    def _rule(self, form: type):
        """The method for form: the pass's own, or rebuild."""
        rule = self._rules[form] = getattr(self, form.__name__, None) or self.rebuild
        return rule

    def rebuild(self, node: Node) -> object:
        """The same form in the output IR, with every child rewritten."""
        plan = self._plans.get(type(node))
        if plan is None:
            plan = self._plans[type(node)] = self._plan(node)
        out_cls, values_of = plan
        rewrite = self.rewrite_value
        return out_cls(*[rewrite(value) for value in values_of(node)])

    def _plan(self, node: Node) -> tuple[type, object]:
        """The output form of node's form, and what gets its fields from a node
        (the input's values, in the output's order), checked once per form."""
        name = type(node).__name__
        out_cls = self.output.form(name)
        if out_cls is None:
            raise MissingRule(
                f"pass {self.pass_name!r} has no rule for form {name}, "
                f"and its output IR {self.output.name!r} has no such form"
            )
        names = fields(out_cls)
        for field in names:
            if not hasattr(node, field):
                raise MissingRule(
                    f"pass {self.pass_name!r} has no rule for form {name}: "
                    f"{self.output.name!r}'s {name} has a field {field!r} that the input lacks"
                )
        return out_cls, _values_getter(names)

    def rewrite_value(self, value: object) -> object:
        cls = value.__class__
        if cls in self._leaves:
            return value
        rule = self._rules.get(cls)  # a node of a form met before
        if rule is not None:  # (called here, not through __call__: nesting is deep)
            return rule(value)
        if isinstance(value, Node):
            return self._rule(cls)(value)
        if isinstance(value, Type):
            return self.rewrite_type(value)
        if isinstance(value, tuple):
            return tuple([self.rewrite_value(v) for v in value])
        if isinstance(value, Capture):
            return Capture(value.name, self.rewrite_type(value.type))
        return value

    def rewrite_type(self, t: Type) -> Type:
        return t


_LEAVES = frozenset({str, int, bool, type(None), Span})  # the values of fields that are never rewritten
_TYPES = frozenset({IntT, BoolT, TupleT, FiberT, FunT, ClosureT, Capture})


def children(node: Node) -> list[Node]:
    """The direct sub-nodes of a node, in field order."""
    values_of = _FIELD_VALUES.get(node.__class__)
    if values_of is None:
        values_of = _FIELD_VALUES[node.__class__] = _values_getter(fields(node))
    out: list[Node] = []
    for value in values_of(node):
        if isinstance(value, Node):
            out.append(value)
        elif isinstance(value, tuple):
            out.extend(v for v in value if isinstance(v, Node))
    return out


_FIELD_VALUES: dict[type, object] = {}  # form -> what reads its fields' values from a node


def _values_getter(names: tuple[str, ...]):
    """What reads the values of the fields `names` from a node, as a sequence."""
    # attrgetter of two names or more gives a tuple, but of one the value alone.
    return attrgetter(*names) if len(names) > 1 else lambda node: [getattr(node, n) for n in names]


def walk(root: Node):
    """Every node under root (root included), parents before children, in source order."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))
