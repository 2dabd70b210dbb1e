"""typed: surface + a type on every node, and a name and captures on every lambda.

    Program ::= Expr
    Expr ::= (every surface form, each with `type: Type`)
           | Lam(name, param, captures, body)   name: unique lambda name
                                                captures: ((x, T), ...) in order
                                                of first use in the body
The forms Let, LetRec and Stat also carry the type of what they bind
through their children (`value.type`, `fiber.type.result`).
Types are those of ir.types; a lambda's own type is a FunT whose lambda set
holds it. A `let rec` lambda does not capture itself: inside its body, its
own name stands for a closure rebuilt from its own captures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyrsistent import pmap

from ir import IRSpec, Node, VerifyError
from ir import surface
from ir import pretty as pp
from ir.pretty import Doc, concat
from ir.surface import SEQ
from ir.source import Source, Span
from ir.traverse import children
from ir.types import BOOL, INT, UNIT, Capture, FiberT, FunT, LambdaTable, TupleT, Type, show_member, show_type

_span = surface._span


class Expr(Node):
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Int(Expr):
    value: int
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Bool(Expr):
    value: bool
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Var(Expr):
    name: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Lam(Expr):
    name: str
    param: str
    captures: tuple[Capture, ...]
    body: Expr
    type: FunT
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class App(Expr):
    fn: Expr
    arg: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Let(Expr):
    name: str
    value: Expr
    body: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class LetRec(Expr):
    name: str
    value: Lam
    body: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class If(Expr):
    cond: Expr
    then: Expr
    else_: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Neg(Expr):
    operand: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Tuple(Expr):
    elems: tuple[Expr, ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Proj(Expr):
    tuple: Expr
    index: int
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Seq(Expr):
    first: Expr
    second: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Spawn(Expr):
    body: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Yield(Expr):
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Resume(Expr):
    fiber: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Stat(Expr):
    fiber: Expr
    pending: Expr
    done_name: str
    done: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Program(Node):
    body: Expr
    source: Source = field(compare=False, repr=False, default=Source("<none>", ""))
    lambdas: LambdaTable = field(compare=False, repr=False, default_factory=LambdaTable)


FORMS = (Int, Bool, Var, Lam, App, Let, LetRec, If, BinOp, Neg, Tuple, Proj, Seq,
         Spawn, Yield, Resume, Stat, Program)


class Printer(surface.Printer):
    """co syntax with the type of every binder and the name and captures of every lambda."""

    def binder(self, e, name: str, kind: str) -> str:
        if kind == "let":
            return f"{name} : {show_type(e.value.type)}"
        if kind == "done":
            return f"({name} : {show_type(e.fiber.type.result)})"
        raise AssertionError(kind)

    def lambda_head(self, e) -> Doc:
        own = show_member(e.type.lambdas.member(e.name))
        return concat(f"\\({e.param} : {show_type(e.type.param)}) -[{own}]->")


def print_node(node: Node) -> str:
    return pp.render(Printer().doc(node, SEQ))


def print_program(program: Program) -> str:
    return Printer().program(program)


def free_variables(e: Expr) -> list[str]:
    """Free variables of e, in order of first occurrence."""
    seen: dict[str, None] = {}

    def go(e: Expr, bound: frozenset[str]) -> None:
        match e:
            case Var(name=name):
                if name not in bound:
                    seen.setdefault(name)
            case Lam(param=param, body=body):
                go(body, bound | {param})
            case Let(name=name, value=value, body=body):
                go(value, bound)
                go(body, bound | {name})
            case LetRec(name=name, value=value, body=body):
                go(value, bound | {name})
                go(body, bound | {name})
            case Stat(fiber=fiber, pending=pending, done_name=name, done=done):
                go(fiber, bound)
                go(pending, bound)
                go(done, bound | {name})
            case _:
                for child in children(e):
                    go(child, bound)

    go(e, frozenset())
    return list(seen)


def verify(program: Program) -> None:
    """Re-check the typing of the whole program: every variable bound, every
    node typed consistently, every lambda's captures matching its free variables."""
    _Checker().check(program.body, pmap())


class _Checker:
    def fail(self, rule: str, message: str, node) -> None:
        raise VerifyError(rule, message, node)

    def expect(self, node, actual: Type, expected: Type, what: str) -> None:
        if actual != expected:
            self.fail("type-mismatch", f"{what}: expected {show_type(expected)}, got {show_type(actual)}", node)

    def check(self, e: Expr, env) -> None:
        if not isinstance(e, Expr) or not isinstance(getattr(e, "type", None), Type):
            self.fail("typed-node", f"{type(e).__name__} node without a type", e)
        match e:
            case Int():
                self.expect(e, e.type, INT, "an int literal")
            case Bool():
                self.expect(e, e.type, BOOL, "a bool literal")
            case Var(name=name):
                if name not in env:
                    self.fail("bound-variable", f"variable {name} is not bound", e)
                self.expect(e, e.type, env[name], f"variable {name}")
            case Lam():
                self.check_lambda(e, env, env, None)
            case App(fn=fn, arg=arg):
                self.check(fn, env)
                self.check(arg, env)
                if not isinstance(fn.type, FunT):
                    self.fail("apply-function", f"applying a {show_type(fn.type)}", e)
                self.expect(e, arg.type, fn.type.param, "the argument")
                self.expect(e, e.type, fn.type.result, "the application")
            case Let(name=name, value=value, body=body):
                self.check(value, env)
                self.check(body, env.set(name, value.type))
                self.expect(e, e.type, body.type, "the let")
            case LetRec(name=name, value=value, body=body):
                inner = env.set(name, value.type)
                self.check_lambda(value, inner, env, name)
                self.check(body, inner)
                self.expect(e, e.type, body.type, "the let rec")
            case If(cond=cond, then=then, else_=else_):
                for child in (cond, then, else_):
                    self.check(child, env)
                self.expect(e, cond.type, BOOL, "the condition")
                self.expect(e, then.type, e.type, "the then branch")
                self.expect(e, else_.type, e.type, "the else branch")
            case BinOp(op=op, left=left, right=right):
                self.check(left, env)
                self.check(right, env)
                if op == "==":
                    if left.type not in (INT, BOOL):
                        self.fail("equality-type", f"== on {show_type(left.type)}", e)
                    self.expect(e, right.type, left.type, "the right operand")
                else:
                    self.expect(e, left.type, INT, "the left operand")
                    self.expect(e, right.type, INT, "the right operand")
                self.expect(e, e.type, BOOL if op in ("<", "==") else INT, f"the result of {op}")
            case Neg(operand=operand):
                self.check(operand, env)
                self.expect(e, operand.type, INT, "the operand of -")
                self.expect(e, e.type, INT, "the result of -")
            case Tuple(elems=elems):
                for child in elems:
                    self.check(child, env)
                self.expect(e, e.type, TupleT(tuple(x.type for x in elems)), "the tuple")
            case Proj(tuple=tup, index=index):
                self.check(tup, env)
                if not isinstance(tup.type, TupleT) or index >= len(tup.type.elems):
                    self.fail("proj-index", f"no element {index} in {show_type(tup.type)}", e)
                self.expect(e, e.type, tup.type.elems[index], "the projection")
            case Seq(first=first, second=second):
                self.check(first, env)
                self.check(second, env)
                self.expect(e, e.type, second.type, "the sequence")
            case Spawn(body=body):
                self.check(body, env)
                self.expect(e, e.type, FiberT(body.type), "the spawn")
            case Yield():
                self.expect(e, e.type, UNIT, "yield")
            case Resume(fiber=fiber):
                self.check(fiber, env)
                if not isinstance(fiber.type, FiberT):
                    self.fail("resume-fiber", f"resuming a {show_type(fiber.type)}", e)
                self.expect(e, e.type, fiber.type, "the resume")
            case Stat(fiber=fiber, pending=pending, done_name=name, done=done):
                self.check(fiber, env)
                if not isinstance(fiber.type, FiberT):
                    self.fail("stat-fiber", f"stat on a {show_type(fiber.type)}", e)
                self.check(pending, env)
                self.check(done, env.set(name, fiber.type.result))
                self.expect(e, pending.type, e.type, "the `Pending arm")
                self.expect(e, done.type, e.type, "the `Done arm")
            case _:
                self.fail("typed-forms", f"{type(e).__name__} is not a typed form", e)

    def check_lambda(self, lam: Lam, body_env, capture_env, self_name: str | None) -> None:
        t = lam.type
        if not isinstance(t, FunT):
            self.fail("lambda-type", f"lambda {lam.name} has type {show_type(t)}", lam)
        try:
            member = t.lambdas.member(lam.name)
        except KeyError:
            self.fail("lambda-in-own-set", f"lambda {lam.name} is not in its own lambda set", lam)
        if member.captures != lam.captures:
            self.fail("captures-match-set", f"lambda {lam.name}'s captures differ from its lambda-set entry", lam)
        free = [x for x in free_variables(lam) if x != self_name and x in capture_env]
        names = [c.name for c in lam.captures]
        if sorted(free) != sorted(names):
            self.fail("captures-are-free-variables",
                      f"lambda {lam.name} captures {names} but its free variables are {free}", lam)
        for capture in lam.captures:
            self.expect(lam, capture.type, capture_env[capture.name], f"capture {capture.name} of {lam.name}")
        self.check(lam.body, body_env.set(lam.param, t.param))
        self.expect(lam, lam.body.type, t.result, f"the body of {lam.name}")


def _parse(text: str, name: str) -> Program:
    from ir.typed_syntax import parse_program

    return parse_program(text, name)


IR = IRSpec(
    name="typed",
    summary="every node typed; every lambda named, with its captures and their types",
    forms=FORMS,
    printer=print_program,
    node_printer=print_node,
    verifier=verify,
    parser=_parse,
)
