"""The facts an editor asks about a program, found in one walk over it.

The walk reads the typed IR, or the surface IR when inference failed (then
there are no types): both have the same binding forms. It records every
binding with the spans of its uses (shadowing respected), every expression's
span for position lookups, and the let bindings as a tree of symbols.

A binder's name has no span in the IR: it is the identifier two tokens
before the expression the binder scopes over, in the program's tokens:

    let x = VALUE      let rec f = \\p -> ...     \\p -> BODY     `Done n -> DONE
        ^ ^                    ^ ^                 ^ ^                  ^ ^

Queries look up tables keyed by token offset, or bisect sorted spans: none
walks the tree again.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Callable

from ir import Node
from ir.source import Span
from ir.surface_syntax import Token
from ir.traverse import children
from ir.types import FiberT, FunT, Type, show_type


@dataclass(frozen=True, eq=False)
class Binding:
    """A name bound by a let, a let rec, a lambda's parameter or a `Done arm."""

    name: str
    kind: str  # "let", "let rec", "parameter" or "done"
    name_span: Span | None  # None only if the tokens do not show the name where the IR says
    node: Node  # the Let, LetRec, Lam or Stat that binds it
    type: Type | None  # None before inference
    value_is_lambda: bool = False  # a let of a lambda: known to be a function even without types

    @property
    def is_function(self) -> bool:
        return isinstance(self.type, FunT) if self.type is not None else self.value_is_lambda


@dataclass(frozen=True)
class Symbol:
    """A let or let rec binding. Its children are the lets inside its right
    side; the lets of its body follow it as its siblings. A function is a
    let of a lambda: `let inc = add 1` is a variable (of a function type)."""

    name: str
    kind: str  # "function" when its value is a lambda, else "variable"
    span: Span  # from `let` to its `in`
    name_span: Span
    type: str | None  # None before inference
    binding: Binding
    children: tuple[Symbol, ...] = ()


@dataclass(eq=False)
class _SymbolDraft:
    binding: Binding
    span: Span
    children: list[_SymbolDraft] = field(default_factory=list)


_VISIT, _BIND, _UNBIND = range(3)


class ProgramIndex:
    def __init__(self, body: Node, tokens: list[Token]):
        """tokens: the program's tokens, without comments."""
        self._tokens = tokens
        self._token_starts = [t.span.start for t in tokens]
        self._token_at = {start: i for i, start in enumerate(self._token_starts)}
        self.bindings: list[Binding] = []  # in the order their binders are met
        self._binder_at: dict[int, Binding] = {}  # offset of a binder's name -> its binding
        self._use_at: dict[int, Binding] = {}  # offset of a variable's identifier -> its binding
        self._uses: dict[Binding, list[Span]] = {}
        self._lambda_at: dict[int, Node] = {}  # offset of a lambda's `\` -> the lambda
        self._nodes: list[Node] = []  # every expression, parents before children
        self._parent: list[int] = []
        self._symbols: list[_SymbolDraft] = []  # every let, parents before children
        self._roots: list[_SymbolDraft] = []  # the outermost lets
        self._walk(body)
        # Sorted by start, stably: of the expressions starting at one offset, the innermost comes last.
        self._by_start = sorted(range(len(self._nodes)), key=lambda i: self._nodes[i].span.start)
        self._sorted_starts = [self._nodes[i].span.start for i in self._by_start]

    # -- queries ---------------------------------------------------------------------

    def binding_of(self, ident_start: int) -> Binding | None:
        """The binding that the identifier starting at this offset binds or uses."""
        return self._binder_at.get(ident_start) or self._use_at.get(ident_start)

    def uses(self, binding: Binding) -> list[Span]:
        return self._uses[binding]

    def lambda_at(self, backslash_start: int) -> Node | None:
        return self._lambda_at.get(backslash_start)

    def innermost(self, offset: int) -> Node | None:
        """The smallest expression whose span holds the offset."""
        k = bisect.bisect_right(self._sorted_starts, offset) - 1
        if k < 0:
            return None
        # The last expression starting at or before the offset lies inside the
        # innermost one holding it (spans nest), so that one is among its ancestors.
        i = self._by_start[k]
        while i >= 0 and offset >= self._nodes[i].span.end:
            i = self._parent[i]
        return self._nodes[i] if i >= 0 else None

    def symbols(self) -> tuple[Symbol, ...]:
        done: dict[int, Symbol] = {}
        for draft in reversed(self._symbols):  # children were drafted after their parents
            b = draft.binding
            done[id(draft)] = Symbol(b.name, "function" if b.value_is_lambda else "variable", draft.span,
                                     b.name_span or draft.span, show_type_safely(b.type) if b.type is not None else None, b,
                                     tuple(done[id(child)] for child in draft.children))
        return tuple(done[id(draft)] for draft in self._roots)

    # -- the walk --------------------------------------------------------------------

    def _walk(self, body: Node) -> None:
        scopes: dict[str, list[Binding]] = {}
        stack: list[tuple] = [(_VISIT, body, -1, self._roots)]
        while stack:
            action, item, parent, siblings = stack.pop()
            if action == _BIND:
                scopes.setdefault(item.name, []).append(item)
            elif action == _UNBIND:
                scopes[item.name].pop()
            else:
                self._visit(item, parent, siblings, scopes, stack)

    def _visit(self, node, parent: int, siblings: list[_SymbolDraft], scopes, stack: list[tuple]) -> None:
        here = len(self._nodes)
        self._nodes.append(node)
        self._parent.append(parent)
        form = type(node).__name__
        if form == "Var":
            ident = self._identifier_of(node)
            scope = scopes.get(node.name)
            if ident is not None and scope:
                self._use_at[ident.start] = scope[-1]
                self._uses[scope[-1]].append(ident)
        elif form in ("Let", "LetRec"):
            value = node.value
            binding = self._bind(node.name, "let" if form == "Let" else "let rec", value.span.start, node,
                                 getattr(value, "type", None), type(value).__name__ == "Lam")
            draft = _SymbolDraft(binding, self._let_span(node, binding))
            siblings.append(draft)
            self._symbols.append(draft)
            # Pushed in reverse: a let's value is outside its scope, a let rec's inside.
            in_value, bind = (_VISIT, value, here, draft.children), (_BIND, binding, 0, None)
            stack += [(_UNBIND, binding, 0, None), (_VISIT, node.body, here, siblings),
                      *((bind, in_value) if form == "Let" else (in_value, bind))]
        elif form == "Lam":
            binding = self._bind(node.param, "parameter", node.body.span.start, node,
                                 node.type.param if isinstance(getattr(node, "type", None), FunT) else None)
            if binding.name_span is not None:
                self._lambda_at[self._tokens[self._token_at[binding.name_span.start] - 1].span.start] = node
            stack += [(_UNBIND, binding, 0, None), (_VISIT, node.body, here, siblings), (_BIND, binding, 0, None)]
        elif form == "Stat":
            fiber = getattr(node.fiber, "type", None)
            binding = self._bind(node.done_name, "done", node.done.span.start, node,
                                 fiber.result if isinstance(fiber, FiberT) else None)
            stack += [(_UNBIND, binding, 0, None), (_VISIT, node.done, here, siblings), (_BIND, binding, 0, None),
                      (_VISIT, node.pending, here, siblings), (_VISIT, node.fiber, here, siblings)]
        else:
            stack += [(_VISIT, child, here, siblings) for child in reversed(children(node))]

    def _bind(self, name: str, kind: str, scope_start: int, node: Node, type_: Type | None,
              value_is_lambda: bool = False) -> Binding:
        binding = Binding(name, kind, self._name_before(scope_start, name), node, type_, value_is_lambda)
        self.bindings.append(binding)
        self._uses[binding] = []
        if binding.name_span is not None:
            self._binder_at[binding.name_span.start] = binding
        return binding

    def _name_before(self, scope_start: int, name: str) -> Span | None:
        """The span of the binder's name: two tokens before the expression it scopes over."""
        i = self._token_at.get(scope_start)
        if i is None or i < 2:
            return None
        token = self._tokens[i - 2]
        return token.span if token.kind == "ident" and token.text == name else None

    def _identifier_of(self, var: Node) -> Span | None:
        """A variable's identifier (its span covers the parentheses around it too)."""
        i = self._token_at.get(var.span.start)
        while i is not None and i < len(self._tokens) and self._tokens[i].text == "(":
            i += 1
        if i is None or i >= len(self._tokens) or self._tokens[i].text != var.name:
            return None
        return self._tokens[i].span

    def _let_span(self, node: Node, binding: Binding) -> Span:
        """From the `let` keyword to the `in` after the value."""
        if binding.name_span is None:
            return node.span
        name_at = self._token_at[binding.name_span.start]
        let = self._tokens[name_at - (1 if binding.kind == "let" else 2)]
        after_value = bisect.bisect_left(self._token_starts, node.value.span.end)
        if let.text != "let" or after_value >= len(self._tokens) or self._tokens[after_value].text != "in":
            return node.span
        return Span(let.span.start, self._tokens[after_value].span.end)


def show_type_safely(value: Any, show: Callable[[Any], str] = show_type) -> str:
    """A type as the typed IR prints it; printing recurses, so a type nested
    thousands deep is shown as such rather than raising."""
    try:
        return show(value)
    except RecursionError:
        return "(a type nested too deeply to show)"
