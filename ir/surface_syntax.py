"""The text of co programs: the lexer and parser that read source into the surface IR.

A hand-written lexer and a precedence-climbing parser for LANGUAGE.md's
grammar. Loosest first:

    seq    ::= expr (";" seq)?                       right-associative
    expr   ::= "let" ["rec"] x "=" seq "in" seq
             | "\\" x "->" seq
             | "if" seq "then" expr "else" expr
             | "stat" seq arm arm                   arm ::= "|" `Pending "->" seq
             | compare                                    | "|" `Done x "->" seq
    compare::= sum [("<" | "==") sum]               comparisons do not chain
    sum    ::= product (("+" | "-") product)*
    product::= unary ("*" unary)*
    unary  ::= "-" unary | prefix-form | apply      `1 + let x = 2 in x` is fine
    apply  ::= ("spawn" postfix | "resume" postfix | postfix) postfix*
    postfix::= atom ("." index)*
    atom   ::= int | true | false | x | yield | "(" seq ")" | "{" [seq ("," seq)*] "}"
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ir import surface as S
from ir.ints import INT_MAX as MAX_INT
from ir.source import CompileError, Note, Source, Span

KEYWORDS = frozenset("let rec in if then else spawn yield resume stat true false".split())

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<comment>\#[^\n]*)
  | (?P<int>[0-9]+)
  | (?P<ident>[a-z][A-Za-z0-9_']*)
  | (?P<tag>`[A-Za-z_][A-Za-z0-9_']*)
  | (?P<symbol>->|==|[\\=<+\-*;(){},.|])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "int", "ident", "keyword", "tag", "symbol", "eof"; from scan also "comment", "error"
    text: str
    span: Span

    def describe(self) -> str:
        if self.kind == "eof":
            return "end of input"
        if self.kind == "int":
            return f"integer {self.text}"
        if self.kind == "ident":
            return f"identifier `{self.text}`"
        return f"`{self.text}`"


def scan(text: str, pos: int = 0, pattern: re.Pattern[str] = _TOKEN) -> Iterator[Token]:
    """Every token of text from pos on, comments included, without ever failing:
    a character that starts no token is an "error" token of its own, and
    tags and numbers are not checked. Editors color a broken program with it;
    the IR readers scan with a pattern of their own (ir/typed_syntax.py)."""
    while pos < len(text):
        m = pattern.match(text, pos)
        if m is None:
            yield Token("error", text[pos], Span(pos, pos + 1))
            pos += 1
            continue
        kind, word = m.lastgroup, m.group()
        if kind != "space":
            yield Token("keyword" if kind == "ident" and word in KEYWORDS else kind, word, Span(pos, m.end()))
        pos = m.end()


def checked(tok: Token, text: str) -> Token:
    """A scanned token of a program, or a compile error if it cannot be one."""
    if tok.kind == "error":
        ch = tok.text
        shown = repr(ch) if not ch.isprintable() else f"`{ch}`"
        hint = " (identifiers start with a lowercase letter)" if ch.isalpha() or ch == "_" else ""
        raise CompileError(f"unexpected character {shown}{hint}", tok.span)
    pos = tok.span.end
    if tok.kind == "int" and pos < len(text) and (text[pos].isalnum() or text[pos] in "_'"):
        end = pos
        while end < len(text) and (text[end].isalnum() or text[end] in "_'"):
            end += 1
        raise CompileError(f"invalid number `{text[tok.span.start:end]}`", Span(tok.span.start, end))
    if tok.kind == "tag" and tok.text not in ("`Pending", "`Done"):
        raise CompileError(f"unknown tag {tok.text}: a stat arm is `Pending or `Done", tok.span)
    return tok


def tokenize(source: Source) -> list[Token]:
    """The program's tokens, ending with "eof"; a compile error at the first bad one."""
    text = source.text
    tokens = [checked(tok, text) for tok in scan(text) if tok.kind != "comment"]
    tokens.append(Token("eof", "", Span(len(text), len(text))))
    return tokens


def next_token(text: str, pos: int, pattern: re.Pattern[str]) -> Token:
    """The token at or after pos (comments skipped), for a parser that lexes as it goes."""
    for tok in scan(text, pos, pattern):
        if tok.kind != "comment":
            return checked(tok, text)
    return Token("eof", "", Span(len(text), len(text)))


PREFIX_KEYWORDS = ("let", "\\", "if", "stat")
ATOM_START = frozenset({"(", "{", "true", "false", "yield"})


class Parser:
    """The co grammar. The IR readers extend it (ir/typed_syntax.py): they
    read binders with their types (`let_binder`, `lambda_head`, `done_binder`),
    add forms of their own, and build their own IR's nodes (`forms`, `make`)."""

    forms = {form.__name__: form for form in S.FORMS}

    def __init__(self, source: Source):
        self.source = source
        # Every token is lexed before parsing starts, so that a stray
        # character is reported before any syntax error.
        self.tokens = tokenize(source)
        self.pos = 0

    def make(self, form: str, span: Span, **fields):
        return self.forms[form](**fields, span=span)

    # -- token helpers -------------------------------------------------------

    @property
    def peek(self) -> Token:
        return self.tokens[self.pos]

    def at(self, text: str) -> bool:
        tok = self.tokens[self.pos]
        return tok.text == text and tok.kind in ("keyword", "symbol", "tag")

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect(self, text: str, context: str = "") -> Token:
        if not self.at(text):
            self.error(f"`{text}`" + context)
        return self.advance()

    def expect_ident(self, what: str) -> Token:
        tok = self.peek
        if tok.kind != "ident":
            extra = " (it is a keyword)" if tok.kind == "keyword" else ""
            self.error(what, extra)
        return self.advance()

    def error(self, expected: str, extra: str = "", notes: tuple[Note, ...] = ()) -> None:
        tok = self.peek
        raise CompileError(f"expected {expected}, found {tok.describe()}{extra}", tok.span, notes)

    def span_from(self, start: Span) -> Span:
        return Span(start.start, self.tokens[self.pos - 1].span.end)

    # -- grammar ---------------------------------------------------------------

    def program(self) -> S.Program:
        if self.peek.kind == "eof":
            raise CompileError("the program is empty: it must be one expression", self.peek.span)
        body = self.seq()
        if self.peek.kind != "eof":
            self.error("end of input" if not self.at(")") else "end of input (this `)` has no `(`)")
        return S.Program(body, self.source)

    def seq(self) -> S.Expr:
        first = self.expr()
        if self.at(";"):
            self.advance()
            second = self.seq()
            return self.make("Seq", first.span.to(second.span), first=first, second=second)
        return first

    def expr(self) -> S.Expr:
        tok = self.peek
        if tok.kind in ("keyword", "symbol") and tok.text in PREFIX_KEYWORDS:
            return getattr(self, "prefix_" + {"\\": "lambda"}.get(tok.text, tok.text))()
        return self.compare()

    def prefix_let(self) -> S.Expr:
        start = self.advance().span
        recursive = self.at("rec")
        if recursive:
            self.advance()
        binder = self.let_binder()
        name = binder["name"]
        self.expect("=", f" after `let {'rec ' if recursive else ''}{name}`")
        value_start = self.peek.span
        value = self.seq()
        if recursive and not isinstance(value, self.forms["Lam"]):
            raise CompileError("the right side of `let rec` must be a lambda `\\x -> ...`",
                               value.span if value.span.end > value.span.start else value_start)
        self.expect("in", f" to end `let {name} = ...`")
        body = self.seq()
        return self.make("LetRec" if recursive else "Let", self.span_from(start), **binder, value=value, body=body)

    def let_binder(self) -> dict:
        """The fields of what a `let` binds: its name (the IR readers read its type too)."""
        return {"name": self.expect_ident("a name after `let`").text}

    def prefix_lambda(self) -> S.Expr:
        start = self.advance().span
        head = self.lambda_head()
        body = self.seq()
        return self.make("Lam", self.span_from(start), **head, body=body)

    def lambda_head(self) -> dict:
        """The fields of a lambda written between `\\` and its body, `->` included."""
        param = self.expect_ident("a parameter name after `\\`").text
        self.expect("->", f" after `\\{param}`")
        return {"param": param}

    def prefix_if(self) -> S.Expr:
        start = self.advance().span
        cond = self.seq()
        self.expect("then", " after the condition of `if`")
        then = self.expr()
        self.expect("else", " (every `if` has an `else`)")
        else_ = self.expr()
        return self.make("If", self.span_from(start), cond=cond, then=then, else_=else_)

    def prefix_stat(self) -> S.Expr:
        start = self.advance().span
        fiber = self.seq()
        arms: dict[str, tuple[dict, S.Expr, Span]] = {}
        for _ in range(2):
            self.expect("|", " to start a stat arm" if not arms else " to start the second stat arm")
            tag_tok = self.peek
            if tag_tok.kind != "tag":
                self.error("`Pending or `Done")
            self.advance()
            if tag_tok.text in arms:
                raise CompileError(f"a second {tag_tok.text} arm", tag_tok.span,
                                   (Note("the first one is here", arms[tag_tok.text][2]),))
            binder = self.done_binder() if tag_tok.text == "`Done" else {}
            self.expect("->", f" after {tag_tok.text}")
            arms[tag_tok.text] = (binder, self.seq(), tag_tok.span)
        binder, done, _ = arms["`Done"]
        _, pending, _ = arms["`Pending"]
        return self.make("Stat", self.span_from(start), fiber=fiber, pending=pending, **binder, done=done)

    def done_binder(self) -> dict:
        """The fields of what a `Done arm binds: the fiber's result's name."""
        return {"done_name": self.expect_ident("a name for the result after `Done").text}

    def compare(self) -> S.Expr:
        left = self.sum()
        if self.peek.kind == "symbol" and self.peek.text in ("<", "=="):
            op = self.advance().text
            right = self.sum()
            if self.peek.kind == "symbol" and self.peek.text in ("<", "=="):
                raise CompileError(
                    "comparisons do not chain: put parentheses around one of them", self.peek.span)
            return self.make("BinOp", left.span.to(right.span), op=op, left=left, right=right)
        return left

    def sum(self) -> S.Expr:
        left = self.product()
        while self.peek.kind == "symbol" and self.peek.text in ("+", "-"):
            op = self.advance().text
            right = self.product()
            left = self.make("BinOp", left.span.to(right.span), op=op, left=left, right=right)
        return left

    def product(self) -> S.Expr:
        left = self.unary()
        while self.at("*"):
            self.advance()
            right = self.unary()
            left = self.make("BinOp", left.span.to(right.span), op="*", left=left, right=right)
        return left

    def unary(self) -> S.Expr:
        tok = self.peek
        if self.at("-"):
            self.advance()
            operand = self.unary()
            return self.make("Neg", tok.span.to(operand.span), operand=operand)
        if tok.kind in ("keyword", "symbol") and tok.text in PREFIX_KEYWORDS:
            return self.expr()
        return self.apply()

    def apply(self) -> S.Expr:
        tok = self.peek
        if self.at("spawn") or self.at("resume"):
            self.advance()
            if not self.starts_atom():
                self.error(f"an argument for `{tok.text}` (write `{tok.text} (f x)` for an application)")
            operand = self.postfix()
            span = tok.span.to(operand.span)
            head = self.make("Spawn", span, body=operand) if tok.text == "spawn" else \
                self.make("Resume", span, fiber=operand)
        else:
            head = self.postfix()
        while self.starts_atom():
            arg = self.postfix()
            head = self.make("App", head.span.to(arg.span), fn=head, arg=arg)
        return head

    def starts_atom(self) -> bool:
        tok = self.peek
        return tok.kind in ("int", "ident") or (tok.kind in ("symbol", "keyword") and tok.text in ATOM_START)

    def postfix(self) -> S.Expr:
        e = self.atom()
        while self.at("."):
            self.advance()
            tok = self.peek
            if tok.kind != "int":
                self.error("a tuple index after `.`")
            self.advance()
            e = self.make("Proj", e.span.to(tok.span), tuple=e, index=int(tok.text))
        return e

    def atom(self) -> S.Expr:
        tok = self.peek
        if tok.kind == "int":
            self.advance()
            # Python's int() refuses strings of more than 4300 digits, and any
            # literal with more than 19 significant digits is out of range anyway.
            digits = tok.text.lstrip("0") or "0"
            if len(digits) > len(str(MAX_INT)) or int(digits) > MAX_INT:
                shown = tok.text if len(tok.text) <= 40 else f"{tok.text[:20]}... ({len(tok.text)} digits)"
                raise CompileError(
                    f"integer literal {shown} does not fit in 64 bits (the largest is {MAX_INT}; "
                    f"write the smallest as -{MAX_INT} - 1)", tok.span)
            return self.make("Int", tok.span, value=int(digits))
        if tok.kind == "ident":
            self.advance()
            return self.make("Var", tok.span, name=tok.text)
        if self.at("true") or self.at("false"):
            self.advance()
            return self.make("Bool", tok.span, value=tok.text == "true")
        if self.at("yield"):
            self.advance()
            return self.make("Yield", tok.span)
        if self.at("("):
            self.advance()
            inner = self.seq()
            if not self.at(")"):
                self.error("`)`", notes=(Note("to close this `(`", tok.span),))
            self.advance()
            # Diagnostics about a parenthesized expression underline its parentheses too.
            return dataclasses.replace(inner, span=self.span_from(tok.span))
        if self.at("{"):
            self.advance()
            elems: list[S.Expr] = []
            if not self.at("}"):
                elems.append(self.seq())
                while self.at(","):
                    self.advance()
                    elems.append(self.seq())
            if not self.at("}"):
                self.error("`,` or `}`", notes=(Note("to close this `{`", tok.span),))
            self.advance()
            return self.make("Tuple", self.span_from(tok.span), elems=tuple(elems))
        self.error("an expression")
        raise AssertionError("unreachable")


def parse_program(source: Source) -> S.Program:
    return Parser(source).program()
