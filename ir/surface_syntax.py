"""The text of co programs: the lexer and parser that read source into the surface IR.

A hand-written lexer and a precedence-climbing parser for LANGUAGE.md's
grammar. Loosest first:

    seq    ::= expr (";" seq)?                       right-associative
    expr   ::= "let" ["rec"] x "=" seq "in" seq
             | "\\" x "->" seq
             | "if" seq "then" expr "else" expr
             | "stat" seq arm arm                   arm ::= "|" `Pending "->" seq
             | binary                                     | "|" `Done x "->" seq
    binary ::= unary (op unary)*                    op: * over + - over < ==; left-
                                                    associative; comparisons do not chain
    unary  ::= "-" unary | prefix-form | apply      `1 + let x = 2 in x` is fine
    apply  ::= ("spawn" postfix | "resume" postfix | postfix) postfix*
    postfix::= atom ("." index)*
    atom   ::= int | true | false | x | yield | "(" seq ")" | "{" [seq ("," seq)*] "}"

Programs may nest 100,000 deep, so the parser recurses through few Python
frames per level of nesting: a sequence is read in a loop, and binary
operators by precedence climbing in one function.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ir import surface as S
from ir.immutable import immutable, replace
from ir.ints import INT_MAX as MAX_INT
from ir.source import CompileError, Note, Source, Span
from ir.surface import BINOP_LEVEL, COMPARE

KEYWORDS = frozenset("let rec in if then else spawn yield resume stat true false".split())

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<comment>\#[^\n]*)
  | (?P<int>[0-9]+)
  | (?P<ident>[a-z][A-Za-z0-9_']*)
  | (?P<tag>`[A-Za-z_][A-Za-z0-9_']*)
  | (?P<symbol>->|==|[\\=<+\-*;(){},.|])
  | (?P<error>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@immutable
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


def next_token(text: str, pos: int, pattern: re.Pattern[str]) -> Token:
    """The token at or after pos (comments skipped), for a parser that lexes as it goes."""
    for tok in scan(text, pos, pattern):
        if tok.kind != "comment":
            return checked(tok, text)
    return Token("eof", "", Span(len(text), len(text)))


# The forms that start with a keyword, and the method that reads each. (A
# token's text says what it is: no identifier is a keyword or a symbol.)
PREFIX_FORMS = {"let": "prefix_let", "\\": "prefix_lambda", "if": "prefix_if", "stat": "prefix_stat"}
ATOM_START = frozenset({"(", "{", "true", "false", "yield"})


class Parser:
    """The co grammar. The IR readers extend it (ir/typed_syntax.py): they
    read binders with their types (`let_binder`, `lambda_head`, `done_binder`),
    add forms of their own, and build their own IR's nodes (`forms`, `make`).

    It reads tokens through `peek`, `at`, `advance` and `span_from`, which
    each kind of parser defines (co's reads a list lexed up front, the IR
    readers lex as they go), and through `next_kind`, `next_text`,
    `next_span` and `skip`, peek's and advance's unless a parser makes them
    quicker: co's does, for programs of hundreds of thousands of tokens."""

    forms = {form.__name__: form for form in S.FORMS}

    def make(self, form: str, span: Span, **fields):
        return self.forms[form](**fields, span=span)

    # -- token helpers -------------------------------------------------------

    def next_kind(self) -> str:
        return self.peek.kind

    def next_text(self) -> str:
        return self.peek.text

    def next_span(self) -> Span:
        return self.peek.span

    def skip(self) -> None:
        self.advance()

    def expect(self, text: str, context: str = "") -> None:
        if not self.at(text):
            self.error(f"`{text}`" + context)
        self.skip()

    def keyword_span(self) -> Span:
        """The span of the keyword that starts a form, stepped over."""
        span = self.next_span()
        self.skip()
        return span

    def expect_ident(self, what: str) -> Token:
        kind = self.next_kind()
        if kind != "ident":
            self.error(what, " (it is a keyword)" if kind == "keyword" else "")
        return self.advance()

    def error(self, expected: str, extra: str = "", notes: tuple[Note, ...] = ()) -> None:
        tok = self.peek
        raise CompileError(f"expected {expected}, found {tok.describe()}{extra}", tok.span, notes)

    # -- grammar ---------------------------------------------------------------

    def program(self) -> S.Program:
        if self.next_kind() == "eof":
            raise CompileError("the program is empty: it must be one expression", self.next_span())
        body = self.seq()
        if self.next_kind() != "eof":
            self.error("end of input" if not self.at(")") else "end of input (this `)` has no `(`)")
        return S.Program(body, self.source)

    def seq(self) -> S.Expr:
        items = []
        while True:
            prefix = PREFIX_FORMS.get(self.next_text())  # `expr`, inlined: a frame less per level
            items.append(getattr(self, prefix)() if prefix is not None else self.binary(COMPARE))
            if not self.at(";"):
                break
            self.skip()
        second = items.pop()
        while items:  # right-associative
            first = items.pop()
            second = self.make("Seq", first.span.to(second.span), first=first, second=second)
        return second

    def expr(self) -> S.Expr:
        prefix = PREFIX_FORMS.get(self.next_text())
        return getattr(self, prefix)() if prefix is not None else self.binary(COMPARE)

    def prefix_let(self) -> S.Expr:
        start = self.keyword_span()
        recursive = self.at("rec")
        if recursive:
            self.skip()
        binder = self.let_binder()
        name = binder["name"]
        self.expect("=", f" after `let {'rec ' if recursive else ''}{name}`")
        value_start = self.next_span()
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
        start = self.keyword_span()
        head = self.lambda_head()
        body = self.seq()
        return self.make("Lam", self.span_from(start), **head, body=body)

    def lambda_head(self) -> dict:
        """The fields of a lambda written between `\\` and its body, `->` included."""
        param = self.expect_ident("a parameter name after `\\`").text
        self.expect("->", f" after `\\{param}`")
        return {"param": param}

    def prefix_if(self) -> S.Expr:
        start = self.keyword_span()
        cond = self.seq()
        self.expect("then", " after the condition of `if`")
        then = self.expr()
        self.expect("else", " (every `if` has an `else`)")
        else_ = self.expr()
        return self.make("If", self.span_from(start), cond=cond, then=then, else_=else_)

    def prefix_stat(self) -> S.Expr:
        start = self.keyword_span()
        fiber = self.seq()
        arms: dict[str, tuple[dict, S.Expr, Span]] = {}
        for _ in range(2):
            self.expect("|", " to start a stat arm" if not arms else " to start the second stat arm")
            tag_tok = self.peek
            if tag_tok.kind != "tag":
                self.error("`Pending or `Done")
            self.skip()
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

    def binary(self, lowest: int) -> S.Expr:
        """Operands joined by operators of level `lowest` or tighter (ir.surface's levels)."""
        left = self.unary()
        compared = False
        while True:
            op = self.next_text()
            level = BINOP_LEVEL.get(op)
            if level is None or level < lowest or self.next_kind() != "symbol":
                return left
            if level == COMPARE and compared:
                raise CompileError("comparisons do not chain: put parentheses around one of them", self.next_span())
            self.skip()
            right = self.binary(level + 1)  # left-associative: the right operand binds tighter
            left = self.make("BinOp", left.span.to(right.span), op=op, left=left, right=right)
            compared = level == COMPARE

    def unary(self) -> S.Expr:
        text = self.next_text()
        if text == "-":
            start = self.keyword_span()
            operand = self.unary()
            return self.make("Neg", start.to(operand.span), operand=operand)
        prefix = PREFIX_FORMS.get(text)
        if prefix is not None:
            return getattr(self, prefix)()
        return self.apply()

    def apply(self) -> S.Expr:
        if self.next_text() in ("spawn", "resume"):
            tok = self.advance()
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
        kind = self.next_kind()
        return kind in ("int", "ident") or (kind in ("symbol", "keyword") and self.next_text() in ATOM_START)

    def postfix(self) -> S.Expr:
        e = self.atom()
        while self.at("."):
            self.skip()
            if self.next_kind() != "int":
                self.error("a tuple index after `.`")
            index = self.advance()
            e = self.make("Proj", e.span.to(index.span), tuple=e, index=int(index.text))
        return e

    def atom(self) -> S.Expr:
        kind, text = self.next_kind(), self.next_text()
        if kind == "int":
            span = self.next_span()
            self.skip()
            # Python's int() refuses strings of more than 4300 digits, and any
            # literal with more than 19 significant digits is out of range anyway.
            digits = text.lstrip("0") or "0"
            if len(digits) > len(str(MAX_INT)) or int(digits) > MAX_INT:
                shown = text if len(text) <= 40 else f"{text[:20]}... ({len(text)} digits)"
                raise CompileError(
                    f"integer literal {shown} does not fit in 64 bits (the largest is {MAX_INT}; "
                    f"write the smallest as -{MAX_INT} - 1)", span)
            return self.make("Int", span, value=int(digits))
        if kind == "ident":
            span = self.next_span()
            self.skip()
            return self.make("Var", span, name=text)
        if self.at("true") or self.at("false"):
            return self.make("Bool", self.keyword_span(), value=text == "true")
        if self.at("yield"):
            return self.make("Yield", self.keyword_span())
        if self.at("("):
            start = self.keyword_span()
            inner = self.seq()
            if not self.at(")"):
                self.error("`)`", notes=(Note("to close this `(`", start),))
            self.skip()
            # Diagnostics about a parenthesized expression underline its parentheses too.
            return replace(inner, span=self.span_from(start))
        if self.at("{"):
            start = self.keyword_span()
            elems: list[S.Expr] = []
            if not self.at("}"):
                elems.append(self.seq())
                while self.at(","):
                    self.skip()
                    elems.append(self.seq())
            if not self.at("}"):
                self.error("`,` or `}`", notes=(Note("to close this `{`", start),))
            self.skip()
            return self.make("Tuple", self.span_from(start), elems=tuple(elems))
        self.error("an expression")
        raise AssertionError("unreachable")


class ProgramParser(Parser):
    """co's parser for a program's source: every token is lexed before parsing
    starts (so that a stray character is reported before any syntax error),
    into parallel lists the grammar reads by index."""

    def __init__(self, source: Source):
        self.source = source
        text = source.text
        kinds, texts, starts, ends = [], [], [], []
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup
            if kind == "space" or kind == "comment":
                continue
            start, end = m.span()
            word = text[start:end]
            if kind == "ident":
                if word in KEYWORDS:
                    kind = "keyword"
            elif kind != "symbol" and (kind != "int" or end < len(text) and (text[end].isalnum() or text[end] in "_'")):
                checked(Token(kind, word, Span(start, end)), text)  # raises if it is no token of co
            kinds.append(kind)
            texts.append(word)
            starts.append(start)
            ends.append(end)
        kinds.append("eof")
        texts.append("")
        starts.append(len(text))
        ends.append(len(text))
        self.kinds, self.texts, self.starts, self.ends = kinds, texts, starts, ends
        self.pos = 0

    @property
    def peek(self) -> Token:
        i = self.pos
        return Token(self.kinds[i], self.texts[i], Span(self.starts[i], self.ends[i]))

    def next_kind(self) -> str:
        return self.kinds[self.pos]

    def next_text(self) -> str:
        return self.texts[self.pos]

    def next_span(self) -> Span:
        return Span(self.starts[self.pos], self.ends[self.pos])

    def at(self, text: str) -> bool:
        return self.texts[self.pos] == text  # no two kinds of token share a text

    def advance(self) -> Token:
        tok = self.peek
        self.pos += 1
        return tok

    def skip(self) -> None:
        self.pos += 1

    def span_from(self, start: Span) -> Span:
        return Span(start.start, self.ends[self.pos - 1])


def parse_program(source: Source) -> S.Program:
    return ProgramParser(source).program()
