"""Plots: artists checked against hand-built tables (bars, lines, ticks, legends, texts)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from analysis_kit import plots  # noqa: E402
from analysis_kit.model import Run, concat_runs, conform  # noqa: E402

T0 = pd.Timestamp("2025-01-01 00:00:00", tz="UTC")


def at(seconds: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


def events(rows: list[dict]) -> pd.DataFrame:
    return conform(pd.DataFrame(rows), "events")


def legend_labels(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def texts(ax, gid: str | None = None) -> list[str]:
    return [t.get_text() for t in ax.texts if gid is None or t.get_gid() == gid]


def ytick_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


def assert_labelled(ax) -> None:
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def paths(ax, gid: str) -> int:
    return sum(len(c.get_paths()) for c in ax.collections if c.get_gid() == gid)


def is_mathtext(label: str) -> bool:
    """What matplotlib decides when it draws the label."""
    return Text(text=label)._preprocess_math(label)[1] is True


# ----------------------------------------------------------------------------- escaping

def test_escape_label_keeps_dollar_text_out_of_mathtext():
    raw = "refund $5 then $10"
    assert is_mathtext(raw)  # unescaped, matplotlib would typeset "5 then " as math
    safe = plots.escape_label(raw)
    assert safe == r"refund \$5 then \$10"
    assert not is_mathtext(safe)
    assert Text(text=safe)._preprocess_math(safe)[0] == raw  # drawn as the original text


def test_escape_label_na_control_underscore_and_length():
    assert plots.escape_label(None) == "(none)"
    assert plots.escape_label(pd.NA) == "(none)"
    assert plots.escape_label(float("nan")) == "(none)"
    assert plots.escape_label("_hidden") == " _hidden"  # legends drop labels starting "_"
    assert plots.escape_label("a\x1b[31mred\x1b[0m\nb") == "a red  b"
    long = plots.escape_label("x" * 500)
    assert len(long) == plots.LABEL_MAX and long.endswith("…")


# ----------------------------------------------------------------------------- latency_hist

LINEAR = [10.0, 20, 30, 40, 50, 15, 25]  # 5 llm calls, 2 tool calls: a 5x range


def linear_events() -> pd.DataFrame:
    kinds = ["llm_call"] * 5 + ["tool_call"] * 2
    return events([{"kind": k, "name": "m" if k == "llm_call" else "t", "duration_ms": d}
                   for k, d in zip(kinds, LINEAR)])


def percentile_line(ax, q: int, group):
    return next(l for l in ax.lines if l.get_gid() == f"p{q}" and getattr(l, "ak_group", None) == group)


def test_latency_hist_draws_percentiles_per_kind_never_pooled():
    ax = plots.latency_hist(linear_events(), bins=10)
    assert ax.get_xscale() == "linear"
    assert len(ax.patches) == 10 * 2  # bins x kinds, never one artist per event
    assert sum(p.get_height() for p in ax.patches) == len(LINEAR)
    llm, tool = LINEAR[:5], LINEAR[5:]  # 10..50 ms and 15, 25 ms
    for values, kind in ((llm, "llm_call"), (tool, "tool_call")):
        for q, expected in zip((50, 90, 99), np.percentile(values, [50, 90, 99])):
            line = percentile_line(ax, q, kind)
            assert list(line.get_xdata()) == [pytest.approx(expected)] * 2
            assert line.get_color() == plots.kind_color(kind)  # the kind's own colour
    assert len([l for l in ax.lines if l.get_gid() in ("p50", "p90", "p99")]) == 6  # 3 per kind
    # Each kind's legend entry says its own percentiles, in readable units; then the line key.
    assert legend_labels(ax) == ["llm_call  p50 30 ms · p90 46 ms · p99 50 ms",
                                 "tool_call  p50 20 ms · p90 24 ms · p99 25 ms", "p50", "p90", "p99"]
    assert ax.get_title() == "Latency by kind"
    assert ax.get_xlabel() == "duration"
    ax.figure.canvas.draw()
    assert all(t.get_text().endswith("ms") for t in ax.get_xticklabels() if t.get_text())
    assert_labelled(ax)


def test_a_kind_has_one_colour_in_every_plot():
    ev = events([{"task_id": "t", "thread": "1", "kind": k, "name": "m", "start": at(i), "end": at(i + 0.5),
                  "duration_ms": 500.0, "cost_usd": 0.1} for i, k in enumerate(["tool_call", "llm_call", "user_sim"])])
    hist = plots.latency_hist(ev, by="kind")
    legend = hist.get_legend()
    hist_colors = {t.get_text().split()[0]: matplotlib.colors.to_hex(h.get_facecolor())
                   for t, h in zip(legend.get_texts(), legend.legend_handles) if t.get_text() not in ("p50", "p90", "p99")}
    gantt = plots.gantt(ev, task_id="t", ax=plt.figure().gca())
    gantt_colors = {h.get_label(): matplotlib.colors.to_hex(h.get_facecolor())
                    for h in gantt.get_legend().legend_handles}
    cost = plots.cost_bars(ev, ax=plt.figure().gca())
    cost_colors = {c.get_label(): matplotlib.colors.to_hex(c.patches[0].get_facecolor()) for c in cost.containers}
    for kind in ("tool_call", "llm_call", "user_sim"):
        assert hist_colors[kind] == gantt_colors[kind] == cost_colors[kind] == plots.kind_color(kind)
    assert plots.kind_color("llm_call") != plots.kind_color("tool_call")
    assert plots.kind_color("some_new_kind") == plots.kind_color("some_new_kind")  # stable for unknown kinds


def test_latency_hist_log_when_range_spans_more_than_two_decades():
    ev = events([{"kind": "llm_call", "duration_ms": d} for d in (1.0, 10, 150)])
    ax = plots.latency_hist(ev, bins=4)
    assert ax.get_xscale() == "log"
    edges = sorted({p.get_x() for p in ax.patches})
    assert edges == pytest.approx(np.geomspace(1, 150, 5)[:-1])  # log-spaced bins
    exactly_two = events([{"kind": "llm_call", "duration_ms": d} for d in (1.0, 100)])
    assert plots.latency_hist(exactly_two, ax=plt.figure().gca()).get_xscale() == "linear"


def test_latency_hist_log_override_and_non_positive_durations():
    ev = events([{"kind": "llm_call", "duration_ms": d} for d in (0.0, 1.0, 10, 1000)])
    ax = plots.latency_hist(ev, bins=5)
    assert ax.get_xscale() == "log"
    assert sum(p.get_height() for p in ax.patches) == 3  # the 0 ms call cannot sit on a log axis
    assert "1 non-positive" in ax.get_title()
    p50 = next(l for l in ax.lines if l.get_gid() == "p50")
    assert p50.get_xdata()[0] == pytest.approx(np.percentile([0.0, 1, 10, 1000], 50))
    assert legend_labels(ax)[0].startswith("llm_call  p50 5.5 ms")
    forced = plots.latency_hist(ev, log=False, ax=plt.figure().gca())
    assert forced.get_xscale() == "linear"
    assert sum(p.get_height() for p in forced.patches) == 4


def test_latency_hist_by_model_counts_only_model_calls_and_uses_end_minus_start():
    ev = events([
        {"kind": "llm_call", "name": "gpt", "start": at(0), "end": at(2)},  # 2000 ms, derived
        {"kind": "llm_call", "name": "claude", "duration_ms": 500.0},
        {"kind": "tool_call", "name": "search", "duration_ms": 7.0},
    ])
    ax = plots.latency_hist(ev, by="model", percentiles=(50,), bins=3)
    assert sorted(legend_labels(ax)[:2]) == ["claude  p50 500 ms", "gpt  p50 2.0 s"]
    assert sum(p.get_height() for p in ax.patches) == 2
    assert ax.get_legend().get_title().get_text() == "model"
    assert percentile_line(ax, 50, "gpt").get_xdata()[0] == pytest.approx(2000.0)  # each model its own
    assert percentile_line(ax, 50, "claude").get_xdata()[0] == pytest.approx(500.0)


def test_latency_hist_escapes_untrusted_group_names():
    ev = events([{"kind": "$\\frac{a}{b}$", "duration_ms": 3.0}])
    ax = plots.latency_hist(ev)
    label = legend_labels(ax)[0]
    assert label == r"\$\frac{a}{b}\$  p50 3.0 ms · p90 3.0 ms · p99 3.0 ms" and not is_mathtext(label)


def test_latency_hist_large_input_draws_bins_not_events():
    rng = np.random.default_rng(0)
    n = 200_000
    ev = events({"kind": rng.choice(["llm_call", "tool_call"], n), "duration_ms": rng.lognormal(5, 2, n)})
    ax = plots.latency_hist(ev, bins=50)
    assert len(ax.patches) == 100
    assert sum(p.get_height() for p in ax.patches) == n
    assert ax.get_xscale() == "log"


# ----------------------------------------------------------------------------- latency_box

def box_events() -> pd.DataFrame:
    rows = []
    for tool, values in {"fast": [1.0, 2, 3], "slow": [400.0, 500, 600], "mid": [20.0, 30, 40]}.items():
        rows += [{"kind": "tool_call", "name": tool, "duration_ms": v} for v in values]
    rows.append({"kind": "llm_call", "name": "gpt", "duration_ms": 9000.0})  # other kind: left out
    return events(rows)


def test_latency_box_sorted_by_median_log_when_spread():
    ax = plots.latency_box(box_events())
    assert ytick_labels(ax) == ["slow", "mid", "fast"]
    assert len(ax.patches) == 3  # one box per tool
    assert ax.get_xscale() == "log"  # 1 ms .. 600 ms
    points = sum(len(c.get_offsets()) for c in ax.collections)
    assert points == 9
    assert ax.get_ylabel() == "tool"
    assert ax.get_title() == "tool_call latency by tool"
    assert_labelled(ax)


def test_latency_box_linear_when_narrow_and_strip_subsampled():
    rng = np.random.default_rng(1)
    ev = events({"kind": "tool_call", "name": rng.choice(["a", "b"], 5000),
                 "duration_ms": rng.uniform(10, 20, 5000)})
    ax = plots.latency_box(ev, max_points=300)
    assert ax.get_xscale() == "linear"
    assert sum(len(c.get_offsets()) for c in ax.collections) == 300
    assert "300 of 5,000 points" in ax.get_title()


def test_latency_box_keeps_top_groups():
    ev = events([{"kind": "tool_call", "name": f"t{i}", "duration_ms": float(i + 1)}
                 for i in range(5) for _ in range(i + 1)])
    ax = plots.latency_box(ev, max_groups=2)
    assert ytick_labels(ax) == ["t4", "t3"]
    assert "top 2 of 5" in ax.get_title()


# ----------------------------------------------------------------------------- gantt

def gantt_events() -> pd.DataFrame:
    return events([
        {"task_id": "T1", "thread": "th-b", "agent": "agent", "kind": "llm_call", "start": at(0), "end": at(4)},
        {"task_id": "T1", "thread": "th-a", "agent": "agent", "kind": "tool_call", "start": at(1), "end": at(2),
         "error": "timeout"},
        {"task_id": "T1", "thread": "th-b", "agent": "user_simulator", "kind": "user_sim", "start": at(5),
         "end": at(7)},
        {"task_id": "T1", "thread": "th-b", "agent": "agent", "kind": "step", "start": at(0), "end": at(7)},
        {"task_id": "T2", "thread": "th-c", "agent": "agent", "kind": "llm_call", "start": at(100), "end": at(101)},
    ])


def test_gantt_outlines_the_chosen_call():
    call = {"kind": "tool_call", "name": None, "start": at(1), "duration_ms": 1000.0}
    ax = plots.gantt(gantt_events(), task_id="T1", highlight=call)
    (outline,) = [c for c in ax.collections if c.get_gid() == "highlight"]
    (x0, y0), (x1, _) = outline.get_paths()[0].vertices[0], outline.get_paths()[0].vertices[2]
    assert x0 == pytest.approx(mdates.date2num(np.datetime64("2025-01-01T00:00:01")))
    assert (x1 - x0) * 86400 == pytest.approx(1.0)  # the 1 s tool call, not the 4 s model call
    assert ytick_labels(ax)[round(y0 + 0.45)] == "th-a"  # in its own lane
    assert "chosen call" in legend_labels(ax)
    elsewhere = plots.gantt(gantt_events(), task_id="T1", highlight={**call, "start": at(50)}, ax=plt.figure().gca())
    assert not [c for c in elsewhere.collections if c.get_gid() == "highlight"]  # no such call: nothing outlined


def test_gantt_lanes_bars_errors_and_date_axis():
    ax = plots.gantt(gantt_events(), task_id="T1")
    assert ytick_labels(ax) == ["th-b", "th-a"]  # ordered by first start, container step left out
    assert paths(ax, "bars") == 3
    errors = next(l for l in ax.lines if l.get_gid() == "errors")
    x = mdates.date2num(np.datetime64("2025-01-01T00:00:01.500"))
    assert errors.get_xdata().tolist() == [pytest.approx(x)]  # middle of the failed call
    assert errors.get_ydata().tolist() == [1]  # th-a lane
    assert errors.get_marker() == "x"
    red_edges = [c for c in ax.collections if c.get_gid() == "bars" and c.get_linewidths().max() > 0]
    assert len(red_edges) == 1
    assert legend_labels(ax) == ["llm_call", "tool_call", "user_sim", "error"]
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    assert ax.get_title() == "Timeline of task T1"
    assert ax.get_ylabel() == "thread" and ax.get_xlabel() == "time (UTC)"


def test_gantt_bar_positions_are_the_event_times():
    ax = plots.gantt(gantt_events(), task_id="T1", min_width=0)
    bars = {}
    for coll in ax.collections:
        for path in coll.get_paths():
            xs = path.vertices[:, 0]
            bars[(round(xs.min(), 9), round(xs.max() - xs.min(), 12))] = True
    day = 86400.0
    start = mdates.date2num(np.datetime64("2025-01-01T00:00:00"))
    assert (round(start, 9), round(4 / day, 12)) in bars


def test_gantt_lane_by_agent_and_agent_filter():
    ax = plots.gantt(gantt_events(), task_id="T1", lane="agent")
    assert ytick_labels(ax) == ["agent", "user_simulator"]
    assert ax.get_ylabel() == "agent"
    only = plots.gantt(gantt_events(), agent="user_simulator", ax=plt.figure().gca())
    assert ytick_labels(only) == ["th-b"] and paths(only, "bars") == 1
    assert only.get_title() == "Timeline of agent user_simulator"


def test_gantt_falls_back_to_agent_lanes_and_to_containers():
    ev = events([{"agent": "a1", "kind": "round", "round": 1, "start": at(0), "end": at(10)},
                 {"agent": "a2", "kind": "round", "round": 1, "start": at(2), "end": at(9)}])
    ax = plots.gantt(ev)  # no threads: lanes are agents; only containers: they are drawn
    assert ytick_labels(ax) == ["a1", "a2"]
    assert paths(ax, "bars") == 2
    assert not any(l.get_gid() == "errors" for l in ax.lines)


def test_gantt_merges_bars_of_large_inputs_but_keeps_every_error():
    n = 20_000
    starts = [at(i * 0.1) for i in range(n)]
    ev = events({"thread": "th", "kind": "llm_call", "start": starts, "duration_ms": 100.0,
                 "error": ["boom" if i % 1000 == 0 else None for i in range(n)]})
    ax = plots.gantt(ev)
    assert paths(ax, "bars") == 1  # back-to-back calls on one lane: one merged bar
    errors = next(l for l in ax.lines if l.get_gid() == "errors")
    assert len(errors.get_xdata()) == 20


def test_gantt_escapes_lane_and_task_labels():
    ev = events([{"task_id": "$x$", "thread": "$y$", "kind": "llm_call", "start": at(0), "end": at(1)}])
    ax = plots.gantt(ev, task_id="$x$")
    assert ytick_labels(ax) == [r"\$y\$"]
    assert ax.get_title() == r"Timeline of task \$x\$"
    assert not is_mathtext(ax.get_title())


# ----------------------------------------------------------------------------- concurrency

def test_concurrency_plot_step_line():
    ev = events([{"kind": "llm_call", "start": at(0), "end": at(2)},
                 {"kind": "tool_call", "start": at(1), "end": at(1.5)}])
    ax = plots.concurrency_plot(ev)
    line = next(l for l in ax.lines if l.get_gid() == "in_flight")
    assert line.get_drawstyle() == "steps-post"
    assert line.get_ydata().tolist() == [1, 2, 1, 0]
    x0 = mdates.date2num(np.datetime64("2025-01-01T00:00:00"))
    assert line.get_xdata()[0] == pytest.approx(x0)
    assert legend_labels(ax) == ["in flight", "peak: 2 at the same time"]
    assert ax.get_ylabel() == "operations in flight (count)"
    assert_labelled(ax)


def test_concurrency_plot_of_a_long_run_draws_average_and_most_per_stretch():
    """3000 one-second stretches, each half busy: a step line would be 6000 ups and downs.
    Drawn per 30-second stretch instead: the average in flight (0.5, the area) under the most
    in flight (1; 2 in the stretch holding the one overlap)."""
    n = 3000
    rows = [{"kind": "llm_call", "start": at(i), "end": at(i + 0.5)} for i in range(n)]
    rows.append({"kind": "llm_call", "start": at(100.1), "end": at(100.2)})  # 2 in flight once
    ax = plots.concurrency_plot(events(rows), max_steps=200, buckets=100)
    line = next(l for l in ax.lines if l.get_gid() == "in_flight")
    most = line.get_ydata()
    assert len(most) == 101  # 100 stretches and the closing step
    assert most.max() == 2 and int((most == 2).sum()) == 1
    area = next(c for c in ax.collections if c.get_gid() == "in_flight_mean")
    heights = area.get_paths()[0].vertices[:, 1]
    assert heights.max() == pytest.approx(0.5 + 0.1 / 29.995, rel=1e-3)  # 0.5, plus the overlap's 0.1 s
    assert np.median(heights[heights > 0]) == pytest.approx(0.5, rel=1e-3)
    assert sorted(legend_labels(ax)[:2]) == ["average in flight per 30 s", "most in flight per 30 s"]
    assert "(6,002 changes, per 30 s)" in ax.get_title()


def test_bucket_mean_is_time_weighted():
    x = np.array([0.0, 1.0, 3.0, 4.0])
    y = np.array([2.0, 0.0, 4.0, 0.0])  # 2 for 1 s, 0 for 2 s, 4 for 1 s
    assert plots._bucket_mean(x, y, np.array([0.0, 2.0, 4.0])).tolist() == [1.0, 2.0]


def test_concurrency_plot_of_instants_only_is_no_data():
    ev = events([{"kind": "vote", "start": at(0), "end": at(0)}, {"kind": "answer", "start": at(3)}])
    ax = plots.concurrency_plot(ev)
    assert texts(ax) == [plots.NO_DATA]


# ----------------------------------------------------------------------------- rounds

def test_rounds_plot_tool_and_non_tool_seconds():
    ev = events([
        {"agent": "a", "round": 1, "kind": "round", "start": at(0), "end": at(10)},
        {"agent": "a", "round": 1, "kind": "tool_call", "start": at(2), "end": at(5)},
        {"agent": "a", "round": 1, "kind": "tool_call", "start": at(3), "end": at(6)},
        {"agent": "b", "round": 2, "kind": "round", "start": at(0), "end": at(5)},
    ])
    ax = plots.rounds_plot(ev)
    tool = [p.get_width() for p in ax.patches if p.get_gid() == "tool"]
    rest = [p.get_width() for p in ax.patches if p.get_gid() == "non_tool"]
    assert tool == [4.0, 0.0] and rest == [6.0, 5.0]
    assert ytick_labels(ax) == ["a · round 1", "b · round 2"]
    assert legend_labels(ax) == ["tool calls (wall)", "non-tool"]
    assert ax.get_xlabel() == "time"
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["0 ms", "2.0 s", "4.0 s"]


# ----------------------------------------------------------------------------- cost

def cost_events() -> pd.DataFrame:
    return events([
        {"kind": "llm_call", "name": "m1", "cost_usd": 1.0, "input_tokens": 100, "cached_tokens": 40,
         "output_tokens": 10},
        {"kind": "user_sim", "name": "m1", "cost_usd": 0.5, "input_tokens": 50, "output_tokens": 5},
        {"kind": "llm_call", "name": "m1", "cost_usd": None, "input_tokens": 10},
        {"kind": "llm_call", "name": "m2", "cost_usd": None, "input_tokens": 7, "output_tokens": 3},
    ])


def test_cost_bars_stack_by_kind_and_annotate_unpriced():
    ax = plots.cost_bars(cost_events())
    segments = {(p.get_y(), p.get_x(), p.get_width()) for p in ax.patches}
    assert len(ax.patches) == 2  # m1: llm_call 1.0 + user_sim 0.5; m2 unpriced: no bar
    assert {(round(x, 9), w) for _, x, w in segments} == {(0.0, 1.0), (1.0, 0.5)}
    assert ytick_labels(ax) == ["m1", "m2"]
    assert texts(ax, "unpriced") == [" 1 unpriced", " unpriced (1 call)"]
    unpriced_m2 = next(t for t in ax.texts if t.get_text() == " unpriced (1 call)")
    assert unpriced_m2.get_position() == (0.0, 1)
    assert ax.get_xlim() == pytest.approx((0.0, 1.5 * 1.3))  # room for " 1 unpriced" after m1's bar
    assert legend_labels(ax) == ["llm_call", "user_sim"]
    assert ax.get_xlabel() == "cost"
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["$0.00", "$0.250"]
    assert_labelled(ax)


def test_cost_bars_tokens_split_cached_input_and_output():
    ax = plots.cost_bars(cost_events(), value="tokens")
    by_label = {}
    for container in ax.containers:
        by_label[container.get_label()] = [p.get_width() for p in container]
    # m1: input 160 of which 40 cached, output 15; m2: input 7, output 3
    assert by_label["input (uncached)"] == [120.0, 7.0]
    assert by_label["input (cached)"] == [40.0]
    assert by_label["output"] == [15.0, 3.0]
    assert legend_labels(ax) == ["input (uncached)", "input (cached)", "output"]
    assert ax.get_xlabel() == "tokens (count)"


def test_cost_bars_all_unpriced_draws_no_bar_only_notes():
    ev = events([{"kind": "llm_call", "name": "m", "cost_usd": None}] * 3)
    ax = plots.cost_bars(ev)
    assert len(ax.patches) == 0
    assert texts(ax, "unpriced") == [" unpriced (3 calls)"]


def test_unknown_options_are_named_in_the_error():
    with pytest.raises(ValueError, match="value must be"):
        plots.cost_bars(cost_events(), value="joules")
    with pytest.raises(ValueError, match="by must be"):
        plots.latency_hist(linear_events(), by="colour")
    with pytest.raises(ValueError, match="lane must be"):
        plots.gantt(gantt_events(), lane="task")


# ----------------------------------------------------------------------------- failures

def failures() -> pd.DataFrame:
    return conform(pd.DataFrame({
        "task_id": list("abcde"),
        "step": ["tsc", "tsc", "eslint", "tests", "tsc"],
        "classification": ["MODEL_FAULT", "OVERLY_STRICT", "MODEL_FAULT", None, "MODEL_FAULT"],
    }), "failures")


def test_failures_heatmap_counts_annotated():
    ax = plots.failures_heatmap(failures())
    assert ytick_labels(ax) == ["tsc", "eslint", "tests"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["MODEL_FAULT", "(none)", "OVERLY_STRICT"]
    grid = np.asarray(ax.collections[0].get_array()).reshape(3, 3)
    assert grid.tolist() == [[2, 0, 1], [1, 0, 0], [0, 1, 0]]
    assert [t.get_text() for t in ax.texts] == ["2", "0", "1", "1", "0", "0", "0", "1", "0"]
    assert ax.figure.axes[-1].get_ylabel() == "failures (count)"  # the colour bar
    assert ax.get_title() == "Failures by step and classification"
    assert_labelled(ax)


def test_failures_bars_stacked_by_classification():
    ax = plots.failures_bars(Run(meta={"run_id": "r"}, failures=failures()))
    assert ytick_labels(ax) == ["tsc", "eslint", "tests"]
    widths = {(c.get_label(), tuple(p.get_width() for p in c)) for c in ax.containers}
    assert widths == {("MODEL_FAULT", (2.0, 1.0)), ("(none)", (1.0,)), ("OVERLY_STRICT", (1.0,))}
    assert legend_labels(ax) == ["MODEL_FAULT", "(none)", "OVERLY_STRICT"]
    assert ax.get_xlabel() == "failures (count)"


def test_failures_bars_without_hue_has_no_legend():
    ax = plots.failures_bars(failures(), by="step", hue=None)
    assert [p.get_width() for p in ax.patches] == [3.0, 1.0, 1.0]
    assert ax.get_legend() is None


# ----------------------------------------------------------------------------- pass^k

def trials() -> pd.DataFrame:
    return conform(pd.DataFrame({
        "task_id": ["a"] * 3 + ["b"] * 3, "trial": [0, 1, 2] * 2,
        "success": [True, True, False, True, True, True],
    }), "tasks")


def test_pass_k_curve_values_and_band():
    ax = plots.pass_k_curve(trials(), n_boot=200)
    line = next(l for l in ax.lines if l.get_gid() == "pass_k")
    # a: C(2,k)/C(3,k) = 2/3, 1/3, 0; b: 1, 1, 1 -> averages
    assert line.get_xdata().tolist() == [1, 2, 3]
    assert line.get_ydata() == pytest.approx([5 / 6, 2 / 3, 1 / 2])
    band = [c for c in ax.collections if c.get_gid() == "ci"]
    assert len(band) == 1
    assert [int(t) for t in ax.get_xticks()] == [1, 2, 3]
    assert ax.get_ylim() == (0, 1.05)
    assert legend_labels(ax) == ["pass^k", "95% bootstrap interval"]  # a table without run_id
    assert_labelled(ax)


def test_pass_k_curve_from_table_and_one_curve_per_run():
    table = pd.DataFrame({"k": [1, 2], "pass_hat_k": [0.9, 0.7], "ci_low": [0.8, 0.5], "ci_high": [1.0, 0.9]})
    ax = plots.pass_k_curve(table)
    line = next(l for l in ax.lines if l.get_gid() == "pass_k")
    assert line.get_ydata().tolist() == [0.9, 0.7]
    band = next(c for c in ax.collections if c.get_gid() == "ci")
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(0.5) and ys.max() == pytest.approx(1.0)
    two = pd.concat([trials().assign(run_id="r1"), trials().assign(run_id="r$2")])
    ax2 = plots.pass_k_curve(two, n_boot=0, ax=plt.figure().gca())
    assert legend_labels(ax2) == ["r1", r"r\$2", "95% bootstrap interval"]
    assert ax2.get_legend().get_title().get_text() == "run"


def test_pass_k_curve_leaves_out_runs_listing_only_failures():
    listed = conform(pd.DataFrame({"task_id": ["x"], "success": [False]}), "tasks")
    convex_like = Run(meta={"run_id": "c", "tasks_total": 10, "tasks_passed": 9}, tasks=listed)
    ax = plots.pass_k_curve(convex_like)
    assert texts(ax) == [plots.NO_DATA]  # pass^1 from the one listed failure would say 0
    assert "1 run listing only some tasks left out" in ax.get_title()
    full = Run(meta={"run_id": "f"}, tasks=trials())
    both = plots.pass_k_curve(concat_runs([convex_like, full]), n_boot=0, ax=plt.figure().gca())
    assert legend_labels(both) == ["f", "95% bootstrap interval"]


# ----------------------------------------------------------------------------- compare

def comparison() -> pd.DataFrame:
    table = pd.DataFrame({
        "metric": ["pass_rate", "cost_usd_per_task", "llm_call_p50_ms"],
        "a": [0.5, 2.0, 0.0], "b": [0.75, 1.0, 10.0], "diff": [0.25, -1.0, 10.0],
        "ci_low": [0.1, -1.5, 5.0], "ci_high": [0.4, 0.5, 15.0],
        "unit": ["share of tasks", "USD per task", "ms"],
    })
    table.attrs.update(run_a="old", run_b="new")
    return table


def test_compare_plot_relative_change_with_intervals():
    ax = plots.compare_plot(comparison())
    bars = {c.get_label(): [p.get_width() for p in c] for c in ax.containers if hasattr(c, "patches")}
    assert bars["95% interval excludes 0"] == [pytest.approx(50.0)]  # pass rate 0.5 -> 0.75
    assert bars["interval includes 0 or unknown"] == [pytest.approx(-50.0)]
    segments = [seg for c in ax.collections for seg in getattr(c, "get_segments", lambda: [])()]
    xs = sorted((round(s[0][0], 6), round(s[1][0], 6)) for s in segments if s[0][1] == s[1][1])
    assert (20.0, 80.0) in xs and (-75.0, 25.0) in xs  # 100 * ci / |a|
    assert texts(ax, "no_change") == [" a is 0 or unknown: no relative change"]
    assert ytick_labels(ax) == ["pass_rate", "cost_usd_per_task", "llm_call_p50_ms"]
    assert ax.get_title() == "Change from old (a) to new (b)"
    assert ax.get_xlabel() == "change b vs a (of a)"
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "0%" in ticks and "+40%" in ticks and "-40%" in ticks


def test_compare_plot_single_metric_paired_bars():
    ax = plots.compare_plot(comparison(), metric="pass_rate")
    assert [p.get_height() for p in ax.patches] == [0.5, 0.75]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a: old", "b: new"]
    segments = [seg for c in ax.collections for seg in getattr(c, "get_segments", lambda: [])()]
    vertical = [s for s in segments if s[0][0] == s[1][0]]
    assert [sorted((round(s[0][1], 6), round(s[1][1], 6))) for s in vertical] == [[0.6, 0.9]]  # a + CI
    assert texts(ax, "diff") == ["b - a = 25.0%  [10.0%, 40.0%]"]  # the metric's unit: a share
    assert ax.get_ylabel() == "pass_rate (share of tasks)"


def test_compare_plot_from_two_runs():
    def run(rid, ok):
        return Run(meta={"run_id": rid}, tasks=pd.DataFrame({"task_id": list("wxyz"), "success": ok}))
    a, b = run("a", [True, False, False, False]), run("b", [True, True, True, False])
    ax = plots.compare_plot(a, b, metric="pass_rate", n_boot=100)
    assert [p.get_height() for p in ax.patches] == [0.25, 0.75]
    ax2 = plots.compare_plot((a, b), n_boot=0, ax=plt.figure().gca())
    assert ytick_labels(ax2) == ["pass_rate"]
    assert [p.get_width() for p in ax2.patches] == [pytest.approx(200.0)]


# ----------------------------------------------------------------------------- every plot

EMPTY_CASES = {
    "latency_hist": lambda d, ax: plots.latency_hist(d, ax=ax),
    "latency_box": lambda d, ax: plots.latency_box(d, ax=ax),
    "gantt": lambda d, ax: plots.gantt(d, ax=ax),
    "concurrency_plot": lambda d, ax: plots.concurrency_plot(d, ax=ax),
    "rounds_plot": lambda d, ax: plots.rounds_plot(d, ax=ax),
    "cost_bars": lambda d, ax: plots.cost_bars(d, ax=ax),
    "cost_bars_tokens": lambda d, ax: plots.cost_bars(d, value="tokens", ax=ax),
    "failures_heatmap": lambda d, ax: plots.failures_heatmap(d, ax=ax),
    "failures_bars": lambda d, ax: plots.failures_bars(d, ax=ax),
    "pass_k_curve": lambda d, ax: plots.pass_k_curve(d, ax=ax),
    "compare_plot": lambda d, ax: plots.compare_plot(d, d, ax=ax),
    "compare_plot_metric": lambda d, ax: plots.compare_plot(d, d, metric="cost_usd_per_task", ax=ax),
}


def all_na_run() -> Run:
    """Rows whose every column the plots need is NA."""
    return Run(meta={"run_id": "na"},
               tasks=pd.DataFrame({"task_id": [None, None]}),
               events=pd.DataFrame({"kind": [None, None], "duration_ms": [None, None]}),
               failures=pd.DataFrame({"step": [None], "classification": [None]}).iloc[:0])


@pytest.mark.parametrize("name", sorted(EMPTY_CASES))
@pytest.mark.parametrize("data", ["empty", "all_na"])
def test_every_plot_draws_no_data_on_empty_input_and_honours_ax(name, data):
    run = Run(meta={"run_id": "empty"}) if data == "empty" else all_na_run()
    fig, ax = plt.subplots()
    out = EMPTY_CASES[name](run, ax)
    assert out is ax
    assert plots.NO_DATA in texts(ax), f"{name} drew {texts(ax)}"
    assert_labelled(ax)


@pytest.mark.parametrize("draw", [
    lambda ax: plots.latency_hist(linear_events(), ax=ax),
    lambda ax: plots.latency_box(box_events(), ax=ax),
    lambda ax: plots.gantt(gantt_events(), ax=ax),
    lambda ax: plots.concurrency_plot(gantt_events(), ax=ax),
    lambda ax: plots.cost_bars(cost_events(), ax=ax),
    lambda ax: plots.failures_heatmap(failures(), ax=ax),
    lambda ax: plots.failures_bars(failures(), ax=ax),
    lambda ax: plots.pass_k_curve(trials(), n_boot=10, ax=ax),
    lambda ax: plots.compare_plot(comparison(), ax=ax),
])
def test_plots_draw_on_the_given_axes_not_the_current_one(draw):
    fig, (left, right) = plt.subplots(1, 2)
    plt.sca(left)
    assert draw(right) is right
    assert right.has_data() and not left.has_data()
    assert_labelled(right)
    fig.canvas.draw()  # renders without error (labels parse, dates format)


def test_current_axes_used_when_ax_is_none():
    fig, ax = plt.subplots()
    assert plots.latency_hist(linear_events()) is ax


def test_plots_render_hostile_labels():
    ev = events([{"task_id": "$\\alpha$", "thread": "$$", "kind": "tool_call", "name": "$\\undefinedcommand{x}$",
                  "start": at(0), "end": at(1), "cost_usd": 1.0, "error": "$bad$"}])
    fig, axes = plt.subplots(2, 2)
    plots.latency_box(ev, ax=axes[0, 0])
    plots.gantt(ev, task_id="$\\alpha$", ax=axes[0, 1])
    plots.cost_bars(ev, ax=axes[1, 0])
    plots.latency_hist(ev, by="name", ax=axes[1, 1])
    fig.canvas.draw()  # an unescaped "$\undefinedcommand{x}$" raises a mathtext ParseError here


def test_escape_label_redacts_secrets_like_every_other_output():
    from analysis_kit import safe

    assert "sk-" not in plots.escape_label("task sk-abcdefghijklmnop1234")
    with safe.redaction(False):
        assert "sk-abcdefghijklmnop1234" in plots.escape_label("task sk-abcdefghijklmnop1234")
