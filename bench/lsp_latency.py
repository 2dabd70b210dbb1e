"""How long after a change a real language server publishes a long program's diagnostics.

    python bench/lsp_latency.py [--lines 5000] [--rounds 5]

It starts `python -m passes lsp`, opens a long generated program (the one
bench/editor.py uses), then edits one literal in its middle again and
again, timing each `didChange` to the `publishDiagnostics` of that
version. Twice: with the default quiet time after a change (what a user
waits) and with none (the server's own work: analysis, conversion, the
round trip). Between rounds, in this process, it times parse and infer
alone on the same text, so the ratio compares two things measured side
by side. `measure()` returns the numbers for a suite to print as rows.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402

from bench.editor import long_program  # noqa: E402
from ir.source import Source  # noqa: E402
from passes.framework.deep_stack import run_with_deep_stack  # noqa: E402
from passes.framework.pipeline import Pipeline  # noqa: E402
from passes.framework.registry import Registry  # noqa: E402
from passes.ide.lsp.settings import DEFAULT_DEBOUNCE_MS  # noqa: E402


@dataclass(frozen=True)
class Latency:
    lines: int
    debounce_ms: int
    change_to_diagnostics: list[float]  # seconds, one per round
    parse_infer: list[float]  # seconds, one per round, timed between the rounds

    @property
    def ratio(self) -> float:
        """The best latency over the best parse + infer (the best is the least disturbed by a busy machine)."""
        return min(self.change_to_diagnostics) / min(self.parse_infer)


def measure(lines: int = 5000, rounds: int = 5, debounce_ms: int = DEFAULT_DEBOUNCE_MS) -> Latency:
    return asyncio.run(_measure(lines, rounds, debounce_ms))


async def _measure(lines: int, rounds: int, debounce_ms: int) -> Latency:
    text = long_program(lines)
    edited = text.index("let t = {a + b, a * ", len(text) // 2) + len("let t = {a + b, a * ")
    published: dict[int, float] = {}
    arrived = asyncio.Event()
    client = LanguageClient("bench", "1")

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def record(params: types.PublishDiagnosticsParams) -> None:
        published[params.version] = time.perf_counter()
        arrived.set()

    async def diagnostics_of(version: int) -> float:
        while version not in published:
            arrived.clear()
            await asyncio.wait_for(arrived.wait(), 60)
        return published[version]

    await client.start_io(sys.executable, "-m", "passes", "lsp", "--debounce-ms", str(debounce_ms), cwd=ROOT)
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    uri = (ROOT / "long.co").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id="co", version=1, text=text)))
    await diagnostics_of(1)
    front_end = Pipeline.from_names(["parse", "infer"], Registry())
    latencies, parse_infer = [], []
    for version in range(2, rounds + 2):
        digit = str(version % 10)
        change = types.TextDocumentContentChangePartial(
            range=types.Range(_position(text, edited), _position(text, edited + 1)), text=digit)
        text = text[:edited] + digit + text[edited + 1:]
        sent = time.perf_counter()
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[change]))
        latencies.append(await diagnostics_of(version) - sent)
        started = time.perf_counter()
        run_with_deep_stack(lambda: front_end.run(Source("long.co", text)))
        parse_infer.append(time.perf_counter() - started)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return Latency(lines, debounce_ms, latencies, parse_infer)


def _position(text: str, offset: int) -> types.Position:
    line = text.count("\n", 0, offset)
    return types.Position(line, offset - (text.rfind("\n", 0, offset) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{args.lines} lines, {args.rounds} changes; change -> diagnostics, best and median, and the best's ratio "
          "to the best parse + infer")
    for debounce_ms in (DEFAULT_DEBOUNCE_MS, 0):
        found = measure(args.lines, args.rounds, debounce_ms)
        print(f"  quiet time {debounce_ms:3d} ms: {min(found.change_to_diagnostics) * 1000:7.1f} ms, "
              f"median {statistics.median(found.change_to_diagnostics) * 1000:7.1f} ms  "
              f"(parse + infer {min(found.parse_infer) * 1000:6.1f} ms)  ratio {found.ratio:5.2f}")


if __name__ == "__main__":
    main()
