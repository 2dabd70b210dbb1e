"""The fast backend's runner: compile a python IR program once and run it.

    run(program) -> cells        Main's result, lowest address first; raises RuntimeFault
    interpret(program) -> str    its printed value (the python IR's interpreter)
    load(program) -> namespace   the compiled procs beside the helpers

The generated procs (ir/python.py) run beside these helpers, and nothing else
(not even Python's builtins):

    wrap(n)                       n as a signed 64-bit integer (ir.ints)
    spawn(generator, ret_size)    a new fiber running generator (a generator proc's, made with
                                  depth 0) until its first yield or its end: the handle's cells
    spawn_plain(proc, ret_size, *args)
                                  the same for a proc that cannot yield: it runs to its end
    resume(line, column, handle)  the VM's resume: a Done handle back unchanged, a stale one a
                                  fault at line:column (0, 0: no site), else the fiber run to its
                                  next yield or end: the new handle
    bad_jump(index, size)         the VM's fault for a jump table index out of range

A handle is the tuple of its cells (fibdirty, fibidx, value..., bit), all
integers as in the VM: fibidx is the fiber's number (creation order, main
is #0). The fibers not yet done are found by number in a dict; a fiber is
dropped from it, generators and all, the moment it ends. Faults have the
VM's messages and sites, but for one a program from emit cannot make: a
pending handle forged by a hand-written listing, naming a finished fiber
with its last dirty count, is a second resume here (the VM says the fiber
has finished; the count is gone with the fiber).

A fiber is a stack of generators, innermost last, each the bottom of a
chain of `yield from` at most CHAIN_DEPTH long: a generator proc deeper
than that yields the generator of its callee instead, and `_trampoline`
pushes it, and sends it the callee's result when it returns. So a resume
walks at most CHAIN_DEPTH delegations, however deep the fiber's recursion.

Procs run as ordinary Python calls, so the program runs in a thread of its
own with a large stack and recursion limit; a recursion deeper even than
that is a RuntimeFault, never a traceback.
"""

from __future__ import annotations

import _thread  # not threading, which takes longer to import than a small program takes to run
import sys

from ir.faults import RuntimeFault
from ir.ints import INT_MAX, INT_MIN, wrap
from ir.python import RUNTIME_NAMES, Program
from ir.types import cell_size
from machine.values import show_value

CHAIN_DEPTH = 4  # `yield from` delegations a resume may walk: the fastest of 1-32 on fib-fiber (README)

# Python frames: a plain recursion this deep needs ~130 MB; nested fibers, each a
# level of C recursion too, stay well within the thread's stack.
RECURSION_LIMIT = 400_000
STACK_BYTES = 1 << 30

# A fiber is a list: [top, dirty, handle size, below, pending]. top: the
# generator to send to (None while the fiber runs); dirty: the counter that
# catches a second resume of a handle; below: the generators waiting for a
# callee that the trampoline runs (None when there are none); pending: the
# value cells and bit of its pending handles (all zero).
TOP, DIRTY, SIZE, BELOW, PENDING = range(5)


def _runtime() -> dict:
    """The helpers of one run: a fresh fiber count, and the fibers not yet
    done by number (main, #0, is never resumed, so it is not there). Spawn and
    resume run the common case themselves: they are on every fiber program's
    hot path."""
    fibers: dict[int, list] = {}
    created = 1

    def spawn(generator, ret_size):
        nonlocal created
        number = created
        created += 1
        fibers[number] = fiber = [None, 0, 3 + ret_size, None, _ZEROS[ret_size] if ret_size < 8 else (0,) * (ret_size + 1)]
        try:
            request = generator.send(None)
        except StopIteration as returned:
            del fibers[number]
            return (0, number) + _done(returned.value, ret_size)
        if request is None:
            fiber[TOP] = generator
            return (0, number) + fiber[PENDING]
        return _trampoline(fibers, number, generator, request)

    def spawn_plain(proc, ret_size, *args):
        nonlocal created
        number = created
        created += 1
        fibers[number] = [None, 0, 3 + ret_size, None, None]  # running, for a resume of it to find
        result = proc(*args)
        del fibers[number]
        return (0, number) + _done(result, ret_size)

    def resume(line, column, handle):
        if handle[-1]:
            return handle  # Done: resume gives it back unchanged
        number = handle[1]
        fiber = fibers.get(number)
        if fiber is None or handle[0] != fiber[DIRTY] or fiber[TOP] is None or len(handle) != fiber[SIZE]:
            _refuse(handle, fiber, created, f"{line}:{column}" if line else None)
        fiber[DIRTY] = dirty = handle[0] + 1
        generator, fiber[TOP] = fiber[TOP], None
        try:
            request = generator.send(None)
        except StopIteration as returned:
            if fiber[BELOW]:  # the trampoline's callee returned: back to its caller
                return _trampoline(fibers, number, fiber[BELOW].pop(), returned.value, sending=True)
            del fibers[number]
            return (dirty, number) + _done(returned.value, len(handle) - 3)
        if request is None:
            fiber[TOP] = generator
            return (dirty, number) + fiber[PENDING]
        return _trampoline(fibers, number, generator, request)

    def bad_jump(index, size):
        raise RuntimeFault(f"jump table index {index} is out of range (the table has {size} entries)")

    helpers = {"wrap": wrap, "spawn": spawn, "spawn_plain": spawn_plain, "resume": resume,
               "bad_jump": bad_jump}
    assert tuple(helpers) == RUNTIME_NAMES
    return helpers


def _trampoline(fibers: dict, number: int, generator, sent, sending: bool = False) -> tuple:
    """Go on running fiber #number after generator yielded a callee's generator
    (sent; or, when sending, the value to send to generator), until its next
    yield (a pending handle) or its end (a done one)."""
    fiber = fibers[number]
    if fiber[BELOW] is None:
        fiber[BELOW] = []
    below = fiber[BELOW]
    if not sending:
        below.append(generator)
        generator, sent = sent, None
    while True:
        try:
            request = generator.send(sent)
        except StopIteration as returned:
            if below:  # the callee on top returned: back to its caller
                generator, sent = below.pop(), returned.value
                continue
            del fibers[number]
            return (fiber[DIRTY], number) + _done(returned.value, fiber[SIZE] - 3)
        if request is None:  # the fiber yielded
            fiber[TOP] = generator
            return (fiber[DIRTY], number) + fiber[PENDING]
        below.append(generator)  # another call past CHAIN_DEPTH
        generator, sent = request, None


_ZEROS = [(0,) * (size + 1) for size in range(8)]


def _done(result, size: int) -> tuple:
    """The value cells and bit of a done handle, from its proc's return value."""
    if size == 1:
        return (result if INT_MIN <= result <= INT_MAX else wrap(result), 1)
    return (*_cells(result, size), 1)


def _cells(result, size: int) -> tuple:
    """A proc's return value as its cells, each wrapped (a proc may return any
    int congruent to its result: see passes/to_python.py)."""
    if size == 1:
        return (result if INT_MIN <= result <= INT_MAX else wrap(result),)
    return () if size == 0 else tuple(map(wrap, result))


def _refuse(handle: tuple, fiber: list | None, created: int, site: str | None):
    """The VM's fault for resuming this pending handle."""
    number = handle[1]
    if not 0 <= number < created:
        raise RuntimeFault(f"resume of a handle to fiber #{number}, which does not exist", site)
    # Main (#0) is never resumed, so its counter stays 0; a done fiber was
    # resumed after the yield that made any genuine pending handle to it.
    if fiber is None and number != 0 or handle[0] != (0 if fiber is None else fiber[DIRTY]):
        raise RuntimeFault(f"fiber resumed twice: fiber #{number}'s handle was already resumed", site)
    if fiber is None or fiber[TOP] is None:
        raise RuntimeFault(f"fiber #{number} is running, so it cannot be resumed", site)
    raise RuntimeFault(f"resume expects a result of {len(handle) - 3} cells, but fiber #{number} "
                       f"returns {fiber[SIZE] - 3}", site)


def load(program: Program) -> dict:
    """The namespace of the compiled program: its procs beside the helpers."""
    source = "\n".join(proc.source for proc in program.procs)
    code = compile(source, "<co program>", "exec")
    namespace = {"__builtins__": {}, **_runtime()}
    exec(code, namespace)
    return namespace


def interpret(program: Program, fuel: int | None = None) -> str:
    """The printed value of program (the python IR's interpreter; it has no fuel)."""
    return show_value(run(program), program.result_type)


def run(program: Program) -> tuple[int, ...]:
    """Run program's main function to its end: Main's result cells."""
    size = cell_size(program.result_type)
    outcome: list = []

    def body() -> None:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(RECURSION_LIMIT)
        try:
            result = load(program)[program.main]()
            outcome.append(tuple(int(cell) for cell in _cells(result, size)))  # a bool or Fiber cell as int
        except RecursionError:
            outcome.append(RuntimeFault(f"the program recursed deeper than the fast backend allows "
                                        f"({RECURSION_LIMIT} calls); --backend vm has no such limit"))
        except BaseException as error:  # carried to the caller's thread
            outcome.append(error)
        finally:
            sys.setrecursionlimit(limit)

    finished = _thread.allocate_lock()
    finished.acquire()

    def run_body() -> None:
        try:
            body()
        finally:
            finished.release()

    previous = _thread.stack_size()
    _thread.stack_size(STACK_BYTES)
    try:
        _thread.start_new_thread(run_body, ())
    finally:
        _thread.stack_size(previous)
    finished.acquire()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]
