"""The benchmark suite: it runs, prints every row, checks the values programs
print, and measures a child's peak memory rather than its parent's.

Nothing here asserts on a time: timings on a shared machine are noise.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from passes.driver.arguments import build_arg_parser
from passes.tools import bench, bench_python

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_run_prints_every_row():
    # From the repository's root, whose folder bench/ must not pass for a program.
    done = subprocess.run([sys.executable, "-m", "passes", "bench", "--quick"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    programs = ["fib 15", "fib fiber, fib 10", "loop of 1,000 rounds", "1,000 spawns",
                "1 + 2 (Python: -c pass)", "let chain", "many functions", "10,000 vs 1,000 spawns"]
    measures = ["whole process", "whole process ÷ Python", "run alone", "run alone ÷ Python", "peak memory",
                "VM instructions", "whole process, 1,000 bindings", "compile, 100 bindings", "compile ÷ 100's",
                "run alone ratio", "peak memory ratio", "VM most fibers alive, 10,000"]
    for text in programs + measures:
        assert text in done.stdout
    assert "wrong result" not in done.stderr


def test_json_holds_the_measurements_and_the_vm_counts(tmp_path):
    done = subprocess.run([sys.executable, "-m", "passes", "bench", "--quick", "--only", "loop", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert (results["repeat"], results["clock"]) == (1, "cpu")
    lines = {line["measure"]: line for line in results["lines"]}
    assert lines["whole process"]["values"]["vm"] > 0
    assert lines["run alone"]["values"]["Python"] > 0
    assert lines["run alone ÷ Python"]["target"] == "≤ 1.5x"
    # The count is the one --stats prints for the same program.
    loop = bench.program_named("loop")
    program = tmp_path / "loop.co"
    program.write_text(loop.template.replace("SIZE", str(bench.QUICK.loop)))
    backend = ["--backend", "vm"] if bench.detect_passes_backends() else []
    stats = subprocess.run([sys.executable, "-m", "passes", str(program), "--stats", *backend],
                           capture_output=True, text=True)
    instructions = lines["VM instructions"]["values"]["vm"]
    assert re.search(rf"^instructions +{instructions}$", stats.stderr, re.M), stats.stderr


def test_wall_clock_on_request_and_listed_in_the_drivers_help():
    done = subprocess.run([sys.executable, "-m", "passes", "bench", "--quick", "--only", "start-up",
                           "--clock", "wall", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["clock"] == "wall"
    assert "python -m passes bench" in build_arg_parser().format_help()


def test_a_wrong_value_fails_the_benchmark(monkeypatch, capsys):
    wrong = tuple(dataclasses.replace(p, expected=lambda n: "41") if p.name == "loop" else p
                  for p in bench.PROGRAMS)
    monkeypatch.setattr(bench, "PROGRAMS", wrong)
    assert bench.main(["--quick", "--only", "loop"]) == 1
    assert "wrong result in loop" in capsys.readouterr().err


def test_expected_values_are_those_the_issue_gives():
    assert bench.program_named("fib").expected(28) == "317811"
    assert bench.program_named("fib-fiber").expected(24) == "{46368, 150049}"
    assert bench.program_named("loop").expected(1_000_000) == "500000500000"
    assert bench.program_named("spawns").expected(4) == "10"  # 4 + 3 + 2 + 1


@pytest.mark.parametrize("program", bench.PROGRAMS, ids=lambda p: p.name)
def test_python_by_hand_computes_the_expected_value(program):
    assert bench_python.PROGRAMS[program.python](12) == program.expected(12)


def test_the_fiber_program_counts_as_language_md_says():
    assert bench_python.fib_fiber(10) == "{55, 177}"


def test_peak_memory_is_the_childs_not_this_processs(tmp_path):
    ballast = b"x" * 200_000_000  # noqa: F841 (resident while the children run)
    idle = bench.run_child([sys.executable, "-c", "pass"], {}, tmp_path)
    busy = bench.run_child([sys.executable, "-c", "b = b'x' * 100_000_000"], {}, tmp_path)
    assert idle.status == busy.status == 0
    assert idle.peak_bytes < 50_000_000
    assert busy.peak_bytes > 100_000_000


def test_backends_are_read_from_the_drivers_help():
    assert bench.backends_in_help("  --stats  print VM counts\n") == ()
    assert bench.backends_in_help("  --backend {fast,vm}  which backend runs\n") == ("fast", "vm")
    assert bench.backends_in_help("  --backend NAME  fast or vm\n") == ("fast", "vm")


def test_a_measurement_longer_than_a_minute_is_not_repeated():
    def run_taking(seconds):
        return lambda: seconds

    assert bench.repeated(run_taking(1.0), 3, lambda s: s) == [1.0, 1.0, 1.0]
    slow = bench.LONG_RUN_SECONDS + 1
    assert bench.repeated(run_taking(slow), 3, lambda s: s) == [slow]


def test_the_default_backend_runs_as_a_user_types_it(tmp_path, monkeypatch):
    # `python -m passes prog.co`, not `--backend fast`: a flag makes the driver
    # build its argument parser, which a plain run never does.
    commands = []
    measuring = bench.Bench(1, "cpu", tmp_path, ("fast", "vm"))
    monkeypatch.setattr(measuring, "process", lambda command, expected, cached=False: commands.append(command))
    measuring.co_process("1 + 2\n", "fast", "3")
    measuring.co_process("1 + 2\n", "vm", "3")
    assert [command[4:] for command in commands] == [[], ["--backend", "vm", "--stats"]]
    assert commands[0][1:3] == ["-m", "passes"]
