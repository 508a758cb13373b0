"""Traces: the span tree of a task, self time, and the slowest traces.

Span sources (OpenTelemetry, Logfire) give each event a ``span_id`` and a ``parent_id``; these
functions rebuild the hierarchy from those two columns alone, so they work for any loader
that fills them and return empty frames for those that do not. A span's parent is looked up
within the same trace (the ``trace_id`` column where the loader adds it, else the task) and
run; a span whose parent is absent (not exported, or in another task) is a root.

>>> from analysis_kit import analyses as an                                # doctest: +SKIP
>>> an.span_tree(run, run.tasks.task_id[0])[["depth", "name", "duration_s", "self_s"]]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..model import Run
from ._util import as_list, empty_frame, grouped_union, multi_run, spans, table

TREE_COLUMNS = ["task_id", "span_id", "parent_id", "depth", "name", "kind", "agent", "start", "end",
                "offset_s", "duration_s", "self_s", "children", "error"]
SELF_COLUMNS = ["count", "total_s", "self_s", "self_share"]
SLOWEST_COLUMNS = ["task_id", "root", "start", "duration_s", "spans", "errors"]
MAX_DEPTH = 256  # deeper chains (or cycles in a corrupt export) are shown as roots
_RANK_WIDTH = 6  # digits of a sibling's rank in the sort path: up to a million siblings


def _tree_keys(ev: pd.DataFrame) -> list[str]:
    """Columns within which span ids are unique: the run, then the trace (or the task)."""
    keys = ["run_id"] if multi_run(ev) else []
    if "trace_id" in ev.columns and ev["trace_id"].notna().any():
        keys.append("trace_id")
    else:
        keys.append("task_id")
    return keys


def timed_spans(events: pd.DataFrame) -> pd.Series:
    """Rows that are spans of a hierarchy: a span id and a time (a record that only groups
    usage, such as MASEval's per-model usage, has an id for its calls to point at and no time).

    >>> timed_spans(pd.DataFrame({"span_id": ["a", "u", None], "start": pd.to_datetime(["2025-01-01", None, "2025-01-01"]),
    ...                           "end": pd.NaT})).tolist()
    [True, False, False]
    """
    if "span_id" not in events.columns:
        return pd.Series(False, index=events.index)
    timed = events["start"].notna() | events["end"].notna() if "start" in events.columns else True
    return events["span_id"].notna() & timed


def _span_rows(events: Run | pd.DataFrame, task_id: str | None = None,
               trial: int | None = None) -> pd.DataFrame:
    """Events that carry a span id, with ``t0``/``t1`` float seconds and a display name:
    the source's span name (column ``span_name``) where the loader kept it, else ``name``."""
    ev = table(events, "events")
    if task_id is not None:
        ev = ev[ev["task_id"] == task_id]
    if trial is not None:
        ev = ev[ev["trial"] == trial]
    ev = ev[timed_spans(ev)]
    if ev.empty:
        return ev.assign(t0=pd.Series(dtype="float64"), t1=pd.Series(dtype="float64"))
    ev = spans(ev)
    label = ev["span_name"] if "span_name" in ev.columns else pd.Series(pd.NA, index=ev.index)
    ev["_label"] = label.astype("object").where(label.notna(), ev["name"].astype("object"))
    ev["_label"] = ev["_label"].where(ev["_label"].notna(), ev["kind"].astype("object"))
    if "parent_id" not in ev.columns:
        ev["parent_id"] = pd.NA
    return ev


def _unique_spans(ev: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per span id within ``keys`` (a corrupt export may repeat one)."""
    return ev.drop_duplicates(subset=keys + ["span_id"], keep="first")


def _covered_by_children(ev: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per row of ``ev``: seconds of its span covered by the union of its children's
    intervals, each clipped to the parent (children that overlap count once)."""
    parents = _unique_spans(ev, keys)[keys + ["span_id", "t0", "t1"]].rename(
        columns={"span_id": "parent_id", "t0": "p0", "t1": "p1"})
    kids = ev.loc[ev["parent_id"].notna(), keys + ["parent_id", "t0", "t1"]]
    kids = kids.astype({"parent_id": "object"}).merge(parents.astype({"parent_id": "object"}),
                                                      on=keys + ["parent_id"], how="inner")
    kids = kids.assign(t0=np.maximum(kids["t0"], kids["p0"]), t1=np.minimum(kids["t1"], kids["p1"]))
    kids = kids[kids["t1"] > kids["t0"]]
    if kids.empty:
        return pd.Series(0.0, index=ev.index)
    covered = grouped_union(kids, keys + ["parent_id"]).rename("covered").reset_index()
    covered = covered.rename(columns={"parent_id": "span_id"}).astype({"span_id": "object"})
    joined = ev[keys + ["span_id"]].astype({"span_id": "object"}).merge(covered, on=keys + ["span_id"], how="left")
    return pd.Series(joined["covered"].fillna(0.0).to_numpy(), index=ev.index)


def _with_self_seconds(ev: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    duration = (ev["t1"] - ev["t0"]).astype("float64")
    self_s = (duration - _covered_by_children(ev, keys)).clip(lower=0.0)
    return ev.assign(duration_s=duration, self_s=self_s.where(duration.notna()))


def _depth_and_path(ev: pd.DataFrame, keys: list[str], max_depth: int) -> tuple[pd.Series, pd.Series]:
    """Per row: depth in its tree and a text path that sorts the rows depth-first, children
    by start time. Built level by level from the roots, one merge per level."""
    node = ev[keys + ["span_id", "parent_id", "t0"]].astype({"span_id": "object", "parent_id": "object"})
    ids = _unique_spans(node, keys)[keys + ["span_id"]].rename(columns={"span_id": "parent_id"})
    has_parent = node.reset_index(drop=True).merge(ids.assign(_known=True), on=keys + ["parent_id"],
                                                   how="left")["_known"].fillna(False).to_numpy(dtype=bool)
    node = node.assign(_pkey=np.where(has_parent, node["parent_id"], None), _row=np.arange(len(node)))
    order = node.sort_values(["t0", "span_id"], kind="stable", na_position="last")
    rank = order.groupby(keys + ["_pkey"], dropna=False, sort=False).cumcount()
    node["_rank"] = rank.reindex(node.index).astype("int64").map(lambda r: f"{r:0{_RANK_WIDTH}d}")
    depth = np.full(len(node), -1, dtype="int64")
    path = np.empty(len(node), dtype=object)
    level = node[~has_parent]
    depth[level["_row"].to_numpy()] = 0
    path[level["_row"].to_numpy()] = level["_rank"].to_numpy()
    children = node[has_parent]
    for d in range(1, max_depth + 1):
        if level.empty or children.empty:
            break
        frontier = level[keys + ["span_id", "_row"]].rename(columns={"span_id": "_pkey", "_row": "_prow"})
        level = children.merge(frontier, on=keys + ["_pkey"], how="inner")
        level = level[depth[level["_row"].to_numpy()] < 0]  # a cycle re-reaching a placed span stops
        rows = level["_row"].to_numpy()
        depth[rows] = d
        path[rows] = path[level["_prow"].to_numpy()] + "." + level["_rank"].to_numpy()
    unplaced = depth < 0  # in a parent cycle, or deeper than max_depth: shown as roots, last
    depth[unplaced] = 0
    path[unplaced] = "~" + node["_rank"].to_numpy()[unplaced]
    return pd.Series(depth, index=ev.index), pd.Series(path, index=ev.index, dtype=object)


def span_tree(events: Run | pd.DataFrame, task_id: str | None = None, trial: int | None = None, *,
              max_depth: int = MAX_DEPTH) -> pd.DataFrame:
    """The spans of a task as a tree, in depth-first order (children by start): name (the
    source's span name), kind, agent, depth (0 for a root), start, end, offset from the
    task's first span (s), duration (s), self time (s: not covered by its children), number
    of children and error. The nested view the MassGen log-analyzer builds with SQL over
    Logfire's records. ``task_id=None`` gives every task's tree, one after the other.

    >>> import pandas as pd
    >>> t = lambda *s: pd.to_datetime([f"2025-01-01 00:00:{x:02d}" for x in s], utc=True)
    >>> ev = pd.DataFrame({"task_id": "t", "span_id": ["a", "b", "c"], "parent_id": [None, "a", "a"],
    ...     "kind": ["agent", "llm_call", "tool_call"], "name": ["run", "gpt", "search"],
    ...     "start": t(0, 1, 5), "end": t(10, 4, 6)})
    >>> span_tree(ev, "t")[["name", "depth", "duration_s", "self_s"]].values.tolist()
    [['run', 0, 10.0, 6.0], ['gpt', 1, 3.0, 3.0], ['search', 1, 1.0, 1.0]]
    """
    ev = _span_rows(events, task_id, trial)
    if ev.empty:
        return empty_frame(TREE_COLUMNS)
    keys = _tree_keys(ev)
    ev = _with_self_seconds(ev, keys)
    ev["depth"], ev["_path"] = _depth_and_path(ev, keys, max_depth)
    ev["offset_s"] = ev["t0"] - ev.groupby(["task_id"], dropna=False)["t0"].transform("min")
    kids = ev.groupby(keys + ["parent_id"], dropna=True).size().rename("children").reset_index()
    kids = kids.rename(columns={"parent_id": "span_id"}).astype({"span_id": "object"})
    ev["children"] = ev[keys + ["span_id"]].astype({"span_id": "object"}).merge(
        kids, on=keys + ["span_id"], how="left")["children"].fillna(0).astype("int64").to_numpy()
    ev = ev.sort_values(keys + ["_path"], kind="stable")
    ev["name"] = ev["_label"]
    lead = ["run_id"] if multi_run(ev) else []
    extra = ["trace_id"] if "trace_id" in ev.columns else []
    return ev[lead + TREE_COLUMNS[:1] + extra + TREE_COLUMNS[1:]].reset_index(drop=True)


def self_time(events: Run | pd.DataFrame, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Time in each span not covered by its children: where the time really went.

    ``by=None``: one row per span (the event's columns plus ``duration_s`` and ``self_s``).
    ``by="name"`` (or any event columns; ``name`` is the source's span name where the loader
    kept it): per group, spans ``count``, ``total_s`` (sum of durations, nested time counted
    at every level), ``self_s`` (sum of self times, each second counted once) and
    ``self_share`` (of all self time), largest self time first.

    >>> import pandas as pd
    >>> t = lambda *s: pd.to_datetime([f"2025-01-01 00:00:{x:02d}" for x in s], utc=True)
    >>> ev = pd.DataFrame({"task_id": "t", "span_id": ["a", "b", "c"], "parent_id": [None, "a", "a"],
    ...     "kind": ["agent", "tool_call", "tool_call"], "name": ["run", "search", "search"],
    ...     "start": t(0, 2, 3), "end": t(10, 6, 5)})
    >>> self_time(ev, by="name")[["name", "count", "total_s", "self_s"]].values.tolist()
    [['run', 1, 10.0, 6.0], ['search', 2, 6.0, 6.0]]
    """
    ev = _span_rows(events)
    keys = as_list(by)
    if ev.empty:
        return empty_frame(keys + SELF_COLUMNS) if keys else empty_frame(TREE_COLUMNS)
    ev = _with_self_seconds(ev, _tree_keys(ev))
    if not keys:
        return ev.drop(columns=["t0", "t1", "_label"]).reset_index(drop=True)
    ev = ev.assign(name=ev["_label"]) if "name" in keys else ev
    lead = ["run_id"] if multi_run(ev) and "run_id" not in keys else []
    grouped = ev.groupby(lead + keys, dropna=False, sort=False)
    out = grouped.agg(count=("span_id", "size"), total_s=("duration_s", "sum"), self_s=("self_s", "sum"))
    total = out["self_s"].groupby(level=lead).transform("sum") if lead else out["self_s"].sum()
    out["self_share"] = out["self_s"] / total
    out = out.reset_index().sort_values(lead + ["self_s"], ascending=[True] * len(lead) + [False], kind="stable")
    return out[lead + keys + SELF_COLUMNS].reset_index(drop=True)


def slowest_traces(events: Run | pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` tasks whose spans cover the longest wall time: task id, the name of the
    longest root span, start, duration (first span start to last span end, s), number of
    spans and of failed spans.

    >>> import pandas as pd
    >>> t = lambda *s: pd.to_datetime([f"2025-01-01 00:00:{x:02d}" for x in s], utc=True)
    >>> ev = pd.DataFrame({"task_id": ["t1", "t2", "t2"], "span_id": ["a", "b", "c"],
    ...     "parent_id": [None, None, "b"], "kind": "span", "name": ["x", "y", "z"],
    ...     "start": t(0, 0, 1), "end": t(2, 9, 3)})
    >>> slowest_traces(ev, n=1)[["task_id", "root", "duration_s", "spans"]].values.tolist()
    [['t2', 'y', 9.0, 2]]
    """
    ev = _span_rows(events)
    if ev.empty:
        return empty_frame(SLOWEST_COLUMNS)
    keys = (["run_id"] if multi_run(ev) else []) + ["task_id"]
    roots = ev[ev["parent_id"].isna()] if ev["parent_id"].isna().any() else ev
    roots = roots.assign(_dur=roots["t1"] - roots["t0"]).sort_values("_dur", ascending=False, kind="stable")
    root_names = roots.groupby(keys, dropna=False, sort=False)["_label"].first().rename("root")
    failed = ev["error"].notna() if "error" in ev.columns else pd.Series(False, index=ev.index)
    out = ev.assign(_failed=failed).groupby(keys, dropna=False).agg(
        t0=("t0", "min"), t1=("t1", "max"), spans=("span_id", "size"), errors=("_failed", "sum"))
    out = out.join(root_names)
    out["duration_s"] = out["t1"] - out["t0"]
    out["start"] = pd.to_datetime((out["t0"] * 1e9).round().astype("int64"), utc=True)
    out["errors"] = out["errors"].astype("int64")
    out = out.reset_index().sort_values("duration_s", ascending=False, kind="stable").head(n)
    return out[keys[:-1] + SLOWEST_COLUMNS].reset_index(drop=True)
