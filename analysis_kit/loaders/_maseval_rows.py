"""The parts of the MASEval loader shared by its two layouts (results reports and traced
conversations): message rows, the row adder that remembers a task's times, the task's span,
and the traced-conversations loader itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..model import Problems, Run
from ._chat import checked_role, content_text, tool_calls
from ._columns import Column, Table, finite_or_none
from ._read import Source, iter_json_array, read_text
from ._values import Where, short_json, to_utc


class _At(Where):
    """A Where naming a field by its full path: "task t1: traces.models.m.logs[0].timestamp"."""
    def problem(self, reason: str, raw: Any = None, key: str | None = None) -> None:
        self.problems.add(self.file, self.line, self.label + reason, short_json(raw) if raw is not None else "")


MESSAGE = [Column("role", "role"), Column("content", fn=lambda r, w: content_text(r.get("content"))),
           Column("tool_call_id", "tool_call_id"), Column("name", "name"), Column("timestamp", "timestamp")]


def _message_rows(add: Callable, messages: Any, path: str, agent: str, where: Where) -> list[str]:
    """Message rows of OpenAI chat ``messages``; returns the names of the tools they call."""
    called = []
    if messages is None:  # the writer always writes a list, even an empty one
        where.problem(f"{path} is not a list")
    for idx, msg in enumerate(where.listing(messages, path)):
        if not isinstance(msg, dict):
            where.problem(f"{path}[{idx}] is not an object", msg)
            continue
        calls = tool_calls(msg.get("tool_calls"), f"{path}[{idx}]", where)
        called += [str(c["name"]) for c in calls or ()]
        add("messages", checked_role(msg, f"{path}[{idx}]", where), MESSAGE, f"{path}[{idx}]", agent=agent, idx=idx,
            tool_calls=calls)
    return called


def _adder(tables: dict[str, Table], key: dict, at: Callable, times: list, calls: dict | None = None) -> Callable:
    """``add(table, record, columns, path, **values)``: a row of one record, remembering its
    times (the task's span) and, for events, their tokens and cost."""
    def add(table: str, record: dict, columns: list, path: str, **values: Any) -> None:
        row = tables[table].add(record, columns, at(path), **key, **values)
        for value in (row or {}).get("start"), (row or {}).get("end"), (row or {}).get("timestamp"):
            if isinstance(when := to_utc(value) if value is not None else None, pd.Timestamp):
                times.append(when)
        for column, values_ in (calls or {}).items():
            values_.append(finite_or_none((row or {}).get(column)))
    return add


def _span(times: list, collected: pd.Timestamp | None, elapsed: float | None = None) -> dict:
    """A task's start (its first operation) and end (its last, or when its traces were collected)."""
    if not times:
        return {"duration_s": elapsed}
    start, end = min(times), max(times + ([collected] if collected is not None else []))
    return {"start": start, "end": end, "duration_s": (end - start).total_seconds()}


def _bounds(tasks: pd.DataFrame) -> dict:
    starts, ends = (tasks.get(c, pd.Series(dtype=object)).dropna() for c in ("start", "end"))
    return {"started": starts.min().isoformat() if len(starts) else None,
            "ended": ends.max().isoformat() if len(ends) else None}


def _load_conversations(path: Path, problems: Problems) -> Run:
    """A ``get_all_conversations()`` dump: one task per conversation, no events."""
    tables = {name: Table(name) for name in ("tasks", "events", "messages", "failures")}
    text = read_text(path, problems)
    for index, (line, conv) in enumerate(iter_json_array(Source(path, text), problems) if text is not None else ()):
        where = Where(problems, path, line)
        if not isinstance(conv, dict) or "agent_name" not in conv:
            where.problem(f"conversation {index} is not an object with agent_name", conv)
            continue
        meta = conv["metadata"] if isinstance(conv.get("metadata"), dict) else {}
        trial = meta.get("repeat_idx", conv.get("repeat_idx", 0))
        key = {"task_id": str(meta.get("task_id", conv.get("task_id", index))),
               "trial": trial if isinstance(trial, int) and not isinstance(trial, bool) else 0}
        where, times = where.at(label=f"conversation {key['task_id']}"), []
        at = lambda p, _w=where: _At(problems, path, _w.line, f"{_w.label}: {p}.")  # noqa: E731
        _message_rows(_adder(tables, key, at, times), conv.get("messages"), "messages", str(conv["agent_name"]), where)
        tables["tasks"].append(where, **key, agent=str(conv["agent_name"]), agent_type=conv.get("agent_type"),
                               query=content_text(conv.get("query")),
                               **_span(times, where.time(meta.get("timestamp"), "metadata.timestamp")))
    frames = {name: table.frame() for name, table in tables.items()}
    meta = {"run_id": path.stem, "source_format": "maseval", "path": str(path), "benchmark": None, "models": [],
            "kind": "traced_conversations", "agents": sorted(set(frames["tasks"].get("agent", pd.Series()).dropna())),
            **_bounds(frames["tasks"])}
    return Run(meta=meta, problems=problems.frame(), **frames)
