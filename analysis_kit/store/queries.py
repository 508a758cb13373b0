"""What both engines share: how a query's group keys are resolved, and how the small grouped
results an engine returns become the final tables (sorting, derived columns, dtypes, the
bootstrap intervals), in pandas. The engines differ only in how they compute the grouped
numbers over the Parquet files, so their results are equal by construction of everything
after that, and equal to the pandas analyses by the tests.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..analyses._util import CONTAINER_KINDS, INSTANT_KINDS, LLM_KINDS, as_list, empty_frame
from ..analyses.cost import COST_COLUMNS
from ..analyses.latency import STAT_COLUMNS
from ..model import _first_known, _known
from .layout import StoreError

LATENCY_ALIASES = {"model": ("name", LLM_KINDS), "tool": ("name", ("tool_call",))}
COST_ALIASES = {"model": "name", "task": "task_id", "tool": "name"}
COST_SOURCES = ("events", "messages", "tasks")
PASS_COLUMNS = ["runs", "attempts", "successes", "pass_rate", "ci_low", "ci_high"]
SUMMARY_COLUMNS = ["run_id", "format", "tasks", "successes", "pass_rate", "events", "messages",
                   "failures", "duration_s", "cost_usd", "est_cost_usd", "input_tokens", "output_tokens", "problems"]
COST_NUMBERS = ["cost_usd", "input_tokens", "output_tokens", "cached_tokens"]
N_BOOT, SEED, LEVEL = 1000, 0, 0.95


@dataclass(frozen=True)
class Key:
    """A group key: the output column ``name``, read from ``column`` of the queried table
    (``source="row"``) or of the runs table (``source="run"``)."""

    name: str
    source: str
    column: str


def resolve_keys(by: str | Sequence[str] | None, row_columns: set[str], run_columns: set[str],
                 aliases: dict[str, str] | None = None, what: str = "rows") -> list[Key]:
    """The keys of ``by``: an alias, a column of the queried table, else of the runs table
    (``run_model``, ``benchmark``, ``domain``, ``source_format``, ...)."""
    keys = []
    for name in as_list(by):
        column = (aliases or {}).get(name, name)
        if name == "run_id":  # the same in every table: a run-level key
            keys.append(Key(name, "run", name))
        elif column in row_columns:
            keys.append(Key(name, "row", column))
        elif name in run_columns and name != "meta_json":
            keys.append(Key(name, "run", name))
        else:
            raise StoreError(f"cannot group by {name!r}: not a column of the {what} "
                             f"({', '.join(sorted(row_columns))}) nor of the runs table "
                             f"({', '.join(sorted(run_columns - {'meta_json'}))})")
    return keys


def latency_filter(by: Sequence[str]) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """(kinds kept or None for any, kinds left out) of a latency query grouped by ``by``,
    as analyses.latency_stats filters: instants never, containers unless grouping by kind,
    ``model``/``tool`` keep the model calls/tool calls."""
    include: set[str] | None = None
    for name in by:
        if name in LATENCY_ALIASES:
            kinds = set(LATENCY_ALIASES[name][1])
            include = kinds if include is None else include & kinds
    exclude = tuple(INSTANT_KINDS) + (() if "kind" in by else tuple(CONTAINER_KINDS))
    return (tuple(sorted(include)) if include is not None else None), exclude


def row_keys(keys: Sequence[Key]) -> list[Key]:
    """The keys an engine groups by along with run_id (the others are per run)."""
    return [k for k in keys if k.source == "row"]


def add_run_keys(frame: pd.DataFrame, keys: Sequence[Key], runs: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with a run_id column) with the run-level keys' columns added by run id."""
    by_id = runs.set_index("run_id")
    extra = {k.name: frame["run_id"].map(by_id[k.column]) for k in keys
             if k.source == "run" and k.name != "run_id"}
    return frame.assign(**extra) if extra else frame


def billing_keys(keys: Sequence[Key], table: str) -> list[Key]:
    """``keys`` as a cost query reads them from ``table``: the events' model (``name``) is
    the one a row is billed to (``_bill_name``, kept at ingest)."""
    if table != "events":
        return list(keys)
    return [Key(k.name, k.source, "_bill_name") if k.source == "row" and k.column == "name" else k for k in keys]


def combine_cost(parts: dict[str, pd.DataFrame], keys: Sequence[Key], runs: pd.DataFrame) -> pd.DataFrame:
    """The grouped cost of the engines' per-source, per-run sums: each run's rows are those
    of its first source (events, messages, tasks) in which any row carries a cost or tokens
    (the events when none does), as analyses.cost_by picks for one run; then summed per key."""
    names = [k.name for k in keys]
    carrying = {t: set(f.loc[f.groupby("run_id")["_carrying"].transform("sum") > 0, "run_id"])
                for t, f in parts.items()}
    from_messages = carrying["messages"] - carrying["events"]
    from_tasks = carrying["tasks"] - carrying["events"] - from_messages
    ev, msg, tk = parts["events"], parts["messages"], parts["tasks"]
    rows = pd.concat([ev[~ev["run_id"].isin(from_messages | from_tasks)], msg[msg["run_id"].isin(from_messages)],
                      tk[tk["run_id"].isin(from_tasks)]], ignore_index=True)
    rows = rows[rows["_rows"] > 0]  # a group with a cost row (a span billed to its calls' model counts none)
    if rows.empty:
        return pd.DataFrame()
    rows = add_run_keys(rows, keys, runs).drop(columns=["_carrying", "_rows"])
    values = ["calls", "priced_calls"] + [c for n in COST_NUMBERS for c in (n, f"_n_{n}")]
    rows[values] = rows[values].astype("float64")
    out = (rows.groupby(names, dropna=False, sort=False)[values].sum().reset_index() if names
           else rows[values].sum().to_frame().T)
    for col in COST_NUMBERS:  # a sum over no known value is NA, not 0
        out[col] = out[col].where(out.pop(f"_n_{col}") > 0)
    return out


def combine_failures(counts: pd.DataFrame, keys: Sequence[Key], runs: pd.DataFrame) -> pd.DataFrame:
    """Failures per key from the engines' counts per run and row key."""
    names = [k.name for k in keys]
    if counts.empty:
        return pd.DataFrame(columns=names + ["count"])
    counts = add_run_keys(counts, keys, runs)
    if not names:
        return pd.DataFrame({"count": [counts["count"].sum()]})
    return counts.groupby(names, dropna=False, sort=False)["count"].sum().reset_index()


# ----------------------------------------------------------------------------- finishing

def _sort(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sorted by ``keys``, NA last: the order of pandas' groupby(sort=True, dropna=False)."""
    if not keys or frame.empty:
        return frame.reset_index(drop=True)
    return frame.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)


def finish_latency(grouped: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """keys + count, mean_ms, p50_ms, p90_ms, p99_ms, max_ms, sorted like latency_stats."""
    if grouped.empty:
        out = empty_frame(keys + STAT_COLUMNS)
        out["count"] = out["count"].astype("int64")
        return out
    out = _sort(grouped[keys + STAT_COLUMNS].copy(), keys)
    out["count"] = out["count"].astype("int64")
    for col in STAT_COLUMNS[1:]:
        out[col] = out[col].astype("float64")
    return out


def finish_cost(grouped: pd.DataFrame, keys: list[Key]) -> pd.DataFrame:
    """keys + calls, priced/unpriced calls, cost, tokens, cache hit rate, like cost_by."""
    names = [k.name for k in keys]
    if grouped.empty:
        return empty_frame(names + COST_COLUMNS)
    out = grouped.copy()
    out["calls"] = out["calls"].astype("int64")
    out["priced_calls"] = out["priced_calls"].astype("int64")
    for col in COST_NUMBERS:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out["unpriced_calls"] = out["calls"] - out["priced_calls"]
    out["cache_hit_rate"] = out["cached_tokens"] / out["input_tokens"].where(out["input_tokens"] > 0)
    return _sort(out, names)[names + COST_COLUMNS]


def finish_failures(grouped: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """keys + count, share: most frequent first (ties in key order), like failures_by."""
    if grouped.empty or grouped["count"].sum() == 0:
        return empty_frame(keys + ["count", "share"])
    out = _sort(grouped[keys + ["count"]].copy(), keys)
    out["count"] = out["count"].astype("int64")
    out = out.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
    out["share"] = out["count"] / out["count"].sum()
    return out


def _key_text(values: tuple) -> bytes:
    return repr(tuple("<NA>" if pd.isna(v) else str(v) for v in values)).encode()


def bootstrap_rate(attempts: int, successes: int, group: tuple = (), *, n_boot: int = N_BOOT,
                   seed: int = SEED, level: float = LEVEL) -> tuple[float, float]:
    """Percentile bootstrap interval of a pass rate of ``successes`` in ``attempts``.

    Resampling n attempts with replacement out of s successes and n - s failures gives a
    Binomial(n, s/n) count of successes, so each resample is drawn as that: the same
    distribution as resampling the attempts one by one, at no cost per attempt, and the
    same numbers from any engine. The generator is seeded with ``seed`` and a hash of the
    group's key, so a group's interval does not move when other groups are added.

    >>> bootstrap_rate(10, 10)
    (1.0, 1.0)
    >>> low, high = bootstrap_rate(100, 50); round(low, 2), round(high, 2)
    (0.4, 0.6)
    """
    if attempts <= 0 or n_boot <= 0:
        return (np.nan, np.nan)
    rng = np.random.default_rng([int(seed), zlib.crc32(_key_text(group))])
    rates = rng.binomial(int(attempts), successes / attempts, size=int(n_boot)) / attempts
    alpha = (1 - level) / 2
    low, high = np.percentile(rates, [100 * alpha, 100 * (1 - alpha)])
    return (float(low), float(high))


def _unlisted(runs: pd.DataFrame, counted: pd.DataFrame) -> pd.DataFrame:
    """Per run: attempts and successes to add for tasks the table does not list (a convex
    report lists only failures; meta says how many ran and passed), as comparison does."""
    per_run = counted.groupby("run_id")[["attempts", "successes", "rows"]].sum()
    r = runs.set_index("run_id")
    rows = per_run["rows"].reindex(r.index, fill_value=0)
    ok = per_run["successes"].reindex(r.index, fill_value=0)
    total = pd.to_numeric(r["tasks_total"], errors="coerce")
    passed = pd.to_numeric(r["tasks_passed"], errors="coerce")
    unlisted = (total - rows).where(total.notna() & passed.notna() & (total > rows), 0)
    extra = np.minimum(np.maximum(passed - ok, 0), unlisted).where(unlisted > 0, 0)
    return pd.DataFrame({"attempts": unlisted.astype("int64"), "successes": extra.astype("int64")})


def finish_pass_rates(counted: pd.DataFrame, runs: pd.DataFrame, keys: list[Key], *,
                      n_boot: int = N_BOOT, seed: int = SEED, level: float = LEVEL) -> pd.DataFrame:
    """keys + runs, attempts, successes, pass_rate and its interval, from the per-run and
    per-key counts of known outcomes (``counted``: run_id, keys, attempts, successes, rows).

    Grouped by run-level keys only, tasks a run ran but does not list are added from meta
    (tasks_total, tasks_passed) and every selected run counts, even with no known outcome.
    """
    names = [k.name for k in keys]
    counted = counted.copy()
    if all(k.source == "run" for k in keys):
        extra = _unlisted(runs, counted).reset_index()
        base = runs[list(dict.fromkeys(["run_id"] + names))]
        extra = base.merge(extra, on="run_id").assign(rows=0)
        columns = list(dict.fromkeys(["run_id"] + names + ["attempts", "successes", "rows"]))
        counted = pd.concat([counted[columns], extra[columns]], ignore_index=True)
    if counted.empty:
        return empty_frame(names + PASS_COLUMNS)
    if names:
        grouped = counted.groupby(names, dropna=False, sort=False).agg(
            runs=("run_id", "nunique"), attempts=("attempts", "sum"), successes=("successes", "sum"))
        grouped = grouped.reset_index()
    else:
        grouped = pd.DataFrame({"runs": [counted["run_id"].nunique()], "attempts": [counted["attempts"].sum()],
                                "successes": [counted["successes"].sum()]})
    grouped["attempts"] = grouped["attempts"].astype("int64")
    grouped["successes"] = grouped["successes"].astype("int64")
    grouped["pass_rate"] = (grouped["successes"] / grouped["attempts"].where(grouped["attempts"] > 0)).astype("float64")
    intervals = [bootstrap_rate(a, s, tuple(row), n_boot=n_boot, seed=seed, level=level)
                 for a, s, row in zip(grouped["attempts"], grouped["successes"],
                                      grouped[names].itertuples(index=False, name=None) if names
                                      else [()] * len(grouped))]
    grouped["ci_low"] = [i[0] for i in intervals]
    grouped["ci_high"] = [i[1] for i in intervals]
    return _sort(grouped, names)[names + PASS_COLUMNS]


def _span(agg: dict) -> float:
    if _known(agg.get("start")) and _known(agg.get("end")):
        return (agg["end"] - agg["start"]).total_seconds()
    return np.nan


def finish_summary(runs: pd.DataFrame, tasks: pd.DataFrame, events: pd.DataFrame,
                   sizes: dict[str, pd.Series]) -> pd.DataFrame:
    """One row per run, as ``Run.summary`` computes it, from the per-run aggregates of the
    tasks (success, known, start, end, cost, in_tok, out_tok; sums NA when nothing is
    known) and events tables and the row counts of every table."""
    t_by = tasks.set_index("run_id").to_dict("index") if len(tasks) else {}
    e_by = events.set_index("run_id").to_dict("index") if len(events) else {}
    count = {name: s.to_dict() for name, s in sizes.items()}
    rows = []
    for run in runs.to_dict("records"):
        rid = run["run_id"]
        t, e = t_by.get(rid, {}), e_by.get(rid, {})
        n_tasks = int(run["tasks_total"]) if _known(run["tasks_total"]) else int(count["tasks"].get(rid, 0))
        successes = int(run["tasks_passed"]) if _known(run["tasks_passed"]) else None
        known = int(t.get("known", 0) or 0) if successes is None else n_tasks
        if successes is None:
            successes = (int(t["success"]) if _known(t.get("success")) else 0) if known or not n_tasks else pd.NA
        pass_rate = successes / known if known else np.nan
        if _known(run["tasks_partial"]) and bool(run["tasks_partial"]) and not _known(run["tasks_passed"]):
            pass_rate = np.nan
        if _known(run["started"]) and _known(run["ended"]):
            duration = (run["ended"] - run["started"]).total_seconds()
        else:
            duration = _span(t) if not np.isnan(_span(t)) else _span(e)
        tokens = t if _known(t.get("in_tok")) else e
        rows.append({
            "run_id": rid, "format": run["source_format"], "tasks": n_tasks, "successes": successes,
            "pass_rate": pass_rate, "events": int(count["events"].get(rid, 0)),
            "messages": int(count["messages"].get(rid, 0)), "failures": int(count["failures"].get(rid, 0)),
            "duration_s": duration, "cost_usd": _first_known(t.get("cost"), e.get("cost")), "est_cost_usd": _first_known(e.get("est")),
            "input_tokens": _first_known(tokens.get("in_tok")), "output_tokens": _first_known(tokens.get("out_tok")),
            "problems": int(count["problems"].get(rid, 0)),
        })
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    if len(out):
        out["successes"] = out["successes"].astype("Int64")
    return out
