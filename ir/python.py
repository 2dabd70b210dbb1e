"""python: the blocks program compiled to Python source, run by machine.fast.

    Program ::= Program(result_type, main, procs, value_type)
                  main: the Python name of the entry function
                  value_type: as the blocks program's (a value holding functions)
    Proc    ::= Proc(name, python_name, kind, source)
                  name: the blocks proc it was compiled from
                  kind: "function" (runs to its end) or "generator" (runs on a fiber: may suspend it)
                  source: one `def python_name(...)` statement

A blocks proc that may yield and runs both on main and on a fiber has two
Procs: a function (its yields do nothing, as on main) and a generator. The
source uses only what the verifier allows: integer constants and None,
names of the safe alphabet `[a-z][a-z0-9_]*` (no `__`), the procs' own
names, the helpers of RUNTIME_NAMES, which machine.fast provides, lists
indexed by a constant (a fiber), and `try` catching only the exceptions of
EXCEPTIONS; no attribute, no string, no import. So nothing of the user's
program but integers and rewritten names reaches the generated code.

The printed form, which the reader parses back:

    # python IR: result {int; int}, entry main

    # proc fib: function fib (runs to its end)
    def fib(arg):
        ...

    # proc fib: generator fib_gen (runs on a fiber)
    def fib_gen(arg, depth):
        ...
"""

from __future__ import annotations

import keyword
import re

from ir import IRSpec, Node, VerifyError
from ir.immutable import immutable
from ir.source import CompileError, Span
from ir.types import Type, show_type

FUNCTION, GENERATOR = "function", "generator"

# The helpers machine.fast puts beside the generated procs (see its docstring).
RUNTIME_NAMES = ("wrap", "next", "stop_iteration", "numbers", "result_of", "trampoline", "refuse",
                 "cannot_resume", "bad_jump")
EXCEPTIONS = ("stop_iteration", "cannot_resume")  # the helpers an `except` may name

SAFE_NAME = r"[a-z][a-z0-9_]*"  # patterns, compiled by `re` when first used


def is_safe_name(name: str) -> bool:
    return bool(re.fullmatch(SAFE_NAME, name)) and "__" not in name and not keyword.iskeyword(name)


@immutable
class Proc(Node):
    name: str
    python_name: str
    kind: str
    source: str


@immutable
class Program(Node):
    result_type: Type
    main: str
    procs: tuple[Proc, ...]
    value_type: Type | None = None


FORMS = (Proc, Program)


# -- printer ---------------------------------------------------------------------


def proc_header(proc: Proc) -> str:
    where = "runs on a fiber" if proc.kind == GENERATOR else "runs to its end"
    return f"# proc {proc.name}: {proc.kind} {proc.python_name} ({where})"


def print_program(program: Program) -> str:
    parts = [f"# python IR: result {show_type(program.result_type)}, entry {program.main}\n"]
    if program.value_type is not None:
        parts.append(f"# value {show_type(program.value_type)}\n")
    for proc in program.procs:
        parts.append(f"\n{proc_header(proc)}\n{proc.source.rstrip()}\n")
    return "".join(parts)


# -- reader ----------------------------------------------------------------------

_HEADER = r"# python IR: result (?P<type>.*), entry (?P<main>\S+)\n(?:# value (?P<value>.*)\n)?"
_PROC = r"(?m)^# proc (?P<name>\S+): (?P<kind>function|generator) (?P<python>\S+) \([^)\n]*\)\n"


def parse_program(text: str, file_name: str) -> Program:
    """The program a printed python IR describes."""
    from ir.type_syntax import parse_type  # here: only a listing being read needs it

    header = re.match(_HEADER, text)
    if header is None:
        raise CompileError("a python IR starts with `# python IR: result <type>, entry <name>`", Span(0, 0))
    result_type = parse_type(text, header.start("type"), header.end("type"))
    value_type = None if header["value"] is None else parse_type(text, header.start("value"), header.end("value"))
    heads = list(re.compile(_PROC).finditer(text, header.end()))
    procs = []
    for head, after in zip(heads, [*heads[1:], None]):
        source = text[head.end(): after.start() if after else len(text)].strip("\n") + "\n"
        procs.append(Proc(head["name"], head["python"], head["kind"], source))
    return Program(result_type, header["main"], tuple(procs), value_type)


# -- verifier --------------------------------------------------------------------


def _allowed_nodes(ast) -> tuple[type, ...]:
    """Every syntax node the generated code may contain."""
    return (
        ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Return, ast.Assign, ast.Expr, ast.If,
        ast.While, ast.Continue, ast.Pass, ast.Name, ast.Load, ast.Store, ast.Constant, ast.Tuple,
        ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Call, ast.Yield, ast.YieldFrom,
        ast.Add, ast.Sub, ast.Mult, ast.USub, ast.Not, ast.Lt, ast.LtE, ast.Gt, ast.Eq, ast.NotEq, ast.Or,
        ast.Break, ast.List, ast.Subscript, ast.Try, ast.ExceptHandler,
    )


def verify(program: Program) -> None:
    if not isinstance(program, Program):
        raise VerifyError("python-forms", f"{type(program).__name__} is not a python Program", program)
    names: dict[str, Proc] = {}
    for proc in program.procs:
        if not isinstance(proc, Proc):
            raise VerifyError("python-forms", f"{type(proc).__name__} is not a python Proc", proc)
        if proc.kind not in (FUNCTION, GENERATOR):
            raise VerifyError("proc-kind", f"{proc.python_name}: kind must be function or generator", proc)
        if not is_safe_name(proc.python_name) or proc.python_name in RUNTIME_NAMES:
            raise VerifyError("safe-names", f"{proc.python_name!r} is not a safe proc name", proc)
        if proc.python_name in names:
            raise VerifyError("unique-procs", f"two procs are named {proc.python_name}", proc)
        names[proc.python_name] = proc
    main = names.get(program.main)
    if main is None or main.kind != FUNCTION:
        raise VerifyError("main-exists", f"there is no function {program.main} to start from", program)
    import ast  # here: only a verifier parses the generated code, and ast is slow to import

    allowed, globals_ = _allowed_nodes(ast), set(names) | set(RUNTIME_NAMES)
    for proc in program.procs:
        _verify_proc(ast, allowed, proc, globals_)


def _verify_proc(ast, allowed: tuple[type, ...], proc: Proc, globals_: set[str]) -> None:
    """proc's source, checked against the procs' and the runtime's names, `globals_`."""

    def broken(rule: str, message: str):
        return VerifyError(rule, f"proc {proc.python_name}: {message}", proc)

    try:
        tree = ast.parse(proc.source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise broken("python-syntax", f"the source does not parse: {error}") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef) \
            or tree.body[0].name != proc.python_name:
        raise broken("one-def", f"the source must be one `def {proc.python_name}(...)`")
    function = tree.body[0]
    if function.decorator_list or function.returns or function.args.vararg or function.args.kwarg \
            or function.args.defaults or function.args.kwonlyargs or function.args.posonlyargs:
        raise broken("plain-def", "a proc takes plain positional parameters only")
    local = {a.arg for a in function.args.args}
    local |= {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local |= {n.name for n in ast.walk(function) if isinstance(n, ast.ExceptHandler) and n.name is not None}
    if local & globals_:
        raise broken("known-names", f"the local {min(local & globals_)!r} hides a proc or a runtime helper")
    known = local | globals_
    yields = False
    for node in ast.walk(function):
        if not isinstance(node, allowed):
            raise broken("allowed-syntax", f"`{type(node).__name__}` is not allowed in generated code "
                         f"(line {getattr(node, 'lineno', '?')})")
        if isinstance(node, ast.Constant) and type(node.value) not in (int, bool, type(None)):
            raise broken("safe-constants", f"the constant {node.value!r} is not an integer")
        if isinstance(node, ast.Subscript) and not (
                isinstance(node.value, ast.Name) and node.value.id in local and isinstance(node.slice, ast.Constant)
                and type(node.slice.value) is int and node.slice.value >= 0):
            raise broken("safe-subscripts", "only a local may be indexed, and only by an integer constant")
        if isinstance(node, ast.Try) and node.finalbody:
            raise broken("allowed-syntax", "a `try` has no `finally`")
        if isinstance(node, ast.ExceptHandler) and not (
                isinstance(node.type, ast.Name) and node.type.id in EXCEPTIONS
                and (node.name is None or is_safe_name(node.name))):
            raise broken("known-exceptions", f"an `except` names one of {', '.join(EXCEPTIONS)} and a safe local")
        if isinstance(node, ast.Name):
            if not is_safe_name(node.id):
                raise broken("safe-names", f"the name {node.id!r} is not of the safe alphabet")
            if node.id not in known:
                raise broken("known-names", f"{node.id!r} is neither a local, a proc nor a runtime helper")
        if isinstance(node, ast.arg) and not is_safe_name(node.arg):
            raise broken("safe-names", f"the parameter {node.arg!r} is not of the safe alphabet")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id not in local):
            raise broken("known-procs", "a call must name a proc or a runtime helper")
        yields = yields or isinstance(node, (ast.Yield, ast.YieldFrom))
    if yields != (proc.kind == GENERATOR):
        raise broken("proc-kind", f"a {proc.kind} must {'' if proc.kind == GENERATOR else 'not '}yield")


IR = IRSpec(
    name="python",
    summary="the program as Python source (stack cells as locals, fibers as generators), run by machine.fast",
    forms=FORMS,
    printer=print_program,
    verifier=verify,
    parser=parse_program,
)
