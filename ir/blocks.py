"""blocks: stack-machine code in basic blocks, the VM's input (docs/machine.md).

    Program ::= Program(procs, result_type, main, value_type)
                                                     main names the entry proc
    Proc    ::= Proc(name, arg_size, captures_size, ret_size, frame_size, blocks, live)
                                                     blocks[0] is the entry
    Block   ::= Block(label, instrs)                 labels unique program-wide
    Instr   ::= Push(Imm(value) | FpOffset(offset)) | Store(offset)
              | SpAdd(n) | SpSub(n) | SpRestoreFp()
              | Add() | Sub() | Mul() | Lt() | Eq()
              | Jmp(label) | Jmpz(label) | Jmprel1(labels)
              | Call(proc, live) | Ret()
              | Spawn(proc, args_size, ret_size, live) | Resume(ret_size, site, live) | Yield(live)
              | Box(n) | Unbox(n)                    n cells to one reference to a record of them, and back
    live    ::= (Live(offset, type), ...)            a stack map, by offset

A block ends in Jmp, Ret or Jmprel1, or in `Jmpz L; Jmp L2`; no other jump
or return occurs inside it. `result_type` says how to read Main's returned
cells; it holds no function type (closures are ClosureT). `value_type`, when
the value holds a function, is its type as co writes it, which a fiber's
type prints as (None: `result_type` says it all).

Stack maps (docs/machine.md, "Stack maps") say which cells of a frame hold
fiber handles, for the VM's collector: a proc's `live` covers its argument
and captures, for as long as it runs; the `live` of a call, spawn, resume
or yield covers the rest of the frame (written parts of the return slot,
locals in scope, operands) while the frame is stopped there. Each entry is
a handle (`Fiber T`), a closure of several lambdas some of which capture
handles (its tag says which), or a box (`Box T`) whose record holds
handles; `HandleFinder` splits any value down to them.

The listing, which the printer writes and the parser reads back:

    result {int; bool}                 # the type of Main's result
    main Main                          # (after `result`, a line `value T` for a value holding functions)

    proc Main arg=0 captures=0 ret=2 frame=1
    Main:
        spadd 1
        push 7
        store 0
        push fp[0]
        jmpz Main.zero
        jmp Main.end
    Main.zero:
        ...
        resume 1 @3:14                 # site of the `resume` in the .co source
            live fp[0] Fiber int       # the stack map of the instruction above

A proc's own map is written under its `proc` line, before its first block.
Comments run from `#` to the end of the line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ir import IRSpec, Node, VerifyError
from ir.immutable import immutable, replace
from ir.ints import fits
from ir.source import CompileError, Span
from ir.types import BoxT, ClosureT, FiberT, TupleT, Type, cell_size, contains_function, show_type


class Operand(Node):
    __slots__ = ()


@immutable
class Imm(Operand):
    value: int


@immutable
class FpOffset(Operand):
    offset: int


class Instr(Node):
    __slots__ = ()


@immutable
class Push(Instr):
    operand: Imm | FpOffset


@immutable
class Store(Instr):
    offset: int


@immutable
class SpAdd(Instr):
    n: int


@immutable
class SpSub(Instr):
    n: int


@immutable
class SpRestoreFp(Instr):
    pass


@immutable
class Add(Instr):
    pass


@immutable
class Sub(Instr):
    pass


@immutable
class Mul(Instr):
    pass


@immutable
class Lt(Instr):
    pass


@immutable
class Eq(Instr):
    pass


@immutable
class Box(Instr):
    n: int


@immutable
class Unbox(Instr):
    n: int


@immutable
class Jmp(Instr):
    label: str


@immutable
class Jmpz(Instr):
    label: str


@immutable
class Jmprel1(Instr):
    labels: tuple[str, ...]


@immutable
class Live(Node):
    """A stack map entry: fp[offset] holds a value of type, which holds fiber handles."""

    offset: int
    type: Type


@immutable
class Call(Instr):
    proc: str
    live: tuple[Live, ...] = ()


@immutable
class Ret(Instr):
    pass


@immutable
class Spawn(Instr):
    proc: str
    args_size: int
    ret_size: int
    live: tuple[Live, ...] = ()


@immutable
class Resume(Instr):
    ret_size: int
    site: str | None = None  # "line:col" of the `resume` in the source
    live: tuple[Live, ...] = ()


@immutable
class Yield(Instr):
    live: tuple[Live, ...] = ()


@immutable
class Block(Node):
    label: str
    instrs: tuple[Instr, ...]


@immutable
class Proc(Node):
    name: str
    arg_size: int
    captures_size: int
    ret_size: int
    frame_size: int
    blocks: tuple[Block, ...]
    live: tuple[Live, ...] = ()  # the argument's and captures' handles


@immutable
class Program(Node):
    procs: tuple[Proc, ...]
    result_type: Type
    main: str = "Main"
    value_type: Type | None = None


INSTRS = (Push, Store, SpAdd, SpSub, SpRestoreFp, Add, Sub, Mul, Lt, Eq, Box, Unbox,
          Jmp, Jmpz, Jmprel1, Call, Ret, Spawn, Resume, Yield)
FORMS = (Imm, FpOffset, *INSTRS, Live, Block, Proc, Program)

# The instructions at which a frame may stop while another runs: they carry stack maps.
SAFEPOINTS = (Call, Spawn, Resume, Yield)

# Instructions with no operand, by mnemonic.
_NULLARY = {cls.__name__.lower(): cls for cls in (SpRestoreFp, Add, Sub, Mul, Lt, Eq, Ret, Yield)}


class HandleFinder:
    """Where the fiber handles inside a value lie, from its type: the value is
    split down to its handles, its closures of several lambdas (whose tag
    says which captures are there) and its boxes (whose record holds the
    rest), leaving out every part that holds no handle. Whether a type holds a handle is remembered, so that deep types
    are looked at once. Lambda names are only unique within one program:
    use one finder per program."""

    def __init__(self) -> None:
        self._holds: dict[Type, bool] = {}

    def holds_handles(self, t: Type) -> bool:
        known = self._holds.get(t)
        if known is None:
            self._settle(t)
            known = self._holds[t]
        return known

    def _settle(self, root: Type) -> None:
        """Decide for root and every type it is made of (through captures and
        boxes, which may lead back to root) whether it holds a handle: whether
        a handle is among its parts, or their parts, and so on."""
        part_of: dict[Type, list[Type]] = {root: []}  # each type not yet decided -> the types it is a part of
        todo = [root]
        while todo:
            t = todo.pop()
            for part in _parts(t):
                if part not in self._holds and part not in part_of:
                    part_of[part] = []
                    todo.append(part)
                part_of.setdefault(part, []).append(t)
        holding = [t for t in part_of if isinstance(t, FiberT) or self._holds.get(t)]
        for t in part_of:
            if t not in self._holds:
                self._holds[t] = False
        while holding:
            t = holding.pop()
            self._holds[t] = True
            holding.extend(whole for whole in part_of[t] if not self._holds[whole])

    def entries(self, offset: int, t: Type) -> list[Live]:
        """The stack map entries of a value of type t at fp[offset], lowest first."""
        found: list[Live] = []
        self._split(offset, t, found)
        return found

    def record_entries(self, offset: int, types: tuple[Type, ...]) -> list[Live]:
        """The entries of a record laid out as a tuple of types (a capture record), at fp[offset]."""
        found: list[Live] = []
        self._split_record(offset, types, found)
        return found

    def _split(self, offset: int, t: Type, found: list[Live]) -> None:
        if not self.holds_handles(t):
            return
        match t:
            case TupleT(elems):
                self._split_record(offset, elems, found)
            case ClosureT(lambdas) if len(lambdas.names) == 1:
                self._split_record(offset, tuple(c.type for c in lambdas.members[0].captures), found)
            case _:  # a handle, a closure whose tag decides, or a box
                found.append(Live(offset, t))

    def _split_record(self, offset: int, types: tuple[Type, ...], found: list[Live]) -> None:
        for t in reversed(types):  # element 0 is on top: the last one lies lowest
            self._split(offset, t, found)
            offset += cell_size(t)


def _parts(t: Type) -> list[Type]:
    """The types of the values a value of type t is made of (a handle's result aside)."""
    match t:
        case TupleT(elems):
            return list(elems)
        case ClosureT(lambdas):
            return [c.type for m in lambdas.members for c in m.captures]
        case BoxT(contents):
            return [contents]
    return []


# -- printer ---------------------------------------------------------------------


def show_instr(instr: Instr) -> str:
    """One instruction as the listing writes it."""
    match instr:
        case Push(Imm(value)):
            return f"push {value}"
        case Push(FpOffset(offset)):
            return f"push fp[{offset}]"
        case Store(offset):
            return f"store {offset}"
        case SpAdd(n):
            return f"spadd {n}"
        case SpSub(n):
            return f"spsub {n}"
        case Box(n):
            return f"box {n}"
        case Unbox(n):
            return f"unbox {n}"
        case Jmp(label):
            return f"jmp {label}"
        case Jmpz(label):
            return f"jmpz {label}"
        case Jmprel1(labels):
            return "jmprel1 " + " ".join(labels)
        case Call(proc):
            return f"call {proc}"
        case Spawn(proc, args_size, ret_size):
            return f"spawn {proc} args={args_size} ret={ret_size}"
        case Resume(ret_size, site):
            return f"resume {ret_size}" + (f" @{site}" if site is not None else "")
    return type(instr).__name__.lower()


def show_live(entry: Live) -> str:
    return f"live fp[{entry.offset}] {show_type(entry.type)}"


def print_program(program: Program) -> str:
    lines = [f"result {show_type(program.result_type)}", f"main {program.main}"]
    if program.value_type is not None:
        lines.insert(1, f"value {show_type(program.value_type)}")
    for proc in program.procs:
        lines.append("")
        lines.append(f"proc {proc.name} arg={proc.arg_size} captures={proc.captures_size} "
                     f"ret={proc.ret_size} frame={proc.frame_size}")
        lines.extend("    " + show_live(entry) for entry in proc.live)
        for block in proc.blocks:
            lines.append(f"{block.label}:")
            for instr in block.instrs:
                lines.append("    " + show_instr(instr))
                if isinstance(instr, SAFEPOINTS):
                    lines.extend("        " + show_live(entry) for entry in instr.live)
    return "\n".join(lines) + "\n"


# -- parser ----------------------------------------------------------------------

# Patterns, compiled by `re` when first used (most runs read no listing).
_NAME = r"[A-Za-z_][A-Za-z0-9_.'$]*"
_INT = r"-?[0-9]+"
_COUNT = r"[0-9]+"
_FP = r"fp\[(-?[0-9]+)\]"
_SITE = r"[0-9]+:[0-9]+"
_PROC_KEYS = ("arg", "captures", "ret", "frame")
_HEADERS = {"result": "result_type", "value": "value_type", "main": "main"}  # lines before the first proc


@immutable
class _Token:
    text: str
    span: Span


class _ListingParser:
    """Reads a listing line by line; an error points at the offending token."""

    def __init__(self, text: str):
        self.text = text
        self.result_type: Type | None = None
        self.value_type: Type | None = None
        self.main: str | None = None
        self.procs: list[Proc] = []
        self.proc_head: tuple[str, dict[str, int]] | None = None
        self.proc_live: list[Live] = []
        self.blocks: list[Block] = []
        self.block_label: str | None = None
        self.instrs: list[Instr] = []

    def parse(self) -> Program:
        offset = 0
        for line in self.text.split("\n"):
            code_end = line.find("#")
            code_end = len(line) if code_end < 0 else code_end
            tokens = [_Token(m.group(), Span(offset + m.start(), offset + m.end()))
                      for m in re.finditer(r"\S+", line[:code_end])]
            if tokens:
                self.line(tokens, offset + code_end)
            offset += len(line) + 1
        self.end_proc()
        if self.result_type is None:
            self.fail("the listing needs a `result <type>` line before its first proc", Span(0, 0))
        return Program(tuple(self.procs), self.result_type, self.main or "Main", self.value_type)

    def fail(self, message: str, span: Span) -> None:  # always raises
        raise CompileError(message, span)

    def line(self, tokens: list[_Token], line_end: int) -> None:
        head = tokens[0]
        if head.text in _HEADERS:
            if self.proc_head is not None or self.procs:
                self.fail(f"`{head.text}` belongs before the first proc", head.span)
            if getattr(self, _HEADERS[head.text]) is not None:
                self.fail(f"a second `{head.text}` line", head.span)
            if len(tokens) < 2:
                self.fail(f"`{head.text}` needs a {'proc name' if head.text == 'main' else 'type'}",
                          Span(head.span.end, head.span.end))
            if head.text != "main":
                from ir.type_syntax import parse_type  # only listings need it

                setattr(self, _HEADERS[head.text], parse_type(self.text, head.span.end, line_end))
            else:
                self.expect_end(tokens, 2)
                self.main = self.name(tokens[1], "a proc name")
        elif head.text == "proc":
            self.end_proc()
            self.proc_head = self.proc_header(tokens)
        elif head.text == "live":
            self.live(tokens, line_end)
        elif head.text.endswith(":") and len(tokens) == 1:
            if self.proc_head is None:
                self.fail("a block label outside any proc (start one with `proc <name> ...`)", head.span)
            self.end_block()
            self.block_label = self.name(_Token(head.text[:-1], Span(head.span.start, head.span.end - 1)),
                                         "a block label")
        else:
            if self.block_label is None:
                self.fail(f"`{head.text}` is not in a block (give the block a label first: `name:`)"
                          if head.text in _MNEMONICS else f"unknown instruction `{head.text}`", head.span)
            self.instrs.append(self.instr(tokens))

    def proc_header(self, tokens: list[_Token]) -> tuple[str, dict[str, int]]:
        if len(tokens) < 2:
            self.fail("`proc` needs a name", Span(tokens[0].span.end, tokens[0].span.end))
        name = self.name(tokens[1], "a proc name")
        sizes: dict[str, int] = {}
        for token in tokens[2:]:
            key, _, value = token.text.partition("=")
            if key not in _PROC_KEYS or not re.fullmatch(_COUNT, value):
                self.fail(f"expected one of {', '.join(k + '=<count>' for k in _PROC_KEYS)}, "
                          f"found `{token.text}`", token.span)
            if key in sizes:
                self.fail(f"`{key}` is given twice", token.span)
            sizes[key] = int(value)
        missing = [k for k in _PROC_KEYS if k not in sizes]
        if missing:
            self.fail(f"proc {name} needs {', '.join(k + '=' for k in missing)}", tokens[1].span)
        return name, sizes

    def live(self, tokens: list[_Token], line_end: int) -> None:
        """A stack map entry, `live fp[<offset>] <type>`: of the proc whose line is
        just above, or of the call, spawn, resume or yield just above."""
        if len(tokens) < 3:
            self.fail("`live` takes fp[<offset>] and a type", Span(tokens[-1].span.end, tokens[-1].span.end))
        m = re.fullmatch(_FP, tokens[1].text)
        if m is None:
            self.fail(f"expected fp[<offset>], found `{tokens[1].text}`", tokens[1].span)
        from ir.type_syntax import parse_type  # only listings need it

        entry = Live(int(m.group(1)), parse_type(self.text, tokens[2].span.start, line_end))
        if self.proc_head is not None and self.block_label is None and not self.blocks:
            self.proc_live.append(entry)
        elif self.instrs and isinstance(self.instrs[-1], SAFEPOINTS):
            last = self.instrs[-1]
            self.instrs[-1] = replace(last, live=(*last.live, entry))
        else:
            self.fail("a `live` line belongs under a proc line or a call, spawn, resume or yield",
                      tokens[0].span)

    def end_block(self) -> None:
        if self.block_label is not None:
            self.blocks.append(Block(self.block_label, tuple(self.instrs)))
        self.block_label = None
        self.instrs = []

    def end_proc(self) -> None:
        self.end_block()
        if self.proc_head is not None:
            name, sizes = self.proc_head
            self.procs.append(Proc(name, sizes["arg"], sizes["captures"], sizes["ret"], sizes["frame"],
                                   tuple(self.blocks), tuple(self.proc_live)))
        self.proc_head = None
        self.blocks = []
        self.proc_live = []

    # -- operands ------------------------------------------------------------------

    def name(self, token: _Token, what: str) -> str:
        if not re.fullmatch(_NAME, token.text):
            self.fail(f"expected {what}, found `{token.text}`", token.span)
        return token.text

    def integer(self, token: _Token, pattern: str, what: str) -> int:
        if not re.fullmatch(pattern, token.text):
            self.fail(f"expected {what}, found `{token.text}`", token.span)
        return int(token.text)

    def keyed(self, token: _Token, key: str) -> int:
        prefix = key + "="
        if not token.text.startswith(prefix):
            self.fail(f"expected {prefix}<count>, found `{token.text}`", token.span)
        count = _Token(token.text[len(prefix):], Span(token.span.start + len(prefix), token.span.end))
        return self.integer(count, _COUNT, "a count")

    def expect_end(self, tokens: list[_Token], count: int) -> None:
        if len(tokens) > count:
            self.fail(f"unexpected `{tokens[count].text}` after `{tokens[0].text}`", tokens[count].span)

    def operands(self, tokens: list[_Token], least: int, most: int, form: str) -> list[_Token]:
        if len(tokens) - 1 < least:
            self.fail(f"`{tokens[0].text}` takes {form}", Span(tokens[-1].span.end, tokens[-1].span.end))
        self.expect_end(tokens, most + 1)
        return tokens[1:]

    def instr(self, tokens: list[_Token]) -> Instr:
        op = tokens[0].text
        if op in _NULLARY:
            self.expect_end(tokens, 1)
            return _NULLARY[op]()
        if op == "push":
            (arg,) = self.operands(tokens, 1, 1, "an integer or fp[<offset>]")
            m = re.fullmatch(_FP, arg.text)
            if m is not None:
                return Push(FpOffset(int(m.group(1))))
            return Push(Imm(self.integer(arg, _INT, "an integer or fp[<offset>]")))
        if op == "store":
            (arg,) = self.operands(tokens, 1, 1, "a frame offset")
            return Store(self.integer(arg, _INT, "a frame offset"))
        if op in _COUNTED:
            (arg,) = self.operands(tokens, 1, 1, "a count of cells")
            return _COUNTED[op](self.integer(arg, _COUNT, "a count of cells"))
        if op in ("jmp", "jmpz", "call"):
            (arg,) = self.operands(tokens, 1, 1, "a proc name" if op == "call" else "a label")
            name = self.name(arg, "a proc name" if op == "call" else "a label")
            return {"jmp": Jmp, "jmpz": Jmpz, "call": Call}[op](name)
        if op == "jmprel1":
            args = self.operands(tokens, 1, len(tokens), "one label or more")
            return Jmprel1(tuple(self.name(arg, "a label") for arg in args))
        if op == "spawn":
            proc, args, ret = self.operands(tokens, 3, 3, "a proc name, args=<count> and ret=<count>")
            return Spawn(self.name(proc, "a proc name"), self.keyed(args, "args"), self.keyed(ret, "ret"))
        if op == "resume":
            args = self.operands(tokens, 1, 2, "a count of result cells")
            site = None
            if len(args) == 2:
                if not (args[1].text.startswith("@") and re.fullmatch(_SITE, args[1].text[1:])):
                    self.fail(f"expected a source site @<line>:<col>, found `{args[1].text}`", args[1].span)
                site = args[1].text[1:]
            return Resume(self.integer(args[0], _COUNT, "a count of result cells"), site)
        self.fail(f"unknown instruction `{op}`", tokens[0].span)


_COUNTED = {"spadd": SpAdd, "spsub": SpSub, "box": Box, "unbox": Unbox}  # instructions taking a count of cells
_MNEMONICS = frozenset([*_NULLARY, *_COUNTED, "push", "store", "jmp", "jmpz", "jmprel1", "call", "spawn", "resume"])


def parse_program(text: str, file_name: str) -> Program:
    """The program a listing describes. Errors are CompileErrors with spans into
    `text`; the driver renders them as `file_name:line:col: error: ...`."""
    return _ListingParser(text).parse()


# -- verifier --------------------------------------------------------------------

_ENDS_BLOCK = frozenset({Jmp, Ret, Jmprel1})
_JUMPS = frozenset({Jmp, Jmpz, Jmprel1})
_INSTR_CLASSES = frozenset(INSTRS)
_NO_OPERANDS_TO_CHECK = frozenset({Store, SpRestoreFp, Add, Sub, Mul, Lt, Eq, Jmp, Jmpz, Ret, Yield})
_CHECKED_AT_ITS_HEIGHT = frozenset({Push, Store, *SAFEPOINTS})  # what _verify_proc checks against the height


def jump_targets(instr: Instr) -> tuple[str, ...]:
    """The labels an instruction may jump to."""
    match instr:
        case Jmp(label) | Jmpz(label):
            return (label,)
        case Jmprel1(labels):
            return labels
    return ()


# (cells needed above fp, cells added) of the instructions whose effect is fixed.
_FIXED_EFFECT = {
    Push: (0, 1), Store: (1, -1), Jmpz: (1, -1), Jmprel1: (1, -1),
    Add: (2, -1), Sub: (2, -1), Mul: (2, -1), Lt: (2, -1), Eq: (2, -1),
    Jmp: (0, 0), Ret: (0, 0), Yield: (0, 0), Call: (0, 0),
}


def height_after(instr: Instr, height: int, where: str = "its block") -> int:
    """The stack height (cells above fp) after instr, given the height before it:
    the one definition of every instruction's stack effect. A Call's Ret restores
    the caller's height, so a call leaves it as it was. Raises VerifyError if
    instr would pop below fp."""
    fixed = _FIXED_EFFECT.get(instr.__class__)
    if fixed is not None:
        needs, delta = fixed
    else:
        match instr:
            case SpAdd(n):
                needs, delta = 0, n
            case SpSub(n):
                needs, delta = n, -n
            case Box(n):
                needs, delta = n, 1 - n
            case Unbox(n):
                needs, delta = 1, n - 1
            case SpRestoreFp():
                needs, delta = 0, -height
            case Spawn(_, args_size, ret_size):
                needs, delta = args_size, 3 + ret_size - args_size
            case Resume(ret_size):
                needs, delta = 3 + ret_size, 0
            case _:
                raise TypeError(f"not an instruction: {instr!r}")
    if height < needs:
        raise VerifyError("stack-underflow",
                          f"`{show_instr(instr)}` in {where} needs {needs} cells above fp, "
                          f"but the stack holds {height}", instr)
    return height + delta


def block_heights(block: Block, entry_height: int) -> tuple[int, ...]:
    """The stack height (cells above fp) before each instruction of block."""
    heights = []
    height = entry_height
    where = f"block {block.label}"
    for instr in block.instrs:
        heights.append(height)
        height = height_after(instr, height, where)
    return tuple(heights)


def stack_heights(proc: Proc) -> dict[str, int]:
    """The stack height on entry to every block reachable from proc's entry, in
    block order. Raises VerifyError if two paths reach a block at different
    heights, or if an instruction would pop below fp."""
    return _heights(proc)[0]


def instruction_heights(proc: Proc) -> dict[str, tuple[int, ...]]:
    """The stack height before each instruction of every block reachable from
    proc's entry (block_heights of each), in block order; raises as stack_heights does."""
    return _heights(proc)[1]


def _heights(proc: Proc) -> tuple[dict[str, int], dict[str, tuple[int, ...]]]:
    by_label = {block.label: block for block in proc.blocks}
    entry = proc.blocks[0].label
    heights = {entry: 0}
    before_each: dict[str, tuple[int, ...]] = {}
    work = [entry]
    while work:
        block = by_label[work.pop()]
        before = before_each[block.label] = block_heights(block, heights[block.label])
        for instr, height in zip(block.instrs, before):
            if instr.__class__ not in _JUMPS:
                continue
            for target in jump_targets(instr):
                if target not in by_label:
                    raise VerifyError("jump-target", f"block {block.label} jumps to {target}, "
                                      f"which is not a block of proc {proc.name}", instr)
                arriving = height_after(instr, height, f"block {block.label}")
                if target not in heights:
                    heights[target] = arriving
                    work.append(target)
                elif heights[target] != arriving:
                    raise VerifyError("stack-height",
                                      f"block {target} is entered with {heights[target]} cells above fp "
                                      f"on one path and {arriving} from block {block.label}", instr)
    reached = [b.label for b in proc.blocks if b.label in heights]
    return {label: heights[label] for label in reached}, {label: before_each[label] for label in reached}


def reachable(code: Sequence[Block]) -> tuple[Block, ...]:
    """The blocks that a path from the entry (the first) reaches, in their order."""
    by_label = {b.label: b for b in code}
    reached = {code[0].label}
    work = [code[0]]
    while work:
        for instr in work.pop().instrs:
            for label in jump_targets(instr):
                if label not in reached:
                    reached.add(label)
                    work.append(by_label[label])
    return tuple(b for b in code if b.label in reached)


def with_blocks(program: Program, rewrite: Callable[[tuple[Block, ...]], tuple[Block, ...]]) -> Program:
    """program with each proc's blocks made rewrite(blocks)."""
    return replace(program, procs=tuple(replace(p, blocks=rewrite(p.blocks)) for p in program.procs))


def procs_that_may_yield(program: Program) -> frozenset[str]:
    """The procedures whose running may suspend the fiber that runs them: those
    that yield, and those that call one that may. Resume and Spawn run another
    fiber and come back, so they do not count. A procedure outside this set
    can run to its end without a stack of its own (what an ahead-of-time
    backend needs to compile it as a plain function)."""
    callers: dict[str, set[str]] = {p.name: set() for p in program.procs}
    may_yield: set[str] = set()
    for proc in program.procs:
        for block in proc.blocks:
            for instr in block.instrs:
                if isinstance(instr, Yield):
                    may_yield.add(proc.name)
                elif isinstance(instr, Call) and instr.proc in callers:
                    callers[instr.proc].add(proc.name)
    work = list(may_yield)
    while work:
        for caller in callers[work.pop()]:
            if caller not in may_yield:
                may_yield.add(caller)
                work.append(caller)
    return frozenset(may_yield)


def verify(program: Program) -> dict[str, dict[str, tuple[int, ...]]]:
    """Check program's invariants; raises VerifyError. Returns what checking
    works out on the way, which the VM needs too: the stack height before
    every instruction of every reachable block (instruction_heights), by proc."""
    if not isinstance(program, Program):
        raise VerifyError("blocks-forms", f"{type(program).__name__} is not a blocks Program", program)
    if not isinstance(program.result_type, Type) or contains_function(program.result_type):
        raise VerifyError("result-type", "the result type must be a type without function types "
                          f"(closures are ClosureT): {program.result_type!r}", program)
    if program.value_type is not None and not (isinstance(program.value_type, Type)
                                               and contains_function(program.value_type)):
        raise VerifyError("value-type", "the value type is that of a value holding functions, as co writes "
                          f"it: {program.value_type!r}", program)
    procs: dict[str, Proc] = {}
    labels: set[str] = set()
    for proc in program.procs:
        if not isinstance(proc, Proc):
            raise VerifyError("blocks-forms", f"{type(proc).__name__} is not a Proc", proc)
        _check_name(proc.name, "proc name", proc)
        if proc.name in procs:
            raise VerifyError("unique-procs", f"two procs are named {proc.name}", proc)
        procs[proc.name] = proc
        # Sizes first: a Spawn's stack effect elsewhere depends on them.
        for field_name in ("arg_size", "captures_size", "ret_size", "frame_size"):
            _check_count(getattr(proc, field_name), f"proc {proc.name}'s {field_name}", proc)
        for block in proc.blocks:
            if not isinstance(block, Block):
                raise VerifyError("blocks-forms", f"{type(block).__name__} is not a Block", block)
            _check_name(block.label, "label", block)
            if block.label in labels:
                raise VerifyError("unique-labels", f"two blocks are labelled {block.label}", block)
            labels.add(block.label)
    main = procs.get(program.main)
    if main is None:
        raise VerifyError("main-exists", f"there is no proc {program.main} to start from", program)
    if main.arg_size != 0 or main.captures_size != 0:
        raise VerifyError("main-signature", f"{main.name} takes no argument and no captures", main)
    if main.ret_size != cell_size(program.result_type):
        raise VerifyError("result-size", f"{main.name} returns {main.ret_size} cells, but a "
                          f"{show_type(program.result_type)} has {cell_size(program.result_type)}", main)
    return {proc.name: _verify_proc(proc, procs) for proc in program.procs}


def _check_name(name: object, what: str, node: Node) -> None:
    if not isinstance(name, str) or not re.fullmatch(_NAME, name):
        raise VerifyError("name-syntax", f"{name!r} is not a valid {what} ({_NAME})", node)


def _check_count(value: object, what: str, node: Node) -> None:
    if not isinstance(value, int) or value < 0:
        raise VerifyError("count", f"{what} must be a count (an int >= 0), not {value!r}", node)


def _verify_proc(proc: Proc, procs: dict[str, Proc]) -> dict[str, tuple[int, ...]]:
    if not proc.blocks:
        raise VerifyError("proc-blocks", f"proc {proc.name} has no blocks", proc)
    for block in proc.blocks:
        _verify_block(block, procs)
    entry = proc.blocks[0]
    first = entry.instrs[0]
    if proc.frame_size > 0 and not (isinstance(first, SpAdd) and first.n >= proc.frame_size):
        raise VerifyError("frame-entry", f"proc {proc.name} has {proc.frame_size} cells of locals, so its "
                          f"first instruction must be `spadd {proc.frame_size}` (or grow more: "
                          "the locals, then operands)", entry)
    # Below fp: the saved fp and pc, then the captures, the argument and the return slot.
    params = -(2 + proc.captures_size + proc.arg_size)
    lowest = params - proc.ret_size
    _check_map(proc.live, [(params, -2)], f"proc {proc.name}'s own map", proc)
    by_label = {block.label: block for block in proc.blocks}
    heights = instruction_heights(proc)
    for label, before in heights.items():
        block = by_label[label]
        for instr, height in zip(block.instrs, before):
            if instr.__class__ not in _CHECKED_AT_ITS_HEIGHT:
                continue
            match instr:
                case Push(FpOffset(k)):
                    _check_offset(k, lowest, height, instr, block)
                case Store(k):
                    _check_offset(k, lowest, height - 1, instr, block)
                case Call(callee):
                    needs = procs[callee].ret_size + procs[callee].arg_size + procs[callee].captures_size
                    if height < needs:
                        raise VerifyError("call-frame", f"`call {callee}` in block {label} needs its return "
                                          f"slot, argument and captures ({needs} cells) on the stack, "
                                          f"which holds {height}", instr)
            if isinstance(instr, SAFEPOINTS):
                # The map covers the return slot and what stays above fp while
                # another frame or fiber runs (a call's callee reads its own cells).
                stays = height - _consumed(instr, procs)
                _check_map(instr.live, [(lowest, params), (0, stays)],
                           f"the map of `{show_instr(instr)}` in block {label}", instr)
    return heights


def _consumed(instr: Instr, procs: dict[str, Proc]) -> int:
    """The cells on top that a stopped frame hands over: the callee's return slot,
    argument and captures; the spawned fiber's captures; the resumed handle."""
    match instr:
        case Call(callee):
            return procs[callee].ret_size + procs[callee].arg_size + procs[callee].captures_size
        case Spawn(_, args_size):
            return args_size
        case Resume(ret_size):
            return 3 + ret_size
    return 0


def _check_map(live: tuple[Live, ...], regions: list[tuple[int, int]], where: str, node: Node) -> None:
    """Entries in order of offset, apart from each other, each a handle or a
    closure of several lambdas lying wholly inside one of regions ([start, end) offsets)."""
    if not isinstance(live, tuple):
        raise VerifyError("blocks-forms", f"{where} is not a tuple of Live entries: {live!r}", node)
    end = None
    for entry in live:
        if not (isinstance(entry, Live) and isinstance(entry.offset, int) and isinstance(entry.type, Type)):
            raise VerifyError("blocks-forms", f"{where} holds {entry!r}, not a Live(offset, type)", node)
        t = entry.type
        if not (isinstance(t, (FiberT, BoxT)) or isinstance(t, ClosureT) and len(t.lambdas.names) > 1) \
                or contains_function(t):
            raise VerifyError("stack-map", f"{where}: fp[{entry.offset}] holds a {show_type(t)}, but an entry "
                              "is a fiber handle, a closure of several lambdas or a box (split others into "
                              "them)", node)
        start, stop = entry.offset, entry.offset + cell_size(t)
        if not any(low <= start and stop <= high for low, high in regions):
            cells = " and ".join(f"fp[{low}..{high - 1}]" for low, high in regions if low < high) or "none"
            raise VerifyError("stack-map", f"{where}: the {cell_size(t)} cells of the {show_type(t)} at "
                              f"fp[{start}] are not all among the cells it may name ({cells})", node)
        if end is not None and start < end:
            raise VerifyError("stack-map", f"{where}: fp[{start}] is not above the entry before it, "
                              f"which ends at fp[{end - 1}]", node)
        end = stop


def _check_offset(k: int, lowest: int, height: int, instr: Instr, block: Block) -> None:
    if not (lowest <= k <= -3 or 0 <= k < height):
        raise VerifyError("frame-offset", f"`{show_instr(instr)}` in block {block.label}: fp[{k}] is outside "
                          f"the frame, whose cells are fp[{lowest}..-3] and fp[0..{height - 1}] "
                          "(fp[-2] and fp[-1] hold the saved pc and fp)", instr)


def _verify_block(block: Block, procs: dict[str, Proc]) -> None:
    instrs = block.instrs
    if not instrs:
        raise VerifyError("block-end", f"block {block.label} is empty", block)
    last = len(instrs) - 1
    for i, instr in enumerate(instrs):
        cls = instr.__class__
        if cls not in _INSTR_CLASSES and not isinstance(instr, INSTRS):
            raise VerifyError("blocks-forms", f"{type(instr).__name__} is not an instruction", instr)
        if (cls in _ENDS_BLOCK) != (i == last):
            raise VerifyError("block-end", f"block {block.label} must end in jmp, ret or jmprel1, and only "
                              f"there; found `{show_instr(instr)}` at instruction {i}", instr)
        if cls is Jmpz and (i != last - 1 or not isinstance(instrs[-1], Jmp)):
            raise VerifyError("block-end", f"`{show_instr(instr)}` in block {block.label} must be "
                              "second to last, followed by a jmp", instr)
        if cls not in _NO_OPERANDS_TO_CHECK:
            _verify_operands(instr, block, procs)


def _verify_operands(instr: Instr, block: Block, procs: dict[str, Proc]) -> None:
    if instr.__class__ is Push:  # the most frequent by far
        operand = instr.operand
        if isinstance(operand, Imm):
            if not isinstance(operand.value, int) or not fits(operand.value):
                raise VerifyError("imm-range", f"{operand.value!r} in block {block.label} is not a 64-bit integer",
                                  instr)
        elif not isinstance(operand, FpOffset):
            raise VerifyError("blocks-forms", f"push takes an Imm or an FpOffset, not {operand!r}", instr)
        return
    match instr:
        case SpAdd(n) | SpSub(n) | Box(n) | Unbox(n):
            if not isinstance(n, int) or n < 0:
                _check_count(n, f"`{type(instr).__name__.lower()}`'s operand", instr)
        case Jmprel1(labels):
            if not labels:
                raise VerifyError("jump-table", f"an empty jump table in block {block.label}", instr)
        case Call(callee) | Spawn(callee) if callee not in procs:
            raise VerifyError("known-proc", f"block {block.label} refers to proc {callee}, which does not exist",
                              instr)
        case Spawn(callee, args_size, ret_size):
            target = procs[callee]
            if args_size != target.arg_size + target.captures_size or ret_size != target.ret_size:
                raise VerifyError("spawn-sizes", f"`{show_instr(instr)}` in block {block.label} does not match "
                                  f"proc {callee} (args={target.arg_size + target.captures_size} "
                                  f"ret={target.ret_size})", instr)
        case Resume(ret_size, site):
            _check_count(ret_size, "resume's result size", instr)
            if site is not None and not (isinstance(site, str) and re.fullmatch(_SITE, site)):
                raise VerifyError("resume-site", f"resume's site must be \"line:col\", not {site!r}", instr)


IR = IRSpec(
    name="blocks",
    summary="stack-machine code in basic blocks with static stack heights, run by machine.vm",
    forms=FORMS,
    printer=print_program,
    verifier=verify,
    parser=parse_program,
)
