"""`python -m passes serve`: the playground, one page served on this machine.

    GET  /                the page (static/index.html)
    GET  /static/FILE     the package's own static files, and nothing else
    GET  /api/config      the pipeline's passes (plugins' included), backends, examples, limits
    POST /api/analyze     {text} -> its diagnostics
    POST /api/hover       {text, line, column} -> the type there (passes.ide's hover)
    POST /api/ir          {text, pass} -> the IR after the pass, as --stop-after prints it
    POST /api/run         {text, backend} -> what the command line prints (running.py)

Positions on the wire are 0-based (line, UTF-16 column), as the editor
counts them; passes.ide.positions converts them to offsets exactly.
Answers are JSON, and the page puts program text only into text nodes.
The compiler changes process-wide settings while it runs, so analyses run
one at a time, each text analyzed once while it is among the last few.
A body above MAX_BODY bytes is refused (413), bad JSON is a 400, and the
server listens on the loopback address unless told otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import threading
import webbrowser
from collections import OrderedDict
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ir.source import Span
from passes.framework.plugins import add_plugins
from passes.framework.registry import PluginError, Registry, normalize
from passes.ide.analysis import Analysis, Analyzer, Diagnostic
from passes.driver.cli import BACKENDS
from passes.playground.running import Limits, run_program

MAX_BODY = 256 * 1024  # bytes: far above any program worth typing into a page
MAX_RUNS = 2  # child processes at once, one per core; more requests wait their turn
LOOPBACK = ("127.0.0.1", "localhost", "::1")
HEADERS = [  # the page loads its own scripts only, and runs no inline script
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                 b"img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class Workbench:
    """The analyses of the last few texts, asked one question at a time."""

    def __init__(self, analyzer: Analyzer, keep: int = 8):
        self.analyzer = analyzer
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, Analysis] = OrderedDict()
        self._keep = keep

    def ask(self, text: str, question: Callable[[Analysis], Any]) -> Any:
        with self._lock:
            analysis = self._recent.pop(text, None) or self.analyzer.analyze(text, "prog.co")
            self._recent[text] = analysis
            while len(self._recent) > self._keep:
                self._recent.popitem(last=False)
            return question(analysis)


def create_app(plugins: tuple[str, ...] = (), limits: Limits = Limits(), loopback_only: bool = True) -> Starlette:
    add_plugins(Registry(), plugins)  # a plugin that cannot load raises PluginError: serve stops
    analyzer = Analyzer(plugins=plugins)
    if analyzer.problems:  # loaded, but its passes do not fit the pipeline
        raise PluginError(analyzer.problems[0].message)
    workbench = Workbench(analyzer)
    run_slots = asyncio.Semaphore(MAX_RUNS)
    static = resources.files("passes.playground") / "static"
    examples = resources.files("passes.playground") / "examples"
    config = {
        "passes": [{"name": p.name, "input_ir": p.input_ir, "output_ir": p.output_ir, "summary": p.summary}
                   for p in analyzer.passes],
        "backends": list(BACKENDS),
        "examples": [{"name": f.name.removesuffix(".co"), "text": f.read_text(encoding="utf-8")}
                     for f in sorted(examples.iterdir(), key=lambda f: f.name) if f.name.endswith(".co")],
        "limits": {"fuel": limits.fuel, "seconds": limits.seconds, "bytes": MAX_BODY},
    }

    async def page(request: Request) -> FileResponse:
        return FileResponse(str(static / "index.html"))

    async def get_config(request: Request) -> JSONResponse:
        return JSONResponse(config)

    async def post_analyze(request: Request) -> JSONResponse:
        text, = await read_fields(request, text=str)
        return JSONResponse(await run_in_threadpool(
            workbench.ask, text, lambda a: {"diagnostics": [diagnostic_json(a, d) for d in a.diagnostics]}))

    async def post_hover(request: Request) -> JSONResponse:
        text, line, column = await read_fields(request, text=str, line=int, column=int)

        def hover(analysis: Analysis) -> dict | None:
            found = analysis.hover(analysis.positions.offset(line, column))
            return None if found is None else {"range": range_json(analysis, found.span), "text": found.text}

        return JSONResponse(await run_in_threadpool(workbench.ask, text, hover))

    async def post_ir(request: Request) -> JSONResponse:
        text, pass_name = await read_fields(request, text=str, **{"pass": str})
        if normalize(pass_name) not in (p.name for p in analyzer.passes):
            names = ", ".join(p.name for p in analyzer.passes)
            raise HTTPException(400, f"no pass {pass_name!r} in this pipeline; it runs {names}")

        def ir_after(analysis: Analysis) -> dict:
            printed = analysis.ir_after(pass_name)
            if isinstance(printed, Diagnostic):
                return {"error": analysis.render(printed)}
            return {"ir": printed}

        return JSONResponse(await run_in_threadpool(workbench.ask, text, ir_after))

    async def post_run(request: Request) -> JSONResponse:
        text, backend = await read_fields(request, text=str, backend=str)
        if backend not in config["backends"]:
            raise HTTPException(400, f"no backend {backend!r}; there are {', '.join(config['backends'])}")
        async with run_slots:
            outcome = await run_program(text, backend, plugins, limits)
        return JSONResponse(vars(outcome))

    async def error(request: Request, problem: HTTPException) -> JSONResponse:
        return JSONResponse({"error": problem.detail}, problem.status_code)

    middleware = [Middleware(SecurityHeaders)]
    if loopback_only:  # a web page elsewhere that renames itself 127.0.0.1 (DNS rebinding) is refused
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "[::1]"]))
    return Starlette(
        routes=[
            Route("/", page),
            Route("/api/config", get_config),
            Route("/api/analyze", post_analyze, methods=["POST"]),
            Route("/api/hover", post_hover, methods=["POST"]),
            Route("/api/ir", post_ir, methods=["POST"]),
            Route("/api/run", post_run, methods=["POST"]),
            Mount("/static", StaticFiles(directory=str(static)), name="static"),
        ],
        middleware=middleware,
        exception_handlers={HTTPException: error},
    )


async def read_fields(request: Request, **fields: type) -> list[Any]:
    """The named fields of a JSON object body, each of its type; else a 413 or 400 saying what is wrong."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(413, f"the request is larger than the playground takes ({MAX_BODY // 1024} KiB)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPException(413, f"the request is larger than the playground takes ({MAX_BODY // 1024} KiB)")
    try:
        data = json.loads(body)
    except ValueError:  # not UTF-8 either
        raise HTTPException(400, "the request is not JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "the request is not a JSON object")
    values = []
    for name, kind in fields.items():
        value = data.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise HTTPException(400, f"the request needs {name!r}, {'a string' if kind is str else 'a number'}")
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate, which JSON can carry and no file can hold
                raise HTTPException(400, f"the request's {name!r} is not valid Unicode text") from None
        values.append(value)
    return values


def range_json(analysis: Analysis, span: Span) -> dict:
    start, end = analysis.positions.range(span)
    return {"from": start, "to": end}


def diagnostic_json(analysis: Analysis, diagnostic: Diagnostic) -> dict:
    """A diagnostic with its place and its notes' places; `rendered` is the command line's text."""
    return {
        "severity": diagnostic.severity,
        "message": diagnostic.message,
        "source": diagnostic.source,
        "range": range_json(analysis, diagnostic.span) if diagnostic.span is not None else None,
        "notes": [{"message": note.message, "range": range_json(analysis, note.span)}
                  for note in diagnostic.notes if note.span is not None],
        "rendered": analysis.render(diagnostic),
    }


class SecurityHeaders:
    """Adds HEADERS to every response."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m passes serve",
        description="Serve the playground: edit a co program in the browser, see every IR, diff them, run it.")
    parser.add_argument("--port", type=port_number, default=8000, help="the port (default 8000; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default 127.0.0.1: only this machine can connect)")
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    parser.add_argument("--plugin", action="append", default=[], metavar="FILE.py|MODULE",
                        help="a plugin whose passes the page shows and runs, as the command line's --plugin")
    parser.add_argument("--fuel", type=int, default=Limits.fuel, metavar="N",
                        help=f"stop a program on the VM after N steps (default {Limits.fuel:,})")
    parser.add_argument("--time-limit", type=float, default=Limits.seconds, metavar="SECONDS",
                        help=f"kill a run after this long (default {Limits.seconds:g})")
    return parser


def port_number(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return int(text)


def main(argv: list[str]) -> int:
    import uvicorn

    parser = build_arg_parser()
    args = parser.parse_args(argv)
    plugins = tuple(str(Path(p).resolve()) if p.endswith(".py") else p for p in args.plugin)  # runs happen elsewhere
    try:
        app = create_app(plugins, Limits(args.fuel, args.time_limit), loopback_only=args.host in LOOPBACK)
    except PluginError as problem:
        print(f"{parser.prog}: error: {problem}", file=sys.stderr)
        return 2
    try:
        listener = socket.create_server((args.host, args.port),
                                        family=socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    except OSError as problem:  # a port in use, a host name that is no address here
        reason = str(problem.strerror).split(" (while attempting")[0]  # create_server adds the address again
        print(f"{parser.prog}: error: cannot listen on {args.host} port {args.port}: {reason}", file=sys.stderr)
        return 2
    port = listener.getsockname()[1]
    url = f"http://{f'[{args.host}]' if ':' in args.host else args.host}:{port}/"
    print(f"co playground: {url}  (Ctrl-C stops it)", flush=True)
    if args.host not in LOOPBACK:
        print(f"warning: listening on {args.host}: anyone who reaches this machine can run programs here",
              file=sys.stderr, flush=True)
    if args.open:
        webbrowser.open(url)  # the socket already listens: the browser's request waits for the server
    uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[listener])
    return 0
