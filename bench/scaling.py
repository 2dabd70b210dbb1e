"""How the compiler scales and how fast it starts, measured side by side in one run.

    python bench/scaling.py [--sizes 1000,10000,100000] [--shapes "let chain,else-if chain"] [--runs 20]

Start-up: the median time of `python -m passes` on `1 + 2` against that of
`python -c pass`, interleaved, and their ratio. Scaling: for each program
shape of passes/tools/big_programs.py, the whole process on programs of
each size, and the ratio of each time to the one before (10x the size
should take about 10x the time). Times are CPU seconds of the child
processes, less disturbed by a busy machine than wall time; the ratios are
what to compare, not the raw seconds. Python writes bytecode files as a
user's installation does (PYTHONDONTWRITEBYTECODE is unset for the runs).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from passes.tools.big_programs import SHAPES  # noqa: E402

ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def cpu_seconds(command: list[str], stdin: str | None = None) -> float:
    """The CPU time a child process running command takes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, env=ENV, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr[-500:]}")
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def start_up(runs: int) -> None:
    commands = {"python -c pass": [sys.executable, "-c", "pass"],
                "python -m passes (1 + 2)": [sys.executable, "-m", "passes", "-"]}
    cpu_seconds(commands["python -m passes (1 + 2)"], "1 + 2")  # bytecode written
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(cpu_seconds(command, "1 + 2"))
    base, ours = (statistics.median(times[name]) for name in commands)
    print(f"start-up: python -c pass {base * 1000:.1f} ms, python -m passes on 1 + 2 {ours * 1000:.1f} ms: "
          f"ratio {ours / base:.2f}")


def scaling(shapes: list[str], sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for shape in shapes:
            cells, before = [], None
            for size in sizes:
                path = Path(folder) / f"{shape.replace(' ', '_')}_{size}.co"
                path.write_text(SHAPES[shape](size)[0])
                seconds = cpu_seconds([sys.executable, "-m", "passes", str(path)])
                cells.append(f"{size:>7}: {seconds:6.2f} s" + (f" (x{seconds / before:4.1f})" if before else ""))
                before = seconds
            print(f"{shape:15}  " + "   ".join(cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--runs", type=int, default=20, help="start-up runs of each command")
    args = parser.parse_args()
    start_up(args.runs)
    scaling([s.strip() for s in args.shapes.split(",")], [int(n) for n in args.sizes.split(",")])


if __name__ == "__main__":
    main()
