"""Timeline analyses: interval union cases, concurrency sweep, stalled tasks, time split."""

import numpy as np
import pandas as pd
import pytest

from analysis_kit.analyses import concurrency, interval_union, stalled_tasks, task_timeline, time_split
from analysis_kit.analyses._util import grouped_union
from analysis_kit.model import conform

T0 = pd.Timestamp("2025-01-01", tz="UTC")


def at(seconds):
    return T0 + pd.Timedelta(seconds=seconds)


def events(rows):
    return conform(pd.DataFrame(rows), "events")


@pytest.mark.parametrize("starts, ends, expected", [
    ([0, 2], [5, 8], 8.0),            # overlapping
    ([0, 1], [10, 3], 10.0),          # nested
    ([0, 5], [5, 9], 9.0),            # touching
    ([0, 10], [2, 13], 5.0),          # disjoint
    ([10, 0, 1, 20, 4], [12, 3, 2, 21, 6], 8.0),  # unsorted mix: [0,3]+[4,6]+[10,12]+[20,21]
    ([], [], 0.0),
    ([0, np.nan], [4, 9], 4.0),       # a missing bound is ignored
])
def test_interval_union_numbers(starts, ends, expected):
    assert interval_union(starts, ends) == pytest.approx(expected)


def test_interval_union_timestamps():
    starts = pd.Series([at(0), at(2), at(20)])
    ends = pd.Series([at(5), at(3), at(21)])
    assert interval_union(starts, ends) == 6.0


def test_grouped_union_matches_per_group_union():
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame({"g": rng.integers(0, 7, n), "t0": rng.uniform(0, 100, n)})
    df["t1"] = df["t0"] + rng.exponential(3, n)
    got = grouped_union(df, ["g"])
    for g, part in df.groupby("g"):
        assert got.loc[g] == pytest.approx(interval_union(part["t0"], part["t1"]))


def test_task_timeline_orders_and_filters():
    ev = events({"task_id": ["a", "a", "b"], "agent": ["x", "y", "x"],
                 "kind": ["tool_call", "llm_call", "llm_call"],
                 "start": [at(4), at(1), at(0)], "duration_ms": [1000.0, 2000.0, 500.0]})
    out = task_timeline(ev, task_id="a")
    assert out["kind"].tolist() == ["llm_call", "tool_call"]
    assert out["offset_s"].tolist() == [0.0, 3.0] and out["end_offset_s"].tolist() == [2.0, 4.0]
    assert task_timeline(ev, agent="x")["task_id"].tolist() == ["b", "a"]


def test_concurrency_sweep():
    # [0,4] [1,3] [3,6] and a step span that must not count
    ev = events({"kind": ["llm_call", "tool_call", "llm_call", "step"],
                 "start": [at(0), at(1), at(3), at(0)], "end": [at(4), at(3), at(6), at(6)]})
    out = concurrency(ev)
    assert [(t - T0).total_seconds() for t in out["time"]] == [0, 1, 3, 4, 6]
    # at 3 one call ends and another starts: still 2 in flight, not 3
    assert out["in_flight"].tolist() == [1, 2, 2, 1, 0]


def test_stalled_task_flagged():
    ev = events({"task_id": ["a", "a", "b", "c"], "kind": ["llm_call", "tool_call", "llm_call", "llm_call"],
                 "name": ["m", "search", "m", "m"],
                 "end": [at(10), at(20), at(1000), at(900)]})
    out = stalled_tasks(ev, threshold_s=300).set_index("task_id")
    assert out.loc["a", "gap_s"] == 980.0 and bool(out.loc["a", "stalled"])
    assert out.loc["a", "last_name"] == "search" and out.loc["a", "events"] == 2
    assert not out.loc["c", "stalled"] and out.loc["c", "gap_s"] == 100.0
    assert out.index.tolist() == ["a", "c", "b"]  # longest gap first
    later = stalled_tasks(ev, threshold_s=300, now="2025-01-01 00:30:00")
    assert later.set_index("task_id")["stalled"].to_dict() == {"a": True, "c": True, "b": True}


def test_time_split_uses_unions():
    # llm [0,4] and [2,5] overlap (union 5); tool [5,7] and [6,8] overlap (union 3);
    # a user_sim [9,10] and a gap: wall 0..10
    ev = events({"task_id": ["a"] * 5, "trial": [0] * 5,
                 "kind": ["llm_call", "llm_call", "tool_call", "tool_call", "user_sim"],
                 "start": [at(0), at(2), at(5), at(6), at(9)], "end": [at(4), at(5), at(7), at(8), at(10)]})
    out = time_split(ev)
    assert out[["wall_s", "llm_s", "tool_s", "other_s"]].values.tolist() == [[10.0, 5.0, 3.0, 2.0]]
    assert out["trial"].tolist() == [0]


def test_timeline_empty_and_na():
    empty = conform(None, "events")
    for frame in (task_timeline(empty), concurrency(empty), stalled_tasks(empty), time_split(empty)):
        assert frame.empty and len(frame.columns) > 0
    no_times = events({"task_id": ["a"], "kind": ["llm_call"]})
    assert concurrency(no_times).empty and time_split(no_times).empty and stalled_tasks(no_times).empty


def test_finished_tasks_are_not_stalled():
    """A task whose last event is its evaluation, or whose tasks row has an outcome, ended:
    a long gap after it is no stall."""
    from analysis_kit.model import Run

    ev = events({"task_id": ["a", "b", "c", "d"], "kind": ["evaluator", "llm_call", "llm_call", "llm_call"],
                 "name": ["judge", "m", "m", "m"], "end": [at(10), at(20), at(30), at(1000)]})
    out = stalled_tasks(ev, threshold_s=300).set_index("task_id")
    assert out["finished"].to_dict() == {"a": True, "b": False, "c": False, "d": False}
    assert out["stalled"].to_dict() == {"a": False, "b": True, "c": True, "d": False}
    run = Run(meta={"run_id": "r"}, events=ev,
              tasks=pd.DataFrame({"task_id": ["a", "b", "c", "d"], "status": ["unknown", "success", None, "unknown"]}))
    out = stalled_tasks(run, threshold_s=300).set_index("task_id")
    assert out["stalled"].to_dict() == {"a": False, "b": False, "c": True, "d": False}
