"""From command-line requests to a list of pass instances.

    --pipeline 'parse,infer,fold-constants{limit=3},defunc'   exactly these passes
    --enable affine          (or --check affine)   an optional pass, at its runs_after
    --insert-after infer:my-check                  a pass placed by hand
    --pass-option fold-constants.limit=3           an option, typed by the pass's field
    --start-after defunc                           read the program as defunc IR, run what follows

Options are a pass's dataclass fields; a value is converted to the field's
declared type (int, float, bool or str).
"""

from __future__ import annotations

from passes.framework import Pass
from passes.framework.registry import Registry, normalize


class AssemblyError(Exception):
    """A request that names no pass, places a pass nowhere, or gives a bad option."""


Options = dict[str, dict[str, str]]  # pass name -> option name -> value as written


def parse_pipeline(text: str) -> tuple[list[str], Options]:
    """`a,b{k=v,k2=v2},c` -> ([a, b, c], {b: {k: v, k2: v2}})."""
    names: list[str] = []
    options: Options = {}
    for item in _split_outside_braces(text, ","):
        item = item.strip()
        if not item:
            raise AssemblyError(f"--pipeline {text!r}: an empty pass name")
        name, brace, rest = item.partition("{")
        name = normalize(name)
        names.append(name)
        if brace:
            if not rest.endswith("}"):
                raise AssemblyError(f"--pipeline: {item!r} has a `{{` without its `}}`")
            settings = [s for s in _split_outside_braces(rest[:-1], ",") if s.strip()]
            for setting in settings:
                key, value = _key_value(setting, f"{name}{{...}}")
                options.setdefault(name, {})[key] = value
    return names, options


def parse_pass_option(text: str) -> tuple[str, str, str]:
    """`my-pass.limit=3` -> (my-pass, limit, 3)."""
    target, equals, value = text.partition("=")
    pass_name, dot, key = target.rpartition(".")
    if not equals or not dot or not pass_name or not key.strip():
        raise AssemblyError(f"--pass-option {text!r}: write PASS.OPTION=VALUE, e.g. fold-constants.limit=3")
    return normalize(pass_name), key.strip(), value.strip()


def parse_insert_after(text: str) -> tuple[str, str]:
    after, colon, name = text.partition(":")
    if not colon or not after.strip() or not name.strip():
        raise AssemblyError(f"--insert-after {text!r}: write AFTER:PASS, e.g. infer:affine")
    return normalize(after), normalize(name)


def start_after(name: str, registry: Registry) -> list[str]:
    """`--start-after NAME`: the built-in pass that reads the IR NAME writes
    from a file (`read-<IR>`, or `parse`), then the default pipeline's passes after NAME."""
    default = [entry.name for entry in registry.available()]
    entry = registry.find(name)
    if entry is None or entry.name not in default:
        raise AssemblyError(f"--start-after {name}: not a pass of the default pipeline ({', '.join(default)})")
    written = entry.load().output_ir
    readers = [e.name for e in registry.entries() if e.origin == "built-in"
               and e.load().input_ir == "source" and e.load().output_ir == written]
    if not readers:
        raise AssemblyError(f"--start-after {name}: no pass reads the {written} IR from a file")
    return [readers[0], *default[default.index(entry.name) + 1:]]


def place(pipeline: list[str], enable: list[str], insert_after: list[tuple[str, str]],
          registry: Registry) -> list[str]:
    """pipeline with each enabled pass after its declared runs_after, and each
    (after, name) pair placed by hand. A pass goes after everything placed
    after the same pass before it, and after what was placed after those:
    `b` after `a`, then `c` after `b`, then `d` after `a` gives a, b, c, d."""
    names = list(pipeline)
    requests = [*[(_runs_after(name, registry), name) for name in enable], *insert_after]
    placed: dict[str, list[str]] = {}  # a pass -> the passes placed right after it
    for after, name in requests:
        if name in names:
            continue
        if after not in names:
            raise AssemblyError(f"pass {name!r} runs after {after!r}, which is not in the pipeline "
                                f"({', '.join(names) or 'empty'})")
        at = names.index(after) + 1
        while at < len(names) and names[at] in _placed_below(after, placed):
            at += 1
        names.insert(at, name)
        placed.setdefault(after, []).append(name)
    return names


def _placed_below(after: str, placed: dict[str, list[str]]) -> set[str]:
    below, todo = set(), list(placed.get(after, ()))
    while todo:
        name = todo.pop()
        if name not in below:
            below.add(name)
            todo.extend(placed.get(name, ()))
    return below


def _runs_after(name: str, registry: Registry) -> str:
    entry = registry.find(name)
    if entry is None:
        raise AssemblyError(f"unknown pass {name!r}; known passes: {', '.join(registry.names())}")
    after = entry.load().runs_after
    if after is None:
        raise AssemblyError(f"pass {entry.name!r} does not say where it runs (no runs_after); "
                            f"place it with --insert-after PASS:{entry.name} or --pipeline")
    return normalize(after)


def instantiate(names: list[str], options: Options, registry: Registry) -> list[Pass]:
    unused = sorted(set(options) - set(names))
    if unused:
        raise AssemblyError(f"options for {', '.join(map(repr, unused))}, which is not in the pipeline")
    passes = []
    for name in names:
        entry = registry.find(name)
        if entry is None:
            raise AssemblyError(f"unknown pass {name!r}; known passes: {', '.join(registry.names())}")
        passes.append(make_pass(entry.load(), options.get(entry.name, {})))
    return passes


def make_pass(cls: type[Pass], written: dict[str, str]) -> Pass:
    """An instance of cls with its options converted to their fields' types."""
    values = _options(cls, written) if written else {}
    try:
        return cls(**values)
    except (TypeError, ValueError) as problem:
        raise AssemblyError(f"pass {cls.name!r}: {problem}") from None


def _options(cls: type[Pass], written: dict[str, str]) -> dict[str, object]:
    # Imported here: they are slow to import, and most runs set no option.
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(cls) if f.init} if dataclasses.is_dataclass(cls) else {}
    declared = _field_types(cls, fields)
    for key in written:
        if key not in fields:
            known = ", ".join(f"{k} ({declared[k].__name__})" for k in fields) or "none"
            raise AssemblyError(f"pass {cls.name!r} has no option {key!r}; its options: {known}")
    return {key: _convert(cls.name, key, text, declared[key]) for key, text in written.items()}


def _field_types(cls: type, fields: dict) -> dict[str, type]:
    import typing

    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: fall back to its text
        hints = {}
    builtins = {"int": int, "float": float, "bool": bool, "str": str}
    return {name: hints.get(name) if isinstance(hints.get(name), type) else builtins.get(str(f.type), str)
            for name, f in fields.items()}


def _convert(pass_name: str, key: str, text: str, want: type) -> object:
    try:
        if want is bool:
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError
            return lowered in ("true", "1", "yes", "on")
        if want in (int, float):
            return want(text)
        return text
    except ValueError:
        raise AssemblyError(f"option {key!r} of pass {pass_name!r} is {want.__name__}; "
                            f"{text!r} is not one") from None


def _key_value(setting: str, where: str) -> tuple[str, str]:
    key, equals, value = setting.partition("=")
    if not equals or not key.strip():
        raise AssemblyError(f"{where}: {setting.strip()!r} is not OPTION=VALUE")
    return key.strip(), value.strip()


def _split_outside_braces(text: str, separator: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts
