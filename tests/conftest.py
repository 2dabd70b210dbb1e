"""Shared test setup.

IR verification after every pass is on by default in tests: the driver's
--verify-each default comes from PASSES_VERIFY_EACH. The cache of compiled
programs (passes/driver/cache.py) is a folder of this session's own, never
the user's: CO_PASSES_CACHE, which the tests' subprocesses inherit.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

os.environ.setdefault("PASSES_VERIFY_EACH", "1")
SESSION_CACHE = tempfile.mkdtemp(prefix="co-passes-cache-")
os.environ["CO_PASSES_CACHE"] = SESSION_CACHE
# Deep programs recurse deeply in the passes, in tests as on the command line.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


class IRSnapshot(SingleFileSnapshotExtension):
    """One plain-text file per (program, IR): tests/snapshots/<program>.<ir>.txt.

    Stable names and plain text, so `pytest --snapshot-update` followed by
    `git diff tests/snapshots` shows exactly what a pass change did."""

    file_extension = "txt"
    _write_mode = WriteMode.TEXT

    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(SNAPSHOTS)

    @classmethod
    def get_snapshot_name(cls, *, test_location, index=0) -> str:
        if not isinstance(index, str):
            raise ValueError("IR snapshots are named: use snapshot(name='<program>.<ir>')")
        return index


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SESSION_CACHE, ignore_errors=True)


@pytest.fixture
def ir_snapshot(snapshot):
    return snapshot.use_extension(IRSnapshot)
