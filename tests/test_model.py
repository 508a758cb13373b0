"""The Run model, format detection and load_runs, independent of any one loader."""

import json
import numpy as np
import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit.model import SCHEMA, Problems, Run, concat_runs, conform


def test_conform_adds_missing_columns_as_na_and_keeps_extras():
    df = conform(pd.DataFrame({"task_id": ["a", "b"], "reward": ["1", "x"], "extra": [1, 2]}), "tasks")
    assert list(df.columns[: len(SCHEMA["tasks"])]) == [c for c, _ in SCHEMA["tasks"]]
    assert df["extra"].tolist() == [1, 2]
    assert df["reward"].iloc[0] == 1.0 and np.isnan(df["reward"].iloc[1])
    assert df["trial"].isna().all() and str(df["trial"].dtype) == "Int64"
    assert str(df["start"].dtype) == "datetime64[ns, UTC]"


def test_conform_parses_naive_timestamps_as_utc():
    df = conform(pd.DataFrame({"start": ["2025-01-02T03:04:05"]}), "events")
    assert df["start"].iloc[0] == pd.Timestamp("2025-01-02 03:04:05", tz="UTC")


def test_problems_strict_raises_with_file_and_line():
    p = Problems(strict=True)
    with pytest.raises(ak.LoadError, match=r"run\.log:12: bad duration"):
        p.add("run.log", 12, "bad duration", "x")


def test_problems_cut_raw_text():
    p = Problems()
    p.add("f", 1, "reason", "x" * 1000)
    assert len(p.frame()["raw"].iloc[0]) == 200


def _run(rid, successes, costs):
    tasks = pd.DataFrame({
        "task_id": [f"t{i}" for i in range(len(successes))],
        "success": successes,
        "cost_usd": costs,
    })
    return Run(meta={"run_id": rid, "source_format": "demo"}, tasks=tasks)


def test_summary_counts_and_unpriced_cost_stays_na():
    run = _run("r1", [True, False, True, None], [None, None, None, None])
    row = run.summary().iloc[0]
    assert row["tasks"] == 4 and row["successes"] == 2
    assert row["pass_rate"] == pytest.approx(2 / 3)  # the task with no outcome is not counted
    assert np.isnan(row["cost_usd"])


def test_summary_uses_header_totals_when_tasks_are_partial():
    run = _run("r1", [False, False], [None, None])
    run.meta.update(tasks_total=10, tasks_passed=8)
    row = run.summary().iloc[0]
    assert (row["tasks"], row["successes"], row["pass_rate"]) == (10, 8, 0.8)


def test_concat_runs_tags_rows_and_makes_ids_unique():
    both = concat_runs([_run("r", [True], [0.5]), _run("r", [False, True], [1.0, 2.0])])
    assert both.run_ids == ["r", "r#2"]
    assert both.tasks.groupby("run_id").size().to_dict() == {"r": 1, "r#2": 2}
    summary = both.summary().set_index("run_id")
    assert summary.loc["r#2", "cost_usd"] == 3.0
    assert both.select("r#2").tasks["task_id"].tolist() == ["t0", "t1"]


def test_detect_names_the_formats_tried(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    with pytest.raises(ak.LoadError) as info:
        ak.load(junk)
    message = str(info.value)
    assert str(junk) in message
    for fmt in ak.FORMATS:
        assert fmt in message


def test_missing_path_is_a_load_error(tmp_path):
    with pytest.raises(ak.LoadError, match="no such file"):
        ak.load(tmp_path / "nope.json")


def test_unknown_format_name():
    with pytest.raises(ak.LoadError, match="unknown format"):
        ak.load(".", format="nonsense")


def test_summary_pass_rate_unknown_when_tasks_are_partial_without_totals():
    run = _run("r1", [False, False], [None, None])
    run.meta["tasks_partial"] = True
    assert np.isnan(run.summary().iloc[0]["pass_rate"])


def test_run_accepts_tables_as_lists_of_dicts():
    run = Run(meta={"run_id": "r"}, tasks=[{"task_id": "a", "success": True}])
    assert run.tasks["run_id"].tolist() == ["r"] and bool(run.tasks["success"].iloc[0])


def test_json_text_writes_what_json_dumps_writes_and_never_raises():
    from analysis_kit.model import json_text, to_json_text

    class Opaque:
        def __str__(self):
            return "opaque"

    values = [[{"id": "c1", "name": "search", "arguments": {"q": "ü\u2028é", "n": [1, 2.5, None, True]}}],
              "top", 3, 1e300, float("nan"), float("-inf"), {1: 2, None: 3}, {"x": Opaque()}, [], {}]
    for value in values:
        assert json_text(value) == json.dumps(value, ensure_ascii=False, default=str)
    cycle: list = []
    cycle.append(cycle)
    deep = inner = []
    for _ in range(100_000):
        inner.append([])
        inner = inner[0]
    assert to_json_text(cycle) == '"[[...]]"' and to_json_text(deep) == '"<list nested too deep to show>"'
