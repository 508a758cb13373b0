"""Rows of the tables from a parsed ``execution_trace.md`` (shared by the log directory and
the lone-trace formats).

- messages, in file order: injected context (role ``system``, name: its name), reasoning
  (role ``assistant``, name ``reasoning``), content (``assistant``), each tool call (an
  ``assistant`` message with ``tool_calls``), its result (role ``tool``, with the call's id),
  a submitted answer (``assistant``, name ``answer <label>``) and a cast vote (``assistant``,
  name ``vote``: the reason);
- events (alone only; in a log directory the coordination files hold these): each workflow
  call as the event it is (``new_answer``: an ``answer``; ``vote`` joined to its ``### Vote
  Cast``: a ``vote`` with its reason), and each other call as a ``tool_call`` (arguments,
  result, whether it failed). A trace has no times but its start.
"""

from __future__ import annotations

from typing import Any

from ._columns import json_or_text
from ._massgen_trace import WORKFLOW_TOOLS, Entry, Trace


def call_id(file_key: str, entry: Entry) -> str:
    """A stable id for a call that has none in the file: the file and the call's line."""
    return f"{file_key}#L{entry.line}"


def trace_messages(trace: Trace, file_key: str, agent: str | None) -> list[dict[str, Any]]:
    """The trace's messages in file order (a result at its own place, after calls written
    back to back; ``idx`` left to the caller)."""
    out: list[tuple[int, dict[str, Any]]] = []
    for e in trace.entries:
        base = {"agent": agent, "round": e.round}
        if e.kind == "context":
            out.append((e.line, {**base, "role": "system", "name": f"injected context: {e.name}", "content": e.text}))
        elif e.kind == "reasoning":
            out.append((e.line, {**base, "role": "assistant", "name": "reasoning", "content": e.text}))
        elif e.kind == "content":
            out.append((e.line, {**base, "role": "assistant", "content": e.text}))
        elif e.kind == "answer":
            out.append((e.line, {**base, "role": "assistant", "name": f"answer {e.name}", "content": e.text}))
        elif e.kind == "vote":
            out.append((e.line, {**base, "role": "assistant", "name": "vote", "content": e.text}))
        elif e.kind == "call":
            cid = call_id(file_key, e)
            out.append((e.line, {**base, "role": "assistant", "content": None,
                                 "tool_calls": [{"id": cid, "name": e.name, "arguments": e.args}]}))
            if e.result is not None:
                out.append((e.result_line or e.line, {**base, "role": "tool", "name": e.name,
                                                      "tool_call_id": cid, "content": e.result}))
    return [m for _, m in sorted(out, key=lambda pair: pair[0])]


def tool_attrs(e: Entry, file_key: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {"arguments": e.args, "trace": file_key, "trace_line": e.line}
    if e.result is not None:
        attrs.update(result=e.result, result_length=len(e.result))
    if e.records > 1:
        attrs["records"] = e.records  # written twice by MassGen's ChatCompletions backend
    if e.round_label:
        attrs["answer_label"] = e.round_label
    return attrs


def result_error(result: str | None, is_error: bool = False) -> str | None:
    """The error a tool result reports, or None: a ``### Tool Error``, a result starting
    ``Error:``, or a command result (MassGen's command_line server) with ``success: false``
    (its stderr, else the result).

    >>> result_error('{"success": false, "stderr": "boom"}'), result_error("ok")
    ('boom', None)
    """
    if is_error:
        return result or "error"
    if not isinstance(result, str):
        return None
    if result.startswith("Error:"):
        return result
    parsed = json_or_text(result) if result.lstrip().startswith("{") else None
    if isinstance(parsed, dict) and parsed.get("success") is False:
        return str(parsed.get("stderr") or parsed.get("error") or result)
    return None


def tool_error(e: Entry) -> str | None:
    return result_error(e.result, e.is_error)


def trace_events(trace: Trace, file_key: str, agent: str | None) -> list[dict[str, Any]]:
    """Events of a trace read alone: workflow calls as answers and votes, the others as tool calls."""
    rows: list[dict[str, Any]] = []
    entries = trace.entries
    used_votes: set[int] = set()
    for i, e in enumerate(entries):
        base = {"agent": agent, "round": e.round, "start": None, "end": None}
        if e.kind == "call" and e.name not in WORKFLOW_TOOLS:
            rows.append({**base, "kind": "tool_call", "name": e.name, "error": tool_error(e),
                         "attrs": tool_attrs(e, file_key)})
        elif e.kind == "call" and e.name == "new_answer":
            text = e.args.get("content") if isinstance(e.args, dict) else None
            label = next((x.name for x in entries[i + 1:] if x.kind == "answer"), None) or e.round_label
            rows.append({**base, "kind": "answer", "name": label, "attrs": {
                "label": label, "length": len(text) if isinstance(text, str) else None, "trace": file_key}})
        elif e.kind == "call" and e.name == "vote":
            cast = next((j for j in range(i + 1, len(entries)) if entries[j].kind == "vote"
                         and j not in used_votes), None)
            if cast is not None and all(x.kind != "call" for x in entries[i + 1:cast]):
                used_votes.add(cast)
            else:
                cast = None
            rows.append(_vote_row(base, e, entries[cast] if cast is not None else None, file_key))
        elif e.kind == "vote" and i not in used_votes:
            rows.append(_vote_row(base, None, e, file_key))
    return rows


def _vote_row(base: dict, call: Entry | None, cast: Entry | None, file_key: str) -> dict[str, Any]:
    args = call.args if call is not None and isinstance(call.args, dict) else {}
    voted_for = args.get("agent_id") if isinstance(args.get("agent_id"), str) else None
    reason = cast.text if cast is not None and cast.text is not None else args.get("reason")
    attrs = {"voted_for": voted_for or (cast.voted_for if cast else None), "reason": reason, "trace": file_key,
             "voted_for_label": cast.voted_for if cast else None,
             "available_options": cast.options if cast else None, "cast": cast is not None}
    return {**base, "kind": "vote", "name": attrs["voted_for"], "attrs": attrs}
