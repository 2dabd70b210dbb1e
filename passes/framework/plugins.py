"""Passes and IRs from outside this package: plugin files, modules, and installed packages.

A plugin is a Python module. Every `Pass` subclass defined in it is a pass;
an `IR = IRSpec(...)` in it is a new IR, declared the way the built-in IR
modules declare theirs. The driver loads one with `--plugin FILE.py` or
`--plugin package.module`.

An installed package publishes passes through the entry-point group
`passes.plugins`, one entry point per pass, named after it:

    [project.entry-points."passes.plugins"]
    warn-spawn-never-yields = "my_plugins.spawn_check:WarnSpawnNeverYields"

Entry points are read only when a pass name is not a built-in one or every
pass is listed (reading package metadata is slow); a module is imported
when one of its passes is used or listed.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from types import ModuleType

from passes.framework import Pass
from passes.framework.registry import PassEntry, PluginError, Registry, check_pass_class, register_module_ir

ENTRY_POINT_GROUP = "passes.plugins"

_loaded_files: dict[str, ModuleType] = {}  # a file loaded twice in one process is one module


def installed_entries() -> list[PassEntry]:
    """The passes that installed packages publish, by name, without importing them."""
    import importlib.metadata

    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return [
        PassEntry(point.name, point.value, in_default_pipeline=False,
                  origin=f"package {point.dist.name if point.dist else '?'} (entry point {point.name!r})")
        for point in sorted(found, key=lambda p: p.name)
    ]


def add_plugins(registry: Registry, specs: Iterable[str]) -> list[str]:
    """Add installed plugins' passes (once they are needed: Registry.add_later)
    and those of the plugins `specs` to the registry; the names of the latter
    that say where they run, which run without being asked."""
    registry.add_later(installed_entries)
    auto_enabled = []
    for spec in specs:
        for entry in load_plugin(spec):
            registry.add(entry)
            if entry.load().runs_after is not None:
                auto_enabled.append(entry.name)
    return auto_enabled


def load_plugin(spec: str) -> list[PassEntry]:
    """The passes of the plugin `spec` (a .py file or a module name), its IR registered."""
    origin = f"plugin {spec}"
    module = _import_file(spec, origin) if looks_like_file(spec) else _import_module(spec, origin)
    register_module_ir(module, origin)
    entries = []
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Pass) and value.__module__ == module.__name__:
            problem = check_pass_class(value)
            if problem is not None:
                raise PluginError(f"{origin}: class {value.__name__} is not a usable pass: {problem}")
            entries.append(PassEntry(value.name, f"{module.__name__}:{value.__qualname__}",
                                     origin=origin, in_default_pipeline=False))
    if not entries and getattr(module, "IR", None) is None:
        raise PluginError(f"{origin}: it defines no pass (a subclass of passes.framework.Pass) and no IR")
    return entries


def looks_like_file(spec: str) -> bool:
    """Whether a plugin spec names a file (else an importable module)."""
    return spec.endswith(".py") or os.sep in spec or "/" in spec


def _import_file(path: str, origin: str) -> ModuleType:
    full = os.path.realpath(path)
    if full in _loaded_files:
        return _loaded_files[full]
    if not os.path.isfile(full):
        raise PluginError(f"{origin}: no such file")
    # Two plugin files may share a base name: the path's digest keeps their modules apart.
    import hashlib

    stem = "".join(c if c.isalnum() else "_" for c in os.path.splitext(os.path.basename(full))[0])
    name = f"passes_plugin_{stem}_{hashlib.sha1(full.encode()).hexdigest()[:10]}"
    module_spec = importlib.util.spec_from_file_location(name, full)
    module = importlib.util.module_from_spec(module_spec)
    # Registered before running so that dataclasses and `module:Class` targets can find it.
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as problem:  # a plugin must not end the driver
        del sys.modules[name]
        raise PluginError(f"{origin}: loading it failed: {type(problem).__name__}: {problem}") from None
    _loaded_files[full] = module
    return module


def _import_module(name: str, origin: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as missing:
        if missing.name and name.startswith(missing.name):
            raise PluginError(f"{origin}: no module named {name!r} (not a file either: a file ends in .py)") from None
        raise PluginError(f"{origin}: importing it failed: {missing}") from None
    except (Exception, SystemExit) as problem:
        raise PluginError(f"{origin}: importing it failed: {type(problem).__name__}: {problem}") from None
