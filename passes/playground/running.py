"""Running a program for the playground: the command line in a child process.

The child is `python -m passes prog.co` itself, so the page shows exactly
what the command line prints (the value, `--stats`, diagnostics, runtime
errors). Two limits keep a runaway program from holding the server: the
VM stops after `fuel` steps, and any child still running after `seconds`
is killed (the fast backend has no fuel, so there only the clock stops it).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    fuel: int = 50_000_000  # VM steps: a few seconds of running
    seconds: float = 10.0  # wall-clock time for the whole child, compile included


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the command line's exit status; None when the time limit killed it
    stdout: str  # the value
    stderr: str  # stats, warnings, diagnostics, runtime errors
    command: str  # what to type to get the same (with the program in prog.co)


async def run_program(text: str, backend: str, plugins: tuple[str, ...], limits: Limits) -> Outcome:
    flags = ["--backend", backend]
    if backend == "vm":
        flags += ["--stats", "--fuel", str(limits.fuel)]
    flags += [arg for plugin in plugins for arg in ("--plugin", plugin)]
    here = os.getcwd()
    shown = [os.path.relpath(flag, here) if flag.startswith(here + os.sep) else flag for flag in flags]
    command = f"python -m passes prog.co {' '.join(shown)}".strip()
    with tempfile.TemporaryDirectory(prefix="co-playground-") as folder:
        Path(folder, "prog.co").write_text(text, encoding="utf-8")
        # The child runs in the temporary folder, so diagnostics name prog.co;
        # a plugin module importable here stays importable there.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "passes", "prog.co", "--no-color", *flags, cwd=folder, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(child.communicate(), limits.seconds)
        except TimeoutError:
            return Outcome(None, "", f"stopped: the program ran longer than {limits.seconds:g} s, "
                                     "the playground's time limit", command)
        finally:  # out of time, or the page went away
            if child.returncode is None:
                child.kill()
                await child.wait()
    return Outcome(child.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), command)
