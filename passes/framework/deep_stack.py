"""Running the passes with room to recurse.

Passes recurse over the program's nesting, and a program may nest 100,000
deep: the command line and the editor analysis both run the compiler
through `run_with_deep_stack`.
"""

from __future__ import annotations

import _thread  # not threading, which takes longer to import than a small program takes to compile
import gc
import sys
from collections.abc import Callable

STACK_SIZE = 1 << 30  # bytes: room for the C stack of a million Python frames (only what is used is touched)
RECURSION_LIMIT = 1_000_000


def run_with_deep_stack(task: Callable[[], object]):
    """task's result (or its exception), computed in a thread with a large stack
    and a high recursion limit. The caller's settings are restored afterwards
    (the caller may be a test, or an editor's server that lives on)."""
    outcome: list = []
    finished = _thread.allocate_lock()
    finished.acquire()
    limit, stack_size, collecting = sys.getrecursionlimit(), _thread.stack_size(), gc.isenabled()
    sys.setrecursionlimit(RECURSION_LIMIT)
    _thread.stack_size(STACK_SIZE)
    # Passes build acyclic immutable trees, freed by reference counting; the
    # cyclic collector only rescans them, which made deep programs 6x slower.
    gc.disable()

    def body() -> None:
        try:
            outcome.append((True, task()))
        except BaseException as problem:  # handed to the caller's thread, raised there
            outcome.append((False, problem))
        finally:
            finished.release()

    try:
        _thread.start_new_thread(body, ())
        finished.acquire()
    finally:
        sys.setrecursionlimit(limit)
        _thread.stack_size(stack_size)
        if collecting:
            gc.enable()
    done, value = outcome[0]
    if not done:
        raise value
    return value
