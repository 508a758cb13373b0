"""Cost and tokens: by model, agent, task, kind or round; cache hit rate; cost per
successful task; the agent's own cost against the framework's (user simulator, judge,
expert). A call without a price is counted in ``unpriced_calls``, never summed as 0."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..model import Run
from ._util import (CONTAINER_KINDS, FRAMEWORK_AGENTS, FRAMEWORK_KINDS, LLM_KINDS, ancestors, as_list,
                    empty_frame, parent_rows, parse_json, sum_or_na, table, tasks_success)

COST_COLUMNS = ["calls", "priced_calls", "unpriced_calls", "cost_usd", "input_tokens",
                "output_tokens", "cached_tokens", "cache_hit_rate"]
_BY_ALIASES = {"model": "name", "task": "task_id", "tool": "name"}
_NUMBERS = ["cost_usd", "input_tokens", "output_tokens", "cached_tokens"]


def billable_rows(events: pd.DataFrame) -> pd.DataFrame:
    """Events that are model calls or carry a cost/tokens (see :func:`billing`), with
    ``_calls`` (how many calls a row counts as) and ``_priced`` (its cost is known, on itself
    or on the span around it); a span billed to a model has that model as its ``name``."""
    keep, calls, priced, models = billing(events)
    rows = events[keep].assign(_calls=calls[keep], _priced=priced[keep])
    if models:
        names = rows["name"].astype(object).to_numpy(copy=True)
        for j, i in enumerate(np.flatnonzero(keep)):
            if i in models:
                names[j] = models[i]
        rows["name"] = names
    return rows


def billing(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, object]]:
    """Which events costs are summed over, how many calls each counts as, whether its cost is
    known, and the model each billed span is billed to (by row number).

    Model calls and rows that carry a cost/tokens are billed. A container span (agent, step,
    round) is left out where the calls inside it carry their own usage (it would count them
    twice) and kept where it alone reports the usage (MassGen reports it per round): then it
    is billed to its model (``attrs.model``, else the one model called inside it), the calls
    inside it are priced by it, and it counts as a call only when none is listed inside it."""
    usage = events[["cost_usd", "input_tokens", "output_tokens"]].notna().any(axis=1).to_numpy()
    container = events["kind"].isin(CONTAINER_KINDS).to_numpy()
    llm = events["kind"].isin(LLM_KINDS).to_numpy()
    calls = np.ones(len(events), dtype=np.int64)
    priced = events["cost_usd"].notna().to_numpy()
    reporting = container & usage
    models: dict[int, object] = {}
    if reporting.any():
        parent = parent_rows(events)  # only spans that report usage need the tree
        below_usage, below_models, paid_above = _tree(events, parent, usage & ~container, llm, priced)
        reporting &= ~below_usage
        attrs = events["attrs"].astype(object).to_numpy() if "attrs" in events.columns else [None] * len(events)
        for i in np.flatnonzero(reporting):
            called = below_models.get(i, set())
            models[i] = _attr_model(attrs[i]) or (next(iter(called)) if len(called) == 1 else pd.NA)
            calls[i] = 0 if called else 1
        if reporting.any():  # the calls inside a span that reports the cost are paid for by it
            priced = priced | paid_above
    keep = ((llm | usage) & ~container) | reporting
    return keep, calls, priced, models


BILLING_COLUMNS = ("_bill_calls", "_bill_priced", "_bill_name")


def billing_columns(events: pd.DataFrame) -> dict[str, pd.api.extensions.ExtensionArray]:
    """:func:`billing` as columns a run store keeps beside the events (its queries cannot
    walk a span tree): ``_bill_calls`` (NA: not billed), ``_bill_priced``, ``_bill_name``
    (the model a billed row counts for: its name, or the model a span is billed to)."""
    keep, calls, priced, models = billing(events)
    names = events["name"].astype(object).to_numpy(copy=True)
    for i, model in models.items():
        names[i] = model
    return {"_bill_calls": pd.arrays.IntegerArray(calls.astype(np.int64), ~keep),
            "_bill_priced": pd.arrays.BooleanArray(priced & keep, ~keep),
            "_bill_name": pd.array(names, dtype="string")}


def _attr_model(attrs: object) -> str | None:
    parsed = parse_json(attrs) if isinstance(attrs, str) and '"model"' in attrs else None
    value = parsed.get("model") if isinstance(parsed, dict) else None
    return value if isinstance(value, str) and value else None


def _tree(events: pd.DataFrame, parent: np.ndarray | None, usage: np.ndarray, llm: np.ndarray,
          costed: np.ndarray) -> tuple[np.ndarray, dict[int, set], np.ndarray]:
    """One walk up the span tree (``parent_id``): for each row, whether a row inside it
    carries usage, the models of the calls inside it, and whether a span above it has a
    cost. Without span ids, a container's rows are those of its run, task and agent.

    >>> ev = pd.DataFrame({"span_id": ["r", "c"], "parent_id": [None, "r"], "name": ["round 0", "m"]})
    >>> below, called, paid = _tree(ev, parent_rows(ev), np.array([False, False]), np.array([False, True]),
    ...                             np.array([True, False]))
    >>> below.tolist(), called, paid.tolist()
    ([False, False], {0: {'m'}}, [False, True])
    """
    n = len(events)
    below, paid = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    called: dict[int, set] = {}
    if parent is not None:
        names = events["name"].astype(object).to_numpy()
        calls = llm & pd.notna(names)
        for at in ancestors(parent):
            inside = at >= 0
            below[at[inside & usage]] = True
            paid |= inside & costed[np.clip(at, 0, None)]
            for ancestor, name in zip(at[inside & calls].tolist(), names[inside & calls].tolist()):
                called.setdefault(ancestor, set()).add(name)
        return below, called, paid & ~costed
    keys = [events[k] for k in ("run_id", "task_id", "agent") if k in events.columns]
    if not keys:
        return np.full(n, bool(usage.any())), called, paid
    carried = pd.Series(usage, index=events.index).groupby(keys, dropna=False, sort=False).transform("any")
    return carried.to_numpy(dtype=bool), called, paid


def _cost_rows(data: Run | pd.DataFrame) -> pd.DataFrame:
    """The rows costs are summed over: a Run's events when they carry any cost or tokens,
    else its messages, else its tasks; a DataFrame is taken as events."""
    if not isinstance(data, Run):
        return billable_rows(table(data, "events"))
    events = billable_rows(data.events)
    if events[["cost_usd", "input_tokens", "output_tokens"]].notna().any().any():
        return events
    for name in ("messages", "tasks"):
        frame = getattr(data, name)
        if frame[["cost_usd", "input_tokens", "output_tokens"]].notna().any().any():
            if name == "messages":  # only messages a model wrote are calls
                frame = frame[frame["role"].isin(["assistant", "user"]) &
                              frame[["cost_usd", "input_tokens", "output_tokens"]].notna().any(axis=1)]
            return frame.assign(_calls=1, _priced=frame["cost_usd"].notna())  # a row a call
    return events


def _aggregate(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    rows = rows.copy()
    for col in _NUMBERS:
        if col not in rows.columns:
            rows[col] = np.nan
        rows[col] = pd.to_numeric(rows[col], errors="coerce").astype("float64")
    if "_calls" not in rows.columns:  # rows of no billing: each row one call
        rows["_calls"], rows["_priced"] = 1, rows["cost_usd"].notna()
    rows["_priced"] = rows["_priced"].astype(bool) & (rows["_calls"] > 0)
    if keys:
        grouped = rows.groupby(keys, dropna=False, sort=True)
    else:
        grouped = rows.groupby(np.zeros(len(rows), dtype=int))
    out = grouped.agg(calls=("_calls", "sum"), priced_calls=("_priced", "sum"))
    for col in _NUMBERS:
        out[col] = grouped[col].sum(min_count=1)  # NA, not 0, for a group with no value
    out["unpriced_calls"] = out["calls"] - out["priced_calls"]
    out["cache_hit_rate"] = out["cached_tokens"] / out["input_tokens"].where(out["input_tokens"] > 0)
    out = out.reset_index(drop=not keys)
    return out[keys + COST_COLUMNS]


def cost_by(events_or_run: Run | pd.DataFrame, by: str | Sequence[str] = "name") -> pd.DataFrame:
    """Calls, priced and unpriced calls, cost (NA for a group with no priced call), tokens
    and cache hit rate (cached / input tokens) per group of ``by``: ``name``/``model``,
    ``agent``, ``task_id``/``task``, ``kind``, ``round`` or a list. Given a Run whose events
    carry no cost or tokens, its messages or tasks are used.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"kind": ["llm_call"] * 3, "name": ["m", "m", "n"],
    ...                    "cost_usd": [0.5, None, None], "input_tokens": [100, 50, 10],
    ...                    "cached_tokens": [50, 25, None]})
    >>> cost_by(ev)[["name", "unpriced_calls", "cost_usd", "cache_hit_rate"]].values.tolist()
    [['m', 1, 0.5, 0.5], ['n', 1, nan, nan]]
    """
    keys = [_BY_ALIASES.get(k, k) for k in as_list(by)]
    rows = _cost_rows(events_or_run)
    for key in keys:
        if key not in rows.columns:
            rows = rows.assign(**{key: pd.NA})
    if rows.empty:
        return empty_frame(as_list(by) + COST_COLUMNS)
    out = _aggregate(rows, keys)
    return out.rename(columns={v: k for k, v in zip(as_list(by), keys)})


def _task_costs(run: Run) -> pd.Series:
    """Cost per task attempt: the tasks table's, else the events' or messages' summed."""
    tasks = run.tasks
    if tasks["cost_usd"].notna().any():
        return tasks["cost_usd"]
    rows = _cost_rows(run)
    if rows.empty or "task_id" not in rows.columns:
        return pd.Series(np.nan, index=tasks.index)
    keys = [k for k in ("run_id", "task_id", "trial") if rows[k].notna().any() and tasks[k].notna().any()]
    if "task_id" not in keys:
        return pd.Series(np.nan, index=tasks.index)
    summed = rows.groupby(keys, dropna=False)["cost_usd"].sum(min_count=1)
    return pd.Series(summed.reindex(pd.MultiIndex.from_frame(tasks[keys]) if len(keys) > 1
                                    else pd.Index(tasks[keys[0]])).to_numpy(), index=tasks.index)


def cost_per_success(run: Run) -> pd.DataFrame:
    """Per run: total cost, successes, total cost / successes (what one solved task cost),
    the mean cost of the successful tasks themselves, and how many tasks had no price.

    >>> import pandas as pd
    >>> run = Run(meta={"run_id": "r"}, tasks=pd.DataFrame({"task_id": ["a", "b", "c"],
    ...     "success": [True, False, True], "cost_usd": [1.0, 2.0, 3.0]}))
    >>> row = cost_per_success(run).iloc[0]
    >>> float(row["cost_usd"]), int(row["successes"]), float(row["cost_per_success"])
    (6.0, 2, 3.0)
    """
    columns = ["run_id", "cost_usd", "tasks", "successes", "cost_per_success",
               "mean_cost_successful_task", "unpriced_tasks"]
    tasks = run.tasks.assign(_cost=_task_costs(run), _ok=tasks_success(run.tasks).fillna(False))
    if tasks.empty:
        return empty_frame(columns)
    rows = []
    for rid, part in tasks.groupby("run_id", sort=False):
        total = sum_or_na(part["_cost"])
        wins = int(part["_ok"].sum())
        rows.append({
            "run_id": rid, "cost_usd": total, "tasks": len(part), "successes": wins,
            "cost_per_success": total / wins if wins else np.nan,
            "mean_cost_successful_task": float(part.loc[part["_ok"].astype(bool), "_cost"].mean()) if wins else np.nan,
            "unpriced_tasks": int(part["_cost"].isna().sum()),
        })
    return pd.DataFrame(rows, columns=columns)


def _side(rows: pd.DataFrame) -> pd.Series:
    """"framework" for user simulator, judge/evaluator and expert calls, else "agent"."""
    framework = pd.Series(False, index=rows.index)
    if "kind" in rows.columns:
        framework |= rows["kind"].isin(FRAMEWORK_KINDS).fillna(False).astype(bool)
    if "agent" in rows.columns:
        framework |= rows["agent"].isin(FRAMEWORK_AGENTS).fillna(False).astype(bool)
    return framework.map({True: "framework", False: "agent"})


def agent_vs_framework(run: Run | pd.DataFrame) -> pd.DataFrame:
    """The agent's own cost and tokens against the framework's (kinds user_sim, evaluator,
    expert_call; agents user_simulator, evaluator, judge, expert), with each side's share
    of the priced cost.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"kind": ["llm_call", "user_sim", "evaluator"],
    ...                    "cost_usd": [3.0, 1.0, None]})
    >>> agent_vs_framework(ev)[["side", "cost_usd", "unpriced_calls", "cost_share"]].values.tolist()
    [['agent', 3.0, 0, 0.75], ['framework', 1.0, 1, 0.25]]
    """
    rows = _cost_rows(run)
    if rows.empty:
        return empty_frame(["side"] + COST_COLUMNS + ["cost_share"])
    out = _aggregate(rows.assign(side=_side(rows)), ["side"])
    total = sum_or_na(out["cost_usd"])
    out["cost_share"] = out["cost_usd"] / total if total else np.nan
    return out
