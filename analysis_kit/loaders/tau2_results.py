"""Loader for tau2-bench results: one JSON file, or the "dir" format.

The real writer (``sierra-research/tau2-bench``, ``data_model/simulation.py``,
``Results.save``) writes one object ``{timestamp, info, tasks[], simulations[]}``, or (voice
runs) ``results.json`` + ``simulations/<id>.json``. A simulation: ``id, task_id, trial,
start_time, end_time, duration, termination_reason, agent_cost, user_cost, reward_info{reward,
db_check, action_checks, nl_assertions, communicate_checks, env_assertions, reward_basis,
reward_breakdown}, messages[{role, content, tool_calls[{id, name, arguments, requestor}],
timestamp, cost, usage{prompt_tokens, completion_tokens}}]`` (tool messages carry the call's
``id`` and ``error``; voice simulations have ``ticks`` instead of messages). Success is tau2's
``is_successful``: ``reward`` within 1e-6 of 1.

- ``tasks``: a row per simulation (extras ``simulation_id``, ``agent_cost``, ``user_cost``,
  ``num_messages``, ``num_ticks``, ``mode``); ``cost_usd`` = agent + user cost (NA when both
  are missing); ``status`` the termination reason for error-like endings, else
  ``success``/``failure``, or ``not_evaluated`` without ``reward_info``.
- ``messages``: ``agent`` is ``agent`` (assistant), ``user_simulator`` (tau2's user is an LLM
  of the harness), ``tool`` or ``system``.
- ``events`` are derived from message timestamps (the files hold no call timings): an
  assistant message is an ``llm_call`` from the previous message to its own; a user message
  with cost or usage a ``user_sim``; a tool call a ``tool_call`` from its message to its
  result. The first, usage-less message is the orchestrator's fixed greeting.
- ``failures``: evaluated simulations with reward < 1 (or an error-like ending); ``step`` the
  first failing check counted in the reward, or the termination reason.

>>> run = load(Path("airline_grok-3-mini_10sims.json"))       # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..model import Problems, Run
from ._columns import Table
from ._read import MISSING, Source, head, parse_json, read_text
from ._registry import Format, register
from ._values import Where, short_json

FORMAT = "tau2_results"
SUCCESS_TOLERANCE = 1e-6  # tau2's is_successful()
ERROR_CUT = 200  # characters of a tool error or failure text kept
ERROR_TERMINATIONS = frozenset({
    "too_many_errors", "agent_error", "user_error", "infrastructure_error",
    "unexpected_error", "context_window_exceeded", "timeout",
})
NORMAL_TERMINATIONS = frozenset({"user_stop", "agent_stop"})
# (field of reward_info, its RewardType name in reward_basis / reward_breakdown)
CHECKS = (("db_check", "DB"), ("action_checks", "ACTION"), ("nl_assertions", "NL_ASSERTION"),
          ("communicate_checks", "COMMUNICATE"), ("env_assertions", "ENV_ASSERTION"))
CHECK_LABELS = {"action_checks": "actions not matched", "env_assertions": "env assertions not met",
                "nl_assertions": "nl assertions not met", "communicate_checks": "not communicated"}
TASK_EXTRAS = {"simulation_id": "str", "agent_cost": "float", "user_cost": "float", "num_messages": "int",
               "num_ticks": "int", "mode": "str"}
ROLE_AGENT = {"assistant": "agent", "user": "user_simulator", "tool": "tool", "system": "system"}
_NUM = (int, float)
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


def sniff(path: Path) -> bool:
    """True for a tau2 results JSON file, or a folder holding ``results.json``. Reads at most
    64 KB (``simulations`` often comes after a long ``info``: tau2's own ``info`` keys count).

    >>> sniff(Path("no/such/file.json"))
    False
    """
    try:
        p = Path(path)
        p = p / "results.json" if p.is_dir() else p
        if p.suffix.lower() != ".json" or not p.is_file():
            return False
        data = head(p).lstrip(b" \t\r\n")
    except (OSError, ValueError):
        return False
    if not data.startswith(b"{"):
        return False
    return (b'"simulations"' in data and (b'"info"' in data or b'"tasks"' in data)) or (
        b'"info"' in data and b'"agent_info"' in data and (b'"user_info"' in data or b'"environment_info"' in data))


class _Simulations:
    """The tables of a run, one simulation at a time."""

    def __init__(self, problems: Problems, domain: str | None, agent_model: str | None, user_model: str | None):
        self.problems, self.domain, self.agent_model, self.user_model = problems, domain, agent_model, user_model
        self.seen: dict[str, Where] = {}
        self.tasks, self.messages, self.events = Table("tasks", TASK_EXTRAS), Table("messages"), Table("events")
        self.failures = Table("failures", {"simulation_id": "str"})

    def add(self, sim: Any, where: Where) -> None:
        if type(sim) is not dict:
            where.wrong("a simulation", "an object", sim, "skipped")
            return
        sim_id = where.string(sim.get("id"), "id")
        if sim_id is None:
            where.problem("no id; kept without one")
        where.label = f"simulation {sim_id if sim_id is not None else '?'}"
        if sim_id is not None:
            first = self.seen.setdefault(sim_id, where)
            if first is not where:
                where.problem(f"duplicate simulation id (first at {first.file} line {first.locate('id')}); "
                              "this copy is skipped", sim_id, "id")
                return
        task_id = where.string(sim.get("task_id"), "task_id")  # tau2's own index allows int ids
        if "task_id" not in sim:
            where.problem("no task_id; taken as NA")
        trial = where.integer(sim.get("trial"), "trial")
        start, end = _iso(sim.get("start_time"), "start_time", where), _iso(sim.get("end_time"), "end_time", where)
        duration = where.number(sim.get("duration"), "duration")
        reason = where.string(sim.get("termination_reason"), "termination_reason")
        agent_cost = where.number(sim.get("agent_cost"), "agent_cost")
        user_cost = where.number(sim.get("user_cost"), "user_cost")
        reward_info = sim.get("reward_info")
        reward_info = None if reward_info is None else where.mapping(reward_info, "reward_info") or None
        reward = where.number(reward_info.get("reward"), "reward") if reward_info else None
        success = None if reward is None else abs(reward - 1.0) <= SUCCESS_TOLERANCE
        messages, ticks = sim.get("messages"), sim.get("ticks")
        if messages is not None and type(messages) is not list:
            where.wrong("messages", "a list", messages, "none read")
            messages = None
        if ticks is not None and type(ticks) is not list:
            where.wrong("ticks", "a list", ticks)
            ticks = None
        context = dict(task_id=task_id, trial=trial)
        in_tok, out_tok = self.add_messages(messages, where, sim_id, start, context) if messages else (None, None)
        if reason in ERROR_TERMINATIONS:
            status, error = reason, f"terminated: {reason}"
        elif success is None:
            status, error = "not_evaluated", None
        else:
            status, error = ("success" if success else "failure"), None
        self.tasks.append(
            where, **context, status=status, success=success, reward=reward, termination_reason=reason,
            start=start, end=end, duration_s=duration, input_tokens=in_tok, output_tokens=out_tok, error=error,
            cost_usd=None if agent_cost is None and user_cost is None else (agent_cost or 0.0) + (user_cost or 0.0),
            simulation_id=sim_id, agent_cost=agent_cost, user_cost=user_cost,
            num_messages=None if messages is None else len(messages),
            num_ticks=None if ticks is None else len(ticks), mode=where.string(sim.get("mode"), "mode"))
        if success is False or (success is None and reason in ERROR_TERMINATIONS):
            self.add_failure(reward_info or {}, reward, reason, where, sim_id, context)

    def add_messages(self, messages: list, where: Where, sim_id: str | None, sim_start: Any,
                     context: dict) -> tuple[Any, Any]:
        """Messages of one simulation and the events derived from them; returns the summed
        input and output tokens (None when no message has usage)."""
        pending: dict[Any, int] = {}  # tool call id -> its event's row
        in_total = out_total = None
        prev_ts = sim_start
        for i, m in enumerate(messages):
            if type(m) is not dict:
                where.wrong(f"message #{i}", "an object", m, "skipped")
                continue
            role = m.get("role")
            agent = ROLE_AGENT.get(role) if type(role) is str else None
            if agent is None:
                where.problem(f"message #{i} has unknown role {role!r}; kept", role, "messages")
                role = agent = role if type(role) is str else None
            content = m.get("content")
            content = content if type(content) is str or content is None else where.text(content, f"message #{i} content")
            ts, cost, usage = m.get("timestamp"), m.get("cost"), m.get("usage")
            # Checked only when not of the usual type: this loop runs once per message.
            ts = ts if type(ts) is str or ts is None else _iso(ts, "timestamp", where)
            cost = cost if type(cost) is float or cost is None or type(cost) is int else where.number(cost, "cost")
            usage = usage if type(usage) is dict or usage is None else where.mapping(usage, f"message #{i} usage") or None
            p_tok, c_tok = (usage.get("prompt_tokens"), usage.get("completion_tokens")) if usage else (None, None)
            p_tok = p_tok if type(p_tok) is int or p_tok is None else where.integer(p_tok, "prompt_tokens")
            c_tok = c_tok if type(c_tok) is int or c_tok is None else where.integer(c_tok, "completion_tokens")
            in_total = in_total if p_tok is None else (in_total or 0) + p_tok
            out_total = out_total if c_tok is None else (out_total or 0) + c_tok
            calls, call_id, name = m.get("tool_calls"), None, None
            if role == "tool":
                call_id = m.get("id") if type(m.get("id")) in (str, type(None)) else short_json(m.get("id"))
                row = pending.pop(call_id, None)
                if row is not None:
                    name = self.events.get(row, "name")
                    self.events.set(row, "end", ts)
                    if m.get("error") is True:
                        self.events.set(row, "error", (content or "error")[:ERROR_CUT])
            elif role == "assistant" and not (i == 0 and usage is None):  # not the fixed greeting
                self.event(where, "agent", "llm_call", self.agent_model, prev_ts, ts, p_tok, c_tok, cost,
                           '{"has_tool_calls": true}' if calls else '{"has_tool_calls": false}', sim_id, context)
            elif role == "user" and (cost is not None or usage is not None):
                self.event(where, "user_simulator", "user_sim", self.user_model, prev_ts, ts, p_tok, c_tok,
                           cost, None, sim_id, context)
            calls_text = self.tool_calls(calls, where, i, agent, ts, sim_id, context, pending) if calls else None
            self.messages.add_row(where, {
                "task_id": context["task_id"], "trial": context["trial"], "agent": agent, "idx": i, "role": role,
                "content": content, "tool_calls": calls_text, "tool_call_id": call_id, "name": name, "timestamp": ts,
                "input_tokens": p_tok, "output_tokens": c_tok, "cost_usd": cost})
            prev_ts = ts or prev_ts
        return in_total, out_total

    def tool_calls(self, calls: Any, where: Where, i: int, agent: str | None, ts: Any, sim_id: str | None,
                   context: dict, pending: dict) -> str | None:
        """The JSON text of a message's tool calls; one tool_call event per call."""
        if type(calls) is not list:
            where.wrong(f"message #{i} tool_calls", "a list", calls)
            return None
        out = []
        for call in calls:
            if type(call) is not dict:
                where.problem(f"message #{i} has a tool call that is not an object; skipped", call, "tool_calls")
                continue
            call_id, name, args = call.get("id"), call.get("name"), call.get("arguments")
            if call_id is not None and type(call_id) is not str:
                call_id = short_json(call_id)  # looked up in a dict: must be hashable
            args = where.arguments(args, f"message #{i} tool call {name!r}")
            out.append({"id": call_id, "name": name, "arguments": args})
            by_user = call.get("requestor") == "user" or (call.get("requestor") is None and agent == "user_simulator")
            pending[call_id] = self.event(where, "user_simulator" if by_user else "agent", "tool_call",
                                          name if type(name) is str else None, ts, None, None, None, None,
                                          '{"requestor": "user"}' if by_user else '{"requestor": "assistant"}',
                                          sim_id, context)
        return _ENCODE(out) if out else None

    def event(self, where: Where, agent: str, kind: str, name: str | None, start: Any, end: Any, in_tok: Any,
              out_tok: Any, cost: Any, attrs: str | None, sim_id: str | None, context: dict) -> int:
        self.events.add_row(where, {"task_id": context["task_id"], "trial": context["trial"], "agent": agent,
                                    "thread": sim_id, "kind": kind, "name": name, "start": start, "end": end,
                                    "input_tokens": in_tok, "output_tokens": out_tok, "cost_usd": cost, "attrs": attrs})
        return self.events.n - 1

    def add_failure(self, reward_info: dict, reward: Any, reason: str | None, where: Where, sim_id: str | None,
                    context: dict) -> None:
        failed = _failed_checks(reward_info, where)
        counted = [(step, text) for step, text, in_basis in failed if in_basis]
        others = [(step, f"{text} (not counted in the reward)") for step, text, in_basis in failed if not in_basis]
        parts = [f"{step}: {text}" for step, text in counted + others]
        if reason is not None and reason not in NORMAL_TERMINATIONS:
            step = reason
            parts.insert(0, f"terminated: {reason}")
        else:
            step = (counted or others or [("reward", None)])[0][0]
            if step == "reward":
                parts.append(f"reward {reward}")
        self.failures.append(where, **context, category=self.domain, step=step,
                             error="; ".join(parts)[:ERROR_CUT * 2], simulation_id=sim_id)

    def frames(self) -> dict[str, pd.DataFrame]:
        tasks, events = self.tasks.frame(), self.events.frame()
        if len(tasks):  # a missing duration is the span between start and end
            tasks["duration_s"] = tasks["duration_s"].fillna((tasks["end"] - tasks["start"]).dt.total_seconds())
        if len(events):
            events["duration_ms"] = (events["end"] - events["start"]).dt.total_seconds() * 1000.0
        return {"tasks": tasks, "messages": self.messages.frame(), "events": events,
                "failures": self.failures.frame()}


def _iso(value: Any, name: str, where: Where) -> Any:
    """An ISO time string kept for the table to parse (all at once); anything else is NA."""
    return value if value is None or type(value) is str else where.wrong(name, "an ISO time string", value)


def _failed_checks(reward_info: dict, where: Where) -> list[tuple[str, str, bool]]:
    """(step, what failed, counted in the reward) for each failing check, in tau2's order."""
    basis = reward_info.get("reward_basis")
    basis = set(basis) if type(basis) is list and all(type(b) is str for b in basis) else None
    breakdown = reward_info.get("reward_breakdown")
    breakdown = breakdown if type(breakdown) is dict else {}
    failed = []
    for key, reward_type in CHECKS:
        text = _check_failure(key, reward_info.get(key), where)
        score = breakdown.get(reward_type)
        if text is None and type(score) in _NUM and score < 1 - SUCCESS_TOLERANCE:
            text = f"scored {score}"
        if text is not None:
            failed.append((key, text, basis is None or reward_type in basis))
    return failed


def _check_failure(key: str, value: Any, where: Where) -> str | None:
    if value is None:
        return None
    if key == "db_check":
        return "the database differs from the expected one" if where.mapping(value, key).get("db_match") is False else None
    names = []
    for check in where.listing(value, key):
        if type(check) is not dict:
            continue
        if key == "action_checks" and check.get("action_match") is False:
            action = check.get("action")
            names.append(str(action.get("name")) if type(action) is dict else "?")
        elif key != "action_checks" and check.get("met") is False:
            inner = check.get("env_assertion")
            names.append(str(inner.get("func_name")) if type(inner) is dict else "?" if key == "env_assertions"
                         else str(check.get("nl_assertion" if key == "nl_assertions" else "info"))[:80])
    return f"{CHECK_LABELS[key]}: {', '.join(names)}" if names else None


def load(path: Path, *, strict: bool = False) -> Run:
    """Load a tau2 results JSON file or a dir-format run (``results.json`` + ``simulations/``).

    >>> run = load(Path("airline_grok-3-mini_10sims.json"))                 # doctest: +SKIP
    >>> run.tasks[["task_id", "trial", "reward", "success"]].head()         # doctest: +SKIP
    """
    path, problems = Path(path), Problems(strict)
    results_file, sims_dir = _layout(path)
    doc, source = {}, Source(path, "")
    if results_file.exists():
        doc, source = _document(results_file, problems)
    elif sims_dir is not None:
        problems.add(results_file, None, "no results.json: run metadata is unknown")
    top = Where(problems, source.path, locate=lambda key: source.key_line(key))
    if doc is MISSING or type(doc) is not dict:
        if doc is not MISSING:
            top.wrong("the top level", "a tau2 results object", doc, "not read")
        doc = {}
    info = top.mapping(doc.get("info"), "info")
    agent_info, user_info, env_info = (top.mapping(info.get(k), k) for k in ("agent_info", "user_info", "environment_info"))
    domain = _str(env_info.get("domain_name"))
    agent_model, user_model = _str(agent_info.get("llm")), _str(user_info.get("llm"))
    sims = _Simulations(problems, domain, agent_model, user_model)
    listed = doc.get("simulations")
    if listed is not None and type(listed) is not list:
        top.wrong("simulations", "a list", listed, "none read")
        listed = None
    for k, sim in enumerate(listed or ()):
        sims.add(sim, Where(problems, source.path,
                            locate=lambda key, k=k: source.element_line("simulations", k, key)))
    if sims_dir is not None:
        _load_sim_files(sims_dir, sims, problems, doc.get("simulation_index"), top)
    tables = sims.frames()
    tasks_defined = doc.get("tasks")
    if tasks_defined is not None and type(tasks_defined) is not list:
        top.wrong("tasks", "a list", tasks_defined, "not counted")
        tasks_defined = None
    run_id = path.stem if path.is_file() else path.name
    meta = _meta(path, run_id, doc, info, domain, agent_model, user_model, tables["tasks"], tasks_defined,
                 "dir" if sims_dir is not None else "json")
    return Run(meta=meta, problems=problems.frame(), **tables)


def _document(file: Path, problems: Problems) -> tuple[Any, Source]:
    text = read_text(file, problems)
    source = Source(file, text or "")
    if text is None:
        return MISSING, source
    doc, _ = parse_json(source, problems, arrays={"simulations": "simulation"})
    return doc, source


def cache_source(path: Path) -> Path:
    """What a load of ``path`` reads, for the cache key: a results.json read in the dir
    format depends on its sibling simulations/ too."""
    path = Path(path)
    return path.parent if path.is_file() and _layout(path)[1] is not None else path


def _layout(path: Path) -> tuple[Path, Path | None]:
    """(results file, simulations dir or None), as tau2's Results._detect_format decides."""
    if path.is_dir():
        return path / "results.json", path / "simulations"
    sims_dir = path.parent / "simulations"
    return path, (sims_dir if sims_dir.is_dir() else None)


def _load_sim_files(sims_dir: Path, sims: _Simulations, problems: Problems, index: Any, top: Where) -> None:
    """Add every ``simulations/*.json``; a file named in ``simulation_index`` but missing is a
    problem (a broken one already has its own)."""
    broken: set[str] = set()
    for sim_file in sorted(sims_dir.glob("*.json")) if sims_dir.is_dir() else ():
        found = Problems()  # a damaged file is skipped whole: half a simulation would mislead
        doc, source = _document(sim_file, found)
        for row in found.rows[:-1] if source.damaged else found.rows:
            problems.add(row["file"], row["line"], row["reason"], row["raw"])
        if source.damaged or doc is MISSING:
            last = found.rows[-1] if found.rows else {"line": None, "reason": "unreadable", "raw": ""}
            problems.add(sim_file, last["line"], f"simulation file is cut or invalid JSON ({last['reason']}); "
                         "skipped", last["raw"])
            broken.add(sim_file.stem)
            continue
        sims.add(doc, Where(problems, sim_file, locate=lambda key, s=source: s.key_line(key)))
    for entry in index if type(index) is list else ():
        sim_id = entry.get("id") if type(entry) is dict else None
        if type(sim_id) is str and sim_id not in sims.seen and sim_id not in broken:
            top.at(line=top.locate(sim_id)).problem(
                f"simulation {sim_id} is in simulation_index but its file is missing", entry)


def _str(value: Any) -> str | None:
    return value if type(value) is str else None


def _meta(path: Path, run_id: str, doc: dict, info: dict, domain: str | None, agent_model: str | None,
          user_model: str | None, tasks: pd.DataFrame, tasks_defined: list | None, layout: str) -> dict:
    started, ended = (tasks["start"].min(), tasks["end"].max()) if len(tasks) else (pd.NaT, pd.NaT)
    if pd.isna(started) and type(doc.get("timestamp")) is str:
        started = pd.to_datetime(doc["timestamp"], utc=True, errors="coerce")
    return {"run_id": run_id, "source_format": FORMAT, "path": str(path), "benchmark": "tau2", "domain": domain,
            "models": [m for m in dict.fromkeys((agent_model, user_model)) if m],
            "agent_model": agent_model, "user_model": user_model,
            "started": None if pd.isna(started) else started, "ended": None if pd.isna(ended) else ended,
            "num_trials": info.get("num_trials") if type(info.get("num_trials")) is int else None,
            "max_steps": info.get("max_steps"), "max_errors": info.get("max_errors"),
            "git_commit": _str(info.get("git_commit")), "timestamp": _str(doc.get("timestamp")),
            "tasks_defined": None if tasks_defined is None else len(tasks_defined),
            "simulations": len(tasks), "layout": layout}


SPEC = register(Format(
    name=FORMAT, sniff=sniff, load=load, cache_source=cache_source, priority=20,
    samples={"tau2_results": "analysis_kit.samples.tau2_results:write",
             "tau2_results_rerun": "analysis_kit.samples.tau2_results_rerun:write"},
    description="tau2-bench results JSON (one file, or results.json + simulations/)"))
