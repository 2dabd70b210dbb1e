"""The command line: diagnostics, exit statuses, printing and timing flags,
stdin, bad files, color, and very deeply nested programs.

Most tests call `passes.driver.main` in-process (fast); subprocesses are
used where the process boundary is the point: `python -m passes` itself,
stdin, and deep nesting (a crash there must not take pytest down).
"""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ir import typed as T
from ir.types import BOOL
from passes.driver import cli as driver
from passes.framework import Pass
from passes.framework.registry import BUILTIN_PASSES, PassEntry, Registry

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.co"))
DISPATCH = str(ROOT / "examples" / "dispatch.co")
THREE_MEMBER_SET = "lam {x: int} | lam1 {x: int, y: int} | lam2 {x: int, y: int, z: int}"
ANSI = re.compile(r"\x1b\[")


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli(capsys, *args: str) -> Result:
    """Run the driver in-process, as `python -m passes ARGS` would."""
    code = driver.main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return Result(code, captured.out, captured.err)


def cli_process(*args: str, stdin: bytes = b"", timeout: float = 60) -> Result:
    done = subprocess.run([sys.executable, "-m", "passes", *args], cwd=ROOT, input=stdin,
                          capture_output=True, timeout=timeout)
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err[-3000:]
    return Result(done.returncode, out, err)


def write(tmp_path: Path, text: str | bytes, name: str = "prog.co") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def only_front_end(monkeypatch, *extra: PassEntry) -> None:
    """Make the driver's pipeline parse and infer (plus extra entries), whatever else exists."""
    entries = (*BUILTIN_PASSES[:2], *extra)
    assert [e.name for e in BUILTIN_PASSES[:2]] == ["parse", "infer"]
    monkeypatch.setattr(driver, "Registry", lambda: Registry(entries))


# -- diagnostics: file:line:col, the source line, a caret; exit 1 ----------------------

def test_syntax_error_diagnostic_exactly(tmp_path, capsys):
    path = write(tmp_path, "let x = 1 then 2\n")
    result = cli(capsys, path, "--no-color")
    assert result.code == 1
    assert result.err == (
        f"{path}:1:1: error: this `let x = ...` has no `in` after its value\n"
        "    1 | let x = 1 then 2\n"
        "      | ^^^^^^^^^\n"
        f"{path}:1:11: note: `in` was expected here, found `then`\n"
        "    1 | let x = 1 then 2\n"
        "      |           ^^^^\n"
    )
    assert result.out == ""


def test_a_missing_in_points_at_the_let_that_lacks_it(tmp_path, capsys):
    path = write(tmp_path, "let x = 1\nlet y = 2 in\nx + y\n")
    result = cli(capsys, path, "--no-color")
    assert result.code == 1
    assert result.err.splitlines()[0] == f"{path}:1:1: error: this `let x = ...` has no `in` after its value"
    assert result.err.splitlines()[3] == f"{path}:2:1: note: `in` was expected here, found `let`"


DIAGNOSTICS = [
    # (program, line, col, the source line shown, caret width)
    ("let x = 1 in\nif a then b else c", 2, 4, "if a then b else c", 1),
    ("let x = 1 in\n  x + (2 * 3", 2, 13, "  x + (2 * 3", 1),
    ("1 $ 2", 1, 3, "1 $ 2", 1),
    ("stat f | `Foo -> 1 | `Done x -> 2", 1, 10, "stat f | `Foo -> 1 | `Done x -> 2", 4),
    ("let rec f = 3 in f", 1, 13, "let rec f = 3 in f", 1),
    ("a == b == c", 1, 8, "a == b == c", 2),
    ("9223372036854775808", 1, 1, "9223372036854775808", 19),
    ("let in = 1 in 2", 1, 5, "let in = 1 in 2", 2),
    ("", 1, 1, "", 1),
    ("1 + true", 1, 5, "1 + true", 4),
    ("let n = 3 in\nn 4", 2, 1, "n 4", 1),
    ("let foo = 1 in\n  fo", 2, 3, "  fo", 2),
    ("let t = {1, 2} in t.2", 1, 19, "let t = {1, 2} in t.2", 3),
    ("let p = spawn 1 in p == p", 1, 20, "let p = spawn 1 in p == p", 6),
    ("if 1 then 2 else 3", 1, 4, "if 1 then 2 else 3", 1),
    ("\\x -> x x", 1, 7, "\\x -> x x", 1),
    ("resume 5", 1, 8, "resume 5", 1),
    ("let id = \\x -> x in {id 1, id true}", 1, 31, "let id = \\x -> x in {id 1, id true}", 4),
    ("let g = \\t -> t.1 in 3", 1, 15, "let g = \\t -> t.1 in 3", 3),
]


@pytest.mark.parametrize("text, line, col, shown, width", DIAGNOSTICS, ids=[d[0] or "<empty>" for d in DIAGNOSTICS])
def test_every_error_shows_position_line_and_caret(tmp_path, capsys, text, line, col, shown, width):
    path = write(tmp_path, text)
    result = cli(capsys, path, "--stop-after", "infer", "--no-color")
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0].startswith(f"{path}:{line}:{col}: error: "), lines[0]
    assert lines[1] == f"{line:5d} | {shown}"
    assert lines[2] == "      | " + " " * (col - 1) + "^" * width
    assert result.out == ""


def test_type_error_notes_where_the_other_type_comes_from(tmp_path, capsys):
    path = write(tmp_path, "1 + true")
    result = cli(capsys, path, "--stop-after", "infer")
    assert result.code == 1
    assert f"{path}:1:5: error: type mismatch: expected int, found bool" in result.err
    assert f"{path}:1:1: note: " in result.err


def test_errors_through_the_real_entry_point():
    syntax = cli_process("-", "--stop-after", "infer", stdin=b"let x = 1 in\n  (x + 1\n")
    assert syntax.code == 1
    assert "<stdin>:3:1: error: expected `)`, found end of input" in syntax.err
    assert "<stdin>:2:3: note: to close this `(`" in syntax.err
    typing = cli_process("-", "--stop-after", "infer", stdin=b"if 1 then 2 else 3")
    assert typing.code == 1
    assert typing.err.startswith("<stdin>:1:4: error: type mismatch: expected bool, found int\n")
    assert "    1 | if 1 then 2 else 3\n      |    ^\n" in typing.err


# -- --stop-after and the typed IR ---------------------------------------------------

def test_stop_after_infer_shows_the_three_member_set():
    result = cli_process(DISPATCH, "--stop-after", "infer")
    assert result.code == 0, result.err
    assert f"-[{THREE_MEMBER_SET}]->" in result.out
    assert result.out.startswith("let x : int = 5 in\n")
    assert result.err == ""


def test_stop_after_parse_prints_the_surface_program(capsys):
    result = cli(capsys, DISPATCH, "--stop-after", "parse")
    assert result.code == 0
    assert result.out.startswith("let x = 5 in\n")
    assert "-[" not in result.out  # no types yet


# -- unknown passes, --list-passes ------------------------------------------------

@pytest.mark.parametrize("flags", [["--stop-after", "bogus"], ["--print-after", "parse,bogus"]])
def test_unknown_pass_is_a_usage_error_listing_the_known_ones(capsys, flags):
    result = cli(capsys, DISPATCH, *flags)
    assert result.code == 2
    assert "unknown pass 'bogus'" in result.err
    known = result.err.split("known passes:")[1]
    assert "parse" in known and "infer" in known
    assert result.out == ""


def test_list_passes_shows_each_pass_with_its_irs(capsys):
    result = cli(capsys, "--list-passes", "--no-color")
    assert result.code == 0
    assert re.search(r"^parse\s+source\s+surface\s", result.out, re.MULTILINE), result.out
    assert re.search(r"^infer\s+surface\s+typed\s", result.out, re.MULTILINE), result.out


def test_no_program_is_a_usage_error(capsys):
    result = cli(capsys)
    assert result.code == 2
    assert "no program given" in result.err


# -- printing after passes --------------------------------------------------------

def test_print_after_all_prints_a_header_after_each_pass(capsys, monkeypatch):
    only_front_end(monkeypatch)
    result = cli(capsys, DISPATCH, "--print-after-all", "--no-color")
    assert result.code == 0
    headers = [line for line in result.out.splitlines() if line.startswith("# after")]
    assert headers == ["# after parse (surface)", "# after infer (typed)"]
    surface, typed = result.out.split("# after infer (typed)\n")
    assert "let x = 5 in" in surface and "-[" not in surface
    assert f"-[{THREE_MEMBER_SET}]->" in typed


def test_print_after_all_with_stop_after_labels_every_listing(capsys):
    result = cli(capsys, DISPATCH, "--print-after-all", "--stop-after", "infer", "--no-color")
    assert result.code == 0
    headers = [line for line in result.out.splitlines() if line.startswith("# after")]
    assert headers == ["# after parse (surface)", "# after infer (typed)"]


def test_print_after_all_with_stop_after_prints_each_ir_once(capsys):
    result = cli(capsys, DISPATCH, "--print-after-all", "--stop-after", "infer", "--no-color")
    assert result.code == 0
    assert result.out.count("# after parse (surface)\n") == 1
    assert result.out.count("let x : int = 5 in") == 1
    assert result.out.count("let x = 5 in") == 1


def test_print_after_one_pass(capsys, monkeypatch):
    only_front_end(monkeypatch)
    result = cli(capsys, DISPATCH, "--print-after", "parse", "--no-color")
    assert result.code == 0
    assert result.out.startswith("# after parse (surface)\nlet x = 5 in\n")
    assert "# after infer" not in result.out
    assert "let x : int = 5 in" in result.out  # the final IR is printed too


# -- --time-passes, --verify-each -------------------------------------------------

def test_time_passes_prints_a_table_of_each_pass(capsys):
    result = cli(capsys, DISPATCH, "--stop-after", "infer", "--time-passes", "--no-color")
    assert result.code == 0
    rows = {line.split()[0]: line.split()[1:] for line in result.err.splitlines() if line.strip()}
    for name in ("parse", "infer", "total"):
        assert name in rows, result.err
        milliseconds, share = rows[name]
        assert float(milliseconds) >= 0 and share.endswith("%")
    assert rows["total"][1] == "100%"
    assert f"-[{THREE_MEMBER_SET}]->" in result.out


def test_time_passes_still_prints_the_table_after_an_error(tmp_path, capsys):
    result = cli(capsys, write(tmp_path, "1 + true"), "--stop-after", "infer", "--time-passes")
    assert result.code == 1
    assert re.search(r"^parse\s", result.err, re.MULTILINE)
    assert "type mismatch" in result.err


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_verify_each_accepts_every_example(capsys, path):
    result = cli(capsys, str(path), "--stop-after", "infer", "--verify-each", "--no-color")
    assert (result.code, result.err) == (0, "")


@dataclass(frozen=True)
class BreakTypes(Pass):
    """A deliberately wrong pass: gives the program's root the type bool."""

    name = "break-types"
    input_ir = "typed"
    output_ir = "typed"
    summary = "a broken pass, for tests"

    def run(self, program: T.Program) -> T.Program:
        return T.Program(dataclasses.replace(program.body, type=BOOL), program.source)


def test_verify_each_catches_a_pass_that_breaks_its_ir(tmp_path, capsys, monkeypatch):
    # As a built-in pass: a plugin's output is verified even without --verify-each.
    only_front_end(monkeypatch, PassEntry("break-types", f"{__name__}:BreakTypes", origin="built-in"))
    path = write(tmp_path, "1 + 2")
    unchecked = cli(capsys, path, "--no-verify-each", "--no-color")
    assert unchecked.code == 0  # without verification, the broken IR goes unnoticed
    checked = cli(capsys, path, "--verify-each", "--no-color")
    assert checked.code == 1
    assert "pass 'break-types' produced invalid 'typed' IR: rule 'type-mismatch'" in checked.err
    assert "1 + 2" in checked.err  # the offending node, printed
    assert "bug in that pass" in checked.err


# -- where the program comes from --------------------------------------------------

def test_dash_reads_the_program_from_stdin():
    result = cli_process("-", "--stop-after", "infer", stdin=b"{1, true}\n")
    assert (result.code, result.out, result.err) == (0, "{1, true}\n", "")


def test_dash_reads_stdin_in_process(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"let a = 1 in \\x -> x + a")))
    result = cli(capsys, "-", "--stop-after", "infer", "--no-color")
    assert result.code == 0
    assert result.out == "let a : int = 1 in\n\\(x : int) -[lam {a: int}]-> x + a\n"


def test_missing_file_is_a_usage_error(tmp_path, capsys):
    missing = str(tmp_path / "nope.co")
    result = cli(capsys, missing)
    assert result.code == 2
    assert f"no such file: {missing}" in result.err


def test_directory_is_a_usage_error(tmp_path, capsys):
    result = cli(capsys, str(tmp_path))
    assert result.code == 2
    assert f"{tmp_path} is a directory" in result.err


def test_non_utf8_file_is_a_compile_error_with_a_diagnostic(tmp_path, capsys):
    path = write(tmp_path, b'let x = 1 in\n"\xff" x\n')
    result = cli(capsys, path, "--no-color")
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0].startswith(f"{path}:2:2: error: ") and "UTF-8" in lines[0] and "0xff" in lines[0]
    assert lines[2] == "      |  ^"


def test_crlf_line_ends_are_fine(tmp_path, capsys):
    result = cli(capsys, write(tmp_path, b"let x = 1 in\r\nx + 1\r\n"), "--stop-after", "infer")
    assert result.code == 0


# -- color and help ------------------------------------------------------------------

def test_no_color_output_has_no_ansi_escapes(tmp_path, capsys):
    ok = cli(capsys, DISPATCH, "--stop-after", "infer", "--time-passes", "--no-color")
    bad = cli(capsys, write(tmp_path, "1 + true"), "--stop-after", "infer", "--no-color")
    listing = cli(capsys, "--list-passes", "--no-color")
    for text in (ok.out, ok.err, bad.err, listing.out):
        assert not ANSI.search(text), repr(text[:200])


def test_color_output_adds_escapes_but_not_characters(capsys):
    plain = cli(capsys, DISPATCH, "--stop-after", "infer", "--no-color")
    colored = cli(capsys, DISPATCH, "--stop-after", "infer", "--color")
    assert ANSI.search(colored.out)
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored.out) == plain.out


def test_help_exits_0_and_shows_examples(capsys):
    with pytest.raises(SystemExit) as exited:
        driver.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "--stop-after infer" in out
    assert "exit statuses" in out


def test_bad_flag_exits_2(capsys):
    with pytest.raises(SystemExit) as exited:
        driver.main([DISPATCH, "--no-such-flag"])
    assert exited.value.code == 2


# -- very deep nesting: compiles, or a clean error; never a crash -------------------------

DEPTH = 10_000


def deep_programs() -> dict[str, str]:
    return {
        "parentheses": "(" * DEPTH + "1" + ")" * DEPTH,
        "lets": "".join(f"let x{i} = {i} in " for i in range(DEPTH)) + "x0 + x9999",
        "left additions": " + ".join(["1"] * DEPTH),
        "right additions": "1 + (" * DEPTH + "1" + ")" * DEPTH,
        "negations": "-" * DEPTH + "1",
        "tuples": "{" * DEPTH + "1" + "}" * DEPTH,
        "sequences": "; ".join(["1"] * DEPTH),
        "unclosed parentheses": "(" * DEPTH + "1",
        "deep type error": "(" * DEPTH + "1 + true" + ")" * DEPTH,
    }


# Whether each compiles (exit 0) or must be rejected (exit 1) with a clean diagnostic.
DEEP_EXPECTED = {
    "parentheses": 0, "lets": 0, "left additions": 0, "right additions": 0, "negations": 0,
    "tuples": 0, "sequences": 0, "unclosed parentheses": 1, "deep type error": 1,
}


# Programs whose printed IR the tests read; the others' listings (up to
# hundreds of megabytes: indentation grows with depth) are thrown away.
DEEP_OUTPUT_READ = {"parentheses", "negations", "lets"}


@pytest.fixture(scope="module")
def deep_results(tmp_path_factory):
    """Compile every deep program at once, in parallel subprocesses."""
    folder = tmp_path_factory.mktemp("deep")
    running = {}
    for name, text in deep_programs().items():
        stem = name.replace(" ", "_")
        path = folder / f"{stem}.co"
        path.write_text(text)
        out_path = folder / f"{stem}.out" if name in DEEP_OUTPUT_READ else None
        out = open(out_path, "wb") if out_path else subprocess.DEVNULL
        process = subprocess.Popen([sys.executable, "-m", "passes", str(path), "--stop-after", "infer",
                                    "--no-color"], cwd=ROOT, stdout=out, stderr=subprocess.PIPE)
        running[name] = (process, out, out_path)
    results = {}
    for name, (process, out, out_path) in running.items():
        try:
            _, err = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        head = ""
        if out_path:
            out.close()
            head = out_path.read_bytes()[:200].decode("utf-8", "replace")
        results[name] = Result(process.returncode, head, err.decode("utf-8", "replace"))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("name", DEEP_EXPECTED)
def test_deep_nesting_compiles_or_fails_cleanly(deep_results, name):
    result = deep_results[name]
    assert "Traceback" not in result.err, result.err[-2000:]
    assert "internal compiler error" not in result.err, result.err[-2000:]
    assert result.code == DEEP_EXPECTED[name], result.err[-2000:]
    if result.code == 1:
        assert re.match(r"\S+\.co:1:\d+: error: ", result.err), result.err[:500]


@pytest.mark.slow
def test_deep_results_are_right(deep_results):
    assert deep_results["parentheses"].out == "1\n"
    assert deep_results["negations"].out.startswith("-" * 100)
    assert deep_results["lets"].out.startswith("let x0 : int = 0 in\n")
    assert "expected `)`" in deep_results["unclosed parentheses"].err
    assert f":1:{DEPTH + 5}: error: type mismatch" in deep_results["deep type error"].err


def test_a_very_long_line_is_shown_around_the_caret(tmp_path, capsys):
    program = write(tmp_path, "let x = " + "1 + " * 30000 + "true in x")
    result = cli(capsys, program, "--no-color")
    assert result.code == 1
    first = result.err.splitlines()[:3]
    assert first[0].endswith(":1:120009: error: type mismatch: expected int, found bool")
    assert first[1].endswith("+ 1 + true in x") and "..." in first[1] and len(first[1]) < 200
    # the caret stands under `true`
    assert first[2].index("^") == first[1].index("true")


def test_main_leaves_the_callers_settings_as_they_were(tmp_path, capsys):
    import gc
    import threading

    before = (sys.getrecursionlimit(), threading.stack_size(), gc.isenabled())
    cli(capsys, write(tmp_path, "1 + 2"), "--no-color")
    assert (sys.getrecursionlimit(), threading.stack_size(), gc.isenabled()) == before


# -- naming things: stages, suggestions, counts, the version, the subcommands ---------------


def test_a_stage_is_a_pass_or_an_ir_as_diff_reads_it(tmp_path, capsys):
    path = write(tmp_path, "let rec f = \\n -> if n == 0 then 7 else f (n - 1) in f 2\n")
    by_ir = cli(capsys, path, "--stop-after", "layout", "--no-color")
    by_pass = cli(capsys, path, "--stop-after", "tailcall", "--no-color")
    assert by_ir.code == 0 and by_ir.out == by_pass.out  # layout: the IR after the last pass writing it
    assert "tailcall f" in by_ir.out
    printed = cli(capsys, path, "--print-after", "typed", "--no-color")
    assert printed.out.startswith("# after infer (typed)\n") and printed.out.endswith("7\n")


def test_a_misspelled_pass_or_flag_gets_a_suggestion(tmp_path, capsys):
    path = write(tmp_path, "1 + 2\n")
    with pytest.raises(SystemExit):
        cli(capsys, path, "--stop-afer", "infer")
    assert "unrecognized arguments: --stop-afer infer (did you mean '--stop-after'?)" in capsys.readouterr().err
    wrong_pass = cli(capsys, path, "--stop-after", "infr")
    assert wrong_pass.code == 2
    assert "unknown pass 'infr' (did you mean 'infer'?)" in wrong_pass.err
    far = cli(capsys, path, "--stop-after", "zzzz")
    assert "did you mean" not in far.err


def test_fuel_is_a_count(tmp_path, capsys):
    path = write(tmp_path, "1 + 2\n")
    with pytest.raises(SystemExit) as exit_:
        cli(capsys, path, "--fuel", "-3")
    assert exit_.value.code == 2
    assert "argument --fuel: '-3' is not a count" in capsys.readouterr().err
    assert cli(capsys, path, "--fuel", "0").err == f"{path}: runtime error: out of fuel after 0 steps\n"


def test_version_and_the_subcommands_in_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli(capsys, "--version")
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("python -m passes (co-passes) ") and out.strip()[-1].isdigit()
    with pytest.raises(SystemExit):
        cli(capsys, "--help")
    help_text = capsys.readouterr().out
    for name in driver.SUBCOMMANDS:
        assert f"python -m passes {name} " in help_text


def test_a_reader_that_goes_away_ends_the_process_quietly():
    # `python -m passes prog.co --print-after-all | head -1`: the writer is
    # ended by SIGPIPE, as cat is, with no message about a broken pipe.
    driver_process = subprocess.Popen([sys.executable, "-m", "passes", "examples/curry.co", "--print-after-all"],
                                      cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert driver_process.stdout.readline() == b"# after parse (surface)\n"
    driver_process.stdout.close()
    assert driver_process.wait(timeout=60) == -13  # SIGPIPE
    assert driver_process.stderr.read() == b""


@pytest.mark.parametrize("text, status", [("1 + 2", 0), ("1 +", 1), ("let rec f = \\x -> f x in f 1", 3)])
def test_the_process_exits_with_the_status_and_all_its_output(text, status, tmp_path):
    # The driver leaves without the interpreter's teardown: what it printed
    # must still be flushed, and the status must still be the driver's.
    done = subprocess.run([sys.executable, "-m", "passes", "-", "--fuel", "1000"], cwd=ROOT, input=text,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == status
    assert (done.stdout, bool(done.stderr)) == (("3\n", False) if status == 0 else ("", True))
