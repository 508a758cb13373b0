"""Spans to a Run: the mapped events and messages (``_spans``), tasks and failures per task,
meta, times as UTC timestamps, and the problems a span export can have (spans without ids,
repeated span ids, times outside what the tables hold, span events nobody reads).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ..model import Problems, Run
from ._spans import Span, _Tree, map_spans

NS_MIN, NS_MAX = pd.Timestamp.min.value, pd.Timestamp.max.value
READ_EVENTS = ("exception",)  # span events mapped (to errors); others are reported unread


def _tasks_and_failures(spans: list[Span], tree: _Tree, events: dict[str, list]) -> dict[str, list[dict]]:
    """One task per task id: times, summed counted usage, and status ``error`` when a root
    span of the task failed (its error is then a failure row)."""
    tasks: dict[Any, dict[str, Any]] = {}
    failures = []
    for i, task_id in enumerate(events["task_id"]):
        task = tasks.setdefault(task_id, {"task_id": task_id, "start": None, "end": None, "error": None,
                                          "input_tokens": None, "output_tokens": None, "cost_usd": None})
        start, end = events["start"][i], events["end"][i]
        if start is not None and (task["start"] is None or start < task["start"]):
            task["start"] = start
        if end is not None and (task["end"] is None or end > task["end"]):
            task["end"] = end
        for column in ("input_tokens", "output_tokens", "cost_usd"):
            value = events[column][i]
            if value is not None:
                task[column] = (task[column] or 0) + value
        is_root = tree.parent(i) is None
        if is_root and events["error"][i] and task["error"] is None:
            task["error"] = events["error"][i]
            category = next((a.get("exception.type") for n, _, a in spans[i].events if n == "exception"), None)
            failures.append({"task_id": task_id, "category": category or "error", "step": events["kind"][i],
                             "error": events["error"][i]})
    rows = []
    for task in tasks.values():
        open_ended = task["end"] is None
        task["status"] = "running" if open_ended else ("error" if task["error"] else "success")
        if task["start"] is not None and task["end"] is not None:
            task["duration_s"] = (task["end"] - task["start"]) / 1e9
        rows.append(task)
    return {"tasks": rows, "failures": failures}


def _meta(spans: list[Span], classes: list[tuple], events: dict[str, list]) -> dict[str, Any]:
    models = sorted({str(name) for (kind, name, _) in classes if kind == "llm_call" and name})
    starts = [t for t in events["start"] if t is not None]
    ends = [t for t in events["end"] if t is not None]
    meta: dict[str, Any] = {"models": models, "spans": len(spans),
                            "services": sorted({s.service for s in spans if s.service}),
                            "started": min(starts) if starts else None, "ended": max(ends) if ends else None}
    for span, (kind, name, _) in zip(spans, classes):
        if span.name.startswith("Winner selected: "):
            meta["winner"] = span.attributes.get("winner_agent_id")
            counts = span.attributes.get("vote_counts")
            meta["vote_counts"] = json.loads(counts) if isinstance(counts, str) and counts.startswith("{") else counts
    return meta


def _checked(spans: list[Span], problems: Problems) -> list[Span]:
    """The spans to map: each kept (times out of range set to NA), each defect a problem."""
    seen: set[tuple] = set()
    unread: dict[str, tuple] = {}
    for span in spans:
        file, line = span.where or (None, None)
        if span.span_id is None or span.trace_id is None:
            problems.add(file, line, f"span {span.name!r} has no {'span' if span.span_id is None else 'trace'} id: "
                         "kept outside the span tree", span.name)
        elif (span.trace_id, span.span_id) in seen:
            problems.add(file, line, f"span id {span.span_id} repeated in trace {span.trace_id}: kept, its "
                         "children are attached to the first", span.name)
        seen.add((span.trace_id, span.span_id))
        for attr in ("start_ns", "end_ns"):
            value = getattr(span, attr)
            if value is not None and not NS_MIN <= value <= NS_MAX:
                problems.add(file, line, f"span {span.name!r}: {attr[:-3]} time {value} ns is outside the "
                             "years 1677-2262: left empty", span.name)
                setattr(span, attr, None)
        if span.start_ns is not None and span.end_ns is not None and span.end_ns < span.start_ns:
            problems.add(file, line, f"span {span.name!r} ends before it starts: its end is left empty", span.name)
            span.end_ns = None
        for name, _, _ in span.events:
            if name not in READ_EVENTS and name not in unread:
                unread[name] = (file, line)
    for name, (file, line) in list(unread.items())[:20]:
        problems.add(file, line, f"not read: span events named {name!r}", name)
    return spans


def _times(values: list[int | None]) -> pd.arrays.DatetimeArray:
    ns = np.array([NS_MIN - 1 if v is None else v for v in values], dtype="int64")  # NaT
    return pd.array(ns.view("datetime64[ns]")).tz_localize("UTC") if len(ns) else \
        pd.array(np.array([], dtype="datetime64[ns]")).tz_localize("UTC")


def _frame(rows: list[dict[str, Any]], time_columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in time_columns:
        if column in frame.columns:
            frame[column] = _times([row.get(column) for row in rows])
    return frame


def run_from_spans(spans: list[Span], *, meta: dict[str, Any], problems: Problems,
                   task_key: str = "trace") -> Run:
    """The Run of ``spans``: mapped by :func:`_spans.map_spans`, tasks and failures per task,
    times as UTC timestamps."""
    spans = _checked(spans, problems)
    mapped = map_spans(spans, task_key=task_key)
    events_columns = mapped["events"]
    built = _tasks_and_failures(spans, mapped["tree"], events_columns)
    facts = _meta(spans, mapped["classes"], events_columns)
    # Times go from the lists of ints straight to datetimes: a DataFrame would first make a
    # column with a missing time float, which cannot hold nanoseconds since 1970 exactly.
    events = pd.DataFrame({k: (_times(v) if k in ("start", "end") else v) for k, v in events_columns.items()})
    tasks = _frame(built["tasks"], ("start", "end"))
    messages = _frame(mapped["messages"], ("timestamp",))
    for key in ("started", "ended"):
        facts[key] = None if facts[key] is None else pd.Timestamp(facts[key], unit="ns", tz="UTC").isoformat()
    return Run(meta={**facts, "task_key": task_key, **meta}, tasks=tasks, events=events, messages=messages,
               failures=pd.DataFrame(built["failures"]), problems=problems.frame())
