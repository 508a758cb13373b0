"""Failure analyses: by step/classification, actionable split, tool errors, recurring failures."""

import pandas as pd
import pytest

from analysis_kit.analyses import actionable, failures_by, recurring_failures, tool_errors
from analysis_kit.model import Run, concat_runs, conform


def failures(rows):
    return conform(pd.DataFrame(rows), "failures")


def test_failures_by_step_and_classification():
    f = failures({"task_id": list("abcde"), "step": ["tsc", "tests", "tsc", "eslint", None],
                  "classification": ["MODEL_FAULT", "OVERLY_STRICT", "MODEL_FAULT", None, "KNOWN_GAP"]})
    by_step = failures_by(f)
    assert by_step.iloc[0].tolist()[:2] == ["tsc", 2]
    assert by_step["count"].sum() == 5 and by_step["step"].isna().sum() == 1
    by_cls = failures_by(f, by="classification").set_index("classification")
    assert by_cls.loc["MODEL_FAULT", "share"] == 0.4
    split = actionable(f).set_index("group")
    assert split["count"].to_dict() == {"actionable": 2, "model_fault": 2, "unclassified": 1}
    assert split.loc["actionable", "classifications"] == "KNOWN_GAP, OVERLY_STRICT"


def test_tool_errors_by_tool():
    ev = conform(pd.DataFrame({
        "kind": ["tool_call"] * 5 + ["llm_call"],
        "name": ["book", "book", "book", "search", "search", "m"],
        "error": ["seat taken", "seat taken", None, None, "bad id", "rate limit"],
    }), "events")
    out = tool_errors(ev).set_index("tool")
    assert out.index.tolist() == ["book", "search"]
    assert out.loc["book", "errors"] == 2 and out.loc["book", "error_rate"] == pytest.approx(2 / 3)
    assert out.loc["book", "top_error"] == "seat taken" and out.loc["search", "top_error"] == "bad id"


def series_run(run_id, started, failing, model="gpt-5"):
    return Run(meta={"run_id": run_id, "models": [model], "started": started, "tasks_total": 5},
               failures=pd.DataFrame({"task_id": failing, "category": ["cat"] * len(failing),
                                      "step": ["tsc"] * len(failing)}))


def test_recurring_failures_over_three_runs():
    # loaded out of order: the series is ordered by meta started (r1, r2, r3)
    runs = concat_runs([
        series_run("r3", "2026-02-03", ["a", "c", "d"]),
        series_run("r1", "2026-02-01", ["a", "b", "c"]),
        series_run("r2", "2026-02-02", ["a", "b"]),
        series_run("o1", "2026-02-02", ["a"], model="other"),   # another model's series
    ])
    out = recurring_failures(runs).set_index("task_id")
    assert out.index.tolist() == ["a", "b"]  # c failed twice but not consecutively; d once
    assert out.loc["a", "failed"] == 3 and out.loc["a", "longest_streak"] == 3
    assert out.loc["a", "first_seen"] == "r1" and out.loc["a", "last_seen"] == "r3"
    assert bool(out.loc["a", "failing_now"]) and out.loc["a", "model"] == "gpt-5"
    assert out.loc["b", "longest_streak"] == 2 and not out.loc["b", "failing_now"]
    assert out.loc["b", "last_seen"] == "r2" and out.loc["a", "series_runs"] == 3
    everything = recurring_failures(runs, min_streak=1).set_index(["model", "task_id"])
    assert everything.loc[("gpt-5", "c"), "failed"] == 2 and everything.loc[("gpt-5", "c"), "longest_streak"] == 1
    assert everything.loc[("other", "a"), "failed"] == 1


def test_failures_empty():
    empty = conform(None, "failures")
    assert failures_by(empty).empty and actionable(empty).empty
    assert tool_errors(conform(None, "events")).empty
    assert recurring_failures(Run(meta={"run_id": "x"})).empty
