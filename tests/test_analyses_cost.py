"""Cost analyses: unpriced calls counted and NA cost, cache hit rate, per success, framework split."""

import numpy as np
import pandas as pd
import pytest

from analysis_kit.analyses import agent_vs_framework, cost_by, cost_per_success
from analysis_kit.model import Run, conform


def events(rows):
    return conform(pd.DataFrame(rows), "events")


def sample_events():
    return events({
        "task_id": ["t1", "t1", "t2", "t2", "t1", "t2", "t1"],
        "agent": ["agent", "agent", "agent", "user_simulator", "evaluator", "agent", "agent"],
        "kind": ["llm_call", "llm_call", "llm_call", "user_sim", "evaluator", "tool_call", "step"],
        "name": ["gpt", "gpt", "local", "gpt", "judge", "search", None],
        "cost_usd": [0.10, 0.30, None, 0.05, None, None, 9.0],
        "input_tokens": [1000, 3000, 500, 200, 100, None, 9999],
        "output_tokens": [10, 30, 5, 2, 1, None, 99],
        "cached_tokens": [500, 0, None, None, None, None, None],
    })


def test_cost_by_model_counts_unpriced_and_keeps_na():
    out = cost_by(sample_events(), by="model").set_index("model")
    # tool_call (no price, not a model call) and the step span are not calls
    assert out["calls"].to_dict() == {"gpt": 3, "judge": 1, "local": 1}
    assert out.loc["gpt", "cost_usd"] == pytest.approx(0.45)
    assert out.loc["gpt", "unpriced_calls"] == 0
    assert np.isnan(out.loc["local", "cost_usd"]) and out.loc["local", "unpriced_calls"] == 1
    assert np.isnan(out.loc["judge", "cost_usd"])
    assert out.loc["gpt", "cache_hit_rate"] == pytest.approx(500 / 4200)
    assert np.isnan(out.loc["local", "cache_hit_rate"])


def test_cost_by_task_and_kind():
    by_task = cost_by(sample_events(), by="task").set_index("task")
    assert by_task.loc["t1", "cost_usd"] == pytest.approx(0.40) and by_task.loc["t1", "unpriced_calls"] == 1
    assert by_task.loc["t2", "input_tokens"] == 700
    by_kind = cost_by(sample_events(), by=["kind", "agent"])
    assert len(by_kind) == 3 and by_kind["calls"].sum() == 5


def test_agent_vs_framework():
    out = agent_vs_framework(sample_events()).set_index("side")
    assert out.loc["agent", "cost_usd"] == pytest.approx(0.40)
    assert out.loc["agent", "unpriced_calls"] == 1
    assert out.loc["framework", "calls"] == 2 and out.loc["framework", "cost_usd"] == pytest.approx(0.05)
    assert out.loc["framework", "unpriced_calls"] == 1
    assert out["cost_share"].to_dict() == pytest.approx({"agent": 0.4 / 0.45, "framework": 0.05 / 0.45})


def test_cost_falls_back_to_messages_then_tasks():
    msgs = pd.DataFrame({"task_id": ["a", "a", "a"], "agent": ["agent", "user_simulator", "agent"],
                         "role": ["assistant", "user", "tool"], "cost_usd": [0.2, 0.1, None]})
    run = Run(meta={"run_id": "r"}, messages=msgs)
    by_agent = cost_by(run, by="agent").set_index("agent")
    assert by_agent["cost_usd"].to_dict() == pytest.approx({"agent": 0.2, "user_simulator": 0.1})
    split = agent_vs_framework(run).set_index("side")
    assert split.loc["framework", "cost_usd"] == pytest.approx(0.1)
    tasks_only = Run(meta={"run_id": "r"}, tasks=pd.DataFrame({"task_id": ["a", "b"], "cost_usd": [1.0, None]}))
    out = cost_by(tasks_only, by="task_id").set_index("task_id")
    assert out.loc["a", "cost_usd"] == 1.0 and np.isnan(out.loc["b", "cost_usd"])


def test_cost_per_success_from_tasks_and_from_events():
    run = Run(meta={"run_id": "r"}, tasks=pd.DataFrame({
        "task_id": list("abcd"), "success": [True, False, True, None], "cost_usd": [1.0, 2.0, 3.0, None]}))
    row = cost_per_success(run).iloc[0]
    assert row["cost_usd"] == 6.0 and row["successes"] == 2 and row["cost_per_success"] == 3.0
    assert row["mean_cost_successful_task"] == 2.0 and row["unpriced_tasks"] == 1
    run2 = Run(meta={"run_id": "r"}, events=sample_events(),
               tasks=pd.DataFrame({"task_id": ["t1", "t2"], "success": [True, False]}))
    row2 = cost_per_success(run2).iloc[0]
    assert row2["cost_usd"] == pytest.approx(0.45) and row2["cost_per_success"] == pytest.approx(0.45)


def test_cost_on_unpriced_only_and_empty():
    profile_like = events({"kind": ["llm_call", "tool_call"], "name": ["m", "f"], "duration_ms": [1.0, 2.0]})
    out = cost_by(profile_like)
    assert out["calls"].tolist() == [1] and out["unpriced_calls"].tolist() == [1]
    assert np.isnan(out["cost_usd"].iloc[0]) and np.isnan(out["input_tokens"].iloc[0])
    empty = conform(None, "events")
    assert cost_by(empty).empty and "unpriced_calls" in cost_by(empty).columns
    assert agent_vs_framework(empty).empty
    assert cost_per_success(Run(meta={"run_id": "e"})).empty


def test_usage_a_round_reports_is_billed_to_its_model_once():
    from analysis_kit.model import Run

    # MassGen's own logs: usage per round, no calls listed; one model without a price
    rounds = pd.DataFrame({"kind": ["round"] * 3, "agent": ["a", "a", "b"], "task_id": "t",
                           "attrs": ['{"model": "m1"}', '{"model": "m1"}', '{"model": "m2"}'],
                           "cost_usd": [0.5, 0.25, None], "input_tokens": [100, 50, 40]})
    out = cost_by(Run(meta={"run_id": "r"}, events=rounds), "model").set_index("model")
    assert out.loc["m1", ["calls", "priced_calls", "cost_usd", "input_tokens"]].tolist() == [2, 2, 0.75, 150]
    assert out.loc["m2", "unpriced_calls"] == 1 and np.isnan(out.loc["m2", "cost_usd"])
    # a trace: the round reports the usage, its calls (listed inside it) none of their own
    trace = pd.DataFrame({"kind": ["round", "llm_call", "llm_call", "tool_call"], "name": ["round 0", "m3", "m3", "t"],
                          "span_id": ["r", "c1", "c2", "t1"], "parent_id": [None, "r", "r", "r"],
                          "cost_usd": [0.3, None, None, None], "input_tokens": [900, None, None, None]})
    out = cost_by(trace, "model")
    assert out[["model", "calls", "priced_calls", "unpriced_calls", "cost_usd"]].values.tolist() == [["m3", 2, 2, 0, 0.3]]
    # calls that carry their own usage: the span around them is not counted again
    nested = trace.assign(cost_usd=[0.3, 0.1, 0.2, None], kind=["agent", "llm_call", "llm_call", "tool_call"])
    out = cost_by(nested, "model")
    assert out[["model", "calls", "cost_usd"]].values.tolist() == [["m3", 2, pytest.approx(0.3)]]
