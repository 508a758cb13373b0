"""Loader for tau2-bench results: one JSON file, or the "dir" format.

What the real writer produces (``sierra-research/tau2-bench``, ``src/tau2/data_model/
simulation.py``: ``Results.save``):

- ``json`` format: one object ``{timestamp, info, tasks[], simulations[]}``.
- ``dir`` format (voice runs): ``results.json`` holds ``{timestamp, info, tasks[],
  simulation_index?}`` and each simulation is ``simulations/<id>.json``. A ``results.json``
  path with a sibling ``simulations/`` folder is read as the dir format too.
- ``info``: ``git_commit, num_trials, max_steps, max_errors, user_info{implementation, llm},
  agent_info{implementation, llm}, environment_info{domain_name, policy, tool_defs}, seed``.
- A simulation (``SimulationRun``): ``id, task_id, trial, timestamp, start_time, end_time,
  duration, termination_reason, agent_cost, user_cost, reward_info{reward, db_check{db_match},
  action_checks[{action{name}, action_match}], nl_assertions[{nl_assertion, met}],
  communicate_checks[{info, met}], env_assertions[{env_assertion{func_name}, met}],
  reward_basis[DB|ACTION|NL_ASSERTION|COMMUNICATE|ENV_ASSERTION], reward_breakdown}, messages[
  {role, content, tool_calls[{id, name, arguments, requestor}], turn_idx, timestamp, cost,
  usage{prompt_tokens, completion_tokens}}]``; tool messages carry ``id`` (the call's id),
  ``requestor`` and ``error``. Full-duplex (voice) simulations have ``ticks`` and ``mode``
  instead of ``messages`` and may have no ``reward_info`` and no costs.
- Success is tau2's ``is_successful``: ``reward`` within 1e-6 of 1 (``metrics/agent_metrics.py``).

The tables:

- ``tasks``: one row per simulation (extra columns ``simulation_id``, ``agent_cost``,
  ``user_cost``, ``num_messages``, ``num_ticks``, ``mode``). ``cost_usd`` is agent + user cost,
  NA when both are missing (unpriced is not free). ``status`` is the termination reason for
  error-like endings (``too_many_errors``, ``agent_error``, ``timeout``, ...), else
  ``success``/``failure``, or ``not_evaluated`` when there is no ``reward_info``.
- ``messages``: one row per message; ``agent`` is ``agent`` (assistant), ``user``, ``tool`` or
  ``system``; ``tool_calls`` is JSON text ``[{id, name, arguments}]``.
- ``events`` are *derived from message timestamps*, because results files hold no call
  timings. This is an approximation: an assistant message becomes an ``llm_call`` that
  started when the previous message was written (or at the simulation start) and ended at
  its own timestamp, so the span also holds any orchestration overhead; a user message with a
  cost or usage becomes a ``user_sim`` span the same way; each tool call becomes a
  ``tool_call`` from the calling message's timestamp to its result's timestamp (tau2 writes
  both around the tool execution, so these are close to real tool latencies). The first
  message, when it has no usage, is the orchestrator's fixed greeting and is not an LLM call.
- ``failures``: one row per evaluated simulation with reward < 1 (or an error-like ending):
  ``category`` is the domain, ``step`` is the first failing check counted in the reward
  (``db_check``, ``action_checks``, ``nl_assertions``, ``communicate_checks``,
  ``env_assertions``), or the termination reason for premature ends; ``error`` says what
  failed (the unmatched action names, the unmet assertions).

Damaged input never stops the load: a file cut mid-simulation keeps every complete
simulation before the cut (the rest of the file is decoded incrementally with
``json.JSONDecoder.raw_decode``) and a problem row gives the line of the cut; wrong types
become NA plus a problem row; a broken ``simulations/<id>.json`` is a problem row.

>>> from analysis_kit.loaders import tau2_results                          # doctest: +SKIP
>>> run = tau2_results.load(Path("airline_grok-3-mini_10sims.json"))       # doctest: +SKIP
>>> run.tasks.groupby("task_id").success.mean()                             # doctest: +SKIP
"""

from __future__ import annotations

import bisect
import gc
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._registry import Format, register
from ..model import Problems, Run, scrub_surrogates

FORMAT = "tau2_results"
CACHEABLE = True

SNIFF_BYTES = 65536
SUCCESS_TOLERANCE = 1e-6  # tau2's is_successful()
ERROR_CUT = 200  # characters of a tool error or failure text kept
ERROR_TERMINATIONS = frozenset({
    "too_many_errors", "agent_error", "user_error", "infrastructure_error",
    "unexpected_error", "context_window_exceeded", "timeout",
})
NORMAL_TERMINATIONS = frozenset({"user_stop", "agent_stop"})
# (field of reward_info, its RewardType name in reward_basis / reward_breakdown)
CHECKS = (
    ("db_check", "DB"), ("action_checks", "ACTION"), ("nl_assertions", "NL_ASSERTION"),
    ("communicate_checks", "COMMUNICATE"), ("env_assertions", "ENV_ASSERTION"),
)
# tau2's user is the user simulator (an LLM of the harness): its messages are framework cost.
ROLE_AGENT = {"assistant": "agent", "user": "user_simulator", "tool": "tool", "system": "system"}
_WS = re.compile(r"[ \t\n\r]*")
_NUM = (int, float)
_STRING = pd.StringDtype("python")  # faster to build from Python str than the pyarrow one
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode  # dumps() with options builds one per call


# --------------------------------------------------------------------------- detection

def sniff(path: Path) -> bool:
    """True for a tau2 results JSON file, or a directory holding ``results.json``.

    Reads at most 64 KB; the ``simulations`` key often comes after the long ``info`` and
    ``tasks``, so tau2's own ``info`` keys are accepted as evidence too.

    >>> sniff(Path("no/such/file.json"))
    False
    """
    try:
        p = Path(path)
        if p.is_dir():
            results = p / "results.json"
            return results.is_file() and _looks_like_results(_head(results))
        if p.suffix.lower() != ".json" or not p.is_file():
            return False
        return _looks_like_results(_head(p))
    except (OSError, ValueError):
        return False


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(SNIFF_BYTES)


def _looks_like_results(head: bytes) -> bool:
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"{"):
        return False
    if b'"simulations"' in head and (b'"info"' in head or b'"tasks"' in head):
        return True
    return (b'"info"' in head and b'"agent_info"' in head
            and (b'"user_info"' in head or b'"environment_info"' in head))


# --------------------------------------------------------------------------- reading

class _Source:
    """One JSON file's text, to find the line of a bad record only when one is reported."""

    __slots__ = ("path", "text", "_sim_starts")

    def __init__(self, path: Path, text: str | None):
        self.path = path
        self.text = text
        self._sim_starts: list[int] | None = None

    def sim_start(self, k: int) -> int | None:
        """Text offset where the ``k``-th element of the simulations array begins. Found by
        walking the document once, on the first problem that needs it: searching for a
        simulation's id text would find an earlier copy of it (a duplicate, or a tool-call
        id that happens to be equal)."""
        if self.text is None:
            return None
        if self._sim_starts is None:
            self._sim_starts = _salvage(self.text, self, Problems(False),
                                        json.JSONDecodeError("", self.text, 0))[1]
        return self._sim_starts[k] if k < len(self._sim_starts) else None

    def line_at(self, pos: int | None) -> int | None:
        if self.text is None or pos is None or pos < 0:
            return None
        return self.text.count("\n", 0, pos) + 1

    def find(self, needle: str, start: int = 0) -> int | None:
        if self.text is None:
            return None
        pos = self.text.find(needle, start)
        return None if pos < 0 else pos


def _read_text(path: Path, problems: Problems) -> str | None:
    """The file's text; non-UTF-8 bytes are replaced and reported, a BOM is dropped."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.add(path, None, f"cannot read file: {exc.strerror or exc}")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.add(path, line, f"bytes that are not UTF-8 (first at byte {exc.start}); "
                     "decoded with replacement characters", data[max(0, exc.start - 60):exc.start + 60])
        text = data.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def _parse_document(path: Path, problems: Problems) -> tuple[dict, _Source, list[int] | None]:
    """Parse a results file. Returns the top-level dict, its source and, when the file had
    to be salvaged, the text offset of each simulation."""
    text = _read_text(path, problems)
    if text is not None:
        text = scrub_surrogates(text, path, problems)
    source = _Source(path, text)
    if text is None:
        return {}, source, None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        before = len(problems)
        doc, positions = _salvage(text, source, problems, exc)
        if len(problems) == before:  # e.g. junk after the closing brace
            problems.add(path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})",
                         text[max(0, exc.pos - 100):exc.pos + 100])
        return doc, source, positions
    if not isinstance(doc, dict):
        problems.add(path, 1, f"not a tau2 results object (top level is {type(doc).__name__})",
                     text[:200])
        return {}, source, None
    return doc, source, None


def _salvage(text: str, source: _Source, problems: Problems,
             exc: json.JSONDecodeError) -> tuple[dict, list[int]]:
    """Decode a damaged results file key by key and the simulations array element by
    element, keeping everything complete before the damage."""
    decoder = json.JSONDecoder()
    path = source.path
    doc: dict = {}
    positions: list[int] = []
    n = len(text)
    pos = _WS.match(text, 0).end()
    if pos >= n or text[pos] != "{":
        problems.add(path, exc.lineno, f"not JSON: {exc.msg}", text[:200])
        return doc, positions
    pos += 1
    while True:
        pos = _WS.match(text, pos).end()
        if pos < n and text[pos] == ",":
            pos = _WS.match(text, pos + 1).end()
        if pos >= n:
            problems.add(path, source.line_at(n), "file ends inside the top-level object "
                         f"after the keys {sorted(doc)}: it was cut", text[-200:])
            return doc, positions
        if text[pos] == "}":
            return doc, positions
        try:
            key, pos = decoder.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()
            if not isinstance(key, str) or pos >= n or text[pos] != ":":
                raise json.JSONDecodeError("expected a key and ':'", text, pos)
            pos = _WS.match(text, pos + 1).end()
        except json.JSONDecodeError as err:
            problems.add(path, err.lineno, f"invalid JSON at the top level: {err.msg}",
                         text[err.pos:err.pos + 200])
            return doc, positions
        if key == "simulations" and pos < n and text[pos] == "[":
            sims, pos, complete = _salvage_array(text, pos + 1, source, problems, decoder, positions)
            doc["simulations"] = sims
            if not complete:
                return doc, positions
            continue
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            problems.add(path, err.lineno, f"top-level key {key!r} is cut or invalid JSON "
                         f"({err.msg}); its value is not used", text[err.pos:err.pos + 200])
            # The simulations may still be intact after a damaged "tasks" or "info".
            nxt = text.find('"simulations"', err.pos) if "simulations" not in doc else -1
            if nxt < 0:
                return doc, positions
            pos = nxt
            continue
        doc[key] = value


def _salvage_array(text: str, pos: int, source: _Source, problems: Problems,
                   decoder: json.JSONDecoder, positions: list[int]) -> tuple[list, int, bool]:
    sims: list = []
    n = len(text)
    while True:
        pos = _WS.match(text, pos).end()
        if pos >= n:
            problems.add(source.path, source.line_at(n), "file ends inside the simulations "
                         f"array after {len(sims)} complete simulations: it was cut", text[-200:])
            return sims, pos, False
        char = text[pos]
        if char == "]":
            return sims, pos + 1, True
        if char == ",":
            pos += 1
            continue
        start = pos
        try:
            sim, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            problems.add(source.path, err.lineno,
                         f"simulation #{len(sims) + 1} (starting at line {source.line_at(start)}) "
                         f"is cut or invalid JSON ({err.msg}); the {len(sims)} complete "
                         "simulations before it are kept, the rest of the file is not read",
                         text[start:start + 200])
            return sims, pos, False
        sims.append(sim)
        positions.append(start)


# --------------------------------------------------------------------------- building

class _SimRef:
    """Where one simulation is, so a problem about it can name its line (found lazily)."""

    __slots__ = ("source", "pos", "sim_id", "index")

    def __init__(self, source: _Source, pos: int | None, sim_id: Any, index: int | None = None):
        self.source = source
        self.pos = pos  # text offset of the simulation, when already known
        self.sim_id = sim_id
        self.index = index  # its place in the simulations array, to find the offset lazily

    def line(self, key: str | None = None) -> int | None:
        src = self.source
        if src.text is None:
            return None
        start = self.pos
        if start is None and self.index is not None:
            start = self.pos = src.sim_start(self.index)
        if start is None and isinstance(self.sim_id, str):
            anchor = src.find('"simulations"') or 0
            start = src.find(json.dumps(self.sim_id), anchor)
        if start is None:
            start = src.find('"simulations"') or 0
        if key is not None:
            found = src.find(f'"{key}"', start)
            if found is not None:
                start = found
        return src.line_at(start)


class _Builder:
    """Accumulates the tables as flat column lists (no per-row DataFrame work)."""

    def __init__(self, problems: Problems, domain: str | None, agent_model: str | None,
                 user_model: str | None):
        self.problems = problems
        self.domain = domain
        self.agent_model = agent_model
        self.user_model = user_model
        self.seen: dict[str, _SimRef] = {}
        # Every timestamp string goes here once; tables hold indices (0 = no time).
        self.times: list = [None]
        self.sim_time_starts: list[int] = []  # index into times where each sim begins
        self.sim_refs: list[_SimRef] = []
        self.tasks: dict[str, list] = {c: [] for c in (
            "task_id", "trial", "status", "success", "reward", "termination_reason", "start",
            "end", "duration_s", "cost_usd", "input_tokens", "output_tokens", "error",
            "simulation_id", "agent_cost", "user_cost", "num_messages", "num_ticks", "mode")}
        self.msgs: dict[str, list] = {c: [] for c in (
            "task_id", "trial", "agent", "idx", "role", "content", "tool_calls", "tool_call_id",
            "name", "timestamp", "input_tokens", "output_tokens", "cost_usd")}
        self.events: dict[str, list] = {c: [] for c in (
            "task_id", "trial", "agent", "thread", "kind", "name", "start", "end",
            "input_tokens", "output_tokens", "cost_usd", "error", "attrs")}
        self.failures: list[dict] = []

    # -- problems about a simulation
    def bad(self, ref: _SimRef, key: str | None, reason: str, raw: Any = "") -> None:
        who = ref.sim_id if isinstance(ref.sim_id, str) else "?"
        self.problems.add(ref.source.path, ref.line(key), f"simulation {who}: {reason}",
                          raw if isinstance(raw, str) else _short_repr(raw))

    def number(self, value: Any, ref: _SimRef, key: str) -> float | int | None:
        if type(value) in _NUM or value is None:
            return value
        self.bad(ref, key, f"{key} should be a number, got {type(value).__name__}; taken as NA", value)
        return None

    def time(self, value: Any, ref: _SimRef, key: str) -> int:
        if type(value) is str:
            self.times.append(value)
            return len(self.times) - 1
        if value is not None:
            self.bad(ref, key, f"{key} should be an ISO time string, got {type(value).__name__}; "
                     "taken as NA", value)
        return 0

    # -- one simulation
    def add_simulation(self, sim: Any, ref: _SimRef) -> None:
        if type(sim) is not dict:
            self.bad(ref, None, f"a simulation should be an object, got {type(sim).__name__}; "
                     "skipped", sim)
            return
        sim_id = sim.get("id")
        ref.sim_id = sim_id
        if type(sim_id) is not str:
            if sim_id is not None and type(sim_id) in _NUM:
                sim_id = str(sim_id)
            else:
                self.bad(ref, "id", f"id should be a string, got {type(sim_id).__name__}", sim_id)
                sim_id = None
        if sim_id is not None:
            first = self.seen.get(sim_id)
            if first is not None:
                self.bad(ref, "id", f"duplicate simulation id (first at {first.source.path} line "
                         f"{first.line('id')}); this copy is skipped", sim_id)
                return
            self.seen[sim_id] = ref
        self.sim_time_starts.append(len(self.times))
        self.sim_refs.append(ref)

        task_id = sim.get("task_id")
        if type(task_id) is not str:
            if type(task_id) is int:
                task_id = str(task_id)  # tau2's own index allows int task ids
            else:
                if task_id is not None or "task_id" in sim:
                    self.bad(ref, "task_id", f"task_id should be a string, got "
                             f"{type(task_id).__name__}; taken as NA", task_id)
                else:
                    self.bad(ref, None, "no task_id; taken as NA")
                task_id = None
        trial = sim.get("trial")
        if type(trial) is not int:
            if trial is not None:
                self.bad(ref, "trial", f"trial should be an integer, got {type(trial).__name__}; "
                         "taken as NA", trial)
            trial = None
        start = self.time(sim.get("start_time"), ref, "start_time")
        end = self.time(sim.get("end_time"), ref, "end_time")
        duration = self.number(sim.get("duration"), ref, "duration")
        reason = sim.get("termination_reason")
        if reason is not None and type(reason) is not str:
            self.bad(ref, "termination_reason", "termination_reason should be a string, got "
                     f"{type(reason).__name__}; taken as NA", reason)
            reason = None
        agent_cost = self.number(sim.get("agent_cost"), ref, "agent_cost")
        user_cost = self.number(sim.get("user_cost"), ref, "user_cost")

        reward_info = sim.get("reward_info")
        reward = None
        if reward_info is not None:
            if type(reward_info) is not dict:
                self.bad(ref, "reward_info", "reward_info should be an object, got "
                         f"{type(reward_info).__name__}; taken as NA", reward_info)
                reward_info = None
            else:
                reward = self.number(reward_info.get("reward"), ref, "reward")
        success = None if reward is None else abs(reward - 1.0) <= SUCCESS_TOLERANCE

        messages = sim.get("messages")
        if messages is not None and type(messages) is not list:
            self.bad(ref, "messages", f"messages should be a list, got {type(messages).__name__}; "
                     "none read", messages)
            messages = None
        ticks = sim.get("ticks")
        if ticks is not None and type(ticks) is not list:
            self.bad(ref, "ticks", f"ticks should be a list, got {type(ticks).__name__}", ticks)
            ticks = None
        mode = sim.get("mode")

        in_tok, out_tok = (self.add_messages(messages, ref, sim_id, task_id, trial, start)
                           if messages else (None, None))

        if reason in ERROR_TERMINATIONS:
            status, error = reason, f"terminated: {reason}"
        elif success is None:
            status, error = "not_evaluated", None
        else:
            status, error = ("success" if success else "failure"), None
        t = self.tasks
        t["task_id"].append(task_id)
        t["trial"].append(trial)
        t["status"].append(status)
        t["success"].append(success)
        t["reward"].append(reward)
        t["termination_reason"].append(reason)
        t["start"].append(start)
        t["end"].append(end)
        t["duration_s"].append(duration)
        t["cost_usd"].append(None if agent_cost is None and user_cost is None
                             else (agent_cost or 0.0) + (user_cost or 0.0))
        t["input_tokens"].append(in_tok)
        t["output_tokens"].append(out_tok)
        t["error"].append(error)
        t["simulation_id"].append(sim_id)
        t["agent_cost"].append(agent_cost)
        t["user_cost"].append(user_cost)
        t["num_messages"].append(None if messages is None else len(messages))
        t["num_ticks"].append(None if ticks is None else len(ticks))
        t["mode"].append(mode if type(mode) is str else None)

        if success is False or (success is None and reason in ERROR_TERMINATIONS):
            self.add_failure(reward_info, reward, reason, ref, task_id, trial, sim_id)

    def add_messages(self, messages: list, ref: _SimRef, sim_id: str | None, task_id: str | None,
                     trial: int | None, sim_start: int) -> tuple[int | None, int | None]:
        """Messages of one simulation, and the events derived from them. Returns the
        simulation's summed input and output tokens (None when no message has usage)."""
        m_cols, e_cols = self.msgs, self.events
        m_task, m_trial, m_agent, m_idx = m_cols["task_id"], m_cols["trial"], m_cols["agent"], m_cols["idx"]
        m_role, m_content, m_calls, m_call_id = (m_cols["role"], m_cols["content"],
                                                 m_cols["tool_calls"], m_cols["tool_call_id"])
        m_name, m_ts, m_in, m_out, m_cost = (m_cols["name"], m_cols["timestamp"], m_cols["input_tokens"],
                                             m_cols["output_tokens"], m_cols["cost_usd"])
        times = self.times
        pending: dict[Any, tuple[int, Any]] = {}  # tool call id -> (event row, tool name)
        in_total = out_total = None
        prev_ts = sim_start
        for i, m in enumerate(messages):
            if type(m) is not dict:
                self.bad(ref, "messages", f"message #{i} should be an object, got "
                         f"{type(m).__name__}; skipped", m)
                continue
            role = m.get("role")
            agent = ROLE_AGENT.get(role) if type(role) is str else None
            if agent is None:
                self.bad(ref, "messages", f"message #{i} has unknown role {role!r}; kept", role)
                agent = role if type(role) is str else None
                role = agent
            content = m.get("content")
            if content is not None and type(content) is not str:
                self.bad(ref, "content", f"message #{i} content should be text, got "
                         f"{type(content).__name__}; kept as JSON text", content)
                content = json.dumps(content, ensure_ascii=False, default=str)
            ts_value = m.get("timestamp")
            if type(ts_value) is str:
                times.append(ts_value)
                ts = len(times) - 1
            else:
                ts = self.time(ts_value, ref, "timestamp")
            cost = m.get("cost")
            if cost is not None and type(cost) not in _NUM:
                cost = self.number(cost, ref, "cost")
            usage = m.get("usage")
            p_tok = c_tok = None
            if usage is not None:
                if type(usage) is dict:
                    p_tok = usage.get("prompt_tokens")
                    c_tok = usage.get("completion_tokens")
                    if p_tok is not None and type(p_tok) not in _NUM:
                        p_tok = self.number(p_tok, ref, "prompt_tokens")
                    if c_tok is not None and type(c_tok) not in _NUM:
                        c_tok = self.number(c_tok, ref, "completion_tokens")
                    if p_tok is not None:
                        in_total = (in_total or 0) + p_tok
                    if c_tok is not None:
                        out_total = (out_total or 0) + c_tok
                else:
                    self.bad(ref, "usage", f"message #{i} usage should be an object, got "
                             f"{type(usage).__name__}; taken as NA", usage)
            calls = m.get("tool_calls")
            calls_text = call_id = name = None
            if role == "tool":
                call_id = m.get("id")
                if call_id is not None and type(call_id) is not str:
                    call_id = _short_repr(call_id)
                found = pending.pop(call_id, None)
                if found is not None:
                    row, name = found
                    e_cols["end"][row] = ts
                    if m.get("error") is True:
                        e_cols["error"][row] = (content or "error")[:ERROR_CUT]
            elif role == "assistant":
                if not (i == 0 and usage is None):  # the first, usage-less one is the fixed greeting
                    self.event("agent", "llm_call", self.agent_model, prev_ts, ts, p_tok, c_tok,
                               cost, None, '{"has_tool_calls": true}' if calls else
                               '{"has_tool_calls": false}', sim_id, task_id, trial)
            elif role == "user" and (cost is not None or usage is not None):
                self.event("user_simulator", "user_sim", self.user_model, prev_ts, ts, p_tok, c_tok,
                           cost, None, None, sim_id, task_id, trial)
            if calls:  # after the call's own llm_call/user_sim event, which precedes it
                calls_text = self.tool_calls(calls, ref, i, agent, ts, sim_id, task_id, trial, pending)
            m_task.append(task_id)
            m_trial.append(trial)
            m_agent.append(agent)
            m_idx.append(i)
            m_role.append(role)
            m_content.append(content)
            m_calls.append(calls_text)
            m_call_id.append(call_id)
            m_name.append(name)
            m_ts.append(ts)
            m_in.append(p_tok)
            m_out.append(c_tok)
            m_cost.append(cost)
            if ts:
                prev_ts = ts
        return in_total, out_total

    def tool_calls(self, calls: Any, ref: _SimRef, i: int, agent: str | None, ts: int,
                   sim_id: str | None, task_id: str | None, trial: int | None,
                   pending: dict) -> str | None:
        """The JSON text of a message's tool calls; one tool_call event per call."""
        if type(calls) is not list:
            self.bad(ref, "tool_calls", f"message #{i} tool_calls should be a list, got "
                     f"{type(calls).__name__}; taken as NA", calls)
            return None
        out = []
        for call in calls:
            if type(call) is not dict:
                self.bad(ref, "tool_calls", f"message #{i} has a tool call that is not an object; "
                         "skipped", call)
                continue
            call_id, name, args = call.get("id"), call.get("name"), call.get("arguments")
            if call_id is not None and type(call_id) is not str:
                call_id = _short_repr(call_id)  # ids are looked up in a dict: must be hashable
            if type(args) is str:
                try:
                    args = json.loads(scrub_surrogates(args))
                except ValueError:
                    self.bad(ref, "arguments", f"message #{i} tool call {name!r}: arguments are not "
                             "valid JSON; kept as the raw string", args)
            out.append({"id": call_id, "name": name, "arguments": args})
            requestor = call.get("requestor")
            by_user = requestor == "user" or (requestor is None and agent == "user")
            row = self.event("user_simulator" if by_user else "agent", "tool_call",
                             name if type(name) is str else None, ts, 0, None, None, None, None,
                             '{"requestor": "user"}' if by_user else '{"requestor": "assistant"}',
                             sim_id, task_id, trial)
            pending[call_id] = (row, name if type(name) is str else None)
        return _ENCODE(out) if out else None

    def event(self, agent: str, kind: str, name: str | None, start: int, end: int, in_tok: Any,
              out_tok: Any, cost: Any, error: str | None, attrs: str | None, sim_id: str | None,
              task_id: str | None, trial: int | None) -> int:
        e = self.events
        e["task_id"].append(task_id)
        e["trial"].append(trial)
        e["agent"].append(agent)
        e["thread"].append(sim_id)
        e["kind"].append(kind)
        e["name"].append(name)
        e["start"].append(start)
        e["end"].append(end)
        e["input_tokens"].append(in_tok)
        e["output_tokens"].append(out_tok)
        e["cost_usd"].append(cost)
        e["error"].append(error)
        e["attrs"].append(attrs)
        return len(e["kind"]) - 1

    # -- failures
    def add_failure(self, reward_info: dict | None, reward: Any, reason: str | None, ref: _SimRef,
                    task_id: str | None, trial: int | None, sim_id: str | None) -> None:
        failed = _failed_checks(reward_info or {}, lambda key, why, raw: self.bad(ref, key, why, raw))
        counted = [(step, text) for step, text, in_basis in failed if in_basis]
        others = [(step, f"{text} (not counted in the reward)") for step, text, in_basis in failed
                  if not in_basis]
        parts = [f"{step}: {text}" for step, text in counted + others]
        if reason is not None and reason not in NORMAL_TERMINATIONS:
            step = reason
            parts.insert(0, f"terminated: {reason}")
        elif counted:
            step = counted[0][0]
        elif others:
            step = others[0][0]
        else:
            step = "reward"
            parts.append(f"reward {reward}")
        self.failures.append({
            "task_id": task_id, "trial": trial, "category": self.domain, "step": step,
            "error": "; ".join(parts)[:ERROR_CUT * 2], "classification": None, "reasoning": None,
            "simulation_id": sim_id,
        })

    # -- tables
    def frames(self, path: Path) -> dict[str, pd.DataFrame]:
        times = _parse_times(self.times)
        self.report_bad_times(times)
        values = times.array  # tz-aware; take() keeps the time zone
        tasks = self.tasks
        task_frame = _frame(tasks, values, time_cols=("start", "end"),
                            int_cols=("trial", "input_tokens", "output_tokens", "num_messages", "num_ticks"),
                            float_cols=("reward", "duration_s", "cost_usd", "agent_cost", "user_cost"),
                            bool_cols=("success",))
        if len(task_frame):
            # A missing duration is the span between start and end when both are known.
            span = (task_frame["end"] - task_frame["start"]).dt.total_seconds()
            task_frame["duration_s"] = task_frame["duration_s"].fillna(span)
        msg_frame = _frame(self.msgs, values, time_cols=("timestamp",),
                           int_cols=("trial", "idx", "input_tokens", "output_tokens"),
                           float_cols=("cost_usd",))
        ev_frame = _frame(self.events, values, time_cols=("start", "end"),
                          int_cols=("trial", "input_tokens", "output_tokens"), float_cols=("cost_usd",))
        if len(ev_frame):
            ev_frame["duration_ms"] = (ev_frame["end"] - ev_frame["start"]).dt.total_seconds() * 1000.0
        fail_frame = pd.DataFrame(self.failures) if self.failures else None
        return {"tasks": task_frame, "messages": msg_frame, "events": ev_frame, "failures": fail_frame}

    def report_bad_times(self, times: pd.Series) -> None:
        raw = self.times
        bad = np.flatnonzero(times.isna().to_numpy())
        for index in bad:
            if index == 0 or raw[index] is None:
                continue
            owner = bisect.bisect_right(self.sim_time_starts, index) - 1
            ref = self.sim_refs[owner] if owner >= 0 else None
            if ref is None:
                continue
            self.bad(ref, None, f"time {raw[index]!r} is not an ISO timestamp; taken as NA",
                     raw[index])


def _parse_times(raw: list) -> pd.Series:
    """Parse ISO strings at once (naive ones are UTC)."""
    series = pd.Series(raw, dtype="object")
    try:
        parsed = pd.to_datetime(series, format="ISO8601", utc=True, errors="coerce")
    except (ValueError, TypeError, OverflowError):
        parsed = pd.to_datetime(series, format="mixed", utc=True, errors="coerce")
    return parsed.astype("datetime64[ns, UTC]")


def _frame(cols: dict[str, list], times: pd.api.extensions.ExtensionArray, *, time_cols: tuple = (), int_cols: tuple = (),
           float_cols: tuple = (), bool_cols: tuple = ()) -> pd.DataFrame:
    """Typed columns built in one go, so conform() has nothing left to convert row by row."""
    out = {}
    for col, values in cols.items():
        if col in time_cols:
            out[col] = pd.Series(times.take(np.asarray(values, dtype=np.int64)))
        elif col in int_cols:
            numbers = np.array(values, dtype="float64")
            # inf or a count beyond int64 cannot be an Int64: NA, like any other unusable count
            numbers[~np.isfinite(numbers) | (np.abs(numbers) > 2.0 ** 62)] = np.nan
            out[col] = pd.Series(numbers).round().astype("Int64")
        elif col in float_cols:
            out[col] = pd.Series(np.array(values, dtype="float64"))
        elif col in bool_cols:
            out[col] = pd.Series(pd.array(values, dtype="boolean"))
        else:
            out[col] = pd.Series(values, dtype=_STRING)
    return pd.DataFrame(out)


def _failed_checks(reward_info: dict, report) -> list[tuple[str, str, bool]]:
    """(step, what failed, counted in the reward) for each failing check, in tau2's order."""
    basis = reward_info.get("reward_basis")
    basis = set(basis) if type(basis) is list and all(type(b) is str for b in basis) else None
    breakdown = reward_info.get("reward_breakdown")
    breakdown = breakdown if type(breakdown) is dict else {}
    failed = []
    for key, reward_type in CHECKS:
        value = reward_info.get(key)
        text = _check_failure(key, value, report)
        score = breakdown.get(reward_type)
        if text is None and type(score) in _NUM and score < 1 - SUCCESS_TOLERANCE:
            text = f"scored {score}"
        if text is not None:
            failed.append((key, text, basis is None or reward_type in basis))
    return failed


def _check_failure(key: str, value: Any, report) -> str | None:
    if value is None:
        return None
    if key == "db_check":
        if type(value) is not dict:
            report(key, f"{key} should be an object, got {type(value).__name__}", value)
            return None
        if value.get("db_match") is False:
            return "the database differs from the expected one"
        return None
    if type(value) is not list:
        report(key, f"{key} should be a list, got {type(value).__name__}", value)
        return None
    names = []
    for check in value:
        if type(check) is not dict:
            continue
        if key == "action_checks":
            if check.get("action_match") is False:
                action = check.get("action")
                names.append(str(action.get("name")) if type(action) is dict else "?")
        elif check.get("met") is False:
            if key == "env_assertions":
                inner = check.get("env_assertion")
                names.append(str(inner.get("func_name")) if type(inner) is dict else "?")
            elif key == "nl_assertions":
                names.append(str(check.get("nl_assertion"))[:80])
            else:
                names.append(str(check.get("info"))[:80])
    if not names:
        return None
    label = {"action_checks": "actions not matched", "env_assertions": "env assertions not met",
             "nl_assertions": "nl assertions not met", "communicate_checks": "not communicated"}[key]
    return f"{label}: {', '.join(names)}"


def _short_repr(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text[:400]


# --------------------------------------------------------------------------- entry point

def load(path: Path, *, strict: bool = False) -> Run:
    """Load a tau2 results JSON file or a dir-format run (``results.json`` + ``simulations/``).

    >>> run = load(Path("airline_grok-3-mini_10sims.json"))                 # doctest: +SKIP
    >>> run.tasks[["task_id", "trial", "reward", "success"]].head()         # doctest: +SKIP
    """
    # The cyclic GC would rescan the freshly parsed JSON tree over and over while millions
    # of small objects are made; nothing here creates cycles, so pause it for the load.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(Path(path), strict)
    finally:
        if gc_was_enabled:
            gc.enable()


def _load(path: Path, strict: bool) -> Run:
    problems = Problems(strict)
    results_file, sims_dir = _layout(path)
    if results_file is not None and results_file.exists():
        doc, source, positions = _parse_document(results_file, problems)
    else:
        if results_file is not None:
            problems.add(results_file, None, "no results.json: run metadata is unknown")
        doc, source, positions = {}, _Source(path, None), None

    info = _dict(doc.get("info"), "info", source, problems)
    agent_info = _dict(info.get("agent_info"), "agent_info", source, problems)
    user_info = _dict(info.get("user_info"), "user_info", source, problems)
    env_info = _dict(info.get("environment_info"), "environment_info", source, problems)
    domain = _str(env_info.get("domain_name"))
    agent_model, user_model = _str(agent_info.get("llm")), _str(user_info.get("llm"))
    builder = _Builder(problems, domain, agent_model, user_model)

    sims = doc.get("simulations")
    if sims is not None and type(sims) is not list:
        problems.add(source.path, source.line_at(source.find('"simulations"')),
                     f"simulations should be a list, got {type(sims).__name__}; none read",
                     _short_repr(sims))
        sims = None
    for k, sim in enumerate(sims or ()):
        builder.add_simulation(sim, _SimRef(source, positions[k] if positions else None, None, k))
    if sims_dir is not None:
        broken = _load_sim_files(sims_dir, builder, problems)
        _check_index(doc.get("simulation_index"), builder, source, problems, broken)

    tables = builder.frames(path)
    run_id = path.stem if path.is_file() else path.name
    for frame in tables.values():
        if frame is not None:  # typed here so Run() need not fill it value by value
            frame.insert(0, "run_id", pd.Series(run_id, index=frame.index, dtype=_STRING))
    tasks_defined = doc.get("tasks")
    if tasks_defined is not None and type(tasks_defined) is not list:
        problems.add(source.path, source.line_at(source.find('"tasks"')),
                     f"tasks should be a list, got {type(tasks_defined).__name__}", _short_repr(tasks_defined))
        tasks_defined = None
    meta = _meta(path, run_id, doc, info, domain, agent_model, user_model, tables["tasks"],
                 tasks_defined, "dir" if sims_dir is not None else "json")
    return Run(meta=meta, problems=problems.frame(), **tables)


def cache_source(path: Path) -> Path:
    """What a load of ``path`` reads, for the cache key: a results.json read in the dir
    format depends on its sibling simulations/ too."""
    path = Path(path)
    _results, sims_dir = _layout(path)
    return path.parent if path.is_file() and sims_dir is not None else path


def _layout(path: Path) -> tuple[Path | None, Path | None]:
    """(results file, simulations dir or None), as tau2's Results._detect_format decides."""
    if path.is_dir():
        return path / "results.json", path / "simulations"
    sims_dir = path.parent / "simulations"
    return path, (sims_dir if sims_dir.is_dir() else None)


def _load_sim_files(sims_dir: Path, builder: _Builder, problems: Problems) -> set[str]:
    """Add every ``simulations/*.json``; returns the stems of files that could not be read."""
    broken: set[str] = set()
    if not sims_dir.is_dir():
        return broken
    for sim_file in sorted(sims_dir.glob("*.json")):
        text = _read_text(sim_file, problems)
        if text is None:
            broken.add(sim_file.stem)
            continue
        text = scrub_surrogates(text, sim_file, problems)
        source = _Source(sim_file, text)
        try:
            sim = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.add(sim_file, exc.lineno, f"simulation file is cut or invalid JSON ({exc.msg}); "
                         "skipped", text[max(0, exc.pos - 100):exc.pos + 100])
            broken.add(sim_file.stem)
            continue
        builder.add_simulation(sim, _SimRef(source, 0, None))
    return broken


def _check_index(index: Any, builder: _Builder, source: _Source, problems: Problems,
                 broken: set[str]) -> None:
    """tau2 checks its simulation_index against the files; a missing file is a problem (a
    broken one already has its own)."""
    if type(index) is not list:
        return
    for entry in index:
        sim_id = entry.get("id") if type(entry) is dict else None
        if type(sim_id) is str and sim_id not in builder.seen and sim_id not in broken:
            problems.add(source.path, source.line_at(source.find(json.dumps(sim_id))),
                         f"simulation {sim_id} is in simulation_index but its file is missing",
                         _short_repr(entry))


def _dict(value: Any, key: str, source: _Source, problems: Problems) -> dict:
    if value is None:
        return {}
    if type(value) is not dict:
        problems.add(source.path, source.line_at(source.find(f'"{key}"')),
                     f"{key} should be an object, got {type(value).__name__}; taken as empty",
                     _short_repr(value))
        return {}
    return value


def _str(value: Any) -> str | None:
    return value if type(value) is str else None


def _meta(path: Path, run_id: str, doc: dict, info: dict, domain: str | None, agent_model: str | None,
          user_model: str | None, tasks: pd.DataFrame, tasks_defined: list | None,
          layout: str) -> dict:
    models = [m for m in dict.fromkeys((agent_model, user_model)) if m]
    started = tasks["start"].min() if len(tasks) else pd.NaT
    ended = tasks["end"].max() if len(tasks) else pd.NaT
    if pd.isna(started) and type(doc.get("timestamp")) is str:
        started = pd.to_datetime(doc["timestamp"], utc=True, errors="coerce")
    num_trials = info.get("num_trials")
    return {
        "run_id": run_id,
        "source_format": FORMAT,
        "path": str(path),
        "benchmark": "tau2",
        "domain": domain,
        "models": models,
        "agent_model": agent_model,
        "user_model": user_model,
        "started": None if pd.isna(started) else started,
        "ended": None if pd.isna(ended) else ended,
        "num_trials": num_trials if type(num_trials) is int else None,
        "max_steps": info.get("max_steps"),
        "max_errors": info.get("max_errors"),
        "git_commit": _str(info.get("git_commit")),
        "timestamp": _str(doc.get("timestamp")),
        "tasks_defined": None if tasks_defined is None else len(tasks_defined),
        "simulations": len(tasks),
        "layout": layout,
    }


SPEC = register(Format(
    name=FORMAT, sniff=sniff, load=load, cacheable=CACHEABLE, cache_source=cache_source, priority=20,
    samples={"tau2_results": "analysis_kit.samples.tau2_results:write",
             "tau2_results_rerun": "analysis_kit.samples.tau2_results_rerun:write"},
    description="tau2-bench results JSON (one file, or results.json + simulations/)"))
