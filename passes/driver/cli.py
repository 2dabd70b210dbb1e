"""The command line: compile a co program, print IRs along the way, run it.

Exit statuses: 0 success, 1 compile error, 2 usage error, 3 runtime error.
Bad input never shows a Python traceback (set PASSES_TRACEBACK=1 to see one
for an internal error).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import ir
from ir.source import CompileError, Source, Span, render_diagnostic
from passes.driver import output
from passes.framework import assemble, plugins
from passes.framework.assemble import AssemblyError
from passes.framework.deep_stack import run_with_deep_stack
from passes.framework.pipeline import CheckFailed, PassBroke, PassCrashed, Pipeline, PipelineError, Step, unknown_pass_message
from passes.framework.registry import START_AFTER_FOR_SUFFIX, PluginError, Registry

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
  python -m passes prog.co --backend vm            run on the step-by-step VM (default: fast)
  python -m passes prog.co --stats                 counts from the VM after running (runs on the VM)
  python -m passes --list-passes                   the passes and their IRs
  python -m passes prog.blocks                     run a hand-written bytecode listing
  python -m passes prog.defunc                     run a program written in the defunc IR
                                                   (likewise .typed, .layout)
  python -m passes prog.txt --start-after defunc   read prog.txt as the IR defunc writes,
                                                   run the passes after defunc
  python -m passes prog.co --check affine          also reject resumes of stale fiber handles
  python -m passes prog.co --plugin my_pass.py     run the passes of a plugin file (or module)
  python -m passes prog.co --plugin my_pass.py --pass-option my-pass.limit=3
  python -m passes prog.co -p 'parse,infer,my-pass{limit=3}'
                                                   exactly these passes, with options
  python -m passes prog.co --insert-after infer:my-pass
                                                   place a pass by hand
  python -m passes prog.co --print-after-change    print an IR only when a pass changed it
  python -m passes diff a.co b.co --stage defunc   a colored diff of one IR of two programs
  python -m passes diff prog.co --stage layout --against HEAD~1
                                                   the same program, the compiler at HEAD~1
  python -m passes lsp                             a language server for editors (stdin/stdout)
  echo '1 + 2' | python -m passes -                read the program from stdin
  python -m passes serve --open                    the playground: edit, see every IR, diff, run

exit statuses: 0 success, 1 compile error, 2 usage error, 3 runtime error
"""


class UsageError(Exception):
    pass


PROG = "python -m passes"


def option_defaults() -> dict[str, object]:
    """What each option is when the command line does not give it: the parser's
    defaults, and all the options of a command line that names only a program."""
    return {
        "start_after": None, "stop_after": None, "print_after": "", "print_after_all": False,
        "print_after_change": False, "plugin": [], "enable": [], "insert_after": [], "pipeline": None,
        "pass_option": [], "verify_each": os.environ.get("PASSES_VERIFY_EACH") == "1", "time_passes": False,
        "list_passes": False, "backend": None, "stats": False, "fuel": None, "color": None,
    }


def lone_program(argv: list[str]):
    """The options of a command line that names only a program (`prog.co`, or
    `-`), without building the parser: argparse looks each of its messages up
    in the locale's translations, and that takes longer than compiling and
    running a small program. None for any other command line."""
    if len(argv) != 1 or argv[0].startswith("-") and argv[0] != "-":
        return None
    from types import SimpleNamespace

    return SimpleNamespace(program=argv[0], **option_defaults())


def build_arg_parser():
    import argparse

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Compile a co program through a pipeline of small passes and run it: compiled to "
                    "Python (the fast backend, the default) or on the step-by-step fiber VM.",
        epilog=EXAMPLES,
        formatter_class=help_formatter,
    )
    parser.add_argument("program", nargs="?",
                        help="a .co file, a program in an IR's text (.typed, .defunc, .layout, .blocks), "
                             "or - for standard input")
    parser.add_argument("--start-after", metavar="PASS",
                        help="read the program as the IR that PASS writes, and run the passes after PASS")
    parser.add_argument("--stop-after", metavar="PASS", help="print the IR after PASS and stop")
    parser.add_argument("--print-after", metavar="PASS[,PASS]",
                        help="print the IR after each named pass")
    parser.add_argument("--print-after-all", action="store_true", help="print the IR after every pass")
    parser.add_argument("--print-after-change", action="store_true",
                        help="print the IR after each pass that changed it")
    parser.add_argument("--plugin", action="append", metavar="FILE.py|MODULE",
                        help="load a plugin's passes (and IR); its passes that declare runs_after run there")
    parser.add_argument("--enable", "--check", action="append", metavar="PASS[,PASS]",
                        help="run optional passes (e.g. the affine checker) where they declare they run")
    parser.add_argument("--insert-after", action="append", metavar="AFTER:PASS",
                        help="run PASS right after the pass AFTER")
    parser.add_argument("-p", "--pipeline", metavar="PASS{OPT=VALUE,...},...",
                        help="run exactly these passes, in this order, with these options")
    parser.add_argument("--pass-option", action="append", metavar="PASS.OPTION=VALUE",
                        help="set an option of a pass (its typed dataclass field)")
    parser.add_argument("--verify-each", action=argparse.BooleanOptionalAction,
                        help="run each IR's verifier after the pass that produced it "
                             "(default: PASSES_VERIFY_EACH=1 in the environment)")
    parser.add_argument("--time-passes", action="store_true", help="print a table of time per pass")
    parser.add_argument("--list-passes", action="store_true", help="list the passes and exit")
    parser.add_argument("--backend", choices=("fast", "vm"),
                        help="run the program compiled to Python (fast, the default) or on the "
                             "instrumented step-by-step VM (vm, the default with --stats or --fuel)")
    parser.add_argument("--stats", action="store_true", help="print VM counts after running (on the VM)")
    parser.add_argument("--fuel", type=int, metavar="N", help="stop the VM after N instructions (on the VM)")
    parser.add_argument("--color", action=argparse.BooleanOptionalAction,
                        help="color the output (default: only on a terminal)")
    parser.set_defaults(**option_defaults())
    return parser


def help_formatter(prog: str):
    """The help's layout, as wide as the terminal. argparse makes one for every
    option added, and finds the width by importing shutil, which takes longer
    than compiling and running a small program: this asks the terminal itself."""
    columns = os.environ.get("COLUMNS", "")
    try:
        width = int(columns) if columns.isdigit() else os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (AttributeError, ValueError, OSError):  # no stdout, or not a terminal
        width = 80
    import argparse

    return argparse.RawDescriptionHelpFormatter(prog, width=width - 2)


# `python -m passes NAME ...` runs a tool with its own arguments: module:function.
SUBCOMMANDS = {
    "diff": "passes.tools.diff:main",
    "fuzz": "passes.tools.fuzz:main",
    "lsp": "passes.ide.lsp:main",
    "serve": "passes.playground.server:main",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS and not os.path.exists(argv[0]):
        module_name, _, function = SUBCOMMANDS[argv[0]].partition(":")
        tool = getattr(importlib.import_module(module_name), function)
        return tool(argv[1:])
    # argparse exits 2 on a usage error
    args = lone_program(argv) or build_arg_parser().parse_args(argv)
    return run_with_deep_stack(lambda: run(args))


def run(args) -> int:
    """Compile and run as args (the parsed command line) say: the exit status."""
    console = output.Consoles(args.color)
    registry = Registry()
    try:
        auto_enabled = plugins.add_plugins(registry, args.plugin)
        if args.list_passes:
            output.list_passes(console, registry)
            return OK
        if args.program is None:
            raise UsageError("no program given (a .co file, or - for standard input)")
        names, options = choose_passes(args, registry, auto_enabled)
        if choose_backend(args) == "vm" and names and names[-1] == "to-python":
            names = names[:-1]  # the VM runs the blocks program to-python would compile
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
            options = {name: opts for name, opts in options.items() if name in names}
        pipeline = Pipeline(assemble.instantiate(names, options, registry))
        source = read_source(args.program)
    except (UsageError, PipelineError, AssemblyError, PluginError) as problem:
        console.err.write(f"{PROG}: error: {problem}\n")
        return USAGE_ERROR
    except BadInput as bad:
        console.err.write(render_diagnostic(bad.source, "error", bad.error.message, bad.error.span))
        return COMPILE_ERROR

    timings: list[tuple[str, float]] = []
    printed_last = [False]

    def observe(step: Step) -> None:
        timings.append((step.pass_.name, step.seconds))
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
    return execute(console, source, program, args)


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
        start_after = START_AFTER_FOR_SUFFIX.get(Path(args.program).suffix)
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


def execute(console: output.Consoles, source: Source, program: object, args) -> int:
    try:
        import machine
    except ImportError:
        output.print_ir(console, "blocks", program)
        return OK
    try:
        if choose_backend(args) == "fast":
            cells = run_fast(program)
        else:
            result = machine.run(program, fuel=args.fuel)
            cells = result.cells
    except CompileError as error:  # a blocks listing the fast backend cannot compile
        console.err.write(render_diagnostic(source, "error", error.message, error.span, error.notes))
        return COMPILE_ERROR
    except machine.RuntimeFault as fault:
        console.err.write(output.runtime_error(source, fault))
        return RUNTIME_ERROR
    except Exception as bug:
        return internal_error(console, bug)
    console.out.write(machine.show_value(cells, program.result_type) + "\n")
    if args.stats:
        output.stats(console, result.stats)
    return OK


def run_fast(program: Any) -> tuple[int, ...]:
    """Run a python program, or a blocks one compiled first (a pipeline that ends in blocks)."""
    from machine import fast

    if not isinstance(program, fast.Program):
        from passes.to_python import ToPython

        program = ToPython().run(program)
    return fast.run(program)


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
        import traceback

        console.err.write(traceback.format_exc())
    return COMPILE_ERROR
