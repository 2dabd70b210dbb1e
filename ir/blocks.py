"""blocks: stack-machine code in basic blocks, the VM's input (docs/machine.md).

    Program ::= Program(procs, result_type, main)    main names the entry proc
    Proc    ::= Proc(name, arg_size, captures_size, ret_size, frame_size, blocks)
                                                     blocks[0] is the entry
    Block   ::= Block(label, instrs)                 labels unique program-wide
    Instr   ::= Push(Imm(value) | FpOffset(offset)) | Store(offset)
              | SpAdd(n) | SpSub(n) | SpRestoreFp()
              | Add() | Sub() | Mul() | Lt() | Eq()
              | Jmp(label) | Jmpz(label) | Jmprel1(labels)
              | Call(proc) | Ret()
              | Spawn(proc, args_size, ret_size) | Resume(ret_size, site) | Yield()

A block ends in Jmp, Ret or Jmprel1, or in `Jmpz L; Jmp L2`; no other jump
or return occurs inside it. `result_type` says how to read Main's returned
cells; it holds no function type (closures are ClosureT).

The listing, which the printer writes and the parser reads back:

    result {int; bool}                 # the type of Main's result
    main Main

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

Comments run from `#` to the end of the line.
"""

from __future__ import annotations

import re

from ir import IRSpec, Node, VerifyError
from ir.immutable import immutable
from ir.ints import fits
from ir.source import CompileError, Span
from ir.types import Type, cell_size, contains_function, show_type


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
class Jmp(Instr):
    label: str


@immutable
class Jmpz(Instr):
    label: str


@immutable
class Jmprel1(Instr):
    labels: tuple[str, ...]


@immutable
class Call(Instr):
    proc: str


@immutable
class Ret(Instr):
    pass


@immutable
class Spawn(Instr):
    proc: str
    args_size: int
    ret_size: int


@immutable
class Resume(Instr):
    ret_size: int
    site: str | None = None  # "line:col" of the `resume` in the source


@immutable
class Yield(Instr):
    pass


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


@immutable
class Program(Node):
    procs: tuple[Proc, ...]
    result_type: Type
    main: str = "Main"


INSTRS = (Push, Store, SpAdd, SpSub, SpRestoreFp, Add, Sub, Mul, Lt, Eq,
          Jmp, Jmpz, Jmprel1, Call, Ret, Spawn, Resume, Yield)
FORMS = (Imm, FpOffset, *INSTRS, Block, Proc, Program)

# Instructions with no operand, by mnemonic.
_NULLARY = {cls.__name__.lower(): cls for cls in (SpRestoreFp, Add, Sub, Mul, Lt, Eq, Ret, Yield)}


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


def print_program(program: Program) -> str:
    lines = [f"result {show_type(program.result_type)}", f"main {program.main}"]
    for proc in program.procs:
        lines.append("")
        lines.append(f"proc {proc.name} arg={proc.arg_size} captures={proc.captures_size} "
                     f"ret={proc.ret_size} frame={proc.frame_size}")
        for block in proc.blocks:
            lines.append(f"{block.label}:")
            lines.extend("    " + show_instr(instr) for instr in block.instrs)
    return "\n".join(lines) + "\n"


# -- parser ----------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.'$]*")
_INT = re.compile(r"-?[0-9]+")
_COUNT = re.compile(r"[0-9]+")
_FP = re.compile(r"fp\[(-?[0-9]+)\]")
_SITE = re.compile(r"[0-9]+:[0-9]+")
_PROC_KEYS = ("arg", "captures", "ret", "frame")


@immutable
class _Token:
    text: str
    span: Span


class _ListingParser:
    """Reads a listing line by line; an error points at the offending token."""

    def __init__(self, text: str):
        self.text = text
        self.result_type: Type | None = None
        self.main: str | None = None
        self.procs: list[Proc] = []
        self.proc_head: tuple[str, dict[str, int]] | None = None
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
        return Program(tuple(self.procs), self.result_type, self.main or "Main")

    def fail(self, message: str, span: Span) -> None:  # always raises
        raise CompileError(message, span)

    def line(self, tokens: list[_Token], line_end: int) -> None:
        head = tokens[0]
        if head.text in ("result", "main"):
            if self.proc_head is not None or self.procs:
                self.fail(f"`{head.text}` belongs before the first proc", head.span)
            if getattr(self, "main" if head.text == "main" else "result_type") is not None:
                self.fail(f"a second `{head.text}` line", head.span)
            if len(tokens) < 2:
                self.fail(f"`{head.text}` needs a {'type' if head.text == 'result' else 'proc name'}",
                          Span(head.span.end, head.span.end))
            if head.text == "result":
                from ir.type_syntax import parse_type  # only listings need it

                self.result_type = parse_type(self.text, head.span.end, line_end)
            else:
                self.expect_end(tokens, 2)
                self.main = self.name(tokens[1], "a proc name")
        elif head.text == "proc":
            self.end_proc()
            self.proc_head = self.proc_header(tokens)
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
            if key not in _PROC_KEYS or not _COUNT.fullmatch(value):
                self.fail(f"expected one of {', '.join(k + '=<count>' for k in _PROC_KEYS)}, "
                          f"found `{token.text}`", token.span)
            if key in sizes:
                self.fail(f"`{key}` is given twice", token.span)
            sizes[key] = int(value)
        missing = [k for k in _PROC_KEYS if k not in sizes]
        if missing:
            self.fail(f"proc {name} needs {', '.join(k + '=' for k in missing)}", tokens[1].span)
        return name, sizes

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
                                   tuple(self.blocks)))
        self.proc_head = None
        self.blocks = []

    # -- operands ------------------------------------------------------------------

    def name(self, token: _Token, what: str) -> str:
        if not _NAME.fullmatch(token.text):
            self.fail(f"expected {what}, found `{token.text}`", token.span)
        return token.text

    def integer(self, token: _Token, pattern: re.Pattern[str], what: str) -> int:
        if not pattern.fullmatch(token.text):
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
            m = _FP.fullmatch(arg.text)
            if m is not None:
                return Push(FpOffset(int(m.group(1))))
            return Push(Imm(self.integer(arg, _INT, "an integer or fp[<offset>]")))
        if op == "store":
            (arg,) = self.operands(tokens, 1, 1, "a frame offset")
            return Store(self.integer(arg, _INT, "a frame offset"))
        if op in ("spadd", "spsub"):
            (arg,) = self.operands(tokens, 1, 1, "a count of cells")
            count = self.integer(arg, _COUNT, "a count of cells")
            return SpAdd(count) if op == "spadd" else SpSub(count)
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
                if not (args[1].text.startswith("@") and _SITE.fullmatch(args[1].text[1:])):
                    self.fail(f"expected a source site @<line>:<col>, found `{args[1].text}`", args[1].span)
                site = args[1].text[1:]
            return Resume(self.integer(args[0], _COUNT, "a count of result cells"), site)
        self.fail(f"unknown instruction `{op}`", tokens[0].span)


_MNEMONICS = frozenset([*_NULLARY, "push", "store", "spadd", "spsub", "jmp", "jmpz", "jmprel1",
                        "call", "spawn", "resume"])


def parse_program(text: str, file_name: str) -> Program:
    """The program a listing describes. Errors are CompileErrors with spans into
    `text`; the driver renders them as `file_name:line:col: error: ...`."""
    return _ListingParser(text).parse()


# -- verifier --------------------------------------------------------------------

_ENDS_BLOCK = frozenset({Jmp, Ret, Jmprel1})
_JUMPS = frozenset({Jmp, Jmpz, Jmprel1})
_INSTR_CLASSES = frozenset(INSTRS)
_USES_THE_FRAME = frozenset({Push, Store, Call})  # what _verify_proc checks against the stack height
_NO_OPERANDS_TO_CHECK = frozenset({Store, SpRestoreFp, Add, Sub, Mul, Lt, Eq, Jmp, Jmpz, Ret, Yield})


def jump_targets(instr: Instr) -> tuple[str, ...]:
    """The labels an instruction may jump to."""
    match instr:
        case Jmp(label) | Jmpz(label):
            return (label,)
        case Jmprel1(labels):
            return labels
    return ()


# (cells needed above fp, cells added) of the instructions whose effect is fixed.
# A Call's Ret restores the caller's height; Jmp, Ret and Yield leave it alone.
_FIXED_EFFECT = {
    Push: (0, 1), Store: (1, -1), Jmpz: (1, -1), Jmprel1: (1, -1),
    Add: (2, -1), Sub: (2, -1), Mul: (2, -1), Lt: (2, -1), Eq: (2, -1),
    Jmp: (0, 0), Ret: (0, 0), Yield: (0, 0), Call: (0, 0),
}


def stack_effect(instr: Instr, height: int) -> tuple[int, int]:
    """(how many cells above fp instr needs, how many it adds), at stack height `height`."""
    fixed = _FIXED_EFFECT.get(instr.__class__)
    if fixed is not None:
        return fixed
    match instr:
        case SpAdd(n):
            return 0, n
        case SpSub(n):
            return n, -n
        case SpRestoreFp():
            return 0, -height
        case Spawn(_, args_size, ret_size):
            return args_size, 3 + ret_size - args_size
        case Resume(ret_size):
            return 3 + ret_size, 0
    raise TypeError(f"not an instruction: {instr!r}")


def _after(instr: Instr, height: int, block: Block) -> int:
    """The stack height after instr, in block, given the height before it."""
    needs, delta = stack_effect(instr, height)
    if height < needs:
        raise VerifyError("stack-underflow",
                          f"`{show_instr(instr)}` in block {block.label} needs {needs} cells above fp, "
                          f"but the stack holds {height}", instr)
    return height + delta


def block_heights(block: Block, entry_height: int) -> tuple[int, ...]:
    """The stack height (cells above fp) before each instruction of block."""
    heights = []
    height = entry_height
    for instr in block.instrs:
        heights.append(height)
        height = _after(instr, height, block)
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
    before: dict[str, tuple[int, ...]] = {}
    work = [entry]
    while work:
        block = by_label[work.pop()]
        before[block.label] = block_heights(block, heights[block.label])
        for instr, height in zip(block.instrs, before[block.label]):
            if instr.__class__ not in _JUMPS:
                continue
            for target in jump_targets(instr):
                if target not in by_label:
                    raise VerifyError("jump-target", f"block {block.label} jumps to {target}, "
                                      f"which is not a block of proc {proc.name}", instr)
                arriving = _after(instr, height, block)
                if target not in heights:
                    heights[target] = arriving
                    work.append(target)
                elif heights[target] != arriving:
                    raise VerifyError("stack-height",
                                      f"block {target} is entered with {heights[target]} cells above fp "
                                      f"on one path and {arriving} from block {block.label}", instr)
    reached = [b.label for b in proc.blocks if b.label in heights]
    return {label: heights[label] for label in reached}, {label: before[label] for label in reached}


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
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise VerifyError("name-syntax", f"{name!r} is not a valid {what} ({_NAME.pattern})", node)


def _check_count(value: object, what: str, node: Node) -> None:
    if not isinstance(value, int) or value < 0:
        raise VerifyError("count", f"{what} must be a count (an int >= 0), not {value!r}", node)


def _verify_proc(proc: Proc, procs: dict[str, Proc]) -> dict[str, tuple[int, ...]]:
    if not proc.blocks:
        raise VerifyError("proc-blocks", f"proc {proc.name} has no blocks", proc)
    for block in proc.blocks:
        _verify_block(block, procs)
    entry = proc.blocks[0]
    if proc.frame_size > 0 and entry.instrs[0] != SpAdd(proc.frame_size):
        raise VerifyError("frame-entry", f"proc {proc.name} has {proc.frame_size} cells of locals, so its "
                          f"first instruction must be `spadd {proc.frame_size}`", entry)
    # Below fp: the saved fp and pc, then the captures, the argument and the return slot.
    lowest = -(2 + proc.captures_size + proc.arg_size + proc.ret_size)
    by_label = {block.label: block for block in proc.blocks}
    heights = instruction_heights(proc)
    for label, before in heights.items():
        block = by_label[label]
        for instr, height in zip(block.instrs, before):
            if instr.__class__ not in _USES_THE_FRAME:
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
    return heights


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
        case SpAdd(n) | SpSub(n):
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
            if site is not None and not (isinstance(site, str) and _SITE.fullmatch(site)):
                raise VerifyError("resume-site", f"resume's site must be \"line:col\", not {site!r}", instr)


IR = IRSpec(
    name="blocks",
    summary="stack-machine code in basic blocks with static stack heights, run by machine.vm",
    forms=FORMS,
    printer=print_program,
    verifier=verify,
    parser=parse_program,
)
