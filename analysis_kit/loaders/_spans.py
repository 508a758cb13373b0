"""Spans to the Run's tables, by semantic conventions rather than by framework.

The format modules (``otlp``, ``logfire``) read their files into :class:`Span` records; this
module maps them, whatever wrote them, by the attributes they carry:

- OpenTelemetry GenAI: ``gen_ai.operation.name`` (chat, text_completion, generate_content ->
  ``llm_call``; execute_tool -> ``tool_call``; invoke_agent, create_agent, invoke_workflow ->
  ``agent``; embeddings -> ``embedding``), models, ``gen_ai.usage.*`` (and the deprecated
  ``prompt_tokens``/``completion_tokens``), tool name, arguments and result, agent name,
  conversation id, ``error.type``;
- OpenInference: ``openinference.span.kind``, ``llm.model_name``, ``llm.token_count.*``,
  ``tool.name``, ``input.value``/``output.value``, ``session.id``;
- Logfire's and MassGen's span names (``agent.<id>.round_<n>``, ``llm.<provider>.stream``,
  ``mcp.<server>.<tool>``, ``Tool execution: <name>``, ``Agent answer: ...``, ...) and
  ``massgen.*`` attributes (agent, round, outcome, votes, ``massgen.usage.*``).

A span no convention names is kept as ``kind="span"``. Where one span carries two
conventions (OpenInference's processor adds its keys next to GenAI's) each quantity is taken
from the first key found, never summed. Usage a framework reports at several levels (per
call, and again aggregated on the parent) is counted once: a span's usage is moved to its
``attrs`` (``aggregate_<field>``) when a span below it carries usage too. Errors come from the
span status and its ``exception`` event, else from the conventions' error attributes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..model import to_json_text
from ._span_messages import messages_from_spans

LLM_OPERATIONS = {"chat", "text_completion", "generate_content", "completion"}
AGENT_OPERATIONS = {"invoke_agent", "create_agent", "invoke_workflow"}
# OpenInference kinds with a kind of their own here; the rest (CHAIN, RETRIEVER, RERANKER,
# GUARDRAIL, PROMPT) are kind "span" with their OpenInference kind in attrs.
OPENINFERENCE_KINDS = {"LLM": "llm_call", "EMBEDDING": "llm_call", "TOOL": "tool_call", "AGENT": "agent",
                       "EVALUATOR": "evaluator"}
# Per quantity, the keys that carry it, first found wins (so two conventions on one span
# are never added up).
USAGE_KEYS = {
    "input_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
                     "massgen.usage.input"),
    "output_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                      "llm.token_count.completion", "massgen.usage.output"),
    "cached_tokens": ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
                      "gen_ai.usage.details.cache_read_tokens", "llm.token_count.prompt_details.cache_read",
                      "massgen.usage.cached_input"),
    "cache_write_tokens": ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens",
                           "gen_ai.usage.details.cache_write_tokens", "llm.token_count.prompt_details.cache_write"),
    "reasoning_tokens": ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
                         "gen_ai.usage.details.reasoning_tokens", "llm.token_count.completion_details.reasoning",
                         "massgen.usage.reasoning"),
    "cost_usd": ("gen_ai.usage.cost", "operation.cost", "llm.cost.total", "massgen.usage.cost"),
}
COLUMN_USAGE = ("input_tokens", "output_tokens", "cached_tokens", "cost_usd")  # the rest go to attrs
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name", "llm.model")
TOOL_KEYS = ("gen_ai.tool.name", "tool.name", "tool_name")
AGENT_KEYS = ("massgen.agent_id", "gen_ai.agent.name", "agent.name", "agent_id", "agent_name")
CONVERSATION_KEYS = ("gen_ai.conversation.id", "session.id")
ROUND_KEYS = ("massgen.round", "massgen.round_number", "round_number", "round")
# Big payloads that are messages (messages table) or schemas: kept out of events.attrs.
HEAVY_PREFIXES = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
                  "gen_ai.tool.definitions", "pydantic_ai.all_messages", "model_request_parameters",
                  "logfire.json_schema", "llm.input_messages", "llm.output_messages", "llm.tools",
                  "llm.invocation_parameters", "code.", "logfire.msg_template",
                  # a tool call's arguments and result: attrs ``arguments``/``result`` instead
                  "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "tool.parameters", "input.value",
                  "output.value", "tool.input_preview", "tool.output_preview", "arguments_preview",
                  "output_preview")
ARGUMENT_KEYS = ("gen_ai.tool.call.arguments", "tool.parameters", "input.value")
RESULT_KEYS = ("gen_ai.tool.call.result", "output.value")

_MASSGEN_NAMES = [(re.compile(p), kind) for p, kind in (
    (r"^agent\.(?P<agent>.+)\.(?:round|iteration)_(?P<round>\d+)$", "round"),
    (r"^agent\.(?P<agent>.+)\.presentation$", "round"),
    (r"^llm\.(?:call\.)?(?P<provider>[^.]+)(?:\.(?P<op>[^.]+))?$", "llm_call"),
    (r"^mcp\.(?P<server>[^.]+)\.(?P<tool>.+)$", "tool_call"),
    (r"^(?:mcp_tool|custom_tool|tool\.custom|tool)\.(?P<tool>.+)$", "tool_call"),
    (r"^Tool execution: (?P<tool>.+)$", "tool_call"),
    (r"^Agent answer: (?P<label>.+)$", "answer"),
    (r"^Agent vote: (?P<agent>.+) -> (?P<label>.+)$", "vote"),
    (r"^Coordination event: (?P<event>.+)$", "coordination"),
    (r"^Winner selected: (?P<label>.+)$", "coordination"),
    (r"^Final answer from (?P<agent>.+)$", "coordination"),
    (r"^Agent restart: ", "restart"),
    (r"^subagent\.(?P<agent>.+)$", "subtask"),
)]


@dataclass(slots=True)
class Span:
    """One span as read from any export, times in Unix nanoseconds."""

    trace_id: str | None
    span_id: str | None
    parent_id: str | None
    name: str
    start_ns: int | None
    end_ns: int | None
    attributes: dict[str, Any]
    status: str = "unset"  # "ok", "error" or "unset"
    status_message: str | None = None
    events: list[tuple[str, int | None, dict[str, Any]]] = field(default_factory=list)
    service: str | None = None
    scope: str | None = None
    is_log: bool = False
    where: tuple[Any, int | None] | None = None  # (file, line) it was read from, for problems


def _first(attrs: dict[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "null":
            return value
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is no value


def classify(span: Span) -> tuple[str, str | None, dict[str, Any]]:
    """(kind, name, facts the span's name carries) by GenAI, OpenInference, then MassGen."""
    attrs = span.attributes
    operation = attrs.get("gen_ai.operation.name")
    if operation in LLM_OPERATIONS:
        return "llm_call", _first(attrs, MODEL_KEYS), {}
    if operation == "execute_tool":
        return "tool_call", _first(attrs, TOOL_KEYS), {}
    if operation in AGENT_OPERATIONS:
        return "agent", _first(attrs, ("gen_ai.agent.name", "agent_name")) or span.name, {"operation": operation}
    if operation == "embeddings":  # a model call too: tokens and latency
        return "llm_call", _first(attrs, MODEL_KEYS), {"operation": operation}
    oi_kind = OPENINFERENCE_KINDS.get(str(attrs.get("openinference.span.kind", "")).upper())
    if oi_kind == "llm_call":
        return oi_kind, _first(attrs, MODEL_KEYS), {}
    if oi_kind == "tool_call":
        return oi_kind, _first(attrs, TOOL_KEYS), {}
    if oi_kind == "agent":
        return oi_kind, _first(attrs, ("agent.name",)) or span.name, {}
    if oi_kind:
        return oi_kind, _first(attrs, MODEL_KEYS) or span.name, {}
    for pattern, kind in _MASSGEN_NAMES:
        match = pattern.match(span.name)
        if match:
            return kind, *_massgen_name(kind, span, match.groupdict())
    return "span", span.name, {}


def _massgen_name(kind: str, span: Span, parts: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    attrs = span.attributes
    facts = {k: v for k, v in parts.items() if v is not None}
    if kind == "round":  # the names the rounds and coordination analyses read in attrs
        number = _first(attrs, ROUND_KEYS) if parts.get("round") is None else parts["round"]
        for key in ("outcome", "round_type", "voted_for", "answer_label"):
            if attrs.get(f"massgen.{key}") is not None:
                facts[key] = attrs[f"massgen.{key}"]
        return (f"round {number}" if number is not None else "presentation"), facts
    if kind == "llm_call":
        return _first(attrs, MODEL_KEYS), facts
    if kind == "tool_call":
        tool = _first(attrs, TOOL_KEYS)
        if tool is None and "server" in parts:
            tool = f"mcp__{parts['server']}__{parts['tool']}"
        return tool or parts.get("tool"), facts
    if kind == "answer":
        return _first(attrs, ("answer_label",)) or parts["label"], facts
    if kind == "vote":
        return _first(attrs, ("voted_for_label",)) or parts["label"], facts
    if kind == "coordination":
        event = _first(attrs, ("event_type",)) or parts.get("event")
        return event or span.name, facts
    return span.name, facts


def _error(span: Span) -> str | None:
    """The span's error text: exception event, status, then the conventions' attributes."""
    if span.status == "error" or any(name == "exception" for name, _, _ in span.events):
        for name, _, attrs in span.events:
            if name == "exception":
                kind, message = attrs.get("exception.type"), attrs.get("exception.message")
                return ": ".join(str(p) for p in (kind, message) if p) or "error"
        return span.status_message or span.attributes.get("error.type") or "error"
    attrs = span.attributes
    if attrs.get("error.type"):
        return str(attrs["error.type"])
    if attrs.get("massgen.outcome") == "error":
        return str(attrs.get("massgen.error_message") or "error")
    if attrs.get("tool.success") is False or attrs.get("success") is False:
        return str(_first(attrs, ("tool.error", "error_message")) or "error")
    return None


class _Tree:
    """Parent lookups within a trace, and values inherited down the tree."""

    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans
        self.index = {(s.trace_id, s.span_id): i for i, s in enumerate(spans) if s.span_id is not None}

    def parent(self, i: int) -> int | None:
        span = self.spans[i]
        return self.index.get((span.trace_id, span.parent_id)) if span.parent_id else None

    def inherited(self, own: list[Any]) -> list[Any]:
        """Each span's own value, else its nearest ancestor's (cycles stop the climb)."""
        out = list(own)
        done = [v is not None for v in own]
        for i in range(len(out)):
            chain, j, seen = [], i, set()
            while not done[j] and j not in seen:
                seen.add(j)
                chain.append(j)
                parent = self.parent(j)
                if parent is None:
                    break
                j = parent
            value = out[j] if done[j] else None
            for k in chain:
                out[k], done[k] = value, True
        return out

    def below_flags(self, flagged: list[bool]) -> list[bool]:
        """True for spans with a flagged span somewhere below them."""
        out = [False] * len(self.spans)
        for i, flag in enumerate(flagged):
            if not flag:
                continue
            j, seen = self.parent(i), {i}
            while j is not None and not out[j] and j not in seen:
                out[j] = True
                seen.add(j)
                j = self.parent(j)
        return out


def _fold_repeated_tool_calls(spans: list[Span], classes: list[tuple], tree: _Tree) -> list[tuple]:
    """One tool call recorded at several levels counts once. MassGen opens ``mcp_tool.<name>``
    around the MCP client's ``mcp.<server>.<tool>`` span and then logs ``Tool execution:
    <name>`` next to them: an inner tool span of the same tool as its parent, and a tool log
    after a sibling tool span of the same tool, become ``kind="span"`` details (attrs
    ``detail_of``: the call's span id). A log with no such span stays the tool call."""
    out = list(classes)
    siblings: dict[int | None, list[int]] = {}
    for i in range(len(spans)):
        siblings.setdefault(tree.parent(i), []).append(i)
    for i, (kind, name, facts) in enumerate(classes):
        if kind != "tool_call":
            continue
        parent = tree.parent(i)
        if not spans[i].is_log:
            if parent is not None and classes[parent][0] == "tool_call" and classes[parent][1] == name:
                out[i] = ("span", spans[i].name, {**facts, "detail_of": spans[parent].span_id})
            continue
        ended = spans[i].end_ns or 0
        calls = [j for j in siblings.get(parent, []) if j != i and not spans[j].is_log
                 and classes[j][0] == "tool_call" and classes[j][1] == name and (spans[j].end_ns or 0) <= ended]
        if calls:
            call = max(calls, key=lambda j: spans[j].end_ns or 0)
            out[i] = ("span", spans[i].name, {**facts, "detail_of": spans[call].span_id})
    return out


def _tool_facts(attrs: dict[str, Any]) -> dict[str, Any]:
    """A tool call's ``arguments`` (an object where it is JSON) and ``result`` (text), as
    the analyses read them; MassGen keeps only previews (``arguments_truncated``)."""
    facts: dict[str, Any] = {}
    arguments = _first(attrs, ARGUMENT_KEYS)
    if arguments is None and _first(attrs, ("tool.input_preview", "arguments_preview")) is not None:
        arguments = _first(attrs, ("tool.input_preview", "arguments_preview"))
        facts["arguments_truncated"] = True
    if isinstance(arguments, str) and arguments[:1] == "{":
        try:
            arguments = json.loads(arguments)
        except ValueError:
            pass
    if arguments is not None:
        facts["arguments"] = arguments
    result = _first(attrs, RESULT_KEYS)
    length = None
    if result is None:
        result = _first(attrs, ("tool.output_preview", "output_preview"))
        length = _number(_first(attrs, ("tool.output_chars", "output_chars")))
    if result is not None:
        facts["result"] = result if isinstance(result, str) else to_json_text(result)
        facts["result_length"] = int(length) if length is not None else len(facts["result"])
    return facts


def _usage(attrs: dict[str, Any]) -> dict[str, float]:
    found = {}
    for quantity, keys in USAGE_KEYS.items():
        value = _number(_first(attrs, keys))
        if value is not None:
            found[quantity] = value
    return found


def _attrs_text(span: Span, facts: dict[str, Any], usage_moved: dict[str, float]) -> str | None:
    """The span's other key=values as JSON text (heavy message payloads left out)."""
    attrs = {k: v for k, v in span.attributes.items() if not k.startswith(HEAVY_PREFIXES)}
    attrs.update(facts)
    attrs.update({f"aggregate_{k}": v for k, v in usage_moved.items()})
    if span.service:
        attrs.setdefault("service.name", span.service)
    return to_json_text(attrs) if attrs else None


def _task_ids(tree: _Tree, task_key: str) -> list[str | None]:
    spans = tree.spans
    if task_key == "trace":
        return [s.trace_id for s in spans]
    keys = CONVERSATION_KEYS if task_key == "conversation" else (task_key,)
    found = tree.inherited([_first(s.attributes, keys) for s in spans])
    return [str(v) if v is not None else s.trace_id for v, s in zip(found, spans)]


def map_spans(spans: list[Span], *, task_key: str = "trace") -> dict[str, Any]:
    """The events and messages of ``spans`` (column lists, times in ns), with the tree and
    each span's (kind, name, facts) for the tasks built from them (``_span_run``).

    ``task_key``: ``"trace"`` (one task per trace), ``"conversation"``
    (``gen_ai.conversation.id`` / ``session.id``, inherited down the tree) or an attribute
    name (e.g. a task id the run records); spans without it fall back to their trace.
    """
    tree = _Tree(spans)
    classes = _fold_repeated_tool_calls(spans, [classify(s) for s in spans], tree)
    usages = [_usage(s.attributes) for s in spans]
    usage_below = tree.below_flags([bool(u.keys() & {"input_tokens", "output_tokens", "cost_usd"}) for u in usages])
    agents = tree.inherited([_first(s.attributes, AGENT_KEYS) or facts.get("agent")
                             for s, (_, _, facts) in zip(spans, classes)])
    rounds = tree.inherited([None if s.name.startswith("coordination.") else _first(s.attributes, ROUND_KEYS)
                             for s, (kind, _, _) in zip(spans, classes)])  # an iteration is not a round
    tasks = _task_ids(tree, task_key)
    answered_by = {name: agents[i] for i, (kind, name, _) in enumerate(classes) if kind == "answer"}
    events = {c: [] for c in ("task_id", "trace_id", "span_id", "parent_id", "agent", "kind", "name",
                              "span_name", "round", "start", "end", "duration_ms", "input_tokens",
                              "output_tokens", "cached_tokens", "cost_usd", "error", "attrs")}
    for i, span in enumerate(spans):
        kind, name, facts = classes[i]
        facts = dict(facts)
        if kind == "answer":
            facts["label"] = name
        elif kind == "vote":  # the log names the answer label; the analyses want its agent
            facts["voted_for_label"], name = name, answered_by.get(name, name)
            facts["voted_for"] = name
        usage = usages[i]
        moved = usage if usage_below[i] else {}
        counted = {} if moved else usage
        start, end = span.start_ns, span.end_ns
        if span.is_log and kind == "tool_call" and end is not None:  # a log written when the call ended
            took = _number(span.attributes.get("execution_time_ms"))
            start = end - int(took * 1e6) if took is not None else start
        row = events
        row["task_id"].append(tasks[i])
        row["trace_id"].append(span.trace_id)
        row["span_id"].append(span.span_id)
        row["parent_id"].append(span.parent_id)
        row["agent"].append(agents[i])
        row["kind"].append(kind)
        row["name"].append(name)
        row["span_name"].append(span.name)
        row["round"].append(rounds[i])
        row["start"].append(start)
        row["end"].append(end)
        row["duration_ms"].append((end - start) / 1e6 if start is not None and end is not None else None)
        for column in COLUMN_USAGE:
            row[column].append(counted.get(column))
        extra = {**facts, **{k: v for k, v in counted.items() if k not in COLUMN_USAGE}}
        if kind == "tool_call":
            extra.update(_tool_facts(span.attributes))
        row["error"].append(_error(span))
        row["attrs"].append(_attrs_text(span, extra, moved))
    messages = messages_from_spans(spans, classes, tasks, agents, tree.inherited(
        [_first(s.attributes, CONVERSATION_KEYS) for s in spans]))
    return {"events": events, "messages": messages, "tree": tree, "classes": classes}
