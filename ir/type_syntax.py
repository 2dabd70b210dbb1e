"""Reading types back from the text that ir.types.show_type prints.

    type   ::= arg ["-[" set "]->" type]        functions, right-associative
    arg    ::= "Fiber" arg | "Box" arg | atom
    atom   ::= "int" | "bool"
             | "{" [type (";" type)*] "}"       tuples; {} is unit
             | "closure" "[" set "]"
             | "(" type ")"
    set    ::= [member ("|" member)*]
    member ::= name "{" [capture ("," capture)*] "}"
             | name                              a member written out further out
    capture::= name ":" type

`int`, `bool`, `Fiber`, `Box` and `closure` are words only where a type is
expected: a lambda or a capture may be called `int`.

A type may stand alone (`parse_type`, for the blocks listing) or inside a
larger text (`TypeReader`, for the IR readers): there it ends where the
text stops being a type, and every type of the text shares one LambdaTable.
Errors are CompileErrors whose spans are offsets into the whole text, so a
type embedded in a larger listing is reported in place.
"""

from __future__ import annotations

import re
from typing import NoReturn

from ir.source import CompileError, Span
from ir.types import BOOL, INT, BoxT, Capture, ClosureT, FiberT, FunT, LambdaSet, LambdaTable, TupleT, Type

_TOKEN = re.compile(r"\s*(?:(-\[|\]->|->|[{};()\[\]|,:])|([A-Za-z_][A-Za-z0-9_']*)|(\S))")
_EOF = ""


class TypeReader:
    """Reads the types, lambda members and capture lists written at given
    offsets of one text, defining every lambda's captures in one table."""

    def __init__(self, text: str, end: int | None = None):
        self.text = text
        self.end = len(text) if end is None else end
        self.table = LambdaTable()
        self.referenced: dict[str, Span] = {}  # members written by name alone
        self.defined_at: dict[str, Span] = {}  # where each lambda's captures are first written
        self.pos = 0
        self.token: tuple[str, Span, bool] | None = None  # (text, span, is it a stray character)
        self.last_span = Span(0, 0)

    # -- reading at an offset -------------------------------------------------------

    def type_at(self, start: int) -> tuple[Type, int]:
        """The type written from `start` on (after blanks), and the offset where it ends."""
        return self.read(start, self.type)

    def arrow_member_at(self, start: int) -> tuple[tuple[str, Span, tuple[Capture, ...]], int]:
        """`-[name {captures}]->`: the head of a typed lambda, naming it (where) and its captures."""
        return self.read(start, self.arrow_member)

    def captures_at(self, start: int) -> tuple[tuple[Capture, ...], int]:
        """`{x: T, y: U}`: a capture list."""
        return self.read(start, self.capture_list)

    def check_written_out(self) -> None:
        """Every lambda written by name alone is written out with its captures somewhere."""
        for name, span in self.referenced.items():
            if name not in self.table:
                raise CompileError(f"lambda {name}'s captures are never written out", span)

    def read(self, start: int, what):
        self.pos, self.token = start, None
        value = what()
        return value, self.last_span.end

    # -- tokens -----------------------------------------------------------------------

    def current(self) -> tuple[str, Span, bool]:
        """(text, span, whether it is a stray character), lexed when first asked for."""
        if self.token is None:
            m = _TOKEN.match(self.text, self.pos, self.end)
            if m is None:  # only blanks are left
                self.token = (_EOF, Span(self.end, self.end), False)
            else:
                group = next(g for g in (1, 2, 3) if m.group(g) is not None)
                self.token = (m.group(group), Span(m.start(group), m.end(group)), group == 3)
        return self.token

    @property
    def peek(self) -> str:
        """The next token; a stray character reads as the end, which ends an embedded type."""
        text, _, stray = self.current()
        return _EOF if stray else text

    def advance(self) -> str:
        text, span, _ = self.current()
        self.last_span = span
        self.pos, self.token = span.end, None
        return text

    def fail(self, expected: str) -> NoReturn:
        text, span, _ = self.current()
        found = f"`{text}`" if text else "the end of the type"
        raise CompileError(f"expected {expected}, found {found}", span)

    def expect(self, token: str) -> None:
        if self.peek != token:
            self.fail(f"`{token}`")
        self.advance()

    def name(self, what: str) -> str:
        if not _is_name(self.peek):
            self.fail(what)
        return self.advance()

    # -- grammar ----------------------------------------------------------------------

    def type(self) -> Type:
        param = self.arg()
        if self.peek != "-[":
            return param
        self.advance()
        lambdas = self.lambda_set("]->")
        return FunT(param, lambdas, self.type())

    def arg(self) -> Type:
        if self.peek in ("Fiber", "Box"):
            kind = FiberT if self.advance() == "Fiber" else BoxT
            return kind(self.arg())
        return self.atom()

    def atom(self) -> Type:
        token = self.peek
        if token in ("int", "bool"):
            self.advance()
            return INT if token == "int" else BOOL
        if token == "{":
            self.advance()
            elems: list[Type] = []
            if self.peek != "}":
                elems.append(self.type())
                while self.peek == ";":
                    self.advance()
                    elems.append(self.type())
            self.expect("}")
            return TupleT(tuple(elems))
        if token == "closure":
            self.advance()
            self.expect("[")
            return ClosureT(self.lambda_set("]"))
        if token == "(":
            self.advance()
            inner = self.type()
            self.expect(")")
            return inner
        self.fail("a type")

    def lambda_set(self, closer: str) -> LambdaSet:
        names: list[str] = []
        if self.peek != closer:
            names.append(self.member())
            while self.peek == "|":
                self.advance()
                names.append(self.member())
        self.expect(closer)
        return LambdaSet(tuple(names), self.table)

    def member(self) -> str:
        name = self.name("a lambda name")
        span = self.last_span
        if self.peek == "{":
            self.define(name, self.capture_list(), span)
        else:
            self.referenced.setdefault(name, span)
        return name

    def arrow_member(self) -> tuple[str, Span, tuple[Capture, ...]]:
        self.expect("-[")
        name = self.name("a lambda name")
        span = self.last_span
        captures = self.capture_list()
        self.define(name, captures, span)
        self.expect("]->")
        return name, span, captures

    def capture_list(self) -> tuple[Capture, ...]:
        self.expect("{")
        captures: list[Capture] = []
        if self.peek != "}":
            captures.append(self.capture())
            while self.peek == ",":
                self.advance()
                captures.append(self.capture())
        self.expect("}")
        return tuple(captures)

    def capture(self) -> Capture:
        name = self.name("a captured variable's name")
        self.expect(":")
        return Capture(name, self.type())

    def define(self, name: str, captures: tuple[Capture, ...], span: Span) -> None:
        if name in self.table:
            if self.table.captures(name) != captures:
                raise CompileError(f"lambda {name} is written with two different capture lists", span)
        else:
            self.table.define(name, captures)
            self.defined_at[name] = span


def _is_name(token: str) -> bool:
    return bool(token) and (token[0].isalpha() or token[0] == "_")


def parse_type(text: str, start: int = 0, end: int | None = None) -> Type:
    """The type written in text[start:end], which must hold exactly one type."""
    reader = TypeReader(text, end)
    result, _ = reader.type_at(start)
    text, span, stray = reader.current()
    if stray:
        raise CompileError(f"unexpected character `{text}` in a type", span)
    if text != _EOF:
        reader.fail("the end of the type")
    reader.check_written_out()
    return result
