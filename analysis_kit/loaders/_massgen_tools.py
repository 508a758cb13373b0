"""MassGen's tool executions, from every file that records them, as one row per execution.

The same execution can be in four files, none complete:

- ``metrics_events.json`` ``tool_executions[]``: timed (epoch start/end), success, call id;
  no arguments, and ``agent_id`` is often ``"unknown"`` (custom tools).
- ``events.jsonl`` (MassGen >= 0.1.5x): ``tool_start`` {tool_id, tool_name, args} and
  ``tool_complete`` {tool_id, result, elapsed_seconds, is_error}, with naive local ISO times.
- ``streaming_debug.log`` (MassGen <= 0.1.x): ``HH:MM:SS.mmm | 🔹 [chat] Yielding chunk:
  StreamChunk(...)``, whose ``content='Arguments for Calling <tool>: <json>'`` and ``content=
  'Results for Calling <tool>: <text>'`` chunks carry the arguments (the ``"command"`` of
  ``execute_command``) and the result (its ``execution_time``), joined by ``tool_call_id``.
- ``execution_trace.md`` of each snapshot: the agent, full arguments and results, no times.

Rows start from the timed records (metrics), take arguments and results from the activity
records with the same call id, then each trace call claims the earliest unclaimed row of
its tool with the same arguments (or with none known), which names its agent. What is left
unmatched stays a row of its own, so an execution is counted once and never dropped.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import pandas as pd

from ..model import Problems
from ._columns import json_or_text
from ._massgen_rows import result_error
from ._values import to_utc, BAD

_LINE = re.compile(r"^(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)\.(?P<ms>\d{3}) \| (?P<msg>.*)$")
_CONTENT = re.compile(r"content=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")
_CALL_ID = re.compile(r"tool_call_id=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")
_ACTIVITY = re.compile(r"^(?P<what>Arguments|Results) for Calling (?P<tool>[^:]+): (?P<rest>.*)$", re.S)
UNKNOWN_AGENTS = (None, "", "unknown")


@dataclass
class ToolRun:
    """One tool execution, filled from whichever files know it."""

    name: str | None
    call_id: str | None = None
    agent: str | None = None
    round: int | None = None
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    duration_ms: float | None = None
    error: str | None = None
    args: Any = None
    result: str | None = None
    sources: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    claimed: bool = False

    def row(self) -> dict[str, Any]:
        attrs = dict(self.attrs, sources=self.sources)
        if self.args is not None:
            attrs["arguments"] = self.args
        if self.result is not None:
            attrs["result"], attrs["result_length"] = self.result, len(self.result)
        if self.call_id:
            attrs["call_id"] = self.call_id
        return {"kind": "tool_call", "name": self.name, "agent": None if self.agent in UNKNOWN_AGENTS else self.agent,
                "round": self.round, "start": self.start, "end": self.end, "duration_ms": self.duration_ms,
                "error": self.error, "attrs": attrs}


def canonical(args: Any) -> str:
    """Arguments as comparable text (same keys and values give the same text)."""
    try:
        return json.dumps(args, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(args)


# ----------------------------------------------------------------------------- local clocks
def utc_offset(local: Iterable[pd.Timestamp], start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.Timedelta:
    """The writer's UTC offset, for naive local times known to fall within [start, end] (UTC):
    the quarter hour that puts them inside the window (0 when there is no window)."""
    local = [t for t in local if t is not None]
    if not local or start is None or end is None:
        return pd.Timedelta(0)
    lo, hi = min(local).tz_localize("UTC"), max(local).tz_localize("UTC")
    best = None
    for quarter in range(-56, 57):
        offset = pd.Timedelta(minutes=15 * quarter)
        miss = max(0.0, (start - (lo - offset)).total_seconds()) + max(0.0, ((hi - offset) - end).total_seconds())
        key = (round(miss, 3), abs(quarter))
        if best is None or key < best[0]:
            best = (key, offset)
    return best[1]


# ----------------------------------------------------------------------------- streaming_debug.log
def streaming_activity(text: str, file: Any, day: pd.Timestamp | None, problems: Problems) -> list[dict]:
    """Arguments/Results chunks of ``streaming_debug.log`` as activity records (naive local
    times on ``day``; a clock going back more than 12 hours is the next day)."""
    records, last, day_shift = [], None, pd.Timedelta(0)
    base = (day or pd.Timestamp("1970-01-01")).tz_localize(None).normalize()
    for number, line in enumerate(text.split("\n"), start=1):
        m = _LINE.match(line)
        if m is None:
            continue  # continuation of a multi-line message: the chunk reprs are one line
        clock = pd.Timedelta(hours=int(m["h"]), minutes=int(m["m"]), seconds=int(m["s"]), milliseconds=int(m["ms"]))
        if last is not None and clock + pd.Timedelta(hours=12) < last:
            day_shift += pd.Timedelta(days=1)
        last = clock
        msg = m["msg"]
        if "for Calling " not in msg:
            continue
        record = _chunk(msg, number, file, problems)
        if record is not None:
            record["time"] = base + day_shift + clock
            records.append(record)
    return records


def _chunk(msg: str, line: int, file: Any, problems: Problems) -> dict | None:
    content, call_id = _CONTENT.search(msg), _CALL_ID.search(msg)
    try:
        text = ast.literal_eval(content.group(1)) if content else None
        cid = ast.literal_eval(call_id.group(1)) if call_id else None
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        text = None
    activity = _ACTIVITY.match(text) if isinstance(text, str) else None
    if activity is None:
        if content is not None:
            problems.add(file, line, "a tool chunk whose content could not be read; not used", msg[:200])
        return None
    rest = activity["rest"]
    return {"line": line, "what": activity["what"], "name": activity["tool"].strip(), "call_id": cid,
            "args": json_or_text(rest) if activity["what"] == "Arguments" else None,
            "result": rest if activity["what"] == "Results" else None}


# ----------------------------------------------------------------------------- events.jsonl
def events_activity(records: Iterable[tuple[int, dict]], where_file: Any, problems: Problems) -> list[dict]:
    """tool_start / tool_complete records of ``events.jsonl`` as activity records."""
    out = []
    for line, record in records:
        data = record.get("data") if isinstance(record.get("data"), dict) else {}
        kind = record.get("event_type")
        ts = to_utc(record.get("timestamp"))
        if ts is BAD:
            problems.add(where_file, line, f"unreadable timestamp of a {kind} event; taken as NA",
                         str(record.get("timestamp"))[:200])
            ts = None
        naive = ts.tz_localize(None) if ts is not None else None
        out.append({"line": line, "what": "Arguments" if kind == "tool_start" else "Results",
                    "name": data.get("tool_name"), "call_id": data.get("tool_id"),
                    "agent": record.get("agent_id"), "round": record.get("round_number"),
                    "args": data.get("args") if kind == "tool_start" else None,
                    "result": None if kind == "tool_start" or data.get("result") is None else str(data.get("result")),
                    "elapsed": data.get("elapsed_seconds"), "is_error": data.get("is_error"),
                    "time": naive})
    return out


# ----------------------------------------------------------------------------- merging
def pair_activity(records: list[dict], source: str, offset: pd.Timedelta) -> list[ToolRun]:
    """Arguments records joined to the Results record with the same call id (first in,
    first out); times moved from the writer's clock to UTC by ``offset``."""
    runs: list[ToolRun] = []
    waiting: dict[tuple, list[ToolRun]] = {}
    for r in records:
        when = None if r.get("time") is None else (r["time"] - offset).tz_localize("UTC")
        key = (r.get("call_id"), r.get("name"))
        if r["what"] == "Arguments":
            run = ToolRun(r.get("name"), call_id=r.get("call_id"), agent=r.get("agent"), start=when,
                          args=r.get("args"), sources=[source])
            if isinstance(r.get("round"), int):
                run.round = r["round"]
            waiting.setdefault(key, []).append(run)
            runs.append(run)
            continue
        run = waiting.get(key, []).pop(0) if waiting.get(key) else None
        if run is None:
            run = ToolRun(r.get("name"), call_id=r.get("call_id"), agent=r.get("agent"), sources=[source])
            runs.append(run)
        run.end, run.result = when, r.get("result")
        _result_facts(run, r)
    return runs


def _result_facts(run: ToolRun, record: dict) -> None:
    """Duration and error from a result: its own execution_time (a command's), else the
    writer's elapsed time, else the time between the two records."""
    parsed = json_or_text(run.result) if run.result is not None else None
    seconds = parsed.get("execution_time") if isinstance(parsed, dict) else None
    seconds = seconds if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else record.get("elapsed")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0:
        run.duration_ms = float(seconds) * 1000
    elif run.start is not None and run.end is not None:
        run.duration_ms = (run.end - run.start).total_seconds() * 1000
    run.error = result_error(run.result, record.get("is_error") is True)


def merge_activity(timed: list[ToolRun], activity: list[ToolRun]) -> list[ToolRun]:
    """Activity records fill the timed row with the same call id and tool (first unfilled
    one); those with no such row are rows of their own."""
    by_id: dict[tuple, list[ToolRun]] = {}
    for run in timed:
        by_id.setdefault((run.call_id, run.name), []).append(run)
    extra = []
    for act in activity:
        candidates = by_id.get((act.call_id, act.name), []) if act.call_id else []
        target = next((r for r in candidates if act.sources[0] not in r.sources), None)
        if target is None:
            extra.append(act)
            by_id.setdefault((act.call_id, act.name), []).append(act)
            continue
        target.sources.append(act.sources[0])
        target.args = target.args if target.args is not None else act.args
        target.result = target.result if target.result is not None else act.result
        target.agent = target.agent if target.agent not in UNKNOWN_AGENTS else act.agent
        target.start = target.start or act.start
        target.end = target.end or act.end
        if act.duration_ms is not None and "command_duration_ms" not in target.attrs and act.args is not None:
            target.attrs["command_duration_ms"] = act.duration_ms
        target.duration_ms = target.duration_ms if target.duration_ms is not None else act.duration_ms
        target.error = target.error or act.error
    return timed + extra


def claim_trace_call(runs: list[ToolRun], agent: str | None, name: str, args: Any,
                     windows: list[tuple] = (), not_before: pd.Timestamp | None = None) -> ToolRun | None:
    """The earliest unclaimed row of tool ``name`` with these arguments (or none known) of
    this agent or of no known agent, preferring rows that ran inside one of the agent's
    rounds (``windows``: (start, end) in UTC) and not before ``not_before`` (the end of the
    agent's calls answered before this one was made); marked claimed."""
    key = canonical(args)
    fits = [r for r in runs if not r.claimed and r.name == name and r.agent in (*UNKNOWN_AGENTS, agent)]
    if not_before is not None:
        later = [r for r in fits if r.start is None or r.start >= not_before]
        fits = later or fits
    same = [r for r in fits if r.args is not None and canonical(r.args) == key]
    pool = same or [r for r in fits if r.args is None]
    inside = [r for r in pool if r.start is not None and any(
        s is not None and e is not None and s <= r.start <= e for s, e in windows)]
    pool = inside or pool
    if not pool:
        return None
    run = min(pool, key=lambda r: (r.start is None, r.start or pd.Timestamp(0, tz="UTC")))
    run.claimed = True
    if len(pool) > 1:  # identical calls no file tells apart: their agents are a best guess
        for other in pool:
            other.attrs["agent_candidates"] = max(len(pool), other.attrs.get("agent_candidates", 0))
    return run
