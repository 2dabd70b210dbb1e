"""The benchmark suite: co against hand-written Python, side by side in one run.

    python -m passes bench [--repeat N] [--quick] [--only NAME] [--json]

Every program is measured on each backend (`--backend fast` and `--backend
vm`) and, where there is one, against the same computation written by hand
in Python (passes/tools/bench_python.py):

- whole process: `python -m passes prog.co` as a child process, start-up
  and compile included (the cache of compiled programs off), against
  `python bench_python.py NAME N`; and for the fast backend, cached: the
  program in the cache (a folder of the benchmark's own), run once before;
- run alone: compiled once in this process (for the fast backend, to
  Python), then only the run is timed (loading into the backend included:
  the VM's flattening, the fast backend's compile() of the generated
  source), against calling the Python function;
- peak memory: the child's maximum resident set size (ru_maxrss), as a
  small wrapper process that starts it reads it from os.wait4;
- VM counts: what `--stats` prints for the VM run.

Compile times are measured in a fresh process each time, on the same
clock: the passes to blocks, and what the backend adds (to Python, for the
fast one).

Each time is the median of N runs, in CPU seconds (`--clock wall` for
wall-clock seconds); a measurement whose first run takes over a minute is
not repeated. Every value a program prints is checked against its known
value (worked out by formula, not by running co): a wrong value is exit
status 1. A missed target is only marked; the machine is shared and noisy,
so compare the ratios of one run, not times across runs.

Backends or `--stats` counts that this checkout's driver does not have yet
show as n/a.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from pathlib import Path

from rich.console import Console
from rich.table import Table

import machine
from ir.source import Source
from passes.framework.deep_stack import run_with_deep_stack
from passes.framework.pipeline import Pipeline
from passes.framework.registry import DEFAULT_PIPELINE, Registry
from passes.tools import bench_python
from passes.tools.big_programs import SHAPES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BACKEND_NAMES = ("fast", "vm")
COLUMNS = (*BACKEND_NAMES, "Python")
# ru_maxrss is in kilobytes on Linux, in bytes on macOS.
RSS_UNIT = 1 if sys.platform == "darwin" else 1024


@dataclass(frozen=True)
class Sizes:
    fib: int
    fib_fiber: int
    loop: int
    spawns: int
    many_spawns: int
    small_program: int  # let bindings
    large_program: int


FULL = Sizes(fib=28, fib_fiber=24, loop=1_000_000, spawns=100_000, many_spawns=1_000_000,
             small_program=10_000, large_program=100_000)
QUICK = Sizes(fib=15, fib_fiber=10, loop=1_000, spawns=1_000, many_spawns=10_000,
              small_program=100, large_program=1_000)


# The programs. SIZE stands for the size being measured.

def example(name: str, sized: str, template: str) -> str:
    """An example program, with `sized` (where its size is written) made `template`."""
    text = (EXAMPLES / name).read_text()
    if text.count(sized) != 1:
        raise ValueError(f"examples/{name} no longer holds {sized!r} exactly once")
    return text.replace(sized, template)


FIB = "let rec fib = \\n -> if n < 2 then n else fib (n - 1) + fib (n - 2) in fib SIZE\n"

SPAWNS = """\
# SIZE rounds of: spawn a fiber that yields once, resume it, add its result.
let rec loop = \\s ->
  if s.0 == 0 then s.1
  else
    let fiber = resume (spawn (yield; s.0)) in
    stat fiber
    | `Done v -> loop {s.0 - 1, s.1 + v}
    | `Pending -> 0
in
loop {SIZE, 0}
"""


def fib_value(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def triangle(n: int) -> int:
    return n * (n + 1) // 2


@dataclass(frozen=True)
class Program:
    """A program that runs long enough to time its run alone."""
    name: str  # --only NAME
    title: str  # with SIZE
    template: str
    size: Callable[[Sizes], int]
    expected: Callable[[int], str]
    python: str  # its function in bench_python
    original: str  # the OCaml implementation's whole process / CPython 3.11's, as the issue gives it
    original_instructions: int | None
    run_target: float  # at most this times Python's run time, on the fast backend


PROGRAMS = (
    Program(name="fib", title="fib SIZE", template=FIB, size=lambda s: s.fib,
            expected=lambda n: str(fib_value(n)), python="fib",
            original="2.8x", original_instructions=13_369_941, run_target=1.5),
    Program(name="fib-fiber", title="fib fiber, fib SIZE",
            template=example("fib_fiber.co", "spawn (fib 20)", "spawn (fib SIZE)"), size=lambda s: s.fib_fiber,
            expected=lambda n: f"{{{fib_value(n)}, {2 * fib_value(n + 1) - 1}}}", python="fib_fiber",
            original="1.0x", original_instructions=6_902_301, run_target=2),
    Program(name="loop", title="loop of SIZE rounds",
            template=example("countdown.co", "loop {100000, 0}", "loop {SIZE, 0}"), size=lambda s: s.loop,
            expected=lambda n: str(triangle(n)), python="loop",
            original="2.65x", original_instructions=14_000_014, run_target=1.5),
    Program(name="spawns", title="SIZE spawns", template=SPAWNS, size=lambda s: s.spawns,
            expected=lambda n: str(triangle(n)), python="spawns",
            original="~1000x", original_instructions=None, run_target=2),
)
OTHER_BENCHMARKS = ("start-up", "lets", "functions", "spawn-scaling")
NAMES = tuple(p.name for p in PROGRAMS) + OTHER_BENCHMARKS


# What the table shows.

@dataclass(frozen=True)
class Target:
    text: str
    limit: float
    strict: bool = False  # "under" rather than "at most"

    def met(self, value: float) -> bool:
        return value < self.limit if self.strict else value <= self.limit


@dataclass(frozen=True)
class Line:
    program: str
    measure: str
    unit: str  # "s", "x", "MB" or "" (a count)
    values: dict[str, float | None]  # by column; None: not available here (n/a)
    target: Target | None = None
    judged: tuple[str, ...] = ()  # the columns the target is for
    original: str = ""

    def verdicts(self) -> dict[str, bool]:
        return {c: self.target.met(self.values[c]) for c in self.judged
                if self.target is not None and self.values.get(c) is not None}


class WrongResult(Exception):
    """A program printed a wrong value or failed: the benchmark fails."""


# Measuring.

Run = TypeVar("Run")
Value = TypeVar("Value")

@dataclass(frozen=True)
class Measured:
    seconds: float  # median time, on the bench's clock
    peak_bytes: float  # median peak resident set size
    stderr: str  # of the last run: what --stats printed

    def counts(self) -> dict[str, int]:
        """What --stats printed: `instructions     13884170` per line."""
        return {name: int(n) for name, n in re.findall(r"^([a-z][a-z ]*?) {2,}(\d+) *$", self.stderr, re.M)}


# Run as `python -I -S -c WRAPPER out err command...`: runs command with its
# output into the files out and err, and prints its wall-clock and CPU
# seconds, peak resident set size (ru_maxrss) and exit status. A child's ru_maxrss counts
# the memory of the process it was started from, so this small wrapper (about
# 9 MB) starts it rather than this process, whose memory grows as it runs.
WRAPPER = """
import os, sys, time
out, err, *command = sys.argv[1:]
into = [(os.POSIX_SPAWN_OPEN, fd, path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for fd, path in ((1, out), (2, err))]
started = time.perf_counter()
child = os.posix_spawn(command[0], command, os.environ, file_actions=into)
_, status, usage = os.wait4(child, 0)
print(time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
      os.waitstatus_to_exitcode(status))
"""


@dataclass(frozen=True)
class ChildRun:
    wall_seconds: float
    cpu_seconds: float
    peak_bytes: int
    status: int
    stdout: str
    stderr: str


def run_child(command: list[str], env: dict[str, str], folder: Path) -> ChildRun:
    out, err = folder / "stdout", folder / "stderr"
    report = subprocess.run([sys.executable, "-I", "-S", "-c", WRAPPER, str(out), str(err), *command],
                            env=env, capture_output=True, text=True, check=True).stdout.split()
    return ChildRun(float(report[0]), float(report[1]), int(report[2]) * RSS_UNIT, int(report[3]),
                    out.read_text(errors="replace"), err.read_text(errors="replace"))


# A measurement whose first run takes longer than this is not repeated: a
# program that became very slow must not make the whole suite take hours.
LONG_RUN_SECONDS = 60.0


def repeated(once: Callable[[], Run], repeat: int, seconds: Callable[[Run], float]) -> list[Run]:
    runs = [once()]
    while len(runs) < repeat and seconds(runs[0]) <= LONG_RUN_SECONDS:
        runs.append(once())
    return runs


@dataclass
class Bench:
    repeat: int
    clock: str  # "cpu" or "wall"
    folder: Path
    passes_backends: tuple[str, ...]  # those `python -m passes --backend` offers; () if no such flag
    measured: dict[tuple[str, ...], Measured] = field(default_factory=dict)
    program_files: dict[str, Path] = field(default_factory=dict)
    ran_alone: dict[tuple[str, str], float | None] = field(default_factory=dict)  # by (program text, backend)
    python_ran: dict[tuple[str, int], float] = field(default_factory=dict)  # by (function, size)

    def __post_init__(self) -> None:
        # Measure the default configuration, whatever the caller's environment asks for; and
        # let Python cache bytecode as a user's installation does, or every start-up compiles it all.
        # The cache of compiled programs is off (a cold start), but where a line says "cached":
        # there it is a folder of the benchmark's own, which holds the program (a warm start).
        unset = ("PASSES_VERIFY_EACH", "PASSES_TRACEBACK", "PYTHONDONTWRITEBYTECODE")
        self.env = {k: v for k, v in os.environ.items() if k not in unset} | {"CO_PASSES_CACHE": "off"}
        self.cached_env = self.env | {"CO_PASSES_CACHE": str(self.folder / "cache")}

    def process(self, command: list[str], expected: str, cached: bool = False) -> Measured:
        """The median of `repeat` runs of a child process that must print `expected`;
        cached: with the cache of compiled programs, after one run that fills it."""
        key = (*command, "cached") if cached else tuple(command)
        if key not in self.measured:
            env = self.cached_env if cached else self.env
            if cached:
                run_child(command, env, self.folder)
            runs = repeated(lambda: run_child(command, env, self.folder), self.repeat, self.child_seconds)
            for done in runs:
                if done.status != 0 or done.stdout.strip() != expected:
                    raise WrongResult(f"`{' '.join(command[1:])}` exited {done.status} and printed "
                                      f"{done.stdout.strip()[:200]!r}, expected {expected!r}\n"
                                      f"{done.stderr[-2000:]}")
            self.measured[key] = Measured(statistics.median(self.child_seconds(done) for done in runs),
                                          statistics.median(done.peak_bytes for done in runs), runs[-1].stderr)
        return self.measured[key]

    def child_seconds(self, done: ChildRun) -> float:
        return done.cpu_seconds if self.clock == "cpu" else done.wall_seconds

    def co_process(self, text: str, backend: str, expected: str, cached: bool = False) -> Measured | None:
        """The whole process `python -m passes prog.co` on a backend (cached: from the
        cache of compiled programs); None if the driver lacks it."""
        if self.passes_backends:
            if backend not in self.passes_backends:
                return None
            # The default backend runs as a user runs a program: with no flag,
            # which also keeps argparse out of the start-up.
            flags = [] if backend == self.passes_backends[0] else ["--backend", backend]
        elif backend == "vm":
            flags = []
        else:
            return None
        if backend == "vm":
            flags.append("--stats")
        return self.process([sys.executable, "-m", "passes", str(self.program_file(text)), *flags], expected, cached)

    def python_process(self, program: Program, n: int) -> Measured:
        return self.process([sys.executable, bench_python.__file__, program.python, str(n)],
                            program.expected(n))

    def program_file(self, text: str) -> Path:
        if text not in self.program_files:
            self.program_files[text] = self.folder / f"program{len(self.program_files)}.co"
            self.program_files[text].write_text(text)
        return self.program_files[text]

    def run_alone(self, text: str, backend: str, expected: str) -> float | None:
        """The median time of running the compiled program in this process; None if no such backend."""
        key = (text, backend)
        if key not in self.ran_alone:
            steps = backend_steps(backend)

            def work() -> list[tuple[float, str]]:
                blocks = blocks_pipeline().run(Source("bench.co", text))
                compiled = steps.finish_compiling(blocks)

                def once() -> str:
                    return machine.show_value(steps.run(compiled), blocks.result_type)

                return repeated(lambda: timed(once, self.clock), self.repeat, lambda run: run[0])

            # As the driver runs a program: GC off, a deep stack.
            self.ran_alone[key] = None if steps is None else \
                median_checked(run_with_deep_stack(work), expected, f"{backend} run")
        return self.ran_alone[key]

    def compile_alone(self, text: str) -> dict[str, float | None]:
        """The median time of compiling the program for each backend, each time in a fresh
        process: this one holds the heap of everything it measured before."""
        command = [sys.executable, "-c", COMPILE_IN_CHILD, str(self.program_file(text)), self.clock]

        def once() -> dict[str, float]:
            done = run_child(command, self.env, self.folder)
            if done.status != 0:
                raise WrongResult(f"compiling {text[:60]!r}... failed:\n{done.stderr[-2000:]}")
            return json.loads(done.stdout)

        runs = repeated(once, self.repeat, lambda times: max(times.values()))
        return {b: statistics.median(times[b] for times in runs) if b in runs[0] else None for b in BACKEND_NAMES}

    def python_alone(self, program: Program, n: int) -> float:
        key = (program.python, n)
        if key not in self.python_ran:
            function = bench_python.PROGRAMS[program.python]
            runs = repeated(lambda: timed(lambda: function(n), self.clock), self.repeat, lambda run: run[0])
            self.python_ran[key] = median_checked(runs, program.expected(n), "Python")
        return self.python_ran[key]


# CPU time (of every thread of this process) is what other processes on a
# busy machine disturb least; wall-clock time is what a user waits.
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def timed(work: Callable[[], Value], clock: str) -> tuple[float, Value]:
    started = CLOCKS[clock]()
    value = work()
    return CLOCKS[clock]() - started, value


def blocks_pipeline() -> Pipeline:
    """The default pipeline's passes up to the last that writes blocks (their modules imported)."""
    registry = Registry()
    names = list(DEFAULT_PIPELINE)
    last = max(k for k, name in enumerate(names) if registry.find(name).load().output_ir == "blocks")
    return Pipeline.from_names(names[: last + 1], registry)


# Run as `python -c COMPILE_IN_CHILD prog.co CLOCK`: prints {backend: seconds} as JSON.
COMPILE_IN_CHILD = "import sys; from passes.tools.bench import print_compile_times; print_compile_times(*sys.argv[1:])"


def print_compile_times(path: str, clock: str) -> None:
    """The time of compiling the program for each backend this checkout has: the passes to
    blocks, then what the backend adds (to Python, for fast), as the driver runs them."""
    source = Source(path, Path(path).read_text())
    pipeline = blocks_pipeline()
    backends = {b: backend_steps(b) for b in BACKEND_NAMES}

    def compile_for_each() -> dict[str, float]:
        to_blocks, blocks = timed(lambda: pipeline.run(source), clock)
        return {b: to_blocks + timed(lambda: steps.finish_compiling(blocks), clock)[0]
                for b, steps in backends.items() if steps is not None}

    print(json.dumps(run_with_deep_stack(compile_for_each)))


@dataclass(frozen=True)
class BackendSteps:
    finish_compiling: Callable[[object], object]  # from the blocks program
    run: Callable[[object], tuple[int, ...]]  # the compiled program: its result's cells


def backend_steps(backend: str) -> BackendSteps | None:
    """What a backend does with a blocks program; None if this checkout does not have it."""
    if backend == "vm":
        return BackendSteps(lambda blocks: blocks, lambda blocks: machine.run(blocks).cells)
    try:  # the fast backend, once it is in this checkout
        from machine import fast
        from passes.to_python import ToPython
    except ImportError:
        return None
    return BackendSteps(ToPython().run, fast.run)


def median_checked(runs: list[tuple[float, str]], expected: str, what: str) -> float:
    for _, value in runs:
        if value != expected:
            raise WrongResult(f"{what} printed {value[:200]!r}, expected {expected!r}")
    return statistics.median(seconds for seconds, _ in runs)


def ratio(over: float | None, under: float | None) -> float | None:
    return over / under if over is not None and under is not None else None


def megabytes(m: Measured | None) -> float | None:
    return m.peak_bytes / 1e6 if m is not None else None


def seconds(m: Measured | None) -> float | None:
    return m.seconds if m is not None else None


# The benchmarks: each returns its lines of the table.

def program_lines(bench: Bench, program: Program, sizes: Sizes) -> list[Line]:
    n = program.size(sizes)
    title, text, expected = program.title.replace("SIZE", f"{n:,}"), program.template.replace("SIZE", str(n)), \
        program.expected(n)
    whole = {b: bench.co_process(text, b, expected) for b in BACKEND_NAMES}
    cached = bench.co_process(text, "fast", expected, cached=True)
    python_whole = bench.python_process(program, n)
    alone = {b: bench.run_alone(text, b, expected) for b in BACKEND_NAMES}
    python_alone = bench.python_alone(program, n)
    counts = whole["vm"].counts()
    beats_original = Target(f"< {program.original} (original)", float(program.original.strip("~x")), strict=True)
    lines = [
        Line(title, "whole process", "s", {**{b: seconds(whole[b]) for b in BACKEND_NAMES},
                                           "Python": python_whole.seconds}),
        Line(title, "whole process ÷ Python", "x",
             {b: ratio(seconds(whole[b]), python_whole.seconds) for b in BACKEND_NAMES},
             beats_original, ("fast",), program.original),
        *cached_lines(title, cached, python_whole.seconds, beats_original, program.original),
        Line(title, "run alone", "s", {**alone, "Python": python_alone}),
        Line(title, "run alone ÷ Python", "x", {b: ratio(alone[b], python_alone) for b in BACKEND_NAMES},
             Target(f"≤ {program.run_target:g}x", program.run_target), ("fast",)),
        Line(title, "peak memory", "MB", {**{b: megabytes(whole[b]) for b in BACKEND_NAMES},
                                          "Python": megabytes(python_whole)}),
        Line(title, "VM instructions", "", {"vm": counts.get("instructions")},
             original=f"{program.original_instructions:,}" if program.original_instructions else ""),
    ]
    return lines


def cached_lines(title: str, cached: Measured | None, python_seconds: float, target: Target,
                 original: str = "") -> list[Line]:
    """The fast backend's whole process from the cache of compiled programs, and its ratio to Python's."""
    return [
        Line(title, "whole process, cached", "s", {"fast": seconds(cached), "Python": python_seconds}),
        Line(title, "whole process, cached ÷ Python", "x", {"fast": ratio(seconds(cached), python_seconds)},
             target, ("fast",), original),
    ]


def start_up_lines(bench: Bench, sizes: Sizes) -> list[Line]:
    whole = {b: bench.co_process("1 + 2\n", b, "3") for b in BACKEND_NAMES}
    cached = bench.co_process("1 + 2\n", "fast", "3", cached=True)
    python = bench.process([sys.executable, "-c", "pass"], "")
    title = "1 + 2 (Python: -c pass)"
    return [
        Line(title, "whole process", "s",
             {**{b: seconds(whole[b]) for b in BACKEND_NAMES}, "Python": python.seconds}),
        Line(title, "whole process ÷ Python", "x", {b: ratio(seconds(whole[b]), python.seconds)
                                                    for b in BACKEND_NAMES},
             Target("≤ 2x", 2), BACKEND_NAMES),
        *cached_lines(title, cached, python.seconds, Target("≤ 2x", 2)),
        Line(title, "peak memory", "MB", {**{b: megabytes(whole[b]) for b in BACKEND_NAMES},
                                          "Python": megabytes(python)}),
    ]


def compile_lines(bench: Bench, sizes: Sizes, shape: str) -> list[Line]:
    """A program of SHAPES at two sizes, n let bindings each."""
    small, large = sizes.small_program, sizes.large_program
    programs = {n: SHAPES[shape](n) for n in (small, large)}
    whole = {n: {b: bench.co_process(text, b, value) for b in BACKEND_NAMES} for n, (text, value) in programs.items()}
    compile_time = {n: bench.compile_alone(text) for n, (text, _) in programs.items()}
    title = shape
    limit = {FULL.small_program: Target("< 1 s", 1, strict=True),
             FULL.large_program: Target("< 10 s", 10, strict=True)}
    lines = []
    for n in (small, large):
        lines.append(Line(title, f"whole process, {n:,} bindings", "s",
                          {b: seconds(whole[n][b]) for b in BACKEND_NAMES},
                          limit.get(n), BACKEND_NAMES))
    for n in (small, large):
        lines.append(Line(title, f"compile, {n:,} bindings", "s", compile_time[n]))
    lines.append(Line(title, f"compile ÷ {small:,}'s", "x",
                      {b: ratio(compile_time[large][b], compile_time[small][b]) for b in BACKEND_NAMES},
                      Target("≤ 12x", 12), BACKEND_NAMES))
    for n in (small, large):
        lines.append(Line(title, f"peak memory, {n:,} bindings", "MB",
                          {b: megabytes(whole[n][b]) for b in BACKEND_NAMES}))
    return lines


def spawn_scaling_lines(bench: Bench, sizes: Sizes) -> list[Line]:
    spawns = program_named("spawns")
    few, many = sizes.spawns, sizes.many_spawns
    title = f"{many:,} vs {few:,} spawns"
    alone, whole = {}, {}
    for n in (few, many):
        text, expected = spawns.template.replace("SIZE", str(n)), spawns.expected(n)
        alone[n] = {**{b: bench.run_alone(text, b, expected) for b in BACKEND_NAMES},
                    "Python": bench.python_alone(spawns, n)}
        whole[n] = {**{b: bench.co_process(text, b, expected) for b in BACKEND_NAMES},
                    "Python": bench.python_process(spawns, n)}
    times = max(many // few, 1) * 1.1
    lines = [Line(title, f"run alone, {n:,}", "s", alone[n]) for n in (few, many)]
    lines.append(Line(title, "run alone ratio", "x", {c: ratio(alone[many][c], alone[few][c]) for c in COLUMNS},
                      Target(f"≤ {times:g}x", times), BACKEND_NAMES))
    lines += [Line(title, f"peak memory, {n:,}", "MB", {c: megabytes(whole[n][c]) for c in COLUMNS})
              for n in (few, many)]
    lines.append(Line(title, "peak memory ratio", "x",
                      {c: ratio(megabytes(whole[many][c]), megabytes(whole[few][c])) for c in COLUMNS},
                      Target("≤ 1.2x", 1.2), BACKEND_NAMES))
    for count in ("fibers freed", "most fibers alive"):
        lines.append(Line(title, f"VM {count}, {many:,}", "", {"vm": whole[many]["vm"].counts().get(count)}))
    return lines


def program_named(name: str) -> Program | None:
    return next((program for program in PROGRAMS if program.name == name), None)


def measure(bench: Bench, name: str, sizes: Sizes) -> list[Line]:
    if program_named(name):
        return program_lines(bench, program_named(name), sizes)
    if name == "start-up":
        return start_up_lines(bench, sizes)
    if name == "lets":
        return compile_lines(bench, sizes, "let chain")
    if name == "functions":
        return compile_lines(bench, sizes, "many functions")
    return spawn_scaling_lines(bench, sizes)


# Showing.

def show_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "s":
        return f"{value:.3g} s" if value >= 1 else f"{value * 1000:.3g} ms"
    if unit == "x":
        return f"{value:.3g}x"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:,.0f}"


def table(lines: list[Line], title: str) -> Table:
    grid = Table("program", "measure", *COLUMNS, "target", "original", title=title)
    for k, line in enumerate(lines):
        verdicts = line.verdicts()
        cells = []
        for column in COLUMNS:
            if column not in line.values:
                cells.append("")
                continue
            text = show_value(line.values[column], line.unit)
            if column in verdicts:
                text += " [green]✓[/]" if verdicts[column] else " [red]✗[/]"
            cells.append(text if line.values[column] is not None else f"[dim]{text}[/]")
        last_of_program = k + 1 == len(lines) or lines[k + 1].program != line.program
        first_of_program = k == 0 or lines[k - 1].program != line.program
        grid.add_row(line.program if first_of_program else "", line.measure, *cells,
                     line.target.text if line.target else "", line.original, end_section=last_of_program)
    return grid


def as_json(lines: list[Line], repeat: int, clock: str) -> str:
    return json.dumps({"repeat": repeat, "clock": clock, "python": platform.python_version(),
                       "cores": os.cpu_count(),
                       "lines": [{"program": line.program, "measure": line.measure, "unit": line.unit,
                                  "values": line.values, "target": line.target.text if line.target else None,
                                  "met": line.verdicts()} for line in lines]}, indent=1)


def detect_passes_backends() -> tuple[str, ...]:
    helped = subprocess.run([sys.executable, "-m", "passes", "--help"], capture_output=True, text=True)
    return backends_in_help(helped.stdout)


def backends_in_help(text: str) -> tuple[str, ...]:
    """The backends `python -m passes --backend` offers, the default first (as
    its --help lists them); () without the flag."""
    offered = re.search(r"--backend \{([\w,]+)\}", text)
    if offered:
        return tuple(offered.group(1).split(","))
    return BACKEND_NAMES if "--backend" in text else ()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m passes bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, metavar="N", help="runs per measurement (default 3)")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="cpu",
                        help="time in CPU seconds (default: least disturbed by a busy machine) or wall-clock")
    parser.add_argument("--quick", action="store_true", help="small sizes and one run each: proves it works")
    parser.add_argument("--only", choices=NAMES, action="append", metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(NAMES)}")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    sizes, repeat = (QUICK, 1) if args.quick else (FULL, args.repeat)
    # A file or a pipe has no width: there, each row of the table stays one line.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    progress = Console(stderr=True)
    lines: list[Line] = []
    failed = []
    with tempfile.TemporaryDirectory() as folder:
        bench = Bench(repeat, args.clock, Path(folder), detect_passes_backends())
        for backend in BACKEND_NAMES:  # first runs compile and import our modules: untimed
            bench.co_process("1 + 2\n", backend, "3")
            bench.run_alone("1 + 2\n", backend, "3")
        bench.measured.clear()
        bench.ran_alone.clear()
        for name in args.only or NAMES:
            with progress.status(f"measuring {name}"):
                try:
                    lines += measure(bench, name, sizes)
                except WrongResult as wrong:
                    failed.append(f"{name}: {wrong}")
    if args.json:
        print(as_json(lines, repeat, args.clock))
    else:
        clock = "CPU time" if args.clock == "cpu" else "wall-clock time"
        console.print(table(lines, f"{clock}, median of {repeat} run{'s' * (repeat > 1)}, "
                                   f"Python {platform.python_version()}, {os.cpu_count()} cores"))
    for failure in failed:
        progress.print(f"[red]wrong result[/] in {failure}", highlight=False, markup=True)
    return 1 if failed else 0
