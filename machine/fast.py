"""The fast backend's runner: compile a python IR program once and run it.

    run(program, code=None) -> cells   Main's result, lowest address first; raises RuntimeFault
    interpret(program) -> str          its printed value (the python IR's interpreter)
    load(program, code=None) -> namespace
                                       the compiled procs beside the helpers
    compile_procs(program) -> code     what load runs; given it, run and load skip compiling

The generated procs (ir/python.py) run beside these helpers, and nothing else
(not even Python's builtins):

    wrap(n)                       n as a signed 64-bit integer (ir.ints)
    next, stop_iteration          Python's next() and StopIteration: a fiber is a generator,
                                  run to its next yield by next(), ended when it raises
    numbers                       the fiber numbers not yet given: next(numbers) numbers a new fiber
    result_of(stop)               the value a generator returned, from its StopIteration
    trampoline(fiber, request)    go on running fiber, whose generator asked for a call past
                                  CHAIN_DEPTH, on a driver (below); StopIteration when it ends
    refuse(line, column, dirty, fiber, size, error=None)
                                  the VM's fault for resuming a pending handle that the inline
                                  check refused, or whose resume raised error (one of:)
    cannot_resume                 the errors next() and the fiber's cells raise on a handle
                                  forged from integers or naming a fiber that runs or ended
    bad_jump(index, size)         the VM's fault for a jump table index out of range

Spawns and resumes run inline in the generated code (passes/to_python/fibers.py).
A fiber is a list [generator, dirty, number, size], indexed by the constants
below: the generator to send to next (None once the fiber has ended), the
dirty counter that catches a second resume of a handle, the fiber's number
(creation order, main is #0) for messages, and its result's size in cells.
A handle is cells (fibdirty, fibidx, value..., bit) as on the VM, but its
fibidx holds the fiber itself, or the number of a fiber that ended at its
spawn; so a pending fiber lives exactly as long as some value refers to it,
and is freed by reference counting the moment the last one goes. No cycle
holds a fiber (its generator holds only handles to fibers made before it),
so this needs no cyclic collector, which the driver turns off. A box cell
holds its record, a tuple of its cells (lowest first), freed the same way;
records are never changed, so they form no cycle either.

Faults have the VM's messages and sites, but for one a program from emit
cannot make: a pending handle forged by a hand-written listing from an
integer naming a fiber that exists is refused (the VM finds fibers by
number; here a number leads nowhere). Likewise a listing computing with a
fibidx cell gets a runtime error here: it holds a fiber, not an integer.
So do a listing's add, sub, mul or lt on a box cell, and its unbox of a
number, as on the VM; but eq and jmpz take a record for some number, and
an unbox of a record of another size reads the cells used (a fault only
where one is missing), where the VM refuses them. A call's argument cell, which the callee may
change, is a closure's padding when emit passes it on or copies it: it goes
on as a 0 (a listing computing with one cannot compile).

A fiber's generator is the bottom of a chain of `yield from` at most
CHAIN_DEPTH long: a generator proc deeper than that yields the generator of
its callee instead, and `trampoline` then runs the fiber on a driver, a
generator that keeps the stack of generators waiting for a callee and sends
each the result of the one above. So a resume walks at most CHAIN_DEPTH
delegations (and the driver), however deep the fiber's recursion.

Procs run as ordinary Python calls, so the program runs in a thread of its
own with a large stack and recursion limit; a recursion deeper even than
that is a RuntimeFault, never a traceback.
"""

from __future__ import annotations

import _thread  # not threading, which takes longer to import than a small program takes to run
import itertools
import operator
import sys
from types import CodeType

from ir.faults import RuntimeFault
from ir.ints import wrap
from ir.python import RUNTIME_NAMES, Program
from ir.types import cell_size
from machine.values import show_value

CHAIN_DEPTH = 4  # `yield from` delegations a resume may walk: the fastest of 1-32 on fib-fiber (README)

# The fields of a fiber, a list (see the docstring): the generated code reads them by index.
GENERATOR, DIRTY, NUMBER, SIZE = range(4)

# Python frames: a plain recursion this deep needs ~130 MB; nested fibers, each a
# level of C recursion too, stay well within the thread's stack.
RECURSION_LIMIT = 400_000
STACK_BYTES = 1 << 30

CANNOT_RESUME = (TypeError, ValueError)  # a number's index, next(None); next() of a running generator


def _runtime() -> dict:
    """The helpers of one run, with a fresh count of fibers."""
    numbers = itertools.count(1)

    def refuse(line: int, column: int, dirty, fiber, size: int, error: Exception | None = None):
        site = f"{line}:{column}" if line else None
        if type(fiber) is not list:  # the run ends here: taking a number tells how many fibers there are
            _refuse_number(int(fiber), dirty, next(numbers), site)
        number = fiber[NUMBER]
        generator = fiber[GENERATOR]
        if error is None:  # the inline check failed: a stale handle, or one of another size
            if generator is None or fiber[DIRTY] != dirty:
                raise RuntimeFault(f"fiber resumed twice: fiber #{number}'s handle was already resumed", site)
            if generator.gi_running:
                raise RuntimeFault(f"fiber #{number} is running, so it cannot be resumed", site)
            raise RuntimeFault(f"resume expects a result of {size} cells, but fiber #{number} "
                               f"returns {fiber[SIZE]}", site)
        if generator is None:  # a fresh-looking handle to a fiber that ended
            raise RuntimeFault(f"fiber resumed twice: fiber #{number}'s handle was already resumed", site)
        if isinstance(error, ValueError) and generator.gi_running:
            raise RuntimeFault(f"fiber #{number} is running, so it cannot be resumed", site)
        raise error

    helpers = {"wrap": wrap, "next": next, "stop_iteration": StopIteration, "numbers": numbers,
               "result_of": operator.attrgetter("value"), "trampoline": trampoline, "refuse": refuse,
               "cannot_resume": CANNOT_RESUME, "bad_jump": bad_jump}
    assert tuple(helpers) == RUNTIME_NAMES
    return helpers


def _refuse_number(number: int, dirty, created: int, site: str | None):
    """The fault for a pending handle whose fibidx is a number, not a fiber."""
    if number == 0:  # main: its counter stays 0, and it always runs
        if dirty != 0:
            raise RuntimeFault("fiber resumed twice: fiber #0's handle was already resumed", site)
        raise RuntimeFault("fiber #0 is running, so it cannot be resumed", site)
    if not 0 < number < created:
        raise RuntimeFault(f"resume of a handle to fiber #{number}, which does not exist", site)
    raise RuntimeFault(f"resume of a handle to fiber #{number} made of integers: the fast backend "
                       "finds a fiber only through a handle that spawn or resume made "
                       "(--backend vm finds it by number)", site)


def trampoline(fiber: list, request) -> None:
    """Go on running fiber, whose generator yielded request (the generator of a
    call past CHAIN_DEPTH), until its next yield; StopIteration with its
    result if it ends. From now on the fiber's generator is a driver."""
    fiber[GENERATOR] = driver = _driven(fiber[GENERATOR], request)
    next(driver)


def _driven(caller, callee):
    """A fiber as a stack of generators, each waiting for the result of the one
    above it: callee runs first, caller gets its result. It yields when the
    fiber yields and returns the fiber's result."""
    waiting = [caller]
    generator, sent = callee, None
    while True:
        try:
            request = generator.send(sent)
        except StopIteration as returned:
            if not waiting:
                return returned.value
            generator, sent = waiting.pop(), returned.value
            continue
        if request is None:  # the fiber yields
            yield
            sent = None
        else:  # another call past CHAIN_DEPTH
            waiting.append(generator)
            generator, sent = request, None


def bad_jump(index, size: int):
    if type(index) is list:  # a fiber used as a number by a hand-written listing
        index = index[NUMBER]
    raise RuntimeFault(f"jump table index {index} is out of range (the table has {size} entries)")


def _cells(result, size: int) -> tuple[int, ...]:
    """Main's return value as its cells: each an integer of 64 bits (a proc may
    return any int congruent to its result: see passes/to_python/), a fiber
    as its number, a box's record as a tuple of such cells."""
    values = (result,) if size == 1 else tuple(result) if size else ()
    return tuple(_cell(value) for value in values)


def _cell(value):
    kind = type(value)
    if kind is list:
        return value[NUMBER]
    if kind is tuple:
        return tuple(_cell(inner) for inner in value)
    return wrap(int(value))


def compile_procs(program: Program) -> CodeType:
    """The code object defining program's procs: what load runs, and what the
    driver's cache of compiled programs keeps (marshal writes it)."""
    return compile("\n".join(proc.source for proc in program.procs), "<co program>", "exec")


def load(program: Program, code: CodeType | None = None) -> dict:
    """The namespace of the compiled program (code, if given, is compile_procs(program)):
    its procs beside the helpers."""
    namespace = {"__builtins__": {}, **_runtime()}
    exec(compile_procs(program) if code is None else code, namespace)
    return namespace


def interpret(program: Program, fuel: int | None = None) -> str:
    """The printed value of program (the python IR's interpreter; it has no fuel)."""
    return show_value(run(program), program.result_type, program.value_type)


def run(program: Program, code: CodeType | None = None) -> tuple[int, ...]:
    """Run program's main function to its end: Main's result cells. Given code
    (compile_procs(program)), program's procs are not read."""
    size = cell_size(program.result_type)
    outcome: list = []

    def body() -> None:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(RECURSION_LIMIT)
        try:
            result = load(program, code)[program.main]()
            outcome.append(_cells(result, size))
        except RecursionError:
            outcome.append(RuntimeFault(f"the program recursed deeper than the fast backend allows "
                                        f"({RECURSION_LIMIT} calls); --backend vm has no such limit"))
        except (TypeError, IndexError):  # only a hand-written listing computes with a handle's fiber or a box
            outcome.append(RuntimeFault("the program computes with a fiber handle's fibidx or a box's cell "
                                        "(a fiber or a record on the fast backend), or unboxes what is no box "
                                        "of that size; --backend vm runs it"))
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
