"""Reading types back from the text that ir.types.show_type prints.

    type   ::= arg ["-[" set "]->" type]        functions, right-associative
    arg    ::= "Fiber" arg | atom
    atom   ::= "int" | "bool"
             | "{" [type (";" type)*] "}"       tuples; {} is unit
             | "closure" "[" set "]"
             | "(" type ")"
    set    ::= [member ("|" member)*]
    member ::= name "{" [name ":" type ("," name ":" type)*] "}"
             | name                              a member written out further out

`int`, `bool`, `Fiber` and `closure` are words only where a type is
expected: a lambda or a capture may be called `int`.

Errors are CompileErrors whose spans are offsets into the text handed to
`parse_type`, so a type embedded in a larger listing is reported in place.
"""

from __future__ import annotations

import re
from typing import NoReturn

from ir.source import CompileError, Span
from ir.types import BOOL, INT, Capture, ClosureT, FiberT, FunT, LambdaSet, LambdaTable, TupleT, Type

_TOKEN = re.compile(r"\s*(?:(-\[|\]->|[{};()\[\]|,:])|([A-Za-z_][A-Za-z0-9_']*)|(\S))")
_EOF = ""


class _TypeParser:
    def __init__(self, text: str, start: int, end: int):
        self.tokens: list[tuple[str, Span]] = []
        pos = start
        while True:
            m = _TOKEN.match(text, pos, end)
            if m is None:  # only blanks are left
                break
            if m.group(3) is not None:
                raise CompileError(f"unexpected character `{m.group(3)}` in a type", Span(m.start(3), m.end(3)))
            group = 1 if m.group(1) is not None else 2
            self.tokens.append((m.group(group), Span(m.start(group), m.end(group))))
            pos = m.end()
        self.tokens.append((_EOF, Span(end, end)))
        self.pos = 0
        self.table = LambdaTable()
        self.referenced: dict[str, Span] = {}  # members written by name alone

    @property
    def peek(self) -> str:
        return self.tokens[self.pos][0]

    def advance(self) -> str:
        token = self.tokens[self.pos][0]
        self.pos += 1
        return token

    def fail(self, expected: str) -> NoReturn:
        token, span = self.tokens[self.pos]
        found = f"`{token}`" if token else "the end of the type"
        raise CompileError(f"expected {expected}, found {found}", span)

    def expect(self, token: str) -> None:
        if self.peek != token:
            self.fail(f"`{token}`")
        self.advance()

    def name(self, what: str) -> str:
        if not _is_name(self.peek):
            self.fail(what)
        return self.advance()

    def type(self) -> Type:
        param = self.arg()
        if self.peek != "-[":
            return param
        self.advance()
        lambdas = self.lambda_set("]->")
        return FunT(param, lambdas, self.type())

    def arg(self) -> Type:
        if self.peek == "Fiber":
            self.advance()
            return FiberT(self.arg())
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
        span = self.tokens[self.pos][1]
        name = self.name("a lambda name")
        if self.peek != "{":
            self.referenced.setdefault(name, span)
            return name
        self.advance()
        captures: list[Capture] = []
        if self.peek != "}":
            captures.append(self.capture())
            while self.peek == ",":
                self.advance()
                captures.append(self.capture())
        self.expect("}")
        if name in self.table:
            if self.table.captures(name) != tuple(captures):
                raise CompileError(f"lambda {name} is written with two different capture lists", span)
        else:
            self.table.define(name, tuple(captures))
        return name

    def capture(self) -> Capture:
        name = self.name("a captured variable's name")
        self.expect(":")
        return Capture(name, self.type())


def _is_name(token: str) -> bool:
    return bool(token) and (token[0].isalpha() or token[0] == "_")


def parse_type(text: str, start: int = 0, end: int | None = None) -> Type:
    """The type written in text[start:end], which must hold exactly one type."""
    parser = _TypeParser(text, start, len(text) if end is None else end)
    result = parser.type()
    if parser.peek != _EOF:
        parser.fail("the end of the type")
    for name, span in parser.referenced.items():
        if name not in parser.table:
            raise CompileError(f"lambda {name}'s captures are never written out", span)
    return result
