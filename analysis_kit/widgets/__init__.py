"""ipywidgets explorers for drilling into a run, plus the static views the report uses.

Each explorer takes a :class:`~analysis_kit.model.Run`, exposes its controls, its Output
widgets and its current state as attributes (so tests and users can drive it by setting
``.value``), and has ``.static_view()``: the same view as a plain figure and escaped tables,
which survives markdown export (content inside Output widgets does not).

>>> import analysis_kit as ak                                   # doctest: +SKIP
>>> from analysis_kit import widgets
>>> ex = widgets.explore(ak.load("sample_logs/tau2_results"))   # doctest: +SKIP
>>> ex.latency.kind.value = "tool_call"                           # doctest: +SKIP
>>> ex.task.current_task                                          # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import Run
from ._common import ALL, NA_LABEL, StaticView, TaskIndex, output_text
from .comparison import RunComparison, comparison_static
from .failures import FailureExplorer, failing_trial, failure_html, failures_static
from .latency import LatencyExplorer, latency_static
from .task import TaskExplorer, fold_html, task_header, task_list, task_static, transcript_html

__all__ = [
    "ALL", "NA_LABEL", "StaticView", "TaskIndex", "output_text",
    "LatencyExplorer", "latency_static", "TaskExplorer", "task_static", "task_list", "task_header",
    "transcript_html", "fold_html", "FailureExplorer", "failures_static", "failure_html", "failing_trial",
    "RunComparison", "comparison_static", "Explorers", "explore",
]


@dataclass
class Explorers:
    """The explorers of one run, linked, in the tabs of ``widget``: choosing a slow call or
    a failure opens its task (that trial, the call outlined) in ``task`` and switches to
    the Task tab, so the result of a click is on screen. ``comparison`` is the fourth tab
    when the run holds several runs."""

    task: TaskExplorer
    latency: LatencyExplorer
    failures: FailureExplorer
    widget: Any
    comparison: RunComparison | None = None

    TASK_TAB = 0

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def explore(run: Run, *, run_id: str | None = None) -> Explorers:
    """Build the task, latency and failure explorers of ``run`` (one run of a ``load_runs``
    result: the first unless ``run_id`` says), linked, in a Tab.

    >>> ex = explore(run); ex.latency.calls.value = 0; ex.task.current_task   # doctest: +SKIP
    """
    import ipywidgets as w

    from .task import single_run

    whole = run
    run = single_run(run, run_id)
    index = TaskIndex(run)
    task = TaskExplorer(run, index=index)
    latency = LatencyExplorer(run, task_explorer=task, index=index)
    failures = FailureExplorer(run, task_explorer=task)
    children, titles = [task.widget, latency.widget, failures.widget], ["Task", "Latency", "Failures"]
    comparison = None
    if len(whole.run_ids) > 1:
        comparison = RunComparison(whole)
        children.append(comparison.widget)
        titles.append("Comparison")
    tab = w.Tab(children=children)
    tab.add_class("ak-explorers")
    for i, title in enumerate(titles):
        tab.set_title(i, title)

    def show_task_tab(task_id: str, trial: Any) -> None:
        tab.selected_index = Explorers.TASK_TAB

    task.on_open(show_task_tab)
    return Explorers(task=task, latency=latency, failures=failures, widget=tab, comparison=comparison)
