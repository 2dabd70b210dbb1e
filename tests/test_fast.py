"""The fast backend (to-python, then machine.fast) against the VM and against values worked out by hand."""

from __future__ import annotations

import dataclasses
import gc
import os
import subprocess
import sys
import types
import weakref
from pathlib import Path

import pytest

from ir import VerifyError
from ir import python as P
from ir.ints import INT_MAX, INT_MIN
from ir.source import Source
from machine import fast
from passes.driver import main
from passes.framework.pipeline import Pipeline
from passes.framework.registry import DEFAULT_PIPELINE, Registry
from passes.to_python.control import ProcCompiler
from tests.test_run import EXPECTED

ROOT = Path(__file__).resolve().parent.parent


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--no-color"])
    out, err = capsys.readouterr()
    return code, out, err


def both(capsys, tmp_path, text: str, suffix: str = ".co") -> tuple[int, str, str]:
    """The outcome on the fast backend, checked to be the VM's, byte for byte."""
    program = tmp_path / f"prog{suffix}"
    program.write_text(text)
    fast_run = run_cli(capsys, str(program))
    vm_run = run_cli(capsys, str(program), "--backend", "vm")
    assert fast_run == vm_run
    return fast_run


def python_ir(text: str) -> P.Program:
    return Pipeline.from_names(list(DEFAULT_PIPELINE), Registry()).run(Source("test.co", text), verify_each=True)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_example_prints_its_value_on_both_backends(capsys, name):
    path = str(ROOT / "examples" / f"{name}.co")
    assert run_cli(capsys, path) == (0, EXPECTED[name] + "\n", "")
    assert run_cli(capsys, path, "--backend", "vm") == (0, EXPECTED[name] + "\n", "")


# -- 64-bit integers --------------------------------------------------------------

MAX, MIN = str(INT_MAX), f"(-{INT_MAX} - 1)"


@pytest.mark.parametrize(("text", "expected"), [
    (f"{MAX} + 1", str(INT_MIN)),
    (f"{MIN} - 1", str(INT_MAX)),
    (f"-{MIN}", str(INT_MIN)),  # 2^63 wraps back to -2^63
    ("4294967296 * 4294967296", "0"),  # 2^64
    ("3037000500 * 3037000500", "-9223372036709301616"),  # 9223372037000250000 - 2^64
    (f"{MIN} * -1", str(INT_MIN)),
    (f"{MAX} * {MAX}", "1"),  # (2^63 - 1)^2 = 2^126 - 2^64 + 1
    (f"{MAX} + 1 < 0", "true"),  # compared right after the overflow
    (f"{MAX} + 1 == {MIN}", "true"),
    (f"0 < {MIN} - 1", "true"),
    # Values through calls, which may return unwrapped sums (see passes/to_python.py):
    (f"let f = \\x -> x + 1 in f {MAX} < 0", "true"),
    (f"let f = \\x -> x + 1 in {{f {MAX}, f {MAX} == {MIN}}}", f"{{{INT_MIN}, true}}"),
    # 3 (2^63 - 1) = 2^64 + 2^63 - 3, which wraps to 2^63 - 3.
    (f"let rec s = \\n -> if n == 0 then 0 else {MAX} + s (n - 1) in {{s 3, s 3 < 0, s 2 == -2}}",
     "{9223372036854775805, false, true}"),
    # A loop carrying an overflowing sum: 2^62 added four times is 2^64, which is 0.
    ("let rec loop = \\t -> if t.0 == 0 then t.1 else loop {t.0 - 1, t.1 + 4611686018427387904} in loop {4, 0}",
     "0"),
    # The same sum returned through a fiber.
    ("stat spawn (4611686018427387904 + 4611686018427387904) | `Pending -> 0 | `Done v -> v", str(INT_MIN)),
])
def test_integers_wrap_at_64_bits_on_both_backends(capsys, tmp_path, text, expected):
    assert both(capsys, tmp_path, text) == (0, expected + "\n", "")


# -- fibers -------------------------------------------------------------------------


def test_a_second_resume_fails_with_the_vms_message_and_site(capsys, tmp_path):
    code, out, err = both(capsys, tmp_path, "let w = \\n -> yield; n in\nlet a = spawn (w 1) in\n"
                                            "let b = resume a in\nresume a\n")
    assert (code, out) == (3, "")
    assert err.startswith(f"{tmp_path / 'prog.co'}:4:1: runtime error: "
                          "fiber resumed twice: fiber #1's handle was already resumed\n")


def test_a_second_resume_inside_a_fiber_names_that_fiber(capsys, tmp_path):
    # Fiber #1 spawns #2 and resumes its first handle twice.
    text = ("let w = \\n -> yield; yield; n in\n"
            "let outer = \\u -> let a = spawn (w 1) in let b = resume a in resume a in\n"
            "spawn (outer 0)\n")
    code, out, err = both(capsys, tmp_path, text)
    assert (code, out) == (3, "")
    assert ":2:62: runtime error: fiber resumed twice: fiber #2's handle was already resumed" in err


def test_resuming_a_finished_fibers_old_handle_is_a_second_resume(capsys, tmp_path):
    code, _, err = both(capsys, tmp_path, "let a = spawn (yield; 1) in let b = resume a in resume a")
    assert code == 3 and "fiber resumed twice: fiber #1's handle" in err


def test_fibers_resumed_by_other_fibers(capsys, tmp_path):
    # worker yields twice; relay (fiber #2) resumes it past its first yield,
    # then main resumes it through the handle relay returned.
    text = ("let worker = \\n -> yield; yield; n * 2 in\n"
            "let w = spawn (worker 21) in\n"
            "let relay = \\f -> resume f in\n"
            "let middle = spawn (relay w) in\n"
            "stat middle | `Pending -> 0 | `Done w2 -> (stat resume w2 | `Pending -> 1 | `Done v -> v)\n")
    assert both(capsys, tmp_path, text) == (0, "42\n", "")


def test_a_fiber_resuming_a_fiber_it_spawned(capsys, tmp_path):
    # outer spawns inner, which yields; outer yields, then resumes inner to its end.
    text = ("let inner = \\n -> yield; n + 1 in\n"
            "let outer = \\n -> let h = spawn (inner n) in yield; "
            "stat resume h | `Pending -> 0 | `Done v -> v * 10 in\n"
            "let o = spawn (outer 4) in\n"
            "stat resume o | `Pending -> 0 | `Done v -> v\n")
    assert both(capsys, tmp_path, text) == (0, "50\n", "")


def test_stat_on_old_handles_reports_what_they_said(capsys, tmp_path):
    text = ("let c = \\n -> yield; n in let a = spawn (c 7) in let b = resume a in\n"
            "{stat a | `Pending -> 0 | `Done v -> v, stat b | `Pending -> 0 | `Done v -> v, a, b}\n")
    assert both(capsys, tmp_path, text) == (0, "{0, 7, Fiber int `Pending, Fiber int (`Done 7)}\n", "")


def test_yields_inside_nested_calls(capsys, tmp_path):
    # Each call of f yields once before calling g, which yields once: 2 * 3 yields, 6 resumes.
    text = ("let g = \\n -> yield; n in\n"
            "let rec f = \\n -> yield; if n == 0 then 0 else g n + f (n - 1) in\n"
            "let rec drive = \\s -> stat s.0 | `Pending -> drive {resume s.0, s.1 + 1} | `Done v -> {v, s.1} in\n"
            "drive {spawn (f 3), 0}\n")
    assert both(capsys, tmp_path, text) == (0, "{6, 7}\n", "")  # 3 + 2 + 1; f 0 yields a 7th time


def test_a_fiber_yields_through_deep_calls_and_the_trampoline(capsys, tmp_path):
    # Deeper than machine.fast.CHAIN_DEPTH: the calls below it run on the trampoline.
    depth = 3 * fast.CHAIN_DEPTH + 5
    text = ("let rec f = \\n -> if n == 0 then (yield; 1) else 1 + f (n - 1) in\n"
            "let rec drive = \\s -> stat s.0 | `Pending -> drive {resume s.0, s.1 + 1} | `Done v -> {v, s.1} in\n"
            f"drive {{spawn (f {depth}), 0}}\n")
    assert both(capsys, tmp_path, text) == (0, f"{{{depth + 1}, 1}}\n", "")


SUM = "let rec sum = \\n -> if n == 0 then 0 else n + sum (n - 1) in "
SUM_YIELDING = "let rec sum = \\n -> yield; if n == 0 then 0 else n + sum (n - 1) in "


def test_deep_recursion_in_main(capsys, tmp_path):
    assert both(capsys, tmp_path, SUM + "sum 100000") == (0, "5000050000\n", "")


def test_deep_recursion_in_a_fiber_that_yields_at_every_level(capsys, tmp_path):
    text = (SUM_YIELDING + "let rec drive = \\s -> stat s.0 | `Pending -> drive {resume s.0, s.1 + 1} "
            "| `Done v -> {v, s.1} in drive {spawn (sum 100000), 0}")
    assert both(capsys, tmp_path, text) == (0, "{5000050000, 100001}\n", "")  # 100,001 calls, one yield each


def test_deep_recursion_in_a_fiber_that_never_yields(capsys, tmp_path):
    text = SUM + "stat spawn (sum 100000) | `Pending -> 0 | `Done v -> v"
    assert both(capsys, tmp_path, text) == (0, "5000050000\n", "")


def test_a_recursion_too_deep_for_python_is_a_clean_runtime_error(capsys, tmp_path):
    program = tmp_path / "deep.co"
    program.write_text(SUM + f"sum {fast.RECURSION_LIMIT + 1000}")
    code, out, err = run_cli(capsys, str(program))
    assert (code, out) == (3, "")
    assert "runtime error: the program recursed deeper than the fast backend allows" in err
    assert "Traceback" not in err


# -- names ------------------------------------------------------------------------


def test_hostile_names_reach_python_rewritten(capsys, tmp_path):
    text = ("let x' = 1 in let f' = \\y -> y + x' in let wrap = \\x -> x * 2 in let def = \\x -> x - 1 in\n"
            "let t_1 = \\x -> x + 10 in let arg = \\x -> x in let x__class__ = \\x -> x in\n"
            "{f' 2, wrap 3, def 4, t_1 5, arg 6, x__class__ 7}\n")
    assert both(capsys, tmp_path, text) == (0, "{3, 6, 3, 15, 6, 7}\n", "")
    program = python_ir(text)
    names = [proc.python_name for proc in program.procs]
    assert all(P.is_safe_name(name) for name in names) and len(set(names)) == len(names)
    assert "f_v2" not in names and "f" in names  # f' is spelled f; wrap, def, t_1, arg are renamed
    assert {"wrap", "def", "t_1", "arg"}.isdisjoint(names)


def test_the_verifier_rejects_a_string_constant():
    program = python_ir("1")
    (main_proc,) = program.procs
    bad = dataclasses.replace(main_proc, source="def main():\n    return 'rm -rf'\n")
    with pytest.raises(VerifyError) as error:
        P.verify(dataclasses.replace(program, procs=(bad,)))
    assert error.value.rule == "safe-constants"


def test_the_verifier_rejects_a_dunder_attribute_and_unknown_names():
    program = python_ir("1")
    (main_proc,) = program.procs
    for source, rule in (("def main():\n    return wrap.__globals__\n", "allowed-syntax"),
                         ("def main():\n    return __import__(1)\n", "safe-names"),
                         ("def main():\n    return nowhere(1)\n", "known-names"),
                         ("def main():\n    wrap = 1\n    return wrap\n", "known-names")):
        bad = dataclasses.replace(main_proc, source=source)
        with pytest.raises(VerifyError) as error:
            P.verify(dataclasses.replace(program, procs=(bad,)))
        assert error.value.rule == rule, source


def test_the_verifier_allows_indexing_only_a_local_by_a_constant_and_catching_only_the_runtimes_exceptions():
    program = python_ir("1")
    (main_proc,) = program.procs
    for source, rule in (("def main():\n    return wrap[0]\n", "safe-subscripts"),
                         ("def main():\n    t_1 = [1]\n    return t_1[t_1]\n", "safe-subscripts"),
                         ("def main():\n    t_1 = [1]\n    return t_1[-1]\n", "safe-subscripts"),
                         ("def main():\n    t_1 = [1]\n    return t_1.pop\n", "allowed-syntax"),
                         ("def main():\n    try:\n        wrap(1)\n    except wrap:\n        pass\n",
                          "known-exceptions"),
                         ("def main():\n    try:\n        wrap(1)\n    except stop_iteration as __class__:\n"
                          "        pass\n", "known-exceptions"),
                         ("def main():\n    try:\n        wrap(1)\n    finally:\n        pass\n",
                          "allowed-syntax")):
        bad = dataclasses.replace(main_proc, source=source)
        with pytest.raises(VerifyError) as error:
            P.verify(dataclasses.replace(program, procs=(bad,)))
        assert error.value.rule == rule, source
    good = ("def main():\n    t_1 = [wrap, 0]\n    t_1[1] = None\n    try:\n        next(t_1[0])\n"
            "    except stop_iteration as t_2:\n        return result_of(t_2)\n    except cannot_resume:\n"
            "        return t_1[1]\n")
    P.verify(dataclasses.replace(program, procs=(dataclasses.replace(main_proc, source=good),)))


def test_the_printed_python_ir_reads_back():
    program = python_ir((ROOT / "examples" / "fib_fiber.co").read_text())
    text = P.print_program(program)
    assert P.parse_program(text, "fib_fiber.python") == program


def test_the_generated_source_does_not_depend_on_the_hash_seed():
    script = ("import sys; sys.setrecursionlimit(100000)\n"
              "from tests.test_fast import python_ir, ROOT\nfrom ir import python\n"
              "for name in ('dispatch', 'fib_fiber', 'curry', 'pingpong'):\n"
              "    print(python.print_program(python_ir((ROOT / 'examples' / f'{name}.co').read_text())))\n")
    outputs = {subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(outputs) == 1



def test_callees_are_compiled_before_their_callers_so_each_proc_once(monkeypatch):
    """f returns an unwrapped sum, which g must check before comparing it:
    compiled first, f is known to do so before g and Main are compiled, and
    nothing is compiled twice."""
    compiled = []
    compile_proc = ProcCompiler.compile
    monkeypatch.setattr(ProcCompiler, "compile", lambda self: compiled.append(self.proc.name) or compile_proc(self))
    program = python_ir("let f = \\x -> x + 1 in let g = \\y -> if f y < 5 then 1 else 2 in g 1 + f 2")
    assert compiled == ["f", "g", "Main"]
    g = next(proc for proc in program.procs if proc.name == "g")
    assert "wrap(" in g.source

# -- blocks listings ----------------------------------------------------------------

HEADER = "result int\nmain Main\n\n"


def test_a_hand_written_listing_runs_on_the_fast_backend(capsys, tmp_path):
    listing = HEADER + "proc Main arg=0 captures=0 ret=1 frame=0\nMain:\n    push 21\n    push 2\n    mul\n" \
                       "    store -3\n    ret\n"
    assert both(capsys, tmp_path, listing, ".blocks") == (0, "42\n", "")


# fp[1] += the cell on top; fp[0] -= 1.
ADD_AND_COUNT_DOWN = "    push fp[1]\n    add\n    store 1\n    push 1\n    push fp[0]\n    sub\n    store 0\n"


def test_a_listing_with_a_loop_in_the_middle_runs_as_a_while_loop(capsys, tmp_path):
    # Sums 5 + 4 + 3 + 2 + 1 in a loop back to a block that is not the entry.
    listing = HEADER + f"""proc Main arg=0 captures=0 ret=1 frame=2
Main:
    spadd 2
    push 5
    store 0
    jmp Main.test
Main.test:
    push 0
    push fp[0]
    eq
    jmpz Main.body
    jmp Main.end
Main.body:
    push fp[0]
{ADD_AND_COUNT_DOWN}    jmp Main.test
Main.end:
    push fp[1]
    store -3
    ret
"""
    assert both(capsys, tmp_path, listing, ".blocks") == (0, "15\n", "")
    code, out, _ = run_cli(capsys, str(tmp_path / "prog.blocks"), "--stop-after", "to-python")
    assert code == 0 and "    while True:\n        if loc_0 == 0:\n            return loc_1\n" in out
    assert "label" not in out and "continue" not in out  # the body's end goes back to the test


def test_a_loop_with_two_ways_in_runs_as_a_dispatch_loop(capsys, tmp_path):
    # Blocks a and b jump to each other, and the entry may jump to either: an
    # irreducible loop. n = 5, 4, ... alternates: a adds 10 n, b adds n: 50 + 4 + 30 + 2 + 10.
    step = ADD_AND_COUNT_DOWN + "    push fp[0]\n    jmpz Main.end\n"
    listing = HEADER + f"""proc Main arg=0 captures=0 ret=1 frame=2
Main:
    spadd 2
    push 5
    store 0
    push fp[0]
    jmpz Main.b
    jmp Main.a
Main.a:
    push 10
    push fp[0]
    mul
{step}    jmp Main.b
Main.b:
    push fp[0]
{step}    jmp Main.a
Main.end:
    push fp[1]
    store -3
    ret
"""
    assert both(capsys, tmp_path, listing, ".blocks") == (0, "96\n", "")
    code, out, _ = run_cli(capsys, str(tmp_path / "prog.blocks"), "--stop-after", "to-python")
    assert code == 0 and "    label = 0\n    while True:\n        if label == 0:\n" in out


def test_a_listing_reading_its_return_slot_gets_the_callers_cells(capsys, tmp_path):
    # P returns its return slot's cell plus 1: the caller put 41 there.
    listing = HEADER + """proc Main arg=0 captures=0 ret=1 frame=0
Main:
    push 41
    call P
    store -3
    ret

proc P arg=0 captures=0 ret=1 frame=0
P:
    push 1
    push fp[-3]
    add
    store -3
    ret
"""
    assert both(capsys, tmp_path, listing, ".blocks") == (0, "42\n", "")


def test_computing_with_an_argument_cell_the_callee_changed_is_refused(capsys, tmp_path):
    # P stores 9 over its argument: the VM's Main adds 1 to that 9. The fast
    # backend does not give a callee's argument cells back, so it refuses this
    # (emit only ever copies such a cell as a closure's padding).
    listing = HEADER + "proc Main arg=0 captures=0 ret=1 frame=0\nMain:\n    push 3\n    call P\n" \
                       "    push fp[0]\n    push 1\n    add\n    store -3\n    spsub 1\n    ret\n\n" \
                       "proc P arg=1 captures=0 ret=0 frame=0\nP:\n    push 9\n    store -3\n    ret\n"
    program = tmp_path / "prog.blocks"
    program.write_text(listing)
    assert run_cli(capsys, str(program), "--backend", "vm") == (0, "10\n", "")
    code, out, err = run_cli(capsys, str(program))
    assert (code, out) == (1, "") and "proc Main computes with an argument cell of a call" in err


def test_a_jump_table_index_out_of_range_is_the_vms_fault(capsys, tmp_path):
    listing = HEADER + "proc Main arg=0 captures=0 ret=1 frame=0\nMain:\n    push 3\n    jmprel1 Main.a Main.b\n" \
                       "Main.a:\n    push 1\n    store -3\n    ret\nMain.b:\n    push 2\n    store -3\n    ret\n"
    code, _, err = both(capsys, tmp_path, listing, ".blocks")
    assert code == 3 and "jump table index 3 is out of range (the table has 2 entries)" in err


def test_forged_handles_fail_as_on_the_vm(capsys, tmp_path):
    # A pending handle to fiber #7, made of integers, before any fiber exists.
    listing = "result {}\nmain Main\n\nproc Main arg=0 captures=0 ret=0 frame=0\nMain:\n" \
              "    push 0\n    push 7\n    push 0\n    resume 0 @1:1\n    spsub 3\n    ret\n"
    code, _, err = both(capsys, tmp_path, listing, ".blocks")
    assert code == 3 and "resume of a handle to fiber #7, which does not exist" in err


def test_forged_handles_to_main_fail_as_on_the_vm(capsys, tmp_path):
    # fibidx 0 is main, which always runs; with a dirty count other than 0, the handle is stale.
    for dirty, fault in (("0", "fiber #0 is running, so it cannot be resumed"),
                         ("1", "fiber resumed twice: fiber #0's handle was already resumed")):
        listing = "result {}\nmain Main\n\nproc Main arg=0 captures=0 ret=0 frame=0\nMain:\n" \
                  f"    push {dirty}\n    push 0\n    push 0\n    resume 0 @1:1\n    spsub 3\n    ret\n"
        code, _, err = both(capsys, tmp_path, listing, ".blocks")
        assert code == 3 and fault in err


FIBER_P = "\nproc P arg=0 captures=0 ret=1 frame=0\nP:\n    yield\n    push 7\n    store -3\n    ret\n"


def test_a_handle_resumed_as_of_another_size_fails_as_on_the_vm(capsys, tmp_path):
    # P's handle (dirty, fiber, value, bit), with one more value cell: a result of 2 cells.
    listing = "result {}\nmain Main\n\nproc Main arg=0 captures=0 ret=0 frame=4\nMain:\n    spadd 4\n" \
              "    spawn P args=0 ret=1\n    store 3\n    store 2\n    store 1\n    store 0\n" \
              "    push fp[0]\n    push fp[1]\n    push 0\n    push fp[2]\n    push fp[3]\n    resume 2 @2:5\n" \
              "    spsub 5\n    ret\n" + FIBER_P
    code, _, err = both(capsys, tmp_path, listing, ".blocks")
    assert code == 3 and ":2:5: runtime error: resume expects a result of 2 cells, but fiber #1 returns 1" in err


def test_what_a_listing_cannot_do_with_fibers_on_the_fast_backend(capsys, tmp_path):
    # Resuming fiber #1 by a handle made of integers, and adding 1 to a fibidx:
    # the VM does both (fibers by number); the fast backend holds fibers by
    # reference, and says so.
    by_number = "result {}\nmain Main\n\nproc Main arg=0 captures=0 ret=0 frame=0\nMain:\n" \
                "    spawn P args=0 ret=1\n    spsub 4\n    push 0\n    push 1\n    push 0\n    push 0\n" \
                "    resume 1 @1:1\n    spsub 4\n    ret\n" + FIBER_P
    computing = "result int\nmain Main\n\nproc Main arg=0 captures=0 ret=1 frame=0\nMain:\n" \
                "    spawn P args=0 ret=1\n    spsub 2\n    push 1\n    add\n    store -3\n    spsub 1\n" \
                "    ret\n" + FIBER_P
    for listing, vm_out, fault in (
            (by_number, "{}\n", "1:1: runtime error: resume of a handle to fiber #1 made of integers: the fast "
                                "backend finds a fiber only through a handle that spawn or resume made"),
            (computing, "2\n", "runtime error: the program computes with a fiber handle's fibidx")):
        program = tmp_path / "prog.blocks"
        program.write_text(listing)
        assert run_cli(capsys, str(program), "--backend", "vm") == (0, vm_out, "")
        code, out, err = run_cli(capsys, str(program))
        assert (code, out) == (3, "") and fault in err and "Traceback" not in err


# -- fibers are freed by reference counting --------------------------------------------


def most_fibers_alive(text: str) -> int:
    """The most fiber generators alive at once while the program runs with
    the cyclic collector off (as the driver runs it): counted through the
    runtime's next(), which sees every fiber's generator."""
    program = python_ir(text)
    namespace = fast.load(program)
    alive: weakref.WeakSet = weakref.WeakSet()
    most = 0

    def watching_next(iterator):
        nonlocal most
        if isinstance(iterator, types.GeneratorType):
            alive.add(iterator)
            most = max(most, len(alive))
        return next(iterator)

    namespace["next"] = watching_next
    collecting = gc.isenabled()
    gc.disable()
    try:
        namespace[program.main]()
    finally:
        if collecting:
            gc.enable()
    return most


def test_a_pending_fiber_nothing_refers_to_is_freed_at_once():
    dropped = "let rec loop = \\n -> if n == 0 then 0 else (spawn (yield; n); loop (n - 1)) in loop 10000"
    assert most_fibers_alive(dropped) <= 2
    # Resumed once, then dropped with both its handles, the stale one and the fresh one.
    resumed = ("let rec loop = \\n -> if n == 0 then 0 else "
               "(let a = spawn (yield; yield; n) in let b = resume a in loop (n - 1)) in loop 10000")
    assert most_fibers_alive(resumed) <= 2


def test_a_pending_fiber_lives_while_a_handle_to_it_does():
    # Each level of the recursion holds its fiber's handle until the level returns.
    kept = ("let rec keep = \\n -> if n == 0 then 0 else "
            "let h = spawn (yield; n) in keep (n - 1) + (stat h | `Pending -> 1 | `Done v -> v) in keep 1000")
    assert most_fibers_alive(kept) >= 1000


# -- the driver ---------------------------------------------------------------------


def test_stats_and_fuel_run_on_the_vm_and_refuse_the_fast_backend(capsys):
    path = str(ROOT / "examples" / "countdown.co")
    code, out, err = run_cli(capsys, path, "--stats")
    assert code == 0 and out == "5000050000\n" and "instructions" in err
    code, out, err = run_cli(capsys, path, "--backend", "fast", "--fuel", "10")
    assert (code, out) == (2, "")
    assert "--fuel needs the instrumented VM: use --backend vm" in err


def test_a_pipeline_ending_in_blocks_runs_on_the_fast_backend(capsys):
    path = str(ROOT / "examples" / "curry.co")
    passes = ",".join(name for name in DEFAULT_PIPELINE if name != "to-python")
    assert run_cli(capsys, path, "-p", passes) == (0, EXPECTED["curry"] + "\n", "")


# A proc returning 1, so that a branch on it is not known when compiling.
ONE = """\
proc One arg=0 captures=0 ret=1 frame=0
One:
    push 1
    store -3
    ret

"""

ARITHMETIC_IN_ARMS = HEADER + ONE + """\
proc Main arg=0 captures=0 ret=1 frame=0
Main:
    push 5
    spadd 1
    call One
    jmpz Else
    jmp Then
Then:
    push 1
    add
    jmp Join
Else:
    push 2
    add
    jmp Join
Join:
    store -3
    ret
"""


def test_arithmetic_in_an_arm_overwrites_a_cell_pushed_before_the_branch(capsys, tmp_path):
    # The 5 is pushed before the branch and each arm adds to it: the cell
    # holds 6 at the join (One returns 1, so jmpz falls through to Then),
    # not the 5 it held before the branch.
    assert both(capsys, tmp_path, ARITHMETIC_IN_ARMS, ".blocks") == (0, "6\n", "")


SWAP_AT_A_JOIN = HEADER + ONE + """\
proc Two arg=0 captures=0 ret=1 frame=0
Two:
    push 2
    store -3
    ret

proc Main arg=0 captures=0 ret=1 frame=2
Main:
    spadd 2
    spadd 1
    call One
    spadd 1
    call Two
    spadd 1
    call One
    jmpz Main.x
    jmp Main.y
Main.x:
    jmp Main.swap
Main.y:
    jmp Main.swap
Main.swap:
    store 1
    store 0
    push fp[1]
    push fp[0]
    spadd 1
    call One
    jmpz Main.c
    jmp Main.d
Main.c:
    jmp Main.join
Main.d:
    jmp Main.join
Main.join:
    sub
    store -3
    ret
"""


def test_cells_swapped_before_a_join_move_through_a_temporary(capsys, tmp_path):
    # fp[2] = 1 and fp[3] = 2 meet at Main.swap in their own variables, which
    # swaps them through the locals; at Main.join each goes to the other's
    # variable, a cycle of two plain variables. Then sub: x (the top, now 1)
    # minus y (now 2) is -1; a swap that lost a value gave 0.
    assert both(capsys, tmp_path, SWAP_AT_A_JOIN, ".blocks") == (0, "-1\n", "")
