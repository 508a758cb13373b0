"""Conversation analyses: counts, repeated tool calls, largest outputs, transcript, JSONL export."""

import json

import pandas as pd
import pytest

from analysis_kit.analyses import (export_openai_jsonl, largest_tool_outputs, message_counts,
                                   repeated_tool_calls, transcript)
from analysis_kit.model import Run, conform

CALL = '[{"id": "%s", "name": "get_order", "arguments": %s}]'


def sample_messages():
    return pd.DataFrame({
        "task_id": ["t1"] * 6 + ["t2"] * 3,
        "trial": [0] * 9,
        "agent": ["agent"] * 9,
        "idx": [0, 1, 2, 3, 4, 5, 0, 1, 2],
        "role": ["user", "assistant", "tool", "assistant", "tool", "assistant", "user", "assistant", "tool"],
        "content": ["<script>alert(1)</script> where is my order?", None, "x" * 50, None, "y" * 80, "done",
                    "hi", None, "z" * 10],
        "tool_calls": [None, CALL % ("c1", '{"id": 7, "full": true}'), None,
                       CALL % ("c2", '{"full": true, "id": 7}'), None, None,
                       None, CALL % ("c3", '{"id": 7, "full": true}'), None],
        "tool_call_id": [None, None, "c1", None, "c2", None, None, None, "c3"],
        "name": [None, None, "get_order", None, "get_order", None, None, None, "get_order"],
    })


def test_message_counts():
    out = message_counts(conform(sample_messages(), "messages")).set_index("task_id")
    assert out.loc["t1", ["messages", "user", "assistant", "tool", "system", "tool_calls"]].tolist() == [6, 1, 3, 2, 0, 2]
    assert out.loc["t2", "tool_calls"] == 1


def test_repeated_tool_calls_same_args_in_any_key_order():
    out = repeated_tool_calls(conform(sample_messages(), "messages"))
    assert len(out) == 1  # t2's single call is not a repeat
    row = out.iloc[0]
    assert (row["task_id"], row["tool"], row["count"], row["first_idx"]) == ("t1", "get_order", 2, 1)
    assert json.loads(row["arguments"]) == {"id": 7, "full": True}
    assert repeated_tool_calls(conform(sample_messages(), "messages"), min_count=3).empty


def test_repeated_tool_calls_from_events_when_no_messages():
    ev = pd.DataFrame({"task_id": ["t9"] * 3, "agent": ["a"] * 3, "kind": ["tool_call"] * 3,
                       "name": ["ls", "ls", "ls"],
                       "attrs": ['{"arguments": {"path": "/"}}', '{"arguments": {"path": "/"}}',
                                 '{"arguments": {"path": "/tmp"}}']})
    out = repeated_tool_calls(Run(meta={"run_id": "r"}, events=ev))
    assert out[["task_id", "tool", "arguments", "count"]].values.tolist() == [["t9", "ls", '{"path": "/"}', 2]]


def test_largest_tool_outputs():
    out = largest_tool_outputs(conform(sample_messages(), "messages"), n=2)
    assert out["length"].tolist() == [80, 50] and out["tool_call_id"].tolist() == ["c2", "c1"]
    assert out["preview"].iloc[0] == "y" * 80


def test_transcript_keeps_raw_text_in_order():
    m = conform(sample_messages(), "messages").sample(frac=1.0, random_state=3)
    out = transcript(m, "t1")
    assert out["idx"].tolist() == [0, 1, 2, 3, 4, 5]
    assert out.loc[0, "content"].startswith("<script>")  # escaping is the display's job
    assert out.loc[1, "tool_calls"] == 'get_order({"full": true, "id": 7})'
    assert transcript(m, "nope").empty


def test_export_openai_jsonl_read_back(tmp_path):
    run = Run(meta={"run_id": "r"}, messages=sample_messages(),
              tasks=pd.DataFrame({"task_id": ["t1", "t2"], "trial": [0, 0], "success": [True, False]}))
    path = tmp_path / "conv.jsonl"
    assert export_openai_jsonl(run, path) == 2
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(d["task_id"], d["success"], d["agent"], d["trial"]) for d in lines] == [
        ("t1", True, "agent", 0), ("t2", False, "agent", 0)]
    first = lines[0]["messages"]
    assert [m["role"] for m in first] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    call = first[1]["tool_calls"][0]
    assert call["type"] == "function" and call["id"] == "c1"
    assert json.loads(call["function"]["arguments"]) == {"id": 7, "full": True}
    assert first[2] == {"role": "tool", "content": "x" * 50, "tool_call_id": "c1", "name": "get_order"}
    assert first[1]["content"] is None
    assert export_openai_jsonl(run, tmp_path / "ok.jsonl", outcome="success") == 1
    assert json.loads((tmp_path / "ok.jsonl").read_text())["task_id"] == "t1"
    assert export_openai_jsonl(run, tmp_path / "bad.jsonl", outcome="failure", task_id="t1") == 0
    assert export_openai_jsonl(run, tmp_path / "none.jsonl", agent="nobody") == 0
    with pytest.raises(ValueError):
        export_openai_jsonl(run, tmp_path / "x.jsonl", outcome="maybe")


def test_conversations_empty_and_bad_tool_json():
    empty = conform(None, "messages")
    for frame in (message_counts(empty), repeated_tool_calls(empty), largest_tool_outputs(empty),
                  transcript(empty, "t")):
        assert frame.empty and len(frame.columns)
    broken = conform(pd.DataFrame({"task_id": ["t"] * 2, "role": ["assistant"] * 2,
                                   "tool_calls": ["not json", '[{"name": "f", "arguments": "raw {"}]']}), "messages")
    assert message_counts(broken)["tool_calls"].tolist() == [1]


def test_repeated_tool_calls_events_fill_agents_without_message_calls():
    msgs = conform(sample_messages(), "messages")
    ev = pd.DataFrame({"task_id": ["t1"] * 2 + ["t5"] * 2, "trial": [0] * 4, "agent": ["agent"] * 2 + ["w"] * 2,
                       "kind": ["tool_call"] * 4, "name": ["get_order"] * 2 + ["run"] * 2,
                       "attrs": ['{"arguments": {"id": 7, "full": true}}'] * 2
                       + ['{"arguments": "ls -la", "arguments_truncated": true}'] * 2})  # the contract's keys
    run = Run(meta={"run_id": "r"}, messages=msgs, events=ev)
    out = repeated_tool_calls(run)
    # t1/agent already has calls in messages: its events are not counted again
    assert out[["task_id", "tool", "arguments", "count"]].values.tolist() == [
        ["t1", "get_order", '{"full": true, "id": 7}', 2], ["t5", "run", "ls -la", 2]]
