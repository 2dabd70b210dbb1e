"""A cache of compiled programs, as CPython keeps bytecode in `__pycache__`.

A second `python -m passes prog.co` of an unchanged program with an
unchanged compiler loads the compiled program and runs it on machine.fast:
neither the passes nor the compile run, nor are they imported.

    run_from_cache(args)            (status, None) on a hit; (None, the entry to fill) on a miss
    lookup(args) -> Entry | None    None where the cache does not apply
    Entry.run() -> status | None    a hit, run as the driver runs it; None: compile
    Entry.store(program, code)      keep what the compile made (after a miss)

It applies only where it cannot change what is printed: the default
pipeline on the fast backend, run on a `.co` file or standard input, with
no option but `--color`/`--no-color` and `--backend fast`; so with no flag
that prints an IR, times passes, adds passes or plugins, or verifies
(`--verify-each` nor PASSES_VERIFY_EACH=1). Installed plugins (entry
points) never join the default pipeline. A compile whose passes printed a
diagnostic is not kept.

An entry is one file, named by a hash of the Python implementation and
version (marshal's format is its own), the compiler's fingerprint (the
path, size and modification time of every .py file of the packages ir,
machine and passes, as a pyc file checks its source), and the program's
bytes. It holds, in marshal's form, the code object of the program's procs,
its entry proc, and the types that print its value. A runtime error's site
is in the code (line and column constants) and rendered against the
program's text, as it is when the program was just compiled.

Where: $CO_PASSES_CACHE (empty or `off`: no cache), else
$XDG_CACHE_HOME/co-passes, else ~/.cache/co-passes. It is made 0700, and
not used if it belongs to another user or others may write to it (it holds
code that runs). Entries are written whole or not at all (a temporary file
renamed). The cache keeps about MAX_ENTRIES entries, dropping the oldest.
Whatever goes wrong with it (unreadable, unwritable, a corrupt or truncated
entry) is a miss: the program compiles as if there were no cache, and a
broken entry is replaced.
"""

from __future__ import annotations

import marshal
import os
import sys
from types import CodeType

from ir.types import BOOL, INT, BoolT, BoxT, Capture, ClosureT, FiberT, FunT, IntT, LambdaSet, LambdaTable, TupleT, Type

try:
    from _blake2 import blake2b  # what hashlib gives, without importing hashlib (and OpenSSL): 4 ms
except ImportError:  # a Python built without it
    from hashlib import blake2b

FORMAT = 1  # of an entry's contents: a new one misses every entry written before
PACKAGES = ("ir", "machine", "passes")  # the compiler's code, fingerprinted
SUFFIX = ".entry"
MAX_ENTRIES = 1000
# The options that may be given (their values) where the cache applies: any other must be its default.
ALLOWED = {"color": (None, False, True), "backend": (None, "fast"), "cache": (True,), "verify_each": (False,)}
MAX_TYPE_DEPTH = 500  # a value's type nested deeper than marshal allows is not kept


def run_from_cache(args) -> tuple[int | None, Entry | None]:
    """(the exit status, None) if args's program ran from the cache; else
    (None, where a compile should keep it: None when the cache does not apply)."""
    entry = lookup(args)
    status = entry.run() if entry is not None else None
    return (status, None) if status is not None else (None, entry)


def lookup(args) -> Entry | None:
    """The cache's entry for args's program, read (standard input too) and
    looked up; None when the cache does not apply to args, or cannot be read."""
    if not applies(args):
        return None
    folder = directory()
    if folder is None:
        return None
    path = args.program
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as file:
                data = file.read()
    except OSError:  # the compiler says what is wrong with it
        return None
    from passes.driver import program_name

    entry = Entry(program_name(path), data, folder)
    entry.load()
    return entry


def applies(args) -> bool:
    """Whether a cached run of args's program prints what compiling it would."""
    from passes.driver import option_defaults

    if args.program is None or not (args.program == "-" or args.program.endswith(".co")):
        return False
    defaults = option_defaults()
    for name, value in vars(args).items():
        if name in ALLOWED:
            if value not in ALLOWED[name]:
                return False
        elif name != "program" and (name not in defaults or value != defaults[name]):
            return False
    return True


def directory() -> str | None:
    """The cache's folder, or None when it is turned off (or the platform has no owners)."""
    chosen = os.environ.get("CO_PASSES_CACHE")
    if chosen is not None:
        return None if chosen in ("", "off") else chosen
    if not hasattr(os, "getuid"):
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG specification ignores a relative path
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "co-passes")


def fingerprint(folders) -> str:
    """The compiler's code as pyc files see their source: the path, size and
    modification time of every .py file under folders, one per line."""
    lines: list[str] = []
    for folder in folders:
        _stat_sources(folder, lines)
    return "\n".join(lines)


def _stat_sources(folder: str, lines: list[str]) -> None:
    with os.scandir(folder) as found:
        entries = sorted(found, key=lambda e: e.name)
    for entry in entries:
        if entry.name.endswith(".py"):
            info = entry.stat()
            lines.append(f"{entry.path} {info.st_size} {info.st_mtime_ns}")
        elif entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
            _stat_sources(entry.path, lines)


def compiler_folders() -> list[str]:
    """Where the packages of the compiler are, without importing them."""
    import importlib.util

    return [folder for name in PACKAGES for folder in importlib.util.find_spec(name).submodule_search_locations]


def entry_name(data: bytes, compiler: str) -> str:
    """The file name of the entry of the program data, compiled by the compiler of that fingerprint."""
    key = blake2b(digest_size=20)
    key.update(f"{FORMAT} {sys.implementation.cache_tag} {len(compiler)}\n{compiler}\n".encode())
    key.update(data)
    return key.hexdigest() + SUFFIX


class Entry:
    """One program's place in the cache: its name and bytes, and what is kept
    for it (`compiled`: None on a miss)."""

    def __init__(self, name: str, data: bytes, folder: str):
        self.name = name
        self.data = data
        self.folder = folder
        self.file_name: str | None = None
        self.compiled: tuple | None = None

    def load(self) -> None:
        """Read what the cache keeps for the program, if anything usable."""
        try:
            if sys.implementation.cache_tag is None:  # no promise that marshal's format is stable
                return
            self.file_name = entry_name(self.data, fingerprint(compiler_folders()))
            folder = _open_folder(self.folder, create=False)
            try:
                with open(self.file_name, "rb", opener=lambda name, flags: os.open(name, flags, dir_fd=folder)) \
                        as file:
                    kept = marshal.loads(file.read())
            finally:
                os.close(folder)
            if type(kept) is tuple and len(kept) == 5 and kept[0] == FORMAT and type(kept[4]) is CodeType:
                self.compiled = kept
        except Exception:  # not there, or not usable: a miss
            return

    def run(self) -> int | None:
        """Run the kept program as the driver runs a program it has just compiled:
        the exit status; None on a miss, or if what is kept turns out broken."""
        if self.compiled is None:
            return None
        from passes.framework.deep_stack import run_with_deep_stack

        return run_with_deep_stack(self._run)

    def _run(self) -> int | None:
        from ir.faults import RuntimeFault
        from ir.python import Program
        from machine import fast, show_value
        from passes.driver import OK, RUNTIME_ERROR

        _, main, result_type, value_type, code = self.compiled
        try:
            types = TypeReader()
            result_type = types.read(result_type)
            value_type = None if value_type is None else types.read(value_type)
            cells = fast.run(Program(result_type, main, (), value_type), code)
            value = show_value(cells, result_type, value_type)
        except RuntimeFault as fault:
            from ir.source import Source
            from passes.driver.output import runtime_error

            _write(sys.stderr, runtime_error(Source(self.name, self.data.decode("utf-8")), fault))
            return RUNTIME_ERROR
        except Exception:  # what is kept is broken: compile
            return None
        _write(sys.stdout, value + "\n")
        return OK

    def store(self, program, code: CodeType) -> None:
        """Keep program (a python IR program) and its compiled procs, code, for the next run."""
        if self.file_name is None:
            return
        try:
            types = TypeWriter()
            kept = (FORMAT, program.main, types.write(program.result_type),
                    None if program.value_type is None else types.write(program.value_type), code)
            blob = marshal.dumps(kept)
            folder = _open_folder(self.folder, create=True)
        except Exception:  # a type too deep to keep, or no folder to keep it in
            return
        try:
            _write_whole(folder, self.file_name, blob)
            if self.file_name.startswith("0"):  # one write in 16 looks at the cache's size
                prune(folder)
        except OSError:
            pass
        finally:
            os.close(folder)


def _write(stream, text: str) -> None:
    stream.write(text)
    stream.flush()


def _open_folder(path: str, create: bool) -> int:
    """A descriptor of the cache's folder (made if create), which must be the
    user's own and writable by no one else; OSError otherwise."""
    if create:
        os.makedirs(path, mode=0o700, exist_ok=True)
    folder = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    info = os.fstat(folder)
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        os.close(folder)
        raise PermissionError(f"{path} is not the user's own, or others may write to it")
    return folder


def _write_whole(folder: int, name: str, blob: bytes) -> None:
    """name holds blob, or is as it was: written to a temporary file, then renamed."""
    temporary = f".{name}.{os.getpid()}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600, dir_fd=folder)
    try:
        with open(handle, "wb") as file:
            file.write(blob)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        os.unlink(temporary, dir_fd=folder)
        raise


def prune(folder: int) -> None:
    """Remove the oldest entries beyond MAX_ENTRIES."""
    names = [name for name in os.listdir(folder) if name.endswith(SUFFIX)]
    if len(names) <= MAX_ENTRIES:
        return
    written = sorted((os.stat(name, dir_fd=folder).st_mtime_ns, name) for name in names)
    for _, name in written[: len(names) - MAX_ENTRIES]:
        os.unlink(name, dir_fd=folder)


class TypeWriter:
    """Types as data marshal can write: ("int",), ("tuple", elems...), ...; a
    lambda set as its names, each lambda's captures written once, where its
    name first appears (lambda sets may refer to each other in a cycle)."""

    def __init__(self):
        self.written: set[str] = set()

    def write(self, t: Type, depth: int = 0) -> tuple:
        if depth > MAX_TYPE_DEPTH:
            raise ValueError("a type nested too deeply to keep")
        deeper = depth + 1
        match t:
            case IntT():
                return ("int",)
            case BoolT():
                return ("bool",)
            case TupleT(elems):
                return ("tuple", *(self.write(e, deeper) for e in elems))
            case FiberT(result):
                return ("fiber", self.write(result, deeper))
            case FunT(param, lambdas, result):
                return ("fun", self.write(param, deeper), self.lambda_set(lambdas, deeper), self.write(result, deeper))
            case ClosureT(lambdas):
                return ("closure", self.lambda_set(lambdas, deeper))
            case BoxT(contents):
                return ("box", self.write(contents, deeper))
        raise ValueError(f"no type {t!r} to keep")

    def lambda_set(self, lambdas: LambdaSet, depth: int) -> tuple:
        """(name, captures or None if written before) for each member."""
        members = []
        for name in lambdas.names:
            if name in self.written:
                members.append((name, None))
                continue
            self.written.add(name)
            members.append((name, tuple((c.name, self.write(c.type, depth)) for c in lambdas.table.captures(name))))
        return tuple(members)


class TypeReader:
    """The types TypeWriter wrote, their lambda sets sharing one table."""

    def __init__(self):
        self.table = LambdaTable()

    def read(self, data: tuple) -> Type:
        kind = data[0]
        if kind == "int":
            return INT
        if kind == "bool":
            return BOOL
        if kind == "tuple":
            return TupleT(tuple(self.read(e) for e in data[1:]))
        if kind == "fiber":
            return FiberT(self.read(data[1]))
        if kind == "box":
            return BoxT(self.read(data[1]))
        if kind == "closure":
            return ClosureT(self.lambda_set(data[1]))
        if kind == "fun":
            return FunT(self.read(data[1]), self.lambda_set(data[2]), self.read(data[3]))
        raise ValueError(f"no type {kind!r}")

    def lambda_set(self, members: tuple) -> LambdaSet:
        for name, captures in members:
            if captures is not None:
                self.table.define(name, tuple(Capture(n, self.read(t)) for n, t in captures))
        return LambdaSet(tuple(name for name, _ in members), self.table)
