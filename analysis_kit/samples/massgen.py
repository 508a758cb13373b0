"""A sample MassGen run in the newer layout: ``log_<ts>/turn_1/attempt_{1,2}/``.

attempt_1 is an orchestration that was restarted after round 0 (one answer, no winner);
attempt_2 is the real run. Three agents (``agent_a``, ``agent_b``, ``agent_c``) work for
``2 + size`` rounds:

- round 0: every agent answers (``agent1.1``, ``agent2.1``, ``agent3.1``);
- middle rounds: ``agent_b`` and ``agent_c`` answer again; ``agent_a`` is restarted by
  ``agent_b``'s new answer (restart_triggered / restart_completed);
- last round: ``agent_a`` and ``agent_b`` vote for ``agent_b``; ``agent_c`` times out.

So ``3 + 2 * size`` answers, 2 votes, winner ``agent_b``, whatever the seed. Tool
executions overlap and nest inside rounds, some fail, and the middle rounds call
``submit_checklist`` then ``propose_improvements`` (the last round only ``submit_checklist``),
so the evaluation / checklist-to-propose / implementation split can be computed.
``agent_c`` runs a local model with no price (its ``estimated_cost`` is null), ``agent_a``
has enforcement retries with lost buffer and an unknown tool. Answers carry markdown, HTML
and the hostile snippets of :mod:`analysis_kit.samples`.

>>> from analysis_kit.samples import massgen               # doctest: +SKIP
>>> massgen.write("/tmp/s", seed=7, size=1).name              # doctest: +SKIP
'log_20251103_143022'
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from . import HOSTILE_SNIPPETS

AGENTS = ("agent_a", "agent_b", "agent_c")
MODELS = {"agent_a": ("openai", "gpt-5-mini"), "agent_b": ("claude", "claude-sonnet-4"),
          "agent_c": ("lmstudio", "qwen3-8b-local")}
PRICE_PER_MTOK = {"agent_a": (0.25, 2.0), "agent_b": (3.0, 15.0), "agent_c": None}  # unpriced
QUESTION = "Create a **one-page** website about Bob Dylan (HTML + CSS, no frameworks)"
BASE_TIME = datetime(2025, 11, 3, 14, 30, 22, tzinfo=timezone.utc)
WINNER = "agent_b"
TIMEOUT_AGENT = "agent_c"

# (tool, start, end) as fractions of the round; read_file/search overlap, the MCP call nests
# inside write_file. Middle rounds run all of them; round 0 skips the checklist tools; the
# voting round only reads and submits a checklist.
MIDDLE_TOOLS = (("read_file", 0.05, 0.15), ("web_search", 0.10, 0.25),
                ("submit_checklist", 0.30, 0.33), ("propose_improvements", 0.40, 0.45),
                ("write_file", 0.50, 0.70), ("mcp__filesystem__write_file", 0.55, 0.60),
                ("run_tests", 0.75, 0.90))
FIRST_TOOLS = (("read_file", 0.05, 0.20), ("web_search", 0.10, 0.30),
               ("write_file", 0.40, 0.70), ("mcp__filesystem__write_file", 0.45, 0.55))
VOTE_TOOLS = (("read_file", 0.05, 0.30), ("submit_checklist", 0.40, 0.50))
# The arguments each tool is called with (the traces hold them; metrics do not): run_tests
# runs a command, so the command-pattern analyses have commands to read.
TOOL_ARGS = {
    "read_file": lambda a: {"path": "index.html"},
    "web_search": lambda a: {"query": "Bob Dylan discography"},
    "submit_checklist": lambda a: {"items": ["E1", "E2"]},
    "propose_improvements": lambda a: {"plan": "add the albums table"},
    "write_file": lambda a: {"path": "index.html", "content": "<html>...</html>"},
    "mcp__filesystem__write_file": lambda a: {"path": f"/tmp/massgen/workspace_{AGENTS.index(a) + 10:08x}/index.html"},
    "run_tests": lambda a: {"command": f"npm test --prefix /tmp/massgen/workspace_{AGENTS.index(a) + 10:08x}"},
}
TOOL_RESULTS = {"run_tests": {"success": True, "exit_code": 0, "stdout": "3 passing\n" * 20, "stderr": "",
                              "execution_time": 4.2},
                "read_file": {"content": "<html><body><h1>Bob Dylan</h1></body></html>"}}
RESTART_REASON = "The page has no discography; restart with the albums table as a requirement"


def write(directory: str | Path, *, seed: int = 7, size: int = 1) -> Path:
    """Write the sample under ``directory`` and return the ``log_<ts>`` directory.

    >>> write("/tmp/massgen_sample", seed=1).name                 # doctest: +SKIP
    'log_20251103_143022'
    """
    rng = random.Random(seed)
    size = max(1, int(size))
    start = BASE_TIME + timedelta(seconds=rng.randint(0, 3600))
    log_dir = Path(directory) / f"log_{start:%Y%m%d_%H%M%S}"
    first = _Attempt(rng, start, n_rounds=1, aborted=True, size=size)
    first.write(log_dir / "turn_1" / "attempt_1")
    second = _Attempt(rng, first.end + timedelta(seconds=5), n_rounds=2 + size, aborted=False,
                      size=size, restart_of=True)
    second.write(log_dir / "turn_1" / "attempt_2")
    return log_dir


def write_flat(directory: str | Path, *, seed: int = 7, size: int = 1) -> Path:
    """The same run in the older flat layout (MassGen up to 0.1.1): the files straight in
    ``log_<ts>/``, and no status.json or metrics files, so tool calls are only in the traces.

    >>> write_flat("/tmp/massgen_flat").name                      # doctest: +SKIP
    'log_20251103_143022'
    """
    rng = random.Random(seed)
    start = BASE_TIME + timedelta(seconds=rng.randint(0, 3600))
    log_dir = Path(directory) / f"log_{start:%Y%m%d_%H%M%S}"
    _Attempt(rng, start, n_rounds=2 + max(1, int(size)), aborted=False, size=max(1, int(size))).write(log_dir)
    for name in ("status.json", "metrics_summary.json", "metrics_events.json"):
        (log_dir / name).unlink()
    return log_dir


def _epoch(t: datetime) -> float:
    return round(t.timestamp(), 6)


def _folder(t: datetime) -> str:
    return t.strftime("%Y%m%d_%H%M%S_%f")


def _answer_text(rng: random.Random, agent: str, label: str, round_number: int) -> str:
    snippet = HOSTILE_SNIPPETS[rng.randrange(len(HOSTILE_SNIPPETS))]
    return (f"# Bob Dylan ({label})\n\n"
            f"Round {round_number} answer by `{agent}`. **Highlights**: _Blowin' in the Wind_, "
            f"*Like a Rolling Stone*.\n\n"
            "| year | album |\n|---|---|\n| 1963 | The Freewheelin' |\n| 1965 | Highway 61 |\n\n"
            "```html\n<!DOCTYPE html>\n<html><head><title>Dylan</title></head>\n"
            "<body><h1>Bob Dylan</h1><p onclick=\"alert(1)\">Nobel 2016</p></body></html>\n```\n\n"
            f"{snippet}\n\n<script>document.title='{label}'</script>\n"
            "<img src=x onerror=\"window.__ak_pwned=3\">\n")


class _Attempt:
    """One attempt directory: the timeline is built first, then every file is written from it."""

    def __init__(self, rng: random.Random, start: datetime, *, n_rounds: int, aborted: bool, size: int,
                 restart_of: bool = False):
        self.rng, self.start, self.n_rounds, self.aborted, self.size = rng, start, n_rounds, aborted, size
        self.restart_of = restart_of
        self.events: list[dict] = []
        self.rounds: dict[str, list[dict]] = {a: [] for a in AGENTS}
        self.tools: list[dict] = []
        self.tool_args: list[tuple] = []  # (agent, round, start, tool, arguments, error) for the traces
        self.snapshots: list[tuple[str, datetime, str, dict | str]] = []
        self.answer_counts = {a: 0 for a in AGENTS}
        self.latest_label: dict[str, str | None] = {a: None for a in AGENTS}
        self.votes: dict[str, tuple[str, str, str, datetime]] = {}
        self.restarts = {a: 0 for a in AGENTS}
        self.end = start
        self._build()

    # -- timeline
    def _event(self, t: datetime, etype: str, agent: str | None, details: str, **context) -> None:
        self.events.append({"timestamp": _epoch(t), "event_type": etype, "agent_id": agent,
                            "details": details, "context": context})

    def _build(self) -> None:
        self._event(self.start, "session_start", None, f"Started with agents: {list(AGENTS)}",
                    iteration=0, round=0)
        clock = {a: self.start + timedelta(seconds=0.05 * (i + 1)) for i, a in enumerate(AGENTS)}
        for r in range(self.n_rounds):
            last = r == self.n_rounds - 1 and not self.aborted
            for agent in AGENTS:
                clock[agent] = self._round(agent, r, clock[agent], last)
        self.end = max(clock.values()) + timedelta(seconds=2)
        if self.aborted:
            return
        t = self.end
        self._event(t, "final_agent_selected", WINNER, "Selected as final presenter",
                    round=self.n_rounds)
        self._event(t + timedelta(seconds=8), "final_answer", WINNER,
                    f"Presented final answer {self.latest_label[WINNER].split('.')[0]}.final",
                    label=f"{self.latest_label[WINNER].split('.')[0]}.final", round=self.n_rounds)
        self.end = t + timedelta(seconds=9)
        self._event(self.end, "session_end", None, "Session completed", round=self.n_rounds)

    def _round(self, agent: str, r: int, t0: datetime, last: bool) -> datetime:
        rng = self.rng
        duration = rng.uniform(20, 60) * (1 + 0.2 * self.size)
        t_end = t0 + timedelta(seconds=duration)
        self._event(t0, "status_change", agent, "Changed to status: streaming", round=r)
        if last:
            plan = VOTE_TOOLS
        elif r == 0:
            plan = FIRST_TOOLS
        else:
            plan = MIDDLE_TOOLS
        if self.aborted and agent != "agent_a":
            outcome = "interrupted"  # the orchestration restarted before they answered
        elif last and agent == TIMEOUT_AGENT:
            outcome = "timeout"
        elif last:
            outcome = "vote"
        elif r > 0 and agent == "agent_a":
            outcome = "restarted"
        else:
            outcome = "answer"
        self._tools(agent, r, t0, duration, plan, outcome)
        if outcome == "answer":
            self._answer(agent, r, t_end)
        elif outcome == "vote":
            self._vote(agent, r, t_end)
        elif outcome == "restarted":
            self.restarts[agent] += 1
            self._event(t_end, "restart_completed", agent, f"Completed restart - now in round {r + 1}",
                        agent_round=r + 1, round=r + 1)
        elif outcome == "timeout":
            self._event(t_end, "status_change", agent, "Changed to status: timeout", round=r)
        tokens_in = rng.randint(8_000, 40_000) * self.size
        tokens_out = rng.randint(800, 4_000)
        cached = tokens_in // 4
        price = PRICE_PER_MTOK[agent]
        cost = None if price is None else round((tokens_in * price[0] + tokens_out * price[1]) / 1e6, 6)
        self.rounds[agent].append({
            "round_number": r, "round_type": "voting" if last else ("initial_answer" if r == 0 else "answer"),
            "start_time": _epoch(t0), "end_time": _epoch(t_end), "duration_ms": round(duration * 1000, 3),
            "outcome": outcome, "input_tokens": tokens_in, "output_tokens": tokens_out,
            "reasoning_tokens": tokens_out // 3, "cached_input_tokens": cached, "estimated_cost": cost,
            "num_context_answers": sum(1 for n in self.answer_counts.values() if n),
        })
        return t_end + timedelta(seconds=0.5)

    def _tools(self, agent: str, r: int, t0: datetime, duration: float, plan, outcome: str) -> None:
        extra = [("read_file", 0.16 + 0.01 * k, 0.18 + 0.01 * k) for k in range(self.size - 1)]
        for name, a, b in list(plan) + extra:
            jitter = self.rng.uniform(-0.01, 0.01)
            start = t0 + timedelta(seconds=duration * (a + jitter))
            end = t0 + timedelta(seconds=duration * (b + jitter))
            fails = (name == "run_tests" and agent == "agent_c") or (name == "web_search" and r == 0 and agent == "agent_b")
            error = None
            if fails:
                error = "rate limited (HTTP 429)" if name == "web_search" else "2 tests failed: <h1> missing"
            self.tool_args.append((agent, r, _epoch(start), name, TOOL_ARGS[name](agent), error))
            self.tools.append({
                "tool_name": name, "agent_id": agent, "round_number": r,
                "start_time": _epoch(start), "end_time": _epoch(end),
                "execution_time_ms": round((end - start).total_seconds() * 1000, 3),
                "success": not fails, "error_message": error,
                "arguments_preview": "{\"path\": \"index.html\"}" if "file" in name else None,
            })

    def _answer(self, agent: str, r: int, t: datetime) -> None:
        self.answer_counts[agent] += 1
        label = f"agent{AGENTS.index(agent) + 1}.{self.answer_counts[agent]}"
        self.latest_label[agent] = label
        self._event(t, "new_answer", agent, f"Provided answer {label}", label=label, round=r)
        self.snapshots.append((agent, t, "answer", _answer_text(self.rng, agent, label, r)))
        if r > 0 and agent == "agent_b":
            self._event(t + timedelta(milliseconds=1), "restart_triggered", agent,
                        "Triggered restart affecting 3 agents", affected_agents=list(AGENTS),
                        triggering_agent=agent, round=r)
        self._event(t + timedelta(milliseconds=2), "status_change", agent, "Changed to status: answered",
                    round=r)

    def _vote(self, agent: str, r: int, t: datetime) -> None:
        label = self.latest_label[WINNER]
        reason = (f"{WINNER}'s page is the most complete; it renders **markdown** tables. "
                  f"{HOSTILE_SNIPPETS[0]}")
        self.votes[agent] = (WINNER, label, reason, t)
        self._event(t, "vote_cast", agent, f"Voted for {label}", voted_for=WINNER,
                    voted_for_label=label, reason=reason, round=r)
        self._event(t + timedelta(milliseconds=2), "status_change", agent, "Changed to status: voted", round=r)
        self.snapshots.append((agent, t, "vote", {
            "voter_id": agent, "voter_anon_id": f"agent{AGENTS.index(agent) + 1}",
            "voted_for": WINNER, "voted_for_label": label, "reason": reason,
            "timestamp": _folder(t), "unix_timestamp": _epoch(t), "coordination_round": r,
            "available_options": list(AGENTS),
        }))

    # -- files
    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.events.sort(key=lambda e: e["timestamp"])
        winner = None if self.aborted else WINNER
        _dump(folder / "coordination_events.json", {
            "session_metadata": {"user_prompt": QUESTION, "agent_ids": list(AGENTS),
                                 "start_time": _epoch(self.start), "end_time": _epoch(self.end),
                                 "final_winner": winner},
            "events": self.events})
        for agent, t, kind, payload in self.snapshots:
            snap = folder / agent / _folder(t)
            snap.mkdir(parents=True, exist_ok=True)
            if kind == "answer":
                (snap / "answer.txt").write_text(payload, encoding="utf-8")
            else:
                _dump(snap / "vote.json", payload)
            (snap / "execution_trace.md").write_text(self._trace(agent, t, kind, payload), encoding="utf-8")
            (snap / "context.txt").write_text(json.dumps({
                "system_message": "You are evaluating answers from multiple agents.",
                "user_message": f"<ORIGINAL MESSAGE> {QUESTION} <END OF ORIGINAL MESSAGE>"}, indent=2),
                encoding="utf-8")
        _dump(folder / "status.json", self._status(winner))
        _dump(folder / "metrics_summary.json", self._summary(winner))
        _dump(folder / "metrics_events.json", {
            "tool_executions": sorted(self.tools, key=lambda x: x["start_time"]),
            "round_completions": [dict(r, agent_id=a) for a in AGENTS for r in self.rounds[a]]})
        cli_args = {"mode": "coordination_restart", "attempt": 2, "restart_reason": RESTART_REASON} \
            if self.restart_of else {"mode": "multi-agent"}
        (folder / "execution_metadata.yaml").write_text(yaml.safe_dump({
            "query": QUESTION, "timestamp": self.start.replace(tzinfo=None).isoformat(), "cli_args": cli_args,
            "config_path": "@examples/basic/multi/three_agents_default",
            "config": {"agents": [{"id": a, "backend": {"type": MODELS[a][0], "model": MODELS[a][1]}}
                                  for a in AGENTS],
                       "orchestrator": {"max_duration": 600, "agent_timeout": 180}},
            "massgen_version": "0.1.30"}, sort_keys=False), encoding="utf-8")
        if not self.aborted:
            final = folder / "final" / WINNER
            final.mkdir(parents=True, exist_ok=True)
            (final / "answer.txt").write_text(
                _answer_text(self.rng, WINNER, "final", self.n_rounds), encoding="utf-8")

    def _status(self, winner: str | None) -> dict:
        agents = {}
        for a in AGENTS:
            vote = self.votes.get(a)
            status = "voted" if vote else ("timeout" if a == TIMEOUT_AGENT and not self.aborted else "answered")
            if self.aborted:
                status = "answered" if self.answer_counts[a] else "streaming"
            entry = {"status": status, "answer_count": self.answer_counts[a],
                     "latest_answer_label": self.latest_label[a],
                     "vote_cast": None if not vote else {"voted_for_agent": vote[0], "voted_for_label": vote[1],
                                                         "reason_preview": vote[2][:100]},
                     "times_restarted": self.restarts[a],
                     "last_activity": _epoch(self.end),
                     "error": None, "reliability": None}
            if a == TIMEOUT_AGENT and not self.aborted:
                entry["error"] = {"type": "timeout", "message": "Agent timeout after 180s",
                                  "timestamp": _epoch(self.end)}
            if a == "agent_a" and not self.aborted:
                entry["reliability"] = {
                    "enforcement_attempts": [
                        {"round": 1, "attempt": 1, "max_attempts": 3, "reason": "unknown_tool",
                         "tool_calls": ["execute_command"], "error_message": None,
                         "buffer_preview": "[Reasoning] I should run the build <script>x</script>",
                         "buffer_chars": 1500, "timestamp": _epoch(self.start) + 60},
                        {"round": 1, "attempt": 2, "max_attempts": 3, "reason": "no_workflow_tool",
                         "tool_calls": ["read_file"], "error_message": "Must use workflow tools",
                         "buffer_preview": "Let me look again...", "buffer_chars": 800,
                         "timestamp": _epoch(self.start) + 75}],
                    "by_round": {"1": {"count": 2, "reasons": ["unknown_tool", "no_workflow_tool"]}},
                    "unknown_tools": ["execute_command"], "workflow_errors": [],
                    "total_enforcement_retries": 2, "total_buffer_chars_lost": 2300, "outcome": "ok"}
            agents[a] = entry
        votes: dict[str, int] = {}
        for a in AGENTS:
            if self.latest_label[a]:
                votes[self.latest_label[a]] = sum(1 for v in self.votes.values() if v[1] == self.latest_label[a])
        priced = [r["estimated_cost"] for a in AGENTS for r in self.rounds[a] if r["estimated_cost"] is not None]
        return {
            "meta": {"last_updated": _epoch(self.end), "session_id": "sample", "question": QUESTION,
                     "start_time": _epoch(self.start),
                     "elapsed_seconds": round((self.end - self.start).total_seconds(), 3)},
            "costs": {"total_estimated_cost": round(sum(priced), 6),
                      "by_agent": {a: self._agent_cost(a) for a in AGENTS}},
            "tools": {"total_calls": len(self.tools),
                      "total_failures": sum(1 for t in self.tools if not t["success"])},
            "coordination": {"phase": "initial_answer" if self.aborted else "presentation",
                             "active_agent": None, "completion_percentage": 20 if self.aborted else 100,
                             "is_final_presentation": not self.aborted},
            "agents": agents,
            "results": {"votes": votes, "winner": winner,
                        "final_answer_preview": None if winner is None else "# Bob Dylan (final) <script>"},
        }

    def _agent_cost(self, agent: str) -> float | None:
        costs = [r["estimated_cost"] for r in self.rounds[agent]]
        return None if any(c is None for c in costs) else round(sum(costs), 6)

    def _summary(self, winner: str | None) -> dict:
        agents = {}
        for a in AGENTS:
            rh = self.rounds[a]
            agents[a] = {"round_history": rh, "token_usage": {
                "input_tokens": sum(r["input_tokens"] for r in rh),
                "output_tokens": sum(r["output_tokens"] for r in rh),
                "reasoning_tokens": sum(r["reasoning_tokens"] for r in rh),
                "cached_input_tokens": sum(r["cached_input_tokens"] for r in rh),
                "estimated_cost": self._agent_cost(a)}}
        by_tool: dict[str, dict] = {}
        for t in self.tools:
            d = by_tool.setdefault(t["tool_name"], {"call_count": 0, "total_execution_time_ms": 0.0,
                                                    "failure_count": 0})
            d["call_count"] += 1
            d["total_execution_time_ms"] = round(d["total_execution_time_ms"] + t["execution_time_ms"], 3)
            d["failure_count"] += 0 if t["success"] else 1
        for d in by_tool.values():
            d["avg_execution_time_ms"] = round(d["total_execution_time_ms"] / d["call_count"], 3)
        outcomes: dict[str, int] = {}
        for a in AGENTS:
            for r in self.rounds[a]:
                outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
        priced = [agents[a]["token_usage"]["estimated_cost"] for a in AGENTS
                  if agents[a]["token_usage"]["estimated_cost"] is not None]
        return {
            "meta": {"question": QUESTION, "winner": winner, "num_agents": len(AGENTS)},
            "totals": {k: sum(agents[a]["token_usage"][k] for a in AGENTS)
                       for k in ("input_tokens", "output_tokens", "reasoning_tokens", "cached_input_tokens")}
            | {"estimated_cost": round(sum(priced), 6)},
            "tools": {"by_tool": by_tool},
            "rounds": {"total_rounds": sum(outcomes.values()), "by_outcome": outcomes},
            "api_timing": {"total_calls": sum(outcomes.values()) * 2,
                           "avg_ttft_ms": round(self.rng.uniform(300, 900), 1)},
            "agents": agents,
        }

    def _trace(self, agent: str, t: datetime, kind: str, payload) -> str:
        """The snapshot's execution_trace.md, as MassGen's ExecutionTraceWriter writes it: the
        agent's tool calls of the round that ended here, their results, the answer or vote."""
        r = max((c[1] for c in self.tool_args if c[0] == agent and c[2] <= _epoch(t)), default=0)
        calls = [c for c in self.tool_args if c[0] == agent and c[1] == r and c[2] <= _epoch(t)]
        started = (t - timedelta(seconds=60)).strftime("%Y-%m-%d %H:%M:%S")
        lines = [f"# Execution Trace: {agent}", f"**Model**: {MODELS[agent][1]} | **Started**: {started}", "",
                 "### Reasoning", f"I will look at the page first. {HOSTILE_SNIPPETS[1]}", ""]
        calls = sorted(calls, key=lambda c: c[2])
        for _, _, _, tool, args, error in calls:  # the round's tools overlap: all calls, then results
            lines += [f"### Tool Call: {tool}", "**Args**:", "```json", json.dumps(args, indent=2), "```", ""]
        for _, _, _, tool, args, error in calls:
            result = error or json.dumps(TOOL_RESULTS.get(tool, {"ok": True}) | {"command": args.get("command")}
                                         if "command" in args else TOOL_RESULTS.get(tool, {"ok": True}))
            lines += [f"### Tool {'Error' if error else 'Result'}: {tool}", "```", result, "```", ""]
        if kind == "answer":
            lines += ["### Tool Call: new_answer", "**Args**:", "```json", json.dumps({"content": payload}, indent=2), "```", ""]
        else:
            lines += ["### Tool Call: vote", "**Args**:", "```json",
                      json.dumps({"agent_id": payload["voted_for"], "reason": payload["reason"]}, indent=2), "```", "",
                      f"### Vote Cast: {payload['voted_for_label']}",
                      f"**Available options**: {', '.join(payload['available_options'])}",
                      f"**Voted for**: {payload['voted_for_label']}", f"**Reason**: {payload['reason']}", ""]
        errors = [c for c in calls if c[5]]
        if errors:
            lines += ["---", "", "## Errors", ""] + [
                f"- [{datetime.fromtimestamp(c[2], timezone.utc):%H:%M:%S}] **Tool Error: {c[3]}** - {c[5]}" for c in errors] + [""]
        return "\n".join(lines)


def _dump(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
