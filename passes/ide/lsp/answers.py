"""The server's answers: what the analysis of one version of a document says, as protocol values.

Each function takes an `Analysis` (passes.ide.analysis) and the request's
positions, and gives what the request returns. Positions cross here, and
only here, between the protocol's (line, UTF-16 column) and the analysis's
offsets, through `analysis.positions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from ir.source import Span
from ir.surface_syntax import scan
from passes.ide.analysis import TOKEN_KINDS, Analysis, Symbol
from passes.ide.positions import utf16_length

# The analysis's token kinds are the protocol's standard token types, but
# for a fiber's tag (`Done), which the protocol has no type for.
TOKEN_TYPES = [{"tag": "enumMember"}.get(kind, kind) for kind in TOKEN_KINDS]
TOKEN_MODIFIERS = ["declaration"]
LEGEND = types.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS)

_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


def to_range(analysis: Analysis, span: Span | None) -> types.Range:
    """A span's range; no span (a diagnostic about no place) is the start of the text."""
    if span is None:
        return types.Range(types.Position(0, 0), types.Position(0, 0))
    (start_line, start_column), (end_line, end_column) = analysis.positions.range(span)
    return types.Range(types.Position(start_line, start_column), types.Position(end_line, end_column))


def offset_of(analysis: Analysis, position: types.Position) -> int:
    return analysis.positions.offset(position.line, position.character)


def diagnostics(analysis: Analysis, uri: str) -> list[types.Diagnostic]:
    """Every diagnostic, with its notes (the other site of a conflict) as related information."""
    return [types.Diagnostic(
        range=to_range(analysis, d.span), message=d.message, severity=_SEVERITY.get(d.severity),
        source="co", code=d.source,
        related_information=[types.DiagnosticRelatedInformation(types.Location(uri, to_range(analysis, note.span)),
                                                                note.message) for note in d.notes] or None,
    ) for d in analysis.diagnostics]


def hover(analysis: Analysis, position: types.Position) -> types.Hover | None:
    found = analysis.hover(offset_of(analysis, position))
    if found is None:
        return None
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, f"```co\n{found.text}\n```"),
                       to_range(analysis, found.span))


def definition(analysis: Analysis, uri: str, position: types.Position) -> types.Location | None:
    span = analysis.definition(offset_of(analysis, position))
    return types.Location(uri, to_range(analysis, span)) if span is not None else None


def references(analysis: Analysis, uri: str, position: types.Position,
               include_declaration: bool) -> list[types.Location]:
    return [types.Location(uri, to_range(analysis, span))
            for span in analysis.references(offset_of(analysis, position), include_declaration)]


def document_symbols(analysis: Analysis) -> list[types.DocumentSymbol]:
    """The lets, nested as in the program: a let's children are the lets in
    its value. Below the deepest level sent, the lets are listed flat."""
    def convert(s: Symbol, depth: int) -> types.DocumentSymbol:
        if depth < DEEPEST_SYMBOL:
            children = [convert(child, depth + 1) for child in s.children]
        else:
            children = [_document_symbol(analysis, below, []) for below in _descendants(s)]
        return _document_symbol(analysis, s, children)
    return [convert(s, 1) for s in analysis.symbols()]


# Protocol values are encoded recursively, a few frames a level: an outline
# deeper than this would not be sent at all (and would help no one).
DEEPEST_SYMBOL = 64


def _document_symbol(analysis: Analysis, s: Symbol, children: list[types.DocumentSymbol]) -> types.DocumentSymbol:
    return types.DocumentSymbol(
        name=s.name, kind=types.SymbolKind.Function if s.kind == "function" else types.SymbolKind.Variable,
        range=to_range(analysis, s.span), selection_range=to_range(analysis, s.name_span), detail=s.type,
        children=children)


def _descendants(s: Symbol) -> list[Symbol]:
    """Every let below s, in the program's order."""
    found, stack = [], list(reversed(s.children))
    while stack:
        below = stack.pop()
        found.append(below)
        stack.extend(reversed(below.children))
    return found


def semantic_tokens(analysis: Analysis) -> types.SemanticTokens:
    """The tokens in the protocol's encoding: for each, five numbers relative
    to the token before it (line, start column, length, type, modifiers)."""
    data: list[int] = []
    previous_line = previous_column = 0
    for token in analysis.tokens():
        line, column = analysis.positions.position(token.span.start)
        # A comment runs to the end of its line; where that is, the protocol counts.
        length = utf16_length(re.split(r"[\r\n]", analysis.text[token.span.start:token.span.end], maxsplit=1)[0])
        data += [line - previous_line, column - previous_column if line == previous_line else column, length,
                 TOKEN_KINDS.index(token.kind), 1 if token.declaration else 0]
        previous_line, previous_column = line, column
    return types.SemanticTokens(data=data)


def inlay_hints(analysis: Analysis, visible: types.Range) -> list[types.InlayHint]:
    """`: type` after each let's name, for the lets in the visible range."""
    first, last = offset_of(analysis, visible.start), offset_of(analysis, visible.end)
    hints = []
    for hint in analysis.inlay_hints():
        if first <= hint.offset <= last:
            line, column = analysis.positions.position(hint.offset)
            hints.append(types.InlayHint(types.Position(line, column), hint.label, kind=types.InlayHintKind.Type))
    return hints


def prepare_rename(analysis: Analysis, position: types.Position) -> types.Range | None:
    """The name under the cursor, if it is a binding's name or a use of one."""
    offset = offset_of(analysis, position)
    here = next((span for span in analysis.references(offset) if span.start <= offset <= span.end), None)
    return to_range(analysis, here) if here is not None else None


def rename(analysis: Analysis, uri: str, position: types.Position, new_name: str,
           reanalyze: Callable[[str], Analysis]) -> types.WorkspaceEdit:
    """Every occurrence of the binding under the cursor, renamed; refused when
    the new name is no identifier, or when it would change what any name
    refers to (the program with the new name is analyzed again to see)."""
    if [(token.kind, token.text) for token in scan(new_name)] != [("ident", new_name)]:
        raise JsonRpcInvalidParams(f"{new_name!r} is not a name in co (a lowercase letter, then letters, "
                                   "digits, _ and '; not a keyword)")
    offset = offset_of(analysis, position)
    binding = analysis.binding_at(offset)
    if binding is None or binding.name_span is None:
        raise _request_failed("there is no name to rename here")
    spans = analysis.references(offset)
    renamed, new_spans = _replace(analysis.text, spans, new_name)
    after = reanalyze(renamed)
    declaration = new_spans[spans.index(binding.name_span)]
    if after.references(declaration.start) != new_spans:
        raise _request_failed(f"renaming {binding.name} to {new_name} would change what a name refers to "
                              "(a binding of that name is in the way)")
    return types.WorkspaceEdit(changes={uri: [types.TextEdit(to_range(analysis, span), new_name) for span in spans]})


def _replace(text: str, spans: tuple[Span, ...], new_name: str) -> tuple[str, tuple[Span, ...]]:
    """text with every span (in order, apart) replaced by new_name, and where each now is."""
    parts, new_spans, shift, done = [], [], 0, 0
    for span in spans:
        parts += [text[done:span.start], new_name]
        new_start = span.start + shift
        new_spans.append(Span(new_start, new_start + len(new_name)))
        shift += len(new_name) - (span.end - span.start)
        done = span.end
    parts.append(text[done:])
    return "".join(parts), tuple(new_spans)


def ir_after(analysis: Analysis, pass_name: str) -> str:
    """The IR after the pass, as `--stop-after` prints it; else an error
    response with the diagnostic that stopped the pipeline before it (or
    that says there is no such pass), as the command line prints it."""
    printed = analysis.ir_after(pass_name)
    if isinstance(printed, str):
        return printed
    raise _request_failed(analysis.render(printed))


def _request_failed(message: str) -> JsonRpcException:
    return JsonRpcException(message, code=types.LSPErrorCodes.RequestFailed)
