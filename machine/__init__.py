"""The stack machine of docs/machine.md: a step-by-step VM for blocks programs.

    run(program, fuel=None) -> RunResult(cells, stats)    raises RuntimeFault
    show_value(cells, type) -> str                        LANGUAGE.md's printed form
"""

from ir.faults import RuntimeFault
from machine.values import show_value
from machine.vm import RunResult, Stats, run

__all__ = ["run", "RunResult", "RuntimeFault", "Stats", "show_value"]
