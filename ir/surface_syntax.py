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
frames per level of nesting: a sequence is read in a loop, binary operators
by precedence climbing in one function, and `unary` reads applications too.
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
  | (?P<int>[0-9][\w']*)                  # letters right after digits: an invalid number
  | (?P<ident>[a-z][A-Za-z0-9_']*)
  | (?P<tag>`[A-Za-z_][A-Za-z0-9_']*)
  | (?P<symbol>->|==|[\\=<+\-*;(){},.|])
  | (?P<error>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_DIGITS = re.compile(r"[0-9]+")


class Tokens:
    """The tokens of a program, as the parser reads them: parallel lists
    (kind, text, start, end), the kinds "int", "ident", "keyword", "tag",
    "symbol" and, last, "eof". No two kinds share a text, so a token's text
    alone says which it is. A bad token is a compile error."""

    def __init__(self, text: str):
        kinds: list[str] = []
        texts: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup
            if kind == "space" or kind == "comment":
                continue
            start, end = m.span()
            word = text[start:end]
            if kind == "ident":
                if word in KEYWORDS:
                    kind = "keyword"
            elif kind == "int":
                if not _DIGITS.fullmatch(word):
                    raise CompileError(f"invalid number `{word}`", Span(start, end))
            elif kind == "tag":
                if word not in ("`Pending", "`Done"):
                    raise CompileError(f"unknown tag {word}: a stat arm is `Pending or `Done", Span(start, end))
            elif kind == "error":
                shown = repr(word) if not word.isprintable() else f"`{word}`"
                hint = " (identifiers start with a lowercase letter)" if word.isalpha() or word == "_" else ""
                raise CompileError(f"unexpected character {shown}{hint}", Span(start, end))
            kinds.append(kind)
            texts.append(word)
            starts.append(start)
            ends.append(end)
        kinds.append("eof")
        texts.append("")
        starts.append(len(text))
        ends.append(len(text))
        self.kinds, self.texts, self.starts, self.ends = kinds, texts, starts, ends

    def span(self, i: int) -> Span:
        return Span(self.starts[i], self.ends[i])

    def describe(self, i: int) -> str:
        kind, text = self.kinds[i], self.texts[i]
        if kind == "eof":
            return "end of input"
        if kind == "int":
            return f"integer {text}"
        if kind == "ident":
            return f"identifier `{text}`"
        return f"`{text}`"


@immutable
class Token:
    kind: str  # "int", "ident", "keyword", "tag", "symbol", "comment", "error"
    text: str
    span: Span


def scan(text: str) -> Iterator[Token]:
    """Every token of text in order, comments included, without ever failing:
    a character that starts no token is an "error" token of its own, and
    tags and numbers are not checked. Editors color a broken program with it."""
    for m in _TOKEN.finditer(text):
        kind, word = m.lastgroup, m.group()
        if kind != "space":
            yield Token("keyword" if kind == "ident" and word in KEYWORDS else kind, word, Span(*m.span()))


ATOM_START = frozenset({"(", "{", "true", "false", "yield"})


class Parser:
    def __init__(self, source: Source):
        self.source = source
        self.tokens = Tokens(source.text)
        self.kinds, self.texts = self.tokens.kinds, self.tokens.texts
        self.pos = 0

    # -- token helpers -------------------------------------------------------

    def at(self, text: str) -> bool:
        return self.texts[self.pos] == text

    def advance(self) -> int:
        """Step over the current token; its index."""
        self.pos += 1
        return self.pos - 1

    def expect(self, text: str, context: str = "") -> int:
        if self.texts[self.pos] != text:
            self.error(f"`{text}`" + context)
        return self.advance()

    def expect_ident(self, what: str) -> str:
        kind = self.kinds[self.pos]
        if kind != "ident":
            self.error(what, " (it is a keyword)" if kind == "keyword" else "")
        return self.texts[self.advance()]

    def error(self, expected: str, extra: str = "", notes: tuple[Note, ...] = ()) -> None:
        raise CompileError(f"expected {expected}, found {self.tokens.describe(self.pos)}{extra}",
                           self.tokens.span(self.pos), notes)

    def span_from(self, first: int) -> Span:
        """From token `first` to the last token read."""
        return Span(self.tokens.starts[first], self.tokens.ends[self.pos - 1])

    # -- grammar ---------------------------------------------------------------

    def program(self) -> S.Program:
        if self.kinds[self.pos] == "eof":
            raise CompileError("the program is empty: it must be one expression", self.tokens.span(self.pos))
        body = self.seq()
        if self.kinds[self.pos] != "eof":
            self.error("end of input" if not self.at(")") else "end of input (this `)` has no `(`)")
        return S.Program(body, self.source)

    def seq(self) -> S.Expr:
        items = []
        while True:
            prefix = PREFIX_FORMS.get(self.texts[self.pos])  # `expr`, inlined: one frame less per level
            items.append(prefix(self) if prefix is not None else self.binary(COMPARE))
            if self.texts[self.pos] != ";":
                break
            self.pos += 1
        second = items.pop()
        while items:  # right-associative
            first = items.pop()
            second = S.Seq(first, second, first.span.to(second.span))
        return second

    def expr(self) -> S.Expr:
        prefix = PREFIX_FORMS.get(self.texts[self.pos])
        return prefix(self) if prefix is not None else self.binary(COMPARE)

    def prefix_let(self) -> S.Expr:
        start = self.advance()
        recursive = self.at("rec")
        if recursive:
            self.advance()
        name = self.expect_ident("a name after `let`")
        self.expect("=", f" after `let {'rec ' if recursive else ''}{name}`")
        value_start = self.tokens.span(self.pos)
        value = self.seq()
        if recursive and not isinstance(value, S.Lam):
            raise CompileError("the right side of `let rec` must be a lambda `\\x -> ...`",
                               value.span if value.span.end > value.span.start else value_start)
        self.expect("in", f" to end `let {name} = ...`")
        body = self.seq()
        span = self.span_from(start)
        return S.LetRec(name, value, body, span) if recursive else S.Let(name, value, body, span)

    def prefix_lambda(self) -> S.Expr:
        start = self.advance()
        param = self.expect_ident("a parameter name after `\\`")
        self.expect("->", f" after `\\{param}`")
        body = self.seq()
        return S.Lam(param, body, self.span_from(start))

    def prefix_if(self) -> S.Expr:
        start = self.advance()
        cond = self.seq()
        self.expect("then", " after the condition of `if`")
        then = self.expr()
        self.expect("else", " (every `if` has an `else`)")
        else_ = self.expr()
        return S.If(cond, then, else_, self.span_from(start))

    def prefix_stat(self) -> S.Expr:
        start = self.advance()
        fiber = self.seq()
        arms: dict[str, tuple[str | None, S.Expr, Span]] = {}
        for _ in range(2):
            self.expect("|", " to start a stat arm" if not arms else " to start the second stat arm")
            if self.kinds[self.pos] != "tag":
                self.error("`Pending or `Done")
            tag = self.advance()
            tag_text, tag_span = self.texts[tag], self.tokens.span(tag)
            if tag_text in arms:
                raise CompileError(f"a second {tag_text} arm", tag_span,
                                   (Note("the first one is here", arms[tag_text][2]),))
            name = None
            if tag_text == "`Done":
                name = self.expect_ident("a name for the result after `Done")
            self.expect("->", f" after {tag_text}")
            arms[tag_text] = (name, self.seq(), tag_span)
        done_name, done, _ = arms["`Done"]
        _, pending, _ = arms["`Pending"]
        return S.Stat(fiber, pending, done_name, done, self.span_from(start))

    def binary(self, lowest: int) -> S.Expr:
        """Operands joined by operators of level `lowest` or tighter (ir.surface's levels)."""
        left = self.unary()
        compared = False
        while True:
            op = self.texts[self.pos]
            level = BINOP_LEVEL.get(op)
            if level is None or level < lowest:
                return left
            if level == COMPARE and compared:
                raise CompileError("comparisons do not chain: put parentheses around one of them",
                                   self.tokens.span(self.pos))
            self.pos += 1
            right = self.binary(level + 1)  # left-associative: the right operand binds tighter
            left = S.BinOp(op, left, right, left.span.to(right.span))
            compared = level == COMPARE

    def unary(self) -> S.Expr:
        """unary, and apply: one function, for fewer frames per level of nesting."""
        text = self.texts[self.pos]
        if text == "-":
            start = self.advance()
            operand = self.unary()
            return S.Neg(operand, self.tokens.span(start).to(operand.span))
        prefix = PREFIX_FORMS.get(text)
        if prefix is not None:
            return prefix(self)
        if text == "spawn" or text == "resume":
            start = self.advance()
            if not self.starts_atom():
                self.error(f"an argument for `{text}` (write `{text} (f x)` for an application)")
            operand = self.postfix()
            span = self.tokens.span(start).to(operand.span)
            head: S.Expr = S.Spawn(operand, span) if text == "spawn" else S.Resume(operand, span)
        else:
            head = self.postfix()
        while self.starts_atom():
            arg = self.postfix()
            head = S.App(head, arg, head.span.to(arg.span))
        return head

    def starts_atom(self) -> bool:
        return self.kinds[self.pos] in ("int", "ident") or self.texts[self.pos] in ATOM_START

    def postfix(self) -> S.Expr:
        """An atom and its projections (one function: one frame per level of nesting)."""
        start, kind, text = self.pos, self.kinds[self.pos], self.texts[self.pos]
        if kind == "int":
            self.advance()
            # Python's int() refuses strings of more than 4300 digits, and any
            # literal with more than 19 significant digits is out of range anyway.
            digits = text.lstrip("0") or "0"
            if len(digits) > len(str(MAX_INT)) or int(digits) > MAX_INT:
                shown = text if len(text) <= 40 else f"{text[:20]}... ({len(text)} digits)"
                raise CompileError(
                    f"integer literal {shown} does not fit in 64 bits (the largest is {MAX_INT}; "
                    f"write the smallest as -{MAX_INT} - 1)", self.tokens.span(start))
            e = S.Int(int(digits), self.tokens.span(start))
        elif kind == "ident":
            self.advance()
            e = S.Var(text, self.tokens.span(start))
        elif text == "true" or text == "false":
            self.advance()
            e = S.Bool(text == "true", self.tokens.span(start))
        elif text == "yield":
            self.advance()
            e = S.Yield(self.tokens.span(start))
        elif text == "(":
            self.advance()
            inner = self.seq()
            if not self.at(")"):
                self.error("`)`", notes=(Note("to close this `(`", self.tokens.span(start)),))
            self.advance()
            # Diagnostics about a parenthesized expression underline its parentheses too.
            e = replace(inner, span=self.span_from(start))
        elif text == "{":
            self.advance()
            elems: list[S.Expr] = []
            if not self.at("}"):
                elems.append(self.seq())
                while self.at(","):
                    self.advance()
                    elems.append(self.seq())
            if not self.at("}"):
                self.error("`,` or `}`", notes=(Note("to close this `{`", self.tokens.span(start)),))
            self.advance()
            e = S.Tuple(tuple(elems), self.span_from(start))
        else:
            self.error("an expression")
        while self.texts[self.pos] == ".":
            self.pos += 1
            if self.kinds[self.pos] != "int":
                self.error("a tuple index after `.`")
            index = self.advance()
            e = S.Proj(e, int(self.texts[index]), e.span.to(self.tokens.span(index)))
        return e


PREFIX_FORMS = {"let": Parser.prefix_let, "\\": Parser.prefix_lambda, "if": Parser.prefix_if,
                "stat": Parser.prefix_stat}


def parse_program(source: Source) -> S.Program:
    return Parser(source).program()
