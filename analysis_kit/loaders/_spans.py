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

from ._span_messages import messages_from_spans

LLM_OPERATIONS = {"chat", "text_completion", "generate_content", "completion"}
AGENT_OPERATIONS = {"invoke_agent", "create_agent", "invoke_workflow"}
OPENINFERENCE_KINDS = {"LLM": "llm_call", "TOOL": "tool_call", "AGENT": "agent", "CHAIN": "chain",
                       "RETRIEVER": "retriever", "EMBEDDING": "embedding", "RERANKER": "reranker",
                       "GUARDRAIL": "guardrail", "EVALUATOR": "evaluator", "PROMPT": "prompt"}
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
                  "llm.invocation_parameters", "code.", "logfire.msg_template")

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
    (r"^coordination\.session$", "session"),
    (r"^coordination\.iteration\.(?P<round>\d+)$", "iteration"),
    (r"^subagent\.(?P<agent>.+)$", "agent"),
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
    if operation == "embeddings":
        return "embedding", _first(attrs, MODEL_KEYS), {}
    oi_kind = OPENINFERENCE_KINDS.get(str(attrs.get("openinference.span.kind", "")).upper())
    if oi_kind == "llm_call":
        return oi_kind, _first(attrs, MODEL_KEYS), {}
    if oi_kind == "tool_call":
        return oi_kind, _first(attrs, TOOL_KEYS), {}
    if oi_kind:
        return oi_kind, _first(attrs, ("agent.name",)) if oi_kind == "agent" else span.name, {}
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
    return json.dumps(attrs, ensure_ascii=False, default=str) if attrs else None


def _task_ids(tree: _Tree, task_key: str) -> list[str | None]:
    spans = tree.spans
    if task_key == "trace":
        return [s.trace_id for s in spans]
    keys = CONVERSATION_KEYS if task_key == "conversation" else (task_key,)
    found = tree.inherited([_first(s.attributes, keys) for s in spans])
    return [str(v) if v is not None else s.trace_id for v, s in zip(found, spans)]


def map_spans(spans: list[Span], *, task_key: str = "trace") -> dict[str, Any]:
    """The events, messages, tasks and failures of ``spans`` plus meta facts.

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
    rounds = tree.inherited([_first(s.attributes, ROUND_KEYS) if kind != "iteration" else None
                             for s, (kind, _, _) in zip(spans, classes)])
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
        row["error"].append(_error(span))
        row["attrs"].append(_attrs_text(span, extra, moved))
    messages = messages_from_spans(spans, classes, tasks, agents, tree.inherited(
        [_first(s.attributes, CONVERSATION_KEYS) for s in spans]))
    return {"events": events, "messages": messages, **_tasks_and_failures(spans, tree, events),
            "meta": _meta(spans, classes, events)}


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


def _times(values: list[int | None]):
    import pandas as pd

    return pd.to_datetime(pd.array(values, dtype="Int64"), unit="ns", utc=True)


def run_from_spans(spans: list[Span], *, meta: dict[str, Any], problems, task_key: str = "trace"):
    """The Run of ``spans``: mapped by :func:`map_spans`, times as UTC timestamps."""
    import pandas as pd

    from ..model import Run

    mapped = map_spans(spans, task_key=task_key)
    events = pd.DataFrame(mapped["events"])
    tasks = pd.DataFrame(mapped["tasks"])
    messages = pd.DataFrame(mapped["messages"])
    for frame, columns in ((events, ("start", "end")), (tasks, ("start", "end")), (messages, ("timestamp",))):
        for column in columns:
            if column in frame.columns:
                frame[column] = _times(frame[column].tolist())
    facts = mapped["meta"]
    for key in ("started", "ended"):
        facts[key] = None if facts[key] is None else pd.Timestamp(facts[key], unit="ns", tz="UTC").isoformat()
    meta = {**facts, "task_key": task_key, **meta}
    return Run(meta=meta, tasks=tasks, events=events, messages=messages,
               failures=pd.DataFrame(mapped["failures"]), problems=problems.frame())
