"""Overview analyses on hand-built tables: totals, outcomes, pass^k (tau2's formula)."""

import numpy as np
import pandas as pd
import pytest

from analysis_kit.analyses import outcomes, pass_hat_k, totals
from analysis_kit.model import Run, conform

T0 = pd.Timestamp("2025-01-01", tz="UTC")


def tasks(rows):
    return conform(pd.DataFrame(rows), "tasks")


def test_pass_hat_k_three_trials_two_successes():
    t = tasks({"task_id": ["a"] * 3, "trial": [0, 1, 2], "success": [True, True, False]})
    out = pass_hat_k(t, n_boot=0)
    assert out["k"].tolist() == [1, 2, 3]
    assert out["pass_hat_k"].tolist() == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert out["tasks"].tolist() == [1, 1, 1]


def test_pass_hat_k_excludes_tasks_with_fewer_trials_and_averages():
    # a: 4 trials, 3 successes; b: 2 trials, 2 successes; c: 1 trial, failed
    t = tasks({"task_id": list("aaaabbc"), "trial": [0, 1, 2, 3, 0, 1, 0],
               "success": [True, True, True, False, True, True, False]})
    out = pass_hat_k(t, n_boot=200, seed=1).set_index("k")
    assert out.loc[1, "pass_hat_k"] == pytest.approx((3 / 4 + 1 + 0) / 3)
    assert out.loc[2, "pass_hat_k"] == pytest.approx((3 / 6 + 1) / 2)  # c excluded
    assert out.loc[3, "pass_hat_k"] == pytest.approx(1 / 4)  # C(3,3)/C(4,3); only a
    assert out.loc[4, "pass_hat_k"] == 0.0
    assert out["tasks"].tolist() == [3, 2, 1, 1]
    # with one task the bootstrap has nothing to vary
    assert out.loc[3, "ci_low"] == out.loc[3, "ci_high"] == pytest.approx(0.25)
    # the interval brackets the estimate and lies in [0, 1]
    assert out.loc[1, "ci_low"] <= out.loc[1, "pass_hat_k"] <= out.loc[1, "ci_high"]
    assert out.loc[1, "ci_low"] >= 0.0 and out.loc[1, "ci_high"] <= 1.0
    assert out.loc[1, "ci_low"] < out.loc[1, "ci_high"]


def test_pass_hat_k_uses_reward_when_success_missing_and_is_seeded():
    t = tasks({"task_id": list("aabb"), "reward": [1.0, 0.0, 1.0, 1.0]})
    out = pass_hat_k(t, n_boot=100, seed=3)
    assert out["pass_hat_k"].tolist() == pytest.approx([0.75, 0.5])
    again = pass_hat_k(t, n_boot=100, seed=3)
    pd.testing.assert_frame_equal(out, again)


def test_pass_hat_k_empty():
    out = pass_hat_k(conform(None, "tasks"))
    assert out.empty and list(out.columns) == ["k", "pass_hat_k", "ci_low", "ci_high", "tasks"]


def test_outcomes_counts_and_shares_with_na():
    t = tasks({"termination_reason": ["user_stop", "max_steps", "user_stop", None]})
    out = outcomes(t, by="termination_reason")
    assert out["termination_reason"].tolist()[:2] == ["user_stop", "max_steps"]
    assert out["count"].tolist() == [2, 1, 1]
    assert out["share"].tolist() == [0.5, 0.25, 0.25]
    assert out["termination_reason"].isna().sum() == 1


def test_outcomes_adds_unlisted_passes_from_meta():
    run = Run(meta={"run_id": "c", "tasks_total": 10, "tasks_passed": 7},
              tasks=pd.DataFrame({"task_id": list("xyz"), "status": ["failure"] * 3, "success": [False] * 3}))
    out = outcomes(run).set_index("status")["count"]
    assert out.to_dict() == {"success": 7, "failure": 3}


def test_totals_na_cost_and_meta_counts():
    events = pd.DataFrame({"kind": ["llm_call", "llm_call", "tool_call"], "task_id": ["a"] * 3,
                           "start": [T0, T0 + pd.Timedelta(seconds=5), T0 + pd.Timedelta(seconds=2)],
                           "duration_ms": [1000.0, 2000.0, 500.0], "input_tokens": [10, None, None]})
    run = Run(meta={"run_id": "r", "tasks_total": 4, "tasks_passed": 1}, events=events)
    out = totals(run)
    assert out["tasks"] == 4 and out["successes"] == 1 and out["pass_rate"] == 0.25
    assert out["wall_s"] == 7.0
    assert np.isnan(out["cost_usd"])  # no price anywhere: NA, not 0
    assert out["input_tokens"] == 10
    assert out["unpriced_calls"] == 2 and out["llm_calls"] == 2 and out["tool_calls"] == 1
    assert out["llm_time_s"] == 3.0


def test_calls_inside_a_priced_round_are_not_without_a_price():
    # MassGen's trace: the round span reports the cost, its model calls none of their own
    events = pd.DataFrame({
        "kind": ["round", "llm_call", "tool_call", "llm_call", "llm_call", "llm_call"],
        "span_id": ["r0", "c1", "t1", "c2", "c3", "c4"],
        "parent_id": [None, "r0", "r0", "t1", None, "gone"],  # c2 two levels down; c4's parent not in the trace
        "cost_usd": [0.25, None, None, None, None, None], "start": [T0] * 6, "duration_ms": [10.0] * 6})
    out = totals(Run(meta={"run_id": "r"}, events=events))
    assert out["llm_calls"] == 4 and out["unpriced_calls"] == 2 and out["cost_usd"] == 0.25


def test_calls_are_not_said_unpriced_when_only_the_tasks_carry_the_cost():
    # MASEval: usage and cost per repeat, none per call; which calls a cost covers is unknown
    tasks = pd.DataFrame({"task_id": ["a", "b"], "cost_usd": [0.25, None], "input_tokens": [100, 50]})
    events = pd.DataFrame({"kind": ["llm_call"] * 3, "task_id": ["a", "a", "b"], "start": [T0] * 3,
                           "duration_ms": [10.0] * 3})
    out = totals(Run(meta={"run_id": "r"}, tasks=tasks, events=events))
    assert out["cost_usd"] == 0.25 and out["llm_calls"] == 3 and out["unpriced_calls"] is None


def test_totals_empty_run():
    out = totals(Run(meta={"run_id": "e"}))
    assert out["tasks"] == 0 and np.isnan(out["pass_rate"]) and np.isnan(out["wall_s"])


def test_totals_wall_time_from_meta_over_runs():
    from analysis_kit.model import concat_runs
    a = Run(meta={"run_id": "a", "started": "2025-01-01T00:00:00Z", "ended": "2025-01-01T00:10:00Z"})
    b = Run(meta={"run_id": "b", "started": "2025-01-01T00:05:00Z", "ended": "2025-01-01T00:20:00Z"})
    assert totals(concat_runs([a, b]))["wall_s"] == 1200.0
    c = Run(meta={"run_id": "c", "duration_s": 512.0})
    assert totals(c)["wall_s"] == 512.0


def test_pass_hat_k_is_empty_for_a_run_listing_only_failures():
    from analysis_kit.analyses import pass_hat_k
    from analysis_kit.model import Run

    run = Run(meta={"run_id": "r", "tasks_partial": True, "tasks_total": 10, "tasks_passed": 8},
              tasks=[{"task_id": "a", "success": False}, {"task_id": "b", "success": False}])
    assert pass_hat_k(run).empty


def test_no_known_outcome_means_na_successes_not_zero():
    """A profile log's tasks have no outcome: successes and pass rate are NA in the
    headline numbers and in the summary (0 successes would read as 0 passed)."""
    from analysis_kit.model import Run

    run = Run(meta={"run_id": "r"}, tasks=pd.DataFrame({"task_id": ["a", "b"], "status": ["unknown"] * 2}))
    out = totals(run)
    assert out["tasks"] == 2 and pd.isna(out["successes"]) and np.isnan(out["pass_rate"])
    row = run.summary().iloc[0]
    assert row["tasks"] == 2 and pd.isna(row["successes"]) and np.isnan(row["pass_rate"])
    empty = Run(meta={"run_id": "e"})
    assert totals(empty)["successes"] == 0 and empty.summary().iloc[0]["successes"] == 0
