"""Speed of the editor analysis on a long program, measured side by side in one run.

    python bench/editor.py [--lines 5000] [--repeat 3]

It generates a program of many lets and functions (curried, recursive,
with tuples) and times, best of N: the front end alone (parse and infer),
the whole compile, `analyze`, the first question (which builds the
indexes), a hover after it, and the other answers an editor asks for on
every change. Ratios to the front end are what to compare between
versions, not the raw milliseconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ir.source import Source  # noqa: E402
from passes.framework.deep_stack import run_with_deep_stack  # noqa: E402
from passes.framework.pipeline import Pipeline  # noqa: E402
from passes.framework.registry import DEFAULT_PIPELINE, Registry  # noqa: E402
from passes.ide.analysis import Analyzer  # noqa: E402


def long_program(lines: int) -> str:
    """Blocks of seven lines: a curried function with a tuple, a caller, a loop, a value."""
    out = ["# a long generated program", "let base = 1 in"]
    i = 0
    while len(out) < lines - 1:
        out += [
            f"let f{i} = \\a -> \\b ->",
            f"  let t = {{a + b, a * {i % 50}}} in",
            "  if t.0 < t.1 then t.0 else t.1 - b",
            "in",
            f"let g{i} = \\n -> f{i} n (n + base) in",
            f"let rec loop{i} = \\n -> if n < 1 then 0 else loop{i} (n - 1) in",
            f"let v{i} = g{i} {i % 50} + loop{i} 3 in",
        ]
        i += 1
    return "\n".join([*out, f"v{i - 1}"]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text = long_program(args.lines)
    inside = text.index("t.0 < t.1", len(text) // 2)
    analyzer = Analyzer()
    best: dict[str, float] = {}

    def timed(label: str, task):
        started = time.perf_counter()
        result = task()
        best[label] = min(best.get(label, float("inf")), time.perf_counter() - started)
        return result

    for _ in range(args.repeat):
        for label, names in (("parse + infer", ["parse", "infer"]), ("whole compile", list(DEFAULT_PIPELINE))):
            pipeline = Pipeline.from_names(names, Registry())
            timed(label, lambda: run_with_deep_stack(lambda: pipeline.run(Source("long.co", text))))
        analysis = timed("analyze", lambda: analyzer.analyze(text, "long.co"))
        timed("first hover (builds the indexes)", lambda: analysis.hover(inside))
        timed("next hover", lambda: analysis.hover(inside + 4))
        timed("references", lambda: analysis.references(inside))
        for label in ("tokens", "symbols", "inlay_hints"):
            timed(label, getattr(analysis, label))
    unit = best["parse + infer"]
    print(f"{args.lines} lines, best of {args.repeat}; ratio to parse + infer")
    for label, seconds in best.items():
        print(f"  {label:34} {seconds * 1000:9.2f} ms  {seconds / unit:8.4f}")


if __name__ == "__main__":
    main()
