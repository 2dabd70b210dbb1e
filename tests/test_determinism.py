"""Determinism and purity: the driver's output is byte for byte the same
whatever PYTHONHASHSEED is, and no pass changes the IR it is given.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import machine
from machine import fast
from ir import surface as S
from ir.source import Source, Span
from ir.types import LambdaTable
from passes.tools.fuzz_programs import programs
from tests.pipeline_runs import EXAMPLES, default_pipeline, example_names

ROOT = Path(__file__).resolve().parent.parent
HASH_SEEDS = ("0", "4242")


# -- the same bytes under every hash seed -------------------------------------------------------


@pytest.fixture(scope="module")
def outputs_by_seed():
    """Every example with every IR printed and its value, under each hash seed, run in parallel."""
    running = {}
    for name in example_names():
        for seed in HASH_SEEDS:
            env = {**os.environ, "PYTHONHASHSEED": seed}
            running[name, seed] = subprocess.Popen(
                [sys.executable, "-m", "passes", str(EXAMPLES / f"{name}.co"), "--print-after-all", "--no-color"],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return {key: process.communicate(timeout=300) for key, process in running.items()}


@pytest.mark.parametrize("name", example_names())
def test_every_ir_is_the_same_under_every_hash_seed(outputs_by_seed, name):
    first, second = (outputs_by_seed[name, seed] for seed in HASH_SEEDS)
    assert first[1] == second[1] == b""
    assert b"after emit (blocks)" in first[0]  # every IR is there, up to the last
    assert first[0] == second[0]


# -- no pass changes its input ------------------------------------------------------------------


def fingerprint(root) -> tuple:
    """Everything in an IR, including what equality leaves out (spans, the
    lambda table, the source text): two fingerprints differ if anything changed."""
    numbers: dict[int, int] = {}
    alive = []  # objects made while walking stay alive, so that no id is reused

    def go(value):
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if id(value) in numbers:
            return ("again", numbers[id(value)])
        numbers[id(value)] = len(numbers)
        alive.append(value)
        match value:
            case tuple() | list():
                return tuple(map(go, value))
            case dict():
                return tuple((go(k), go(v)) for k, v in value.items())
            case LambdaTable():
                return ("lambdas", go(value.items()))
            case Source():
                return ("source", value.name, value.text)
            case _ if dataclasses.is_dataclass(value):
                # A field the value fills in for itself (init=False: a cached hash or size) is not content.
                return (type(value).__name__,
                        *(go(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init))
        raise TypeError(f"cannot fingerprint a {type(value).__name__}")

    return go(root)


def assert_passes_leave_their_input_alone(text: str, name: str) -> None:
    program = Source(name, text)
    ran = {}
    for p in default_pipeline().passes:
        before = fingerprint(program)
        result = p.run(program)
        assert fingerprint(program) == before, f"pass {p.name} changed its input"
        program = ran[p.output_ir or "checked"] = result
    for ir_name, run in (("blocks", lambda blocks: machine.run(blocks, fuel=10_000_000)), ("python", fast.run)):
        before = fingerprint(ran[ir_name])
        try:
            run(ran[ir_name])
        except machine.RuntimeFault:
            pass
        assert fingerprint(ran[ir_name]) == before, f"running the {ir_name} program changed it"


@pytest.mark.parametrize("name", example_names())
def test_no_pass_changes_its_input_on_the_examples(name):
    assert_passes_leave_their_input_alone((EXAMPLES / f"{name}.co").read_text(), f"{name}.co")


@pytest.mark.slow
@settings(max_examples=40, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(programs())
def test_no_pass_changes_its_input_on_generated_programs(program):
    assert_passes_leave_their_input_alone(S.print_program(program), "gen.co")


def test_the_fingerprint_sees_a_change_that_equality_does_not():
    program = default_pipeline().passes[0].run(Source("t.co", "let f = \\x -> x in f 1"))
    before = fingerprint(program)
    object.__setattr__(program.body, "span", Span(3, 4))  # spans take no part in ==
    assert fingerprint(program) != before


def test_the_fingerprint_sees_a_lambda_added_to_the_table():
    typed = default_pipeline().passes[1].run(default_pipeline().passes[0].run(Source("t.co", "\\x -> x")))
    before = fingerprint(typed)
    typed.lambdas.define("extra", ())
    assert fingerprint(typed) != before
