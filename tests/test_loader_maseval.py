"""MASEval loader: the generated sample, a hand-written JSONL, traced conversations, broken
input and strict mode. No public real MASEval result file exists (real_logs/SOURCES.md)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit.exceptions import LoadError
from analysis_kit.loaders import maseval
from analysis_kit.samples import HOSTILE_SNIPPETS
from analysis_kit.samples import maseval as sample

UTC = "UTC"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


def write_jsonl(path: Path, reports: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in reports), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- hand-written run

def good_report() -> dict:
    return {
        "task_id": "t1", "repeat_idx": 0, "status": "success", "error": None,
        "traces": {
            "metadata": {"timestamp": "2025-01-01T10:00:10", "thread_id": 1, "total_components": 3},
            "agents": {"planner": {"name": "planner", "message_count": 4, "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "What is 2+2?"},
                                             {"type": "image_url", "image_url": {"url": "x"}}],
                 "timestamp": "2025-01-01T10:00:01"},
                {"role": "assistant", "content": None, "timestamp": "2025-01-01T10:00:02",
                 "tool_calls": [{"id": "c1", "type": "function",
                                 "function": {"name": "lookup", "arguments": "{\"q\": \"2+2\"}"}}]},
                {"role": "tool", "tool_call_id": "c1", "name": "lookup", "content": "4",
                 "timestamp": "2025-01-01T10:00:04"},
            ]}},
            "models": {"planner_model": {"model_id": "gpt-x", "total_calls": 2, "logs": [
                {"timestamp": "2025-01-01T10:00:00", "duration_seconds": 2.5, "status": "success",
                 "response_type": "tool_call", "tool_calls_count": 1, "message_count": 2,
                 "usage": {"input_tokens": 100, "output_tokens": 20, "cached_input_tokens": 10},
                 "cost": 0.001},
                {"timestamp": "2025-01-01T10:00:05", "duration_seconds": 1.0, "status": "error",
                 "error": "boom", "error_type": "APIError", "message_count": 4},
            ]}},
            "tools": {"lookup": {"name": "lookup", "invocations": [
                {"id": "inv1", "inputs": {"q": "2+2"}, "outputs": "4", "status": "success",
                 "timestamp": "2025-01-01T10:00:03", "meta": {"duration_seconds": 0.5}},
            ]}},
        },
        "config": {"benchmark": {"name": "config-bench"}},
        "eval": [{"evaluator": "a", "score": 1.0}, {"evaluator": "b", "score": 0.5}],
        "usage": {"input_tokens": 100, "output_tokens": 20, "cached_input_tokens": 10,
                  "reasoning_tokens": 0, "cost": 0.001},
    }


def agent_error_report() -> dict:
    return {
        "task_id": "t2", "repeat_idx": 1, "status": "AGENT_ERROR",
        "error": {"error_type": "AgentError", "error_message": "bad output", "component": "planner"},
        "traces": {"agents": {}, "models": {"m": {"model_id": "gpt-x", "logs": [
            {"timestamp": "2025-01-01T11:00:00", "duration_seconds": 3.0, "status": "success",
             "usage": {"input_tokens": 7, "output_tokens": 3}}]}}},
        "config": {}, "eval": None,
    }


def timeout_report() -> dict:
    return {"task_id": "t3", "repeat_idx": 0, "status": "task_timeout",
            "error": {"error_type": "TaskTimeoutError", "error_message": "over 60s",
                      "elapsed": 61.5, "timeout": 60},
            "traces": None, "config": {}, "eval": None}


@pytest.fixture
def hand_run(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    write_jsonl(folder / "benchmark_20250101_100000.jsonl",
                [good_report(), agent_error_report(), timeout_report()])
    (folder / "benchmark_20250101_100000.meta.json").write_text(json.dumps(
        {"output_file": "benchmark_20250101_100000.jsonl", "timestamp": "20250101_100000",
         "n_tasks": 3, "n_repeats": 2, "total_iterations": 6, "lines_written": 3}))
    return folder


def test_hand_written_tasks(hand_run):
    run = maseval.load(hand_run)
    tasks = run.tasks.set_index("task_id")
    assert list(tasks.index) == ["t1", "t2", "t3"]
    assert tasks["trial"].tolist() == [0, 1, 0]
    assert tasks["status"].tolist() == ["success", "agent_error", "task_timeout"]
    assert tasks["success"].tolist() == [True, False, False]
    assert tasks.loc["t1", "reward"] == 0.75  # mean of the two evaluators' scores
    assert pd.isna(tasks.loc["t2", "reward"])
    # t1 starts at its first model call and ends when traces were collected
    assert tasks.loc["t1", "start"] == ts("2025-01-01 10:00:00")
    assert tasks.loc["t1", "end"] == ts("2025-01-01 10:00:10")
    assert tasks.loc["t1", "duration_s"] == 10.0
    assert tasks.loc["t1", "cost_usd"] == 0.001
    assert tasks.loc["t1", "input_tokens"] == 100 and tasks.loc["t1", "output_tokens"] == 20
    # no usage and no priced call: tokens from the call log, cost unknown (never 0)
    assert tasks.loc["t2", "input_tokens"] == 7 and tasks.loc["t2", "output_tokens"] == 3
    assert pd.isna(tasks.loc["t2", "cost_usd"])
    assert tasks.loc["t2", "error"] == "AgentError: bad output"
    assert tasks.loc["t2", "termination_reason"] == "AgentError"
    # a timeout with no traces: duration from error.elapsed, no start
    assert pd.isna(tasks.loc["t3", "start"]) and tasks.loc["t3", "duration_s"] == 61.5
    assert len(run.problems) == 0


def test_hand_written_messages(hand_run):
    msgs = maseval.load(hand_run).messages
    assert len(msgs) == 4
    assert msgs["agent"].tolist() == ["planner"] * 4
    assert msgs["idx"].tolist() == [0, 1, 2, 3]
    assert msgs["role"].tolist() == ["system", "user", "assistant", "tool"]
    assert msgs["content"].iloc[1] == "What is 2+2?\n[image_url]"
    assert pd.isna(msgs["content"].iloc[2])
    assert json.loads(msgs["tool_calls"].iloc[2]) == [{"id": "c1", "name": "lookup", "arguments": {"q": "2+2"}}]
    assert pd.isna(msgs["tool_calls"].iloc[0])
    assert msgs["tool_call_id"].iloc[3] == "c1" and msgs["name"].iloc[3] == "lookup"
    assert pd.isna(msgs["timestamp"].iloc[0])
    assert msgs["timestamp"].iloc[3] == ts("2025-01-01 10:00:04")
    assert set(msgs["task_id"]) == {"t1"} and set(msgs["trial"]) == {0}


def test_hand_written_events(hand_run):
    events = maseval.load(hand_run).events
    t1 = events[events["task_id"] == "t1"].reset_index(drop=True)
    assert t1["kind"].tolist() == ["llm_call", "llm_call", "tool_call"]
    assert t1["name"].tolist() == ["gpt-x", "gpt-x", "lookup"]
    # planner_model -> planner (named after the agent); lookup is called only by planner
    assert t1["agent"].tolist() == ["planner"] * 3
    assert t1["duration_ms"].tolist() == [2500.0, 1000.0, 500.0]
    assert t1["start"].tolist() == [ts("2025-01-01 10:00:00"), ts("2025-01-01 10:00:05"),
                                    ts("2025-01-01 10:00:03")]
    assert t1["end"].iloc[0] == ts("2025-01-01 10:00:02.5")
    assert t1["input_tokens"].iloc[0] == 100 and t1["output_tokens"].iloc[0] == 20
    assert t1["cached_tokens"].iloc[0] == 10
    assert t1["cost_usd"].iloc[0] == 0.001 and pd.isna(t1["cost_usd"].iloc[1])
    assert pd.isna(t1["error"].iloc[0]) and t1["error"].iloc[1] == "APIError: boom"
    assert pd.isna(t1["error"].iloc[2])
    attrs = json.loads(t1["attrs"].iloc[0])
    assert attrs["component"] == "planner_model" and attrs["has_tool_calls"] is True
    assert json.loads(t1["attrs"].iloc[2])["arguments"] == {"q": "2+2"}  # model.ATTR_KEYS' name
    # t2's model "m" names no agent and t2 has no messages: agent unknown
    t2 = events[events["task_id"] == "t2"]
    assert len(t2) == 1 and pd.isna(t2["agent"].iloc[0]) and t2["trial"].iloc[0] == 1


def test_hand_written_failures_and_meta(hand_run):
    run = maseval.load(hand_run)
    f = run.failures
    assert f["task_id"].tolist() == ["t2", "t3"]
    assert f["category"].tolist() == ["agent_error", "task_timeout"]
    assert f["step"].tolist() == ["agent", "timeout"]
    assert f["error"].tolist() == ["AgentError: bad output", "TaskTimeoutError: over 60s"]
    assert f["classification"].isna().all()
    assert run.meta["run_id"] == "benchmark_20250101_100000"
    # MASEval's config.benchmark is system info (git, python, packages): never a benchmark's name
    assert run.meta["benchmark"] is None
    assert run.meta["models"] == ["gpt-x"]
    assert run.meta["expected_iterations"] == 6
    assert pd.Timestamp(run.meta["started"]) == ts("2025-01-01 10:00:00")
    assert pd.Timestamp(run.meta["ended"]) == ts("2025-01-01 11:00:03")


def test_single_jsonl_file_loads_like_the_folder(hand_run):
    file = hand_run / "benchmark_20250101_100000.jsonl"
    assert maseval.sniff(file)
    run = maseval.load(file)
    assert run.meta["run_id"] == "benchmark_20250101_100000"
    assert run.meta["expected_iterations"] == 6  # the .meta.json next to it is read too
    assert len(run.tasks) == 3


def test_registry_shaped_usage_is_summed(tmp_path):
    report = good_report()
    report["usage"] = {"metadata": {"timestamp": "x"},
                       "models": {"a": {"cost": 0.25, "input_tokens": 10, "output_tokens": 1},
                                  "b": {"cost": 0.5, "input_tokens": 20, "output_tokens": 2}},
                       "tools": {"t": {"cost": 0.125, "units": {"api_calls": 1}}},
                       "environment": None}
    run = maseval.load(write_jsonl(tmp_path / "benchmark_x.jsonl", [report]))
    row = run.tasks.iloc[0]
    assert (row["cost_usd"], row["input_tokens"], row["output_tokens"]) == (0.875, 30, 3)


# --------------------------------------------------------------------------- the generated sample

@pytest.fixture
def sample_run(tmp_path):
    folder = sample.write(tmp_path / "maseval", seed=3, size=1)
    (jsonl,) = folder.glob("benchmark_*.jsonl")
    reports = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    return folder, reports, maseval.load(folder)


def test_sample_shape_and_size(sample_run):
    folder, reports, run = sample_run
    assert folder.is_dir() and maseval.sniff(folder)
    assert sum(f.stat().st_size for f in folder.iterdir()) < 400_000
    assert len(reports) == 20 and len({r["task_id"] for r in reports}) == 10
    assert len(run.tasks) == 20 and len(run.problems) == 0
    # the keys FileResultLogger writes, and nothing the real writer does not (issue 10)
    assert {tuple(r) for r in reports} == {("task_id", "repeat_idx", "status", "error", "traces", "config",
                                            "eval", "usage", "task")}
    assert run.meta["benchmark"] is None  # MASEval writes no benchmark name
    assert run.meta["models"] == sorted([sample.PRICED_MODEL, sample.UNPRICED_MODEL])
    assert set(run.messages["agent"]) == {"orchestrator", "worker"}


def test_sample_values_match_the_written_reports(sample_run):
    _, reports, run = sample_run
    assert run.tasks["status"].tolist() == [r["status"] for r in reports]
    assert run.tasks["trial"].tolist() == [r["repeat_idx"] for r in reports]
    assert Counter(run.tasks["status"]) == Counter(
        {"success": 16, "unknown_execution_error": 1, "evaluation_failed": 1,
         "task_timeout": 1, "environment_error": 1})
    assert len(run.messages) == sum(len(a["messages"]) for r in reports
                                    for a in r["traces"]["agents"].values())
    n_calls = sum(len(m["logs"]) for r in reports for m in r["traces"]["models"].values())
    n_tools = sum(len(t["invocations"]) for r in reports for t in r["traces"]["environment"]["tools"].values())
    assert (run.events["kind"] == "llm_call").sum() == n_calls
    assert (run.events["kind"] == "tool_call").sum() == n_tools > 0
    for row, report in zip(run.tasks.itertuples(), reports):
        models = report["usage"]["models"]
        assert row.input_tokens == sum(u["input_tokens"] for u in models.values())
        # the worker's model is unpriced (MASEval writes cost 0.0): the cost is the priced model's
        assert models["worker_model"]["cost"] == 0.0 and models["worker_model"]["input_tokens"] > 0
        assert row.cost_usd == pytest.approx(models["orchestrator_model"]["cost"])
    # success is the evaluator's verdict: a completed repeat scored 0 is a failure
    for row, report in zip(run.tasks.itertuples(), reports):
        assert row.success == (report["eval"] is not None and report["eval"][0]["passed"])
    assert ((run.tasks["status"] == "success") & ~run.tasks["success"]).sum() == sum(
        1 for r in reports if r["eval"] and not r["eval"][0]["passed"]) > 0


def test_sample_failures_unpriced_model_and_errors(sample_run):
    _, reports, run = sample_run
    wrong = sum(1 for r in reports if r["eval"] and not r["eval"][0]["passed"])
    assert Counter(zip(run.failures["category"], run.failures["step"])) == Counter({
        ("unknown_execution_error", "execution"): 1, ("evaluation_failed", "evaluation"): 1,
        ("task_timeout", "timeout"): 1, ("environment_error", "environment"): 1, ("incorrect", "answer"): wrong})
    llm = run.events[run.events["kind"] == "llm_call"]
    assert llm["cost_usd"].isna().all() and llm["input_tokens"].isna().all()  # MASEval writes no per-call usage
    assert llm["error"].dropna().tolist() == ["RateLimitError: 429 Too Many Requests"]
    tools = run.events[run.events["kind"] == "tool_call"]
    assert tools["error"].dropna().tolist() == ["[search_docs] docs index unreachable"]
    assert set(zip(tools["name"], tools["agent"])) == {("search_docs", "worker"), ("create_ticket", "orchestrator")}
    assert tools["duration_ms"].notna().all()


def test_sample_hostile_text_and_repeated_tool_calls(sample_run):
    _, _, run = sample_run
    text = "\n".join(run.messages["content"].dropna())
    for snippet in HOSTILE_SNIPPETS:
        assert snippet in text  # kept raw: escaping is the display layer's job
    assert "sk-test-FAKE" in text and "<script>" in text and "onerror=" in text
    calls = run.messages.dropna(subset=["tool_calls"])
    keys = Counter((r.task_id, r.trial, json.dumps([{k: c[k] for k in ("name", "arguments")}
                                                    for c in json.loads(r.tool_calls)]))
                   for r in calls.itertuples())
    repeated = [k for k, n in keys.items() if n >= 2]
    # tasks 1 and 5 repeat the same search in both repeats
    assert sorted({k[0] for k in repeated}) == ["task_001", "task_005"]
    assert len(repeated) == 4


def test_sample_is_deterministic(tmp_path):
    a = sample.write(tmp_path / "a", seed=5, size=1)
    b = sample.write(tmp_path / "b", seed=5, size=1)
    c = sample.write(tmp_path / "c", seed=6, size=1)
    read = lambda d: {f.name: f.read_bytes() for f in sorted(d.iterdir())}  # noqa: E731
    assert read(a) == read(b)
    assert read(a) != read(c)
    sample.write(tmp_path / "a", seed=6, size=1)  # rewriting a folder leaves one run in it
    assert len(list((tmp_path / "a").glob("benchmark_*.jsonl"))) == 1


def test_sample_size_scales_tasks(tmp_path):
    run = maseval.load(sample.write(tmp_path / "big", seed=1, size=2))
    assert len(run.tasks) == 40 and run.tasks["task_id"].nunique() == 20


def test_load_through_the_package_and_cache(tmp_path):
    folder = sample.write(tmp_path / "m", seed=2, size=1)
    first = ak.load(folder, format="maseval")
    second = ak.load(folder, format="maseval")  # served from the Parquet cache
    assert first.meta["source_format"] == "maseval"
    assert len(second.tasks) == 20 and len(second.messages) == len(first.messages)
    pd.testing.assert_series_equal(first.tasks["cost_usd"], second.tasks["cost_usd"])


# --------------------------------------------------------------------------- traced conversations

def conversations() -> list:
    return [
        {"agent_name": "researcher", "agent_type": "ToolCallingAgent", "query": "Capital of France?",
         "messages": [
             {"role": "user", "content": "Capital of France?", "timestamp": "2025-02-01T09:00:00"},
             {"role": "assistant", "content": "Paris", "timestamp": "2025-02-01T09:00:03"}],
         "message_count": 2,
         "metadata": {"timestamp": "2025-02-01T09:00:03", "has_tool_calls": False,
                      "roles": ["user", "assistant"], "task_id": "geo-1"}},
        {"agent_name": "writer", "agent_type": "CodeAgent", "query": None,
         "messages": [{"role": "assistant", "tool_calls": [
             {"id": "k", "type": "function", "function": {"name": "save", "arguments": "{}"}}]}],
         "message_count": 1},
    ]


def test_traced_conversations(tmp_path):
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(conversations(), indent=2), encoding="utf-8")
    assert maseval.sniff(path)
    run = maseval.load(path)
    assert run.meta["run_id"] == "traces" and run.meta["agents"] == ["researcher", "writer"]
    assert run.tasks["task_id"].tolist() == ["geo-1", "1"]  # metadata task_id, else the index
    assert run.tasks["trial"].tolist() == [0, 0]
    assert run.tasks["duration_s"].iloc[0] == 3.0
    assert run.tasks["query"].iloc[0] == "Capital of France?"
    assert run.tasks["status"].isna().all() and run.tasks["success"].isna().all()
    assert run.messages["agent"].tolist() == ["researcher", "researcher", "writer"]
    assert run.messages["content"].tolist()[:2] == ["Capital of France?", "Paris"]
    assert json.loads(run.messages["tool_calls"].iloc[2]) == [{"id": "k", "name": "save", "arguments": {}}]
    assert run.events.empty and len(run.problems) == 0


def test_traced_conversations_truncated_keeps_the_head(tmp_path):
    text = json.dumps(conversations(), indent=2)
    cut = text[: text.index('"writer"') + 20]  # the file ends inside the second conversation
    path = tmp_path / "traces.json"
    path.write_text(cut, encoding="utf-8")
    run = maseval.load(path)
    assert run.tasks["task_id"].tolist() == ["geo-1"]
    (problem,) = run.problems.itertuples()
    assert problem.reason.startswith("element #2 of the top-level array")  # the core's salvage
    assert "the 1 complete elements before it are kept" in problem.reason
    start = cut[: cut.rindex("{", 0, cut.index('"writer"'))].count("\n") + 1
    assert f"(starting at line {start})" in problem.reason and problem.line == cut.count("\n") + 1


# --------------------------------------------------------------------------- broken input

@pytest.fixture
def broken_file(tmp_path):
    good = json.dumps(good_report()).encode()
    bad_utf8 = json.dumps(dict(good_report(), task_id="t-utf8")).encode().replace(b"Be brief.", b"Be \xff brief.")
    wrong_types = dict(agent_error_report(), task_id="t-types", repeat_idx="one")
    wrong_types["traces"] = {"agents": {"a": {"messages": None}, "b": {"messages": [
        {"role": "assistant", "tool_calls": [{"id": "x", "function": {"name": "f", "arguments": "{oops"}}]},
        "not a message"]}},
        "models": {"m": {"model_id": "gpt-x", "logs": [{"timestamp": "2025-01-01T00:00:00",
                                                          "duration_seconds": "slow", "status": "success"}]}}}
    truncated = json.dumps(timeout_report()).encode()[:40]
    path = tmp_path / "benchmark_broken.jsonl"
    path.write_bytes(b"\n".join([good, b"garbage {", bad_utf8, json.dumps(wrong_types).encode(),
                                 b"[1, 2]", truncated]))
    return path


def test_broken_lines_become_problems_and_good_lines_load(broken_file):
    assert maseval.sniff(broken_file)
    run = maseval.load(broken_file)
    assert run.tasks["task_id"].tolist() == ["t1", "t-utf8", "t-types"]
    probs = [(int(r.line), r.reason) for r in run.problems.itertuples()]
    assert all(f == str(broken_file) for f in run.problems["file"])
    lines = [line for line, _ in probs]
    assert lines == [2, 3, 4, 4, 4, 4, 4, 5, 6]
    reasons = dict(zip(range(len(probs)), [reason for _, reason in probs]))
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1].startswith("bytes that are not UTF-8")
    assert reasons[2] == "task t-types: repeat_idx should be an integer, got str; taken as NA"
    assert reasons[3] == "task t-types: traces.agents.a.messages is not a list"
    assert reasons[4] == "task t-types: traces.agents.b.messages[0].tool_calls[0] arguments are not valid JSON"
    assert reasons[5] == "task t-types: traces.agents.b.messages[1] is not an object"
    assert reasons[6] == ("task t-types: traces.models.m.logs[0].duration_seconds should be a number, got str; "
                          "taken as NA")
    assert reasons[7] == "a report must be a JSON object, not list"
    assert reasons[8] == "truncated last line (the writer was stopped mid-line?)"
    assert run.problems["raw"].iloc[0] == "garbage {"
    # the replaced byte keeps the rest of the message
    utf8 = run.messages[run.messages["task_id"] == "t-utf8"]
    assert utf8["content"].iloc[0] == "Be \ufffd brief."
    # wrong types: trial unknown, the bad-argument tool call kept with its raw string
    types = run.tasks.set_index("task_id").loc["t-types"]
    assert pd.isna(types["trial"])
    kept = run.messages[run.messages["task_id"] == "t-types"]
    assert json.loads(kept["tool_calls"].iloc[0]) == [{"id": "x", "name": "f", "arguments": "{oops"}]
    ev = run.events[run.events["task_id"] == "t-types"]
    assert len(ev) == 1 and pd.isna(ev["duration_ms"].iloc[0])


def test_strict_raises_naming_file_and_line(broken_file):
    with pytest.raises(LoadError) as info:
        maseval.load(broken_file, strict=True)
    assert info.value.file == str(broken_file) and info.value.line == 2
    assert f"{broken_file}:2:" in str(info.value)
    with pytest.raises(LoadError, match=r"benchmark_broken\.jsonl:2: invalid JSON"):
        ak.load(broken_file, format="maseval", strict=True)


def test_strict_on_a_clean_run_loads(hand_run):
    assert len(maseval.load(hand_run, strict=True).tasks) == 3


def test_unreadable_meta_json_is_a_problem(hand_run):
    (hand_run / "benchmark_20250101_100000.meta.json").write_text("{not json")
    run = maseval.load(hand_run)
    assert len(run.tasks) == 3
    (problem,) = run.problems.itertuples()
    assert problem.file.endswith(".meta.json") and problem.reason.startswith("invalid JSON") and problem.line == 1
    assert "expected_iterations" not in run.meta  # nothing is taken from an unreadable .meta.json


def test_empty_folder_is_a_problem_not_a_crash(tmp_path):
    run = maseval.load(tmp_path)
    assert run.tasks.empty and len(run.problems) == 1


@pytest.mark.parametrize("name, content", [
    ("other.jsonl", b'{"id": 1, "messages": []}\n'),
    ("tau.json", b'{"timestamp": "x", "simulations": []}'),
    ("list.json", b'[{"role": "user"}]'),
    ("binary.jsonl", b"\x00\xff\xfe garbage"),
    ("notes.txt", b'{"task_id": "a", "repeat_idx": 0}'),
])
def test_sniff_rejects_other_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    assert not maseval.sniff(path)


def test_sniff_folders(tmp_path):
    assert not maseval.sniff(tmp_path)
    (tmp_path / "benchmark_1.jsonl").write_text('{"task_id": "a", "repeat_idx": 0}\n')
    assert maseval.sniff(tmp_path)
    assert not maseval.sniff(tmp_path / "missing")


def test_sniff_first_line_longer_than_the_window(tmp_path):
    report = good_report()
    report["traces"]["agents"]["planner"]["messages"][0]["content"] = "x" * (maseval.SNIFF_BYTES + 10)
    path = write_jsonl(tmp_path / "benchmark_long.jsonl", [report])
    assert maseval.sniff(path)


# --------------------------------------------------------------------------- kept but reported

def _only_problem(run) -> tuple:
    (row,) = run.problems.itertuples()
    return row.file, int(row.line), row.reason, row.raw


def test_unreadable_timestamp_is_na_and_a_problem(tmp_path):
    bad = good_report()
    bad["task_id"] = "t-when"
    bad["traces"]["models"]["planner_model"]["logs"][1]["timestamp"] = "yesterday"
    path = write_jsonl(tmp_path / "benchmark_when.jsonl", [good_report(), bad])
    run = maseval.load(path)
    assert _only_problem(run) == (
        str(path), 2, "task t-when: traces.models.planner_model.logs[1].timestamp 'yesterday' is not a "
        "readable time; taken as NA", "yesterday")
    calls = run.events[(run.events["task_id"] == "t-when") & (run.events["kind"] == "llm_call")]
    assert len(calls) == 2 and calls["start"].isna().tolist() == [False, True]  # record kept
    assert run.tasks["task_id"].tolist() == ["t1", "t-when"]
    with pytest.raises(LoadError) as info:
        maseval.load(path, strict=True)
    assert (info.value.file, info.value.line) == (str(path), 2)
    assert f"{path}:2:" in str(info.value) and "logs[1].timestamp" in str(info.value)


@pytest.mark.parametrize("where, value, raw, why", [
    ("message", "10 past 10", "10 past 10", "'10 past 10' is not a readable time"),
    ("message", True, "true", "should be a time, got bool"),
    ("tool", "3000-01-01T00:00:00", "3000-01-01T00:00:00",  # beyond pandas' range
     "'3000-01-01T00:00:00' is not a readable time"),
    ("metadata", "soon", "soon", "'soon' is not a readable time"),
])
def test_other_unreadable_timestamps_name_their_field(tmp_path, where, value, raw, why):
    report = good_report()
    traces = report["traces"]
    field = {"message": ("traces.agents.planner.messages[1].timestamp",
                         traces["agents"]["planner"]["messages"][1]),
             "tool": ("traces.tools.lookup.invocations[0].timestamp",
                      traces["tools"]["lookup"]["invocations"][0]),
             "metadata": ("traces.metadata.timestamp", traces["metadata"])}[where]
    field[1]["timestamp"] = value
    path = write_jsonl(tmp_path / "benchmark_t.jsonl", [report])
    run = maseval.load(path)
    assert _only_problem(run) == (str(path), 1, f"task t1: {field[0]} {why}; taken as NA", raw)
    assert len(run.tasks) == 1 and len(run.messages) == 4 and len(run.events) == 3


def test_unknown_role_is_kept_and_a_problem(tmp_path):
    odd = good_report()
    odd["task_id"] = "t-odd"
    odd["traces"]["agents"]["planner"]["messages"][1]["role"] = "narrator"
    path = write_jsonl(tmp_path / "benchmark_roles.jsonl", [good_report(), odd])
    run = maseval.load(path)
    assert _only_problem(run) == (
        str(path), 2, "task t-odd: traces.agents.planner.messages[1] has unknown role "
        "'narrator'; kept", "narrator")
    kept = run.messages[run.messages["task_id"] == "t-odd"]
    assert kept["role"].tolist() == ["system", "narrator", "assistant", "tool"]
    with pytest.raises(LoadError) as info:
        maseval.load(path, strict=True)
    assert (info.value.file, info.value.line) == (str(path), 2)
    assert f"{path}:2:" in str(info.value) and "narrator" in str(info.value)


def test_all_openai_roles_are_known_and_a_missing_role_is_not(tmp_path):
    report = good_report()
    msgs = report["traces"]["agents"]["planner"]["messages"]
    msgs[0]["role"] = "developer"
    msgs.append({"role": "function", "name": "lookup", "content": "4"})
    msgs.append({"content": "who am I?"})
    msgs.append({"role": ["user"], "content": "a list is not a role"})
    msgs.append({"role": "x" * 1000, "content": "a long role"})
    path = write_jsonl(tmp_path / "benchmark_r.jsonl", [report])
    run = maseval.load(path)
    assert run.messages["role"].tolist()[:5] == ["developer", "user", "assistant", "tool", "function"]
    assert pd.isna(run.messages["role"].iloc[5]) and run.messages["role"].iloc[6] == "['user']"
    assert len(run.messages) == 8
    where = "task t1: traces.agents.planner.messages"
    assert [(int(r.line), r.reason) for r in run.problems.itertuples()] == [
        (1, f"{where}[5] has unknown role None; kept"),
        (1, f"{where}[6] has unknown role ['user']; kept"),
        (1, f"{where}[7] has unknown role '{'x' * 76}...; kept")]


def test_unknown_role_in_traced_conversations(tmp_path):
    convs = conversations()
    convs[0]["messages"][1]["role"] = "oracle"
    convs[0]["messages"][1]["timestamp"] = "soon"
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(convs, indent=2), encoding="utf-8")
    run = maseval.load(path)
    assert [(int(r.line), r.reason) for r in run.problems.itertuples()] == [
        (2, "conversation geo-1: messages[1] has unknown role 'oracle'; kept"),
        (2, "conversation geo-1: messages[1].timestamp 'soon' is not a readable time; taken as NA")]
    assert run.messages["role"].tolist()[:2] == ["user", "oracle"]


def test_duplicate_attempt_is_kept_and_a_problem(tmp_path):
    path = write_jsonl(tmp_path / "benchmark_dup.jsonl",
                       [good_report(), agent_error_report(), good_report(),
                        dict(good_report(), repeat_idx=1)])  # another repeat: not a duplicate
    run = maseval.load(path)
    assert _only_problem(run) == (
        str(path), 3, "task t1: duplicate attempt (repeat_idx 0; first at line 1); both kept", "t1")
    assert run.tasks["task_id"].tolist() == ["t1", "t2", "t1", "t1"]
    assert run.tasks["trial"].tolist() == [0, 1, 0, 1]
    with pytest.raises(LoadError) as info:
        maseval.load(path, strict=True)
    assert (info.value.file, info.value.line) == (str(path), 3)
    assert f"{path}:3:" in str(info.value) and "duplicate attempt" in str(info.value)


def test_duplicate_attempt_across_files_of_one_run(hand_run):
    second = write_jsonl(hand_run / "benchmark_20250101_120000.jsonl",
                         [timeout_report(), agent_error_report()])
    run = maseval.load(hand_run)
    first = hand_run / "benchmark_20250101_100000.jsonl"
    rows = [(r.file, int(r.line), r.reason) for r in run.problems.itertuples()]
    assert rows == [
        (str(second), 1, f"task t3: duplicate attempt (repeat_idx 0; first at {first} line 3); both kept"),
        (str(second), 2, f"task t2: duplicate attempt (repeat_idx 1; first at {first} line 2); both kept")]
    assert len(run.tasks) == 5


# --------------------------------------------------------------------------- rules of issue 10

@pytest.mark.parametrize("evaluation, status, success, reward", [
    ([{"overall_gsr": 1.0, "user_gsr": 1.0}], "success", True, 1.0),    # MACS
    ([{"overall_gsr": 0.0, "user_gsr": 1.0}], "success", False, 0.0),
    ([{"correct": False}], "success", False, None),                     # MMLU: a flag, no score
    ([{"passed": True, "reward": 0.4}], "success", True, 0.4),          # tau2: the flag decides
    ([{"precision": 0.8}], "success", None, None),                      # no verdict: unknown
    (None, "success", None, None),                                      # eval not written
    (None, "agent_error", False, None),                                 # not evaluated: failed
])
def test_success_is_the_evaluations_verdict(tmp_path, evaluation, status, success, reward):
    report = dict(good_report(), eval=evaluation, status=status)
    run = maseval.load(write_jsonl(tmp_path / "benchmark_v.jsonl", [report]))
    row = run.tasks.iloc[0]
    assert row["status"] == status
    assert (pd.isna(row["success"]) if success is None else row["success"] == success)
    assert (pd.isna(row["reward"]) if reward is None else row["reward"] == reward)
    assert (run.failures["category"].tolist() == ["incorrect"]) == (status == "success" and success is False)


def test_unpriced_components_give_na_cost_not_zero(tmp_path):
    report = good_report()
    report["usage"] = {"agents": {"planner": {"cost": 0.0, "units": {}}},
                       "models": {"planner_model": {"cost": 0.0, "input_tokens": 100, "output_tokens": 20}}}
    priced = dict(report, task_id="t-priced", usage={"models": {
        "a": {"cost": 0.0, "input_tokens": 100, "output_tokens": 20},  # unpriced: left out, not 0
        "b": {"cost": 0.25, "input_tokens": 10, "output_tokens": 2}}})
    run = maseval.load(write_jsonl(tmp_path / "benchmark_c.jsonl", [report, priced]))
    assert pd.isna(run.tasks["cost_usd"].iloc[0]) and run.tasks["input_tokens"].iloc[0] == 100
    assert run.tasks["cost_usd"].iloc[1] == 0.25 and run.tasks["input_tokens"].iloc[1] == 110


def test_tools_wherever_the_writer_puts_them_count_once(tmp_path):
    report = good_report()
    inv = report["traces"]["tools"]["lookup"]["invocations"][0]
    report["traces"]["environment"] = {
        "type": "MarbleEnvironment", "tool_count": 1, "domain": "coding",
        "tools": {"lookup": {"type": "function", "has_tracing": False},  # a tool without a history
                  "shell": {"invocations": [inv]}},                      # the same call registered twice
        "tool_invocations": {"post": {"invocations": [dict(inv, id="inv9", status="error", outputs="denied")],
                                      "invocation_count": 1}}}
    run = maseval.load(write_jsonl(tmp_path / "benchmark_t.jsonl", [report]))
    tools = run.events[run.events["kind"] == "tool_call"]
    assert tools["name"].tolist() == ["lookup", "post"]
    assert [json.loads(a)["source"] for a in tools["attrs"]] == [
        "traces.tools.lookup", "traces.environment.tool_invocations.post"]
    assert tools["error"].tolist()[1] == "denied" and len(run.problems) == 0


def test_simulator_logs_are_reported_not_read(tmp_path):
    reports = []
    for task in ("t1", "t2"):
        report = dict(good_report(), task_id=task)
        report["traces"]["simulators"] = {"tool_sim": {"type": "ToolLLMSimulator", "total_calls": 1, "logs": [
            {"id": "x", "timestamp": "2025-01-01T10:00:01", "status": "model_call_error", "error": "boom"}]}}
        reports.append(report)
    run = maseval.load(write_jsonl(tmp_path / "benchmark_s.jsonl", reports))
    assert run.problems["reason"].tolist() == ["not read: traces.simulators.tool_sim.logs"]
    assert len(run.tasks) == 2
