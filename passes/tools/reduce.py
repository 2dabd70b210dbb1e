"""Shrinking a failing program to a small one that still fails (delta debugging on the surface IR).

    reduce(program, still_fails) -> a smaller program for which still_fails(text) holds

Greedily, outermost first, each expression is replaced by something simpler:
a literal (`0`, `false`, `{}`), or one of its own subexpressions (a let by
its body, an `if` by a branch, a call by its argument, `let h = k in e` by
e reading k). A replacement
is kept when the printed program still fails the same way; most do not even
type-check, and the check rejects them at once. This goes on until no
replacement is kept, so the result is small: each part that is left is
needed for the failure.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

from ir import surface as S
from ir.traverse import children

SIMPLEST = (S.Int(0), S.Bool(False), S.Tuple(()))


def reduce(program: S.Program, still_fails: Callable[[str], bool]) -> S.Program:
    body = program.body
    changed = True
    while changed:
        changed = False
        for path, node in list(_nodes(body, ())):
            for simpler in _simpler(node):
                candidate = _replace(body, path, simpler)
                if still_fails(S.print_program(S.Program(candidate))):
                    body, changed = candidate, True
                    break
            if changed:
                break  # paths into the old tree are stale: start again from the top
    return S.Program(body)


def _nodes(e: S.Expr, path: tuple) -> Iterator[tuple[tuple, S.Expr]]:
    """Every expression with its path (field names and tuple indices), outermost first."""
    yield path, e
    for f in dataclasses.fields(e):
        value = getattr(e, f.name)
        if isinstance(value, S.Expr):
            yield from _nodes(value, (*path, f.name))
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                yield from _nodes(item, (*path, f.name, i))


def _simpler(e: S.Expr) -> list[S.Expr]:
    """Smaller expressions to put in e's place: literals, then e's own
    subexpressions, and an alias's body reading what the alias names."""
    if e in SIMPLEST:
        return []
    if isinstance(e, S.Let) and isinstance(e.value, S.Var):
        return [*SIMPLEST, *children(e), _inlined(e)]
    return [*SIMPLEST, *children(e)]


def _inlined(alias: S.Let) -> S.Expr:
    """`let h = k in body` as body with k for h (where body binds h again, the
    program changes: the check of the candidate decides whether it will do)."""
    body = alias.body
    for path, node in list(_nodes(body, ())):  # a name for a name: the paths stay good
        if isinstance(node, S.Var) and node.name == alias.name:
            body = _replace(body, path, dataclasses.replace(node, name=alias.value.name))
    return body


def _replace(e, path: tuple, new: S.Expr):
    if not path:
        return new
    name, rest = path[0], path[1:]
    value = getattr(e, name)
    if isinstance(value, tuple):
        index, rest = rest[0], rest[1:]
        value = (*value[:index], _replace(value[index], rest, new), *value[index + 1:])
        return dataclasses.replace(e, **{name: value})
    return dataclasses.replace(e, **{name: _replace(value, rest, new)})
