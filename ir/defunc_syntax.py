"""Reading the defunc IR back from its printed text (extends ir/typed_syntax.py).

    program ::= ["value" T] boxed ... proc proc ...   the first proc is Main
    boxed   ::= "boxed" NAME ("|" NAME)* "," "breaking" step ("->" step)*
    step    ::= NAME "." NAME                     a lambda, and its capture
    proc    ::= "proc" NAME "(" x ":" T ")" "{" [x ":" T ("," x ":" T)*] "}" "->" T "=" seq
    atom    ::= ... | "<captures>" | "<unreachable" [":" T] ">"
    apply   ::= ... | "closure" NAME atom          a lambda's capture record
              | "call" NAME atom atom             argument, then closure
              | "dispatch" "[" NAME ("|" NAME)* "]" atom atom
              | "spawn" NAME atom                 NAME capitalized: a lifted spawn
              | "box" atom | "unbox" atom

The value's type is co's (function types, their captures' types too), so
it is read apart from the text's other types, which are defunc's. `value`,
`proc` and `boxed` start their lines only at the start of a line (a body is indented); `call`, `closure` and `dispatch` are words only
where a name follows, and `box` and `unbox` where an operand follows, so a
variable may still be called so. A procedure whose name is a lambda's
(lowercase) defines that lambda's captures. typed's forms still read (a
lambda, an application), so that the verifier, not the reader, says they
are left over.
"""

from __future__ import annotations

from pyrsistent import pmap

from ir import defunc as D
from ir.boxing import BoxedSet
from ir.source import CompileError, Source
from ir.surface_syntax import ATOM_START
from ir.type_syntax import TypeReader
from ir.type_reconstruction import Binding, Shape, Unknown
from ir.typed_syntax import TypedParser, TypedReconstruction
from ir.types import ClosureT, FiberT, LambdaSet

class DefuncParser(TypedParser):
    forms = {**TypedParser.forms, **{form.__name__: form for form in (
        D.Closure, D.OwnCaptures, D.Call, D.Dispatch, D.Unreachable, D.Box, D.Unbox, D.Proc, D.Program)}}
    calls: dict[str, dict] = {"call": {}}  # the words of a direct call, and the fields each gives

    def program(self):
        value_type = None
        if self.at_line_start("value"):
            self.advance()
            reader = TypeReader(self.source.text)
            value_type = self.read_in_place(reader.type_at)
            reader.check_written_out()
        boxed = []
        while self.at_line_start("boxed"):
            boxed.append(self.boxed_set())
        procs = []
        while self.peek.kind != "eof":
            procs.append(self.proc())
        if not procs:
            raise CompileError("the program is empty: it must be one procedure or more, Main first", self.peek.span)
        self.types.check_written_out()
        return self.forms["Program"](self.reconstruction().procedures(tuple(procs)), self.source, tuple(boxed),
                                     value_type)

    def lambda_names(self) -> list[str]:
        """`a | b | ...`: the names of a lambda set's members."""
        names = [self.expect_ident("a lambda's name").text]
        while self.at("|"):
            self.advance()
            names.append(self.expect_ident("a lambda's name").text)
        return names

    def boxed_set(self) -> BoxedSet:
        self.advance()
        names = self.lambda_names()
        self.expect(",", " after the boxed lambda set")
        if not (self.peek.kind == "ident" and self.peek.text == "breaking"):
            self.error("`breaking` and the cycle of captures boxing the set breaks")
        self.advance()
        cycle = [self.step()]
        while self.at("->"):
            self.advance()
            cycle.append(self.step())
        return BoxedSet(tuple(names), tuple(cycle))

    def step(self) -> tuple[str, str]:
        name = self.expect_ident("a lambda's name").text
        self.expect(".", f" and the capture of {name} that the cycle goes through")
        return name, self.expect_ident("a captured variable's name").text

    def reconstruction(self) -> DefuncReconstruction:
        return DefuncReconstruction(self.types.table)

    def at_proc(self) -> bool:
        return self.at_line_start("proc")

    def at_line_start(self, word: str, tok=None) -> bool:
        """Whether the next token (or tok) is the identifier `word`, at the start of a line."""
        tok = tok or self.peek
        return tok.kind == "ident" and tok.text == word and (
            tok.span.start == 0 or self.source.text[tok.span.start - 1] == "\n")

    def word_then_operand(self, word: str) -> bool:
        """Whether the next token is the identifier `word`, followed by what starts an atom."""
        if self.peek.kind != "ident" or self.peek.text != word:
            return False
        after = self.peek_after()
        if after.kind == "ident":
            return not self.at_line_start("proc", after)
        return after.kind == "int" or after.text in ATOM_START or after.text in ("<captures>", "<unreachable")

    def proc(self):
        start = self.peek.span
        if not self.at_proc():
            self.error("`proc` at the start of a line")
        self.advance()
        name_tok = self.expect_ident("a procedure's name")
        self.expect("(", f" around the parameter of {name_tok.text}")
        param = self.expect_ident("a parameter name").text
        self.expect(":", f" and the type of `{param}`")
        param_type = self.read_type()
        self.expect(")", f" after the type of `{param}`")
        captures = self.read_in_place(self.types.captures_at)
        if name_tok.text[0].islower():  # a lambda's procedure
            self.types.define(name_tok.text, captures, name_tok.span)
        self.expect("->", " and the result type")
        result_type = self.read_type()
        return self.make("Proc", self.span_from(start), name=name_tok.text, param=param, param_type=param_type,
                         captures=captures, result_type=result_type, **self.proc_body())

    def proc_body(self) -> dict:
        self.expect("=", " before the procedure's body")
        return {"body": self.seq()}

    def word_then(self, word: str, follower: str) -> bool:
        """Whether the next token is the identifier `word`, followed by a name (or by `follower`)."""
        tok = self.peek
        if tok.kind != "ident" or tok.text != word:
            return False
        after = self.peek_after()
        return after.kind == "ident" if follower == "name" else after.text == follower

    def starts_atom(self) -> bool:
        if self.at("<captures>") or self.at("<unreachable"):
            return True
        return super().starts_atom() and not self.at_proc()

    def apply(self):
        start = self.peek.span
        for word, fields in self.calls.items():
            if self.word_then(word, "name"):
                self.advance()
                proc = self.advance().text
                arg, closure = self.postfix(), self.postfix()
                return self.make("Call", self.span_from(start), proc=proc, arg=arg, closure=closure, **fields)
        if self.word_then("dispatch", "["):
            self.advance()
            self.advance()
            arms = self.lambda_names()
            self.expect("]", " after the lambdas of the dispatch")
            arg, closure = self.postfix(), self.postfix()
            return self.make("Dispatch", self.span_from(start), arms=tuple(arms), arg=arg, closure=closure)
        if self.word_then("closure", "name"):
            self.advance()
            name = self.advance().text
            return self.make("Closure", self.span_from(start), lambda_name=name, captures=self.postfix())
        for word, form, field in (("box", "Box", "value"), ("unbox", "Unbox", "box")):
            if self.word_then_operand(word):
                self.advance()
                return self.make(form, self.span_from(start), **{field: self.postfix()})
        if self.at("spawn") and self.peek_after().text[:1].isupper():
            self.advance()
            proc = self.advance().text
            return self.make(D.Spawn, self.span_from(start), proc=proc, captures=self.postfix())
        return super().apply()

    def atom(self):
        tok = self.peek
        if self.at("<captures>"):
            self.advance()
            return self.make("OwnCaptures", tok.span)
        if self.at("<unreachable"):
            self.advance()
            written = None
            if self.at(":"):
                self.advance()
                written = self.read_type()
            self.expect(">", " to end `<unreachable`")
            return self.make("Unreachable", self.span_from(tok.span), type=written)
        return super().atom()


class DefuncReconstruction(TypedReconstruction):
    """typed's rules, and each procedure's: its body has its result type, a
    call passes the callee's argument type and has its result type."""

    def conflict(self, at, message) -> None:
        raise CompileError(message(), at.span)  # defunc's verifier checks no types: the reader does

    def procedures(self, procs: tuple) -> tuple:
        self.procs: dict = {}
        for proc in procs:
            self.procs.setdefault(proc.name, proc)
        for proc in procs:
            self.type_proc(proc)
        return tuple(self.rebuild(proc) for proc in procs)

    def type_proc(self, proc) -> None:
        self.proc = proc
        self.unify(proc.result_type, self.term(proc.body, self.proc_scope(proc)), proc.body)

    def proc_scope(self, proc):
        return pmap({proc.param: Binding(proc.param_type)} | {c.name: Binding(c.type) for c in proc.captures})

    def term_Closure(self, e, scope):
        self.check_known(e.lambda_name, e)
        lambdas = self.own_set(e.lambda_name)
        self.unify(D.capture_record(self.table.captures(e.lambda_name)), self.term(e.captures, scope), e.captures)
        return Shape("closure", (lambdas,))

    def check_known(self, name: str, at) -> None:
        """A lambda named in the text has its captures written: in its procedure's header, or in a type."""
        if name not in self.table:
            raise CompileError(f"no procedure is named {name}, and no type writes its captures", at.span)

    def term_OwnCaptures(self, e, scope):
        return D.capture_record(self.proc.captures)

    def term_Call(self, e, scope):
        return self.direct_call(e, (e.proc,), scope)

    def term_Dispatch(self, e, scope):
        return self.direct_call(e, e.arms, scope)

    def direct_call(self, e, callees: tuple[str, ...], scope):
        arg, closure = self.term(e.arg, scope), self.term(e.closure, scope)
        for name in callees:
            self.check_known(name, e)
        self.unify(ClosureT(LambdaSet(callees, self.table)), closure, e.closure)
        result = Unknown()
        for name in callees:
            callee = self.procs.get(name)
            if callee is not None:
                self.unify(callee.param_type, arg, e.arg)
                self.unify(result, callee.result_type, e)
        return result

    def term_Spawn(self, e, scope):
        if not isinstance(e, D.Spawn):
            return super().term_Spawn(e, scope)
        captures = self.term(e.captures, scope)
        callee = self.procs.get(e.proc)
        if callee is None:
            return Shape("fiber", (Unknown(),))
        self.unify(D.capture_record(callee.captures), captures, e.captures)
        return FiberT(callee.result_type)

    def term_Box(self, e, scope):
        return Shape("box", (self.term(e.value, scope),))

    def term_Unbox(self, e, scope):
        contents = Unknown()
        self.unify(Shape("box", (contents,)), self.term(e.box, scope), e.box)
        return contents

    def term_Unreachable(self, e, scope):
        return Unknown() if e.type is None else e.type


def parse_program(text: str, name: str) -> D.Program:
    return DefuncParser(Source(name, text)).program()
