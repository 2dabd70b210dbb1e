"""Every IR reads back: the typed, defunc and layout readers, and programs
written in an IR's text run from the command line (`prog.defunc`,
`--start-after`). Expected values are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import ir
from ir import defunc as D
from ir import surface as S
from ir import typed as T
from ir.source import CompileError, Source
from ir.types import INT, TupleT
from passes.driver import cli as driver
from passes.framework import assemble
from passes.framework.assemble import AssemblyError
from passes.framework.pipeline import Pipeline
from passes.framework.registry import BUILTIN_PASSES, Registry
from passes.tools.fuzz_programs import programs
from tests.pipeline_runs import example_names
from tests.test_driver import cli, write

ROOT = Path(__file__).resolve().parent.parent
READABLE = ("typed", "defunc", "layout")


def outputs(text: str, name: str = "prog.co") -> list[tuple[str, str, object]]:
    """(pass, IR, program) after every pass of the default pipeline that writes typed, defunc or layout."""
    registry = Registry()
    pipeline = Pipeline.from_names([entry.name for entry in registry.available()], registry)
    found = []
    pipeline.run(Source(name, text), observe=lambda step: found.append((step.pass_.name, step.output_ir, step.output)))
    return [(pass_name, ir_name, program) for pass_name, ir_name, program in found if ir_name in READABLE]


def assert_reads_back(ir_name: str, program) -> None:
    spec = ir.lookup(ir_name)
    text = spec.printer(program)
    read = spec.parser(text, f"printed.{ir_name}")
    assert read == program, f"the {ir_name} text reads back as another program:\n{text}"
    assert spec.printer(read) == text
    if ir_name == "typed":  # the program's lambda table is rebuilt from the printed members
        assert dict(read.lambdas.items()) == dict(program.lambdas.items())


# -- round trips: printed, read back, the same program ------------------------------------


@pytest.mark.parametrize("name", example_names())
def test_every_example_reads_back_after_every_pass(name):
    stages = outputs((ROOT / "examples" / f"{name}.co").read_text(), f"{name}.co")
    assert [pass_name for pass_name, _, _ in stages] == ["infer", "defunc", "closure-layout", "tailcall"]
    for _, ir_name, program in stages:
        assert_reads_back(ir_name, program)


SNAPSHOTS = sorted(p for ir_name in READABLE for p in (ROOT / "tests" / "snapshots").glob(f"*.{ir_name}.txt"))


@pytest.mark.parametrize("path", SNAPSHOTS, ids=[p.name for p in SNAPSHOTS])
def test_every_snapshot_reads_and_prints_as_it_is(path):
    header, _, text = path.read_text().partition("\n")
    assert header.startswith("# ")
    spec = ir.lookup(path.name.split(".")[1])
    assert spec.printer(spec.parser(path.read_text(), path.name)) == text  # its header is a comment


@pytest.mark.slow
@settings(max_examples=300, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
# Smaller programs than the fuzzer's: a set of closures that contain themselves
# prints its type in full at every binder, pages of text to read back.
@given(programs(budget=30))
def test_generated_programs_read_back_in_every_ir(program):
    try:
        stages = outputs(S.print_program(program))
    except CompileError:
        return  # a program the generator may make and co rejects (fuzz_programs.py says when)
    for _, ir_name, read in stages:
        assert_reads_back(ir_name, read)


def test_a_lambda_set_is_found_from_where_its_lambdas_flow():
    # No type writes the set of the two lambdas: they meet in the `if`, whose
    # value is thrown away. Members in source order, whichever is written first.
    program = T.IR.parser("(if true then \\(x : int) -[b {}]-> x else \\(y : int) -[a {}]-> y); 1", "t.typed")
    lam = program.body.first.then
    assert lam.type.lambdas.names == ("b", "a")
    assert program.body.first.type == lam.type == program.body.first.else_.type


def test_an_unreachable_without_its_type_takes_it_from_where_it_stands():
    program = D.IR.parser("proc Main (_ : {}) {} -> {int; int} =\n  {1, <unreachable>}\n", "t.defunc")
    assert program.procs[0].body.elems[1] == D.Unreachable(INT)
    assert program.procs[0].body.type == TupleT((INT, INT))


# -- what keeps a text from reading, shown where it is ---------------------------------


def read_error(ir_name: str, text: str) -> str:
    with pytest.raises(CompileError) as caught:
        ir.lookup(ir_name).parser(text, "t")
    return f"{Source('t', text).location(caught.value.span)}: {caught.value.message}"


FUNC = "proc Main (_ : {}) {} -> int =\n  "
FRAME = "proc Main (_ : {}) {} -> int\n  frame (1 cells of locals)\n    fp[-3]  #return\n    fp[0]   x\n  body\n    "


@pytest.mark.parametrize("ir_name, text, error", [
    ("typed", "let x = 1 in x", "t:1:7: expected `:` and the type of `x`, found `=`"),
    ("typed", "let x : Int = 1 in x", "t:1:9: expected a type, found `Int`"),
    ("typed", "\\x -> x", "t:1:2: expected `(` around a typed parameter: \\(x : int) -[lam {}]-> ..., "
                         "found identifier `x`"),
    ("typed", "\\(x : int) -> x", "t:1:12: expected `-[`, found `->`"),
    ("typed", "let f : int -[f {}]-> int = \\(x : int) -[f {y: int}]-> x in f",
     "t:1:42: lambda f is written with two different capture lists"),
    ("typed", "let f : int -[g {}]-> int = \\(x : int) -[f {}]-> x in f",
     "t:1:15: lambda g is in a lambda set, but no lambda is named so"),
    ("typed", "{\\(x : int) -[f {}]-> x, \\(y : int) -[f {}]-> y}", "t:1:39: a second lambda named f"),
    ("typed", "stat spawn 1 | `Pending -> 0 | `Done v -> v", "t:1:38: expected `(` around the result's "
                                                             "name and type: `Done (v : int), found identifier `v`"),
    ("defunc", "let x : int = 1 in x", "t:1:1: expected `proc` at the start of a line, found `let`"),
    ("defunc", "proc Main (_ : {}) {} -> int\n  1", "t:2:3: expected `=` before the procedure's body, "
                                                   "found integer 1"),
    ("defunc", FUNC + "let f : closure[g] = 1 in 2", "t:2:19: lambda g's captures are never written out"),
    ("defunc", FUNC + "closure g {}", "t:2:3: no procedure is named g, and no type writes its captures"),
    ("defunc", FUNC + "true + 1", "t:2:3: type mismatch: expected int, found bool"),
    ("defunc", FUNC + "{1, 2}.2", "t:2:3: no element 2 in {int; int}"),
    ("defunc", FUNC + "resume 1", "t:2:10: resume needs a fiber, not int"),
    ("layout", FRAME + "let x : int = 1 in x", "t:6:17: expected `@` and the place of `x` in the frame, "
                                               "@fp[k], found `=`"),
    ("layout", FRAME + "let y : int @fp[0] = 1 in y", "t:4:5: this row should read `fp[0]  y`: the frame "
                                                      "the header and the binders give has that cell here"),
    ("layout", FRAME.replace("    fp[0]   x\n", "") + "let x : int @fp[0] = 1 in x",
     "t:2:3: the frame table lacks the row `fp[0]  x`"),
    ("layout", FRAME + "1", "t:4:5: this row is beyond the frame the header and the binders give"),
    ("layout", FRAME + "let rec f : int @fp[0] = 1 in 2", "t:6:9: the layout IR has no `let rec`"),
    ("layout", FRAME + "let x : int @fp[0] = 1 in y", "t:6:31: `y` is not bound here, so it has no place "
                                                      "in the frame"),
])
def test_reader_errors_point_at_the_text(ir_name, text, error):
    assert read_error(ir_name, text) == error


# -- running a program written in an IR ---------------------------------------------------


HAND_WRITTEN_DEFUNC = """\
# A loop summing 10, 8, 6, 4, 2 (it captures its step), and a closure picked at run time.
proc Main (_ : {}) {} -> {int; int} =
  let step : int = 2 in
  let loop : closure[loop {step: int}] = closure loop {step} in
  let pick : closure[inc {} | dec {step: int}] =
    if step < 3 then closure inc {} else closure dec {step}
  in
  {call loop {10, 0} loop, dispatch[inc | dec] 5 pick}

proc loop (state : {int; int}) {step: int} -> int =
  if state.0 < 1
  then state.1
  else call loop {state.0 - step, state.1 + state.0} (closure loop <captures>)

proc inc (x : int) {} -> int =
  x + 1

proc dec (x : int) {step: int} -> int =
  x - step
"""


def test_a_printed_ir_runs_as_the_readme_shows(tmp_path, capsys):
    # python -m passes prog.co --stop-after defunc > prog.defunc; python -m passes prog.defunc
    source = str(ROOT / "examples" / "fib_fiber.co")
    for pass_name, ir_name in (("infer", "typed"), ("defunc", "defunc"), ("tailcall", "layout")):
        printed = cli(capsys, source, "--stop-after", pass_name, "--no-color").out
        assert cli(capsys, write(tmp_path, printed, f"prog.{ir_name}")).out == "{6765, 21891}\n"
    printed = cli(capsys, source, "--stop-after", "defunc", "--no-color").out
    assert cli(capsys, write(tmp_path, printed, "prog.txt"), "--start-after", "defunc").out == "{6765, 21891}\n"


def test_a_hand_written_defunc_program_runs(tmp_path, capsys):
    result = cli(capsys, write(tmp_path, HAND_WRITTEN_DEFUNC, "prog.defunc"))
    assert (result.code, result.out, result.err) == (0, "{30, 6}\n", "")


def test_a_defunc_file_runs_the_passes_after_defunc(tmp_path, capsys):
    result = cli(capsys, write(tmp_path, HAND_WRITTEN_DEFUNC, "prog.defunc"), "--print-after-all", "--no-color")
    headers = [line for line in result.out.splitlines() if line.startswith("# after ")]
    assert headers == ["# after read-defunc (defunc)", "# after closure-layout (layout)",
                       "# after tailcall (layout)", "# after emit (blocks)", "# after thread-jumps (blocks)",
                       "# after peephole (blocks)", "# after to-python (python)"]
    assert "tailcall loop {state.0 - step, state.1 + state.0} (closure loop <captures>)" in " ".join(result.out.split())


def test_start_after_reads_any_file_as_the_ir_that_pass_writes(tmp_path, capsys):
    path = write(tmp_path, HAND_WRITTEN_DEFUNC, "prog.txt")
    assert cli(capsys, path, "--start-after", "defunc").out == "{30, 6}\n"
    assert cli(capsys, str(ROOT / "examples" / "fib_fiber.co"), "--start-after", "parse").out == "{6765, 21891}\n"
    as_co = cli(capsys, path)  # without it, a .txt file is co source
    assert as_co.code == 1 and "expected" in as_co.err


def test_a_hand_written_typed_program_runs(tmp_path, capsys):
    text = ("let twice : (int -[inc {}]-> int) -[twice {}]-> int -[lam {f: int -[inc {}]-> int}]-> int =\n"
            "  \\(f : int -[inc {}]-> int) -[twice {}]-> \\(x : int) -[lam {f: int -[inc {}]-> int}]-> f (f x)\n"
            "in\n"
            "twice (\\(n : int) -[inc {}]-> n + 1) 40\n")
    result = cli(capsys, write(tmp_path, text, "prog.typed"))
    assert (result.code, result.out) == (0, "42\n")


def test_a_hand_written_layout_program_runs_and_gets_its_tail_calls_marked(tmp_path, capsys):
    text = ("proc Main (_ : {}) {} -> int\n"
            "  frame (0 cells of locals)\n"
            "    fp[-3]  #return\n"
            "  body\n"
            "    call count 3 (closure count {})\n"
            "\n"
            "proc count (n : int) {} -> int\n"
            "  frame (1 cells of locals)\n"
            "    fp[-4]  #return\n"
            "    fp[-3]  n\n"
            "    fp[0]   m\n"
            "  body\n"
            "    if n < 1 then 40 else let m : int @fp[0] = n - 1 in call count m (closure count <captures>)\n")
    path = write(tmp_path, text, "prog.layout")
    assert cli(capsys, path).out == "40\n"
    marked = cli(capsys, path, "--stop-after", "tailcall").out
    assert "tailcall count m (closure count <captures>)" in marked


def test_a_broken_ir_file_is_a_compile_error_with_a_caret(tmp_path, capsys):
    path = write(tmp_path, HAND_WRITTEN_DEFUNC.replace("x + 1", "x + true"), "prog.defunc")
    result = cli(capsys, path, "--no-color")
    assert result.code == 1
    assert result.err == (f"{path}:16:7: error: type mismatch: expected int, found bool\n"
                          "   16 |   x + true\n"
                          "      |       ^^^^\n")


def test_an_ir_file_breaking_its_ir_rules_gets_the_verifiers_message(tmp_path, capsys):
    path = write(tmp_path, HAND_WRITTEN_DEFUNC.replace("x - step", "x - stop"), "prog.defunc")
    result = cli(capsys, path, "--no-color")
    assert result.code == 1
    assert result.err.startswith(
        f"{path}:19:7: error: this program breaks the defunc rule 'bound-variable': variable stop is not bound\n")


def test_a_blocks_listing_runs_and_one_breaking_its_rules_gets_the_verifiers_message(tmp_path, capsys):
    listing = "result int\nproc Main arg=0 captures=0 ret=1 frame=0\nMain:\n    push 7\n    store -3\n    ret\n"
    assert cli(capsys, write(tmp_path, listing, "prog.blocks")).out == "7\n"
    broken = cli(capsys, write(tmp_path, listing.replace("ret\n", "jmp Nowhere\n"), "broken.blocks"))
    assert broken.code == 1
    assert "error: this program breaks the blocks rule 'jump-target'" in broken.err


@pytest.mark.parametrize("flags, message", [
    (["--start-after", "affine"], "--start-after affine: not a pass of the default pipeline"),
    (["--start-after", "nowhere"], "--start-after nowhere: not a pass of the default pipeline"),
    (["--start-after", "defunc", "--pipeline", "parse,infer"], "give --pipeline or --start-after, not both"),
])
def test_start_after_a_pass_it_cannot_start_after_is_a_usage_error(tmp_path, capsys, flags, message):
    result = cli(capsys, write(tmp_path, HAND_WRITTEN_DEFUNC, "prog.txt"), *flags)
    assert result.code == 2
    assert message in result.err


def test_start_after_a_pass_whose_ir_nothing_reads_says_so():
    without_reader = Registry(tuple(entry for entry in BUILTIN_PASSES if entry.name != "read-defunc"))
    with pytest.raises(AssemblyError, match="--start-after defunc: no pass reads the defunc IR from a file"):
        assemble.start_after("defunc", without_reader)
    assert assemble.start_after("defunc", Registry())[:2] == ["read-defunc", "closure-layout"]


def test_help_lists_start_after(capsys):
    with pytest.raises(SystemExit):
        driver.main(["--help"])
    out = capsys.readouterr().out
    assert "--start-after STAGE" in out and "python -m passes prog.defunc" in out
