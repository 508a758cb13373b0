"""Overview: what ran, how the task attempts ended, pass^k where tasks have trials."""

from __future__ import annotations

from typing import Any

from ... import formatting as fmt
from ... import plots, safe
from ...analyses import overview as an
from ...model import Run
from ..display import Block, Omitted, new_figure
from ..headline import Headline, estimated_cost


def has_content(run: Run) -> str | None:
    """The overview always has something to say: at least what ran."""
    return None


def headline(run: Run) -> Headline:
    """The answer first: the facts a reader wants before any section (the report shows
    them on its first page, linked to the sections)."""
    return Headline(run)


def _fields(run: Run) -> tuple[dict[str, Any], dict[str, str]]:
    """The run's description and totals as (label -> value, label -> format)."""
    totals = an.totals(run)
    meta = run.meta
    rows: list[tuple[str, Any, str]] = [
        ("run", meta.get("run_id"), "text"), ("format", meta.get("source_format"), "text"),
        ("benchmark", meta.get("benchmark"), "text"), ("domain", meta.get("domain"), "text"),
        ("models", meta.get("models"), "list"), ("started", meta.get("started"), "timestamp"),
        ("ended", meta.get("ended"), "timestamp"), ("task attempts", totals["tasks"], "count"),
        ("passed", totals["successes"], "count"), ("pass rate", totals["pass_rate"], "percent"),
        ("wall time", totals["wall_s"], "duration_s"), ("task time (sum)", totals["task_time_s"], "duration_s"),
        ("model time (sum)", totals["llm_time_s"], "duration_s"), ("cost (reported)", totals["cost_usd"], "cost"),
    ]
    est, est_calls = estimated_cost(run.events)
    if not fmt.missing(est):
        rows.append((f"cost (estimated, {fmt.counted(est_calls, 'call')} without a price)", est, "cost"))
    rows += [
        ("input tokens", totals["input_tokens"], "count"), ("output tokens", totals["output_tokens"], "count"),
        ("cached tokens", totals["cached_tokens"], "count"), ("events", totals["events"], "count"),
        ("model calls", totals["llm_calls"], "count"), ("tool calls", totals["tool_calls"], "count"),
        ("model calls without a price", totals["unpriced_calls"], "count"),
        ("messages", totals["messages"], "count"), ("failures", totals["failures"], "count"),
        ("input problems", totals["problems"], "count"),
    ]
    shown = [(label, value, kind) for label, value, kind in rows
             if not fmt.missing(value) and value != [] and value != ""]
    return {label: value for label, value, _ in shown}, {label: kind for label, _, kind in shown}


def the_run(run: Run) -> Block:
    """How many tasks passed, then where the run came from and its totals (a series or a
    comparison: each run's own line first)."""
    totals = an.totals(run)
    rate = totals["pass_rate"]
    judged, tasks = totals["judged"], totals["tasks"]
    sentence = (f"{fmt.count(totals['successes'])} of {fmt.count(judged)} tasks passed ({fmt.percent(rate)})"
                + (f"; {fmt.count(tasks - judged)} of the {fmt.count(tasks)} have no verdict (not counted)."
                   if judged < tasks else ".")
                if not fmt.missing(rate) else "this run has no pass/fail outcomes")
    values, formats = _fields(run)
    return Block(
        safe.note(sentence),
        safe.show(run.summary(), caption="each run") if len(run.run_ids) > 1 else None,
        safe.show(values, formats=formats),
    )


def outcomes(run: Run) -> Block:
    """Task attempts by status and by the reason each one ended."""
    by_status = an.outcomes(run, by="status")
    reasons = an.outcomes(run, by="termination_reason")
    has_reasons = run.tasks["termination_reason"].notna().any()
    if by_status.empty and not has_reasons:
        return Omitted("no task outcomes recorded")
    return Block(
        safe.show(by_status, empty="this run has no task outcomes"),
        safe.show(reasons, caption="how each attempt ended") if has_reasons else None,
    )


def pass_k(run: Run) -> Block | Omitted:
    """pass^k with its bootstrap interval, and its curve; left out when tasks have one
    trial (pass^1 is the pass rate)."""
    table = an.pass_hat_k(run)
    if table.empty:
        return Omitted("no per-task trial outcomes, so no pass^k")
    if len(table) == 1:
        return Omitted("one trial per task, so pass^k is the pass rate")
    fig = new_figure(8, 3.6)
    plots.pass_k_curve(run, ax=fig.add_subplot())
    return Block(safe.show(table, formats={"ci_low": "percent", "ci_high": "percent", "tasks": "count"}), fig)
