"""A generated tau2-bench results run, in tau2's own layout.

``layout="json"`` (the default) writes the single file ``<dir>/tau2_airline_results.json``
``{timestamp, info, tasks[], simulations[]}``; ``layout="dir"`` writes tau2's dir format
``<dir>/tau2_airline_dir/results.json`` (with ``simulation_index``) plus
``simulations/<id>.json``. Field names follow ``SimulationRun``/``Message`` in
sierra-research/tau2-bench.

Per block of twelve tasks x three trials in an airline-like domain: assistant tool calls
with arguments, tool results, user turns; every check kind failing once (``db_check``,
``action_checks``, ``nl_assertions``, ``communicate_checks``, ``env_assertions``), one
``too_many_errors`` and one ``max_steps`` termination, tool errors, a retried identical tool
call, a task whose user simulator is unpriced (``user_cost`` null), and messages carrying
HOSTILE_SNIPPETS (markdown, HTML, ``<script>``, ``<img onerror>``, ANSI, a fake ``sk-`` key).
Output is deterministic for a seed; size=1 is about 250 KB.

>>> from analysis_kit.samples import tau2_results                 # doctest: +SKIP
>>> tau2_results.write("/tmp/s/tau2_results", seed=7, size=1)      # doctest: +SKIP
PosixPath('/tmp/s/tau2_results/tau2_airline_results.json')
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import HOSTILE_SNIPPETS

TASKS_PER_SIZE = 12
TRIALS = 3
AGENT_MODEL = "gpt-4.1-mini"
USER_MODEL = "gpt-4.1-nano"
FILE_NAME = "tau2_airline_results.json"
DIR_NAME = "tau2_airline_dir"
T0 = datetime(2025, 10, 6, 6, 22, 46, 727114)
CONCURRENCY = 4

# What happens in a task, by its index within a block of twelve. Failures hit one trial.
SCENARIOS = (
    "success", "db_check", "action_checks", "nl_assertions", "communicate_checks",
    "env_assertions", "too_many_errors", "max_steps", "unpriced_user", "retried_call",
    "tool_error_recovered", "hostile",
)
FAILING_TRIAL = 1
BASIS = {  # reward_basis per scenario (tau2 airline uses DB + COMMUNICATE by default)
    "action_checks": ["DB", "ACTION"], "nl_assertions": ["DB", "NL_ASSERTION"],
    "env_assertions": ["ENV_ASSERTION"],
}
USERS = ("omar_rossi_1241", "mia_li_3668", "raj_sanchez_7340", "lucas_brown_4047")
CITIES = (("JFK", "ORD"), ("SFO", "SEA"), ("LAX", "DFW"), ("BOS", "MIA"))


def write(directory: str | Path, *, seed: int = 7, size: int = 1, layout: str = "json") -> Path:
    """Write one tau2 results run under ``directory`` and return the path to load.

    >>> import tempfile                                                        # doctest: +SKIP
    >>> write(tempfile.mkdtemp(), seed=1).name                                  # doctest: +SKIP
    'tau2_airline_results.json'
    """
    if layout not in ("json", "dir"):
        raise ValueError(f"layout must be 'json' or 'dir', not {layout!r}")
    rng = random.Random(seed)
    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    n_tasks = TASKS_PER_SIZE * max(1, int(size))
    tasks = [_task(i, rng) for i in range(n_tasks)]
    simulations = _simulations(tasks, rng)
    doc = {"timestamp": _iso(T0 + timedelta(seconds=0.2)), "info": _info(seed), "tasks": tasks}
    if layout == "json":
        path = base / FILE_NAME
        doc["simulations"] = simulations
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path
    run_dir = base / DIR_NAME
    sims_dir = run_dir / "simulations"
    sims_dir.mkdir(parents=True, exist_ok=True)
    doc["simulation_index"] = [
        {"id": s["id"], "task_id": s["task_id"], "trial": s["trial"],
         "reward": (s["reward_info"] or {}).get("reward"), "termination_reason": s["termination_reason"],
         "agent_cost": s["agent_cost"], "duration": s["duration"]} for s in simulations]
    (run_dir / "results.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    for sim in simulations:
        (sims_dir / f"{sim['id']}.json").write_text(json.dumps(sim, indent=2, ensure_ascii=False) + "\n",
                                                    encoding="utf-8")
    return run_dir


def scenario(task_index: int) -> str:
    """The scenario of task ``task_index`` (see SCENARIOS)."""
    return SCENARIOS[task_index % len(SCENARIOS)]


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="microseconds")


def _info(seed: int) -> dict:
    return {
        "git_commit": "d003d75e910bf45fc765ce11e2746b958bf8e242",
        "num_trials": TRIALS, "max_steps": 30, "max_errors": 3,
        "user_info": {"implementation": "user_simulator", "llm": USER_MODEL,
                      "llm_args": {"temperature": 0.0}, "global_simulation_guidelines": "# User Simulation Guidelines\n..."},
        "agent_info": {"implementation": "llm_agent", "llm": AGENT_MODEL, "llm_args": {"temperature": 0.0}},
        "environment_info": {"domain_name": "airline", "policy": "# Airline Agent Policy\n...", "tool_defs": None},
        "seed": seed,
    }


def _task(i: int, rng: random.Random) -> dict:
    kind = scenario(i)
    user = USERS[i % len(USERS)]
    reservation = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
    return {
        "id": str(i),
        "description": {"purpose": f"demo task {i}: {kind}", "notes": None},
        "user_scenario": {"persona": None, "instructions": {
            "domain": "airline", "reason_for_call": f"Change reservation {reservation}",
            "known_info": f"user id {user}", "task_instructions": "Be brief."}},
        "initial_state": None,
        "evaluation_criteria": {
            "actions": [{"action_id": f"{i}_0", "requestor": "assistant", "name": "get_reservation_details",
                         "arguments": {"reservation_id": reservation}},
                        {"action_id": f"{i}_1", "requestor": "assistant", "name": "update_reservation_baggages",
                         "arguments": {"reservation_id": reservation, "total_baggages": 2,
                                       "nonfree_baggages": 0, "payment_id": "gift_card_8190333"}}],
            "env_assertions": [{"env_type": "assistant", "func_name": "assert_baggage_count",
                                "arguments": {"reservation_id": reservation, "expected": 2}}],
            "communicate_info": ["2"],
            "nl_assertions": ["Agent confirms the new baggage count before updating."],
            "reward_basis": BASIS.get(kind, ["DB", "COMMUNICATE"]),
        },
        "_reservation": reservation, "_user": user,
    }


def _simulations(tasks: list[dict], rng: random.Random) -> list[dict]:
    sims = []
    lanes = [T0 + timedelta(seconds=1 + k * 0.7) for k in range(CONCURRENCY)]
    for trial in range(TRIALS):
        for i, task in enumerate(tasks):
            lane = min(range(CONCURRENCY), key=lambda k: lanes[k])
            sim = _simulation(i, task, trial, lanes[lane], rng)
            lanes[lane] = datetime.fromisoformat(sim["end_time"]) + timedelta(milliseconds=rng.randint(20, 90))
            sims.append(sim)
    for task in tasks:  # private helpers, not part of tau2's Task
        task.pop("_reservation")
        task.pop("_user")
    return sims


class _Conversation:
    """Builds one simulation's messages with a running clock."""

    def __init__(self, start: datetime, rng: random.Random, priced_user: bool):
        self.now = start
        self.rng = rng
        self.priced_user = priced_user
        self.messages: list[dict] = []
        self.agent_cost = 0.0
        self.user_cost = 0.0
        self.prompt = 3900
        self.calls = 0

    def _add(self, message: dict) -> dict:
        message["turn_idx"] = len(self.messages)
        message["timestamp"] = _iso(self.now)
        self.messages.append(message)
        return message

    def greeting(self) -> None:
        self.now += timedelta(milliseconds=self.rng.randint(40, 120))
        self._add({"role": "assistant", "content": "Hi! How can I help you today?", "tool_calls": None,
                   "cost": 0.0, "usage": None, "raw_data": None})

    def user(self, content: str | None, tool_calls: list | None = None) -> None:
        self.now += timedelta(milliseconds=self.rng.randint(900, 4000))
        usage = {"completion_tokens": self.rng.randint(10, 60), "prompt_tokens": 400 + 60 * len(self.messages)}
        cost = None
        if self.priced_user:
            cost = round(usage["prompt_tokens"] * 0.1e-6 + usage["completion_tokens"] * 0.4e-6, 8)
            self.user_cost += cost
        self._add({"role": "user", "content": content, "tool_calls": tool_calls, "cost": cost,
                   "usage": usage if self.priced_user else None, "raw_data": None})

    def agent(self, content: str | None, tool_calls: list | None = None) -> None:
        self.now += timedelta(milliseconds=self.rng.randint(1200, 8000))
        self.prompt += self.rng.randint(60, 250)
        usage = {"completion_tokens": self.rng.randint(15, 200), "prompt_tokens": self.prompt}
        cost = round(usage["prompt_tokens"] * 0.4e-6 + usage["completion_tokens"] * 1.6e-6, 8)
        self.agent_cost += cost
        self._add({"role": "assistant", "content": content, "tool_calls": tool_calls, "cost": cost,
                   "usage": usage, "raw_data": None})

    def call(self, name: str, arguments: dict, result: str, *, error: bool = False,
             requestor: str = "assistant", content: str | None = None) -> None:
        """A tool call by the agent (or the user) and its result."""
        self.calls += 1
        call_id = f"call_{self.rng.randint(0, 99999999):08d}"
        tool_call = [{"id": call_id, "name": name, "arguments": arguments, "requestor": requestor}]
        if requestor == "user":
            self.user(content, tool_call)
        else:
            self.agent(content or "", tool_call)
        self.now += timedelta(microseconds=self.rng.randint(120, 40000))
        self._add({"id": call_id, "role": "tool", "content": result, "requestor": requestor,
                   "error": error})


def _simulation(i: int, task: dict, trial: int, start: datetime, rng: random.Random) -> dict:
    kind = scenario(i)
    fails = trial == FAILING_TRIAL and kind in (
        "db_check", "action_checks", "nl_assertions", "communicate_checks", "env_assertions")
    conv = _Conversation(start, rng, priced_user=kind != "unpriced_user")
    res, user = task["_reservation"], task["_user"]
    origin, dest = CITIES[i % len(CITIES)]
    conv.greeting()
    opening = f"Hi, I need to add bags to my reservation {res}. My user id is {user}."
    if kind == "hostile" and trial == 0:
        opening += f"\n{HOSTILE_SNIPPETS[0]}\n{HOSTILE_SNIPPETS[4]}"
    conv.user(opening)
    details = json.dumps({"reservation_id": res, "user_id": user, "origin": origin, "destination": dest,
                          "flight_type": "one_way", "cabin": "economy", "total_baggages": 0,
                          "passengers": [{"first_name": "Omar", "last_name": "Rossi", "dob": "1970-06-06"}]})
    termination = "user_stop"
    if kind == "too_many_errors" and trial == 0:
        for _ in range(3):  # max_errors=3 identical failing calls end the simulation
            conv.call("get_reservation_details", {"reservation_id": res.lower()},
                      f"Error: Reservation {res.lower()} not found", error=True)
        termination = "too_many_errors"
    else:
        conv.call("get_reservation_details", {"reservation_id": res}, details)
        if kind == "retried_call":  # the same call again, identical arguments
            conv.call("get_reservation_details", {"reservation_id": res}, details)
        if kind == "tool_error_recovered":
            conv.call("update_reservation_baggages", {"reservation_id": res, "total_baggages": "two"},
                      "Error: total_baggages must be an integer", error=True)
        if kind == "hostile":
            conv.call("get_user_details", {"user_id": user},
                      json.dumps({"user_id": user, "name": {"first_name": HOSTILE_SNIPPETS[1]},
                                  "membership": HOSTILE_SNIPPETS[3]}))
        conv.agent(f"I found reservation **{res}** ({origin} -> {dest}).\n\n"
                   "| item | value |\n|---|---|\n| bags | 0 |\n\n"
                   "Shall I add **2** checked bags, paid with your gift card? Please confirm (yes).")
        if kind == "max_steps" and trial == 2:
            for step in range(4):
                conv.user("Wait, which gift card? Can you list all my payment methods again?")
                conv.call("get_user_details", {"user_id": user}, json.dumps({"payment_methods": ["gift_card_8190333"]}))
                conv.agent(f"Your payment methods: gift_card_8190333 (attempt {step + 1}).")
            termination = "max_steps"
        else:
            conv.user("Yes, please go ahead." if kind != "hostile" else f"Yes. {HOSTILE_SNIPPETS[2]}")
            bags = 3 if (fails and kind in ("db_check", "action_checks", "env_assertions")) else 2
            conv.call("update_reservation_baggages",
                      {"reservation_id": res, "total_baggages": bags, "nonfree_baggages": 0,
                       "payment_id": "gift_card_8190333"},
                      json.dumps({"reservation_id": res, "total_baggages": bags}))
            said = "Done." if (fails and kind == "communicate_checks") else f"Done: you now have {bags} checked bags."
            conv.agent(said)
            conv.user("Thanks, that's all. ###STOP###")
    reward_info = _reward_info(kind, fails, termination, task)
    end = conv.now + timedelta(microseconds=rng.randint(50, 400))
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "task_id": task["id"],
        "timestamp": _iso(end),
        "start_time": _iso(start),
        "end_time": _iso(end),
        "duration": (end - start).total_seconds(),
        "termination_reason": termination,
        "agent_cost": round(conv.agent_cost, 8),
        "user_cost": round(conv.user_cost, 8) if kind != "unpriced_user" else None,
        "reward_info": reward_info,
        "messages": conv.messages,
        "trial": trial,
        "seed": rng.randint(0, 10000),
    }


def _reward_info(kind: str, fails: bool, termination: str, task: dict) -> dict:
    criteria = task["evaluation_criteria"]
    basis = criteria["reward_basis"]
    broken = termination != "user_stop"
    bad = {kind} if fails else set()
    if broken:
        bad = {"db_check", "action_checks"}
    actions = [{"action": a, "action_match": not ("action_checks" in bad and a["name"].startswith("update")),
                "action_reward": 0.0 if ("action_checks" in bad and a["name"].startswith("update")) else 1.0}
               for a in criteria["actions"]]
    checks = {
        "db_check": {"db_match": "db_check" not in bad, "db_reward": 0.0 if "db_check" in bad else 1.0},
        "env_assertions": [{"env_assertion": criteria["env_assertions"][0], "met": "env_assertions" not in bad,
                            "reward": 0.0 if "env_assertions" in bad else 1.0}],
        "action_checks": actions,
        "nl_assertions": [{"nl_assertion": criteria["nl_assertions"][0], "met": "nl_assertions" not in bad,
                           "justification": "checked against the transcript"}],
        "communicate_checks": [{"info": "2", "met": "communicate_checks" not in bad,
                                "justification": "Information '2' " + ("not " if "communicate_checks" in bad else "")
                                + "communicated."}],
    }
    type_of = {"db_check": "DB", "action_checks": "ACTION", "nl_assertions": "NL_ASSERTION",
               "communicate_checks": "COMMUNICATE", "env_assertions": "ENV_ASSERTION"}
    breakdown = {t: (0.0 if key in bad else 1.0) for key, t in type_of.items() if t in basis}
    reward = 0.0 if any(v < 1 for v in breakdown.values()) or broken else 1.0
    return {"reward": reward, **checks, "reward_basis": basis, "reward_breakdown": breakdown,
            "info": {"env": None, "nl": None, "communicate": None, "action": None}}
