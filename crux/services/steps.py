"""Step settings of workflows (SPEC §8.1): how long an attempt may stay open, how many attempts a
step gets, and how long a retried attempt waits.

    "steps": {"<step>": {"timeout": s (1..31,536,000), "attempts": n (1..100, default 1),
                         "retrydelay": s (0..86,400, default 0)}}

A workflow stores them as given (`ruleset.steps`); the compiled family carries them
(`family.rulesets[name].steps`), so handing out a step needs nothing from the database.
Every row keeps the settings its current attempt started with (`wfinstance.maxattempts`,
`timeout`, `retrydelay`): a row follows the settings as they were when the attempt started.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from crux.errors import message

START = "START"
# setting -> (lowest, highest, default)
LIMITS = {"timeout": (1, 31_536_000, None), "attempts": (1, 100, 1), "retrydelay": (0, 86_400, 0)}


class StepSettings(NamedTuple):
    """One step's settings; a plain tuple (timeout, attempts, retrydelay) to the store."""
    timeout: int | None = None      # seconds one attempt may stay open; None: no limit
    attempts: int = 1
    retrydelay: int = 0

    @classmethod
    def of(cls, steps: Mapping, step: str) -> StepSettings:
        """The settings of `step` in a workflow's `steps` (defaults for a step it does not name)."""
        given = steps.get(step)
        if not given:
            return NONE
        return cls(given.get("timeout"), given.get("attempts", 1), given.get("retrydelay", 0))

    @classmethod
    def of_row(cls, row: dict) -> StepSettings:
        """The settings a row's current attempt started with."""
        return cls(row["timeout"], row["maxattempts"], row["retrydelay"])


NONE = StepSettings()


def schema_steps(schema: dict) -> list[str]:
    """The values of a workflow schema's `step` attribute (START and the steps)."""
    return next((a.get("vals") or [] for a in schema["patternschema"] if a.get("attr") == "step"), [])


def check_steps(steps, step_values, path: str = "steps") -> list[dict]:
    """The problems of a workflow's `steps` against its schema's step values (messages at JSON
    paths: `steps.<step>` for an unknown step or a non-object, `steps.<step>.<setting>` for a
    bad value or an unknown setting)."""
    if not isinstance(steps, dict):
        return [message("invalid", path, [], "steps must be an object {step: {timeout?, attempts?, retrydelay?}}")]
    known = set(step_values) - {START}
    problems = []
    for step, settings in steps.items():
        where = f"{path}.{step}"
        if step not in known:
            problems.append(message("invalid", where, [step], f"{step} is not a step of the workflow's schema"
                                    + (" (START is not a step a worker carries out)" if step == START else "")))
            continue
        if not isinstance(settings, dict):
            problems.append(message("invalid", where, [], "the settings of a step are an object "
                                    "{timeout?, attempts?, retrydelay?}"))
            continue
        for name, value in settings.items():
            limits = LIMITS.get(name)
            if limits is None:
                problems.append(message("invalid", f"{where}.{name}", [name],
                                        f"unknown setting {name} (timeout, attempts, retrydelay)"))
            elif type(value) is not int or not limits[0] <= value <= limits[1]:
                problems.append(message("invalid", f"{where}.{name}", [value],
                                        f"{name} is an integer from {limits[0]:,} to {limits[1]:,}"))
    return problems
