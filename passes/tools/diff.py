"""`python -m passes diff`: a unified diff of one IR, between two programs or two compilers.

    python -m passes diff a.co b.co --stage defunc
    python -m passes diff prog.co --stage layout --against HEAD~1

With --against, the same program is compiled by the working tree's compiler
and by the one at git revision REV, checked out in a temporary worktree that
is removed afterwards. A stage is an IR name (the IR after the last pass
that writes it) or a pass name. Exit statuses as diff(1)'s: 0 when the IRs
are the same, 1 when they differ, 2 for trouble: a usage error (unknown
stage or revision, not a git checkout) or a program that does not compile.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile

SAME, DIFFERENT, TROUBLE = 0, 1, 2
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the checkout
COLORS = {"+": "\x1b[32m", "-": "\x1b[31m", "@": "\x1b[36m"}
RESET = "\x1b[0m"


class DiffProblem(Exception):
    """Trouble: the message is a usage error's, or a compiler's diagnostic (already rendered)."""

    def __init__(self, message: str, diagnostic: bool = False):
        super().__init__(message)
        self.diagnostic = diagnostic


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m passes diff",
        description="Show a unified diff of one IR of two programs, or of one program "
                    "compiled by the working tree and by a git revision.",
        epilog="examples:\n"
               "  python -m passes diff a.co b.co --stage defunc\n"
               "  python -m passes diff prog.co --stage layout --against HEAD~1\n"
               "\nexit statuses, as diff(1)'s: 0 the IRs are the same, 1 they differ, 2 trouble\n"
               "(a usage error, or a program that does not compile: its diagnostic is shown)\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("programs", nargs="+", metavar="PROGRAM.co", help="two programs, or one with --against")
    parser.add_argument("--stage", required=True, metavar="IR|PASS", help="the IR to compare, e.g. typed, defunc")
    parser.add_argument("--against", metavar="REV", help="compare with the compiler at this git revision")
    parser.add_argument("--color", action=argparse.BooleanOptionalAction, default=None,
                        help="color the diff (default: only on a terminal)")
    return parser


def main(argv: list[str]) -> int:
    parser = build_arg_parser()
    args = parser.parse_args(argv)
    want = 1 if args.against else 2
    if len(args.programs) != want:
        parser.error(f"give {'one program with --against' if args.against else 'two programs'}")
    try:
        if args.against:
            program = args.programs[0]
            old = compile_at(args.against, program, args.stage)
            new = compile_here(ROOT, program, args.stage)
            labels = (f"{program} ({args.stage}) at {args.against}", f"{program} ({args.stage}) in the working tree")
        else:
            old, new = (compile_here(ROOT, p, args.stage) for p in args.programs)
            labels = tuple(f"{p} ({args.stage})" for p in args.programs)
    except DiffProblem as problem:
        sys.stderr.write(f"{parser.prog}: {problem}" if problem.diagnostic else f"{parser.prog}: error: {problem}\n")
        return TROUBLE
    lines = list(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), *labels))
    if not lines:
        sys.stderr.write(f"no differences in the {args.stage} IR\n")
        return SAME
    color = sys.stdout.isatty() if args.color is None else args.color
    sys.stdout.write("".join(colored(line) if color else line for line in lines))
    return DIFFERENT


def colored(line: str) -> str:
    code = COLORS.get(line[:1]) if not line.startswith(("+++", "---")) else "\x1b[1m"
    return f"{code}{line.rstrip(chr(10))}{RESET}\n" if code else line


def compile_here(checkout: str, program: str, stage: str) -> str:
    """The printed `stage` IR of program, by the compiler in `checkout`, run as a
    subprocess so that two checkouts' modules never meet in one interpreter."""
    if not os.path.isfile(program):
        raise DiffProblem(f"no such file: {program}")
    done = subprocess.run(
        [sys.executable, "-m", "passes", os.path.abspath(program), "--stop-after", stop_pass(checkout, stage),
         "--no-color"],
        cwd=checkout, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": checkout},
    )
    if done.returncode != 0:
        compile_error = done.returncode == 1  # the driver's status for a program that does not compile
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        raise DiffProblem(done.stderr if compile_error else last.split(": error: ", 1)[-1], compile_error)
    return done.stdout


def stop_pass(checkout: str, stage: str) -> str:
    """The last pass of checkout's default pipeline that writes the IR `stage`, or
    `stage` itself when it names a pass."""
    # Asked through the command line, whose listing every revision prints
    # alike, never through module paths, which move between revisions.
    done = subprocess.run([sys.executable, "-m", "passes", "--list-passes", "--no-color"], cwd=checkout,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": checkout})
    if done.returncode != 0:
        raise DiffProblem(f"the compiler in {checkout} cannot list its passes")
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    writers = [row[0] for row in rows if len(row) > 3 and row[2] == stage and row[3] == "always"]
    return writers[-1] if writers else stage


def compile_at(rev: str, program: str, stage: str) -> str:
    if shutil.which("git") is None:
        raise DiffProblem("--against needs git, which is not installed")
    top = git(["rev-parse", "--show-toplevel"], ROOT, "the compiler is not in a git checkout")
    commit = git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], top, f"unknown revision {rev!r}")
    with tempfile.TemporaryDirectory(prefix="passes-diff-") as scratch:
        worktree = os.path.join(scratch, "tree")
        git(["worktree", "add", "--detach", "--quiet", worktree, commit], top, f"cannot check out {rev!r}")
        try:
            return compile_here(worktree, program, stage)
        except DiffProblem as problem:  # say which compiler failed: the old one
            raise DiffProblem(f"the compiler at {rev}: {problem}", problem.diagnostic) from None
        finally:
            git(["worktree", "remove", "--force", worktree], top, "cannot remove the temporary worktree")


def git(arguments: list[str], cwd: str, failure: str) -> str:
    done = subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise DiffProblem(failure)
    return done.stdout.strip()
