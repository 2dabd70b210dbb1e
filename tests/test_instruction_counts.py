"""Instructions executed by the VM for the three programs the back end is
measured on, at small sizes, counted by hand from their listings
(`python -m passes prog.co --print-after peephole`). The same programs at
full size (fib 28, fib_fiber with fib 24, countdown from 1,000,000) are
measured in the report of the change that made them faster."""

from __future__ import annotations

from ir.source import Source
from machine import run
from tests.pipeline_runs import EXAMPLES, vm_pipeline


def instructions(text: str) -> int:
    return run(vm_pipeline().run(Source("count.co", text))).stats.instructions


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def test_fib():
    # A call with n < 2 (a leaf): push 2, push n, lt, jmpz, jmp, push n, store, ret = 8.
    # Any other: push 2, push n, lt, jmpz = 4, then spadd 1, push 2, push n, sub, call,
    # push 1, push n, sub, call, spsub 1, add, store, ret = 13 (the first call's
    # argument cell is the second's return slot). Main: 6. fib 10 makes fib(11) = 89
    # leaf calls and 88 others.
    assert instructions("let rec fib = \\n -> if n < 2 then n else fib (n - 1) + fib (n - 2) in fib 10") \
        == 8 * 89 + 17 * 88 + 6 == 2214
    # The implementation this replaced took 13 per call: 13 * 177 = 2301.


def test_countdown():
    # Main: 7. A round: push t.0, jmpz, jmp, then 9 (two sums, two stores, jmp); the
    # last: push, jmpz, push t.1, store, ret = 5. The implementation this replaced
    # took 14 per round and 14 more.
    text = (EXAMPLES / "countdown.co").read_text().replace("100000", "1000")
    assert instructions(text) == 7 + 12 * 1000 + 5 == 12_012 < 14 * 1000 + 14


def test_fib_fiber():
    # fib with a yield: 9 for a leaf, 18 for the others. exec: 3 on entry, then 24
    # per Pending handle (4 pushes, resume, 4 stores, 12 to build the next state,
    # jmp to exec.loop), and 2 from exec.loop back to it; 3 + 13 for the `Done one.
    # Main 26, Spawn 6. fib 20 makes fib(21) leaf calls, fib(21) - 1 others, and
    # yields once per call: calls = 2 fib(21) - 1 resumes.
    leaves = fib(21)
    calls = 2 * leaves - 1
    expected = 26 + 6 + 9 * leaves + 18 * (leaves - 1) + 3 + 24 * calls + 2 * (calls - 1) + 3 + 13
    assert instructions((EXAMPLES / "fib_fiber.co").read_text()) == expected == 864_739
