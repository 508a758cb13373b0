"""Comparison of two runs: pass rate, latency percentiles, cost and tokens side by side with
the difference (b - a) and a seeded bootstrap interval for it; tasks whose outcome changed."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ..model import Run
from ._util import duration_ms, empty_frame, tasks_success
from .cost import _task_costs

COLUMNS = ["metric", "a", "b", "diff", "ci_low", "ci_high", "n_a", "n_b", "unit"]
# Bootstrapping a percentile costs n per resample; above this many events a random
# subsample is resampled instead (a slightly wider, still honest interval).
MAX_BOOT_EVENTS = 20_000
LATENCY_KINDS = ("llm_call", "tool_call", "expert_call", "user_sim", "evaluator")


def _pair(run_a: Run, run_b: Run | None) -> tuple[Run, Run]:
    if run_b is not None:
        return run_a, run_b
    ids = run_a.run_ids
    if len(ids) != 2:
        raise ValueError(f"compare needs two runs, or one load_runs result of two; got run ids {ids}")
    return run_a.select(ids[0]), run_a.select(ids[1])


def _diff_ci(a: np.ndarray, b: np.ndarray, stat: Callable[[np.ndarray], np.ndarray],
             n_boot: int, rng: np.random.Generator, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap of stat(b*) - stat(a*), each side resampled on its own."""
    if a.size == 0 or b.size == 0 or n_boot <= 0:
        return (np.nan, np.nan)
    def boot(x: np.ndarray) -> np.ndarray:
        if x.size > MAX_BOOT_EVENTS:
            x = rng.choice(x, MAX_BOOT_EVENTS, replace=False)
        return stat(x[rng.integers(0, x.size, size=(n_boot, x.size))])
    diffs = boot(b) - boot(a)
    alpha = (1 - level) / 2
    return (float(np.nanpercentile(diffs, 100 * alpha)), float(np.nanpercentile(diffs, 100 * (1 - alpha))))


def _row(metric: str, a: np.ndarray, b: np.ndarray, stat_1d: Callable[[np.ndarray], float],
         stat_2d: Callable[[np.ndarray], np.ndarray], unit: str, n_boot: int,
         rng: np.random.Generator) -> dict:
    va = stat_1d(a) if a.size else np.nan
    vb = stat_1d(b) if b.size else np.nan
    low, high = _diff_ci(a, b, stat_2d, n_boot, rng)
    return {"metric": metric, "a": va, "b": vb, "diff": vb - va, "ci_low": low, "ci_high": high,
            "n_a": int(a.size), "n_b": int(b.size), "unit": unit}


def _outcomes(run: Run) -> np.ndarray:
    """Per task attempt 1.0/0.0; when meta says more tasks passed than the table lists
    (convex lists only failures), the unlisted passes are added as 1.0."""
    ok = tasks_success(run.tasks).dropna().astype(float).to_numpy()
    total, passed = run.meta.get("tasks_total"), run.meta.get("tasks_passed")
    if total is not None and passed is not None and int(total) > len(run.tasks):
        unlisted = int(total) - len(run.tasks)
        extra_passes = min(max(int(passed) - int(ok.sum()), 0), unlisted)
        ok = np.concatenate([ok, np.ones(extra_passes), np.zeros(unlisted - extra_passes)])
    return ok


def _per_task(run: Run, column: str) -> np.ndarray:
    if column == "cost_usd":
        values = _task_costs(run)
    else:
        values = pd.to_numeric(run.tasks[column], errors="coerce")
        if values.isna().all() and run.events[column].notna().any():
            values = run.events.groupby(["task_id", "trial"], dropna=False)[column].sum(min_count=1)
    return pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype="float64")


def compare(run_a: Run, run_b: Run | None = None, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Run b against run a, one metric per row: pass rate (resampling tasks), mean cost and
    tokens per task (resampling tasks), total cost, and p50/p90 latency per kind
    (resampling events). ``diff`` is b - a with a seeded percentile bootstrap interval.
    Pass a ``load_runs`` result of two runs as ``run_a`` alone to compare its two runs.

    >>> import pandas as pd
    >>> a = Run(meta={"run_id": "a"}, tasks=pd.DataFrame({"task_id": list("xy"), "success": [True, False]}))
    >>> b = Run(meta={"run_id": "b"}, tasks=pd.DataFrame({"task_id": list("xy"), "success": [True, True]}))
    >>> float(compare(a, b, n_boot=0).set_index("metric").loc["pass_rate", "diff"])
    0.5
    """
    a, b = _pair(run_a, run_b)
    rng = np.random.default_rng(seed)
    mean1, mean2 = np.mean, (lambda x: x.mean(axis=1))
    rows = [_row("pass_rate", _outcomes(a), _outcomes(b), mean1, mean2, "share of tasks", n_boot, rng)]
    for col, unit in (("cost_usd", "USD per task"), ("input_tokens", "tokens per task"),
                      ("output_tokens", "tokens per task")):
        xa, xb = _per_task(a, col), _per_task(b, col)
        if xa.size or xb.size:
            rows.append(_row(f"{col}_per_task", xa, xb, mean1, mean2, unit, n_boot, rng))
    ca, cb = _per_task(a, "cost_usd"), _per_task(b, "cost_usd")
    if ca.size or cb.size:
        ta, tb = (float(ca.sum()) if ca.size else np.nan), (float(cb.sum()) if cb.size else np.nan)
        rows.append({"metric": "cost_usd_total", "a": ta, "b": tb, "diff": tb - ta, "ci_low": np.nan,
                     "ci_high": np.nan, "n_a": int(ca.size), "n_b": int(cb.size), "unit": "USD"})
    for kind in LATENCY_KINDS:
        la = duration_ms(a.events[a.events["kind"] == kind]).dropna().to_numpy(dtype="float64")
        lb = duration_ms(b.events[b.events["kind"] == kind]).dropna().to_numpy(dtype="float64")
        if not (la.size or lb.size):
            continue
        for q in (50, 90):
            rows.append(_row(f"{kind}_p{q}_ms", la, lb, lambda x, q=q: float(np.percentile(x, q)),
                             lambda x, q=q: np.percentile(x, q, axis=1), "ms", n_boot, rng))
    out = pd.DataFrame(rows, columns=COLUMNS)
    out.attrs["run_a"], out.attrs["run_b"] = a.run_id, b.run_id
    return out


def changed_outcomes(run_a: Run, run_b: Run | None = None) -> pd.DataFrame:
    """Task attempts (task_id, trial) whose success differs between the runs: ``fixed``
    (failed in a, passed in b) or ``broken``. A task missing from a run that lists only
    failures (meta ``tasks_passed`` set) counts as passed there.

    >>> import pandas as pd
    >>> a = Run(meta={"run_id": "a"}, tasks=pd.DataFrame({"task_id": list("xy"), "success": [True, False]}))
    >>> b = Run(meta={"run_id": "b"}, tasks=pd.DataFrame({"task_id": list("xy"), "success": [False, True]}))
    >>> changed_outcomes(a, b)[["task_id", "change"]].values.tolist()
    [['x', 'broken'], ['y', 'fixed']]
    """
    columns = ["task_id", "trial", "success_a", "success_b", "change"]
    a, b = _pair(run_a, run_b)
    def frame(run: Run) -> pd.DataFrame:
        t = run.tasks.assign(success=tasks_success(run.tasks))
        t = t.assign(trial=t["trial"].fillna(0))
        return t.drop_duplicates(["task_id", "trial"], keep="last")[["task_id", "trial", "success"]]
    merged = frame(a).merge(frame(b), on=["task_id", "trial"], how="outer", suffixes=("_a", "_b"))
    for side, run in (("a", a), ("b", b)):
        if run.meta.get("tasks_passed") is not None:  # unlisted tasks passed in this run
            merged[f"success_{side}"] = merged[f"success_{side}"].fillna(True)
    known = merged["success_a"].notna() & merged["success_b"].notna()
    merged = merged[known]
    merged = merged[merged["success_a"].astype(bool) != merged["success_b"].astype(bool)]
    if merged.empty:
        return empty_frame(columns)
    merged["change"] = np.where(merged["success_b"].astype(bool), "fixed", "broken")
    return merged.sort_values(["task_id", "trial"]).reset_index(drop=True)[columns]
