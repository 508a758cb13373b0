"""Helpers shared by the analyses: table access, NA-aware sums, JSON attrs, interval unions.

Everything here is vectorized over rows; the few per-value Python steps (JSON parsing) run
only on the rows that need them, once per distinct value.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

# The events vocabulary is the tables' contract, declared in the model.
from ..model import (CONTAINER_KINDS, FRAMEWORK_AGENTS, FRAMEWORK_KINDS, INSTANT_KINDS,  # noqa: F401
                     LLM_KINDS, SCHEMA, Run, conform)

NS_PER_S = 1e9


def table(data: Run | pd.DataFrame | None, name: str) -> pd.DataFrame:
    """The table ``name`` of a Run, or ``data`` itself conformed to that table's columns."""
    if isinstance(data, Run):
        return getattr(data, name)
    if data is None:
        return conform(None, name)
    if not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(list(data))
    missing = [c for c, _ in SCHEMA[name] if c not in data.columns]
    return conform(data, name) if missing else data


def as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def empty_frame(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def sum_or_na(series: pd.Series) -> float:
    """Sum that stays NA when no value is known: unpriced is not free."""
    s = pd.to_numeric(series, errors="coerce")
    return float(s.sum()) if s.notna().any() else np.nan


def grouped_sum_or_na(df: pd.DataFrame, keys: list[str], col: str) -> pd.Series:
    """Per-group sum of ``col`` that is NA for a group with no known value (min_count=1)."""
    values = pd.to_numeric(df[col], errors="coerce").astype("float64")
    return values.groupby([df[k] for k in keys], dropna=False, sort=True).sum(min_count=1)


def multi_run(df: pd.DataFrame) -> bool:
    return "run_id" in df.columns and df["run_id"].nunique(dropna=True) > 1


def task_keys(df: pd.DataFrame, trial: bool = True) -> list[str]:
    """Keys naming one task attempt; run_id leads when the table holds several runs."""
    keys = ["run_id"] if multi_run(df) else []
    keys.append("task_id")
    if trial and "trial" in df.columns and df["trial"].notna().any():
        keys.append("trial")
    return keys


def seconds(times: pd.Series) -> np.ndarray:
    """Timestamps as float seconds since the epoch (NaN for NaT)."""
    if isinstance(times.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(times):
        values = times.astype("datetime64[ns, UTC]") if isinstance(times.dtype, pd.DatetimeTZDtype) else times
        ns = values.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        ns[values.isna().to_numpy()] = np.nan
        return ns / NS_PER_S
    return pd.to_numeric(times, errors="coerce").to_numpy(dtype="float64")


def timestamp_s(value: Any) -> float:
    """One timestamp (naive taken as UTC) as float seconds since the epoch."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.value / NS_PER_S


def spans(events: pd.DataFrame) -> pd.DataFrame:
    """Events with ``start``/``end`` completed from each other and ``duration_ms``, and the
    float-second columns ``t0``/``t1`` added (NaN where unknown).

    tau2 profile lines are written when an operation ends, so a loader may only know the
    end and the duration; the start is then end - duration.
    """
    ev = events.copy()
    dur = pd.to_timedelta(pd.to_numeric(ev["duration_ms"], errors="coerce"), unit="ms")
    ev["start"] = ev["start"].fillna(ev["end"] - dur)
    ev["end"] = ev["end"].fillna(ev["start"] + dur)
    ev["t0"] = seconds(ev["start"])
    ev["t1"] = seconds(ev["end"])
    only_start = np.isnan(ev["t1"].to_numpy())
    ev.loc[only_start, "t1"] = ev.loc[only_start, "t0"]  # an instant, not an open interval
    return ev


def duration_ms(events: pd.DataFrame) -> pd.Series:
    """``duration_ms``, or end - start where the source gave no duration."""
    dur = pd.to_numeric(events["duration_ms"], errors="coerce").astype("float64")
    derived = (events["end"] - events["start"]).dt.total_seconds() * 1000.0
    return dur.fillna(derived.astype("float64"))


def union_length(t0: np.ndarray, t1: np.ndarray) -> float:
    """Total length covered by intervals [t0, t1] (floats), overlaps counted once."""
    t0 = np.asarray(t0, dtype="float64")
    t1 = np.asarray(t1, dtype="float64")
    ok = ~(np.isnan(t0) | np.isnan(t1))
    t0, t1 = t0[ok], np.maximum(t1[ok], t0[ok])
    if t0.size == 0:
        return 0.0
    order = np.argsort(t0, kind="stable")
    t0, t1 = t0[order], t1[order]
    reach = np.maximum.accumulate(t1)  # furthest end seen so far
    new = np.empty(t0.size, dtype=bool)
    new[0] = True
    new[1:] = t0[1:] > reach[:-1]  # a gap before this interval starts a new block
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, t0.size - 1)
    return float(np.sum(reach[last] - t0[first]))


def grouped_union(df: pd.DataFrame, keys: list[str], t0: str = "t0", t1: str = "t1") -> pd.Series:
    """Per group of ``keys``, the length covered by the intervals [t0, t1], overlaps once.

    One sort plus grouped cumulative maxima: O(n log n), no Python loop per group.
    """
    d = df[keys + [t0, t1]].dropna(subset=[t0, t1])
    if d.empty:
        return pd.Series(dtype="float64", index=pd.MultiIndex.from_tuples([], names=keys) if len(keys) > 1 else pd.Index([], name=keys[0]))
    d = d.assign(**{t1: np.maximum(d[t1], d[t0])})
    d = d.sort_values(keys + [t0], kind="stable")
    gid = d.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
    start = d[t0].to_numpy()
    end = d[t1].to_numpy()
    reach = pd.Series(end).groupby(gid).cummax().to_numpy()
    new = np.ones(len(d), dtype=bool)
    new[1:] = (gid[1:] != gid[:-1]) | (start[1:] > reach[:-1])
    block = np.cumsum(new) - 1
    block_start = start[new]
    block_end = pd.Series(reach).groupby(block).max().to_numpy()
    block_gid = gid[new]
    covered = pd.Series(block_end - block_start).groupby(block_gid).sum()
    first_rows = d.iloc[np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]])]  # one row per group
    index = pd.MultiIndex.from_frame(first_rows[keys]) if len(keys) > 1 else pd.Index(first_rows[keys[0]], name=keys[0])
    return pd.Series(covered.to_numpy(), index=index, dtype="float64")


def parse_json(text: Any) -> Any:
    """JSON text to a value, or None when it is missing or not JSON (text is untrusted)."""
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def attr(events: pd.DataFrame, key: str) -> pd.Series:
    """The value of ``key`` in each row's ``attrs`` JSON object (NA where absent).

    Parses each distinct attrs text once; rows without attrs cost nothing.
    """
    out = pd.Series(pd.NA, index=events.index, dtype="object")
    if "attrs" not in events.columns or events.empty:
        return out
    texts = events["attrs"].dropna()
    texts = texts[texts.str.contains(f'"{key}"', regex=False)]
    if texts.empty:
        return out
    uniques = pd.unique(texts.to_numpy())
    values = {}
    for text in uniques:
        obj = parse_json(text)
        values[text] = obj.get(key, pd.NA) if isinstance(obj, dict) else pd.NA
    out.loc[texts.index] = texts.map(values)
    return out


def label(value: Any) -> Any:
    """Hashable form of a JSON value (lists/dicts as sorted JSON text) for grouping."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def parent_rows(events: pd.DataFrame) -> np.ndarray | None:
    """Each event's parent as a row number (``parent_id`` looked up among the ``span_id`` of
    its run; -1 where there is none), or None when the events have no span ids."""
    if "span_id" not in events.columns or "parent_id" not in events.columns or not events["parent_id"].notna().any():
        return None
    span = events["span_id"].astype(object).to_numpy()
    parent = events["parent_id"].astype(object).to_numpy()
    if "run_id" in events.columns and events["run_id"].nunique(dropna=False) > 1:  # ids are a run's own
        run = events["run_id"].astype(object).to_numpy()
        spans, parents = pd.MultiIndex.from_arrays([run, span]), pd.MultiIndex.from_arrays([run, parent])
    else:
        spans, parents = pd.Index(span), pd.Index(parent)
    first = ~spans.duplicated() & pd.notna(span)  # a span id written twice: its first row
    rows = pd.Index(spans[first]).get_indexer(parents)
    out = np.where(rows >= 0, np.flatnonzero(first)[np.clip(rows, 0, None)], -1)
    out[pd.isna(parent)] = -1
    return out.astype(np.int64)


def ancestors(parent: np.ndarray, depth: int = 32):
    """Per level up (the parent, then its parent, ...), each row's ancestor at that level as a
    row number (-1: none); stops after ``depth`` levels (a cycle in a broken trace ends there)."""
    at = parent.copy()
    for _ in range(depth):
        if not (at >= 0).any():
            return
        yield at
        at = np.where(at >= 0, parent[np.clip(at, 0, None)], -1)


def tasks_success(tasks: pd.DataFrame) -> pd.Series:
    """``success``, or reward == 1 (tau2's rule, within 1e-6) where success is not given."""
    success = tasks["success"].astype("boolean")
    reward = pd.to_numeric(tasks["reward"], errors="coerce")
    by_reward = ((reward - 1.0).abs() <= 1e-6).astype("boolean").where(reward.notna(), pd.NA)
    return success.fillna(by_reward)


def bootstrap_ci(values: np.ndarray, stat, n_boot: int, rng: np.random.Generator,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat`` (a function of an (n_boot, n) array along
    axis 1) over the rows of ``values``."""
    values = np.asarray(values, dtype="float64")
    if values.size == 0 or n_boot <= 0:
        return (np.nan, np.nan)
    idx = rng.integers(0, values.size, size=(n_boot, values.size))
    stats = stat(values[idx])
    alpha = (1 - level) / 2
    return (float(np.nanpercentile(stats, 100 * alpha)), float(np.nanpercentile(stats, 100 * (1 - alpha))))
