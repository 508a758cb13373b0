"""The trace plots: waterfall and self_time_bars, asserted on their artists."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis_kit import analyses as an, plots  # noqa: E402


def at(*seconds):
    return pd.to_datetime([pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(seconds=s) for s in seconds])


def tree_events():
    rows = [("t", "r", None, "agent", "lead $run", 0, 20, None), ("t", "l1", "r", "llm_call", "gpt", 1, 5, None),
            ("t", "k1", "r", "tool_call", "search", 4, 9, "timeout"), ("t", "s", "r", "agent", "helper", 12, 18, None),
            ("t", "l2", "s", "llm_call", "gpt", 13, 16, None), ("u", "z", None, "span", "other", 0, 1, None)]
    frame = pd.DataFrame(rows, columns=["task_id", "span_id", "parent_id", "kind", "name", "s", "e", "error"])
    frame["start"], frame["end"] = at(*frame["s"]), at(*frame["e"])
    return frame.drop(columns=["s", "e"])


def bars(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def test_waterfall_one_bar_per_span_indented_by_depth_with_self_time_and_errors():
    ax = plots.waterfall(tree_events(), task_id="t")
    spans = bars(ax, "spans")
    assert len(spans) == 5
    assert [p.get_x() for p in spans] == [0.0, 1.0, 4.0, 12.0, 13.0]
    assert [p.get_width() for p in spans] == [20.0, 4.0, 5.0, 6.0, 3.0]
    assert [p.get_width() for p in bars(ax, "self_time")] == [6.0, 4.0, 5.0, 3.0, 3.0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["lead \\$run", "  gpt", "  search", "  helper", "    gpt"]
    assert ax.yaxis_inverted()
    errors = next(line for line in ax.lines if line.get_gid() == "errors")
    assert errors.get_xdata().tolist() == [9.0] and errors.get_ydata().tolist() == [2]
    assert spans[2].get_edgecolor()[:3] == pytest.approx(matplotlib.colors.to_rgb(plots.ERROR_COLOR))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["agent", "llm_call", "tool_call", "self time", "error"]
    assert ax.get_title() == "Waterfall of task t"


def test_waterfall_takes_a_span_tree_and_cuts_long_traces():
    tree = an.span_tree(tree_events(), "t")
    ax = plots.waterfall(tree, max_spans=3)
    assert len(bars(ax, "spans")) == 3
    assert ax.get_title() == "Waterfall of all tasks (first 3 spans; 2 more not drawn)"


def test_waterfall_widens_instants():
    ev = tree_events()
    ev.loc[1, "end"] = ev.loc[1, "start"]  # a log: zero duration
    ax = plots.waterfall(ev, task_id="t", min_width=0.01)
    assert bars(ax, "spans")[1].get_width() == pytest.approx(0.2)


def test_waterfall_and_self_time_bars_without_spans_say_no_data():
    for draw in (plots.waterfall, plots.self_time_bars):
        ax = draw(pd.DataFrame(), ax=plt.figure().gca())
        assert [t.get_text() for t in ax.texts] == ["no data"]


def test_self_time_bars():
    ax = plots.self_time_bars(tree_events())
    self_bars = bars(ax, "self")
    # gpt 4 + 3, lead 20 - (8 + 6), search 5, helper 6 - 3, other 1
    assert [p.get_width() for p in self_bars] == [7.0, 6.0, 5.0, 3.0, 1.0]
    assert [p.get_width() for p in bars(ax, "total")] == [7.0, 20.0, 5.0, 6.0, 1.0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["gpt", "lead \\$run", "search", "helper", "other"]
    shares = [t.get_text() for t in ax.texts if t.get_gid() == "share"]
    assert shares[0] == f" {7 / 22:.0%}"
    assert ax.get_title() == "Self time by name"
    assert np.isclose(sum(p.get_width() for p in self_bars), 22.0)
