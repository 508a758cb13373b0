"""Rounds of multi-agent runs: per agent and round the wall time, tool time, outcome, and
the checklist phases (evaluation, checklist-to-propose, implementation)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model import Run
from ._util import attr, empty_frame, grouped_union, multi_run, seconds, spans, table

ROUND_COLUMNS = ["agent", "round", "start", "end", "total_s", "tool_wall_s", "non_tool_s",
                 "outcome", "tool_calls"]
PHASES = ("evaluation", "checklist_to_propose", "implementation")
CHECKLIST_TOOL = "submit_checklist"
PROPOSE_TOOL = "propose_improvements"


def _keys(ev: pd.DataFrame) -> list[str]:
    return (["run_id"] if multi_run(ev) else []) + ["agent", "round"]


def _windows(ev: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per agent and round: from its kind "round" event where there is one, else
    the span of the agent's events in that round."""
    marked = ev[(ev["kind"] == "round") & ev["round"].notna()]
    declared = marked.assign(outcome=attr(marked, "outcome").astype("string"))
    declared = declared.groupby(keys, dropna=False).agg(
        t0=("t0", "min"), t1=("t1", "max"), outcome=("outcome", "last"))
    inner = ev[(ev["kind"] != "round") & ev["round"].notna()]
    derived = inner.groupby(keys, dropna=False).agg(t0=("t0", "min"), t1=("t1", "max"))
    derived = derived[~derived.index.isin(declared.index)]
    derived["outcome"] = pd.Series(pd.NA, index=derived.index, dtype="string")
    return pd.concat([declared, derived]).sort_index()


def rounds(events: Run | pd.DataFrame) -> pd.DataFrame:
    """Per agent and round: start, end, total seconds, tool wall time (the union of the
    round's overlapping tool_call intervals, clipped to the round), non-tool time, outcome
    (the round event's attrs ``outcome``) and the number of tool calls.

    >>> import pandas as pd
    >>> t = lambda *s: pd.to_datetime([f"2025-01-01 00:00:{x:02d}" for x in s], utc=True)
    >>> ev = pd.DataFrame({"agent": ["a"] * 3, "round": [1] * 3,
    ...     "kind": ["round", "tool_call", "tool_call"], "start": t(0, 2, 3), "end": t(10, 5, 6)})
    >>> rounds(ev)[["total_s", "tool_wall_s", "non_tool_s"]].values.tolist()
    [[10.0, 4.0, 6.0]]
    """
    ev = spans(table(events, "events"))
    keys = _keys(ev)
    ev = ev[ev["t0"].notna()]
    windows = _windows(ev, keys)
    if windows.empty:
        return empty_frame(keys[:-2] + ROUND_COLUMNS)
    tools = ev[(ev["kind"] == "tool_call") & ev["round"].notna()]
    bounds = windows[["t0", "t1"]].rename(columns={"t0": "w0", "t1": "w1"})
    tools = tools.join(bounds, on=keys, how="inner")
    # A tool call running past its round's end only counts inside the round.
    tools = tools.assign(t0=tools[["t0", "w0"]].max(axis=1), t1=tools[["t1", "w1"]].min(axis=1))
    tools = tools[tools["t1"] >= tools["t0"]]
    tool_wall = grouped_union(tools, keys) if len(tools) else pd.Series(dtype="float64")
    out = windows.copy()
    out["total_s"] = out["t1"] - out["t0"]
    out["tool_wall_s"] = tool_wall.reindex(out.index).fillna(0.0).to_numpy() if len(tool_wall) else 0.0
    out["non_tool_s"] = out["total_s"] - out["tool_wall_s"]
    out["tool_calls"] = tools.groupby(keys, dropna=False).size().reindex(out.index).fillna(0).astype("int64").to_numpy() if len(tools) else 0
    out["start"] = pd.to_datetime((out["t0"] * 1e9).round().astype("int64"), utc=True)
    out["end"] = pd.to_datetime((out["t1"] * 1e9).round().astype("int64"), utc=True)
    out = out.reset_index()
    return out[keys[:-2] + ROUND_COLUMNS].reset_index(drop=True)


def _first_time(tools: pd.DataFrame, keys: list[str], tool: str, column: str) -> pd.Series:
    """Per round, the ``column`` time of the first call of ``tool`` (names may carry an
    MCP prefix such as ``mcp__planning__submit_checklist``)."""
    hits = tools[tools["name"].fillna("").str.endswith(tool)]
    if hits.empty:
        return pd.Series(dtype="float64")
    first = hits.sort_values("t0", kind="stable").groupby(keys, dropna=False).head(1)
    return first.set_index(keys)[column]


def checklist_phases(events: Run | pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For rounds that call ``submit_checklist``: seconds of evaluation (round start to the
    first submit_checklist), checklist_to_propose (from there to the end of the first
    ``propose_improvements``, or to round end without one) and implementation (the rest
    of the round). Returns (per round, percentages over all such rounds).

    >>> import pandas as pd
    >>> t = lambda *s: pd.to_datetime([f"2025-01-01 00:00:{x:02d}" for x in s], utc=True)
    >>> ev = pd.DataFrame({"agent": ["a"] * 3, "round": [1] * 3, "kind": ["round", "tool_call", "tool_call"],
    ...     "name": [None, "submit_checklist", "propose_improvements"],
    ...     "start": t(0, 4, 6), "end": t(10, 5, 7)})
    >>> checklist_phases(ev)[1]["percent"].tolist()
    [40.0, 30.0, 30.0]
    """
    ev = spans(table(events, "events"))
    keys = _keys(ev)
    per_round_cols = keys + ["start", "end", "total_s"] + [f"{p}_s" for p in PHASES] + ["proposed"]
    share_cols = ["phase", "total_s", "percent", "rounds"]
    table_rounds = rounds(ev)
    tools = ev[(ev["kind"] == "tool_call") & ev["round"].notna() & ev["t0"].notna()]
    submit = _first_time(tools, keys, CHECKLIST_TOOL, "t0")
    if table_rounds.empty or submit.empty:
        return empty_frame(per_round_cols), empty_frame(share_cols)
    propose = _first_time(tools, keys, PROPOSE_TOOL, "t1")
    r = table_rounds.set_index(keys)
    r = r[r.index.isin(submit.index)].copy()
    t0 = seconds(r["start"])
    t1 = seconds(r["end"])
    first_submit = np.clip(submit.reindex(r.index).to_numpy(dtype="float64"), t0, t1)
    first_propose = propose.reindex(r.index).to_numpy(dtype="float64") if len(propose) else np.full(len(r), np.nan)
    # A propose call before the checklist does not end the checklist phase.
    first_propose = np.where(first_propose >= first_submit, first_propose, np.nan)
    boundary = np.clip(np.where(np.isnan(first_propose), t1, first_propose), first_submit, t1)
    r["evaluation_s"] = first_submit - t0
    r["checklist_to_propose_s"] = boundary - first_submit
    r["implementation_s"] = t1 - boundary
    r["proposed"] = ~np.isnan(first_propose)
    per_round = r.reset_index()[per_round_cols]
    sums = [float(per_round[f"{p}_s"].sum()) for p in PHASES]
    whole = sum(sums)
    shares = pd.DataFrame({
        "phase": list(PHASES), "total_s": sums,
        "percent": [100.0 * s / whole if whole else np.nan for s in sums],
        "rounds": len(per_round),
    })
    return per_round, shares
