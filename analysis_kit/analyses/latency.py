"""Latency: percentiles by kind, model, tool or agent; the slowest operations; time per step."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..model import Run
from ._util import CONTAINER_KINDS, INSTANT_KINDS, LLM_KINDS, as_list, attr, duration_ms, empty_frame, label, table

STAT_COLUMNS = ["count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms"]
# by="model" / by="tool" mean the events' name, restricted to the kinds it names.
_ALIASES = {"model": ("name", LLM_KINDS), "tool": ("name", ("tool_call",))}


def _stats(frame: pd.DataFrame, keys: list[str], value: str = "_ms") -> pd.DataFrame:
    """count, mean and p50/p90/p99/max of ``value`` per group (linear interpolation, as
    numpy.percentile's default)."""
    if frame.empty:
        return empty_frame(keys + STAT_COLUMNS)
    grouped = frame.groupby(keys, dropna=False, sort=True)[value]
    out = grouped.agg(count="size", mean_ms="mean", max_ms="max")
    q = grouped.quantile([0.5, 0.9, 0.99]).unstack(level=-1)
    q.columns = ["p50_ms", "p90_ms", "p99_ms"]
    out = out.join(q)[STAT_COLUMNS].reset_index()
    return out


def latency_stats(events: Run | pd.DataFrame, by: str | Sequence[str] = "kind") -> pd.DataFrame:
    """count, mean, p50, p90, p99 and max duration (ms) per group of ``by``: an events
    column (``kind``, ``name``, ``agent``, ...) or a list of them. ``by="model"`` groups
    model calls by model name, ``by="tool"`` tool calls by function. Container spans
    (step, round, agent) are left out unless ``by`` is ``kind``.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"kind": ["llm_call"] * 4, "duration_ms": [100.0, 200, 300, 400]})
    >>> latency_stats(ev)[["count", "p50_ms"]].values.tolist()
    [[4.0, 250.0]]
    """
    keys = as_list(by)
    ev = table(events, "events")
    ev = ev[~ev["kind"].isin(INSTANT_KINDS)]  # MassGen answers and votes have no duration
    ev = ev.assign(_ms=duration_ms(ev))
    ev = ev[ev["_ms"].notna()]
    for key in keys:
        if key in _ALIASES:
            column, kinds = _ALIASES[key]
            ev = ev[ev["kind"].isin(kinds)]
            ev = ev.assign(**{key: ev[column]})
    if "kind" not in keys:
        ev = ev[~ev["kind"].isin(CONTAINER_KINDS)]
    out = _stats(ev, keys)
    out["count"] = out["count"].astype("int64")
    return out


def slowest(events: Run | pd.DataFrame, n: int = 10, kind: str | Sequence[str] | None = None) -> pd.DataFrame:
    """The ``n`` slowest operations (container spans excluded), with their task.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"kind": ["tool_call"] * 3, "task_id": list("abc"),
    ...                    "duration_ms": [5.0, 50, 20]})
    >>> slowest(ev, n=2)["task_id"].tolist()
    ['b', 'c']
    """
    columns = ["task_id", "trial", "agent", "kind", "name", "start", "end", "duration_ms", "error"]
    ev = table(events, "events")
    ev = ev[~ev["kind"].isin(CONTAINER_KINDS)]
    if kind is not None:
        ev = ev[ev["kind"].isin(as_list(kind))]
    ev = ev.assign(duration_ms=duration_ms(ev))
    ev = ev[ev["duration_ms"].notna()]
    extra = ["run_id"] if ev["run_id"].nunique() > 1 else []
    return ev.nlargest(n, "duration_ms", keep="first")[extra + columns].reset_index(drop=True)


def _step_labels(values: pd.Series) -> pd.Series:
    """Step labels that sort: numbers when every step is a number, else text."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().sum() == values.notna().sum():
        whole = numeric.dropna()
        return numeric.astype("Int64") if (whole == whole.round()).all() else numeric
    return values.map(label).astype("string")


def _steps(events: pd.DataFrame) -> pd.Series:
    """Each event's step: the typed ``step`` column where a loader gives one (tau2 profile
    logs), else the ``step`` key of attrs."""
    step = attr(events, "step")
    if "step" in events.columns:
        typed = events["step"]
        known = typed.notna()
        if known.any():
            step[known] = typed[known].astype("object")
    return step


def step_times(events: Run | pd.DataFrame, by: str = "step") -> pd.DataFrame:
    """Time per conversation step: stats of the ``step`` events' durations per step
    (``by="step"``, the step column or the step number/name in attrs) or per role transition
    (``by="transition"``, "from_role->to_role"). Lacking step events, the other events
    carrying a ``step`` attr are summed per task and step first.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"kind": ["step", "step"], "duration_ms": [10.0, 30.0],
    ...                    "attrs": ['{"step": 1}', '{"step": 1}']})
    >>> step_times(ev)[["step", "count", "mean_ms"]].values.tolist()
    [[1, 2, 20.0]]
    """
    ev = table(events, "events")
    steps = ev[ev["kind"] == "step"]
    key = "transition" if by == "transition" else "step"
    if len(steps):
        frame = steps.assign(_ms=duration_ms(steps))
        if key == "transition":
            frame[key] = attr(frame, "from_role").astype("string") + "->" + attr(frame, "to_role").astype("string")
        else:
            frame[key] = _step_labels(_steps(frame))
    else:
        step = _steps(ev)
        carrying = ev[step.notna()].assign(step=_step_labels(step[step.notna()]))
        if carrying.empty or key == "transition":
            return empty_frame([key, "total_ms"] + STAT_COLUMNS)
        carrying = carrying.assign(_ms=duration_ms(carrying))
        keys = [k for k in ("run_id", "task_id", "trial") if k in carrying.columns]
        frame = carrying.groupby(keys + ["step"], dropna=False)["_ms"].sum(min_count=1).reset_index()
    frame = frame[frame["_ms"].notna()]
    if frame.empty:
        return empty_frame([key, "total_ms"] + STAT_COLUMNS)
    out = _stats(frame, [key])
    totals = frame.groupby(key, dropna=False, sort=True)["_ms"].sum()
    out.insert(1, "total_ms", totals.to_numpy())
    out["count"] = out["count"].astype("int64")
    return out
