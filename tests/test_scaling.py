"""The compiler scales: every pass, verifier and printer, and the VM, work in
time linear in the program's size, whatever shape the program grows in.

Work is counted, not timed: the function calls each one makes, on programs of
one shape at two sizes. A linear pass makes about FACTOR times the calls on a
program FACTOR times larger; a quadratic one, FACTOR squared times. A loop
inside one call (a list's `in`, a dict copied) is not counted: the programs
of every shape at size BIG, in tests marked slow, at least have to finish.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import ir
import machine
from ir.source import Source
from machine import fast
from passes.framework.registry import Registry
from passes.tools.big_programs import SHAPES
from tests.conftest import ROOT
from tests.pipeline_runs import default_pipeline

SIZE, FACTOR = 40, 4
LINEAR = FACTOR * 1.25  # what linear work may reach: the same fixed costs, a little more per node


def calls(task) -> int:
    """How many functions (Python and built-in) task calls, and its result."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event == "call" or event == "c_call":
            count += 1

    sys.setprofile(profile)
    try:
        result = task()
    finally:
        sys.setprofile(None)
    return count, result


def work(text: str) -> dict[str, int]:
    """The calls made by each pass, verifier, printer and reader of the default
    pipeline (plus the affine checker), the VM and the fast backend, on one program."""
    counted: dict[str, int] = {}
    registry = Registry()
    program = Source("big.co", text)
    for p in default_pipeline().passes:
        if p.name == "defunc":
            counted["affine pass"], _ = calls(lambda: registry.find("affine").load()().run(program))
        counted[f"{p.name} pass"], program = calls(lambda: p.run(program))
        spec = ir.lookup(p.output_ir)
        counted[f"{p.output_ir} verifier"], _ = calls(lambda: spec.verifier(program))
        counted[f"{p.output_ir} printer"], listing = calls(lambda: spec.printer(program))
        if spec.parser is not None:
            counted[f"{p.output_ir} reader"], _ = calls(lambda: spec.parser(listing, f"big.{p.output_ir}"))
        if p.output_ir == "blocks":
            counted["vm"], _ = calls(lambda: machine.run(program))
    counted["fast backend"], _ = calls(lambda: fast.run(program))
    return counted


@pytest.mark.slow
@pytest.mark.parametrize("shape", list(SHAPES))
def test_work_grows_linearly_with_the_program(shape):
    small, _ = SHAPES[shape](SIZE)
    large, _ = SHAPES[shape](SIZE * FACTOR)
    work(small)  # warm up: caches and compiled constructors of earlier tests must not tilt the counts
    before, after = work(small), work(large)
    growth = {stage: round(after[stage] / before[stage], 1) for stage in before}
    assert {stage: ratio for stage, ratio in growth.items() if ratio > LINEAR} == {}, growth


def test_the_count_sees_quadratic_work():
    def quadratic(n: int) -> None:
        for i in range(n):
            for _ in range(i):
                abs(i)

    assert calls(lambda: quadratic(SIZE * FACTOR))[0] / calls(lambda: quadratic(SIZE))[0] > FACTOR ** 2 * 0.9


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_shape_gives_its_value(shape):
    text, value = SHAPES[shape](SIZE)
    program = default_pipeline().run(Source("big.co", text))
    assert fast.interpret(program) == value


BIG = 20_000


@pytest.fixture(scope="module")
def big_runs(tmp_path_factory):
    """Every shape at size BIG through `python -m passes`, run in parallel."""
    running = {}
    for shape in SHAPES:
        path = tmp_path_factory.mktemp("big") / "big.co"
        path.write_text(SHAPES[shape](BIG)[0])
        env = {key: value for key, value in os.environ.items() if key != "PASSES_VERIFY_EACH"}
        running[shape] = subprocess.Popen([sys.executable, "-m", "passes", str(path), "--no-color"], cwd=ROOT,
                                          env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True)
    return {shape: (process.communicate(timeout=600), process.returncode) for shape, process in running.items()}


@pytest.mark.slow
@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_big_program_of_every_shape_compiles_and_runs(big_runs, shape):
    (out, err), code = big_runs[shape]
    assert (code, err) == (0, "")
    assert out == SHAPES[shape](BIG)[1] + "\n"
