"""Timeline: when things happened: one task's operations, how many ran at once, the
tasks that stalled, and the rounds of a multi-agent run."""

from __future__ import annotations

from typing import Any

from ... import formatting as fmt
from ... import plots, safe
from ...analyses.rounds import rounds as round_table
from ...analyses import timeline as an
from ...model import Run
from ..display import Block, Omitted, Subheading, new_figure


def has_content(run: Run) -> str | None:
    """Something to say when events carry a start or an end time."""
    events = run.events
    if events["start"].notna().any() or events["end"].notna().any():
        return None
    return "no timestamped events in this run"


def time_split(run: Run) -> Block | Omitted:
    """Wall time of each task attempt, split into model calls, tool calls and the rest,
    longest first."""
    split = an.time_split(run)
    if split.empty:
        return Omitted("no events belong to a task")
    return Block(safe.show(split.sort_values("wall_s", ascending=False, kind="stable"), max_rows=15))


def _longest_task(run: Run) -> Any:
    split = an.time_split(run)
    if split.empty:
        return None
    return split.sort_values("wall_s", ascending=False, kind="stable")["task_id"].iloc[0]


def one_task(run: Run, task_id: Any = None) -> Block | Omitted:
    """The operations of one task (``task_id``, else the longest), one lane per thread."""
    task = task_id if task_id is not None else _longest_task(run)
    if task is None:
        return Omitted("no events belong to a task")
    fig = new_figure(9, 3.8)
    plots.gantt(run, task_id=task, ax=fig.add_subplot())
    return Block(Subheading(f"task {task}"), fig)


def concurrency(run: Run) -> Block | Omitted:
    """Operations in flight over time (averaged per time bucket on a long run)."""
    curve = an.concurrency(run)
    if curve.empty or curve["in_flight"].max() <= 0:
        return Omitted("no operation has a duration, so none was ever in flight")
    fig = new_figure(9, 3.6)
    plots.concurrency_plot(run, ax=fig.add_subplot())
    return Block(fig)


def stalled(run: Run, threshold_s: float = 300.0) -> Block | Omitted:
    """Each task's last event and the gap from it to the end of the run; a gap over
    ``threshold_s`` marks a task stalled unless it had finished. Stalled tasks first."""
    table = an.stalled_tasks(run, threshold_s=threshold_s)
    if table.empty:
        return Omitted("no events belong to a task")
    n = int(table["stalled"].sum())
    sentence = (f"{n:,} of {len(table):,} tasks stalled (unfinished, no event for "
                f"{fmt.duration(threshold_s)} before the run's last one).")
    ordered = table.sort_values(["stalled", "gap_s"], ascending=False, kind="stable")
    return Block(safe.note(sentence), safe.show(ordered, max_rows=15))


def rounds(run: Run) -> Block | Omitted:
    """Each agent's rounds: total time, tool wall time (the union of overlapping tool
    calls) and the rest."""
    if not (run.events["kind"] == "round").any():
        return Omitted("no rounds (not a multi-agent run)")
    table = round_table(run)
    fig = new_figure(9, max(3.0, 0.35 * len(table) + 1.2))
    plots.rounds_plot(run, ax=fig.add_subplot())
    return Block(safe.show(table, max_rows=40), fig)
