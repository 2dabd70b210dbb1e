"""The blocks IR: its listing (print and parse back), its type syntax, its verifier."""

from __future__ import annotations

import pytest

from ir import VerifyError, lookup
from ir import blocks as B
from ir.source import CompileError, Source
from ir.type_syntax import parse_type
from ir.types import BOOL, INT, UNIT, Capture, ClosureT, FiberT, FunT, LambdaMember, LambdaSet, TupleT, show_type

# Every instruction at least once; `Spawn1` yields, `pair` returns through its slot.
EVERY_INSTRUCTION = """\
result {int; Fiber int}
main Main

proc Main arg=0 captures=0 ret=5 frame=1
Main:
    spadd 1
    push 7
    store 0
    spadd 1
    push fp[0]
    push -3
    call pair
    spsub 2
    push 10
    sub
    push 4
    mul
    push fp[1]
    push 30
    lt
    push 1
    eq
    jmpz Main.a
    jmp Main.b
Main.a:
    push 0
    jmprel1 Main.b Main.c
Main.b:
    push fp[0]
    spawn Spawn1 args=1 ret=1
    resume 1 @3:14
    resume 1
    yield
    store -4
    store -5
    store -6
    store -7
    jmp Main.c
Main.c:
    store -3
    sprestorefp
    ret

proc pair arg=1 captures=1 ret=1 frame=0
pair:
    push fp[-3]
    push fp[-4]
    box 2
    unbox 2
    add
    store -5
    ret

proc Spawn1 arg=0 captures=1 ret=1 frame=0
Spawn1:
    yield
    push fp[-3]
    store -4
    ret
"""


def parse(text: str) -> B.Program:
    return B.parse_program(text, "test.blocks")


def test_listing_round_trip_is_exact():
    program = parse(EVERY_INSTRUCTION)
    assert B.print_program(program) == EVERY_INSTRUCTION
    assert parse(B.print_program(program)) == program
    B.verify(program)


def test_parser_builds_the_named_nodes():
    program = parse(EVERY_INSTRUCTION)
    assert program.result_type == TupleT((INT, FiberT(INT)))
    assert program.main == "Main"
    main, pair, spawn = program.procs
    assert (main.arg_size, main.captures_size, main.ret_size, main.frame_size) == (0, 0, 5, 1)
    assert (pair.arg_size, pair.captures_size) == (1, 1)
    first = main.blocks[0].instrs
    assert first[:4] == (B.SpAdd(1), B.Push(B.Imm(7)), B.Store(0), B.SpAdd(1))
    assert first[4:7] == (B.Push(B.FpOffset(0)), B.Push(B.Imm(-3)), B.Call("pair"))
    assert main.blocks[1].instrs[1] == B.Jmprel1(("Main.b", "Main.c"))
    assert main.blocks[2].instrs[1:4] == (B.Spawn("Spawn1", 1, 1), B.Resume(1, "3:14"), B.Resume(1))
    assert spawn.blocks[0].instrs[0] == B.Yield()


def test_program_built_in_python_prints_as_expected():
    program = B.Program(
        procs=(B.Proc("Go", 0, 0, 2, 0, (
            B.Block("L", (B.Push(B.Imm(1)), B.Push(B.Imm(2)), B.Store(-4), B.Store(-3), B.Ret())),
        )),),
        result_type=TupleT((BOOL, INT)),
        main="Go",
    )
    assert B.print_program(program) == (
        "result {bool; int}\n"
        "main Go\n"
        "\n"
        "proc Go arg=0 captures=0 ret=2 frame=0\n"
        "L:\n"
        "    push 1\n"
        "    push 2\n"
        "    store -4\n"
        "    store -3\n"
        "    ret\n"
    )
    assert parse(B.print_program(program)) == program


def test_main_line_is_optional_and_comments_are_ignored():
    program = parse("result int   # Main's type\n"
                    "proc Main arg=0 captures=0 ret=1 frame=0  # sizes\n"
                    "  start:   # entry\n"
                    "push 5 # five\n"
                    "store -3\n"
                    "ret\n")
    assert program.main == "Main"
    assert program.procs[0].blocks == (B.Block("start", (B.Push(B.Imm(5)), B.Store(-3), B.Ret())),)


def test_ir_spec_is_registered_with_parser():
    spec = lookup("blocks")
    assert spec.parser is not None
    assert spec.parser(EVERY_INSTRUCTION, "x.blocks") == parse(EVERY_INSTRUCTION)
    assert spec.form("Jmprel1") is B.Jmprel1


# -- types -------------------------------------------------------------------------

SET = LambdaSet.of((LambdaMember("f", (Capture("x", INT),)), LambdaMember("g", ())))


@pytest.mark.parametrize("text, expected", [
    ("int", INT),
    ("bool", BOOL),
    ("{}", UNIT),
    ("{int; bool}", TupleT((INT, BOOL))),
    ("{int; {bool; {}}}", TupleT((INT, TupleT((BOOL, UNIT))))),
    ("Fiber int", FiberT(INT)),
    ("Fiber (Fiber int)", FiberT(FiberT(INT))),
    ("Fiber {int; int}", FiberT(TupleT((INT, INT)))),
    ("closure[f {x: int} | g {}]", ClosureT(SET)),
    ("closure[]", ClosureT(LambdaSet.of(()))),
    ("int -[f {x: int} | g {}]-> int -[g {}]-> bool",
     FunT(INT, SET, FunT(INT, LambdaSet.of((LambdaMember("g", ()),)), BOOL))),
    ("(Fiber int) -[g {}]-> int", FunT(FiberT(INT), LambdaSet.of((LambdaMember("g", ()),)), INT)),
])
def test_type_syntax_reads_printed_types(text, expected):
    assert parse_type(text) == expected
    assert show_type(expected) == text


def test_type_syntax_accepts_parentheses_and_keyword_like_lambda_names():
    assert parse_type("((int))") == INT
    lam = LambdaMember("int", (Capture("bool", FiberT(INT)),))
    assert parse_type("closure[int {bool: Fiber int}]") == ClosureT(LambdaSet.of((lam,)))


@pytest.mark.parametrize("text, message, start", [
    ("{int; bool", "expected `}`, found the end of the type", 10),
    ("Fiber", "expected a type, found the end of the type", 5),
    ("int bool", "expected the end of the type, found `bool`", 4),
    ("closure[f {x int}]", "expected `:`, found `int`", 13),
    ("{int, bool}", "expected `}`, found `,`", 4),
    ("int % 2", "unexpected character `%` in a type", 4),
])
def test_type_syntax_errors_point_at_the_problem(text, message, start):
    with pytest.raises(CompileError) as info:
        parse_type(text)
    assert info.value.message == message
    assert info.value.span.start == start


# -- parse errors -------------------------------------------------------------------


def parse_error(text: str) -> str:
    """The error as `file:line:col: message`, the way the driver shows it."""
    with pytest.raises(CompileError) as info:
        parse(text)
    return f"{Source('test.blocks', text).location(info.value.span)}: {info.value.message}"


HEADER = "result int\nproc Main arg=0 captures=0 ret=1 frame=0\nMain:\n"


@pytest.mark.parametrize("body, expected", [
    ("    pusj 5\n", "test.blocks:4:5: unknown instruction `pusj`"),
    ("    push five\n", "test.blocks:4:10: expected an integer or fp[<offset>], found `five`"),
    ("    push fp[x]\n", "test.blocks:4:10: expected an integer or fp[<offset>], found `fp[x]`"),
    ("    spadd -1\n", "test.blocks:4:11: expected a count of cells, found `-1`"),
    ("    ret 1\n", "test.blocks:4:9: unexpected `1` after `ret`"),
    ("    push\n", "test.blocks:4:9: `push` takes an integer or fp[<offset>]"),
    ("    spawn S args=x ret=1\n", "test.blocks:4:18: expected a count, found `x`"),
    ("    spawn S ret=1 args=1\n", "test.blocks:4:13: expected args=<count>, found `ret=1`"),
    ("    resume 1 3:14\n", "test.blocks:4:14: expected a source site @<line>:<col>, found `3:14`"),
    ("    jmp 9lives\n", "test.blocks:4:9: expected a label, found `9lives`"),
    ("    jmprel1\n", "test.blocks:4:12: `jmprel1` takes one label or more"),
    ("result int\n", "test.blocks:4:1: `result` belongs before the first proc"),
])
def test_parse_errors_have_precise_locations(body, expected):
    assert parse_error(HEADER + body) == expected


def test_parse_errors_in_headers():
    assert parse_error("proc Main arg=0 captures=0 ret=1 frame=0\n") == \
        "test.blocks:1:1: the listing needs a `result <type>` line before its first proc"
    assert parse_error("result {int;; int}\n") == "test.blocks:1:13: expected a type, found `;`"
    assert parse_error("result int\nresult int\n") == "test.blocks:2:1: a second `result` line"
    assert parse_error("result int\nproc Main arg=0 captures=0 ret=1\n") == \
        "test.blocks:2:6: proc Main needs frame="
    assert parse_error("result int\nproc Main arg=0 arg=0\n") == "test.blocks:2:17: `arg` is given twice"
    assert parse_error("result int\nproc Main args=0\n") == \
        "test.blocks:2:11: expected one of arg=<count>, captures=<count>, ret=<count>, frame=<count>, " \
        "found `args=0`"
    assert parse_error("result int\nL:\n") == \
        "test.blocks:2:1: a block label outside any proc (start one with `proc <name> ...`)"
    assert parse_error("result int\nproc Main arg=0 captures=0 ret=1 frame=0\n  push 1\n") == \
        "test.blocks:3:3: `push` is not in a block (give the block a label first: `name:`)"


# -- verifier ------------------------------------------------------------------------


def verify_error(text: str) -> VerifyError:
    with pytest.raises(VerifyError) as info:
        B.verify(parse(text))
    return info.value


def main_with(body: str, *, extra: str = "", ret: int = 1, frame: int = 0) -> str:
    return f"result {'int' if ret == 1 else '{' + '; '.join(['int'] * ret) + '}'}\n" \
           f"proc Main arg=0 captures=0 ret={ret} frame={frame}\n{body}{extra}"


def test_verifier_accepts_an_unreachable_block():
    B.verify(parse(main_with("Main:\n  push 1\n  store -3\n  ret\nDead:\n  jmp Dead\n")))


def test_verifier_rejects_unknown_label():
    error = verify_error(main_with("Main:\n  jmp Nowhere\n"))
    assert error.rule == "jump-target"
    assert error.node == B.Jmp("Nowhere")


def test_verifier_rejects_a_jump_into_another_proc():
    error = verify_error(main_with("Main:\n  call f\n  jmp f.body\n",
                                   extra="proc f arg=0 captures=0 ret=0 frame=0\nf.body:\n  ret\n"))
    assert error.rule == "jump-target"


def test_verifier_rejects_unknown_proc():
    assert verify_error(main_with("Main:\n  call g\n  ret\n")).rule == "known-proc"
    assert verify_error(main_with("Main:\n  spawn G args=0 ret=0\n  ret\n")).rule == "known-proc"


def test_verifier_rejects_unequal_stack_heights():
    # Main.a is reached with one cell above fp from Main and with none from Main.b.
    error = verify_error(main_with(
        "Main:\n  push 1\n  push 0\n  jmpz Main.a\n  jmp Main.b\n"
        "Main.b:\n  spsub 1\n  jmp Main.a\n"
        "Main.a:\n  ret\n"))
    assert error.rule == "stack-height"
    assert "Main.a" in error.message


def test_verifier_rejects_bad_block_ends():
    assert verify_error(main_with("Main:\n  push 1\n  store -3\n")).rule == "block-end"  # falls off
    assert verify_error(main_with("Main:\n  ret\n  ret\n")).rule == "block-end"  # code after ret
    assert verify_error(main_with(
        "Main:\n  push 0\n  jmpz Main\n  push 1\n  jmp Main\n")).rule == "block-end"  # jmpz too early
    assert verify_error(main_with("Main:\n  push 0\n  jmpz Main\n  ret\n")).rule == "block-end"
    assert verify_error(main_with("Main:\n")).rule == "block-end"  # empty block


def test_verifier_rejects_stack_underflow():
    error = verify_error(main_with("Main:\n  push 1\n  add\n  ret\n"))
    assert error.rule == "stack-underflow"
    assert error.node == B.Add()
    assert verify_error(main_with("Main:\n  push 0\n  resume 0\n  ret\n")).rule == "stack-underflow"
    assert verify_error(main_with("Main:\n  sprestorefp\n  spsub 1\n  ret\n")).rule == "stack-underflow"


def test_verifier_checks_frame_offsets():
    # Main (ret=1) owns fp[-3]; fp[-2] and fp[-1] are the saved pc and fp.
    assert verify_error(main_with("Main:\n  push fp[-4]\n  ret\n")).rule == "frame-offset"
    assert verify_error(main_with("Main:\n  push fp[-1]\n  ret\n")).rule == "frame-offset"
    assert verify_error(main_with("Main:\n  push 1\n  push fp[1]\n  ret\n")).rule == "frame-offset"
    # After the pop, only fp[0] exists: storing into fp[1] (the popped cell) is wrong.
    assert verify_error(main_with("Main:\n  push 1\n  push 2\n  store 1\n  ret\n")).rule == "frame-offset"
    B.verify(parse(main_with("Main:\n  push 1\n  push 2\n  store 0\n  push fp[-3]\n  ret\n")))


def test_verifier_checks_call_and_spawn_sizes():
    callee = "proc f arg=1 captures=1 ret=1 frame=0\nf:\n  ret\n"
    assert verify_error(main_with("Main:\n  push 1\n  push 2\n  call f\n  ret\n", extra=callee)).rule \
        == "call-frame"
    spawned = "proc S arg=0 captures=2 ret=1 frame=0\nS:\n  ret\n"
    assert verify_error(main_with("Main:\n  push 1\n  spawn S args=1 ret=1\n  ret\n", extra=spawned)).rule \
        == "spawn-sizes"


def test_verifier_checks_main_and_result():
    assert verify_error("result int\nproc Go arg=0 captures=0 ret=1 frame=0\nGo:\n  ret\n").rule == "main-exists"
    assert verify_error("result {int; int}\nproc Main arg=0 captures=0 ret=1 frame=0\nMain:\n  ret\n").rule \
        == "result-size"
    assert verify_error("result int\nproc Main arg=1 captures=0 ret=1 frame=0\nMain:\n  ret\n").rule \
        == "main-signature"
    assert verify_error("result int -[f {}]-> int\nproc Main arg=0 captures=0 ret=1 frame=0\nMain:\n  ret\n").rule \
        == "result-type"


def test_verifier_checks_names_and_uniqueness():
    assert verify_error(main_with("Main:\n  jmp L\nL:\n  jmp Main\n",
                                  extra="proc g arg=0 captures=0 ret=0 frame=0\nL:\n  ret\n")).rule \
        == "unique-labels"
    bad_label = B.Program((B.Proc("Main", 0, 0, 0, 0, (B.Block("has space", (B.Ret(),)),)),), UNIT)
    assert pytest.raises(VerifyError, B.verify, bad_label).value.rule == "name-syntax"


def test_verifier_checks_frame_entry_and_immediates():
    assert verify_error(main_with("Main:\n  ret\n", frame=2)).rule == "frame-entry"
    assert verify_error(main_with("Main:\n  spadd 1\n  ret\n", frame=2)).rule == "frame-entry"
    B.verify(parse(main_with("Main:\n  spadd 2\n  ret\n", frame=2)))
    B.verify(parse(main_with("Main:\n  spadd 3\n  spsub 1\n  ret\n", frame=2)))  # locals, then an operand
    assert verify_error(main_with("Main:\n  push 9223372036854775808\n  ret\n")).rule == "imm-range"
    B.verify(parse(main_with("Main:\n  push -9223372036854775808\n  ret\n")))


def test_stack_heights_of_every_block():
    main = parse(EVERY_INSTRUCTION).procs[0]
    assert B.stack_heights(main) == {"Main": 0, "Main.a": 2, "Main.b": 2, "Main.c": 2}
    # The call leaves the height alone: pair's ret drops its own frame.
    assert B.block_heights(main.blocks[0], 0) == (0, 1, 2, 1, 2, 3, 4, 4, 2, 3, 2, 3, 2, 3, 4, 3, 4, 3, 2)
    # spawn pops 1 capture and pushes a 4-cell handle; resume swaps one handle for another.
    assert B.block_heights(main.blocks[2], 2) == (2, 3, 6, 6, 6, 6, 5, 4, 3, 2)


# -- stack maps ------------------------------------------------------------------------

# Main keeps a handle in fp[0..3] and a closure of a two-lambda set in fp[4..8]
# (f's record is 4 cells, a handle; g's is empty; the tag on top) across a call
# of Hold, whose captures are a handle, and across its yield.
WITH_MAPS = """\
result int
main Main

proc Main arg=0 captures=0 ret=1 frame=9
Main:
    spadd 9
    spawn W args=0 ret=1
        live fp[4] closure[f {h: Fiber int} | g {}]
    store 3
    store 2
    store 1
    store 0
    spadd 1
    push fp[0]
    push fp[1]
    push fp[2]
    push fp[3]
    call Hold
        live fp[0] Fiber int
        live fp[4] closure[f {h: Fiber int} | g {}]
    spsub 4
    yield
        live fp[0] Fiber int
        live fp[4] closure[f {h: Fiber int} | g {}]
    store -3
    ret

proc W arg=0 captures=0 ret=1 frame=0
W:
    yield
    ret

proc Hold arg=0 captures=4 ret=1 frame=0
    live fp[-6] Fiber int
Hold:
    push 5
    store -7
    ret
"""


def test_stack_maps_print_and_parse_back():
    program = parse(WITH_MAPS)
    assert B.print_program(program) == WITH_MAPS
    assert parse(B.print_program(program)) == program
    B.verify(program)
    main, _, hold = program.procs
    handle, closure = B.Live(0, FiberT(INT)), B.Live(4, parse_type("closure[f {h: Fiber int} | g {}]"))
    assert main.blocks[0].instrs[11] == B.Call("Hold", (handle, closure))
    assert main.blocks[0].instrs[13] == B.Yield((handle, closure))
    assert main.live == () and hold.live == (B.Live(-6, FiberT(INT)),)


@pytest.mark.parametrize("text, expected", [
    (HEADER + "    push 1\n        live fp[0] Fiber int\n",
     "test.blocks:5:9: a `live` line belongs under a proc line or a call, spawn, resume or yield"),
    (HEADER + "        live fp[0] Fiber int\n",
     "test.blocks:4:9: a `live` line belongs under a proc line or a call, spawn, resume or yield"),
    (HEADER + "    yield\n        live fp[0]\n", "test.blocks:5:19: `live` takes fp[<offset>] and a type"),
    (HEADER + "    yield\n        live 0 Fiber int\n", "test.blocks:5:14: expected fp[<offset>], found `0`"),
    (HEADER + "    yield\n        live fp[0] Fibre int\n", "test.blocks:5:20: expected a type, found `Fibre`"),
])
def test_stack_map_parse_errors(text, expected):
    assert parse_error(text) == expected


def with_map(entry: str, at: str = "call Hold") -> str:
    """WITH_MAPS with one more entry in the map of the instruction `at`."""
    return WITH_MAPS.replace(f"    {at}\n", f"    {at}\n        live {entry}\n", 1)


@pytest.mark.parametrize("text, message", [
    # Only handles, closures of several lambdas and boxes: split a tuple or a record into them.
    (with_map("fp[9] int"), "fp[9] holds a int, but an entry is a fiber handle, a closure of several "
                                 "lambdas or a box"),
    (with_map("fp[9] {Fiber int}"), "fp[9] holds a {Fiber int}, but an entry"),
    (with_map("fp[9] closure[f {h: Fiber int}]"), "fp[9] holds a closure[f {h: Fiber int}], but"),
    # The cells Hold's call hands over (its return slot, fp[9], and captures) are Hold's to map.
    (with_map("fp[9] Fiber int"), "the 4 cells of the Fiber int at fp[9] are not all among the cells it "
                                  "may name (fp[-3..-3] and fp[0..8])"),
    (with_map("fp[-3] Fiber int"), "the 4 cells of the Fiber int at fp[-3] are not all among"),
    (with_map("fp[2] Fiber int"), "fp[0] is not above the entry before it, which ends at fp[5]"),
    # A spawn hands over its args: none here, so fp[9..12] stays Main's, but not above.
    (with_map("fp[10] Fiber int", at="spawn W args=0 ret=1"), "the 4 cells of the Fiber int at fp[10]"),
    # A proc's own map names its argument and captures only.
    (WITH_MAPS.replace("    live fp[-6] Fiber int\n", "    live fp[-7] Fiber int\n"),
     "proc Hold's own map: the 4 cells of the Fiber int at fp[-7] are not all among the cells it may "
     "name (fp[-6..-3])"),
])
def test_verifier_checks_stack_maps(text, message):
    error = verify_error(text)
    assert error.rule == "stack-map"
    assert message in error.message


def test_handle_finder_splits_values_down_to_handles_and_tagged_closures():
    finder = B.HandleFinder()
    handle = FiberT(INT)
    # {Fiber int; int; {bool; Fiber int}} from fp[0]: element 2 lowest, its Fiber at fp[0..3]
    # and its bool at fp[4]; then element 1 at fp[5], and element 0 on top, fp[6..9].
    t = TupleT((handle, INT, TupleT((BOOL, handle))))
    assert finder.entries(0, t) == [B.Live(0, handle), B.Live(6, handle)]
    # A closure of one lambda is its record; of several, one entry if any member holds a handle.
    one = ClosureT(LambdaSet.of((LambdaMember("f", (Capture("x", INT), Capture("h", handle))),)))
    assert finder.entries(-6, one) == [B.Live(-6, handle)]  # h lowest, x on top
    several = ClosureT(LambdaSet.of((LambdaMember("f", (Capture("h", handle),)), LambdaMember("g", ()))))
    assert finder.entries(2, several) == [B.Live(2, several)]
    plain = ClosureT(LambdaSet.of((LambdaMember("p", (Capture("x", INT),)), LambdaMember("q", ()))))
    assert finder.entries(2, TupleT((plain, INT, BOOL))) == []
    assert finder.holds_handles(FiberT(UNIT)) and not finder.holds_handles(plain)
