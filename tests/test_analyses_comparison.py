"""Comparison of two runs: differences, bootstrap intervals, changed outcomes."""

import numpy as np
import pandas as pd
import pytest

from analysis_kit.analyses import changed_outcomes, compare
from analysis_kit.model import Run, concat_runs


def make_run(run_id, successes, costs, llm_ms, **meta):
    n = len(successes)
    tasks = pd.DataFrame({"task_id": [f"t{i}" for i in range(n)], "trial": [0] * n,
                          "success": successes, "cost_usd": costs, "input_tokens": [100] * n})
    events = pd.DataFrame({"kind": ["llm_call"] * len(llm_ms), "duration_ms": llm_ms,
                           "task_id": [f"t{i % n}" for i in range(len(llm_ms))]})
    return Run(meta={"run_id": run_id, **meta}, tasks=tasks, events=events)


A_MS = [100.0, 200.0, 300.0, 400.0, 500.0]
B_MS = [150.0, 250.0, 350.0, 450.0, 550.0, 650.0]


def runs():
    a = make_run("a", [True, False, True, False], [1.0, 1.0, 1.0, 1.0], A_MS)
    b = make_run("b", [True, True, True, False], [2.0, 2.0, None, 2.0], B_MS)
    return a, b


def test_compare_differences():
    a, b = runs()
    out = compare(a, b, n_boot=500, seed=0).set_index("metric")
    assert out.loc["pass_rate", ["a", "b", "diff"]].tolist() == [0.5, 0.75, 0.25]
    assert out.loc["cost_usd_per_task", ["a", "b", "diff"]].tolist() == [1.0, 2.0, 1.0]
    assert out.loc["cost_usd_per_task", "n_b"] == 3  # the unpriced task is not a zero
    # a's costs are all 1 and b's priced ones all 2: every resample differs by exactly 1
    assert out.loc["cost_usd_per_task", ["ci_low", "ci_high"]].tolist() == [1.0, 1.0]
    assert out.loc["cost_usd_total", ["a", "b"]].tolist() == [4.0, 6.0]
    assert out.loc["input_tokens_per_task", "diff"] == 0.0
    assert out.loc["llm_call_p50_ms", ["a", "b"]].tolist() == [np.percentile(A_MS, 50), np.percentile(B_MS, 50)]
    assert out.loc["llm_call_p90_ms", "diff"] == pytest.approx(np.percentile(B_MS, 90) - np.percentile(A_MS, 90))
    low, high = out.loc["pass_rate", ["ci_low", "ci_high"]]
    assert -1.0 <= low <= 0.25 <= high <= 1.0 and low < high
    assert "tool_call_p50_ms" not in out.index


def test_compare_is_seeded_and_accepts_load_runs_result():
    a, b = runs()
    both = concat_runs([a, b])
    one = compare(both, n_boot=200, seed=5)
    two = compare(a, b, n_boot=200, seed=5)
    pd.testing.assert_frame_equal(one, two)
    with pytest.raises(ValueError):
        compare(a)


def test_compare_counts_unlisted_passes_of_partial_tables():
    a = Run(meta={"run_id": "a", "tasks_total": 10, "tasks_passed": 8},
            tasks=pd.DataFrame({"task_id": ["x", "y"], "success": [False, False]}))
    b = Run(meta={"run_id": "b", "tasks_total": 10, "tasks_passed": 9},
            tasks=pd.DataFrame({"task_id": ["x"], "success": [False]}))
    out = compare(a, b, n_boot=0).set_index("metric")
    assert out.loc["pass_rate", ["a", "b"]].tolist() == [0.8, 0.9]
    changed = changed_outcomes(a, b)
    assert changed[["task_id", "change"]].values.tolist() == [["y", "fixed"]]


def test_changed_outcomes():
    a, b = runs()
    out = changed_outcomes(a, b)
    assert out[["task_id", "success_a", "success_b", "change"]].values.tolist() == [["t1", False, True, "fixed"]]
    flipped = changed_outcomes(b, a)
    assert flipped["change"].tolist() == ["broken"]


def test_compare_empty_runs():
    out = compare(Run(meta={"run_id": "a"}), Run(meta={"run_id": "b"}), n_boot=10)
    assert out["metric"].tolist() == ["pass_rate"] and np.isnan(out["diff"].iloc[0])
    assert changed_outcomes(Run(meta={"run_id": "a"}), Run(meta={"run_id": "b"})).empty
