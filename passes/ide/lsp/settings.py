"""What the language server is asked to do: its flags, then the client's settings.

The client sends settings as `initializationOptions` and again with each
`workspace/didChangeConfiguration`, at the top level or under a `co`
section:

    {"checks": ["affine"], "plugins": ["my_check.py"], "inlayHints": true, "debounceMs": 200}

The newest settings replace the ones before; the flags (`--check`,
`--plugin`) always hold on top of them. A plugin file named by a relative
path is found in the workspace's root folder. A setting that is not
understood is reported, and the rest still apply.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from passes.framework.plugins import looks_like_file

DEFAULT_DEBOUNCE_MS = 200


@dataclass(frozen=True)
class Settings:
    checks: tuple[str, ...] = ()  # optional passes to run, as --check names them
    plugins: tuple[str, ...] = ()  # plugin files or modules, as --plugin names them
    inlay_hints: bool = False  # ": type" after every let's name
    debounce_ms: int = DEFAULT_DEBOUNCE_MS  # quiet time after a change before the program is checked again

    def with_client_settings(self, sent: Any, root: str | None) -> tuple[Settings, list[str]]:
        """These settings (the flags') with the client's on top, and a sentence
        for each client setting that could not be used."""
        options = _our_section(sent)
        problems = []
        changes: dict[str, Any] = {}
        for key, value in options.items():
            match key:
                case "checks" | "plugins" if _is_list_of_strings(value):
                    found = [os.path.join(root, v) if key == "plugins" and root and looks_like_file(v)
                             and not os.path.isabs(v) else v for v in value]
                    changes[key] = tuple(dict.fromkeys([*getattr(self, key), *found]))
                case "inlayHints" if isinstance(value, bool):
                    changes["inlay_hints"] = value
                case "debounceMs" if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10_000:
                    changes["debounce_ms"] = value
                case "checks" | "plugins" | "inlayHints" | "debounceMs":
                    problems.append(f"setting {key!r}: {value!r} is not {_EXPECTED[key]}; it is ignored")
                case _:
                    problems.append(f"unknown setting {key!r} is ignored (known: {', '.join(_EXPECTED)})")
        return dataclasses.replace(self, **changes), problems


_EXPECTED = {"checks": "a list of pass names", "plugins": "a list of plugin files or modules",
             "inlayHints": "true or false", "debounceMs": "a whole number of milliseconds from 0 to 10000"}


def is_our_section(sent: Any) -> bool:
    """Whether settings sent by a client are meant for this server (a client
    may send every server's settings, or none)."""
    return isinstance(sent, dict) and (isinstance(sent.get("co"), dict) or any(key in _EXPECTED for key in sent))


def _our_section(sent: Any) -> dict[str, Any]:
    if not isinstance(sent, dict):
        return {}
    return sent["co"] if isinstance(sent.get("co"), dict) else sent


def _is_list_of_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
