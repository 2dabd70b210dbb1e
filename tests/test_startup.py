"""A quick start: compiling and running a tiny program imports only what that work needs.

Start-up time is mostly import time, so what is imported is what is checked
(never how long it takes): every module below takes longer to import than
`1 + 2` takes to compile and run, and the driver loads each only when a
run needs it.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys

from tests.conftest import ROOT

# Each is needed only by some runs: color or a table (rich), installed plugins
# (importlib.metadata), a traceback, a "did you mean" (difflib), a listing of
# an IR (ir.type_syntax), an option of a plugin pass (dataclasses, typing),
# verifying generated Python (ast), the step-by-step VM (machine.vm), a
# command line with options (argparse, and the locale it reads messages in),
# a path taken apart (pathlib, which brings urllib.parse and ipaddress), the
# signal module (an enum of every signal; _signal sets the one handler).
NOT_FOR_A_TINY_PROGRAM = (
    "rich", "importlib.metadata", "pyrsistent", "dataclasses", "typing", "inspect", "traceback", "difflib",
    "argparse", "gettext", "locale", "pathlib", "urllib", "signal",
    "threading", "shutil", "hashlib", "ast", "ir.type_syntax", "machine.vm", "passes.affine", "passes.read_ir",
    "passes.driver.rich_output", "passes.tools",
)


def modules_after(*args: str, program: str = "1 + 2", cache: str = "off") -> set[str]:
    """The modules loaded once `python -m passes` has run on program with args,
    with the cache of compiled programs in the folder cache (or off). Without
    site (-S): what an editable install's finder imports at start-up (pathlib,
    for one) would hide what the driver imports."""
    script = (
        "import json, os, runpy, sys\n"
        f"sys.argv = ['passes', '-', *{list(args)!r}]\n"
        "def leave(status): raise SystemExit(status)\n"
        "os._exit = leave  # the driver leaves without teardown: here, it must come back to list modules\n"
        "try:\n"
        "    runpy.run_module('passes', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as end:\n"
        "    assert not end.code, end.code\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-S", "-c", script], cwd=ROOT, input=program, capture_output=True, text=True,
                          env={"PATH": "", "PYTHONPATH": os.pathsep.join([str(ROOT), *site.getsitepackages()]),
                               "CO_PASSES_CACHE": str(cache)}, timeout=60)
    assert done.returncode == 0 and done.stdout == "3\n", done.stderr
    return set(json.loads(done.stderr.splitlines()[-1]))


def loaded(modules: set[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_a_tiny_program_imports_only_what_it_needs(tmp_path):
    for cache in ("off", tmp_path):  # without the cache, and missing it (so writing to it)
        modules = modules_after(cache=cache)
        assert [name for name in NOT_FOR_A_TINY_PROGRAM if loaded(modules, name)] == []
        assert {"passes.parse", "passes.to_python", "machine.fast"} <= modules  # it did compile and run


def test_a_program_in_the_cache_runs_without_the_compiler(tmp_path):
    modules_after(cache=tmp_path)
    modules = modules_after(cache=tmp_path)
    assert [name for name in NOT_FOR_A_TINY_PROGRAM if loaded(modules, name)] == []
    compiler = ("passes.parse", "passes.infer", "passes.defunc", "passes.emit", "passes.to_python",
                "passes.driver.cli", "passes.driver.output", "passes.framework.pipeline", "passes.framework.registry")
    assert [name for name in compiler if loaded(modules, name)] == []
    assert "machine.fast" in modules  # it did run


def test_the_check_sees_a_module_that_a_flag_brings_in():
    assert loaded(modules_after("--time-passes"), "rich")
    assert loaded(modules_after("--check", "affine"), "passes.affine")
    assert loaded(modules_after("--backend", "vm"), "machine.vm")


def test_a_lone_program_has_the_options_the_parser_would_give_it():
    from passes.driver import cli
    from passes.driver.arguments import build_arg_parser

    for argv in (["prog.co"], ["-"]):
        assert vars(cli.lone_program(argv)) == vars(build_arg_parser().parse_args(argv))
    assert cli.lone_program(["prog.co", "--stats"]) is None
    assert cli.lone_program(["--help"]) is None
