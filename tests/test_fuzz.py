"""Differential fuzzing: generated programs mean the same at every level; a
deliberately broken pass is caught, named, and shown with a small program.

CI runs a bounded, derandomized number of generated programs; long
campaigns are `python -m passes fuzz --examples N --seed S`.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings

from ir import layout, typed
from ir import surface as S
from ir.source import Source
from ir.traverse import walk
from ir.types import BoxT, FiberT, FunT, TupleT
from passes.tools import fuzz
from passes.tools.differential import check, compile_stages
from passes.tools.fuzz_programs import programs, rejected_by_design
from passes.parse import parse_program
from passes.tools.reduce import reduce

ROOT = Path(__file__).resolve().parent.parent
CI_EXAMPLES = 300

ci_settings = settings(max_examples=CI_EXAMPLES, deadline=None, derandomize=True, database=None,
                       phases=[Phase.generate], suppress_health_check=list(HealthCheck))


def reduced_failure(program: S.Program) -> str:
    """The failure of a generated program, told with the smallest program showing it."""
    text, verdict = fuzz.shrink(program)
    return f"{verdict.mismatch}\nin this program:\n{text}"


@pytest.mark.slow
@ci_settings
@given(programs())
def test_generated_programs_mean_the_same_at_every_level(program):
    text = S.print_program(program)
    assert parse_program(Source("gen.co", text)) == program, "the surface printer's text parses back differently"
    verdict = check(text)
    assume(not rejected_by_design(verdict))
    assert verdict.mismatch is None, reduced_failure(program)


# -- the generator makes programs of real shape ---------------------------------------------


def shapes(program: S.Program) -> set[str]:
    steps, failed = compile_stages(S.print_program(program))
    assert failed is None, str(failed)
    irs = {step.pass_.name: step.output for step in steps}
    found = set()
    for node in walk(irs["infer"].body):
        match node:
            case typed.Lam(captures=captures, body=body):
                found.add(f"lambda capturing {min(len(captures), 4)}")
                found |= {"curried lambda"} if isinstance(body, typed.Lam) else set()
                found |= {"yield in a lambda"} if any(isinstance(x, typed.Yield) for x in walk(body)) else set()
            case typed.App(fn=fn) if isinstance(fn.type.param, FunT):
                found.add("call of a higher-order function")
            case typed.Spawn(body=body) if any(isinstance(x, typed.Resume) for x in walk(body)):
                found.add("fiber resuming another fiber")
            case typed.Stat():
                found.add("stat")
            case typed.LetRec():
                found.add("let rec")
            case typed.Tuple(type=t) if _tuple_depth(t) >= 3:
                found.add("tuple nested 3 deep")
        if isinstance(getattr(node, "type", None), FunT) and len(node.type.lambdas.names) >= 3:
            found.add("lambda set of 3 or more")
    for proc in irs["tailcall"].procs:
        for node in walk(proc.body):
            if isinstance(node, layout.Call) and node.tail:
                found.add("self tail call")
                found |= {"chain of closures built by a tail loop"} if _holds_a_box(node.arg.type) else set()
            if isinstance(node, layout.Dispatch):
                found.add("dispatch")
                found |= {"boxed closure dispatched"} if isinstance(node.closure, layout.Unbox) else set()
            if isinstance(node, layout.Spawn) and _holds_a_box(node.captures.type):
                found.add("boxed closure captured by a fiber")
    return found | boxing_shapes(irs["infer"], irs["defunc"])


def boxing_shapes(program: typed.Program, lifted) -> set[str]:
    """What closures that contain themselves the program has (their sets are boxed)."""
    if not lifted.boxed:
        return set()
    found = {"boxed lambda set"}
    boxed = {b.names for b in lifted.boxed}
    for b in lifted.boxed:
        found |= {"boxed cycle through two sets or more"} if len({n for n, _ in b.cycle}) > 1 else set()
        for name, capture in b.cycle:
            held = next(c.type for c in program.lambdas.captures(name) if c.name == capture)
            found |= {f"boxed cycle through a {kind}" for kind, cls in (("tuple", TupleT), ("fiber", FiberT))
                      if isinstance(held, cls)}
    for node in walk(program.body):
        match node:
            case typed.Lam(type=FunT(lambdas=own) as t) if own.names in boxed:
                if sum(c.type == t for c in node.captures) >= 2:
                    found.add("compose chain")  # \\x -> f (g x), f and g of its own set
                if isinstance(t.param, FunT):
                    found.add("Church numeral")  # a boxed set of functions of functions
            case typed.LetRec(value=typed.Lam(type=FunT(result=FunT(lambdas=made)))) if made.names in boxed:
                found.add("chain of closures built by a recursion")
            case typed.Spawn(type=FiberT(result=FunT(lambdas=made))) if made.names in boxed:
                found.add("boxed closure as a fiber's result")
    return found


def _holds_a_box(t) -> bool:
    return isinstance(t, BoxT) or any(map(_holds_a_box, getattr(t, "elems", ())))


def _tuple_depth(t) -> int:
    elems = getattr(t, "elems", None)
    return 0 if elems is None else 1 + max(map(_tuple_depth, elems), default=0)


SHAPES = {"lambda capturing 0", "lambda capturing 1", "lambda capturing 2", "lambda capturing 3",
          "lambda capturing 4", "curried lambda", "yield in a lambda", "call of a higher-order function",
          "fiber resuming another fiber", "stat", "let rec", "tuple nested 3 deep",
          "lambda set of 3 or more", "self tail call", "dispatch",
          "boxed lambda set", "boxed cycle through two sets or more", "boxed cycle through a tuple",
          "boxed cycle through a fiber", "compose chain", "Church numeral", "chain of closures built by a recursion",
          "chain of closures built by a tail loop", "boxed closure dispatched", "boxed closure captured by a fiber",
          "boxed closure as a fiber's result"}


@pytest.mark.slow
def test_generated_programs_have_every_shape_asked_for():
    seen: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()

    @settings(ci_settings, max_examples=200)
    @given(programs())
    def collect(program):
        seen.update(shapes(program))
        outcomes[check(S.print_program(program)).reference.kind] += 1

    collect()
    assert {shape for shape in SHAPES if seen[shape] < 3} == set(), seen
    # Mostly values, and now and then the runtime error of a second resume.
    assert outcomes["value"] > 160 and outcomes["runtime error"] >= 1, outcomes


# -- a broken pass is caught, named, and shown small --------------------------------------


@pytest.fixture
def defunc_swapping_two_captures(monkeypatch):
    """defunc, broken: every capture record with two or more values has its first two swapped."""
    from passes import defunc

    build_record = defunc._Lifter.record

    def swapped(self, captures, span):
        record = build_record(self, captures, span)
        if len(record.elems) < 2:
            return record
        first, second, *rest = record.elems
        return typed.Tuple((second, first, *rest), record.type, record.span)

    monkeypatch.setattr(defunc._Lifter, "record", swapped)
    return monkeypatch


def test_the_per_pass_check_names_the_broken_pass(defunc_swapping_two_captures):
    verdict = check("let x = 1 in let y = 10 in (\\n -> x - y + n) 0")
    assert str(verdict.mismatch) == "after defunc: expected value: -9, got value: 9"


@pytest.mark.slow
def test_the_fuzzer_finds_the_broken_pass_and_writes_a_small_program(defunc_swapping_two_captures, tmp_path):
    campaign = fuzz.run_campaign(examples=200, seed=1, max_failures=1)
    assert len(campaign.failures) == 1
    seed, text, verdict = campaign.failures[0]
    assert verdict.mismatch.stage == "defunc"
    assert len(text.splitlines()) <= 4, text
    written = fuzz.write_regression(tmp_path, seed, text, verdict).read_text()
    assert "after defunc" in written.splitlines()[1] and written.endswith(text)
    defunc_swapping_two_captures.undo()  # the pass mended: the program is a passing regression test
    assert check(written).mismatch is None


def test_reduce_keeps_only_what_the_failure_needs():
    program = parse_program(Source("t.co", "let a = 1 in {a + 2 * 3, true, \\x -> x}"))
    smallest = reduce(program, lambda text: "*" in text)
    assert S.print_program(smallest) == "0 * 0\n"


# -- the command ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_fuzz_command_runs_a_small_campaign(tmp_path):
    done = subprocess.run([sys.executable, "-m", "passes", "fuzz", "--examples", "20", "--seed", "3",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout) == (
        0, "20 programs from seed 3: 0 mismatches, 0 skipped (too long to run, or rejected by design)\n")
    assert list(tmp_path.iterdir()) == []


def test_fuzz_command_without_hypothesis_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "hypothesis", None)  # import hypothesis now fails
    assert fuzz.main(["--examples", "5"]) == 2
    assert "pip install -e '.[test]'" in capsys.readouterr().err


def test_fuzz_command_refuses_a_count_below_one(capsys):
    assert fuzz.main(["--examples", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_only_a_tuple_never_known_is_rejected_by_design():
    # The parameter of a lambda never called: no tuple ever tells its length.
    assert rejected_by_design(check("\\g -> g.0"))
    assert not rejected_by_design(check("g"))  # an unbound variable is a generator bug
    assert not rejected_by_design(check("{1, 2}.0"))
