"""Fibers that cost nothing once gone: a finished fiber is freed at once, a
pending one that no live value can reach is freed by the collector, which
reads every frame with the stack map emit wrote for where it stopped.

Every example and regression program runs with a collection at every spawn
(`collect_at_every_spawn`), so that a wrong stack map shows as a wrong value
or a fault; tests/regressions/collector_*.co hold a pending handle in every
kind of place a map names. Expected counts are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings

from ir import blocks as B
from ir import surface as S
from ir.source import CompileError, Source
from ir.types import FiberT, INT
from machine import RuntimeFault, run, show_value
from machine.vm import FEWEST_FIBERS
from passes.tools.fuzz_programs import programs
from tests.pipeline_runs import EXAMPLES, vm_pipeline
from tests.test_regressions import REGRESSIONS, expectation
from tests.test_run import EXPECTED

CHILD = "let child = \\n -> yield; n in\n"
# Spawns n fibers that yield and are dropped: pending, and unreachable at once.
CHURN = "let rec churn = \\n -> if n == 0 then 0 else (spawn (child n); churn (n - 1)) in\n"


def compile_co(text: str) -> B.Program:
    return vm_pipeline().run(Source("test.co", text))


def value(program: B.Program, **options) -> str:
    return show_value(run(program, **options).cells, program.result_type)


def outcome(program: B.Program, **options) -> str:
    """The printed value, or `runtime error: LINE:COL: MESSAGE` (as tests/regressions write it)."""
    try:
        return value(program, fuel=2_000_000, **options)
    except RuntimeFault as fault:
        return f"runtime error: {fault}"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.co")), ids=lambda p: p.stem)
def test_every_example_runs_the_same_collecting_at_every_spawn(path: Path):
    assert value(compile_co(path.read_text()), collect_at_every_spawn=True) == EXPECTED[path.stem]


@pytest.mark.parametrize("path", sorted(REGRESSIONS.glob("*.co")), ids=lambda p: p.stem)
def test_every_regression_runs_the_same_collecting_at_every_spawn(path: Path):
    program = compile_co(path.read_text())
    expected = expectation(path.read_text()) or outcome(program)
    assert outcome(program, collect_at_every_spawn=True) == expected


@pytest.mark.slow
@settings(max_examples=50, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(programs())
def test_generated_programs_run_the_same_collecting_at_every_spawn(program):
    try:
        compiled = compile_co(S.print_program(program))
    except CompileError:  # the few the compiler rejects by design (see tests/test_fuzz.py)
        assume(False)
    assert outcome(compiled, collect_at_every_spawn=True) == outcome(compiled)


def test_pending_fibers_nothing_reaches_are_freed_when_the_fibers_alive_double():
    stats = run(compile_co(CHILD + CHURN + "churn 1000")).stats
    # Main alone counts from FEWEST_FIBERS: the first collection runs when 2 * 64 = 128 are
    # alive, at the 127th spawn, and keeps main and the fiber being spawned. Each later one
    # runs 126 spawns on, keeping 2 again: at spawns 127, 253, ..., 883, 126 freed each time.
    assert FEWEST_FIBERS == 64
    assert stats.fibers_created == 1000
    assert stats.fibers_freed == 7 * 126
    assert stats.most_fibers_alive == 128


def test_a_stale_handle_does_not_keep_its_fiber():
    # After `resume h` the fiber is pending again under a new handle, which is dropped:
    # only the stale h names it, and h can never resume it. The collections at churn's
    # spawns free it with churn's fibers (3, and the last one of churn stays).
    program = compile_co(CHILD + CHURN + "let h = spawn (yield; yield; 1) in resume h; churn 3; "
                                         "stat h | `Pending -> 0 | `Done v -> v")
    result = run(program, collect_at_every_spawn=True)
    assert show_value(result.cells, program.result_type) == "0"  # h itself still says Pending
    assert result.stats.fibers_freed == 1 + 2
    # A second resume through the stale handle still fails the same way, fiber #1 by number.
    with pytest.raises(RuntimeFault) as fault:
        run(compile_co(CHILD + CHURN + "let h = spawn (yield; yield; 1) in resume h; churn 3; resume h"),
            collect_at_every_spawn=True)
    assert fault.value.message == "fiber resumed twice: fiber #1's handle was already resumed"


def test_fibers_keep_their_numbers_in_errors_after_collections():
    # churn makes fibers #1..#5 (all freed); kept is #6, resumed twice.
    text = CHILD + CHURN + "churn 5; let kept = spawn (yield; yield; 1) in resume kept; resume kept"
    with pytest.raises(RuntimeFault) as fault:
        run(compile_co(text), collect_at_every_spawn=True)
    assert fault.value.message == "fiber resumed twice: fiber #6's handle was already resumed"


def rounds(n: int) -> str:
    """n rounds of: spawn a fiber that yields once, resume it, add its result."""
    return (CHILD + "let rec rounds = \\s -> if s.0 == 0 then s.1 else rounds "
            "{s.0 - 1, s.1 + (stat resume (spawn (child s.0)) | `Done v -> v | `Pending -> 0)} in "
            f"rounds {{{n}, 0}}")


def test_many_spawn_and_resume_rounds_keep_two_fibers_alive():
    result = run(compile_co(rounds(20_000)))
    assert result.cells == (20_000 * 20_001 // 2,)
    assert result.stats.fibers_created == result.stats.fibers_freed == 20_000  # each as it finishes
    assert result.stats.most_fibers_alive == 2


def test_fibers_kept_pending_stay_while_many_more_come_and_go():
    # 100 nested calls each keep one pending fiber while the innermost spawns 20,000 that
    # nobody keeps. A collection keeps main, the 100 and the fiber being spawned: 102, so
    # the next runs when 204 are alive (the frames read, about 300, count for less).
    text = (CHILD + CHURN + "let rec hold = \\n -> if n == 0 then churn 20000 else "
            "(let f = spawn (child n) in let r = hold (n - 1) in "
            "r + (stat resume f | `Done v -> v | `Pending -> 0)) in hold 100")
    result = run(compile_co(text))
    assert result.cells == (100 * 101 // 2,)  # every kept fiber still gives its n
    assert result.stats.most_fibers_alive == 2 * 102
    assert result.stats.fibers_created == 20_100
    assert result.stats.fibers_freed >= 20_000 - 2 * 102


def test_deep_recursion_in_a_fiber_with_collections_at_its_bottom():
    # 100,000 non-tail calls inside a fiber; the deepest spawns a fiber that yields,
    # so a collection reads all 100,000 frames (and those of main under them).
    text = ("let rec sum = \\n -> if n == 0 then (spawn (yield; 0); 0) else n + sum (n - 1) in "
            "stat spawn (sum 100000) | `Done v -> v | `Pending -> 0")
    program = compile_co(text)
    assert value(program, collect_at_every_spawn=True) == str(100_000 * 100_001 // 2)


def test_deep_recursion_on_main_with_collections_at_its_bottom():
    text = ("let rec sum = \\n -> if n == 0 then (spawn (yield; 0); 0) else n + sum (n - 1) in sum 100000")
    assert value(compile_co(text), collect_at_every_spawn=True) == str(100_000 * 100_001 // 2)


# -- the maps emit writes ------------------------------------------------------------------


def instrs(program: B.Program, proc: str) -> list[B.Instr]:
    (found,) = [p for p in program.procs if p.name == proc]
    return [i for b in found.blocks for i in b.instrs]


def test_a_handle_written_to_the_return_slot_is_in_the_map_of_the_call_after_it():
    # pair's result {churn 3, spawn (child n)}: element 1 first, straight into the
    # return slot's lower four cells, fp[-8..-5] (below: n at fp[-4], pc, fp). Then the
    # call of churn, whose map names that handle.
    program = compile_co(CHILD + CHURN + "let pair = \\n -> {churn 3, spawn (child n)} in (pair 7).0")
    (call,) = [i for i in instrs(program, "pair") if isinstance(i, B.Call)]
    assert call.live == (B.Live(-8, FiberT(INT)),)


def test_a_handle_on_the_operand_stack_is_in_the_map_of_a_call_above_it():
    # Main's locals are t's 5 cells, fp[0..4]; {churn 3, spawn (child 6)} is built on the
    # stack above them, element 1 first: the handle at fp[5..8], then churn's return slot.
    program = compile_co(CHILD + CHURN + "let t = {churn 3, spawn (child 6)} in t.0")
    (call,) = [i for i in instrs(program, "Main") if isinstance(i, B.Call)]
    assert call.live == (B.Live(5, FiberT(INT)),)
