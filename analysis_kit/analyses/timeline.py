"""Timeline: ordered operations, concurrency over time, stalled tasks, wall time split."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..model import Run
from ._util import (CONTAINER_KINDS, as_list, duration_ms, empty_frame, grouped_union, spans,
                    table, task_keys, timestamp_s, union_length, seconds)


def interval_union(starts: Sequence[Any] | pd.Series, ends: Sequence[Any] | pd.Series) -> float:
    """Seconds covered by the intervals [start, end], overlapping or nested ones counted
    once. Accepts timestamps or plain numbers (taken as seconds); pairs with a missing
    bound are ignored. O(n log n): one sort and a running maximum.

    >>> interval_union([0, 1, 10], [5, 3, 12])
    7.0
    """
    starts, ends = pd.Series(starts), pd.Series(ends)
    if pd.api.types.is_datetime64_any_dtype(starts) or pd.api.types.is_datetime64_any_dtype(ends):
        starts = pd.to_datetime(starts, utc=True)
        ends = pd.to_datetime(ends, utc=True)
    return union_length(seconds(starts), seconds(ends))


def task_timeline(events: Run | pd.DataFrame, task_id: str | None = None, agent: str | None = None,
                  trial: int | None = None) -> pd.DataFrame:
    """The operations of one task (and/or agent), ordered by start, with their start, end
    and offset from the first operation in seconds (for a Gantt chart).

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"task_id": ["t", "t"], "kind": ["tool_call", "llm_call"],
    ...     "start": pd.to_datetime(["2025-01-01 00:00:05", "2025-01-01 00:00:00"], utc=True),
    ...     "duration_ms": [1000.0, 2000.0]})
    >>> task_timeline(ev, "t")[["kind", "offset_s", "end_offset_s"]].values.tolist()
    [['llm_call', 0.0, 2.0], ['tool_call', 5.0, 6.0]]
    """
    columns = ["task_id", "trial", "agent", "thread", "kind", "name", "round", "start", "end",
               "duration_ms", "error", "offset_s", "end_offset_s"]
    ev = table(events, "events")
    if task_id is not None:
        ev = ev[ev["task_id"] == task_id]
    if agent is not None:
        ev = ev[ev["agent"] == agent]
    if trial is not None:
        ev = ev[ev["trial"] == trial]
    ev = spans(ev)
    ev = ev[ev["t0"].notna()]
    if ev.empty:
        return empty_frame(columns)
    ev = ev.sort_values(["t0", "t1"], kind="stable")
    origin = ev["t0"].min()
    ev["duration_ms"] = duration_ms(ev)
    ev["offset_s"] = ev["t0"] - origin
    ev["end_offset_s"] = ev["t1"] - origin
    extra = ["run_id"] if ev["run_id"].nunique() > 1 else []
    return ev[extra + columns].reset_index(drop=True)


def concurrency(events: Run | pd.DataFrame, kinds: Sequence[str] | None = None) -> pd.DataFrame:
    """Operations in flight over time: a sweep adding 1 at each start and taking 1 at each
    end. Container spans (step, round) are left out unless ``kinds`` names them. At one
    instant all changes apply together, so back-to-back calls do not count twice.

    >>> import pandas as pd
    >>> t = pd.to_datetime(["2025-01-01 00:00:00", "2025-01-01 00:00:01"], utc=True)
    >>> ev = pd.DataFrame({"kind": ["llm_call"] * 2, "start": t, "duration_ms": [2000.0, 500.0]})
    >>> concurrency(ev)["in_flight"].tolist()
    [1, 2, 1, 0]
    """
    ev = table(events, "events")
    ev = ev[ev["kind"].isin(kinds)] if kinds is not None else ev[~ev["kind"].isin(CONTAINER_KINDS)]
    ev = spans(ev).dropna(subset=["t0", "t1"])
    if ev.empty:
        return empty_frame(["time", "in_flight"])
    times = np.concatenate([ev["t0"].to_numpy(), ev["t1"].to_numpy()])
    delta = np.concatenate([np.ones(len(ev), dtype="int64"), -np.ones(len(ev), dtype="int64")])
    sweep = pd.Series(delta).groupby(times).sum()
    in_flight = sweep.cumsum()
    time = pd.to_datetime((sweep.index.to_numpy() * 1e9).round().astype("int64"), utc=True)
    return pd.DataFrame({"time": time, "in_flight": in_flight.to_numpy().astype("int64")})


def stalled_tasks(events: Run | pd.DataFrame, threshold_s: float = 300, now: Any = None,
                  by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Each task's last event and the seconds since, flagged ``stalled`` when the gap
    exceeds ``threshold_s`` and the task had not ``finished``: its last event is its
    evaluation, or (given a Run) its tasks row has an outcome. A task that ended early is
    not stalled however long the rest of the run went on. ``now`` defaults to the run's
    last event. ``by`` groups by other columns (e.g. ``"agent"``) instead of the task.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"task_id": ["a", "b"], "kind": ["llm_call"] * 2,
    ...     "end": pd.to_datetime(["2025-01-01 00:00:00", "2025-01-01 00:10:00"], utc=True)})
    >>> stalled_tasks(ev, threshold_s=300)[["task_id", "gap_s", "stalled"]].values.tolist()
    [['a', 600.0, True], ['b', 0.0, False]]
    """
    ev = table(events, "events")
    keys = as_list(by) or task_keys(ev)
    columns = keys + ["last_event", "last_kind", "last_name", "events", "gap_s", "finished", "stalled"]
    ev = spans(ev)
    ev = ev[ev["t1"].notna()]
    if keys == task_keys(ev):
        ev = ev[ev["task_id"].notna()]
    if ev.empty:
        return empty_frame(columns)
    now_s = ev["t1"].max() if now is None else timestamp_s(now)
    ev = ev.sort_values("t1", kind="stable")
    last = ev.groupby(keys, dropna=False, sort=False).tail(1).set_index(keys)
    counts = ev.groupby(keys, dropna=False, sort=False).size()
    out = pd.DataFrame({
        "last_event": last["end"],
        "last_kind": last["kind"],
        "last_name": last["name"],
        "events": counts.reindex(last.index).to_numpy(),
        "gap_s": now_s - last["t1"],
    }, index=last.index).reset_index()
    out["finished"] = (out["last_kind"].astype("string") == "evaluator").fillna(False).astype(bool)
    if isinstance(events, Run) and not by:
        out["finished"] |= _has_outcome(out, events.tasks, keys)
    out["stalled"] = (out["gap_s"] > threshold_s) & ~out["finished"]
    return out.sort_values("gap_s", ascending=False, kind="stable").reset_index(drop=True)[columns]


def _has_outcome(rows: pd.DataFrame, tasks: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Per row of ``rows``: whether its task's row in ``tasks`` has a status other than
    unknown (so the task ended, whatever its last event was)."""
    if tasks.empty or not set(keys) <= set(tasks.columns):
        return np.zeros(len(rows), dtype=bool)
    status = tasks["status"].astype("string")
    ended = tasks.loc[status.notna() & (status != "unknown"), keys].astype("string").drop_duplicates()
    ended["_ended"] = True
    merged = rows[keys].astype("string").merge(ended, on=keys, how="left")
    return merged["_ended"].fillna(False).to_numpy(dtype=bool)


def time_split(events: Run | pd.DataFrame) -> pd.DataFrame:
    """Per task attempt: wall time (first start to last end) split into LLM time (union of
    llm_call intervals), tool time (union of tool_call intervals outside LLM calls) and
    other (the rest: user simulator, evaluator, gaps). The three add up to ``wall_s``;
    overlapping calls are counted once.

    >>> import pandas as pd
    >>> t = pd.to_datetime(["2025-01-01 00:00:00", "2025-01-01 00:00:01", "2025-01-01 00:00:05"], utc=True)
    >>> ev = pd.DataFrame({"task_id": ["a"] * 3, "kind": ["llm_call", "llm_call", "tool_call"],
    ...                    "start": t, "duration_ms": [2000.0, 2000.0, 1000.0]})
    >>> time_split(ev)[["wall_s", "llm_s", "tool_s", "other_s"]].values.tolist()
    [[6.0, 3.0, 1.0, 2.0]]
    """
    ev = table(events, "events")
    keys = task_keys(ev)
    columns = keys + ["wall_s", "llm_s", "tool_s", "other_s"]
    ev = spans(ev)
    ev = ev[ev["task_id"].notna() & ev["t0"].notna()]
    if ev.empty:
        return empty_frame(columns)
    grouped = ev.groupby(keys, dropna=False)
    wall = grouped["t1"].max() - grouped["t0"].min()
    llm = grouped_union(ev[ev["kind"] == "llm_call"], keys).reindex(wall.index).fillna(0.0)
    busy = grouped_union(ev[ev["kind"].isin(["llm_call", "tool_call"])], keys).reindex(wall.index).fillna(0.0)
    out = pd.DataFrame({"wall_s": wall, "llm_s": llm, "tool_s": busy - llm}, index=wall.index)
    out["other_s"] = (out["wall_s"] - busy).clip(lower=0.0)
    return out.reset_index()[columns]
