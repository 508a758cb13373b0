"""A generated MASEval run: the folder ``FileResultLogger`` writes.

``benchmark_<YYYYMMDD_HHMMSS>.jsonl`` (one report per task repeat, field names as in
parameterlab/MASEval: ``task_id, repeat_idx, status, error, traces{metadata, agents, models,
tools, ...}, config, eval, usage``) plus ``benchmark_<ts>.meta.json``.

Per block of ten tasks (x2 repeats): an orchestrator and a worker agent that delegate and call
tools; one ``task_execution_failed`` (a model call raised), one ``evaluation_failed``, one
``task_timeout`` (partial traces, no usage: cost unknown), one ``environment_error`` (a tool
failed); the worker's model is unpriced (no cost); some workers repeat an identical tool call;
messages carry HOSTILE_SNIPPETS (markdown, HTML, ``<script>``, ``<img onerror>``, ANSI, a fake
``sk-`` key) and one multi-part content list.

>>> from analysis_kit.samples import maseval              # doctest: +SKIP
>>> maseval.write("/tmp/s/maseval", seed=7, size=1)        # doctest: +SKIP
PosixPath('/tmp/s/maseval')
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import HOSTILE_SNIPPETS

REPEATS = 2
TASKS_PER_SIZE = 10
PRICED_MODEL = "gpt-4o-mini"
UNPRICED_MODEL = "local/qwen2.5-7b-instruct"
PRICE_IN, PRICE_OUT = 0.15e-6, 0.60e-6  # USD per token
BENCHMARK = "maseval-demo"

# (task index within a block of ten, repeat) -> outcome; everything else is "success".
OUTCOMES = {
    (2, 0): "task_execution_failed",
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
    meta = {
        "output_file": result.name, "timestamp": stamp, "benchmark": BENCHMARK,
        "n_tasks": n_tasks, "n_repeats": REPEATS, "total_iterations": n_tasks * REPEATS,
        "lines_written": len(lines), "include_traces": True, "include_config": True,
        "include_eval": True, "validation_enabled": True,
    }
    result.with_suffix(".meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out


class _Clock:
    """Hands out naive ISO timestamps (as MASEval's datetime.now().isoformat())."""

    def __init__(self, start: datetime, rng: random.Random):
        self.now, self.rng = start, rng

    def tick(self, low: float = 0.05, high: float = 0.4) -> str:
        self.now += timedelta(seconds=round(self.rng.uniform(low, high), 3))
        return self.now.isoformat()


def _report(rng: random.Random, t: int, repeat: int, start: datetime) -> tuple[dict, datetime]:
    outcome = OUTCOMES.get((t % TASKS_PER_SIZE, repeat), "success")
    clock = _Clock(start, rng)
    task_id = f"task_{t:03d}"
    hostile = HOSTILE_SNIPPETS[t % len(HOSTILE_SNIPPETS)]
    query = f"Summarise the refund policy for order #{1000 + t}. Context: {hostile}"
    subtask = f"Look up the policy section for order #{1000 + t}"

    orch_log, work_log = [], []
    search_log, ticket_log = [], []
    orchestrator = [_msg("system", "You are the orchestrator. Delegate lookups to the worker.", clock),
                    _msg("user", query, clock)]
    worker = [_msg("system", "You are a worker with search tools.", clock), _msg("user", subtask, clock)]

    orch_log.append(_llm_call(rng, clock, "tool_call", tool_calls=1, priced=True))
    delegate_id = f"call_{t}_{repeat}_d"
    orchestrator.append(_tool_call_msg([(delegate_id, "delegate_to_worker", {"task": subtask})], clock))

    timeout = outcome == "task_timeout"
    n_search = 2 if t % TASKS_PER_SIZE in REPEATED_TOOL_TASKS else 1
    for i in range(n_search):
        work_log.append(_llm_call(rng, clock, "tool_call", tool_calls=1, priced=False))
        call_id = f"call_{t}_{repeat}_s{i}"
        args = {"query": f"refund policy order {1000 + t}", "top_k": 3}  # identical when repeated
        worker.append(_tool_call_msg([(call_id, "search_docs", args)], clock))
        failed = outcome == "environment_error"
        output = ("ConnectionError: docs index unreachable" if failed
                  else f"Section 4.{t % 7}: refunds within 30 days. {HOSTILE_SNIPPETS[(t + i + 1) % len(HOSTILE_SNIPPETS)]}")
        search_log.append(_invocation(rng, clock, call_id, args, output, "error" if failed else "success"))
        worker.append(_msg("tool", output, clock, tool_call_id=call_id, name="search_docs"))
        if failed:
            break
    if timeout:
        return _assemble(task_id, repeat, outcome, clock, orchestrator, worker, orch_log, work_log,
                         search_log, ticket_log, rng, partial=True), clock.now

    if outcome != "environment_error":
        work_log.append(_llm_call(rng, clock, "text", priced=False))
        worker.append(_msg("assistant", [{"type": "text", "text": "Found it:"},
                                         {"type": "text", "text": "**refunds within 30 days**"}], clock))
        orchestrator.append(_msg("tool", "Worker: refunds within 30 days.", clock,
                                 tool_call_id=delegate_id, name="delegate_to_worker"))
    if outcome == "task_execution_failed":
        orch_log.append(_llm_call(rng, clock, "text", priced=True, error="RateLimitError: 429 Too Many Requests"))
    elif outcome != "environment_error":
        ticket_id = f"call_{t}_{repeat}_t"
        ticket_args = {"order": 1000 + t, "note": "refund ok"}
        orch_log.append(_llm_call(rng, clock, "tool_call", tool_calls=1, priced=True))
        orchestrator.append(_tool_call_msg([(ticket_id, "create_ticket", ticket_args)], clock))
        ticket_log.append(_invocation(rng, clock, ticket_id, {"order": 1000 + t}, "ticket created", "success"))
        orchestrator.append(_msg("tool", "ticket created", clock, tool_call_id=ticket_id, name="create_ticket"))
        orch_log.append(_llm_call(rng, clock, "text", priced=True))
        orchestrator.append(_msg("assistant", f"Refunds are accepted within 30 days. <b>Done</b> {hostile}", clock))
    report = _assemble(task_id, repeat, outcome, clock, orchestrator, worker, orch_log, work_log,
                       search_log, ticket_log, rng, partial=False)
    return report, clock.now


def _assemble(task_id, repeat, outcome, clock, orchestrator, worker, orch_log, work_log,
              search_log, ticket_log, rng, *, partial: bool) -> dict:
    tools = {"search_docs": _tool_trace("search_docs", search_log)}
    if ticket_log:
        tools["create_ticket"] = _tool_trace("create_ticket", ticket_log)
    traces = {
        "metadata": {"timestamp": clock.tick(0.01, 0.05), "thread_id": 140000000000 + repeat,
                     "total_components": 6},
        "agents": {"orchestrator": _agent_trace("orchestrator", orchestrator),
                   "worker": _agent_trace("worker", worker)},
        "models": {"orchestrator_model": _model_trace(PRICED_MODEL, orch_log),
                   "worker_model": _model_trace(UNPRICED_MODEL, work_log)},
        "tools": tools, "simulators": {}, "callbacks": {}, "environment": None, "user": None, "other": {},
    }
    report: dict[str, Any] = {"task_id": task_id, "repeat_idx": repeat, "status": outcome,
                              "error": _error(outcome, rng), "traces": traces,
                              "config": {"benchmark": {"name": BENCHMARK, "n_task_repeats": REPEATS},
                                         "models": {"orchestrator_model": {"model_id": PRICED_MODEL},
                                                    "worker_model": {"model_id": UNPRICED_MODEL}}},
                              "eval": _eval(outcome, rng)}
    if not partial:
        report["usage"] = _usage(orch_log + work_log)
    return report


def _msg(role: str, content: Any, clock: _Clock, **extra: Any) -> dict:
    return {"role": role, "content": content, **extra, "timestamp": clock.tick()}


def _tool_call_msg(calls: list[tuple[str, str, Any]], clock: _Clock) -> dict:
    return {"role": "assistant", "timestamp": clock.tick(), "tool_calls": [
        {"id": cid, "type": "function",
         "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
        for cid, name, args in calls]}


def _llm_call(rng: random.Random, clock: _Clock, response_type: str, *, tool_calls: int = 0,
              priced: bool, error: str | None = None) -> dict:
    start = clock.tick()
    duration = round(rng.uniform(0.4, 6.0), 3)
    clock.now += timedelta(seconds=duration)
    tokens_in, tokens_out = rng.randint(300, 2500), rng.randint(20, 400)
    log: dict[str, Any] = {"timestamp": start, "message_count": rng.randint(2, 9),
                           "duration_seconds": duration, "generation_params": {"temperature": 0.0},
                           "tools_provided": 2, "kwargs": {}}
    if error:
        etype, _, text = error.partition(": ")
        log.update(status="error", error=text, error_type=etype)
        return log
    usage = {"input_tokens": tokens_in, "output_tokens": tokens_out,
             "cached_input_tokens": rng.choice([0, 0, 256]), "reasoning_tokens": 0}
    log.update(response_type=response_type, response_length=0 if tool_calls else rng.randint(40, 400),
               tool_calls_count=tool_calls, status="success", usage=usage)
    if priced:
        log["cost"] = round(tokens_in * PRICE_IN + tokens_out * PRICE_OUT, 8)
    return log


def _invocation(rng, clock, call_id, inputs, outputs, status) -> dict:
    start = clock.tick()
    duration = round(rng.uniform(0.02, 1.5), 3)
    clock.now += timedelta(seconds=duration)
    return {"id": call_id, "inputs": inputs, "outputs": outputs, "status": status,
            "timestamp": start, "meta": {"duration_seconds": duration}}


def _tool_trace(name: str, log: list[dict]) -> dict:
    return {"type": "GenericTool", "gathered_at": log[-1]["timestamp"] if log else None, "name": name,
            "description": f"{name} tool", "invocations": log, "total_invocations": len(log)}


def _agent_trace(name: str, messages: list[dict]) -> dict:
    return {"type": "SmolAgentAdapter", "name": name, "agent_type": "ToolCallingAgent",
            "message_count": len(messages), "messages": messages, "callbacks": [], "logs": []}


def _model_trace(model_id: str, log: list[dict]) -> dict:
    ok = sum(1 for c in log if c["status"] == "success")
    total = round(sum(c["duration_seconds"] for c in log), 3)
    return {"type": "LiteLLMModelAdapter", "model_id": model_id, "total_calls": len(log),
            "successful_calls": ok, "failed_calls": len(log) - ok, "total_duration_seconds": total,
            "average_duration_seconds": round(total / len(log), 3) if log else 0, "logs": log}


def _usage(logs: list[dict]) -> dict:
    ok = [c for c in logs if c["status"] == "success"]
    costs = [c["cost"] for c in ok if "cost" in c]
    return {"input_tokens": sum(c["usage"]["input_tokens"] for c in ok),
            "output_tokens": sum(c["usage"]["output_tokens"] for c in ok),
            "cached_input_tokens": sum(c["usage"]["cached_input_tokens"] for c in ok),
            "reasoning_tokens": 0, "cost": round(sum(costs), 8) if costs else None}


def _error(outcome: str, rng: random.Random) -> dict | None:
    if outcome == "success":
        return None
    errors = {
        "task_execution_failed": ("RateLimitError", "429 Too Many Requests"),
        "evaluation_failed": ("KeyError", "'expected_answer'"),
        "task_timeout": ("TaskTimeoutError", "Task exceeded timeout of 60s"),
        "environment_error": ("EnvironmentError", "search_docs: docs index unreachable"),
    }
    etype, message = errors[outcome]
    err: dict[str, Any] = {"error_type": etype, "error_message": message,
                           "traceback": f"Traceback (most recent call last):\n  ...\n{etype}: {message}\n"}
    if outcome == "task_timeout":
        err.update(elapsed=round(60 + rng.uniform(0, 2), 3), timeout=60)
    if outcome == "environment_error":
        err.update(component="search_docs", details={"retries": 2})
    return err


def _eval(outcome: str, rng: random.Random) -> list[dict] | None:
    if outcome != "success":
        return None
    score = rng.choice([1.0, 1.0, 0.5, 0.0])
    return [{"evaluator": "AnswerMatchEvaluator", "score": score, "passed": score >= 0.5}]
