"""Loader for Inspect AI eval logs, ``.eval`` (a zip) and ``.json`` (mapping: CONTRIBUTING.md).

inspect-ai (``inspect_ai/log/_log.py``, ``event/``) writes in ``.eval`` ``header.json`` (``version, status,
eval, plan, results, stats, error``; ``_journal/start.json`` while running), ``samples/<id>_epoch_<n>.json``
(an ``EvalSample`` each: ``id, epoch, messages, scores, events, model_usage, started_at, completed_at,
total_time, working_time, error, limit, attachments``) and ``summaries.json``; ``.json`` is the same
``EvalLog`` as one object (older: ``score``, ``transcript``, ``step`` events). Read one sample at a time.
>>> run = load(Path("sample_logs/inspect/toolbox.eval"))             # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..model import Problems, Run
from ._chat import (Resolve, content_text, error_text, last_line, mapping, resolved, resolver, short,
                    sum_known, text_or_json)
from ._columns import Column, Table, import_record, unread
from ._json_stream import iter_records
from ._read import head, sniffed
from ._registry import Format, register
from ._values import Where
from ._zip import ZipArchive

FORMAT = "inspect"
_SNIFF_JSON = re.compile(rb'(?:\xef\xbb\xbf)?\s*\{\s*"version"\s*:\s*\d+\s*,'
                         rb'\s*"status"\s*:\s*"[a-z]+"\s*,\s*"eval"\s*:')
_SNIFF_EVAL = re.compile(rb"PK\x03\x04.{26}(?:_journal/|header\.json|samples/|summaries\.json)", re.S)
# Score values that say pass or fail, and the number each stands for (as Inspect's value_to_float).
_VERDICTS = {"c": (True, 1.0), "p": (False, 0.5), "i": (False, 0.0), "n": (False, 0.0),
             "yes": (True, 1.0), "true": (True, 1.0), "pass": (True, 1.0), "correct": (True, 1.0),
             "no": (False, 0.0), "false": (False, 0.0), "fail": (False, 0.0), "incorrect": (False, 0.0)}
_STATE = {"state", "store", "sample_init", "input", "info"}  # no time, usage or error of their own
_LOUD = ("warning", "error", "critical")  # logger events kept (as errors); info and debug lines are not
_TEXT = ("content", "tool_calls", "arguments", "result", "cmd")  # where attachments are resolved
_MERGED = {"tool": "tool_call", "subtask": "subtask", "scorer": "score"}  # a span and its event: one row
_SAMPLE_READ = set("""id epoch scores score events transcript messages model_usage started_at completed_at
    total_time working_time error limit error_retries attachments target""".split())
_SAMPLE_IGNORED = set("""input choices output metadata store uuid events_data role_usage sandbox files setup
    description turn_count timelines invalidation message_limit token_limit token_limit_type
    token_limit_usage time_limit model_fallbacks completed message_count retries limit_reason""".split())
_TYPES = {"tasks": dict.fromkeys(("cached_tokens", "cache_write_tokens", "reasoning_tokens"), "int")}


@dataclass(frozen=True)
class Options:
    scorer: str | None = None  # the scorer that decides tasks.success (default: each sample's first)
    pass_threshold: float = 1.0  # a numeric score at or above this passes (Inspect's scale is 0-1)


def sniff(path: Path) -> bool:
    """An ``.eval`` zip or an Inspect ``.json`` log (a folder of them: `loading` sees each)."""
    return sniffed(path, lambda p: p.suffix in (".eval", ".json") and bool(
        (_SNIFF_EVAL if p.suffix == ".eval" else _SNIFF_JSON).match(head(p))))


def _read_eval(path: Path, problems: Problems, header: dict) -> Iterator[tuple[str, Any]]:
    """("sample", record) of an ``.eval`` archive one at a time, then ("summary", record);
    ``header`` is filled before the first."""
    with ZipArchive(path) as archive:
        for problem in archive.problems:
            problems.add(path, None, problem)
        found = archive.read_json("header.json", problems, path)
        if not isinstance(found, dict):  # still running, or cut: what the journal says
            start = archive.read_json("_journal/start.json", problems, path)
            found = dict(start if isinstance(start, dict) else {}, status="started")
        header.update(found)
        names = archive.names()
        for name in (n for n in names if n.startswith("samples/") and n.endswith(".json")):
            sample = archive.read_json(name, problems, path)
            if sample is not None:
                yield "sample", sample
        journal = sorted((n for n in names if n.startswith("_journal/summaries/")),
                         key=lambda n: int(re.sub(r"\D", "", n) or 0))
        for name in ["summaries.json"] if "summaries.json" in names else journal:
            found = archive.read_json(name, problems, path)
            yield from (("summary", s) for s in (found if isinstance(found, list) else []))


TASK = [
    Column("task_id", fn=lambda s, w: None if s.get("id") is None else str(s["id"]), required=True),
    Column("trial", "epoch", default=1),
    Column("start", "started_at"), Column("end", "completed_at"),
    Column("duration_s", "total_time"), Column("working_s", "working_time", type="float"),
    Column("error", fn=lambda s, w: error_text(s.get("error"))),
    Column("limit", "limit.type", type="str"), Column("limit_message", "limit.reason", type="str"),
    Column("retries", fn=lambda s, w: len(s.get("error_retries") or []) or None, type="int"),
    Column("target", fn=lambda s, w: short(s.get("target")), type="str"),
]
MESSAGE = [
    Column("role", "role"), Column("name", "function"), Column("model", "model", type="str"),
    Column("content", fn=lambda m, w: content_text(m.get("content"))),
    Column("tool_calls", fn=lambda m, w: [{"id": c.get("id"), "name": c.get("function"), "arguments": c.get(
        "arguments")} for c in m.get("tool_calls") or [] if isinstance(c, dict)] or None),
    Column("tool_call_id", fn=lambda m, w: text_or_json(m.get("tool_call_id"))),
    Column("error", fn=lambda m, w: _tool_error(m.get("error")), type="str"),
]
# Timed events: event kind -> the row's columns, and the columns of its attrs.
EVENT = {
    "model": [Column("name", "model"),
              Column("input_tokens", fn=lambda e, w: _all_input(mapping(mapping(e, "output"), "usage"))),
              Column("error", fn=lambda e, w: e.get("error") or mapping(e, "output").get("error")),
              Column("output_tokens", "output.usage.output_tokens"),
              Column("cached_tokens", "output.usage.input_tokens_cache_read"),
              Column("cost_usd", "output.usage.total_cost")],
    "tool": [Column("name", "function"), Column("error", fn=lambda e, w: _tool_error(e.get("error")))],
    "sandbox": [Column("name", "action")],
    "subtask": [Column("name", "name")],
    "approval": [Column("name", "call.function")],
    "score": [Column("name", "scorer", default="score")],
    "sample_limit": [Column("name", "type"), Column("error", "message")],
    "error": [Column("name", default="error"), Column("error", fn=lambda e, w: error_text(e.get("error")))],
    "logger": [Column("name", "message.level"), Column("error", "message.message")],  # warnings and errors
}
ATTRS = {
    "model": [Column("retries", "retries"), Column("cache", "cache"), Column("role", "role"),
              Column("working_s", "working_time"),
              Column("stop_reason", fn=lambda e, w: _choice(e).get("stop_reason")),
              Column("has_tool_calls",
                     fn=lambda e, w: bool(mapping(_choice(e), "message").get("tool_calls"))),
              Column("cache_write_tokens", "output.usage.input_tokens_cache_write"),
              Column("reasoning_tokens", "output.usage.reasoning_tokens")],
    "tool": [Column("arguments", "arguments"), Column("tool_call_id", "id"),
             Column("working_s", "working_time"),
             Column("result", fn=lambda e, w: short(e.get("result"), 2000)), Column("handoff_agent", "agent"),
             Column("result_length", fn=lambda e, w: len(text_or_json(e.get("result")) or ""))],
    "sandbox": [Column("cmd", fn=lambda e, w: short(e.get("cmd"))), Column("file", "file"),
                Column("exit_code", "result")],
    "subtask": [Column("type", "type"), Column("working_s", "working_time")],
    "approval": [Column("decision", "decision"), Column("approver", "approver"),
                 Column("tool_call_id", "call.id")],
    "score": [Column("value", "score.value"), Column("intermediate", "intermediate")],
    "sample_limit": [Column("limit", "limit"), Column("category", default="limit")],
    "error": [Column("category", default="error")],
}
_ref = lambda value: None if value is None else str(value)  # noqa: E731 ids as text, whatever the log has
KIND = {"model": "llm_call", "tool": "tool_call", "sample_limit": "error", "logger": "error"}  # others keep theirs


class _Log:
    """The tables of one log, filled one sample at a time."""

    def __init__(self, path: Path, problems: Problems, options: Options):
        self.path, self.problems, self.options, self.seen = path, problems, options, set()  # (id, epoch)
        self.tables = {n: Table(n, _TYPES.get(n)) for n in ("tasks", "events", "messages", "failures")}

    def _where(self, sample: dict) -> Where:
        return Where(self.problems, self.path, None, f"sample {sample.get('id')} epoch {sample.get('epoch')}")

    def sample(self, sample: dict) -> None:
        where = self._where(sample)
        unread(sample, _SAMPLE_READ, where.at(label=""), "sample", _SAMPLE_IGNORED)
        transcript = where.mapping(sample.get("transcript"), "transcript")
        resolve = resolver(sample.get("attachments") or transcript.get("content") or {}, ("attachment", "tc"))
        events = where.listing(sample["events"] if "events" in sample else transcript.get("events"), "events")
        rows = _merge_spans(self._events(events, resolve, where))
        task = self._task(sample, where, rows)
        if task is None:
            return
        keys = {"task_id": task["task_id"], "trial": task["trial"]}
        self.seen.add((keys["task_id"], str(keys["trial"])))
        for row in rows:
            self.tables["events"].append(where, **keys, **row)
        for idx, message in enumerate(where.listing(sample.get("messages"), "messages")):
            if not isinstance(message, dict):
                where.problem(f"message {idx} is not an object", message)
                continue
            self.tables["messages"].add(resolved(message, resolve, _TEXT), MESSAGE, where, **keys, idx=idx)

    def summary(self, summary: dict) -> None:
        """A tasks row from a sample summary whose sample was unreadable or never written."""
        if (str(summary.get("id")), str(summary.get("epoch") or 1)) in self.seen:
            return
        error, limit = summary.get("error"), summary.get("limit")
        sample = dict(summary, error={"message": error} if error else None,
                      limit={"type": limit, "reason": summary.get("limit_reason")} if limit else None)
        where = self._where(summary)
        where.problem("no readable sample: its tasks row is from the summaries (no events, no messages)")
        self._task(sample, where, [])

    def _task(self, sample: dict, where: Where, rows: list[dict]) -> dict | None:
        scores = where.mapping(sample.get("scores"), "scores") or (
            {"score": sample["score"]} if sample.get("score") else {})
        chosen = self.options.scorer if self.options.scorer in scores else next(iter(scores), None)
        score = scores.get(chosen) if isinstance(scores.get(chosen), dict) else {}
        success, reward = _verdict(score.get("value"), self.options.pass_threshold)
        error, limit = sample.get("error"), sample.get("limit")
        ended = sample.get("completed_at") or scores or sample.get("messages")
        status = ("error" if error else f"{limit.get('type') or 'unknown'}_limit" if isinstance(limit, dict)
                  else "success" if ended else "running")
        usage = _usage(where.mapping(sample.get("model_usage"), "model_usage"))
        if not usage and rows:  # older logs have no usage per sample: the calls' own (never both)
            calls = [r for r in rows if r["kind"] in ("llm_call", "evaluator")]
            usage = {k: sum_known(r.get(k) for r in calls)
                     for k in ("input_tokens", "output_tokens", "cached_tokens", "cost_usd")}
        starts = [r["start"] for r in rows if isinstance(r["start"], str)]  # older logs: events' (one offset)
        ends = [t for r in rows for t in (r["end"], r["start"]) if isinstance(t, str)]
        raw = {f"score_{name}": text_or_json(s.get("value") if isinstance(s, dict) else s)
               for name, s in scores.items()}
        task = self.tables["tasks"].add(
            sample, TASK, where, status=status, success=success, reward=reward, scorer=chosen,
            answer=short(score.get("answer")),
            termination_reason="completed" if status == "success" else status,
            start=min(starts, default=None), end=max(ends, default=None), **usage, **raw)
        keys = {"task_id": task["task_id"], "trial": task["trial"]} if task else None
        if keys and error:
            self.tables["failures"].append(where, **keys, category="error", error=last_line(error),
                                           message=error_text(error))
        if keys and isinstance(limit, dict):
            self.tables["failures"].append(where, **keys, category="limit", step=limit.get("type"),
                                           error=limit.get("reason") or "limit reached")
        return task

    def _events(self, events: list, resolve: Resolve, where: Where) -> list[dict]:
        """Rows of one sample's events in file order; spans (``kind`` "span") with their ids."""
        rows: list[dict] = []
        spans: dict[str, dict] = {}
        steps: list[dict] = []  # open `step` events of older logs, which have no span ids
        for index, event in enumerate(events):
            kind = _ref(event.get("event")) if isinstance(event, dict) else None
            if kind == "span_begin" or (kind == "step" and event.get("action") == "begin"):
                span_id = str(event.get("id") or f"step-{index}")
                parent = (_ref(event.get("parent_id")) if kind == "span_begin"
                          else steps[-1]["span_id"] if steps else None)
                outer = spans.get(parent) or {}
                spans[span_id] = {
                    "kind": "span", "type": event.get("type"), "name": event.get("name"),
                    "start": event.get("timestamp"), "end": None, "span_id": span_id, "parent_id": parent,
                    "agent": event.get("name") if event.get("type") == "agent" else outer.get("agent"),
                    "scoring": event.get("type") in ("scorer", "scorers") or outer.get("scoring", False)}
                rows.append(spans[span_id])
                steps.extend([spans[span_id]] if kind == "step" else [])
            elif kind == "span_end" and _ref(event.get("id")) in spans:
                spans[_ref(event["id"])]["end"] = event.get("timestamp")
            elif kind == "step":  # the end of the innermost open step of that name
                ending = next((s for s in reversed(steps) if s["name"] == event.get("name")), None)
                if ending is not None:
                    ending["end"] = event.get("timestamp")
                    steps.remove(ending)
            elif kind in EVENT and (kind != "logger" or mapping(event, "message").get("level") in _LOUD):
                parent = _ref(event.get("span_id")) or (steps[-1]["span_id"] if steps else None)
                outer = spans.get(parent) or {}
                event = resolved(event, resolve, _TEXT)
                attrs = import_record(event, ATTRS.get(kind, ()), where) or {}
                rows.append(dict(
                    import_record(event, EVENT[kind], where) or {}, span_id=event.get("uuid"),
                    parent_id=parent,
                    kind="evaluator" if kind == "model" and outer.get("scoring") else KIND.get(kind, kind),
                    start=event.get("timestamp"), agent=outer.get("agent"),
                    end=event.get("timestamp") if kind in ("sample_limit", "error", "logger") else
                    event.get("completed") or event.get("timestamp"),
                    attrs={k: v for k, v in attrs.items() if v is not None} or None))
            elif kind not in _STATE and kind not in ("span_end", "logger"):
                self.problems.once(self.path, None, f"not read: {kind or 'malformed'} events", event)
        return rows


def _merge_spans(rows: list[dict]) -> list[dict]:
    """One row per operation: a tool, subtask or scorer span and the event it wraps become the
    event's row under the span's id (a score takes its scorer's time); agent spans are ``agent``
    rows, the other spans (init, solvers, solver, scorers, custom) ``step`` rows."""
    spans = {r["span_id"]: r for r in rows if r["kind"] == "span"}
    merged: set[str] = set()
    tool_spans: dict[tuple, list[dict]] = {}  # by (parent, name), in order: parallel calls pair in turn
    for span in spans.values():
        if span["type"] == "tool":
            tool_spans.setdefault((span["parent_id"], _ref(span["name"])), []).append(span)
    for row in rows:
        if row["kind"] == "tool_call":
            span = (tool_spans.get((row["parent_id"], _ref(row["name"]))) or [None]).pop(0)
        else:
            span = spans.get(row["parent_id"]) if row["kind"] in ("subtask", "score") else None
            if not span or _MERGED.get(span["type"]) != row["kind"] or span["span_id"] in merged:
                span = None
        if span is not None:
            merged.add(span["span_id"])
            row.update(span_id=span["span_id"], parent_id=span["parent_id"])
            row.update({"start": span["start"], "end": span["end"]} if row["kind"] == "score" else {})
    out = []
    for row in rows:
        if row["kind"] == "span" and row["span_id"] not in merged:
            span_type, _ = row.pop("type"), row.pop("scoring")
            agent = span_type == "agent"
            row.update(kind="agent" if agent else "step", attrs=None if agent else {"step": row["name"],
                                                                                     "span_type": span_type})
        if row["kind"] != "span":
            out.append(row)
    return out


def _choice(event: dict) -> dict:
    choices = mapping(event, "output").get("choices")
    return choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}


def _usage(per_model: dict) -> dict[str, Any]:
    """A sample's usage summed over its models; {} when it has none."""
    models = [u for u in per_model.values() if isinstance(u, dict)]
    total = lambda key: sum_known(u.get(key) for u in models)  # noqa: E731
    if not models:
        return {}
    return {"input_tokens": sum_known(map(_all_input, models)), "output_tokens": total("output_tokens"),
            "cached_tokens": total("input_tokens_cache_read"), "reasoning_tokens": total("reasoning_tokens"),
            "cache_write_tokens": total("input_tokens_cache_write"), "cost_usd": total("total_cost")}


def _all_input(usage: Any) -> Any:
    """Every input token: Inspect's ``input_tokens`` leaves out cache reads and writes."""
    keys = ("input_tokens", "input_tokens_cache_read", "input_tokens_cache_write")
    parts = [usage.get(k) for k in keys] if isinstance(usage, dict) else [None]
    return sum_known(parts) if isinstance(parts[0], (int, float)) and not isinstance(parts[0], bool) else None


def _verdict(value: Any, threshold: float) -> tuple[bool | None, float | None]:
    """(success, reward) of a score value: C/I/P/N and yes/no words, booleans, numbers against
    ``threshold``; a value of another shape (a dict of several) is (NA, NA)."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _VERDICTS:
            return _VERDICTS[word]
        try:
            value = float(word)
        except ValueError:
            return None, None
    if isinstance(value, (int, float)) and value == value:  # booleans too; NaN is no verdict
        return (value if isinstance(value, bool) else value >= threshold), float(value)
    return None, None


def _tool_error(error: Any) -> str | None:
    return f"{error.get('type')}: {error.get('message')}" if isinstance(error, dict) else text_or_json(error)


META = [
    Column("benchmark", "eval.task"), Column("started", "stats.started_at"),
    Column("ended", "stats.completed_at"),
    Column("dataset", fn=lambda h, w: mapping(mapping(h, "eval"), "dataset").get("name")
           or mapping(mapping(h, "eval"), "dataset").get("location")),
    Column("epochs", "eval.config.epochs"), Column("inspect_version", "eval.packages.inspect_ai"),
    Column("solver", fn=lambda h, w: mapping(h, "eval").get("solver") or ", ".join(
        str(s.get("solver")) for s in mapping(h, "plan").get("steps") or [] if isinstance(s, dict)) or None),
    Column("eval_status", "status"), Column("eval_error", fn=lambda h, w: error_text(h.get("error"))),
    Column("eval_id", "eval.eval_id"), Column("log_version", "version"),
    Column("metrics", fn=lambda h, w: {
        s.get("name"): {m.get("name"): m.get("value")
                        for m in mapping(s, "metrics").values() if isinstance(m, dict)}
        for s in mapping(h, "results").get("scores") or [] if isinstance(s, dict)}),
]


def _meta(path: Path, header: dict, problems: Problems) -> dict[str, Any]:
    meta = import_record(header, META, where := Where(problems, path, None, "header")) or {}
    if meta["eval_status"] != "success":
        reason = f": {meta['eval_error']}" if meta["eval_error"] else ""
        problems.add(path, None, f"eval status {meta['eval_status'] or 'unknown'}{reason}; "
                     "what the log holds is loaded")
    spec = mapping(header, "eval")
    roles = [r.get("model") for r in mapping(spec, "model_roles").values() if isinstance(r, dict)]
    models = [spec.get("model"), *roles, *mapping(mapping(header, "stats"), "model_usage")]
    return dict(meta, run_id=path.stem, source_format=FORMAT, path=str(path), domain=None,
                models=list(dict.fromkeys(m for m in models if isinstance(m, str))),
                started=where.time(meta["started"] or spec.get("created"), "started"),
                ended=where.time(meta["ended"], "ended"))


def load(path: Path, *, strict: bool = False, **options: Any) -> Run:
    """Load one Inspect log, ``.eval`` or ``.json`` (see the module docstring).

    >>> run = load(Path("sample_logs/inspect/toolbox.eval"))             # doctest: +SKIP
    >>> run.events.groupby("kind").duration_ms.median()                  # doctest: +SKIP
    """
    path, problems, header = Path(path), Problems(strict), {}
    log = _Log(path, problems, SPEC.options_from(options, path))
    records = _read_eval(path, problems, header) if path.suffix == ".eval" else (
        ("sample", s) for s in iter_records(path, problems, "samples", header))
    for kind, record in records:
        if not isinstance(record, dict):
            problems.add(path, None, f"a {kind} that is not an object", record)
        else:
            log.sample(record) if kind == "sample" else log.summary(record)
    frames = {name: table.frame() for name, table in log.tables.items()}
    if len(frames["events"]):
        events = frames["events"]
        events["duration_ms"] = (events["end"] - events["start"]).dt.total_seconds() * 1000.0
    return Run(meta=_meta(path, header, problems), problems=problems.frame(), **frames)


SPEC = register(Format(
    name=FORMAT, sniff=sniff, load=load, options=Options, priority=60,
    samples={"inspect": "analysis_kit.samples.inspect:write"},
    description="Inspect AI eval logs (.eval and .json)"))
