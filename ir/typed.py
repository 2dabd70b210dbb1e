"""typed: surface, with a type on every node and a name and captures on every lambda.

Types are those of ir.types; a lambda's own type is a FunT whose lambda set
holds it. Let, LetRec and Stat carry the type of what they bind through
their children (`value.type`, `fiber.type.result`). A `let rec` lambda does
not capture itself: inside its body, its own name stands for a closure
rebuilt from its own captures.
"""

from __future__ import annotations

from ir import IRSpec, Node, VerifyError
from ir import surface
from ir import pretty as pp
from ir.grammar import annotation
from ir.pretty import Doc, concat
from ir.scope import Scope
from ir.boxing import boxed_sets, show_boxed
from ir.surface import SEQ
from ir.traverse import children, walk
from ir.types import (BOOL, INT, UNIT, Capture, FiberT, FunT, LambdaSet, LambdaTable, TupleT, Type, show_member,
                      show_type)

GRAMMAR = surface.GRAMMAR.extend("typed", """
    Program ::= ... with lambdas: LambdaTable               every lambda's captures, by its name
    Expr ::= ... with type: Type
           - Lam
           + Lam(name: str, param: str, captures: (Capture, ...), body: Expr, type: FunT)
                 name: the lambda's own, unique; captures: in order of first use in the body
""", kinds=(Type, FunT, Capture, annotation(LambdaTable, factory=LambdaTable)))
GRAMMAR.export(globals())  # the forms: typed.Program, typed.Int, ...


class Printer(surface.Printer):
    """co syntax with the type of every binder and the name and captures of every lambda.
    A program some of whose lambda sets defunc will box says which, in comments above it."""

    def program(self, program: Program) -> str:
        boxed = boxed_sets(lambda_sets(program))
        if not boxed:
            return super().program(program)
        notes = "".join(f"#   boxed {show_boxed(b)}\n" for b in boxed)
        return ("# A closure of these lambda sets would contain itself: from defunc on, they are boxed.\n"
                f"{notes}{super().program(program)}")

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


def lambda_sets(program: Program) -> list[LambdaSet]:
    """The lambda set of every lambda, in the order a walk of the program meets them."""
    return [node.type.lambdas for node in walk(program.body) if isinstance(node, Lam)]


def free_variables(e: Expr) -> list[str]:
    """Free variables of e, in order of first occurrence."""
    return free_variables_of_each(e, ())[id(e)]


def free_variables_of_each(root: Expr, forms: tuple[type, ...]) -> dict[int, list[str]]:
    """The free variables of root and of every node of `forms` under it, each in
    order of first occurrence, by id of the node. One walk, in time linear in
    root's size, however deeply the nodes nest: a variable is added to the
    innermost chosen node it is free in, and to those further out until one
    already has it (then so do all the ones beyond)."""
    found: dict[int, dict[str, None]] = {id(root): {}}
    chosen: list[dict[str, None]] = [found[id(root)]]  # the chosen nodes around, innermost last
    bound = Scope()  # name -> how many chosen nodes were around its binder

    def use(name: str) -> None:
        for i in range(len(chosen) - 1, bound.get(name, 0) - 1, -1):
            if name in chosen[i]:
                break
            chosen[i][name] = None

    def go(e: Expr) -> None:
        match e:
            case Var(name=name):
                use(name)
                return
            case Lam(param=param, body=body):
                mark = bound.bind(param, len(chosen))
                go(body)
                bound.restore(mark)
                return
            case Let(name=name, value=value, body=body):
                go(value)
                mark = bound.bind(name, len(chosen))
                go(body)
                bound.restore(mark)
                return
            case LetRec(name=name, value=value, body=body):
                mark = bound.bind(name, len(chosen))
                go(value)
                go(body)
                bound.restore(mark)
                return
            case Stat(fiber=fiber, pending=pending, done_name=name, done=done):
                go(fiber)
                go(pending)
                mark = bound.bind(name, len(chosen))
                go(done)
                bound.restore(mark)
                return
        if isinstance(e, forms) and e is not root:
            chosen.append(found.setdefault(id(e), {}))
            for child in children(e):
                go(child)
            chosen.pop()
        else:
            for child in children(e):
                go(child)

    go(root)
    return {key: list(free) for key, free in found.items()}


def verify(program: Program) -> None:
    GRAMMAR.check(program)
    check_typing(program)


def check_typing(program: Program) -> None:
    """Re-check the typing of the whole program: every variable bound, every
    node typed consistently, every lambda's captures matching its free variables."""
    _Checker().check(program.body, Scope())


class _Enclosing:
    """A lambda being checked, its captures, and those its body was seen to use."""

    __slots__ = ("lam", "captures", "used")

    def __init__(self, lam: Lam):
        self.lam = lam
        self.captures = {c.name: c for c in lam.captures}
        self.used: set[str] = set()


class _Checker:
    """Walks the program with a scope of name -> (type, lambda depth of its binder).

    Captures are checked in time linear in the program: a variable bound
    outside the innermost enclosing lambda must be among that lambda's
    captures, and each capture is in turn a use of the variable where the
    lambda stands (so the next lambda out captures it too, if it is bound
    further out). Every capture must have been used by the body's end."""

    def __init__(self) -> None:
        self.enclosing: list[_Enclosing] = []  # innermost last

    def fail(self, rule: str, message: str, node) -> None:
        raise VerifyError(rule, message, node)

    def expect(self, node, actual: Type, expected: Type, what: str) -> None:
        if actual != expected:
            self.fail("type-mismatch", f"{what}: expected {show_type(expected)}, got {show_type(actual)}", node)

    def bind(self, scope: Scope, name: str, t: Type) -> int:
        return scope.bind(name, (t, len(self.enclosing)))

    def use(self, name: str, depth: int) -> None:
        """A use of name, bound `depth` lambdas deep, in the innermost enclosing lambda."""
        if depth < len(self.enclosing):
            inner = self.enclosing[-1]
            if name not in inner.captures:
                self.captures_differ(inner.lam)
            inner.used.add(name)

    def captures_differ(self, lam: Lam) -> None:
        names = [c.name for c in lam.captures]
        free = free_variables(lam)
        self.fail("captures-are-free-variables",
                  f"lambda {lam.name} captures {names} but its free variables are {free}", lam)

    def check(self, e: Expr, scope: Scope) -> None:
        match e:
            case Int():
                self.expect(e, e.type, INT, "an int literal")
            case Bool():
                self.expect(e, e.type, BOOL, "a bool literal")
            case Var(name=name):
                binding = scope.get(name)
                if binding is None:
                    self.fail("bound-variable", f"variable {name} is not bound", e)
                self.expect(e, e.type, binding[0], f"variable {name}")
                self.use(name, binding[1])
            case Lam():
                self.check_lambda(e, scope, None)
            case App(fn=fn, arg=arg):
                self.check(fn, scope)
                self.check(arg, scope)
                if not isinstance(fn.type, FunT):
                    self.fail("apply-function", f"applying a {show_type(fn.type)}", e)
                self.expect(e, arg.type, fn.type.param, "the argument")
                self.expect(e, e.type, fn.type.result, "the application")
            case Let(name=name, value=value, body=body):
                self.check(value, scope)
                mark = self.bind(scope, name, value.type)
                self.check(body, scope)
                scope.restore(mark)
                self.expect(e, e.type, body.type, "the let")
            case LetRec(name=name, value=value, body=body):
                self.check_lambda(value, scope, name)
                mark = self.bind(scope, name, value.type)
                self.check(body, scope)
                scope.restore(mark)
                self.expect(e, e.type, body.type, "the let rec")
            case If(cond=cond, then=then, else_=else_):
                for child in (cond, then, else_):
                    self.check(child, scope)
                self.expect(e, cond.type, BOOL, "the condition")
                self.expect(e, then.type, e.type, "the then branch")
                self.expect(e, else_.type, e.type, "the else branch")
            case BinOp(op=op, left=left, right=right):
                self.check(left, scope)
                self.check(right, scope)
                if op == "==":
                    if left.type not in (INT, BOOL):
                        self.fail("equality-type", f"== on {show_type(left.type)}", e)
                    self.expect(e, right.type, left.type, "the right operand")
                else:
                    self.expect(e, left.type, INT, "the left operand")
                    self.expect(e, right.type, INT, "the right operand")
                self.expect(e, e.type, BOOL if op in ("<", "==") else INT, f"the result of {op}")
            case Neg(operand=operand):
                self.check(operand, scope)
                self.expect(e, operand.type, INT, "the operand of -")
                self.expect(e, e.type, INT, "the result of -")
            case Tuple(elems=elems):
                for child in elems:
                    self.check(child, scope)
                self.expect(e, e.type, TupleT(tuple(x.type for x in elems)), "the tuple")
            case Proj(tuple=tup, index=index):
                self.check(tup, scope)
                if not isinstance(tup.type, TupleT) or index >= len(tup.type.elems):
                    self.fail("proj-index", f"no element {index} in {show_type(tup.type)}", e)
                self.expect(e, e.type, tup.type.elems[index], "the projection")
            case Seq(first=first, second=second):
                self.check(first, scope)
                self.check(second, scope)
                self.expect(e, e.type, second.type, "the sequence")
            case Spawn(body=body):
                self.check(body, scope)
                self.expect(e, e.type, FiberT(body.type), "the spawn")
            case Yield():
                self.expect(e, e.type, UNIT, "yield")
            case Resume(fiber=fiber):
                self.check(fiber, scope)
                if not isinstance(fiber.type, FiberT):
                    self.fail("resume-fiber", f"resuming a {show_type(fiber.type)}", e)
                self.expect(e, e.type, fiber.type, "the resume")
            case Stat(fiber=fiber, pending=pending, done_name=name, done=done):
                self.check(fiber, scope)
                if not isinstance(fiber.type, FiberT):
                    self.fail("stat-fiber", f"stat on a {show_type(fiber.type)}", e)
                self.check(pending, scope)
                mark = self.bind(scope, name, fiber.type.result)
                self.check(done, scope)
                scope.restore(mark)
                self.expect(e, pending.type, e.type, "the `Pending arm")
                self.expect(e, done.type, e.type, "the `Done arm")

    def check_lambda(self, lam: Lam, scope: Scope, self_name: str | None) -> None:
        """lam, standing where scope holds; self_name, if any, is how its body names it."""
        t = lam.type
        if not isinstance(t, FunT):
            self.fail("lambda-type", f"lambda {lam.name} has type {show_type(t)}", lam)
        try:
            member = t.lambdas.member(lam.name)
        except KeyError:
            self.fail("lambda-in-own-set", f"lambda {lam.name} is not in its own lambda set", lam)
        if member.captures != lam.captures:
            self.fail("captures-match-set", f"lambda {lam.name}'s captures differ from its lambda-set entry", lam)
        for capture in lam.captures:
            binding = scope.get(capture.name)
            if binding is None:
                self.captures_differ(lam)
            self.expect(lam, capture.type, binding[0], f"capture {capture.name} of {lam.name}")
            self.use(capture.name, binding[1])
        inner = _Enclosing(lam)
        self.enclosing.append(inner)
        mark = scope.mark()
        if self_name is not None:
            self.bind(scope, self_name, t)
        self.bind(scope, lam.param, t.param)
        self.check(lam.body, scope)
        scope.restore(mark)
        self.enclosing.pop()
        if len(inner.used) != len(inner.captures):
            self.captures_differ(lam)
        self.expect(lam, lam.body.type, t.result, f"the body of {lam.name}")


def _parse(text: str, name: str) -> Program:
    from ir.typed_syntax import parse_program

    return parse_program(text, name)


IR = IRSpec(
    grammar=GRAMMAR,
    summary="every node typed; every lambda named, with its captures and their types",
    printer=print_program,
    node_printer=print_node,
    verifier=verify,
    parser=_parse,
)
