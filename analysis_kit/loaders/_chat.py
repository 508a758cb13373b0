"""Chat records as the tables hold them: the parts every format with chat messages shares.

Agent frameworks write a message's content either as a string or as a list of typed parts
(text, reasoning, images, audio, documents, server-side tool use, data). ``messages.content``
is text, so a list is flattened: text parts as they are, every other part as a labelled line
(``[reasoning] ...``, ``[image]``), inline media never copied (a base64 image would be
megabytes of noise). Writers that deduplicate long strings store ``<scheme>://<key>``
references to a table of texts; ``resolver`` swaps them back. OpenAI-style ``tool_calls``
become ``[{id, name, arguments}]`` with the arguments parsed.

>>> from analysis_kit.model import Problems
>>> from analysis_kit.loaders._values import Where
>>> content_text([{"type": "reasoning", "reasoning": "Add them."}, {"type": "text", "text": "5"},
...               {"type": "image", "image": "data:image/png;base64,iVBO"}, {"type": "image_url"}])
'[reasoning] Add them.\\n5\\n[image]\\n[image_url]'
>>> resolve = resolver({"ab12": "long text"}, ("attachment", "tc"))
>>> resolve("attachment://ab12"), resolve("attachment://zz"), resolve(3)
('long text', 'attachment://zz', 3)
>>> where = Where(Problems(), "f.jsonl", 1, "task t1")
>>> tool_calls([{"id": "c1", "function": {"name": "f", "arguments": "{oops"}}], "messages[2]", where)
[{'id': 'c1', 'name': 'f', 'arguments': '{oops'}]
>>> where.problems.rows[0]["reason"]
'task t1: messages[2].tool_calls[0] arguments are not valid JSON'
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable

from ..model import to_json_text
from ._columns import json_or_text
from ._values import Where

Resolve = Callable[[Any], Any]
KNOWN_ROLES = frozenset({"system", "user", "assistant", "tool", "function", "developer"})
_MEDIA = ("image", "audio", "video", "image_url", "input_image", "input_audio", "file")


def resolver(texts: dict, schemes: Iterable[str]) -> Resolve:
    """A function giving, for a string ``<scheme>://<key>`` whose key is in ``texts``, that
    text; any other value (or an unknown key) as it is."""
    pattern = re.compile(rf"^(?:{'|'.join(map(re.escape, schemes))})://")
    texts = texts if isinstance(texts, dict) else {}

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and pattern.match(value):
            return texts.get(value.split("://", 1)[1], value)
        return value

    return resolve


def resolved(value: Any, resolve: Resolve, keys: Iterable[str] | None = None) -> Any:
    """``value`` with every string inside it (dict values, list items) resolved; with ``keys``,
    only inside those keys of the (dict) value, the rest kept as it is (cheaper)."""
    if keys is not None and isinstance(value, dict):
        return dict(value, **{k: resolved(value[k], resolve) for k in keys if k in value})
    if isinstance(value, dict):
        return {k: resolved(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, resolve) for v in value]
    return resolve(value)


def content_text(content: Any, resolve: Resolve = lambda v: v) -> str | None:
    """A message's content as text: a string as it is, a list of parts flattened, anything
    else as its JSON."""
    if content is None or isinstance(content, str):
        return resolve(content)
    if not isinstance(content, list):
        return to_json_text(content)
    return "\n".join(part_text(part, resolve) for part in content)


def part_text(part: Any, resolve: Resolve = lambda v: v) -> str:
    """One content part as text (non-text parts labelled with their type)."""
    if isinstance(part, str):
        return resolve(part)
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return resolve(part.get("text")) or ""
    if kind == "reasoning":
        text = resolve(part.get("summary") if part.get("redacted") else part.get("reasoning"))
        return f"[reasoning] {text}" if text else "[reasoning redacted]"
    if kind in _MEDIA:
        source = resolve(part.get(kind))
        source = source.get("url") if isinstance(source, dict) else source
        linked = isinstance(source, str) and source.startswith(("http://", "https://"))
        return f"[{kind}] {source}" if linked else f"[{kind}]"
    if kind == "document":
        name = part.get("filename")
        return f"[document {name}]" if name else "[document]"
    if kind == "tool_use":
        return (f"[tool_use {part.get('tool_type')} {part.get('name')}] "
                f"{resolve(part.get('arguments'))} -> {resolve(part.get('result'))}")
    if isinstance(part, dict) and "data" in part:
        return f"[{kind or 'data'}] {to_json_text(part['data'])}"
    if isinstance(part, dict) and isinstance(part.get("text"), str):
        return resolve(part["text"])
    return f"[{kind or 'part'}]" if isinstance(part, dict) else str(part)


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


def text_or_json(value: Any) -> str | None:
    """Text as it is, any other value as JSON text, None as None."""
    return value if value is None or isinstance(value, str) else to_json_text(value)


def short(value: Any, cut: int = 500) -> str | None:
    """`text_or_json`, cut to ``cut`` characters (an ellipsis says so)."""
    text = text_or_json(value)
    return text if text is None or len(text) <= cut else text[:cut] + "..."


def sum_known(values: Iterable[Any]) -> Any:
    """The sum of the numbers among ``values``; None when there is none (unknown is not 0)."""
    known = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(known) if known else None


def mapping(record: Any, key: str) -> dict:
    """``record[key]`` when it is an object, else {} (for optional parts read leniently)."""
    value = record.get(key) if isinstance(record, dict) else None
    return value if isinstance(value, dict) else {}


def error_text(error: Any) -> str | None:
    """An error's message: ``{"message": ...}`` objects, or the value as text."""
    if isinstance(error, dict):
        return text_or_json(error.get("message"))
    return None if error is None else str(error)


def last_line(error: Any) -> str | None:
    """The last line of an error's ``traceback`` ("RuntimeError: tool crashed"), else its message.

    >>> last_line({"message": "boom", "traceback": "Traceback ...\\n  ...\\nRuntimeError: boom\\n"})
    'RuntimeError: boom'
    """
    traceback = error.get("traceback") if isinstance(error, dict) else None
    lines = [ln.strip() for ln in traceback.splitlines() if ln.strip()] if isinstance(traceback, str) else []
    return lines[-1] if lines else error_text(error)
