"""The Run of one MassGen attempt: events, messages, the task row, per-agent status and meta,
from what ``massgen._Assembly`` read."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..model import Problems, Run, to_json_text
from . import _massgen_coord as coord
from ._massgen_layout import attempts_overview
from ._massgen_rows import trace_messages
from ._read import read_json

EVENT_DROP = ("text", "extras", "label", "voted_for", "reason", "event_type", "snapshot")


def build_run(asm, run_id: str) -> Run:
    files, choice = asm.files, asm.choice
    report = asm.report("coordination_events.json")
    agent_ids = _agents(files, asm.snaps)
    coordination = coord.coordination_rows(files.events, report)
    answers = coord.answer_events(coordination, asm.snaps, files.mapping, agent_ids)
    votes = coord.vote_events(coordination, asm.snaps) or coord.status_votes(files.status)
    others = [dict(r, attrs=r.pop("extras")) for r in coordination if r["kind"] not in ("answer", "vote")]
    rounds = asm.rounds(coordination)
    tools = asm.tool_rows(rounds)
    errors = asm.log_error_rows()
    for what, n in sorted(asm.earlier.items()):
        asm.problems.add(choice.base / ("metrics_events.json" if what == "tool_executions" else "metrics_summary.json"),
                         None, f"{n} {what.replace('_', ' ')} recorded before this attempt began are an earlier "
                         "attempt's (MassGen keeps a backend's metrics across attempts); not counted here")
    events = sorted(answers + votes + others + rounds + tools + errors,
                    key=lambda r: (r.get("start") is None, r.get("start") or pd.Timestamp(0, tz="UTC")))
    question = _question(files)
    task_id = (question or "")[:60] or choice.root.name
    final = _final_answer(asm)
    statuses = coord.agent_status(agent_ids, files.status, files.events, events, rounds)
    winner = _winner(files)
    meta = _meta(asm, run_id, question, winner, _vote_counts(files, votes, agent_ids), statuses, events, final, agent_ids)
    for r in rounds:  # MassGen reports usage per round: the model it is billed to is the agent's
        if meta["agent_models"].get(r.get("agent")):
            r["attrs"] = {**(r.get("attrs") or {}), "model": meta["agent_models"][r["agent"]]}
    event_rows = [dict({k: v for k, v in e.items() if k not in EVENT_DROP}, task_id=task_id,
                       attrs=to_json_text(e.get("attrs")) if e.get("attrs") else None) for e in events]
    messages = _messages(asm, question, answers, final)
    return Run(meta=meta, tasks=pd.DataFrame([_task(asm, task_id, winner, statuses, events, rounds)]),
               events=pd.DataFrame(event_rows),
               messages=pd.DataFrame([dict(m, task_id=task_id, trial=1, idx=i) for i, m in enumerate(messages)]),
               failures=pd.DataFrame(coord.failures(statuses)), problems=asm.problems.frame())


def _agents(files, snaps: list[dict]) -> list[str]:
    ids: list[str] = []
    sources = [coord.as_list(files.session.get("agent_ids")), list(coord.as_dict(files.status.get("agents"))),
               [a.get("id") for a in coord.as_list(coord.as_dict(files.exec_meta.get("config")).get("agents"))
                if isinstance(a, dict)],
               list(coord.as_dict(files.summary.get("agents"))), [e.get("agent_id") for e in files.events],
               [s["agent"] for s in snaps]]
    for source in sources:
        for a in source:
            if isinstance(a, str) and a and a not in ids:
                ids.append(a)
    return ids


def _question(files) -> str | None:
    for q in (files.session.get("user_prompt"), coord.as_dict(files.status.get("meta")).get("question"),
              files.exec_meta.get("query"), coord.as_dict(files.summary.get("meta")).get("question")):
        if isinstance(q, str) and q.strip():
            return q
    return None


def _winner(files) -> str | None:
    for w in (files.session.get("final_winner"), coord.as_dict(files.status.get("results")).get("winner"),
              coord.as_dict(files.summary.get("meta")).get("winner")):
        if isinstance(w, str) and w:
            return w
    return None


def _vote_counts(files, votes: list[dict], agent_ids: list[str]) -> dict[str, int]:
    counts = {a: 0 for a in agent_ids}
    if votes:
        for v in votes:
            if v["name"]:
                counts[v["name"]] = counts.get(v["name"], 0) + 1
        return counts
    owners = {coord.as_dict(i).get("latest_answer_label"): a for a, i in coord.as_dict(files.status.get("agents")).items()}
    for label, n in coord.as_dict(coord.as_dict(files.status.get("results")).get("votes")).items():
        owner = owners.get(label) or _label_agent(label, agent_ids) or label
        counts[owner] = counts.get(owner, 0) + int(coord.number(n) or 0)
    return counts


def _label_agent(label: str | None, agent_ids: list[str]) -> str | None:
    """agent2.1 -> the second agent id (answer labels number agents from 1)."""
    import re

    m = re.match(r"^agent(\d+)\.(\d+|final)$", label or "")
    i = int(m.group(1)) - 1 if m else -1
    return agent_ids[i] if 0 <= i < len(agent_ids) else None


def _final_answer(asm) -> dict | None:
    from ._read import read_text

    for folder in dict.fromkeys((asm.choice.base, asm.choice.root)):
        for f in sorted(folder.glob("final/*/answer.txt")):
            text = read_text(f, asm.problems, fallback="cp1252")
            if text is not None:
                return {"agent": f.parent.name, "text": text, "file": f.relative_to(asm.choice.root).as_posix()}
    return None


def _messages(asm, question: str | None, answers: list[dict], final: dict | None) -> list[dict]:
    files = asm.files
    start = coord.when(files.session.get("start_time")) or coord.when(coord.as_dict(files.status.get("meta")).get("start_time"))
    msgs: list[dict[str, Any]] = []
    if question:
        msgs.append({"role": "user", "content": question, "timestamp": start, "agent": None})
    for a in sorted((a for a in answers if a["text"] is not None),
                    key=lambda r: (r["start"] is None, r["start"] or pd.Timestamp(0, tz="UTC"))):
        msgs.append({"role": "assistant", "agent": a["agent"], "content": a["text"], "name": a["name"], "timestamp": a["start"]})
    if final:
        ts = max((coord.when(e.get("timestamp")) for e in files.events if e.get("event_type") == "final_answer"
                  and coord.when(e.get("timestamp")) is not None), default=None)
        msgs.append({"role": "assistant", "agent": final["agent"], "content": final["text"], "name": "final", "timestamp": ts})
    for info, trace in sorted(asm.traces, key=lambda t: (t[0]["local_time"] is None, t[0]["local_time"] or 0)):
        for m in trace_messages(trace, info["file"], info["agent"]):
            msgs.append(dict(m, trace=info["file"]))
    return msgs


def _times(asm, events: list[dict]) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    start, end = asm.window
    times = [t for e in events for t in (e.get("start"), e.get("end")) if t is not None]
    return (start if start is not None else min(times, default=None),
            end if end is not None else max(times, default=None))


def _cost_tokens(asm) -> tuple[float | None, float | None, float | None, list[str]]:
    """The attempt's cost and tokens: the files' totals (status.json costs, else
    metrics_summary totals, else the agents' token_usage), less the previous attempt's of the
    same turn when this attempt's files also hold that attempt's records (MassGen's backends
    keep counting across attempts). Agents with tokens and a cost of 0.0 are unpriced by
    MassGen and listed."""
    files = asm.files
    usages = {a: coord.as_dict(coord.as_dict(i).get("token_usage")) for a, i in coord.as_dict(files.summary.get("agents")).items()}
    unpriced = [a for a, u in usages.items() if not coord.number(u.get("estimated_cost")) and
                (coord.number(u.get("input_tokens")) or coord.number(u.get("output_tokens")))]
    cost, tokens = _totals(files.status, files.summary)
    earlier = previous_totals(asm.choice) if asm.earlier else None
    if earlier is not None:
        cost = None if cost is None or earlier[0] is None else max(0.0, cost - earlier[0])
        tokens = [None if t is None or e is None else max(0.0, t - e) for t, e in zip(tokens, earlier[1])]
    return cost, tokens[0], tokens[1], unpriced


def _totals(status: dict, summary: dict) -> tuple[float | None, list[float | None]]:
    costs, totals = coord.as_dict(status.get("costs")), coord.as_dict(summary.get("totals"))
    usages = [coord.as_dict(coord.as_dict(i).get("token_usage")) for i in coord.as_dict(summary.get("agents")).values()]
    cost = next((coord.number(costs.get(k)) for k in ("total_estimated_cost", "total_cost", "estimated_cost", "total")
                 if coord.number(costs.get(k)) is not None), None)
    cost = cost if cost is not None else coord.number(totals.get("estimated_cost"))
    known = [coord.number(u.get("estimated_cost")) for u in usages if coord.number(u.get("estimated_cost")) is not None]
    cost = cost if cost is not None else (sum(known) if known else None)
    tokens = []
    for key in ("input_tokens", "output_tokens"):
        value = coord.number(costs.get(f"total_{key}"))
        value = value if value is not None else coord.number(totals.get(key))
        if value is None and usages:
            parts = [coord.number(u.get(key)) for u in usages if coord.number(u.get(key)) is not None]
            value = sum(parts) if parts else None
        tokens.append(value)
    return cost, tokens


def previous_totals(choice) -> tuple[float | None, list[float | None]] | None:
    """The totals of the attempt before this one in its turn, or None (first attempt, flat)."""
    if not choice.attempt or choice.attempt <= 1 or choice.turn is None:
        return None
    earlier = [a for a in choice.turns.get(choice.turn, {}) if a < choice.attempt]
    if not earlier:
        return None
    folder, quiet = choice.turns[choice.turn][max(earlier)], Problems(False)
    loaded = [read_json(folder / name, quiet)[0] if (folder / name).is_file() else None
              for name in ("status.json", "metrics_summary.json")]
    status, summary = (v if isinstance(v, dict) else {} for v in loaded)
    return _totals(status, summary) if status or summary else None


def _task(asm, task_id: str, winner: str | None, statuses: list[dict], events: list[dict], rounds: list[dict]) -> dict:
    start, end = _times(asm, events)
    errors = [f"{a['agent']}: {a['error']}" for a in statuses if a["error"]]
    if winner:
        status = "completed"
    elif errors or any(str(a["status"]).lower() == "error" for a in statuses):
        status = "error"
    else:
        status = "incomplete"
    results = coord.as_dict(asm.files.status.get("results"))
    cost, in_tok, out_tok, _ = _cost_tokens(asm)
    return {"task_id": task_id, "trial": 1, "status": status,
            "success": results.get("success") if isinstance(results.get("success"), bool) else None,
            "termination_reason": coord.as_dict(asm.files.status.get("coordination")).get("phase"),
            "start": start, "end": end,
            "duration_s": (end - start).total_seconds() if start is not None and end is not None else None,
            "cost_usd": cost, "input_tokens": in_tok, "output_tokens": out_tok, "error": "; ".join(errors) or None}


def _models(files, traces) -> tuple[list[str], dict[str, str]]:
    by_agent = {}
    for a in coord.as_list(coord.as_dict(files.exec_meta.get("config")).get("agents")):
        model = coord.as_dict(a.get("backend")).get("model") if isinstance(a, dict) else None
        if isinstance(a, dict) and a.get("id") and model:
            by_agent[str(a["id"])] = str(model)
    for agent, info in coord.as_dict(files.status.get("agents")).items():
        if isinstance(coord.as_dict(info).get("model"), str):
            by_agent.setdefault(agent, info["model"])
    for info, trace in traces:
        if trace.model and info["agent"]:
            by_agent.setdefault(info["agent"], trace.model)
    return list(dict.fromkeys(by_agent.values())), by_agent


def _meta(asm, run_id, question, winner, vote_counts, statuses, events, final, agent_ids) -> dict:
    files, choice = asm.files, asm.choice
    start, end = _times(asm, events)
    models, by_agent = _models(files, asm.traces)
    _, _, _, unpriced = _cost_tokens(asm)
    overview = attempts_overview(choice) if choice.turns else []
    return {"run_id": run_id, "source_format": "massgen", "path": str(choice.root if choice.layout != "status_file" else choice.base),
            "log_dir": str(choice.root), "benchmark": "massgen", "domain": None, "models": models,
            "agent_models": by_agent, "started": start.isoformat() if start is not None else None,
            "ended": end.isoformat() if end is not None else None, "layout": choice.layout, "question": question,
            "winner": winner, "vote_counts": vote_counts, "agent_status": statuses, "agents": list(agent_ids),
            "unpriced_agents": unpriced, "files": dict(sorted(files.files.items())),
            "execution_traces": sorted(k for k in files.files if k.endswith("execution_trace.md")),
            "streaming_debug_log": next((k for k in files.files if k.endswith("streaming_debug.log")), None),
            "final_answer_file": final["file"] if final else None,
            "phase": coord.as_dict(files.status.get("coordination")).get("phase"),
            "massgen_version": files.exec_meta.get("massgen_version"),
            "tools_summary": coord.as_dict(coord.as_dict(files.summary.get("tools")).get("by_tool")) or None,
            "rounds_summary": coord.as_dict(files.summary.get("rounds")) or None,
            "api_timing": coord.as_dict(files.summary.get("api_timing")) or None,
            "turn": choice.turn, "attempt": choice.attempt, "available_turns": list(choice.turns),
            "available_attempts": list(choice.turns.get(choice.turn, {})) if choice.turn is not None else [],
            "available": {f"turn_{t}": [f"attempt_{a}" for a in ats] for t, ats in choice.turns.items()},
            "attempts": overview, "restarted_attempts": [a for a in overview if a["outcome"] == "restarted"],
            "earlier_attempt_records": dict(asm.earlier),
            "subagent_usage": coord.as_dict(files.summary.get("subagents")) or None}
