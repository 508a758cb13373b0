"""Loader for one MassGen ``execution_trace.md`` given alone (an agent snapshot's full record
of tool calls, results, reasoning, answers and votes; see ``_massgen_trace`` for the rules).

>>> run = load(Path("agent_c/agent3/execution_trace.md"))           # doctest: +SKIP
>>> run.events.kind.value_counts().to_dict()                          # doctest: +SKIP
{'tool_call': 2, 'vote': 1}
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..model import Problems, Run
from ._massgen_rows import trace_events, trace_messages
from ._massgen_trace import parse_trace
from ._read import head, read_text, sniffed
from ._registry import Format, register

FORMAT = "massgen_trace"
HEADER = b"# Execution Trace: "


def sniff(path: Path) -> bool:
    """A file whose first line is ``# Execution Trace: <agent>``. Cheap, never raises.

    >>> sniff(Path("/nonexistent"))
    False
    """
    return sniffed(path, lambda p: head(p, 256).lstrip().startswith(HEADER))


def load(path: Path, *, strict: bool = False) -> Run:
    """One trace as a run: its calls as events, its sections as messages, one task (the agent).

    >>> load(Path("execution_trace.md")).meta["agent"]                # doctest: +SKIP
    'agent_c'
    """
    path = Path(path)
    problems = Problems(strict)
    text = read_text(path, problems)
    trace = parse_trace(text or "", path, problems)
    key = path.name
    agent = trace.agent
    task_id = agent or path.parent.name
    events = [dict(e, task_id=task_id, trial=1) for e in trace_events(trace, key, agent)]
    messages = [dict(m, task_id=task_id, trial=1, idx=i) for i, m in enumerate(trace_messages(trace, key, agent))]
    calls = trace.calls(workflow=False)
    tasks = [{"task_id": task_id, "trial": 1, "status": "unknown", "start": trace.started,
              "error": next((c.result for c in calls if c.is_error), None)}]
    meta = {"run_id": path.parent.name or path.stem, "source_format": FORMAT, "path": str(path),
            "benchmark": "massgen", "domain": None, "models": [trace.model] if trace.model else [],
            "agent_models": {agent: trace.model} if agent and trace.model else {},
            "agents": [agent] if agent else [], "agent": agent,
            "started": trace.started.isoformat() if trace.started is not None else None, "ended": None,
            "clock": "the writer's local time, taken as UTC (the file does not name its zone)",
            "tool_calls": len(calls), "failed_tool_calls": sum(c.is_error for c in calls)}
    return Run(meta=meta, tasks=pd.DataFrame(tasks), events=pd.DataFrame(events),
               messages=pd.DataFrame(messages), problems=problems.frame())


SPEC = register(Format(name=FORMAT, sniff=sniff, load=load, cacheable=True, priority=60,
                       description="one MassGen execution_trace.md (an agent snapshot's trace)"))
