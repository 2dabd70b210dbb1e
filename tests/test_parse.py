"""The parser against LANGUAGE.md: precedence, associativity, syntax errors
with their exact positions, and the surface printer's round trip.

Every expected tree below is built by hand from LANGUAGE.md's precedence
table; spans take no part in equality, so trees compare by shape alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ir import surface as S
from ir.source import CompileError, Source
from passes.infer import infer_program
from passes.parse import parse_program

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.co"))


def parse(text: str) -> S.Expr:
    return parse_program(Source("t.co", text)).body


def syntax_error(text: str) -> tuple[str, CompileError]:
    """The `line:col` and the error of a program that must not parse."""
    with pytest.raises(CompileError) as caught:
        parse_program(Source("t.co", text))
    error = caught.value
    assert error.span is not None, "a syntax error always points somewhere"
    line, col = Source("t.co", text).position(error.span.start)
    return f"{line}:{col}", error


# Short constructors, so the expected trees read like the source.
def v(name: str) -> S.Var:
    return S.Var(name)


def n(value: int) -> S.Int:
    return S.Int(value)


def op(symbol: str, left: S.Expr, right: S.Expr) -> S.BinOp:
    return S.BinOp(symbol, left, right)


def app(fn: S.Expr, *args: S.Expr) -> S.Expr:
    for arg in args:
        fn = S.App(fn, arg)
    return fn


TRUE, FALSE = S.Bool(True), S.Bool(False)


# -- precedence and associativity ---------------------------------------------

PRECEDENCE = {
    # `*` binds tighter than `+ -`, which bind tighter than `< ==`.
    "1 + 2 * 3": op("+", n(1), op("*", n(2), n(3))),
    "1 * 2 + 3": op("+", op("*", n(1), n(2)), n(3)),
    "1 - 2 * 3": op("-", n(1), op("*", n(2), n(3))),
    "a < b + 1": op("<", v("a"), op("+", v("b"), n(1))),
    "a + b == c * d": op("==", op("+", v("a"), v("b")), op("*", v("c"), v("d"))),
    "1 + 2 * 3 < 4": op("<", op("+", n(1), op("*", n(2), n(3))), n(4)),
    # Arithmetic is left-associative.
    "1 - 2 - 3": op("-", op("-", n(1), n(2)), n(3)),
    "1 - 2 + 3": op("+", op("-", n(1), n(2)), n(3)),
    "2 * 3 * 4": op("*", op("*", n(2), n(3)), n(4)),
    "(1 - 2) - 3": op("-", op("-", n(1), n(2)), n(3)),
    "1 - (2 - 3)": op("-", n(1), op("-", n(2), n(3))),
    # Comparisons with parentheses are fine.
    "(a < b) == c": op("==", op("<", v("a"), v("b")), v("c")),
    "a == (b == c)": op("==", v("a"), op("==", v("b"), v("c"))),
    # Application: juxtaposition, left-associative, tighter than binary operators.
    "f x y": app(v("f"), v("x"), v("y")),
    "f x y z": app(v("f"), v("x"), v("y"), v("z")),
    "f (g x)": app(v("f"), app(v("g"), v("x"))),
    "f x + g y": op("+", app(v("f"), v("x")), app(v("g"), v("y"))),
    "f x * g y": op("*", app(v("f"), v("x")), app(v("g"), v("y"))),
    "f 1 < 2": op("<", app(v("f"), n(1)), n(2)),
    "f yield": app(v("f"), S.Yield()),
    "f {} true": app(v("f"), S.Tuple(()), TRUE),
    # Tuple access is tightest of all.
    "e.0": S.Proj(v("e"), 0),
    "e.1.2": S.Proj(S.Proj(v("e"), 1), 2),
    "f x.0": app(v("f"), S.Proj(v("x"), 0)),
    "f.0 x": app(S.Proj(v("f"), 0), v("x")),
    "(f x).0": S.Proj(app(v("f"), v("x")), 0),
    "{1, 2}.1": S.Proj(S.Tuple((n(1), n(2))), 1),
    "x.0 y.1": app(S.Proj(v("x"), 0), S.Proj(v("y"), 1)),
    # Unary minus: looser than application, tighter than `*`; it may start an operand.
    "- f 3": S.Neg(app(v("f"), n(3))),
    "-f 3": S.Neg(app(v("f"), n(3))),
    "-x.0": S.Neg(S.Proj(v("x"), 0)),
    "3 - -a": op("-", n(3), S.Neg(v("a"))),
    "m * -1": op("*", v("m"), S.Neg(n(1))),
    "-a * b": op("*", S.Neg(v("a")), v("b")),
    "-a + b": op("+", S.Neg(v("a")), v("b")),
    "- - x": S.Neg(S.Neg(v("x"))),
    "--x": S.Neg(S.Neg(v("x"))),
    "f (-1)": app(v("f"), S.Neg(n(1))),
    # The lexer never glues `-` to a number.
    "n-1": op("-", v("n"), n(1)),
    "n -1": op("-", v("n"), n(1)),
    "f -1": op("-", v("f"), n(1)),
    "3-2": op("-", n(3), n(2)),
    # spawn and resume take one atom, as a function takes its argument.
    "spawn (f x)": S.Spawn(app(v("f"), v("x"))),
    "resume state.0": S.Resume(S.Proj(v("state"), 0)),
    "spawn f x": app(S.Spawn(v("f")), v("x")),
    "resume (resume f)": S.Resume(S.Resume(v("f"))),
    "spawn yield": S.Spawn(S.Yield()),
    "spawn f + 1": op("+", S.Spawn(v("f")), n(1)),
    "-resume f": S.Neg(S.Resume(v("f"))),
}


@pytest.mark.parametrize("text", PRECEDENCE)
def test_precedence_and_associativity(text):
    assert parse(text) == PRECEDENCE[text]


PREFIX_FORMS = {
    # `;` is right-associative and loosest.
    "a; b": S.Seq(v("a"), v("b")),
    "a; b; c": S.Seq(v("a"), S.Seq(v("b"), v("c"))),
    "(a; b); c": S.Seq(S.Seq(v("a"), v("b")), v("c")),
    "f x; 1 + 2": S.Seq(app(v("f"), v("x")), op("+", n(1), n(2))),
    # The body of a lambda extends over `;`.
    "\\x -> a; b": S.Lam("x", S.Seq(v("a"), v("b"))),
    "\\x -> \\y -> x y; z": S.Lam("x", S.Lam("y", S.Seq(app(v("x"), v("y")), v("z")))),
    "(\\x -> a); b": S.Seq(S.Lam("x", v("a")), v("b")),
    "\\x -> x + 1": S.Lam("x", op("+", v("x"), n(1))),
    # `if` does not: its else branch stops at `;`.
    "if c then a else b; d": S.Seq(S.If(v("c"), v("a"), v("b")), v("d")),
    "if c then a else if d then b else e; f":
        S.Seq(S.If(v("c"), v("a"), S.If(v("d"), v("b"), v("e"))), v("f")),
    "if c then a else b + 1": S.If(v("c"), v("a"), op("+", v("b"), n(1))),
    "if c then a else b < d": S.If(v("c"), v("a"), op("<", v("b"), v("d"))),
    # ... but a let in the else branch takes the `;` with it.
    "if c then a else let x = 1 in x; d":
        S.If(v("c"), v("a"), S.Let("x", n(1), S.Seq(v("x"), v("d")))),
    "if a then if b then c else d else e": S.If(v("a"), S.If(v("b"), v("c"), v("d")), v("e")),
    "if a; b then c else d": S.If(S.Seq(v("a"), v("b")), v("c"), v("d")),
    # The body of a let extends over `;`; so does its right side, up to `in`.
    "let x = 1 in a; b": S.Let("x", n(1), S.Seq(v("a"), v("b"))),
    "let x = a; b in x": S.Let("x", S.Seq(v("a"), v("b")), v("x")),
    "let x = 1 in let y = 2 in x + y":
        S.Let("x", n(1), S.Let("y", n(2), op("+", v("x"), v("y")))),
    "let rec f = \\x -> f x in f 1":
        S.LetRec("f", S.Lam("x", app(v("f"), v("x"))), app(v("f"), n(1))),
    "let rec f = (\\x -> x) in f": S.LetRec("f", S.Lam("x", v("x")), v("f")),
    "let x' = 1 in x'": S.Let("x'", n(1), v("x'")),
    "let a_B9 = 1 in a_B9": S.Let("a_B9", n(1), v("a_B9")),
    # A prefix form may be the last operand of an operator and extends to the end.
    "1 + let x = 2 in x + 3": op("+", n(1), S.Let("x", n(2), op("+", v("x"), n(3)))),
    "1 + if a then b else c + 1": op("+", n(1), S.If(v("a"), v("b"), op("+", v("c"), n(1)))),
    "- \\x -> x": S.Neg(S.Lam("x", v("x"))),
    "(let x = 1 in x) + 2": op("+", S.Let("x", n(1), v("x")), n(2)),
    # Lambdas as arguments are parenthesized.
    "f (\\x -> x) y": app(v("f"), S.Lam("x", v("x")), v("y")),
    # Tuples.
    "{}": S.Tuple(()),
    "{1}": S.Tuple((n(1),)),
    "{1, true, {}}": S.Tuple((n(1), TRUE, S.Tuple(()))),
    "{1, {2, 3}}": S.Tuple((n(1), S.Tuple((n(2), n(3))))),
    "{f x, -1}": S.Tuple((app(v("f"), v("x")), S.Neg(n(1)))),
    "{(a; b), c}": S.Tuple((S.Seq(v("a"), v("b")), v("c"))),
    "(1)": n(1),
    "((((x))))": v("x"),
    "false": FALSE,
    "yield": S.Yield(),
}


@pytest.mark.parametrize("text", PREFIX_FORMS)
def test_prefix_forms_and_sequences(text):
    assert parse(text) == PREFIX_FORMS[text]


STAT = S.Stat(v("f"), n(0), "v", v("v"))


def test_stat_arms_in_either_order():
    assert parse("stat f | `Pending -> 0 | `Done v -> v") == STAT
    assert parse("stat f | `Done v -> v | `Pending -> 0") == STAT


def test_stat_arms_extend_over_semicolons():
    expected = S.Stat(v("s"), S.Seq(v("a"), v("b")), "x", S.Seq(v("c"), v("d")))
    assert parse("stat s | `Pending -> a; b | `Done x -> c; d") == expected
    assert parse("stat s | `Done x -> c; d | `Pending -> a; b") == expected


def test_stat_inside_stat():
    inner = S.Stat(v("g"), n(1), "y", v("y"))
    assert parse("stat f | `Pending -> stat g | `Pending -> 1 | `Done y -> y | `Done x -> x") \
        == S.Stat(v("f"), inner, "x", v("x"))
    assert parse("stat f | `Pending -> 0 | `Done x -> stat g | `Pending -> 1 | `Done y -> y") \
        == S.Stat(v("f"), n(0), "x", inner)


def test_stat_of_resume_and_projection():
    assert parse("stat resume w | `Pending -> 0 | `Done v -> v") \
        == S.Stat(S.Resume(v("w")), n(0), "v", v("v"))
    assert parse("stat state.0 | `Pending -> 0 | `Done v -> v") \
        == S.Stat(S.Proj(v("state"), 0), n(0), "v", v("v"))


def test_language_md_sample_program():
    text = """\
let rec fib = \\n ->
  yield;
  if n < 2 then n else fib (n - 1) + fib (n - 2)
in
let rec drive = \\state ->
  stat state.0
  | `Pending -> drive {resume state.0, state.1 + 1}
  | `Done v -> {v, state.1}
in
drive {spawn (fib 10), 0}          # => {55, 177}
"""
    fib_body = S.Seq(S.Yield(), S.If(
        op("<", v("n"), n(2)),
        v("n"),
        op("+", app(v("fib"), op("-", v("n"), n(1))), app(v("fib"), op("-", v("n"), n(2)))),
    ))
    state0 = S.Proj(v("state"), 0)
    drive_body = S.Stat(
        state0,
        app(v("drive"), S.Tuple((S.Resume(state0), op("+", S.Proj(v("state"), 1), n(1))))),
        "v",
        S.Tuple((v("v"), S.Proj(v("state"), 1))),
    )
    expected = S.LetRec("fib", S.Lam("n", fib_body),
                        S.LetRec("drive", S.Lam("state", drive_body),
                                 app(v("drive"), S.Tuple((S.Spawn(app(v("fib"), n(10))), n(0))))))
    assert parse(text) == expected


def test_comments():
    assert parse("1 # one\n+ 2 # two") == op("+", n(1), n(2))
    assert parse("# leading\n# lines\nx") == v("x")
    assert parse("let x = 1 in # after in\nx#no space") == S.Let("x", n(1), v("x"))
    assert parse("f#c\nx") == app(v("f"), v("x"))


def test_whitespace_forms():
    assert parse("\tlet\r\nx\t=\n1\nin\n\nx\n") == S.Let("x", n(1), v("x"))


def test_integer_literal_range():
    assert parse("9223372036854775807") == n(2**63 - 1)
    assert parse("-9223372036854775807 - 1") == op("-", S.Neg(n(2**63 - 1)), n(1))
    assert parse("0") == n(0)
    assert parse("007") == n(7)
    where, error = syntax_error("9223372036854775808")
    assert where == "1:1"
    assert "64 bits" in error.message
    # The lexer never glues `-` to a number, so the minimum cannot be written directly.
    where, _ = syntax_error("-9223372036854775808")
    assert where == "1:2"
    where, _ = syntax_error("1 +\n  99999999999999999999")
    assert where == "2:3"


# -- syntax errors, each at its exact position ---------------------------------

SYNTAX_ERRORS = [
    # (program, line:col, a phrase of the message)
    # A missing `in` is reported at the `let` that lacks it (a note says where it was expected).
    ("let x = 1 then 2", "1:1", "`in`"),
    ("let x = 1", "1:1", "`in`"),
    ("let x = 1 in\nlet y = x\nif y then 1 else 2", "2:1", "`in`"),
    ("if a then b", "1:12", "`else`"),
    ("if a then b; c", "1:12", "`else`"),
    ("if a\nthen b\n  in c", "3:3", "`else`"),
    ("if a b else c", "1:8", "`then`"),
    ("(1 + 2", "1:7", "`)`"),
    ("let x = (1 + 2 in x", "1:16", "`)`"),
    ("f (g (x)", "1:9", "`)`"),
    ("{1, 2", "1:6", "`}`"),
    ("{1 2}.0 )", "1:9", "end of input"),
    (")", "1:1", "expression"),
    ("1 $ 2", "1:3", "unexpected character"),
    ("let x = 1 in\n  x @ 2", "2:5", "unexpected character"),
    ("X + 1", "1:1", "unexpected character"),
    ("_x", "1:1", "unexpected character"),
    ("\"s\"", "1:1", "unexpected character"),
    ("stat f | `Foo -> 1 | `Done x -> 2", "1:10", "`Foo"),
    ("stat f | `Pending -> 1 | `done x -> 2", "1:26", "`done"),
    ("stat f | `Pending -> 1", "1:23", "`|`"),
    ("stat f | `Done x -> 1 | `Done y -> 2", "1:25", "`Done"),
    ("stat f | `Pending -> 1 | `Pending -> 2", "1:26", "`Pending"),
    ("stat f | `Done -> 1 | `Pending -> 2", "1:16", "name"),
    ("stat f | `Pending x -> 1 | `Done y -> 2", "1:19", "`->`"),
    ("", "1:1", "empty"),
    ("   ", "1:4", "empty"),
    ("# only a comment\n", "2:1", "empty"),
    ("let rec f = 3 in f", "1:13", "lambda"),
    ("let rec f = f in 1", "1:13", "lambda"),
    ("let rec f = {} in 1", "1:13", "lambda"),
    ("let rec f = 1; \\x -> x in f", "1:13", "lambda"),
    ("let in = 3 in 4", "1:5", "keyword"),
    ("let then = 3 in 4", "1:5", "keyword"),
    ("\\then -> 1", "1:2", "keyword"),
    ("\\yield -> 1", "1:2", "keyword"),
    ("stat f | `Pending -> 0 | `Done rec -> 1", "1:32", "keyword"),
    ("let 1 = 2 in 3", "1:5", "name"),
    ("let x 1 in x", "1:7", "`=`"),
    ("\\x x", "1:4", "`->`"),
    ("\\x -> ", "1:7", "expression"),
    ("a == b == c", "1:8", "chain"),
    ("a < b < c", "1:7", "chain"),
    ("a < b == c", "1:7", "chain"),
    ("1 +", "1:4", "expression"),
    ("1 + * 2", "1:5", "expression"),
    ("x.a", "1:3", "index"),
    ("x.", "1:3", "index"),
    ("{1,}", "1:4", "expression"),
    ("{,}", "1:2", "expression"),
    ("spawn", "1:6", "spawn"),
    ("resume -x", "1:8", "resume"),
    ("spawn \\x -> x", "1:7", "spawn"),
    ("f \\x -> x", "1:3", "end of input"),
    ("1a", "1:1", "number"),
    ("1 2 3 in", "1:7", "end of input"),
    ("x ->", "1:3", "end of input"),
    ("let x = 1 in x in y", "1:16", "end of input"),
]


@pytest.mark.parametrize("text, where, phrase", SYNTAX_ERRORS, ids=[e[0] or "<empty>" for e in SYNTAX_ERRORS])
def test_syntax_error_positions(text, where, phrase):
    actual_where, error = syntax_error(text)
    assert (actual_where, phrase in error.message) == (where, True), error.message


def test_unclosed_paren_notes_the_opening_one():
    _, error = syntax_error("f (1 +\n  2\n")
    assert [Source("t.co", "f (1 +\n  2\n").position(note.span.start) for note in error.notes] == [(1, 3)]


def test_duplicate_stat_arm_notes_the_first_one():
    text = "stat f | `Done x -> 1 | `Done y -> 2"
    _, error = syntax_error(text)
    assert [Source("t.co", text).position(note.span.start) for note in error.notes] == [(1, 10)]


def test_every_keyword_is_rejected_as_a_name():
    for keyword in "let rec in if then else spawn yield resume stat true false".split():
        where, error = syntax_error(f"\\{keyword} -> 1")
        assert where == "1:2", keyword
        assert "keyword" in error.message, keyword


def test_keyword_prefixes_are_names():
    assert parse("let lets = 1 in lets") == S.Let("lets", n(1), v("lets"))
    assert parse("\\iff -> iff") == S.Lam("iff", v("iff"))
    assert parse("{yields, trueish, in'}") == S.Tuple((v("yields"), v("trueish"), v("in'")))


# -- the surface printer's round trip ------------------------------------------

def reparse(program: S.Program) -> S.Program:
    return parse_program(Source("printed.co", S.print_program(program)))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_round_trip(path):
    program = parse_program(Source(path.name, path.read_text()))
    printed_once = reparse(program)
    assert printed_once == program
    # Printing is stable: the reprinted text is the same text.
    assert S.print_program(printed_once) == S.print_program(program)
    S.verify(program)


def test_there_are_examples():
    assert len(EXAMPLES) >= 6


TRICKY = [
    # nested lets inside operands
    "1 + (let x = 2 in x) * 3",
    "(let x = 2 in x) + (let y = 3 in y)",
    "f (let x = 1 in x) (let y = 2 in y)",
    "-(let x = 1 in x)",
    "(let x = 1 in x).0",
    "{let x = 1 in x, let y = 2 in y; y}",
    "1 + let x = 2 in x; 3",
    "(1 + let x = 2 in x); 3",
    # if-else chains followed by `;`
    "if a then b else if c then d else e; f",
    "(if a then b else let x = 1 in x); f",
    "(if a then b else \\x -> x); f",
    "(if a then b else stat s | `Pending -> 1 | `Done v -> v); f",
    "if a then (b; c) else (d; e); f",
    "if a; b then let x = 1 in x else \\y -> y",
    "if a then stat s | `Pending -> 1 | `Done v -> v else 2",
    "(if a then b else c) + 1",
    "(if a then b else c) x",
    "f (if a then b else c)",
    # stat inside stat, and stat in operands
    "stat f | `Pending -> (stat g | `Pending -> 1 | `Done y -> y) | `Done x -> x",
    "stat f | `Pending -> 0 | `Done x -> stat g | `Pending -> 1 | `Done y -> y; z",
    "stat (stat f | `Pending -> g | `Done x -> x) | `Pending -> 1 | `Done y -> y",
    "stat (a; b) | `Pending -> (let x = 1 in x) | `Done y -> y",
    "(stat f | `Pending -> 0 | `Done x -> x); 1",
    "1 + (stat f | `Pending -> 0 | `Done x -> x)",
    "stat f | `Pending -> \\x -> x | `Done x -> \\y -> y",
    # negative numbers
    "-1",
    "3 - -1",
    "- -1",
    "f (-1) (-x)",
    "-x * -1",
    "(-x).0",
    "-(a + b)",
    "-(f x)",
    "{-1, -2}",
    "-9223372036854775807 - 1",
    # lambdas as arguments
    "f (\\x -> x) (\\y -> y; y)",
    "twice (\\v -> v * 3) 7",
    "(\\x -> x) (\\y -> y)",
    "(\\x -> x).0",
    "spawn (\\x -> x)",
    "resume (f x).1",
    "spawn (f x) y",
    "(spawn f).0",
    # associativity that needs parentheses back
    "a - (b - c)",
    "a - (b + c)",
    "a * (b * c)",
    "(a < b) == (c == d)",
    "f (g x) (h y z)",
    "(a; b); c",
    "\\x -> (a; b)",
    "let f = \\x -> x in f; 2",
    "let x = (a; b) in x",
    "let rec f = \\x -> f x in let rec g = \\y -> f (g y) in g",
    "{}.0",
    "{{}, {{}}}",
    "yield; yield",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_expressions_round_trip(text):
    program = parse_program(Source("t.co", text))
    assert reparse(program) == program, S.print_program(program)


def test_print_of_a_hand_built_tree_parses_back():
    # Trees the parser would build from explicit parentheses, printed with as few as possible.
    trees = [
        S.Seq(S.If(v("c"), v("a"), S.Let("x", n(1), v("x"))), v("d")),
        S.Seq(S.Lam("x", v("x")), v("d")),
        S.Seq(S.If(v("c"), v("a"), S.If(v("d"), v("b"), S.Lam("x", v("x")))), v("e")),
        op("-", n(1), op("-", n(2), n(3))),
        S.Neg(op("*", v("a"), v("b"))),
        S.Proj(S.Neg(v("a")), 0),
        app(v("f"), S.Spawn(v("x"))),
        S.Stat(v("f"), S.Seq(v("a"), v("b")), "x", S.Stat(v("g"), n(1), "y", v("y"))),
        S.If(v("c"), S.Seq(v("a"), v("b")), S.Seq(v("d"), v("e"))),
    ]
    for tree in trees:
        program = S.Program(tree)
        assert reparse(program) == program, S.print_program(program)


def test_a_byte_order_mark_is_not_part_of_the_program():
    source = Source("bom.co", "\ufeff(1 + 2) 3")
    with pytest.raises(CompileError) as info:
        infer_program(parse_program(source))
    assert source.position(info.value.span.start) == (1, 1)


def test_a_parenthesized_expression_is_underlined_with_its_parentheses():
    source = Source("p.co", "let rec f = (\\x -> x); 1 in f")
    with pytest.raises(CompileError) as info:
        parse_program(source)
    assert source.text[info.value.span.start:info.value.span.end] == "(\\x -> x); 1"
