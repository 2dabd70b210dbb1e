"""The command line: compile a co program, print IRs along the way, run it.

Exit statuses: 0 success, 1 compile error, 2 usage error, 3 runtime error.
Bad input never shows a Python traceback (set PASSES_TRACEBACK=1 to see one
for an internal error).
"""

from __future__ import annotations

import importlib
import os
import sys

import ir
from ir.source import CompileError, Source, Span, render_diagnostic
from passes.driver import (COMPILE_ERROR, OK, PROG, RUNTIME_ERROR, SUBCOMMANDS, USAGE_ERROR, cache,
                           lone_program, option_defaults, output, program_name)
from passes.framework import assemble, plugins
from passes.framework.assemble import AssemblyError
from passes.framework.deep_stack import run_with_deep_stack
from passes.framework.pipeline import CheckFailed, PassBroke, PassCrashed, Pipeline, PipelineError, Step
from passes.framework.registry import START_AFTER_FOR_SUFFIX, PluginError, Registry, unknown_pass_message

class UsageError(Exception):
    pass


BACKENDS = ("fast", "vm")  # what runs a compiled program (--backend), the default first


def main(argv: list[str] | None = None, entry: cache.Entry | None = None) -> int:
    """Run the command line argv: the exit status. entry: the cache's entry for
    its program, when passes.driver.main looked it up and missed."""
    argv = sys.argv[1:] if argv is None else argv
    # A file of that name is a program; a folder (such as bench/) never is.
    if argv and argv[0] in SUBCOMMANDS and not os.path.isfile(argv[0]):
        module_name, _, function = SUBCOMMANDS[argv[0]][0].partition(":")
        tool = getattr(importlib.import_module(module_name), function)
        return tool(argv[1:])
    # argparse exits 2 on a usage error
    args = lone_program(argv)
    if args is None:
        from passes.driver.arguments import build_arg_parser

        args = build_arg_parser().parse_args(argv)
    if entry is None:
        status, entry = cache.run_from_cache(args)
        if status is not None:
            return status
    return run_with_deep_stack(lambda: run(args, entry))


def run(args, entry: cache.Entry | None = None) -> int:
    """Compile and run as args (the parsed command line) say: the exit status.
    entry: where the cache keeps this program (it holds the program's bytes)."""
    console = output.Consoles(args.color)
    registry = Registry()
    try:
        auto_enabled = plugins.add_plugins(registry, args.plugin)
        if args.list_passes:
            output.list_passes(console, registry)
            return OK
        if args.show_ir is not None or args.delta:
            show_grammar(console, args.show_ir, args.delta)
            return OK
        if args.program is None:
            raise UsageError("no program given (a .co file, or - for standard input)")
        names, options = choose_passes(args, registry, auto_enabled)
        if choose_backend(args) == "vm" and names and names[-1] == "to-python":
            names = names[:-1]  # the VM runs the blocks program to-python would compile
        stop_after = check_stage(args.stop_after, registry, names)
        print_after = {check_stage(n, registry, names) for n in args.print_after.split(",") if n.strip()}
        if args.print_after_all:
            print_after = set(names)
        if stop_after is not None:
            names = names[: names.index(stop_after) + 1]
            beyond = sorted(print_after - set(names)) if not args.print_after_all else []
            if beyond:
                raise UsageError(f"--print-after {','.join(beyond)}: the pipeline stops after "
                                 f"{stop_after}, before that pass runs")
            options = {name: opts for name, opts in options.items() if name in names}
        pipeline = Pipeline(assemble.instantiate(names, options, registry))
        source = read_source(args.program, entry.data if entry is not None else None)
    except (UsageError, PipelineError, AssemblyError, PluginError) as problem:
        console.err.write(f"{PROG}: error: {problem}\n")
        return USAGE_ERROR
    except BadInput as bad:
        console.err.write(render_diagnostic(bad.source, "error", bad.error.message, bad.error.span))
        return COMPILE_ERROR

    timings: list[tuple[str, float]] = []
    printed_last = [False]

    def observe(step: Step) -> None:
        nonlocal entry
        timings.append((step.pass_.name, step.seconds))
        if step.diagnostics:
            entry = None  # a cached run would not print them
        for d in step.diagnostics:
            console.err.write(render_diagnostic(source, d.severity, d.message, d.span, d.notes))
        printed_last[0] = step.pass_.name in print_after or (args.print_after_change and changed(step))
        if printed_last[0]:
            output.print_ir(console, step.output_ir, step.output,
                            header=f"after {step.pass_.name} ({step.output_ir})")

    def origin(pass_name: str) -> str:
        entry = registry.find(pass_name)
        return entry.origin if entry is not None else "unknown origin"

    try:
        try:
            # A plugin's output is always verified: a built-in pass never sees a broken IR.
            foreign = frozenset(p.name for p in pipeline.passes if origin(p.name) != "built-in")
            program = pipeline.run(source, verify_each=args.verify_each, always_verify=foreign,
                                   observe=observe)
        finally:
            if args.time_passes:
                output.time_table(console, timings)
    except CompileError as error:
        console.err.write(render_diagnostic(source, "error", error.message, error.span, error.notes))
        return COMPILE_ERROR
    except CheckFailed as failed:
        for d in failed.diagnostics:
            console.err.write(render_diagnostic(source, d.severity, d.message, d.span, d.notes))
        return COMPILE_ERROR
    except PassBroke as broke:
        output.pass_broke(console, broke, origin(broke.pass_name))
        return COMPILE_ERROR
    except PassCrashed as crashed:
        output.pass_crashed(console, crashed, origin(crashed.pass_name))
        if os.environ.get("PASSES_TRACEBACK"):
            import traceback

            console.err.write("".join(traceback.format_exception(crashed.error)))
        return COMPILE_ERROR
    except PluginError as problem:
        console.err.write(f"{PROG}: error: {problem}\n")
        return USAGE_ERROR
    except RecursionError:
        console.err.write(f"{source.name}: error: the program is nested too deeply to compile\n")
        return COMPILE_ERROR
    except Exception as bug:  # a bug in a pass: say so plainly
        return internal_error(console, bug)

    if stop_after is not None or pipeline.final_ir not in ("blocks", "python"):
        if not printed_last[0]:
            output.print_ir(console, pipeline.final_ir, program)
        return OK
    return execute(console, source, program, args, entry)


def show_grammar(console: output.Consoles, name: str | None, delta: bool) -> None:
    if name is None:
        raise UsageError("--delta goes with --show-ir IR")
    try:
        ir.lookup(name)
    except ir.UnknownIR as unknown:
        raise UsageError(str(unknown)) from None
    output.show_ir(console, name, delta)


def choose_backend(args) -> str:
    """fast, unless the VM's instruments are asked for; both at once is a usage error."""
    instrumented = [flag for flag, given in (("--stats", args.stats), ("--fuel", args.fuel is not None)) if given]
    if instrumented and args.backend == "fast":
        raise UsageError(f"{' and '.join(instrumented)} {'needs' if len(instrumented) == 1 else 'need'} "
                         "the instrumented VM: use --backend vm (the default when they are given)")
    return args.backend or ("vm" if instrumented else "fast")


def choose_passes(args, registry: Registry,
                  auto_enabled: list[str]) -> tuple[list[str], assemble.Options]:
    """The pipeline's pass names and their options: --pipeline exactly, or the
    default pipeline with the --plugin passes; then --enable and --insert-after."""
    start_after = args.start_after
    if start_after is None and args.pipeline is None and args.program is not None:
        start_after = START_AFTER_FOR_SUFFIX.get(os.path.splitext(args.program)[1])
    if args.pipeline is not None:
        if start_after is not None:
            raise UsageError("give --pipeline or --start-after, not both")
        names, options = assemble.parse_pipeline(args.pipeline)
        enable = []
    elif start_after is not None:
        names, options = assemble.start_after(start_after, registry), {}
        enable = []
    else:
        names, options = [entry.name for entry in registry.available()], {}
        enable = list(auto_enabled)
    enable += [n.strip() for item in args.enable for n in item.split(",") if n.strip()]
    placed = [assemble.parse_insert_after(text) for text in args.insert_after]
    names = assemble.place(names, [check_pass_name(n, registry, None) for n in enable], placed, registry)
    for text in args.pass_option:
        pass_name, key, value = assemble.parse_pass_option(text)
        options.setdefault(pass_name, {})[key] = value
    return names, options


def changed(step: Step) -> bool:
    """Whether a pass changed the program: a new IR, or a different printed text."""
    if step.pass_.output_ir is None:
        return False
    if step.input_ir != step.output_ir:
        return True
    show = ir.lookup(step.output_ir).printer
    return show(step.input) != show(step.output)


def execute(console: output.Consoles, source: Source, program: object, args,
            entry: cache.Entry | None = None) -> int:
    try:
        import machine
    except ImportError:
        output.print_ir(console, "blocks", program)
        return OK
    try:
        if choose_backend(args) == "fast":
            cells = run_fast(program, entry)
        else:
            result = machine.run(program, fuel=args.fuel)
            cells = result.cells
        # A listing may return a box as a number: a runtime fault.
        value = machine.show_value(cells, program.result_type, getattr(program, "value_type", None))
    except CompileError as error:  # a blocks listing the fast backend cannot compile
        console.err.write(render_diagnostic(source, "error", error.message, error.span, error.notes))
        return COMPILE_ERROR
    except machine.RuntimeFault as fault:
        console.err.write(output.runtime_error(source, fault))
        return RUNTIME_ERROR
    except Exception as bug:
        return internal_error(console, bug)
    console.out.write(value + "\n")
    if args.stats:
        output.stats(console, result.stats)
    return OK


def run_fast(program: object, entry: cache.Entry | None = None) -> tuple[int, ...]:
    """Run a python program, or a blocks one compiled first (a pipeline that ends
    in blocks); kept in the cache's entry, if given, before it runs."""
    from machine import fast

    if not isinstance(program, fast.Program):
        from passes.to_python import ToPython

        program = ToPython().run(program)
    code = fast.compile_procs(program)
    if entry is not None:
        entry.store(program, code)
    return fast.run(program, code)


def check_stage(name: str | None, registry: Registry, available: list[str]) -> str | None:
    """The pass a stage names: an IR name means the last pass of the pipeline
    that writes it (as `diff --stage` reads it); any other name is a pass's."""
    if name is None:
        return None
    writers = [n for n in available if registry.find(n).load().output_ir == name.strip()]
    return writers[-1] if writers else check_pass_name(name, registry, available)


def check_pass_name(name: str | None, registry: Registry, available: list[str] | None) -> str | None:
    """The registered name of the pass `name`, which must be in `available` when that is given."""
    if name is None:
        return None
    entry = registry.find(name)
    if entry is None:
        raise UsageError(unknown_pass_message(name, registry))
    if available is not None and entry.name not in available:
        raise UsageError(f"pass {entry.name!r} is not in this pipeline; it runs: {', '.join(available)}")
    return entry.name


def read_source(path: str, data: bytes | None = None) -> Source:
    """The program at path (- for standard input); data: its bytes, when the cache read them already."""
    if data is None:
        data = read_bytes(path)
    name = program_name(path)
    try:
        return Source(name, data.decode("utf-8"))
    except UnicodeDecodeError as bad:
        # Show the text with the bad bytes replaced, and point at the first one.
        at = len(data[: bad.start].decode("utf-8"))
        shown = Source(name, data.decode("utf-8", errors="replace"))
        raise BadInput(shown, CompileError(
            f"the file is not valid UTF-8 text (byte 0x{data[bad.start]:02x})", Span(at, at + 1))) from None


def read_bytes(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    if os.path.isdir(path):
        raise UsageError(f"{path} is a directory, not a .co file")
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except OSError as problem:
        raise UsageError(f"cannot read {path}: {problem.strerror}") from None


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
        import traceback

        console.err.write(traceback.format_exc())
    return COMPILE_ERROR
