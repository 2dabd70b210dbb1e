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

import dataclasses
from typing import Any

from ir import IRSpec, Node
from ir.types import Capture, Type


class MissingRule(Exception):
    """A pass met a form that its output IR lacks and that it has no rule for."""


class Rewriter:
    pass_name = "?"

    def __init__(self, output: IRSpec):
        self.output = output
        self._rules: dict[type, Any] = {}

    def __call__(self, node: Node) -> Any:
        cls = type(node)
        rule = self._rules.get(cls)
        if rule is None:
            rule = getattr(self, cls.__name__, None) or self.rebuild
            self._rules[cls] = rule
        return rule(node)

    def rebuild(self, node: Node) -> Any:
        """The same form in the output IR, with every child rewritten."""
        name = type(node).__name__
        out_cls = self.output.form(name)
        if out_cls is None:
            raise MissingRule(
                f"pass {self.pass_name!r} has no rule for form {name}, "
                f"and its output IR {self.output.name!r} has no such form"
            )
        values = {}
        for f in dataclasses.fields(out_cls):
            if not hasattr(node, f.name):
                raise MissingRule(
                    f"pass {self.pass_name!r} has no rule for form {name}: "
                    f"{self.output.name!r}'s {name} has a field {f.name!r} that the input lacks"
                )
            values[f.name] = self.rewrite_value(getattr(node, f.name))
        return out_cls(**values)

    def rewrite_value(self, value: Any) -> Any:
        if isinstance(value, Node):
            return self(value)
        if isinstance(value, Type):
            return self.rewrite_type(value)
        if isinstance(value, tuple):
            return tuple(self.rewrite_value(v) for v in value)
        if isinstance(value, Capture):
            return Capture(value.name, self.rewrite_type(value.type))
        return value

    def rewrite_type(self, t: Type) -> Type:
        return t


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # asking dataclasses for them was most of the cost


def children(node: Node) -> list[Node]:
    """The direct sub-nodes of a node, in field order."""
    names = _FIELD_NAMES.get(type(node))
    if names is None:
        names = _FIELD_NAMES[type(node)] = tuple(f.name for f in dataclasses.fields(node))  # type: ignore[arg-type]
    out: list[Node] = []
    for name in names:
        value = getattr(node, name)
        if isinstance(value, Node):
            out.append(value)
        elif isinstance(value, tuple):
            out.extend(v for v in value if isinstance(v, Node))
    return out


def walk(root: Node):
    """Every node under root (root included), parents before children, in source order."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))
