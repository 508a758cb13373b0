"""Latency: how long model, tool and expert calls took, and which were slowest."""

from __future__ import annotations

import numpy as np

from ... import plots, safe
from ...analyses import latency as an
from ...analyses._util import CONTAINER_KINDS, INSTANT_KINDS, duration_ms
from ...model import Run
from ..display import Block, Omitted, new_figure


def _timed(run: Run):
    events = run.events[~run.events["kind"].isin(INSTANT_KINDS)]
    return events[np.isfinite(duration_ms(events).to_numpy(dtype="float64"))]


def has_content(run: Run) -> str | None:
    """Something to say when any operation has a duration (or a start and an end)."""
    return None if len(_timed(run)) else "no timed operations in this run"


def by_kind(run: Run) -> Block:
    """Count, mean and percentiles of each kind, and their histograms (percentiles drawn
    per kind)."""
    stats = an.latency_stats(run, by="kind")
    fig = new_figure(9, 4)
    plots.latency_hist(run, by="kind", ax=fig.add_subplot())
    return Block(safe.show(stats, empty="this run has no latency data"), fig)


def by_name(run: Run) -> Block | Omitted:
    """The same percentiles for each model and each tool, and the tools' spread."""
    events = _timed(run)
    events = events[~events["kind"].isin(CONTAINER_KINDS)]
    if events["name"].isna().all():
        return Omitted("the operations carry no model or tool names")
    stats = an.latency_stats(events, by=["kind", "name"])
    tools = events["kind"].eq("tool_call").any()
    fig = None
    if tools:
        fig = new_figure(9, 4.5)
        plots.latency_box(events, by="name", kind="tool_call", ax=fig.add_subplot())
    return Block(safe.show(stats, max_rows=40), fig)


def slowest(run: Run, n: int = 10) -> Block:
    """The ``n`` longest operations, with the task they belong to."""
    return Block(safe.show(an.slowest(run, n=n)))


def step_times(run: Run) -> Block | Omitted:
    """How long the conversation steps took (tau2-bench ``step_complete`` events)."""
    steps = an.step_times(run)
    if steps.empty:
        return Omitted("no step events in this run")
    return Block(safe.show(steps))
