"""Every IR of every example, as reviewed plain-text snapshots.

After a change to a pass: `pytest tests/test_snapshots.py --snapshot-update`,
then read `git diff tests/snapshots` — each changed line should be one you
can explain.
"""

import pytest

import ir
from tests.pipeline_runs import example_names, pipeline_irs, run_example

CASES = [(program, ir_name) for program in example_names() for ir_name in pipeline_irs()]


@pytest.mark.parametrize(("program", "ir_name"), CASES, ids=[f"{p}-{i}" for p, i in CASES])
def test_ir_snapshot(program, ir_name, ir_snapshot):
    produced = run_example(program)[ir_name]
    text = ir.lookup(ir_name).printer(produced.program)
    header = f"# {program}.co after pass {produced.pass_name} ({ir_name} IR)\n"
    assert header + text == ir_snapshot(name=f"{program}.{ir_name}")
