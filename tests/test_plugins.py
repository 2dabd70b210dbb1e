"""Plugin passes: loading by file, module and entry point, placing, options,
clean errors for bad plugins, plugin IRs, and the two example plugins."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ir
from ir.source import Source
from passes.framework import plugins
from passes.framework.pipeline import Pipeline, Step
from passes.framework.registry import Registry
from tests.test_driver import cli, write

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PLUGINS = ROOT / "examples" / "plugins"
FOLD = str(EXAMPLE_PLUGINS / "fold_constants.py")
WARN_SPAWN = str(EXAMPLE_PLUGINS / "warn_spawn_never_yields.py")

# The README's plugin, as a new user would copy it.
NEW_USER_PLUGIN = '''\
from dataclasses import dataclass

from ir import typed as T
from ir.traverse import walk
from passes.framework import Diagnostic, Pass


@dataclass(frozen=True)
class WarnBigLiterals(Pass):
    name = "warn-big-literals"
    input_ir = "typed"      # the IR it reads
    output_ir = None        # a checker: it writes no IR
    runs_after = "infer"    # where it runs
    summary = "warn about integer literals above a limit"
    limit: int = 1000       # an option: --pass-option warn-big-literals.limit=10

    def run(self, program):
        return [Diagnostic("warning", f"{n.value} is above {self.limit}", n.span)
                for n in walk(program.body) if isinstance(n, T.Int) and n.value > self.limit]
'''


def readme_plugin() -> str:
    """The plugin snippet as the README shows it."""
    text = (ROOT / "README.md").read_text()
    return text.split("<!-- plugin-example -->\n```python\n")[1].split("```")[0]


def test_the_readme_shows_the_plugin_these_tests_run():
    assert readme_plugin() == NEW_USER_PLUGIN
    assert len(NEW_USER_PLUGIN.splitlines()) < 30


@pytest.fixture
def big(tmp_path) -> tuple[str, str]:
    """The new user's plugin file, and a program with literals 5 and 2000."""
    return write(tmp_path, NEW_USER_PLUGIN, "my_check.py"), write(tmp_path, "let x = 5 in\nx + 2000\n")


# -- running a plugin -----------------------------------------------------------------

def test_new_user_plugin_runs_and_warns_at_the_literal(capsys, big):
    plugin, program = big
    result = cli(capsys, program, "--plugin", plugin, "--no-color")
    assert result.code == 0
    assert result.out == "2005\n"
    assert result.err == (f"{program}:2:5: warning: 2000 is above 1000\n"
                          "    2 | x + 2000\n"
                          "      |     ^^^^\n")


@pytest.mark.parametrize("flags", [["--pass-option", "warn-big-literals.limit=3"],
                                   ["-p", "parse,infer,warn-big-literals{limit=3}"]])
def test_options_are_typed_from_the_fields(capsys, big, flags):
    plugin, program = big
    result = cli(capsys, program, "--plugin", plugin, "--no-color", *flags)
    assert result.code == 0
    assert "5 is above 3" in result.err and "2000 is above 3" in result.err


@pytest.mark.parametrize(("option", "message"), [
    ("limit=many", "option 'limit' of pass 'warn-big-literals' is int; 'many' is not one"),
    ("limt=3", "pass 'warn-big-literals' has no option 'limt'; its options: limit (int)"),
])
def test_bad_options_are_usage_errors(capsys, big, option, message):
    plugin, program = big
    result = cli(capsys, program, "--plugin", plugin, "--pass-option", f"warn-big-literals.{option}")
    assert result.code == 2
    assert message in result.err


def test_plugin_passes_appear_in_list_passes(capsys, big):
    plugin, _ = big
    result = cli(capsys, "--list-passes", "--plugin", plugin, "--no-color")
    assert result.code == 0
    assert re.search(rf"^warn-big-literals\s+typed\s+\(checks\)\s+after infer\s+plugin {re.escape(plugin)}\s+warn",
                     result.out, re.MULTILINE), result.out


def test_insert_after_places_a_pass_by_hand(capsys, tmp_path):
    plugin = write(tmp_path, NEW_USER_PLUGIN.replace('runs_after = "infer"', "runs_after = None"), "p.py")
    program = write(tmp_path, "2000")
    unplaced = cli(capsys, program, "--plugin", plugin, "--enable", "warn-big-literals")
    assert unplaced.code == 2
    assert "does not say where it runs" in unplaced.err
    placed = cli(capsys, program, "--plugin", plugin, "--insert-after", "infer:warn-big-literals",
                 "--print-after-all", "--no-color")
    assert placed.code == 0
    assert "2000 is above 1000" in placed.err


def test_stop_after_and_print_after_accept_plugin_passes(capsys, big):
    plugin, program = big
    result = cli(capsys, program, "--plugin", plugin, "--stop-after", "warn-big-literals", "--no-color")
    assert result.code == 0
    assert result.out == "let x : int = 5 in\nx + 2000\n"  # a checker leaves the typed IR


# -- a plugin that is wrong: clean messages naming it ---------------------------------

DROP_LETS = """\
from dataclasses import dataclass, replace

from ir import typed as T
from passes.framework import Pass


@dataclass(frozen=True)
class DropLets(Pass):
    \"\"\"Wrong on purpose: drops a let but keeps its uses.\"\"\"
    name = "drop-lets"
    input_ir = "typed"
    output_ir = "typed"
    runs_after = "infer"
    summary = "drop the outermost let"

    def run(self, program):
        return replace(program, body=program.body.body)
"""


def test_a_pass_producing_invalid_ir_is_named_with_the_rule_and_the_node(capsys, tmp_path):
    plugin = write(tmp_path, DROP_LETS, "drop_lets.py")
    program = write(tmp_path, "let x = 5 in\n{1, x + 2000}\n")
    result = cli(capsys, program, "--plugin", plugin, "--verify-each", "--no-color")
    assert result.code == 1
    assert result.err == (
        "error: pass 'drop-lets' produced invalid 'typed' IR: rule 'bound-variable' broken: "
        "variable x is not bound\n"
        f"{program}:2:5: note: the offending node comes from here\n"
        "    2 | {1, x + 2000}\n"
        "      |     ^\n"
        "the offending node, marked `>` in the printed typed IR:\n"
        ">    1 | {1, x + 2000}\n"
        f"this is a bug in that pass (plugin {plugin}), not in your program\n")


@pytest.mark.parametrize(("source", "message", "code"), [
    ("import no_such_module_anywhere\n", "loading it failed: ModuleNotFoundError", 2),
    ("def broken(:\n", "loading it failed: SyntaxError", 2),
    ("x = 1\n", "it defines no pass", 2),
    ("from ir import IRSpec\nIR = IRSpec('typed', 'x', (), str, str)\n", "an IR named 'typed' already exists", 2),
    ("IR = 42\n", "its IR is not an ir.IRSpec", 2),
    (NEW_USER_PLUGIN.replace("return [", "raise ValueError('boom')\n        ["),
     "error: pass 'warn-big-literals' failed: ValueError: boom", 1),
    (NEW_USER_PLUGIN.replace('input_ir = "typed"', 'input_ir = "nowhere"'),
     "pass 'warn-big-literals' reads 'nowhere' IR, but the pass before it leaves 'typed' IR", 2),
])
def test_a_bad_plugin_gets_a_clean_message_naming_it(capsys, tmp_path, source, message, code):
    plugin = write(tmp_path, source, "bad_plugin.py")
    result = cli(capsys, write(tmp_path, "1"), "--plugin", plugin)
    assert result.code == code
    assert message in result.err
    assert "bad_plugin.py" in result.err or "warn-big-literals" in result.err


def test_missing_plugin_file_and_module(capsys, tmp_path):
    program = write(tmp_path, "1")
    assert "plugin nope.py: no such file" in cli(capsys, program, "--plugin", "nope.py").err
    missing = cli(capsys, program, "--plugin", "no_such.module")
    assert missing.code == 2 and "no module named 'no_such.module'" in missing.err


def test_a_duplicate_pass_name_names_both_sources(capsys, tmp_path):
    first = write(tmp_path, NEW_USER_PLUGIN, "first.py")
    second = write(tmp_path, NEW_USER_PLUGIN, "second.py")
    result = cli(capsys, write(tmp_path, "1"), "--plugin", first, "--plugin", second)
    assert result.code == 2
    assert (f"two passes are named 'warn-big-literals': one from plugin {first}, "
            f"one from plugin {second}") in result.err
    clash = write(tmp_path, NEW_USER_PLUGIN.replace('"warn-big-literals"', '"infer"'), "clash.py")
    assert "one from built-in, one from plugin" in cli(capsys, write(tmp_path, "1"), "--plugin", clash).err


def test_two_plugin_files_with_one_base_name_stay_apart(capsys, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write(tmp_path / "a", NEW_USER_PLUGIN, "check.py")
    second = write(tmp_path / "b", NEW_USER_PLUGIN.replace("warn-big-literals", "warn-huge-literals")
                   .replace("above {self.limit}", "huge"), "check.py")
    result = cli(capsys, write(tmp_path, "4000"), "--plugin", first, "--plugin", second, "--no-color")
    assert result.code == 0
    assert "4000 is above 1000" in result.err and "4000 is huge" in result.err


def test_a_plugin_module_by_name(capsys, tmp_path, monkeypatch):
    package = tmp_path / "my_plugins"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "big.py").write_text(NEW_USER_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = cli(capsys, write(tmp_path, "4000"), "--plugin", "my_plugins.big", "--no-color")
    assert result.code == 0 and "4000 is above 1000" in result.err


# -- installed plugins: entry points, loaded lazily -----------------------------------

def install_fake_package(site: Path, module_source: str) -> None:
    """A distribution on sys.path publishing one pass through the entry-point group."""
    (site / "fake_plugin.py").write_text(module_source)
    info = site / "fake_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{plugins.ENTRY_POINT_GROUP}]\nwarn-big-literals = fake_plugin:WarnBigLiterals\n")


def run_with_site(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    done = subprocess.run([sys.executable, "-m", "passes", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_an_installed_plugin_is_listed_and_enabled_by_name(tmp_path):
    install_fake_package(tmp_path, NEW_USER_PLUGIN)
    program = write(tmp_path, "3000")
    listed = run_with_site(tmp_path, "--list-passes")
    assert re.search(r"^warn-big-literals .*package fake-plugin", listed.stdout, re.MULTILINE), listed.stdout
    assert run_with_site(tmp_path, program).stderr == ""  # installed, but not asked for: not run
    enabled = run_with_site(tmp_path, program, "--enable", "warn-big-literals", "--no-color")
    assert enabled.returncode == 0 and "3000 is above 1000" in enabled.stderr


def test_an_installed_plugin_is_not_imported_unless_used(tmp_path):
    install_fake_package(tmp_path, "raise RuntimeError('imported')\n")
    program = write(tmp_path, "3000")
    unused = run_with_site(tmp_path, program)
    assert (unused.returncode, unused.stdout) == (0, "3000\n")
    used = run_with_site(tmp_path, program, "--enable", "warn-big-literals")
    assert used.returncode == 2
    assert "package fake-plugin (entry point 'warn-big-literals'): cannot import fake_plugin: " \
           "RuntimeError: imported" in used.stderr
    listed = run_with_site(tmp_path, "--list-passes")
    assert listed.returncode == 0 and "cannot be loaded" in listed.stdout


# -- the example checker: warn-spawn-never-yields -------------------------------------

SPAWNS = """\
let work = \\n -> n * 2 in
let pause = \\n -> yield; n in
let calls = \\n -> pause n in
{spawn (work 1), spawn (calls 2), spawn (let g = \\u -> yield in 3), spawn (spawn (yield; 4))}
"""


def test_warn_spawn_never_yields_points_at_each_spawn_that_cannot_yield(capsys, tmp_path):
    program = write(tmp_path, SPAWNS)
    result = cli(capsys, program, "--plugin", WARN_SPAWN, "--no-color", "--stop-after", "warn-spawn-never-yields")
    assert result.code == 0
    warnings = re.findall(r"^\S+:(\d+):(\d+): warning: this spawned expression never yields", result.err, re.M)
    # work never yields; calls does through pause; a lambda only defined, or a yield
    # in a nested fiber, does not make the spawning expression yield.
    assert warnings == [("4", "2"), ("4", "35"), ("4", "69")]


def test_warn_spawn_never_yields_as_error(capsys, tmp_path):
    result = cli(capsys, write(tmp_path, "spawn 1"), "--plugin", WARN_SPAWN,
                 "--pass-option", "warn-spawn-never-yields.as_error=true")
    assert result.code == 1
    assert ": error: this spawned expression never yields" in result.err


def test_warn_spawn_never_yields_on_the_examples_finds_only_pingpongs_relay(capsys):
    """pingpong's middle fiber resumes the worker but never yields itself: it is
    done as soon as it is spawned (the program's `stat middle` relies on that)."""
    found = {}
    for path in sorted((ROOT / "examples").glob("*.co")):
        result = cli(capsys, str(path), "--plugin", WARN_SPAWN, "--stop-after", "warn-spawn-never-yields")
        assert result.code == 0
        found[path.name] = re.findall(r":(\d+:\d+): warning", result.err)
    assert {name: sites for name, sites in found.items() if sites} == {"pingpong.co": ["9:14"]}


# -- the example transformation: fold-constants, with its own IR ----------------------

def test_fold_constants_folds_and_keeps_the_value(capsys, tmp_path):
    program = write(tmp_path, "let x = 2 * 3 + 4 in\n{x + (10 - -5), 1 < 2, -(9223372036854775807 + 1)}\n")
    folded = cli(capsys, program, "--plugin", FOLD, "--stop-after", "fold-constants", "--no-color")
    assert folded.code == 0
    assert folded.out == "let x : int = 10 in\n{x + 15, true, -9223372036854775808}\n"
    assert cli(capsys, program, "--plugin", FOLD).out == cli(capsys, program).out == \
        "{25, true, -9223372036854775808}\n"


def test_a_plugin_ir_prints_after_its_pass(capsys, tmp_path):
    result = cli(capsys, write(tmp_path, "1 + 2"), "--plugin", FOLD, "--print-after", "fold-constants,forget-folded",
                 "--stop-after", "defunc", "--no-color")
    assert result.code == 0
    headers = [line for line in result.out.splitlines() if line.startswith("# after")]
    assert headers == ["# after fold-constants (folded)", "# after forget-folded (typed)"]


def test_the_folded_verifier_catches_an_unfolded_comparison(capsys, tmp_path):
    program = write(tmp_path, "if 1 < 2 then 3 * 4 else 5\n")
    result = cli(capsys, program, "--plugin", FOLD, "--verify-each", "--no-color",
                 "--pass-option", "fold-constants.comparisons=false")
    assert result.code == 1
    assert "pass 'fold-constants' produced invalid 'folded' IR: rule 'no-literal-operations'" in result.err
    assert ">    1 | if 1 < 2 then 12 else 5\n" in result.err


def test_a_plugin_output_is_verified_even_without_verify_each(capsys, tmp_path):
    program = write(tmp_path, "if 1 < 2 then 3 * 4 else 5\n")
    result = cli(capsys, program, "--plugin", FOLD, "--no-verify-each", "--no-color",
                 "--pass-option", "fold-constants.comparisons=false")
    assert result.code == 1
    assert "pass 'fold-constants' produced invalid 'folded' IR" in result.err


def test_the_folded_ir_of_an_example_is_snapshotted(ir_snapshot):
    """A plugin pipeline's IR is snapshotted like the built-in ones."""
    registry = Registry()
    for entry in plugins.load_plugin(FOLD):
        registry.add(entry)
    pipeline = Pipeline.from_names(["parse", "infer", "fold-constants"], registry)
    source = Source("pingpong.co", (ROOT / "examples" / "pingpong.co").read_text())
    produced = pipeline.run(source, verify_each=True)
    text = ir.lookup("folded").printer(produced)
    assert "# pingpong.co after pass fold-constants (folded IR)\n" + text == ir_snapshot(name="pingpong.folded")


# -- --print-after-change --------------------------------------------------------------

def test_print_after_change_prints_only_passes_that_changed_the_program(capsys, tmp_path):
    def headers(program: str) -> list[str]:
        result = cli(capsys, write(tmp_path, program), "--print-after-change", "--no-color")
        assert result.code == 0
        return [line for line in result.out.splitlines() if line.startswith("# after")]

    changed_ir = ["# after parse (surface)", "# after infer (typed)", "# after defunc (defunc)",
                  "# after closure-layout (layout)"]
    # No self tail call to mark, no jump to thread; peephole folds `2 + 1`.
    compiled = ["# after peephole (blocks)", "# after to-python (python)"]
    assert headers("1 + 2") == [*changed_ir, "# after emit (blocks)", *compiled]
    looping = "let rec f = \\n -> if n == 0 then 0 else f (n - 1) in f 3"
    assert headers(looping) == [*changed_ir, "# after tailcall (layout)", "# after emit (blocks)",
                                "# after thread-jumps (blocks)", *compiled]


def test_pipeline_steps_say_which_ir_they_read():
    registry = Registry()
    steps: list[Step] = []
    Pipeline.from_names(["parse", "infer"], registry).run(Source("p.co", "1"), observe=steps.append)
    assert [(s.input_ir, s.output_ir) for s in steps] == [("source", "surface"), ("surface", "typed")]
