"""The stack machine of docs/machine.md: a step-by-step VM for blocks programs.

    run(program, fuel=None) -> RunResult(cells, stats)    raises RuntimeFault
    show_value(cells, type) -> str                        LANGUAGE.md's printed form

The VM itself (machine.vm) is imported when first asked for: the fast
backend (machine.fast), the default, runs without it.
"""

from ir.faults import RuntimeFault
from machine.values import show_value

__all__ = ["run", "RunResult", "RuntimeFault", "Stats", "show_value"]


def __getattr__(name: str):
    if name in ("run", "RunResult", "Stats"):
        from machine import vm

        return getattr(vm, name)
    raise AttributeError(f"module 'machine' has no attribute {name!r}")
