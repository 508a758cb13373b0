"""Failures: by step, classification or category; actionable against model faults; tool
errors; failures that recur across a series of runs of the same model."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..model import Run
from ._util import as_list, empty_frame, table


def failures_by(failures: Run | pd.DataFrame, by: str | Sequence[str] = "step") -> pd.DataFrame:
    """Failures counted per ``step`` (filesystem, install, deploy, tsc, eslint, tests, ...),
    ``classification``, ``category`` or a list of them, most frequent first.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"step": ["tsc", "tests", "tsc"]})
    >>> failures_by(f).values.tolist()
    [['tsc', 2, 0.6666666666666666], ['tests', 1, 0.3333333333333333]]
    """
    keys = as_list(by)
    f = table(failures, "failures")
    if f.empty:
        return empty_frame(keys + ["count", "share"])
    out = f.groupby(keys, dropna=False).size().rename("count").reset_index()
    out = out.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
    out["share"] = out["count"] / out["count"].sum()
    return out


def actionable(failures: Run | pd.DataFrame) -> pd.DataFrame:
    """Failures split into ``model_fault`` (classification MODEL_FAULT), ``actionable``
    (classified as anything else: the eval, not the model, needs work) and
    ``unclassified``, with counts, shares and the classifications in each group.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"classification": ["MODEL_FAULT", "OVERLY_STRICT", None, "KNOWN_GAP"]})
    >>> actionable(f)[["group", "count"]].values.tolist()
    [['actionable', 2], ['model_fault', 1], ['unclassified', 1]]
    """
    columns = ["group", "count", "share", "classifications"]
    f = table(failures, "failures")
    if f.empty:
        return empty_frame(columns)
    cls = f["classification"].astype("string").str.strip().str.upper()
    group = np.where(cls.isna(), "unclassified", np.where((cls == "MODEL_FAULT").fillna(False), "model_fault", "actionable"))
    frame = pd.DataFrame({"group": group, "classification": cls.fillna("NA")})
    out = frame.groupby("group").agg(
        count=("classification", "size"),
        classifications=("classification", lambda s: ", ".join(sorted(s.unique()))))
    out = out.reset_index()
    out["share"] = out["count"] / out["count"].sum()
    order = {"actionable": 0, "model_fault": 1, "unclassified": 2}
    out = out.sort_values("group", key=lambda s: s.map(order)).reset_index(drop=True)
    return out[columns]


def tool_errors(events: Run | pd.DataFrame) -> pd.DataFrame:
    """Per tool function: calls, errors, error rate and the most common error text, most
    errors first (tool_call events whose ``error`` is set).

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"kind": ["tool_call"] * 3, "name": ["get", "get", "put"],
    ...                    "error": ["timeout", None, None]})
    >>> tool_errors(ev)[["tool", "calls", "errors", "error_rate"]].values.tolist()
    [['get', 2, 1, 0.5], ['put', 1, 0, 0.0]]
    """
    columns = ["tool", "calls", "errors", "error_rate", "top_error"]
    ev = table(events, "events")
    tools = ev[ev["kind"] == "tool_call"]
    if tools.empty:
        return empty_frame(columns)
    tools = tools.assign(tool=tools["name"], _err=tools["error"].notna())
    out = tools.groupby("tool", dropna=False).agg(calls=("_err", "size"), errors=("_err", "sum"))
    errs = tools[tools["_err"]]
    if len(errs):
        top = errs.groupby(["tool", "error"], dropna=False).size().rename("n").reset_index()
        top = top.sort_values(["n", "error"], ascending=[False, True]).drop_duplicates("tool").set_index("tool")["error"]
        out["top_error"] = top.reindex(out.index)
    else:
        out["top_error"] = pd.NA
    out["errors"] = out["errors"].astype("int64")
    out["error_rate"] = out["errors"] / out["calls"]
    out = out.reset_index().sort_values(["errors", "calls"], ascending=False, kind="stable")
    return out[columns].reset_index(drop=True)


def _run_order(run: Run) -> pd.DataFrame:
    """One row per run: run_id, model (first of meta models, else meta model), position
    in the series (meta started, then load order)."""
    metas = run.meta.get("runs") or [run.meta]
    rows = []
    for i, meta in enumerate(metas):
        models = meta.get("models")
        model = models[0] if isinstance(models, (list, tuple)) and models else (models or meta.get("model"))
        started = pd.to_datetime(meta.get("started"), utc=True, errors="coerce")
        rows.append({"run_id": str(meta.get("run_id")), "model": "unknown" if model is None else str(model),
                     "started": started, "load_order": i})
    order = pd.DataFrame(rows).sort_values(["model", "started", "load_order"], na_position="last", kind="stable")
    order["position"] = order.groupby("model").cumcount()
    order["series_runs"] = order.groupby("model")["run_id"].transform("size")
    return order


def recurring_failures(run: Run, min_streak: int = 2) -> pd.DataFrame:
    """Evals that fail in consecutive runs of the same model (a ``load_runs`` result,
    ordered by meta ``started``, else load order): times failed, first and last run seen,
    the longest streak of consecutive failing runs and whether it still fails in the
    model's latest run. Only evals whose longest streak reaches ``min_streak``.

    >>> # three runs of one model where "a" fails in runs 1 and 2:
    >>> # -> task a: failed 2, longest_streak 2, first_seen r1, last_seen r2
    """
    columns = ["model", "task_id", "category", "failed", "series_runs", "first_seen",
               "last_seen", "longest_streak", "failing_now", "last_step"]
    f = run.failures[run.failures["task_id"].notna()]
    if f.empty:
        return empty_frame(columns)
    order = _run_order(run)
    f = f.merge(order, on="run_id", how="inner")
    # One row per eval and run, even when an eval fails twice in a run.
    f = f.sort_values(["model", "task_id", "position"], kind="stable")
    last_rows = f.drop_duplicates(["model", "task_id", "position"], keep="last")
    pos = last_rows["position"].to_numpy()
    same = (last_rows["model"].to_numpy()[1:] == last_rows["model"].to_numpy()[:-1]) & \
           (last_rows["task_id"].to_numpy()[1:] == last_rows["task_id"].to_numpy()[:-1])
    new_streak = np.r_[True, ~(same & (pos[1:] == pos[:-1] + 1))]
    streak_id = np.cumsum(new_streak)
    streak_len = pd.Series(streak_id).groupby(streak_id).transform("size").to_numpy()
    last_rows = last_rows.assign(_streak=streak_len)
    grouped = last_rows.groupby(["model", "task_id"], sort=True)
    out = grouped.agg(
        category=("category", "last"), failed=("position", "size"), series_runs=("series_runs", "first"),
        first_seen=("run_id", "first"), last_seen=("run_id", "last"), longest_streak=("_streak", "max"),
        _last_pos=("position", "max"), last_step=("step", "last"),
    ).reset_index()
    out["failing_now"] = out["_last_pos"] == out["series_runs"] - 1
    out = out[out["longest_streak"] >= min_streak]
    out = out.sort_values(["longest_streak", "failed", "task_id"], ascending=[False, False, True], kind="stable")
    return out[columns].reset_index(drop=True)
