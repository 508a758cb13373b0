"""Messages from span attributes: the conversation each agent had, once.

Frameworks record the conversation on their spans, repeatedly: every GenAI chat span holds
the whole history so far (``gen_ai.input.messages``) and its reply
(``gen_ai.output.messages``); pydantic-ai's agent span holds the whole run
(``pydantic_ai.all_messages``); OpenInference flattens the same into
``llm.input_messages.<i>.message.*`` / ``llm.output_messages.<i>.message.*`` (or, in
Phoenix's dataframe, a list under ``llm.input_messages``). Per task and conversation (the
conversation id, else the agent) the fullest record is used: an agent span's
``all_messages``, else the last LLM call's input plus output. Text is kept raw (it is
untrusted; displays escape it).
"""

from __future__ import annotations

import json
import re
from typing import Any

_FLAT = re.compile(r"^llm\.(input|output)_messages\.(\d+)\.message\.(.+)$")


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _arguments(value: Any) -> Any:
    """Tool arguments as a dict where they are JSON, else the raw value."""
    if isinstance(value, str):
        parsed = _json(value)
        return parsed if isinstance(parsed, dict) else value
    return value


def _genai_messages(messages: Any) -> list[dict[str, Any]]:
    """GenAI semconv messages (``[{"role", "parts": [...]}]``, or older ``content`` strings)
    as message rows; a tool result part becomes its own ``tool`` message."""
    rows = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        texts, calls = [], []
        if isinstance(message.get("content"), str):
            texts.append(message["content"])
        for part in message.get("parts") or []:
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind == "text":
                texts.append(str(part.get("content", "")))
            elif kind == "tool_call":
                calls.append({"id": part.get("id"), "name": part.get("name"),
                              "arguments": _arguments(part.get("arguments"))})
            elif kind == "tool_call_response":
                result = part.get("result", part.get("response"))
                rows.append({"role": "tool", "content": result if isinstance(result, str) else json.dumps(result),
                             "tool_call_id": part.get("id"), "name": part.get("name")})
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                function = call.get("function") or call
                calls.append({"id": call.get("id"), "name": function.get("name"),
                              "arguments": _arguments(function.get("arguments"))})
        if texts or calls:
            rows.append({"role": role, "content": "\n".join(texts) if texts else None,
                         "tool_calls": json.dumps(calls, ensure_ascii=False) if calls else None})
    return rows


def _openinference_messages(attrs: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    """OpenInference messages of one direction, flattened keys or a nested list."""
    nested = attrs.get(f"llm.{direction}_messages")
    items: dict[int, dict[str, Any]] = {}
    if isinstance(nested, list):
        for i, item in enumerate(nested):
            message = item.get("message", item) if isinstance(item, dict) else {}
            items[i] = _flatten(message)
    for key, value in attrs.items():
        match = _FLAT.match(key)
        if match and match.group(1) == direction:
            items.setdefault(int(match.group(2)), {})[match.group(3)] = value
    rows = []
    for i in sorted(items):
        fields = items[i]
        texts = [fields[k] for k in sorted(fields) if k == "content" or
                 (k.startswith("contents.") and k.endswith("message_content.text"))]
        calls: dict[str, dict[str, Any]] = {}
        for key, value in fields.items():
            call = re.match(r"^tool_calls\.(\d+)\.tool_call\.(function\.name|function\.arguments|id)$", key)
            if call:
                slot = calls.setdefault(call.group(1), {"id": None, "name": None, "arguments": None})
                field = {"function.name": "name", "function.arguments": "arguments", "id": "id"}[call.group(2)]
                slot[field] = _arguments(value) if field == "arguments" else value
        ordered = [calls[k] for k in sorted(calls, key=int)]
        rows.append({"role": fields.get("role"), "content": "\n".join(map(str, texts)) if texts else None,
                     "tool_calls": json.dumps(ordered, ensure_ascii=False) if ordered else None,
                     "tool_call_id": fields.get("tool_call_id"), "name": fields.get("name")})
    return rows


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """A nested OpenInference message as the flattened keys its exporters write."""
    out: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}{key}."))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.update(_flatten(value, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = node
    return out


def _conversation(attrs: dict[str, Any], kind: str) -> list[dict[str, Any]] | None:
    """The whole conversation a span records, or None."""
    if kind == "agent" and attrs.get("pydantic_ai.all_messages") is not None:
        return _genai_messages(_json(attrs["pydantic_ai.all_messages"]))
    if kind != "llm_call":
        return None
    system = _json(attrs.get("gen_ai.system_instructions"))
    if attrs.get("gen_ai.input.messages") is not None or attrs.get("gen_ai.output.messages") is not None:
        rows = _genai_messages([{"role": "system", "parts": system}]) if isinstance(system, list) else []
        rows += _genai_messages(_json(attrs.get("gen_ai.input.messages")))
        return rows + _genai_messages(_json(attrs.get("gen_ai.output.messages")))
    rows = _openinference_messages(attrs, "input") + _openinference_messages(attrs, "output")
    return rows or None


def messages_from_spans(spans: list, classes: list[tuple], tasks: list, agents: list,
                        conversations: list) -> list[dict[str, Any]]:
    """Message rows (task_id, agent, idx, role, content, tool_calls, tool_call_id, name,
    timestamp of the recording span's end) from the fullest record of each conversation:
    of its agent span's record and its last LLM call's, the one with more messages (the
    agent span's on a tie: it also holds the final answer's context)."""
    latest: dict[tuple, dict[str, int]] = {}  # key -> {"agent"|"llm_call": span index}
    for i, span in enumerate(spans):
        kind = classes[i][0]
        if kind == "agent" and span.attributes.get("pydantic_ai.all_messages") is None:
            continue
        if kind not in ("agent", "llm_call"):
            continue
        slot = latest.setdefault((tasks[i], conversations[i] or agents[i]), {})
        if kind not in slot or (span.end_ns or 0) >= (spans[slot[kind]].end_ns or 0):
            slot[kind] = i
    rows = []
    for (task_id, _), slot in sorted(latest.items(), key=lambda item: str(item[0][0])):
        records = [(i, _conversation(spans[i].attributes, classes[i][0]) or []) for i in
                   (slot.get("agent"), slot.get("llm_call")) if i is not None]
        i, messages = max(records, key=lambda record: len(record[1]))  # the first on a tie
        end = spans[i].end_ns
        for idx, message in enumerate(messages):
            rows.append({"task_id": task_id, "agent": agents[i], "idx": idx, "timestamp": end, **message})
    return rows
