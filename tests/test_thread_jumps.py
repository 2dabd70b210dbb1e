"""The thread-jumps pass on listings: every expected listing is worked out by hand."""

from __future__ import annotations

from ir import blocks as B
from machine import run
from passes.thread_jumps import ThreadJumps, thread_jumps


def threaded(text: str) -> str:
    program = B.parse_program(text, "test.blocks")
    result = ThreadJumps().run(program)
    B.verify(result)
    assert run(result).cells == run(program).cells
    return B.print_program(result)


def listing(text: str) -> str:
    return B.print_program(B.parse_program(text, "test.blocks"))


# if fp[0] then (if fp[0] then 1 else 2) else 3, its joins only jumping on.
NESTED_IF = """\
result int
proc Main arg=0 captures=0 ret=1 frame=1
Main:
    spadd 1
    push 1
    store 0
    push fp[0]
    jmpz Main.else
    jmp Main.then
Main.then:
    push fp[0]
    jmpz Main.inner_else
    jmp Main.inner_then
Main.inner_then:
    push 1
    jmp Main.inner_join
Main.inner_else:
    push 2
    jmp Main.inner_join
Main.inner_join:
    jmp Main.join
Main.else:
    push 3
    jmp Main.join
Main.join:
    store -3
    ret
"""


def test_a_jump_into_a_chain_goes_to_its_end():
    assert threaded(NESTED_IF) == listing(NESTED_IF.replace("jmp Main.inner_join", "jmp Main.join")
                                          .replace("Main.inner_join:\n    jmp Main.join\n", ""))


def test_a_conditional_jump_and_a_jump_table_are_threaded_too():
    text = """\
result int
proc Main arg=0 captures=0 ret=1 frame=0
Main:
    push 0
    jmpz Main.hop
    jmp Main.hop2
Main.hop:
    jmp Main.end
Main.hop2:
    push 1
    jmprel1 Main.hop Main.end
Main.end:
    push 7
    store -3
    ret
"""
    assert threaded(text) == listing(text.replace("jmpz Main.hop", "jmpz Main.end")
                                     .replace("jmprel1 Main.hop ", "jmprel1 Main.end ")
                                     .replace("Main.hop:\n    jmp Main.end\n", ""))


RETURNS = """\
result int
proc Main arg=0 captures=0 ret=1 frame=0
Main:
    push 0
    jmpz Main.a
    jmp Main.done
Main.a:
    push 5
    store -3
    jmp Main.done
Main.done:
    ret
"""


def test_a_lone_jump_to_a_bare_ret_returns_at_once():
    # Main.a's jump becomes `ret`; Main's `jmp` stays, as a `jmpz` must be followed by one.
    assert threaded(RETURNS) == listing(RETURNS.replace("    store -3\n    jmp Main.done\n",
                                                        "    store -3\n    ret\n"))


def test_blocks_no_jump_reaches_are_dropped_but_the_entry_stays():
    text = """\
result int
proc Main arg=0 captures=0 ret=1 frame=0
Main:
    jmp Main.body
Main.body:
    push 2
    store -3
    ret
Main.nowhere:
    push 3
    store -3
    ret
"""
    assert threaded(text) == listing(text.replace("Main.nowhere:\n    push 3\n    store -3\n    ret\n", ""))


def test_a_cycle_of_jumps_is_kept_as_one_endless_jump():
    a, b = B.Block("a", (B.Jmp("b"),)), B.Block("b", (B.Jmp("c"),))
    c = B.Block("c", (B.Jmp("b"),))
    assert thread_jumps([a, b, c]) == (B.Block("a", (B.Jmp("b"),)), B.Block("b", (B.Jmp("b"),)))
