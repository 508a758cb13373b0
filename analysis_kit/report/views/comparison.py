"""Comparison: two or more runs side by side: pass rate, latency percentiles and cost,
with the change (b - a) and its bootstrap interval."""

from __future__ import annotations

from ... import plots, safe
from ...analyses import comparison as an
from ...model import Run
from ..display import Block, Omitted, Subheading, new_figure


def has_content(run: Run) -> str | None:
    """Something to say when the run holds two or more runs."""
    return None if len(run.run_ids) >= 2 else "one run: nothing to compare it with"


def runs(run: Run) -> Block | Omitted:
    """The runs compared, one row each."""
    if len(run.run_ids) < 2:
        return Omitted("one run: nothing to compare it with")
    return Block(safe.show(run.summary()))


def change(run: Run, n_boot: int = 1000) -> Block | Omitted:
    """Each later run against the first: the metric in each run, the difference and its
    95% interval; the chart for the first pair."""
    ids = run.run_ids
    if len(ids) < 2:
        return Omitted("one run: nothing to compare it with")
    first = run.select(ids[0])
    items = []
    for i, other in enumerate(ids[1:]):
        table = an.compare(first, run.select(other), n_boot=n_boot)
        items.append(Subheading(f"{ids[0]} (a) against {other} (b)"))
        items.append(safe.show(table, max_rows=40))
        if i == 0:
            fig = new_figure(9, 4.6)
            plots.compare_plot(table, ax=fig.add_subplot())
            items.append(fig)
    return Block(*items)


def changed_outcomes(run: Run) -> Block | Omitted:
    """Task attempts that passed in one run and failed in the other."""
    ids = run.run_ids
    if len(ids) < 2:
        return Omitted("one run: nothing to compare it with")
    first = run.select(ids[0])
    return Block(*[safe.show(an.changed_outcomes(first, run.select(other)),
                             caption=f"{ids[0]} against {other}",
                             empty=f"no task changed outcome between {ids[0]} and {other}")
                   for other in ids[1:]])
