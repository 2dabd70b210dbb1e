"""Boxed closures cost no memory once dropped: peak memory, 100,000 against 1,000,000.

    python bench/boxes.py [--backend vm|fast]

Each round of a tail loop makes two boxed closures (compose's, whose set is
boxed) and calls them, then drops them; the program runs to N / 2 rounds,
so it makes N boxed closures in all. Each count runs in a fresh process,
side by side, which reports its peak resident memory (ru_maxrss) and its
time: a record freed when nothing refers to it any more keeps the peak
the same whatever the count, while the time grows with it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COUNTS = (100_000, 1_000_000)


def program(closures: int) -> str:
    """N boxed closures: each round boxes compose inc inc, then compose of that and inc."""
    return ("let compose = \\f -> \\g -> \\x -> f (g x) in\nlet inc = \\x -> x + 1 in\n"
            "let rec loop = \\s -> if s.0 == 0 then s.1 else "
            "loop {s.0 - 1, compose (compose inc inc) inc s.1} in\n"
            f"loop {{{closures // 2}, 0}}")


def measure(closures: int, backend: str) -> dict:
    """Run in this process (a child of main): the value, the seconds, the peak memory in MiB."""
    from ir.source import Source
    from passes.driver import run_with_deep_stack
    from passes.framework.pipeline import Pipeline
    from passes.framework.registry import DEFAULT_PIPELINE, Registry

    import machine

    registry = Registry()
    names = [name for name in DEFAULT_PIPELINE if backend == "fast" or name != "to-python"]
    compiled = run_with_deep_stack(lambda: Pipeline.from_names(names, registry).run(
        Source("boxes.co", program(closures))))
    start = time.process_time()
    if backend == "fast":
        from machine import fast

        value = machine.show_value(fast.run(compiled), compiled.result_type)
    else:
        value = machine.show_value(machine.run(compiled).cells, compiled.result_type)
    seconds = time.process_time() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"value": value, "seconds": seconds, "peak_mib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("vm", "fast"), default="vm")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.backend)))
        return
    results = {}
    for closures in COUNTS:
        done = subprocess.run([sys.executable, __file__, "--backend", args.backend, "--child", str(closures)],
                              capture_output=True, text=True, check=True)
        results[closures] = json.loads(done.stdout)
        # Each round adds 3 to s.1: inc (inc (inc x)).
        assert results[closures]["value"] == str(3 * (closures // 2)), results[closures]
    small, large = (results[n] for n in COUNTS)
    print(f"backend {args.backend}: boxed closures made and dropped, peak memory and CPU time")
    for closures in COUNTS:
        print(f"  {closures:>9,}  {results[closures]['peak_mib']:7.1f} MiB  {results[closures]['seconds']:6.2f} s")
    print(f"  ratio 1,000,000 / 100,000: memory {large['peak_mib'] / small['peak_mib']:.2f}x, "
          f"time {large['seconds'] / small['seconds']:.1f}x")


if __name__ == "__main__":
    main()
