"""Conversations: what the agents said: messages and tool calls per task, repeated tool
calls, the largest tool outputs, and one task's transcript (all text escaped)."""

from __future__ import annotations

from typing import Any

from ... import safe
from ...analyses import conversations as an
from ...model import Run
from ..display import Block, Omitted, Subheading


def has_content(run: Run) -> str | None:
    """Something to say when the run has messages."""
    return None if len(run.messages) else "no messages in this run"


def _counts(run: Run):
    counts = an.message_counts(run)
    return counts.sort_values("messages", ascending=False, kind="stable") if len(counts) else counts


def per_task(run: Run) -> Block | Omitted:
    """Messages by role and tool calls made, per task attempt and agent (largest first)."""
    counts = _counts(run)
    if counts.empty:
        return Omitted("no messages in this run")
    return Block(safe.show(counts, max_rows=15))


def repeated_calls(run: Run) -> Block | Omitted:
    """The same tool called with the same arguments more than once in a task."""
    table = an.repeated_tool_calls(run)
    if table.empty:
        return Omitted("no tool call was repeated with the same arguments")
    return Block(safe.show(table))


def largest_outputs(run: Run, n: int = 10) -> Block | Omitted:
    """The tool results with the most characters."""
    table = an.largest_tool_outputs(run, n=n)
    if table.empty:
        return Omitted("no tool outputs")
    return Block(safe.show(table, max_chars=120))


def transcript(run: Run, task_id: Any = None) -> Block | Omitted:
    """One task's conversation (``task_id``, else the task with the most messages),
    contents escaped and cut."""
    counts = _counts(run)
    if counts.empty:
        return Omitted("no messages in this run")
    task = task_id if task_id is not None else counts["task_id"].iloc[0]
    table = an.transcript(run, task)
    return Block(Subheading(f"task {task}"),
                 safe.show(table, max_rows=40, max_chars=400, empty=f"no messages for task {task}"))
