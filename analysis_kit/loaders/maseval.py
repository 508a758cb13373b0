"""Loader for MASEval runs: ``FileResultLogger`` JSONL results and traced conversations.

What the real writer produces (read from parameterlab/MASEval and maseval/MASEval sources):

- ``maseval/core/callbacks/result_logger.py``: ``FileResultLogger`` appends one
  ``json.dumps(report, default=str)`` line per task repeat to ``benchmark_<YYYYMMDD_HHMMSS>.jsonl``;
  the filtered report keeps ``task_id, repeat_idx, status, error`` and (by include flags)
  ``traces, config, eval``. ``finalize()`` writes ``<stem>.meta.json`` =
  ``{output_file, timestamp, n_tasks, n_repeats, total_iterations, lines_written,
  include_traces, include_config, include_eval, validation_enabled}`` -- a killed run has
  no ``.meta.json`` and may end in a partial line.
- ``maseval/core/benchmark.py``: ``TaskExecutionStatus`` values are ``success``,
  ``agent_error``, ``environment_error``, ``user_error``, ``task_timeout``,
  ``unknown_execution_error``, ``evaluation_failed``, ``setup_failed`` and the deprecated
  ``task_execution_failed``. ``error`` is ``{error_type, error_message, traceback}`` plus
  ``component, details`` (agent/environment/user errors) or ``elapsed, timeout`` (timeouts).
  ``eval`` is the evaluators' output (a list of dicts, or None when evaluation was skipped).
- ``maseval/core/registry.py``: ``traces = {metadata{timestamp, thread_id, total_components},
  agents{}, models{}, tools{}, simulators{}, callbacks{}, environment, user, other{}}``; a
  component whose ``gather_traces`` raised is ``{error, error_type, component_type}``.
- ``maseval/core/agent.py``: ``agents.<name> = {type, gathered_at, name, agent_type,
  message_count, messages, callbacks, logs}``; messages come from ``MessageHistory``
  (``core/history.py``): OpenAI chat dicts ``{role, content (str or list of parts), name,
  tool_calls[{id, type, function{name, arguments (JSON string)}}], tool_call_id, metadata,
  timestamp}``.
- ``maseval/core/model.py``: ``models.<name> = {model_id, total_calls, successful_calls,
  failed_calls, total_duration_seconds, average_duration_seconds, logs[{timestamp (call
  start, naive ISO), message_count, response_type, response_length, tool_calls_count,
  duration_seconds, status ("success"|"error"), error, error_type, ...}]}``; newer versions
  may add per-call ``usage`` and ``cost``.
- Tools (``ToolInvocationHistory`` in ``core/history.py``, benchmark tool wrappers):
  ``tools.<name> = {name, description, invocations[{id, inputs, outputs, status, timestamp,
  meta}], total_invocations}``; a failed invocation has ``status="error"`` and the error
  text in ``outputs``.
- ``maseval/core/usage.py``: ``TokenUsage.to_dict()`` = ``{cost, units, provider, category,
  component_name, kind, input_tokens, output_tokens, total_tokens, cached_input_tokens,
  cache_creation_input_tokens, reasoning_tokens, audio_tokens}``; ``report["usage"]`` is
  either flat (those keys) or per registry category (``{models: {<name>: {...}}, ...}``).
  MASEval's own ``cost`` defaults to 0.0; here a missing/null cost stays NA (unpriced).
- ``maseval/core/callbacks/message_tracing.py``: ``get_all_conversations()`` returns
  ``[{agent_name, agent_type, query, messages, message_count, metadata{timestamp,
  has_tool_calls, roles}}]``.

>>> from analysis_kit.loaders import maseval               # doctest: +SKIP
>>> run = maseval.load(Path("results/"))                    # doctest: +SKIP
>>> run.tasks.groupby("status").size()                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from ._registry import Format, register
from ..model import Problems, Run, scrub_surrogates, to_json_text

FORMAT = "maseval"
CACHEABLE = True
SNIFF_BYTES = 64 * 1024
SUCCESS_STATUS = "success"
RESULT_GLOB = "benchmark_*.jsonl"

# Which phase a non-success status blames (from TaskExecutionStatus's docstring).
STATUS_STEP = {
    "agent_error": "agent",
    "environment_error": "environment",
    "user_error": "user",
    "task_timeout": "timeout",
    "unknown_execution_error": "execution",
    "task_execution_failed": "execution",
    "evaluation_failed": "evaluation",
    "setup_failed": "setup",
}
SCORE_KEYS = ("reward", "score", "overall_score")
# OpenAI chat roles MessageHistory can hold; any other role is kept but reported.
KNOWN_ROLES = frozenset({"system", "user", "assistant", "tool", "function", "developer"})
_FIRST_LINE = re.compile(rb'^\s*\{\s*"task_id"\s*:')


# --------------------------------------------------------------------------- detection

def sniff(path: Path) -> bool:
    """True for a MASEval result JSONL, a folder holding ``benchmark_*.jsonl``, or a JSON
    list of traced conversations. Reads at most 64 KB; never raises.

    >>> sniff(Path("/nonexistent"))
    False
    """
    try:
        path = Path(path)
        if path.is_dir():
            return any(p.is_file() for p in path.glob(RESULT_GLOB))
        if not path.is_file():
            return False
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
        if path.suffix == ".jsonl":
            return _sniff_jsonl(head)
        if path.suffix == ".json":
            return _sniff_conversations(head)
    except (OSError, ValueError):
        return False
    return False


def _sniff_jsonl(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    try:
        obj = json.loads(first.decode("utf-8", "replace"))
    except ValueError:
        # A first line longer than the sniff window: FileResultLogger writes task_id first.
        return bool(_FIRST_LINE.match(first)) and b'"repeat_idx"' in first
    return isinstance(obj, dict) and "task_id" in obj and "repeat_idx" in obj


def _sniff_conversations(head: bytes) -> bool:
    text = head.decode("utf-8", "replace").lstrip()
    if not text.startswith("["):
        return False
    try:
        obj = json.loads(text)
    except ValueError:
        return '"agent_name"' in text and '"messages"' in text
    return (isinstance(obj, list) and bool(obj) and isinstance(obj[0], dict)
            and "agent_name" in obj[0] and "messages" in obj[0])


# --------------------------------------------------------------------------- entry point

def load(path: Path, *, strict: bool = False) -> Run:
    """Load a MASEval run (results folder, one ``benchmark_*.jsonl``, or a traced
    conversations ``.json``) into a :class:`Run`.

    >>> run = load(Path("sample_logs/maseval"))               # doctest: +SKIP
    >>> run.failures[["task_id", "category", "step"]]          # doctest: +SKIP
    """
    path = Path(path)
    problems = Problems(strict)
    if path.suffix == ".json" and path.is_file():
        return _load_conversations(path, problems)
    files = sorted(path.glob(RESULT_GLOB)) if path.is_dir() else [path]
    if not files:
        problems.add(path, None, f"no {RESULT_GLOB} file in this folder")
    tables: dict[str, list[dict]] = {"tasks": [], "events": [], "messages": [], "failures": []}
    file_metas, benchmarks = [], set()
    seen: dict[tuple[str, int], tuple[Path, int]] = {}
    for file in files:
        for lineno, report in _read_jsonl(file, problems):
            record = _Report(report, file, lineno, problems)
            record.check_duplicate(seen)
            record.into(tables)
            benchmarks.add(record.benchmark())
        file_metas.append(_read_meta_json(file, problems))
    run_id = files[0].stem if len(files) == 1 else path.name
    meta = _run_meta(run_id, path, tables, file_metas)
    if meta["benchmark"] is None and benchmarks - {None}:
        meta["benchmark"] = sorted(benchmarks - {None})[0]
    return Run(meta=meta, problems=problems.frame(), **_frames(tables))


def _frames(tables: dict[str, list[dict]]) -> dict[str, pd.DataFrame]:
    return {name: pd.DataFrame(rows) for name, rows in tables.items()}


# --------------------------------------------------------------------------- JSONL reading

def _read_jsonl(file: Path, problems: Problems) -> Iterator[tuple[int, dict]]:
    """Yield (line number, report dict) for every usable line; the rest become problems."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        problems.add(file, None, f"cannot read file: {exc}")
        return
    if data.startswith(b"\xef\xbb\xbf"):  # a BOM (Windows editors) would break the first record
        data = data[3:]
    if not data.strip():
        problems.add(file, None, "empty file: no report lines")
        return
    lines = data.split(b"\n")
    last = len(lines)
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            # Keep the record: one bad byte in a message should not lose the task.
            problems.add(file, lineno, f"invalid UTF-8 bytes replaced ({exc.reason} at byte {exc.start})", raw)
            text = raw.decode("utf-8", "replace")
        text = scrub_surrogates(text, file, problems, first_line=lineno)
        try:
            report = json.loads(text)
        except ValueError as exc:
            truncated = lineno == last and not data.endswith(b"\n")
            reason = ("truncated last line (the run was killed mid-write?)" if truncated
                      else f"invalid JSON: {exc}")
            problems.add(file, lineno, reason, text)
            continue
        if not isinstance(report, dict):
            problems.add(file, lineno, f"a report must be a JSON object, not {type(report).__name__}", text)
            continue
        if report.get("task_id") is None:
            problems.add(file, lineno, "report has no task_id", text)
            continue
        yield lineno, report


def _read_meta_json(file: Path, problems: Problems) -> dict:
    meta_path = file.with_suffix(".meta.json")
    if not meta_path.exists():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.add(meta_path, None, f"unreadable .meta.json: {exc}")
        return {}
    if not isinstance(meta, dict):
        problems.add(meta_path, None, ".meta.json is not a JSON object", str(meta))
        return {}
    return meta


# --------------------------------------------------------------------------- one report

class _Report:
    """Turns one report line into rows; type errors in fields become problems."""

    def __init__(self, report: dict, file: Path, line: int, problems: Problems):
        self.r, self.file, self.line, self.problems = report, file, line, problems
        self.task_id = str(report["task_id"])
        self.trial = self.integer(report.get("repeat_idx"), "repeat_idx")

    # -- field helpers
    def problem(self, reason: str, raw: Any = None) -> None:
        shown = raw if isinstance(raw, str) else _short_json(raw)
        self.problems.add(self.file, self.line, f"task {self.task_id}: {reason}", shown)

    def number(self, value: Any, where: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            self.problem(f"{where} is not a number", value)
            return None
        return float(value)

    def integer(self, value: Any, where: str) -> int | None:
        number = self.number(value, where)
        return None if number is None else int(number)

    def mapping(self, value: Any, where: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(f"{where} is not an object", value)
            return {}
        return value

    def time(self, value: Any, where: str) -> pd.Timestamp | None:
        """A time field: absent is NA; present but unreadable is NA plus a problem row."""
        return _checked_time(value, where, self.problem)

    def check_duplicate(self, seen: dict[tuple[str, int], tuple[Path, int]]) -> None:
        """Report a second report of the same (task_id, repeat_idx) in this run. Both are
        kept: neither copy is known to be the right one, and dropping one would hide the
        other's outcome. Attempts with an unknown repeat_idx are not compared."""
        if self.trial is None:
            return
        key = (self.task_id, self.trial)
        first = seen.setdefault(key, (self.file, self.line))
        if first != (self.file, self.line):
            where = "" if first[0] == self.file else f"{first[0]} "
            self.problem(f"duplicate attempt (repeat_idx {self.trial}; first at {where}line "
                         f"{first[1]}); both kept", self.task_id)

    def listing(self, value: Any, where: str) -> list:
        if not isinstance(value, list):
            self.problem(f"{where} is not a list", value)
            return []
        return value

    # -- tables
    def into(self, tables: dict[str, list[dict]]) -> None:
        traces = self.mapping(self.r.get("traces"), "traces")
        messages = self.messages(traces)
        events = self.events(traces)
        _attribute_agents(events, messages)
        task = self.task(traces, events, messages)
        tables["events"].extend(events)
        tables["messages"].extend(messages)
        tables["tasks"].append(task)
        if task["status"] != SUCCESS_STATUS:
            tables["failures"].append({
                "task_id": self.task_id, "trial": self.trial, "category": task["status"],
                "step": STATUS_STEP.get(task["status"] or "", None), "error": task["error"],
            })

    def benchmark(self) -> str | None:
        """The benchmark's name from ``config.benchmark`` (a name string or ``{name: ...}``)."""
        config = self.r.get("config")
        bench = config.get("benchmark") if isinstance(config, dict) else None
        if isinstance(bench, dict):
            bench = bench.get("name") or bench.get("benchmark_name")
        return bench if isinstance(bench, str) and bench else None

    def status(self) -> str | None:
        status = self.r.get("status")
        if status is None:
            return None
        if not isinstance(status, str):
            self.problem("status is not a string", status)
            return None
        return status.strip().lower()

    def error(self) -> tuple[str | None, str | None]:
        """(error text, error type) from ``error``: a dict, a string or None."""
        err = self.r.get("error")
        if err is None:
            return None, None
        if isinstance(err, str):
            return err, None
        if not isinstance(err, dict):
            self.problem("error is neither an object nor a string", err)
            return str(err), None
        etype, message = err.get("error_type"), err.get("error_message")
        text = ": ".join(str(p) for p in (etype, message) if p not in (None, ""))
        return (text or _short_json(err)), (None if etype is None else str(etype))

    def task(self, traces: dict, events: list[dict], messages: list[dict]) -> dict:
        status = self.status()
        error, error_type = self.error()
        metadata = traces.get("metadata")
        collected = self.time(metadata.get("timestamp"), "traces.metadata.timestamp") \
            if isinstance(metadata, dict) else None
        start, end = _span(events, messages, collected)
        duration = (end - start).total_seconds() if start is not None and end is not None else None
        if duration is None and isinstance(self.r.get("error"), dict):
            duration = self.number(self.r["error"].get("elapsed"), "error.elapsed")
        usage = self.usage(events)
        return {
            "task_id": self.task_id, "trial": self.trial, "status": status,
            "success": None if status is None else status == SUCCESS_STATUS,
            "reward": self.reward(), "termination_reason": error_type,
            "start": start, "end": end, "duration_s": duration, "error": error, **usage,
        }

    def reward(self) -> float | None:
        """The mean of the evaluators' numeric scores, NA when the eval gives none."""
        ev = self.r.get("eval")
        items = ev if isinstance(ev, list) else [ev]
        scores = []
        for item in items:
            if not isinstance(item, dict):
                continue
            for key in SCORE_KEYS:
                if key in item and item[key] is not None:
                    value = item[key]
                    value = float(value) if isinstance(value, bool) else self.number(value, f"eval.{key}")
                    if value is not None:
                        scores.append(value)
                    break
        return sum(scores) / len(scores) if scores else None

    def usage(self, events: list[dict]) -> dict:
        """Cost and tokens: ``usage`` (flat or per category), else summed from the events."""
        usage = self.mapping(self.r.get("usage"), "usage")
        records = [usage] if ("cost" in usage or "input_tokens" in usage) else [
            comp for cat, group in usage.items() if cat != "metadata" and isinstance(group, dict)
            for comp in ([group] if "cost" in group or "input_tokens" in group else group.values())
            if isinstance(comp, dict) and "error" not in comp
        ]
        if not records:
            records = [{"cost": e.get("cost_usd"), "input_tokens": e.get("input_tokens"),
                        "output_tokens": e.get("output_tokens")} for e in events]
        return {
            "cost_usd": _sum_known(self.number(r.get("cost"), "usage.cost") for r in records),
            "input_tokens": _sum_known(self.number(r.get("input_tokens"), "usage.input_tokens") for r in records),
            "output_tokens": _sum_known(self.number(r.get("output_tokens"), "usage.output_tokens") for r in records),
        }

    def events(self, traces: dict) -> list[dict]:
        rows = []
        for name, model in self.mapping(traces.get("models"), "traces.models").items():
            if not isinstance(model, dict) or "error" in model and "logs" not in model:
                self.problem(f"traces.models.{name} has no call logs", model)
                continue
            model_id = model.get("model_id") or name
            for i, log in enumerate(self.listing(model.get("logs", []), f"traces.models.{name}.logs")):
                if isinstance(log, dict):
                    rows.append(self.llm_call(name, str(model_id), log, f"traces.models.{name}.logs[{i}]"))
                else:
                    self.problem(f"traces.models.{name}.logs[{i}] is not an object", log)
        for name, tool in self.mapping(traces.get("tools"), "traces.tools").items():
            if not isinstance(tool, dict):
                self.problem(f"traces.tools.{name} is not an object", tool)
                continue
            tool_name = str(tool.get("name") or name)
            calls = tool.get("invocations", tool.get("logs", []))
            for i, inv in enumerate(self.listing(calls, f"traces.tools.{name}.invocations")):
                if isinstance(inv, dict):
                    rows.append(self.tool_call(tool_name, inv, f"traces.tools.{name}.invocations[{i}]"))
                else:
                    self.problem(f"traces.tools.{name}.invocations[{i}] is not an object", inv)
        return rows

    def llm_call(self, component: str, model_id: str, log: dict, where: str) -> dict:
        start = self.time(log.get("timestamp"), f"{where}.timestamp")
        duration_s = self.number(log.get("duration_seconds"), "model log duration_seconds")
        status = log.get("status")
        usage = log.get("usage") if isinstance(log.get("usage"), dict) else {}
        cost = log.get("cost", usage.get("cost"))
        attrs = {"component": component, "call_type": log.get("response_type"),
                 "has_tool_calls": None if "response_type" not in log else log["response_type"] == "tool_call",
                 "message_count": log.get("message_count"), "tool_calls_count": log.get("tool_calls_count"),
                 "status": status}
        return {
            "task_id": self.task_id, "trial": self.trial, "agent": log.get("agent"),
            "kind": "llm_call", "name": model_id, "start": start, "end": _plus(start, duration_s),
            "duration_ms": None if duration_s is None else duration_s * 1000.0,
            "input_tokens": self.number(usage.get("input_tokens", log.get("input_tokens")), "model log input_tokens"),
            "output_tokens": self.number(usage.get("output_tokens", log.get("output_tokens")), "model log output_tokens"),
            "cached_tokens": self.number(usage.get("cached_input_tokens"), "model log cached_input_tokens"),
            "cost_usd": self.number(cost, "model log cost"),
            "error": _call_error(status, log.get("error_type"), log.get("error")),
            "attrs": to_json_text({k: v for k, v in attrs.items() if v is not None}),
        }

    def tool_call(self, tool_name: str, inv: dict, where: str) -> dict:
        meta = inv.get("meta") if isinstance(inv.get("meta"), dict) else {}
        start = self.time(inv.get("timestamp"), f"{where}.timestamp")
        duration_s = self.number(meta.get("duration_seconds", inv.get("duration_seconds")), "tool duration_seconds")
        status = inv.get("status")
        outputs = inv.get("outputs")
        attrs = {"id": inv.get("id"), "status": status, "inputs": inv.get("inputs")}
        return {
            "task_id": self.task_id, "trial": self.trial, "agent": meta.get("agent", inv.get("agent")),
            "kind": "tool_call", "name": tool_name, "start": start, "end": _plus(start, duration_s),
            "duration_ms": None if duration_s is None else duration_s * 1000.0,
            "error": _call_error(status, None, outputs if isinstance(outputs, str) else None),
            "attrs": to_json_text({k: v for k, v in attrs.items() if v is not None}),
        }

    def messages(self, traces: dict) -> list[dict]:
        rows = []
        for agent, trace in self.mapping(traces.get("agents"), "traces.agents").items():
            if not isinstance(trace, dict):
                self.problem(f"traces.agents.{agent} is not an object", trace)
                continue
            if "messages" not in trace:
                continue
            where = f"traces.agents.{agent}.messages"
            rows.extend(_message_rows(self.listing(trace["messages"], where), where, str(agent),
                                      self.problem, task_id=self.task_id, trial=self.trial))
        return rows


def _attribute_agents(events: list[dict], messages: list[dict]) -> None:
    """Fill ``agent`` where the trace makes it knowable: a model component named after an
    agent (``worker_model`` -> ``worker``), or a tool that only one agent called."""
    agents = sorted({m["agent"] for m in messages}, key=len, reverse=True)
    callers: dict[str, set] = {}
    for m in messages:
        for call in json.loads(m["tool_calls"]) if m["tool_calls"] else []:
            callers.setdefault(str(call.get("name")), set()).add(m["agent"])
    for e in events:
        if e.get("agent") is not None:
            continue
        if e["kind"] == "llm_call":
            component = json.loads(e["attrs"]).get("component", "") if e["attrs"] else ""
            e["agent"] = next((a for a in agents if component == a or component.startswith(a + "_")), None)
        elif len(callers.get(str(e["name"]), ())) == 1:
            e["agent"] = next(iter(callers[str(e["name"])]))


# --------------------------------------------------------------------------- messages

def _message_rows(messages: list, where: str, agent: str, problem, **keys: Any) -> list[dict]:
    """OpenAI chat messages -> message rows; ``problem(reason, raw)`` records bad ones."""
    rows = []
    for idx, msg in enumerate(messages):
        if not isinstance(msg, dict):
            problem(f"{where}[{idx}] is not an object", msg)
            continue
        role = msg.get("role")
        if not (isinstance(role, str) and role in KNOWN_ROLES):  # kept: the transcript still shows it
            shown = repr(role) if len(repr(role)) <= 80 else repr(role)[:77] + "..."  # untrusted length
            problem(f"{where}[{idx}] has unknown role {shown}; kept", role)
        rows.append({
            **keys, "agent": agent, "idx": idx, "role": _text_or_none(role),
            "content": _content_text(msg.get("content")),
            "tool_calls": _tool_calls(msg.get("tool_calls"), f"{where}[{idx}]", problem),
            "tool_call_id": _text_or_none(msg.get("tool_call_id")),
            "name": _text_or_none(msg.get("name")),
            "timestamp": _checked_time(msg.get("timestamp"), f"{where}[{idx}].timestamp", problem),
        })
    return rows


def _content_text(content: Any) -> str | None:
    """str stays; a list of parts becomes their text joined by newlines (non-text parts as
    ``[<type>]``); anything else becomes its JSON."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, dict):
                parts.append(f"[{part.get('type', 'part')}]")
            else:
                parts.append(str(part))
        return "\n".join(parts)
    return _short_json(content, cut=None)


def _tool_calls(calls: Any, where: str, problem) -> str | None:
    """OpenAI ``tool_calls`` -> JSON text ``[{id, name, arguments}]`` (arguments parsed when
    they are valid JSON, else kept as the raw string and reported)."""
    if calls is None or calls == []:
        return None
    if not isinstance(calls, list):
        problem(f"{where}.tool_calls is not a list", calls)
        return None
    out = []
    for i, call in enumerate(calls):
        if not isinstance(call, dict):
            problem(f"{where}.tool_calls[{i}] is not an object", call)
            continue
        fn = call.get("function") if isinstance(call.get("function"), dict) else call
        args = fn.get("arguments")
        if isinstance(args, str):
            try:
                args = json.loads(scrub_surrogates(args)) if args.strip() else {}
            except ValueError:
                problem(f"{where}.tool_calls[{i}] arguments are not valid JSON", args)
        out.append({"id": call.get("id"), "name": fn.get("name"), "arguments": args})
    return to_json_text(out) if out else None


# --------------------------------------------------------------------------- conversations JSON

def _load_conversations(path: Path, problems: Problems) -> Run:
    """A ``get_all_conversations()`` dump: one task per conversation, no events."""
    tasks, messages = [], []
    for index, line, conv in _iter_json_list(path, problems):
        if not isinstance(conv, dict) or "agent_name" not in conv:
            problems.add(path, line, f"conversation {index} is not an object with agent_name", _short_json(conv))
            continue
        metadata = conv.get("metadata") if isinstance(conv.get("metadata"), dict) else {}
        task_id = str(metadata.get("task_id", conv.get("task_id", index)))
        trial = metadata.get("repeat_idx", conv.get("repeat_idx", 0))
        trial = trial if isinstance(trial, int) and not isinstance(trial, bool) else 0

        def problem(reason: str, raw: Any, _line=line, _id=task_id) -> None:
            problems.add(path, _line, f"conversation {_id}: {reason}",
                         raw if isinstance(raw, str) else _short_json(raw))

        msgs = conv.get("messages")
        if not isinstance(msgs, list):
            problem("messages is not a list", msgs)
            msgs = []
        rows = _message_rows(msgs, "messages", str(conv["agent_name"]), problem, task_id=task_id, trial=trial)
        stamps = [r["timestamp"] for r in rows if r["timestamp"] is not None]
        end = _checked_time(metadata.get("timestamp"), "metadata.timestamp", problem) \
            or (max(stamps) if stamps else None)
        start = min(stamps) if stamps else None
        tasks.append({"task_id": task_id, "trial": trial, "start": start, "end": end,
                      "duration_s": (end - start).total_seconds() if start is not None and end is not None else None,
                      "agent": str(conv["agent_name"]), "agent_type": _text_or_none(conv.get("agent_type")),
                      "query": _content_text(conv.get("query"))})
        messages.extend(rows)
    tasks_df = pd.DataFrame(tasks)
    meta = {"run_id": path.stem, "source_format": FORMAT, "path": str(path), "benchmark": None,
            "models": [], "kind": "traced_conversations",
            "agents": sorted({t["agent"] for t in tasks}), **_bounds(tasks_df)}
    return Run(meta=meta, tasks=tasks_df, messages=pd.DataFrame(messages), problems=problems.frame())


def _iter_json_list(path: Path, problems: Problems) -> Iterator[tuple[int, int, Any]]:
    """Yield (index, line number, element) of a top-level JSON list, decoding one element at
    a time so that each element's line is known and a broken tail keeps the good head."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add(path, raw.count(b"\n", 0, exc.start) + 1, f"invalid UTF-8 bytes replaced ({exc.reason})")
        text = raw.decode("utf-8", "replace")
    text = scrub_surrogates(text, path, problems)
    decoder = json.JSONDecoder()
    ws = re.compile(r"[\s,]*")
    pos = ws.match(text, 0).end()
    if not text.startswith("[", pos):
        problems.add(path, 1, "traced conversations must be a JSON list", text[:200])
        return
    pos = ws.match(text, pos + 1).end()
    index = 0
    while pos < len(text) and text[pos] != "]":
        line = text.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except ValueError as exc:
            problems.add(path, line, f"invalid JSON in conversation {index} (rest of file skipped): {exc}",
                         text[pos:pos + 200])
            return
        yield index, line, value
        index += 1
        pos = ws.match(text, pos).end()
    if pos >= len(text):
        problems.add(path, text.count("\n") + 1, "truncated file: the JSON list is not closed")


# --------------------------------------------------------------------------- meta and helpers

def _run_meta(run_id: str, path: Path, tables: dict[str, list[dict]], file_metas: list[dict]) -> dict:
    tasks = pd.DataFrame(tables["tasks"])
    events = tables["events"]
    models = sorted({str(e["name"]) for e in events if e["kind"] == "llm_call" and e.get("name")})
    meta: dict[str, Any] = {"run_id": run_id, "source_format": FORMAT, "path": str(path),
                            "benchmark": None, "models": models, **_bounds(tasks)}
    expected = [m.get("total_iterations") for m in file_metas if isinstance(m.get("total_iterations"), int)]
    if expected:
        meta["expected_iterations"] = sum(expected)
    for m in file_metas:
        if m.get("benchmark"):
            meta["benchmark"] = str(m["benchmark"])
        for key in ("n_tasks", "n_repeats", "lines_written", "timestamp"):
            if key in m:
                meta.setdefault(f"logger_{key}", m[key])
    return meta


def _bounds(tasks: pd.DataFrame) -> dict:
    if tasks.empty:
        return {"started": None, "ended": None}
    starts = pd.to_datetime(tasks.get("start"), utc=True, errors="coerce").dropna()
    ends = pd.to_datetime(tasks.get("end"), utc=True, errors="coerce").dropna()
    return {"started": starts.min().isoformat() if len(starts) else None,
            "ended": ends.max().isoformat() if len(ends) else None}


def _span(events: list[dict], messages: list[dict], collected: pd.Timestamp | None) -> tuple:
    starts = [e["start"] for e in events if e["start"] is not None]
    starts += [m["timestamp"] for m in messages if m["timestamp"] is not None]
    ends = [e["end"] or e["start"] for e in events if e["start"] is not None]
    ends += [m["timestamp"] for m in messages if m["timestamp"] is not None]
    if not starts:
        return None, None
    if collected is not None:
        ends.append(collected)  # when traces were collected: after the last call
    return min(starts), max(ends)


def _time(value: Any) -> pd.Timestamp | None:
    """ISO text -> UTC Timestamp (naive taken as UTC, as MASEval writes datetime.now())."""
    if not isinstance(value, str) or not value:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if ts is pd.NaT:
        return None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    # The tables hold nanosecond times: one outside 1677-2262 would become NA unreported.
    return ts if _TIME_MIN <= ts <= _TIME_MAX else None


_TIME_MIN = pd.Timestamp.min.tz_localize("UTC")
_TIME_MAX = pd.Timestamp.max.tz_localize("UTC")


def _checked_time(value: Any, where: str, problem) -> pd.Timestamp | None:
    """``_time`` for a named field; a value that is present but unreadable (``"yesterday"``,
    a number, a year beyond pandas' range) is NA plus ``problem(reason, raw)``.

    >>> seen = []; _checked_time("yesterday", "m.timestamp", lambda r, raw: seen.append(r))
    >>> seen
    ['m.timestamp is not a readable time; taken as NA']
    """
    if value is None:
        return None
    ts = _time(value)
    if ts is None:
        problem(f"{where} is not a readable time; taken as NA", value if isinstance(value, str) else _short_json(value))
    return ts


def _plus(start: pd.Timestamp | None, seconds: float | None) -> pd.Timestamp | None:
    if start is None or seconds is None:
        return None
    try:
        return start + pd.Timedelta(seconds=seconds)
    except (OverflowError, ValueError):  # a duration beyond pandas' range: the end is unknown
        return None


def _call_error(status: Any, error_type: Any, error: Any) -> str | None:
    if status is None or str(status).lower() == SUCCESS_STATUS:
        return None
    text = ": ".join(str(p) for p in (error_type, error) if p not in (None, ""))
    return text or str(status)


def _sum_known(values) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _text_or_none(value: Any) -> str | None:
    return None if value is None else value if isinstance(value, str) else str(value)


def _short_json(value: Any, cut: int | None = 200) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = str(value)
    return text if cut is None else text[:cut]


SPEC = register(Format(
    name=FORMAT, sniff=sniff, load=load, cacheable=CACHEABLE, priority=40,
    samples={"maseval": "analysis_kit.samples.maseval:write"},
    description="MASEval FileResultLogger JSONL and traced conversations"))
