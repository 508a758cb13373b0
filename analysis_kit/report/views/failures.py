"""Failures: why tasks failed: by step and classification, tool errors, termination
reasons, and failures that recur across the runs of a series."""

from __future__ import annotations

from ... import plots, safe
from ...analyses import failures as an
from ...analyses import overview
from ...analyses._util import tasks_success
from ...model import Run
from ..display import Block, Omitted, new_figure

FAILURE_COLUMNS = ["task_id", "trial", "category", "step", "error", "classification"]


def _failed_attempts(run: Run):
    return run.tasks[tasks_success(run.tasks).fillna(True) == False]  # noqa: E712 - NA is unknown, not failed


def has_content(run: Run) -> str | None:
    """Something to say when the run has failures, failed attempts or operation errors."""
    if len(run.failures) or len(_failed_attempts(run)) or run.events["error"].notna().any():
        return None
    return "no failures, failed attempts or operation errors in this run"


def by_step(run: Run) -> Block | Omitted:
    """Failed evaluations or tasks by the step that failed."""
    if run.failures.empty:
        return Omitted("no failure records (only failed attempts, shown by termination reason)")
    fig = new_figure(9, 3.8)
    plots.failures_bars(run, by="step", ax=fig.add_subplot())
    return Block(safe.show(an.failures_by(run, by="step")), fig)


def by_classification(run: Run) -> Block | Omitted:
    """Failures by why they happened (MODEL_FAULT, OVERLY_STRICT, AMBIGUOUS_TASK,
    KNOWN_GAP), and the groups worth acting on."""
    if run.failures.empty or run.failures["classification"].isna().all():
        return Omitted("no failure is classified")
    return Block(safe.show(an.failures_by(run, by="classification")),
                 safe.show(an.actionable(run), caption="worth acting on", empty="no classified failures"))


def failed_tasks(run: Run) -> Block | Omitted:
    """The failures themselves (error text escaped and cut)."""
    if run.failures.empty:
        return Omitted("no failure records")
    columns = [c for c in FAILURE_COLUMNS if c in run.failures.columns]
    return Block(safe.show(run.failures[columns], max_rows=20, max_chars=160))


def tool_errors(run: Run) -> Block | Omitted:
    """Tool calls that returned an error, per tool, with the most common error."""
    table = an.tool_errors(run)
    if table.empty:
        return Omitted("no tool call returned an error")
    return Block(safe.show(table))


def termination_reasons(run: Run) -> Block | Omitted:
    """How each task attempt ended."""
    if not run.tasks["termination_reason"].notna().any():
        return Omitted("no termination reasons recorded")
    return Block(safe.show(overview.outcomes(run, by="termination_reason")))


def recurring(run: Run) -> Block | Omitted:
    """Tasks that failed in several runs of a series in a row."""
    if len(run.run_ids) < 2:
        return Omitted("one run: recurring failures need a series of runs")
    return Block(safe.show(an.recurring_failures(run), empty="no failure recurs across the runs"))
