"""Running passes in order, checking IRs between them.

A pipeline is a list of pass instances. Building it checks that each pass
reads the IR the previous one wrote; running it optionally verifies the IR
after every pass and reports each step to an observer (the driver prints and
times with it; tests collect every IR with it).

Whatever a pass does wrong surfaces as an exception naming the pass: invalid
IR (PassBroke), a crash inside `run` (PassCrashed). A checker's errors stop
the run (CheckFailed); its warnings travel with its Step.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import ir
from ir import VerifyError
from ir.immutable import immutable
from ir.source import CompileError
from ir.traverse import MissingRule
from passes.framework import Diagnostic, Pass
from passes.framework.registry import PluginError, Registry


class PipelineError(Exception):
    """The pipeline itself is wrong: unknown pass, IRs that do not chain."""


class PassBroke(Exception):
    """A pass produced invalid IR or broke the framework's rules: a bug in the pass."""

    def __init__(self, pass_name: str, ir_name: str | None, message: str, node_text: str | None = None,
                 node: object = None, program: object = None):
        super().__init__(message)
        self.pass_name = pass_name
        self.ir_name = ir_name
        self.message = message
        self.node_text = node_text
        self.node = node  # the offending node and the program holding it, to show it in place
        self.program = program


class PassCrashed(Exception):
    """A pass raised an exception of its own instead of returning."""

    def __init__(self, pass_name: str, error: BaseException):
        super().__init__(f"{type(error).__name__}: {error}")
        self.pass_name = pass_name
        self.error = error


class CheckFailed(Exception):
    """A checker found errors in the program (every diagnostic it found, warnings too)."""

    def __init__(self, pass_name: str, diagnostics: tuple[Diagnostic, ...]):
        super().__init__(f"{pass_name}: {len(diagnostics)} diagnostics")
        self.pass_name = pass_name
        self.diagnostics = diagnostics


@immutable
class Step:
    pass_: Pass
    input: object
    output: object
    output_ir: str
    seconds: float
    input_ir: str = ""
    diagnostics: tuple[Diagnostic, ...] = ()  # a checker's warnings


class Pipeline:
    def __init__(self, passes: list[Pass], start_ir: str = "source"):
        self.passes = passes
        self.start_ir = start_ir
        current = start_ir
        for p in passes:
            if p.input_ir != current:
                raise PipelineError(
                    f"pass {p.name!r} reads {p.input_ir!r} IR, but the pass before it "
                    f"leaves {current!r} IR"
                )
            current = p.output_ir or current
            try:
                ir.lookup(current)
            except ir.UnknownIR as unknown:
                raise PipelineError(f"pass {p.name!r} writes {unknown}") from None
        self.final_ir = current

    @classmethod
    def from_names(cls, names: list[str], registry: Registry) -> Pipeline:
        passes = []
        for name in names:
            entry = registry.find(name)
            if entry is None:
                raise PipelineError(unknown_pass_message(name, registry))
            passes.append(entry.load()())
        return cls(passes)

    def run(self, program: object, *, verify_each: bool = False, always_verify: frozenset[str] = frozenset(),
            observe: Callable[[Step], None] | None = None, stop_after: str | None = None) -> object:
        """always_verify: passes whose output is verified even without verify_each."""
        current_ir = self.start_ir
        for p in self.passes:
            started = time.perf_counter()
            result = _run_one(p, program)
            seconds = time.perf_counter() - started
            input_ir, diagnostics = current_ir, ()
            if p.output_ir is None:
                diagnostics = _diagnostics(p, result)
                if any(d.severity == "error" for d in diagnostics):
                    raise CheckFailed(p.name, diagnostics)
                result = program  # a checker hands its input on unchanged
            else:
                current_ir = p.output_ir
                if verify_each or p.name in always_verify:
                    verify(p.name, current_ir, result)
            if observe is not None:
                observe(Step(p, program, result, current_ir, seconds, input_ir, diagnostics))
            program = result
            if stop_after is not None and p.name == stop_after:
                break
        return program


def _run_one(p: Pass, program: object) -> object:
    try:
        return p.run(program)
    except (CompileError, RecursionError, PluginError):
        raise  # the user's program is wrong, too deep, or a plugin is unusable: said elsewhere
    except MissingRule as missing:
        raise PassBroke(p.name, p.output_ir, str(missing)) from None
    except Exception as crash:
        raise PassCrashed(p.name, crash) from crash


def _diagnostics(p: Pass, found: object) -> tuple[Diagnostic, ...]:
    """A checker's result: its diagnostics (None or an iterable of Diagnostic)."""
    found = tuple(found or ())
    for d in found:
        if not isinstance(d, Diagnostic) or d.severity not in ("error", "warning"):
            raise PassCrashed(p.name, TypeError(
                f"a checker returns passes.framework.Diagnostic values (severity error or warning), got {d!r}"))
    return found


def verify(pass_name: str, ir_name: str, program: object) -> None:
    spec = ir.lookup(ir_name)
    try:
        spec.verifier(program)
    except VerifyError as broken:
        raise PassBroke(
            pass_name, ir_name, f"rule {broken.rule!r} broken: {broken.message}",
            describe_node(spec, broken.node), broken.node, program,
        ) from None
    except Exception as crash:  # a plugin IR's verifier with a bug of its own
        raise PassBroke(pass_name, ir_name,
                        f"the {ir_name!r} verifier itself failed: {type(crash).__name__}: {crash}") from None


def describe_node(spec: ir.IRSpec, node: object) -> str | None:
    """The offending node in the IR's own printed form, where its printer can show one node."""
    if node is None:
        return None
    show = getattr(spec, "node_printer", None)
    if show is not None:
        try:
            return show(node)
        except Exception:  # the node is broken; fall back to its structure
            pass
    return repr(node)


def unknown_pass_message(name: str, registry: Registry) -> str:
    return f"unknown pass {name!r}; known passes: {', '.join(registry.names())}"
