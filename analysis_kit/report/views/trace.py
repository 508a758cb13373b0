"""Trace: for span sources (OpenTelemetry, Logfire, Inspect spans), the slowest traces as
waterfalls, where the time went by span name (self time: not covered by child spans), and
the span tree of one task."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ... import plots, safe
from ...analyses import traces as an
from ...model import Run
from ..display import Block, Omitted, Subheading, new_figure

MAX_SPANS = 80  # spans drawn in one waterfall (the plot counts the rest in its title)
TREE_ROWS = 60  # rows of the span tree table


def has_content(run: Run) -> str | None:
    """Something to say when the run's events carry span ids (a span hierarchy)."""
    if an.timed_spans(run.events).any():
        return None
    form = run.meta.get("source_format") or "these runs"
    return f"no span ids in the events: {form} records no span hierarchy"


def _one_run(run: Run, row: Any) -> Run:
    """The run a row of a several-runs table belongs to (task ids may repeat across runs)."""
    run_id = getattr(row, "run_id", None)
    return run.select(run_id) if run_id is not None and len(run.run_ids) > 1 else run


def first_trial(run: Run, task_id: Any) -> Any:
    """The trial whose spans a task's tree shows when its spans belong to several trials
    (Inspect epochs; their trees would interleave), else None (the task's spans as they are).

    >>> first_trial(Run(events=pd.DataFrame({"task_id": ["a", "a"], "trial": [2, 1], "span_id": ["x", "y"]})), "a")
    1
    """
    events = run.events
    mine = events[(events["task_id"] == task_id) & an.timed_spans(events)]
    trials = sorted(mine["trial"].dropna().unique()) if "trial" in mine.columns else []
    return int(trials[0]) if len(trials) > 1 else None


def _label(task_id: Any, trial: Any) -> str:
    return f"task {task_id}" + (f" trial {trial}" if trial is not None else "")


def waterfall_figure(run: Run, task_id: Any, trial: Any = None):
    """The waterfall of ``task_id`` (of ``trial``) on a figure tall enough for its bars
    (at most 80)."""
    tree = an.span_tree(run, task_id, trial)
    fig = new_figure(10, 0.25 * min(len(tree), MAX_SPANS) + 1.5)
    plots.waterfall(tree, task_id=task_id, max_spans=MAX_SPANS, ax=fig.add_subplot())
    return fig


def slowest(run: Run, n: int = 3) -> Block | Omitted:
    """The ``n`` traces whose spans cover the longest wall time, and the waterfall of each."""
    table = an.slowest_traces(run, n=n)
    if table.empty:
        return Omitted("no spans with a start and end time")
    items: list[Any] = [safe.show(table)]
    for row in table.itertuples(index=False):
        one = _one_run(run, row)
        trial = first_trial(one, row.task_id)
        items.append(Subheading(f"{_label(row.task_id, trial)}: {row.root}"))
        items.append(waterfall_figure(one, row.task_id, trial))
    return Block(*items)


def self_time(run: Run, top: int = 15) -> Block | Omitted:
    """Per span name: how many spans, their total time (nested time counted at every level)
    and their self time (each second counted once), largest self time first."""
    table = an.self_time(run, by="name")
    if table.empty or not table["self_s"].notna().any():
        return Omitted("no spans with a start and end time")
    fig = new_figure(9, 0.32 * min(len(table), top) + 1.6)
    plots.self_time_bars(run, by="name", top=top, ax=fig.add_subplot())
    return Block(safe.show(table, max_rows=top * 2), fig)


def _slowest_task(run: Run) -> Any:
    table = an.slowest_traces(run, n=1)
    return None if table.empty else table["task_id"].iloc[0]


def tree_table(tree: pd.DataFrame) -> pd.DataFrame:
    """A span tree as the report lists it: each span's name indented by its depth.

    >>> tree_table(pd.DataFrame({"depth": [0, 2], "name": ["root", "leaf"], "kind": "span", "agent": None,
    ...     "offset_s": 0.0, "duration_s": 1.0, "self_s": 1.0, "children": 0, "error": None}))["span"].tolist()
    ['root', '· · leaf']
    """
    indent = tree["depth"].fillna(0).astype(int).map(lambda d: "· " * d)
    span = indent + tree["name"].astype("object").fillna("(none)").astype(str)
    return pd.DataFrame({"span": span, "kind": tree["kind"], "agent": tree["agent"],
                         "offset_s": tree["offset_s"], "duration_s": tree["duration_s"],
                         "self_s": tree["self_s"], "children": tree["children"], "error": tree["error"]})


def span_tree(run: Run, task_id: Any = None) -> Block | Omitted:
    """The spans of one task (``task_id``, else the slowest trace's; of its first trial when
    it has several) as a tree: depth-first, children under their parent by start time."""
    task = task_id if task_id is not None else _slowest_task(run)
    if task is None:
        return Omitted("no spans with a start and end time")
    trial = first_trial(run, task)
    tree = an.span_tree(run, task, trial)
    if tree.empty:
        return Block(safe.note(f"task {task} has no spans in this run"))
    return Block(Subheading(f"{_label(task, trial)}: {len(tree):,} spans"),
                 safe.show(tree_table(tree), max_rows=TREE_ROWS, max_chars=120))
