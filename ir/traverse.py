"""The shared traversal: passes write only the forms they change.

A `Rewriter` turns a tree of one IR into a tree of another. A subclass
defines a method named after each input form it changes:

    class Defunc(Rewriter):
        def Lam(self, node): ...        # turn lambdas into closures
        def App(self, node): ...        # and applications into direct calls

Every other form is rebuilt as the same-named form of the output IR, its
children rewritten in turn. A field that the output form has and the input
form lacks is filled by the pass's method `fill_<field>(node)`, given the
input node:

    class Build(Rewriter):              # surface -> typed
        def fill_type(self, node): ...  # every typed form's `type`, from inference

It is strict, unlike classic nanopass: a form that the output IR does not
have, or a field that the input lacks and no `fill_` method gives, stops
with an error naming the pass, the form and the field; nothing is ever
silently passed through or left out. Types found in fields go through
`rewrite_type`.
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
        self._plans: dict[type, object] = {}  # input form -> what rebuilds its nodes (see _plan)
        # A pass that does not rewrite types carries them over as they are.
        self._leaves = _LEAVES if type(self).rewrite_type is not Rewriter.rewrite_type else _LEAVES | _TYPES

    def __call__(self, node: Node) -> object:
        rule = self._rules.get(node.__class__) or self._rule(node.__class__)
        return rule(node)

    def _rule(self, form: type):
        """The method for form: the pass's own, or its rebuild plan."""
        rule = self._rules[form] = getattr(self, form.__name__, None) or self._plans.get(form) or self._plan(form)
        return rule

    def rebuild(self, node: Node) -> object:
        """The same form in the output IR, with every child rewritten and every new field filled."""
        plan = self._plans.get(node.__class__) or self._plan(node.__class__)
        return plan(node)

    def _plan(self, form: type):
        """What rebuilds a node of form: the output form's constructor, given the
        input's values of the fields they share (children rewritten) and, for
        each field the input lacks, its `fill_` method's value. Checked once per
        form; the first COMPILE_AFTER nodes are rebuilt by a loop, the rest by a
        function compiled for the form (a call per child, none per plain field)."""
        name = form.__name__
        out_cls = self.output.form(name)
        if out_cls is None:
            raise MissingRule(
                f"pass {self.pass_name!r} has no rule for form {name}, "
                f"and its output IR {self.output.name!r} has no such form"
            )
        names, fills = fields(out_cls), []
        inputs = set(fields(form))
        for index, field in enumerate(names):
            if field not in inputs:
                fill = getattr(self, "fill_" + field, None)
                if fill is None:
                    raise MissingRule(
                        f"pass {self.pass_name!r} has no rule for form {name}: {self.output.name!r}'s {name} "
                        f"has a field {field!r} that the input lacks, and no `fill_{field}` gives it"
                    )
                fills.append((index, fill))
        values_of = _values_getter(tuple(field for field in names if field in inputs))
        rewrite = self.rewrite_value
        made = 0

        def plan(node):
            nonlocal made
            made += 1
            if made == COMPILE_AFTER:
                self._use(form, _compiled_plan(form, out_cls, names, fills, self))
            values = [rewrite(value) for value in values_of(node)]
            for index, fill in fills:
                values.insert(index, fill(node))
            return out_cls(*values)

        self._use(form, plan)
        return plan

    def _use(self, form: type, plan) -> None:
        """plan, from now on, for form (as its rule too, unless the pass has its own)."""
        old = self._plans.get(form)
        self._plans[form] = plan
        if old is not None and self._rules.get(form) is old:
            self._rules[form] = plan

    def rewrite_value(self, value: object) -> object:
        cls = value.__class__
        rule = self._rules.get(cls)  # a node of a form met before
        if rule is not None:  # (called here, not through __call__: nesting is deep)
            return rule(value)
        if cls in self._leaves:
            return value
        if cls is tuple:
            rule, rewrite = self._rules.get, self.rewrite_value  # each element by its form's rule at once
            return tuple([rule(v.__class__, rewrite)(v) for v in value])
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


COMPILE_AFTER = 100  # nodes of one form rebuilt before its plan is compiled (compiling costs as much as ~100)


def _compiled_plan(form: type, out_cls: type, names: tuple[str, ...], fills: list, rewriter: Rewriter):
    """A function rebuilding a node of form as out_cls, written out for its fields:

        def rebuild_Let(node):
            c1 = rule((v := node.value).__class__, rw)(v)    # a child: its form's rule, at once
            c2 = rule((v := node.body).__class__, rw)(v)
            return Out(node.name, c1, c2, fill3(node), node.span)

    Children are rewritten in field order, then the fills called, as the loop
    does. A field the input form declares plain (`_plain_fields`: str, int,
    bool, annotations) is copied as it is; one it declares a tuple
    (`_tuple_fields`) is rewritten element by element, right there."""
    plain, tuples = getattr(form, "_plain_fields", ()), getattr(form, "_tuple_fields", ())
    env: dict[str, object] = {"Out": out_cls, "rw": rewriter.rewrite_value, "rule": rewriter._rules.get}
    filled = dict(fills)
    lines, args = [], []
    for index, field in enumerate(names):
        if index in filled:
            env[f"fill{index}"] = filled[index]
            args.append(f"fill{index}(node)")
        elif field in plain:
            args.append(f"node.{field}")
        elif field in tuples:
            lines.append(f"    c{index} = tuple([rule(x.__class__, rw)(x) for x in node.{field}])\n")
            args.append(f"c{index}")
        else:
            lines.append(f"    c{index} = rule((v := node.{field}).__class__, rw)(v)\n")
            args.append(f"c{index}")
    exec(f"def rebuild_{form.__name__}(node):\n{''.join(lines)}    return Out({', '.join(args)})\n", env)
    return env[f"rebuild_{form.__name__}"]


_LEAVES = frozenset({str, int, bool, type(None), Span})  # the values of fields that are never rewritten
_TYPES = frozenset({IntT, BoolT, TupleT, FiberT, FunT, ClosureT, Capture})


def children(node: Node) -> list[Node]:
    """The direct sub-nodes of a node, in field order."""
    values_of = _FIELD_VALUES.get(node.__class__)
    if values_of is None:
        values_of = _FIELD_VALUES[node.__class__] = _child_values_getter(node.__class__)
    out: list[Node] = []
    for value in values_of(node):
        if isinstance(value, Node):
            out.append(value)
        elif isinstance(value, tuple):
            out.extend(v for v in value if isinstance(v, Node))
    return out


_FIELD_VALUES: dict[type, object] = {}  # form -> what reads the values of its fields that may hold nodes


def _child_values_getter(form: type):
    """What reads, from a node of form, the values of the fields that may hold
    nodes: all but those its grammar declares plain (names, numbers, spans)."""
    plain = getattr(form, "_plain_fields", ())
    names = tuple(name for name in fields(form) if name not in plain)
    return _values_getter(names) if names else lambda node: ()


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
