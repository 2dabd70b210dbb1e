"""The language server: open documents, one analysis per version, and the protocol's handlers (pygls).

A document is analyzed once per version, when something first needs it:
its diagnostics, published a short quiet time (`debounceMs`) after the
last change (at once when it opens), or a question such as a hover.
Every later question about that version asks the same `Analysis`
(passes.ide.analysis), and `passes.ide.lsp.answers` turns what it says
into the protocol's values.

Threads: pygls reads messages and runs the handlers on an asyncio loop.
Analyses, and the questions put to them, run on one worker thread, one at
a time: an analysis changes process-wide settings while it runs (see
passes.framework.deep_stack) and builds its indexes on first use, so two
at once would trip over each other. The loop meanwhile takes the next
messages: a change that arrives during an analysis cancels the
diagnostics of the version it replaces.

Nothing a client sends stops the server. pygls answers a request whose
handler raises with an error response and logs it (on standard error),
and an unknown method with "method not found"; diagnostics that cannot be
computed are logged, and the server goes on.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from passes.ide.analysis import Analysis, Analyzer
from passes.ide.lsp import answers
from passes.ide.lsp.settings import Settings, is_our_section

SHOW_IR = "co.showIR"  # arguments: [document uri, pass name]; returns the IR as --stop-after prints it

logger = logging.getLogger(__name__)
Answer = TypeVar("Answer")


class CoLanguageServer(LanguageServer):
    def __init__(self, flags: Settings):
        super().__init__("co-passes", _version(), protocol_cls=_Protocol)
        self.flags = flags  # from the command line; they hold whatever the client's settings say
        self.settings = flags
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="co-analysis")
        self._analyses: dict[str, tuple[int | None, asyncio.Future[Analysis]]] = {}  # uri -> its newest
        self._checking: dict[str, asyncio.Task[None]] = {}  # uri -> its diagnostics on the way

    # -- settings --------------------------------------------------------------------

    def configure(self, sent: Any) -> None:
        """Take the client's settings; documents are analyzed again with them."""
        self.settings, problems = self.flags.with_client_settings(sent, self.workspace.root_path)
        for problem in problems:
            logger.warning("%s", problem)
            self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"co: {problem}"))
        self._analyses.clear()
        for uri in self.workspace.text_documents:
            self.check_soon(uri, delay=0)

    # -- analyses ----------------------------------------------------------------------

    def analysis(self, uri: str) -> asyncio.Future[Analysis]:
        """The analysis of the document's current version, started if it is not yet."""
        document = self.workspace.get_text_document(uri)
        cached = self._analyses.get(uri)
        if cached is not None and cached[0] == document.version:
            return cached[1]
        # Read now: pygls changes the document in place when the next change comes.
        settings, text, name = self.settings, document.source, document.path or uri
        future = asyncio.get_running_loop().run_in_executor(
            self._worker, lambda: _analyzer(settings.checks, settings.plugins).analyze(text, name))
        if uri in self.workspace.text_documents:  # a file on disk, not open, may change under us
            self._analyses[uri] = (document.version, future)
        return future

    async def ask(self, uri: str, question: Callable[[Analysis], Answer]) -> Answer:
        """question's answer about the document's current version, worked out on the worker."""
        # Shielded: a cancelled question must not cancel the analysis that others share.
        analysis = await asyncio.shield(self.analysis(uri))
        return await asyncio.get_running_loop().run_in_executor(self._worker, question, analysis)

    def reanalyze(self, text: str, name: str) -> Analysis:
        """Another text, analyzed as documents are now; only on the worker (rename checks with it)."""
        return _analyzer(self.settings.checks, self.settings.plugins).analyze(text, name)

    # -- diagnostics -------------------------------------------------------------------

    def check_soon(self, uri: str, delay: float) -> None:
        """Publish the document's diagnostics after delay seconds with no newer change."""
        previous = self._checking.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self._checking[uri] = asyncio.get_running_loop().create_task(self._publish_diagnostics(uri, delay))

    def forget(self, uri: str) -> None:
        """A closed document: nothing on the way, nothing kept, no diagnostics shown."""
        checking = self._checking.pop(uri, None)
        if checking is not None:
            checking.cancel()
        self._analyses.pop(uri, None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    async def _publish_diagnostics(self, uri: str, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            version = self.workspace.get_text_document(uri).version
            diagnostics = await self.ask(uri, lambda analysis: answers.diagnostics(analysis, uri))
        except Exception:  # not a cancellation: that is no Exception
            logger.exception("could not compute the diagnostics of %s", uri)
            return
        if self._checking.get(uri) is asyncio.current_task():
            del self._checking[uri]
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, diagnostics, version))


class _Protocol(LanguageServerProtocol):
    """pygls's protocol, but positions always count UTF-16 units, and a
    request whose parameters cannot be read still gets an answer."""

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        # UTF-16, as passes.ide.positions counts: the encoding every client must support.
        if params.capabilities.general is not None:
            params.capabilities.general.position_encodings = None
        return (yield from super().lsp_initialize(params))

    def structure_message(self, data: dict[str, Any]):
        try:
            return super().structure_message(data)
        except JsonRpcException as problem:
            if "id" in data and "method" in data:  # a request: its sender waits for an answer
                self._send_response(data["id"], error=problem.to_response_error())
            raise  # and pygls logs it and tells the user


@functools.lru_cache(maxsize=1)
def _analyzer(checks: tuple[str, ...], plugins: tuple[str, ...]) -> Analyzer:
    """The analyzer for these settings, kept while they hold (plugins load once)."""
    return Analyzer(checks, plugins)


def _version() -> str:
    try:
        return version("co-passes")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown"


# -- the handlers --------------------------------------------------------------------------

_HANDLERS: list[tuple[str, Any, Callable]] = []


def _handles(method: str, options: Any = None):
    def register(handler: Callable) -> Callable:
        _HANDLERS.append((method, options, handler))
        return handler
    return register


def build_server(flags: Settings) -> CoLanguageServer:
    server = CoLanguageServer(flags)
    for method, options, handler in _HANDLERS:
        server.feature(method, options)(handler)
    server.command(SHOW_IR)(show_ir)
    return server


@_handles(types.INITIALIZE)
def initialize(ls: CoLanguageServer, params: types.InitializeParams) -> None:
    ls.configure(params.initialization_options)


@_handles(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: CoLanguageServer, params: types.DidChangeConfigurationParams) -> None:
    if not is_our_section(params.settings):
        return
    ls.configure(params.settings)
    capabilities = ls.client_capabilities.workspace
    if capabilities is not None and capabilities.inlay_hint is not None and capabilities.inlay_hint.refresh_support:
        ls.workspace_inlay_hint_refresh(None)


@_handles(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: CoLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.check_soon(params.text_document.uri, delay=0)


@_handles(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: CoLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.check_soon(params.text_document.uri, delay=ls.settings.debounce_ms / 1000)


@_handles(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: CoLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.forget(params.text_document.uri)


@_handles(types.TEXT_DOCUMENT_HOVER)
async def hover(ls: CoLanguageServer, params: types.HoverParams) -> types.Hover | None:
    return await ls.ask(params.text_document.uri, lambda analysis: answers.hover(analysis, params.position))


@_handles(types.TEXT_DOCUMENT_DEFINITION)
async def definition(ls: CoLanguageServer, params: types.DefinitionParams) -> types.Location | None:
    uri = params.text_document.uri
    return await ls.ask(uri, lambda analysis: answers.definition(analysis, uri, params.position))


@_handles(types.TEXT_DOCUMENT_REFERENCES)
async def references(ls: CoLanguageServer, params: types.ReferenceParams) -> list[types.Location]:
    uri = params.text_document.uri
    return await ls.ask(uri, lambda analysis: answers.references(analysis, uri, params.position,
                                                                 params.context.include_declaration))


@_handles(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
async def document_symbols(ls: CoLanguageServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
    return await ls.ask(params.text_document.uri, answers.document_symbols)


@_handles(types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, answers.LEGEND)
async def semantic_tokens(ls: CoLanguageServer, params: types.SemanticTokensParams) -> types.SemanticTokens:
    return await ls.ask(params.text_document.uri, answers.semantic_tokens)


@_handles(types.TEXT_DOCUMENT_INLAY_HINT)
async def inlay_hints(ls: CoLanguageServer, params: types.InlayHintParams) -> list[types.InlayHint]:
    if not ls.settings.inlay_hints:
        return []
    return await ls.ask(params.text_document.uri, lambda analysis: answers.inlay_hints(analysis, params.range))


@_handles(types.TEXT_DOCUMENT_PREPARE_RENAME)
async def prepare_rename(ls: CoLanguageServer, params: types.PrepareRenameParams) -> types.Range | None:
    return await ls.ask(params.text_document.uri, lambda analysis: answers.prepare_rename(analysis, params.position))


@_handles(types.TEXT_DOCUMENT_RENAME)
async def rename(ls: CoLanguageServer, params: types.RenameParams) -> types.WorkspaceEdit:
    uri = params.text_document.uri
    return await ls.ask(uri, lambda analysis: answers.rename(
        analysis, uri, params.position, params.new_name, lambda text: ls.reanalyze(text, analysis.source.name)))


async def show_ir(ls: CoLanguageServer, uri: str, pass_name: str) -> str:
    return await ls.ask(uri, lambda analysis: answers.ir_after(analysis, pass_name))
