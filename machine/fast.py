"""The fast backend's runner: compile a python IR program once and run it.

    run(program) -> cells        Main's result, lowest address first; raises RuntimeFault

The generated procs (ir/python.py) run beside these helpers, and nothing else
(not even Python's builtins):

    wrap(n)                       n as a signed 64-bit integer (ir.ints)
    spawn(proc, ret_size, *args)  a new fiber running the generator proc(*args, 0) until its
                                  first yield or its end: the handle's cells
    spawn_plain(proc, ret_size, *args)
                                  the same for a proc that cannot yield: it runs to its end
    resume(line, column, handle)  the VM's resume: a Done handle back unchanged, a stale one a
                                  fault at line:column (0, 0: no site), else the fiber run to its
                                  next yield or end: the new handle
    bad_jump(index, size)         the VM's fault for a jump table index out of range

A handle is the tuple of its cells (fibdirty, fibidx, value..., bit). The
fibidx cell of a pending handle holds the Fiber itself, so a fiber that no
handle names any more is freed by reference counting; a Fiber counts as its
creation number wherever a cell is used as an integer. A finished fiber's
handle holds only the number, and the fiber drops its generators at once.

A fiber is a stack of generators, innermost last, each the bottom of a
chain of `yield from` at most CHAIN_DEPTH long: a generator proc deeper
than that yields the generator of its callee instead, and the loop in
`_run_fiber` (a trampoline) pushes it, and sends it the callee's result when
it returns. So a resume walks at most CHAIN_DEPTH delegations, however deep
the fiber's recursion.

Procs run as ordinary Python calls, so the program runs in a thread of its
own with a large stack and recursion limit; a recursion deeper even than
that is a RuntimeFault, never a traceback.
"""

from __future__ import annotations

import sys
import threading

from ir.faults import RuntimeFault
from ir.ints import wrap
from ir.python import GENERATOR, RUNTIME_NAMES, Program

CHAIN_DEPTH = 32  # `yield from` delegations a resume may walk (the generated code tests it)

RECURSION_LIMIT = 400_000  # Python frames: main's deepest plain recursion, with room to spare
STACK_BYTES = 1 << 30

SUSPENDED, RUNNING, DONE = range(3)


class Fiber:
    """One fiber: its number (creation order, main is #0), the dirty counter
    that catches a second resume of a handle, and its stack of generators."""

    __slots__ = ("number", "dirty", "ret_size", "stack", "state")

    def __init__(self, number: int, ret_size: int, stack: list):
        self.number = number
        self.dirty = 0
        self.ret_size = ret_size
        self.stack = stack
        self.state = RUNNING

    # A cell holding a Fiber is the fiber's number to any arithmetic (as in the VM).
    def __index__(self) -> int:
        return self.number

    __int__ = __index__

    def __add__(self, other):
        return self.number + other

    def __sub__(self, other):
        return self.number - other

    def __rsub__(self, other):
        return other - self.number

    def __mul__(self, other):
        return self.number * other

    __radd__, __rmul__ = __add__, __mul__

    def __eq__(self, other):
        return self.number == other

    def __lt__(self, other):
        return self.number < other

    def __le__(self, other):
        return self.number <= other

    def __gt__(self, other):
        return self.number > other

    def __ge__(self, other):
        return self.number >= other

    __hash__ = None


def _runtime() -> dict:
    """The helpers of one run (a fresh fiber count each time)."""
    created = 1  # main is fiber #0

    def spawn(proc, ret_size, *args):
        nonlocal created
        fiber = Fiber(created, ret_size, [])
        created += 1
        fiber.stack.append(proc(*args, 0))
        return _run_fiber(fiber)

    def spawn_plain(proc, ret_size, *args):
        nonlocal created
        number = created
        created += 1
        return (0, number, *_cells(proc(*args), ret_size), 1)

    def resume(line, column, handle):
        if handle[-1]:
            return handle  # Done: resume gives it back unchanged
        site = f"{line}:{column}" if line else None
        fiber = handle[1]
        if type(fiber) is not Fiber:
            _forged(handle, created, site)
        if handle[0] != fiber.dirty:
            raise RuntimeFault(f"fiber resumed twice: fiber #{fiber.number}'s handle was already resumed", site)
        if fiber.state == RUNNING:
            raise RuntimeFault(f"fiber #{fiber.number} is running, so it cannot be resumed", site)
        if fiber.state == DONE:
            raise RuntimeFault(f"fiber #{fiber.number} has finished, but the handle says it is pending", site)
        if fiber.ret_size != len(handle) - 3:
            raise RuntimeFault(f"resume expects a result of {len(handle) - 3} cells, but fiber "
                               f"#{fiber.number} returns {fiber.ret_size}", site)
        fiber.dirty += 1
        fiber.state = RUNNING
        return _run_fiber(fiber)

    def bad_jump(index, size):
        raise RuntimeFault(f"jump table index {index} is out of range (the table has {size} entries)")

    helpers = {"wrap": wrap, "spawn": spawn, "spawn_plain": spawn_plain, "resume": resume,
               "bad_jump": bad_jump}
    assert tuple(helpers) == RUNTIME_NAMES
    return helpers


def _run_fiber(fiber: Fiber) -> tuple:
    """Run fiber until its next yield (a pending handle) or its end (a done one)."""
    stack = fiber.stack
    generator = stack.pop()
    sent = None
    while True:
        try:
            request = generator.send(sent)
        except StopIteration as returned:
            if stack:  # a callee run by the trampoline returned: back to its caller
                generator, sent = stack.pop(), returned.value
                continue
            fiber.state, fiber.stack = DONE, None
            return (fiber.dirty, fiber.number, *_cells(returned.value, fiber.ret_size), 1)
        if request is None:  # the fiber yielded
            stack.append(generator)
            fiber.state = SUSPENDED
            return (fiber.dirty, fiber, *(0,) * fiber.ret_size, 0)
        stack.append(generator)  # a call past CHAIN_DEPTH: run the callee on top
        generator, sent = request, None


def _cells(result, size: int) -> tuple:
    """A proc's return value as its cells: nothing, one value, or a tuple."""
    if size == 1:
        return (result,)
    return () if size == 0 else result


def _forged(handle: tuple, created: int, site: str | None):
    """A pending handle whose fibidx cell was not made by spawn (a hand-written listing)."""
    index = handle[1]
    if not 0 <= index < created:
        raise RuntimeFault(f"resume of a handle to fiber #{index}, which does not exist", site)
    if index == 0:  # main: never resumed, always running
        if handle[0] != 0:
            raise RuntimeFault("fiber resumed twice: fiber #0's handle was already resumed", site)
        raise RuntimeFault("fiber #0 is running, so it cannot be resumed", site)
    raise RuntimeFault(f"the fast backend cannot resume fiber #{index} from a handle made of plain "
                       "integers (run this program with --backend vm)", site)


def load(program: Program) -> dict:
    """The namespace of the compiled program: its procs beside the helpers."""
    source = "\n".join(proc.source for proc in program.procs)
    code = compile(source, "<co program>", "exec")
    namespace = {"__builtins__": {}, **_runtime()}
    exec(code, namespace)
    return namespace


def run(program: Program) -> tuple[int, ...]:
    """Run program's main function to its end: Main's result cells."""
    size = _result_size(program)
    outcome: list = []

    def body() -> None:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
        try:
            result = load(program)[program.main]()
            outcome.append(tuple(int(cell) for cell in _cells(result, size)))
        except RecursionError:
            outcome.append(RuntimeFault(f"the program recursed deeper than the fast backend allows "
                                        f"({RECURSION_LIMIT} calls); --backend vm has no such limit"))
        except BaseException as error:  # carried to the caller's thread
            outcome.append(error)
        finally:
            sys.setrecursionlimit(limit)

    previous = threading.stack_size()
    threading.stack_size(STACK_BYTES)
    try:
        thread = threading.Thread(target=body)
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _result_size(program: Program) -> int:
    from ir.types import cell_size

    return cell_size(program.result_type)
