"""The peephole pass, rule by rule, on listings: each test gives a program,
the program the pass must make of it, and checks that both run to the same
value, the second in fewer instructions (counts worked out by hand)."""

from __future__ import annotations

import pytest

from ir import blocks as B
from machine import run
from passes.peephole import RULES, Peephole, rewrite

# Two small callees shared by the programs below.
CALLEES = """
proc dec arg=1 captures=0 ret=1 frame=0
dec:
    push 1
    push fp[-3]
    sub
    store -4
    ret

proc inc arg=1 captures=0 ret=1 frame=0
inc:
    push 1
    push fp[-3]
    add
    store -4
    ret
"""


def program(main: str, result: str = "int", ret: int = 1, frame: int = 0) -> str:
    return f"result {result}\nproc Main arg=0 captures=0 ret={ret} frame={frame}\n{main}{CALLEES}"


def listing(text: str) -> str:
    return B.print_program(B.parse_program(text, "test.blocks"))


def assert_rewrites(before: str, after: str, saved: int) -> None:
    """The pass makes `after` of `before`; both give the same value, `after` in `saved` fewer steps."""
    original = B.parse_program(before, "before.blocks")
    improved = Peephole().run(original)
    assert B.print_program(improved) == listing(after)
    B.verify(improved)
    slow, fast = run(original), run(improved)
    assert fast.cells == slow.cells
    assert slow.stats.instructions - fast.stats.instructions == saved


def test_every_rule_is_named_in_the_module_docstring():
    import passes.peephole

    assert all(f"    {name} " in passes.peephole.__doc__ for name in RULES)


def test_merge_grows():
    # inc (dec 10): inc's return slot, then dec's, grown at once.
    before = program("""\
Main:
    spadd 1
    spadd 1
    push 10
    call dec
    spsub 1
    call inc
    spsub 1
    store -3
    ret
""")
    assert_rewrites(before, before.replace("    spadd 1\n    spadd 1\n", "    spadd 2\n"), saved=1)


def test_merge_drops():
    # 7, 2, then 3 + 2 (not a constant: read from the frame); drop two cells, leaving 7.
    before = program("""\
Main:
    push 7
    push 2
    push 3
    push fp[1]
    add
    spsub 1
    spsub 1
    store -3
    ret
""")
    assert_rewrites(before, before.replace("    spsub 1\n    spsub 1\n", "    spsub 2\n"), saved=1)


# dec 10 + dec 20: after the first call, its argument's cell becomes the second's return slot.
TWO_CALLS = """\
Main:
    spadd 1
    push 20
    call dec
    spsub 1
    spadd 1
    push 10
    call dec
    spsub 1
    add
    store -3
    ret
"""


def test_reuse_dropped_cancels_a_drop_and_a_grow_of_the_same_size():
    assert_rewrites(program(TWO_CALLS), program(TWO_CALLS.replace("    spsub 1\n    spadd 1\n", "")), saved=2)


def test_reuse_dropped_keeps_the_difference():
    # Two cells (4 and 4 + 5) dropped, one grown: one dropped. The grown cell is
    # written before it is read. (The values are sums: pushes would be dropped instead.)
    before = program("""\
Main:
    push 4
    push 5
    push fp[0]
    add
    spsub 2
    spadd 1
    push 9
    store 0
    push fp[0]
    store -3
    spsub 1
    ret
""")
    assert_rewrites(before, before.replace("    spsub 2\n    spadd 1\n", "    spsub 1\n"), saved=1)
    # One cell (4 + 4) dropped, three grown: two grown.
    before = program("""\
Main:
    push 4
    push fp[0]
    add
    spsub 1
    spadd 3
    push 9
    store 2
    push fp[2]
    store -3
    spsub 3
    ret
""")
    assert_rewrites(before, before.replace("    spsub 1\n    spadd 3\n", "    spadd 2\n"), saved=1)


def test_drop_a_push():
    # Two pushes dropped by one spsub: the second push goes, then the first.
    assert_rewrites(program("""\
Main:
    push 5
    spsub 1
    push 3
    push fp[0]
    spsub 2
    push 8
    store -3
    ret
"""), program("""\
Main:
    push 8
    store -3
    ret
"""), saved=5)


@pytest.mark.parametrize("operands, op, folded", [
    ("push 1\n    push 0", "sub", "push -1"),  # -1 is 0 - 1 to emit: the top is the left operand
    ("push 3\n    push 10", "sub", "push 7"),
    ("push 6\n    push 7", "mul", "push 42"),
    ("push 1\n    push 9223372036854775807", "add", "push -9223372036854775808"),  # wraps
    ("push 2\n    push 1", "lt", "push 1"),  # 1 < 2
    ("push 1\n    push 2", "lt", "push 0"),
    ("push 4\n    push 4", "eq", "push 1"),
])
def test_fold_constants(operands, op, folded):
    body = "Main:\n    {}\n    store -3\n    ret\n"
    assert_rewrites(program(body.format(f"{operands}\n    {op}")), program(body.format(folded)), saved=2)


def test_fold_constants_folds_what_it_folded():
    # 2 * (3 + 4), with every operand a constant.
    assert_rewrites(program("""\
Main:
    push 4
    push 3
    add
    push 2
    mul
    store -3
    ret
"""), program("""\
Main:
    push 14
    store -3
    ret
"""), saved=4)


IS_ZERO = """\
Main:
    spadd 1
    {test}
    jmpz Main.no
    jmp Main.yes
Main.no:
    push 20
    store -3
    ret
Main.yes:
    push 10
    store -3
    ret
"""


# fp[0] == 0 answers yes: `jmpz` falls through to `jmp Main.yes`, one more step; after
# the rewrite the jump to Main.yes is the `jmpz` itself, so the saving depends on the way.
@pytest.mark.parametrize("frame_value, expected, saved", [(0, 10, 3), (5, 20, 1)])
@pytest.mark.parametrize("test", ["push 0\n    push fp[0]\n    eq", "push fp[0]\n    push 0\n    eq"])
def test_test_zero_branches_on_the_value_itself(test, frame_value, expected, saved):
    # if fp[0] == 0 then 10 else 20, the zero on either side of `==`.
    before = IS_ZERO.format(test=f"push {frame_value}\n    store 0\n    {test}")
    after = IS_ZERO.format(test=f"push {frame_value}\n    store 0\n    push fp[0]").replace(
        "    jmpz Main.no\n    jmp Main.yes\n", "    jmpz Main.yes\n    jmp Main.no\n")
    assert_rewrites(program(before, frame=1), program(after, frame=1), saved=saved)
    assert run(B.parse_program(program(after, frame=1), "t.blocks")).cells == (expected,)


def test_constant_branch_goes_one_way_and_drops_the_other_arm():
    # if 3 == 3 then 10 else 20: folded to `push 1`, then the branch to Main.yes.
    before = IS_ZERO.format(test="push 3\n    push 3\n    eq").replace("jmpz Main.no\n    jmp Main.yes",
                                                                          "jmpz Main.yes\n    jmp Main.no")
    after = """\
Main:
    spadd 1
    jmp Main.no
Main.no:
    push 20
    store -3
    ret
"""
    assert_rewrites(program(before, frame=1), program(after, frame=1), saved=4)


def test_no_rule_reaches_across_a_call_or_a_yield():
    # A drop and a grow around a call, a push and a drop around a yield: nothing to do.
    text = program("""\
Main:
    spadd 1
    call two
    spsub 1
    call nothing
    spadd 1
    push 3
    yield
    spsub 1
    store -3
    ret

proc two arg=0 captures=0 ret=1 frame=0
two:
    push 2
    store -3
    ret

proc nothing arg=0 captures=0 ret=0 frame=0
nothing:
    ret
""")
    assert listing(text) == B.print_program(Peephole().run(B.parse_program(text, "t.blocks")))


def test_rewrite_is_linear_on_a_long_block():
    # 100,000 pushes each dropped at once: every rewrite is at the end of what is written.
    long_block = (B.Push(B.Imm(1)), B.SpSub(1)) * 100_000 + (B.Ret(),)
    assert rewrite(long_block) == (B.Ret(),)


def test_a_blocks_file_runs_as_written_and_start_after_emit_rewrites_it(tmp_path, capsys):
    from tests.test_driver import cli, write

    # 5 + 5 dropped, then a cell grown and read before it is written: the machine's
    # spadd gives 0. reuse-dropped assumes no code reads such a cell, as emit's never
    # does; so on this hand-written listing it would leave the 10 there.
    path = write(tmp_path, program("""\
Main:
    push 5
    push fp[0]
    add
    spsub 1
    spadd 1
    store -3
    ret
"""), "prog.blocks")
    assert cli(capsys, path).out == "0\n"
    assert cli(capsys, path, "--start-after", "emit").out == "10\n"
