"""A generated MASEval run: the folder ``FileResultLogger`` writes, in the shape MASEval 0.5.1
itself writes it (checked against files its own classes wrote: ``tests/writers/maseval_run.py``).

``benchmark_<YYYYMMDD_HHMMSS>.jsonl``: one report per task repeat, ``task_id, repeat_idx, status,
error, traces, config, eval, usage, task``. ``traces`` = ``{metadata, agents, models, tools,
simulators, callbacks, environment, user, other}``: the agents' ``MessageHistory`` messages,
each model's call log (``timestamp`` = start, ``duration_seconds``, ``status``; no per-call
usage: MASEval keeps it only in the per-component sums of ``usage``), and the environment's
tools with their ``ToolInvocationHistory`` (``traces.environment.tools.<name>.invocations``;
this sample's tools stamp the call's start and put its duration in ``meta``). ``usage`` is per
registry category; the worker's model has no price, so MASEval writes its ``cost`` as 0.0.
Plus ``benchmark_<ts>.meta.json``.

Per block of ten tasks (x2 repeats): an orchestrator and a worker that delegate and call tools;
one ``unknown_execution_error`` (a model call raised), one ``evaluation_failed``, one
``task_timeout`` (caught before evaluation: traces and usage kept, no eval), one
``environment_error`` (a tool's backend failed); completed repeats are judged by an answer
evaluator whose score can be 0 (a failure although the run completed); some workers repeat an
identical tool call; messages carry HOSTILE_SNIPPETS and one multi-part content list.

>>> from analysis_kit.samples import maseval              # doctest: +SKIP
>>> maseval.write("/tmp/s/maseval", seed=7, size=1)        # doctest: +SKIP
PosixPath('/tmp/s/maseval')
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import HOSTILE_SNIPPETS

REPEATS = 2
TASKS_PER_SIZE = 10
PRICED_MODEL = "gpt-4o-mini"
UNPRICED_MODEL = "local/qwen2.5-7b-instruct"
PRICE_IN, PRICE_OUT = 0.15e-6, 0.60e-6  # USD per token
TIMEOUT_S = 60.0

# (task index within a block of ten, repeat) -> outcome; everything else is "success".
OUTCOMES = {
    (2, 0): "unknown_execution_error",
    (4, 1): "evaluation_failed",
    (6, 0): "task_timeout",
    (8, 1): "environment_error",
}
REPEATED_TOOL_TASKS = {1, 5}  # tasks (within a block) whose worker repeats an identical call


def write(directory: str | Path, *, seed: int = 7, size: int = 1) -> Path:
    """Write a MASEval results folder under ``directory`` and return the folder.

    Deterministic for ``seed``; ``size`` multiplies the number of tasks (10 per unit).
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    base = datetime(2025, 10, 28, 14, 30, 22) + timedelta(minutes=seed % 60)
    stamp = base.strftime("%Y%m%d_%H%M%S")
    for old in out.glob("benchmark_*"):
        old.unlink()  # one run per folder: a stale file from another seed would be loaded too
    n_tasks = TASKS_PER_SIZE * max(1, int(size))
    clock = base
    lines = []
    for t in range(n_tasks):
        for repeat in range(REPEATS):
            report, clock = _report(rng, t, repeat, clock)
            lines.append(json.dumps(report, default=str))
    result = out / f"benchmark_{stamp}.jsonl"
    result.write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = {"output_file": result.name, "timestamp": stamp, "n_tasks": n_tasks, "n_repeats": REPEATS,
            "total_iterations": n_tasks * REPEATS, "lines_written": len(lines), "include_traces": True,
            "include_config": True, "include_eval": True, "include_task": True, "include_usage": True,
            "validation_enabled": True}
    result.with_suffix(".meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return out


class _Clock:
    """Hands out naive ISO timestamps (as MASEval's datetime.now().isoformat())."""

    def __init__(self, start: datetime, rng: random.Random):
        self.now, self.rng = start, rng

    def tick(self, low: float = 0.05, high: float = 0.4) -> str:
        self.now += timedelta(seconds=round(self.rng.uniform(low, high), 3))
        return self.now.isoformat()


class _Model:
    """One model component: its call log and the usage MASEval sums for it."""

    def __init__(self, model_id: str, priced: bool):
        self.model_id, self.priced, self.logs = model_id, priced, []
        self.tokens = {"input_tokens": 0, "output_tokens": 0, "cached_input_tokens": 0}
        self.cost = 0.0

    def call(self, rng: random.Random, clock: _Clock, *, tool_calls: int = 0, error: str | None = None) -> None:
        start = clock.tick()
        duration = round(rng.uniform(0.4, 6.0), 3)
        clock.now += timedelta(seconds=duration)
        log: dict[str, Any] = {"timestamp": start, "message_count": rng.randint(2, 9)}
        if error:
            etype, _, text = error.partition(": ")
            log.update(duration_seconds=duration, status="error", error=text, error_type=etype)
        else:
            log.update(response_type="tool_call" if tool_calls else "text",
                       response_length=0 if tool_calls else rng.randint(40, 400), tool_calls_count=tool_calls,
                       duration_seconds=duration, status="success")
            tokens_in, tokens_out = rng.randint(300, 2500), rng.randint(20, 400)
            self.tokens["input_tokens"] += tokens_in
            self.tokens["output_tokens"] += tokens_out
            self.tokens["cached_input_tokens"] += rng.choice([0, 0, 256])
            if self.priced:
                self.cost += tokens_in * PRICE_IN + tokens_out * PRICE_OUT
        self.logs.append({**log, "generation_params": {"temperature": 0.0}, "tools_provided": 2, "kwargs": {}})

    def trace(self, name: str, gathered: str) -> dict:
        ok = sum(1 for c in self.logs if c["status"] == "success")
        total = sum(c["duration_seconds"] for c in self.logs)
        return {"type": "LiteLLMModelAdapter", "gathered_at": gathered, "model_id": self.model_id,
                "total_calls": len(self.logs), "successful_calls": ok, "failed_calls": len(self.logs) - ok,
                "total_duration_seconds": total, "average_duration_seconds": total / len(self.logs) if self.logs else 0,
                "logs": self.logs, "name": name}

    def usage(self, name: str) -> dict:
        total = self.tokens["input_tokens"] + self.tokens["output_tokens"]
        return {"cost": round(self.cost, 10), "units": {}, "provider": None, "category": "models",
                "component_name": name, "kind": "llm", **self.tokens, "total_tokens": total,
                "cache_creation_input_tokens": 0, "reasoning_tokens": 0, "audio_tokens": 0}


def _report(rng: random.Random, t: int, repeat: int, start: datetime) -> tuple[dict, datetime]:
    outcome = OUTCOMES.get((t % TASKS_PER_SIZE, repeat), "success")
    clock = _Clock(start, rng)
    task_id = f"task_{t:03d}"
    hostile = HOSTILE_SNIPPETS[t % len(HOSTILE_SNIPPETS)]
    query = f"Summarise the refund policy for order #{1000 + t}. Context: {hostile}"
    subtask = f"Look up the policy section for order #{1000 + t}"
    orch_model, work_model = _Model(PRICED_MODEL, priced=True), _Model(UNPRICED_MODEL, priced=False)
    tools: dict[str, list] = {"search_docs": [], "create_ticket": []}
    orchestrator = [_msg("system", "You are the orchestrator. Delegate lookups to the worker.", clock),
                    _msg("user", query, clock)]
    worker = [_msg("system", "You are a worker with search tools.", clock), _msg("user", subtask, clock)]

    orch_model.call(rng, clock, tool_calls=1)
    delegate_id = f"call_{t}_{repeat}_d"
    orchestrator.append(_tool_call_msg([(delegate_id, "delegate_to_worker", {"task": subtask})], clock))
    failed_tool = outcome == "environment_error"
    for i in range(2 if t % TASKS_PER_SIZE in REPEATED_TOOL_TASKS else 1):
        work_model.call(rng, clock, tool_calls=1)
        call_id = f"call_{t}_{repeat}_s{i}"
        args = {"query": f"refund policy order {1000 + t}", "top_k": 3}  # identical when repeated
        worker.append(_tool_call_msg([(call_id, "search_docs", args)], clock))
        output = ("[search_docs] docs index unreachable" if failed_tool
                  else f"Section 4.{t % 7}: refunds within 30 days. {HOSTILE_SNIPPETS[(t + i + 1) % len(HOSTILE_SNIPPETS)]}")
        tools["search_docs"].append(_invocation(rng, clock, args, output, "error" if failed_tool else "success"))
        if failed_tool:  # the EnvironmentError ends the repeat: no tool message follows
            break
        worker.append(_msg("tool", output, clock, tool_call_id=call_id, name="search_docs"))
    if not failed_tool:
        work_model.call(rng, clock)
        worker.append(_msg("assistant", [{"type": "text", "text": "Found it:"},
                                         {"type": "text", "text": "**refunds within 30 days**"}], clock))
        orchestrator.append(_msg("tool", "Worker: refunds within 30 days.", clock,
                                 tool_call_id=delegate_id, name="delegate_to_worker"))
        if outcome == "unknown_execution_error":
            orch_model.call(rng, clock, error="RateLimitError: 429 Too Many Requests")
        else:
            ticket_id = f"call_{t}_{repeat}_t"
            orch_model.call(rng, clock, tool_calls=1)
            orchestrator.append(_tool_call_msg([(ticket_id, "create_ticket", {"order": 1000 + t, "note": "refund ok"})],
                                               clock))
            tools["create_ticket"].append(_invocation(rng, clock, {"order": 1000 + t, "note": "refund ok"},
                                                      "ticket created", "success"))
            orchestrator.append(_msg("tool", "ticket created", clock, tool_call_id=ticket_id, name="create_ticket"))
            orch_model.call(rng, clock)
            orchestrator.append(_msg("assistant", f"Refunds are accepted within 30 days. <b>Done</b> {hostile}", clock))
    gathered = clock.tick(0.01, 0.05)
    models = {"orchestrator_model": orch_model, "worker_model": work_model}
    traces = {
        "metadata": {"timestamp": gathered, "thread_id": 140000000000 + repeat, "total_components": 5},
        "agents": {name: _agent_trace(name, msgs, gathered)
                   for name, msgs in (("orchestrator", orchestrator), ("worker", worker))},
        "models": {name: model.trace(name, gathered) for name, model in models.items()},
        "tools": {}, "simulators": {}, "callbacks": {},
        "environment": {"type": "DocsEnvironment", "gathered_at": gathered, "tool_count": len(tools),
                        "tools": {name: {"type": "DocsTool", "gathered_at": gathered, "name": name, "invocations": log}
                                  for name, log in tools.items()}, "name": "env"},
        "user": None, "other": {},
    }
    report = {"task_id": task_id, "repeat_idx": repeat, "status": outcome, "error": _error(outcome, rng),
              "traces": traces, "config": _config(models, gathered), "eval": _eval(outcome, rng),
              "usage": _usage(models, gathered),
              "task": {"query": query, "metadata": {}, "protocol": {
                  "timeout_seconds": TIMEOUT_S, "timeout_action": "skip", "max_retries": 0, "priority": 0, "tags": {}}}}
    return report, clock.now


def _msg(role: str, content: Any, clock: _Clock, **extra: Any) -> dict:
    return {"role": role, "content": content, **extra, "timestamp": clock.tick()}


def _tool_call_msg(calls: list[tuple[str, str, Any]], clock: _Clock) -> dict:
    return {"role": "assistant", "tool_calls": [
        {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for cid, name, args in calls], "timestamp": clock.tick()}


def _invocation(rng: random.Random, clock: _Clock, inputs: Any, outputs: Any, status: str) -> dict:
    start = clock.tick()
    duration = round(rng.uniform(0.02, 1.5), 3)
    clock.now += timedelta(seconds=duration)
    return {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "inputs": inputs, "outputs": outputs,
            "status": status, "timestamp": start, "meta": {"duration_seconds": duration}}


def _agent_trace(name: str, messages: list[dict], gathered: str) -> dict:
    return {"type": "ToolCallingAgentAdapter", "gathered_at": gathered, "name": name,
            "agent_type": "ToolCallingAgent", "message_count": len(messages), "messages": messages,
            "callbacks": [], "logs": []}


def _config(models: dict[str, _Model], gathered: str) -> dict:
    return {"metadata": {"timestamp": gathered, "total_components": 6},
            "models": {name: {"type": "LiteLLMModelAdapter", "gathered_at": gathered, "model_id": m.model_id,
                              "adapter_type": "LiteLLMModelAdapter", "seed": None, "name": name}
                       for name, m in models.items()},
            "benchmark": {"timestamp": gathered, "python": {"version": "3.11.9"}, "system": {"platform": "Linux"}}}


def _usage(models: dict[str, _Model], gathered: str) -> dict:
    agent = {"cost": 0.0, "units": {}, "provider": None, "category": "agents", "kind": None}
    return {"metadata": {"timestamp": gathered, "total_components": 4},
            "agents": {name: {**agent, "component_name": name} for name in ("orchestrator", "worker")},
            "models": {name: model.usage(name) for name, model in models.items()},
            "tools": {}, "simulators": {}, "callbacks": {}, "environment": None, "user": None, "other": {}}


def _error(outcome: str, rng: random.Random) -> dict | None:
    if outcome == "success":
        return None
    errors = {
        "unknown_execution_error": ("RateLimitError", "429 Too Many Requests"),
        "evaluation_failed": ("KeyError", "'expected_answer'"),
        "task_timeout": ("TaskTimeoutError", f"[timeout_check] Task exceeded {TIMEOUT_S}s deadline"),
        "environment_error": ("EnvironmentError", "[search_docs] docs index unreachable"),
    }
    etype, message = errors[outcome]
    err: dict[str, Any] = {"error_type": etype, "error_message": message}
    if outcome == "task_timeout":
        err.update(elapsed=round(TIMEOUT_S + rng.uniform(0, 2), 3), timeout=TIMEOUT_S)
    if outcome == "environment_error":
        err.update(component="search_docs", details={"retries": 2})
    err["traceback"] = f"Traceback (most recent call last):\n  ...\n{etype}: {message}\n"
    return err


def _eval(outcome: str, rng: random.Random) -> list[dict] | None:
    if outcome != "success":
        return None
    score = rng.choice([1.0, 1.0, 0.5, 0.0])
    return [{"evaluator": "AnswerMatchEvaluator", "score": score, "passed": score >= 0.5}]
