"""The cache of compiled programs (passes/driver/cache.py): a run from the cache
prints what a fresh compile prints, and the cache is used only where that holds.

Real runs of `python -m passes`, each with a cache folder of its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from passes.driver import cache, lone_program
from passes.driver.arguments import build_arg_parser
from tests.conftest import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.co"))
STALE_RESUME = "let f = spawn (yield; 1) in\nlet g = resume f in\n{g, resume f}\n"


def run(*args: str, cache_dir: Path | str, stdin: str | None = None, python: tuple[str, ...] = ()):
    """(status, stdout, stderr) of `python -m passes args` with the cache in cache_dir, as a user runs it."""
    env = {key: value for key, value in os.environ.items() if key != "PASSES_VERIFY_EACH"}
    env["CO_PASSES_CACHE"] = str(cache_dir)
    done = subprocess.run([sys.executable, *python, "-m", "passes", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{cache.SUFFIX}")) if folder.is_dir() else []


# Modules of the compiler: the driver's, an IR's, a pass's. (Pass modules that the
# registry imports by name make no `-X importtime` line of their own.)
COMPILER = ("passes.driver.cli", "ir.typed", "passes.to_python.cells")


def compiler_imported(stderr: str) -> list[str]:
    """The compiler's modules that `-X importtime` says were imported."""
    names = [line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")]
    return [name for name in COMPILER if name in names]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_a_hit_prints_what_a_fresh_compile_prints(tmp_path, example):
    fresh = run(str(example), cache_dir="off")
    assert fresh[0] == 0 and fresh[1]
    assert run(str(example), cache_dir=tmp_path) == fresh  # a miss, which writes the entry
    assert len(entries(tmp_path)) == 1
    assert run(str(example), cache_dir=tmp_path) == fresh  # a hit


def test_a_runtime_error_from_the_cache_is_the_same_message(tmp_path):
    program = tmp_path / "stale.co"
    program.write_text(STALE_RESUME)
    fresh = run(str(program), cache_dir="off")
    assert fresh[0] == 3
    assert fresh[2].startswith(f"{program}:3:5: runtime error: fiber resumed twice")
    assert "    3 | {g, resume f}\n      |     ^\n" in fresh[2]
    folder = tmp_path / "cache"
    assert run(str(program), cache_dir=folder) == fresh
    assert run(str(program), cache_dir=folder) == fresh
    assert len(entries(folder)) == 1


def test_a_hit_does_not_import_the_passes(tmp_path):
    program = str(ROOT / "examples" / "fib_fiber.co")
    miss = run(program, cache_dir=tmp_path, python=("-X", "importtime"))
    assert compiler_imported(miss[2]) == list(COMPILER)  # what the check looks for is there
    hit = run(program, cache_dir=tmp_path, python=("-X", "importtime"))
    assert hit[1] == miss[1] and compiler_imported(hit[2]) == []


def test_standard_input_is_cached_too(tmp_path):
    assert run("-", cache_dir=tmp_path, stdin="1 + 2") == (0, "3\n", "")
    assert run("-", cache_dir=tmp_path, stdin="1 + 2") == (0, "3\n", "")
    assert run("-", cache_dir=tmp_path, stdin="1 + 3") == (0, "4\n", "")
    assert len(entries(tmp_path)) == 2


def test_an_edited_program_is_compiled_again(tmp_path):
    program = tmp_path / "prog.co"
    folder = tmp_path / "cache"
    program.write_text("{1, 2}")
    assert run(str(program), cache_dir=folder) == (0, "{1, 2}\n", "")
    program.write_text("{1, 3}")
    assert run(str(program), cache_dir=folder) == (0, "{1, 3}\n", "")
    program.write_text("{1, true")
    status, out, err = run(str(program), cache_dir=folder)
    assert (status, out) == (1, "") and "error" in err
    assert len(entries(folder)) == 2  # a compile error is not kept


def test_the_compilers_fingerprint_follows_every_source_file(tmp_path):
    copy = tmp_path / "passes"
    shutil.copytree(ROOT / "passes", copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = cache.fingerprint([str(copy)])
    assert before == cache.fingerprint([str(copy)])
    assert str(copy / "to_python" / "__init__.py") in before  # in subpackages too
    pass_file = copy / "infer.py"
    stat = pass_file.stat()
    os.utime(pass_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # touched
    touched = cache.fingerprint([str(copy)])
    assert touched != before
    pass_file.write_text(pass_file.read_text() + "\n")
    os.utime(pass_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # edited, same time as touched
    assert cache.fingerprint([str(copy)]) not in (before, touched)
    (copy / "new_pass.py").write_text("")
    assert "new_pass.py" in cache.fingerprint([str(copy)])
    (copy / "notes.txt").write_text("")  # not code
    assert "notes.txt" not in cache.fingerprint([str(copy)])


def test_a_changed_compiler_misses(tmp_path, monkeypatch):
    data = b"1 + 2"
    compiler = cache.fingerprint(cache.compiler_folders())
    assert str(ROOT / "passes" / "parse.py") in compiler and str(ROOT / "ir" / "typed.py") in compiler
    assert str(ROOT / "machine" / "fast.py") in compiler
    name = cache.entry_name(data, compiler)
    assert name == cache.entry_name(data, compiler)
    assert name != cache.entry_name(data, compiler.replace("parse.py", "parse2.py"))
    assert name != cache.entry_name(data + b" ", compiler)
    monkeypatch.setattr(sys.implementation, "cache_tag", "cpython-99")  # another Python
    assert name != cache.entry_name(data, compiler)


def test_a_corrupt_or_truncated_entry_is_ignored_and_replaced(tmp_path):
    program = str(ROOT / "examples" / "dispatch.co")
    fresh = run(program, cache_dir="off")
    assert run(program, cache_dir=tmp_path) == fresh
    [entry] = entries(tmp_path)
    whole = entry.read_bytes()
    for broken in (whole[: len(whole) // 2], b"", b"not marshal at all", whole[:-1], b"\xe9" + whole[1:]):
        entry.write_bytes(broken)
        assert run(program, cache_dir=tmp_path) == fresh
        assert entry.read_bytes() == whole  # replaced


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write where permissions forbid it")
def test_a_folder_that_cannot_be_written_is_no_cache(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o500)
    try:
        assert run(str(EXAMPLES[0]), cache_dir=folder)[0] == 0
        assert entries(folder) == []
    finally:
        folder.chmod(0o700)


def test_a_folder_others_may_write_is_not_used(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    program = str(ROOT / "examples" / "chain.co")
    fresh = run(program, cache_dir="off")
    for mode in (0o777, 0o720, 0o702):
        folder.chmod(mode)
        assert run(program, cache_dir=folder) == fresh
        assert entries(folder) == []
    # An entry put there by someone else is not run either.
    folder.chmod(0o700)
    run(program, cache_dir=folder)
    [entry] = entries(folder)
    other = tmp_path / "other.co"
    other.write_text("42")
    shutil.copy(entry, folder / cache.entry_name(b"42", cache.fingerprint(cache.compiler_folders())))
    assert run(str(other), cache_dir=folder) == fresh  # the cache trusts its own folder...
    folder.chmod(0o777)  # ...and only that
    assert run(str(other), cache_dir=folder) == (0, "42\n", "")


def test_a_cache_path_that_is_a_file_still_runs(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert run(str(EXAMPLES[0]), cache_dir=not_a_folder)[0] == 0
    assert run(str(EXAMPLES[0]), cache_dir=not_a_folder / "below")[0] == 0


def test_the_folder_is_made_private(tmp_path):
    folder = tmp_path / "new" / "cache"
    run(str(EXAMPLES[0]), cache_dir=folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(entry.stat().st_mode & 0o777 == 0o600 for entry in entries(folder))


@pytest.mark.parametrize("turned_off", [("--no-cache",), ("off",), ("",)], ids=["flag", "off", "empty"])
def test_turned_off_it_writes_nothing(tmp_path, monkeypatch, turned_off):
    monkeypatch.chdir(tmp_path)  # an empty CO_PASSES_CACHE must not mean the current folder
    program = str(EXAMPLES[0])
    if turned_off == ("--no-cache",):
        assert run(program, "--no-cache", cache_dir=tmp_path)[0] == 0
    else:
        assert run(program, cache_dir=turned_off[0])[0] == 0
    assert entries(tmp_path) == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flags", [("--stop-after", "infer"), ("--print-after", "parse"), ("--time-passes",),
                                   ("--verify-each",), ("--backend", "vm"), ("--check", "affine"),
                                   ("--plugin", "examples/plugins/fold_constants.py")])
def test_flags_that_change_what_is_printed_bypass_it(tmp_path, flags):
    program = str(ROOT / "examples" / "curry.co")
    fresh = run(program, *flags, cache_dir="off")
    assert run(program, cache_dir=tmp_path)[0] == 0  # in the cache now
    assert without_times(run(program, *flags, cache_dir=tmp_path)) == without_times(fresh)
    assert len(entries(tmp_path)) == 1


def without_times(outcome):
    """outcome with every number of --time-passes's table (and its padding) made the same."""
    status, out, err = outcome
    return status, out, re.sub(r" *[\d.]+%? *", " N ", err) if err.startswith("time per pass") else err


def test_harmless_flags_use_it(tmp_path):
    program = str(ROOT / "examples" / "curry.co")
    fresh = run(program, cache_dir=tmp_path)
    hit = run(program, "--backend", "fast", "--no-color", cache_dir=tmp_path, python=("-X", "importtime"))
    # The options are parsed by the driver (so it is imported), but nothing compiles.
    assert hit[:2] == fresh[:2] and compiler_imported(hit[2]) == ["passes.driver.cli"]


def test_which_command_lines_it_applies_to():
    parse = build_arg_parser().parse_args
    assert cache.applies(lone_program(["prog.co"])) is not os.environ.get("PASSES_VERIFY_EACH") == "1"
    verified = SimpleNamespace(**{**vars(parse(["prog.co"])), "verify_each": False})
    assert cache.applies(verified) and cache.applies(SimpleNamespace(**{**vars(verified), "program": "-"}))
    assert not cache.applies(SimpleNamespace(**{**vars(verified), "program": "prog.blocks"}))
    assert not cache.applies(SimpleNamespace(**{**vars(verified), "fuel": 10}))
    assert not cache.applies(SimpleNamespace(**{**vars(verified), "some_new_option": 1}))  # unknown: not harmless


@pytest.mark.parametrize("seed", ["1", "2"])
def test_entries_are_the_same_bytes_whatever_the_hash_seed(tmp_path, monkeypatch, seed):
    program = str(ROOT / "examples" / "church.co")
    written = []
    for hash_seed in ("0", seed, "random"):
        folder = tmp_path / hash_seed
        monkeypatch.setenv("PYTHONHASHSEED", hash_seed)
        run(program, cache_dir=folder)
        written.append([(entry.name, entry.read_bytes()) for entry in entries(folder)])
    assert len(written[0]) == 1 and written[0] == written[1] == written[2]


def test_types_keep_through_the_cache():
    """What prints a value: the result types of every example, as kept and read back."""
    from passes.framework.deep_stack import run_with_deep_stack
    from passes.framework.pipeline import Pipeline
    from passes.framework.registry import DEFAULT_PIPELINE, Registry
    from passes.framework import assemble
    from ir.source import Source
    from ir.types import show_type

    pipeline = Pipeline(assemble.instantiate(list(DEFAULT_PIPELINE), {}, Registry()))
    for example in EXAMPLES:
        program = run_with_deep_stack(lambda: pipeline.run(Source(example.name, example.read_text())))
        for t in (program.result_type, program.value_type):
            if t is None:
                continue
            read = cache.TypeReader().read(cache.TypeWriter().write(t))
            assert read == t and show_type(read) == show_type(t), example.name


def test_the_cache_keeps_a_bounded_number_of_entries(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    folder = os.open(tmp_path, os.O_RDONLY)
    try:
        for i in range(5):
            (tmp_path / f"{i}{cache.SUFFIX}").write_bytes(b"")
            os.utime(tmp_path / f"{i}{cache.SUFFIX}", ns=(i, i))
        (tmp_path / "unrelated").write_bytes(b"")
        cache.prune(folder)
    finally:
        os.close(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i}{cache.SUFFIX}" for i in (2, 3, 4)] + ["unrelated"]
