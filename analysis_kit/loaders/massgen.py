"""Loader for MassGen log directories (``log_YYYYMMDD_HHMMSS/``), flat or ``turn_N/attempt_M/``.

What MassGen writes (read from massgen/MassGen: ``docs/source/reference/status_file.rst``,
``docs/source/user_guide/logging.rst``, ``massgen/logs_analyzer.py``, the log-analyzer skill,
and a real run, AbhimanyuAryan/MassGen ``.massgen/massgen_logs/log_20251025_225510``):

- ``coordination_events.json`` = ``{session_metadata{user_prompt, agent_ids, start_time,
  end_time, final_winner}, events[{timestamp (epoch s), event_type, agent_id, details,
  context{round, iteration, label, voted_for, voted_for_label, reason, ...}}]}``. Event types
  seen: session_start, iteration_start, context_received, status_change ("Changed to
  status: X"), new_answer, restart_triggered, restart_completed, vote_cast,
  final_round_start, final_agent_selected, final_answer, session_end. The real run logs some
  of them twice (two final_answer / session_end); they are kept as written.
- ``agent_<id>/<YYYYMMDD_HHMMSS_ffffff>/{answer.txt | vote.json, context.txt}``: one folder
  per snapshot. The folder name is the writer's *local* time (an hour off UTC in the real
  run), so it is only used when no other timestamp exists. ``vote.json`` =
  ``{voter_id, voted_for, reason, unix_timestamp, coordination_round, ...}``.
  ``final/<winner>/answer.txt`` is the final presentation.
- ``snapshot_mappings.json`` (older): ``{label: {type, agent_id, timestamp, round, path}}``.
- ``status.json``: ``meta{question, start_time, elapsed_seconds, ...}, coordination{phase,
  ...}, agents{<id>: {status, answer_count, latest_answer_label, vote_cast{voted_for_agent,
  voted_for_label, reason_preview}|null, times_restarted, error{type, message}|null,
  reliability{enforcement_attempts[], unknown_tools[], total_enforcement_retries,
  total_buffer_chars_lost, ...}}}, results{votes{<label>: n}, winner}``; newer versions add
  ``costs`` and ``tools``.
- ``metrics_summary.json``: ``meta{question, winner, num_agents}, totals{input_tokens,
  output_tokens, reasoning_tokens, estimated_cost}, tools{by_tool{<name>: {call_count,
  total_execution_time_ms, ...}}}, rounds{total_rounds, by_outcome}, api_timing,
  agents{<id>: {round_history[{round_number, start_time, end_time, duration_ms, outcome,
  tokens, estimated_cost}], token_usage{...}}}``.
- ``metrics_events.json``: ``tool_executions[{tool_name, agent_id, round_number,
  start_time, end_time, execution_time_ms, success, error_message}], round_completions[]``.
- ``execution_metadata.yaml`` (query, config.agents[].backend.model), ``execution_trace.md``
  (also per snapshot), ``streaming_debug.log``, ``coordination_table.txt``: noted in meta.

How the tables are built:

- An answer is seen twice: as a ``new_answer`` event and as an ``answer.txt`` file. They are
  joined by answer label (``snapshot_mappings.json`` when present, else the k-th answer
  file of an agent, in folder order, is its k-th ``new_answer`` event). The event is kept
  (its timestamp is UTC and it has the round); the file adds the text and its length. A
  file with no event, or an event with no file, still gives one answer. Votes are joined
  the same way (the k-th ``vote.json`` of a voter is its k-th ``vote_cast``).
- Rounds come from ``metrics_summary`` round_history (else ``round_completions``, else
  derived: an agent's round r runs from its first event in round r to its first event of a
  later round, or its last event).
- ``meta["agent_status"]`` comes from status.json; without it it is derived from the
  events (status = last status_change, times_restarted = restart_completed count).

>>> from analysis_kit.loaders import massgen                      # doctest: +SKIP
>>> run = massgen.load(Path("log_20251025_225510"))               # doctest: +SKIP
>>> run.meta["winner"], run.meta["vote_counts"]["agent_6"]         # doctest: +SKIP
('agent_6', 7)
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import LoadError
from ._registry import Format, register
from ..model import Problems, Run, scrub_surrogates, to_json_text

FORMAT = "massgen"

SNIFF_BYTES = 65536
TURN_RE = re.compile(r"^turn_(\d+)$")
ATTEMPT_RE = re.compile(r"^attempt_(\d+)$")
AGENT_DIR_RE = re.compile(r"^agent_")
SNAPSHOT_TS_RE = re.compile(r"^(\d{8})_(\d{6})(?:_(\d{1,6}))?$")
LABEL_RE = re.compile(r"^agent(\d+)\.(\d+|final)$")
STATUS_RE = re.compile(r"status:\s*(\w+)")

# Files the layout promises; a missing one is a problem row. The flat layout (older
# MassGen) only always had coordination_events.json.
EXPECTED_NEWER = ("coordination_events.json", "status.json", "metrics_summary.json",
                  "metrics_events.json")
EXPECTED_FLAT = ("coordination_events.json",)
NOTED_FILES = ("execution_trace.md", "streaming_debug.log", "coordination_table.txt",
               "massgen.log", "massgen_debug.log", "snapshot_mappings.json")

ANSWER_TYPES = {"new_answer", "answer"}
VOTE_TYPES = {"vote", "vote_cast"}
RESTART_TYPES = {"restart", "restart_triggered"}
TIMEOUT_WORDS = ("timeout", "timed out", "timed_out")


# ----------------------------------------------------------------------------- detection
def sniff(path: Path) -> bool:
    """True for a MassGen log directory, a folder holding exactly one ``log_*`` directory,
    or a ``status.json`` file. Cheap and never raises.

    >>> sniff(Path("/nonexistent"))
    False
    """
    try:
        p = Path(path)
        if p.is_file():
            return _sniff_status_file(p)
        if not p.is_dir():
            return False
        if _is_log_dir(p):
            return True
        logs = [c for c in p.iterdir() if c.is_dir() and c.name.startswith("log_")]
        return len(logs) == 1 and _is_log_dir(logs[0])
    except (OSError, ValueError):
        return False


def _sniff_status_file(p: Path) -> bool:
    if p.name == "status.json":
        return True
    if p.suffix.lower() != ".json":
        return False
    with p.open("rb") as fh:
        head = fh.read(SNIFF_BYTES).decode("utf-8", "replace")
    return ('"coordination"' in head and '"agents"' in head and '"simulations"' not in head
            and ('"results"' in head or '"meta"' in head))


def _is_log_dir(p: Path) -> bool:
    if (p / "coordination_events.json").is_file() or (p / "status.json").is_file():
        return True
    children = [c for c in p.iterdir() if c.is_dir()]
    if any(TURN_RE.match(c.name) for c in children):
        return True
    if any(ATTEMPT_RE.match(c.name) for c in children):
        return True
    for agent_dir in (c for c in children if AGENT_DIR_RE.match(c.name)):
        for snap in agent_dir.iterdir():
            if (snap / "answer.txt").is_file() or (snap / "vote.json").is_file():
                return True
    return False


# ----------------------------------------------------------------------------- entry point
def load(path: Path, *, strict: bool = False, turn: int | None = None,
         attempt: int | None = None) -> Run:
    """Load a MassGen log directory (or a lone ``status.json``) into a Run.

    ``turn``/``attempt`` pick ``turn_N/attempt_M`` in the newer layout; by default the latest
    turn that has attempts and its latest attempt (numeric order).

    >>> run = load(Path("log_20251025_225510"))                   # doctest: +SKIP
    >>> run.events.query("kind == 'vote'").name.value_counts()      # doctest: +SKIP
    """
    path = Path(path)
    problems = Problems(strict)
    if path.is_file():
        return _Loader(path.parent, path.parent, problems, status_file=path).run(
            run_id=path.stem, layout="status_file")
    root = _log_root(path)
    base, meta, layout = _pick_attempt(root, turn, attempt, problems)
    loader = _Loader(root, base, problems)
    log_name = root.parent.parent.name if ATTEMPT_RE.match(root.name) else root.name
    run_id = log_name
    if meta.get("turn") is not None:
        run_id = f"{log_name}/turn_{meta['turn']}/attempt_{meta['attempt']}"
    return loader.run(run_id=run_id, layout=layout, extra=meta)


def _log_root(path: Path) -> Path:
    if _is_log_dir(path):
        return path
    logs = [c for c in path.iterdir() if c.is_dir() and c.name.startswith("log_")]
    if len(logs) == 1:
        return logs[0]
    if not logs:
        raise LoadError("not a MassGen log directory (no coordination_events.json, "
                        "status.json, turn_*/ or agent_*/ answers)", file=str(path))
    raise LoadError(f"{len(logs)} log_* directories here; pass one of them", file=str(path))


def _numbered(parent: Path, pattern: re.Pattern) -> dict[int, Path]:
    found = {}
    for child in parent.iterdir():
        m = pattern.match(child.name)
        if m and child.is_dir():
            found[int(m.group(1))] = child
    return dict(sorted(found.items()))


def _pick_attempt(root: Path, turn: int | None, attempt: int | None,
                  problems: Problems) -> tuple[Path, dict, str]:
    """The directory holding the files, plus meta about turns/attempts."""
    if ATTEMPT_RE.match(root.name) and TURN_RE.match(root.parent.name):
        # The user pointed at one attempt directly.
        t, a = int(TURN_RE.match(root.parent.name).group(1)), int(ATTEMPT_RE.match(root.name).group(1))
        return root, {"turn": t, "attempt": a, "available_turns": [t], "available_attempts": [a],
                      "available": {}}, "newer"
    turns = _numbered(root, TURN_RE)
    if not turns:
        if turn is not None or attempt is not None:
            raise LoadError("turn/attempt given but this log has the flat layout (no turn_*/)",
                            file=str(root))
        return root, {"turn": None, "attempt": None, "available_turns": [],
                      "available_attempts": [], "available": {}}, "flat"
    attempts = {t: _numbered(d, ATTEMPT_RE) for t, d in turns.items()}
    available = {f"turn_{t}": [f"attempt_{a}" for a in ats] for t, ats in attempts.items()}
    if turn is not None:
        if turn not in turns:
            raise LoadError(f"no turn_{turn}; available: {sorted(available)}", file=str(root))
        chosen_turn = turn
    else:
        chosen_turn = None
        for t in reversed(list(turns)):
            if attempts[t]:
                chosen_turn = t
                break
    for t, ats in attempts.items():
        if not ats and (turn is None or t == turn):
            problems.add(turns[t], None, "missing attempt_*/ directories: empty turn directory")
    meta = {"available_turns": list(turns), "available": available}
    if chosen_turn is None or not attempts[chosen_turn]:
        meta.update(turn=chosen_turn if chosen_turn is not None else max(turns), attempt=None,
                    available_attempts=[])
        return turns[meta["turn"]], meta, "newer_empty"
    ats = attempts[chosen_turn]
    if attempt is not None and attempt not in ats:
        raise LoadError(f"no attempt_{attempt} in turn_{chosen_turn}; available: "
                        f"{available[f'turn_{chosen_turn}']}", file=str(turns[chosen_turn]))
    chosen_attempt = attempt if attempt is not None else max(ats)
    meta.update(turn=chosen_turn, attempt=chosen_attempt, available_attempts=list(ats))
    return ats[chosen_attempt], meta, "newer"


# ----------------------------------------------------------------------------- reading files
def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _read_text(file: Path, problems: Problems) -> str | None:
    """The file's text; invalid UTF-8 is a problem row and decoded with replacements."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        problems.add(file, None, f"cannot read file: {exc.strerror or exc}")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        end = data.find(b"\n", exc.start)
        raw = data[start:end if end >= 0 else len(data)]
        # MassGen on Windows writes answer.txt in the locale's code page (the real run's
        # answers are Windows-1252): decode that way when it fits, else replace bad bytes.
        try:
            text, how = data.decode("cp1252"), "decoded as Windows-1252"
        except UnicodeDecodeError:
            text, how = data.decode("utf-8-sig", "replace"), "decoded with replacement characters"
        problems.add(file, line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
                     f"{exc.start}); {how}", raw)
        return text


def _read_json(file: Path, problems: Problems, salvage: tuple[str, ...] = ()) -> Any:
    """Parsed JSON, or None. Broken JSON is one problem row naming the line where it broke;
    for a truncated file the complete records of the ``salvage`` arrays are recovered
    (returned as ``{key: [records]}``)."""
    text = _read_text(file, problems)
    if text is None:
        return None
    if not text.strip():
        problems.add(file, 1, "empty file (no JSON)")
        return None
    text = scrub_surrogates(text, file, problems)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        lines = text.splitlines()
        raw = lines[exc.lineno - 1] if 0 < exc.lineno <= len(lines) else ""
        # A string that never closes runs to the end of the file: that is a cut, too.
        truncated = exc.pos >= len(text.rstrip()) - 1 or exc.msg.startswith("Unterminated string")
        recovered = {key: _salvage_array(text, key) for key in salvage}
        kept = sum(len(v) for v in recovered.values())
        reason = f"invalid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"
        if truncated:
            reason += "; the file ends early (truncated, e.g. a run killed while writing it)"
        if salvage:
            reason += f"; {kept} complete record(s) before the break kept"
        problems.add(file, exc.lineno, reason, raw)
        return recovered if salvage else None


def _salvage_array(text: str, key: str) -> list:
    """The complete elements of the JSON array ``"key": [...]`` before the text breaks."""
    m = re.search(r'"%s"\s*:\s*\[' % re.escape(key), text)
    if not m:
        return []
    decoder = json.JSONDecoder()
    pos, items = m.end(), []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return items
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return items
        items.append(item)


def _read_yaml(file: Path, problems: Problems) -> dict:
    import yaml

    text = _read_text(file, problems)
    if text is None:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raw = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
        problems.add(file, line, f"invalid YAML: {getattr(exc, 'problem', exc)}", raw)
        return {}
    if not isinstance(data, dict):
        problems.add(file, None, f"expected a YAML mapping, not {type(data).__name__}", str(data)[:200])
        return {}
    return data


# ----------------------------------------------------------------------------- values
def _to_time(value: Any) -> pd.Timestamp | None:
    """Epoch seconds (or ms), ISO text or a snapshot folder name -> UTC Timestamp."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            if value != value or value in (float("inf"), float("-inf")):
                return None
            unit = "ms" if abs(value) > 1e11 else "s"
            ts = pd.Timestamp(value, unit=unit, tz="UTC")
            # Beyond pandas' nanosecond range (a corrupt epoch) the tables cannot hold it.
            return ts if pd.Timestamp.min.tz_localize("UTC") <= ts <= pd.Timestamp.max.tz_localize("UTC") else None
        if isinstance(value, str):
            text = value.strip()
            m = SNAPSHOT_TS_RE.match(text)
            if m:
                frac = (m.group(3) or "0").ljust(6, "0")
                text = f"{m.group(1)}T{m.group(2)}.{frac}"
                return pd.Timestamp(pd.to_datetime(text, format="%Y%m%dT%H%M%S.%f")).tz_localize("UTC")
            ts = pd.Timestamp(text)
            return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    except (ValueError, TypeError, OverflowError):
        return None
    return None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if value == value else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _error_text(err: Any) -> str | None:
    if err is None or err == "" or err is False:
        return None
    if isinstance(err, dict):
        msg = err.get("message") or err.get("error") or err.get("type")
        return str(msg) if msg is not None else json.dumps(err)
    return str(err)


def _is_timeout(status: Any, err: Any) -> bool:
    words = f"{status or ''} {json.dumps(err) if isinstance(err, dict) else err or ''}".lower()
    return any(w in words for w in TIMEOUT_WORDS)


# ----------------------------------------------------------------------------- the loader
class _Loader:
    """Reads one log directory (``base`` holds the files, ``root`` is the ``log_*`` dir)."""

    def __init__(self, root: Path, base: Path, problems: Problems, status_file: Path | None = None):
        self.root, self.base, self.problems = root, base, problems
        self.status_file = status_file
        self.files: dict[str, int] = {}
        self.session: dict = {}
        self.status: dict = {}
        self.summary: dict = {}
        self.metrics_events: dict = {}
        self.exec_meta: dict = {}
        self.coord_events: list[dict] = []
        self.agent_ids: list[str] = []

    # -- reading
    def _file(self, name: str) -> Path | None:
        for folder in (self.base, self.root):
            f = folder / name
            if f.is_file():
                self.files[str(f.relative_to(self.root)) if f.is_relative_to(self.root) else f.name] = f.stat().st_size
                return f
            if f.is_symlink() or f.exists():  # present but unreadable as a file: say so
                self.problems.add(f, None, f"{name} is not a regular file (a directory or a "
                                  "broken symlink); not read")
                return None
        return None

    def read_all(self, layout: str) -> None:
        if self.status_file is not None:
            self.status = self._json_object(self.status_file) or {}
            return
        expected = EXPECTED_NEWER if layout.startswith("newer") else EXPECTED_FLAT
        if layout == "newer_empty":
            return
        for name in expected:
            if not (self.base / name).is_file():
                self.problems.add(self.base / name, None, f"missing {name} (expected in the "
                                  f"{'turn/attempt' if layout == 'newer' else 'flat'} layout)")
        f = self._file("coordination_events.json")
        if f is not None:
            data = _read_json(f, self.problems, salvage=("events",))
            if isinstance(data, dict):
                self.session = _dict(data.get("session_metadata"))
                events = data.get("events")
                if not isinstance(events, list):
                    if "events" in data and events is not None:
                        self.problems.add(f, None, "events is not a list", str(events)[:200])
                    events = []
                for i, ev in enumerate(events):
                    if isinstance(ev, dict):
                        self.coord_events.append(ev)
                    else:
                        self.problems.add(f, None, f"event {i} is not a JSON object", json.dumps(ev)[:200])
            elif data is not None:
                self.problems.add(f, None, f"expected a JSON object, not {type(data).__name__}",
                                  json.dumps(data)[:200])
        f = self._file("status.json")
        if f is not None:
            self.status = self._json_object(f) or {}
        f = self._file("metrics_summary.json")
        if f is not None:
            self.summary = self._json_object(f) or {}
        f = self._file("metrics_events.json")
        if f is not None:
            data = _read_json(f, self.problems, salvage=("tool_executions", "round_completions"))
            self.metrics_events = data if isinstance(data, dict) else {}
        f = self._file("execution_metadata.yaml")
        if f is not None:
            self.exec_meta = _read_yaml(f, self.problems)
        for name in NOTED_FILES:
            self._file(name)

    def _json_object(self, f: Path) -> dict | None:
        data = _read_json(f, self.problems)
        if data is not None and not isinstance(data, dict):
            self.problems.add(f, None, f"expected a JSON object, not {type(data).__name__}",
                              json.dumps(data)[:200])
            return None
        return data

    # -- agents and labels
    def _agents(self, snapshots: list[dict]) -> list[str]:
        ids: list[str] = []
        sources = [_list(self.session.get("agent_ids")), list(_dict(self.status.get("agents"))),
                   [a.get("id") for a in _list(_dict(self.exec_meta.get("config")).get("agents"))
                    if isinstance(a, dict)],
                   list(_dict(self.summary.get("agents"))),
                   [e.get("agent_id") for e in self.coord_events],
                   [s["agent"] for s in snapshots]]
        for source in sources:
            for a in source:
                if isinstance(a, str) and a and a not in ids:
                    ids.append(a)
        return ids

    def _snapshots(self) -> list[dict]:
        """Every agent_<id>/<ts>/ folder with an answer or a vote, in folder order."""
        snaps = []
        folders = [self.base] + ([self.root] if self.base != self.root else [])
        seen_agents = set()
        for folder in folders:
            for agent_dir in sorted(p for p in folder.glob("agent_*") if p.is_dir()):
                if agent_dir.name in seen_agents:
                    continue
                seen_agents.add(agent_dir.name)
                for snap in sorted(p for p in agent_dir.iterdir() if p.is_dir()):
                    snaps.extend(self._snapshot(agent_dir.name, snap))
        return snaps

    def _snapshot(self, agent: str, snap: Path) -> list[dict]:
        out = []
        context = snap / "context.txt"
        context_length = None
        if context.is_file():
            text = _read_text(context, self.problems)
            context_length = len(text) if text is not None else None
        trace = snap / "execution_trace.md"
        if trace.is_file():
            self.files[str(trace.relative_to(self.root))] = trace.stat().st_size
        common = {"agent": agent, "folder": snap.name, "context_length": context_length,
                  "folder_time": _to_time(snap.name)}
        answer = snap / "answer.txt"
        if answer.is_file():
            text = _read_text(answer, self.problems)
            if text is not None:
                out.append({**common, "type": "answer", "text": text, "path": answer})
        vote = snap / "vote.json"
        if vote.is_file():
            data = _read_json(vote, self.problems)
            if isinstance(data, dict):
                out.append({**common, "type": "vote", "vote": data, "path": vote})
            elif data is not None:
                self.problems.add(vote, None, f"expected a JSON object, not {type(data).__name__}",
                                  json.dumps(data)[:200])
        return out

    def _label_agent(self, label: str | None) -> str | None:
        """agent2.1 -> the second agent id (answer labels number agents from 1)."""
        m = LABEL_RE.match(label or "")
        if not m:
            return None
        i = int(m.group(1)) - 1
        return self.agent_ids[i] if 0 <= i < len(self.agent_ids) else None

    # -- events
    def _key_text(self, value: Any, f: str, etype: str, key: str) -> str | None:
        """An id used to join events (agent, label, vote): text, or None plus a problem."""
        if value is None or isinstance(value, str):
            return value
        self.problems.add(f, None, f"{key} of a {etype} event should be text, got "
                          f"{type(value).__name__}; taken as NA", json.dumps(value, default=str)[:200])
        return None

    def _coordination_rows(self, f: str) -> list[dict]:
        rows = []
        for ev in self.coord_events:
            etype = str(ev.get("event_type") or "unknown")
            ctx = _dict(ev.get("context"))
            ts = _to_time(ev.get("timestamp"))
            if ts is None and ev.get("timestamp") is not None:
                self.problems.add(f, None, f"unreadable timestamp in {etype} event",
                                  json.dumps(ev, default=str)[:200])
            agent = self._key_text(ev.get("agent_id"), f, etype, "agent_id")
            # The round column is an agent's round; session-wide events keep theirs in attrs.
            row = {"agent": agent, "round": _num(ctx.get("round")) if agent else None,
                   "start": ts, "end": ts, "event_type": etype}
            extras = {k: v for k, v in ctx.items() if k != "round" or not agent}
            if ev.get("details") is not None:
                extras["details"] = ev.get("details")
            if etype in ANSWER_TYPES:
                label = self._key_text(ctx.get("label"), f, etype, "label")
                row.update(kind="answer", name=label, label=label)
            elif etype in VOTE_TYPES:
                voted_for = self._key_text(ctx.get("voted_for"), f, etype, "voted_for")
                row.update(kind="vote", name=voted_for, voted_for=voted_for, reason=ctx.get("reason"))
            elif etype in RESTART_TYPES:
                row.update(kind="restart", name=etype)
            else:
                row.update(kind="coordination", name=etype)
            row["extras"] = {"event_type": etype, **extras}
            rows.append(row)
        return rows

    def _answer_events(self, coord: list[dict], snaps: list[dict]) -> list[dict]:
        """One answer event per answer: coordination event joined to its answer.txt."""
        mapping = self._snapshot_mappings()
        files_by_agent: dict[str, list[dict]] = defaultdict(list)
        for s in snaps:
            if s["type"] == "answer":
                files_by_agent[s["agent"]].append(s)
        events_by_agent: dict[str, list[dict]] = defaultdict(list)
        for row in coord:
            if row["kind"] == "answer":
                events_by_agent[row["agent"]].append(row)
        by_label: dict[str, dict] = {}
        for agent, files in files_by_agent.items():
            evs = sorted(events_by_agent.get(agent, []), key=lambda r: (r["start"] is None, r["start"] or 0))
            for k, s in enumerate(files):
                label = mapping.get(_relative(s["path"], self.root)) or mapping.get(_relative(s["path"], self.base))
                if label is None and k < len(evs):
                    label = evs[k].get("label")
                if label is None:
                    idx = self.agent_ids.index(agent) + 1 if agent in self.agent_ids else 0
                    label = f"agent{idx}.{k + 1}"
                s["label"] = label
                by_label[(agent, label)] = s
        rows = []
        for row in coord:
            if row["kind"] != "answer":
                continue
            s = by_label.pop((row["agent"], row.get("label")), None)
            rows.append(self._answer_row(row, s))
        for s in by_label.values():  # answer files with no coordination event
            ts = s["folder_time"]
            rows.append(self._answer_row({"agent": s["agent"], "round": None, "start": ts, "end": ts,
                                          "label": s["label"], "extras": {"timestamp_source": "folder name"}}, s))
        return rows

    def _answer_row(self, row: dict, snap: dict | None) -> dict:
        text = snap["text"] if snap else None
        attrs = {"label": row.get("label"), "length": len(text) if text is not None else None,
                 **row.get("extras", {})}
        if snap:
            attrs.update(file=snap["path"].relative_to(self.root).as_posix(),
                         context_length=snap["context_length"])
        return {"agent": row["agent"], "kind": "answer", "name": row.get("label"),
                "round": row.get("round"), "start": row["start"], "end": row["end"],
                "attrs": attrs, "text": text}

    def _vote_events(self, coord: list[dict], snaps: list[dict]) -> list[dict]:
        files_by_voter: dict[str, list[dict]] = defaultdict(list)
        for s in snaps:
            if s["type"] == "vote":
                voter = s["vote"].get("voter_id") or s["agent"]
                files_by_voter[voter].append(s)
        rows, used = [], Counter()
        for row in sorted((r for r in coord if r["kind"] == "vote"),
                          key=lambda r: (r["start"] is None, r["start"] or 0)):
            voter = row["agent"]
            k = used[voter]
            snap = files_by_voter[voter][k] if k < len(files_by_voter[voter]) else None
            used[voter] += 1
            rows.append(self._vote_row(row, snap))
        for voter, files in files_by_voter.items():
            for snap in files[used[voter]:]:  # vote files with no coordination event
                vote = snap["vote"]
                ts = _to_time(vote.get("unix_timestamp")) or snap["folder_time"]
                rows.append(self._vote_row({"agent": voter, "round": _num(vote.get("coordination_round")),
                                            "start": ts, "end": ts, "voted_for": vote.get("voted_for"),
                                            "reason": None, "extras": {"event_type": "vote.json"}}, snap))
        return rows

    def _vote_row(self, row: dict, snap: dict | None) -> dict:
        vote = snap["vote"] if snap else {}
        voted_for = row.get("voted_for") or vote.get("voted_for")
        reason = vote.get("reason") if vote.get("reason") is not None else row.get("reason")
        extras = dict(row.get("extras", {}))
        extras.pop("reason", None)
        extras.pop("voted_for", None)
        attrs = {"voted_for": voted_for, "reason": reason, **extras}
        if snap:
            attrs.update(file=snap["path"].relative_to(self.root).as_posix(),
                         context_length=snap["context_length"],
                         voted_for_label=vote.get("voted_for_label", extras.get("voted_for_label")))
        return {"agent": row["agent"], "kind": "vote", "name": voted_for, "round": row.get("round"),
                "start": row["start"], "end": row["end"], "attrs": attrs}

    def _status_votes(self) -> list[dict]:
        """Votes from status.json, used only when no event or vote.json records any."""
        rows = []
        for agent, info in _dict(self.status.get("agents")).items():
            vote = _dict(_dict(info).get("vote_cast"))
            if vote:
                ts = _to_time(_dict(info).get("last_activity"))
                target = vote.get("voted_for_agent") or vote.get("voted_for")
                rows.append({"agent": agent, "kind": "vote", "name": target, "start": ts, "end": ts,
                             "attrs": {"voted_for": target, "reason": vote.get("reason_preview"),
                                       "voted_for_label": vote.get("voted_for_label"),
                                       "source": "status.json"}})
        return rows

    def _snapshot_mappings(self) -> dict[str, str]:
        f = self._file("snapshot_mappings.json")
        if f is None:
            return {}
        data = _read_json(f, self.problems)
        out = {}
        for label, info in _dict(data).items():
            if isinstance(info, dict) and info.get("path"):
                out[str(info["path"]).replace("\\", "/")] = label
        return out

    def _round_rows(self, coord: list[dict]) -> list[dict]:
        rows = []
        for agent, info in _dict(self.summary.get("agents")).items():
            for item in _list(_dict(info).get("round_history")):
                if isinstance(item, dict):
                    rows.append(self._round_row(agent, item, "metrics_summary.json"))
        if rows:
            return rows
        for item in _list(self.metrics_events.get("round_completions")):
            if isinstance(item, dict) and item.get("agent_id"):
                rows.append(self._round_row(item["agent_id"], item, "metrics_events.json"))
        return rows or _derived_rounds(coord)

    @staticmethod
    def _round_row(agent: str, item: dict, source: str) -> dict:
        start, end = _to_time(item.get("start_time")), _to_time(item.get("end_time"))
        duration = _num(item.get("duration_ms"))
        if end is None and start is not None and duration is not None:
            end = start + pd.Timedelta(milliseconds=duration)
        if duration is None and start is not None and end is not None:
            duration = (end - start).total_seconds() * 1000
        known = {"round_number", "start_time", "end_time", "duration_ms", "input_tokens",
                 "output_tokens", "cached_input_tokens", "estimated_cost", "agent_id"}
        attrs = {"outcome": item.get("outcome"), "source": source,
                 **{k: v for k, v in item.items() if k not in known and k != "outcome"}}
        outcome = str(item.get("outcome") or "").lower()
        return {"agent": agent, "kind": "round", "name": f"round {item.get('round_number')}",
                "round": _num(item.get("round_number")), "start": start, "end": end,
                "duration_ms": duration, "input_tokens": _num(item.get("input_tokens")),
                "output_tokens": _num(item.get("output_tokens")),
                "cached_tokens": _num(item.get("cached_input_tokens")),
                "cost_usd": _num(item.get("estimated_cost")),
                "error": item.get("error_message") or (outcome if outcome in ("error", "timeout") else None),
                "attrs": attrs}

    def _tool_rows(self, f: Path | None) -> list[dict]:
        rows = []
        for i, item in enumerate(_list(self.metrics_events.get("tool_executions"))):
            if not isinstance(item, dict):
                self.problems.add(f or "metrics_events.json", None,
                                  f"tool_executions[{i}] is not a JSON object", json.dumps(item)[:200])
                continue
            start, end = _to_time(item.get("start_time")), _to_time(item.get("end_time"))
            duration = _num(item.get("execution_time_ms"))
            if duration is None and start is not None and end is not None:
                duration = (end - start).total_seconds() * 1000
            ok = item.get("success")
            error = None
            if ok is False or (isinstance(ok, str) and ok.lower() == "false"):
                error = item.get("error_message") or "error"
            known = {"tool_name", "agent_id", "round_number", "start_time", "end_time",
                     "execution_time_ms", "success", "error_message"}
            rows.append({"agent": item.get("agent_id"), "kind": "tool_call",
                         "name": item.get("tool_name"), "round": _num(item.get("round_number")),
                         "start": start, "end": end, "duration_ms": duration, "error": error,
                         "attrs": {k: v for k, v in item.items() if k not in known} or None})
        return rows

    # -- per-agent status
    def _agent_status(self, events: list[dict], rounds: list[dict]) -> list[dict]:
        status_agents = _dict(self.status.get("agents"))
        timeouts_by_agent = Counter(r["agent"] for r in rounds
                                    if str(r["attrs"].get("outcome") or "").lower() == "timeout")
        out = []
        for agent in self.agent_ids:
            info = status_agents.get(agent)
            if isinstance(info, dict):
                rel = _dict(info.get("reliability"))
                vote = info.get("vote_cast")
                voted = (vote.get("voted_for_agent") or vote.get("voted_for")) if isinstance(vote, dict) else vote
                timeouts = timeouts_by_agent[agent] or int(_is_timeout(info.get("status"), info.get("error")))
                out.append({"agent": agent, "status": info.get("status"),
                            "answer_count": info.get("answer_count"), "vote_cast": voted,
                            "times_restarted": info.get("times_restarted"),
                            "error": _error_text(info.get("error")),
                            "enforcement_retries": rel.get("total_enforcement_retries",
                                                           len(_list(rel.get("enforcement_attempts")))),
                            "buffer_chars_lost": rel.get("total_buffer_chars_lost", 0),
                            "unknown_tools": list(_list(rel.get("unknown_tools"))),
                            "timeouts": timeouts, "source": "status.json"})
            else:
                out.append(self._derived_status(agent, events, timeouts_by_agent[agent]))
        return out

    def _derived_status(self, agent: str, events: list[dict], timeouts: int) -> dict:
        mine = [e for e in self.coord_events if e.get("agent_id") == agent]
        status = None
        for e in mine:
            if e.get("event_type") == "status_change":
                m = STATUS_RE.search(str(e.get("details") or ""))
                if m:
                    status = m.group(1)
        votes = [e for e in events if e["kind"] == "vote" and e["agent"] == agent]
        return {"agent": agent, "status": status,
                "answer_count": sum(1 for e in events if e["kind"] == "answer" and e["agent"] == agent),
                "vote_cast": votes[-1]["name"] if votes else None,
                "times_restarted": sum(1 for e in mine if e.get("event_type") == "restart_completed"),
                "error": None, "enforcement_retries": 0, "buffer_chars_lost": 0,
                "unknown_tools": [], "timeouts": timeouts or int(status == "timeout"),
                "source": "coordination_events.json"}

    # -- assembling
    def run(self, *, run_id: str, layout: str, extra: dict | None = None) -> Run:
        self.read_all(layout)
        snaps = self._snapshots() if self.status_file is None and layout != "newer_empty" else []
        self.agent_ids = self._agents(snaps)
        coord = self._coordination_rows(str(self.base / "coordination_events.json"))
        answers = self._answer_events(coord, snaps)
        votes = self._vote_events(coord, snaps) or self._status_votes()
        rounds = self._round_rows(coord)
        tools = self._tool_rows(self._file("metrics_events.json"))
        others = [r for r in coord if r["kind"] not in ("answer", "vote")]
        for r in others:
            r["attrs"] = r.pop("extras")
        question = self._question()
        task_id = (question or "")[:60] or self.root.name
        events = sorted(answers + votes + others + rounds + tools,
                        key=lambda r: (r.get("start") is None, r.get("start") or pd.Timestamp(0, tz="UTC")))
        final_text = self._final_answer()
        messages = self._messages(question, answers, final_text)
        agent_status = self._agent_status(events, rounds)
        winner = self._winner()
        vote_counts = self._vote_counts(votes)
        meta = self._meta(run_id, layout, question, winner, vote_counts, agent_status, events,
                          extra or {}, final_text)
        tasks = [self._task(task_id, winner, agent_status, events)]
        failures = _failures(agent_status)
        event_rows = []
        for e in events:
            row = {k: v for k, v in e.items() if k not in ("text", "extras", "label", "voted_for",
                                                            "reason", "event_type")}
            row["task_id"] = task_id
            row["attrs"] = to_json_text(e.get("attrs")) if e.get("attrs") else None
            event_rows.append(row)
        return Run(meta=meta, tasks=pd.DataFrame(tasks), events=pd.DataFrame(event_rows),
                   messages=pd.DataFrame([dict(m, task_id=task_id, trial=1) for m in messages]),
                   failures=pd.DataFrame(failures), problems=self.problems.frame())

    def _question(self) -> str | None:
        for q in (self.session.get("user_prompt"), _dict(self.status.get("meta")).get("question"),
                  self.exec_meta.get("query"), _dict(self.summary.get("meta")).get("question"),
                  _dict(self.exec_meta.get("cli_args")).get("question")):
            if isinstance(q, str) and q.strip():
                return q
        return None

    def _winner(self) -> str | None:
        for w in (self.session.get("final_winner"), _dict(self.status.get("results")).get("winner"),
                  _dict(self.summary.get("meta")).get("winner")):
            if isinstance(w, str) and w:
                return w
        return None

    def _vote_counts(self, votes: list[dict]) -> dict[str, int]:
        counts = {a: 0 for a in self.agent_ids}
        if votes:
            for v in votes:
                if v["name"]:
                    counts[v["name"]] = counts.get(v["name"], 0) + 1
            return counts
        # No individual votes: status.json counts them by answer label.
        label_owner = {_dict(i).get("latest_answer_label"): a
                       for a, i in _dict(self.status.get("agents")).items()}
        for label, n in _dict(_dict(self.status.get("results")).get("votes")).items():
            owner = label_owner.get(label) or self._label_agent(label) or label
            counts[owner] = counts.get(owner, 0) + int(_num(n) or 0)
        return counts

    def _final_answer(self) -> dict | None:
        for folder in (self.base, self.root):
            for f in sorted(folder.glob("final/*/answer.txt")):
                text = _read_text(f, self.problems)
                if text is not None:
                    return {"agent": f.parent.name, "text": text,
                            "file": f.relative_to(self.root).as_posix()}
        return None

    def _messages(self, question: str | None, answers: list[dict], final: dict | None) -> list[dict]:
        start = _to_time(self.session.get("start_time")) or _to_time(
            _dict(self.status.get("meta")).get("start_time"))
        msgs = []
        if question:
            msgs.append({"role": "user", "content": question, "timestamp": start, "agent": None})
        for a in sorted((a for a in answers if a["text"] is not None),
                        key=lambda r: (r["start"] is None, r["start"] or pd.Timestamp(0, tz="UTC"))):
            msgs.append({"role": "assistant", "agent": a["agent"], "content": a["text"],
                         "name": a["name"], "timestamp": a["start"]})
        if final:
            ts = max((e["start"] for e in self._final_events() if e["start"] is not None), default=None)
            msgs.append({"role": "assistant", "agent": final["agent"], "content": final["text"],
                         "name": "final", "timestamp": ts})
        for i, m in enumerate(msgs):
            m["idx"] = i
        return msgs

    def _final_events(self) -> list[dict]:
        return [{"start": _to_time(e.get("timestamp"))} for e in self.coord_events
                if e.get("event_type") == "final_answer"]

    def _times(self, events: list[dict]) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        start = _to_time(self.session.get("start_time"))
        end = _to_time(self.session.get("end_time"))
        smeta = _dict(self.status.get("meta"))
        if start is None:
            start = _to_time(smeta.get("start_time"))
        if end is None and start is not None and _num(smeta.get("elapsed_seconds")) is not None:
            end = start + pd.Timedelta(seconds=_num(smeta["elapsed_seconds"]))
        times = [t for e in events for t in (e.get("start"), e.get("end")) if t is not None]
        if start is None and times:
            start = min(times)
        if end is None and times:
            end = max(times)
        return start, end

    def _cost_tokens(self) -> tuple[float | None, float | None, float | None, list[str]]:
        costs = _dict(self.status.get("costs"))
        cost = None
        for key in ("total_estimated_cost", "total_cost", "estimated_cost", "total"):
            cost = _num(costs.get(key))
            if cost is not None:
                break
        totals = _dict(self.summary.get("totals"))
        if cost is None:
            cost = _num(totals.get("estimated_cost"))
        usages = {a: _dict(_dict(i).get("token_usage")) for a, i in _dict(self.summary.get("agents")).items()}
        unpriced = [a for a, u in usages.items() if _num(u.get("estimated_cost")) is None]
        priced = [_num(u.get("estimated_cost")) for u in usages.values() if _num(u.get("estimated_cost")) is not None]
        if cost is None and priced:
            cost = sum(priced)
        in_tok = _num(totals.get("input_tokens"))
        out_tok = _num(totals.get("output_tokens"))
        if in_tok is None and usages:
            known = [_num(u.get("input_tokens")) for u in usages.values() if _num(u.get("input_tokens")) is not None]
            in_tok = sum(known) if known else None
        if out_tok is None and usages:
            known = [_num(u.get("output_tokens")) for u in usages.values() if _num(u.get("output_tokens")) is not None]
            out_tok = sum(known) if known else None
        return cost, in_tok, out_tok, unpriced

    def _task(self, task_id: str, winner: str | None, agent_status: list[dict], events: list[dict]) -> dict:
        start, end = self._times(events)
        errors = [f"{a['agent']}: {a['error']}" for a in agent_status if a["error"]]
        if winner:
            status = "completed"
        elif errors or any(str(a["status"]).lower() == "error" for a in agent_status):
            status = "error"
        else:
            status = "incomplete"
        results = _dict(self.status.get("results"))
        success = results.get("success") if isinstance(results.get("success"), bool) else None
        cost, in_tok, out_tok, _ = self._cost_tokens()
        return {"task_id": task_id, "trial": 1, "status": status, "success": success,
                "termination_reason": _dict(self.status.get("coordination")).get("phase"),
                "start": start, "end": end,
                "duration_s": (end - start).total_seconds() if start is not None and end is not None else None,
                "cost_usd": cost, "input_tokens": in_tok, "output_tokens": out_tok,
                "error": "; ".join(errors) or None}

    def _models(self) -> tuple[list[str], dict[str, str]]:
        by_agent = {}
        for a in _list(_dict(self.exec_meta.get("config")).get("agents")):
            if isinstance(a, dict) and a.get("id"):
                model = _dict(a.get("backend")).get("model")
                if model:
                    by_agent[str(a["id"])] = str(model)
        for agent, info in _dict(self.status.get("agents")).items():
            model = _dict(info).get("model")
            if isinstance(model, str) and agent not in by_agent:
                by_agent[agent] = model
        return list(dict.fromkeys(by_agent.values())), by_agent

    def _meta(self, run_id, layout, question, winner, vote_counts, agent_status, events, extra,
              final) -> dict:
        start, end = self._times(events)
        models, by_agent = self._models()
        cost, _, _, unpriced = self._cost_tokens()
        meta = {"run_id": run_id, "source_format": FORMAT, "path": str(self.status_file or self.root),
                "benchmark": "massgen", "domain": None, "models": models, "agent_models": by_agent,
                "started": start.isoformat() if start is not None else None,
                "ended": end.isoformat() if end is not None else None,
                "layout": layout, "question": question, "winner": winner,
                "vote_counts": vote_counts, "agent_status": agent_status,
                "agents": list(self.agent_ids), "unpriced_agents": unpriced,
                "files": dict(sorted(self.files.items())),
                "execution_traces": sorted(k for k in self.files if k.endswith("execution_trace.md")),
                "streaming_debug_log": next((k for k in self.files if k.endswith("streaming_debug.log")), None),
                "final_answer_file": final["file"] if final else None,
                "phase": _dict(self.status.get("coordination")).get("phase"),
                "massgen_version": self.exec_meta.get("massgen_version"),
                "tools_summary": _dict(_dict(self.summary.get("tools")).get("by_tool")) or None,
                "rounds_summary": _dict(self.summary.get("rounds")) or None,
                "api_timing": _dict(self.summary.get("api_timing")) or None,
                "turn": None, "attempt": None, "available_turns": [], "available_attempts": []}
        meta.update(extra)
        return meta


def _failures(agent_status: list[dict]) -> list[dict]:
    """One failure per agent that errored or timed out (task_id is the agent)."""
    rows = []
    for a in agent_status:
        timed_out = bool(a["timeouts"]) or _is_timeout(a["status"], a["error"])
        if a["error"] or timed_out or str(a["status"] or "").lower() == "error":
            rows.append({"task_id": a["agent"], "trial": 1, "step": "coordination",
                         "category": "timeout" if timed_out else "agent_error",
                         "error": a["error"] or a["status"]})
    return rows


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix() if path.is_relative_to(folder) else path.as_posix()


def _derived_rounds(coord: list[dict]) -> list[dict]:
    """Rounds from coordination events: an agent's round r starts at its first event in r."""
    by_agent: dict[str, list[dict]] = defaultdict(list)
    for r in coord:
        if r["agent"] and r["start"] is not None and r["round"] is not None:
            by_agent[r["agent"]].append(r)
    rows = []
    for agent, evs in by_agent.items():
        evs.sort(key=lambda r: r["start"])
        firsts: dict[int, pd.Timestamp] = {}
        outcomes: dict[int, str] = {}
        for r in evs:
            n = int(r["round"])
            firsts.setdefault(n, r["start"])
            if r["kind"] in ("answer", "vote"):
                outcomes[n] = r["kind"]
        numbers = sorted(firsts, key=lambda n: firsts[n])
        last = evs[-1]["start"]
        for i, n in enumerate(numbers):
            start = firsts[n]
            end = firsts[numbers[i + 1]] if i + 1 < len(numbers) else last
            rows.append({"agent": agent, "kind": "round", "name": f"round {n}", "round": n,
                         "start": start, "end": end,
                         "duration_ms": (end - start).total_seconds() * 1000,
                         "attrs": {"outcome": outcomes.get(n), "source": "derived from coordination_events.json"}})
    return rows


@dataclass(frozen=True)
class Options:
    """``turn``/``attempt``: which ``turn_N/attempt_M`` of a newer log to load (default: the
    latest turn that has attempts, and its latest attempt)."""

    turn: int | None = None
    attempt: int | None = None


SPEC = register(Format(
    name=FORMAT, sniff=sniff, load=load, options=Options, cacheable=False, priority=10,
    samples={"massgen": "analysis_kit.samples.massgen:write"},
    description="MassGen log directories (flat and turn_N/attempt_M)"))
