"""The names in scope while a pass walks a tree, with what each one stands for.

One dict, changed in place: a binding is undone when its scope ends, so
binding and looking up cost the same however deep the program nests (a
persistent map copied a path of nodes on every binding).

    mark = scope.bind(name, value)   # the scope as it was before, to go back to
    walk(body, scope)
    scope.restore(mark)

or, for several bindings, `mark = scope.mark()` first.

A pass keeps its scope to itself: it is the pass's scratch state, never part
of an IR.
"""

from __future__ import annotations

_UNBOUND = object()


class Scope:
    __slots__ = ("_names", "_undo")

    def __init__(self, names=()):
        self._names = dict(names)
        self._undo: list[tuple[str, object]] = []  # (name, what it stood for before), innermost last

    def mark(self) -> int:
        """The scope as it is now, to restore later."""
        return len(self._undo)

    def bind(self, name: str, value: object) -> int:
        """Bind name to value; returns the mark of the scope as it was before."""
        mark = len(self._undo)
        self._undo.append((name, self._names.get(name, _UNBOUND)))
        self._names[name] = value
        return mark

    def restore(self, mark: int) -> None:
        """Undo every binding made since `mark`."""
        undo, names = self._undo, self._names
        while len(undo) > mark:
            name, before = undo.pop()
            if before is _UNBOUND:
                del names[name]
            else:
                names[name] = before

    def __getitem__(self, name: str):
        return self._names[name]

    def get(self, name: str, default=None):
        return self._names.get(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def names(self) -> list[str]:
        return list(self._names)
