"""Run comparison: pick two runs of a ``load_runs`` result and a metric; see both values,
the change with its interval (analyses.compare) and the tasks whose outcome changed."""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from .. import analyses as an
from .. import plots, safe
from ..model import Run, concat_runs
from ._common import ALL, StaticView, clear_figure, figure_data, new_figure, object_data, render


def _as_multi(runs: Run | Sequence[Run]) -> Run:
    return runs if isinstance(runs, Run) else concat_runs(list(runs))


class RunComparison:
    """Two runs side by side.

    Controls: ``.run_a``, ``.run_b`` (Dropdowns of run ids), ``.metric`` (Dropdown: "all"
    or one metric of ``analyses.compare``). Outputs: ``.chart_out``, ``.table_out``,
    ``.changes_out``. State: ``.comparison`` (the full compare table of the pair),
    ``.rows`` (the rows shown), ``.changes`` (changed_outcomes), ``.figure``.
    Compare tables are cached per pair, so switching the metric costs only a redraw.

    >>> cmp = RunComparison(ak.load_runs([a, b])); cmp.metric.value = "pass_rate"   # doctest: +SKIP
    """

    def __init__(self, runs: Run | Sequence[Run], *, n_boot: int = 500, seed: int = 0):
        import ipywidgets as w

        self.run = _as_multi(runs)
        ids = self.run.run_ids
        self.n_boot, self.seed = n_boot, seed
        self._cache: dict[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]] = {}
        self.run_a = w.Dropdown(options=ids, value=ids[0], description="run a")
        self.run_b = w.Dropdown(options=ids, value=ids[1] if len(ids) > 1 else ids[0], description="run b")
        self.metric = w.Dropdown(options=[ALL], value=ALL, description="metric")
        self.chart_out, self.table_out, self.changes_out = w.Output(), w.Output(), w.Output()
        # Tall enough for a dozen metrics, with their names on the left.
        self.figure = new_figure(9, 4.6, left=0.25, bottom=0.12)
        self.rows = pd.DataFrame()
        self.changes = pd.DataFrame()
        self.comparison = pd.DataFrame()
        self.run_a.observe(self._on_pair, names="value")
        self.run_b.observe(self._on_pair, names="value")
        self.metric.observe(self._on_metric, names="value")
        self._on_pair()
        self.widget = w.VBox([w.HBox([self.run_a, self.run_b, self.metric]),
                              self.chart_out, self.table_out, self.changes_out])

    def _pair(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        key = (self.run_a.value, self.run_b.value)
        if key not in self._cache:
            a, b = self.run.select(key[0]), self.run.select(key[1])
            self._cache[key] = (an.compare(a, b, n_boot=self.n_boot, seed=self.seed), an.changed_outcomes(a, b))
        return self._cache[key]

    def _on_pair(self, change: Any = None) -> None:
        if self.run_a.value == self.run_b.value:
            self.comparison, self.changes, self.rows = pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
            render(self.chart_out)
            render(self.table_out, object_data(safe.note("pick two different runs")))
            render(self.changes_out)
            return
        self.comparison, self.changes = self._pair()
        metrics = [ALL] + self.comparison["metric"].tolist()
        keep = self.metric.value if self.metric.value in metrics else ALL
        self.metric.unobserve(self._on_metric, names="value")
        self.metric.options, self.metric.value = metrics, keep
        self.metric.observe(self._on_metric, names="value")
        render(self.changes_out, object_data(safe.show(
            self.changes, caption="tasks whose outcome changed", empty="no task changed outcome")))
        self._on_metric()

    def _on_metric(self, change: Any = None) -> None:
        if self.comparison.empty:
            return
        metric = self.metric.value
        self.rows = self.comparison if metric == ALL else self.comparison[self.comparison["metric"] == metric]
        clear_figure(self.figure)
        ax = plots.compare_plot(self.comparison, metric=None if metric == ALL else metric,
                                ax=self.figure.add_subplot())
        ax.title.set_fontsize(9)  # run ids can be long; keep the title inside the figure
        render(self.chart_out, figure_data(self.figure))
        render(self.table_out, object_data(safe.show(
            self.rows, caption=f"{self.run_b.value} (b) against {self.run_a.value} (a)")))

    def static_view(self) -> StaticView:
        return comparison_static(self.run, self.run_a.value, self.run_b.value, n_boot=self.n_boot)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def comparison_static(runs: Run | Sequence[Run], run_a: str | None = None, run_b: str | None = None,
                      *, n_boot: int = 500, seed: int = 0) -> StaticView:
    """A plain view of two runs compared: the relative-change chart, the compare table and
    the tasks whose outcome changed (first two runs unless named).

    >>> comparison_static(ak.load_runs([a, b]))              # doctest: +SKIP
    """
    run = _as_multi(runs)
    ids = run.run_ids
    run_a, run_b = run_a or ids[0], run_b or ids[min(1, len(ids) - 1)]
    if run_a == run_b:
        return StaticView(parts=[("Comparison", safe.note("a comparison needs two runs"))])
    a, b = run.select(run_a), run.select(run_b)
    table = an.compare(a, b, n_boot=n_boot, seed=seed)
    fig = new_figure(8, 3.5)
    plots.compare_plot(table, ax=fig.add_subplot())
    return StaticView(figures=[fig], parts=[
        (f"{run_b} (b) against {run_a} (a)", safe.show(table)),
        ("Tasks whose outcome changed", safe.show(an.changed_outcomes(a, b), empty="no task changed outcome")),
    ])
