"""`python -m passes fuzz`: a differential fuzzing campaign.

    python -m passes fuzz --examples 20000 --seed 7 --out tests/regressions

Generates well-typed programs (passes/fuzz_programs.py) and checks each at
every level (passes/differential.py). A failing program is reduced to a
small one failing the same way (passes/reduce.py) and written to the output
folder as a new regression test (run by tests/test_regressions.py); the
campaign then goes on under the next seed until it has tried the number of
programs asked for. The same seed always gives the same programs.

Exit status: 0 every program agreed, 1 some did not (each one written),
2 usage error (or hypothesis, a test dependency, is not installed).
"""

from __future__ import annotations

import argparse
import gc
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from passes.tools.differential import Verdict, check
from passes.tools.reduce import reduce

# The driver runs with the cyclic collector off (passes build acyclic trees),
# but a campaign's interpreters and hypothesis leave cycles, which would grow
# by gigabytes over thousands of programs: collected every so many programs.
COLLECT_EVERY = 50

OK, FOUND, USAGE_ERROR = 0, 1, 2
NO_HYPOTHESIS = ("python -m passes fuzz: error: the fuzzer needs hypothesis, a test dependency; "
                 "install it with: pip install -e '.[test]'\n")


@dataclass
class Campaign:
    tried: int = 0
    skipped: int = 0  # too long to run at source level, or rejected by design: nothing to compare
    failures: list[tuple[int, str, Verdict]] = field(default_factory=list)  # (seed, program, verdict)


class _Mismatched(Exception):
    pass


def run_campaign(examples: int, seed: int, max_failures: int = 10,
                 on_program: Callable[[Campaign], None] = lambda c: None) -> Campaign:
    """Try `examples` generated programs from `seed` on, or stop at the
    max_failures-th failure. Each failing program is reduced (passes/reduce.py)
    to a small one that fails at the same stage."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    from ir.surface import print_program
    from passes.tools.fuzz_programs import programs, rejected_by_design

    campaign = Campaign()
    round_seed = seed
    while campaign.tried < examples and len(campaign.failures) < max_failures:
        failing = []

        @seeded(round_seed)
        @settings(max_examples=examples - campaign.tried, deadline=None, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(programs())
        def one(program):
            verdict = check(print_program(program))
            campaign.tried += 1
            if campaign.tried % COLLECT_EVERY == 0:
                gc.collect()
            skip = verdict.reference.kind == "out of fuel" or rejected_by_design(verdict)
            campaign.skipped += skip
            on_program(campaign)
            if verdict.mismatch is not None and not skip:
                failing.append(program)
                raise _Mismatched(str(verdict.mismatch))

        try:
            with warnings.catch_warnings():
                # A failing program's repr, which hypothesis writes into its report,
                # is as long as the program; the campaign reports it shrunk instead.
                warnings.filterwarnings("ignore", message="Generating overly large repr")
                one()
        except _Mismatched:
            text, verdict = shrink(failing[0])
            campaign.failures.append((round_seed, text, verdict))
        round_seed += 1
    return campaign


def shrink(program) -> tuple[str, Verdict]:
    """The smallest program reduce finds that still fails the same way, and its verdict."""
    from ir.surface import print_program

    failure = check(print_program(program)).mismatch

    def same(mismatch) -> bool:
        # A compile error must stay the same error: any program shrinks to an unbound variable.
        return (mismatch is not None and mismatch.stage == failure.stage and mismatch.got.kind == failure.got.kind
                and (mismatch.got.kind != "compile error" or mismatch.got.text == failure.got.text))

    def still_fails(text: str) -> bool:
        return same(check(text).mismatch)

    text = print_program(reduce(program, still_fails))
    return text, check(text)


def write_regression(folder: Path, seed: int, text: str, verdict: Verdict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stage = verdict.mismatch.stage.replace(" ", "-")
    number = 1
    while (path := folder / f"fuzz-{stage}-seed{seed}-{number}.co").exists():
        number += 1
    why = str(verdict.mismatch).splitlines() or [""]
    header = [f"# Found by `python -m passes fuzz --seed {seed}`, shrunk: the levels disagree.",
              *(f"# {line}" for line in why)]
    path.write_text("\n".join(header) + "\n" + text)
    return path


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m passes fuzz",
        description="Generate well-typed co programs and check that every IR's interpreter "
                    "and every backend agree with the source interpreter.")
    parser.add_argument("--examples", type=int, default=1000, metavar="N", help="how many programs to try")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="where the campaign starts")
    parser.add_argument("--max-failures", type=int, default=10, metavar="K",
                        help="stop after K failing programs (each takes a while to shrink)")
    parser.add_argument("--out", type=Path, default=Path("tests/regressions"), metavar="DIR",
                        help="where each failing program is written (default: tests/regressions)")
    return parser


def main(argv: list[str]) -> int:
    args = build_arg_parser().parse_args(argv)
    if args.examples < 1 or args.max_failures < 1:
        sys.stderr.write("python -m passes fuzz: error: --examples and --max-failures must be at least 1\n")
        return USAGE_ERROR
    try:
        import hypothesis  # noqa: F401 (only to say clearly that it is missing)
    except ImportError:
        sys.stderr.write(NO_HYPOTHESIS)
        return USAGE_ERROR
    from passes.driver import run_with_deep_stack

    return run_with_deep_stack(lambda: fuzz(args))


def fuzz(args: argparse.Namespace) -> int:
    err = Console(stderr=True)
    with Progress(TextColumn("fuzzing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[found]}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=err) as progress:
        task = progress.add_task("fuzz", total=args.examples, found="no mismatch")

        def advance(campaign: Campaign) -> None:
            found = f"{len(campaign.failures)} mismatches" if campaign.failures else "no mismatch"
            progress.update(task, completed=campaign.tried, found=found)
            if not err.is_terminal and campaign.tried % 1000 == 0:  # a log file gets a line now and then
                err.print(f"{campaign.tried} programs, {found}")

        campaign = run_campaign(args.examples, args.seed, args.max_failures, advance)
    for seed, text, verdict in campaign.failures:
        path = write_regression(args.out, seed, text, verdict)
        print(f"mismatch {verdict.mismatch}\n  written to {path}:\n{text}")
    print(f"{campaign.tried} programs from seed {args.seed}: {len(campaign.failures)} mismatches, "
          f"{campaign.skipped} skipped (too long to run, or rejected by design)")
    return FOUND if campaign.failures else OK
