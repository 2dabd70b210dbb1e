"""The VM, on hand-written listings. Every expected value is worked out by hand
from docs/machine.md (the comments show the arithmetic)."""

from __future__ import annotations

import pytest

from ir import VerifyError
from ir import blocks as B
from ir.type_syntax import parse_type
from machine import RuntimeFault, Stats, run, show_value
from tests.test_blocks import EVERY_INSTRUCTION


def parse(text: str) -> B.Program:
    return B.parse_program(text, "test.blocks")


def shown(text: str, **options) -> str:
    program = parse(text)
    return show_value(run(program, **options).cells, program.result_type)


def fault(text: str, **options) -> RuntimeFault:
    with pytest.raises(RuntimeFault) as info:
        run(parse(text), **options)
    return info.value


# -- straight-line code --------------------------------------------------------------


def test_every_instruction_program():
    result = run(parse(EVERY_INSTRUCTION))
    # fp[1] = pair(7, -3) = 4; 10 - 4 = 6; 4 * 6 = 24; (30 < 24) == 1 is 0, so jmpz
    # jumps to Main.a, whose table sends 0 to Main.b. Spawn1 yields once, the
    # first resume finishes it with its capture 7 (dirty counter 1, fiber #1).
    assert result.cells == (1, 1, 7, 1, 24)
    assert show_value(result.cells, parse(EVERY_INSTRUCTION).result_type) == "{24, Fiber int (`Done 7)}"
    # 18 in Main (the jmp after a taken jmpz is skipped) + 7 pair (its box 2 and unbox 2
    # give the two cells back as they were) + 2 Main.a
    # + 10 Main.b + 4 Spawn1 + 3 Main.c. Deepest: pair's frame at fp 7+4+2 = 13, plus 2.
    # Spawn1 is freed when it finishes; with Main, two fibers were alive at once.
    assert result.stats == Stats(instructions=44, calls=1, yields=2, resumes=2, fibers_created=1,
                                 fibers_freed=1, most_fibers_alive=2, max_stack_depth=15)


ARITHMETIC = """\
result {int; int; bool; bool; bool}
proc Main arg=0 captures=0 ret=5 frame=1
Main:
    spadd 1
    push 3
    push 10
    sub             # the top is the left operand: 10 - 3
    store -3
    push 4
    push 6
    mul
    push 1
    add             # 1 + 24
    store -4
    push 5
    push 2
    lt              # 2 < 5
    store -5
    push 2
    push 5
    lt              # 5 < 2
    store 0         # through a local
    push fp[0]
    store -6
    push 9
    push 9
    eq
    store -7
    ret
"""


def test_arithmetic_takes_the_top_as_left_operand():
    assert shown(ARITHMETIC) == "{7, 25, true, false, true}"


WRAP = """\
result {int; int; int; int}
proc Main arg=0 captures=0 ret=4 frame=0
Main:
    push 1
    push 9223372036854775807
    add
    store -3
    push 1
    push -9223372036854775808
    sub
    store -4
    push 4
    push 4611686018427387904
    mul
    store -5
    push 3
    push 4611686018427387904
    mul
    store -6
    ret
"""


def test_integers_wrap_at_64_bits():
    # max + 1 = min; min - 1 = max; 4 * 2^62 = 2^64 = 0; 3 * 2^62 = 2^63 + 2^62 -> -2^62
    assert run(parse(WRAP)).cells == (-4611686018427387904, 0, 9223372036854775807, -9223372036854775808)


# -- calls -----------------------------------------------------------------------------

CALL = """\
result {int; int}
proc Main arg=0 captures=0 ret=2 frame=0
Main:
    spadd 2         # return slot of f
    push 6          # argument
    push 7          # capture record
    call f
    spsub 2         # drop the argument and the captures
    store -3        # element 0 is on top
    store -4
    ret

proc f arg=1 captures=1 ret=2 frame=1
f:
    spadd 1
    push fp[-3]     # the capture, 7
    push fp[-4]     # the argument, 6
    add
    store 0
    push fp[0]
    store -5        # element 0 of the return slot fp[-6..-5]
    push fp[-3]
    push fp[-4]
    mul
    store -6
    ret
"""


def test_call_with_argument_captures_and_return_slot():
    result = run(parse(CALL))
    assert show_value(result.cells, parse(CALL).result_type) == "{13, 42}"
    assert result.cells == (42, 13)
    assert result.stats.calls == 1


def sum_loop(n: int) -> str:
    """loop {n, acc} = if n == 0 then acc else loop {n - 1, acc + n}, as a self tail call."""
    return f"""\
result int
proc Main arg=0 captures=0 ret=1 frame=0
Main:
    spadd 1
    push 0          # acc
    push {n}        # n: element 0, on top
    call loop
    spsub 2
    store -3
    ret

proc loop arg=2 captures=0 ret=1 frame=0
loop:
    push fp[-3]
    push 0
    eq
    jmpz loop.more
    jmp loop.done
loop.done:
    push fp[-4]
    store -5
    ret
loop.more:
    push fp[-3]
    push fp[-4]
    add             # acc + n
    push 1
    push fp[-3]
    sub             # n - 1
    store -3
    store -4
    sprestorefp
    jmp loop
"""


def test_tail_call_loop_runs_in_constant_stack():
    small = run(parse(sum_loop(10)))
    large = run(parse(sum_loop(100_000)))
    assert small.cells == (55,)
    assert large.cells == (5_000_050_000,)
    # Main's fp is 3 (slot, pc, fp); the call at height 3 puts loop's fp at 8,
    # and loop.more reaches 3 cells above it.
    assert small.stats.max_stack_depth == large.stats.max_stack_depth == 11
    # 7 in Main, 14 per round (the jmp after a taken jmpz is skipped), 8 to finish.
    assert small.stats.instructions == 7 + 14 * 10 + 8


def test_fuel_bounds_the_steps():
    assert run(parse(sum_loop(10)), fuel=155).cells == (55,)
    assert fault(sum_loop(10), fuel=154).message == "out of fuel after 154 steps"
    assert fault(sum_loop(10), fuel=0).message == "out of fuel after 0 steps"


DEEP = """\
result int
proc Main arg=0 captures=0 ret=1 frame=0
Main:
    spadd 1
    push 100000
    call sum
    spsub 1
    store -3
    ret

proc sum arg=1 captures=0 ret=1 frame=0
sum:
    push fp[-3]
    jmpz sum.zero
    jmp sum.rec
sum.zero:
    push 0
    store -4
    ret
sum.rec:
    spadd 1
    push 1
    push fp[-3]
    sub             # n - 1
    call sum
    spsub 1
    push fp[-3]
    add             # n + sum (n - 1)
    store -4
    ret
"""


def test_deep_non_tail_recursion():
    result = run(parse(DEEP))
    assert result.cells == (5_000_050_000,)
    assert result.stats.calls == 100_001
    # Each level's call is made 2 cells up, plus pc and fp: frames 4 apart from
    # fp 7 (n = 100000); the frame of n = 0 (fp 7 + 4 * 100000) reaches 1 cell up.
    assert result.stats.max_stack_depth == 4 * 100_000 + 8
    # 6 in Main, 13 per level with n > 0, 5 for n = 0.
    assert result.stats.instructions == 6 + 13 * 100_000 + 5


AFTER_RETURN = """\
result int
proc Main arg=0 captures=0 ret=1 frame=0
Main:
    spadd 1
    call one        # one's fp is 3 + 1 + 2 = 6; it reaches 7
    push 2
    push 3
    push 4
    push 5
    push 6          # 6 cells above Main's fp 3: the deepest point
    add
    add
    add
    add
    add
    store -3
    ret

proc one arg=0 captures=0 ret=1 frame=0
one:
    push 1
    store -3
    ret
"""

AFTER_RESUME = """\
result int
proc Main arg=0 captures=0 ret=1 frame=0
Main:
    spawn F args=0 ret=0    # a 3-cell handle: 6 cells in all
    resume 0
    spsub 3
    ret

proc F arg=0 captures=0 ret=0 frame=0
F:
    yield
    push 1
    push 2
    push 3
    push 4
    push 5          # F's stack: pc, fp and these 5
    spsub 5
    ret
"""

AT_SPAWN = """\
result int
proc Main arg=0 captures=0 ret=1 frame=0
Main:
    spawn G args=0 ret=0
    spsub 3
    push 0
    store -3
    ret

proc G arg=0 captures=0 ret=0 frame=0
G:
    push 1
    push 2
    push 3
    push 4
    push 5
    push 6          # G's stack: pc, fp and these 6
    spsub 6
    yield
    ret
"""

AFTER_MAIN_YIELD = """\
result int
proc Main arg=0 captures=0 ret=1 frame=0
Main:
    push 1
    yield
    push 2
    push 3          # 3 above fp 3
    add
    add
    store -3
    ret
"""


@pytest.mark.parametrize("text, value, deepest", [
    (AFTER_RETURN, 21, 9),
    (AFTER_RESUME, 0, 7),
    (AT_SPAWN, 0, 8),
    (AFTER_MAIN_YIELD, 6, 6),
])
def test_largest_stack_depth_is_exact(text, value, deepest):
    result = run(parse(text))
    assert result.cells == (value,)
    assert result.stats.max_stack_depth == deepest


def test_jump_table_picks_by_the_top_cell():
    table = """\
result int
proc Main arg=0 captures=0 ret=1 frame=0
Main:
    push {t}
    jmprel1 A B C
A:
    push 10
    store -3
    ret
B:
    push 20
    store -3
    ret
C:
    push 30
    store -3
    ret
"""
    assert shown(table.format(t=2)) == "30"
    assert shown(table.format(t=0)) == "10"
    assert fault(table.format(t=3)).message == "jump table index 3 is out of range (the table has 3 entries)"
    assert fault(table.format(t=-1)).message == "jump table index -1 is out of range (the table has 3 entries)"


def test_run_verifies_first():
    with pytest.raises(VerifyError):
        run(parse("result int\nproc Main arg=0 captures=0 ret=1 frame=0\nMain:\n  add\n  ret\n"))


# -- fibers ----------------------------------------------------------------------------

# A is spawned by Main and resumed first by B, then by Main: its parent changes.
RELAY = """\
result {Fiber (Fiber int); Fiber int}
proc Main arg=0 captures=0 ret=11 frame=0
Main:
    spawn A args=0 ret=1      # A yields at once: a0 at fp[0..3]
    spawn B args=4 ret=4      # takes a0; B finishes: b at fp[0..6]
    push fp[2]
    push fp[3]
    push fp[4]
    push fp[5]                # b's value, a1
    resume 1                  # A ends: Done 7
    resume 1                  # a Done handle comes back unchanged
    store -10
    store -11
    store -12
    store -13
    store -3
    store -4
    store -5
    store -6
    store -7
    store -8
    store -9
    ret

proc A arg=0 captures=0 ret=1 frame=0
A:
    yield
    yield
    push 7
    store -3
    ret

proc B arg=0 captures=4 ret=4 frame=0
B:
    push fp[-6]
    push fp[-5]
    push fp[-4]
    push fp[-3]
    resume 1                  # A runs to its second yield, which returns here
    store -7
    store -8
    store -9
    store -10
    ret
"""


def test_yield_returns_to_the_current_parent():
    result = run(parse(RELAY))
    # A is fiber #1, B fiber #2. A's counter: 0, then 1 (B's resume), then 2.
    # Lowest first: A's final handle {1 done, 7, #1, dirty 2}, then B's handle
    # {1 done, value a1 = {0 pending, 0, #1, dirty 1}, #2, dirty 0}.
    assert result.cells == (2, 1, 7, 1, 0, 2, 1, 1, 0, 0, 1)
    assert show_value(result.cells, parse(RELAY).result_type) == \
        "{Fiber (Fiber int) (`Done Fiber int `Pending), Fiber int (`Done 7)}"
    # Main's fp is 13 and its stack holds 11 cells at most above it. B, then A,
    # finish and are freed; Main, A and B were alive at once.
    assert result.stats == Stats(instructions=20 + 5 + 10, calls=0, yields=2, resumes=3, fibers_created=2,
                                 fibers_freed=2, most_fibers_alive=3, max_stack_depth=24)


STACKFUL = """\
result Fiber int
proc Main arg=0 captures=0 ret=4 frame=0
Main:
    spawn S args=0 ret=1
    resume 1
    store -3
    store -4
    store -5
    store -6
    ret

proc S arg=0 captures=0 ret=1 frame=0
S:
    spadd 1
    push 10
    call inc
    spsub 1
    store -3
    ret

proc inc arg=1 captures=0 ret=1 frame=0
inc:
    yield           # suspends S with inc's frame on S's stack
    push 1
    push fp[-3]
    add
    store -4
    ret
"""


def test_yield_inside_a_call_suspends_the_whole_fiber():
    result = run(parse(STACKFUL))
    assert result.cells == (1, 1, 11, 1)
    assert show_value(result.cells, parse(STACKFUL).result_type) == "Fiber int (`Done 11)"


def test_program_ends_when_main_returns_with_fibers_pending():
    text = STACKFUL.replace("    resume 1\n    store -3\n    store -4\n    store -5\n    store -6\n",
                            "    store -3\n    store -4\n    store -5\n    store -6\n")
    result = run(parse(text))
    assert show_value(result.cells, parse(text).result_type) == "Fiber int `Pending"
    assert result.cells == (0, 1, 0, 0)


def test_yield_on_main_does_nothing():
    result = run(parse("result int\nproc Main arg=0 captures=0 ret=1 frame=0\n"
                       "Main:\n  yield\n  push 5\n  store -3\n  ret\n"))
    assert result.cells == (5,)
    assert result.stats.yields == 1
    assert result.stats.instructions == 4


TWICE = """\
result int
proc Main arg=0 captures=0 ret=1 frame=0
Main:
    spawn W args=0 ret=1
    push fp[0]
    push fp[1]
    push fp[2]
    push fp[3]
    resume 1 @3:14            # fine: h0 is fresh
    spsub 4
    resume 1 @5:2             # h0 again
    spsub 4
    ret

proc W arg=0 captures=0 ret=1 frame=0
W:
    yield
    yield
    ret
"""


def test_second_resume_of_a_handle_is_a_runtime_fault():
    error = fault(TWICE)
    assert error.message == "fiber resumed twice: fiber #1's handle was already resumed"
    assert error.site == "5:2"
    assert str(error) == "5:2: fiber resumed twice: fiber #1's handle was already resumed"


def forged(handle: str, ret: int = 1, before: str = "") -> str:
    """Main resumes a handle built by hand: `handle` pushes its cells, lowest first."""
    pushes = "".join(f"    push {cell}\n" for cell in handle.split())
    return f"""\
result int
proc Main arg=0 captures=0 ret=1 frame=0
Main:
{before}{pushes}    resume {ret}
    ret

proc W arg=0 captures=0 ret=1 frame=0
W:
    yield
    ret

proc Quick arg=0 captures=0 ret=1 frame=0
Quick:
    ret
"""


def test_forged_handles_are_runtime_faults():
    # Main is fiber #0 with counter 0, and it is running.
    assert fault(forged("0 0 0 0")).message == "fiber #0 is running, so it cannot be resumed"
    assert fault(forged("0 5 0 0")).message == "resume of a handle to fiber #5, which does not exist"
    # A finished fiber is gone: a pending handle to it can only be a stale one.
    finished = "    spawn Quick args=0 ret=1\n"
    assert fault(forged("0 1 0 0", before=finished)).message == \
        "fiber resumed twice: fiber #1's handle was already resumed"
    pending = "    spawn W args=0 ret=1\n"
    assert fault(forged("0 1 0 0 0", ret=2, before=pending)).message == \
        "resume expects a result of 2 cells, but fiber #1 returns 1"


# -- printing values ------------------------------------------------------------------

SET3 = "closure[f {x: int} | g {a: int, b: bool} | h {}]"


@pytest.mark.parametrize("type_text, cells, expected", [
    ("int", (42,), "42"),
    ("int", (-7,), "-7"),
    ("bool", (1,), "true"),
    ("bool", (0,), "false"),
    ("{}", (), "{}"),
    # element 0 is the top cell; {2, 3} lies below it with 3 lowest
    ("{int; {int; int}; bool}", (1, 3, 2, 1), "{1, {2, 3}, true}"),
    ("Fiber {int; int}", (0, 4, 0, 0, 0), "Fiber {int; int} `Pending"),
    ("Fiber int", (3, 2, 55, 1), "Fiber int (`Done 55)"),
    ("Fiber int", (3, 2, -55, 1), "Fiber int (`Done -55)"),
    ("Fiber (Fiber int)", (1, 1, 0, 2, 0, 0, 1), "Fiber (Fiber int) (`Done Fiber int `Pending)"),
    ("Fiber {int; bool}", (0, 1, 0, 9, 1), "Fiber {int; bool} (`Done {9, false})"),
    # the capture record {x; y}: y lowest
    ("closure[lam2 {x: int, y: int}]", (6, 5), "lam2 {x, 5, y, 6}"),
    ("closure[add {}]", (), "add {}"),
    # a record, zero padding up to 2 cells, then the tag
    (SET3, (9, 0, 0), "f {x, 9}"),
    (SET3, (1, 4, 1), "g {a, 4, b, true}"),
    (SET3, (0, 0, 2), "h {}"),
    ("{closure[k {n: int}]; Fiber int}", (0, 3, 0, 0, 8), "{k {n, 8}, Fiber int `Pending}"),
    ("closure[c {f: Fiber int}]", (1, 2, 0, 0), "c {f, Fiber int `Pending}"),
])
def test_show_value(type_text, cells, expected):
    assert show_value(cells, parse_type(type_text)) == expected


def test_show_value_rejects_wrong_sizes_and_tags():
    with pytest.raises(ValueError):
        show_value((1, 2), parse_type("int"))
    with pytest.raises(ValueError):
        show_value((0, 0, 3), parse_type(SET3))


def test_closure_result_of_a_program():
    text = f"""\
result {SET3}
proc Main arg=0 captures=0 ret=3 frame=0
Main:
    push 1          # b
    push 4          # a
    push 1          # g's tag
    store -3
    store -4
    store -5
    ret
"""
    assert shown(text) == "g {a, 4, b, true}"


# -- the collector -----------------------------------------------------------------------

# Fiber #1's handle is kept in fp[0..3]; #2 and #3 are dropped as soon as they
# are spawned. Then #1 is resumed and gives 7.
KEPT = """\
result int
proc Main arg=0 captures=0 ret=1 frame=4
Main:
    spadd 4
    spawn W args=0 ret=1
    store 3
    store 2
    store 1
    store 0
    spawn W args=0 ret=1
        live fp[0] Fiber int
    spsub 4
    spawn W args=0 ret=1
        live fp[0] Fiber int
    spsub 4
    push fp[0]
    push fp[1]
    push fp[2]
    push fp[3]
    resume 1 @9:9
    spsub 1
    store -3
    spsub 2
    ret

proc W arg=0 captures=0 ret=1 frame=0
W:
    yield
    push 7
    store -3
    ret
"""


def test_the_collector_keeps_what_a_stack_map_names():
    result = run(parse(KEPT), collect_at_every_spawn=True)
    assert result.cells == (7,)
    # At #3's spawn the collector keeps main, #1 (named by Main's map) and #3 (being
    # spawned), and frees #2; #1 is freed when it finishes. Four were alive before that.
    assert (result.stats.fibers_freed, result.stats.most_fibers_alive) == (2, 4)
    # Without a collection at every spawn, two fibers are too few to start one.
    assert run(parse(KEPT)).stats.fibers_freed == 1


def test_the_collector_frees_what_no_stack_map_names():
    # The same program with wrong maps: #1 is freed at #2's spawn, and its handle is then stale.
    error = fault(KEPT.replace("        live fp[0] Fiber int\n", ""), collect_at_every_spawn=True)
    assert (error.message, error.site) == ("fiber resumed twice: fiber #1's handle was already resumed", "9:9")
