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


def pipeline_irs() -> list[str]:
    """The IRs the default pipeline produces, in order, each once."""
    seen: dict[str, None] = {}
    for p in default_pipeline().passes:
        if p.output_ir is not None:
            seen.setdefault(p.output_ir)
    return list(seen)


@dataclass(frozen=True)
class Produced:
    pass_name: str
    program: object


@functools.lru_cache(maxsize=None)
def run_example(name: str) -> dict[str, Produced]:
    """Every IR of one example, verified after every pass; when several passes
    produce the same IR, the last one's output."""
    source = Source(f"{name}.co", (EXAMPLES / f"{name}.co").read_text())
    produced: dict[str, Produced] = {}

    def observe(step: Step) -> None:
        if step.pass_.output_ir is not None:
            produced[step.output_ir] = Produced(step.pass_.name, step.output)

    default_pipeline().run(source, verify_each=True, observe=observe)
    return produced
