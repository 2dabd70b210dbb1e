"""Programs that once showed a bug: each must mean the same at every level.

`tests/regressions/*.co` are written by hand for a fixed bug, or by
`python -m passes fuzz` for a failure it found (shrunk). A line
`# expect: TEXT` gives the outcome worked out by hand: the printed value,
or `runtime error: MESSAGE`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from passes.tools.differential import check

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
EXPECT = "# expect: "


def expectation(text: str) -> str | None:
    return next((line[len(EXPECT):] for line in text.splitlines() if line.startswith(EXPECT)), None)


@pytest.mark.parametrize("path", sorted(REGRESSIONS.glob("*.co")), ids=lambda p: p.stem)
def test_regression_means_the_same_at_every_level(path):
    text = path.read_text()
    verdict = check(text, path.name)
    assert verdict.mismatch is None, str(verdict.mismatch)
    expected = expectation(text)
    if expected is not None:
        shown = verdict.reference.text if verdict.reference.kind == "value" else str(verdict.reference)
        assert shown == expected
