"""MassGen coordination: coordination events, answer and vote snapshots, rounds, agents.

- ``coordination_events.json`` = ``{session_metadata{user_prompt, agent_ids, start_time,
  end_time, final_winner}, events[{timestamp (epoch s), event_type, agent_id, details,
  context{round, label, voted_for, reason, ...}}]}``; some events are logged twice (two
  ``session_start``), kept as written.
- ``agent_<id>/<YYYYMMDD_HHMMSS_ffffff>/{answer.txt | vote.json, context.txt,
  execution_trace.md}``: a snapshot per answer or vote. The folder name is the writer's local
  time. An answer is joined to its ``new_answer`` event by label (``snapshot_mappings.json``,
  else the k-th answer file of an agent is its k-th event); a vote likewise.
- rounds: ``metrics_summary.json`` round_history, else ``metrics_events.json``
  round_completions, else derived from the events (an agent's round r runs from its first
  event in r to its first event of a later round).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

import pandas as pd

from ._values import BAD, to_utc, zero_is_no_price

ANSWER_TYPES = {"new_answer", "answer"}
VOTE_TYPES = {"vote", "vote_cast"}
RESTART_TYPES = {"restart", "restart_triggered"}
TIMEOUT_WORDS = ("timeout", "timed out", "timed_out")
STATUS_RE = re.compile(r"status:\s*(\w+)")
SNAPSHOT_TS_RE = re.compile(r"^(\d{8})_(\d{6})(?:_(\d{1,6}))?$")


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value)


def when(value: Any) -> pd.Timestamp | None:
    ts = to_utc(value)
    return None if ts is BAD else ts


def folder_time(name: str) -> pd.Timestamp | None:
    """A snapshot folder's name as a naive local time (``20251025_225516_091756``)."""
    m = SNAPSHOT_TS_RE.match(name)
    if not m:
        return None
    frac = (m.group(3) or "0").ljust(6, "0")
    return pd.to_datetime(f"{m.group(1)}T{m.group(2)}.{frac}", format="%Y%m%dT%H%M%S.%f", errors="coerce")


def error_text(err: Any) -> str | None:
    if err is None or err == "" or err is False:
        return None
    if isinstance(err, dict):
        msg = err.get("message") or err.get("error") or err.get("type")
        return str(msg) if msg is not None else str(err)
    return str(err)


def is_timeout(status: Any, err: Any) -> bool:
    words = f"{status or ''} {err or ''}".lower()
    return any(w in words for w in TIMEOUT_WORDS)


def coordination_rows(events: list[dict], report) -> list[dict]:
    """One row per coordination event; ``report(reason, raw)`` records a problem."""
    rows = []
    for ev in events:
        etype = str(ev.get("event_type") or "unknown")
        ctx = as_dict(ev.get("context"))
        ts = to_utc(ev.get("timestamp"))
        if ts is BAD:
            report(f"unreadable timestamp in {etype} event", ev)
            ts = None
        agent = _text(ev.get("agent_id"), etype, "agent_id", report)
        row = {"agent": agent, "round": number(ctx.get("round")) if agent else None,
               "start": ts, "end": ts, "event_type": etype}
        extras = {k: v for k, v in ctx.items() if k != "round" or not agent}
        if ev.get("details") is not None:
            extras["details"] = ev.get("details")
        if etype in ANSWER_TYPES:
            label = _text(ctx.get("label"), etype, "label", report)
            row.update(kind="answer", name=label, label=label)
        elif etype in VOTE_TYPES:
            voted_for = _text(ctx.get("voted_for"), etype, "voted_for", report)
            row.update(kind="vote", name=voted_for, voted_for=voted_for, reason=ctx.get("reason"))
        elif etype in RESTART_TYPES:
            row.update(kind="restart", name=etype)
        else:
            row.update(kind="coordination", name=etype)
        row["extras"] = {"event_type": etype, **extras}
        rows.append(row)
    return rows


def _text(value: Any, etype: str, key: str, report) -> str | None:
    if value is None or isinstance(value, str):
        return value
    report(f"{key} of a {etype} event should be text, got {type(value).__name__}; taken as NA", value)
    return None


def answer_events(coord: list[dict], snaps: list[dict], mapping: dict[str, str], agent_ids: list[str]) -> list[dict]:
    """One answer event per answer: a coordination event joined to its answer.txt."""
    files: dict[str, list[dict]] = defaultdict(list)
    for s in snaps:
        if s["type"] == "answer":
            files[s["agent"]].append(s)
    events: dict[str, list[dict]] = defaultdict(list)
    for row in coord:
        if row["kind"] == "answer":
            events[row["agent"]].append(row)
    by_label: dict[tuple, dict] = {}
    for agent, agent_files in files.items():
        evs = sorted(events.get(agent, []), key=lambda r: (r["start"] is None, r["start"] or 0))
        for k, s in enumerate(agent_files):
            label = mapping.get(s["file"])
            if label is None and k < len(evs):
                label = evs[k].get("label")
            if label is None:
                idx = agent_ids.index(agent) + 1 if agent in agent_ids else 0
                label = f"agent{idx}.{k + 1}"
            s["label"] = label
            by_label[(agent, label)] = s
    rows = [_answer_row(row, by_label.pop((row["agent"], row.get("label")), None))
            for row in coord if row["kind"] == "answer"]
    for s in by_label.values():  # answer files with no coordination event
        rows.append(_answer_row({"agent": s["agent"], "round": None, "start": s["time"], "end": s["time"],
                                 "label": s["label"], "extras": {"timestamp_source": "folder name"}}, s))
    return rows


def _answer_row(row: dict, snap: dict | None) -> dict:
    text = snap["text"] if snap else None
    attrs = {"label": row.get("label"), "length": len(text) if text is not None else None, **row.get("extras", {})}
    if snap:
        attrs.update(file=snap["file"], context_length=snap["context_length"])
    return {"agent": row["agent"], "kind": "answer", "name": row.get("label"), "round": row.get("round"),
            "start": row["start"], "end": row["end"], "attrs": attrs, "text": text,
            "snapshot": snap["folder"] if snap else None}


def vote_events(coord: list[dict], snaps: list[dict]) -> list[dict]:
    """One vote event per vote: the k-th vote_cast of a voter joined to its k-th vote.json."""
    files: dict[str, list[dict]] = defaultdict(list)
    for s in snaps:
        if s["type"] == "vote":
            voter = s["vote"].get("voter_id") if isinstance(s["vote"].get("voter_id"), str) else s["agent"]
            files[voter].append(s)
    rows, used = [], Counter()
    for row in sorted((r for r in coord if r["kind"] == "vote"), key=lambda r: (r["start"] is None, r["start"] or 0)):
        voter = row["agent"]
        k = used[voter]
        used[voter] += 1
        rows.append(_vote_row(row, files[voter][k] if k < len(files[voter]) else None))
    for voter, voter_files in files.items():
        for snap in voter_files[used[voter]:]:  # vote files with no coordination event
            vote = snap["vote"]
            ts = when(vote.get("unix_timestamp")) or snap["time"]
            rows.append(_vote_row({"agent": voter, "round": number(vote.get("coordination_round")), "start": ts,
                                   "end": ts, "voted_for": vote.get("voted_for"), "reason": None,
                                   "extras": {"event_type": "vote.json"}}, snap))
    return rows


def _vote_row(row: dict, snap: dict | None) -> dict:
    vote = snap["vote"] if snap else {}
    voted_for = row.get("voted_for") or vote.get("voted_for")
    reason = vote.get("reason") if vote.get("reason") is not None else row.get("reason")
    extras = {k: v for k, v in row.get("extras", {}).items() if k not in ("reason", "voted_for")}
    attrs = {"voted_for": voted_for, "reason": reason, **extras}
    if snap:
        attrs.update(file=snap["file"], context_length=snap["context_length"],
                     voted_for_label=vote.get("voted_for_label", extras.get("voted_for_label")))
    return {"agent": row["agent"], "kind": "vote", "name": voted_for, "round": row.get("round"),
            "start": row["start"], "end": row["end"], "attrs": attrs,
            "snapshot": snap["folder"] if snap else None}


def status_votes(status: dict) -> list[dict]:
    """Votes from status.json, used only when no event or vote.json records any."""
    rows = []
    for agent, info in as_dict(status.get("agents")).items():
        vote = as_dict(as_dict(info).get("vote_cast"))
        if vote:
            ts = when(as_dict(info).get("last_activity"))
            target = vote.get("voted_for_agent") or vote.get("voted_for")
            rows.append({"agent": agent, "kind": "vote", "name": target, "start": ts, "end": ts,
                         "attrs": {"voted_for": target, "reason": vote.get("reason_preview"),
                                   "voted_for_label": vote.get("voted_for_label"), "source": "status.json"}})
    return rows


ROUND_KEYS = {"round_number", "start_time", "end_time", "duration_ms", "input_tokens", "output_tokens",
              "cached_input_tokens", "estimated_cost", "agent_id", "outcome"}


def round_row(agent: str, item: dict, source: str) -> dict:
    """A round of round_history / round_completions. MassGen writes an estimated_cost of 0.0
    for a model its price table lacks: with tokens, that is no price (NA), not free."""
    start, end = when(item.get("start_time")), when(item.get("end_time"))
    duration = number(item.get("duration_ms"))
    if end is None and start is not None and duration is not None:
        end = start + pd.Timedelta(milliseconds=duration)
    if duration is None and start is not None and end is not None:
        duration = (end - start).total_seconds() * 1000
    cost = number(item.get("estimated_cost"))
    attrs = {"outcome": item.get("outcome"), "source": source, **{k: v for k, v in item.items() if k not in ROUND_KEYS}}
    if zero_is_no_price(cost, number(item.get("input_tokens")), number(item.get("output_tokens"))):
        attrs["reported_cost"], cost = 0.0, None
    outcome = str(item.get("outcome") or "").lower()
    return {"agent": agent, "kind": "round", "name": f"round {item.get('round_number')}",
            "round": number(item.get("round_number")), "start": start, "end": end, "duration_ms": duration,
            "input_tokens": number(item.get("input_tokens")), "output_tokens": number(item.get("output_tokens")),
            "cached_tokens": number(item.get("cached_input_tokens")), "cost_usd": cost,
            "error": item.get("error_message") or (outcome if outcome in ("error", "timeout") else None),
            "attrs": attrs}


def derived_rounds(coord: list[dict]) -> list[dict]:
    """Rounds from coordination events: an agent's round r starts at its first event in r."""
    by_agent: dict[str, list[dict]] = defaultdict(list)
    for r in coord:
        if r["agent"] and r["start"] is not None and r["round"] is not None:
            by_agent[r["agent"]].append(r)
    rows = []
    for agent, evs in by_agent.items():
        evs.sort(key=lambda r: r["start"])
        firsts: dict[int, pd.Timestamp] = {}
        outcomes: dict[int, str] = {}
        for r in evs:
            n = int(r["round"])
            firsts.setdefault(n, r["start"])
            if r["kind"] in ("answer", "vote"):
                outcomes[n] = r["kind"]
        numbers = sorted(firsts, key=lambda n: firsts[n])
        for i, n in enumerate(numbers):
            start = firsts[n]
            end = firsts[numbers[i + 1]] if i + 1 < len(numbers) else evs[-1]["start"]
            rows.append({"agent": agent, "kind": "round", "name": f"round {n}", "round": n, "start": start,
                         "end": end, "duration_ms": (end - start).total_seconds() * 1000,
                         "attrs": {"outcome": outcomes.get(n), "source": "derived from coordination_events.json"}})
    return rows


def agent_status(agent_ids: list[str], status: dict, coord_events: list[dict], events: list[dict],
                 rounds: list[dict]) -> list[dict]:
    """``meta["agent_status"]``: from status.json, else derived from the events."""
    timeouts = Counter(r["agent"] for r in rounds if str(r["attrs"].get("outcome") or "").lower() == "timeout")
    out = []
    for agent in agent_ids:
        info = as_dict(status.get("agents")).get(agent)
        if isinstance(info, dict):
            rel = as_dict(info.get("reliability"))
            vote = info.get("vote_cast")
            voted = (vote.get("voted_for_agent") or vote.get("voted_for")) if isinstance(vote, dict) else vote
            out.append({"agent": agent, "status": info.get("status"), "answer_count": info.get("answer_count"),
                        "vote_cast": voted, "times_restarted": info.get("times_restarted"),
                        "error": error_text(info.get("error")),
                        "enforcement_retries": rel.get("total_enforcement_retries",
                                                       len(as_list(rel.get("enforcement_attempts")))),
                        "buffer_chars_lost": rel.get("total_buffer_chars_lost", 0),
                        "unknown_tools": list(as_list(rel.get("unknown_tools"))),
                        "enforcement_reasons": [a.get("reason") for a in as_list(rel.get("enforcement_attempts"))
                                                if isinstance(a, dict)],
                        "timeouts": timeouts[agent] or int(is_timeout(info.get("status"), info.get("error"))),
                        "source": "status.json"})
            continue
        mine = [e for e in coord_events if e.get("agent_id") == agent]
        state = None
        for e in mine:
            m = STATUS_RE.search(str(e.get("details") or "")) if e.get("event_type") == "status_change" else None
            state = m.group(1) if m else state
        votes = [e for e in events if e["kind"] == "vote" and e["agent"] == agent]
        out.append({"agent": agent, "status": state,
                    "answer_count": sum(1 for e in events if e["kind"] == "answer" and e["agent"] == agent),
                    "vote_cast": votes[-1]["name"] if votes else None,
                    "times_restarted": sum(1 for e in mine if e.get("event_type") == "restart_completed"),
                    "error": None, "enforcement_retries": 0, "buffer_chars_lost": 0, "unknown_tools": [],
                    "enforcement_reasons": [], "timeouts": timeouts[agent] or int(state == "timeout"),
                    "source": "coordination_events.json"})
    return out


def failures(statuses: list[dict]) -> list[dict]:
    """One failure per agent that errored or timed out (task_id is the agent)."""
    rows = []
    for a in statuses:
        timed_out = bool(a["timeouts"]) or is_timeout(a["status"], a["error"])
        if a["error"] or timed_out or str(a["status"] or "").lower() == "error":
            rows.append({"task_id": a["agent"], "trial": 1, "step": "coordination",
                         "category": "timeout" if timed_out else "agent_error", "error": a["error"] or a["status"]})
    return rows
