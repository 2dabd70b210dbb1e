"""The command line: compile a co program, print IRs along the way, run it.

Exit statuses: 0 success, 1 compile error, 2 usage error, 3 runtime error.
Bad input never shows a Python traceback (set PASSES_TRACEBACK=1 to see one
for an internal error).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import threading
import traceback
from typing import Any

import ir
from ir.source import CompileError, Source, Span, render_diagnostic
from passes import output
from passes.pipeline import PassBroke, Pipeline, PipelineError, Step, unknown_pass_message
from passes.registry import Registry

OK, COMPILE_ERROR, USAGE_ERROR, RUNTIME_ERROR = 0, 1, 2, 3

EXAMPLES = """\
examples:
  python -m passes prog.co                         compile and run, print the value
  python -m passes prog.co --stop-after infer      print the typed IR and stop
  python -m passes prog.co --print-after parse,defunc
                                                   print those IRs, then run
  python -m passes prog.co --print-after-all       print the IR after every pass
  python -m passes prog.co --verify-each           check every IR's invariants
  python -m passes prog.co --time-passes           a table of time spent per pass
  python -m passes prog.co --stats                 counts from the VM after running
  python -m passes --list-passes                   the passes and their IRs
  echo '1 + 2' | python -m passes -                read the program from stdin

exit statuses: 0 success, 1 compile error, 2 usage error, 3 runtime error
"""


class UsageError(Exception):
    pass


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m passes",
        description="Compile a co program through a pipeline of small passes and run it on the fiber VM.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("program", nargs="?", help="a .co file, or - for standard input")
    parser.add_argument("--stop-after", metavar="PASS", help="print the IR after PASS and stop")
    parser.add_argument("--print-after", metavar="PASS[,PASS]", default="",
                        help="print the IR after each named pass")
    parser.add_argument("--print-after-all", action="store_true", help="print the IR after every pass")
    parser.add_argument("--verify-each", action=argparse.BooleanOptionalAction,
                        default=os.environ.get("PASSES_VERIFY_EACH") == "1",
                        help="run each IR's verifier after the pass that produced it")
    parser.add_argument("--time-passes", action="store_true", help="print a table of time per pass")
    parser.add_argument("--list-passes", action="store_true", help="list the passes and exit")
    parser.add_argument("--stats", action="store_true", help="print VM counts after running")
    parser.add_argument("--fuel", type=int, metavar="N", help="stop the VM after N instructions")
    parser.add_argument("--color", action=argparse.BooleanOptionalAction, default=None,
                        help="color the output (default: only on a terminal)")
    return parser


# `python -m passes NAME ...` runs a tool with its own arguments: module:function.
SUBCOMMANDS = {
    "diff": "passes.diff:main",
    "fuzz": "passes.fuzz:main",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS and not os.path.exists(argv[0]):
        module_name, _, function = SUBCOMMANDS[argv[0]].partition(":")
        tool = getattr(importlib.import_module(module_name), function)
        return tool(argv[1:])
    parser = build_arg_parser()
    args = parser.parse_args(argv)  # exits 2 on a usage error, as argparse does
    # Passes build acyclic immutable trees, freed by reference counting; the
    # cyclic collector only rescans them, which made deep programs 6x slower.
    gc.disable()
    return run_with_deep_stack(lambda: run(args, parser))


def run_with_deep_stack(task) -> int:
    """Run the compiler in a thread with a large stack: passes recurse over the
    program's nesting, and a program may nest 100,000 deep."""
    result: list[int] = [COMPILE_ERROR]
    sys.setrecursionlimit(1_000_000)
    threading.stack_size(1 << 30)

    def body() -> None:
        result[0] = task()

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return result[0]


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    console = output.Consoles(args.color)
    registry = Registry()
    try:
        if args.list_passes:
            output.list_passes(console, registry)
            return OK
        if args.program is None:
            raise UsageError("no program given (a .co file, or - for standard input)")
        names = [entry.name for entry in registry.available()]
        stop_after = check_pass_name(args.stop_after, registry, names)
        print_after = {check_pass_name(n, registry, names) for n in args.print_after.split(",") if n.strip()}
        if args.print_after_all:
            print_after = set(names)
        if stop_after is not None:
            names = names[: names.index(stop_after) + 1]
            beyond = sorted(print_after - set(names)) if not args.print_after_all else []
            if beyond:
                raise UsageError(f"--print-after {','.join(beyond)}: the pipeline stops after "
                                 f"{stop_after}, before that pass runs")
        pipeline = Pipeline.from_names(names, registry)
        source = read_source(args.program)
    except (UsageError, PipelineError) as problem:
        console.err.write(f"{parser.prog}: error: {problem}\n")
        return USAGE_ERROR
    except BadInput as bad:
        console.err.write(render_diagnostic(bad.source, "error", bad.error.message, bad.error.span))
        return COMPILE_ERROR

    timings: list[tuple[str, float]] = []
    printed_last = [False]

    def observe(step: Step) -> None:
        timings.append((step.pass_.name, step.seconds))
        printed_last[0] = step.pass_.name in print_after
        if printed_last[0]:
            output.print_ir(console, step.output_ir, step.output,
                            header=f"after {step.pass_.name} ({step.output_ir})")

    try:
        try:
            program = pipeline.run(source, verify_each=args.verify_each, observe=observe)
        finally:
            if args.time_passes:
                output.time_table(console, timings)
    except CompileError as error:
        console.err.write(render_diagnostic(source, "error", error.message, error.span, error.notes))
        return COMPILE_ERROR
    except PassBroke as broke:
        output.pass_broke(console, broke)
        return COMPILE_ERROR
    except RecursionError:
        console.err.write(f"{source.name}: error: the program is nested too deeply to compile\n")
        return COMPILE_ERROR
    except Exception as bug:  # a bug in a pass: say so plainly
        return internal_error(console, bug)

    if stop_after is not None or pipeline.final_ir != "blocks":
        if not printed_last[0]:
            output.print_ir(console, pipeline.final_ir, program)
        return OK
    return execute(console, source, program, args)


def execute(console: output.Consoles, source: Source, program: Any, args: argparse.Namespace) -> int:
    try:
        import machine
    except ImportError:
        output.print_ir(console, "blocks", program)
        return OK
    try:
        result = machine.run(program, fuel=args.fuel)
    except machine.RuntimeFault as fault:
        console.err.write(output.runtime_error(source, fault))
        return RUNTIME_ERROR
    except Exception as bug:
        return internal_error(console, bug)
    console.out.write(machine.show_value(result.cells, program.result_type) + "\n")
    if args.stats:
        output.stats(console, result.stats)
    return OK


def check_pass_name(name: str | None, registry: Registry, available: list[str]) -> str | None:
    if name is None:
        return None
    entry = registry.find(name)
    if entry is None:
        raise UsageError(unknown_pass_message(name, registry))
    if entry.name not in available:
        raise UsageError(f"pass {entry.name!r} is not in this pipeline; it runs: {', '.join(available)}")
    return entry.name


def read_source(path: str) -> Source:
    if path == "-":
        data = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        if os.path.isdir(path):
            raise UsageError(f"{path} is a directory, not a .co file")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise UsageError(f"no such file: {path}") from None
        except OSError as problem:
            raise UsageError(f"cannot read {path}: {problem.strerror}") from None
        name = path
    try:
        return Source(name, data.decode("utf-8"))
    except UnicodeDecodeError as bad:
        # Show the text with the bad bytes replaced, and point at the first one.
        at = len(data[: bad.start].decode("utf-8"))
        shown = Source(name, data.decode("utf-8", errors="replace"))
        raise BadInput(shown, CompileError(
            f"the file is not valid UTF-8 text (byte 0x{data[bad.start]:02x})", Span(at, at + 1))) from None


class BadInput(Exception):
    """Input that is not a program at all, reported as a compile error."""

    def __init__(self, source: Source, error: CompileError):
        super().__init__(error.message)
        self.source = source
        self.error = error


def internal_error(console: output.Consoles, bug: Exception) -> int:
    console.err.write(f"internal compiler error: {type(bug).__name__}: {bug}\n"
                      "this is a bug in a pass, not in your program\n")
    if os.environ.get("PASSES_TRACEBACK"):
        console.err.write(traceback.format_exc())
    return COMPILE_ERROR
