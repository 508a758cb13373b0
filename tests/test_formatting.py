"""One way to write numbers: the formatting module, and the tables that use it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis_kit import formatting as fmt
from analysis_kit.safe import show


@pytest.mark.parametrize("seconds, text", [
    (0, "0 ms"), (0.00042, "0.42 ms"), (0.0043, "4.3 ms"), (0.00996, "10 ms"), (0.82, "820 ms"),
    (0.9996, "1.0 s"), (4.34, "4.3 s"), (9.96, "10 s"), (42.4, "42 s"), (59.6, "1 min"),
    (125, "2 min 5 s"), (3599.6, "1 h"), (3725, "1 h 2 min"), (90_061, "1 d 1 h"), (-2.5, "-2.5 s"),
    (None, ""), (float("nan"), ""), (pd.NA, ""),
])
def test_duration(seconds, text):
    assert fmt.duration(seconds) == text


def test_duration_ms_percent_count_cost_number():
    assert fmt.duration_ms(820) == "820 ms" and fmt.duration_ms(4300) == "4.3 s"
    assert [fmt.percent(v) for v in (0.8056, 1.0, 0, 0.00042, None)] == ["80.6%", "100%", "0%", "0.042%", ""]
    assert fmt.percent(0.12, signed=True) == "+12.0%" and fmt.percent(-0.12, signed=True) == "-12.0%"
    assert [fmt.count(v) for v in (1234567.0, np.int64(3), pd.NA)] == ["1,234,567", "3", ""]
    assert [fmt.cost(v) for v in (0.3069884, 0.0000123, 12.3456, 1234.5, 0, -0.0034)] == \
        ["$0.307", "$0.0000123", "$12.35", "$1,234.50", "$0.00", "-$0.00340"]
    assert [fmt.number(v) for v in (21003.56, 12.3456, 0.000123456, 1e21)] == \
        ["21,004", "12.35", "0.000123", "1,000,000,000,000,000,000,000"]


def test_no_scientific_notation_for_any_magnitude():
    for v in (1e-12, 3.2e-7, 5e9, 1.5e15, 7e25):
        for text in (fmt.number(v), fmt.cost(v), fmt.count(v), fmt.duration(v), fmt.percent(v)):
            assert "e+" not in text and "e-" not in text, text


def test_timestamp_to_the_second_in_utc_and_lists_as_text():
    assert fmt.timestamp(pd.Timestamp("2025-01-01 12:00:03.9", tz="Europe/Paris")) == "2025-01-01 11:00:03"
    assert fmt.timestamp("2025-12-23T10:04:40.223660+00:00") == "2025-12-23 10:04:40"
    assert fmt.timestamp(pd.NaT) == ""
    assert fmt.text_list(["gpt-4o", "o3"]) == "gpt-4o, o3"
    assert fmt.text_list('["a", "b"]') == "a, b"
    assert fmt.value(True) == "yes" and fmt.value(np.array(["x", "y"])) == "x, y"


@pytest.mark.parametrize("name, kind", [
    ("p90_ms", "duration_ms"), ("duration_ms", "duration_ms"), ("wall_s", "duration_s"), ("gap_s", "duration_s"),
    ("cost_usd", "cost"), ("cost_per_success", "cost"), ("cost_share", "percent"), ("pass_rate", "percent"),
    ("share", "percent"), ("cache_hit_rate", "percent"), ("input_tokens", "count"), ("unpriced_calls", "count"),
    ("count", "count"), ("task_id", "id"), ("trial", "id"), ("models", "list"), ("started", "timestamp"),
    ("reason", "text"),
])
def test_column_format_from_the_kits_names(name, kind):
    assert fmt.column_format(name) == kind


def test_format_frame_uses_the_unit_column_row_by_row():
    compare = pd.DataFrame({"metric": ["pass_rate", "cost_usd_per_task", "llm_call_p50_ms", "input_tokens_per_task"],
                            "a": [0.5, 0.0085, 4311.5, 21003.56], "diff": [0.25, -0.0001, -197.0, 54.17],
                            "unit": ["share of tasks", "USD per task", "ms", "tokens per task"]})
    columns = fmt.format_frame(compare)
    assert columns[1] == ["50.0%", "$0.00850", "4.3 s", "21,004"]
    assert columns[2] == ["25.0%", "-$0.000100", "-197 ms", "54.17"]


def test_show_writes_every_number_one_way():
    frame = pd.DataFrame({"task_id": ["7"], "trial": [2], "wall_s": [125.0], "p50_ms": [820.0],
                          "cost_usd": [0.0123], "share": [0.25], "input_tokens": [1234567.0],
                          "started": [pd.Timestamp("2025-01-01 10:00:00.7", tz="UTC")], "models": [["a", "b"]],
                          "stalled": [True]})
    table = show(frame)
    assert table.columns == ["task id", "trial", "wall", "p50", "cost", "share", "input tokens", "started",
                             "models", "stalled"]
    assert table.rows == [["7", "2", "2 min 5 s", "820 ms", "$0.0123", "25.0%", "1,234,567",
                           "2025-01-01 10:00:00", "a, b", "yes"]]
    assert table.numeric == [False, False, True, True, True, True, True, False, False, False]


def test_show_of_a_dict_formats_each_value_by_its_field():
    table = show({"pass rate": 0.75, "wall_s": 4.3, "models": ["m1"], "cost": 1.5})
    assert table.rows == [["pass rate", "75.0%"], ["wall", "4.3 s"], ["models", "m1"], ["cost", "$1.50"]]
    named = show({"k": 0.5}, formats={"k": "percent"})
    assert named.rows == [["k", "50.0%"]]


def test_header_drops_the_unit_suffix():
    assert [fmt.header(c) for c in ("p90_ms", "cost_usd", "wall_s", "pass_hat_k", "task_id", "tasks")] == \
        ["p90", "cost", "wall", "pass^k", "task id", "tasks"]


def test_axis_formatters_write_ticks_like_tables():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 100_000], [0, 1])
    ax.set_xscale("log")
    fmt.duration_axis(ax, "ms", "x")
    fmt.percent_axis(ax, "y")
    fig.canvas.draw()
    x = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    y = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert {"1.0 ms", "10 ms", "100 ms", "1.0 s", "10 s", "1 min 40 s"} <= set(x)
    assert "0%" in y and "100%" in y and all(t.endswith("%") for t in y)
