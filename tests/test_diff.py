"""`python -m passes diff`: one IR of two programs, and one program against a git revision."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from passes.tools import diff
from tests.test_driver import write

ROOT = Path(__file__).resolve().parent.parent
COUNTDOWN = str(ROOT / "examples" / "countdown.co")


def run_diff(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "passes", "diff", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(cwd)})
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_two_programs_differ_in_one_line_of_their_layout(tmp_path):
    other = write(tmp_path, Path(COUNTDOWN).read_text().replace("100000", "10"), "short.co")
    done = run_diff(COUNTDOWN, other, "--stage", "layout", "--no-color")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[:2] == [f"--- {COUNTDOWN} (layout)", f"+++ {other} (layout)"]
    assert [l for l in lines[2:] if l[:1] in "+-"] == ["-    call loop {100000, 0} loop",
                                                       "+    call loop {10, 0} loop"]


def test_color_marks_added_and_removed_lines(tmp_path):
    other = write(tmp_path, "2", "two.co")
    done = run_diff(write(tmp_path, "1", "one.co"), other, "--stage", "typed", "--color")
    assert "\x1b[31m-1\x1b[0m\n" in done.stdout and "\x1b[32m+2\x1b[0m\n" in done.stdout


def test_identical_programs_say_so(tmp_path):
    done = run_diff(COUNTDOWN, COUNTDOWN, "--stage", "defunc")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "no differences in the defunc IR\n")


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--stage", "defunc"], 2, "the following arguments are required: PROGRAM.co"),
    (["--stage", "defunc", COUNTDOWN], 2, "give two programs"),
    (["--stage", "nowhere", COUNTDOWN, COUNTDOWN], 2, "unknown pass 'nowhere'"),
    (["--stage", "defunc", "missing.co", COUNTDOWN], 2, "no such file: missing.co"),
    (["--stage", "typed", "BAD", COUNTDOWN], 1, "bad.co:1:5: error: type mismatch"),
])
def test_bad_requests(tmp_path, args, code, message):
    args = [write(tmp_path, "1 + true", "bad.co") if a == "BAD" else a for a in args]
    done = run_diff(*args)
    assert done.returncode == code
    assert message in done.stderr


@pytest.fixture
def compiler_history(tmp_path) -> Path:
    """A git copy of the compiler with two commits: as it is, then with tail calls never marked."""
    copy = tmp_path / "compiler"
    for package in ("ir", "passes", "machine"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    subprocess.run(["git", "add", "."], cwd=copy, check=True)
    subprocess.run([*git, "commit", "-qm", "as it is"], cwd=copy, check=True)
    tailcall = copy / "passes" / "tailcall.py"
    tailcall.write_text(tailcall.read_text().replace("replace(e, tail=True)", "e"))
    subprocess.run([*git, "commit", "-qam", "never mark tail calls"], cwd=copy, check=True)
    return copy


def test_against_a_revision_shows_what_a_pass_change_did(compiler_history):
    done = run_diff(COUNTDOWN, "--stage", "layout", "--against", "HEAD~1", "--no-color", cwd=compiler_history)
    assert done.returncode == 0, done.stderr
    changed = [l for l in done.stdout.splitlines()[2:] if l[:1] in "+-"]
    assert changed == ["-    else tailcall loop {t.0 - 1, t.1 + t.0} (closure loop <captures>)",
                       "+    else call loop {t.0 - 1, t.1 + t.0} (closure loop <captures>)"]
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=compiler_history, capture_output=True, text=True)
    assert len(worktrees.stdout.splitlines()) == 1  # the temporary one is gone


def test_against_an_unknown_revision(compiler_history):
    done = run_diff(COUNTDOWN, "--stage", "layout", "--against", "no-such-rev", cwd=compiler_history)
    assert (done.returncode, done.stderr) == (2, "python -m passes diff: error: unknown revision 'no-such-rev'\n")


def test_against_outside_a_git_checkout(compiler_history):
    shutil.rmtree(compiler_history / ".git")
    done = run_diff(COUNTDOWN, "--stage", "layout", "--against", "HEAD", cwd=compiler_history)
    assert done.returncode == 2
    assert "not in a git checkout" in done.stderr


def test_the_driver_dispatches_diff_to_this_module():
    from passes.driver.cli import SUBCOMMANDS

    assert SUBCOMMANDS["diff"] == f"{diff.__name__}:main"
