"""defunc: typed, with every function value a closure and every call direct.

Its grammar is GRAMMAR below, a delta of typed's: procedures instead of
lambdas, each form with the syntax it prints in.

Types: every FunT has become a ClosureT (inside captures too), and a
ClosureT of a boxed set a `Box closure[...]` wherever a value of it is kept;
unboxed, it is only the type of a `closure` being boxed or called, or of an
`unbox`. Operands are listed in evaluation order (right to left: the
argument before the function).
"""

from __future__ import annotations

from ir import IRSpec, VerifyError
from ir import pretty as pp
from ir import typed
from ir.pretty import concat, group, hardline, line, nest
from ir.scope import Scope
from ir.surface import APPLY, ATOM, SEQ
from ir.traverse import children
from ir.boxing import BoxedSet, show_boxed
from ir.types import (UNIT, BoxT, Capture, ClosureT, FiberT, FunctionFinder, InfiniteSize, TupleT, Type,
                      cell_size, show_type)

GRAMMAR = typed.GRAMMAR.extend("defunc", """
    Program ::= Program(procs: (Proc, ...), source: Source, boxed: (BoxedSet, ...) = (),
                        value_type: Type? = None)
                 [value T] boxed ... proc ...: Main first; boxed, the lambda sets whose closures
                 are boxed, each with the cycle of captures that boxing it breaks (ir/boxing.py):
                 `boxed inc | dbl | lam1, breaking lam1.f`; value_type, the type of the program's
                 value as co writes it when it holds a function type, else None
    Proc ::= Proc(name: str, param: str, param_type: Type, captures: (Capture, ...), result_type: Type,
                  body: Expr, span: Span)
                 proc f (x : T) {y: T} -> T = body: a lifted lambda (named after it), or
                 Main, Spawn, Spawn1, ... (param `_ : {}`)
    Expr ::= ...
           - Lam, App, LetRec, Spawn
           + Closure(lambda_name: str, captures: Expr, type: ClosureT)
                 closure lam {x, y}: lambda_name's capture record (a Tuple, or OwnCaptures), as
                 a value of type.lambdas (tag and padding implied)
           + OwnCaptures(type: TupleT)                        <captures>
                 the current procedure's capture record (how a `let rec` function sees itself)
           + Call(proc: str, arg: Expr, closure: Expr, type: Type)
                 call f arg closure: a direct call; closure's set has the one member proc
           + Dispatch(arms: (str, ...), arg: Expr, closure: Expr, type: Type)
                 dispatch[f | g] arg closure: closure's set has several members; arm i is a
                 direct call of arms[i], member i of the set
           + Spawn(proc: str, captures: Expr, type: FiberT)   spawn Spawn1 {x, y}
                 a new fiber running the lifted procedure proc
           + Unreachable(type: Type)                          <unreachable : T>
                 a call through an empty lambda set: no such value exists
           + Box(value: Expr, type: BoxT)                     box e
                 a closure of a boxed set, made one cell referring to a record of its cells
           + Unbox(box: Expr, type: Type)                     unbox e
                 the closure a Box refers to, to call it
""", kinds=(ClosureT, TupleT, FiberT, BoxT, BoxedSet))
GRAMMAR.export(globals())  # the forms: defunc.Program, defunc.Proc, defunc.Closure, ...; typed's Int, Var, ...


MAIN = "Main"
UNIT_PARAM = "_"  # Main's and the spawned procedures' parameter: no source name can clash


def capture_record(captures: tuple[Capture, ...]) -> TupleT:
    return TupleT(tuple(c.type for c in captures))


def value_type(program) -> Type:
    """The type the program's value prints with: as co writes it (a defunc or layout program)."""
    return program.value_type or program.procs[0].result_type


class Printer(typed.Printer):
    """co-like syntax: one `proc` per procedure, binders typed."""

    def program(self, program) -> str:
        value = "" if program.value_type is None else f"value {show_type(program.value_type)}\n"
        boxed = "".join(f"boxed {show_boxed(b)}\n" for b in program.boxed)
        procs = "\n".join(pp.render(self.proc_doc(p)) + "\n" for p in program.procs)
        return f"{value}{boxed}\n{procs}" if value or boxed else procs

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

    def doc_Box(self, e):
        return group("box", nest(2, line, self.doc(e.value, ATOM))), APPLY

    def doc_Unbox(self, e):
        return group("unbox", nest(2, line, self.doc(e.box, ATOM))), APPLY


def print_program(program: Program) -> str:
    return Printer().program(program)


class Checker:
    """The defunc invariants beyond its grammar's: no function type left,
    every call naming an existing procedure, every variable bound.
    Later IRs extend it (`initial_scope`, `check`)."""

    def check_program(self, program) -> None:
        self.boxed = {b.names for b in program.boxed}
        if len(self.boxed) != len(program.boxed):
            raise VerifyError("boxed-sets", "a lambda set is boxed twice", program)
        self.fine_types: set[Type] = set()  # types whose closures are boxed as the program says
        self.fine_sets: set[tuple[str, ...]] = set()  # sets whose captures' types are
        self.has_function = FunctionFinder()
        self.procs = {p.name: p for p in program.procs}
        if len(self.procs) != len(program.procs):
            raise VerifyError("unique-procs", "two procedures have the same name", program)
        if not program.procs or program.procs[0].name != MAIN:
            raise VerifyError("main-first", f"the first procedure must be {MAIN}", program)
        main = program.procs[0]
        if main.param_type != UNIT or main.captures:
            raise VerifyError("main-signature", f"{MAIN} takes `{UNIT_PARAM} : {{}}` and captures nothing", main)
        if program.value_type is not None and not self.has_function(program.value_type):
            raise VerifyError("value-type", f"the value's type {show_type(program.value_type)} has no function "
                              f"type: {MAIN}'s result type says it", program)
        for proc in program.procs:
            self.check_proc(proc)

    def check_proc(self, proc) -> None:
        for t in (proc.param_type, proc.result_type, *(c.type for c in proc.captures)):
            self.check_type(proc, t)
        try:
            for t in (proc.param_type, proc.result_type, capture_record(proc.captures)):
                cell_size(t)
        except InfiniteSize as cycle:
            raise VerifyError("finite-size", f"{cycle} (its lambda set must be boxed)", proc) from None
        self.proc = proc
        self.check(proc.body, Scope(self.initial_scope(proc)))

    def initial_scope(self, proc) -> dict:
        return {proc.param: proc.param_type} | {c.name: c.type for c in proc.captures}

    def check_type(self, node, t: Type) -> None:
        if self.has_function(t):
            raise VerifyError("no-function-types", f"function type left in {show_type(t)}", node)
        if isinstance(node, (Closure, Unbox)):
            # The one place a closure of a boxed set is not in its Box: made, or unboxed to be called.
            self.check_members(node, t.lambdas) if isinstance(t, ClosureT) else self.check_boxing(node, t)
        else:
            self.check_boxing(node, t)

    def check_boxing(self, node, t: Type) -> None:
        """Closures of the boxed sets are kept in Boxes, and a Box holds one of them."""
        if t in self.fine_types:
            return
        match t:
            case TupleT(elems):
                for e in elems:
                    self.check_boxing(node, e)
            case FiberT(result):
                self.check_boxing(node, result)
            case BoxT(ClosureT(lambdas)) if lambdas.names in self.boxed:
                self.check_members(node, lambdas)
            case BoxT():
                raise VerifyError("boxed-sets", f"{show_type(t)} boxes no lambda set the program boxes", node)
            case ClosureT(lambdas):
                if lambdas.names in self.boxed:
                    raise VerifyError("boxed-sets", f"a closure of the boxed set {' | '.join(lambdas.names)} "
                                      f"is kept unboxed, in {show_type(t)}", node)
                self.check_members(node, lambdas)
        self.fine_types.add(t)

    def check_members(self, node, lambdas) -> None:
        if lambdas.names not in self.fine_sets:
            self.fine_sets.add(lambdas.names)  # first: a capture may lead back to this set
            for member in lambdas.members:
                for capture in member.captures:
                    self.check_boxing(node, capture.type)

    def check_callee(self, node, name: str) -> None:
        if name not in self.procs:
            raise VerifyError("call-existing-proc", f"no procedure named {name}", node)

    def check_closure_operand(self, e) -> None:
        if not isinstance(e.closure.type, ClosureT):
            raise VerifyError("call-closure", f"calling through a {show_type(e.closure.type)}, not a closure "
                              "(a boxed closure is unboxed to be called)", e)

    def check_call(self, e) -> None:
        self.check_closure_operand(e)
        members = e.closure.type.lambdas.names
        if members != (e.proc,):
            raise VerifyError("call-member", f"calling {e.proc} through lambda set {members}", e)
        self.check_callee(e, e.proc)

    def check(self, e, scope: Scope) -> None:
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
                self.check_closure_operand(e)
                members = closure.type.lambdas.names
                if arms != members or len(arms) < 2:
                    raise VerifyError("dispatch-arms", f"arms {arms} for lambda set {members}", e)
                for arm in arms:
                    self.check_callee(e, arm)
            case OwnCaptures(type=t):
                if t != capture_record(self.proc.captures):
                    raise VerifyError("own-captures", f"{self.proc.name} has no captures of type {show_type(t)}", e)
            case Box(value=value, type=t):
                if t != BoxT(value.type):
                    raise VerifyError("box-type", f"boxing a {show_type(value.type)} makes no {show_type(t)}", e)
            case Unbox(box=box, type=t):
                if BoxT(t) != box.type:
                    raise VerifyError("box-type", f"unboxing a {show_type(box.type)} gives no {show_type(t)}", e)
        for child in children(e):
            self.check(child, scope)


def verify(program: Program) -> None:
    GRAMMAR.check(program)
    Checker().check_program(program)


def _parse(text: str, name: str) -> Program:
    from ir.defunc_syntax import parse_program

    return parse_program(text, name)


IR = IRSpec(
    grammar=GRAMMAR,
    summary="lambdas lifted to procedures; function values are closures; every call direct",
    printer=print_program,
    verifier=verify,
    parser=_parse,
)
