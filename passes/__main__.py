import _signal  # not signal, which makes enums of every signal number: longer than a small program's compile
import os
import sys

from passes.driver import SUBCOMMANDS, main

if len(sys.argv) > 1 and sys.argv[1] in SUBCOMMANDS:
    sys.exit(main())
# Output into a pipe whose reader went away (`| head`) ends the process
# quietly, as it ends cat or a compiled OCaml program.
if hasattr(_signal, "SIGPIPE"):  # not on Windows
    _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)
status = main()
# Compiling and running a program is done: leave without the interpreter's
# teardown, which frees every module and object one by one and costs a small
# program about a sixth of its time. Only the output still buffered matters.
sys.stdout.flush()
sys.stderr.flush()
os._exit(status)
