"""Analyses: pure functions from a Run's tidy tables to answers (DataFrames or small dicts).

One module per report section; none plots, none knows a file format. Every function works
on empty and NA-heavy tables, returning empty frames with the documented columns.

>>> from analysis_kit import analyses as an                    # doctest: +SKIP
>>> an.latency_stats(run.events, by=["kind", "name"])          # doctest: +SKIP
"""

from __future__ import annotations

from .comparison import changed_outcomes, compare
from .conversations import (export_openai_jsonl, largest_tool_outputs, message_counts,
                            repeated_tool_calls, transcript)
from .coordination import agent_reliability, answers, restarts, vote_counts, votes
from .cost import agent_vs_framework, cost_by, cost_per_success
from .failures import actionable, failures_by, recurring_failures, tool_errors
from .latency import latency_stats, slowest, step_times
from .massgen import (answer_changes, attempts, command_patterns, command_runs, diminishing_returns,
                      duplicated_work, duplication_summary, largest_command_outputs, normalise_command,
                      repeated_commands, round_roi, shown_attempt)
from .overview import outcomes, pass_hat_k, totals
from .rounds import checklist_phases, rounds
from .timeline import concurrency, interval_union, stalled_tasks, task_timeline, time_split
from .traces import self_time, slowest_traces, span_tree, timed_spans

__all__ = [
    "totals", "outcomes", "pass_hat_k",
    "latency_stats", "slowest", "step_times",
    "interval_union", "task_timeline", "concurrency", "stalled_tasks", "time_split",
    "rounds", "checklist_phases",
    "cost_by", "cost_per_success", "agent_vs_framework",
    "failures_by", "actionable", "tool_errors", "recurring_failures",
    "message_counts", "repeated_tool_calls", "largest_tool_outputs", "transcript",
    "export_openai_jsonl",
    "answers", "votes", "vote_counts", "agent_reliability", "restarts",
    "compare", "changed_outcomes",
    "span_tree", "self_time", "slowest_traces", "timed_spans",
    "command_runs", "repeated_commands", "command_patterns", "largest_command_outputs", "normalise_command",
    "duplicated_work", "duplication_summary", "answer_changes", "round_roi", "diminishing_returns",
    "attempts", "shown_attempt",
]
