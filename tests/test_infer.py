"""Type inference against LANGUAGE.md: types, lambda names, lambda sets and
captures, sparse tuples, every type error at its position, and the typed
IR's verifier.

Every expected type below was worked out by hand from LANGUAGE.md's rules
(unification, no let-polymorphism, unconstrained variables default to `{}`,
lambdas named after their let or `lam`, `lam1`, ... in source order,
captures in order of first use).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ir import VerifyError
from ir import typed as T
from ir.source import CompileError, Source
from ir.traverse import walk
from ir.types import INT, Capture, FunT, LambdaMember, LambdaSet, show_type
from passes.infer import infer_program
from passes.parse import parse_program

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.co"))


def typed(text: str) -> T.Program:
    return infer_program(parse_program(Source("t.co", text)))


def type_of(text: str) -> str:
    return show_type(typed(text).body.type)


def bindings(program: T.Program) -> dict[str, list[str]]:
    """Each name bound by let, let rec or a `Done arm, with its types in source order."""
    out: dict[str, list[str]] = {}
    for node in walk(program.body):
        if isinstance(node, (T.Let, T.LetRec)):
            out.setdefault(node.name, []).append(show_type(node.value.type))
        elif isinstance(node, T.Stat):
            out.setdefault(node.done_name, []).append(show_type(node.fiber.type.result))
    return out


def lambdas(program: T.Program) -> list[tuple[str, list[str]]]:
    """Every lambda in source order: its name and its captures as `x: T`."""
    return [(node.name, [f"{c.name}: {show_type(c.type)}" for c in node.captures])
            for node in walk(program.body) if isinstance(node, T.Lam)]


def type_error(text: str) -> tuple[str, CompileError]:
    with pytest.raises(CompileError) as caught:
        typed(text)
    error = caught.value
    assert error.span is not None, "a type error always points somewhere"
    line, col = Source("t.co", text).position(error.span.start)
    return f"{line}:{col}", error


def read_example(name: str) -> T.Program:
    path = ROOT / "examples" / name
    return infer_program(parse_program(Source(path.name, path.read_text())))


# -- types of whole programs ------------------------------------------------------

PROGRAM_TYPES = {
    "42": "int",
    "-7": "int",
    "true": "bool",
    "{}": "{}",
    "yield": "{}",
    "{1, true, {}}": "{int; bool; {}}",
    "{1, {true, 2}}": "{int; {bool; int}}",
    "1 < 2": "bool",
    "1 == 2": "bool",
    "true == false": "bool",
    "1; true": "bool",
    "{1, 2}.1": "int",
    "let t = {1, true} in t.1": "bool",
    "if true then 1 else 2": "int",
    "spawn 1": "Fiber int",
    "spawn (spawn 1)": "Fiber (Fiber int)",
    "spawn {1, true}": "Fiber {int; bool}",
    "resume (spawn 1)": "Fiber int",
    "stat spawn 1 | `Pending -> 0 | `Done v -> v": "int",
    "\\x -> x + 1": "int -[lam {}]-> int",
    "\\n -> n < 0": "int -[lam {}]-> bool",
    "\\b -> if b then 1 else 2": "bool -[lam {}]-> int",
    "let add = \\a -> \\m -> a + m in add": "int -[add {}]-> int -[lam {a: int}]-> int",
    "let add = \\a -> \\m -> a + m in add 1": "int -[lam {a: int}]-> int",
    "let add = \\a -> \\m -> a + m in add 1 2": "int",
    "\\f -> f 1 + 1": "(int -[]-> int) -[lam {}]-> int",
    "let f = \\x -> x in let g = \\x -> x + 1 in f 1 + g 2": "int",
    "let x = 1 in let x = true in x": "bool",
    "let rec f = \\n -> if n < 1 then 0 else f (n - 1) in f": "int -[f {}]-> int",
    "spawn yield": "Fiber {}",
}


@pytest.mark.parametrize("text", PROGRAM_TYPES)
def test_program_type(text):
    assert type_of(text) == PROGRAM_TYPES[text]


def test_lambda_set_can_be_empty_only_where_no_lambda_flows():
    # `f` is never applied to a lambda: its parameter's set stays empty.
    # (A function type with an empty set is never called at run time.)
    program = typed("\\f -> f 1 + 1")
    assert isinstance(program.body.type, FunT)
    assert program.body.type.param.lambdas == LambdaSet.of(())


# -- unconstrained variables default to {} -------------------------------------

def test_unconstrained_variables_default_to_unit():
    assert type_of("\\x -> x") == "{} -[lam {}]-> {}"
    assert type_of("let f = \\x -> 1 in f") == "{} -[f {}]-> int"
    assert bindings(typed("let f = \\x -> 0 in f (\\y -> y)")) == {
        "f": ["({} -[lam {}]-> {}) -[f {}]-> int"]}
    assert bindings(typed("\\x -> let y = x in y")) == {"y": ["{}"]}


# -- the examples, binding by binding ------------------------------------------

DISPATCH_F = ("int -[f {x: int, y: int, z: int}]-> "
              "int -[lam {x: int} | lam1 {x: int, y: int} | lam2 {x: int, y: int, z: int}]-> int")


def test_dispatch_conditional_closures_form_a_three_member_set():
    program = read_example("dispatch.co")
    assert bindings(program) == {"x": ["int"], "y": ["int"], "z": ["int"], "f": [DISPATCH_F]}
    assert show_type(program.body.type) == "{int; int; int}"
    f_type = next(n for n in walk(program.body) if isinstance(n, T.Let) and n.name == "f").value.type
    assert f_type.result.lambdas == LambdaSet.of((
        LambdaMember("lam", (Capture("x", INT),)),
        LambdaMember("lam1", (Capture("x", INT), Capture("y", INT))),
        LambdaMember("lam2", (Capture("x", INT), Capture("y", INT), Capture("z", INT))),
    ))
    assert f_type.result.lambdas.tag_of("lam2") == 2


COMPOSED = "int -[lam1 {f: int -[lam1 | inc {} | dbl {}]-> int, g: int -[lam1 | inc {} | dbl {}]-> int} | inc {} | dbl {}]-> int"
EXAMPLE_BINDINGS = {
    "countdown.co": ({"loop": ["{int; int} -[loop {}]-> int"]}, "int"),
    "curry.co": ({
        "add3": ["int -[add3 {}]-> int -[lam {a: int}]-> int -[lam1 {a: int, b: int}]-> int"],
        "partial": ["int -[lam {a: int}]-> int -[lam1 {a: int, b: int}]-> int"],
        "twice": ["(int -[lam3 {}]-> int) -[twice {}]-> int -[lam2 {g: int -[lam3 {}]-> int}]-> int"],
    }, "{int; int; int}"),
    "fib_fiber.co": ({
        "fib": ["int -[fib {}]-> int"],
        "exec": ["{Fiber int; int; int} -[exec {}]-> {Fiber int; int; int}"],
        "next": ["Fiber int"],
        "n": ["int"],
        "runFib": ["Fiber int"],
        "result": ["{Fiber int; int; int}"],
    }, "{int; int}"),
    "handles.co": ({
        "child": ["int -[child {}]-> {int; int}"],
        "a": ["Fiber {int; int}"],
        "b": ["Fiber {int; int}"],
    }, "{Fiber {int; int}; Fiber {int; int}}"),
    # build's set: its base \\x -> x (lam) and \\x -> g x + n (lam1), which captures a g of that set.
    "chain.co": ({
        "build": ["int -[build {}]-> int -[lam {} | lam1 {g: int -[lam {} | lam1]-> int, n: int}]-> int"],
        "g": ["int -[lam {} | lam1 {g: int -[lam {} | lam1]-> int, n: int}]-> int"],
        # lam2, \\x -> s.1 (x + s.0), captures s, which holds one of its own set; lam3 is \\x -> x.
        "grow": ["{int; int -[lam2 {s: {int; int -[lam2 | lam3 {}]-> int}} | lam3 {}]-> int} -[grow {}]-> "
                 "int -[lam2 {s: {int; int -[lam2 | lam3 {}]-> int}} | lam3 {}]-> int"],
    }, "{int; int}"),
    # compose's innermost lambda, lam1, joins the set of inc and dbl, whose closures f and g it captures.
    "compose.co": ({
        "compose": [f"({COMPOSED}) -[compose {{}}]-> ({COMPOSED}) -[lam {{f: {COMPOSED}}}]-> {COMPOSED}"],
        "inc": [COMPOSED],
        "dbl": [COMPOSED],
        "k": [COMPOSED],
    }, f"{{int; int; {COMPOSED}}}"),
    "pingpong.co": ({
        "worker": ["int -[worker {}]-> int"],
        "w": ["Fiber int"],
        "relay": ["(Fiber int) -[relay {}]-> Fiber int"],
        "middle": ["Fiber (Fiber int)"],
        "w2": ["Fiber int"],
        "v": ["int"],
    }, "{int; bool}"),
}


@pytest.mark.parametrize("name", EXAMPLE_BINDINGS)
def test_example_binding_types(name):
    program = read_example(name)
    expected_bindings, expected_type = EXAMPLE_BINDINGS[name]
    assert bindings(program) == expected_bindings
    assert show_type(program.body.type) == expected_type


def test_every_example_is_covered():
    # church.co's types are pages long: its value is checked (tests/test_run.py).
    assert {p.name for p in EXAMPLES} == set(EXAMPLE_BINDINGS) | {"dispatch.co", "church.co"}


# -- lambda names -----------------------------------------------------------------

LAMBDA_NAMES = {
    # let names, anonymous ones lam, lam1, ... in source order, repeats get suffixes
    "let f = \\x -> 1 in let f = \\y -> 2 in let g = \\z -> 3 in {(\\a -> a) 1, (\\b -> b) 2}":
        ["f", "f1", "g", "lam", "lam1"],
    "(\\a -> a) (\\b -> b) 1": ["lam", "lam1"],
    "let lam = \\x -> x in let g = \\y -> y in (\\z -> z) 1": ["lam", "g", "lam1"],
    "let f = \\x -> x in let f1 = \\y -> y in let f = \\z -> z in 0": ["f", "f1", "f2"],
    "(\\x -> let g = \\y -> y in g x) 1": ["lam", "g"],
    "let g = (\\x -> x) 1 in \\y -> y": ["lam", "lam1"],
    "let f = (\\x -> x) in f 1": ["f"],
    "let rec go = \\n -> go n in 0": ["go"],
    "let h = \\a -> \\b -> \\c -> a in 0": ["h", "lam", "lam1"],
    "{\\a -> a + 1, let k = \\b -> b + 1 in k, \\c -> c + 1}": ["lam", "k", "lam1"],
}


@pytest.mark.parametrize("text", LAMBDA_NAMES)
def test_lambda_names(text):
    assert [name for name, _ in lambdas(typed(text))] == LAMBDA_NAMES[text]


def test_curry_lambda_names_follow_source_order():
    assert [name for name, _ in lambdas(read_example("curry.co"))] == \
        ["add3", "lam", "lam1", "twice", "lam2", "lam3"]


def test_lambda_names_are_unique_in_every_example():
    for path in EXAMPLES:
        names = [name for name, _ in lambdas(read_example(path.name))]
        assert len(names) == len(set(names)), path.name


# -- captures -----------------------------------------------------------------------

CAPTURES = {
    "let a = 1 in let b = 2 in \\x -> b + a + b": [("lam", ["b: int", "a: int"])],
    "let a = 1 in let b = 2 in \\x -> \\y -> a + b":
        [("lam", ["a: int", "b: int"]), ("lam1", ["a: int", "b: int"])],
    "let a = 1 in \\x -> \\y -> x + a": [("lam", ["a: int"]), ("lam1", ["x: int", "a: int"])],
    "let a = 1 in \\a -> a": [("lam", [])],
    "\\x -> let y = x in \\z -> y": [("lam", []), ("lam1", ["y: {}"])],
    "let p = {1, true} in \\u -> p.1": [("lam", ["p: {int; bool}"])],
    "let a = 1 in \\x -> spawn (a + x)": [("lam", ["a: int"])],
    "let c = true in \\x -> if c then x else x + 1": [("lam", ["c: bool"])],
    "let s = spawn 1 in stat s | `Pending -> \\x -> 0 | `Done v -> \\x -> v":
        [("lam", []), ("lam1", ["v: int"])],
    "let f = \\x -> x + 1 in \\y -> f y": [("f", []), ("lam", ["f: int -[f {}]-> int"])],
    # A let rec lambda does not capture itself...
    "let k = 10 in let rec f = \\n -> if n < 1 then k else f (n - 1) in f 3": [("f", ["k: int"])],
    # ... but a lambda inside it does capture it.
    "let rec f = \\n -> let g = \\m -> f m in if n < 1 then 0 else g (n - 1) in f 5":
        [("f", []), ("g", ["f: int -[f {}]-> int"])],
}


@pytest.mark.parametrize("text", CAPTURES)
def test_captures_in_order_of_first_use(text):
    assert lambdas(typed(text)) == CAPTURES[text]


def test_a_lambdas_type_lists_its_own_captures():
    program = typed("let k = 10 in let rec f = \\n -> if n < 1 then k else f (n - 1) in f 3")
    assert bindings(program)["f"] == ["int -[f {k: int}]-> int"]


def test_curried_let_rec_calling_itself_from_the_inner_lambda():
    program = typed("let rec add = \\a -> \\b -> if a == 0 then b else add (a - 1) (b + 1) in add 3 4")
    assert show_type(program.body.type) == "int"
    assert [name for name, _ in lambdas(program)] == ["add", "lam"]


# -- lambda sets union where function types meet -------------------------------

def test_lambda_sets_union_in_source_order():
    text = "let g = \\x -> x * 2 in let f = \\x -> x + 1 in if true then f else g"
    assert type_of(text) == "int -[g {} | f {}]-> int"


def test_stat_arms_union_lambda_sets():
    text = "let s = spawn 1 in stat s | `Pending -> \\x -> 0 | `Done v -> \\x -> v"
    assert type_of(text) == "{} -[lam {} | lam1 {v: int}]-> int"


def test_arguments_union_lambda_sets():
    text = "let apply = \\f -> f 1 in {apply (\\x -> x + 1), apply (\\y -> y * 2)}"
    program = typed(text)
    assert bindings(program) == {"apply": ["(int -[lam {} | lam1 {}]-> int) -[apply {}]-> int"]}
    assert show_type(program.body.type) == "{int; int}"


# -- sparse tuples ------------------------------------------------------------------

def test_sparse_access_becomes_dense_at_a_tuple_literal():
    program = typed("(\\t -> t.1 == 10) {5, 10}")
    assert show_type(program.body.type) == "bool"
    assert lambdas(program) == [("lam", [])]
    lam = next(n for n in walk(program.body) if isinstance(n, T.Lam))
    assert show_type(lam.type) == "{int; int} -[lam {}]-> bool"


def test_sparse_accesses_merge():
    assert bindings(typed("let f = \\t -> t.0 + t.1 in f {1, 2}")) == {"f": ["{int; int} -[f {}]-> int"]}
    assert bindings(typed("let f = \\t -> t.2 in f {1, true, {}}")) == {
        "f": ["{int; bool; {}} -[f {}]-> {}"]}
    assert bindings(typed("let f = \\t -> {t.2, t.0} in f {1, true, {}}")) == {
        "f": ["{int; bool; {}} -[f {}]-> {{}; int}"]}


def test_sparse_tuple_meets_a_tuple_whose_type_came_first():
    text = "let t = {1, true} in let f = \\u -> u.1 in f t"
    assert bindings(typed(text)) == {"t": ["{int; bool}"], "f": ["{int; bool} -[f {}]-> bool"]}


# -- no let-polymorphism ----------------------------------------------------------------

def test_no_let_polymorphism():
    where, error = type_error("let id = \\x -> x in {id 1, id true}")
    assert where == "1:31"
    assert "expected int, found bool" in error.message


def test_one_monotype_per_binding_is_fine_when_uses_agree():
    assert type_of("let id = \\x -> x in {id 1, id 2}") == "{int; int}"


# -- every type error, at its position --------------------------------------------------

TYPE_ERRORS = [
    # (program, line:col, phrases the message must hold)
    # type mismatch, naming both types
    ("1 + true", "1:5", ["type mismatch", "int", "bool"]),
    ("let x = 1 in\nif x then 2 else 3", "2:4", ["expected bool, found int"]),
    ("if true then 1 else false", "1:21", ["expected int, found bool"]),
    ("-true", "1:2", ["int", "bool"]),
    ("(\\x -> x + 1) true", "1:15", ["expected int, found bool"]),
    ("let f = \\t -> t.0 in {f {1, 2}, f {3}}", "1:35", ["{int; int}", "{int}"]),
    ("{1} == {1, 2}", "1:8", ["{int}", "{int; int}"]),
    ("spawn 1 == 1", "1:12", ["Fiber int", "int"]),
    ("let x = 1 in\n  x < true", "2:7", ["int", "bool"]),
    # not a function
    ("let n = 3 in\nn 4", "2:1", ["not a function", "int"]),
    ("true 4", "1:1", ["not a function", "bool"]),
    ("{1, 2} 3", "1:1", ["not a function", "{int; int}"]),
    ("let f = \\x -> x + 1 in f 1 2", "1:24", ["not a function", "int"]),
    # unbound variables
    ("foo", "1:1", ["unbound", "`foo`"]),
    ("let foo = 1 in fo", "1:16", ["unbound", "`fo`"]),
    ("\\x -> y", "1:7", ["unbound", "`y`"]),
    ("let x = x in 1", "1:9", ["unbound", "`x`"]),
    ("let rec f = \\x -> x in x", "1:24", ["unbound", "`x`"]),
    ("stat spawn 1 | `Pending -> v | `Done v -> v", "1:28", ["unbound", "`v`"]),
    ("(\\x -> x) 1;\nx", "2:1", ["unbound", "`x`"]),
    # tuple index out of range
    ("let t = {1, 2} in t.2", "1:19", ["no element 2", "{int; int}"]),
    ("{}.0", "1:1", ["no element 0"]),
    ("let g = \\t -> t.1 in g {1}", "1:24", ["no element 1", "{int}"]),
    ("(\\p -> {p.0, p.2}) {1, 2}", "1:20", ["no element 2", "{int; int}"]),
    # a tuple whose type never becomes known
    ("\\t -> t.1", "1:7", ["never known"]),
    ("let g = \\t -> t.1 in 3", "1:15", ["never known"]),
    ("\\t -> t.0 + t.2", "1:7", ["never known"]),
    # `==` on tuples, functions, fibers
    ("{1} == {1}", "1:1", ["=="]),
    ("{} == {}", "1:1", ["=="]),
    ("let f = \\x -> x + 1 in f == f", "1:24", ["==", "f"]),
    ("let p = spawn 1 in p == p", "1:20", ["==", "Fiber int"]),
    ("\\t -> t == {1}", "1:7", ["==", "{int}"]),
    # the condition of an if
    ("if 1 then 2 else 3", "1:4", ["bool", "int"]),
    ("if {} then 1 else 2", "1:4", ["bool", "{}"]),
    ("let x = spawn true in\nif x then 1 else 2", "2:4", ["bool", "Fiber bool"]),
    # infinite types
    ("\\x -> x x", "1:7", ["infinite"]),
    ("let rec f = \\x -> f in f", "1:19", ["infinite"]),
    ("\\t -> {t} == t", "1:14", ["infinite"]),
    # A tuple known only by its accessed elements closes a cycle as a variable does: t = {Fiber t}.
    # (Its conflict was shown after the cycle was made: expected Fiber {Fiber {Fiber ...}}, found int.)
    ("let rec f = \\t -> (t.0 + 1) + f {spawn t} in 0", "1:33",
     ["infinite type: {0: int, ...} occurs inside {Fiber {0: int, ...}}"]),
    ("let rec f = \\t -> t.1 + f {spawn t, 1} in 0", "1:27", ["infinite"]),  # was "nested too deeply"
    # u = {0: u, 1: 'a}, met as two such tuples merge.
    ("\\t -> \\u -> u.1; (if true then t.0 else u); if true then t else u", "1:65",
     ["infinite type: {1: 'a, ...} occurs inside {0: {1: 'a, ...}, ...}"]),
    # stat and resume on something that is not a fiber
    ("stat 1 | `Pending -> 1 | `Done x -> x", "1:6", ["Fiber", "int"]),
    ("resume 5", "1:8", ["Fiber", "int"]),
    ("resume true", "1:8", ["Fiber", "bool"]),
    ("let f = \\x -> x in stat f | `Pending -> 0 | `Done v -> 1", "1:25", ["Fiber"]),
]


@pytest.mark.parametrize("text, where, phrases", TYPE_ERRORS, ids=[e[0] for e in TYPE_ERRORS])
def test_type_error_positions(text, where, phrases):
    actual_where, error = type_error(text)
    assert actual_where == where, error.message
    missing = [p for p in phrases if p not in error.message]
    assert not missing, error.message


SELF_CONTAINING = "let a = \\x -> x + 1 in let l = \\y -> a y in let h = if true then a else l in h 3"


def test_a_closure_that_would_contain_itself_is_no_error_and_its_set_is_named():
    # h's set is {a, l}; l captures a, whose type is that same set, so an `l`
    # closure may hold an `l`: that set is boxed (it was a compile error before boxes).
    assert T.print_program(typed(SELF_CONTAINING)).splitlines()[:2] == [
        "# A closure of these lambda sets would contain itself: from defunc on, they are boxed.",
        "#   boxed a | l, breaking l.a",
    ]


def test_mismatch_notes_where_the_other_type_comes_from():
    text = "if true then {1} else {true}"
    where, error = type_error(text)
    assert where == "1:23"
    source = Source("t.co", text)
    assert [source.position(note.span.start) for note in error.notes] == [(1, 15), (1, 24)]


def test_unbound_variable_suggests_a_close_name():
    _, error = type_error("let counter = 1 in countr")
    assert "did you mean `counter`?" in error.message


# -- the typed verifier ------------------------------------------------------------

@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_verifier_accepts_every_example(path):
    T.verify(read_example(path.name))


@pytest.mark.parametrize("text", [*PROGRAM_TYPES, *CAPTURES, *LAMBDA_NAMES])
def test_verifier_accepts_inferred_programs(text):
    T.verify(typed(text))


def broken(typed_text: str) -> VerifyError:
    """What the verifier says of a program written in the typed IR's text (which
    keeps the types it writes, even where they break a typing rule)."""
    program = T.IR.parser(typed_text, "broken.typed")
    with pytest.raises(VerifyError) as caught:
        T.verify(program)
    return caught.value


def test_verifier_rejects_a_variable_with_the_wrong_type():
    # a is bound to an int but written as a bool, so its use is a bool.
    error = broken("let a : bool = 1 in {a}")
    assert (error.rule, error.message) == ("type-mismatch", "variable a: expected int, got bool")


def test_verifier_rejects_an_unbound_variable():
    assert broken("let a : int = 1 in b + 2").rule == "bound-variable"


def test_verifier_rejects_captures_that_differ_from_the_lambda_set():
    # The text writes a lambda's captures once, in its head, where they are also
    # its set's entry; only a pass can make the two differ.
    program = T.IR.parser("let a : int = 1 in \\(x : int) -[lam {a: int}]-> x + a", "t.typed")
    let = program.body
    assert let.body.captures == (Capture("a", INT),)
    no_captures = dataclasses.replace(let.body, captures=())
    with pytest.raises(VerifyError) as caught:
        T.verify(T.Program(dataclasses.replace(let, body=no_captures), program.source))
    assert caught.value.rule == "captures-match-set"


def test_verifier_rejects_captures_that_are_not_the_free_variables():
    # Consistent with its own set, but the body uses `a`, which it does not capture.
    assert broken("let a : int = 1 in \\(x : int) -[lam {}]-> x + a").rule == "captures-are-free-variables"


def test_verifier_rejects_a_capture_of_the_wrong_type():
    error = broken("let a : int = 1 in \\(x : int) -[lam {a: bool}]-> x + a")
    assert (error.rule, error.message) == ("type-mismatch", "capture a of lam: expected int, got bool")


def test_verifier_rejects_a_lambda_missing_from_its_own_set():
    # lam flows into g, whose written set holds only `other`, another lambda.
    text = "let g : int -[other {}]-> int = \\(x : int) -[lam {}]-> x + 1 in {g, \\(y : int) -[other {}]-> y}"
    assert broken(text).rule == "lambda-in-own-set"


def test_verifier_rejects_equality_on_tuples():
    assert broken("{} == {}").rule == "equality-type"


def test_verifier_rejects_a_projection_out_of_range():
    assert broken("{1, 2}.2").rule == "proj-index"


def test_verifier_rejects_an_if_whose_condition_is_not_bool():
    error = broken("if 1 then 1 else 2")
    assert (error.rule, error.message) == ("type-mismatch", "the condition: expected bool, got int")
