"""The IR interpreters: every example through every pass, each IR's
interpreter agreeing with the value worked out by hand; and the
interpreters' own meaning of the corner cases (evaluation order, wrap-around,
fibers, errors), against the machine.

A pass that breaks an example fails `test_pass_keeps_the_meaning[<example>-<pass>]`,
naming both.
"""

from __future__ import annotations

import dataclasses
import functools

import pytest

from ir import layout
from ir.interp_runtime import InterpError
from ir.layout_interp import InterpLayout
from ir.typed_interp import InterpTyped
from passes.tools.differential import BACKENDS, Outcome, check, compile_stages, interpreter, outcome
from tests.pipeline_runs import EXAMPLES, example_names
from tests.test_run import EXPECTED

BIG_FUEL = 50_000_000  # countdown takes 1.8 million steps: no example runs out


@functools.lru_cache(maxsize=None)
def steps_of(name: str):
    steps, failed = compile_stages((EXAMPLES / f"{name}.co").read_text(), f"{name}.co")
    assert failed is None, str(failed)
    return {step.pass_.name: step for step in steps}


def later_passes() -> list[str]:
    """Every pass after infer, whose output is checked against the typed interpreter's value."""
    names = list(steps_of(example_names()[0]))
    return names[names.index("infer") + 1:]


def run_output(step) -> Outcome:
    run = interpreter(step.output_ir)
    if run is None:  # the blocks IR: its interpreter is the machine
        run = BACKENDS["vm"]
    return outcome(lambda: run(step.output, BIG_FUEL))


def examples_long_runs_slow() -> list:
    """The examples, the one whose run takes over a million steps (countdown) marked slow:
    the tree interpreters take seconds on it."""
    return [pytest.param(name, marks=pytest.mark.slow) if name == "countdown" else name
            for name in example_names()]


@pytest.mark.parametrize("name", examples_long_runs_slow())
def test_typed_interpreter_gives_each_example_its_value(name):
    assert run_output(steps_of(name)["infer"]) == Outcome("value", EXPECTED[name])


@pytest.mark.parametrize("pass_name", later_passes())
@pytest.mark.parametrize("name", examples_long_runs_slow())
def test_pass_keeps_the_meaning(name, pass_name):
    got = run_output(steps_of(name)[pass_name])
    assert got == Outcome("value", EXPECTED[name]), f"pass {pass_name} changed what {name}.co means"


def test_every_ir_the_pipeline_writes_has_an_interpreter():
    irs = {steps_of("curry")[p].output_ir for p in later_passes()}
    assert irs == {"defunc", "layout", "blocks", "python"}
    assert all(interpreter(ir) is not None for ir in irs - {"blocks"})


# -- the corner cases, each the same at every level (check compares them all) ---------------


def agreed(text: str) -> Outcome:
    verdict = check(text, "t.co")
    assert verdict.mismatch is None, str(verdict.mismatch)
    return verdict.reference


def test_evaluation_is_right_to_left_so_the_left_resume_is_the_second():
    # The right element runs first and resumes h; the left one (column 2) finds it stale.
    text = "let h = spawn (yield; 1) in\n{resume h, resume h}"
    assert agreed(text) == Outcome("runtime error", "2:2: fiber resumed twice: fiber #1's handle was already resumed")


def test_the_argument_is_evaluated_before_the_function():
    # The argument resumes h to its end; the function then sees h as stale.
    text = "let h = spawn (yield; 1) in (resume h; \\x -> x) (resume h)"
    assert agreed(text) == Outcome("runtime error", "1:30: fiber resumed twice: fiber #1's handle was already resumed")


def test_integers_wrap_around():
    # 2^63 wraps to -2^63; -(-2^63) is -2^63 again; 1.6e19 - 2^64 = -2446744073709551616.
    text = "{9223372036854775807 + 1, -(-9223372036854775807 - 1), 4000000000 * 4000000000}"
    assert agreed(text) == Outcome("value", "{-9223372036854775808, -9223372036854775808, -2446744073709551616}")


def test_a_fiber_of_a_function_prints_its_type_as_co_writes_it():
    assert agreed("let x = 5 in spawn (\\y -> y + x)") == Outcome(
        "value", "Fiber (int -[lam {x: int}]-> int) (`Done lam {x, 5})")
    # Inside a tuple, and inside a closure's captures (the set of g is {lam}, whose captures hold h).
    assert agreed("let h = spawn (\\y -> y) in {1, \\z -> stat h | `Pending -> z | `Done g -> g (z + 1)}") == Outcome(
        "value", "{1, lam1 {h, Fiber (int -[lam {}]-> int) (`Done lam {})}}")


def test_closures_print_their_captures_in_order():
    assert agreed("let x = 5 in let y = true in \\n -> if y then x else n") == Outcome("value", "lam {y, true, x, 5}")


def test_stat_on_an_old_handle_reports_what_it_said_when_made():
    text = "let a = spawn (yield; 7) in let b = resume a in {stat a | `Pending -> 0 | `Done v -> v, stat b | `Pending -> 0 | `Done v -> v}"
    assert agreed(text) == Outcome("value", "{0, 7}")


def test_yield_on_main_does_nothing_and_a_fiber_yields_inside_nested_calls():
    # deep yields twice from inside two calls; main's own yields do nothing.
    text = ("let deep = \\n -> (\\m -> yield; m + 1) (yield; n) in "
            "let h = spawn (deep 1) in yield; {stat resume (resume h) | `Pending -> 0 | `Done v -> v, h}")
    assert agreed(text) == Outcome("value", "{2, Fiber int `Pending}")


def test_a_fiber_resumed_by_another_fiber_returns_to_that_fiber():
    # middle resumes w to its second yield and ends with the handle; main finishes w.
    text = ("let w = spawn (yield; yield; 5) in let middle = spawn (resume w) in "
            "stat middle | `Pending -> 0 | `Done w2 -> (stat resume w2 | `Pending -> 1 | `Done v -> v)")
    assert agreed(text) == Outcome("value", "5")


def test_running_out_of_fuel_is_a_runtime_error_of_its_own_kind():
    program = steps_of("countdown")["infer"].output
    assert outcome(lambda: InterpTyped(program, fuel=1000).run()).kind == "out of fuel"


# -- what makes the layout interpreter more than defunc's again -----------------------------


def overlap_the_second_local(program: layout.Program) -> layout.Program:
    """Main's body `let a = 1 in let b = 2 in a - b` with b put in a's cell."""
    main = program.procs[0]
    outer = main.body
    inner = dataclasses.replace(outer.body, offset=outer.offset)
    return dataclasses.replace(program, procs=(dataclasses.replace(main, body=dataclasses.replace(outer, body=inner)),))


def test_layout_interpreter_reads_variables_from_their_cells():
    program = steps_of_text("let a = 1 in let b = 2 in a - b")["tailcall"].output
    assert InterpLayout(program).run() == "-1"
    # b is written over a, and read from its own cell, which nothing wrote: 2 - 0.
    assert InterpLayout(overlap_the_second_local(program)).run() == "2"


def test_layout_interpreter_refuses_a_tail_call_outside_tail_position():
    program = steps_of_text("let rec f = \\n -> if n < 1 then 0 else f (n - 1) + 1 in f 3")["tailcall"].output
    proc = program.procs[1]
    call = proc.body.else_.left
    assert isinstance(call, layout.Call) and call.proc == "f"
    marked = dataclasses.replace(proc.body, else_=dataclasses.replace(proc.body.else_, left=dataclasses.replace(call, tail=True)))
    broken = dataclasses.replace(program, procs=(program.procs[0], dataclasses.replace(proc, body=marked)))
    with pytest.raises(InterpError, match="tailcall f is not in tail position"):
        InterpLayout(broken).run()


def steps_of_text(text: str):
    steps, failed = compile_stages(text, "t.co")
    assert failed is None, str(failed)
    return {step.pass_.name: step for step in steps}
