"""Reading one MassGen attempt's files through the core, every defect a problem row, and
every part that holds operations, messages, usage or errors either read or listed as
"not read" (once per run).

What is read where (``massgen/coordination_tracker.py``, ``orchestrator_collaborators/
metrics_reporter.py``, ``logger_config.py``, ``events.py`` of MassGen 0.1.97):

- ``coordination_events.json``: session_metadata, events;
- ``status.json``: meta, costs, coordination, agents (status, counts, vote, error,
  reliability), results, finish_reason; ``tools``, ``rounds`` and each agent's
  ``round_history``/``token_usage`` repeat metrics_summary.json, ``historical_workspaces``
  lists folders: knowingly not read;
- ``metrics_summary.json``: meta, totals, tools, rounds, api_timing, agents (round_history,
  token_usage); ``metrics_events.json``: tool_executions, round_completions;
- ``execution_metadata.yaml``: query, config (the agents' models), cli_args (a restart's
  reason), massgen_version;
- ``events.jsonl``: tool_start/tool_complete (tool runs) and error events; the event types in
  ``EVENTS_ELSEWHERE`` repeat coordination_events.json, metrics or the traces;
- ``streaming_debug.log``: tool arguments and results; ``massgen.log``: its ERROR lines;
- ``snapshot_mappings.json``: answer and vote labels of the snapshot folders.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..model import Problems
from ._columns import unread
from ._read import MISSING, iter_jsonl, read_json, read_text, read_yaml
from ._values import Where

EXPECTED_NEWER = ("coordination_events.json", "status.json", "metrics_summary.json", "metrics_events.json")
EXPECTED_FLAT = ("coordination_events.json",)
STATUS_READ = ("meta", "costs", "coordination", "agents", "results", "finish_reason", "finish_reason_details")
STATUS_IGNORED = ("tools", "rounds", "historical_workspaces", "is_complete", "review_pending")
STATUS_AGENT_READ = ("status", "answer_count", "latest_answer_label", "vote_cast", "times_restarted",
                     "error", "reliability", "model", "last_activity")
STATUS_AGENT_IGNORED = ("round_history", "token_usage", "tool_metrics", "round_timing", "workspace_paths")
SUMMARY_READ = ("meta", "totals", "tools", "rounds", "api_timing", "agents", "subagents")
EVENTS_READ = ("tool_start", "tool_complete", "error")
EVENTS_ELSEWHERE = (
    "round_start", "round_end", "answer_submitted", "vote", "context_received", "winner_selected",
    "final_answer", "final_presentation_start", "final_presentation_chunk", "final_presentation_end",
    "answer_locked", "status", "system_status", "backend_status", "timeline_entry", "phase_change",
    "restart_banner", "agent_restart", "presentation_start", "evaluation_criteria_set",
    "evaluation_criteria_evolved", "personas_set", "subtasks_set", "workspace_action", "thinking", "text",
    "post_evaluation", "hook_execution", "injection_received", "agent_stopped")
LOG_LINE = re.compile(r"^(?P<time>\d\d:\d\d:\d\d(?:\.\d{3})?) \| (?P<level>[A-Z]+)\s*\| (?P<msg>.*)$")
NOT_READ_FILES = {"massgen_debug.log": "its DEBUG/ERROR lines", "agent_outputs": "each agent's full output",
                  "subagents": "the subagents' own logs"}


class AttemptFiles:
    """The files of one attempt (``base``) of a log (``root``), read once."""

    def __init__(self, root: Path, base: Path, problems: Problems):
        self.root, self.base, self.problems = root, base, problems
        self.files: dict[str, int] = {}
        self.session: dict = {}
        self.events: list[dict] = []
        self.status: dict = {}
        self.summary: dict = {}
        self.metrics: dict = {}
        self.exec_meta: dict = {}
        self.mapping: dict[str, str] = {}
        self.jsonl: list[tuple[int, dict]] = []
        self.streaming: str | None = None
        self.log_errors: list[dict] = []

    def find(self, name: str) -> Path | None:
        """The attempt's (else the log's) file ``name``; a present but unreadable one is a problem."""
        for folder in dict.fromkeys((self.base, self.root)):
            f = folder / name
            if f.is_file():
                self.files[f.relative_to(self.root).as_posix() if f.is_relative_to(self.root) else f.name] = f.stat().st_size
                return f
            if f.is_symlink() or f.exists():
                self.problems.add(f, None, f"{name} is not a regular file (a directory or a broken symlink); not read")
                return None
        return None

    def read(self, layout: str) -> None:
        expected = EXPECTED_NEWER if layout == "newer" else EXPECTED_FLAT
        for name in expected:
            if not (self.base / name).is_file():
                self.problems.add(self.base / name, None, f"missing {name} (expected in the "
                                  f"{'turn/attempt' if layout == 'newer' else 'flat'} layout)")
        data = self._object("coordination_events.json", arrays=("events",))
        if data:
            unread(data, ("session_metadata", "events"), self._where("coordination_events.json"), "coordination_events.json")
            self.session = data.get("session_metadata") if isinstance(data.get("session_metadata"), dict) else {}
            events = data.get("events")
            if events is not None and not isinstance(events, list):
                self.problems.add(self.base / "coordination_events.json", None, "events is not a list", str(events)[:200])
            for i, ev in enumerate(events if isinstance(events, list) else []):
                if isinstance(ev, dict):
                    self.events.append(ev)
                else:
                    self.problems.add(self.base / "coordination_events.json", None, f"event {i} is not a JSON object", str(ev)[:200])
        self.read_status(self.find("status.json"))
        self.summary = self._object("metrics_summary.json") or {}
        unread(self.summary, SUMMARY_READ, self._where("metrics_summary.json"), "metrics_summary.json")
        self.metrics = self._object("metrics_events.json", arrays=("tool_executions", "round_completions")) or {}
        unread(self.metrics, ("meta", "tool_executions", "round_completions"), self._where("metrics_events.json"),
               "metrics_events.json")
        f = self.find("execution_metadata.yaml")
        if f is not None:
            value = read_yaml(f, self.problems)
            if value is not MISSING and not isinstance(value, dict):
                self.problems.add(f, None, f"expected a YAML mapping, not {type(value).__name__}", str(value)[:200])
            self.exec_meta = value if isinstance(value, dict) else {}
        self._mapping()
        self._events_jsonl()
        f = self.find("streaming_debug.log")
        self.streaming = read_text(f, self.problems) if f is not None else None
        self._main_log()
        for name, what in NOT_READ_FILES.items():
            if (self.base / name).exists():
                self.problems.once(self.base / name, None, f"not read: {name} ({what})")
        self.find("coordination_table.txt")  # a rendering of coordination_events.json

    def read_status(self, f: Path | None) -> None:
        if f is None:
            return
        value, source = read_json(f, self.problems)
        if value is MISSING:
            return
        if not isinstance(value, dict):
            self.problems.add(f, None, f"expected a JSON object, not {type(value).__name__}", str(value)[:200])
            return
        self.status = value
        where = Where(self.problems, f)
        unread(value, STATUS_READ, where, "status.json", ignore=STATUS_IGNORED)
        for agent, info in (value.get("agents") or {}).items() if isinstance(value.get("agents"), dict) else ():
            unread(info, STATUS_AGENT_READ, where, "status.json agents.*", ignore=STATUS_AGENT_IGNORED)

    def _where(self, name: str) -> Where:
        return Where(self.problems, self.base / name)

    def _object(self, name: str, arrays: tuple[str, ...] = ()) -> dict | None:
        f = self.find(name)
        if f is None:
            return None
        value, _ = read_json(f, self.problems, arrays=arrays)
        if value is MISSING:
            return None
        if not isinstance(value, dict):
            self.problems.add(f, None, f"expected a JSON object, not {type(value).__name__}", str(value)[:200])
            return None
        return value

    def _mapping(self) -> None:
        data = self._object("snapshot_mappings.json") or {}
        for label, info in data.items():
            if isinstance(info, dict) and isinstance(info.get("path"), str):
                self.mapping[_under(info["path"].replace("\\", "/"), self.root)] = label

    def _events_jsonl(self) -> None:
        f = self.find("events.jsonl")
        if f is None:
            return
        counts: dict[str, int] = {}
        for line, record in iter_jsonl(f, self.problems):
            if not isinstance(record, dict):
                self.problems.add(f, line, "an event must be a JSON object", str(record)[:200])
                continue
            kind = str(record.get("event_type"))
            if kind in EVENTS_READ:
                self.jsonl.append((line, record))
            elif kind not in EVENTS_ELSEWHERE:
                counts[kind] = counts.get(kind, 0) + 1
        for kind, n in sorted(counts.items()):
            self.problems.once(f, None, f"not read: events.jsonl {kind} events ({n})")

    def _main_log(self) -> None:
        """The ERROR and CRITICAL lines of massgen.log (``HH:MM:SS | LEVEL | message``)."""
        f = self.find("massgen.log")
        text = read_text(f, self.problems) if f is not None else None
        for number, line in enumerate((text or "").split("\n"), start=1):
            m = LOG_LINE.match(line)
            if m and m["level"] in ("ERROR", "CRITICAL"):
                self.log_errors.append({"line": number, "time": m["time"], "level": m["level"], "text": m["msg"]})


def _under(path: str, root: Path) -> str:
    """A snapshot path MassGen wrote (relative to the attempt, or absolute) from agent_<id>/ on."""
    parts = path.split("/")
    starts = [i for i, part in enumerate(parts) if part.startswith("agent_") or part == "final"]
    return "/".join(parts[starts[0]:]) if starts else path
