"""The editor analysis: hovers, definitions, references, symbols, inlay hints,
semantic tokens, diagnostics (syntax, type, checkers, plugins, crashes),
the IR after a pass, hostile and half-typed text, and offsets <-> UTF-16.

Every expected type below is worked out from LANGUAGE.md's rules (lambda
names, captures in order of first use, lambda sets in source order); every
expected span is found in the program's own text.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from ir.source import Span
from passes.ide.analysis import Diagnostic, Hover, InlayHint, SemanticToken, analyze
from passes.ide.positions import Positions
from tests.test_driver import cli, write

ROOT = Path(__file__).resolve().parent.parent
WARN_SPAWN = str(ROOT / "examples" / "plugins" / "warn_spawn_never_yields.py")


def at(text: str, needle: str, nth: int = 0) -> int:
    """The offset of the nth occurrence of needle in text."""
    offset = -1
    for _ in range(nth + 1):
        offset = text.index(needle, offset + 1)
    return offset


def span_of(text: str, needle: str, nth: int = 0) -> Span:
    start = at(text, needle, nth)
    return Span(start, start + len(needle))


# -- hover ------------------------------------------------------------------------------

def test_hover_on_a_use_and_on_its_let_binder():
    text = "let x = 1 in x + 2"
    analysis = analyze(text)
    assert analysis.hover(at(text, "x", 1)) == Hover(span_of(text, "x", 1), "x : int")
    assert analysis.hover(at(text, "x")) == Hover(span_of(text, "x"), "x : int")


def test_hover_on_a_lambda_shows_its_name_captures_and_type():
    text = "let x = 1 in let y = 2 in (\\z -> x + y + z) 3"
    analysis = analyze(text)
    own = "lam {x: int, y: int}"
    assert analysis.hover(at(text, "\\")) == Hover(span_of(text, "(\\z -> x + y + z)"),
                                                   f"{own} : int -[{own}]-> int")
    assert analysis.hover(at(text, "z")).text == "z : int"  # the parameter is a binder


def test_hover_on_a_tuple_projection():
    text = "let t = {1, true} in t.1"
    analysis = analyze(text)
    assert analysis.hover(at(text, ".")) == Hover(span_of(text, "t.1"), "bool")
    assert analysis.hover(at(text, "t.1")) == Hover(Span(at(text, "t.1"), at(text, ".")), "t : {int; bool}")


def test_hover_on_a_done_binder_and_its_use():
    text = "let f = spawn (yield; 5) in\nstat f | `Pending -> 0 | `Done v -> v + 1"
    analysis = analyze(text)
    assert analysis.hover(at(text, "v")) == Hover(span_of(text, "v"), "v : int")
    assert analysis.hover(at(text, "v + 1")) == Hover(span_of(text, "v", 1), "v : int")
    assert analysis.hover(at(text, "f")).text == "f : Fiber int"


def test_hover_inside_a_curried_function():
    text = "let add = \\a -> \\b -> a + b in add 1 2"
    analysis = analyze(text)
    assert analysis.hover(at(text, "b", 1)).text == "b : int"
    assert analysis.hover(at(text, "\\a") + 1).text == "a : int"
    assert analysis.hover(at(text, "add", 1)).text == "add : int -[add {}]-> int -[lam {a: int}]-> int"
    inner = "lam {a: int}"
    assert analysis.hover(at(text, "\\b")).text == f"{inner} : int -[{inner}]-> int"
    assert analysis.hover(at(text, "+")) == Hover(span_of(text, "a + b"), "int")


def test_a_lambda_set_of_two_members_shows_both_with_their_captures():
    text = "let x = 5 in let y = 6 in\nlet f = if true then \\a -> a + x else \\b -> b * y in\nf 1"
    analysis = analyze(text)
    fun = "int -[lam {x: int} | lam1 {y: int}]-> int"
    assert analysis.hover(at(text, "f")).text == f"f : {fun}"
    assert analysis.hover(at(text, "\\b")).text == f"lam1 {{y: int}} : {fun}"


def test_hover_on_a_comment_or_a_space_is_nothing():
    text = "let x = 1 in  # the answer\nx"
    analysis = analyze(text)
    assert analysis.hover(at(text, "answer")) is None
    assert analysis.hover(at(text, "  #") + 1) is None
    assert analysis.hover(len(text)) == Hover(Span(len(text) - 1, len(text)), "x : int")  # just after x


# -- definitions and references -----------------------------------------------------

SHADOWED = "let x = 1 in let x = x + 1 in x"


def test_definition_respects_shadowing():
    analysis = analyze(SHADOWED)
    first, second = span_of(SHADOWED, "x"), span_of(SHADOWED, "x", 1)
    assert analysis.definition(at(SHADOWED, "x + 1")) == first  # the right side sees the outer x
    assert analysis.definition(len(SHADOWED) - 1) == second
    assert analysis.definition(second.start) == second  # a binder is its own definition
    assert analysis.definition(at(SHADOWED, "1")) is None


def test_references_respect_shadowing():
    analysis = analyze(SHADOWED)
    first, second = span_of(SHADOWED, "x"), span_of(SHADOWED, "x", 1)
    use_of_first, use_of_second = span_of(SHADOWED, "x", 2), span_of(SHADOWED, "x", 3)
    assert analysis.references(first.start) == (first, use_of_first)
    assert analysis.references(use_of_second.start) == (second, use_of_second)
    assert analysis.references(second.start, include_declaration=False) == (use_of_second,)


def test_let_rec_and_a_parameter_that_shadows_it():
    text = "let rec f = \\f -> f + 1 in f 2"
    analysis = analyze(text)
    assert analysis.definition(at(text, "f + 1")) == span_of(text, "f", 1)  # the parameter
    assert analysis.references(at(text, "f")) == (span_of(text, "f"), span_of(text, "f", 3))


def test_a_recursive_call_refers_to_the_let_rec():
    text = "let rec loop = \\n -> if n < 1 then 0 else loop (n - 1) in loop 3"
    analysis = analyze(text)
    name = span_of(text, "loop")
    assert analysis.references(at(text, "loop (n")) == (name, span_of(text, "loop", 1), span_of(text, "loop", 2))


def test_definition_with_the_cursor_just_after_a_name_in_parentheses():
    text = "let y = 2 in (y)"
    assert analyze(text).definition(at(text, ")")) == span_of(text, "y")


# -- symbols and inlay hints -------------------------------------------------------------

NESTED = "let f = \\n ->\n  let g = \\m -> m + n in\n  let k = 2 in\n  g k\nin\nlet r = f 1 in\nr"


def test_symbols_nest_the_lets_of_a_right_side():
    symbols = analyze(NESTED).symbols()
    assert [(s.name, s.kind, s.type) for s in symbols] == [
        ("f", "function", "int -[f {}]-> int"), ("r", "variable", "int")]
    f, r = symbols
    assert [(s.name, s.kind, s.type) for s in f.children] == [
        ("g", "function", "int -[g {n: int}]-> int"), ("k", "variable", "int")]
    assert f.span == Span(0, at(NESTED, "in\nlet r") + 2)
    assert f.name_span == span_of(NESTED, "f")
    assert r.span == span_of(NESTED, "let r = f 1 in")
    assert r.children == () and f.children[0].children == ()


def test_a_symbol_is_a_function_when_its_value_is_a_lambda():
    symbols = analyze("let add = \\a -> \\b -> a + b in\nlet inc = add 1 in\ninc 2").symbols()
    assert [(s.name, s.kind, s.type) for s in symbols] == [
        ("add", "function", "int -[add {}]-> int -[lam {a: int}]-> int"),
        ("inc", "variable", "int -[lam {a: int}]-> int")]


def test_symbols_and_definitions_survive_a_type_error():
    text = "let f = \\n -> n + 1 in\nlet b = f true in\nb"
    analysis = analyze(text)
    assert [d.source for d in analysis.diagnostics] == ["infer"]
    assert analysis.typed is None
    assert [(s.name, s.kind, s.type) for s in analysis.symbols()] == [("f", "function", None),
                                                                      ("b", "variable", None)]
    assert analysis.definition(at(text, "f true")) == span_of(text, "f")
    assert analysis.hover(at(text, "f true")) is None  # no types to show
    assert analysis.inlay_hints() == ()


def test_inlay_hints_follow_every_let_name():
    text = "let x = 1 in\nlet rec f = \\n -> n in\nf x"
    assert analyze(text).inlay_hints() == (
        InlayHint(at(text, "x") + 1, ": int"), InlayHint(at(text, "f") + 1, ": int -[f {}]-> int"))


# -- semantic tokens ---------------------------------------------------------------------

def test_semantic_tokens():
    text = "let f = \\x -> x + 1 in f 2 # c\n"
    tokens = [(text[t.span.start:t.span.end], t.kind, t.declaration) for t in analyze(text).tokens()]
    assert tokens == [
        ("let", "keyword", False), ("f", "function", True), ("=", "operator", False),
        ("\\", "operator", False), ("x", "parameter", True), ("->", "operator", False),
        ("x", "parameter", False), ("+", "operator", False), ("1", "number", False),
        ("in", "keyword", False), ("f", "function", False), ("2", "number", False),
        ("# c", "comment", False)]


def test_semantic_tokens_of_tags_and_of_a_program_that_does_not_parse():
    text = "stat spawn 1 | `Pending -> 0 | `Done v -> v +"
    tokens = analyze(text).tokens()
    assert SemanticToken(span_of(text, "`Pending"), "tag") in tokens
    assert SemanticToken(span_of(text, "v"), "variable", True) in tokens
    assert SemanticToken(span_of(text, "spawn"), "keyword") in tokens
    assert [t.span.start for t in tokens] == sorted(t.span.start for t in tokens)


# -- diagnostics ---------------------------------------------------------------------------

def test_a_syntax_error():
    text = "let x = 1 in"
    analysis = analyze(text)
    assert analysis.diagnostics == (
        Diagnostic("error", "expected an expression, found end of input", Span(12, 12), (), "parse"),)
    assert analysis.surface is None and analysis.typed is None


def test_a_type_error_and_its_second_site():
    text = "let f = \\n -> n + 1 in f true"
    (error,) = analyze(text).diagnostics
    assert (error.severity, error.message, error.span, error.source) == (
        "error", "type mismatch: expected int, found bool", span_of(text, "true"), "infer")
    # n became an int at `n + 1`: the note points there.
    assert [(note.message, note.span) for note in error.notes] == [
        ("the type int comes from here", span_of(text, "n + 1"))]


def test_render_prints_a_diagnostic_as_the_command_line_does():
    analysis = analyze("1 + true", "t.co")
    assert analysis.render(analysis.diagnostics[0]).startswith(
        "t.co:1:5: error: type mismatch: expected int, found bool\n    1 | 1 + true\n      |     ^^^^\n")


AFFINE = "let f = spawn (yield; yield; 1) in\nlet g = f in\nresume f;\nresume g\n"


def test_the_affine_checker_runs_when_asked():
    assert analyze(AFFINE).diagnostics == ()
    (error,) = analyze(AFFINE, checks=("affine",)).diagnostics
    assert (error.message, error.span, error.source) == (
        "`g` may be a stale fiber handle: it may already have been resumed", span_of(AFFINE, "resume g"), "affine")
    assert [(n.message, n.span) for n in error.notes] == [("the handle was first resumed here",
                                                           span_of(AFFINE, "resume f"))]
    assert analyze(AFFINE, checks=("affine",)).typed is not None  # hovers still work


def test_a_plugin_checker_warns():
    text = "let f = spawn (1 + 2) in 0"
    (warning,) = analyze(text, plugins=(WARN_SPAWN,)).diagnostics
    assert (warning.severity, warning.span, warning.source) == (
        "warning", span_of(text, "spawn (1 + 2)"), "warn-spawn-never-yields")
    assert warning.message.startswith("this spawned expression never yields")


CRASHING_PLUGIN = '''\
from dataclasses import dataclass
from passes.framework import Pass

@dataclass(frozen=True)
class Boom(Pass):
    name = "boom"
    input_ir = "typed"
    output_ir = None
    runs_after = "infer"
    summary = "crash"

    def run(self, program):
        return 1 // 0
'''


def test_a_crash_inside_a_pass_is_a_diagnostic(tmp_path):
    plugin = write(tmp_path, CRASHING_PLUGIN, "boom.py")
    analysis = analyze("1 + 2", plugins=(plugin,))
    assert analysis.diagnostics == (
        Diagnostic("error", "internal error in pass 'boom': ZeroDivisionError: integer division or modulo by zero",
                   None, (), "boom"),)
    assert analysis.hover(0).text == "int"


def test_a_plugin_that_cannot_load_still_leaves_the_program_checked():
    analysis = analyze("1 + true", plugins=("/no/such/plugin.py",))
    assert [(d.message, d.span) for d in analysis.diagnostics][0] == (
        "plugin /no/such/plugin.py: no such file (analyzing with the default passes)", None)
    assert [d.source for d in analysis.diagnostics] == ["co", "infer"]


def test_an_unknown_check_is_a_diagnostic():
    (problem,) = analyze("1", checks=("no-such-check",)).diagnostics
    assert problem.span is None and "unknown pass 'no-such-check'" in problem.message


# -- the IR after a pass ----------------------------------------------------------------

def test_ir_after_is_what_stop_after_prints(capsys, tmp_path):
    text = (ROOT / "examples" / "curry.co").read_text()
    program = write(tmp_path, text)
    analysis = analyze(text, program)
    for pass_name in ("parse", "infer", "defunc", "emit"):
        assert analysis.ir_after(pass_name) == cli(capsys, program, "--stop-after", pass_name, "--no-color").out


def test_ir_after_a_failed_pass_is_the_error_that_stopped_it():
    analysis = analyze("1 + true")
    assert analysis.ir_after("parse") == "1 + true\n"
    assert analysis.ir_after("defunc") == analysis.diagnostics[0]
    assert analysis.ir_after("no-such-pass").message.startswith("no pass 'no-such-pass' in this pipeline")


def test_ir_after_a_checker_is_the_ir_it_read():
    analysis = analyze("1", checks=("affine",))
    assert analysis.ir_after("affine") == analysis.ir_after("infer") == "1\n"


# -- hostile and half-typed text ----------------------------------------------------------

def ask_everything(text: str) -> None:
    """Every question at every offset: none may raise."""
    analysis = analyze(text)
    for offset in range(-1, len(text) + 2):
        analysis.hover(offset)
        analysis.definition(offset)
        analysis.references(offset)
    analysis.symbols()
    analysis.inlay_hints()
    analysis.tokens()
    for name in analysis.pass_names:
        analysis.ir_after(name)


@pytest.mark.parametrize("text", ["", "let x = ", "\\", "((1 + 2)", "let x = 1 in x +", "{1, 2", "stat",
                                  "let f = \\x -> x x in f", "1 + true", "`Done", "let in let",
                                  "\ufefflet x = 1 in x", "# only a comment"])
def test_half_typed_programs_give_diagnostics_and_never_raise(text):
    ask_everything(text)
    if text.strip().lstrip("\ufeff") != "let x = 1 in x":
        assert any(d.severity == "error" for d in analyze(text).diagnostics)


def test_random_bytes_never_raise():
    rng = random.Random(20260101)
    for errors in ("replace", "surrogateescape", "ignore"):
        for _ in range(20):
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60)))
            ask_everything(data.decode("utf-8", errors))


def test_a_byte_order_mark_keeps_every_offset_where_the_editor_has_it():
    text = "\ufefflet x = 1 in x"
    analysis = analyze(text)
    assert analysis.diagnostics == ()
    assert analysis.hover(len(text) - 1) == Hover(Span(len(text) - 1, len(text)), "x : int")


# -- positions ---------------------------------------------------------------------------

def test_utf16_positions_count_an_emoji_twice():
    text = "# é 😀\nlet x = 1 in x"
    positions = Positions(text)
    emoji = at(text, "😀")
    assert positions.position(emoji) == (0, 4)
    assert positions.position(emoji + 1) == (0, 6)  # the line end, after the emoji's two units
    assert positions.position(at(text, "x")) == (1, 4)
    assert positions.offset(0, 6) == emoji + 1
    assert positions.offset(0, 5) == emoji  # inside the emoji: the emoji
    assert positions.offset(0, 99) == emoji + 1  # past the line's end: its end
    assert positions.offset(1, 4) == at(text, "x")
    assert positions.offset(9, 0) == len(text)
    assert positions.range(span_of(text, "😀")) == ((0, 4), (0, 6))
    analysis = analyze(text)
    assert analysis.hover(analysis.positions.offset(1, 13)).text == "x : int"


def test_positions_know_the_three_line_ends():
    positions = Positions("a\r\nb\rc\nd")
    assert [positions.position(i) for i in range(8)] == [
        (0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0), (2, 1), (3, 0)]
    assert positions.offset(0, 5) == 1 and positions.offset(1, 5) == 4 and positions.offset(3, 0) == 7


# -- the module itself --------------------------------------------------------------------

def test_the_analysis_imports_no_rich_and_no_pass_before_it_runs():
    script = ("import sys, passes.ide.analysis\n"
              "print(sorted(m for m in ('rich', 'passes.infer', 'passes.driver') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_editor_benchmark_runs_on_a_short_program():
    done = subprocess.run([sys.executable, "bench/editor.py", "--lines", "40", "--repeat", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    labels = [line.strip().split("  ")[0] for line in done.stdout.splitlines()[1:]]
    assert labels == ["parse + infer", "whole compile", "analyze", "first hover (builds the indexes)",
                      "next hover", "references", "tokens", "symbols", "inlay_hints"]
