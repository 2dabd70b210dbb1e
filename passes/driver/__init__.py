"""The command line (`python -m passes`): compile, print IRs, run; and its subcommands.

This module is what every run imports, so it holds only what a run of a
program already compiled needs (passes/driver/cache.py): a command line that
names only a program, and the exit statuses. The compiler (passes.driver.cli)
is imported only when the program is not in the cache.
"""

from __future__ import annotations

import os
import sys

OK, COMPILE_ERROR, USAGE_ERROR, RUNTIME_ERROR = 0, 1, 2, 3

PROG = "python -m passes"


def program_name(path: str) -> str:
    """How messages name the program at path (`-`: standard input)."""
    return "<stdin>" if path == "-" else path

# `python -m passes NAME ...` runs a tool with its own arguments (`NAME --help`
# tells them): NAME -> ("module:function", what it does).
SUBCOMMANDS = {
    "bench": ("passes.tools.bench:main", "the benchmark suite: co against hand-written Python, side by side"),
    "diff": ("passes.tools.diff:main", "a unified diff of one IR of two programs, or against a git revision"),
    "fuzz": ("passes.tools.fuzz:main", "differential fuzzing: generated programs through every pass and backend"),
    "lsp": ("passes.ide.lsp:main", "a language server for editors, on standard input and output"),
    "serve": ("passes.playground.server:main", "the playground in a browser: edit, every IR, diffs, run"),
}


def option_defaults() -> dict[str, object]:
    """What each option is when the command line does not give it: the parser's
    defaults, and all the options of a command line that names only a program."""
    return {
        "start_after": None, "stop_after": None, "print_after": "", "print_after_all": False,
        "print_after_change": False, "plugin": [], "enable": [], "insert_after": [], "pipeline": None,
        "pass_option": [], "verify_each": os.environ.get("PASSES_VERIFY_EACH") == "1", "time_passes": False,
        "list_passes": False, "show_ir": None, "delta": False, "backend": None, "stats": False, "fuel": None, "color": None,
        "cache": True,
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


def main(argv: list[str] | None = None) -> int:
    """Run the command line argv (sys.argv's, by default): the exit status.
    A program in the cache runs from there; anything else goes to the compiler."""
    argv = sys.argv[1:] if argv is None else argv
    args = lone_program(argv)
    entry = None
    if args is not None:
        from passes.driver import cache

        status, entry = cache.run_from_cache(args)
        if status is not None:
            return status
    from passes.driver import cli

    return cli.main(argv, entry)


def __getattr__(name: str):
    if name == "run_with_deep_stack":
        from passes.framework.deep_stack import run_with_deep_stack

        return run_with_deep_stack
    raise AttributeError(f"module 'passes.driver' has no attribute {name!r}")


__all__ = ["main", "run_with_deep_stack"]
