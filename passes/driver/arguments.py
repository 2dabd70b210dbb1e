"""The command line's options, parsed with argparse: imported only when the
command line is more than a program's name (`python -m passes prog.co` runs
without it, since building the parser costs more than compiling a small program).
"""

from __future__ import annotations

import argparse
import os
import sys

from passes.driver import PROG, SUBCOMMANDS, option_defaults
from passes.driver.cli import BACKENDS
from passes.framework.registry import did_you_mean

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
  python -m passes --show-ir typed                 the grammar of an IR: its forms and their fields
  python -m passes --show-ir typed --delta         what typed adds to and removes from surface's
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



def subcommands_help() -> str:
    width = max(map(len, SUBCOMMANDS))
    rows = "".join(f"  python -m passes {name:<{width}}  {summary}\n" for name, (_, summary) in SUBCOMMANDS.items())
    return f"subcommands (each has its own --help):\n{rows}\n"


def build_arg_parser():
    parser = Parser(
        prog=PROG,
        description="Compile a co program through a pipeline of small passes and run it: compiled to "
                    "Python (the fast backend, the default) or on the step-by-step fiber VM.",
        epilog=subcommands_help() + EXAMPLES,
        formatter_class=help_formatter,
    )
    parser.add_argument("program", nargs="?",
                        help="a .co file, a program in an IR's text (.typed, .defunc, .layout, .blocks), "
                             "or - for standard input")
    parser.add_argument("--version", action=VersionAction, help="print the version and exit")
    parser.add_argument("--start-after", metavar="STAGE",
                        help="read the program as the IR that STAGE writes, and run the passes after it "
                             "(a STAGE is a pass, or an IR: the last pass that writes it)")
    parser.add_argument("--stop-after", metavar="STAGE", help="print the IR after STAGE and stop")
    parser.add_argument("--print-after", metavar="STAGE[,STAGE]",
                        help="print the IR after each named stage")
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
    parser.add_argument("--show-ir", metavar="IR", help="print the grammar of IR (e.g. typed) and exit")
    parser.add_argument("--delta", action="store_true",
                        help="with --show-ir: print only what IR changes from the IR before it")
    parser.add_argument("--backend", choices=BACKENDS,
                        help="run the program compiled to Python (fast, the default) or on the "
                             "instrumented step-by-step VM (vm, the default with --stats or --fuel)")
    parser.add_argument("--stats", action="store_true", help="print VM counts after running (on the VM)")
    parser.add_argument("--fuel", type=count, metavar="N", help="stop the VM after N instructions (on the VM)")
    parser.add_argument("--no-cache", dest="cache", action="store_false",
                        help="compile the program even if the cache of compiled programs has it, and keep it "
                             "out of the cache (default: CO_PASSES_CACHE=off in the environment does the same)")
    parser.add_argument("--color", action=argparse.BooleanOptionalAction,
                        help="color the output (default: only on a terminal)")
    parser.set_defaults(**option_defaults())
    return parser


class Parser(argparse.ArgumentParser):
    """argparse's parser, which also suggests the option meant by a misspelled one."""

    def error(self, message: str):
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            known = [s for action in self._actions for s in action.option_strings]
            message += "".join(did_you_mean(word.partition("=")[0], known)
                               for word in message[len(prefix):].split() if word.startswith("--"))
        super().error(message)


def count(text: str) -> int:
    """A command-line count: a whole number, zero or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a count (a whole number, 0 or more)")
    return int(text)


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("co-passes")
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "(not installed)"


class VersionAction(argparse.Action):
    """--version, its number read only when asked for."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        sys.stdout.write(f"{PROG} (co-passes) {version()}\n")
        parser.exit()


def help_formatter(prog: str):
    """The help's layout, as wide as the terminal. argparse makes one for every
    option added, and finds the width by importing shutil, which takes longer
    than compiling and running a small program: this asks the terminal itself."""
    columns = os.environ.get("COLUMNS", "")
    try:
        width = int(columns) if columns.isdigit() else os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (AttributeError, ValueError, OSError):  # no stdout, or not a terminal
        width = 80
    return argparse.RawDescriptionHelpFormatter(prog, width=width - 2)
