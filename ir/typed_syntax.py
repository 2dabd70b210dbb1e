"""Reading the typed IR back from its printed text; the base of the defunc and layout readers.

The text is co (ir/surface_syntax.py's grammar, whose parser this one
extends) with a type on every binder and a name and captures on every lambda:

    let x : T = e in e                  let rec f : T = \\(x : T) -[f {...}]-> e in e
    \\(x : T) -[lam {y: U, z: V}]-> e     stat e | `Pending -> e | `Done (v : T) -> e

Types are read in place by ir/type_syntax.py, all into the program's one
LambdaTable, whose captures come from the lambdas' printed members. The text
writes the types of binders only; every other node's type is found again,
as inference found it, by ir/type_reconstruction.py along the typing rules
below. A lambda's own set is written nowhere whole: it is the written set it
flows into, or else the lambdas that flow together with it, in source order.
Where the text breaks a typing rule, the types stay as written and the typed
verifier says what is wrong, so a broken program is a few lines of text.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, TypeVar

from ir import typed as T
from ir.source import CompileError, Note, Source, Span
from ir.surface_syntax import Parser, Token, next_token
from ir.type_reconstruction import Binding, Reconstruction, Shape, Unknown, find, view
from ir.type_syntax import TypeReader
from ir.types import BOOL, INT, UNIT, Type

# co's tokens, and the IRs' own: names of procedures (`Main`, `Spawn1`) and
# `_`, `:` before types, `[...]` of dispatches, `@fp[k]` of frame slots.
IR_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<comment>\#[^\n]*)
  | (?P<int>[0-9]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_']*)
  | (?P<tag>`[A-Za-z_][A-Za-z0-9_']*)
  | (?P<symbol><captures>|<unreachable|->|==|[\\=<>+\-*;(){},.|\[\]:@])
    """,
    re.VERBOSE,
)

Value = TypeVar("Value")


class TypedParser(Parser):
    """co's parser, reading binders with their types and lambdas with their
    names and captures, and making typed nodes. Unlike co's, it lexes one
    token at a time, as the grammar asks for them: an IR's text holds types
    (and frame tables) that other readers read in place."""

    forms = {form.__name__: form for form in T.GRAMMAR.forms}

    def __init__(self, source: Source):
        self.source = source
        self.types = TypeReader(source.text)
        self.field_names: dict[type, tuple[str, ...]] = {}
        self.lambdas: dict[str, Span] = {}  # the name of every lambda written, where
        self.offset = 0  # where lexing goes on
        self.current: Token | None = None
        self.previous = Token("eof", "", Span(0, 0))

    # -- tokens ---------------------------------------------------------------------------

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
        for name, span in self.types.defined_at.items():
            if name not in self.lambdas:
                raise CompileError(f"lambda {name} is in a lambda set, but no lambda is named so", span)
        return T.Program(self.reconstruction().expression(body), self.source, self.types.table)

    def reconstruction(self) -> TypedReconstruction:
        return TypedReconstruction(self.types.table)

    # -- binders, with their types: until reconstruction, a binding form's `type`
    # holds its binder's written type (a lambda's, its parameter's)

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
        name, name_span, captures = self.read_in_place(self.types.arrow_member_at)
        if name in self.lambdas:
            raise CompileError(f"a second lambda named {name}", name_span, (Note("the first", self.lambdas[name]),))
        self.lambdas[name] = name_span
        return {"param": param, "name": name, "captures": captures, "type": param_type}

    def done_binder(self) -> dict:
        self.expect("(", " around the result's name and type: `Done (v : int)")
        name = self.expect_ident("a name for the result after `Done").text
        binder = self.annotation("done", name)
        self.expect(")", f" after the type of `{name}`")
        return {"done_name": name, **binder}


class TypedReconstruction(Reconstruction):
    """typed's rules, which ir/typed.py's verifier checks again."""

    def conflict(self, at, message) -> None:
        pass  # the typed verifier says what is wrong, and where

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
        lambdas = self.own_set(e.name)
        body = self.term(e.body, scope.set(e.param, Binding(e.type)))
        return Shape("fun", (e.type, lambdas, body))

    def term_App(self, e, scope):
        fn, arg = self.term(e.fn, scope), self.term(e.arg, scope)
        kind, parts = view(find(fn)) if not isinstance(find(fn), Unknown) else ("unknown", ())
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
        kind, parts = view(tup) if not isinstance(tup, Unknown) else ("unknown", ())
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


def parse_program(text: str, name: str) -> T.Program:
    return TypedParser(Source(name, text)).program()
