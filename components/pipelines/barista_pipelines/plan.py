"""Execution plan of a DAG spec: a topological order, grouped in stages of steps that may run together."""

from __future__ import annotations

from dataclasses import dataclass

from barista_pipelines.spec import DagSpec, Step


class PlanError(ValueError):
    """The steps cannot be ordered (a cycle, or ``after`` naming a step that does not exist)."""


@dataclass(frozen=True, slots=True)
class Plan:
    #: Stages in order; the steps of one stage depend only on steps of earlier stages.
    stages: tuple[tuple[Step, ...], ...]

    @property
    def order(self) -> list[Step]:
        """One valid order (stages flattened; within a stage, the spec's order)."""
        return [step for stage in self.stages for step in stage]

    def upstream(self, name: str) -> set[str]:
        """Every step ``name`` depends on, directly or not."""
        by_name = {step.name: step for step in self.order}
        seen: set[str] = set()
        todo = list(by_name[name].after)
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(by_name[current].after)
        return seen


def plan(spec: DagSpec) -> Plan:
    """Kahn's algorithm over ``after``; ties keep the spec's order. Raises :class:`PlanError` on a cycle."""
    steps = list(spec.steps)
    names = {step.name for step in steps}
    for step in steps:
        missing = [a for a in step.after if a not in names]
        if missing:
            raise PlanError(f"step {step.name!r} runs after unknown steps: {', '.join(missing)}")
    done: set[str] = set()
    stages: list[tuple[Step, ...]] = []
    remaining = steps
    while remaining:
        ready = tuple(step for step in remaining if all(a in done for a in step.after))
        if not ready:
            raise PlanError(f"steps form a cycle: {' → '.join(_cycle(remaining))}")
        stages.append(ready)
        done.update(step.name for step in ready)
        remaining = [step for step in remaining if step.name not in done]
    return Plan(stages=tuple(stages))


def _cycle(steps: list[Step]) -> list[str]:
    """One cycle among ``steps`` (each has an unfinished predecessor), as names, first repeated last."""
    after = {step.name: [a for a in step.after if a in {s.name for s in steps}] for step in steps}
    path: list[str] = []
    current = steps[0].name
    while current not in path:
        path.append(current)
        current = after[current][0]
    return [*path[path.index(current) :], current]
