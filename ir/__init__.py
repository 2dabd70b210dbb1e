"""The intermediate representations, in pipeline order.

    source -> surface -> typed -> defunc -> layout -> blocks -> python

Each IR lives in its own module, which shows its grammar at the top and ends
with an `IR = IRSpec(...)` declaring its forms, printer, verifier, and the
reader that parses its printed text back (`ir/<name>_syntax.py`, or in the
module itself). IRs are found by name through `lookup`, which imports a
module only when it is needed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

# Under another name, so that `ir.immutable` stays the module.
from ir.immutable import immutable as _immutable


class Node:
    """Base of every IR node: an immutable value (an `ir.immutable` class)."""

    __slots__ = ()


class VerifyError(Exception):
    """An IR breaks one of its IR's invariants: a bug in the pass that made it."""

    def __init__(self, rule: str, message: str, node: object = None):
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.message = message
        self.node = node


@_immutable
class IRSpec:
    """An IR: its name, forms, printer and verifier, and the reader of its text.
    Declared with a `grammar` (ir/grammar.py), it takes its name and forms from
    it, and, unless given its own, the grammar's generic printer (and node
    printer, unless the IR prints itself: a node is shown as its printer
    writes it) and its structural check as verifier."""

    __slots__ = ("_by_name",)
    name: str | None = None
    summary: str = ""
    forms: tuple[type, ...] | None = None
    printer: Callable[[object], str] | None = None
    verifier: Callable[[object], None] | None = None
    parser: Callable[[str, str], object] | None = None  # (text, file name) -> program
    node_printer: Callable[[object], str] | None = None  # one node, for diagnostics
    grammar: object = None  # an ir.grammar.Grammar

    def __post_init__(self) -> None:
        grammar = self.grammar
        if grammar is not None:
            if self.printer is None and self.node_printer is None:
                object.__setattr__(self, "node_printer", grammar.print_node)
            for field, value in (("name", grammar.name), ("forms", grammar.forms),
                                 ("printer", grammar.print_program), ("verifier", grammar.check)):
                if getattr(self, field) is None:
                    object.__setattr__(self, field, value)
        object.__setattr__(self, "_by_name", {f.__name__: f for f in self.forms or ()})

    def form(self, name: str) -> type | None:
        return self._by_name.get(name)


BUILTIN_IRS = {
    "source": "ir.source_ir",
    "surface": "ir.surface",
    "typed": "ir.typed",
    "defunc": "ir.defunc",
    "layout": "ir.layout",
    "blocks": "ir.blocks",
    "python": "ir.python",
}

_extra_irs: dict[str, IRSpec] = {}


class UnknownIR(KeyError):
    def __str__(self) -> str:
        return f"unknown IR {self.args[0]!r}; known IRs: {', '.join(known_irs())}"


def register_ir(spec: IRSpec) -> None:
    """Make an IR brought by a plugin known by name. Registering the very
    same spec again is harmless (a plugin module may be loaded twice)."""
    if _extra_irs.get(spec.name) is spec:
        return
    if spec.name in BUILTIN_IRS or spec.name in _extra_irs:
        raise ValueError(f"an IR named {spec.name!r} already exists")
    _extra_irs[spec.name] = spec


def lookup(name: str) -> IRSpec:
    if name in _extra_irs:
        return _extra_irs[name]
    if name not in BUILTIN_IRS:
        raise UnknownIR(name)
    return importlib.import_module(BUILTIN_IRS[name]).IR


def known_irs() -> list[str]:
    return [*BUILTIN_IRS, *_extra_irs]


def previous_ir(spec: IRSpec) -> IRSpec | None:
    """The IR that spec's grammar is a delta of; for a built-in IR declared
    whole, the one before it in the pipeline; else None."""
    base = getattr(spec.grammar, "base", None)
    if base is not None:
        return lookup(base.name)
    order = list(BUILTIN_IRS)
    if spec.name in order and order.index(spec.name) > 0:
        return lookup(order[order.index(spec.name) - 1])
    return None
