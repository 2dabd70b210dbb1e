"""The playground in a real headless browser: Debian's chromium, driven by Playwright.

One server (`python -m passes serve`, as a user starts it) and one browser
for the module; each test has a fresh page. Without /usr/bin/chromium the
tests are skipped, unless CO_PASSES_REQUIRE_BROWSER is set (.ci/run sets
it), where a missing browser is a failure. Playwright never downloads a
browser here: it launches the system's.

The screenshot test prints where it saved the page; with
PLAYGROUND_SCREENSHOT=docs/playground.png it also writes the README's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
PLUGIN = ROOT / "examples" / "plugins" / "warn_spawn_never_yields.py"
FUEL = 300_000
SECONDS = 3


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright launches this browser, with a fresh profile, on no network but this machine's."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CO_PASSES_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing, and CO_PASSES_REQUIRE_BROWSER says the browser tests must run")
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` to run the playground's browser tests")
    return {"executable_path": CHROMIUM, "headless": True, "args": [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]}


@pytest.fixture(scope="session")
def browser_context_args():
    return {"viewport": {"width": 1400, "height": 820}}


@pytest.fixture(scope="module")
def playground():
    """The address of `python -m passes serve --port 0`, with a plugin and small limits."""
    server = subprocess.Popen(
        [sys.executable, "-m", "passes", "serve", "--port", "0", "--plugin", str(PLUGIN),
         "--fuel", str(FUEL), "--time-limit", str(SECONDS)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = server.stdout.readline()
        found = re.match(r"co playground: (http://127\.0\.0\.1:\d+/) ", first_line)
        assert found, first_line + server.stderr.read()
        yield found.group(1)
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def page(page, playground):
    page.set_default_timeout(15_000)
    page.goto(playground)
    page.wait_for_selector("body[data-ready=true]")
    return page


def set_program(page, text: str) -> None:
    page.click("#source .cm-content")
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def editor_text(page, editor: str) -> str:
    """The lines an editor shows (an empty line holds a <br>, read as a line end)."""
    return "\n".join(line.removesuffix("\n") for line in page.locator(f"{editor} .cm-line").all_inner_texts())


def hover_name(page, name: str):
    """Move the mouse over the first `name` in the program; the type's tooltip."""
    page.locator("#source .cm-content span", has_text=re.compile(f"^{re.escape(name)}$")).first.hover()
    return page.locator(".cm-type-tooltip")


def choose_example(page, name: str) -> None:
    page.select_option("#examples", name)
    first_line = (ROOT / "examples" / f"{name}.co").read_text().splitlines()[0]
    expect(page.locator("#source .cm-line").first).to_have_text(first_line)


def test_an_example_shows_hover_types_with_lambda_sets_and_its_ir(page, tmp_path, capsys):
    choose_example(page, "curry")
    tooltip = hover_name(page, "partial")
    assert tooltip.inner_text() == "partial : int -[lam {a: int}]-> int -[lam1 {a: int, b: int}]-> int"
    page.mouse.move(5, 5)
    page.locator("#source .cm-content span", has_text="\\").nth(1).hover()  # the \b of add3
    assert page.locator(".cm-type-tooltip").inner_text() == (
        "lam {a: int} : int -[lam {a: int}]-> int -[lam1 {a: int, b: int}]-> int")  # its name and captures
    page.select_option("#pass", "defunc")
    expected = subprocess.run([sys.executable, "-m", "passes", "examples/curry.co", "--stop-after", "defunc"],
                              cwd=ROOT, capture_output=True, text=True, check=True).stdout
    expect(page.locator("#ir .cm-line").first).to_have_text(expected.splitlines()[0])
    shown = editor_text(page, "#ir")
    assert expected.startswith(shown.rstrip("\n")[:400]) and "proc twice" in shown
    page.click("#run")
    expect(page.locator("#run-state")).to_have_text(re.compile("^done"))
    hover_name(page, "partial").wait_for()
    path = tmp_path / "playground.png"
    page.screenshot(path=str(path))
    if os.environ.get("PLAYGROUND_SCREENSHOT"):
        shutil.copy(path, ROOT / os.environ["PLAYGROUND_SCREENSHOT"])
    with capsys.disabled():
        print(f"\nscreenshot of the playground: {path}")


def test_run_shows_the_value_and_the_vms_counts(page):
    choose_example(page, "curry")
    page.click("#run")
    expect(page.locator("#run-state")).to_have_text(re.compile("^done"))
    assert page.inner_text("#run-value") == "{123, 63, 456}"
    assert "instructions" in page.inner_text("#run-output")


def test_a_type_error_is_underlined_where_it_is_with_its_message_and_its_note(page):
    set_program(page, "let f = \\x -> x + 1 in\nf true")
    underline = page.locator("#source .cm-lintRange-error")
    underline.wait_for()
    lines = page.locator("#source .cm-line")
    assert lines.nth(1).locator(".cm-lintRange-error").inner_text() == "true"  # line 2, column 3
    assert lines.nth(0).locator(".cm-lintRange-info").inner_text() == "x + 1"  # the note's site
    underline.hover()
    assert "type mismatch: expected int, found bool" in page.locator(".cm-tooltip-lint").first.inner_text()
    page.mouse.move(5, 5)
    lines.nth(0).locator(".cm-lintRange-info").hover()
    assert "note: the type int comes from here" in page.locator(".cm-tooltip-lint").first.inner_text()
    assert page.inner_text("#problems").startswith("prog.co:2:3: error: type mismatch")


def test_a_plugins_pass_is_selectable_and_its_warning_underlined(page):
    assert "warn-spawn-never-yields" in page.locator("#pass option").all_inner_texts()[2]
    set_program(page, "let h = spawn 1 in\nh")
    assert page.locator("#source .cm-lintRange-warning").inner_text() == "spawn 1"


def test_a_share_link_gives_the_same_program_and_program_text_stays_text(page, context, playground):
    text = "# </script><script>window.pwned = 1</script> <b>bold</b> ✓\nlet x = 41 in x + 1"
    set_program(page, text)
    page.select_option("#pass", "emit")
    page.click("#share")
    expect(page.locator("#share-link")).to_have_value(re.compile(f"^{re.escape(playground)}#code="))
    link = page.input_value("#share-link")
    assert page.url == link
    other = context.new_page()
    other.goto(link)
    other.wait_for_selector("body[data-ready=true]")
    expect(other.locator("#source .cm-content")).to_contain_text("x + 1")
    assert editor_text(other, "#source") == text
    assert other.input_value("#pass") == "emit"
    assert other.evaluate("window.pwned") is None
    assert other.locator("#source b").count() == 0  # the tag is text, not an element


@pytest.mark.slow
def test_a_runaway_program_stops_and_the_page_stays_usable(page):
    set_program(page, "let rec f = \\n -> f n in f 1")
    for backend in page.locator("#backend option").all_inner_texts():
        page.select_option("#backend", backend)
        page.click("#run")
        expect(page.locator("#run-state")).to_have_text(re.compile("^(runtime error|stopped)"),
                                                        timeout=(SECONDS + 10) * 1000)
        expected = f"out of fuel after {FUEL} steps" if backend == "vm" else f"longer than {SECONDS} s"
        assert expected in page.inner_text("#run-value")
    set_program(page, "20 + 22")
    page.click("#run")
    expect(page.locator("#run-state")).to_have_text(re.compile("^done"))
    assert page.inner_text("#run-value") == "42"


def test_the_diff_shows_what_a_pass_changed_and_what_an_edit_changed(page):
    set_program(page, "let x = 1 in x + 2")
    page.select_option("#pass", "infer")
    page.click("#tab-diff")
    page.locator("#diff .cm-changedLine").first.wait_for()
    assert page.inner_text("#diff-left") == "after parse" and page.inner_text("#diff-right") == "after infer"
    assert "let x : int = 1 in" in editor_text(page, "#diff .cm-merge-b")
    page.click("#pin")
    set_program(page, "let x = 1 in x + 3")
    page.check("input[value=pinned]")
    expect(page.locator("#diff .cm-merge-b")).to_contain_text("x + 3")
    assert "x + 2" in editor_text(page, "#diff .cm-merge-a")
    assert page.locator("#diff .cm-merge-b .cm-changedLine").count() >= 1
