"""IR grammars (ir/grammar.py): an IR declared once, whole or as a delta of
the IR before it, and what follows from the declaration: its forms, the
structural part of its verifier, its grammar as text (`--show-ir`) and what
it changes from the IR before it (`--show-ir NAME --delta`).

The expected texts below were written by hand from the declarations.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import ir
from ir import VerifyError, surface, typed
from ir.grammar import Grammar, GrammarError, annotation
from ir.immutable import fields
from ir.source import Span
from ir.traverse import MissingRule, Rewriter
from ir.types import INT
from passes import infer
from tests.conftest import ROOT
from tests.test_driver import cli

NOWHERE = Span(0, 0)

BASE = Grammar("lang0", """
    Program ::= Program(body: Expr)
    Expr ::= Num(value: int)
           | Add(left: Expr, right: Expr)       left + right
           | Pair(items: (Expr, ...))
           | Note(text: str?, inner: Expr)
    every Expr ends with where: Span
""", kinds=(annotation(Span, NOWHERE),))

NEXT = BASE.extend("lang1", """
    Expr ::= ... with size: int = 0
           - Note
           + Neg(operand: Expr, size: int)
    Stmt ::= Print(value: Expr) | Skip()
""")

Program, Num, Add, Pair, Note = (BASE.form(name) for name in ("Program", "Num", "Add", "Pair", "Note"))


# -- the forms ------------------------------------------------------------------------


def test_a_form_has_its_fields_then_those_every_form_of_its_rule_ends_with():
    assert fields(Add) == ("left", "right", "where")
    assert NEXT.form("Num")(1).size == 0  # a default
    assert Num(1).where == NOWHERE  # an annotation's default
    assert Num(1, Span(3, 4)) == Num(1)  # and no part of equality
    assert Num(1) != Num(2)


def test_a_delta_keeps_the_rules_it_does_not_name_with_the_very_same_classes():
    assert NEXT.form("Program") is Program
    assert NEXT.form("Add") is not Add  # a rule it names gets new classes...
    assert fields(NEXT.form("Add")) == ("left", "right", "size", "where")  # `with`: before the trailer
    expr = BASE.rules["Expr"].base_class
    assert issubclass(NEXT.form("Add"), expr) and issubclass(Add, expr)  # ...of one base class, Expr
    assert NEXT.form("Note") is None
    assert [f.__name__ for f in NEXT.forms] == ["Program", "Num", "Add", "Pair", "Neg", "Print", "Skip"]


def test_typed_is_surface_with_a_type_on_every_expression():
    assert typed.GRAMMAR.base is surface.GRAMMAR
    for form in surface.GRAMMAR.rules["Expr"].forms:
        own = typed.GRAMMAR.form(form.name)
        if form.name == "Lam":
            assert fields(own) == ("name", "param", "captures", "body", "type", "span")
        else:
            assert fields(own) == (*fields(form.cls)[:-1], "type", "span")
    assert fields(typed.Program) == ("body", "source", "lambdas")
    source = (ROOT / "ir" / "typed.py").read_text()
    assert "@immutable" not in source and "class Int" not in source  # no form restated by hand


@pytest.mark.parametrize("declaration, base, message", [
    ("Expr ::= ...\n - Missing", BASE, "`- Missing`, but lang0's Expr has no form Missing"),
    ("Expr ::= ...\n + Add(x: Expr)", BASE, "Expr still has a Add: remove it first"),
    ("Expr ::= Num(value: int)\n + Neg(x: Expr)", BASE, "`+` adds a form to the base's"),
    ("Stmt ::= ...", BASE, "lang0 has no rule Stmt"),
    ("Program ::= P(x: Nothing)", None, "P's field x is of kind Nothing, which is no rule"),
    ("Program ::= P(x: int) | P(y: int)", None, "two forms of Program have one name"),
    ("Program ::= P(x: int = [])", None, "the default of x must be"),
    ("Program ::= P(x: int = 1, y: int)", None, "P: field 'y' has no default but comes after 'x', which has one"),
    ("oops", None, "line 1: expected a rule `Name ::= ...`, found 'oops'"),
])
def test_a_declaration_that_is_wrong_says_where(declaration, base, message):
    with pytest.raises(GrammarError) as error:
        base.extend("bad", declaration) if base else Grammar("bad", declaration)
    assert message in str(error.value)


# -- the structural verifier ---------------------------------------------------------


def test_check_accepts_a_program_of_its_forms():
    BASE.check(Program(Add(Num(1), Pair((Num(2), Note(None, Num(3)), Note("n", Num(4)))))))
    NEXT.check(Program(NEXT.form("Neg")(NEXT.form("Num")(1), 0)))


def check_fails(grammar: Grammar, program, rule: str, message: str):
    with pytest.raises(VerifyError) as error:
        grammar.check(program)
    assert error.value.rule == rule
    assert message in error.value.message
    return error.value.node


@pytest.mark.parametrize("body, rule, message", [
    (Add(Num(1), "2"), "forms", "Add's field right holds a str '2', not a form of lang0's Expr"),
    (Num("1"), "fields", "Num's field value holds a str '1', not an int"),
    (Num(True), "fields", "Num's field value holds a bool True, not an int"),  # exactly: a bool is no int
    (Pair([Num(1)]), "fields", "Pair's field items holds a list [Num(value=1)], not a tuple (Expr, ...)"),
    (Note(3, Num(1)), "fields", "Note's field text holds an int 3, not a str"),
    (Note(None, None), "forms", "Note's field inner holds None, not a form of lang0's Expr"),
    (Program(Num(1)), "forms", "Program's field body holds a Program, not a form of lang0's Expr"),
])
def test_check_names_the_field_and_what_it_should_hold(body, rule, message):
    check_fails(BASE, Program(body), rule, message)


def test_check_rejects_a_form_of_another_ir_and_blames_it():
    stray = Num(2)  # lang0's Num in a lang1 program
    blamed = check_fails(NEXT, Program(NEXT.form("Neg")(stray, 0)), "forms", "not a form of lang1's Expr")
    assert blamed is stray
    check_fails(NEXT, Program(Note(None, Num(1))), "forms", "not a form of lang1's Expr")  # removed by the delta
    check_fails(BASE, Num(1), "forms", "the program holds a Num, not a form of lang0's Program")


def test_the_verifiers_of_surface_and_typed_start_from_their_grammars():
    typed_int = typed.Int(1, INT)
    with pytest.raises(VerifyError) as error:
        surface.IR.verifier(surface.Program(surface.Neg(typed_int)))
    assert error.value.rule == "forms" and error.value.node is typed_int
    surface_int = surface.Int(1)
    with pytest.raises(VerifyError) as error:
        typed.IR.verifier(typed.Program(typed.Neg(surface_int, INT)))
    assert error.value.rule == "forms" and error.value.node is surface_int


# -- the grammar as text --------------------------------------------------------------


def test_show_prints_every_rule_with_what_its_forms_mean():
    assert BASE.show() == (
        "    Program ::= Program(body: Expr)\n"
        "    Expr ::= Num(value: int)\n"
        "           | Add(left: Expr, right: Expr)   left + right\n"
        "           | Pair(items: (Expr, ...))\n"
        "           | Note(text: str?, inner: Expr)\n"
        "    every Expr ends with where: Span\n"
        "\n"
        "Span is an annotation: no part of equality, and a default when left out.\n"
    )


def test_show_delta_writes_the_change_as_a_declaration_would():
    assert NEXT.show_delta(BASE) == (
        "    Expr ::= ... with + size: int = 0\n"
        "           - Note(text: str?, inner: Expr)\n"
        "           + Neg(operand: Expr, size: int)\n"
        "    + Stmt ::= Print(value: Expr)\n"
        "             | Skip()\n"
    )
    assert BASE.show_delta(NEXT) == (
        "    Expr ::= - Neg(operand: Expr, size: int)\n"
        "           - Num(value: int, size: int = 0)\n"
        "           + Num(value: int)\n"
        "           - Add(left: Expr, right: Expr, size: int = 0)\n"
        "           + Add(left: Expr, right: Expr)                 left + right\n"
        "           - Pair(items: (Expr, ...), size: int = 0)\n"
        "           + Pair(items: (Expr, ...))\n"
        "           + Note(text: str?, inner: Expr)\n"
        "    - Stmt ::= Print(value: Expr)\n"
        "             | Skip()\n"
    )
    assert BASE.show_delta(BASE) == "    (no change)\n"


def test_print_node_writes_each_form_as_its_constructor_with_its_compared_fields():
    assert BASE.print_node(Add(Num(1), Pair((Num(2),)), Span(1, 2))) == "Add(Num(1), Pair((Num(2),)))"


# -- the command line ------------------------------------------------------------------

TYPED_DELTA = """\
typed, from surface (+ added, - removed, ... surface's forms kept):

    Program ::= Program(body: Expr, source: Source, + lambdas: LambdaTable)
    Expr ::= ... with + type: Type
           | Lam(+ name: str, param: str, + captures: (Capture, ...), body: Expr, + type: FunT)
                 name: the lambda's own, unique; captures: in order of first use in the body
    + terminal kinds Type, FunT, Capture, LambdaTable
"""


def test_show_ir_delta_prints_what_typed_adds_to_and_removes_from_surface(capsys):
    result = cli(capsys, "--show-ir", "typed", "--delta")
    assert (result.code, result.out, result.err) == (0, TYPED_DELTA, "")


def test_show_ir_prints_a_grammar_for_every_ir(capsys):
    for name in ir.known_irs():
        result = cli(capsys, "--show-ir", name)
        assert result.code == 0 and result.err == ""
        assert result.out.startswith(f"{name}: {ir.lookup(name).summary}\n\n")
        assert "Program" in result.out  # every IR's root form
    shown = cli(capsys, "--show-ir", "surface").out
    assert "| Stat(fiber: Expr, pending: Expr, done_name: str, done: Expr)\n" in shown
    assert "every Expr ends with span: Span\n" in shown


DEFUNC_DELTA = """\
defunc, from typed (+ added, - removed, ... typed's forms kept):

    Program ::= - Program(body: Expr, source: Source, lambdas: LambdaTable)
              + Program(procs: (Proc, ...), source: Source, boxed: (BoxedSet, ...) = (),
                        value_type: Type? = None)
                    [value T] boxed ... proc ...: Main first; boxed, the lambda sets whose closures
                    are boxed, each with the cycle of captures that boxing it breaks (ir/boxing.py):
                    `boxed inc | dbl | lam1, breaking lam1.f`; value_type, the type of the program's
                    value as co writes it when it holds a function type, else None
    + Proc ::= Proc(name: str, param: str, param_type: Type, captures: (Capture, ...),
                    result_type: Type, body: Expr, span: Span)
                   proc f (x : T) {y: T} -> T = body: a lifted lambda (named after it), or
                   Main, Spawn, Spawn1, ... (param `_ : {}`)
    Expr ::= ...
           - Lam(name: str, param: str, captures: (Capture, ...), body: Expr, type: FunT)
           - App(fn: Expr, arg: Expr, type: Type)
           - LetRec(name: str, value: Lam, body: Expr, type: Type)
           - Spawn(body: Expr, type: Type)
           + Spawn(proc: str, captures: Expr, type: FiberT)         spawn Spawn1 {x, y}
                 a new fiber running the lifted procedure proc
           + Closure(lambda_name: str, captures: Expr, type: ClosureT)
                 closure lam {x, y}: lambda_name's capture record (a Tuple, or OwnCaptures), as
                 a value of type.lambdas (tag and padding implied)
           + OwnCaptures(type: TupleT)                              <captures>
                 the current procedure's capture record (how a `let rec` function sees itself)
           + Call(proc: str, arg: Expr, closure: Expr, type: Type)
                 call f arg closure: a direct call; closure's set has the one member proc
           + Dispatch(arms: (str, ...), arg: Expr, closure: Expr, type: Type)
                 dispatch[f | g] arg closure: closure's set has several members; arm i is a
                 direct call of arms[i], member i of the set
           + Unreachable(type: Type)                                <unreachable : T>
                 a call through an empty lambda set: no such value exists
           + Box(value: Expr, type: BoxT)                           box e
                 a closure of a boxed set, made one cell referring to a record of its cells
           + Unbox(box: Expr, type: Type)                           unbox e
                 the closure a Box refers to, to call it
    + terminal kinds ClosureT, TupleT, FiberT, BoxT, BoxedSet
"""

LAYOUT_DELTA = """\
layout, from defunc (+ added, - removed, ... defunc's forms kept):

    Proc ::= Proc(name: str, param: str, param_type: Type, captures: (Capture, ...), result_type: Type,
                  + frame: Frame, body: Expr, span: Span)
                 printed with its frame as a table, one row per cell, then its body
    + Frame ::= Frame(return_offset: int, arg_offset: int, captures_offset: int, locals_size: int,
                      slots: (Slot, ...))
                    slots: every named region (return slot, argument, captures, locals);
                    sibling scopes share cells
    + Slot ::= Slot(name: str, offset: int, type: Type)  a named region: its lowest cell, its type
    Expr ::= ...
           | Var(name: str, type: Type, + offset: int)  where the variable lives
           | Let(name: str, + offset: int, value: Expr, body: Expr, type: Type)
                 let x : T @fp[k] = value in body
           | Stat(fiber: Expr, pending: Expr, done_name: str, + done_offset: int, done: Expr,
                  type: Type)
                 stat fiber | `Pending -> pending | `Done (x : T @fp[k]) -> done
           | Call(proc: str, arg: Expr, closure: Expr, type: Type, + tail: bool)
                 tailcall f arg closure, when tail: a self call in tail position, reusing the frame
"""


@pytest.mark.parametrize("name, expected", [("defunc", DEFUNC_DELTA), ("layout", LAYOUT_DELTA)])
def test_show_ir_delta_prints_the_declared_deltas_of_defunc_and_layout(capsys, name, expected):
    result = cli(capsys, "--show-ir", name, "--delta")
    assert (result.code, result.out, result.err) == (0, expected, "")


def test_an_ir_declared_by_its_classes_alone_shows_a_grammar_read_back_from_them(capsys):
    blocks = cli(capsys, "--show-ir", "blocks", "--delta").out  # as ir/blocks.py's docstring says
    assert blocks.startswith("blocks, from layout (+ added, - removed, ... layout's forms kept):\n")
    assert "              + Program(procs: (Proc, ...), result_type: Type, main: str, value_type: Type?)\n" in blocks
    assert "    + Instr ::= Push(operand: Imm | FpOffset)\n" in blocks
    assert "    - Frame ::= " in blocks  # layout's, gone


def test_defunc_and_layout_keep_the_forms_they_do_not_change_with_the_very_same_classes():
    from ir import defunc, layout

    assert defunc.GRAMMAR.base is typed.GRAMMAR and layout.GRAMMAR.base is defunc.GRAMMAR
    assert defunc.Int is typed.Int and defunc.Stat is typed.Stat and layout.Closure is defunc.Closure
    assert layout.Program is defunc.Program  # a program of procedures either way: only Proc changes
    assert layout.Var is not defunc.Var and fields(layout.Var) == ("name", "type", "offset", "span")
    assert defunc.IR.form("Lam") is None and defunc.IR.form("Spawn") is defunc.Spawn is not typed.Spawn
    for module in ("defunc", "layout"):
        source = (ROOT / "ir" / f"{module}.py").read_text()
        assert "@immutable" not in source and "FORMS" not in source  # no form restated by hand


def test_the_verifiers_of_defunc_and_layout_start_from_their_grammars():
    from ir import defunc, layout
    from ir.types import UNIT

    def main(body, frame=None):
        if frame is not None:
            return layout.Program((layout.Proc("Main", "_", UNIT, (), INT, layout.Frame(*frame, ()), body),))
        return defunc.Program((defunc.Proc("Main", "_", UNIT, (), INT, body),))

    defunc.verify(main(typed.Int(1, INT)))
    layout.verify(main(typed.Int(1, INT), (-3, -3, -2, 0)))
    lam = typed.Lam("f", "x", (), typed.Var("x", INT), INT)  # typed's, left over
    with pytest.raises(VerifyError) as error:
        defunc.verify(main(typed.Neg(lam, INT)))
    assert (error.value.rule, error.value.message, error.value.node) == (
        "forms", "Neg's field operand holds a Lam, not a form of defunc's Expr", lam)
    with pytest.raises(VerifyError) as error:
        layout.verify(main(typed.Int(1, INT)))  # defunc's Proc, in a program of layout's very class
    assert error.value.message == "Program's field procs holds a Proc of ir.defunc, not a form of layout's Proc"
    with pytest.raises(VerifyError) as error:
        layout.verify(main(typed.Int(1, INT), (-3, -3, -2, "0")))
    assert error.value.message == "Frame's field locals_size holds a str '0', not an int"


@pytest.mark.parametrize("args, message", [
    (["--show-ir", "nope"], "unknown IR 'nope'; known IRs: source, surface, typed"),
    (["--delta"], "--delta goes with --show-ir IR"),
])
def test_show_ir_usage_errors(capsys, args, message):
    result = cli(capsys, *args)
    assert result.code == 2 and message in result.err


def test_help_describes_show_ir_and_delta(capsys):
    with pytest.raises(SystemExit):
        cli(capsys, "--help")
    text = " ".join(capsys.readouterr().out.split())  # as one line, however wide the terminal
    assert "--show-ir IR" in text and "print the grammar of IR" in text
    assert "--delta" in text and "what IR changes from the IR before it" in text
    assert "python -m passes --show-ir typed --delta what typed adds to and removes from surface's" in text


def test_a_plugins_ir_declared_as_a_delta_shows_it(capsys):
    plugin = str(ROOT / "examples" / "plugins" / "fold_constants.py")
    result = cli(capsys, "--show-ir", "folded", "--delta", "--plugin", plugin)
    assert result.out == ("folded, from typed (+ added, - removed, ... typed's forms kept):\n\n"
                          "    Expr ::= ...\n"
                          "           - Neg(operand: Expr, type: Type)\n")


def test_the_grammar_text_is_the_same_whatever_the_hash_seed():
    outputs = {subprocess.run([sys.executable, "-m", "passes", "--show-ir", "typed"], cwd=ROOT, check=True,
                              capture_output=True, text=True, env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout
               for seed in ("1", "2")}
    assert len(outputs) == 1


# -- infer through the shared traversal ------------------------------------------------


def test_infer_writes_only_the_lambda_and_fills_every_type():
    rules = [name for name in vars(infer.Builder) if name[:1].isupper()]
    assert rules == ["Lam"]  # every other form is rebuilt by the shared traversal
    assert "fill_type" in vars(infer.Builder)


def test_a_rewriter_that_cannot_fill_a_new_field_says_which():
    class NoTypes(Rewriter):
        pass_name = "no-types"

    with pytest.raises(MissingRule) as error:
        NoTypes(typed.IR)(surface.Int(1))
    assert str(error.value) == ("pass 'no-types' has no rule for form Int: 'typed''s Int has a field 'type' "
                                "that the input lacks, and no `fill_type` gives it")


def test_the_readme_shows_typed_as_it_is_declared():
    readme = (ROOT / "README.md").read_text()
    shown = readme[readme.index('GRAMMAR = surface.GRAMMAR.extend("typed"'):]
    shown = shown[:shown.index("```")]
    declared = (ROOT / "ir" / "typed.py").read_text()
    for line in shown.strip().splitlines():
        assert line.strip() in declared, line
