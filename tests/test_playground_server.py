"""The playground's server without a browser: its answers, its limits, and what it refuses.

Most tests ask the app through starlette's TestClient; the path-traversal
tests send raw requests to a real server on the loopback address, since an
HTTP client library would tidy `..` out of the path before sending it.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading

import pytest
import uvicorn
from starlette.testclient import TestClient

from passes.framework.registry import Registry
from passes.driver.cli import BACKENDS
from passes.playground.running import Limits
from passes.playground.server import MAX_BODY, create_app, main

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
PLUGIN = str(ROOT / "examples" / "plugins" / "warn_spawn_never_yields.py")
RUNAWAY = "let rec f = \\n -> f n in f 1"
LOCAL = "http://127.0.0.1:8000"  # the host name the loopback server accepts
CURRY = (ROOT / "examples" / "curry.co").read_text()


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(limits=Limits(fuel=20_000, seconds=20)), base_url=LOCAL) as client:
        yield client


def post(client, path, body):
    response = client.post(path, json=body)
    return response.status_code, response.json()


# -- what the page is told ------------------------------------------------------------------

def test_config_lists_the_pipelines_passes_the_backends_and_the_examples(client):
    config = client.get("/api/config").json()
    assert [p["name"] for p in config["passes"]] == [e.name for e in Registry().available()]
    assert config["passes"][1] == {"name": "infer", "input_ir": "surface", "output_ir": "typed",
                                   "summary": Registry().find("infer").load().summary}
    assert config["backends"] == list(BACKENDS)
    assert [e["name"] for e in config["examples"]] == sorted(p.stem for p in (ROOT / "examples").glob("*.co"))
    assert next(e["text"] for e in config["examples"] if e["name"] == "curry") == CURRY
    assert config["limits"] == {"fuel": 20_000, "seconds": 20, "bytes": MAX_BODY}


def test_a_plugins_passes_are_in_the_pipeline_and_its_warnings_in_the_diagnostics():
    with TestClient(create_app(plugins=(PLUGIN,)), base_url=LOCAL) as client:
        names = [p["name"] for p in client.get("/api/config").json()["passes"]]
        assert names[:3] == ["parse", "infer", "warn-spawn-never-yields"]
        status, answer = post(client, "/api/analyze", {"text": "let h = spawn 1 in\nh"})
        assert status == 200
        [warning] = answer["diagnostics"]
        assert (warning["severity"], warning["source"]) == ("warning", "warn-spawn-never-yields")
        assert warning["range"] == {"from": [0, 8], "to": [0, 15]}  # `spawn 1`, counted by hand
        status, answer = post(client, "/api/run", {"text": "spawn 1", "backend": "vm"})
        assert "--plugin" in answer["command"] and "warning:" in answer["stderr"]


def test_a_plugin_that_cannot_load_stops_serve_with_a_usage_error(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_anywhere\n")
    assert main(["--plugin", str(broken), "--port", "0"]) == 2
    assert capsys.readouterr().err == (f"python -m passes serve: error: plugin {broken}: loading it failed: "
                                       "ModuleNotFoundError: No module named 'no_such_module_anywhere'\n")


# -- diagnostics, hovers, IRs ---------------------------------------------------------------

def test_a_type_error_comes_with_its_place_its_note_and_the_command_lines_text(client):
    status, answer = post(client, "/api/analyze", {"text": "let x = 1 in\nx + true"})
    assert status == 200
    [error] = answer["diagnostics"]
    assert error["message"] == "type mismatch: expected int, found bool"
    assert error["range"] == {"from": [1, 4], "to": [1, 8]}  # `true` on the second line
    assert error["notes"] == [{"message": "the type int comes from here", "range": {"from": [1, 0], "to": [1, 8]}}]
    assert error["rendered"].startswith("prog.co:2:5: error: type mismatch")


def test_hover_shows_a_type_with_its_lambda_sets(client):
    line = CURRY.splitlines()[1]  # let partial = add3 1 in
    status, answer = post(client, "/api/hover", {"text": CURRY, "line": 1, "column": line.index("partial") + 2})
    assert status == 200
    assert answer == {"range": {"from": [1, 4], "to": [1, 11]},
                      "text": "partial : int -[lam {a: int}]-> int -[lam1 {a: int, b: int}]-> int"}


def test_hover_counts_columns_in_utf16_as_the_editor_does(client):
    # The emoji is two UTF-16 units: column 7 of line 1 is the `y` after it.
    text = "# 😀\nlet y = 1 in y"
    assert post(client, "/api/hover", {"text": text, "line": 1, "column": 4})[1]["text"] == "y : int"
    assert post(client, "/api/hover", {"text": text, "line": 0, "column": 3})[1] is None  # in the comment


def test_the_ir_after_a_pass_is_what_stop_after_prints(client, tmp_path):
    (tmp_path / "prog.co").write_text(CURRY)
    for pass_name in ("defunc", "emit"):
        printed = subprocess.run([sys.executable, "-m", "passes", "prog.co", "--stop-after", pass_name, "--no-color"],
                                 cwd=tmp_path, capture_output=True, text=True, check=True).stdout
        assert post(client, "/api/ir", {"text": CURRY, "pass": pass_name}) == (200, {"ir": printed})


def test_the_ir_of_a_program_that_does_not_compile_is_its_error(client):
    status, answer = post(client, "/api/ir", {"text": "1 + true", "pass": "defunc"})
    assert status == 200 and answer["error"].startswith("prog.co:1:5: error: type mismatch")


def test_an_unknown_pass_is_refused_with_the_passes_there_are(client):
    status, answer = post(client, "/api/ir", {"text": "1", "pass": "no-such-pass"})
    assert status == 400
    assert answer["error"].startswith("no pass 'no-such-pass' in this pipeline; it runs parse, infer")


# -- running, and its limits ----------------------------------------------------------------

def test_run_prints_the_value_and_the_vms_counts(client):
    status, answer = post(client, "/api/run", {"text": CURRY, "backend": "vm"})
    assert status == 200
    assert (answer["status"], answer["stdout"]) == (0, "{123, 63, 456}\n")  # 123, 3*(3*7), 456 by hand
    assert "instructions" in answer["stderr"] and "max stack depth" in answer["stderr"]


def test_a_runtime_error_is_the_command_lines(client):
    text = "let f = spawn (yield; 1) in\nresume f; resume f"
    status, answer = post(client, "/api/run", {"text": text, "backend": "vm"})
    assert answer["status"] == 3 and "prog.co:2:11: runtime error: fiber resumed twice" in answer["stderr"]


def test_a_runaway_program_runs_out_of_steps(client):
    status, answer = post(client, "/api/run", {"text": RUNAWAY, "backend": "vm"})
    assert (status, answer["status"]) == (200, 3)
    assert "runtime error: out of fuel after 20000 steps" in answer["stderr"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_runaway_program_is_stopped_by_the_clock(backend):
    with TestClient(create_app(limits=Limits(fuel=10 ** 15, seconds=1.5)), base_url=LOCAL) as client:
        status, answer = post(client, "/api/run", {"text": RUNAWAY, "backend": backend})
        assert (status, answer["status"]) == (200, None)
        assert answer["stderr"] == "stopped: the program ran longer than 1.5 s, the playground's time limit"
        assert post(client, "/api/run", {"text": "1 + 2", "backend": backend})[1]["stdout"] == "3\n"


def test_an_unknown_backend_is_refused(client):
    status, answer = post(client, "/api/run", {"text": "1", "backend": "gpu"})
    assert status == 400 and answer["error"].startswith("no backend 'gpu'")


# -- what is refused --------------------------------------------------------------------------

def test_a_body_above_the_limit_is_refused(client):
    response = client.post("/api/analyze", content=b'{"text": "' + b"1" * MAX_BODY + b'"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"error": "the request is larger than the playground takes (256 KiB)"}


def test_a_body_above_the_limit_without_a_length_is_refused_while_it_streams(client):
    chunks = (b"1" * 65536 for _ in range(MAX_BODY // 65536 + 2))
    assert client.post("/api/analyze", content=chunks).status_code == 413


@pytest.mark.parametrize("body, message", [
    (b"{not json", "the request is not JSON"),
    (b"\xff\xfe", "the request is not JSON"),
    (b'["text"]', "the request is not a JSON object"),
    (b'{"txt": "1"}', "the request needs 'text', a string"),
    (b'{"text": 1}', "the request needs 'text', a string"),
])
def test_bad_json_is_refused_with_what_is_wrong(client, body, message):
    response = client.post("/api/analyze", content=body)
    assert (response.status_code, response.json()) == (400, {"error": message})


def test_text_that_is_not_unicode_is_refused(client):
    response = client.post("/api/run", content=b'{"text": "1 + \\ud800", "backend": "vm"}')
    assert (response.status_code, response.json()) == (400, {"error": "the request's 'text' is not valid Unicode text"})


def test_a_position_must_be_a_number(client):
    status, answer = post(client, "/api/hover", {"text": "1", "line": "0", "column": True})
    assert (status, answer) == (400, {"error": "the request needs 'line', a number"})


def test_another_host_name_is_refused_on_the_loopback_address(client):
    # A page elsewhere whose name points at 127.0.0.1 (DNS rebinding) sends its own Host.
    assert client.get("/api/config", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/api/config", headers={"host": "localhost:8000"}).status_code == 200


def test_program_text_travels_only_as_json_and_the_page_runs_only_its_own_scripts(client):
    text = "# </script><script>alert(1)</script>\n1 +"
    response = client.post("/api/analyze", json={"text": text})
    assert response.headers["content-type"] == "application/json"
    assert response.json()["diagnostics"][0]["rendered"].startswith("prog.co:2:4: error:")
    page = client.get("/")
    assert "<script>" not in page.text.replace('<script type="module" src="/static/playground.js"></script>', "")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_the_static_files_are_the_packages_own(client):
    assert client.get("/static/codemirror.js").status_code == 200
    assert "MIT" in client.get("/static/THIRD-PARTY-LICENSES.txt").text
    assert client.get("/static/no-such-file.js").status_code == 404


@pytest.fixture(scope="module")
def server():
    """A real server on the loopback address, for raw requests."""
    listener = socket.create_server(("127.0.0.1", 0))
    running = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=running.run, kwargs={"sockets": [listener]})
    thread.start()
    try:
        while not running.started:
            thread.join(0.02)
        yield listener.getsockname()[1]
    finally:
        running.should_exit = True
        thread.join()


@pytest.mark.parametrize("path", [
    "/static/../../etc/passwd",
    "/static/../../../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/etc/passwd",
    "/static/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/static/%252e%252e/%252e%252e/etc/passwd",
    "/static/..\\..\\etc\\passwd",
    "/static//etc/passwd",
    "/static/../server.py",
    "/static/%2e%2e/server.py",
    "/../../etc/passwd",
])
def test_no_path_leaves_the_static_folder(server, path):
    status, body = raw_get(server, path)
    assert status == 404
    assert b"root:" not in body and b"create_app" not in body


def test_a_raw_request_for_a_static_file_gets_it(server):
    assert raw_get(server, "/static/./playground.css")[0] == 200
    assert raw_get(server, "/static/%70layground.css")[0] == 200  # %70 is p


def raw_get(port: int, path: str) -> tuple[int, bytes]:
    """GET the path exactly as written: http.client sends it untouched."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_serve_is_a_subcommand_in_the_help():
    done = subprocess.run([sys.executable, "-m", "passes", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert "python -m passes serve" in done.stdout
    done = subprocess.run([sys.executable, "-m", "passes", "serve", "--help"], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0 and "127.0.0.1" in done.stdout


def test_serve_refuses_a_port_that_is_taken_with_a_usage_error(capsys):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 2
    assert capsys.readouterr().err == (f"python -m passes serve: error: cannot listen on 127.0.0.1 port {port}: "
                                       "Address already in use\n")


def test_the_command_line_imports_no_web_stack_until_serve():
    script = ("import sys, passes.driver.cli\n"
              "print(sorted(m for m in ('starlette', 'uvicorn', 'passes.playground.server') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
