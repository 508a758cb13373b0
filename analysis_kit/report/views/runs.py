"""Runs: many runs of a run store side by side: a leaderboard (pass rate with its interval,
cost, tokens, model-call latency), the cost vs pass-rate frontier per model, and trends over
time per model. The section opens a store (``store_dir``), not a run; ``where`` (a DuckDB
SQL condition on the runs table) picks the runs."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from ... import formatting as fmt
from ... import plots, safe
from ...store import report as content
from ..display import Block, Omitted, new_figure

TOP_ROWS = content.TOP_ROWS
PERCENT = {"ci_low": "percent", "ci_high": "percent"}


def open_store(store_dir: str | os.PathLike, *, redact: bool = True):
    """What the section's notebook calls first: the store at ``store_dir`` opened for
    queries, secret redaction set for everything shown after.

    >>> store = open_store("store/")                                     # doctest: +SKIP
    """
    from ...store import open_store as _open

    safe.set_redaction(redact)
    return _open(store_dir)


def has_content(store: Any) -> str | None:
    """Something to say when the store holds a run that loaded."""
    if len(store.runs()):
        return None
    failed = len(store.runs(include_failed=True))
    return "the store holds no runs" + (f" ({failed:,} paths could not be loaded)" if failed else "")


def _models(runs: pd.DataFrame) -> list[str]:
    """Every model the runs name, once (a run's ``models`` JSON list, else its run_model).

    >>> _models(pd.DataFrame({"models": ['["a", "b"]', None], "run_model": ["a, b", "c"]}))
    ['a', 'b', 'c']
    """
    import json

    found: set[str] = set()
    for listed, model in zip(runs["models"], runs["run_model"]):
        try:
            names = json.loads(listed) if isinstance(listed, str) else None
        except ValueError:
            names = None
        if isinstance(names, list) and names:
            found.update(str(n) for n in names if n is not None)
        elif isinstance(model, str) and model:
            found.add(model)
    return sorted(found)


def store_facts(store: Any, where: str | None = None) -> dict[str, Any]:
    """The store on one page: where it is, how many runs (and paths that did not load),
    of which models, benchmarks and formats, when they started, how many task attempts.

    >>> store_facts(open_store("store/"))["runs"]                        # doctest: +SKIP
    12
    """
    runs = store.runs(where=where)
    failed = store.runs(include_failed=True)
    failed = failed[failed["load_error"].notna()]
    started = pd.to_datetime(runs["started"], utc=True)
    facts: dict[str, Any] = {"store": store.path}
    if where:
        facts["runs chosen by"] = where
    facts.update({
        "runs": len(runs), "paths not loaded": len(failed),
        "models": _models(runs),
        "benchmarks": sorted(runs["benchmark"].dropna().astype(str).unique()),
        "formats": sorted(runs["source_format"].dropna().astype(str).unique()),
        "first started": started.min() if started.notna().any() else None,
        "last started": started.max() if started.notna().any() else None,
        "task attempts": int(store.summary(where=where)["tasks"].sum()) if len(runs) else 0,
    })
    return facts


FACT_FORMATS = {"store": "text", "runs chosen by": "text", "first started": "timestamp",
                "last started": "timestamp", "models": "list", "benchmarks": "list", "formats": "list",
                "runs": "count", "paths not loaded": "count", "task attempts": "count"}


def facts_table(store: Any, where: str | None = None) -> safe.Table:
    """:func:`store_facts` as a table of fields (escaped: paths and names come from logs)."""
    return safe.show(store_facts(store, where), formats=FACT_FORMATS, max_chars=600)


def the_store(store: Any, where: str | None = None) -> Block:
    """Where the store is and what it holds (the report's first page)."""
    return Block(facts_table(store, where))


def not_loaded(store: Any) -> Block | Omitted:
    """Paths the ingest could not load, with the reason (they are in no other table)."""
    failed = store.runs(include_failed=True)
    failed = failed[failed["load_error"].notna()]
    if failed.empty:
        return Omitted("every path in the store loaded")
    return Block(safe.show(failed[["path", "load_error"]], max_chars=300))


def leaderboard(store: Any, where: str | None = None, top: int = TOP_ROWS) -> Block | Omitted:
    """One row per run, best pass rate first (then cheapest)."""
    board = content.leaderboard(store, where=where)
    if board.empty:
        return Omitted("no run matches" + (f" where {where}" if where else ""))
    shown = f"the best {top} of {fmt.count(len(board))} runs" if len(board) > top else f"{fmt.count(len(board))} runs"
    return Block(safe.note(f"{shown} of {fmt.count(board['model'].nunique())} models"),
                 safe.show(board, max_rows=top, formats=PERCENT))


def frontier(store: Any, where: str | None = None, top: int = TOP_ROWS) -> Block | Omitted:
    """Per model: runs pooled (pass rate over all their attempts, with its interval; cost per
    task over the priced runs), and the models no other beats on both cost and pass rate."""
    models = content.by_model(store, where=where)
    if models.empty:
        return Omitted("no run matches" + (f" where {where}" if where else ""))
    fig = new_figure(8, 5)
    plots.cost_frontier(models, ax=fig.add_subplot())
    columns = ["run_model", "runs", "pass_rate", "ci_low", "ci_high", "cost_usd", "cost_per_task", "on_frontier"]
    return Block(fig, safe.show(models[columns], max_rows=top, formats=PERCENT))


def trends(store: Any, where: str | None = None, freq: str = "W") -> Block | Omitted:
    """Per model and week (of the runs' start): the pooled pass rate with its interval, runs
    and cost."""
    table = content.trends(store, freq=freq, where=where)
    if table.empty:
        return Omitted("no run with a start time" + (f" where {where}" if where else ""))
    fig = new_figure(8, 4.5)
    plots.runs_trend(table, ax=fig.add_subplot())
    return Block(fig, safe.show(table, max_rows=TOP_ROWS, formats={**PERCENT, "period": "timestamp"}))
