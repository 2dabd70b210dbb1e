"""Every known pass, found by name, and the default pipeline.

Entries are lazy: a pass's module is imported only when the pass is used
(or listed). The pipeline is data: a tuple of pass names, checked by the
driver so that each pass reads the IR the one before it wrote.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from passes.framework import Pass


@dataclass(frozen=True)
class PassEntry:
    name: str
    target: str  # "package.module:ClassName"
    origin: str = "built-in"

    def load(self) -> type[Pass]:
        module_name, _, class_name = self.target.partition(":")
        return getattr(importlib.import_module(module_name), class_name)


BUILTIN_PASSES = (
    PassEntry("parse", "passes.parse:Parse"),
    PassEntry("infer", "passes.infer:Infer"),
    PassEntry("defunc", "passes.defunc:Defunctionalize"),
    PassEntry("closure-layout", "passes.closure_layout:LayOutClosures"),
    PassEntry("tailcall", "passes.tailcall:MarkTailCalls"),
    PassEntry("emit", "passes.emit:Emit"),
)

DEFAULT_PIPELINE = tuple(entry.name for entry in BUILTIN_PASSES)


class Registry:
    def __init__(self, entries=BUILTIN_PASSES):
        self._entries: dict[str, PassEntry] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: PassEntry) -> None:
        existing = self._entries.get(entry.name)
        if existing is not None:
            raise ValueError(
                f"two passes are named {entry.name!r}: one from {existing.origin}, one from {entry.origin}"
            )
        self._entries[entry.name] = entry

    def names(self) -> list[str]:
        return list(self._entries)

    def find(self, name: str) -> PassEntry | None:
        return self._entries.get(normalize(name))

    def available(self) -> list[PassEntry]:
        """The entries whose modules exist in this checkout (the pipeline grows pass by pass)."""
        out = []
        for entry in self._entries.values():
            module_name = entry.target.partition(":")[0]
            if importlib.util.find_spec(module_name) is not None:
                out.append(entry)
        return out


def normalize(name: str) -> str:
    return name.strip().replace("_", "-")
