"""The language server end to end: a real `python -m passes lsp` process, driven
over standard input and output by pytest-lsp's client.

One server serves the whole module; each test opens documents of its own,
and a test that changes the settings puts them back. Every expected line
and column below is counted by hand in the program text shown beside it
(lines and columns from 0, as the protocol counts them); every expected
type follows LANGUAGE.md's rules (lambda names in source order, captures
in order of first use).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import re
import sys
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types as t
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcMethodNotFound
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from passes.ide.lsp import build_arg_parser
from passes.ide.lsp.settings import Settings
from tests.test_driver import Result, cli

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.asyncio(loop_scope="module")

PICK = ("let a = 1 in\n"
        "let b = 2 in\n"
        "let pick = \\c -> if c then (\\x -> x + a) else (\\y -> y * b) in\n"
        "(pick true) 5\n")
PICK_TYPE = "bool -[pick {a: int, b: int}]-> int -[lam {a: int} | lam1 {b: int}]-> int"
STALE_RESUME = ("let f = spawn (yield; 1) in\n"
                "let g = resume f in\n"
                "resume f\n")
# A checker plugin that tells what the server does: it writes a line to
# probe.log each time the front end runs, and takes a second over the
# program 424242 (so that messages arrive while an analysis runs).
PROBE = '''\
import time
from dataclasses import dataclass
from pathlib import Path

from ir import typed
from passes.framework import Pass


@dataclass(frozen=True)
class Probe(Pass):
    name = "probe"
    input_ir = "typed"
    output_ir = None
    runs_after = "infer"
    summary = "count the runs of the front end; be slow on 424242"

    def run(self, program):
        with open(Path(__file__).with_name("probe.log"), "a") as log:
            log.write("ran\\n")
        if isinstance(program.body, typed.Int) and program.body.value == 424242:
            time.sleep(1)
        return []
'''


def rng(line: int, start: int, end_line: int, end: int) -> t.Range:
    return t.Range(t.Position(line, start), t.Position(end_line, end))


async def start_server(workspace: Path, *flags: str) -> LanguageClient:
    client = LanguageClient(converter_factory=default_converter)
    client.published = []  # every publishDiagnostics, in order (pytest-lsp keeps only the last one's list)

    def record(client_: LanguageClient, params: t.PublishDiagnosticsParams) -> None:
        client_.published.append(params)
        DEFAULT_CLIENT_FEATURES[t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS](client_, params)

    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: record})
    await client.start_io(sys.executable, "-m", "passes", "lsp", *flags, cwd=ROOT)
    capabilities = client_capabilities("visual-studio-code")
    capabilities.general.position_encodings = ["utf-8", "utf-16"]  # as Neovim offers them
    result = await client.initialize_session(t.InitializeParams(capabilities=capabilities,
                                                                root_uri=workspace.as_uri()))
    assert result.capabilities.position_encoding == t.PositionEncodingKind.Utf16
    client.legend = result.capabilities.semantic_tokens_provider.legend
    return client


async def stop_server(client: LanguageClient) -> None:
    await client.shutdown_session()
    await client.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("workspace")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(workspace):
    server = await start_server(workspace, "--debounce-ms", "50")
    yield server
    await stop_server(server)


_names = itertools.count()


class Document:
    """A document this test opens: a real file in the workspace, so the IR command can compare with the CLI."""

    def __init__(self, client: LanguageClient, workspace: Path, text: str):
        self.client, self.version = client, 1
        self.path = workspace / f"doc{next(_names)}.co"
        self.path.write_text(text)
        self.uri = self.path.as_uri()
        self.id = t.TextDocumentIdentifier(uri=self.uri)
        client.text_document_did_open(t.DidOpenTextDocumentParams(
            text_document=t.TextDocumentItem(uri=self.uri, language_id="co", version=1, text=text)))

    def replace(self, text: str) -> None:
        self.version += 1
        self.path.write_text(text)
        self.client.text_document_did_change(t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text=text)]))

    async def diagnostics(self, version: int | None = None) -> list[t.Diagnostic]:
        """What the server publishes for this version (the current one by default)."""
        wanted = version or self.version
        for _ in range(1000):
            found = [p for p in self.client.published if p.uri == self.uri and p.version == wanted]
            if found:
                return list(found[-1].diagnostics)
            await asyncio.sleep(0.01)
        raise AssertionError(f"no diagnostics for {self.uri} version {wanted} in 10 s")

    async def hover(self, line: int, character: int) -> t.Hover | None:
        return await self.client.text_document_hover_async(
            t.HoverParams(text_document=self.id, position=t.Position(line, character)))

    async def definition(self, line: int, character: int) -> t.Location | None:
        return await self.client.text_document_definition_async(
            t.DefinitionParams(text_document=self.id, position=t.Position(line, character)))

    async def references(self, line: int, character: int, include_declaration: bool = True) -> list[t.Range]:
        found = await self.client.text_document_references_async(t.ReferenceParams(
            text_document=self.id, position=t.Position(line, character),
            context=t.ReferenceContext(include_declaration=include_declaration)))
        assert {location.uri for location in found} <= {self.uri}
        return [location.range for location in found]

    async def symbols(self) -> list[t.DocumentSymbol]:
        return await self.client.text_document_document_symbol_async(t.DocumentSymbolParams(text_document=self.id))

    async def tokens(self) -> t.SemanticTokens:
        return await self.client.text_document_semantic_tokens_full_async(
            t.SemanticTokensParams(text_document=self.id))

    async def inlay_hints(self, visible: t.Range) -> list[t.InlayHint]:
        return await self.client.text_document_inlay_hint_async(
            t.InlayHintParams(text_document=self.id, range=visible))

    async def rename(self, line: int, character: int, new_name: str) -> t.WorkspaceEdit:
        return await self.client.text_document_rename_async(
            t.RenameParams(text_document=self.id, position=t.Position(line, character), new_name=new_name))

    async def show_ir(self, pass_name: str) -> str:
        return await self.client.workspace_execute_command_async(
            t.ExecuteCommandParams(command="co.showIR", arguments=[self.uri, pass_name]))


async def configure(client: LanguageClient, settings: dict) -> None:
    client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings={"co": settings}))


# -- diagnostics ---------------------------------------------------------------------------

async def test_a_type_error_arrives_at_its_range_with_the_other_site_and_a_fix_clears_it(client, workspace):
    doc = Document(client, workspace, "let x = 1 in\n"
                                      "let f = \\y -> x + y in\n"
                                      "f true\n")
    [error] = await doc.diagnostics()
    assert error.range == rng(2, 2, 2, 6)  # `true`
    assert error.severity == t.DiagnosticSeverity.Error
    assert error.message == "type mismatch: expected int, found bool"
    assert (error.source, error.code) == ("co", "infer")
    [other] = error.related_information
    assert other.location == t.Location(doc.uri, rng(1, 14, 1, 19))  # `x + y`
    assert other.message == "the type int comes from here"
    doc.replace("let x = 1 in\n"
                "let f = \\y -> x + y in\n"
                "f 2\n")
    assert await doc.diagnostics() == []


async def test_a_syntax_error_and_a_warning_keep_their_severity(client, workspace):
    doc = Document(client, workspace, "let x = in x")
    [error] = await doc.diagnostics()
    assert error.range.start == t.Position(0, 8)  # `in`, where an expression should start
    assert error.severity == t.DiagnosticSeverity.Error
    plugin = str(ROOT / "examples" / "plugins" / "warn_spawn_never_yields.py")
    await configure(client, {"plugins": [plugin]})
    try:
        doc.replace("spawn 1")
        [warning] = await doc.diagnostics()
        assert warning.severity == t.DiagnosticSeverity.Warning
        assert warning.range == rng(0, 0, 0, 7)
        assert warning.code == "warn-spawn-never-yields"
    finally:
        await configure(client, {})


async def test_the_affine_checker_through_the_settings(client, workspace):
    doc = Document(client, workspace, STALE_RESUME)
    assert await doc.diagnostics() == []  # well typed; only the run would fail
    published = len(client.published)
    await configure(client, {"checks": ["affine"]})
    try:
        for _ in range(1000):  # the open documents are checked again with the new settings
            if any(p.uri == doc.uri and p.diagnostics for p in client.published[published:]):
                break
            await asyncio.sleep(0.01)
        [error] = await doc.diagnostics()
        assert error.range == rng(2, 0, 2, 8)  # the second `resume f`
        assert error.code == "affine"
        assert error.related_information[0].location.range == rng(1, 8, 1, 16)  # the first
    finally:
        await configure(client, {})


async def test_columns_count_utf16_units(client, workspace):
    doc = Document(client, workspace, "# \U0001F600\n{1, \U0001F600, 2}")  # an emoji is two UTF-16 units
    [error] = await doc.diagnostics()
    assert error.range == rng(1, 4, 1, 6)
    doc.replace("{1, 2} # \U0001F600\U0001F600 x")
    assert await doc.diagnostics() == []
    assert (await doc.hover(0, 4)).contents.value == "```co\nint\n```"
    tokens = (await doc.tokens()).data
    # The comment, 3 columns after the `2`: `#`, a space, two emoji, a space and x are 8 units.
    assert tokens[-5:] == (0, 3, 8, 6, 0)


async def test_settings_that_cannot_be_used_are_reported_and_the_rest_apply(client, workspace):
    doc = Document(client, workspace, STALE_RESUME)
    assert await doc.diagnostics() == []
    shown = len(client.messages)
    await configure(client, {"checks": "affine", "colour": "blue", "inlayHints": True})
    try:
        for _ in range(1000):
            if len(client.messages) >= shown + 2:
                break
            await asyncio.sleep(0.01)
        assert [m.message for m in client.messages[shown:]] == [
            "co: setting 'checks': 'affine' is not a list of pass names; it is ignored",
            "co: unknown setting 'colour' is ignored (known: checks, plugins, inlayHints, debounceMs)"]
        assert all(m.type == t.MessageType.Warning for m in client.messages[shown:])
        assert len(await doc.inlay_hints(rng(0, 0, 3, 0))) == 2
    finally:
        await configure(client, {})


async def test_one_analysis_per_version_and_a_burst_of_changes_is_checked_once(client, workspace):
    (workspace / "probe.py").write_text(PROBE)
    log = workspace / "probe.log"

    def runs() -> int:
        return len(log.read_text().splitlines()) if log.exists() else 0

    await configure(client, {"plugins": ["probe.py"], "debounceMs": 300})  # relative to the workspace root
    try:
        await asyncio.sleep(0.5)  # the other open documents are checked again with the plugin
        before = runs()
        doc = Document(client, workspace, PICK)
        await doc.diagnostics()
        assert await doc.hover(3, 1) is not None
        await doc.definition(2, 38)
        await doc.references(0, 4)
        await doc.symbols()
        await doc.tokens()
        assert runs() == before + 1
        for n in range(3):  # faster than the quiet time: only the last version is checked
            doc.replace(PICK.replace("(pick true) 5", f"(pick true) {n}"))
        assert await doc.diagnostics() == []
        assert await doc.hover(3, 1) is not None
        assert runs() == before + 2
        assert [p.version for p in client.published if p.uri == doc.uri] == [1, 4]
    finally:
        await configure(client, {})


# -- names and types -----------------------------------------------------------------------

async def test_hover_shows_a_binding_with_its_lambda_set_and_a_lambda_with_its_captures(client, workspace):
    doc = Document(client, workspace, PICK)
    found = await doc.hover(3, 1)  # `pick` in `(pick true) 5`
    assert found.contents == t.MarkupContent(t.MarkupKind.Markdown, f"```co\npick : {PICK_TYPE}\n```")
    assert found.range == rng(3, 1, 3, 5)
    found = await doc.hover(2, 28)  # the `\` of `(\x -> x + a)`
    own = "lam {a: int}"
    assert found.contents.value == f"```co\n{own} : int -[{own} | lam1 {{b: int}}]-> int\n```"
    assert found.range == rng(2, 27, 2, 40)


async def test_definition_and_references(client, workspace):
    doc = Document(client, workspace, PICK)
    assert await doc.definition(2, 38) == t.Location(doc.uri, rng(0, 4, 0, 5))  # from `a` in `x + a`
    assert await doc.definition(2, 34) == t.Location(doc.uri, rng(2, 29, 2, 30))  # from `x` to the parameter
    assert await doc.definition(2, 26) is None  # a space
    assert await doc.references(0, 4) == [rng(0, 4, 0, 5), rng(2, 38, 2, 39)]
    assert await doc.references(2, 38, include_declaration=False) == [rng(2, 38, 2, 39)]


async def test_document_symbols_are_the_lets_nested(client, workspace):
    doc = Document(client, workspace, "let outer =\n"
                                      "  let inner = 1 in\n"
                                      "  inner + 1\n"
                                      "in\n"
                                      "let f = \\x -> let y = x in y in\n"
                                      "f outer\n")
    outer, f = await doc.symbols()
    assert (outer.name, outer.kind, outer.detail) == ("outer", t.SymbolKind.Variable, "int")
    assert (outer.range, outer.selection_range) == (rng(0, 0, 3, 2), rng(0, 4, 0, 9))
    [inner] = outer.children
    assert (inner.name, inner.range, inner.selection_range) == ("inner", rng(1, 2, 1, 18), rng(1, 6, 1, 11))
    assert (f.name, f.kind, f.detail) == ("f", t.SymbolKind.Function, "int -[f {}]-> int")
    assert (f.range, f.selection_range) == (rng(4, 0, 4, 31), rng(4, 4, 4, 5))
    [y] = f.children
    assert (y.name, y.range, y.selection_range, y.children) == ("y", rng(4, 14, 4, 26), rng(4, 18, 4, 19), ())


async def test_semantic_tokens_decode_to_the_kinds_of_a_small_program(client, workspace):
    doc = Document(client, workspace, "let f = \\x -> x + 1 in # add one\n"
                                      "stat spawn (f 2) | `Pending -> 0 | `Done v -> v\n")
    legend = client.legend
    tokens = await doc.tokens()
    decoded, line, start = [], 0, 0
    for i in range(0, len(tokens.data), 5):
        d_line, d_start, length, kind, modifiers = tokens.data[i:i + 5]
        line, start = line + d_line, (start if d_line == 0 else 0) + d_start
        decoded.append((line, start, length, legend.token_types[kind],
                        {m for bit, m in enumerate(legend.token_modifiers) if modifiers & 1 << bit}))
    declared, plain = {"declaration"}, set()
    assert decoded == [
        (0, 0, 3, "keyword", plain), (0, 4, 1, "function", declared), (0, 6, 1, "operator", plain),
        (0, 8, 1, "operator", plain), (0, 9, 1, "parameter", declared), (0, 11, 2, "operator", plain),
        (0, 14, 1, "parameter", plain), (0, 16, 1, "operator", plain), (0, 18, 1, "number", plain),
        (0, 20, 2, "keyword", plain), (0, 23, 9, "comment", plain),
        (1, 0, 4, "keyword", plain), (1, 5, 5, "keyword", plain), (1, 12, 1, "function", plain),
        (1, 14, 1, "number", plain), (1, 17, 1, "operator", plain), (1, 19, 8, "enumMember", plain),
        (1, 28, 2, "operator", plain), (1, 31, 1, "number", plain), (1, 33, 1, "operator", plain),
        (1, 35, 5, "enumMember", plain), (1, 41, 1, "variable", declared), (1, 43, 2, "operator", plain),
        (1, 46, 1, "variable", plain),
    ]


async def test_inlay_hints_only_when_enabled(client, workspace):
    doc = Document(client, workspace, PICK)
    everything = rng(0, 0, 4, 0)
    assert await doc.inlay_hints(everything) == ()
    await configure(client, {"inlayHints": True})
    try:
        hints = await doc.inlay_hints(everything)
        assert [(h.position, h.label) for h in hints] == [
            (t.Position(0, 5), ": int"), (t.Position(1, 5), ": int"), (t.Position(2, 8), f": {PICK_TYPE}")]
        hints = await doc.inlay_hints(rng(1, 0, 1, 12))
        assert [h.position for h in hints] == [t.Position(1, 5)]
    finally:
        await configure(client, {})


async def test_rename_renames_every_use_and_refuses_a_name_in_the_way(client, workspace):
    doc = Document(client, workspace, PICK)
    prepared = await client.text_document_prepare_rename_async(
        t.PrepareRenameParams(text_document=doc.id, position=t.Position(2, 38)))
    assert prepared == rng(2, 38, 2, 39)
    edit = await doc.rename(2, 38, "z")
    assert [(e.range, e.new_text) for e in edit.changes[doc.uri]] == [(rng(0, 4, 0, 5), "z"),
                                                                      (rng(2, 38, 2, 39), "z")]
    with pytest.raises(JsonRpcException, match="would change what a name refers to"):
        await doc.rename(2, 38, "b")  # `x + b` would be the inner b
    with pytest.raises(JsonRpcInvalidParams, match="not a name"):
        await doc.rename(2, 38, "let")


# -- the IR command ------------------------------------------------------------------------

async def test_the_ir_command_prints_what_stop_after_prints(client, workspace, capsys):
    doc = Document(client, workspace, PICK)
    for pass_name in ("infer", "defunc", "emit"):
        printed = await doc.show_ir(pass_name)
        assert cli(capsys, str(doc.path), "--stop-after", pass_name, "--no-color") == Result(0, printed, "")
    with pytest.raises(JsonRpcException, match="no pass 'nonsense'"):
        await doc.show_ir("nonsense")


async def test_the_ir_command_on_a_program_with_an_error_answers_with_the_error(client, workspace):
    doc = Document(client, workspace, "1 + true")
    with pytest.raises(JsonRpcException, match=r"doc\d+\.co:1:5: error: type mismatch"):
        await doc.show_ir("defunc")


# -- hostile input -------------------------------------------------------------------------

async def test_garbage_half_typed_programs_and_unknown_methods_get_answers(client, workspace):
    for body in (b"{oops", b"[1, 2]", b'{"jsonrpc": "2.0", "method": "textDocument/didOpen"}', b"\xff\xfe",
                 b"[" * 100_000):
        send_raw(client, body)
    with pytest.raises(JsonRpcMethodNotFound):
        await client.protocol.send_request_async("co/noSuchMethod", {})
    # A request whose parameters cannot be read (pygls's client would not send it: sent raw).
    answer = concurrent.futures.Future()
    client.protocol._request_futures["bad-hover"] = answer
    send_raw(client, json.dumps({"jsonrpc": "2.0", "id": "bad-hover", "method": t.TEXT_DOCUMENT_HOVER,
                                 "params": {"nonsense": True}}).encode())
    with pytest.raises(JsonRpcInvalidParams):
        await asyncio.wait_for(asyncio.wrap_future(answer), 10)
    client.protocol.notify("co/noSuchNotification", {})
    with pytest.raises(JsonRpcException, match="No such file"):  # a handler that raises: not open, not on disk
        await client.text_document_hover_async(t.HoverParams(
            text_document=t.TextDocumentIdentifier(uri=(workspace / "nowhere.co").as_uri()), position=t.Position(0, 0)))
    example = (ROOT / "examples" / "fib_fiber.co").read_text()
    for cut in range(0, len(example), max(1, len(example) // 12)):
        doc = Document(client, workspace, example[:cut])
        await doc.diagnostics()
        end = doc.path.read_text().count("\n")
        await doc.hover(end, 0)
        await doc.symbols()
        await doc.tokens()
    deep = Document(client, workspace, "(" * 50_000 + "1" + ")" * 50_000)
    assert await deep.diagnostics() == []
    assert (await deep.hover(0, 50_000)).contents.value == "```co\nint\n```"
    doc = Document(client, workspace, PICK)
    assert (await doc.hover(3, 1)).contents.value == f"```co\npick : {PICK_TYPE}\n```"


@pytest.mark.slow
async def test_a_deeply_nested_message_while_an_analysis_runs(client, workspace):
    # An analysis raises the process's recursion limit while it runs: the
    # server's thread must have the C stack to go with it.
    (workspace / "probe.py").write_text(PROBE)
    await configure(client, {"plugins": ["probe.py"]})
    try:
        doc = Document(client, workspace, "424242")
        await asyncio.sleep(0.2)
        for _ in range(10):
            send_raw(client, b"[" * 200_000)
        assert await doc.diagnostics() == []
        assert (await doc.hover(0, 0)).contents.value == "```co\nint\n```"
    finally:
        await configure(client, {})


async def test_an_outline_nested_deeper_than_is_sent_lists_the_deepest_lets_flat(client, workspace):
    doc = Document(client, workspace, "".join(f"let a{i} = " for i in range(200)) + "1" +
                   "".join(f" in a{i}" for i in reversed(range(200))))
    [level], depth = await doc.symbols(), 1
    while len(level.children) == 1:
        [level], depth = level.children, depth + 1
    assert depth == 64
    assert [s.name for s in level.children] == [f"a{i}" for i in range(64, 200)]
    assert all(s.children == () for s in level.children)


def send_raw(client: LanguageClient, body: bytes) -> None:
    """A message as the transport frames it, whatever its content."""
    client._server.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


# -- the command line's flags --------------------------------------------------------------

async def test_flags_hold_whatever_the_settings_say(workspace):
    server = await start_server(workspace, "--check", "affine", "--inlay-hints")
    try:
        doc = Document(server, workspace, STALE_RESUME)
        [error] = await doc.diagnostics()
        assert error.code == "affine"
        await configure(server, {"checks": []})
        doc.replace(STALE_RESUME + "\n")
        [error] = await doc.diagnostics()
        assert error.code == "affine"
        hints = await doc.inlay_hints(rng(0, 0, 3, 0))
        assert [h.label for h in hints] == [": Fiber int", ": Fiber int"]
    finally:
        await stop_server(server)


# -- the README --------------------------------------------------------------------------

async def test_the_readme_shows_settings_and_flags_the_server_takes():
    readme = (ROOT / "README.md").read_text()
    vscode = json.loads(readme.split("<!-- vscode-settings -->\n```json\n", 1)[1].split("```", 1)[0])
    assert vscode["glspc.server.commandArguments"] == ["-m", "passes", "lsp"]
    assert Settings().with_client_settings(vscode["glspc.server.initializationOptions"], None)[1] == []
    rows = re.findall(r"^\| `(\w+)` \| `(--[^`]+)` \|", readme, re.MULTILINE)
    assert [key for key, _ in rows] == ["checks", "plugins", "inlayHints", "debounceMs"]
    for key, flag in rows:
        build_arg_parser().parse_args(flag.split())
        assert Settings().with_client_settings({key: None}, None)[1] != []  # a known key with a bad value
        assert "unknown" not in Settings().with_client_settings({key: None}, None)[1][0]
