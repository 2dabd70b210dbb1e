"""Which lambda sets are boxed: just enough of them to give every closure a finite size.

A closure is laid out inline (docs/machine.md, "Cells and values"): its
captures' cells, and so the cells of every closure a capture holds inline,
directly, in a tuple, or in a fiber's result (a function's parameter and
result are not part of its cells). So lambda sets reach lambda sets: set S
reaches set T when a member of S captures a value holding a closure of T
inline. A set on a cycle of this graph has no finite unboxed size
(`compose (compose f g) h`, Church numerals, a chain of closures built by
recursion). The rule that breaks every cycle:

    Visit the sets depth first, starting from each in source order (the
    order of their first lambda), and following each member's captures in
    order. When a capture leads back to a set still being visited, box
    that set, and from then on ignore every capture leading into it.

A boxed closure is one cell referring to an immutable record of its cells,
so a capture leading into a boxed set adds one cell and leads no further.
Every set boxed lies on a cycle (the one the search just closed, which
each `BoxedSet` keeps to say why), and what is left unboxed has no cycle:
every cycle holds an edge that the search found going back, and the set
that edge enters is boxed. A program without such a cycle boxes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from ir.immutable import immutable
from ir.types import BoxT, ClosureT, FiberT, FunT, LambdaSet, TupleT, Type


@immutable
class BoxedSet:
    """A lambda set whose closures are boxed, and the cycle that made it so:
    steps (lambda, capture), from a member of the set through captures holding
    closures of the next step's set, back to the set."""

    names: tuple[str, ...]
    cycle: tuple[tuple[str, str], ...]


def show_boxed(boxed: BoxedSet) -> str:
    """`inc | dbl | lam1, breaking lam1.f`; a cycle through two sets reads `a.x -> b.y`."""
    steps = " -> ".join(f"{name}.{capture}" for name, capture in boxed.cycle)
    return f"{' | '.join(boxed.names)}, breaking {steps}"


def held_sets(t: Type) -> list[LambdaSet]:
    """The lambda sets whose closures a value of type t holds inline, in the
    order they appear in t (a boxed value holds none: it is one cell)."""
    found: list[LambdaSet] = []
    todo = [t]
    while todo:
        match todo.pop():
            case TupleT(elems):
                todo.extend(reversed(elems))
            case FiberT(result):
                todo.append(result)
            case FunT(lambdas=lambdas) | ClosureT(lambdas):
                found.append(lambdas)
    return found


def boxed_sets(sets: Iterable[LambdaSet]) -> tuple[BoxedSet, ...]:
    """The sets to box, by the rule above, given the program's sets in source order."""
    order: dict[tuple[str, ...], LambdaSet] = {}
    for s in sets:
        order.setdefault(s.names, s)
    boxed: dict[tuple[str, ...], BoxedSet] = {}
    visiting: dict[tuple[str, ...], int] = {}  # set -> its depth on the path being visited
    done: set[tuple[str, ...]] = set()
    for root in list(order.values()):
        if root.names in done:
            continue
        # The path: (set, its remaining steps, the step taken out of it).
        path: list[tuple[tuple[str, ...], list, tuple[str, str] | None]] = []
        _enter(root, path, visiting, order)
        while path:
            names, steps, _ = path[-1]
            if not steps:
                path.pop()
                del visiting[names]
                done.add(names)
                continue
            step, target = steps.pop()
            if target.names in boxed or target.names in done:
                continue
            if target.names in visiting:
                start = visiting[target.names]
                cycle = tuple(taken for _, _, taken in path[start:-1]) + (step,)
                boxed[target.names] = BoxedSet(target.names, cycle)
                continue
            path[-1] = (names, steps, step)
            _enter(target, path, visiting, order)
    return tuple(boxed[names] for names in order if names in boxed)


def _enter(s: LambdaSet, path: list, visiting: dict, order: dict) -> None:
    order.setdefault(s.names, s)
    visiting[s.names] = len(path)
    path.append((s.names, list(reversed(list(_steps(s)))), None))


def _steps(s: LambdaSet):
    """(step, set reached) for each closure a member's capture holds inline, in order."""
    for member in s.members:
        for capture in member.captures:
            for held in held_sets(capture.type):
                yield (member.name, capture.name), held
