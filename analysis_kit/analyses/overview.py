"""Overview: what ran, how it ended, what it cost, and pass^k where tasks have trials."""

from __future__ import annotations

from math import comb
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..model import Run
from ._util import (LLM_KINDS, as_list, bootstrap_ci, duration_ms, empty_frame, seconds, spans,
                    sum_or_na, table, tasks_success)


def _known_counts(run: Run) -> tuple[int, int | float, int]:
    """(tasks, successes, tasks whose outcome is known), honouring meta tasks_total/passed
    for sources whose tasks table lists only some tasks (convex lists only failures)."""
    metas = run.meta.get("runs") or [run.meta]
    tasks_n = successes = known = 0
    for meta in metas:
        rid = meta.get("run_id")
        tasks = run.tasks[run.tasks["run_id"] == rid] if len(metas) > 1 else run.tasks
        ok = tasks_success(tasks)
        total = meta.get("tasks_total")
        passed = meta.get("tasks_passed")
        tasks_n += len(tasks) if total is None else int(total)
        if passed is not None:
            successes += int(passed)
            known += len(tasks) if total is None else int(total)
        else:
            successes += int(ok.fillna(False).sum())
            known += int(ok.notna().sum())
    if tasks_n and not known:  # no outcome is known (a profile log): NA, not 0 successes
        successes = pd.NA
    return tasks_n, successes, known


def _meta_wall_s(run: Run) -> float:
    """Wall time from meta: ended - started (over all runs of a load_runs result), else the
    sum of the runs' own ``duration_s``; NaN when meta does not say."""
    metas = run.meta.get("runs") or [run.meta]
    started = pd.to_datetime(pd.Series([m.get("started") for m in metas], dtype="object"), utc=True, errors="coerce")
    ended = pd.to_datetime(pd.Series([m.get("ended") for m in metas], dtype="object"), utc=True, errors="coerce")
    if started.notna().all() and ended.notna().all():
        return float((ended.max() - started.min()).total_seconds())
    durations = pd.to_numeric(pd.Series([m.get("duration_s") for m in metas], dtype="object"), errors="coerce")
    return float(durations.sum()) if durations.notna().all() else np.nan


def totals(run: Run) -> dict[str, Any]:
    """Headline numbers of a run: tasks, successes, pass rate, wall time, cost, tokens, calls.

    Cost and tokens come from the tasks table when it has them, else from the events; NA
    (not 0) when the source has none. ``unpriced_calls`` counts model calls without a price.

    >>> import pandas as pd
    >>> from analysis_kit.model import Run
    >>> run = Run(meta={"run_id": "r"}, tasks=pd.DataFrame({"task_id": ["a", "b"],
    ...                                                     "success": [True, False]}))
    >>> totals(run)["pass_rate"]
    0.5
    """
    tasks, events = run.tasks, run.events
    n_tasks, successes, known = _known_counts(run)
    wall = _meta_wall_s(run)
    if np.isnan(wall):
        ev = spans(events)
        starts = np.concatenate([seconds(tasks["start"]), ev["t0"].to_numpy(dtype="float64")])
        ends = np.concatenate([seconds(tasks["end"]), ev["t1"].to_numpy(dtype="float64")])
        if np.isfinite(starts).any() and np.isfinite(ends).any():
            wall = float(np.nanmax(ends) - np.nanmin(starts))
    source = tasks if tasks["cost_usd"].notna().any() or tasks["input_tokens"].notna().any() else events
    calls = events[events["kind"].isin(LLM_KINDS)]
    return {
        "run_id": run.run_id,
        "source_format": run.meta.get("source_format"),
        "tasks": n_tasks,
        "successes": successes,
        "judged": known,  # task attempts with a verdict: the pass rate's denominator
        "pass_rate": successes / known if known else np.nan,
        "wall_s": wall,
        "task_time_s": sum_or_na(tasks["duration_s"]),
        "cost_usd": sum_or_na(source["cost_usd"]),
        "input_tokens": sum_or_na(source["input_tokens"]),
        "output_tokens": sum_or_na(source["output_tokens"]),
        "cached_tokens": sum_or_na(events["cached_tokens"]),
        "events": len(events),
        "llm_calls": int((events["kind"] == "llm_call").sum()),
        "tool_calls": int((events["kind"] == "tool_call").sum()),
        "llm_time_s": sum_or_na(duration_ms(calls)) / 1000.0 if len(calls) else np.nan,
        "unpriced_calls": _unpriced(events, from_tasks=source is tasks),
        "messages": len(run.messages),
        "failures": len(run.failures),
        "problems": len(run.problems),
    }


def _unpriced(events: pd.DataFrame, from_tasks: bool = False) -> int | None:
    """Model calls with no price of their own nor one on a span they run in, and spans that
    report usage without a price (a MassGen round of a model the price table lacks). None
    (unknown) when only the tasks carry cost and tokens (MASEval): which calls a task's cost
    covers is not known, so no call is said to be without a price."""
    from .cost import billing

    if from_tasks and not events[["cost_usd", "input_tokens", "output_tokens"]].notna().any().any():
        return None
    keep, calls, priced, _ = billing(events)
    return int((keep & (calls > 0) & ~priced).sum())


def outcomes(tasks: Run | pd.DataFrame, by: str | Sequence[str] = "status") -> pd.DataFrame:
    """Tasks counted by outcome (``status``, ``termination_reason``, ``success``, ...).

    Given a Run whose meta says more tasks ran than its table lists (``tasks_total``), the
    unlisted tasks are added: as passed when ``tasks_passed`` accounts for exactly them,
    else under the label ``unlisted``.

    >>> import pandas as pd
    >>> outcomes(pd.DataFrame({"status": ["success", "failure", "success"]}))["count"].tolist()
    [2, 1]
    """
    keys = as_list(by)
    t = table(tasks, "tasks")
    if not len(t) and not (isinstance(tasks, Run) and tasks.meta.get("tasks_total")):
        return empty_frame(keys + ["count", "share"])
    counts = t.groupby(keys, dropna=False).size().rename("count").reset_index()
    if isinstance(tasks, Run) and tasks.meta.get("tasks_total") is not None and len(keys) == 1:
        unlisted = int(tasks.meta["tasks_total"]) - len(t)
        if unlisted > 0:
            passed = tasks.meta.get("tasks_passed")
            listed_ok = int(tasks_success(t).fillna(False).sum())
            is_pass = passed is not None and int(passed) - listed_ok == unlisted
            value = {"status": "success", "success": True}.get(keys[0], "success") if is_pass else "unlisted"
            counts = pd.concat([counts, pd.DataFrame({keys[0]: [value], "count": [unlisted]})],
                               ignore_index=True)
            counts = counts.groupby(keys, dropna=False, as_index=False)["count"].sum()
    counts = counts.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
    counts["share"] = counts["count"] / counts["count"].sum()
    return counts


def _pass_hat_values(n: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """C(c, k) / C(n, k) per task (tasks with n >= k). Only distinct (n, c) pairs are
    computed, so this stays cheap for any number of tasks."""
    pairs = {(int(a), int(b)) for a, b in zip(n, c)}
    value = {p: comb(p[1], k) / comb(p[0], k) for p in pairs}
    return np.array([value[(int(a), int(b))] for a, b in zip(n, c)], dtype="float64")


def pass_hat_k(tasks: Run | pd.DataFrame, n_boot: int = 1000, seed: int = 0,
               level: float = 0.95) -> pd.DataFrame:
    """pass^k for k = 1..(most trials of any task), as tau2-bench computes it: per task
    C(successes, k) / C(trials, k), averaged over tasks with at least k trials; with a
    percentile bootstrap interval over tasks (seeded).

    Success is ``tasks.success``, or reward == 1 where success is missing; attempts whose
    outcome is unknown are left out. Tasks of different runs are kept apart.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"task_id": ["a"] * 3, "trial": [0, 1, 2], "success": [True, True, False]})
    >>> pass_hat_k(t, n_boot=0)["pass_hat_k"].round(3).tolist()
    [0.667, 0.333, 0.0]
    """
    columns = ["k", "pass_hat_k", "ci_low", "ci_high", "tasks"]
    if isinstance(tasks, Run) and any(m.get("tasks_partial") for m in tasks.meta.get("runs") or [tasks.meta]):
        return empty_frame(columns)  # only failures are listed (convex): no per-task trials to count
    t = table(tasks, "tasks")
    ok = tasks_success(t)
    t = t.assign(_ok=ok)[ok.notna()]
    if t.empty:
        return empty_frame(columns)
    keys = ["run_id", "task_id"] if t["run_id"].nunique() > 1 else ["task_id"]
    per_task = t.groupby(keys, dropna=False)["_ok"].agg(trials="size", successes="sum")
    n = per_task["trials"].to_numpy()
    c = per_task["successes"].to_numpy().astype(int)
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(1, int(n.max()) + 1):
        eligible = n >= k
        values = _pass_hat_values(n[eligible], c[eligible], k)
        low, high = bootstrap_ci(values, lambda a: a.mean(axis=1), n_boot, rng, level)
        rows.append({"k": k, "pass_hat_k": float(values.mean()), "ci_low": low, "ci_high": high,
                     "tasks": int(eligible.sum())})
    return pd.DataFrame(rows, columns=columns)
