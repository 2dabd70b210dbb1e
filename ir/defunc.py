"""defunc: typed, with every function value a closure and every call direct.

    Program ::= Proc ...                       the first is Main
    Proc ::= Proc(name, param, param_type, captures, result_type, body)
                 a lifted lambda (named after it), `Main` (param `_ : {}`),
                 or `Spawn`, `Spawn1`, ... (param `_ : {}`)
    Expr ::= typed's forms, minus Lam, App, LetRec and typed's Spawn
           | Closure(lambda_name, captures, type)   closure lam {x, y}
                 lambda_name's capture record (a Tuple, or OwnCaptures),
                 as a value of type.lambdas (tag and padding implied)
           | OwnCaptures(type)                     <captures>
                 the current procedure's capture record (how a `let rec`
                 function sees itself)
           | Call(proc, arg, closure, type)        call f arg closure
                 a direct call; closure's set has the one member proc
           | Dispatch(arms, arg, closure, type)    dispatch[f | g] arg closure
                 closure's set has several members; arm i is a direct
                 call of arms[i], member i of the set
           | Spawn(proc, captures, type)           spawn Spawn1 {x, y}
                 a new fiber running the lifted procedure proc
           | Unreachable(type)                     <unreachable : T>
                 a call through an empty lambda set: no such value exists

Types: every FunT has become a ClosureT (inside captures too). Operands are
listed in evaluation order (right to left: the argument before the function).
"""

from __future__ import annotations

from ir import IRSpec, Node, VerifyError
from ir import pretty as pp
from ir import typed
from ir.immutable import immutable, uncompared
from ir.pretty import concat, group, hardline, line, nest
from ir.scope import Scope
from ir.source import Source, Span
from ir.surface import APPLY, ATOM, SEQ
from ir.traverse import children
from ir.typed import BinOp, Bool, Expr, If, Int, Let, Neg, Proj, Resume, Seq, Stat, Tuple, Var, Yield
from ir.types import UNIT, Capture, ClosureT, FiberT, FunctionFinder, TupleT, Type, show_type

_span = typed._span


@immutable
class Closure(Expr):
    lambda_name: str
    captures: Expr
    type: ClosureT
    span: Span = _span()


@immutable
class OwnCaptures(Expr):
    type: TupleT
    span: Span = _span()


@immutable
class Call(Expr):
    proc: str
    arg: Expr
    closure: Expr
    type: Type
    span: Span = _span()


@immutable
class Dispatch(Expr):
    arms: tuple[str, ...]
    arg: Expr
    closure: Expr
    type: Type
    span: Span = _span()


@immutable
class Spawn(Expr):
    proc: str
    captures: Expr
    type: FiberT
    span: Span = _span()


@immutable
class Unreachable(Expr):
    type: Type
    span: Span = _span()


@immutable
class Proc(Node):
    name: str
    param: str
    param_type: Type
    captures: tuple[Capture, ...]
    result_type: Type
    body: Expr
    span: Span = _span()


@immutable
class Program(Node):
    procs: tuple[Proc, ...]
    source: Source = uncompared(Source("<none>", ""))


MAIN = "Main"
UNIT_PARAM = "_"  # Main's and the spawned procedures' parameter: no source name can clash

FORMS = (Int, Bool, Var, Let, If, BinOp, Neg, Tuple, Proj, Seq, Yield, Resume, Stat,
         Closure, OwnCaptures, Call, Dispatch, Spawn, Unreachable, Proc, Program)


def capture_record(captures: tuple[Capture, ...]) -> TupleT:
    return TupleT(tuple(c.type for c in captures))


class Printer(typed.Printer):
    """co-like syntax: one `proc` per procedure, binders typed."""

    def program(self, program) -> str:
        return "\n".join(pp.render(self.proc_doc(p)) + "\n" for p in program.procs)

    def proc_doc(self, proc) -> pp.Doc:
        return concat(self.proc_head(proc), " =", nest(2, hardline, self.doc(proc.body, SEQ)))

    def proc_head(self, proc) -> str:
        captures = ", ".join(f"{c.name}: {show_type(c.type)}" for c in proc.captures)
        return (f"proc {proc.name} ({proc.param} : {show_type(proc.param_type)}) "
                f"{{{captures}}} -> {show_type(proc.result_type)}")

    def doc_Closure(self, e):
        return group("closure ", e.lambda_name, nest(2, line, self.doc(e.captures, ATOM))), APPLY

    def doc_OwnCaptures(self, e):
        return pp.text("<captures>"), ATOM

    def call_doc(self, head: str, e) -> pp.Doc:
        return group(head, nest(2, line, self.doc(e.arg, ATOM), line, self.doc(e.closure, ATOM)))

    def doc_Call(self, e):
        return self.call_doc(f"call {e.proc}", e), APPLY

    def doc_Dispatch(self, e):
        return self.call_doc(f"dispatch[{' | '.join(e.arms)}]", e), APPLY

    def doc_Spawn(self, e):
        return group("spawn ", e.proc, nest(2, line, self.doc(e.captures, ATOM))), APPLY

    def doc_Unreachable(self, e):
        return pp.text(f"<unreachable : {show_type(e.type)}>"), ATOM


def print_program(program: Program) -> str:
    return Printer().program(program)


class Checker:
    """The defunc invariants: only this IR's forms, no function type left,
    every call naming an existing procedure, every variable bound.
    Later IRs extend it (`forms`, `initial_scope`, `check`)."""

    forms = FORMS

    def check_program(self, program) -> None:
        self.has_function = FunctionFinder()
        self.procs = {p.name: p for p in program.procs}
        if len(self.procs) != len(program.procs):
            raise VerifyError("unique-procs", "two procedures have the same name", program)
        if not program.procs or program.procs[0].name != MAIN:
            raise VerifyError("main-first", f"the first procedure must be {MAIN}", program)
        main = program.procs[0]
        if main.param_type != UNIT or main.captures:
            raise VerifyError("main-signature", f"{MAIN} takes `{UNIT_PARAM} : {{}}` and captures nothing", main)
        for proc in program.procs:
            self.check_proc(proc)

    def check_proc(self, proc) -> None:
        self.check_form(proc)
        for t in (proc.param_type, proc.result_type, *(c.type for c in proc.captures)):
            self.check_type(proc, t)
        self.proc = proc
        self.check(proc.body, Scope(self.initial_scope(proc)))

    def initial_scope(self, proc) -> dict:
        return {proc.param: proc.param_type} | {c.name: c.type for c in proc.captures}

    def check_form(self, node) -> None:
        if not isinstance(node, self.forms):
            raise VerifyError("forms", f"{type(node).__name__} is not a form of this IR", node)

    def check_type(self, node, t: Type) -> None:
        if self.has_function(t):
            raise VerifyError("no-function-types", f"function type left in {show_type(t)}", node)

    def check_callee(self, node, name: str) -> None:
        if name not in self.procs:
            raise VerifyError("call-existing-proc", f"no procedure named {name}", node)

    def check_call(self, e) -> None:
        members = e.closure.type.lambdas.names
        if members != (e.proc,):
            raise VerifyError("call-member", f"calling {e.proc} through lambda set {members}", e)
        self.check_callee(e, e.proc)

    def check(self, e, scope: Scope) -> None:
        self.check_form(e)
        self.check_type(e, e.type)
        match e:
            case Var(name=name):
                if name not in scope:
                    raise VerifyError("bound-variable", f"variable {name} is not bound", e)
            case Let(name=name, value=value, body=body):
                self.check(value, scope)
                mark = scope.bind(name, value.type)
                self.check(body, scope)
                scope.restore(mark)
                return
            case Stat(fiber=fiber, pending=pending, done_name=name, done=done):
                self.check(fiber, scope)
                self.check(pending, scope)
                mark = scope.bind(name, fiber.type.result)
                self.check(done, scope)
                scope.restore(mark)
                return
            case Call():
                self.check_call(e)
            case Spawn(proc=proc):
                self.check_callee(e, proc)
                if self.procs[proc].param_type != UNIT:
                    raise VerifyError("spawn-param", f"{proc} is spawned, so it takes `{UNIT_PARAM} : {{}}`", e)
            case Dispatch(arms=arms, closure=closure):
                members = closure.type.lambdas.names
                if arms != members or len(arms) < 2:
                    raise VerifyError("dispatch-arms", f"arms {arms} for lambda set {members}", e)
                for arm in arms:
                    self.check_callee(e, arm)
            case OwnCaptures(type=t):
                if t != capture_record(self.proc.captures):
                    raise VerifyError("own-captures", f"{self.proc.name} has no captures of type {show_type(t)}", e)
        for child in children(e):
            self.check(child, scope)


def verify(program: Program) -> None:
    Checker().check_program(program)


def _parse(text: str, name: str) -> Program:
    from ir.defunc_syntax import parse_program

    return parse_program(text, name)


IR = IRSpec(
    name="defunc",
    summary="lambdas lifted to procedures; function values are closures; every call direct",
    forms=FORMS,
    printer=print_program,
    verifier=verify,
    parser=_parse,
)
