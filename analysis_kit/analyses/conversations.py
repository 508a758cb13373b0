"""Conversations: message and tool-call counts, repeated identical tool calls, the largest
tool outputs, one task's transcript, and export as OpenAI-format JSONL.

Message text is untrusted: these functions return it raw; escaping is the display's job
(analysis_kit.safe)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..model import Run
from ._util import attr, empty_frame, parse_json, table, tasks_success

PREVIEW_CHARS = 200


def _calls_of(text: Any) -> list[dict]:
    """The tool calls in one ``tool_calls`` JSON text (a list of {id, name, arguments})."""
    value = parse_json(text)
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return []
    return [c for c in value if isinstance(c, dict)]


def _exploded_calls(messages: pd.DataFrame) -> pd.DataFrame:
    """One row per tool call in messages: keys, idx, tool, arguments (canonical JSON text)."""
    carrying = messages[messages["tool_calls"].notna()]
    columns = ["run_id", "task_id", "trial", "agent", "idx", "tool", "arguments", "call_id"]
    if carrying.empty:
        return empty_frame(columns)
    parsed = {t: _calls_of(t) for t in pd.unique(carrying["tool_calls"].to_numpy())}
    lists = carrying["tool_calls"].map(parsed)
    exploded = carrying[["run_id", "task_id", "trial", "agent", "idx"]].assign(_call=lists).explode("_call")
    exploded = exploded[exploded["_call"].notna()]
    if exploded.empty:
        return empty_frame(columns)
    calls = exploded["_call"]
    exploded["tool"] = calls.map(lambda c: c.get("name") or (c.get("function") or {}).get("name"))
    exploded["arguments"] = calls.map(lambda c: _canonical(c.get("arguments", (c.get("function") or {}).get("arguments"))))
    exploded["call_id"] = calls.map(lambda c: c.get("id"))
    return exploded[columns].reset_index(drop=True)


def _canonical(arguments: Any) -> str:
    """Arguments as sorted-key JSON, so {"a":1,"b":2} and {"b":2,"a":1} are the same call;
    a string that is itself JSON is parsed first."""
    if isinstance(arguments, str):
        parsed = parse_json(arguments)
        if parsed is None:
            return arguments
        arguments = parsed
    return json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str)


def message_counts(messages: Run | pd.DataFrame) -> pd.DataFrame:
    """Per task attempt and agent: messages, messages by role and tool calls made.

    >>> import pandas as pd
    >>> m = pd.DataFrame({"task_id": ["t"] * 3, "agent": ["a"] * 3,
    ...     "role": ["user", "assistant", "tool"],
    ...     "tool_calls": [None, '[{"id": "1", "name": "f", "arguments": {}}]', None]})
    >>> message_counts(m)[["messages", "assistant", "tool_calls"]].values.tolist()
    [[3, 1, 1]]
    """
    m = table(messages, "messages")
    keys = (["run_id"] if m["run_id"].nunique() > 1 else []) + ["task_id", "trial", "agent"]
    if m.empty:
        return empty_frame(keys + ["messages", "system", "user", "assistant", "tool", "tool_calls"])
    roles = m.assign(_role=m["role"].fillna("unknown")).groupby(keys + ["_role"], dropna=False) \
        .size().unstack("_role", fill_value=0)
    for role in ("system", "user", "assistant", "tool"):
        if role not in roles.columns:
            roles[role] = 0
    roles.columns.name = None
    out = roles.copy()
    out.insert(0, "messages", roles.sum(axis=1))
    calls = _exploded_calls(m)
    n_calls = calls.groupby(keys, dropna=False).size() if len(calls) else pd.Series(dtype="int64")
    out["tool_calls"] = n_calls.reindex(out.index).fillna(0).astype("int64").to_numpy() if len(n_calls) else 0
    fixed = ["messages", "system", "user", "assistant", "tool"]
    others = [c for c in out.columns if c not in fixed + ["tool_calls"]]
    return out.reset_index()[keys + fixed + others + ["tool_calls"]]


def _event_calls(events: pd.DataFrame) -> pd.DataFrame:
    """Tool calls from tool_call events whose attrs carry the ``arguments`` (the contract's
    key, ``model.ATTR_KEYS``; where a source kept only a preview, ``arguments_truncated`` says
    so, and long calls that differ only after the cut look the same)."""
    tools = events[events["kind"] == "tool_call"]
    args = attr(tools, "arguments")
    tools = tools[args.notna()]
    return pd.DataFrame({
        "run_id": tools["run_id"], "task_id": tools["task_id"], "trial": tools["trial"],
        "agent": tools["agent"], "idx": pd.NA, "tool": tools["name"],
        "arguments": args[args.notna()].map(_canonical), "call_id": pd.NA,
    })


def repeated_tool_calls(messages: Run | pd.DataFrame, min_count: int = 2) -> pd.DataFrame:
    """Identical tool calls (same tool, same arguments) made at least ``min_count`` times
    within one task attempt and agent, most repeated first. From ``messages.tool_calls``;
    given a Run, tool_call events whose attrs carry arguments are used for each task and
    agent whose messages hold no tool calls.

    >>> import pandas as pd
    >>> call = '[{"id": "%s", "name": "get", "arguments": {"x": 1}}]'
    >>> m = pd.DataFrame({"task_id": ["t"] * 3, "agent": ["a"] * 3, "role": ["assistant"] * 3,
    ...                   "idx": [0, 1, 2], "tool_calls": [call % 1, call % 2, None]})
    >>> repeated_tool_calls(m)[["tool", "arguments", "count"]].values.tolist()
    [['get', '{"x": 1}', 2]]
    """
    keys = ["run_id", "task_id", "trial", "agent"]
    columns = keys + ["tool", "arguments", "count", "first_idx"]
    m = table(messages, "messages")
    calls = _exploded_calls(m)
    if isinstance(messages, Run):
        extra = _event_calls(messages.events)
        if len(extra) and len(calls):  # events only where messages hold no calls for that agent
            seen = calls[keys].drop_duplicates().assign(_seen=True)
            extra = extra.merge(seen, on=keys, how="left")
            extra = extra[extra["_seen"].isna()].drop(columns="_seen")
        if len(extra):
            calls = pd.concat([calls, extra], ignore_index=True) if len(calls) else extra
    if calls.empty:
        return empty_frame(columns)
    calls["idx"] = pd.to_numeric(calls["idx"], errors="coerce")
    out = calls.groupby(keys + ["tool", "arguments"], dropna=False).agg(
        count=("tool", "size"), first_idx=("idx", "min")).reset_index()
    out = out[out["count"] >= min_count]
    out = out.sort_values(["count", "task_id", "tool"], ascending=[False, True, True], kind="stable")
    return out[columns].reset_index(drop=True)


def largest_tool_outputs(messages: Run | pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` longest tool results (role tool, by content length), with a preview.

    >>> import pandas as pd
    >>> m = pd.DataFrame({"task_id": ["t", "t"], "role": ["tool", "tool"], "content": ["ab", "abcd"]})
    >>> largest_tool_outputs(m, n=1)["length"].tolist()
    [4]
    """
    columns = ["task_id", "trial", "agent", "idx", "name", "tool_call_id", "length", "preview"]
    m = table(messages, "messages")
    tools = m[m["role"] == "tool"]
    if tools.empty:
        return empty_frame(columns)
    tools = tools.assign(length=tools["content"].str.len().fillna(0).astype("int64"))
    top = tools.nlargest(n, "length", keep="first")
    top = top.assign(preview=top["content"].str.slice(0, PREVIEW_CHARS))
    extra = ["run_id"] if m["run_id"].nunique() > 1 else []
    return top[extra + columns].reset_index(drop=True)


def _readable_calls(text: Any) -> Any:
    calls = _calls_of(text)
    if not calls:
        return pd.NA
    return "; ".join(f"{c.get('name')}({_canonical(c.get('arguments'))})" for c in calls)


def transcript(messages: Run | pd.DataFrame, task_id: str, trial: int | None = None,
               agent: str | None = None) -> pd.DataFrame:
    """One task's conversation as a table: idx, role, agent, content (raw, escape before
    display), tool calls as ``name(arguments)``, tool_call_id, time. Without ``trial`` the
    task's first trial is shown.

    >>> import pandas as pd
    >>> m = pd.DataFrame({"task_id": ["t", "t"], "idx": [1, 0], "role": ["assistant", "user"],
    ...                   "content": ["hi", "hello"]})
    >>> transcript(m, "t")["role"].tolist()
    ['user', 'assistant']
    """
    columns = ["idx", "role", "agent", "content", "tool_calls", "tool_call_id", "name", "time"]
    m = table(messages, "messages")
    m = m[m["task_id"] == task_id]
    if trial is None and m["trial"].notna().any():
        trial = m["trial"].min()
    if trial is not None:
        m = m[m["trial"] == trial]
    if agent is not None:
        m = m[m["agent"] == agent]
    if m.empty:
        return empty_frame(columns)
    m = m.sort_values(["idx", "timestamp"], kind="stable", na_position="last")
    out = m.assign(tool_calls=m["tool_calls"].map(_readable_calls), time=m["timestamp"])
    return out[columns].reset_index(drop=True)


def _openai_message(row: dict) -> dict:
    """One message in OpenAI chat format (tool call arguments as a JSON string)."""
    msg: dict[str, Any] = {"role": row["role"] if isinstance(row["role"], str) else "unknown",
                           "content": row["content"] if isinstance(row["content"], str) else None}
    calls = _calls_of(row["tool_calls"])
    if calls:
        msg["tool_calls"] = [{
            "id": c.get("id"), "type": "function",
            "function": {"name": c.get("name"),
                         "arguments": c["arguments"] if isinstance(c.get("arguments"), str)
                         else json.dumps(c.get("arguments", {}), ensure_ascii=False, default=str)},
        } for c in calls]
    if isinstance(row["tool_call_id"], str):
        msg["tool_call_id"] = row["tool_call_id"]
    if isinstance(row["name"], str) and msg["role"] == "tool":
        msg["name"] = row["name"]
    return msg


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def export_openai_jsonl(run: Run, path: str | Path, agent: str | None = None,
                        task_id: str | None = None, outcome: str | None = None) -> int:
    """Write one conversation per line, ``{"messages": [...], "run_id", "task_id", "trial",
    "agent", "success"}``, messages in OpenAI chat format; filtered by ``agent``,
    ``task_id`` and ``outcome`` ("success" or "failure", from the tasks table). Returns the
    number of lines written.

    >>> import pandas as pd, tempfile, os
    >>> run = Run(meta={"run_id": "r"}, messages=pd.DataFrame({"task_id": ["t"], "idx": [0],
    ...     "role": ["user"], "content": ["hi"]}))
    >>> export_openai_jsonl(run, os.path.join(tempfile.mkdtemp(), "out.jsonl"))
    1
    """
    if outcome not in (None, "success", "failure"):
        raise ValueError(f"outcome must be 'success', 'failure' or None, not {outcome!r}")
    m = run.messages
    if agent is not None:
        m = m[m["agent"] == agent]
    if task_id is not None:
        m = m[m["task_id"] == task_id]
    outcome_of, fallback = {}, {}
    t = run.tasks
    for rid, tid, trial, ok in zip(t["run_id"], t["task_id"], t["trial"], tasks_success(t)):
        ok = _plain(ok)
        outcome_of.setdefault((_plain(rid), _plain(tid), _plain(trial)), ok)
        fallback.setdefault((_plain(rid), _plain(tid)), ok)
    keys = ["run_id", "task_id", "trial", "agent"]
    lines = 0
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for key, conv in m.sort_values(keys + ["idx"], kind="stable").groupby(keys, dropna=False, sort=False):
            rid, tid, trial, who = (_plain(k) for k in key)
            success = outcome_of.get((rid, tid, trial), fallback.get((rid, tid)))
            success = None if success is None else bool(success)
            if outcome is not None and success is not (outcome == "success"):
                continue
            record = {
                "messages": [_openai_message(r) for r in conv[["role", "content", "tool_calls", "tool_call_id", "name"]].to_dict("records")],
                "run_id": rid, "task_id": tid, "trial": trial, "agent": who, "success": success,
            }
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            lines += 1
    return lines
