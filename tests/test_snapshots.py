"""Every IR of every example, as reviewed plain-text snapshots:
`<program>.<ir>.txt` holds the last pass writing that IR, and
`<program>.<ir>.<pass>.txt` each earlier pass writing it (closure-layout
before tailcall; emit and thread-jumps before peephole), so that each
pass's own change shows.

After a change to a pass: `pytest tests/test_snapshots.py --snapshot-update`,
then read `git diff tests/snapshots` — each changed line should be one you
can explain.
"""

import pytest

import ir
from tests.pipeline_runs import earlier_writers, example_names, pass_outputs, pipeline_writers

LAST_WRITERS = dict(pipeline_writers())  # IR -> the last pass writing it
CASES = [(program, ir_name, pass_name, f"{program}.{ir_name}") for program in example_names()
         for ir_name, pass_name in LAST_WRITERS.items()]
CASES += [(program, ir_name, pass_name, f"{program}.{ir_name}.{pass_name}") for program in example_names()
          for ir_name, pass_name in earlier_writers()]


@pytest.mark.parametrize(("program", "ir_name", "pass_name", "snapshot_name"), CASES, ids=[c[3] for c in CASES])
def test_ir_snapshot(program, ir_name, pass_name, snapshot_name, ir_snapshot):
    text = ir.lookup(ir_name).printer(pass_outputs(program)[pass_name].program)
    header = f"# {program}.co after pass {pass_name} ({ir_name} IR)\n"
    assert header + text == ir_snapshot(name=snapshot_name)
