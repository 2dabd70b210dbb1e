"""Running example programs through the default pipeline, for tests."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from ir.source import Source
from passes.framework.pipeline import Pipeline, Step
from passes.framework.registry import Registry

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.co"))


def default_pipeline() -> Pipeline:
    registry = Registry()
    return Pipeline.from_names([e.name for e in registry.available()], registry)


def vm_pipeline() -> Pipeline:
    """The default pipeline up to its last pass writing blocks: what the VM runs."""
    passes = default_pipeline().passes
    last = max(i for i, p in enumerate(passes) if p.output_ir == "blocks")
    return Pipeline(passes[: last + 1])


def pipeline_writers() -> list[tuple[str, str]]:
    """(IR, pass) for every pass of the default pipeline that writes an IR, in order."""
    return [(p.output_ir, p.name) for p in default_pipeline().passes if p.output_ir is not None]


def earlier_writers() -> list[tuple[str, str]]:
    """(IR, pass) for every pass whose IR a later pass rewrites (layout by
    closure-layout before tailcall, blocks by emit and thread-jumps before
    peephole): their outputs are snapshotted too, under the pass's name."""
    writers = pipeline_writers()
    return [(ir_name, name) for i, (ir_name, name) in enumerate(writers)
            if any(later == ir_name for later, _ in writers[i + 1:])]


@dataclass(frozen=True)
class Produced:
    pass_name: str
    program: object


@functools.lru_cache(maxsize=None)
def pass_outputs(name: str) -> dict[str, Produced]:
    """Every pass's output for one example, by pass name, verified after every pass."""
    source = Source(f"{name}.co", (EXAMPLES / f"{name}.co").read_text())
    produced: dict[str, Produced] = {}

    def observe(step: Step) -> None:
        if step.pass_.output_ir is not None:
            produced[step.pass_.name] = Produced(step.pass_.name, step.output)

    default_pipeline().run(source, verify_each=True, observe=observe)
    return produced


def run_example(name: str) -> dict[str, Produced]:
    """Every IR of one example; when several passes produce the same IR, the last one's output."""
    writers = dict(pipeline_writers())  # IR -> the last pass writing it
    return {ir_name: pass_outputs(name)[pass_name] for ir_name, pass_name in writers.items()}
