"""surface: the program as parsed, every node with its source span.

    Program ::= Expr
    Expr ::= Int(value) | Bool(value) | Var(name)
           | Lam(param, body)                    \\param -> body
           | App(fn, arg)                        fn arg
           | Let(name, value, body)              let name = value in body
           | LetRec(name, value: Lam, body)      let rec name = \\x -> ... in body
           | If(cond, then, else_)
           | BinOp(op, left, right)              op in + - * < ==
           | Neg(operand)                        -operand
           | Tuple(elems)                        {e0, e1, ...}
           | Proj(tuple, index)                  tuple.index
           | Seq(first, second)                  first; second
           | Spawn(body) | Yield() | Resume(fiber)
           | Stat(fiber, pending, done_name, done)
                 stat fiber | `Pending -> pending | `Done done_name -> done

Spans take no part in equality, so a program printed and parsed back equals
the original.
"""

from __future__ import annotations

from ir import IRSpec, Node, VerifyError
from ir import pretty as pp
from ir.pretty import Doc, concat, group, line, nest
from ir.immutable import immutable, uncompared
from ir.ints import fits
from ir.source import Source, Span
from ir.traverse import walk

NO_SPAN = Span(0, 0)


def _span() -> Span:
    return uncompared(NO_SPAN)  # type: ignore[return-value]


class Expr(Node):
    __slots__ = ()


@immutable
class Int(Expr):
    value: int
    span: Span = _span()


@immutable
class Bool(Expr):
    value: bool
    span: Span = _span()


@immutable
class Var(Expr):
    name: str
    span: Span = _span()


@immutable
class Lam(Expr):
    param: str
    body: Expr
    span: Span = _span()


@immutable
class App(Expr):
    fn: Expr
    arg: Expr
    span: Span = _span()


@immutable
class Let(Expr):
    name: str
    value: Expr
    body: Expr
    span: Span = _span()


@immutable
class LetRec(Expr):
    name: str
    value: Lam
    body: Expr
    span: Span = _span()


@immutable
class If(Expr):
    cond: Expr
    then: Expr
    else_: Expr
    span: Span = _span()


@immutable
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@immutable
class Neg(Expr):
    operand: Expr
    span: Span = _span()


@immutable
class Tuple(Expr):
    elems: tuple[Expr, ...]
    span: Span = _span()


@immutable
class Proj(Expr):
    tuple: Expr
    index: int
    span: Span = _span()


@immutable
class Seq(Expr):
    first: Expr
    second: Expr
    span: Span = _span()


@immutable
class Spawn(Expr):
    body: Expr
    span: Span = _span()


@immutable
class Yield(Expr):
    span: Span = _span()


@immutable
class Resume(Expr):
    fiber: Expr
    span: Span = _span()


@immutable
class Stat(Expr):
    fiber: Expr
    pending: Expr
    done_name: str
    done: Expr
    span: Span = _span()


@immutable
class Program(Node):
    body: Expr
    source: Source = uncompared(Source("<none>", ""))


FORMS = (Int, Bool, Var, Lam, App, Let, LetRec, If, BinOp, Neg, Tuple, Proj, Seq,
         Spawn, Yield, Resume, Stat, Program)

# Precedence levels, loosest first (LANGUAGE.md's table).
SEQ, PREFIX, COMPARE, ADD, MUL, UNARY, APPLY, ATOM = range(8)
BINOP_LEVEL = {"<": COMPARE, "==": COMPARE, "+": ADD, "-": ADD, "*": MUL}


class Printer:
    """Prints expressions as co source. Later IRs subclass it: they override
    how binders are shown and add their own forms (`doc_<Form>` methods)."""

    def program(self, program: Program) -> str:
        return pp.render(self.doc(program.body, SEQ)) + "\n"

    def doc(self, e: Node, level: int) -> Doc:
        """e's document, parenthesized if its own level is looser than `level`."""
        inner, own = getattr(self, "doc_" + type(e).__name__)(e)
        if own < level:
            return group("(", nest(1, inner), ")")
        return inner

    # Binders: later IRs annotate them with types or frame slots.
    def binder(self, e: Node, name: str, kind: str) -> str:
        return name

    def lambda_head(self, e: Node) -> Doc:
        return concat("\\", self.binder(e, e.param, "param"), " ->")

    def doc_Int(self, e) -> tuple[Doc, int]:
        return pp.text(str(e.value)), ATOM if e.value >= 0 else UNARY

    def doc_Bool(self, e):
        return pp.text("true" if e.value else "false"), ATOM

    def doc_Var(self, e):
        return pp.text(e.name), ATOM

    def doc_Yield(self, e):
        return pp.text("yield"), ATOM

    def doc_Lam(self, e):
        if type(e.body).__name__ == "Lam":  # a curried chain reads as one head: \a -> \b -> ...
            return concat(self.lambda_head(e), " ", self.doc(e.body, SEQ)), PREFIX
        return group(self.lambda_head(e), nest(2, line, self.doc(e.body, SEQ))), PREFIX

    def doc_App(self, e):
        return group(self.doc(e.fn, APPLY), nest(2, line, self.doc(e.arg, ATOM))), APPLY

    def let_doc(self, keyword: str, e, name_text: str) -> Doc:
        head = group(keyword, name_text, " =", nest(2, line, self.doc(e.value, SEQ)), line, "in")
        # A let chain reads as a column of bindings: the body always starts a line.
        return concat(head, pp.hardline, self.doc(e.body, SEQ))

    def doc_Let(self, e):
        return self.let_doc("let ", e, self.binder(e, e.name, "let")), PREFIX

    def doc_LetRec(self, e):
        return self.let_doc("let rec ", e, self.binder(e, e.name, "let")), PREFIX

    def doc_If(self, e):
        # An else-if chain stays in one column, however long it is.
        else_indent = 0 if type(e.else_).__name__ == "If" else 5
        return group(
            "if ", nest(3, self.doc(e.cond, SEQ)),
            line, "then ", nest(5, self.doc(e.then, PREFIX)),
            line, "else ", nest(else_indent, self.doc(e.else_, PREFIX)),
        ), PREFIX

    def doc_BinOp(self, e):
        level = BINOP_LEVEL[e.op]
        left_level = level + 1 if level == COMPARE else level
        return group(
            self.doc(e.left, left_level), " ", e.op, nest(2, line, self.doc(e.right, level + 1))
        ), level

    def doc_Neg(self, e):
        return concat("-", self.doc(e.operand, UNARY)), UNARY

    def doc_Tuple(self, e):
        if not e.elems:
            return pp.text("{}"), ATOM
        items = pp.join(concat(",", line), [self.doc(x, SEQ) for x in e.elems])
        return group("{", nest(1, items), "}"), ATOM

    def doc_Proj(self, e):
        return concat(self.doc(e.tuple, ATOM), ".", str(e.index)), ATOM

    def doc_Seq(self, e):
        # The first part of a sequence never extends over `;` by itself.
        return concat(self.doc(e.first, PREFIX + 1 if _extends(e.first) else PREFIX), ";",
                      line, self.doc(e.second, SEQ)), SEQ

    def doc_Spawn(self, e):
        return group("spawn", nest(2, line, self.doc(e.body, ATOM))), APPLY

    def doc_Resume(self, e):
        return group("resume", nest(2, line, self.doc(e.fiber, ATOM))), APPLY

    def doc_Stat(self, e):
        # An arm's body stops at the next `|`, so only a stat inside the first
        # arm is parenthesized, to keep whose arms are whose plain to see.
        pending_level = PREFIX + 1 if type(e.pending).__name__ == "Stat" else SEQ
        done_head = concat("| `Done ", self.binder(e, e.done_name, "done"), " ->")
        return group(
            "stat ", nest(5, self.doc(e.fiber, PREFIX + 1)),
            line, group("| `Pending ->", nest(4, line, self.doc(e.pending, pending_level))),
            line, group(done_head, nest(4, line, self.doc(e.done, SEQ))),
        ), PREFIX


def _extends(e: Node) -> bool:
    """Whether e ends in a form whose body would swallow a following `; e2`."""
    while type(e).__name__ == "If":
        e = e.else_
    return type(e).__name__ in ("Let", "LetRec", "Lam", "Stat")


def print_node(node: Node) -> str:
    return pp.render(Printer().doc(node, SEQ))


def print_program(program: Program) -> str:
    return Printer().program(program)


def verify(program: Program) -> None:
    for node in walk(program):
        if not isinstance(node, FORMS):
            raise VerifyError("surface-forms", f"{type(node).__name__} is not a surface form", node)
        if isinstance(node, LetRec) and not isinstance(node.value, Lam):
            raise VerifyError("letrec-lambda", "the right side of let rec must be a lambda", node)
        if isinstance(node, Int) and not fits(node.value):
            raise VerifyError("int-range", f"{node.value} does not fit in 64 bits", node)
        if isinstance(node, Proj) and node.index < 0:
            raise VerifyError("proj-index", "a tuple index is never negative", node)


def _parse(text: str, name: str) -> Program:
    from ir.surface_syntax import parse_program

    return parse_program(Source(name, text))


IR = IRSpec(
    name="surface",
    summary="the parsed program, every node with its source span",
    forms=FORMS,
    printer=print_program,
    node_printer=print_node,
    verifier=verify,
    parser=_parse,
)
