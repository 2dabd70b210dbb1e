"""The back end: defunc, closure-layout, tailcall and emit, and the programs
they produce run on the VM. Expected values are worked out by hand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ir import VerifyError, blocks, defunc, layout
from ir.blocks import Call, FpOffset, Imm, Jmp, Jmprel1, Push, Resume, Ret, SpAdd, SpRestoreFp, SpSub, Store
from ir.layout import Slot
from ir.types import cell_size
from ir.source import Source
from ir.types import BOOL, INT, UNIT, Capture, ClosureT, FiberT, FunT, LambdaMember, LambdaSet, TupleT
from passes.closure_layout import ClosureLayout
from passes.defunc import Defunc
from passes.emit import Emit
from passes.infer import Infer
from passes.parse import parse_program
from passes.tailcall import Tailcall

ROOT = Path(__file__).resolve().parent.parent


def compile_to(text: str, last: str = "emit"):
    """The program as the pass named `last` leaves it, every IR verified on the way."""
    program = Infer().run(parse_program(Source("test.co", text)))
    for step, verify in ((Defunc(), defunc.verify), (ClosureLayout(), layout.verify),
                         (Tailcall(), layout.verify), (Emit(), blocks.verify)):
        program = step.run(program)
        verify(program)
        if step.name == last:
            break
    return program


def run(text: str):
    import machine

    return machine.run(compile_to(text))


def value_of(text: str) -> str:
    import machine

    program = compile_to(text)
    return machine.show_value(machine.run(program).cells, program.result_type)


def example(name: str) -> str:
    return (ROOT / "examples" / f"{name}.co").read_text()


def proc(program, name: str):
    (found,) = [p for p in program.procs if p.name == name]
    return found


def closure(*members: tuple[str, tuple[Capture, ...]]) -> ClosureT:
    return ClosureT(LambdaSet.of(tuple(LambdaMember(n, c) for n, c in members)))


# -- sizes -------------------------------------------------------------------------


def test_sizes_of_types():
    assert cell_size(INT) == 1
    assert cell_size(BOOL) == 1
    assert cell_size(UNIT) == 0
    assert cell_size(TupleT((INT, TupleT((BOOL, INT)), UNIT))) == 3
    assert cell_size(FiberT(TupleT((INT, INT)))) == 5
    assert cell_size(FiberT(UNIT)) == 3
    one = closure(("f", (Capture("x", INT), Capture("t", TupleT((INT, INT))))))
    assert cell_size(one) == 3  # just the record: no tag
    several = closure(("g", (Capture("x", INT),)), ("h", (Capture("c", one), Capture("b", BOOL))), ("k", ()))
    assert cell_size(several) == 4 + 1  # h's record of 4, plus the tag
    assert cell_size(closure()) == 0


# -- defunc ------------------------------------------------------------------------


def test_lambdas_become_procedures_in_source_order():
    program = compile_to("let a = spawn (1) in let f = \\x -> x in let b = spawn (f 2) in {a, b}", "defunc")
    assert [p.name for p in program.procs] == ["Main", "Spawn", "f", "Spawn1"]
    assert proc(program, "Spawn1").captures == (Capture("f", closure(("f", ()))),)


def test_applications_become_calls_or_dispatches():
    program = compile_to(example("dispatch"), "defunc")
    text = defunc.print_program(program)
    assert "dispatch[lam | lam1 | lam2] 2 (call f 1 f)" in text
    assert not any(isinstance(n, FunT) for p in program.procs for n in (p.param_type, p.result_type))


def test_call_through_an_empty_lambda_set_is_unreachable():
    # g is never applied, so its parameter's lambda set stays empty. h returns an int
    # (`h 2 + 1`), which the discarded `h 1` shows only through its <unreachable>'s type.
    program = compile_to("let g = \\h -> (h 1; h 2 + 1) in 5", "defunc")
    assert defunc.print_program(program).count("<unreachable : int>") == 2
    assert value_of("let g = \\h -> h 1 in 5") == "5"


def test_a_let_rec_function_rebuilds_itself_from_its_own_captures():
    # Inside f, `y` is shadowed where f calls itself; the rebuilt closure must
    # still hold the captured y = 10: f 3 = ((f 0 + 1) + 1) + 1 = 13.
    text = "let y = 10 in let rec f = \\n -> if n == 0 then y else (let y = 1 in f (n - 1) + y) in f 3"
    assert value_of(text) == "13"


def broken(ir_module, text: str) -> VerifyError:
    """What an IR's verifier says of a program written in its text."""
    program = ir_module.IR.parser(text, f"broken.{ir_module.IR.name}")
    with pytest.raises(VerifyError) as caught:
        ir_module.verify(program)
    return caught.value


def test_defunc_verifier_rejects_leftover_lambdas():
    text = ("proc Main (_ : {}) {} -> int =\n"
            "  let f : closure[f {}] = closure f {} in\n"
            "  (\\(x : int) -[f {}]-> x);\n"
            "  call f 2 f\n"
            "\n"
            "proc f (x : int) {} -> int =\n"
            "  x + 1\n")
    assert broken(defunc, text).rule == "forms"


def test_defunc_verifier_rejects_calls_of_missing_procedures():
    text = ("proc Main (_ : {}) {} -> int =\n"
            "  let f : closure[f {}] = closure f {} in\n"
            "  call f 2 f\n")
    assert broken(defunc, text).rule == "call-existing-proc"


def test_defunc_verifier_rejects_a_main_with_an_argument():
    assert broken(defunc, "proc Main (n : int) {} -> int =\n  n\n").rule == "main-signature"


def test_defunc_verifier_rejects_spawning_a_procedure_that_takes_an_argument():
    text = ("proc Main (_ : {}) {} -> Fiber int =\n"
            "  spawn Spawn {}\n"
            "\n"
            "proc Spawn (n : int) {} -> int =\n"
            "  n\n")
    assert broken(defunc, text).rule == "spawn-param"


# -- layout ------------------------------------------------------------------------


def test_frame_of_a_procedure_with_captures():
    program = compile_to("let x = 1 in let y = {2, 3} in let f = \\n -> n + x + y.0 in f 4", "tailcall")
    f = proc(program, "f")
    # Captures {x; y}: 3 cells at fp[-5..-3], x (element 0) on top; then n; then the result.
    assert (f.frame.captures_offset, f.frame.arg_offset, f.frame.return_offset) == (-5, -6, -7)
    assert f.frame.slots == (Slot("#return", -7, INT), Slot("n", -6, INT),
                             Slot("x", -3, INT), Slot("y", -5, TupleT((INT, INT))))
    assert f.frame.locals_size == 0
    main = proc(program, "Main")
    assert [(s.name, s.offset) for s in main.frame.slots[2:]] == [("x", 0), ("y", 1), ("f", 3)]
    assert main.frame.locals_size == 6


def test_sibling_scopes_share_slots_and_the_table_shows_every_cell():
    text = "{let a = 1 in a, let s = spawn ({2, 3}) in stat s | `Pending -> 0 | `Done d -> d.1}"
    main = proc(compile_to(text, "tailcall"), "Main")
    # a (1 cell) and s (3 + 2 cells) are siblings; d lives while s does.
    assert [(s.name, s.offset) for s in main.frame.slots[2:]] == [("a", 0), ("s", 0), ("d", 5)]
    assert main.frame.locals_size == 7
    table = layout.print_program(compile_to(text, "tailcall")).split("body")[0]
    assert "fp[0]   s.fibdirty" in table and "fp[3]   s.value.0" in table
    assert "fp[4]   s.bit" in table and "fp[5]   d.1" in table and "fp[6]   d.0" in table


def test_layout_verifier_rejects_overlapping_locals():
    text = ("proc Main (_ : {}) {} -> int\n"
            "  frame (1 cells of locals)\n"
            "    fp[-3]  #return\n"
            "    fp[0]   a\n"
            "    fp[0]   b\n"
            "  body\n"
            "    let a : int @fp[0] = 1 in\n"
            "    let b : int @fp[0] = 2 in\n"
            "    a + b\n")
    assert broken(layout, text).rule == "slot-overlap"


# -- tail calls --------------------------------------------------------------------


def tail_flags(text: str, name: str) -> list[bool]:
    program = compile_to(text, "tailcall")
    from ir.traverse import walk

    return [n.tail for n in walk(proc(program, name).body) if isinstance(n, layout.Call)]


def test_self_calls_in_tail_position_are_marked():
    assert tail_flags("let rec f = \\n -> if n == 0 then 0 else f (n - 1) in f 5", "f") == [True]
    assert tail_flags("let rec f = \\n -> yield; let m = n - 1 in f m in f 5", "f") == [True]


def test_calls_outside_tail_position_or_to_others_are_not_marked():
    assert tail_flags("let rec f = \\n -> if n == 0 then 0 else 1 + f (n - 1) in f 5", "f") == [False]
    assert tail_flags("let rec f = \\n -> if f 0 == 0 then 0 else n in f 5", "f") == [False]
    assert tail_flags("let g = \\x -> x in let rec f = \\n -> g n in f 1", "f") == [False]


def test_layout_verifier_rejects_a_tail_mark_outside_tail_position():
    text = ("proc Main (_ : {}) {} -> int\n"
            "  frame (0 cells of locals)\n"
            "    fp[-3]  #return\n"
            "  body\n"
            "    call f 5 (closure f {})\n"
            "\n"
            "proc f (n : int) {} -> int\n"
            "  frame (0 cells of locals)\n"
            "    fp[-4]  #return\n"
            "    fp[-3]  n\n"
            "  body\n"
            "    if n == 0 then 0 else 1 + tailcall f (n - 1) (closure f <captures>)\n")
    error = broken(layout, text)
    assert (error.rule, error.node.proc) == ("tail-call", "f")


# -- emit --------------------------------------------------------------------------


def test_emitted_code_of_small_procedures():
    program = compile_to("let add = \\p -> p.0 + p.1 in add {1, 2}")
    add = proc(program, "add")
    # p.0 at fp[-3] (on top), p.1 at fp[-4]; the result at fp[-5]; right operand first.
    assert add.blocks == (blocks.Block("add", (Push(FpOffset(-4)), Push(FpOffset(-3)), blocks.Add(),
                                               Store(-5), Ret())),)
    main = proc(program, "Main")
    # add's closure has no cells; {1, 2} is pushed 2 first; the result is stored into Main's return slot.
    assert main.blocks == (blocks.Block("Main", (SpAdd(1), Push(Imm(2)), Push(Imm(1)), Call("add"), SpSub(2),
                                                 Store(-3), Ret())),)


def test_dispatch_is_a_jump_table_of_direct_calls():
    main = proc(compile_to(example("dispatch")), "Main")
    tables = [b.instrs[-1] for b in main.blocks if isinstance(b.instrs[-1], Jmprel1)]
    assert len(tables) == 3
    by_label = {b.label: b for b in main.blocks}
    arm_calls = [[i.proc for i in by_label[label].instrs if isinstance(i, Call)] for label in tables[0].labels]
    assert arm_calls == [["lam"], ["lam1"], ["lam2"]]
    # lam's record is 1 cell of the 3: drop 2 cells of padding before calling it.
    assert by_label[tables[0].labels[0]].instrs[0] == SpSub(2)


def test_self_tail_call_reuses_the_frame():
    loop = proc(compile_to(example("countdown")), "loop")
    instrs = [i for b in loop.blocks for i in b.instrs]
    assert Call("loop") not in instrs
    # loop captures nothing, so only the argument {t.0 - 1, t.1 + t.0} is stored back,
    # over fp[-4..-3], popping its top cell (element 0, at fp[-3]) first. With no
    # locals, nothing is left above fp: no need to reset the stack.
    assert SpRestoreFp() not in instrs
    back = instrs.index(Jmp("loop"))
    assert instrs[back - 2:back] == [Store(-3), Store(-4)]


def test_self_tail_call_keeps_the_locals_and_jumps_past_their_spadd():
    # exec has 4 cells of locals (`next`): the tail call leaves them allocated and
    # jumps to exec.loop, the entry block without its `spadd 4`.
    exec_ = proc(compile_to(example("fib_fiber")), "exec")
    entry, loop = exec_.blocks[0], exec_.blocks[-1]
    assert (entry.label, loop.label) == ("exec", "exec.loop")
    assert entry.instrs[0] == SpAdd(4) and loop.instrs == entry.instrs[1:]
    jumps = [i for b in exec_.blocks for i in b.instrs if isinstance(i, Jmp) and i.label.startswith("exec")]
    assert Jmp("exec.loop") in jumps and Jmp("exec") not in jumps
    assert SpRestoreFp() not in [i for b in exec_.blocks for i in b.instrs]


def test_resume_knows_its_source_site():
    exec_ = proc(compile_to(example("fib_fiber")), "exec")
    assert [i for b in exec_.blocks for i in b.instrs if isinstance(i, Resume)] == [Resume(1, "11:16")]


def test_every_call_targets_a_procedure():
    for path in sorted((ROOT / "examples").glob("*.co")):
        program = compile_to(path.read_text())
        names = {p.name for p in program.procs}
        for p in program.procs:
            for b in p.blocks:
                assert all(i.proc in names for i in b.instrs if isinstance(i, (Call, blocks.Spawn)))


# -- end to end --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("fib_fiber", "{6765, 21891}"),  # fib 20, and one resume per call of fib (counted below)
    ("dispatch", "{7, 13, 20}"),  # 2 + 5, 2 + 5 + 6, 2 + 5 + 6 + 7
    ("curry", "{123, 63, 456}"),  # 1*100 + 2*10 + 3, (7*3)*3, 4*100 + 5*10 + 6
    ("countdown", "5000050000"),  # 100000 * 100001 / 2
])
def test_examples(name, expected):
    assert value_of(example(name)) == expected


def test_fib_fiber_resume_count_by_hand():
    # fib n yields once per call: calls(n) = 1 + calls(n-1) + calls(n-2), calls(0) = calls(1) = 1,
    # so calls(20) = 2 * fib(21) - 1 = 2 * 10946 - 1 = 21891 yields, each answered by one resume.
    calls = {0: 1, 1: 1}
    for n in range(2, 21):
        calls[n] = 1 + calls[n - 1] + calls[n - 2]
    assert calls[20] == 21891


@pytest.mark.parametrize(("text", "expected"), [
    # A closure inside a tuple, projected out of a frame slot.
    ("let p = {\\x -> x + 1, 5} in p.0 p.1", "6"),
    # Elements taken out of tuples on the stack: slid down when not lowest.
    ("{1, 2, 3}.0", "1"),
    ("let f = \\x -> {x, x + 1, x + 2} in (f 10).1", "11"),
    # stat on a handle on the stack, and on one in a slot the `Done binder then reuses.
    ("stat spawn ({1, 2}) | `Pending -> 0 | `Done d -> d.0 + d.1 * 10", "21"),
    ("stat (let f = spawn ({1, 2}) in f) | `Pending -> {0, 0} | `Done n -> {n.1, n.0}", "{2, 1}"),
    # A let's value may reuse the cells of its own locals.
    ("let x = (let y = {1, 2} in {y.1, y.0}) in x", "{2, 1}"),
    ("let t = {1, {2, 3}, 4} in let u = {t.1.1, t.2, t.0} in u", "{3, 4, 1}"),
    # A self tail call through another name stores the captures back (unchanged: k stays 7).
    ("let k = 7 in let rec f = \\n -> if n == 0 then k else (let g = f in g (n - 1)) in f 3", "7"),
    # Two closures of one set with different tags; a copy keeps its tag.
    ("let x = 2 in let f = if x == 2 then \\a -> a + x else \\a -> a * x in let g = f in {f 10, g 20}",
     "{12, 22}"),
    ("{true == false, -(3 - 5), 3 - -2}", "{false, 2, 5}"),
    ("(if true then 1 else 2); yield; {{}, 4}", "{{}, 4}"),
    ("let s = spawn (yield; 5) in let t = resume s in "
     "{stat s | `Pending -> 0 | `Done v -> v, stat t | `Pending -> 0 | `Done v -> v}", "{0, 5}"),
])
def test_small_programs(text, expected):
    assert value_of(text) == expected


def test_second_resume_of_a_handle_fails_at_its_site():
    import machine

    with pytest.raises(machine.RuntimeFault) as fault:
        run("let s = spawn (yield; 5) in let t = resume s in resume s")
    assert fault.value.site == "1:49"  # the second `resume`


def test_spawned_call_captures_its_free_variables():
    text = ("let child = \\n -> n + 5 in let x = 10 in let y = 20 in "
            "stat spawn (child (x + y)) | `Pending -> 0 | `Done n -> n")
    assert value_of(text) == "35"


def test_tail_loop_runs_in_constant_stack():
    def depth(n: int) -> int:
        text = f"let rec loop = \\t -> if t.0 == 0 then t.1 else loop {{t.0 - 1, t.1 + 1}} in loop {{{n}, 0}}"
        result = run(text)
        assert result.cells == (n,)
        return result.stats.max_stack_depth

    assert depth(1_000_000) == depth(10)


def test_deep_non_tail_recursion():
    text = "let rec sum = \\n -> if n == 0 then 0 else n + sum (n - 1) in sum 100000"
    assert value_of(text) == "5000050000"


def test_printed_irs_do_not_depend_on_the_hash_seed():
    script = (
        "import sys; sys.setrecursionlimit(100000)\n"
        "from tests.test_backend import compile_to, example\n"
        "from ir import defunc, layout, blocks\n"
        "for n in ('dispatch', 'fib_fiber', 'curry'):\n"
        "    for last, m in (('defunc', defunc), ('tailcall', layout), ('emit', blocks)):\n"
        "        print(m.print_program(compile_to(example(n), last)))\n"
    )
    outputs = {
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
