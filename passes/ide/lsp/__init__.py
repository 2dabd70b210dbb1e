"""`python -m passes lsp`: a language server for co, over standard input and output.

    python -m passes lsp [--check affine] [--plugin my_check.py] [--inlay-hints] [--debounce-ms 200]

It offers, through the Language Server Protocol: diagnostics on open and
on every change (syntax and type errors with their other site as related
information, checkers' findings), hovers, go to definition, references,
document symbols, semantic tokens, inlay hints, rename, and the command
`co.showIR` (`[uri, pass]`: the IR after that pass, as `--stop-after`
prints it). What it computes comes from passes.ide.analysis; how it talks
is pygls's (passes.ide.lsp.server), imported only when the server starts.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading

from passes.framework.deep_stack import STACK_SIZE
from passes.framework.plugins import looks_like_file
from passes.ide.lsp.settings import DEFAULT_DEBOUNCE_MS, Settings


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m passes lsp",
        description="A language server for co over standard input and output. The client's settings "
                    "(initializationOptions, workspace/didChangeConfiguration) add to these flags.")
    parser.add_argument("--check", action="append", default=[], metavar="PASS",
                        help="run an optional checker (e.g. affine), as the command line's --check")
    parser.add_argument("--plugin", action="append", default=[], metavar="FILE.py|MODULE",
                        help="load a plugin's passes, as the command line's --plugin")
    parser.add_argument("--inlay-hints", action="store_true", help="show each let's type after its name")
    parser.add_argument("--debounce-ms", type=int, default=DEFAULT_DEBOUNCE_MS, metavar="MS",
                        help=f"quiet time after a change before checking again (default {DEFAULT_DEBOUNCE_MS})")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="what to log on standard error")
    return parser


def main(argv: list[str]) -> int:
    args = build_arg_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    flags = Settings(checks=tuple(name for names in args.check for name in names.split(",")),
                     plugins=tuple(os.path.abspath(spec) if looks_like_file(spec) else spec for spec in args.plugin),
                     inlay_hints=args.inlay_hints, debounce_ms=max(args.debounce_ms, 0))
    from passes.ide.lsp.server import build_server

    server = build_server(flags)
    # While an analysis runs, the process's recursion limit is a million
    # (passes.framework.deep_stack): a deeply nested message parsed meanwhile
    # would overflow an ordinary thread's C stack, so the server's thread gets
    # the analysis's room.
    ordinary = threading.stack_size(STACK_SIZE)
    try:
        thread = threading.Thread(target=server.start_io, name="co-lsp", daemon=True)
        thread.start()
    finally:
        threading.stack_size(ordinary)
    thread.join()
    return 0
