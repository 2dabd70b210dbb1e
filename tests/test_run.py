"""`python -m passes PROG.co` end to end, as a user runs it: values, stats, runtime errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from passes.driver import main
from passes.framework.registry import DEFAULT_PIPELINE

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# Worked out by hand from LANGUAGE.md.
EXPECTED = {
    "chain": "{500500, 5055}",  # 1 + 2 + ... + 1000; 5 + (1 + 2 + ... + 100)
    "church": "{3, 9, 20}",  # (2 + 1) incs from 0; 3 * 3; (2 + 3) * 2 incs from 10
    # inc (dbl (inc 5)); dbl (dbl (dbl 1)); k prints as a closure does, boxed or not
    "compose": "{13, 8, lam1 {f, inc {}, g, dbl {}}}",
    "countdown": "5000050000",  # 1 + 2 + ... + 100000
    "curry": "{123, 63, 456}",  # 1*100+2*10+3, (7*3)*3, 4*100+5*10+6
    "dispatch": "{7, 13, 20}",  # 2+5, 2+5+6, 2+5+6+7
    "fib_fiber": "{6765, 21891}",  # fib 20; one resume per call: 2*fib(21) - 1
    # a is the handle from the first yield; b = resume a, after which child returns {1, 2}
    "handles": "{Fiber {int; int} `Pending, Fiber {int; int} (`Done {1, 2})}",
    # relay resumes w past its first yield (spawn ran it to the first) to its second,
    # so middle is done with a pending w2; resuming w2 finishes worker: 21 * 2
    "pingpong": "{42, true}",
}


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--no-color"])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_example_is_expected():
    assert sorted(p.stem for p in EXAMPLES.glob("*.co")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_prints_its_value(capsys, name):
    code, out, err = run_cli(capsys, str(EXAMPLES / f"{name}.co"))
    assert (code, out, err) == (0, EXPECTED[name] + "\n", "")


def test_values_captured_by_a_spawn_are_the_right_ones(capsys, tmp_path):
    program = tmp_path / "spawn.co"
    program.write_text("let child = \\n -> n + 5 in let x = 10 in let y = 20 in "
                       "stat spawn (child (x + y)) | `Pending -> 0 | `Done n -> n")
    assert run_cli(capsys, str(program))[:2] == (0, "35\n")  # 10 + 20 + 5


def test_a_curried_recursive_function_runs(capsys, tmp_path):
    program = tmp_path / "add.co"
    program.write_text("let rec add = \\a -> \\b -> if a == 0 then b else add (a - 1) (b + 1) in add 3 4")
    assert run_cli(capsys, str(program))[:2] == (0, "7\n")


def test_a_second_resume_is_a_runtime_error_at_its_site(capsys, tmp_path):
    program = tmp_path / "twice.co"
    program.write_text("let w = \\n -> yield; n in\nlet a = spawn (w 1) in\nlet b = resume a in\nresume a\n")
    code, out, err = run_cli(capsys, str(program))
    assert code == 3
    assert out == ""
    assert err.startswith(f"{program}:4:1: runtime error: fiber resumed twice")
    assert "    4 | resume a\n" in err
    assert "Traceback" not in err


def test_resuming_a_done_handle_returns_it_unchanged(capsys, tmp_path):
    program = tmp_path / "done.co"
    program.write_text("let d = spawn 5 in let e = resume d in let f = resume d in {e, f}")
    assert run_cli(capsys, str(program))[:2] == (0, "{Fiber int (`Done 5), Fiber int (`Done 5)}\n")


def test_yield_on_main_does_nothing(capsys, tmp_path):
    program = tmp_path / "main_yield.co"
    program.write_text("yield; yield; 3")
    assert run_cli(capsys, str(program))[:2] == (0, "3\n")


def test_the_program_ends_when_main_ends(capsys, tmp_path):
    program = tmp_path / "pending.co"
    program.write_text("let f = spawn (yield; yield; 1) in 2")
    assert run_cli(capsys, str(program))[:2] == (0, "2\n")


def test_stats_are_counted(capsys):
    code, out, err = run_cli(capsys, str(EXAMPLES / "fib_fiber.co"), "--stats")
    assert code == 0
    counts = dict(line.rsplit(None, 1) for line in err.splitlines())
    # 21891 calls of fib, each yields once and is resumed once (see EXPECTED);
    # one more call for exec's first round (its loop is a tail call), one fiber.
    assert counts["yields"] == "21891"
    assert counts["resumes"] == "21891"
    assert counts["fibers created"] == "1"
    assert counts["calls"] == "21892"
    # The fib fiber is freed when it finishes; it and main were alive together.
    assert counts["fibers freed"] == "1"
    assert counts["most fibers alive"] == "2"


def test_stats_are_the_same_on_every_run(capsys):
    runs = [run_cli(capsys, str(EXAMPLES / "fib_fiber.co"), "--stats") for _ in range(2)]
    assert runs[0] == runs[1]


def test_a_long_tail_loop_needs_no_more_stack_than_a_short_one(capsys, tmp_path):
    def depth(n: int) -> int:
        program = tmp_path / f"loop{n}.co"
        program.write_text(f"let rec loop = \\n -> if n == 0 then 0 else loop (n - 1) in loop {n}")
        code, out, err = run_cli(capsys, str(program), "--stats")
        assert (code, out) == (0, "0\n")
        return int(dict(line.rsplit(None, 1) for line in err.splitlines())["max stack depth"])

    assert depth(1_000_000) == depth(10)


def test_deep_non_tail_recursion_works(capsys, tmp_path):
    program = tmp_path / "deep.co"
    program.write_text("let rec sum = \\n -> if n == 0 then 0 else n + sum (n - 1) in sum 100000")
    assert run_cli(capsys, str(program))[:2] == (0, "5000050000\n")


@pytest.mark.parametrize("pass_name", DEFAULT_PIPELINE)
def test_stop_after_every_pass_prints_its_ir(capsys, pass_name):
    code, out, err = run_cli(capsys, str(EXAMPLES / "dispatch.co"), "--stop-after", pass_name)
    assert (code, err) == (0, "")
    expected_start = {"parse": "let x = 5 in", "infer": "let x : int = 5 in", "defunc": "proc Main",
                      "closure-layout": "proc Main", "tailcall": "proc Main", "emit": "result {int; int; int}",
                      "thread-jumps": "result {int; int; int}", "peephole": "result {int; int; int}",
                      "to-python": "# python IR: result {int; int; int}, entry main"}
    assert out.startswith(expected_start[pass_name])


def test_a_printed_blocks_listing_runs_when_written_by_hand(tmp_path):
    """The blocks listing is a format a user can write: one proc, 2 * 21."""
    listing = tmp_path / "answer.blocks"
    listing.write_text("result int\nmain Main\n\nproc Main arg=0 captures=0 ret=1 frame=0\nMain:\n"
                       "    push 21\n    push 2\n    mul\n    store -3\n    ret\n")
    from ir.blocks import IR
    import machine

    program = IR.parser(listing.read_text(), str(listing))
    assert machine.show_value(machine.run(program).cells, program.result_type) == "42"


def test_no_call_targets_anything_but_a_procedure():
    from ir.blocks import Call, Spawn
    from tests.pipeline_runs import example_names, run_example

    for name in example_names():
        program = run_example(name)["blocks"].program
        procs = {p.name for p in program.procs}
        for proc in program.procs:
            for block in proc.blocks:
                for instr in block.instrs:
                    if isinstance(instr, (Call, Spawn)):
                        assert instr.proc in procs


def test_the_module_runs_as_a_script():
    done = subprocess.run([sys.executable, "-m", "passes", str(EXAMPLES / "dispatch.co")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert (done.returncode, done.stdout) == (0, "{7, 13, 20}\n")


def test_procedures_that_may_yield():
    from ir.blocks import procs_that_may_yield
    from tests.pipeline_runs import run_example

    # fib yields; Spawn calls fib; exec only resumes, and Main only spawns and calls exec.
    assert procs_that_may_yield(run_example("fib_fiber")["blocks"].program) == {"fib", "Spawn"}
    # worker yields; relay only resumes; Spawn1 calls relay, Spawn calls worker.
    assert procs_that_may_yield(run_example("pingpong")["blocks"].program) == {"worker", "Spawn"}
    assert procs_that_may_yield(run_example("dispatch")["blocks"].program) == frozenset()


def test_a_blocks_file_runs_through_the_command_line(capsys, tmp_path):
    listing = tmp_path / "answer.blocks"
    listing.write_text("result int\nmain Main\n\nproc Main arg=0 captures=0 ret=1 frame=0\nMain:\n"
                       "    push 21\n    push 2\n    mul\n    store -3\n    ret\n")
    assert run_cli(capsys, str(listing))[:2] == (0, "42\n")


def test_a_printed_listing_runs_to_the_same_value(capsys, tmp_path):
    code, listing, _ = run_cli(capsys, str(EXAMPLES / "fib_fiber.co"), "--stop-after", "emit")
    path = tmp_path / "fib_fiber.blocks"
    path.write_text(listing)
    assert run_cli(capsys, str(path))[:2] == (0, EXPECTED["fib_fiber"] + "\n")


def test_a_broken_hand_written_listing_is_a_compile_error(capsys, tmp_path):
    listing = tmp_path / "bad.blocks"
    listing.write_text("result int\nmain Main\n\nproc Main arg=0 captures=0 ret=1 frame=0\nMain:\n"
                       "    push 1\n    store -3\n    jmp Nowhere\n")
    code, out, err = run_cli(capsys, str(listing))
    assert code == 1
    assert "jumps to Nowhere" in err
    assert "bug" not in err and "Traceback" not in err
