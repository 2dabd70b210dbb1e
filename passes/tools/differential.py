"""Differential checking: every IR means what the source means.

    check(text) -> Verdict(reference, mismatch)

The program is compiled through the default pipeline; the typed IR's
interpreter gives the reference outcome (the value's printed text, or the
runtime error). Then, in pipeline order, the output of every later pass is
run by its IR's interpreter, and the last blocks program by every backend;
the first outcome that differs is the mismatch, named after the pass (and
backend) that produced it. A pass that crashes, or produces an IR its
verifier rejects, is a mismatch too.

A backend is one entry in BACKENDS: a function running a blocks program
with a step budget and returning the printed value (raising
machine.RuntimeFault for a runtime error): the VM, and the fast backend
(to-python, then machine.fast).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

import machine
from ir.source import CompileError, Source
from passes.framework.pipeline import PassBroke, PassCrashed, Pipeline, Step
from passes.framework.registry import Registry

# IR name -> "module:function" running a program of that IR: (program, fuel) -> printed value.
INTERPRETERS = {
    "typed": "ir.typed_interp:interpret",
    "defunc": "ir.defunc_interp:interpret",
    "layout": "ir.layout_interp:interpret",
    "python": "machine.fast:interpret",
}


def _run_on_vm(program, fuel: int) -> str:
    return machine.show_value(machine.run(program, fuel=fuel).cells, program.result_type, program.value_type)


def _run_on_fast(program, fuel: int) -> str:
    """The fast backend has no fuel: the reference's budget already bounds the run."""
    from machine import fast
    from passes.to_python import ToPython

    return machine.show_value(fast.run(ToPython().run(program)), program.result_type, program.value_type)


BACKENDS: dict[str, Callable[[Any, int], str]] = {
    "vm": _run_on_vm,
    "fast": _run_on_fast,
}

REFERENCE_IR = "typed"
# The reference's budget, in evaluation steps. The later levels take more
# steps for the same program (records, frames, single instructions), so they
# get DOWNSTREAM_FUEL times as much: running out there is a mismatch.
FUEL = 400_000
DOWNSTREAM_FUEL = 20


@dataclass(frozen=True)
class Outcome:
    kind: str  # "value", "runtime error", "out of fuel", or a way the compiler failed
    text: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"


@dataclass(frozen=True)
class Mismatch:
    stage: str  # the pass, and the backend for the final program: "defunc", "emit on vm"
    expected: Outcome
    got: Outcome

    def __str__(self) -> str:
        return f"after {self.stage}: expected {self.expected}, got {self.got}"


@dataclass(frozen=True)
class Verdict:
    reference: Outcome
    mismatch: Mismatch | None


def outcome(run: Callable[[], str]) -> Outcome:
    """What running a program did: a value, a runtime error, or a crash of the runner."""
    try:
        return Outcome("value", run())
    except machine.RuntimeFault as fault:
        kind = "out of fuel" if fault.message.startswith("out of fuel") else "runtime error"
        return Outcome(kind, str(fault))
    except RecursionError:
        return Outcome("crash", "RecursionError")
    except Exception as crash:  # a broken IR, or a bug in an interpreter: show it, never hide it
        return Outcome("crash", f"{type(crash).__name__}: {crash}")


def interpreter(ir_name: str) -> Callable[[Any, int], str] | None:
    target = INTERPRETERS.get(ir_name)
    if target is None:
        return None
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def compile_stages(text: str, name: str = "<fuzz>") -> tuple[list[Step], Mismatch | None]:
    """Every pass's step, in order; and a mismatch if the compiler failed."""
    registry = Registry()
    pipeline = Pipeline.from_names([entry.name for entry in registry.available()], registry)
    steps: list[Step] = []
    try:
        pipeline.run(Source(name, text), verify_each=True, observe=steps.append)
    except CompileError as error:
        stage = pipeline.passes[len(steps)].name
        return steps, Mismatch(stage, Outcome("compiled", "a valid program"), Outcome("compile error", error.message))
    except (PassBroke, PassCrashed) as broken:
        return steps, Mismatch(broken.pass_name, Outcome("compiled", "a valid IR"), Outcome("broken pass", str(broken)))
    return steps, None


def check(text: str, name: str = "<fuzz>", fuel: int = FUEL) -> Verdict:
    steps, failed = compile_stages(text, name)
    if failed is not None:
        return Verdict(failed.got, failed)
    runs: list[tuple[str, Callable[[], str]]] = []
    reference: Outcome | None = None
    for step in steps:
        run = interpreter(step.output_ir)
        if step.output_ir == REFERENCE_IR and reference is None:
            reference = outcome(lambda: run(step.output, fuel))
        elif run is not None:
            runs.append((step.pass_.name, lambda run=run, program=step.output: run(program, fuel * DOWNSTREAM_FUEL)))
    final = [step for step in steps if step.output_ir == "blocks"][-1]  # what every backend runs
    for backend, execute in BACKENDS.items():
        runs.append((f"{final.pass_.name} on {backend}",
                     lambda execute=execute: execute(final.output, fuel * DOWNSTREAM_FUEL)))
    assert reference is not None, "the pipeline has no typed IR to take the reference from"
    if reference.kind == "out of fuel":
        return Verdict(reference, None)  # too long to run: nothing to compare
    for stage, run in runs:
        got = outcome(run)
        if got != reference:
            return Verdict(reference, Mismatch(stage, reference, got))
    return Verdict(reference, None)
