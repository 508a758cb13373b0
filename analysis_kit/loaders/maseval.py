"""MASEval: ``FileResultLogger`` results (``benchmark_<ts>.jsonl`` + ``.meta.json``) and the
conversations ``MessageTracingAgentCallback`` traced (a JSON list).

One report per task repeat: ``task_id, repeat_idx, status, error, traces, config, eval, usage,
task`` (``Benchmark._build_report``, maseval 0.5). Read from it:

- ``traces.models.<component>.logs[]``: one model call each (``timestamp`` = start,
  ``duration_seconds``, ``status``, ``error_type``/``error``; per-call ``usage``/``cost`` only
  where a writer adds them). The user simulator's model (``user_simulator``) is ``user_sim``;
  an evaluator's or judge's (by name, or called after ``traces.metadata.timestamp``, when
  traces were collected and only evaluation runs) is ``evaluator``; the rest ``llm_call``.
- Tool invocations wherever the writer puts them: ``traces.tools.<name>.invocations[]``
  (registered by hand) and ``traces.environment.tools.<name>.invocations[]`` (an environment's
  tools, as MASEval's own benchmarks hold them), each once by its ``id``. ``timestamp`` is
  the start where the tool passes it (ARE's wrapper), else when it was recorded (the end).
- ``traces.agents.<name>.messages`` and ``traces.user.messages`` (agent ``user_simulator``);
  ``traces.agents.<name>.logs[]`` (framework adapters' steps) and ``traces.user.logs[]`` (the
  user's turns) as ``step`` events.
- ``usage`` (flat, or per registry category: ``{models: {<name>: TokenUsage}}``): the repeat's
  tokens and cost. MASEval writes ``cost: 0.0`` for an unpriced component: 0 with tokens is NA.
- ``status`` is the execution outcome; ``success`` is the evaluation's verdict (see
  CONTRIBUTING.md, "MASEval"); ``reward`` the mean of the evaluators' scores.

Any other part of a record holding lists or objects is "not read: <path>", once per run.

>>> run = load(Path("sample_logs/maseval"))                  # doctest: +SKIP
>>> run.tasks.groupby(["status", "success"]).size()          # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from ..model import Problems, Run
from ._columns import Column, Table, finite_or_none, json_or_text, unread
from ._read import Source, iter_json_array, iter_jsonl, read_bytes, read_text
from ._registry import Format, register
from ._values import Where, short_json, to_utc, utc_column

FORMAT = "maseval"
RESULT_GLOB = "benchmark_*.jsonl"
SNIFF_BYTES = 64 * 1024
STATUS_STEP = {"agent_error": "agent", "environment_error": "environment", "user_error": "user",
               "task_timeout": "timeout", "unknown_execution_error": "execution",
               "task_execution_failed": "execution", "evaluation_failed": "evaluation", "setup_failed": "setup"}
VERDICT_FLAGS = ("passed", "correct", "success", "solved", "resolved")  # an evaluator's yes/no
SCORE_KEYS = ("reward", "score", "overall_score", "overall_gsr", "gsr")  # its score: 0 is a failure
KNOWN_ROLES = frozenset({"system", "user", "assistant", "tool", "function", "developer"})
USER_SIM, EVALUATOR = "user_simulator", "evaluator"
_JUDGE_NAME = re.compile(r"evaluat|judge", re.I)
_FIRST_LINE = re.compile(rb'^\s*\{\s*"task_id"\s*:')
# Parts of a component's trace that are bookkeeping, not operations (never "not read").
_BOOKKEEPING = {"type", "gathered_at", "name", "model_id", "agent_type", "adapter_type", "message_count",
                "callbacks", "total_calls", "successful_calls", "failed_calls", "total_duration_seconds",
                "average_duration_seconds", "description", "total_invocations", "tool_count", "has_tracing",
                "profile", "termination_reason", "stop_reason", "max_turns", "turns_used", "stopped_by_user",
                "total_steps", "steps_detail"}  # smolagents' steps_detail repeats its logs' steps


_TYPES = {"_collected": "time", "_elapsed": "float", "_usage": "bool", "_record": "str", "_component": "str"}


@dataclass(frozen=True)
class Options:
    """MASEval has no options."""


class _At(Where):
    """A Where naming a field by its full path: "task t1: traces.models.m.logs[0].timestamp"."""

    __slots__ = ()

    def problem(self, reason: str, raw: Any = None) -> None:
        self.problems.add(self.file, self.line, self.label + reason, short_json(raw) if raw is not None else "")


def _ms(key: str):
    return lambda r, w: None if (s := w.number(r.get(key), key)) is None else s * 1000.0


def _error(r: dict, w: Where) -> str | None:
    """A call's or step's error: NA when it succeeded, else "Type: text" (or its status)."""
    if str(r.get("status") or "success").lower() == "success" and r.get("error") in (None, ""):
        return None
    text = ": ".join(str(p) for p in (r.get("error_type"), r.get("error")) if p not in (None, ""))
    return text or str(r.get("status"))


def _usage(key: str):
    return lambda r, w: (r.get("usage") if isinstance(r.get("usage"), dict) else {}).get(key, r.get(key))


MODEL_CALL = [Column("start", "timestamp"), Column("duration_ms", fn=_ms("duration_seconds")),
              Column("input_tokens", fn=_usage("input_tokens")), Column("output_tokens", fn=_usage("output_tokens")),
              Column("cached_tokens", fn=_usage("cached_input_tokens")),
              Column("cost_usd", fn=_usage("cost")), Column("error", fn=_error),
              Column("attrs", fn=lambda r, w: {"component": r.get("_component"), "call_type": r.get("response_type"),
                                               "status": r.get("status"),
                                               "has_tool_calls": None if "response_type" not in r
                                               else r["response_type"] == "tool_call",
                                               "message_count": r.get("message_count"),
                                               "tool_calls_count": r.get("tool_calls_count")})]
TOOL_CALL = [Column("start", "timestamp"), Column("duration_ms", fn=_ms("duration_seconds")),
             Column("error", fn=lambda r, w: None if str(r.get("status") or "success").lower() == "success"
                    else (r["outputs"] if isinstance(r.get("outputs"), str) and r["outputs"] else str(r["status"]))),
             Column("attrs", fn=lambda r, w: {"id": r.get("id"), "source": r.get("_source"), "status": r.get("status"),
                                              "arguments": r.get("inputs"),
                                              "result": r.get("outputs"), "result_length": len(str(r.get("outputs")))
                                              if r.get("outputs") is not None else None})]
STEP = [Column("name", fn=lambda r, w: r.get("step_type") or "turn"),
        Column("start", fn=lambda r, w: r.get("start_time", r.get("timestamp"))), Column("end", "end_time"),
        Column("duration_ms", fn=_ms("duration_seconds")), Column("input_tokens", "input_tokens"),
        Column("output_tokens", "output_tokens"), Column("error", fn=_error),
        Column("attrs", fn=lambda r, w: {"step": r.get("step_number"), "status": r.get("status"),
                                         "tool_calls": r.get("tool_calls"), "final": r.get("is_final_answer")})]
MESSAGE = [Column("role", "role"), Column("content", fn=lambda r, w: _content(r.get("content"))),
           Column("tool_call_id", "tool_call_id"), Column("name", "name"), Column("timestamp", "timestamp")]


# --------------------------------------------------------------------------- detection

def sniff(path: Path) -> bool:
    """A ``benchmark_*.jsonl``, a folder holding one, or a JSON list of traced conversations.

    >>> sniff(Path("/nonexistent"))
    False
    """
    try:
        path = Path(path)
        if path.is_dir():
            return any(p.is_file() for p in path.glob(RESULT_GLOB))
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
        if path.suffix == ".jsonl":
            first = head.split(b"\n", 1)[0]
            try:
                obj = json.loads(first.decode("utf-8", "replace"))
            except ValueError:  # a first line longer than the window: FileResultLogger writes task_id first
                return bool(_FIRST_LINE.match(first)) and b'"repeat_idx"' in first
            return isinstance(obj, dict) and "task_id" in obj and "repeat_idx" in obj
        if path.suffix == ".json":
            text = head.decode("utf-8", "replace").lstrip()
            return text.startswith("[") and '"agent_name"' in text and '"messages"' in text
    except (OSError, ValueError):
        return False
    return False


# --------------------------------------------------------------------------- results

def load(path: Path, *, strict: bool = False, **options: Any) -> Run:
    """A MASEval results folder, one ``benchmark_*.jsonl``, or a traced conversations ``.json``.

    >>> run = load(Path("sample_logs/maseval"))               # doctest: +SKIP
    """
    SPEC.options_from(options, path)
    path, problems = Path(path), Problems(strict)
    if path.suffix == ".json" and path.is_file():
        return _load_conversations(path, problems)
    files = sorted(path.glob(RESULT_GLOB)) if path.is_dir() else [path]
    if not files:
        problems.add(path, None, f"no {RESULT_GLOB} file in this folder")
    tables = {name: Table(name, _TYPES) for name in ("tasks", "events", "messages", "failures")}
    seen: dict[tuple[str, int], tuple[Path, int]] = {}
    metas, names = [], set()
    for file in files:
        for line, report in _reports(file, problems):
            _Report(report, Where(problems, file, line, f"task {report['task_id']}"), tables).read(seen)
            bench = (report.get("config") or {}).get("benchmark") if isinstance(report.get("config"), dict) else None
            names.add(bench.get("name") if isinstance(bench, dict) else bench if isinstance(bench, str) else None)
        metas.append(_meta_json(file, problems))
    frames = {name: table.frame() for name, table in tables.items()}
    _finish(frames)
    run_id = files[0].stem if len(files) == 1 else path.name
    meta = _run_meta(run_id, path, frames, metas)
    meta["benchmark"] = meta["benchmark"] or next(iter(sorted(n for n in names if isinstance(n, str) and n)), None)
    return Run(meta=meta, problems=problems.frame(), **frames)


def _reports(file: Path, problems: Problems) -> Iterator[tuple[int, dict]]:
    data = read_bytes(file, problems)
    if data is not None and not data.lstrip(b"\xef\xbb\xbf").strip():
        problems.add(file, None, "empty file: no report lines")
        return
    for line, report in iter_jsonl(file, problems, data=data) if data is not None else ():
        if not isinstance(report, dict):
            problems.add(file, line, f"a report must be a JSON object, not {type(report).__name__}", short_json(report))
        elif report.get("task_id") is None:
            problems.add(file, line, "report has no task_id", short_json(report))
        else:
            yield line, report


def _meta_json(file: Path, problems: Problems) -> dict:
    meta_path = file.with_suffix(".meta.json")
    if not meta_path.exists():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.add(meta_path, None, f"unreadable .meta.json: {exc}")
        return {}
    if not isinstance(meta, dict):
        problems.add(meta_path, None, ".meta.json is not a JSON object", short_json(meta))
        return {}
    return meta


class _Report:
    """One report line into rows of the four tables."""

    def __init__(self, report: dict, where: Where, tables: dict[str, Table]):
        self.r, self.w, self.t = report, where, tables
        self.task_id = str(report["task_id"])
        self.trial = where.integer(report.get("repeat_idx"), "repeat_idx")
        self.key = {"task_id": self.task_id, "trial": self.trial, "_record": f"{where.file}:{where.line}"}

    def at(self, path: str) -> _At:
        return _At(self.w.problems, self.w.file, self.w.line, f"task {self.task_id}: {path}.")

    def items(self, value: Any, path: str) -> Iterator[tuple[str, Any]]:
        """(name, object) of a mapping of components; a component that is not an object, or
        whose gather_traces raised (``{error, error_type}``), is a problem."""
        for name, part in self.w.mapping(value, path).items():
            if not isinstance(part, dict):
                self.w.problem(f"{path}.{name} is not an object", part)
            elif "error" in part and "error_type" in part and len(part) <= 3 + ("component_type" in part):
                self.w.problem(f"{path}.{name}: {part['error_type']}: {part['error']}", part)
            else:
                yield str(name), part

    def entries(self, value: Any, path: str) -> Iterator[tuple[str, dict]]:
        for i, item in enumerate(self.w.listing(value, path)):
            if isinstance(item, dict):
                yield f"{path}[{i}]", item
            else:
                self.w.problem(f"{path}[{i}] is not an object", item)

    def read(self, seen: dict) -> None:
        self.check_duplicate(seen)
        traces = self.w.mapping(self.r.get("traces"), "traces")
        unread(self.r, ("task_id", "repeat_idx", "status", "error", "traces", "eval", "usage"), self.w, "",
               ignore=("config", "task"))
        callers = self.messages(traces)
        self.model_calls(traces)
        self.tool_calls(traces, callers)
        self.steps(traces)
        self.task(traces)

    def check_duplicate(self, seen: dict) -> None:
        """A second report of one (task_id, repeat_idx): both kept, neither is known to be right."""
        if self.trial is None:
            return
        here = (self.w.file, self.w.line)
        first = seen.setdefault((self.task_id, self.trial), here)
        if first != here:
            where = "" if first[0] == self.w.file else f"{first[0]} "
            self.w.problem(f"duplicate attempt (repeat_idx {self.trial}; first at {where}line {first[1]}); "
                           "both kept", self.task_id)

    def messages(self, traces: dict) -> dict[str, set]:
        """Message rows of every agent and of the user simulator; returns who called each tool."""
        callers: dict[str, set] = {}
        owners = list(self.items(traces.get("agents"), "traces.agents"))
        if isinstance(traces.get("user"), dict):
            owners.append((USER_SIM, traces["user"]))
        for agent, trace in owners:
            base = "traces.user" if agent == USER_SIM else f"traces.agents.{agent}"
            unread(trace, ("messages", "logs"), self.w, base,
                   ignore=_BOOKKEEPING | {k for k, v in trace.items() if not isinstance(v, (list, dict))})
            if "messages" in trace:
                for name in _message_rows(self.t["messages"], trace["messages"], f"{base}.messages", agent,
                                          self.w, self.at, self.key):
                    callers.setdefault(name, set()).add(agent)
        return callers

    def model_calls(self, traces: dict) -> None:
        metadata = traces.get("metadata")
        collected = to_utc(metadata.get("timestamp")) if isinstance(metadata, dict) else None
        for component, model in self.items(traces.get("models"), "traces.models"):
            unread(model, ("logs",), self.w, f"traces.models.{component}", ignore=_BOOKKEEPING | {"seed"})
            model_id = str(model.get("model_id") or component)
            for path, log in self.entries(model.get("logs"), f"traces.models.{component}.logs"):
                start = to_utc(log.get("timestamp"))
                kind, agent = _role(component, isinstance(collected, pd.Timestamp)
                                    and isinstance(start, pd.Timestamp) and start > collected)
                self.t["events"].add({**log, "_component": component}, MODEL_CALL, self.at(path), **self.key,
                                     kind=kind, name=model_id, agent=agent, _component=component)

    def tool_calls(self, traces: dict, callers: dict[str, set]) -> None:
        environment = traces.get("environment") if isinstance(traces.get("environment"), dict) else {}
        if environment:
            unread(environment, ("tools",), self.w, "traces.environment",
                   ignore=_BOOKKEEPING | {k for k, v in environment.items() if not isinstance(v, (list, dict))})
        done: set = set()
        for base in ("traces.tools", "traces.environment.tools"):
            holder = traces.get("tools") if base == "traces.tools" else environment.get("tools")
            for key, tool in self.items(holder, base):
                unread(tool, ("invocations",), self.w, f"{base}.{key}", ignore=_BOOKKEEPING)
                name = str(tool.get("name") or key)
                who = callers.get(name, ())
                for path, inv in self.entries(tool.get("invocations"), f"{base}.{key}.invocations"):
                    if inv.get("id") is not None and inv["id"] in done:
                        continue  # the same tool registered in both places: count its calls once
                    done.add(inv.get("id"))
                    meta = inv.get("meta") if isinstance(inv.get("meta"), dict) else {}
                    self.t["events"].add({**meta, **inv, "_source": f"{base}.{key}"}, TOOL_CALL, self.at(path),
                                         **self.key, kind="tool_call", name=name,
                                         agent=next(iter(who)) if len(who) == 1 else None)

    def steps(self, traces: dict) -> None:
        owners = [(a, t, f"traces.agents.{a}.logs") for a, t in self.items(traces.get("agents"), "traces.agents")]
        if isinstance(traces.get("user"), dict):
            owners.append((USER_SIM, traces["user"], "traces.user.logs"))
        for agent, trace, base in owners:
            for path, step in self.entries(trace.get("logs"), base):
                self.t["events"].add(step, STEP, self.at(path), **self.key, kind="step", agent=agent)
        for name in ("simulators", "callbacks", "other"):
            for key, part in self.items(traces.get(name), f"traces.{name}"):
                unread(part, (), self.w, f"traces.{name}.{key}", ignore=_BOOKKEEPING)
        unread(traces, ("metadata", "agents", "models", "tools", "environment", "user", "simulators", "callbacks",
                        "other"), self.w, "traces")

    def task(self, traces: dict) -> None:
        status = self.w.text(self.r.get("status"), "status")
        status = status.strip().lower() if status else None
        err = self.r.get("error")
        text = etype = None
        if isinstance(err, dict):
            etype = err.get("error_type")
            text = ": ".join(str(p) for p in (etype, err.get("error_message")) if p not in (None, "")) or short_json(err)
        elif err is not None:
            text = err if isinstance(err, str) else short_json(err)
        ev = self.r.get("eval")
        results = [e for e in (ev if isinstance(ev, list) else [ev]) if isinstance(e, dict)]
        success = _verdict(results) if results else (None if status in (None, "success") else False)
        elapsed = self.w.number(err.get("elapsed"), "error.elapsed") if isinstance(err, dict) else None
        metadata = traces.get("metadata") if isinstance(traces.get("metadata"), dict) else {}
        self.t["tasks"].append(self.w, **self.key, status=status, success=success, reward=self.reward(results),
                               termination_reason=etype, error=text,
                               _collected=self.w.time(metadata.get("timestamp"), "traces.metadata.timestamp"),
                               _elapsed=elapsed, query=(self.r.get("task") or {}).get("query")
                               if isinstance(self.r.get("task"), dict) else None, **self.usage())
        if status not in (None, "success") or success is False:
            wrong = status in (None, "success")
            self.t["failures"].append(self.w, task_id=self.task_id, trial=self.trial,
                                      category="incorrect" if wrong else status,
                                      step="answer" if wrong else STATUS_STEP.get(status),
                                      error=_eval_summary(results) if wrong else text)

    def reward(self, results: list[dict]) -> float | None:
        scores = []
        for result in results:
            key = next((k for k in SCORE_KEYS if result.get(k) is not None), None)
            if key is not None and (value := self.w.number(float(result[key]) if isinstance(result[key], bool)
                                                          else result[key], f"eval.{key}")) is not None:
                scores.append(value)
        return sum(scores) / len(scores) if scores else None

    def usage(self) -> dict:
        """Tokens and cost of the repeat from ``usage`` (flat or per category); 0.0 with tokens
        is MASEval's default for an unpriced component: unknown, not free."""
        usage = self.w.mapping(self.r.get("usage"), "usage")
        parts = [usage] if "cost" in usage or "input_tokens" in usage else [
            comp for cat, group in usage.items() if cat != "metadata" and isinstance(group, dict)
            for comp in ([group] if "cost" in group or "input_tokens" in group else group.values())
            if isinstance(comp, dict) and "error" not in comp]
        tokens = {k: [self.w.number(p.get(k), f"usage.{k}") for p in parts] for k in ("input_tokens", "output_tokens")}
        costs = [self.w.number(p.get("cost"), "usage.cost") for p in parts]
        costs = [c for c, i, o in zip(costs, *tokens.values()) if c is not None and (c > 0 or not (i or o))]
        return {"cost_usd": sum(costs) if any(costs) else None, "_usage": bool(parts),
                **{k: sum(v for v in vals if v is not None) if any(v is not None for v in vals) else None
                   for k, vals in tokens.items()}}


def _role(component: str, after_collection: bool) -> tuple[str, str | None]:
    """(kind, agent) of a model component's calls."""
    if component == USER_SIM:
        return "user_sim", USER_SIM
    if after_collection or _JUDGE_NAME.search(component):
        return "evaluator", EVALUATOR
    return "llm_call", None


def _verdict(results: list[dict]) -> bool | None:
    """False when any evaluator marks the answer wrong or scores it 0; True when at least one
    gives a verdict and none is negative; NA when none gives one."""
    verdicts = []
    for result in results:
        flag = next((result[k] for k in VERDICT_FLAGS if isinstance(result.get(k), bool)), None)
        score = next((result[k] for k in SCORE_KEYS if isinstance(result.get(k), (int, float))
                      and not isinstance(result.get(k), bool)), None)
        verdicts.append(flag if flag is not None else None if score is None else score > 0)
    known = [v for v in verdicts if v is not None]
    return None if not known else all(known)


def _eval_summary(results: list[dict]) -> str:
    keys = VERDICT_FLAGS + SCORE_KEYS
    return "; ".join(", ".join(f"{k}={r[k]}" for k in keys if k in r) or short_json(r) for r in results) or "incorrect"


# --------------------------------------------------------------------------- messages

def _message_rows(table: Table, messages: Any, path: str, agent: str, where: Where, at, key: dict) -> list[str]:
    """OpenAI chat messages into ``table``; returns the names of the tools they call."""
    called = []
    if messages is None:  # the writer always writes a list, even an empty one
        where.problem(f"{path} is not a list")
    for idx, msg in enumerate(where.listing(messages, path)):
        if not isinstance(msg, dict):
            where.problem(f"{path}[{idx}] is not an object", msg)
            continue
        role = msg.get("role")
        if not (isinstance(role, str) and role in KNOWN_ROLES):  # kept: the transcript still shows it
            shown = repr(role) if len(repr(role)) <= 80 else repr(role)[:77] + "..."
            where.problem(f"{path}[{idx}] has unknown role {shown}; kept", role)
            msg = {**msg, "role": None if role is None else str(role)}
        calls = _tool_calls(msg.get("tool_calls"), f"{path}[{idx}]", where)
        called += [str(c["name"]) for c in calls or ()]
        table.add(msg, MESSAGE, at(f"{path}[{idx}]"), **key, agent=agent, idx=idx, tool_calls=calls)
    return called


def _content(content: Any) -> str | None:
    """Text; a list of parts joined by newlines (a non-text part as ``[<type>]``)."""
    if content is None or isinstance(content, str):
        return content
    if not isinstance(content, list):
        return short_json(content, cut=10**9)
    return "\n".join(p if isinstance(p, str) else p["text"] if isinstance(p, dict) and isinstance(p.get("text"), str)
                     else f"[{p.get('type', 'part')}]" if isinstance(p, dict) else str(p) for p in content)


def _tool_calls(calls: Any, path: str, where: Where) -> list | None:
    """``[{id, name, arguments}]`` (arguments parsed; invalid JSON kept raw and reported)."""
    out = []
    for i, call in enumerate(where.listing(calls, f"{path}.tool_calls")):
        if not isinstance(call, dict):
            where.problem(f"{path}.tool_calls[{i}] is not an object", call)
            continue
        fn = call["function"] if isinstance(call.get("function"), dict) else call
        args = fn.get("arguments")
        if isinstance(args, str):
            args = json_or_text(args) if args.strip() else {}
            if isinstance(args, str):
                where.problem(f"{path}.tool_calls[{i}] arguments are not valid JSON", args)
        out.append({"id": call.get("id"), "name": fn.get("name"), "arguments": args})
    return out or None


# --------------------------------------------------------------------------- after the records

def _finish(frames: dict[str, pd.DataFrame]) -> None:
    """What needs every row: ends of timed events, agents of model calls named after an agent,
    and each task's span (its first operation to when its traces were collected)."""
    ev, msgs, tasks = frames["events"], frames["messages"], frames["tasks"]
    for frame, names in ((ev, ("start", "end", "duration_ms", "agent", "_component", "_record", "cost_usd",
                                "input_tokens", "output_tokens")), (msgs, ("timestamp", "agent", "_record")),
                         (tasks, ("_record", "_collected", "_elapsed", "_usage", "cost_usd", "input_tokens",
                                  "output_tokens"))):
        for name in names:
            if name not in frame:
                time = name in ("start", "end", "timestamp")
                frame[name] = pd.Series(pd.NaT if time else None, index=frame.index,
                                        dtype="datetime64[ns, UTC]" if time else "object")
    ev["end"] = ev["end"].fillna(ev["start"] + pd.to_timedelta(pd.to_numeric(ev["duration_ms"]), unit="ms",
                                                                  errors="coerce"))
    agents = sorted(set(msgs["agent"].dropna()) - {USER_SIM}, key=len, reverse=True)
    guess = ev["_component"].map(lambda c: next((a for a in agents if c == a or str(c).startswith(a + "_")), None)
                                 if isinstance(c, str) else None)
    ev["agent"] = ev["agent"].astype("object").where(ev["agent"].notna(), guess)
    times = pd.concat([pd.DataFrame({"r": f["_record"], "t": f[c]}) for f, c in
                       ((ev, "start"), (ev, "end"), (msgs, "timestamp"))]).dropna()
    collected = tasks["_collected"].astype("datetime64[ns, UTC]")
    nat = pd.Series(pd.NaT, index=tasks.index, dtype="datetime64[ns, UTC]")
    first, last = (tasks["_record"].map(times.groupby("r")["t"].agg(how)).astype(nat.dtype) if len(times) else nat
                   for how in ("min", "max"))
    tasks["start"], ends = first, last
    tasks["end"] = ends.mask(collected > ends, collected)  # traces were collected after the last operation
    tasks["duration_s"] = (tasks["end"] - tasks["start"]).dt.total_seconds()
    tasks["duration_s"] = tasks["duration_s"].fillna(pd.to_numeric(tasks["_elapsed"]))
    calls = ev.groupby("_record")[["cost_usd", "input_tokens", "output_tokens"]].sum(min_count=1)
    for col in ("cost_usd", "input_tokens", "output_tokens"):  # no usage written: from the calls
        written = tasks["_usage"].fillna(False).astype(bool)
        tasks[col] = tasks[col].astype("object").where(written | tasks[col].notna(), tasks["_record"].map(calls[col]))
    for name in ("events", "messages", "tasks"):
        frames[name] = frames[name].drop(columns=[c for c in frames[name].columns if c.startswith("_")])


def _run_meta(run_id: str, path: Path, frames: dict, metas: list[dict]) -> dict:
    tasks, ev = frames["tasks"], frames["events"]
    meta: dict[str, Any] = {"run_id": run_id, "source_format": FORMAT, "path": str(path), "benchmark": None,
                            "models": sorted(set(ev.loc[ev["kind"] == "llm_call", "name"].dropna())) if len(ev) else [],
                            **_bounds(tasks)}
    expected = [m["total_iterations"] for m in metas if isinstance(m.get("total_iterations"), int)]
    if expected:
        meta["expected_iterations"] = sum(expected)
    for m in metas:
        meta["benchmark"] = str(m["benchmark"]) if m.get("benchmark") else meta["benchmark"]
        for key in ("n_tasks", "n_repeats", "lines_written", "timestamp"):
            if key in m:
                meta.setdefault(f"logger_{key}", m[key])
    return meta


def _bounds(tasks: pd.DataFrame) -> dict:
    starts, ends = (tasks[c].dropna() if c in tasks else pd.Series(dtype=object) for c in ("start", "end"))
    return {"started": starts.min().isoformat() if len(starts) else None,
            "ended": ends.max().isoformat() if len(ends) else None}


# --------------------------------------------------------------------------- traced conversations

def _load_conversations(path: Path, problems: Problems) -> Run:
    """A ``get_all_conversations()`` dump: one task per conversation, no events."""
    tasks, messages = Table("tasks", _TYPES), Table("messages", _TYPES)
    text = read_text(path, problems)
    for index, (line, conv) in enumerate(iter_json_array(Source(path, text), problems) if text is not None else ()):
        where = Where(problems, path, line)
        if not isinstance(conv, dict) or "agent_name" not in conv:
            where.problem(f"conversation {index} is not an object with agent_name", conv)
            continue
        meta = conv.get("metadata") if isinstance(conv.get("metadata"), dict) else {}
        task_id = str(meta.get("task_id", conv.get("task_id", index)))
        trial = meta.get("repeat_idx", conv.get("repeat_idx", 0))
        key = {"task_id": task_id, "trial": trial if isinstance(trial, int) and not isinstance(trial, bool) else 0,
               "_record": str(index)}
        where = where.at(label=f"conversation {task_id}")
        at = lambda p, _w=where: _At(problems, path, _w.line, f"{_w.label}: {p}.")  # noqa: E731
        _message_rows(messages, conv.get("messages"), "messages", str(conv["agent_name"]), where, at, key)
        tasks.append(where, **key, agent=str(conv["agent_name"]), agent_type=conv.get("agent_type"),
                     query=_content(conv.get("query")),
                     _collected=where.time(meta.get("timestamp"), "metadata.timestamp"))
    frames = {"tasks": tasks.frame(), "events": Table("events", _TYPES).frame(), "messages": messages.frame(),
              "failures": Table("failures").frame()}
    _finish(frames)
    meta = {"run_id": path.stem, "source_format": FORMAT, "path": str(path), "benchmark": None, "models": [],
            "kind": "traced_conversations", "agents": sorted(set(frames["tasks"].get("agent", pd.Series()).dropna())),
            **_bounds(frames["tasks"])}
    return Run(meta=meta, problems=problems.frame(), **frames)


SPEC = register(Format(
    name=FORMAT, sniff=sniff, load=load, options=Options, cacheable=True, priority=40,
    samples={"maseval": "analysis_kit.samples.maseval:write"},
    description="MASEval FileResultLogger JSONL and traced conversations"))
