"""Failure explorer: filter a run's failures by step, classification and category, list
them, and show one in full (error, reasoning, its eval or task), escaped."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import analyses as an
from .. import plots, safe
from ..analyses._util import tasks_success
from ..model import Run
from ._common import (ALL, NA_LABEL, Codes, StaticView, and_masks, figure_data, html_data,
                      label_text, new_figure, object_data, render)
from .task import fold_html

FILTERS = ("step", "classification", "category")
LIST_COLUMNS = ["task_id", "trial", "category", "step", "classification", "error"]


def _options(codes: Codes) -> list[str]:
    values = sorted(codes.categories)
    return [ALL] + values + ([NA_LABEL] if (codes.codes == -1).any() else [])


class FailureExplorer:
    """The failures of a run (or of several runs from ``load_runs``).

    Controls: ``.step``, ``.classification``, ``.category`` (Dropdowns with "all" and
    "(none)" for missing values), ``.failure`` (a Select of the matching failures).
    Outputs: ``.summary_out`` (counts by step and classification of the matching
    failures), ``.list_out``, ``.detail_out``. State: ``.rows`` (the matching failures),
    ``.current_failure`` (the row shown), ``.detail_html``.

    >>> ex = FailureExplorer(run); ex.step.value = "tsc"; len(ex.rows)   # doctest: +SKIP
    """

    def __init__(self, run: Run, *, task_explorer: Any = None, max_listed: int = 200):
        import ipywidgets as w

        self.run, self.task_explorer, self.max_listed = run, task_explorer, max_listed
        self._failures = run.failures.reset_index(drop=True)
        self._codes = {name: Codes.of(self._failures[name]) for name in FILTERS}
        self.step = w.Dropdown(options=_options(self._codes["step"]), value=ALL, description="step")
        self.classification = w.Dropdown(options=_options(self._codes["classification"]), value=ALL,
                                         description="classification")
        self.category = w.Dropdown(options=_options(self._codes["category"]), value=ALL,
                                   description="category")
        self.failure = w.Select(options=[], rows=8, description="failures", layout=w.Layout(width="95%"))
        self.failure.add_class("ak-failure-select")
        self.summary_out, self.list_out, self.detail_out = w.Output(), w.Output(), w.Output()
        self.current_failure: pd.Series | None = None
        self.detail_html = ""
        for control in (self.step, self.classification, self.category):
            control.observe(self._on_filter, names="value")
        self.failure.observe(self._on_failure, names="value")
        self._on_filter()
        self.widget = w.VBox([w.HBox([self.step, self.classification, self.category]),
                              self.summary_out, self.failure, self.detail_out, self.list_out])

    def _on_filter(self, change: Any = None) -> None:
        mask = and_masks([self._codes[name].mask(getattr(self, name).value) for name in FILTERS])
        self.rows = self._failures if mask is None else self._failures[mask]
        counts = an.failures_by(self.rows, by=["step", "classification"])
        render(self.summary_out, object_data(safe.show(
            counts, caption=f"{len(self.rows)} of {len(self._failures)} failures", empty="no failures match")))
        listed = self.rows.head(self.max_listed)
        labels = [f"{label_text(t, 40)}  ·  {label_text(s, 20)}  ·  {label_text(c, 20)}  ·  {label_text(e, 60)}"
                  for t, s, c, e in zip(listed["task_id"], listed["step"], listed["classification"], listed["error"])]
        self.failure.unobserve(self._on_failure, names="value")
        self.failure.options = list(zip(labels, range(len(labels))))
        self.failure.value = 0 if labels else None
        self.failure.observe(self._on_failure, names="value")
        more = len(self.rows) - len(listed)
        render(self.list_out, *([object_data(safe.note(f"{more} more failures not listed"))] if more else []))
        self._on_failure()

    def _on_failure(self, change: Any = None) -> None:
        if self.failure.value is None:
            self.current_failure = None
            self.detail_html = "<p><em>no failure chosen</em></p>"
            render(self.detail_out, html_data(self.detail_html, "no failure chosen"))
            return
        self.current_failure = self.rows.iloc[self.failure.value]
        self.detail_html = failure_html(self.current_failure)
        render(self.detail_out, html_data(self.detail_html, safe.clean(self.current_failure["error"])))
        task_id = self.current_failure["task_id"]
        # Only a failure the user picks opens its task; the automatic first pick does not.
        if change is not None and self.task_explorer is not None and pd.notna(task_id) and str(task_id) in self.task_explorer.rows:
            self.task_explorer.show_task(str(task_id), failing_trial(self.run, self.current_failure))

    @property
    def current_trial(self) -> int | None:
        """The trial of the failure shown (see :func:`failing_trial`)."""
        return None if self.current_failure is None else failing_trial(self.run, self.current_failure)

    def static_view(self) -> StaticView:
        return failures_static(self.run)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def failing_trial(run: Run, failure: pd.Series) -> int | None:
    """The trial a failure belongs to: its own ``trial``, else the task's only failed
    attempt (None when that is not known: the task explorer then shows its first trial).

    >>> run = Run(tasks=pd.DataFrame({"task_id": ["a", "a"], "trial": [0, 1], "success": [True, False]}))
    >>> failing_trial(run, pd.Series({"task_id": "a"}))
    1
    """
    trial = failure.get("trial")
    if trial is not None and not pd.isna(trial):
        return int(trial)
    tasks = run.tasks[run.tasks["task_id"].astype("string") == str(failure.get("task_id"))]
    failed = tasks[tasks_success(tasks).fillna(True) == False]["trial"].dropna()  # noqa: E712
    return int(failed.iloc[0]) if len(failed) == 1 else None


def failure_html(row: pd.Series) -> str:
    """One failure in full: every field escaped, long error and reasoning folded.

    >>> failure_html(pd.Series({"task_id": "t", "error": "<script>x</script>"}))[:40]
    '<div class="ak-failure"><dl><dt>task_id<'
    """
    fields = []
    for name in ("run_id", "task_id", "trial", "category", "step", "classification"):
        value = row.get(name)
        if value is not None and pd.notna(value):
            fields.append(f"<dt>{name}</dt><dd>{safe.escape_html(value, max_chars=200)}</dd>")
    for name in ("error", "reasoning"):
        value = row.get(name)
        if value is not None and pd.notna(value):
            fields.append(f"<dt>{name}</dt><dd>{fold_html(value)}</dd>")
    return '<div class="ak-failure"><dl>' + "".join(fields) + "</dl></div>"


def failures_static(run: Run, *, n: int = 20) -> StaticView:
    """A plain view of a run's failures: bars by step and classification, the counts, and
    the first ``n`` failures with their error (escaped, cut).

    >>> failures_static(run)                                 # doctest: +SKIP
    """
    fig = new_figure(8, 3.5)
    plots.failures_bars(run.failures, by="step", ax=fig.add_subplot())
    return StaticView(figures=[fig], parts=[
        ("Failures by step and classification",
         safe.show(an.failures_by(run.failures, by=["step", "classification"]), empty="no failures")),
        (f"Failures (first {n})", safe.show(run.failures[LIST_COLUMNS + ["reasoning"]], max_rows=n,
                                            empty="no failures")),
    ])
