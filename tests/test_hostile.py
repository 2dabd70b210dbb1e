"""Hostile input: whatever it is given, `python -m passes` ends with a clean
diagnostic and a documented exit status (0 success, 1 compile error, 2 usage
error, 3 runtime error), never a Python traceback or an internal error.

Random bytes, every example truncated and mutated (well over 1,000 inputs,
from a fixed seed), enormous literals, 100,000-deep nesting, a 50,000-line
program, bad files; `--fuel` stopping a runaway program, and recursion deep
enough that only memory bounds it.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from passes.driver import cli as driver

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.co"))
OK, COMPILE_ERROR, USAGE_ERROR, RUNTIME_ERROR = 0, 1, 2, 3

# The first line of every diagnostic the driver writes (argparse's start with the usage).
DIAGNOSTIC = re.compile(r"(\S+:\d+:\d+: (error|runtime error): |\S+: (error|runtime error): "
                        r"|python -m passes: error: |usage: python -m passes )")


@dataclass
class Result:
    code: int
    out: str
    err: str


def assert_clean(result: Result) -> None:
    assert "Traceback" not in result.err, result.err[-3000:]
    assert "internal compiler error" not in result.err, result.err[-3000:]
    assert result.code in (OK, COMPILE_ERROR, USAGE_ERROR, RUNTIME_ERROR)
    if result.code != OK:
        assert DIAGNOSTIC.match(result.err), result.err[:500]


def cli(capsys, *args: str) -> Result:
    """The driver in-process, as `python -m passes ARGS` runs it."""
    try:
        code = driver.main([*args, "--no-color"])
    except SystemExit as exited:  # argparse's own usage errors
        code = exited.code
    captured = capsys.readouterr()
    result = Result(code, captured.out, captured.err)
    assert_clean(result)
    return result


def run_file(capsys, tmp_path: Path, data: bytes, *args: str) -> Result:
    path = tmp_path / "input.co"
    path.write_bytes(data)
    return cli(capsys, str(path), *args)


# -- files that are not programs --------------------------------------------------------------


def test_an_empty_file_is_a_compile_error(capsys, tmp_path):
    result = run_file(capsys, tmp_path, b"")
    assert result.code == COMPILE_ERROR and "the program is empty" in result.err


def test_a_file_of_only_comments_is_empty_too(capsys, tmp_path):
    assert run_file(capsys, tmp_path, b"# nothing\n  # here\n").code == COMPILE_ERROR


def test_a_missing_file_is_a_usage_error(capsys, tmp_path):
    result = cli(capsys, str(tmp_path / "nowhere.co"))
    assert result.code == USAGE_ERROR and "no such file" in result.err


def test_a_directory_is_a_usage_error(capsys, tmp_path):
    result = cli(capsys, str(tmp_path))
    assert result.code == USAGE_ERROR and "is a directory" in result.err


def test_non_utf8_bytes_are_a_compile_error_pointing_at_the_first(capsys, tmp_path):
    result = run_file(capsys, tmp_path, b"let x = 1 in\nx + \xff\xfe 2\n")
    assert result.code == COMPILE_ERROR
    assert result.err.startswith(f"{tmp_path / 'input.co'}:2:5: error: the file is not valid UTF-8 text (byte 0xff)")


def test_a_nul_byte_is_an_unexpected_character(capsys, tmp_path):
    result = run_file(capsys, tmp_path, b"1 +\x00 2")
    assert result.code == COMPILE_ERROR and "unexpected character '\\x00'" in result.err


def test_a_bad_fuel_is_a_usage_error(capsys):
    assert cli(capsys, str(EXAMPLES[0]), "--fuel", "lots").code == USAGE_ERROR


# -- random, truncated and mutated input --------------------------------------------------------


def test_random_bytes(capsys, tmp_path):
    rng = random.Random(20261121)
    codes = Counter()
    for _ in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
        codes[run_file(capsys, tmp_path, data).code] += 1
    assert set(codes) == {COMPILE_ERROR}, codes


def test_every_example_truncated_anywhere(capsys, tmp_path):
    """Cut at every 5th byte: most are syntax errors, none is a crash."""
    count = 0
    for example in EXAMPLES:
        data = example.read_bytes()
        for end in range(0, len(data), 5):
            run_file(capsys, tmp_path, data[:end], "--fuel", "100000")
            count += 1
    assert count > 200


TOKENS = (b"let ", b"rec ", b" in ", b"\\x -> ", b"if ", b" then ", b" else ", b"spawn ", b"resume ",
          b"yield", b"stat ", b"| `Pending -> ", b"| `Done v -> ", b"{", b"}", b"(", b")", b",", b";",
          b".0", b".1", b" + ", b" - ", b"*", b"==", b"<", b"-", b"0", b"9223372036854775807", b"x",
          b"true", b"`", b"#", b"\n", b"\xff", b"\xc3\xa9")


def mutate(rng: random.Random, data: bytes) -> bytes:
    """A few edits: delete a run, insert a token, flip a byte, truncate, or copy a run elsewhere."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(out))
        match rng.randrange(5):
            case 0:
                del out[at:at + rng.randint(1, 8)]
            case 1:
                out[at:at] = rng.choice(TOKENS)
            case 2 if out:
                out[min(at, len(out) - 1)] = rng.randrange(256)
            case 3:
                del out[at:]
            case _:
                start = rng.randint(0, len(out))
                out[at:at] = out[start:start + rng.randint(0, 40)]
    return bytes(out)


@pytest.mark.slow
def test_a_thousand_mutated_examples(capsys, tmp_path):
    rng = random.Random(7)
    originals = [p.read_bytes() for p in EXAMPLES]
    codes = Counter()
    for _ in range(1200):
        # Fuel bounds a mutant that loops or recurses forever: exit 3, like any runtime error.
        codes[run_file(capsys, tmp_path, mutate(rng, rng.choice(originals)), "--fuel", "200000").code] += 1
    # Mutants reach every stage: some still run to a value, some fail at run time.
    assert codes[OK] >= 20 and codes[RUNTIME_ERROR] >= 5 and codes[COMPILE_ERROR] >= 900, codes


# -- enormous literals -----------------------------------------------------------------------------


@pytest.mark.parametrize("digits", [20, 5000, 100_000])
def test_an_enormous_literal_is_a_compile_error(capsys, tmp_path, digits):
    result = run_file(capsys, tmp_path, b"1 + " + b"9" * digits)
    assert result.code == COMPILE_ERROR
    assert "does not fit in 64 bits" in result.err.splitlines()[0]
    assert len(result.err.splitlines()[0]) < 300  # the message abbreviates the literal


def test_leading_zeros_do_not_make_a_literal_enormous(capsys, tmp_path):
    assert run_file(capsys, tmp_path, b"0" * 10_000 + b"7").out == "7\n"


def test_the_limits_of_64_bits(capsys, tmp_path):
    result = run_file(capsys, tmp_path, b"{9223372036854775807, -9223372036854775807 - 1}")
    assert result.out == "{9223372036854775807, -9223372036854775808}\n"
    assert run_file(capsys, tmp_path, b"-9223372036854775808").code == COMPILE_ERROR  # - applies to 2^63


# -- fuel, and recursion bounded only by memory --------------------------------------------------


def test_fuel_stops_a_runaway_program(capsys, tmp_path):
    result = run_file(capsys, tmp_path, b"let rec f = \\x -> f x in f 0", "--fuel", "10000")
    assert result.code == RUNTIME_ERROR
    assert result.err.endswith("runtime error: out of fuel after 10000 steps\n")


def test_enough_fuel_lets_a_program_finish(capsys):
    # countdown takes 1,200,012 instructions: 7 in Main, 12 in each of 100,000 rounds
    # (push, jmpz, jmp, 9 to loop again), 5 to finish. One fewer is not enough.
    assert cli(capsys, str(ROOT / "examples" / "countdown.co"), "--fuel", "1200012").out == "5000050000\n"
    assert cli(capsys, str(ROOT / "examples" / "countdown.co"), "--fuel", "1200011").code == RUNTIME_ERROR


def test_deep_recursion_in_the_program_is_bounded_only_by_memory(capsys, tmp_path):
    # 300,000 nested calls, none of them a tail call: 1 + 2 + ... + 300000.
    text = b"let rec sum = \\n -> if n == 0 then 0 else n + sum (n - 1) in sum 300000"
    assert run_file(capsys, tmp_path, text).out == "45000150000\n"


# -- very deep and very long programs (subprocesses, in parallel) ---------------------------------

DEPTH = 100_000


def huge_programs() -> dict[str, tuple[str, int, str]]:
    """name -> (program, exit status, first line of output or of the diagnostic)."""
    lets = "\n".join(["let v0 = 0 in", *(f"let v{i} = v{i - 1} + {i} in" for i in range(1, 50_000)), "v49999"])
    return {
        "parentheses": ("(" * DEPTH + "1" + ")" * DEPTH, OK, "1"),
        "tuples": ("{" * DEPTH + "1" + "}" * DEPTH, OK, "{" * DEPTH + "1" + "}" * DEPTH),
        "negations": ("-" * DEPTH + "1", OK, "1"),
        "additions": (" + ".join(["1"] * DEPTH), OK, str(DEPTH)),
        "sequences": ("; ".join(["1"] * DEPTH), OK, "1"),
        "unclosed": ("(" * DEPTH, COMPILE_ERROR, f"huge.co:1:{DEPTH + 1}: error: expected an expression"),
        "lambdas": ("".join(f"(\\x{i} -> " for i in range(DEPTH)) + "1" + ")" * DEPTH, OK, "lam {}"),
        # Deeper than the passes may recurse: a clean error, not a crash.
        "too deep": ("(" * (5 * DEPTH) + "1" + ")" * (5 * DEPTH), COMPILE_ERROR,
                     "huge.co: error: the program is nested too deeply to compile"),
        # 0 + 1 + ... + 49999
        "50,000 lines": (lets, OK, "1249975000"),
    }


@pytest.fixture(scope="module")
def huge_results(tmp_path_factory):
    running = {}
    for name, (text, _, _) in huge_programs().items():
        folder = tmp_path_factory.mktemp(name.replace(",", "").replace(" ", "_"))
        (folder / "huge.co").write_text(text)
        # Run from the program's folder, so that diagnostics name it just huge.co; and as a
        # user runs it, without the tests' --verify-each (which is slow on deep types).
        env = {key: value for key, value in os.environ.items() if key != "PASSES_VERIFY_EACH"}
        running[name] = subprocess.Popen([sys.executable, "-m", "passes", "huge.co", "--no-color"], cwd=folder,
                                         env={**env, "PYTHONPATH": str(ROOT)},
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    results = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=600)
        results[name] = Result(process.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("name", list(huge_programs()))
def test_huge_programs(huge_results, name):
    _, code, first_line = huge_programs()[name]
    result = huge_results[name]
    assert_clean(result)
    assert result.code == code, result.err[:500]
    assert (result.out or result.err).startswith(first_line)


@pytest.mark.slow
def test_thread_jumps_through_a_chain_as_long_as_the_nesting_in_linear_time():
    """Nested ifs leave a chain of join blocks that only jump on, and an arm
    jumping into it at every level. Threading each arm's jump by walking the
    rest of the chain took quadratic time: minutes for a 100,000-deep if,
    or for this chain; a second now."""
    from ir.blocks import Block, Imm, Jmp, Jmprel1, Push, Ret
    from passes.thread_jumps import thread_jumps

    length = 100_000
    arms = [Block(f"arm{i}", (Push(Imm(i)), Jmp(f"join{i}"))) for i in range(length)]
    joins = [Block(f"join{i}", (Jmp(f"join{i + 1}"),)) for i in range(length)]
    end = Block(f"join{length}", (Push(Imm(0)), Ret()))
    entry = Block("entry", (Push(Imm(0)), Jmprel1(tuple(arm.label for arm in arms))))
    threaded = thread_jumps([entry, *arms, *joins, end])
    assert threaded == (entry, *(Block(a.label, (a.instrs[0], Jmp(end.label))) for a in arms), end)
