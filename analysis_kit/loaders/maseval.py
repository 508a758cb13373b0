"""MASEval: ``FileResultLogger`` results (``benchmark_<ts>.jsonl`` + ``.meta.json``, one report
per task repeat: ``task_id, repeat_idx, status, error, traces, config, eval, usage, task``) and
the conversations ``MessageTracingAgentCallback`` traced (a JSON list).

What is read from where, and the rule for ``success``, are in CONTRIBUTING.md ("MASEval"): model
calls from ``traces.models``; tool invocations wherever the writer puts them (``traces.tools``,
``traces.environment.tools``, ``traces.environment.tool_invocations``); messages of the agents
and the user simulator; adapters' and the user's step logs; ``usage``; the verdict from ``eval``.
Any other part of a record holding lists or objects is one "not read: <path>" problem per run.

>>> load(Path("sample_logs/maseval")).tasks.groupby(["status", "success"]).size()   # doctest: +SKIP
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from ..model import Problems, Run
from ._columns import Column, Table, unread
from ._maseval_rows import _adder, _At, _bounds, _load_conversations, _message_rows, _span
from ._read import MISSING, head, iter_jsonl, read_bytes, read_json, sniffed
from ._registry import Format, register
from ._values import Where, short_json, to_utc, zero_is_no_price

FORMAT = "maseval"
RESULT_GLOB = "benchmark_*.jsonl"
SNIFF_BYTES = 64 * 1024
STATUS_STEP = {"agent_error": "agent", "environment_error": "environment", "user_error": "user",
               "task_timeout": "timeout", "unknown_execution_error": "execution",
               "task_execution_failed": "execution", "evaluation_failed": "evaluation", "setup_failed": "setup"}
VERDICT_FLAGS = ("passed", "correct", "success", "solved", "resolved")  # an evaluator's yes/no
SCORE_KEYS = ("reward", "score", "overall_score", "overall_gsr", "gsr")  # its score: 0 is a failure
USER_SIM, EVALUATOR = "user_simulator", "evaluator"
_JUDGE_NAME = re.compile(r"evaluat|judge", re.I)
_FIRST_LINE = re.compile(rb'^\s*\{\s*"task_id"\s*:')
# Lists and objects in a trace that hold no operations (smolagents' steps_detail repeats its logs).
_BOOKKEEPING = {"callbacks", "profile", "steps_detail", "generation_params"}


def _ms(r: dict, w: Where) -> float | None:
    return None if (s := w.number(r.get("duration_seconds"), "duration_seconds")) is None else s * 1000.0


def _error(r: dict, w: Where) -> str | None:
    """NA when the operation succeeded, else "Type: text" (or its status)."""
    if str(r.get("status") or "success").lower() == "success" and r.get("error") in (None, ""):
        return None
    return ": ".join(str(p) for p in (r.get("error_type"), r.get("error")) if p not in (None, "")) or str(r["status"])


def _end(r: dict, w: Where) -> Any:
    """``end_time``, else the start plus ``duration_seconds`` (NA when either is unknown)."""
    start, seconds = to_utc(r.get("start_time", r.get("timestamp"))), r.get("duration_seconds")
    if r.get("end_time") is None and isinstance(start, pd.Timestamp) and type(seconds) in (int, float) \
            and 0 <= seconds < 3e9:  # a century at most: beyond it the end falls outside the tables' time range
        return start + pd.Timedelta(seconds=seconds)
    return r.get("end_time")


def _usage(key: str):  # per-call usage: only where a writer adds it to the call log
    return lambda r, w: (r["usage"] if isinstance(r.get("usage"), dict) else {}).get(key, r.get(key))


MODEL_CALL = [
    Column("start", "timestamp"), Column("end", fn=_end), Column("duration_ms", fn=_ms), Column("error", fn=_error),
    Column("input_tokens", fn=_usage("input_tokens")), Column("output_tokens", fn=_usage("output_tokens")),
    Column("cached_tokens", fn=_usage("cached_input_tokens")), Column("cost_usd", fn=_usage("cost")),
    Column("attrs", fn=lambda r, w: {"component": r["_component"], "call_type": r.get("response_type"),
                                     "has_tool_calls": r["response_type"] == "tool_call" if "response_type" in r
                                     else None, "status": r.get("status"), "message_count": r.get("message_count"),
                                     "tool_calls_count": r.get("tool_calls_count")})]
TOOL_CALL = [
    Column("start", "timestamp"), Column("end", fn=_end), Column("duration_ms", fn=_ms),
    Column("error", fn=lambda r, w: None if str(r.get("status") or "success").lower() == "success"
           else r["outputs"] if isinstance(r.get("outputs"), str) and r["outputs"] else str(r["status"])),
    Column("attrs", fn=lambda r, w: {"id": r.get("id"), "source": r["_source"], "status": r.get("status"),
                                     "arguments": r.get("inputs"), "result": r.get("outputs"),
                                     "result_length": None if r.get("outputs") is None else len(str(r["outputs"]))})]
STEP = [  # a step's tokens are its model calls', counted once by the model components' usage: kept in attrs
    Column("name", fn=lambda r, w: r.get("step_type") or "turn"), Column("end", fn=_end),
    Column("start", fn=lambda r, w: r.get("start_time", r.get("timestamp"))), Column("duration_ms", fn=_ms),
    Column("error", fn=_error),
    Column("attrs", fn=lambda r, w: {"step": r.get("step_number"), "status": r.get("status"),
                                     "tool_calls": r.get("tool_calls"), "final": r.get("is_final_answer"),
                                     "input_tokens": r.get("input_tokens"), "output_tokens": r.get("output_tokens")})]


def sniff(path: Path) -> bool:
    """A ``benchmark_*.jsonl``, a folder holding one, or a JSON list of traced conversations."""
    return sniffed(path, _sniff_file, lambda folder: any(p.is_file() for p in folder.glob(RESULT_GLOB)))


def _sniff_file(path: Path) -> bool:
    data = head(path, SNIFF_BYTES)
    if path.suffix == ".json":
        text = data.decode("utf-8", "replace").lstrip()
        return text.startswith("[") and '"agent_name"' in text and '"messages"' in text
    first = data.split(b"\n", 1)[0]  # FileResultLogger writes task_id first, then repeat_idx
    return path.suffix == ".jsonl" and bool(_FIRST_LINE.match(first)) and b'"repeat_idx"' in first


def load(path: Path, *, strict: bool = False, **options: Any) -> Run:
    """A MASEval results folder, one ``benchmark_*.jsonl``, or a traced conversations ``.json``."""
    SPEC.options_from(options, path)
    path, problems = Path(path), Problems(strict)
    if path.suffix == ".json" and path.is_file():
        return _load_conversations(path, problems)
    files = sorted(path.glob(RESULT_GLOB)) if path.is_dir() else [path]
    if not files:
        problems.add(path, None, f"no {RESULT_GLOB} file in this folder")
    tables = {name: Table(name) for name in ("tasks", "events", "messages", "failures")}
    seen: dict = {}
    metas = []
    for file in files:
        for line, report in _reports(file, problems):
            _Report(report, Where(problems, file, line, f"task {report['task_id']}"), tables).read(seen)
        metas.append(_meta_json(file, problems))
    frames = {name: table.frame() for name, table in tables.items()}
    ev = frames["events"].reindex(columns=["kind", "name"])
    meta = {"run_id": files[0].stem if len(files) == 1 else path.name, "source_format": FORMAT, "path": str(path),
            "benchmark": next((str(m["benchmark"]) for m in metas if m.get("benchmark")), None),
            "models": sorted(set(ev.loc[ev["kind"] == "llm_call", "name"].dropna())), **_bounds(frames["tasks"])}
    if expected := [m["total_iterations"] for m in metas if isinstance(m.get("total_iterations"), int)]:
        meta["expected_iterations"] = sum(expected)
    for key in ("n_tasks", "n_repeats", "lines_written", "timestamp"):
        if values := [m[key] for m in metas if key in m]:
            meta[f"logger_{key}"] = values[0]
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
    path = file.with_suffix(".meta.json")
    meta = read_json(path, problems)[0] if path.exists() else {}
    if meta is not MISSING and not isinstance(meta, dict):
        problems.add(path, None, ".meta.json is not a JSON object", short_json(meta))
    return meta if isinstance(meta, dict) else {}


class _Report:
    """One report line into rows of the four tables."""

    def __init__(self, report: dict, where: Where, tables: dict[str, Table]):
        self.r, self.w, self.t = report, where, tables
        self.task_id = str(report["task_id"])
        self.trial = where.integer(report.get("repeat_idx"), "repeat_idx")
        self.key = {"task_id": self.task_id, "trial": self.trial}
        self.times: list[pd.Timestamp] = []
        self.calls: dict[str, list] = {"cost_usd": [], "input_tokens": [], "output_tokens": []}
        self.add = _adder(tables, self.key, self.at, self.times, self.calls)
        self.traces = traces = where.mapping(report.get("traces"), "traces")
        self.metadata = traces["metadata"] if isinstance(traces.get("metadata"), dict) else {}
        self.owners = list(self.items(traces.get("agents"), "traces.agents", ("messages", "logs")))
        if isinstance(traces.get("user"), dict):
            self.unread(traces["user"], ("messages", "logs"), "traces.user")
            self.owners.append((USER_SIM, traces["user"], "traces.user"))

    def at(self, path: str) -> _At:
        return _At(self.w.problems, self.w.file, self.w.line, f"task {self.task_id}: {path}.")

    def items(self, value: Any, path: str, read: tuple = ()) -> Iterator[tuple[str, dict, str]]:
        """(name, object, path) of components; one that is not an object or whose gather_traces raised is a problem."""
        for name, part in self.w.mapping(value, path).items():
            if not isinstance(part, dict):
                self.w.problem(f"{path}.{name} is not an object", part)
            elif "error" in part and "error_type" in part and len(part) <= 3:
                self.w.problem(f"{path}.{name}: {part['error_type']}: {part['error']}", part)
            else:
                self.unread(part, read, f"{path}.{name}")
                yield str(name), part, f"{path}.{name}"

    def entries(self, value: Any, path: str) -> Iterator[tuple[str, dict]]:
        for i, item in enumerate(self.w.listing(value, path)):
            if isinstance(item, dict):
                yield f"{path}[{i}]", item
            else:
                self.w.problem(f"{path}[{i}] is not an object", item)

    def unread(self, part: dict, read: tuple, path: str) -> None:
        """"not read: <path>.<key>" for parts holding lists or objects this loader does not know."""
        scalars = {k for k, v in part.items() if not isinstance(v, (list, dict))}
        unread(part, read, self.w, path, ignore=_BOOKKEEPING | scalars)

    def read(self, seen: dict) -> None:
        if self.trial is not None:  # a second report of one attempt: both kept, neither is known to be right
            here = (self.w.file, self.w.line)
            first = seen.setdefault((self.task_id, self.trial), here)
            if first != here:
                where = "" if first[0] == self.w.file else f"{first[0]} "
                self.w.problem(f"duplicate attempt (repeat_idx {self.trial}; first at {where}line {first[1]}); "
                               "both kept", self.task_id)
        self.unread(self.r, ("traces", "eval", "usage", "error", "config", "task"), "")
        self.unread(self.traces, ("metadata", "agents", "models", "tools", "environment", "user", "simulators",
                                  "callbacks", "other"), "traces")
        for name in ("simulators", "callbacks", "other"):  # each component's parts are "not read"
            list(self.items(self.traces.get(name), f"traces.{name}"))
        callers: dict[str, set] = {}
        for agent, trace, path in self.owners:
            if "messages" in trace:
                for tool in _message_rows(self.add, trace["messages"], f"{path}.messages", agent, self.w):
                    callers.setdefault(tool, set()).add(agent)
            for where, step in self.entries(trace.get("logs"), f"{path}.logs"):
                self.add("events", step, STEP, where, kind="step", agent=agent)
        self.model_calls()
        self.tool_calls(callers)
        self.task()

    def model_calls(self) -> None:
        collected = to_utc(self.metadata.get("timestamp"))
        agents = sorted((a for a, _, _ in self.owners if a != USER_SIM), key=len, reverse=True)
        owner = lambda c: next((a for a in agents if c == a or c.startswith(a + "_")), None)  # noqa: E731 worker_model -> worker
        billed, names, agents_of = self.model_usage(), {}, {}
        for component, model, path in self.items(self.traces.get("models"), "traces.models", ("logs",)):
            names[component] = str(model.get("model_id") or component)
            for where, log in self.entries(model.get("logs"), f"{path}.logs"):
                start = to_utc(log.get("timestamp"))
                late = isinstance(collected, pd.Timestamp) and isinstance(start, pd.Timestamp) and start > collected
                kind, agent = ("user_sim", USER_SIM) if component == USER_SIM else ("evaluator", EVALUATOR) \
                    if late or _JUDGE_NAME.search(component) else ("llm_call", owner(component))
                self.add("events", {**log, "_component": component}, MODEL_CALL, where, kind=kind, name=names[component],
                         agent=agent, parent_id=self.usage_id(component) if component in billed else None)
                agents_of.setdefault(component, set()).add(agent)
        self.usage_rows(billed, names, agents_of, owner)

    def usage_rows(self, billed: dict[str, dict], names: dict[str, str], agents_of: dict[str, set],
                   owner: Any) -> None:
        """A ``usage`` event per model component: what its calls (``parent_id``) cost."""
        for component, part in billed.items():
            tokens = {k: self.w.integer(part.get(k), f"usage.models.{component}.{k}", nonnegative=True)
                      for k in ("input_tokens", "output_tokens", "cached_input_tokens")}
            cost = self.w.number(part.get("cost"), f"usage.models.{component}.cost", nonnegative=True)
            name = names.get(component, component)
            attrs = {"model": name, "component": component}
            if zero_is_no_price(cost, tokens["input_tokens"], tokens["output_tokens"]):
                attrs["reported_cost"], cost = 0.0, None
            calls_by = agents_of.get(component, set())  # the judge's usage is the framework's, as its calls are
            agent = next(iter(calls_by)) if len(calls_by) == 1 else USER_SIM if component == USER_SIM \
                else EVALUATOR if _JUDGE_NAME.search(component) else owner(component)
            self.t["events"].append(self.w, **self.key, kind="usage", name=name, agent=agent,
                                    span_id=self.usage_id(component), cost_usd=cost, attrs=attrs,
                                    input_tokens=tokens["input_tokens"], output_tokens=tokens["output_tokens"],
                                    cached_tokens=tokens["cached_input_tokens"])

    def model_usage(self) -> dict[str, dict]:
        """``usage.models``: each model component's tokens and cost for this attempt."""
        usage = self.r.get("usage")
        models = usage.get("models") if isinstance(usage, dict) else None
        return {str(c): part for c, part in (models.items() if isinstance(models, dict) else ())
                if isinstance(part, dict) and "error" not in part
                and any(part.get(k) not in (None, 0) for k in ("input_tokens", "output_tokens", "cost"))}

    def usage_id(self, component: str) -> str:
        return f"usage/{self.task_id}/{self.trial}/{component}"

    def tool_calls(self, callers: dict[str, set]) -> None:
        environment = self.traces.get("environment")
        holders = [("traces.tools", self.traces.get("tools"))]
        if isinstance(environment, dict):
            self.unread(environment, ("tools", "tool_invocations"), "traces.environment")
            holders += [(f"traces.environment.{k}", environment.get(k)) for k in ("tools", "tool_invocations")]
        done: set = set()
        for base, holder in holders:
            for key, tool, path in self.items(holder, base, ("invocations",)):
                name = str(tool.get("name") or key)
                who = callers.get(name, ())
                for where, inv in self.entries(tool.get("invocations"), f"{path}.invocations"):
                    if inv.get("id") is not None and inv["id"] in done:
                        continue  # one tool registered in both places: its calls count once
                    done.add(inv.get("id"))
                    meta = inv["meta"] if isinstance(inv.get("meta"), dict) else {}
                    self.add("events", {**meta, **inv, "_source": path}, TOOL_CALL, where, kind="tool_call", name=name,
                             agent=next(iter(who)) if len(who) == 1 else None)

    def task(self) -> None:
        status = self.w.text(self.r.get("status"), "status")
        status = status.strip().lower() if status else None
        err = self.r.get("error")
        etype = err.get("error_type") if isinstance(err, dict) else None
        text = (": ".join(str(p) for p in (etype, err.get("error_message")) if p not in (None, "")) or short_json(err)
                if isinstance(err, dict) else err if err is None or isinstance(err, str) else short_json(err))
        ev = self.r.get("eval")
        results = [e for e in (ev if isinstance(ev, list) else [ev]) if isinstance(e, dict)]
        success = _verdict(results) if results else (None if status in (None, "success") else False)
        span = _span(self.times, self.w.time(self.metadata.get("timestamp"), "traces.metadata.timestamp"),
                     self.w.number(err.get("elapsed"), "error.elapsed") if isinstance(err, dict) else None)
        self.t["tasks"].append(
            self.w, **self.key, status=status, success=success, reward=self.reward(results), termination_reason=etype,
            error=text, query=self.r["task"].get("query") if isinstance(self.r.get("task"), dict) else None,
            **span, **self.usage())
        if status not in (None, "success") or success is False:
            wrong = status in (None, "success")
            self.t["failures"].append(self.w, task_id=self.task_id, trial=self.trial,
                                      category="incorrect" if wrong else status,
                                      step="answer" if wrong else STATUS_STEP.get(status),
                                      error="; ".join(", ".join(f"{k}={r[k]}" for k in VERDICT_FLAGS + SCORE_KEYS
                                                                if k in r) for r in results) if wrong else text)

    def reward(self, results: list[dict]) -> float | None:
        scores = [self.w.number(float(r[k]) if isinstance(r[k], bool) else r[k], f"eval.{k}") for r in results
                  if (k := next((k for k in SCORE_KEYS if r.get(k) is not None), None))]
        return sum(known) / len(known) if (known := [v for v in scores if v is not None]) else None

    def usage(self) -> dict:
        """Tokens and cost of the repeat from ``usage`` (flat or per category)."""
        usage = self.w.mapping(self.r.get("usage"), "usage")
        parts = [usage] if "cost" in usage or "input_tokens" in usage else [
            comp for cat, group in usage.items() if cat != "metadata" and isinstance(group, dict)
            for comp in ([group] if "cost" in group or "input_tokens" in group else group.values())
            if isinstance(comp, dict) and "error" not in comp]
        tokens = {k: [self.w.number(p.get(k), f"usage.{k}") for p in parts] for k in ("input_tokens", "output_tokens")}
        costs = [self.w.number(p.get("cost"), "usage.cost", nonnegative=True) for p in parts]
        costs = [c for c, i, o in zip(costs, *tokens.values()) if c is not None and not zero_is_no_price(c, i, o)]
        if not parts:  # no usage written: what the calls carry
            costs, tokens = [c for c in self.calls["cost_usd"] if c is not None], self.calls
        return {"cost_usd": sum(costs) if any(costs) else None,
                **{k: sum(v for v in vals if v is not None) if any(v is not None for v in vals) else None
                   for k, vals in tokens.items() if k != "cost_usd"}}


def _verdict(results: list[dict]) -> bool | None:
    """False when any evaluator marks the answer wrong or scores it 0; True when at least one
    gives a verdict and none is negative; NA when none gives one.

    >>> _verdict([{"passed": True, "reward": 1.0}, {"score": 0.0}]), _verdict([{"overall_gsr": 1.0}])
    (False, True)
    """
    verdicts = []
    for result in results:
        flag = next((result[k] for k in VERDICT_FLAGS if isinstance(result.get(k), bool)), None)
        score = next((result[k] for k in SCORE_KEYS if type(result.get(k)) in (int, float)), None)
        verdicts.append(flag if flag is not None else None if score is None else score > 0)
    return all(known) if (known := [v for v in verdicts if v is not None]) else None


SPEC = register(Format(name=FORMAT, sniff=sniff, load=load, cacheable=True, priority=40,
                       samples={"maseval": "analysis_kit.samples.maseval:write"},
                       description="MASEval FileResultLogger JSONL and traced conversations"))
