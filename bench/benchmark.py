"""Speed, measured side by side in one run: the VM against hand-written Python.

    python bench/benchmark.py [--repeat N]

For each program: the whole process (`python -m passes prog.co`), the
compile alone, the VM alone, and the same computation written by hand in
Python; then the ratio VM / Python, the number the project's target is set
on (within 1.5-2x). Each time is the best of N runs, so that a busy
machine slows the numbers less; ratios of times taken in the same run are
what to compare between versions, not the raw seconds.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ir.source import Source  # noqa: E402
from passes.framework.pipeline import Pipeline  # noqa: E402
from passes.framework.registry import DEFAULT_PIPELINE, Registry  # noqa: E402

import machine  # noqa: E402


def loop_by_hand(rounds: int = 100000) -> int:
    t = (rounds, 0)
    while t[0] != 0:
        t = (t[0] - 1, t[1] + t[0])
    return t[1]


def fib_by_hand(n: int) -> int:
    return n if n < 2 else fib_by_hand(n - 1) + fib_by_hand(n - 2)


def fib_fiber_by_hand(n: int = 20) -> tuple[int, int]:
    def fib(n):
        yield
        if n < 2:
            return n
        a = yield from fib(n - 1)
        b = yield from fib(n - 2)
        return a + b

    fiber, resumes = fib(n), 0
    try:
        next(fiber)
        while True:
            next(fiber)
            resumes += 1
    except StopIteration as done:
        return done.value, resumes + 1


FIB_SOURCE = "let rec fib = \\n -> if n < 2 then n else fib (n - 1) + fib (n - 2) in fib 22"

CASES = [
    # name, source text, hand-written equivalent, its expected printed value
    ("countdown", (ROOT / "examples" / "countdown.co").read_text(), loop_by_hand, "5000050000"),
    ("fib 22", FIB_SOURCE, lambda: fib_by_hand(22), "17711"),
    ("fib_fiber", (ROOT / "examples" / "fib_fiber.co").read_text(), fib_fiber_by_hand, "{6765, 21891}"),
]


def best_of(repeat: int, work) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.setrecursionlimit(100_000)
    registry = Registry()
    print(f"{'program':<11} {'process':>9} {'compile':>9} {'VM':>9} {'Python':>9} {'VM/Python':>10}")
    for name, text, by_hand, expected in CASES:
        source = Source(f"{name}.co", text)
        pipeline = Pipeline.from_names([n for n in DEFAULT_PIPELINE if n != "to-python"], registry)  # the VM runs blocks
        compile_time, program = best_of(args.repeat, lambda: pipeline.run(source))
        vm_time, result = best_of(args.repeat, lambda: machine.run(program))
        shown = machine.show_value(result.cells, program.result_type)
        python_time, _ = best_of(args.repeat, by_hand)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "program.co"
            path.write_text(text)
            process_time, done = best_of(args.repeat, lambda: subprocess.run(
                [sys.executable, "-m", "passes", str(path)], capture_output=True, text=True, cwd=ROOT))
        if shown != expected or done.stdout.strip() != expected:
            print(f"{name}: wrong value {shown!r} / {done.stdout.strip()!r}, expected {expected!r}")
            return 1
        print(f"{name:<11} {process_time:>8.3f}s {compile_time:>8.3f}s {vm_time:>8.3f}s "
              f"{python_time:>8.4f}s {vm_time / python_time:>9.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
