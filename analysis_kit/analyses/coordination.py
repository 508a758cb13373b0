"""Coordination of multi-agent (MassGen) runs: answers, votes, vote counts and winner,
and each agent's reliability (restarts, enforcement retries, lost buffer, unknown tools,
timeouts). Conventions: events kinds answer/vote/restart/coordination and
``meta["agent_status"]``, ``meta["winner"]``, ``meta["vote_counts"]`` (CONTRIBUTING.md)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..model import Run
from ._util import attr, empty_frame

RELIABILITY_COLUMNS = ["agent", "status", "answer_count", "vote_cast", "times_restarted", "error",
                       "enforcement_retries", "buffer_chars_lost", "unknown_tools", "timeouts"]


def _when(events: pd.DataFrame) -> pd.Series:
    return events["start"].fillna(events["end"])


def answers(run: Run) -> pd.DataFrame:
    """The answers in the order given: label (attrs ``label``, else the event name),
    agent, time, length in characters (attrs ``length``) and round.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"kind": ["answer"], "agent": ["agent_1"], "name": ["agent1.1"],
    ...     "attrs": ['{"length": 42}'], "start": pd.to_datetime(["2025-01-01"], utc=True)})
    >>> answers(Run(events=ev))[["label", "agent", "length"]].values.tolist()
    [['agent1.1', 'agent_1', 42]]
    """
    columns = ["label", "agent", "time", "length", "round"]
    ev = run.events[run.events["kind"] == "answer"]
    if ev.empty:
        return empty_frame(columns)
    out = pd.DataFrame({
        "label": attr(ev, "label").astype("string").fillna(ev["name"]),
        "agent": ev["agent"], "time": _when(ev),
        "length": pd.to_numeric(attr(ev, "length"), errors="coerce").astype("Int64"),
        "round": ev["round"],
    })
    return out.sort_values("time", kind="stable", na_position="last").reset_index(drop=True)


def votes(run: Run) -> pd.DataFrame:
    """Every vote: voter, the agent (or answer label) voted for, the reason, time, round.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"kind": ["vote"], "agent": ["agent_2"], "name": ["agent_1"],
    ...     "attrs": ['{"reason": "clearer"}']})
    >>> votes(Run(events=ev))[["voter", "voted_for", "reason"]].values.tolist()
    [['agent_2', 'agent_1', 'clearer']]
    """
    columns = ["voter", "voted_for", "reason", "time", "round"]
    ev = run.events[run.events["kind"] == "vote"]
    if ev.empty:
        return empty_frame(columns)
    out = pd.DataFrame({
        "voter": ev["agent"],
        "voted_for": ev["name"].fillna(attr(ev, "voted_for").astype("string")),
        "reason": attr(ev, "reason").astype("string"),
        "time": _when(ev), "round": ev["round"],
    })
    return out.sort_values("time", kind="stable", na_position="last").reset_index(drop=True)


def vote_counts(run: Run) -> pd.DataFrame:
    """Votes per candidate and the winner: ``meta["vote_counts"]`` when the source gives
    it, else each voter's latest vote counted; the winner is ``meta["winner"]``, else the
    most voted (ties: the first in name order, flagged in ``tie``).

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"kind": ["vote"] * 3, "agent": ["a", "b", "a"], "name": ["b", "b", "a"],
    ...     "start": pd.to_datetime(["2025-01-01 00:00", "2025-01-01 00:01", "2025-01-01 00:02"], utc=True)})
    >>> vote_counts(Run(events=ev)).values.tolist()
    [['a', 1, True, True], ['b', 1, False, True]]
    """
    columns = ["candidate", "votes", "winner", "tie"]
    meta_counts = run.meta.get("vote_counts")
    if isinstance(meta_counts, dict) and meta_counts:
        counts = pd.Series({str(k): int(v) if v is not None else 0 for k, v in meta_counts.items()})
    else:
        v = votes(run)
        if v.empty:
            return empty_frame(columns)
        latest = v.dropna(subset=["voted_for"]).drop_duplicates("voter", keep="last")
        counts = latest.groupby("voted_for").size()
    counts = counts.sort_index()
    out = pd.DataFrame({"candidate": counts.index.astype(str), "votes": counts.to_numpy().astype("int64")})
    top = out["votes"].max() if len(out) else 0
    winner = run.meta.get("winner")
    if winner is None or (isinstance(winner, float) and np.isnan(winner)):
        leaders = out.loc[out["votes"] == top, "candidate"]
        winner = leaders.iloc[0] if len(leaders) and top > 0 else None
    out["winner"] = out["candidate"] == winner
    out["tie"] = (out["votes"] == top).sum() > 1 if top > 0 else False
    out["tie"] = out["tie"].astype(bool) & (out["votes"] == top)
    out = out.sort_values(["votes", "candidate"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return out[columns]


def restarts(run: Run) -> pd.DataFrame:
    """Each restart: time, the agent restarted, the agent whose new answer triggered it
    (attrs ``triggering_agent``), the agents affected and the round.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"kind": ["restart"], "agent": ["agent_1"],
    ...                    "attrs": ['{"triggering_agent": "agent_2"}']})
    >>> restarts(Run(events=ev))[["agent", "triggered_by"]].values.tolist()
    [['agent_1', 'agent_2']]
    """
    columns = ["time", "agent", "triggered_by", "affected_agents", "round"]
    ev = run.events[run.events["kind"] == "restart"]
    if ev.empty:
        return empty_frame(columns)
    out = pd.DataFrame({
        "time": _when(ev), "agent": ev["agent"],
        "triggered_by": attr(ev, "triggering_agent"), "affected_agents": attr(ev, "affected_agents"),
        "round": ev["round"],
    })
    return out.sort_values("time", kind="stable", na_position="last").reset_index(drop=True)


def _status_frame(status: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for entry in status:
        if not isinstance(entry, dict):
            continue
        row = {c: entry.get(c) for c in RELIABILITY_COLUMNS}
        vote = row["vote_cast"]
        if isinstance(vote, dict):  # status.json: {voted_for_agent, voted_for_label, reason_preview}
            row["vote_cast"] = vote.get("voted_for_agent") or vote.get("voted_for") or vote.get("voted_for_label")
        tools = row["unknown_tools"]
        row["unknown_tools"] = list(tools) if isinstance(tools, (list, tuple)) else ([] if tools is None else [tools])
        rows.append(row)
    return pd.DataFrame(rows, columns=RELIABILITY_COLUMNS)


def agent_reliability(run: Run) -> pd.DataFrame:
    """Per agent: status, answers, vote cast, restarts, error, enforcement retries, buffer
    characters lost, unknown tools and timeouts, from ``meta["agent_status"]``; what it
    lacks is derived from the events (answer/vote/restart counts, timeouts as events whose
    kind, name or error mention a timeout).

    >>> run = Run(meta={"agent_status": [{"agent": "a", "status": "voted", "times_restarted": 2,
    ...     "enforcement_retries": 1, "buffer_chars_lost": 10, "unknown_tools": ["x"]}]})
    >>> agent_reliability(run)[["agent", "times_restarted", "buffer_chars_lost"]].values.tolist()
    [['a', 2, 10]]
    """
    status = _status_frame(run.meta.get("agent_status") or [])
    ev = run.events
    agents = sorted(set(status["agent"].dropna().astype(str)) |
                    set(ev.loc[ev["kind"].isin(["answer", "vote", "restart"]), "agent"].dropna()))
    if not agents:
        return empty_frame(RELIABILITY_COLUMNS)
    per_agent = ev[ev["agent"].isin(agents)]
    def count(mask: pd.Series) -> pd.Series:
        return per_agent[mask].groupby("agent").size().reindex(agents).fillna(0).astype("int64")
    timeout_text = per_agent["kind"].fillna("") + " " + per_agent["name"].fillna("") + " " + per_agent["error"].fillna("")
    derived = pd.DataFrame({
        "answer_count": count(per_agent["kind"] == "answer"),
        "times_restarted": count(per_agent["kind"] == "restart"),
        "timeouts": count(timeout_text.str.contains("timeout|timed out", case=False, regex=True)),
    })
    voted = per_agent[per_agent["kind"] == "vote"].groupby("agent")["name"].last()
    out = status.set_index("agent").reindex(agents) if len(status) else pd.DataFrame(index=pd.Index(agents, name="agent"), columns=RELIABILITY_COLUMNS[1:])
    out = out.astype("object")
    for col in ("answer_count", "times_restarted", "timeouts"):
        out[col] = out[col].where(out[col].notna(), derived[col])
    out["vote_cast"] = out["vote_cast"].where(out["vote_cast"].notna(), voted.reindex(agents))
    out["unknown_tools"] = out["unknown_tools"].map(lambda v: v if isinstance(v, list) else [])
    for col in ("answer_count", "times_restarted", "timeouts", "enforcement_retries", "buffer_chars_lost"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    return out.reset_index().rename(columns={"index": "agent"})[RELIABILITY_COLUMNS]
