"""Closures that contain themselves: the lambda sets ir/boxing.py boxes, their
programs at every level, and how a box looks in each IR. Expected values are
worked out by hand (the comments show the arithmetic)."""

from __future__ import annotations

import pytest

import ir
from ir import blocks as B
from ir.boxing import BoxedSet, boxed_sets, show_boxed
from ir.source import CompileError, Source
from ir.types import INT, BoxT, Capture, ClosureT, FiberT, FunT, LambdaSet, LambdaTable, TupleT
from machine import RuntimeFault, run, show_value
from passes.driver import run_with_deep_stack
from passes.tools.differential import Outcome, check
from tests.test_collector import compile_co

# -- the rule -------------------------------------------------------------------------------


def lambda_sets(captures: dict[str, list[tuple[str, object]]], sets: list[tuple[str, ...]]) -> list[LambdaSet]:
    """The sets (names) of lambdas whose captures are given; a capture's type may
    name a set by its first lambda's name, as `set:a` (a function of that set),
    or be built from such: ("tuple", ...), ("fiber", t), ("box", t), ("param", t)."""
    table = LambdaTable()
    by_name = {s[0]: LambdaSet(s, table) for s in sets}

    def t(spec):
        match spec:
            case "int":
                return INT
            case str() if spec.startswith("set:"):
                return FunT(INT, by_name[spec[4:]], INT)
            case ("tuple", *elems):
                return TupleT(tuple(map(t, elems)))
            case ("fiber", inner):
                return FiberT(t(inner))
            case ("box", inner):
                return BoxT(ClosureT(by_name[inner[4:]]))
            case ("param", inner):
                return FunT(t(inner), by_name["z"], INT)  # the set held only as a parameter's
        raise AssertionError(spec)

    for name, caps in captures.items():
        table.define(name, tuple(Capture(c, t(spec)) for c, spec in caps))
    return list(by_name.values())


def boxed(captures, sets) -> list[str]:
    return [show_boxed(b) for b in boxed_sets(lambda_sets(captures, sets))]


def test_sets_without_a_cycle_are_not_boxed():
    # a holds a b, which holds an int: a chain, not a cycle.
    assert boxed({"a": [("x", "set:b")], "b": [("n", "int")]}, [("a",), ("b",)]) == []


def test_a_set_capturing_itself_is_boxed():
    assert boxed({"a": [("n", "int"), ("f", "set:a")]}, [("a",)]) == ["a, breaking a.f"]
    # A set of two lambdas, one of which captures the set (compose's innermost lambda).
    assert boxed({"inc": [], "lam1": [("f", "set:inc"), ("g", "set:inc")]}, [("inc", "lam1")]) == [
        "inc | lam1, breaking lam1.f"]


def test_of_a_cycle_through_two_sets_the_first_in_source_order_is_boxed():
    captures = {"a": [("x", "set:b")], "b": [("y", "set:a")]}
    # From a: a reaches b, whose y leads back to a, still being visited: a is boxed.
    assert boxed(captures, [("a",), ("b",)]) == ["a, breaking a.x -> b.y"]
    assert boxed(captures, [("b",), ("a",)]) == ["b, breaking b.y -> a.x"]


def test_captures_into_a_boxed_set_are_forgotten():
    # a captures itself (boxed at once), then b; b's capture of an a leads into a
    # boxed set, which ends every cycle through it: b stays unboxed.
    captures = {"a": [("f", "set:a"), ("x", "set:b")], "b": [("y", "set:a")]}
    assert boxed(captures, [("a",), ("b",)]) == ["a, breaking a.f"]


def test_sets_reach_sets_through_tuples_and_fiber_results_but_not_parameters_or_boxes():
    assert boxed({"a": [("p", ("tuple", "int", ("tuple", "set:a")))]}, [("a",)]) == ["a, breaking a.p"]
    assert boxed({"a": [("h", ("fiber", "set:a"))]}, [("a",)]) == ["a, breaking a.h"]
    # A function's parameter is no part of its cells, and a box is one cell.
    assert boxed({"a": [("f", ("param", "set:a"))], "z": []}, [("a",), ("z",)]) == []
    assert boxed({"a": [("f", ("box", "set:a"))]}, [("a",)]) == []


def test_every_cycle_is_broken_and_only_sets_on_one_are_boxed():
    # a -> b -> c -> a and b -> d -> b; e only reaches a. From a: a, b, c back to a
    # (a boxed), then d back to b (b boxed). e is visited first but lies on no cycle.
    captures = {"a": [("x", "set:b")], "b": [("y", "set:c"), ("w", "set:d")], "c": [("z", "set:a")],
                "d": [("v", "set:b")], "e": [("u", "set:a")]}
    assert boxed(captures, [("e",), ("a",), ("b",), ("c",), ("d",)]) == [
        "a, breaking a.x -> b.y -> c.z", "b, breaking b.w -> d.v"]


# -- programs that run the same at every level ---------------------------------------------

COMPOSE = ("let compose = \\f -> \\g -> \\x -> f (g x) in\nlet inc = \\x -> x + 1 in\n"
           "let dbl = \\x -> x * 2 in\n")
CHURCH = ("let zero = \\f -> \\x -> x in\nlet succ = \\n -> \\f -> \\x -> f (n f x) in\n"
          "let add = \\m -> \\n -> \\f -> \\x -> m f (n f x) in\nlet mul = \\m -> \\n -> \\f -> m (n f) in\n"
          "let inc = \\x -> x + 1 in\nlet two = succ (succ zero) in\nlet three = succ two in\n")
BUILD = "let rec build = \\n -> if n == 0 then \\x -> x else let g = build (n - 1) in \\x -> g x + n in\n"
APPLY_N = ("let rec apply_n = \\f -> \\n -> if n == 0 then \\x -> x else\n"
           "  let g = apply_n f (n - 1) in \\x -> f (g x) in\n")
GROW = "let rec grow = \\s -> if s.0 == 0 then s.1 else grow {s.0 - 1, \\x -> s.1 (x + s.0)} in\n"
SHOWN = "int -[lam1 {f: int -[lam1 | inc {} | dbl {}]-> int, g: int -[lam1 | inc {} | dbl {}]-> int} | inc {} | dbl {}]-> int"

PROGRAMS = {
    # inc (dbl (inc 5)) = inc 12 = 13
    "compose": (COMPOSE + "compose (compose inc dbl) inc 5", "13"),
    # X = compose (compose inc dbl) inc: X y = inc (dbl (inc y)); X (dbl 3) = inc (dbl 7) = 15
    "compose of compose of compose": (COMPOSE + "compose (compose (compose inc dbl) inc) dbl 3", "15"),
    # 2, 2 + 3, 2 * 3, (3 + 3) * 2 applications of inc to 0
    "church numerals": (CHURCH + "{two inc 0, add two three inc 0, mul two three inc 0, "
                                 "mul (add three three) two inc 0}", "{2, 5, 6, 12}"),
    # apply_n f 2 adds 2; applied 3 times: 6
    "apply_n": (APPLY_N + "apply_n (apply_n (\\x -> x + 1) 2) 3 0", "6"),
    # build 3 10 = 10 + 1 + 2 + 3; build 1000 0 = 1000 * 1001 / 2, through 1001 closures
    "a chain built by recursion": (BUILD + "{build 3 10, build 1000 0}", "{16, 500500}"),
    # grow's last closure adds 1 and calls the one before, which adds 2, ...: x + 1000 * 1001 / 2
    "a chain built in a tail loop": (GROW + "grow {1000, \\x -> x} 5", "500505"),
    # mk {base, 1} x = x + 1; mk {that, 2} 10 = (10 + 1) + 2
    "through a tuple": ("let mk = \\p -> \\x -> p.0 x + p.1 in let base = \\x -> x in mk {mk {base, 1}, 2} 10",
                        "13"),
    # f1 5 = base 5 + 1 = 6; f2 5 = f1 5 + 1 = 7
    "through a fiber": ("let wrap = \\h -> \\x -> (stat h | `Done g -> g x | `Pending -> 0) + 1 in\n"
                        "let base = \\x -> x in let f1 = wrap (spawn base) in let f2 = wrap (spawn f1) in f2 5",
                        "7"),
    # mkb id = y + 1; mka of it = (x + 1) * 2; then ((x + 1) * 2 + 1) * 2 at 3: (8 + 1) * 2
    "through two sets": ("let mka = \\b -> \\x -> b x * 2 in let mkb = \\a -> \\y -> a y + 1 in\n"
                         "mka (mkb (mka (mkb (\\z -> z)))) 3", "18"),
    # A boxed closure prints as an unboxed one: k is the value compose inc dbl of the examples.
    "boxed closures as values": (COMPOSE + "let k = compose inc dbl in {k, compose k inc}",
                                 "{lam1 {f, inc {}, g, dbl {}}, lam1 {f, lam1 {f, inc {}, g, dbl {}}, g, inc {}}}"),
    "a boxed closure in a fiber's result": (
        COMPOSE + "spawn (compose (compose inc dbl) inc)",
        f"Fiber ({SHOWN}) (`Done lam1 {{f, lam1 {{f, inc {{}}, g, dbl {{}}}}, g, inc {{}}}})"),
    # h 1 = inc (dbl (inc 1)) = 5, run by a fiber that captured h
    "captured by a spawned fiber": (COMPOSE + "let h = compose (compose inc dbl) inc in\n"
                                              "let fb = spawn (yield; h 1) in stat resume fb | `Done v -> v | `Pending -> 0",
                                    "5"),
    # passed through stat: g = compose dbl (compose inc inc); g 4 = dbl (inc (inc 4)) = 12
    "through stat": (COMPOSE + "stat spawn (compose dbl (compose inc inc)) | `Done g -> g 4 | `Pending -> 0", "12"),
    # loop {3, dbl}: inc (inc (inc (dbl 5))) = 13, the last call in tail position
    "called in tail position": (COMPOSE + "let rec loop = \\s -> if s.0 == 0 then s.1 5 else "
                                          "loop {s.0 - 1, compose inc s.1} in loop {3, dbl}", "13"),
    # f's set {f, g} is boxed (g captures an f); h 10 = f 10 = 0; g 1000 = f 1000 + 1
    "a recursive function of a boxed set": (
        "let rec f = \\n -> if n == 0 then 0 else f (n - 1) in let g = \\n -> f n + 1 in\n"
        "let h = if true then f else g in {h 10, g 1000}", "{0, 1}"),
}


@pytest.mark.parametrize("text, value", PROGRAMS.values(), ids=PROGRAMS.keys())
def test_programs_with_boxed_closures_run_alike_at_every_level(text, value):
    verdict = run_with_deep_stack(lambda: check(text, "t.co"))
    assert verdict.mismatch is None, str(verdict.mismatch)
    assert verdict.reference == Outcome("value", value)


def test_boxed_records_holding_handles_are_traced_by_the_collector():
    # Each link of build's chain holds a pending fiber that gives n * 100; churn's 200
    # spawns collect at every spawn, and must keep all 3, which f resumes once each:
    # 100 + 200 + 300.
    text = ("let rec churn = \\n -> if n == 0 then 0 else (spawn (yield; n); churn (n - 1)) in\n"
            "let rec build = \\n -> if n == 0 then \\x -> x else\n"
            "  let g = build (n - 1) in let h = spawn (yield; n * 100) in\n"
            "  \\x -> g x + (stat resume h | `Done v -> v | `Pending -> 0) in\n"
            "let f = build 3 in churn 200; f 0")
    program = compile_co(text)
    assert show_value(run(program, collect_at_every_spawn=True).cells, program.result_type) == "600"
    # The map of churn's call in Main names the box f: Main's frame holds f's one cell.
    (call,) = [i for b in program.procs[0].blocks for i in b.instrs if isinstance(i, B.Call) and i.proc == "churn"]
    assert [type(entry.type).__name__ for entry in call.live] == ["BoxT"]


@pytest.mark.slow  # a stress test: 125,000 spawns
def test_a_chain_of_boxes_as_long_as_memory_allows_is_traced_without_recursion():
    # The chain's 60,000 links each hold a pending fiber giving n: f 0 = 1 + 2 + ... + 60000.
    # churn's 65,000 dropped fibers make the collector run while f holds the chain, which
    # it must read as a list of parts (a recursion 60,000 links deep would go past even the
    # tests' raised recursion limit).
    text = ("let rec churn = \\n -> if n == 0 then 0 else (spawn (yield; n); churn (n - 1)) in\n"
            "let rec build = \\n -> if n == 0 then \\x -> x else\n"
            "  let g = build (n - 1) in let h = spawn (yield; n) in\n"
            "  \\x -> g x + (stat resume h | `Done v -> v | `Pending -> 0) in\n"
            "let f = build 60000 in churn 65000; f 0")
    program = compile_co(text)
    result = run(program)
    assert show_value(result.cells, program.result_type) == str(60000 * 60001 // 2)
    assert result.stats.fibers_freed > 0  # a collection ran, with the chain alive


# -- what each IR shows -------------------------------------------------------------------------

COMPOSED = COMPOSE + "compose (compose inc dbl) inc 5"


def ir_text(stage: str, text: str = COMPOSED) -> str:
    from tests.test_readers import outputs

    return next(ir.lookup(ir_name).printer(program) for pass_name, ir_name, program in outputs(text)
                if pass_name == stage)


def test_the_typed_ir_says_which_sets_will_be_boxed():
    assert ir_text("infer").splitlines()[:2] == [
        "# A closure of these lambda sets would contain itself: from defunc on, they are boxed.",
        "#   boxed lam1 | inc | dbl, breaking lam1.f",
    ]


def test_defunc_boxes_closures_where_they_are_made_and_unboxes_them_where_they_are_called():
    text = ir_text("defunc")
    assert text.startswith("boxed lam1 | inc | dbl, breaking lam1.f\n\nproc Main")
    assert "  box (closure lam1 {f, g})\n" in text  # lam's body: the closure it returns
    assert "dispatch[lam1 | inc | dbl] (dispatch[lam1 | inc | dbl] x (unbox g)) (unbox f)" in text
    assert "proc compose (f : Box closure[lam1 {f: Box closure[lam1 | inc {} | dbl {}]," in text


def test_a_boxed_value_is_one_cell_of_the_frame():
    text = ir_text("tailcall")
    assert "    fp[-4]  #return.f#box\n    fp[-3]  f#box\n" in text  # compose's frame: lam's record {f}


def test_box_and_unbox_instructions_take_the_closures_cells():
    from passes.framework.pipeline import Pipeline
    from passes.framework.registry import Registry

    registry = Registry()
    blocks = Pipeline.from_names(["parse", "infer", "defunc", "closure-layout", "tailcall", "emit"],
                                 registry).run(Source("t.co", COMPOSED))
    (lam,) = [p for p in blocks.procs if p.name == "lam"]
    # lam1's record {f, g} (2 cells) and the tag 0 of lam1 in its set: 3 cells boxed into one.
    assert [B.show_instr(i) for i in lam.blocks[0].instrs] == [
        "push fp[-4]", "push fp[-3]", "push 0", "box 3", "store -5", "ret"]


# -- the readers and verifiers --------------------------------------------------------------------


def test_boxed_programs_read_back_in_every_ir():
    from tests.test_readers import assert_reads_back, outputs

    for _, ir_name, program in outputs(CHURCH + "mul two three inc 0"):
        assert_reads_back(ir_name, program)


def read_error(ir_name: str, text: str) -> str:
    with pytest.raises(CompileError) as caught:
        ir.lookup(ir_name).parser(text, "t")
    return f"{Source('t', text).location(caught.value.span)}: {caught.value.message}"


def verify_error(ir_name: str, text: str) -> str:
    spec = ir.lookup(ir_name)
    with pytest.raises(ir.VerifyError) as caught:
        spec.verifier(spec.parser(text, "t"))
    return caught.value.message


def test_a_boxed_line_must_name_a_cycle():
    text = ir_text("defunc").replace("breaking lam1.f", "breaking lam1")
    assert read_error("defunc", text) == (
        "t:3:1: expected `.` and the capture of lam1 that the cycle goes through, found identifier `proc`")


SELF_BOXED = """\
boxed a, breaking a.f

proc Main (_ : {}) {} -> int =
  1

proc a (x : int) {f: Box closure[a {f: Box closure[a]}]} -> int =
  let g : closure[a {f: Box closure[a]}] = unbox f in
  {g, x}.1
"""


def test_the_verifier_checks_that_boxed_sets_are_boxed_and_nothing_else():
    # g may be called, but not kept: the tuple holds a closure of a unboxed.
    assert verify_error("defunc", SELF_BOXED) == (
        "a closure of the boxed set a is kept unboxed, in closure[a {f: Box closure[a]}]")
    # Without its `boxed` line, a Box of the set boxes no set the program boxes.
    assert verify_error("defunc", SELF_BOXED.split("\n", 2)[2]) == (
        "Box closure[a {f: Box closure[a]}] boxes no lambda set the program boxes")


def test_the_verifier_rejects_a_set_that_contains_itself_unboxed():
    text = ("proc Main (_ : {}) {} -> int =\n  1\n\n"
            "proc a (x : int) {f: closure[a {f: closure[a]}]} -> int =\n  x\n")
    assert verify_error("defunc", text) == (
        "a closure of a would contain itself through f (its lambda set must be boxed)")


# -- the machine ------------------------------------------------------------------------------------

BOXING = """\
result int
main Main

proc Main arg=0 captures=0 ret=1 frame=0
Main:
    push 4
    push 3
    box 2
    unbox 2
    sub
    store -3
    ret
"""


def test_box_and_unbox_round_trip_cells():
    program = B.parse_program(BOXING, "t.blocks")
    assert B.print_program(program) == BOXING
    assert run(program).cells == (-1,)  # 3 - 4: unbox puts the cells back as they were


@pytest.mark.parametrize("old, new, message", [
    # arithmetic on the box: 0 - box
    ("    unbox 2\n", "    push 0\n", "`sub` needs a number, but a cell it reads holds a box"),
    ("    unbox 2\n    sub\n", "    jmpz Main.b\n    jmp Main.b\nMain.b:\n    push 0\n    push 0\n",
     "`jmpz` needs a number, but a cell it reads holds a box"),
    ("    box 2\n", "    add\n    push 3\n    unbox 2\n    spsub 1\n", "`unbox 2` needs a box, but the cell holds the number 3"),
    ("    unbox 2\n", "    unbox 3\n    spsub 1\n", "`unbox 3` needs a box of 3 cells, but this one holds 2"),
])
def test_a_box_misused_by_a_listing_is_a_runtime_fault(old, new, message):
    with pytest.raises(RuntimeFault) as fault:
        run(B.parse_program(BOXING.replace(old, new), "t.blocks"))
    assert fault.value.message == message


@pytest.mark.parametrize("old, new", [
    ("    unbox 2\n", "    push 0\n"),  # 0 - box
    ("    box 2\n", "    add\n    push 3\n    unbox 2\n    spsub 1\n"),  # unbox of a number
    ("    unbox 2\n", "    unbox 3\n    sub\n"),  # unbox of a shorter record, all of whose cells are used
])
def test_a_box_misused_by_a_listing_is_a_runtime_fault_on_the_fast_backend_too(old, new):
    from machine import fast
    from passes.to_python import ToPython

    assert fast.run(ToPython().run(B.parse_program(BOXING, "t.blocks"))) == (-1,)
    with pytest.raises(RuntimeFault) as fault:
        fast.run(ToPython().run(B.parse_program(BOXING.replace(old, new), "t.blocks")))
    assert "a box's cell" in fault.value.message


def test_a_box_where_the_result_type_says_a_number_is_a_runtime_fault():
    with pytest.raises(RuntimeFault) as fault:
        show_value((run(B.parse_program(BOXING.replace("    unbox 2\n    sub\n", ""), "t.blocks")).cells), INT)
    assert fault.value.message == "the result is no int: a box is where a number belongs"
