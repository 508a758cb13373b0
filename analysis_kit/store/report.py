"""The tables of the Runs report of a store: a leaderboard of runs, trends over time per
model, and the cost vs pass-rate frontier; and the store of the bundled samples.

The content is plain functions over a store (tables); the "runs" report section
(:mod:`analysis_kit.report.sections`, views in :mod:`analysis_kit.report.views.runs`)
shows them with :mod:`analysis_kit.plots`, in a notebook and in the report that
``analysis-kit report --store DIR`` makes (:func:`analysis_kit.report.runner.run_store_report`).

>>> from analysis_kit.store import open_store                         # doctest: +SKIP
>>> from analysis_kit.store.report import leaderboard, trends, by_model  # doctest: +SKIP
>>> leaderboard(open_store("store/")).head()                           # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from . import queries as q

LEADERBOARD_COLUMNS = ["run_id", "model", "benchmark", "domain", "started", "tasks", "attempts",
                       "pass_rate", "ci_low", "ci_high", "cost_usd", "cost_per_task", "input_tokens",
                       "output_tokens", "llm_p50_ms", "llm_p90_ms"]
TOP_ROWS = 30  # leaderboard rows shown in the report


def _store(store: Any):
    from .api import RunStore, open_store

    return store if isinstance(store, RunStore) else open_store(store)


def leaderboard(store: Any, *, where: str | None = None, runs: Sequence[str] | None = None,
                n_boot: int = q.N_BOOT, seed: int = q.SEED) -> pd.DataFrame:
    """One row per run, best pass rate first (then cheapest): model, when, tasks, pass rate
    with its 95% bootstrap interval, cost (total and per task), tokens, and the p50/p90
    latency of its model calls (``llm_call`` events).

    >>> leaderboard(store, where="benchmark = 'tau2'").head(10)        # doctest: +SKIP
    """
    store = _store(store)
    chosen = store.runs(where=where, runs=runs)
    if chosen.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in LEADERBOARD_COLUMNS})
    ids = list(chosen["run_id"])
    summary = store.summary(runs=ids).set_index("run_id")
    rates = store.pass_rates(by="run_id", runs=ids, n_boot=n_boot, seed=seed).set_index("run_id")
    latency = store.latency_stats(by=["run_id", "kind"], runs=ids)
    llm = latency[latency["kind"] == "llm_call"].set_index("run_id")
    board = chosen.set_index("run_id")[["run_model", "benchmark", "domain", "started"]].rename(
        columns={"run_model": "model"})
    board = board.join(summary[["tasks", "cost_usd", "input_tokens", "output_tokens"]])
    board = board.join(rates[["attempts", "pass_rate", "ci_low", "ci_high"]])
    board["cost_per_task"] = board["cost_usd"] / board["tasks"].where(board["tasks"] > 0)
    board["llm_p50_ms"] = llm["p50_ms"].reindex(board.index)
    board["llm_p90_ms"] = llm["p90_ms"].reindex(board.index)
    board = board.reset_index()
    board = board.sort_values(["pass_rate", "cost_usd"], ascending=[False, True], na_position="last",
                              kind="stable")
    return board[LEADERBOARD_COLUMNS].reset_index(drop=True)


def _per_run_counts(store: Any, where: str | None, runs: Sequence[str] | None,
                    n_boot: int, seed: int) -> pd.DataFrame:
    """Per run: model, started, attempts, successes, tasks and cost."""
    chosen = store.runs(where=where, runs=runs)
    ids = list(chosen["run_id"])
    rates = store.pass_rates(by="run_id", runs=ids, n_boot=0, seed=seed)
    summary = store.summary(runs=ids)[["run_id", "tasks", "cost_usd"]]
    return (chosen[["run_id", "run_model", "started"]].merge(rates[["run_id", "attempts", "successes"]], on="run_id")
            .merge(summary, on="run_id"))


def _pooled(frame: pd.DataFrame, keys: list[str], n_boot: int, seed: int) -> pd.DataFrame:
    """Runs pooled per ``keys``: attempts and successes summed (the pass rate of all their
    attempts, with its interval), cost summed over priced runs and per task of those."""
    frame = frame.assign(_priced_tasks=frame["tasks"].where(frame["cost_usd"].notna()))
    out = frame.groupby(keys, dropna=False, sort=True).agg(
        runs=("run_id", "size"), attempts=("attempts", "sum"), successes=("successes", "sum"),
        tasks=("tasks", "sum"), cost_usd=("cost_usd", lambda s: s.sum(min_count=1)),
        priced_tasks=("_priced_tasks", "sum")).reset_index()
    out["pass_rate"] = out["successes"] / out["attempts"].where(out["attempts"] > 0)
    intervals = [q.bootstrap_rate(int(a), int(s), tuple(k), n_boot=n_boot, seed=seed)
                 for a, s, k in zip(out["attempts"], out["successes"], out[keys].itertuples(index=False, name=None))]
    out["ci_low"] = [i[0] for i in intervals]
    out["ci_high"] = [i[1] for i in intervals]
    out["cost_per_task"] = out["cost_usd"] / out["priced_tasks"].where(out["priced_tasks"] > 0)
    return out.drop(columns="priced_tasks")


def trends(store: Any, *, freq: str = "W", where: str | None = None, runs: Sequence[str] | None = None,
           n_boot: int = q.N_BOOT, seed: int = q.SEED) -> pd.DataFrame:
    """Per model and period (``freq``: ``"D"``, ``"W"``, ``"M"``... of the runs' start, UTC):
    runs, attempts, successes, pooled pass rate with its interval, cost and cost per task.
    Runs with no start time are left out.

    >>> trends(store, freq="D", where="benchmark = 'tau2'")            # doctest: +SKIP
    """
    store = _store(store)
    per_run = _per_run_counts(store, where, runs, n_boot, seed)
    per_run = per_run[per_run["started"].notna()]
    columns = ["run_model", "period", "runs", "attempts", "successes", "tasks", "cost_usd", "pass_rate",
               "ci_low", "ci_high", "cost_per_task"]
    if per_run.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    started = pd.to_datetime(per_run["started"], utc=True).dt.tz_convert(None)
    period = started.dt.to_period(freq).dt.start_time.dt.tz_localize("UTC")
    return _pooled(per_run.assign(period=period), ["run_model", "period"], n_boot, seed)[columns]


def by_model(store: Any, *, where: str | None = None, runs: Sequence[str] | None = None,
             n_boot: int = q.N_BOOT, seed: int = q.SEED) -> pd.DataFrame:
    """Per model: runs, pooled pass rate with its interval, cost and cost per task (over
    the runs that have a price), and whether it is on the cost vs pass-rate frontier.

    >>> by_model(store).query("on_frontier")                            # doctest: +SKIP
    """
    from ..plots import _frontier_mask

    store = _store(store)
    out = _pooled(_per_run_counts(store, where, runs, n_boot, seed), ["run_model"], n_boot, seed)
    out["on_frontier"] = _frontier_mask(out["cost_per_task"].to_numpy(dtype="float64"),
                                        out["pass_rate"].to_numpy(dtype="float64"))
    return out.sort_values(["pass_rate", "cost_per_task"], ascending=[False, True], na_position="last",
                           kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- the sample store

def default_sample_store() -> Path:
    """Where :func:`sample_store` keeps the store of the bundled samples: in the kit's cache,
    one store per samples folder (two checkouts or two kit versions never share one).

    >>> default_sample_store().name.startswith("sample-store-")
    True
    """
    import hashlib
    import tempfile

    from ..cache import cache_dir
    from ..samples import samples_dir

    key = hashlib.sha1(str(samples_dir().resolve()).encode("utf-8")).hexdigest()[:12]
    base = cache_dir() or Path(tempfile.gettempdir()) / f"analysis_kit-{os.getuid() if hasattr(os, 'getuid') else 0}"
    return Path(base) / f"sample-store-{key}"


def sample_store(directory: str | os.PathLike | None = None) -> Path:
    """A store of the bundled sample runs (every format; ingested once, then unchanged paths
    are skipped): what the Runs section shows when no store is given. Kernels building it at
    the same time take turns (a lock beside the store), so none sees the other's ingest as
    an error.

    >>> sample_store()                                                  # doctest: +SKIP
    PosixPath('/home/me/.cache/analysis_kit/sample-store-3f2a9c1b7d4e')
    """
    from ..samples import sample_run, sample_writers
    from .writer import ingest

    target = Path(directory) if directory is not None else default_sample_store()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "a+") as lock:
        try:
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes
        except ImportError:  # not POSIX: one kernel at a time is up to the user
            pass
        ingest(sorted(sample_run(list(sample_writers()))), target, workers=1, progress=False)
    return target
