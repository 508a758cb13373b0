"""Plots of a Run's tidy tables, seaborn-style: data first, keyword options, ``ax=``.

Every function draws on ``ax`` (default: the current Axes), returns that Axes and never
calls ``plt.show``. Each gives a title, axis labels with units and a legend where colour
means something; an empty table (or one whose needed columns are all NA) draws the text
"no data" instead of failing. Labels taken from logs (task ids, tool and model names) are
untrusted and go through :func:`escape_label`, so a ``$`` never turns on mathtext.

>>> import matplotlib; matplotlib.use("Agg")
>>> from analysis_kit import plots                       # doctest: +SKIP
>>> ax = plots.latency_hist(run.events, by="kind")       # doctest: +SKIP
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Sequence

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import MatplotlibDeprecationWarning
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import analyses as an
from . import formatting as fmt
from .analyses._util import CONTAINER_KINDS, INSTANT_KINDS, LLM_KINDS, duration_ms, seconds, table
from .model import Run, conform
from .safe import redact

NO_DATA = "no data"
NONE_LABEL = "(none)"
LABEL_MAX = 60  # characters of a label drawn; log text can be arbitrarily long
ERROR_COLOR = "#d62728"
SECONDS_PER_DAY = 86400.0
_CONTROL = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|[\x00-\x1f\x7f]")  # ANSI codes first

# One colour per kind in every plot (histograms, Gantt charts, cost bars, explorers). Red is
# kept for errors. Kinds not listed get a colour from EXTRA_COLORS picked by their name.
KIND_COLORS = {
    "llm_call": "#1f77b4", "tool_call": "#ff7f0e", "expert_call": "#2ca02c", "user_sim": "#9467bd",
    "evaluator": "#8c564b", "step": "#7f7f7f", "round": "#bcbd22", "answer": "#17becf",
    "vote": "#e377c2", "restart": "#393b79", "coordination": "#637939",
}
EXTRA_COLORS = ("#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
                "#5254a3", "#8ca252", "#bd9e39", "#ad494a", "#a55194", "#6b6ecf")
MIXED_COLOR = "#6b7a8f"  # operations of several kinds drawn as one
PERCENTILE_STYLES = ("--", "-.", ":")


# ----------------------------------------------------------------------------- helpers

def escape_label(value: Any, max_len: int = LABEL_MAX) -> str:
    """Untrusted text made safe as a matplotlib label: ``$`` escaped (matplotlib would
    read ``$...$`` as mathtext), control characters and ANSI codes blanked, secrets redacted
    (as everywhere else, see :mod:`analysis_kit.safe`), long text cut,
    a leading ``_`` (which legends hide) guarded, and NA shown as ``(none)``.

    >>> escape_label("cost $5 vs $6")
    'cost \\\\$5 vs \\\\$6'
    >>> escape_label(None)
    '(none)'
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return NONE_LABEL
    text = redact(_CONTROL.sub(" ", str(value)))  # secrets stay out of figures too (safe.py)
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    if text.startswith("_"):
        text = " " + text
    return text.replace("$", r"\$")


def kind_color(kind: Any) -> str:
    """The colour of ``kind`` in every plot of the kit (an unknown kind: a colour picked by
    its name, the same every time).

    >>> kind_color("llm_call"), kind_color("tool_call") == kind_color("tool_call")
    ('#1f77b4', True)
    """
    import zlib

    text = str(kind)
    if text.startswith(" _"):
        text = text[1:]  # escape_label's guard of a leading underscore
    if text in KIND_COLORS:
        return KIND_COLORS[text]
    return EXTRA_COLORS[zlib.crc32(text.encode("utf-8")) % len(EXTRA_COLORS)]


def _labels(values: pd.Series) -> pd.Series:
    """A column of untrusted labels escaped, each distinct value once (fast on 1M rows)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    escaped = np.array([escape_label(v) for v in uniques] + [NONE_LABEL], dtype=object)
    return pd.Series(escaped[codes], index=values.index, dtype=object)  # code -1 (NA) -> last


def _axes(ax: Axes | None) -> Axes:
    return ax if ax is not None else plt.gca()


def _finish(ax: Axes, title: str, xlabel: str, ylabel: str) -> Axes:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def _no_data(ax: Axes, title: str, xlabel: str, ylabel: str) -> Axes:
    """The empty-input picture: titled, labelled axes carrying the text "no data"."""
    ax.text(0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", va="center",
            fontsize=14, color="0.4", gid="no_data")
    ax.set_xticks([])
    ax.set_yticks([])
    return _finish(ax, title, xlabel, ylabel)


_table = table  # the analyses' own: a Run's table, or a frame with any missing column added


def _spreads(values: np.ndarray, decades: float = 2.0) -> bool:
    """True when the positive values span more than ``decades`` powers of ten."""
    positive = values[values > 0]
    return bool(positive.size) and positive.max() / positive.min() > 10 ** decades


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _to_datenum(times: pd.Series) -> np.ndarray:
    """tz-aware timestamps as matplotlib date numbers (days since 1970, UTC)."""
    return seconds(times) / SECONDS_PER_DAY


def _durations(events: pd.DataFrame, by: str | None) -> tuple[pd.DataFrame, str | None]:
    """(frame of ``_ms`` and the group column, group column name) for the latency plots.
    ``by="model"`` means model calls grouped by model name, ``by="tool"`` tool calls by
    function; container spans (step, round) count only when grouping by kind."""
    ev = events
    column = by
    if by == "model":
        ev, column = ev[ev["kind"].isin(LLM_KINDS)], "name"
    elif by == "tool":
        ev, column = ev[ev["kind"] == "tool_call"], "name"
    ev = ev[~ev["kind"].isin(INSTANT_KINDS)]  # answers and votes are moments, not latencies
    if by != "kind":
        ev = ev[~ev["kind"].isin(CONTAINER_KINDS)]
    if column is not None and column not in ev.columns:
        raise ValueError(f"by must be an events column, 'model' or 'tool'; got {by!r}")
    ms = duration_ms(ev).to_numpy(dtype="float64")
    keep = np.isfinite(ms)
    frame = pd.DataFrame({"_ms": ms[keep]})
    if column is not None:
        frame["_group"] = _labels(ev[column]).to_numpy()[keep]
    return frame, (None if column is None else "_group")


# ----------------------------------------------------------------------------- latency

def _bin_edges(values: np.ndarray, bins: int, log: bool) -> np.ndarray:
    if log:
        positive = values[values > 0]
        return np.geomspace(positive.min(), positive.max(), bins + 1)
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:  # one distinct value: a bin of width 1 around it
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def latency_hist(events: Run | pd.DataFrame, *, by: str | None = "kind", log: bool | None = None,
                 percentiles: Sequence[float] = (50, 90, 99), bins: int = 50, max_lines: int = 6,
                 ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Histogram of operation durations, coloured by ``by`` (``kind``, ``model``, ``tool``,
    ``name``, ``agent`` or None; a kind has its :func:`kind_color`), with vertical lines at
    the ``percentiles`` of each group drawn in the group's colour (p50 dashed, p90
    dash-dot, p99 dotted), for the ``max_lines`` largest groups: percentiles of different
    kinds are never pooled. The legend gives each group's percentiles; the x axis reads
    in ms, s or min. ``log=None`` picks a log x axis when the positive durations span more
    than two decades. Bins are computed once, so a million events still draw ``bins``
    bars per group.

    >>> ax = latency_hist(run.events, by="model", percentiles=(50, 99))   # doctest: +SKIP
    """
    ax = _axes(ax)
    group_name = {"kind": "kind", "model": "model", "tool": "tool", "name": "name",
                  "agent": "agent"}.get(by, by or "")
    title = "Latency by " + group_name if by else "Latency"
    xlabel, ylabel = "duration", "operations (count)"
    frame, hue = _durations(_table(events, "events"), by)
    values = frame["_ms"].to_numpy()
    use_log = _spreads(values) if log is None else bool(log)
    if values.size == 0 or (use_log and not (values > 0).any()):
        return _no_data(ax, title, xlabel, ylabel)
    drawn = frame[frame["_ms"] > 0] if use_log else frame
    edges = _bin_edges(drawn["_ms"].to_numpy(), bins, use_log)
    order = drawn[hue].value_counts().index.tolist() if hue else [None]
    colors = _group_colors(order, by)
    ax.set_xscale("linear")  # seaborn bins in log space on a log axis; these edges are linear
    options = {"element": "bars", "alpha": 0.55, "linewidth": 0.3}
    options.update(kwargs)
    if hue:
        sns.histplot(data=drawn, x="_ms", hue=hue, hue_order=order, palette=colors, bins=edges, ax=ax,
                     legend=False, **options)
    else:
        sns.histplot(data=drawn, x="_ms", bins=edges, ax=ax, color=colors[None], **options)
    if use_log:
        ax.set_xscale("log")
    entries = []
    for group in order:
        group_values = values if group is None else frame.loc[frame[hue] == group, "_ms"].to_numpy()
        drawn_lines = len(entries) < max_lines
        text = _percentile_lines(ax, group_values, percentiles, use_log, colors[group], group, drawn_lines)
        label = text if group is None else f"{group}  {text}"
        entries.append((Patch(facecolor=colors[group], alpha=options["alpha"]), label))
    styles = [Line2D([], [], color="0.2", linestyle=PERCENTILE_STYLES[i % 3], linewidth=1.2) for i in range(len(percentiles))]
    ax.legend([h for h, _ in entries] + styles, [lab for _, lab in entries] + [f"p{q:g}" for q in percentiles],
              title=group_name if hue else None, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0)
    fmt.duration_axis(ax, "ms", "x")
    dropped = int((values <= 0).sum()) if use_log else 0
    if dropped:
        title += f" ({dropped} non-positive not drawn on log axis)"
    if hue and len(order) > max_lines:
        title += f"; percentiles of the {max_lines} largest groups drawn"
    return _finish(ax, title, xlabel + (", log scale" if use_log else ""), ylabel)


def _group_colors(order: list, by: str | None) -> dict:
    """Colour per group: the kind's own for ``by="kind"``, tab10 in order otherwise."""
    if by == "kind":
        return {g: kind_color(g) for g in order}
    if order == [None]:
        return {None: MIXED_COLOR}
    palette = sns.color_palette("tab10", max(len(order), 1))
    return {g: palette[i % len(palette)] for i, g in enumerate(order)}


def _percentile_lines(ax: Axes, values: np.ndarray, percentiles: Sequence[float], log: bool, color: Any,
                      group: Any, draw: bool = True) -> str:
    """Vertical lines at the percentiles of ``values`` in ``color`` (one style per
    percentile, gid ``p50`` etc., the group in ``ak_group``); returns their text,
    "p50 820 ms · p90 4.3 s"."""
    if not len(percentiles) or not len(values):
        return ""
    at = np.percentile(values, list(percentiles))
    parts = []
    for i, (q, x) in enumerate(zip(percentiles, at)):
        parts.append(f"p{q:g} {fmt.duration_ms(x)}")
        if not draw or (log and x <= 0):
            continue  # a log axis cannot place it
        line = ax.axvline(x, color=color, linestyle=PERCENTILE_STYLES[i % 3], linewidth=1.4, alpha=0.95,
                          gid=f"p{q:g}", label="_percentile")
        line.ak_group = group
    return " · ".join(parts)


def latency_box(events: Run | pd.DataFrame, *, by: str = "name", kind: str | Sequence[str] | None = "tool_call",
                log: bool | None = None, max_groups: int = 30, max_points: int = 2000, seed: int = 0,
                ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Box plot with points of operation durations (ms) per ``by`` (the tool for
    ``kind="tool_call"``, the model for ``kind="llm_call"``, or ``agent``), slowest median
    on top. Only the ``max_groups`` groups with most calls are drawn; the points are a
    seeded sample of at most ``max_points``. Log x when durations span > 2 decades.

    >>> ax = latency_box(run.events, kind="llm_call")                   # doctest: +SKIP
    """
    ax = _axes(ax)
    ev = _table(events, "events")
    kinds = [kind] if isinstance(kind, str) else (list(kind) if kind is not None else None)
    if kinds is not None:
        ev = ev[ev["kind"].isin(kinds)]
    what = {"tool_call": "tool", "llm_call": "model"}.get(kinds[0], by) if kinds and len(kinds) == 1 and by == "name" else by
    title = f"{', '.join(map(escape_label, kinds)) if kinds else 'Operation'} latency by {what}"
    xlabel, ylabel = "duration", what
    frame, hue = _durations(ev, by)
    if frame.empty:
        return _no_data(ax, title, xlabel, ylabel)
    counts = frame["_group"].value_counts()
    if len(counts) > max_groups:
        frame = frame[frame["_group"].isin(counts.index[:max_groups])]
        title += f" (top {max_groups} of {len(counts)} by calls)"
    medians = frame.groupby("_group")["_ms"].median().sort_values(ascending=False, kind="stable")
    order = medians.index.tolist()
    values = frame["_ms"].to_numpy()
    use_log = _spreads(values) if log is None else bool(log)
    if use_log:
        frame = frame[frame["_ms"] > 0]
        if frame.empty:
            return _no_data(ax, title, xlabel, ylabel)
    color = kind_color(kinds[0]) if kinds and len(kinds) == 1 else MIXED_COLOR
    options = {"color": color, "showfliers": False, "width": 0.6}
    options.update(kwargs)
    with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib 3.11's deprecated vert=
        warnings.simplefilter("ignore", MatplotlibDeprecationWarning)
        sns.boxplot(data=frame, x="_ms", y="_group", order=order, orient="h",
                    log_scale=True if use_log else None, ax=ax, **options)
    sample = frame.sample(n=min(max_points, len(frame)), random_state=seed) if len(frame) > max_points else frame
    sns.stripplot(data=sample, x="_ms", y="_group", order=order, orient="h", color="0.2",
                  size=2.5, alpha=0.5, jitter=0.2, ax=ax)
    if len(sample) < len(frame):
        title += f"; {len(sample):,} of {len(frame):,} points shown"
    fmt.duration_axis(ax, "ms", "x")
    return _finish(ax, title, xlabel + (", log scale" if use_log else ""), ylabel)


# ----------------------------------------------------------------------------- timeline

def gantt(events: Run | pd.DataFrame, *, task_id: str | None = None, agent: str | None = None,
          trial: int | None = None, lane: str = "thread", kinds: Sequence[str] | None = None,
          min_width: float = 0.002, max_bars: int = 5000, highlight: dict | None = None,
          ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Gantt chart of operations: one lane per ``lane`` (``thread`` or ``agent``), bars
    coloured by kind (legend), failed operations with a red edge and a red x, time (UTC)
    on x. ``kinds`` picks the kinds drawn; by default all but the container spans (step,
    round), unless those are all there is. Bars shorter than ``min_width`` of the time
    span are widened to it so instants stay visible. One collection per lane and kind
    keeps large inputs cheap; beyond ``max_bars`` operations, bars of one lane and kind
    closer than 1/2000 of the span are merged (they look the same at that scale), while
    every failed operation keeps its own x. ``highlight`` (``{"kind", "name", "start",
    "duration_ms"}``, a call chosen elsewhere) draws that call outlined in black with a
    marker above it (gid ``highlight``).

    >>> ax = gantt(run.events, task_id="12", lane="thread")            # doctest: +SKIP
    """
    ax = _axes(ax)
    subject = " ".join(p for p in (
        f"task {escape_label(task_id)}" if task_id is not None else "",
        f"agent {escape_label(agent)}" if agent is not None else "",
        f"trial {trial}" if trial is not None else "") if p) or "all tasks"
    title, xlabel = f"Timeline of {subject}", "time (UTC)"
    timeline = an.task_timeline(_table(events, "events"), task_id=task_id, agent=agent, trial=trial)
    if kinds is not None:
        timeline = timeline[timeline["kind"].isin(list(kinds))]
    elif (~timeline["kind"].isin(CONTAINER_KINDS)).any():
        timeline = timeline[~timeline["kind"].isin(CONTAINER_KINDS)]
    if lane not in ("thread", "agent"):
        raise ValueError(f"lane must be 'thread' or 'agent'; got {lane!r}")
    other = "agent" if lane == "thread" else "thread"
    if len(timeline) and timeline[lane].isna().all() and timeline[other].notna().any():
        lane = other  # the source fills only the other column (MassGen has no threads)
    if timeline.empty:
        return _no_data(ax, title, xlabel, lane)
    tl = timeline.assign(_lane=_labels(timeline[lane]), _kind=_labels(timeline["kind"]))
    tl["_x0"] = _to_datenum(tl["start"])
    width = (tl["end_offset_s"] - tl["offset_s"]).to_numpy() / SECONDS_PER_DAY
    span = max(float((tl["end_offset_s"].max() - tl["offset_s"].min()) / SECONDS_PER_DAY), 1e-9)
    tl["_w"] = np.maximum(width, min_width * span)
    lanes = tl.groupby("_lane", sort=False)["offset_s"].min().sort_values(kind="stable").index.tolist()
    tl["_y"] = tl["_lane"].map({name: i for i, name in enumerate(lanes)})
    kind_order = tl["_kind"].value_counts().index.tolist()
    colors = {k: kind_color(k) for k in kind_order}
    failed = tl["error"].notna().to_numpy()
    bars = tl.assign(_failed=failed)[["_y", "_kind", "_x0", "_w", "_failed"]]
    if len(bars) > max_bars:
        bars = _merge_bars(bars, resolution=span / 2000)
    options = {"alpha": 0.85}
    options.update(kwargs)
    for (y, kind), part in bars.groupby(["_y", "_kind"], sort=True):
        bad = part["_failed"].to_numpy()
        ax.broken_barh(list(zip(part["_x0"], part["_w"])), (y - 0.4, 0.8), facecolors=colors[kind],
                       edgecolors=np.where(bad, ERROR_COLOR, "none"), linewidths=np.where(bad, 1.5, 0),
                       gid="bars", **options)
    handles = [Patch(facecolor=colors[k], label=k) for k in kind_order]
    if failed.any():
        errs = tl[failed]
        ax.plot(errs["_x0"] + errs["_w"] / 2, errs["_y"], linestyle="none", marker="x",
                color=ERROR_COLOR, markersize=7, gid="errors", label="_errors")
        handles.append(Line2D([], [], linestyle="none", marker="x", color=ERROR_COLOR, label="error"))
    if highlight is not None:
        handles += _highlight(ax, tl, highlight)
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(len(lanes) - 0.5, -0.5)  # first lane on top
    _date_axis(ax)
    ax.legend(handles=handles, title="kind", loc="upper right", fontsize=8)  # "best" scans every bar: slow on big tasks
    return _finish(ax, title, xlabel, lane)


def matching_rows(timeline: pd.DataFrame, call: dict | None) -> list[int]:
    """Positions in ``timeline`` (``analyses.task_timeline``) of the call ``call`` (kind,
    name, start, duration_ms as another explorer lists it; start completed from end -
    duration as the timeline does).

    >>> t0 = pd.Timestamp("2025-01-01", tz="UTC")
    >>> tl = pd.DataFrame({"kind": ["a", "b"], "name": ["x", "y"], "start": [t0, t0], "duration_ms": [1.0, 2.0]})
    >>> matching_rows(tl, {"kind": "b", "name": "y", "start": t0, "duration_ms": 2.0})
    [1]
    """
    if call is None or timeline.empty:
        return []
    same = (timeline["kind"].astype("string") == str(call.get("kind"))).fillna(False).to_numpy(dtype=bool)
    name = call.get("name")
    names = timeline["name"].astype("string")
    same &= (names.isna() if pd.isna(name) else (names == str(name)).fillna(False)).to_numpy(dtype=bool)
    start = call.get("start")
    if start is not None and not pd.isna(start):
        gap = (timeline["start"] - pd.Timestamp(start)).abs().dt.total_seconds()
        same &= (gap < 1e-3).fillna(False).to_numpy(dtype=bool)
    duration = call.get("duration_ms")
    if duration is not None and not pd.isna(duration):
        same &= ((timeline["duration_ms"] - float(duration)).abs() < 1e-6).fillna(False).to_numpy(dtype=bool)
    return [int(i) for i in np.flatnonzero(same)]


def _highlight(ax: Axes, tl: pd.DataFrame, call: dict) -> list:
    """Outline the timeline rows matching ``call`` and mark them above; the legend handle."""
    rows = tl.iloc[matching_rows(tl, call)]
    if rows.empty:
        return []
    for y, part in rows.groupby("_y"):
        ax.broken_barh(list(zip(part["_x0"], part["_w"])), (float(y) - 0.45, 0.9),
                       facecolors="none", edgecolors="black", linewidths=2.5, gid="highlight")
    ax.plot(rows["_x0"] + rows["_w"] / 2, rows["_y"] - 0.45, linestyle="none", marker="v", color="black",
            markersize=8, gid="highlight_marker", label="_highlight")
    return [Patch(facecolor="none", edgecolor="black", linewidth=2, label="chosen call")]


def _merge_bars(bars: pd.DataFrame, resolution: float) -> pd.DataFrame:
    """Bars of one lane and kind that overlap or lie within ``resolution`` of each other
    merged into one; a merged bar is failed when any of its parts failed. Vectorized:
    one sort and a running maximum of the ends per lane and kind."""
    kind_code, kinds = pd.factorize(bars["_kind"])
    group = bars["_y"].to_numpy(dtype="int64") * max(len(kinds), 1) + kind_code
    x0 = bars["_x0"].to_numpy(dtype="float64")
    order = np.lexsort((x0, group))
    group, x0 = group[order], x0[order]
    reach = pd.Series(x0 + bars["_w"].to_numpy(dtype="float64")[order]).groupby(group).cummax().to_numpy()
    new = np.ones(len(order), dtype=bool)
    new[1:] = (group[1:] != group[:-1]) | (x0[1:] > reach[:-1] + resolution)
    block = np.cumsum(new) - 1
    merged = pd.DataFrame({"_y": bars["_y"].to_numpy()[order][new],
                           "_kind": np.asarray(kinds, dtype=object)[kind_code[order][new]], "_x0": x0[new]})
    merged["_w"] = pd.Series(reach).groupby(block).max().to_numpy() - x0[new]
    merged["_failed"] = pd.Series(bars["_failed"].to_numpy()[order]).groupby(block).any().to_numpy()
    return merged


def concurrency_plot(events: Run | pd.DataFrame, *, kinds: Sequence[str] | None = None,
                     max_steps: int = 600, buckets: int = 240, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Operations in flight over time (UTC), the peak marked. ``kinds`` picks the kinds
    counted (default: all but container spans). A curve of at most ``max_steps`` changes
    is drawn exactly, as a step line; a longer one (a long run, where the line would fill
    the plot with ups and downs) is cut into ``buckets`` equal stretches of time and drawn
    as the average in flight per stretch (time-weighted, a filled area) under the most in
    flight per stretch (a line), so both the load and its peaks read at a glance.

    >>> ax = concurrency_plot(run.events)                              # doctest: +SKIP
    """
    ax = _axes(ax)
    title, xlabel, ylabel = "Operations in flight", "time (UTC)", "operations in flight (count)"
    curve = an.concurrency(_table(events, "events"), kinds=kinds)
    if curve.empty:
        return _no_data(ax, title, xlabel, ylabel)
    if curve["in_flight"].max() <= 0:  # only instants (votes, answers): nothing ever runs
        return _no_data(ax, title, xlabel, ylabel)
    x = _to_datenum(curve["time"])
    y = curve["in_flight"].to_numpy(dtype="float64")
    options = {"color": KIND_COLORS["llm_call"] if kinds is None else MIXED_COLOR, "linewidth": 1.2}
    options.update(kwargs)
    if len(x) > max_steps and x[-1] > x[0]:
        edges = np.linspace(x[0], x[-1], buckets + 1)
        mean = _bucket_mean(x, y, edges)
        _, _, most = _bucket_range(x, y, buckets)
        stretch = fmt.duration((edges[1] - edges[0]) * SECONDS_PER_DAY)
        starts = np.append(edges[:-1], edges[-1])
        ax.fill_between(starts, 0, np.append(mean, mean[-1]), step="post", color=options["color"], alpha=0.35,
                        linewidth=0, gid="in_flight_mean", label=f"average in flight per {stretch}")
        options.setdefault("label", f"most in flight per {stretch}")
        ax.step(starts, np.append(most, most[-1]), where="post", gid="in_flight", **options)
        title += f" ({len(x):,} changes, per {stretch})"
    else:
        options.setdefault("label", "in flight")
        ax.step(x, y, where="post", gid="in_flight", **options)
    peak = int(np.argmax(y))
    ax.plot([x[peak]], [y[peak]], marker="o", color=ERROR_COLOR, linestyle="none",
            label=f"peak: {int(y[peak]):,} at the same time", gid="peak")
    ax.set_ylim(bottom=0, top=max(1.0, float(y[peak])) * 1.12)
    ax.yaxis.get_major_locator().set_params(integer=True)
    _date_axis(ax)
    ax.legend(loc="upper right", fontsize=8)
    return _finish(ax, title, xlabel, ylabel)


def _bucket_mean(x: np.ndarray, y: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-weighted mean of the step curve (``y[i]`` from ``x[i]`` to ``x[i+1]``) over
    each stretch between consecutive ``edges``: the area under it, divided by the width."""
    widths = np.diff(x)
    area = np.concatenate([[0.0], np.cumsum(y[:-1] * widths)])  # area up to each change
    k = np.clip(np.searchsorted(x, edges, side="right") - 1, 0, len(x) - 1)
    at_edges = area[k] + y[k] * np.where(k < len(x) - 1, edges - x[k], 0.0)
    return np.diff(at_edges) / np.diff(edges)


def _bucket_range(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A step curve (value ``y[i]`` from ``x[i]`` to ``x[i+1]``) cut into equal time
    buckets: (bucket starts, least and most value held within each bucket). A bucket also
    holds the value carried in from before its first change."""
    edges = np.linspace(x[0], x[-1], buckets + 1)
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, buckets - 1)
    grouped = pd.Series(y).groupby(index)
    stats = pd.DataFrame({"hi": grouped.max(), "lo": grouped.min(), "last": grouped.last()})
    stats = stats.reindex(range(buckets))
    carried = stats["last"].ffill().shift(1)
    hi = np.fmax(stats["hi"].to_numpy(), carried.to_numpy())
    lo = np.fmin(stats["lo"].to_numpy(), carried.to_numpy())
    return edges[:-1], lo, hi


def rounds_plot(events: Run | pd.DataFrame, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Per agent and round, tool time (the union of its tool calls) and non-tool time as
    stacked horizontal bars, in seconds.

    >>> ax = rounds_plot(massgen_run)                                  # doctest: +SKIP
    """
    ax = _axes(ax)
    title, xlabel, ylabel = "Time per agent and round", "time", "agent, round"
    table = an.rounds(_table(events, "events"))
    if table.empty:
        return _no_data(ax, title, xlabel, ylabel)
    table = table.sort_values(["agent", "round"], kind="stable").reset_index(drop=True)
    prefix = _labels(table["run_id"]) + " · " if "run_id" in table.columns else ""
    labels = prefix + _labels(table["agent"]) + " · round " + table["round"].astype("string").fillna("?")
    y = np.arange(len(table))
    tool = table["tool_wall_s"].to_numpy(dtype="float64")
    rest = table["non_tool_s"].to_numpy(dtype="float64")
    ax.barh(y, tool, color=KIND_COLORS["tool_call"], label="tool calls (wall)", gid="tool", **kwargs)
    ax.barh(y, rest, left=tool, color="0.7", label="non-tool", gid="non_tool", **kwargs)
    ax.set_yticks(y, list(labels))
    ax.set_ylim(len(y) - 0.5, -0.5)
    ax.legend(loc="best", fontsize=8)
    fmt.duration_axis(ax, "s", "x")
    return _finish(ax, title, xlabel, ylabel)


# ----------------------------------------------------------------------------- cost

_TOKEN_PARTS = (("input (uncached)", "C0"), ("input (cached)", "C9"), ("output", "C1"))


def cost_bars(data: Run | pd.DataFrame, *, by: str = "name", value: str = "cost_usd", top: int = 20,
              ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Horizontal stacked bars per ``by`` (``name``/``model``, ``agent``, ``task_id``,
    ``kind``): cost (USD) split by kind for ``value="cost_usd"``, or uncached input,
    cached input and output tokens for ``value="tokens"``. Calls without a price are
    counted beside their bar ("3 unpriced"), never drawn as 0; a group with no priced call
    has no bar, only that note. The ``top`` groups by value are drawn.

    >>> ax = cost_bars(run, by="agent", value="tokens")                # doctest: +SKIP
    """
    ax = _axes(ax)
    if value not in ("cost_usd", "tokens"):
        raise ValueError(f"value must be 'cost_usd' or 'tokens', not {value!r}")
    what = "Cost" if value == "cost_usd" else "Tokens"
    title = f"{what} by {by}"
    xlabel = "cost" if value == "cost_usd" else "tokens (count)"
    stack = value == "cost_usd" and by != "kind"
    keys = [by, "kind"] if stack else [by]
    table = an.cost_by(data, by=keys)
    if table.empty:
        return _no_data(ax, title, xlabel, by)
    table = table.assign(_group=_labels(table[by]))
    if stack and table["kind"].isna().all():
        stack = False  # costs from messages or tasks: no kind to split by
    if value == "cost_usd":
        table["_seg"] = _labels(table["kind"]) if stack else "cost"
        parts = table.pivot_table(index="_group", columns="_seg", values="cost_usd", aggfunc="sum",
                                  dropna=False, sort=False)
        colors = {c: kind_color(c) if stack else KIND_COLORS["llm_call"] for c in parts.columns}
    else:
        inp = table["input_tokens"].astype("float64")
        cached = table["cached_tokens"].astype("float64")
        parts = pd.DataFrame({
            "input (uncached)": (inp - cached.fillna(0)).clip(lower=0).where(inp.notna()),
            "input (cached)": cached, "output": table["output_tokens"].astype("float64"),
        }).set_index(table["_group"]).groupby(level=0, sort=False).sum(min_count=1)
        colors = dict(_TOKEN_PARTS)
    unpriced = table.groupby("_group", sort=False)["unpriced_calls"].sum()
    totals = parts.sum(axis=1, min_count=1)
    if totals.isna().all() and value == "tokens":
        return _no_data(ax, title, xlabel, by)
    order = totals.sort_values(ascending=False, na_position="last", kind="stable").index[:top]
    if len(totals) > top:
        title += f" (top {top} of {len(totals)})"
    parts, totals = parts.loc[order], totals.loc[order]
    y = np.arange(len(order))
    left = np.zeros(len(order))
    for column in parts.columns:
        width = parts[column].to_numpy(dtype="float64")
        drawn = np.isfinite(width) & (width > 0)
        if drawn.any():
            ax.barh(y[drawn], width[drawn], left=left[drawn], color=colors[column], label=column,
                    gid="segment", **kwargs)
        left = left + np.nan_to_num(width)
    if value == "cost_usd" and unpriced.reindex(order).fillna(0).any():
        _annotate_unpriced(ax, y, left, unpriced.reindex(order).fillna(0).to_numpy())
        if left.max() > 0:
            ax.set_xlim(0, float(left.max()) * 1.3)  # room for the notes right of the bars
    ax.set_yticks(y, list(order))
    ax.set_ylim(len(order) - 0.5, -0.5)
    if (stack or value == "tokens") and ax.get_legend_handles_labels()[0]:
        ax.legend(title="kind" if stack else "tokens", fontsize=8, loc="best")
    (fmt.cost_axis if value == "cost_usd" else fmt.count_axis)(ax, "x")
    return _finish(ax, title, xlabel, by)


def _annotate_unpriced(ax: Axes, y: np.ndarray, ends: np.ndarray, unpriced: np.ndarray) -> None:
    """"N unpriced" beside each bar that has calls without a price."""
    for yi, end, n in zip(y, ends, unpriced):
        if n > 0:
            note = f" {int(n)} unpriced" if end > 0 else f" unpriced ({fmt.counted(int(n), 'call')})"
            ax.text(end, yi, note, va="center", ha="left", fontsize=8, color="0.3", gid="unpriced")


# ----------------------------------------------------------------------------- failures

def _failure_counts(failures: Run | pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    table = an.failures_by(_table(failures, "failures"), by=keys)
    for key in keys:
        table[key] = _labels(table[key]) if len(table) else table[key]
    return table


def failures_heatmap(failures: Run | pd.DataFrame, *, rows: str = "step", cols: str = "classification",
                     max_rows: int = 30, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Heat map of failure counts, ``rows`` x ``cols`` (default step x classification),
    each cell annotated with its count; NA shown as "(none)". The ``max_rows`` most
    frequent rows are drawn.

    >>> ax = failures_heatmap(run.failures)                            # doctest: +SKIP
    """
    ax = _axes(ax)
    title = f"Failures by {rows} and {cols}"
    counts = _failure_counts(failures, [rows, cols])
    if counts.empty:
        return _no_data(ax, title, cols, rows)
    grid = counts.pivot_table(index=rows, columns=cols, values="count", aggfunc="sum", fill_value=0)
    grid = grid.loc[grid.sum(axis=1).sort_values(ascending=False, kind="stable").index[:max_rows]]
    grid = grid[grid.sum(axis=0).sort_values(ascending=False, kind="stable").index]
    if len(counts[rows].unique()) > max_rows:
        title += f" (top {max_rows} {rows})"
    options = {"cmap": "Reds", "vmin": 0, "linewidths": 0.5, "linecolor": "white",
               "cbar_kws": {"label": "failures (count)"}}
    options.update(kwargs)
    sns.heatmap(grid.astype("int64"), annot=True, fmt="d", ax=ax, **options)
    ax.tick_params(axis="x", labelrotation=30)
    return _finish(ax, title, cols, rows)


def failures_bars(failures: Run | pd.DataFrame, *, by: str = "step", hue: str | None = "classification",
                  ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Horizontal bars of failure counts per ``by``, stacked and coloured by ``hue``
    (legend), most failures on top.

    >>> ax = failures_bars(run, by="category", hue=None)               # doctest: +SKIP
    """
    ax = _axes(ax)
    title = f"Failures by {by}" + (f" and {hue}" if hue else "")
    xlabel = "failures (count)"
    counts = _failure_counts(failures, [by] + ([hue] if hue else []))
    if counts.empty:
        return _no_data(ax, title, xlabel, by)
    if hue:
        grid = counts.pivot_table(index=by, columns=hue, values="count", aggfunc="sum", fill_value=0)
    else:
        grid = counts.set_index(by)[["count"]]
    grid = grid.loc[grid.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    grid = grid[grid.sum(axis=0).sort_values(ascending=False, kind="stable").index]
    y = np.arange(len(grid))
    left = np.zeros(len(grid))
    colors = sns.color_palette("tab10", len(grid.columns))
    for color, column in zip(colors, grid.columns):
        width = grid[column].to_numpy(dtype="float64")
        drawn = width > 0
        ax.barh(y[drawn], width[drawn], left=left[drawn], color=color if hue else "C3",
                label=column if hue else "_count", gid="segment", **kwargs)
        left += width
    ax.set_yticks(y, list(grid.index))
    ax.set_ylim(len(y) - 0.5, -0.5)
    if hue:
        ax.legend(title=hue, fontsize=8, loc="best")
    ax.xaxis.get_major_locator().set_params(integer=True)
    fmt.count_axis(ax, "x")
    return _finish(ax, title, xlabel, by)


# ----------------------------------------------------------------------------- outcomes

def pass_k_curve(data: Run | pd.DataFrame, *, n_boot: int = 1000, seed: int = 0,
                 ax: Axes | None = None, **kwargs: Any) -> Axes:
    """pass^k against k with its bootstrap interval as a band. ``data`` is a Run, its
    tasks table (pass^k is computed, one curve per run when it holds several) or a table
    from ``analyses.pass_hat_k`` (columns k, pass_hat_k, ci_low, ci_high).

    >>> ax = pass_k_curve(run.tasks, n_boot=200)                       # doctest: +SKIP
    """
    ax = _axes(ax)
    title, xlabel, ylabel = "pass^k: all k trials succeed", "k (trials)", "pass^k (of tasks)"
    curves = _pass_k_tables(data, n_boot, seed)
    curves = {name: t[t["pass_hat_k"].notna()] for name, t in curves.items()}
    curves = {name: t for name, t in curves.items() if len(t)}
    partial = len(_partial_runs(data)) if isinstance(data, Run) else 0
    if partial:
        title += f" ({partial} run{'s' if partial > 1 else ''} listing only some tasks left out)"
    if not curves:
        return _no_data(ax, title, xlabel, ylabel)
    for i, (name, curve) in enumerate(curves.items()):
        k = curve["k"].to_numpy(dtype="float64")
        color = f"C{i % 10}"
        ax.plot(k, curve["pass_hat_k"].to_numpy(dtype="float64"), marker="o", color=color,
                label=name, gid="pass_k", **kwargs)
        low = pd.to_numeric(curve["ci_low"], errors="coerce").to_numpy(dtype="float64")
        high = pd.to_numeric(curve["ci_high"], errors="coerce").to_numpy(dtype="float64")
        if np.isfinite(low).any():
            ax.fill_between(k, low, high, color=color, alpha=0.2, linewidth=0, gid="ci",
                            label="_ci")
    ks = sorted({int(k) for t in curves.values() for k in t["k"]})
    ax.set_xticks(ks)
    ax.set_ylim(0, 1.05)
    band = Patch(facecolor="0.5", alpha=0.3, label="95% bootstrap interval")
    handles = ax.get_legend_handles_labels()[0] + [band]
    ax.legend(handles=handles, fontsize=8, loc="best", title="run" if len(curves) > 1 else None)
    fmt.percent_axis(ax, "y")
    return _finish(ax, title, xlabel, ylabel)


def _pass_k_tables(data: Run | pd.DataFrame, n_boot: int, seed: int) -> dict[str, pd.DataFrame]:
    """{legend label: pass^k table}, one per run in ``data``."""
    if isinstance(data, pd.DataFrame) and {"k", "pass_hat_k"} <= set(data.columns):
        table = data.copy()
        for col in ("ci_low", "ci_high"):
            if col not in table.columns:
                table[col] = np.nan
        return {"pass^k": table}
    tasks = _table(data, "tasks")
    partial = _partial_runs(data) if isinstance(data, Run) else set()
    tasks = tasks[~tasks["run_id"].isin(partial)]
    run_ids = tasks["run_id"].dropna().unique().tolist()
    if len(run_ids) <= 1:
        return {escape_label(run_ids[0]) if run_ids else "pass^k": an.pass_hat_k(tasks, n_boot=n_boot, seed=seed)}
    return {escape_label(rid): an.pass_hat_k(tasks[tasks["run_id"] == rid], n_boot=n_boot, seed=seed)
            for rid in run_ids}


def _partial_runs(run: Run) -> set[str]:
    """Run ids whose tasks table lists only some of the tasks that ran (meta tasks_total
    above the rows: convex lists only failures), where pass^k from the rows would be wrong."""
    partial = set()
    for meta in run.meta.get("runs") or [run.meta]:
        total, rid = meta.get("tasks_total"), meta.get("run_id")
        if total is not None and int(total) > int((run.tasks["run_id"] == rid).sum()):
            partial.add(rid)
    return partial


def compare_plot(data: Run | pd.DataFrame | Sequence[Run], run_b: Run | None = None, *,
                 metric: str | Sequence[str] | None = None, n_boot: int = 1000, seed: int = 0,
                 ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Two runs side by side. ``data`` is a table from ``analyses.compare``, a ``load_runs``
    result of two runs, a pair of Runs, or run a with ``run_b``.

    With one ``metric`` (e.g. ``"pass_rate"``): paired bars a and b in the metric's unit;
    b carries the 95% interval of the difference as an error bar (a + [ci_low, ci_high]).
    Otherwise every metric (or the listed ones) as the relative change b vs a in percent
    with that interval; blue where the interval excludes 0, grey where it does not; a
    metric whose a is 0 or missing has no bar, only a note.

    >>> ax = compare_plot(run_a, run_b, metric="pass_rate")            # doctest: +SKIP
    """
    ax = _axes(ax)
    table = _comparison(data, run_b, n_boot, seed)
    names = table.attrs.get("run_a", "a"), table.attrs.get("run_b", "b")
    label_a, label_b = escape_label(names[0]), escape_label(names[1])
    if isinstance(metric, str):
        return _paired_bars(ax, table, metric, label_a, label_b, **kwargs)
    if metric is not None:
        table = table[table["metric"].isin(list(metric))]
    return _relative_change(ax, table, label_a, label_b, **kwargs)


def _comparison(data: Any, run_b: Run | None, n_boot: int, seed: int) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, (list, tuple)):
        data, run_b = data
    return an.compare(data, run_b, n_boot=n_boot, seed=seed)


def _paired_bars(ax: Axes, table: pd.DataFrame, metric: str, label_a: str, label_b: str,
                 **kwargs: Any) -> Axes:
    rows = table[table["metric"] == metric]
    title = f"{escape_label(metric)}: {label_a} vs {label_b}"
    unit = escape_label(rows["unit"].iloc[0]) if len(rows) and "unit" in rows else ""
    ylabel = f"{escape_label(metric)} ({unit})" if unit else escape_label(metric)
    if rows.empty or rows[["a", "b"]].isna().all(axis=None):
        return _no_data(ax, title, "run", ylabel)
    row = rows.iloc[0]
    a, b = float(row["a"]), float(row["b"])
    low, high = float(row.get("ci_low", np.nan)), float(row.get("ci_high", np.nan))
    heights = np.array([a, b])
    drawn = np.isfinite(heights)
    ax.bar(np.arange(2)[drawn], heights[drawn], color=np.array(["C0", "C1"])[drawn], gid="run", **kwargs)
    if np.isfinite([a, b, low, high]).all():
        ax.errorbar([1], [b], yerr=[[b - (a + low)], [(a + high) - b]], color="0.15", capsize=6,
                    linestyle="none", gid="ci", label="95% interval of b - a")
        ax.legend(fontsize=8, loc="best")
    ax.set_xticks([0, 1], [f"a: {label_a}", f"b: {label_b}"])
    diff = b - a
    kind = fmt.unit_format(rows["unit"].iloc[0] if "unit" in rows else None)
    write = fmt.FORMATS[kind]
    note = f"b - a = {write(diff)}" + (f"  [{write(low)}, {write(high)}]" if np.isfinite([low, high]).all() else "")
    ax.yaxis.set_major_formatter(fmt.axis_formatter(write))
    ax.text(0.5, 0.98, note, transform=ax.transAxes, ha="center", va="top", fontsize=9, gid="diff")
    return _finish(ax, title, "run", ylabel)


def _relative_change(ax: Axes, table: pd.DataFrame, label_a: str, label_b: str, **kwargs: Any) -> Axes:
    title = f"Change from {label_a} (a) to {label_b} (b)"
    xlabel, ylabel = "change b vs a (of a)", "metric"
    if table.empty or table[["a", "b"]].isna().all(axis=None):
        return _no_data(ax, title, xlabel, ylabel)
    a = pd.to_numeric(table["a"], errors="coerce").to_numpy(dtype="float64")
    diff = pd.to_numeric(table["diff"], errors="coerce").to_numpy(dtype="float64")
    low = pd.to_numeric(table.get("ci_low"), errors="coerce").to_numpy(dtype="float64")
    high = pd.to_numeric(table.get("ci_high"), errors="coerce").to_numpy(dtype="float64")
    base = np.where(np.isfinite(a) & (a != 0), np.abs(a), np.nan)
    change, lo, hi = 100 * diff / base, 100 * low / base, 100 * high / base
    y = np.arange(len(table))
    sure = np.isfinite(lo) & np.isfinite(hi) & ((lo > 0) | (hi < 0))
    for mask, color, label in ((sure, "C0", "95% interval excludes 0"),
                               (~sure, "0.6", "interval includes 0 or unknown")):
        bars = mask & np.isfinite(change)
        if bars.any():
            ax.barh(y[bars], change[bars], color=color, label=label, gid="change", **kwargs)
    has_ci = np.isfinite(change) & np.isfinite(lo) & np.isfinite(hi)
    if has_ci.any():
        ax.errorbar(change[has_ci], y[has_ci], xerr=[change[has_ci] - lo[has_ci], hi[has_ci] - change[has_ci]],
                    color="0.15", capsize=4, linestyle="none", gid="ci")
    for yi in y[~np.isfinite(change)]:
        ax.text(0, yi, " a is 0 or unknown: no relative change", va="center", fontsize=8,
                color="0.3", gid="no_change")
    ax.axvline(0, color="0.2", linewidth=0.8)
    ax.xaxis.set_major_formatter(fmt.axis_formatter(lambda v: f"{v:+.0f}%" if v else "0%"))
    ax.set_yticks(y, list(_labels(table["metric"])))
    ax.set_ylim(len(y) - 0.5, -0.5)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="best")
    return _finish(ax, title, xlabel, ylabel)


__all__ = [
    "escape_label", "latency_hist", "latency_box", "gantt", "concurrency_plot", "rounds_plot",
    "cost_bars", "failures_heatmap", "failures_bars", "pass_k_curve", "compare_plot",
]


# ----------------------------------------------------------------------------- traces

def waterfall(data: Run | pd.DataFrame, *, task_id: str | None = None, max_spans: int = 80,
              min_width: float = 0.004, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """The waterfall of one trace: one bar per span, in tree order (children under their
    parent, by start), labels indented by depth, x the seconds since the trace's first span,
    bars coloured by kind (legend), the self time of each span (not covered by its children)
    drawn dark inside its bar, failed spans with a red edge and a red x. ``data`` is a Run
    or its events (give ``task_id``), or a table from :func:`analyses.span_tree`. Spans past
    ``max_spans`` are left out and counted in the title; bars shorter than ``min_width`` of
    the trace are widened to it so instants (logs) stay visible.

    >>> ax = waterfall(run, task_id=run.tasks.task_id[0])            # doctest: +SKIP
    """
    ax = _axes(ax)
    is_tree = isinstance(data, pd.DataFrame) and {"depth", "offset_s", "self_s"} <= set(data.columns)
    tree = data if is_tree else an.span_tree(_table(data, "events"), task_id)
    if task_id is not None and is_tree:
        tree = tree[tree["task_id"] == task_id]
    subject = f"task {escape_label(task_id)}" if task_id is not None else "all tasks"
    title, xlabel, ylabel = f"Waterfall of {subject}", "seconds since the trace start", "span"
    tree = tree[tree["offset_s"].notna()]
    if tree.empty:
        return _no_data(ax, title, xlabel, ylabel)
    hidden = max(len(tree) - max_spans, 0)
    tree = tree.head(max_spans).reset_index(drop=True)
    if hidden:
        title += f" (first {max_spans} spans; {hidden} more not drawn)"
    x0 = tree["offset_s"].to_numpy(dtype="float64")
    duration = tree["duration_s"].fillna(0.0).to_numpy(dtype="float64")
    extent = max(float(np.nanmax(x0 + duration) - np.nanmin(x0)), 1e-9)
    width = np.maximum(duration, min_width * extent)
    own = np.minimum(tree["self_s"].fillna(0.0).to_numpy(dtype="float64"), width)
    kinds = _labels(tree["kind"])
    kind_order = list(dict.fromkeys(kinds))
    colors = dict(zip(kind_order, sns.color_palette("tab10", len(kind_order))))
    failed = tree["error"].notna().to_numpy()
    y = np.arange(len(tree))
    options = {"alpha": 0.55}
    options.update(kwargs)
    ax.barh(y, width, left=x0, height=0.8, color=[colors[k] for k in kinds],
            edgecolor=np.where(failed, ERROR_COLOR, "none"), linewidth=np.where(failed, 1.5, 0.0),
            gid="spans", **options)
    ax.barh(y, own, left=x0, height=0.35, color="0.15", gid="self_time")
    handles = [Patch(facecolor=colors[k], alpha=options["alpha"], label=k) for k in kind_order]
    handles.append(Patch(facecolor="0.15", label="self time"))
    if failed.any():
        ax.plot(x0[failed] + width[failed], y[failed], linestyle="none", marker="x", color=ERROR_COLOR,
                markersize=7, gid="errors", label="_errors")
        handles.append(Line2D([], [], linestyle="none", marker="x", color=ERROR_COLOR, label="error"))
    depth = tree["depth"].fillna(0).astype("int64").to_numpy()
    labels = ["  " * int(d) + text for d, text in zip(depth, _labels(tree["name"]))]
    ax.set_yticks(y, labels, fontsize=8, ha="left")
    ax.tick_params(axis="y", pad=max(len(t) for t in labels) * 5.0)
    ax.set_ylim(len(y) - 0.5, -0.5)  # the root on top
    ax.legend(handles=handles, title="kind", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return _finish(ax, title, xlabel, ylabel)


def self_time_bars(data: Run | pd.DataFrame, *, by: str = "name", top: int = 15, ax: Axes | None = None,
                   **kwargs: Any) -> Axes:
    """Where the time really went: per span name (or ``by``), the self time (time not
    covered by child spans, each second counted once) as dark bars over the total time of
    those spans (nested time counted at every level) as light bars, largest self time first,
    the ``top`` groups drawn.

    >>> ax = self_time_bars(run, by="name")                          # doctest: +SKIP
    """
    ax = _axes(ax)
    title, xlabel, ylabel = f"Self time by {by}", "time (s)", by
    table = an.self_time(data if isinstance(data, Run) else _table(data, "events"), by=by)
    if table.empty or not table["self_s"].notna().any():
        return _no_data(ax, title, xlabel, ylabel)
    lead = ["run_id"] if "run_id" in table.columns else []
    table = table.head(top).reset_index(drop=True)
    labels = _labels(table[by])
    if lead:
        labels = _labels(table["run_id"]) + " · " + labels
    y = np.arange(len(table))
    ax.barh(y, table["total_s"].to_numpy(dtype="float64"), color="C0", alpha=0.3,
            label="total (nested time at every level)", gid="total", **kwargs)
    ax.barh(y, table["self_s"].to_numpy(dtype="float64"), color="C0", label="self time", gid="self", **kwargs)
    for yi, share in zip(y, table["self_share"].to_numpy(dtype="float64")):
        if np.isfinite(share):
            ax.text(0, yi, f" {share:.0%}", va="center", fontsize=8, color="white", gid="share")
    ax.set_yticks(y, list(labels))
    ax.set_ylim(len(y) - 0.5, -0.5)
    ax.legend(loc="lower right", fontsize=8)
    return _finish(ax, title, xlabel, ylabel)


__all__ += ["waterfall", "self_time_bars"]

# ----------------------------------------------------------------------------- runs (a run store)

def _frontier_mask(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Points no other point beats on both counts: none cheaper (or as cheap) with a higher
    pass rate. The cheapest point of each pass rate climbs the frontier."""
    on = np.zeros(x.size, dtype=bool)
    known = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    best = -np.inf
    for i in known[np.lexsort((-y[known], x[known]))]:  # cheapest first, higher rate first on ties
        if y[i] > best:
            on[i], best = True, y[i]
    return on


def runs_trend(data: pd.DataFrame, *, x: str = "period", y: str = "pass_rate", hue: str | None = "run_model",
               ax: Axes | None = None, **kwargs: Any) -> Axes:
    """A line per ``hue`` (model) of ``y`` over time, with its 95% interval as a band where
    the table has ``ci_low``/``ci_high``: the table of ``analysis_kit.store.report.trends``.

    >>> ax = runs_trend(store.trends(freq="W"))                         # doctest: +SKIP
    """
    ax = _axes(ax)
    rate = y == "pass_rate"
    group = "model" if hue == "run_model" else escape_label(hue)
    title = f"{'Pass rate' if rate else escape_label(y)} over time" + (f" per {group}" if hue else "")
    xlabel, ylabel = "period start (UTC)", "pass rate (share of attempts)" if rate else escape_label(y)
    needed = [c for c in (x, y) if c in data.columns]
    frame = data.dropna(subset=needed) if len(needed) == 2 else data.iloc[0:0]
    if frame.empty:
        return _no_data(ax, title, xlabel, ylabel)
    groups = frame.groupby(_labels(frame[hue]) if hue else np.zeros(len(frame)), sort=True)
    for i, (name, part) in enumerate(groups):
        part = part.sort_values(x)
        times = pd.to_datetime(part[x], utc=True)
        xs = _to_datenum(pd.Series(times, index=part.index))
        color = f"C{i % 10}"
        ax.plot(xs, part[y].to_numpy(dtype="float64"), marker="o", color=color, gid="trend",
                label=name if hue else None, **kwargs)
        if {"ci_low", "ci_high"} <= set(part.columns):
            low = pd.to_numeric(part["ci_low"], errors="coerce").to_numpy(dtype="float64")
            high = pd.to_numeric(part["ci_high"], errors="coerce").to_numpy(dtype="float64")
            if np.isfinite(low).any():
                ax.fill_between(xs, low, high, color=color, alpha=0.15, linewidth=0, gid="ci", label="_ci")
    _date_axis(ax)
    if rate:
        ax.set_ylim(0, 1.05)
    if hue:
        ax.legend(title=group, fontsize=8, loc="best")
    return _finish(ax, title, xlabel, ylabel)


def cost_frontier(data: pd.DataFrame, *, x: str = "cost_per_task", y: str = "pass_rate",
                  label: str | None = "run_model", log: bool | None = None, ax: Axes | None = None,
                  **kwargs: Any) -> Axes:
    """Cost against pass rate, one point per row (a model, or a run), with the Pareto
    frontier (no other point is as cheap or cheaper and better) drawn as a line and its
    points named, like HAL's leaderboard; error bars from ``ci_low``/``ci_high``. Rows with
    no cost (unpriced) are left out and counted in the title. The x axis is logarithmic
    when costs span more than two decades (``log`` forces it either way).

    >>> ax = cost_frontier(analysis_kit.store.report.by_model(store))  # doctest: +SKIP
    """
    ax = _axes(ax)
    title = "Cost vs pass rate (Pareto frontier)"
    xlabel = "cost per task (USD)" if x == "cost_per_task" else f"{escape_label(x)} (USD)"
    ylabel = "pass rate (share of attempts)"
    if data.empty or x not in data or y not in data:
        return _no_data(ax, title, xlabel, ylabel)
    xs = pd.to_numeric(data[x], errors="coerce").to_numpy(dtype="float64")
    ys = pd.to_numeric(data[y], errors="coerce").to_numpy(dtype="float64")
    known = np.isfinite(xs) & np.isfinite(ys)
    if (~known).any():
        title += f" ({int((~known).sum())} without cost or pass rate left out)"
    if not known.any():
        return _no_data(ax, title, xlabel, ylabel)
    names = _labels(data[label]).to_numpy() if label and label in data else np.array([""] * len(data))
    on = _frontier_mask(xs, ys)
    ax.scatter(xs[known & ~on], ys[known & ~on], color="0.55", gid="point", label="dominated", **kwargs)
    ax.scatter(xs[on], ys[on], color="C3", zorder=3, gid="frontier_point", label="on the frontier", **kwargs)
    if {"ci_low", "ci_high"} <= set(data.columns):
        low = pd.to_numeric(data["ci_low"], errors="coerce").to_numpy(dtype="float64")
        high = pd.to_numeric(data["ci_high"], errors="coerce").to_numpy(dtype="float64")
        bars = known & np.isfinite(low) & np.isfinite(high)
        if bars.any():
            ax.errorbar(xs[bars], ys[bars], yerr=[ys[bars] - low[bars], high[bars] - ys[bars]],
                        color="0.7", linestyle="none", capsize=2, zorder=1, gid="ci")
    order = np.flatnonzero(on)[np.argsort(xs[on], kind="stable")]
    ax.plot(xs[order], ys[order], color="C3", linewidth=1.5, gid="frontier", label="_frontier")
    for i in order:
        ax.annotate(names[i], (xs[i], ys[i]), textcoords="offset points", xytext=(4, 4), fontsize=8,
                    gid="frontier_label")
    positive = xs[known]
    if log if log is not None else _spreads(positive):
        if (positive > 0).all():
            ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="lower right")
    return _finish(ax, title, xlabel, ylabel)


__all__ += ["runs_trend", "cost_frontier"]
