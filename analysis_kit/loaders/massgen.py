"""Loader for MassGen log directories (``log_YYYYMMDD_HHMMSS/``), flat or ``turn_N/attempt_M/``.

One load is one attempt (``turn``/``attempt`` options; by default the latest turn's latest
attempt); ``meta["attempts"]`` lists every turn and attempt of the log with its outcome and,
for a restarted one, the reason. The files (``_massgen_files``), the coordination
(``_massgen_coord``), the tool executions joined across files (``_massgen_tools``) and the
execution traces (``_massgen_trace``) each have their module; this one puts them together.

- events: coordination events (answers and votes joined to their snapshot files), rounds,
  one ``tool_call`` per tool execution (timed by metrics_events.json, with arguments and
  results from events.jsonl, streaming_debug.log and the traces, which also name the agent),
  massgen.log's ERROR lines as ``error`` events;
- messages: the question, every answer, the final answer, and every trace's sections;
- metrics records from before the attempt began are an earlier attempt's (MassGen keeps a
  backend's metrics across attempts): not counted here, one problem row says how many.

>>> run = load(Path("log_20251025_225510"))                        # doctest: +SKIP
>>> run.meta["winner"], run.meta["vote_counts"]["agent_6"]          # doctest: +SKIP
('agent_6', 7)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..model import Problems, Run
from . import _massgen_coord as coord
from ._massgen_files import AttemptFiles
from ._massgen_layout import Choice, choose, is_log_dir
from ._massgen_tools import (ToolRun, claim_trace_call, events_activity, merge_activity, pair_activity,
                             streaming_activity, utc_offset)
from ._massgen_trace import parse_trace
from ._read import MISSING, head, read_json, read_text, sniffed
from ._registry import Format, register

FORMAT = "massgen"
SNIFF_BYTES = 65536


@dataclass(frozen=True)
class Options:
    """``turn``/``attempt``: which ``turn_N/attempt_M`` of a newer log to load (default: the
    latest turn that has attempts, and its latest attempt)."""

    turn: int | None = None
    attempt: int | None = None


def sniff(path: Path) -> bool:
    """True for a MassGen log directory, a folder holding exactly one ``log_*`` directory,
    or a ``status.json`` file. Cheap and never raises.

    >>> sniff(Path("/nonexistent"))
    False
    """
    return sniffed(path, _sniff_status_file, _sniff_dir)


def _sniff_dir(p: Path) -> bool:
    if is_log_dir(p):
        return True
    logs = [c for c in p.iterdir() if c.is_dir() and c.name.startswith("log_")]
    return len(logs) == 1 and is_log_dir(logs[0])


def _sniff_status_file(p: Path) -> bool:
    if p.name == "status.json":
        return True
    if p.suffix.lower() != ".json":
        return False
    text = head(p, SNIFF_BYTES).decode("utf-8", "replace")
    return ('"coordination"' in text and '"agents"' in text and '"simulations"' not in text
            and ('"results"' in text or '"meta"' in text))


def load(path: Path, *, strict: bool = False, turn: int | None = None, attempt: int | None = None) -> Run:
    """Load one attempt of a MassGen log directory (or a lone ``status.json``) into a Run.

    >>> run = load(Path("log_20251103_145228"), turn=1, attempt=1)  # doctest: +SKIP
    >>> [a["outcome"] for a in run.meta["attempts"]]                   # doctest: +SKIP
    ['restarted', 'completed']
    """
    path = Path(path)
    problems = Problems(strict)
    if path.is_file():
        files = AttemptFiles(path.parent, path.parent, problems)
        files.read_status(path)
        choice = Choice(path.parent, path.parent, "status_file", None, None, {})
        return _Assembly(choice, files, problems).run(run_id=path.stem)
    choice = choose(path, turn, attempt, problems)
    files = AttemptFiles(choice.root, choice.base, problems)
    if choice.layout != "newer_empty":
        files.read(choice.layout)
    run_id = choice.root.name if choice.turn is None else f"{choice.root.name}/turn_{choice.turn}/attempt_{choice.attempt}"
    return _Assembly(choice, files, problems).run(run_id=run_id)


class _Assembly:
    """The tables of one attempt, from its files."""

    def __init__(self, choice: Choice, files: AttemptFiles, problems: Problems):
        self.choice, self.files, self.problems = choice, files, problems
        self.window = _window(files)
        self.snaps: list[dict] = []
        self.traces: list[tuple[dict, object]] = []

    def report(self, name: str):
        return lambda reason, raw: self.problems.add(self.choice.base / name, None, reason, str(raw)[:200])

    # -- snapshots and traces
    def read_snapshots(self) -> None:
        if self.choice.layout in ("status_file", "newer_empty"):
            return
        for agent_dir in sorted(p for p in self.choice.base.glob("agent_*") if p.is_dir()):
            for folder in sorted(p for p in agent_dir.iterdir() if p.is_dir()):
                self._snapshot(agent_dir.name, folder)
        for folder in sorted(p for p in (self.choice.base / "final").glob("*") if p.is_dir()):
            self._trace(folder.name, folder, final=True)
        offset = utc_offset([s["local_time"] for s in self.snaps], *self.window)
        for s in self.snaps:
            s["time"] = None if s["local_time"] is None else (s["local_time"] - offset).tz_localize("UTC")

    def _snapshot(self, agent: str, folder: Path) -> None:
        rel = folder.relative_to(self.choice.root).as_posix()
        context = folder / "context.txt"
        text = read_text(context, self.problems) if context.is_file() else None
        common = {"agent": agent, "folder": rel, "local_time": coord.folder_time(folder.name),
                  "context_length": len(text) if text is not None else None}
        if (folder / "answer.txt").is_file():
            answer = read_text(folder / "answer.txt", self.problems, fallback="cp1252")
            if answer is not None:
                self.snaps.append({**common, "type": "answer", "text": answer, "file": f"{rel}/answer.txt",
                                   "key": f"{agent}/{folder.name}/answer.txt"})
        if (folder / "vote.json").is_file():
            vote, _ = read_json(folder / "vote.json", self.problems)
            if isinstance(vote, dict):
                self.snaps.append({**common, "type": "vote", "vote": vote, "file": f"{rel}/vote.json",
                                   "key": f"{agent}/{folder.name}/vote.json"})
            elif vote is not MISSING:
                self.problems.add(folder / "vote.json", None, f"expected a JSON object, not {type(vote).__name__}")
        self._trace(agent, folder, final=False)

    def _trace(self, agent: str, folder: Path, final: bool) -> None:
        f = folder / "execution_trace.md"
        if not f.is_file():
            return
        rel = f.relative_to(self.choice.root).as_posix()
        self.files.files[rel] = f.stat().st_size
        text = read_text(f, self.problems)
        trace = parse_trace(text or "", f, self.problems)
        if trace.agent and trace.agent != agent:
            self.problems.add(f, 1, f"the trace's header names agent {trace.agent!r} but it is in {agent}'s "
                              f"folder; taken as {agent}'s", trace.agent)
        self.traces.append(({"agent": agent, "file": rel, "final": final,
                             "local_time": coord.folder_time(folder.name)}, trace))

    # -- tool executions
    def tool_rows(self, rounds: list[dict] = ()) -> list[dict]:
        timed = [self._timed(i, item) for i, item in enumerate(coord.as_list(self.files.metrics.get("tool_executions")))]
        timed = [t for t in timed if t is not None and self._in_attempt(t.start, "tool_executions")]
        jsonl = [(n, r) for n, r in self.files.jsonl if r.get("event_type") in ("tool_start", "tool_complete")]
        activity = events_activity(jsonl, self.choice.base / "events.jsonl", self.problems)
        acts = pair_activity(activity, "events.jsonl", utc_offset([a["time"] for a in activity], *self.window))
        if self.files.streaming:
            day = self.window[0] if self.window[0] is not None else None
            stream = streaming_activity(self.files.streaming, self.choice.base / "streaming_debug.log", day, self.problems)
            acts += pair_activity(stream, "streaming_debug.log", utc_offset([s["time"] for s in stream], *self.window))
        runs = merge_activity(timed, acts)
        windows: dict[str, list[tuple]] = {}
        for r in rounds:
            windows.setdefault(r.get("agent"), []).append((r.get("start"), r.get("end")))
        for info, trace in sorted(self.traces, key=lambda t: (t[0]["local_time"] is None, t[0]["local_time"] or 0)):
            answered: list[tuple] = []  # (result line, end of the row) of this trace's calls
            for call in trace.calls(workflow=False):
                bound = max((end for line, end in answered if line < call.line and end is not None), default=None)
                run = claim_trace_call(runs, info["agent"], call.name, call.args, windows.get(info["agent"], ()), bound)
                if run is None:
                    run = ToolRun(call.name, agent=info["agent"], sources=[])
                    run.claimed = True
                    runs.append(run)
                self._from_trace(run, call, info)
                answered.append((call.result_line or call.line, run.end))
        return [r.row() for r in runs]

    @staticmethod
    def _from_trace(run: ToolRun, call, info: dict) -> None:
        run.agent, run.sources = info["agent"], run.sources + ["execution_trace.md"]
        run.args = call.args if run.args is None else run.args
        run.result = call.result if run.result is None else run.result
        run.round = run.round if run.round is not None else call.round
        run.attrs.update(trace=info["file"], trace_line=call.line, **({"records": call.records} if call.records > 1 else {}))
        if run.error is None and call.is_error:
            run.error = call.result or "error"

    def _timed(self, i: int, item) -> ToolRun | None:
        if not isinstance(item, dict):
            self.problems.add(self.choice.base / "metrics_events.json", None,
                              f"tool_executions[{i}] is not a JSON object", str(item)[:200])
            return None
        run = ToolRun(item.get("tool_name"), call_id=item.get("call_id"), agent=item.get("agent_id"),
                      start=coord.when(item.get("start_time")), end=coord.when(item.get("end_time")),
                      duration_ms=coord.number(item.get("execution_time_ms")), sources=["metrics_events.json"])
        run.round = coord.number(item.get("round_number"))
        if run.duration_ms is None and run.start is not None and run.end is not None:
            run.duration_ms = (run.end - run.start).total_seconds() * 1000
        ok = item.get("success")
        if ok is False or (isinstance(ok, str) and ok.lower() == "false"):
            run.error = item.get("error_message") or "error"
        known = {"tool_name", "agent_id", "round_number", "start_time", "end_time", "execution_time_ms",
                 "success", "error_message", "call_id"}
        run.attrs = {k: v for k, v in item.items() if k not in known}
        return run

    def _in_attempt(self, start: pd.Timestamp | None, what: str) -> bool:
        """False (and counted) for a record from before this attempt began."""
        begin = self.window[0]
        if self.choice.attempt in (None, 1) or begin is None or start is None or start >= begin:
            return True
        self.earlier[what] = self.earlier.get(what, 0) + 1
        return False

    def rounds(self, coordination: list[dict]) -> list[dict]:
        rows = [coord.round_row(agent, item, "metrics_summary.json")
                for agent, info in coord.as_dict(self.files.summary.get("agents")).items()
                for item in coord.as_list(coord.as_dict(info).get("round_history")) if isinstance(item, dict)]
        if not rows:
            rows = [coord.round_row(item["agent_id"], item, "metrics_events.json")
                    for item in coord.as_list(self.files.metrics.get("round_completions"))
                    if isinstance(item, dict) and isinstance(item.get("agent_id"), str)]
        rows = [r for r in rows if self._in_attempt(r["start"], "rounds")]
        return rows or coord.derived_rounds(coordination)

    def log_error_rows(self) -> list[dict]:
        errors = self.files.log_errors
        day = (self.window[0] or pd.Timestamp("1970-01-01", tz="UTC")).tz_localize(None).normalize()
        local = [day + pd.Timedelta(e["time"]) for e in errors]
        offset = utc_offset(local, *self.window)
        return [{"kind": "error", "name": "massgen.log", "start": (t - offset).tz_localize("UTC"),
                 "end": (t - offset).tz_localize("UTC"), "error": e["text"],
                 "attrs": {"level": e["level"], "file": "massgen.log", "line": e["line"]}}
                for e, t in zip(errors, local)]

    # -- assembling
    def run(self, run_id: str) -> Run:
        from ._massgen_meta import build_run

        self.earlier: dict[str, int] = {}
        self.read_snapshots()
        return build_run(self, run_id)


def _window(files: AttemptFiles) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """When the attempt ran (UTC): session start/end, else status.json's start and elapsed."""
    start, end = coord.when(files.session.get("start_time")), coord.when(files.session.get("end_time"))
    meta = coord.as_dict(files.status.get("meta"))
    start = start or coord.when(meta.get("start_time"))
    elapsed = coord.number(meta.get("elapsed_seconds"))
    if end is None and start is not None and elapsed is not None:
        end = start + pd.Timedelta(seconds=elapsed)
    return start, end


SPEC = register(Format(
    name=FORMAT, sniff=sniff, load=load, options=Options, cacheable=False, priority=10,
    samples={"massgen": "analysis_kit.samples.massgen:write"},
    description="MassGen log directories (flat and turn_N/attempt_M)"))
