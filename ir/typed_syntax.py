"""Reading the typed IR back from its printed text; the base of the defunc and layout readers.

The text is co (ir/surface_syntax.py's grammar, whose parser this one
extends) with a type on every binder and a name and captures on every lambda:

    let x : T = e in e                  let rec f : T = \\(x : T) -[f {...}]-> e in e
    \\(x : T) -[lam {y: U, z: V}]-> e     stat e | `Pending -> e | `Done (v : T) -> e

Types are read by ir/type_syntax.py, all into the program's one LambdaTable,
whose captures come from the lambdas' printed members. The text writes the
types of binders only; every other node's type is found again, as inference
found it, by unifying along the IR's typing rules (`Reconstruction`). A
lambda's own set is written nowhere whole: it is the set of the written type
it flows into, or else the union of the lambdas that flow together with it,
in source order. Where the text breaks a typing rule, the types stay as
written and the IR's verifier says what is wrong: a reader reports only what
keeps it from building the IR.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Callable, TypeVar

from pyrsistent import pmap

from ir import Node
from ir import typed as T
from ir.source import CompileError, Source, Span
from ir.surface_syntax import Parser, Token, next_token
from ir.type_syntax import TypeReader
from ir.types import (BOOL, INT, UNIT, BoolT, ClosureT, FiberT, FunT, IntT, LambdaSet, LambdaTable, TupleT, Type,
                      show_type)

# co's tokens, and the IRs' own: names of procedures (`Main`, `Spawn1`) and
# `_`, `:` before types, `[...]` of dispatches, `@fp[k]` of frame slots.
IR_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+|\#[^\n]*)
  | (?P<int>[0-9]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_']*)
  | (?P<tag>`[A-Za-z_][A-Za-z0-9_']*)
  | (?P<symbol><captures>|<unreachable|->|==|[\\=<>+\-*;(){},.|\[\]:@])
    """,
    re.VERBOSE,
)

Value = TypeVar("Value")


class TypedParser(Parser):
    forms = {form.__name__: form for form in T.FORMS}

    def __init__(self, source: Source):  # noqa: the co parser's __init__ lexes all at once; this one lexes lazily
        self.source = source
        self.types = TypeReader(source.text)
        self.field_names: dict[type, tuple[str, ...]] = {}
        self.offset = 0  # where lexing goes on
        self.current: Token | None = None
        self.previous = Token("eof", "", Span(0, 0))

    # -- tokens, lexed one at a time as the parser asks for them: an IR's
    # text holds types (and frame tables), which other readers read in place

    @property
    def peek(self) -> Token:
        if self.current is None:
            self.current = next_token(self.source.text, self.offset, IR_TOKEN)
        return self.current

    def peek_after(self) -> Token:
        """The token after the next one."""
        return next_token(self.source.text, self.peek.span.end, IR_TOKEN)

    def at(self, text: str) -> bool:
        tok = self.peek
        return tok.text == text and tok.kind in ("keyword", "symbol", "tag")

    def advance(self) -> Token:
        token = self.previous = self.peek
        self.offset, self.current = token.span.end, None
        return token

    def span_from(self, start: Span) -> Span:
        return Span(start.start, self.previous.span.end)

    def read_in_place(self, read: Callable[[int], tuple[Value, int]]) -> Value:
        """What `read` finds from here on; lexing goes on where it stopped."""
        value, end = read(self.offset)
        self.previous = Token("text", "", Span(end, end))
        self.offset, self.current = end, None
        return value

    def make(self, form: str | type, span: Span, **written):
        """A node; the fields the text does not write are None until reconstruction fills them."""
        cls = self.forms[form] if isinstance(form, str) else form
        if cls not in self.field_names:
            self.field_names[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.name != "span")
        return cls(**dict.fromkeys(self.field_names[cls]) | written, span=span)

    def read_type(self) -> Type:
        return self.read_in_place(self.types.type_at)

    def program(self) -> T.Program:
        if self.peek.kind == "eof":
            raise CompileError("the program is empty: it must be one expression", self.peek.span)
        body = self.seq()
        if self.peek.kind != "eof":
            self.error("end of input")
        self.types.check_written_out()
        return T.Program(Reconstruction(self.types.table).expression(body), self.source, self.types.table)

    # -- binders, with their types: a binding form's `type` holds its binder's type while it is read

    def let_binder(self) -> dict:
        name = self.expect_ident("a name after `let`").text
        return {"name": name, **self.annotation("let", name)}

    def annotation(self, binder: str, name: str) -> dict:
        """`: T` after the name a binder binds."""
        self.expect(":", f" and the type of `{name}`")
        return {"type": self.read_type()}

    def lambda_head(self) -> dict:
        self.expect("(", " around a typed parameter: \\(x : int) -[lam {}]-> ...")
        param = self.expect_ident("a parameter name").text
        self.expect(":", f" and the type of `{param}`")
        param_type = self.read_type()
        self.expect(")", f" after the type of `{param}`")
        name, captures = self.read_in_place(self.types.arrow_member_at)
        return {"param": param, "name": name, "captures": captures, "type": param_type}

    def done_binder(self) -> dict:
        self.expect("(", " around the result's name and type: `Done (v : int)")
        name = self.expect_ident("a name for the result after `Done").text
        binder = self.annotation("done", name)
        self.expect(")", f" after the type of `{name}`")
        return {"done_name": name, **binder}


def parse_program(text: str, name: str) -> T.Program:
    return TypedParser(Source(name, text)).program()


# -- reconstruction: the types the text does not write ----------------------------------


class Unknown:
    """A type the text does not write, until unification finds it."""

    __slots__ = ("link",)

    def __init__(self) -> None:
        self.link = None


class SetVar:
    """A lambda set the text does not write: the lambdas that flow together,
    and the written set they flow into, if any."""

    __slots__ = ("link", "names", "written")

    def __init__(self, name: str) -> None:
        self.link: SetVar | None = None
        self.names = {name}
        self.written: LambdaSet | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Shape:
    """A type being found: a type's form with parts that may still be unknown."""

    kind: str  # "tuple", "fiber", "fun" (param, set, result) or "closure" (set)
    parts: tuple


def _view(t) -> tuple[str, tuple]:
    match t:
        case Shape(kind, parts):
            return kind, parts
        case IntT() | BoolT():
            return type(t).__name__, ()
        case TupleT(elems):
            return "tuple", elems
        case FiberT(result):
            return "fiber", (result,)
        case FunT(param, lambdas, result):
            return "fun", (param, lambdas, result)
        case ClosureT(lambdas):
            return "closure", (lambdas,)
    raise TypeError(t)


def find(t):
    while isinstance(t, (Unknown, SetVar)) and t.link is not None:
        t = t.link
    return t


@dataclass(frozen=True, slots=True)
class Binding:
    type: object  # a term
    offset: int | None = None  # its place in the frame (layout)


class Reconstruction:
    """The type of every node, found from the written ones by the typed IR's
    rules (ir/typed.py's verifier checks the same rules), and the nodes
    rebuilt with them. Later IRs add rules for their own forms."""

    def __init__(self, table: LambdaTable):
        self.table = table
        self.terms: dict[int, object] = {}  # id(node) -> its type's term
        self.filled: dict[int, dict] = {}  # id(node) -> other fields found (layout's offsets)
        self.order: dict[str, int] = {}  # lambda -> its place in the text, for the order of sets
        self.frozen: dict[int, Type] = {}
        self.shared: dict[Type, Type] = {}

    def expression(self, body):
        self.term(body, pmap())
        return self.rebuild(body)

    def term(self, e, scope):
        t = getattr(self, "term_" + type(e).__name__)(e, scope)
        self.terms[id(e)] = t
        return t

    def own_set(self, name: str, span: Span) -> SetVar:
        if name not in self.table:
            raise CompileError(f"no procedure is named {name}, and no type writes its captures", span)
        self.order.setdefault(name, len(self.order))
        return SetVar(name)

    # -- unification: what the text leaves unknown is found; what conflicts stays as written

    def unify(self, expected, found, at) -> None:
        if not self.merge(expected, found):
            self.conflict(at, lambda: f"type mismatch: expected {self.show(expected)}, found {self.show(found)}")

    def conflict(self, at, message: Callable[[], str]) -> None:
        """The text breaks a typing rule at node `at`: the typed IR's verifier says so."""

    def show(self, t) -> str:
        return show_type(self.freeze(t))

    def merge(self, expected, found) -> bool:
        """Unify two terms; False if they conflict somewhere (all else is merged)."""
        a, b = find(expected), find(found)
        if a is b or (isinstance(a, Type) and isinstance(b, Type)):
            return a == b
        if isinstance(a, Unknown) or isinstance(b, Unknown):
            var, other = (a, b) if isinstance(a, Unknown) else (b, a)
            if not self.occurs(var, other):
                var.link = other
            return True
        (kind, parts), (other_kind, other_parts) = _view(a), _view(b)
        if kind != other_kind or len(parts) != len(other_parts):
            return False
        merged = True
        for x, y in zip(parts, other_parts):
            merged &= self.merge_sets(x, y) if isinstance(x, (LambdaSet, SetVar)) else self.merge(x, y)
        return merged

    def merge_sets(self, x, y) -> bool:
        a, b = find(x), find(y)
        if a is b or (isinstance(a, LambdaSet) and isinstance(b, LambdaSet)):
            return a == b
        if isinstance(a, LambdaSet):
            a, b = b, a
        if isinstance(b, LambdaSet):  # the lambdas flow into a written set
            a.written = a.written or b
            return a.written == b and a.names <= set(b.names)
        b.link = a
        a.names |= b.names
        a.written = a.written or b.written
        return b.written in (None, a.written) and (a.written is None or a.names <= set(a.written.names))

    def occurs(self, var: Unknown, t) -> bool:
        stack = [t]
        while stack:
            t = find(stack.pop())
            if t is var:
                return True
            if isinstance(t, Shape):
                stack.extend(p for p in t.parts if not isinstance(p, (LambdaSet, SetVar)))
        return False

    # -- freezing terms into types, and nodes into the IR ---------------------------------

    def freeze(self, t) -> Type:
        t = find(t)
        if isinstance(t, Type):
            return self.shared.setdefault(t, t)
        if id(t) not in self.frozen:
            match _view(t) if isinstance(t, Shape) else ("unknown", ()):
                case "unknown", _:
                    out: Type = UNIT  # nothing says: as inference, {}
                case "tuple", elems:
                    out = TupleT(tuple(self.freeze(x) for x in elems))
                case "fiber", (result,):
                    out = FiberT(self.freeze(result))
                case "fun", (param, lambdas, result):
                    out = FunT(self.freeze(param), self.lambda_set(lambdas), self.freeze(result))
                case "closure", (lambdas,):
                    out = ClosureT(self.lambda_set(lambdas))
            self.frozen[id(t)] = self.shared.setdefault(out, out)
        return self.frozen[id(t)]

    def lambda_set(self, s) -> LambdaSet:
        s = find(s)
        if isinstance(s, LambdaSet):
            return s
        if s.written is not None:
            return s.written
        return LambdaSet(tuple(sorted(s.names, key=self.order.__getitem__)), self.table)

    def rebuild(self, node):
        changes = {}
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if isinstance(value, Node):
                changes[f.name] = self.rebuild(value)
            elif isinstance(value, tuple) and value and isinstance(value[0], Node):
                changes[f.name] = tuple(self.rebuild(v) for v in value)
        if id(node) in self.terms:
            changes["type"] = self.freeze(self.terms[id(node)])
        changes.update(self.filled.get(id(node), {}))
        return dataclasses.replace(node, **changes)

    # -- the typing rules -----------------------------------------------------------------

    def term_Int(self, e, scope):
        return INT

    def term_Bool(self, e, scope):
        return BOOL

    def term_Yield(self, e, scope):
        return UNIT

    def term_Var(self, e, scope):
        binding = scope.get(e.name)
        return Unknown() if binding is None else binding.type

    def term_Lam(self, e, scope):
        lambdas = self.own_set(e.name, e.span)
        body = self.term(e.body, scope.set(e.param, Binding(e.type)))
        return Shape("fun", (e.type, lambdas, body))

    def term_App(self, e, scope):
        fn, arg = self.term(e.fn, scope), self.term(e.arg, scope)
        kind, parts = _view(find(fn)) if not isinstance(find(fn), Unknown) else ("unknown", ())
        if kind != "fun":
            return Unknown()
        self.unify(parts[0], arg, e.arg)
        return parts[2]

    def term_Let(self, e, scope):
        self.unify(e.type, self.term(e.value, scope), e.value)
        return self.term(e.body, scope.set(e.name, self.let_binding(e)))

    def term_LetRec(self, e, scope):
        inner = scope.set(e.name, self.let_binding(e))
        self.unify(e.type, self.term(e.value, inner), e.value)
        return self.term(e.body, inner)

    def let_binding(self, e) -> Binding:
        return Binding(e.type)

    def term_If(self, e, scope):
        self.unify(BOOL, self.term(e.cond, scope), e.cond)
        then = self.term(e.then, scope)
        self.unify(then, self.term(e.else_, scope), e.else_)
        return then

    def term_BinOp(self, e, scope):
        left, right = self.term(e.left, scope), self.term(e.right, scope)
        if e.op == "==":
            self.unify(left, right, e.right)
            return BOOL
        self.unify(INT, left, e.left)
        self.unify(INT, right, e.right)
        return BOOL if e.op == "<" else INT

    def term_Neg(self, e, scope):
        self.unify(INT, self.term(e.operand, scope), e.operand)
        return INT

    def term_Tuple(self, e, scope):
        return Shape("tuple", tuple(self.term(x, scope) for x in e.elems))

    def term_Proj(self, e, scope):
        tup = find(self.term(e.tuple, scope))
        kind, parts = _view(tup) if not isinstance(tup, Unknown) else ("unknown", ())
        if kind == "tuple" and e.index < len(parts):
            return parts[e.index]
        self.conflict(e, lambda: f"no element {e.index} in {self.show(tup)}")
        return Unknown()

    def term_Seq(self, e, scope):
        self.term(e.first, scope)
        return self.term(e.second, scope)

    def term_Spawn(self, e, scope):
        return Shape("fiber", (self.term(e.body, scope),))

    def term_Resume(self, e, scope):
        fiber = self.term(e.fiber, scope)
        if not self.merge(Shape("fiber", (Unknown(),)), fiber):
            self.conflict(e.fiber, lambda: f"resume needs a fiber, not {self.show(fiber)}")
        return fiber

    def term_Stat(self, e, scope):
        self.unify(Shape("fiber", (e.type,)), self.term(e.fiber, scope), e.fiber)
        pending = self.term(e.pending, scope)
        self.unify(pending, self.term(e.done, scope.set(e.done_name, self.done_binding(e))), e.done)
        return pending

    def done_binding(self, e) -> Binding:
        return Binding(e.type)
