"""Latency explorer: filter operations by kind, model, tool, agent and duration range; see
their histogram and the slowest matching calls; choose a call to open its task.

Everything a filter touches is prepared once at construction: integer codes per column, the
durations sorted once (with their row positions) and their log10. A dropdown change is a few
integer compares and one gather; a slider change is two binary searches, one np.histogram and
a bar draw. Nothing re-scans the events table per change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import analyses as an
from .. import formatting as fmt
from .. import plots, safe
from ..analyses._util import CONTAINER_KINDS, INSTANT_KINDS, LLM_KINDS, duration_ms
from ..model import Run
from ._common import (ALL, Codes, StaticView, TaskIndex, and_masks, figure_data, html_data,
                      label_text, new_figure, object_data, options_with_all, render)

LOG_DECADES = 2.0  # a log axis once durations spread over more than this many decades
MIN_MS = 1e-3  # zero-length operations sit at this floor on a log axis
ROW_COLUMNS = ["task_id", "trial", "agent", "kind", "name", "duration_ms", "start", "end", "error"]


class LatencyExplorer:
    """Histogram and slowest calls of a run's operations, filtered by dropdowns and a
    duration range.

    Controls: ``.kind``, ``.model``, ``.tool``, ``.agent`` (Dropdowns with "all"),
    ``.duration`` (a FloatRangeSlider; over log10(ms) when ``.log`` is True, readout in ms
    in ``.duration_label``), ``.calls`` (a Select of the slowest matching calls).
    Outputs: ``.hist_out``, ``.calls_out``, ``.task_out``. State: ``.rows`` (the calls
    listed), ``.count`` (operations matching), ``.figure``/``.ax`` (last histogram),
    ``.counts``/``.edges_ms`` (its bins), ``.selected_call``.

    >>> ex = LatencyExplorer(run)                        # doctest: +SKIP
    >>> ex.kind.value = "tool_call"; ex.rows.head()        # doctest: +SKIP
    """

    def __init__(self, run: Run, *, task_explorer: Any = None, n_slowest: int = 15, bins: int = 50,
                 index: TaskIndex | None = None):
        import ipywidgets as w

        self.run, self.task_explorer, self.n_slowest, self.bins = run, task_explorer, n_slowest, bins
        self._index = index
        self._prepare(run.events)
        self.kind = w.Dropdown(options=options_with_all(self._kind.categories), value=ALL, description="kind")
        self.model = w.Dropdown(options=options_with_all(self._names_of(self._is_llm)), value=ALL,
                                description="model")
        self.tool = w.Dropdown(options=options_with_all(self._names_of(self._is_tool)), value=ALL,
                               description="tool")
        self.agent = w.Dropdown(options=options_with_all(self._agent.categories), value=ALL,
                                description="agent")
        lo, hi = self._span
        step = (hi - lo) / 500 if hi > lo else 0.01
        self.duration = w.FloatRangeSlider(min=lo, max=hi, value=(lo, hi), step=step,
                                           description="log10 ms" if self.log else "ms",
                                           readout=not self.log, continuous_update=False,
                                           layout=w.Layout(width="60%"))
        self.duration_label = w.HTML()
        self.calls = w.Select(options=[], rows=8, description="slowest", layout=w.Layout(width="95%"))
        self.calls.add_class("ak-calls-select")
        self.summary = w.HTML()
        self.hist_out, self.calls_out, self.task_out = w.Output(), w.Output(), w.Output()
        self.rows = pd.DataFrame(columns=ROW_COLUMNS)
        self.selected_call: pd.Series | None = None
        self.figure = new_figure(8, 3.2, left=0.09)
        self.ax = self._setup_axes()
        for control in (self.kind, self.model, self.tool, self.agent):
            control.observe(self._on_filter, names="value")
        self.duration.observe(self._on_range, names="value")
        self.calls.observe(self._on_call, names="value")
        self._on_filter()
        self.widget = w.VBox([
            w.HBox([self.kind, self.model]), w.HBox([self.tool, self.agent]),
            w.HBox([self.duration, self.duration_label]), self.summary,
            self.hist_out, self.calls, self.calls_out, self.task_out,
        ])

    # --- preparation (once) -----------------------------------------------------------------

    def _prepare(self, events: pd.DataFrame) -> None:
        """Codes, sorted durations and their log10 for every timed, non-container operation."""
        ev = events[~events["kind"].isin(CONTAINER_KINDS + INSTANT_KINDS)]
        ms = duration_ms(ev).to_numpy(dtype="float64")
        timed = np.isfinite(ms)
        self.untimed = int((~timed).sum())
        self._events = ev[timed].reset_index(drop=True)
        ms = ms[timed]
        self._kind, self._name = Codes.of(self._events["kind"]), Codes.of(self._events["name"])
        self._agent = Codes.of(self._events["agent"])
        kind_values = self._events["kind"].to_numpy(dtype=object)
        self._is_llm = np.isin(kind_values, list(LLM_KINDS))
        self._is_tool = kind_values == "tool_call"
        self._order = np.argsort(ms, kind="stable")  # row positions by ascending duration
        self._sorted_ms = ms[self._order]
        positive = ms[ms > 0]
        self.log = bool(positive.size and positive.max() / positive.min() > 10 ** LOG_DECADES)
        self._sorted_x = np.log10(np.maximum(self._sorted_ms, MIN_MS)) if self.log else self._sorted_ms
        if ms.size:
            lo, hi = float(self._sorted_x[0]), float(self._sorted_x[-1])
            self._span = (np.floor(lo * 100) / 100, np.ceil(hi * 100) / 100) if self.log else (lo, hi)
            if self._span[1] <= self._span[0]:  # one distinct duration: give the slider a width
                self._span = (self._span[0], self._span[0] + 1.0)
        else:
            self._span = (0.0, 1.0)
        self._subset = np.arange(ms.size)  # positions into the sorted arrays matching the dropdowns

    def _names_of(self, which: np.ndarray) -> list[str]:
        used = np.unique(self._name.codes[which & (self._name.codes >= 0)])
        return [self._name.categories[c] for c in used]

    # --- callbacks ----------------------------------------------------------------------------

    def _dropdown_mask(self) -> np.ndarray | None:
        model, tool = self._name.mask(self.model.value), self._name.mask(self.tool.value)
        return and_masks([
            self._kind.mask(self.kind.value), self._agent.mask(self.agent.value),
            None if model is None else model & self._is_llm,
            None if tool is None else tool & self._is_tool,
        ])

    def _on_filter(self, change: Any = None) -> None:
        mask = self._dropdown_mask()
        # Positions (into the sorted arrays) of matching rows, still in ascending duration.
        self._subset = np.arange(self._order.size) if mask is None else np.flatnonzero(mask[self._order])
        self._redraw()

    def _on_range(self, change: Any = None) -> None:
        self._redraw()

    def _in_range(self) -> np.ndarray:
        """Positions into the sorted arrays that match the dropdowns and the range."""
        lo, hi = self.duration.value
        x = self._sorted_x[self._subset]  # ascending, so the range is one binary search each side
        a, b = np.searchsorted(x, lo, side="left"), np.searchsorted(x, hi, side="right")
        # The slider rounds to its step; the ends of the span always include the extremes.
        if lo <= self.duration.min:
            a = 0
        if hi >= self.duration.max:
            b = x.size
        return self._subset[a:b]

    def _redraw(self) -> None:
        chosen = self._in_range()
        self.count = int(chosen.size)
        self._draw_hist(chosen)
        self._list_slowest(chosen)
        lo, hi = self.duration_ms
        self.duration_label.value = f"{_fmt_ms(lo)} – {_fmt_ms(hi)}"
        self.summary.value = self._summary_html(chosen)

    @property
    def duration_ms(self) -> tuple[float, float]:
        """The slider's range in milliseconds."""
        lo, hi = self.duration.value
        return (10 ** lo, 10 ** hi) if self.log else (lo, hi)

    def set_duration_ms(self, low: float, high: float) -> None:
        """Set the range in milliseconds (converted to the slider's scale)."""
        to_x = (lambda v: float(np.log10(max(v, MIN_MS)))) if self.log else float
        lo = min(max(to_x(low), self.duration.min), self.duration.max)
        hi = min(max(to_x(high), self.duration.min), self.duration.max)
        self.duration.value = (lo, hi)

    def _setup_axes(self):
        """Axes with one bar per bin and a hidden "no data" text, drawn once; a redraw only
        moves and resizes the bars (clearing and rebuilding the axes costs more than the
        histogram itself)."""
        ax = self.figure.add_subplot()
        self._bars = ax.bar(np.arange(self.bins), np.zeros(self.bins), width=1.0, align="edge",
                            color=plots.MIXED_COLOR, alpha=0.75, linewidth=0)
        self._no_data = ax.text(0.5, 0.5, plots.NO_DATA, transform=ax.transAxes, ha="center",
                                va="center", color="0.4", visible=False)
        if self.log:
            from matplotlib.ticker import FuncFormatter, NullFormatter

            ax.set_xscale("log")
            # Plain "10 ms" / "2 s" labels: the default 10^k labels go through mathtext, whose
            # parser alone costs more than the rest of a redraw.
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, pos: fmt.duration_ms(v)))
            ax.xaxis.set_minor_formatter(NullFormatter())
        if not self.log:
            fmt.duration_axis(ax, "ms", "x")
        ax.set_xlabel("duration" + (", log scale" if self.log else ""))
        ax.set_ylabel("operations (count)")
        return ax

    def _draw_hist(self, chosen: np.ndarray) -> None:
        """np.histogram of the chosen durations, drawn as bars (never a per-point plot)."""
        lo, hi = self.duration.value
        self.counts, edges = np.histogram(self._sorted_x[chosen], bins=self.bins, range=(lo, hi))
        self.edges_ms = 10 ** edges if self.log else edges
        for rect, x0, x1, height in zip(self._bars.patches, self.edges_ms[:-1], self.edges_ms[1:], self.counts):
            rect.set_x(x0)
            rect.set_width(x1 - x0)
            rect.set_height(height)
        self.ax.set_xlim(self.edges_ms[0], self.edges_ms[-1])
        if self.log:
            from matplotlib.ticker import LogLocator

            narrow = hi - lo < 3  # decades shown: a narrow view also gets ticks at 2x and 5x
            self.ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if narrow else (1.0,)))
        self.ax.set_ylim(0, max(1, int(self.counts.max(initial=0))) * 1.05)
        color = plots.kind_color(self.kind.value) if self.kind.value != ALL else plots.MIXED_COLOR
        if color != getattr(self, "_bar_color", None):  # one colour per kind, as in every plot
            for rect in self._bars.patches:
                rect.set_facecolor(color)
            self._bar_color = color
        self._no_data.set_visible(chosen.size == 0)
        self.ax.set_title(plots.escape_label("Latency of " + self._filter_text(), 90))
        render(self.hist_out, figure_data(self.figure))

    def _filter_text(self) -> str:
        parts = [f"{name} {control.value}" for name, control in
                 (("kind", self.kind), ("model", self.model), ("tool", self.tool), ("agent", self.agent))
                 if control.value != ALL]
        return ", ".join(parts) or "all operations"

    def _summary_html(self, chosen: np.ndarray) -> str:
        if chosen.size == 0:
            return "<p>no operation matches</p>"
        values = self._sorted_ms[chosen]  # ascending: percentiles are lookups
        p50, p90 = (_sorted_percentile(values, q) for q in (50, 90))
        extra = f"; {self.untimed:,} without a duration left out" if self.untimed else ""
        return (f"<p>{chosen.size:,} operations match: p50 {_fmt_ms(p50)}, p90 {_fmt_ms(p90)}, "
                f"max {_fmt_ms(values[-1])}{extra}</p>")

    def _list_slowest(self, chosen: np.ndarray) -> None:
        top = chosen[::-1][: self.n_slowest]
        rows = self._events.iloc[self._order[top]]
        self.rows = rows[ROW_COLUMNS].assign(duration_ms=self._sorted_ms[top])
        self._row_positions = self._order[top]
        labels = [f"{fmt.duration_ms(ms):>12}  {label_text(k, 20)} {label_text(n, 40)}  task {label_text(t, 40)}"
                  for ms, k, n, t in zip(self.rows["duration_ms"], self.rows["kind"], self.rows["name"],
                                         self.rows["task_id"])]
        self.calls.unobserve(self._on_call, names="value")
        self.calls.options = list(zip(labels, range(len(labels))))
        self.calls.value = None
        self.calls.observe(self._on_call, names="value")
        render(self.calls_out, object_data(safe.show(self.rows, caption="slowest matching calls")))

    def _on_call(self, change: Any = None) -> None:
        """A call was chosen: open its task in the linked task explorer, else list its events."""
        if self.calls.value is None:
            return
        self.selected_call = self.rows.iloc[self.calls.value]
        task_id, trial = self.selected_call["task_id"], self.selected_call["trial"]
        if pd.isna(task_id):
            render(self.task_out, object_data(safe.note("this call belongs to no task")))
            return
        if self.task_explorer is not None:
            from .task import call_of

            self.task_explorer.show_task(str(task_id), None if pd.isna(trial) else int(trial),
                                         highlight=call_of(self.selected_call))
            render(self.task_out, object_data(safe.note(
                f"task {task_id} opened in the task explorer, this call outlined")))
            return
        if self._index is None:
            self._index = TaskIndex(self.run)
        events = self._index.events(str(task_id), None if pd.isna(trial) else int(trial))
        timeline = an.task_timeline(events)
        render(self.task_out, object_data(safe.show(
            timeline[["offset_s", "kind", "name", "agent", "duration_ms", "error"]],
            caption=f"events of task {task_id}", max_rows=50)))

    # --- display ------------------------------------------------------------------------------

    def static_view(self) -> StaticView:
        """The current filter as a plain figure and tables (for markdown export)."""
        return latency_static(self.run)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def latency_static(run: Run, *, n: int = 10) -> StaticView:
    """A plain view of a run's latency: the histogram by kind (plots.latency_hist),
    percentiles by kind and the ``n`` slowest calls, all escaped.

    >>> latency_static(run)                               # doctest: +SKIP
    """
    fig = new_figure(8, 3.5)
    plots.latency_hist(run.events, by="kind", ax=fig.add_subplot())
    return StaticView(figures=[fig], parts=[
        ("Latency by kind (ms)", safe.show(an.latency_stats(run.events, by="kind"))),
        (f"The {n} slowest calls", safe.show(an.slowest(run.events, n=n))),
    ])


def _sorted_percentile(values: np.ndarray, q: float) -> float:
    """numpy's default (linear) percentile of an already sorted array, in O(1)."""
    pos = (values.size - 1) * q / 100
    low = int(np.floor(pos))
    high = min(low + 1, values.size - 1)
    return float(values[low] + (values[high] - values[low]) * (pos - low))


def _fmt_ms(ms: float) -> str:
    return fmt.duration_ms(ms) if np.isfinite(ms) else "?"
