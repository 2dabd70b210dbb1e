"""What an editor shows about a co program, computed by the command line's pipeline.

    analysis = analyze(text, "prog.co", checks=("affine",), plugins=("my_check.py",))
    analysis.diagnostics            syntax and type errors, checkers' findings, crashed passes
    analysis.hover(offset)          Hover(span, "x : int") on a name, a lambda, any expression
    analysis.definition(offset)     the span of the name that the variable there refers to
    analysis.references(offset)     the spans of every use of that binding
    analysis.symbols()              the let bindings, nested
    analysis.inlay_hints()          ": type" after the name of every let
    analysis.tokens()               semantic tokens, for coloring
    analysis.ir_after("defunc")     the IR after a pass, as --stop-after prints it

Plain values only, no protocol: positions are offsets into `text`, and
`analysis.positions` (passes.ide.positions) turns them into an editor's
line and UTF-16 column and back.
`analyze` never raises, whatever the text: what goes wrong is a diagnostic.

The passes and plugins are the command line's (`--check`, `--plugin`).
The pipeline runs at once through inference and the last checker, which
is all the diagnostics need; the back end runs the first time `ir_after`
asks for one of its passes (on a long program it takes as long again).
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import ir
from ir.source import CompileError, Note, Source, Span, render_diagnostic
from ir.surface_syntax import Token, scan
from ir.types import show_member
from passes.framework import Pass, assemble, plugins
from passes.framework.assemble import AssemblyError
from passes.framework.deep_stack import run_with_deep_stack
from passes.framework.pipeline import CheckFailed, PassBroke, PassCrashed, Pipeline, PipelineError, Step
from passes.framework.registry import DEFAULT_PIPELINE, PluginError, Registry, normalize
from passes.ide.index import Binding, ProgramIndex, Symbol, show_type_safely
from passes.ide.positions import Positions

__all__ = ["Analysis", "Analyzer", "Binding", "Diagnostic", "Hover", "InlayHint", "SemanticToken", "Symbol",
           "TOKEN_KINDS", "analyze"]


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error" or "warning"
    message: str
    span: Span | None  # None when it is about no place in the text (a plugin that fails, a crash)
    notes: tuple[Note, ...] = ()  # other sites: where a conflicting type came from, a first resume
    source: str = "co"  # the pass that reported it


@dataclass(frozen=True)
class Hover:
    span: Span  # what the text is about
    text: str  # `x : int`, `lam {y: int} : int -[lam {y: int}]-> int`, or a type


@dataclass(frozen=True)
class InlayHint:
    offset: int  # right after a let's name
    label: str  # ": int"


TOKEN_KINDS = ("keyword", "variable", "parameter", "function", "number", "operator", "comment", "tag")


@dataclass(frozen=True)
class SemanticToken:
    span: Span
    kind: str  # one of TOKEN_KINDS
    declaration: bool = False  # a binder's name rather than a use


def analyze(text: str, name: str = "prog.co", *, checks: Iterable[str] = (),
            plugins: Iterable[str] = ()) -> Analysis:
    """checks: optional passes to run (`--check`); plugins: plugin files or modules (`--plugin`)."""
    return Analyzer(checks, plugins).analyze(text, name)


class Analyzer:
    """The pipeline, set up once (plugins loaded, checks placed), for analyzing
    text after text: a language server keeps one."""

    def __init__(self, checks: Iterable[str] = (), plugins: Iterable[str] = ()):
        self.problems: tuple[Diagnostic, ...] = ()
        try:
            self.passes, self.foreign = _assemble(tuple(checks), tuple(plugins))
        except (PluginError, AssemblyError, PipelineError) as problem:
            # The program still deserves its syntax and type errors.
            self.problems = (Diagnostic("error", f"{problem} (analyzing with the default passes)", None),)
            self.passes, self.foreign = Pipeline.from_names(list(DEFAULT_PIPELINE), Registry()).passes, frozenset()
        wanted = [i for i, p in enumerate(self.passes) if p.output_ir in (None, "typed")]
        self.eager = max(wanted) + 1 if wanted else len(self.passes)

    def analyze(self, text: str, name: str = "prog.co") -> Analysis:
        return Analysis(self, text, name)


def _assemble(checks: tuple[str, ...], plugin_specs: tuple[str, ...]) -> tuple[list[Pass], frozenset[str]]:
    """The passes, as `--plugin` and `--check` choose them, and the names of
    those from outside, whose output is always verified."""
    registry = Registry()
    auto_enabled = plugins.add_plugins(registry, plugin_specs)
    names = assemble.place([entry.name for entry in registry.available()],
                           [*auto_enabled, *map(normalize, checks)], [], registry)
    passes = assemble.instantiate(names, {}, registry)
    Pipeline(passes)  # the IRs must chain
    return passes, frozenset(p.name for p in passes if registry.find(p.name).origin != "built-in")


def _built_once(build: Callable[[Analysis], Any]) -> functools.cached_property:
    """A property computed on first use, with room to recurse and without the
    garbage collector, which would otherwise rescan the whole new program
    again and again while an index is built (several times slower)."""
    return functools.cached_property(lambda self: run_with_deep_stack(lambda: build(self)))


class Analysis:
    def __init__(self, analyzer: Analyzer, text: str, name: str):
        self.text = text
        # A byte-order mark is no part of the program; a space keeps every offset where the editor has it.
        self.source = Source(name, " " + text[1:] if text.startswith("\ufeff") else text)
        self.pass_names = tuple(p.name for p in analyzer.passes)
        self._run = _Run(analyzer, self.source)
        self._run.advance(analyzer.eager)
        self.diagnostics: tuple[Diagnostic, ...] = analyzer.problems + self._run.diagnostics()
        self.surface = self._run.first_output("surface")  # the parsed program, or None
        self.typed = self._run.first_output("typed")  # as `infer` writes it, or None
        self._printed: dict[str, str | Diagnostic] = {}

    def render(self, diagnostic: Diagnostic) -> str:
        """The diagnostic as the command line prints it: `file:line:col: error: ...` and a caret."""
        return render_diagnostic(self.source, diagnostic.severity, diagnostic.message, diagnostic.span,
                                 diagnostic.notes)

    # -- names and types -------------------------------------------------------------

    def hover(self, offset: int) -> Hover | None:
        """On a name: `x : type`; on a lambda's `\\`: its name, captures and type;
        elsewhere in an expression: the type of the smallest expression there."""
        token = self._token_at(offset)
        if token is None or token.kind == "comment" or self.typed is None:
            return None
        if token.kind == "ident":
            binding = self._index.binding_of(token.span.start)
            if binding is not None and binding.type is not None:
                return Hover(token.span, f"{binding.name} : {show_type_safely(binding.type)}")
        if token.text == "\\":
            lam = self._index.lambda_at(token.span.start)
            if lam is not None:
                own = show_type_safely(lam.type.lambdas.member(lam.name), show_member)
                return Hover(lam.span, f"{own} : {show_type_safely(lam.type)}")
        node = self._index.innermost(offset)
        return Hover(node.span, show_type_safely(node.type)) if node is not None else None

    def definition(self, offset: int) -> Span | None:
        """The name of the binding that the identifier at offset refers to (or is)."""
        binding = self.binding_at(offset)
        return binding.name_span if binding is not None else None

    def references(self, offset: int, include_declaration: bool = True) -> tuple[Span, ...]:
        """Every use of the binding under offset, in order, and its name if asked."""
        binding = self.binding_at(offset)
        if binding is None:
            return ()
        spans = list(self._index.uses(binding))
        if include_declaration and binding.name_span is not None:
            spans.append(binding.name_span)
        return tuple(sorted(spans, key=lambda span: span.start))

    def binding_at(self, offset: int) -> Binding | None:
        """The binding that the identifier at offset binds or uses (also before inference)."""
        token = self._identifier_at(offset)
        if token is None or self._index is None:
            return None
        return self._index.binding_of(token.span.start)

    def symbols(self) -> tuple[Symbol, ...]:
        """Every let and let rec, nested as in the program (also before inference)."""
        return self._symbols

    def inlay_hints(self) -> tuple[InlayHint, ...]:
        """`: type` after the name of every let and let rec."""
        return self._inlay_hints

    def tokens(self) -> tuple[SemanticToken, ...]:
        """Every token worth coloring, in order; also for a program that does not parse."""
        return self._tokens

    # -- the IRs ---------------------------------------------------------------------

    def ir_after(self, pass_name: str) -> str | Diagnostic:
        """The IR after the pass, printed as `--stop-after PASS` prints it; or,
        when that pass or one before it fails, the error that stopped it."""
        name = normalize(pass_name)
        if name not in self._printed:
            self._printed[name] = self._print_after(name)
        return self._printed[name]

    def _print_after(self, name: str) -> str | Diagnostic:
        if name not in self.pass_names:
            return Diagnostic("error", f"no pass {name!r} in this pipeline; it runs {', '.join(self.pass_names)}",
                              None)
        position = self.pass_names.index(name)
        self._run.advance(position + 1)
        if position >= len(self._run.steps):
            failure = self._run.failure
            return next((d for d in failure if d.severity == "error"), failure[0])
        step = self._run.steps[position]
        try:
            return run_with_deep_stack(lambda: ir.lookup(step.output_ir).printer(step.output))
        except Exception as crash:  # a plugin IR's printer with a bug of its own
            return Diagnostic("error", f"internal error in the {step.output_ir} printer: "
                                       f"{type(crash).__name__}: {crash}", None, name)

    # -- indexes, each built once, on the first question that needs it -----------------

    @functools.cached_property
    def positions(self) -> Positions:
        """Offsets <-> (line, UTF-16 column) in this text."""
        return Positions(self.text)

    @_built_once
    def _lexemes(self) -> list[Token]:
        return list(scan(self.source.text))

    @_built_once
    def _lexeme_starts(self) -> list[int]:
        return [token.span.start for token in self._lexemes]

    @_built_once
    def _index(self) -> ProgramIndex | None:
        program = self.typed or self.surface
        if program is None:
            return None
        return ProgramIndex(program.body, [t for t in self._lexemes if t.kind != "comment"])

    @_built_once
    def _symbols(self) -> tuple[Symbol, ...]:
        return self._index.symbols() if self._index is not None else ()

    @_built_once
    def _inlay_hints(self) -> tuple[InlayHint, ...]:
        if self.typed is None:
            return ()
        return tuple(InlayHint(b.name_span.end, f": {show_type_safely(b.type)}") for b in self._index.bindings
                     if b.kind in ("let", "let rec") and b.name_span is not None)

    @_built_once
    def _tokens(self) -> tuple[SemanticToken, ...]:
        return tuple(semantic_tokens(self._lexemes, self._index))

    def _token_at(self, offset: int) -> Token | None:
        """The token holding offset, or else a word that ends there (the cursor just after it)."""
        k = bisect.bisect_right(self._lexeme_starts, offset) - 1
        if k < 0:
            return None
        token = self._lexemes[k]
        if offset < token.span.end:
            return token
        return token if offset == token.span.end and token.kind in ("ident", "int") else None

    def _identifier_at(self, offset: int) -> Token | None:
        """The identifier holding offset or ending there: `(x|)` is on x."""
        k = bisect.bisect_right(self._lexeme_starts, offset) - 1
        for token in self._lexemes[max(k - 1, 0):k + 1][::-1]:
            if token.kind == "ident" and token.span.start <= offset <= token.span.end:
                return token
        return None


_LEXEME_KINDS = {"keyword": "keyword", "int": "number", "symbol": "operator", "comment": "comment", "tag": "tag"}
_PUNCTUATION = frozenset("(){},")


def semantic_tokens(lexemes: list[Token], index: ProgramIndex | None) -> Iterator[SemanticToken]:
    """A kind for every token but punctuation and bad characters. A name is a
    declaration when it follows `let`, `rec`, `\\` or `Done. A name whose type
    is a function type is a function (before inference: a let of a lambda),
    else a parameter or a variable; when the program does not parse, the
    tokens alone tell."""
    previous = None
    for token in lexemes:
        if token.kind == "ident":
            binding = index.binding_of(token.span.start) if index is not None else None
            after = previous.text if previous is not None else ""
            if binding is not None:
                kind = "function" if binding.is_function else "parameter" if binding.kind == "parameter" else "variable"
            else:
                kind = "parameter" if after == "\\" else "variable"
            yield SemanticToken(token.span, kind, after in ("let", "rec", "\\", "`Done"))
        elif token.text not in _PUNCTUATION and token.kind in _LEXEME_KINDS:
            yield SemanticToken(token.span, _LEXEME_KINDS[token.kind])
        if token.kind != "comment":
            previous = token


class _Run:
    """The pipeline over one text, run as far as asked so far: each pass's
    step, and the diagnostics of what stopped it."""

    def __init__(self, analyzer: Analyzer, source: Source):
        self.passes = analyzer.passes
        self.foreign = analyzer.foreign
        self.source = source
        self.steps: list[Step] = []
        self.failure: tuple[Diagnostic, ...] = ()
        self._lock = threading.Lock()  # a server may ask for two IRs at once

    def advance(self, count: int) -> None:
        """Run passes until `count` of them have run, or one has failed."""
        with self._lock:
            done = len(self.steps)
            if self.failure or done >= count:
                return
            program = self.steps[-1].output if self.steps else self.source
            start_ir = self.steps[-1].output_ir if self.steps else "source"
            pipeline = Pipeline(self.passes[done:count], start_ir)
            try:
                run_with_deep_stack(lambda: pipeline.run(program, always_verify=self.foreign,
                                                         observe=self.steps.append))
            except Exception as problem:
                self.failure = _diagnostics_of(problem, self.passes[len(self.steps)].name)

    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """The warnings of the passes that ran, then what stopped the run."""
        warnings = tuple(Diagnostic(d.severity, d.message, d.span, d.notes, step.pass_.name)
                         for step in self.steps for d in step.diagnostics)
        return warnings + self.failure

    def first_output(self, ir_name: str) -> Any:
        return next((step.output for step in self.steps if step.pass_.output_ir == ir_name), None)


def _diagnostics_of(problem: Exception, pass_name: str) -> tuple[Diagnostic, ...]:
    """What stopped the pipeline in pass_name, as diagnostics."""
    match problem:
        case CompileError():
            return (Diagnostic("error", problem.message, problem.span, problem.notes, pass_name),)
        case CheckFailed():
            return tuple(Diagnostic(d.severity, d.message, d.span, d.notes, problem.pass_name)
                         for d in problem.diagnostics)
        case PassBroke():
            span = getattr(problem.node, "span", None)
            return (Diagnostic("error", f"internal error in pass {problem.pass_name!r}: it produced invalid "
                                        f"{problem.ir_name} IR: {problem.message}",
                               span if isinstance(span, Span) and span.end > span.start else None,
                               source=problem.pass_name),)
        case PassCrashed():
            return (Diagnostic("error", f"internal error in pass {problem.pass_name!r}: {problem}", None,
                               source=problem.pass_name),)
        case PluginError():
            return (Diagnostic("error", str(problem), None, source=pass_name),)
        case RecursionError():
            return (Diagnostic("error", "the program is nested too deeply to compile", None, source=pass_name),)
    return (Diagnostic("error", f"internal error in pass {pass_name!r}: {type(problem).__name__}: {problem}",
                       None, source=pass_name),)
