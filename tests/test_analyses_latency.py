"""Latency analyses: percentiles against numpy on known lists, aliases, slowest, step times."""

import numpy as np
import pandas as pd
import pytest

from analysis_kit.analyses import latency_stats, slowest, step_times
from analysis_kit.model import conform


def events(rows):
    return conform(pd.DataFrame(rows), "events")


LLM = [120.0, 80.0, 1000.0, 300.0, 45.0, 600.0, 230.0]
TOOL = [5.0, 9.0, 2.0]


def sample():
    return events({
        "task_id": ["t1"] * 7 + ["t2"] * 3,
        "kind": ["llm_call"] * 7 + ["tool_call"] * 3,
        "name": ["gpt"] * 4 + ["claude"] * 3 + ["search", "search", "book"],
        "agent": ["agent"] * 10,
        "duration_ms": LLM + TOOL,
    })


def test_percentiles_match_numpy():
    out = latency_stats(sample()).set_index("kind")
    for kind, values in (("llm_call", LLM), ("tool_call", TOOL)):
        row = out.loc[kind]
        assert row["count"] == len(values)
        assert row["mean_ms"] == pytest.approx(np.mean(values))
        for q in (50, 90, 99):
            assert row[f"p{q}_ms"] == pytest.approx(np.percentile(values, q))
        assert row["max_ms"] == max(values)
    # hand check of one: sorted LLM = 45 80 120 230 300 600 1000, p50 = 230
    assert out.loc["llm_call", "p50_ms"] == 230.0


def test_by_model_and_tool_aliases_and_lists():
    by_model = latency_stats(sample(), by="model").set_index("model")
    assert sorted(by_model.index) == ["claude", "gpt"]
    assert by_model.loc["gpt", "p50_ms"] == pytest.approx(np.percentile(LLM[:4], 50))
    by_tool = latency_stats(sample(), by="tool").set_index("tool")
    assert by_tool["count"].to_dict() == {"book": 1, "search": 2}
    both = latency_stats(sample(), by=["kind", "name"])
    assert len(both) == 4 and both["count"].sum() == 10


def test_duration_from_start_end_and_step_excluded_from_name_groups():
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    ev = events({"kind": ["llm_call", "step"], "name": ["m", None],
                 "start": [t0, t0], "end": [t0 + pd.Timedelta(seconds=2), t0 + pd.Timedelta(seconds=9)]})
    out = latency_stats(ev, by="name")
    assert out["count"].tolist() == [1] and out["p50_ms"].tolist() == [2000.0]


def test_slowest_lists_task():
    out = slowest(sample(), n=3)
    assert out["duration_ms"].tolist() == [1000.0, 600.0, 300.0]
    assert out["task_id"].tolist() == ["t1", "t1", "t1"]
    assert slowest(sample(), n=1, kind="tool_call")["name"].tolist() == ["search"]


def test_step_times_from_step_events_and_transitions():
    ev = events({"kind": ["step"] * 4, "duration_ms": [100.0, 300.0, 50.0, 70.0],
                 "attrs": ['{"step": 1, "from_role": "user", "to_role": "agent"}',
                           '{"step": 1, "from_role": "user", "to_role": "agent"}',
                           '{"step": 2, "from_role": "agent", "to_role": "user"}',
                           '{"step": 2, "from_role": "agent", "to_role": "env"}']})
    out = step_times(ev).set_index("step")
    assert out.loc[1, "count"] == 2 and out.loc[1, "mean_ms"] == 200.0 and out.loc[1, "total_ms"] == 400.0
    assert out.loc[2, "max_ms"] == 70.0
    tr = step_times(ev, by="transition").set_index("transition")
    assert tr.loc["user->agent", "total_ms"] == 400.0 and tr.loc["agent->env", "count"] == 1


def test_step_times_from_the_typed_step_column():
    """tau2 profile events carry the step as an Int64 column, not in attrs; a row with
    no typed step still takes it from attrs."""
    ev = events({"kind": ["step"] * 3, "duration_ms": [100.0, 300.0, 50.0],
                 "step": pd.array([1, 1, pd.NA], dtype="Int64"),
                 "attrs": [None, '{"from_role": "agent"}', '{"step": 2}']})
    out = step_times(ev).set_index("step")
    assert out.loc[1, "count"] == 2 and out.loc[1, "mean_ms"] == 200.0
    assert out.loc[2, "count"] == 1 and out.loc[2, "total_ms"] == 50.0


def test_step_times_from_step_attr_on_calls():
    ev = events({"kind": ["llm_call", "tool_call", "llm_call"], "task_id": ["a", "a", "b"],
                 "duration_ms": [10.0, 5.0, 40.0],
                 "attrs": ['{"step": 1}', '{"step": 1}', '{"step": 1}']})
    out = step_times(ev)
    # task a step 1 took 15 ms, task b step 1 took 40 ms
    assert out["count"].tolist() == [2] and out["mean_ms"].tolist() == [27.5]


def test_empty_and_na_heavy():
    empty = conform(None, "events")
    assert list(latency_stats(empty).columns) == ["kind", "count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms"]
    assert slowest(empty).empty and step_times(empty).empty
    no_durations = events({"kind": ["llm_call"] * 2})
    assert latency_stats(no_durations).empty


def test_latency_stats_leave_out_instant_events():
    from analysis_kit.analyses import latency_stats
    from analysis_kit.model import conform

    t = pd.Timestamp("2025-01-01", tz="UTC")
    ev = conform(pd.DataFrame({"kind": ["answer", "vote", "tool_call"], "start": [t] * 3,
                               "end": [t, t, t + pd.Timedelta(seconds=2)]}), "events")
    stats = latency_stats(ev)
    assert stats["kind"].tolist() == ["tool_call"] and stats["p50_ms"].tolist() == [2000.0]
