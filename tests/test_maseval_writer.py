"""The MASEval loader on files MASEval 0.5.x itself wrote (tests/writers/maseval_run.py): every
record the writer wrote is in the tables, wherever the writer put it.

The run is generated once per test session, offline, by MASEval's own Benchmark,
FileResultLogger and MessageTracingAgentCallback (scripted models and agents)."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit.analyses import agent_vs_framework, cost_by
from writers import maseval_run as writer

@pytest.fixture(scope="session")
def written(tmp_path_factory) -> writer.MasevalRun:
    return writer.write_run(tmp_path_factory.mktemp("maseval_writer"))


@pytest.fixture(scope="session")
def run(written):
    return ak.load(written.results_dir, format="maseval", cache=False)


@pytest.fixture(scope="session")
def conversations(written):
    return ak.load(written.conversations_json, format="maseval", cache=False)


def ts(text: str) -> pd.Timestamp:
    """MASEval writes naive ``datetime.now().isoformat()``; the loader takes it as UTC."""
    return pd.Timestamp(text, tz="UTC")


def key(frame: pd.DataFrame) -> list:
    return list(zip(frame["task_id"], frame["trial"].astype(int)))


def plain(values: pd.Series) -> list:
    """A column as a list with NA as None, to compare with what the writer wrote."""
    return [None if pd.isna(v) else v for v in values]


# --------------------------------------------------------------------------- the writer's output itself

def test_the_writer_provoked_every_status(written):
    assert written.jsonl.name.startswith("benchmark_") and written.meta_json.exists()
    assert Counter(r["status"] for r in written.lines) == Counter(
        {"success": 13, "agent_error": 1, "environment_error": 1, "user_error": 1, "task_timeout": 1,
         "unknown_execution_error": 1, "evaluation_failed": 1, "setup_failed": 1})
    assert [(r["task_id"], r["repeat_idx"]) for r in written.lines] == [
        (r["task_id"], r["repeat_idx"]) for r in written.reports]
    # tools live where MASEval's benchmarks put them: in the environment, and one registered by hand
    wheres = {where for r in written.lines for where, _, _ in writer.tool_invocations(r)}
    assert wheres == {"traces.tools.ask_researcher", "traces.environment.tools.lookup_order",
                      "traces.environment.tools.search_docs", "traces.environment.tools.create_ticket"}
    # one completed repeat answered wrong, one was judged 0
    assert [k for k, b in written.behaviour.items() if b in ("wrong", "judged_zero")] == [("t02", 1), ("t03", 1)]


# --------------------------------------------------------------------------- tasks: one row per report

def test_every_report_is_a_task_row_with_its_status_and_error(run, written):
    assert key(run.tasks) == [(r["task_id"], r["repeat_idx"]) for r in written.lines]
    assert run.tasks["status"].tolist() == [r["status"] for r in written.lines]
    for row, record in zip(run.tasks.itertuples(), written.lines):
        err = record["error"]
        if err is None:
            assert pd.isna(row.error) and pd.isna(row.termination_reason)
        else:
            assert row.error == f"{err['error_type']}: {err['error_message']}"
            assert row.termination_reason == err["error_type"]
    failed = [(r["task_id"], r["repeat_idx"], r["status"] if r["status"] != "success" else "incorrect")
              for r in written.lines
              if r["status"] != "success" or written.verdict(r["task_id"], r["repeat_idx"]) is False]
    assert list(zip(run.failures["task_id"], run.failures["trial"].astype(int), run.failures["category"])) == failed
    wrong = run.failures[run.failures["category"] == "incorrect"]
    assert wrong["step"].tolist() == ["answer", "answer"]
    assert wrong["error"].tolist() == ["passed=False, reward=0.0; score=0.0", "passed=True, reward=1.0; score=0.0"]


def test_usage_and_cost_per_repeat_are_the_sum_of_its_components(run, written):
    for row, record in zip(run.tasks.itertuples(), written.lines):
        parts = [u for _, u in writer.usage_components(record)]
        if record["usage"] is None:  # setup failed: MASEval collected no usage
            assert pd.isna(row.input_tokens) and pd.isna(row.cost_usd)
            continue
        assert row.input_tokens == sum(u.get("input_tokens", 0) for u in parts)
        assert row.output_tokens == sum(u.get("output_tokens", 0) for u in parts)
        assert row.cost_usd == pytest.approx(sum(u["cost"] for u in parts))
    judged = run.tasks.set_index(["task_id", "trial"]).loc[("t01", 0)]
    assert judged["cost_usd"] > writer.JUDGE_COST_PER_CALL  # the judge's cost, counted after evaluation


def test_each_model_components_usage_is_an_event_its_calls_run_in(run, written):
    usage = run.events[run.events["kind"] == "usage"]
    for record in written.lines:
        rows = usage[(usage["task_id"] == record["task_id"]) & (usage["trial"] == record["repeat_idx"])]
        models = {c.split(":", 1)[1]: u for c, u in writer.usage_components(record) if c.startswith("models:")}
        used = {c: u for c, u in models.items() if u.get("input_tokens") or u.get("output_tokens") or u.get("cost")}
        assert sorted(json.loads(a)["component"] for a in rows["attrs"]) == sorted(used), record["task_id"]
        for row in rows.itertuples():
            part = used[json.loads(row.attrs)["component"]]
            assert (row.input_tokens, row.output_tokens) == (part["input_tokens"], part["output_tokens"])
            # MASEval's default cost 0.0 with tokens used is no price: NA, never 0
            assert row.cost_usd == pytest.approx(part["cost"]) if part["cost"] else pd.isna(row.cost_usd)
            inside = run.events[run.events["parent_id"] == row.span_id]
            assert len(inside) == sum(1 for c, _ in writer.model_calls(record) if f"/{c}" in row.span_id)
    # cost by model: each model's cost is its components' reported cost, the total the tasks'
    by_model = cost_by(run, "model")
    assert by_model["cost_usd"].sum() == pytest.approx(run.tasks["cost_usd"].sum())
    assert by_model["input_tokens"].sum() == run.tasks["input_tokens"].sum()
    side = agent_vs_framework(run).set_index("side")
    assert side.loc["framework", "cost_usd"] >= writer.JUDGE_COST_PER_CALL  # the judge's cost is the harness's
    # the usage records group calls; they are no span hierarchy to draw
    from analysis_kit.report.views import trace

    assert trace.has_content(run) is not None and ak.analyses.slowest_traces(run).empty


def test_reward_keeps_the_evaluators_scores(run, written):
    for row, record in zip(run.tasks.itertuples(), written.lines):
        if not record["eval"]:
            assert pd.isna(row.reward)
            continue
        scores = [e.get("reward", e.get("score")) for e in record["eval"]]
        assert row.reward == pytest.approx(sum(scores) / len(scores))
    assert run.tasks.set_index(["task_id", "trial"]).loc[("t03", 0), "reward"] == 0.75


def test_success_is_the_evaluations_verdict(run, written):
    for row, record in zip(run.tasks.itertuples(), written.lines):
        verdict = written.verdict(record["task_id"], record["repeat_idx"])
        expected = verdict if verdict is not None else False  # not evaluated: no accepted answer
        assert row.success == expected, (record["task_id"], record["repeat_idx"])
    tasks = run.tasks.set_index(["task_id", "trial"])
    assert tasks.loc[("t02", 1), "status"] == "success" and not tasks.loc[("t02", 1), "success"]
    assert tasks.loc[("t03", 1), "status"] == "success" and not tasks.loc[("t03", 1), "success"]


def test_repeats_that_were_not_evaluated_are_not_successes(run, written):
    unevaluated = [(r["task_id"], r["repeat_idx"]) for r in written.lines if r["eval"] is None]
    assert len(unevaluated) == 7
    assert not run.tasks.set_index(["task_id", "trial"]).loc[unevaluated, "success"].any()


def test_meta_reads_the_meta_json(run, written):
    meta = json.loads(written.meta_json.read_text())
    assert run.meta["expected_iterations"] == meta["total_iterations"] == 20
    assert run.meta["logger_n_tasks"] == 10 and run.meta["logger_n_repeats"] == 2
    assert run.meta["run_id"] == written.jsonl.stem


# --------------------------------------------------------------------------- events

def test_every_model_call_is_an_event(run, written):
    events = run.events[run.events["kind"].isin(["llm_call", "user_sim", "evaluator"])]
    operations = run.events[run.events["kind"] != "usage"]
    for record in written.lines:
        rows = events[(events["task_id"] == record["task_id"]) & (events["trial"] == record["repeat_idx"])]
        calls = list(writer.model_calls(record))
        models = record["traces"].get("models", {})
        assert len(rows) == len(calls), record["task_id"]
        assert sorted(rows["start"]) == sorted(ts(log["timestamp"]) for _, log in calls)
        assert sorted(rows["duration_ms"]) == pytest.approx(sorted(log["duration_seconds"] * 1000 for _, log in calls))
        assert Counter(rows["name"]) == Counter(models[c]["model_id"] for c, _ in calls)
        errors = sorted(f"{log['error_type']}: {log['error']}" for _, log in calls if log["status"] == "error")
        assert sorted(rows["error"].dropna()) == errors
    # the judge's calls come after trace collection (its total_calls says 0, its logs hold them)
    judged = written.line("t01", 0)["traces"]["models"]["judge_model"]
    assert judged["total_calls"] == 0 and len(judged["logs"]) == 1
    assert (operations["name"] == writer.JUDGE_MODEL).sum() == sum(
        len(r["traces"]["models"]["judge_model"]["logs"]) for r in written.lines if r["traces"])


def test_user_simulator_and_judge_calls_are_framework_kinds(run):
    judged = run.events[run.events["name"] == writer.JUDGE_MODEL]
    assert set(judged["kind"]) == {"evaluator", "usage"} and set(judged["agent"]) == {"evaluator"}
    sim = run.events[run.events["attrs"].fillna("").str.contains('"component": "user_simulator"')]
    assert len(sim) > 0 and set(sim["kind"]) == {"user_sim", "usage"} and set(sim["agent"]) == {"user_simulator"}
    judge = run.events[run.events["kind"] == "evaluator"]
    assert set(judge["agent"]) == {"evaluator"}


def test_every_tool_invocation_is_an_event_wherever_the_writer_put_it(run, written):
    tools = run.events[run.events["kind"] == "tool_call"]
    for record in written.lines:
        rows = tools[(tools["task_id"] == record["task_id"]) & (tools["trial"] == record["repeat_idx"])]
        invocations = list(writer.tool_invocations(record))
        assert len(rows) == len(invocations), record["task_id"]
        by_id = {json.loads(a)["id"]: r for a, r in zip(rows["attrs"], rows.itertuples())}
        for where, name, inv in invocations:
            row = by_id[inv["id"]]
            assert row.name == name and row.start == ts(inv["timestamp"])
            assert (pd.isna(row.error)) == (inv["status"] == "success")
            if inv["status"] != "success":
                assert row.error == inv["outputs"]
            duration = inv["meta"].get("duration_seconds")
            assert (pd.isna(row.duration_ms) if duration is None
                    else row.duration_ms == pytest.approx(duration * 1000))
            attrs = json.loads(row.attrs)
            assert attrs["arguments"] == inv["inputs"] and attrs["source"] == where
            assert attrs["result"] == inv["outputs"] and attrs["id"] == inv["id"]
    failed = tools[tools["error"].notna()]
    assert sorted(zip(failed["task_id"], failed["name"])) == [("t05", "ask_researcher"), ("t05", "search_docs")]
    called_by = set(zip(tools["name"], tools["agent"]))
    assert called_by == {("lookup_order", "orchestrator"), ("ask_researcher", "orchestrator"),
                         ("create_ticket", "orchestrator"), ("search_docs", "researcher")}


def test_agent_steps_and_user_turns_are_events(run, written):
    steps = run.events[(run.events["kind"] == "step") & (run.events["agent"] != "user_simulator")]
    turns = run.events[(run.events["kind"] == "step") & (run.events["agent"] == "user_simulator")]
    for record in written.lines:
        mine = lambda frame: frame[(frame["task_id"] == record["task_id"])  # noqa: E731
                                   & (frame["trial"] == record["repeat_idx"])]
        truth = list(writer.agent_steps(record))
        rows = mine(steps)
        assert sorted(zip(rows["agent"], rows["start"])) == sorted(
            (agent, pd.Timestamp(s["start_time"], unit="s", tz="UTC")) for agent, s in truth)
        assert sorted(rows["error"].dropna()) == sorted(
            f"{s['error_type']}: {s['error']}" for _, s in truth if "error" in s)
        user = writer.user_turns(record)
        rows = mine(turns)
        assert sorted(rows["start"]) == sorted(ts(t["timestamp"]) for t in user)
        assert sorted(rows["error"].dropna()) == sorted(f"{t['error_type']}: {t['error']}"
                                                        for t in user if t["status"] == "error")


# --------------------------------------------------------------------------- messages

def test_every_agent_message_is_a_message_row(run, written):
    agent_msgs = run.messages[run.messages["agent"].isin(["orchestrator", "researcher"])]
    for record in written.lines:
        for agent, trace in (record["traces"].get("agents") or {}).items():
            rows = agent_msgs[(agent_msgs["task_id"] == record["task_id"])
                              & (agent_msgs["trial"] == record["repeat_idx"]) & (agent_msgs["agent"] == agent)]
            truth = trace["messages"]
            assert rows["role"].tolist() == [m["role"] for m in truth]
            assert plain(rows["content"]) == [m.get("content") for m in truth]
            assert rows["timestamp"].tolist() == [ts(m["timestamp"]) for m in truth]
            calls = [[c["id"] for c in json.loads(tc)] if isinstance(tc, str) else []
                     for tc in rows["tool_calls"]]
            assert calls == [[c["id"] for c in m.get("tool_calls", [])] for m in truth]
            assert rows["tool_call_id"].fillna("").tolist() == [m.get("tool_call_id", "") for m in truth]


def test_user_simulator_messages_are_message_rows(run, written):
    user_rows = run.messages[run.messages["agent"] == "user_simulator"]
    for record in written.lines:
        truth = (record["traces"].get("user") or {}).get("messages", [])
        rows = user_rows[(user_rows["task_id"] == record["task_id"]) & (user_rows["trial"] == record["repeat_idx"])]
        assert rows["role"].tolist() == [m["role"] for m in truth]
        assert rows["content"].tolist() == [m["content"] for m in truth]


def test_traced_conversations_dump_loads_every_conversation(conversations, written):
    truth = written.conversations
    assert len(conversations.tasks) == len(truth) > 0
    assert conversations.tasks["agent"].tolist() == [c["agent_name"] for c in truth]
    assert len(conversations.messages) == sum(c["message_count"] for c in truth)
    first = conversations.messages[conversations.messages["task_id"] == "0"]
    assert plain(first["content"]) == [m.get("content") for m in truth[0]["messages"]]
    assert len(conversations.problems) == 0


# --------------------------------------------------------------------------- nothing silently dropped

def test_no_problem_rows_except_sections_not_read(run):
    reasons = run.problems["reason"].tolist()
    assert all(r.startswith("not read: traces.") for r in reasons), reasons
    assert len(reasons) == len(set(reasons))  # once per run, not once per record


def test_a_section_the_loader_does_not_read_is_listed_once_per_run(written, tmp_path):
    """A newer writer adds timed operations under names this loader does not know: each such
    section is one problem row per run, not one per record, and the rest still loads."""
    lines = []
    for record in written.lines[:4]:
        record = json.loads(json.dumps(record))
        if record["traces"]:
            record["traces"]["agents"]["orchestrator"]["spans"] = [
                {"start_time": 1.0, "end_time": 2.0, "name": "plan", "error": None}]
            record["traces"]["planners"] = {"p": {"logs": [{"timestamp": "2025-01-01T00:00:00",
                                                            "duration_seconds": 1.0, "status": "success"}]}}
        lines.append(json.dumps(record))
    path = tmp_path / "benchmark_20250101_000000.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = ak.load(path, format="maseval", cache=False)
    assert len(loaded.tasks) == 4
    assert sorted(loaded.problems["reason"]) == ["not read: traces.agents.orchestrator.spans",
                                                 "not read: traces.planners"]
