"""The affine resume checker: each shape of double resume is rejected with
both sites shown; one-shot programs, and every example, are accepted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_driver import cli, write

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.co"))
FIBER = "let f = spawn (yield; yield; 1) in\n"


def check(capsys, tmp_path, text: str):
    return cli(capsys, write(tmp_path, text), "--check", "affine", "--stop-after", "affine", "--no-color")


def sites(err: str) -> list[tuple[str, str, str]]:
    """(line:col, severity, message) of every diagnostic and note, in order."""
    return re.findall(r"^\S+?:(\d+:\d+): (error|note): (.*)$", err, re.MULTILINE)


def test_alias_through_let_shows_both_resumes_exactly(capsys, tmp_path):
    program = write(tmp_path, FIBER + "let g = f in\nresume f;\nresume g\n")
    result = cli(capsys, program, "--check", "affine", "--no-color")
    assert result.code == 1
    assert result.out == ""
    assert result.err == (
        f"{program}:4:1: error: `g` may be a stale fiber handle: it may already have been resumed\n"
        "    4 | resume g\n"
        "      | ^^^^^^^^\n"
        f"{program}:3:1: note: the handle was first resumed here\n"
        "    3 | resume f;\n"
        "      | ^^^^^^^^\n")


def test_tuple_of_one_handle_twice(capsys, tmp_path):
    result = check(capsys, tmp_path, FIBER + "let t = {f, f} in\n{resume t.0, resume t.1}\n")
    assert result.code == 1
    # Right to left: t.1 is resumed first, so t.0 is the stale one.
    assert sites(result.err) == [
        ("3:2", "error", "`t.0` may be a stale fiber handle: it may already have been resumed"),
        ("3:14", "note", "the handle was first resumed here"),
    ]


def test_function_argument_resumed_by_two_calls(capsys, tmp_path):
    result = check(capsys, tmp_path, "let r = \\h -> resume h in\n" + FIBER + "r f;\nr f\n")
    assert result.code == 1
    assert sites(result.err) == [
        ("4:1", "error", "this call may resume a stale fiber handle, one that was already resumed"),
        ("1:15", "note", "...which resumes it here"),
        ("3:1", "note", "the handle was first resumed through this call"),
        ("1:15", "note", "...which resumes it here"),
    ]


def test_function_resuming_its_argument_after_the_caller_did(capsys, tmp_path):
    result = check(capsys, tmp_path, FIBER + "let g = resume f in\nlet r = \\h -> resume h in\nr f\n")
    assert result.code == 1
    assert [s[0] for s in sites(result.err)] == ["4:1", "3:15", "2:9"]


def test_closure_capturing_a_handle_called_twice(capsys, tmp_path):
    result = check(capsys, tmp_path, FIBER + "let k = \\u -> resume f in\nk {};\nk {}\n")
    assert result.code == 1
    assert [s[0] for s in sites(result.err)] == ["4:1", "2:15", "3:1", "2:15"]


def test_closure_passed_to_a_function_that_calls_it_twice(capsys, tmp_path):
    text = FIBER + "let k = \\u -> resume f in\nlet twice = \\g -> g {}; g {} in\ntwice k\n"
    result = check(capsys, tmp_path, text)
    assert result.code == 1
    assert [s[0] for s in sites(result.err)] == ["4:1", "3:25", "2:15", "4:1", "3:19", "2:15"]


def test_handle_inside_a_fibers_result(capsys, tmp_path):
    text = FIBER + "let outer = spawn f in\nresume f;\nstat outer | `Pending -> {} | `Done g -> (resume g; {})\n"
    result = check(capsys, tmp_path, text)
    assert result.code == 1
    assert [s[0] for s in sites(result.err)] == ["4:43", "3:1"]


def test_spawned_fiber_resuming_a_captured_handle_twice(capsys, tmp_path):
    result = check(capsys, tmp_path, FIBER + "let m = spawn (resume f) in\nresume f\n")
    assert result.code == 1
    # The first site is `(resume f)`: the parser's span of a parenthesized expression.
    assert [s[0] for s in sites(result.err)] == ["3:1", "2:15"]


def test_recursion_that_resumes_the_old_handle_again_is_rejected_conservatively(capsys, tmp_path):
    text = ("let rec exec = \\s ->\n"
            "  stat s.0 | `Pending -> let next = resume s.0 in exec {s.0, s.1 + 1} | `Done n -> n + s.1\n"
            "in exec {spawn (yield; 5), 0}\n")
    result = check(capsys, tmp_path, text)
    assert result.code == 1
    found = sites(result.err)
    assert found[0][0] == "3:4"
    assert "conservatively: the checker assumes a recursive call of `exec` resumes whatever" in found[0][2]
    assert ("2:51", "note", "...then a recursive call of `exec`, which may resume it") in found
    assert ("2:37", "note", "...which resumes it here") in found


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_is_accepted_and_still_runs(capsys, path):
    checked = cli(capsys, str(path), "--check", "affine", "--no-color")
    assert (checked.code, checked.err) == (0, "")
    assert checked.out == cli(capsys, str(path), "--no-color").out


NEWEST_ONLY = {
    "resume loop": "let rec go = \\h -> stat h | `Pending -> go (resume h) | `Done v -> v in go (spawn (yield; 3))",
    "keeps old handles for stat only": (
        "let rec go = \\s -> stat s.0 | `Pending -> go {resume s.0, s.0} | `Done v -> "
        "(stat s.1 | `Pending -> v | `Done w -> w) in go {spawn (yield; yield; 4), spawn 0}"),
    "one branch resumes": FIBER + "let g = if true then resume f else f in resume g",
    "stat on a stale handle": FIBER + "let g = resume f in stat f | `Pending -> resume g | `Done v -> g",
    "resume in each branch": FIBER + "if true then resume f else resume f",
    "a function that resumes and returns the new handle": (
        FIBER + "let step = \\h -> resume h in step (step (step f))"),
    "a closure called once": FIBER + "let k = \\u -> resume f in k {}",
    "two fibers": FIBER + "let g = spawn (yield; 2) in {resume f, resume g}",
    "drive, then resume the done handle": (
        FIBER + "let rec drive = \\x -> stat x | `Pending -> drive (resume x) | `Done z -> x in "
                "let d = drive f in resume d"),
}


@pytest.mark.parametrize("text", NEWEST_ONLY.values(), ids=NEWEST_ONLY.keys())
def test_programs_that_resume_only_the_newest_handle_are_accepted(capsys, tmp_path, text):
    result = check(capsys, tmp_path, text)
    assert (result.code, result.err) == (0, "")


def test_without_the_flag_the_program_compiles_and_fails_at_run_time(capsys, tmp_path):
    path = write(tmp_path, FIBER + "resume f;\nresume f\n")
    result = cli(capsys, path, "--no-color")
    assert result.code == 3 and "runtime error" in result.err
