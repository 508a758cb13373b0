"""OpenAI chat messages (``{role, content, tool_calls, tool_call_id, name, timestamp}``), as
MASEval's ``MessageHistory``, tau2-bench and most harnesses write them: the parts every
format with such messages shares.

>>> from analysis_kit.model import Problems
>>> from analysis_kit.loaders._values import Where
>>> where = Where(Problems(), "f.jsonl", 1, "task t1")
>>> content_text([{"type": "text", "text": "Hi"}, {"type": "image_url"}])
'Hi\\n[image_url]'
>>> tool_calls([{"id": "c1", "function": {"name": "f", "arguments": "{oops"}}], "messages[2]", where)
[{'id': 'c1', 'name': 'f', 'arguments': '{oops'}]
>>> where.problems.rows[0]["reason"]
'task t1: messages[2].tool_calls[0] arguments are not valid JSON'
"""

from __future__ import annotations

from typing import Any

from ._columns import json_or_text
from ._values import Where, short_json

KNOWN_ROLES = frozenset({"system", "user", "assistant", "tool", "function", "developer"})


def content_text(content: Any) -> str | None:
    """Text as written; a list of parts joined by newlines (a non-text part as ``[<type>]``);
    anything else as its JSON."""
    if content is None or isinstance(content, str):
        return content
    if not isinstance(content, list):
        return short_json(content, cut=10**9)
    return "\n".join(p if isinstance(p, str) else p["text"] if isinstance(p, dict) and isinstance(p.get("text"), str)
                     else f"[{p.get('type', 'part')}]" if isinstance(p, dict) else str(p) for p in content)


def checked_role(message: dict, path: str, where: Where) -> dict:
    """``message`` with a role that is not an OpenAI chat role kept as text, and reported."""
    role = message.get("role")
    if isinstance(role, str) and role in KNOWN_ROLES:
        return message
    shown = repr(role) if len(repr(role)) <= 80 else repr(role)[:77] + "..."  # untrusted length
    where.problem(f"{path} has unknown role {shown}; kept", role)
    return {**message, "role": None if role is None else str(role)}


def tool_calls(calls: Any, path: str, where: Where) -> list[dict] | None:
    """``[{id, name, arguments}]`` of OpenAI ``tool_calls`` (``function.arguments`` parsed from
    its JSON string; text that is not JSON is kept as written, and reported). None when none."""
    out = []
    for i, call in enumerate(where.listing(calls, f"{path}.tool_calls")):
        if not isinstance(call, dict):
            where.problem(f"{path}.tool_calls[{i}] is not an object", call)
            continue
        fn = call["function"] if isinstance(call.get("function"), dict) else call
        args = fn.get("arguments")
        if isinstance(args, str) and isinstance(args := json_or_text(args) if args.strip() else {}, str):
            where.problem(f"{path}.tool_calls[{i}] arguments are not valid JSON", args)
        out.append({"id": call.get("id"), "name": fn.get("name"), "arguments": args})
    return out or None
