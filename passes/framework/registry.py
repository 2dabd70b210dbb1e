"""Every known pass, found by name, and the default pipeline.

Entries are lazy: a pass's module is imported only when the pass is used
(or listed). The pipeline is data: a tuple of pass names, checked by the
driver so that each pass reads the IR the one before it wrote. Passes
outside the default pipeline (the affine checker, plugins' passes) are
known by name too, and run only when asked for.
"""

from __future__ import annotations

import importlib
import importlib.util

import ir
from ir.immutable import immutable
from passes.framework import Pass


class PluginError(Exception):
    """A pass or IR from outside the built-in set cannot be used: the message names where it came from."""


@immutable
class PassEntry:
    name: str
    target: str  # "package.module:ClassName"
    origin: str = "built-in"
    in_default_pipeline: bool = True

    def load(self) -> type[Pass]:
        module_name, _, class_name = self.target.partition(":")
        if self.origin == "built-in":
            return getattr(importlib.import_module(module_name), class_name)
        try:
            module = importlib.import_module(module_name)
        except Exception as problem:  # any failure of foreign code is reported, never a traceback
            raise PluginError(f"{self.origin}: cannot import {module_name}: "
                              f"{type(problem).__name__}: {problem}") from None
        register_module_ir(module, self.origin)
        cls = getattr(module, class_name, None)
        problem = check_pass_class(cls)
        if problem is None and cls.name != self.name:
            problem = f"its class is named {cls.name!r}, not {self.name!r}"
        if problem is not None:
            raise PluginError(f"{self.origin}: {self.target} is not a usable pass: {problem}")
        return cls


BUILTIN_PASSES = (
    PassEntry("parse", "passes.parse:Parse"),
    PassEntry("infer", "passes.infer:Infer"),
    PassEntry("defunc", "passes.defunc:Defunc"),
    PassEntry("closure-layout", "passes.closure_layout:ClosureLayout"),
    PassEntry("tailcall", "passes.tailcall:Tailcall"),
    PassEntry("emit", "passes.emit:Emit"),
    PassEntry("thread-jumps", "passes.thread_jumps:ThreadJumps"),
    PassEntry("peephole", "passes.peephole:Peephole"),
    PassEntry("affine", "passes.affine:Affine", in_default_pipeline=False),
    PassEntry("read-typed", "passes.read_ir:ReadTyped", in_default_pipeline=False),
    PassEntry("read-defunc", "passes.read_ir:ReadDefunc", in_default_pipeline=False),
    PassEntry("read-layout", "passes.read_ir:ReadLayout", in_default_pipeline=False),
    PassEntry("read-blocks", "passes.read_ir:ReadBlocks", in_default_pipeline=False),
    # Last: it compiles whatever the last pass writing blocks left (the fast backend's input).
    PassEntry("to-python", "passes.to_python:ToPython"),
)

# A file holding an IR's text starts the pipeline after the pass that writes
# that IR (`--start-after`): its pass `read-<IR>` reads it. A blocks listing
# runs as written: peephole assumes what emit's code does, not hand-written code.
START_AFTER_FOR_SUFFIX = {".typed": "infer", ".defunc": "defunc", ".layout": "closure-layout",
                          ".blocks": "peephole"}

DEFAULT_PIPELINE = tuple(entry.name for entry in BUILTIN_PASSES if entry.in_default_pipeline)


class Registry:
    def __init__(self, entries=BUILTIN_PASSES):
        self._entries: dict[str, PassEntry] = {}
        self._later: list = []  # functions giving more entries (see add_later)
        for entry in entries:
            self.add(entry)

    def add_later(self, more) -> None:
        """Add the entries that `more()` gives when they are first needed: when a
        name is not found, or every pass is listed. Finding installed plugins
        reads every package's metadata, which takes longer than a small compile."""
        self._later.append(more)

    def _add_the_later_ones(self) -> None:
        while self._later:
            for entry in self._later.pop(0)():
                self.add(entry)

    def add(self, entry: PassEntry) -> None:
        existing = self._entries.get(entry.name)
        if existing is not None:
            raise PluginError(
                f"two passes are named {entry.name!r}: one from {existing.origin}, one from {entry.origin}"
            )
        self._entries[entry.name] = entry

    def names(self) -> list[str]:
        self._add_the_later_ones()
        return list(self._entries)

    def find(self, name: str) -> PassEntry | None:
        entry = self._entries.get(normalize(name))
        if entry is None and self._later:
            self._add_the_later_ones()
            entry = self._entries.get(normalize(name))
        return entry

    def available(self) -> list[PassEntry]:
        """The default pipeline's entries whose modules exist in this checkout
        (the pipeline grows pass by pass). Entries added later are never among them."""
        return [e for e in self._entries.values() if e.in_default_pipeline and _module_exists(e)]

    def entries(self) -> list[PassEntry]:
        """Every usable entry, default pipeline first: what --list-passes shows."""
        self._add_the_later_ones()
        optional = [e for e in self._entries.values() if not e.in_default_pipeline and _module_exists(e)]
        return [*self.available(), *optional]


def _module_exists(entry: PassEntry) -> bool:
    module_name = entry.target.partition(":")[0]
    try:
        return importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):  # a parent package that is missing or broken
        return False


def check_pass_class(cls: object) -> str | None:
    """What keeps cls from being a pass, or None."""
    if not (isinstance(cls, type) and issubclass(cls, Pass)):
        return "it is not a subclass of passes.framework.Pass"
    for attribute in ("name", "input_ir", "summary"):
        if not isinstance(getattr(cls, attribute, None), str):
            return f"it declares no {attribute} (a string)"
    if not isinstance(getattr(cls, "output_ir", 0), (str, type(None))):
        return "it declares no output_ir (an IR name, or None for a checker)"
    if not isinstance(cls.runs_after, (str, type(None))):
        return "its runs_after is neither a pass name nor None"
    return None


def register_module_ir(module: object, origin: str) -> None:
    """A plugin module brings an IR the way built-in IR modules declare one: `IR = IRSpec(...)`."""
    spec = getattr(module, "IR", None)
    if spec is None:
        return
    problem = None
    if not isinstance(spec, ir.IRSpec):
        problem = "its IR is not an ir.IRSpec"
    elif not spec.name or not spec.name.replace("-", "").isalnum():
        problem = f"its IR name {spec.name!r} is not a plain word"
    elif not (callable(spec.printer) and callable(spec.verifier)):
        problem = f"IR {spec.name!r} needs a printer and a verifier (functions)"
    if problem is None:
        try:
            ir.register_ir(spec)
        except ValueError as clash:
            problem = str(clash)
    if problem is not None:
        raise PluginError(f"{origin}: {problem}")


def normalize(name: str) -> str:
    return name.strip().replace("_", "-")
