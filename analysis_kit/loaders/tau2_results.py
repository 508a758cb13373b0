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

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..model import Problems, Run, to_json_text
from ._columns import Table, unread
from ._read import MISSING, Source, head, sniffed
from ._registry import Format, register
from ._tau2 import document, failed_checks, layout, load_sim_files
from ._values import Where, seconds_between, short_json

FORMAT = "tau2_results"
SUCCESS_TOLERANCE = 1e-6  # tau2's is_successful()
ERROR_CUT = 200  # characters of a tool error or failure text kept
ERROR_TERMINATIONS = frozenset({"too_many_errors", "agent_error", "user_error", "infrastructure_error",
                                "unexpected_error", "context_window_exceeded", "timeout"})
NORMAL_TERMINATIONS = frozenset({"user_stop", "agent_stop"})
# Parts of a simulation and of a message the loader reads, and those it knowingly leaves (no
# timing, messages, usage or errors in them); any other non-empty part is "not read: ...".
SIM_READ = frozenset({"id", "task_id", "trial", "start_time", "end_time", "duration", "termination_reason", "agent_cost",
                      "user_cost", "reward_info", "messages", "mode", "seed", "timestamp", "policy", "info",
                      "speech_environment", "provider_session_id", "hallucination_retries_used"})
MESSAGE_READ = frozenset({"role", "content", "tool_calls", "timestamp", "cost", "usage", "id", "error", "requestor",
                          "generation_time_seconds", "name", "turn_idx", "raw_data", "is_audio", "audio_format",
                          "audio_path", "audio_script_gold", "chunk_id", "is_final_chunk", "source",
                          "contains_speech", "channel_effects", "source_effects", "speech_effects",
                          "turn_taking_action", "utterance_ids"})
TASK_EXTRAS = {"simulation_id": "str", "agent_cost": "float", "user_cost": "float", "num_messages": "int",
               "num_ticks": "int", "mode": "str"}
ROLE_AGENT = {"assistant": "agent", "user": "user_simulator", "tool": "tool", "system": "system"}
# The message and event rows are lists in this order (built once per message: see Table's fields)
MESSAGE_FIELDS = ("run_id", "task_id", "trial", "agent", "idx", "role", "content", "tool_calls", "tool_call_id", "name",
                  "timestamp", "input_tokens", "output_tokens", "cost_usd")
EVENT_FIELDS = ("run_id", "task_id", "trial", "agent", "thread", "kind", "name", "start", "end", "input_tokens",
                "output_tokens", "cost_usd", "attrs", "error", "generation_s")
_NAME, _END, _ERROR, _GENERATION = (EVENT_FIELDS.index(f) for f in ("name", "end", "error", "generation_s"))
_NUM = (int, float)


def sniff(path: Path) -> bool:
    """True for a tau2 results JSON file, or a folder holding ``results.json``. Reads at most
    64 KB (``simulations`` often comes after a long ``info``: tau2's own ``info`` keys count).

    >>> sniff(Path("no/such/file.json"))
    False
    """
    return sniffed(path, _sniff_file, lambda folder: sniffed(folder / "results.json", _sniff_file))


def _sniff_file(path: Path) -> bool:
    data = head(path).lstrip(b" \t\r\n") if path.suffix.lower() == ".json" else b""
    if not data.startswith(b"{"):
        return False
    return (b'"simulations"' in data and (b'"info"' in data or b'"tasks"' in data)) or (
        b'"info"' in data and b'"agent_info"' in data and (b'"user_info"' in data or b'"environment_info"' in data))


class _Simulations:
    """The tables of a run, one simulation at a time."""

    def __init__(self, problems: Problems):
        self.problems = problems
        self.run_id = self.domain = self.agent_model = self.user_model = None
        self.seen: dict[str, Where] = {}
        self.tasks, self.messages = Table("tasks", TASK_EXTRAS), Table("messages", fields=MESSAGE_FIELDS)
        self.events = Table("events", {"generation_s": "float"}, fields=EVENT_FIELDS)
        self.failures = Table("failures", {"simulation_id": "str"})

    def add(self, sim: Any, where: Where) -> None:
        if type(sim) is not dict:
            where.wrong("a simulation", "an object", sim, "skipped")
            return
        if not sim.keys() <= SIM_READ:
            unread(sim, SIM_READ, where, "simulation")
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
        in_tok, out_tok = self.add_messages(messages, where, sim_id, start, task_id, trial) if messages else (None, None)
        if reason in ERROR_TERMINATIONS:
            status, error = reason, f"terminated: {reason}"
        elif success is None:
            status, error = "not_evaluated", None
        else:
            status, error = ("success" if success else "failure"), None
        self.tasks.add_row(where, {
            "run_id": self.run_id, "task_id": task_id, "trial": trial, "status": status, "success": success,
            "reward": reward, "termination_reason": reason, "start": start, "end": end, "duration_s": duration,
            "input_tokens": in_tok, "output_tokens": out_tok, "error": error,
            "cost_usd": None if agent_cost is None and user_cost is None else (agent_cost or 0.0) + (user_cost or 0.0),
            "simulation_id": sim_id, "agent_cost": agent_cost, "user_cost": user_cost,
            "num_messages": None if messages is None else len(messages),
            "num_ticks": None if ticks is None else len(ticks), "mode": where.string(sim.get("mode"), "mode")})
        if success is False or (success is None and reason in ERROR_TERMINATIONS):
            self.add_failure(reward_info or {}, reward, reason, where, sim_id, task_id, trial)

    def add_messages(self, messages: list, where: Where, sim_id: str | None, sim_start: Any, task_id: str | None,
                     trial: int | None) -> tuple[Any, Any]:
        """Messages of one simulation and the events derived from them; returns the summed
        input and output tokens (None when no message has usage)."""
        run_id, add_message, add_event = self.run_id, self.messages.add_row, self.events.add_row
        pending: dict[Any, list] = {}  # tool call id -> its event's row
        in_total = out_total = None
        prev_ts = sim_start
        for i, m in enumerate(messages):
            if type(m) is not dict:
                where.wrong(f"message #{i}", "an object", m, "skipped")
                continue
            if not m.keys() <= MESSAGE_READ:  # a subset test allocates nothing: this runs per message
                unread(m, MESSAGE_READ, where, "message")
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
            calls, call_id, name, row = m.get("tool_calls"), None, None, None
            if role == "tool":
                call_id = m.get("id") if type(m.get("id")) in (str, type(None)) else short_json(m.get("id"))
                row = pending.pop(call_id, None)
                if row is not None:  # the call's event (EVENT_FIELDS) ends at its result
                    name, row[_END] = row[_NAME], ts
                    if m.get("error") is True:
                        row[_ERROR] = (content or "error")[:ERROR_CUT]
            elif role == "assistant" and not (i == 0 and usage is None):  # not the fixed greeting
                row = [run_id, task_id, trial, "agent", sim_id, "llm_call", self.agent_model, prev_ts, ts, p_tok, c_tok,
                       cost, '{"has_tool_calls": true}' if calls else '{"has_tool_calls": false}', None, None]
                add_event(where, row)
            elif role == "user" and (cost is not None or usage is not None):
                row = [run_id, task_id, trial, "user_simulator", sim_id, "user_sim", self.user_model, prev_ts, ts, p_tok,
                       c_tok, cost, None, None, None]
                add_event(where, row)
            if role in ("assistant", "user") and row is not None and m.get("generation_time_seconds") is not None:
                # tau2 v1 times the model call itself: the span ends at the message, that long
                row[_GENERATION] = where.number(m["generation_time_seconds"], "generation_time_seconds")
            calls_text = self.tool_calls(calls, where, i, agent, ts, sim_id, task_id, trial, pending) if calls else None
            add_message(where, [run_id, task_id, trial, agent, i, role, content, calls_text, call_id, name, ts, p_tok,
                                c_tok, cost])
            prev_ts = ts or prev_ts
        return in_total, out_total

    def tool_calls(self, calls: Any, where: Where, i: int, agent: str | None, ts: Any, sim_id: str | None,
                   task_id: str | None, trial: int | None, pending: dict) -> str | None:
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
            row = [self.run_id, task_id, trial, "user_simulator" if by_user else "agent", sim_id, "tool_call",
                   name if type(name) is str else None, ts, None, None, None, None,
                   '{"requestor": "user"}' if by_user else '{"requestor": "assistant"}', None, None]
            self.events.add_row(where, row)
            pending[call_id] = row
        return to_json_text(out) if out else None

    def add_failure(self, reward_info: dict, reward: Any, reason: str | None, where: Where, sim_id: str | None,
                    task_id: str | None, trial: int | None) -> None:
        failed = failed_checks(reward_info, where)
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
        self.failures.append(where, run_id=self.run_id, task_id=task_id, trial=trial, category=self.domain, step=step,
                             error="; ".join(parts)[:ERROR_CUT * 2], simulation_id=sim_id)

    def frames(self, run_id: str) -> dict[str, pd.DataFrame]:
        tasks, events = self.tasks.frame(run_id), self.events.frame(run_id)
        if len(tasks):  # a missing duration is the span between start and end
            span = seconds_between(tasks["start"], tasks["end"])
            tasks["duration_s"] = np.where(np.isnan(tasks["duration_s"]), span, tasks["duration_s"])
        if len(events):
            events["duration_ms"] = seconds_between(events["start"], events["end"]) * 1000.0
            timed = events["generation_s"].notna().to_numpy()
            if timed.any():  # measured, not derived: the call started that long before its message
                events.loc[timed, "duration_ms"] = events.loc[timed, "generation_s"] * 1000.0
                events.loc[timed, "start"] = events.loc[timed, "end"] - pd.to_timedelta(events.loc[timed, "generation_s"], unit="s")
        events = events.drop(columns="generation_s")
        return {"tasks": tasks, "messages": self.messages.frame(run_id), "events": events,
                "failures": self.failures.frame(run_id)}


def _iso(value: Any, name: str, where: Where) -> Any:
    """An ISO time string kept for the table to parse (all at once); anything else is NA."""
    return value if value is None or type(value) is str else where.wrong(name, "an ISO time string", value)


def load(path: Path, *, strict: bool = False) -> Run:
    """Load a tau2 results JSON file or a dir-format run (``results.json`` + ``simulations/``).

    >>> run = load(Path("airline_grok-3-mini_10sims.json"))                 # doctest: +SKIP
    >>> run.tasks[["task_id", "trial", "reward", "success"]].head()         # doctest: +SKIP
    """
    runs = _Runs(strict)
    runs.read(Path(path))
    return runs.run()


def load_many(paths: list[Path], *, strict: bool = False) -> tuple[Run, list[tuple[str, str]]]:
    """Several runs into one set of tables (one frame per table, not one per run: a run of a
    few hundred rows costs more in building its frames than in parsing), and the paths that
    could not be read with the reason. The run ids are the files' stems (``r#2`` for a second
    ``r``), as ``load_runs`` names them."""
    runs, failed = _Runs(strict), []
    for path in paths:
        try:
            runs.read(Path(path))
        except OSError as exc:
            if strict:
                raise
            failed.append((str(path), f"cannot read: {exc}"))
    return runs.run(), failed


class _Runs:
    """Runs read one after another into shared tables."""

    def __init__(self, strict: bool):
        self.problems = Problems(strict)
        self.sims = _Simulations(self.problems)
        self.metas: list[dict] = []
        self.ids: dict[str, int] = {}

    def read(self, path: Path) -> None:
        problems, sims = self.problems, self.sims
        first_problem = len(problems)
        results_file, sims_dir = layout(path)
        doc, source = {}, Source(path, "")
        if results_file.exists():
            doc, source = document(results_file, problems)
        elif sims_dir is not None:
            problems.add(results_file, None, "no results.json: run metadata is unknown")
        top = Where(problems, source.path, locate=lambda key: source.key_line(key))
        if doc is MISSING or type(doc) is not dict:
            if doc is not MISSING:
                top.wrong("the top level", "a tau2 results object", doc, "not read")
            doc = {}
        info = top.mapping(doc.get("info"), "info")
        agent_info, user_info, env_info = (top.mapping(info.get(k), k) for k in ("agent_info", "user_info", "environment_info"))
        stem = path.stem if path.is_file() else path.name
        self.ids[stem] = self.ids.get(stem, 0) + 1
        sims.run_id = stem if self.ids[stem] == 1 else f"{stem}#{self.ids[stem]}"
        sims.domain, sims.seen = _str(env_info.get("domain_name")), {}
        sims.agent_model, sims.user_model = _str(agent_info.get("llm")), _str(user_info.get("llm"))
        problems.next_run()
        listed = doc.get("simulations")
        if listed is not None and type(listed) is not list:
            top.wrong("simulations", "a list", listed, "none read")
            listed = None
        for k, sim in enumerate(listed or ()):
            sims.add(sim, Where(problems, source.path,
                                locate=lambda key, k=k: source.element_line("simulations", k, key)))
        if sims_dir is not None:
            load_sim_files(sims_dir, sims, problems, doc.get("simulation_index"), top)
        tasks_defined = doc.get("tasks")
        if tasks_defined is not None and type(tasks_defined) is not list:
            top.wrong("tasks", "a list", tasks_defined, "not counted")
            tasks_defined = None
        for row in problems.rows[first_problem:]:
            row["run_id"] = sims.run_id
        self.metas.append(_meta(path, sims.run_id, doc, info, sims.domain, sims.agent_model, sims.user_model,
                                tasks_defined, "dir" if sims_dir is not None else "json"))

    def run(self) -> Run:
        one = self.metas[0]["run_id"] if len(self.metas) == 1 else None
        tables = self.sims.frames(one)
        tasks = tables["tasks"]
        if len(tasks):  # started/ended of each run from its simulations
            spans = tasks.groupby(tasks["run_id"].astype(str), sort=False).agg(start=("start", "min"), end=("end", "max"))
        for meta in self.metas:
            started = spans["start"].get(meta["run_id"], pd.NaT) if len(tasks) else pd.NaT
            ended = spans["end"].get(meta["run_id"], pd.NaT) if len(tasks) else pd.NaT
            if pd.isna(started) and meta["timestamp"]:
                started = pd.to_datetime(meta["timestamp"], utc=True, errors="coerce")
            meta["started"], meta["ended"] = (None if pd.isna(started) else started), (None if pd.isna(ended) else ended)
            meta["simulations"] = int((tasks["run_id"] == meta["run_id"]).sum()) if len(tasks) else 0
        problems = self.problems.frame(one)
        if one is not None:
            return Run(meta=self.metas[0], problems=problems, **tables)
        meta = {"run_id": f"{len(self.metas)} runs", "source_format": FORMAT, "runs": self.metas,
                "run_ids": [m["run_id"] for m in self.metas]}
        return Run(meta=meta, problems=problems, **tables)


def cache_source(path: Path) -> Path:
    """What a load of ``path`` reads, for the cache key: a results.json read in the dir
    format depends on its sibling simulations/ too."""
    path = Path(path)
    return path.parent if path.is_file() and layout(path)[1] is not None else path


def _str(value: Any) -> str | None:
    return value if type(value) is str else None


def _meta(path: Path, run_id: str, doc: dict, info: dict, domain: str | None, agent_model: str | None,
          user_model: str | None, tasks_defined: list | None, layout: str) -> dict:
    return {"run_id": run_id, "source_format": FORMAT, "path": str(path), "benchmark": "tau2", "domain": domain,
            "models": [m for m in dict.fromkeys((agent_model, user_model)) if m],
            "agent_model": agent_model, "user_model": user_model,
            "num_trials": info.get("num_trials") if type(info.get("num_trials")) is int else None,
            "max_steps": info.get("max_steps"), "max_errors": info.get("max_errors"),
            "git_commit": _str(info.get("git_commit")), "timestamp": _str(doc.get("timestamp")),
            "tasks_defined": None if tasks_defined is None else len(tasks_defined), "layout": layout}


SPEC = register(Format(
    name=FORMAT, sniff=sniff, load=load, load_many=load_many, cache_source=cache_source, priority=20,
    samples={"tau2_results": "analysis_kit.samples.tau2_results:write",
             "tau2_results_rerun": "analysis_kit.samples.tau2_results_rerun:write"},
    description="tau2-bench results JSON (one file, or results.json + simulations/)"))
