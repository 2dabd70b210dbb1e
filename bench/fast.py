"""The fast backend against hand-written Python, measured side by side in one run.

    python bench/fast.py [--repeat N]

For each program: the run of the compiled program (to-python's output,
loaded by machine.fast) and the same computation written by hand, CPU time,
the best of N runs taken in turn, with Python's cyclic collector off on
both sides, as the driver runs a program; then the ratio fast / by hand.
Last, 1,000,000 against 100,000 spawn rounds: the run alone, and the peak
memory of the whole process (`python -m passes`).
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ir.source import Source  # noqa: E402
from machine import fast  # noqa: E402
from passes.framework.pipeline import Pipeline  # noqa: E402
from passes.framework.registry import DEFAULT_PIPELINE, Registry  # noqa: E402

from benchmark import fib_by_hand, fib_fiber_by_hand, loop_by_hand  # noqa: E402  (bench/ is the script's folder)

FIB = "let rec fib = \\n -> if n < 2 then n else fib (n - 1) + fib (n - 2) in fib 28"
LOOP = (ROOT / "examples" / "countdown.co").read_text().replace("{100000, 0}", "{1000000, 0}")
FIB_FIBER = (ROOT / "examples" / "fib_fiber.co").read_text().replace("fib 20", "fib 24")


def spawns(rounds: int) -> str:
    """rounds x (spawn a fiber that yields once, resume it, add its result)."""
    return ("let w = \\n -> yield; n in\n"
            "let rec go = \\s -> if s.0 == 0 then s.1 else\n"
            "  let h = resume (spawn (w s.0)) in\n"
            "  stat h | `Pending -> 0 | `Done v -> go {s.0 - 1, s.1 + v}\n"
            f"in go {{{rounds}, 0}}\n")


def spawns_by_hand(rounds: int = 100_000) -> int:
    def w(n):
        yield
        return n

    total = 0
    while rounds:
        fiber = w(rounds)
        next(fiber)
        try:
            next(fiber)
        except StopIteration as done:
            total += done.value
        rounds -= 1
    return total


CASES = [  # name, program, by hand, the printed value of both
    ("fib 28", FIB, lambda: fib_by_hand(28), "317811"),
    ("loop 1,000,000", LOOP, lambda: loop_by_hand(1_000_000), "500000500000"),
    ("fib-fiber 24", FIB_FIBER, lambda: fib_fiber_by_hand(24), "{46368, 150049}"),
    ("100,000 spawns", spawns(100_000), spawns_by_hand, "5000050000"),
]


def compiled(text: str):
    """The program's python IR, and its main function ready to run."""
    program = Pipeline.from_names(DEFAULT_PIPELINE, Registry()).run(Source("bench.co", text))
    return program, fast.load(program)[program.main]


def cpu_time(work) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def peak_memory_mib(text: str) -> float:
    """The most memory `python -m passes` takes to compile and run text."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "program.co"
        path.write_text(text)
        script = ("import resource, runpy, sys; sys.argv = ['passes', sys.argv[1]]\n"
                  "try: runpy.run_module('passes', run_name='__main__')\n"
                  "finally: print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
        done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=ROOT)
    return int(done.stderr.split()[-1]) / 1024  # kilobytes on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    gc.disable()
    print(f"{'program':<16} {'fast':>8} {'by hand':>8} {'fast/hand':>10}")
    for name, text, by_hand, expected in CASES:
        program, run = compiled(text)
        shown = fast.interpret(program)
        if shown != expected:
            print(f"{name}: wrong value {shown!r}, expected {expected!r}")
            return 1
        ours = theirs = float("inf")
        for _ in range(args.repeat):
            ours, theirs = min(ours, cpu_time(run)), min(theirs, cpu_time(by_hand))
        print(f"{name:<16} {ours:>7.3f}s {theirs:>7.3f}s {ours / theirs:>9.2f}x")
    small, large = compiled(spawns(100_000))[1], compiled(spawns(1_000_000))[1]
    ratio = min(cpu_time(large) for _ in range(args.repeat)) / min(cpu_time(small) for _ in range(args.repeat))
    small_memory, large_memory = peak_memory_mib(spawns(100_000)), peak_memory_mib(spawns(1_000_000))
    print(f"1,000,000 / 100,000 spawn rounds: {ratio:.1f}x the time (the run), {large_memory / small_memory:.2f}x "
          f"the peak memory (the whole process: {large_memory:.0f} / {small_memory:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
