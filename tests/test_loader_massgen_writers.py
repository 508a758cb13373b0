"""The MassGen loaders on files MassGen's own code wrote (tests/writers/massgen_logs.py):
every record the writers wrote is in the tables. The ground truth is what MassGen held in
memory (its backends' tool metrics and round history, its coordination tracker's events)
and what the scripted model and tool served.

The writer runs in its own interpreter (.venv-massgen, built on first use from
tests/writers/massgen-env.txt, or $ANALYSIS_KIT_MASSGEN_PYTHON), once per session."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit.analyses import cost_by
from analysis_kit.loaders import massgen, massgen_trace
from tests.writers import massgen_logs as writer

pytestmark = pytest.mark.xdist_group("massgen_writer")


@pytest.fixture(scope="session")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("massgen_written")
    truth = writer.write_in_subprocess(out)
    return out, truth


@pytest.fixture(scope="session")
def log_dir(written):
    out, truth = written
    return out / truth["log_dir"]


def _attrs(frame: pd.DataFrame) -> list[dict]:
    return [json.loads(a) if isinstance(a, str) else {} for a in frame["attrs"]]


def _attempt_truth(truth: dict, turn: int, attempt: int) -> dict:
    return next(a for a in truth["attempts"] if a["turn"] == turn and a["attempt"] == attempt)


def _own(truth: dict, turn: int, attempt: int, key: str) -> dict[str, list]:
    """Per agent, the records of ``key`` that are this attempt's own: a backend keeps its
    metrics across the attempts of a turn, so those that began before this attempt did are
    the earlier attempt's (its post-evaluation round is recorded after its files were
    written, so only the next attempt's files hold it)."""
    this = _attempt_truth(truth, turn, attempt)
    begin = this["session_start"] if attempt > 1 else float("-inf")
    return {aid: [r for r in info[key] if r["start_time"] >= begin] for aid, info in this["agents"].items()}


ATTEMPTS = [(1, 1), (1, 2), (2, 1)]


@pytest.mark.parametrize("turn,attempt", ATTEMPTS)
def test_every_tool_execution_is_one_row_with_its_agent_and_arguments(log_dir, written, turn, attempt):
    truth = written[1]
    run = massgen.load(log_dir, turn=turn, attempt=attempt)
    calls = {c["id"]: c for m in truth["model_log"] for c in m["calls"]}
    expected = {m["call_id"]: aid for aid, ms in _own(truth, turn, attempt, "tool_metrics").items() for m in ms}
    tools = run.events[run.events.kind == "tool_call"]
    got = {a["call_id"]: (agent, a.get("arguments")) for agent, a in zip(tools.agent, _attrs(tools))}
    assert len(tools) == len(expected) > 0
    assert set(got) == set(expected)
    guessed = {a["call_id"] for a in _attrs(tools) if "agent_candidates" in a}
    for cid, (agent, args) in got.items():
        assert args == calls[cid]["arguments"]        # from events.jsonl / streaming_debug / trace
        if cid not in guessed:                        # metrics say "unknown"; the trace names it
            assert agent == expected[cid]
    # identical calls run at once by two agents are told apart by no file: the pairs of
    # (agent, arguments) are still the ones the agents made
    assert Counter((a, json.dumps(g)) for a, g in got.values()) == \
        Counter((expected[c], json.dumps(calls[c]["arguments"])) for c in got)
    assert tools.start.notna().all() and tools.duration_ms.notna().all()


def test_tool_rows_join_all_four_files_and_keep_results(log_dir, written):
    run = massgen.load(log_dir, turn=1, attempt=1)
    tools = run.events[run.events.kind == "tool_call"]
    attrs = _attrs(tools)
    assert all(set(a["sources"]) == {"metrics_events.json", "events.jsonl", "streaming_debug.log",
                                     "execution_trace.md"} for a in attrs)
    by_command = {a["arguments"]["command"]: (a, err) for a, err in zip(attrs, tools.error)}
    failed = [err for cmd, (a, err) in by_command.items() if cmd == "python -m pytest -q"]
    assert failed and all("No module named 'pytest'" in err for err in failed)
    assert sum(isinstance(err, str) for err in tools.error) == len(failed)
    served = {e["command"]: e for e in written[1]["tool_log"] if "output_chars" in e}
    for cmd, (a, err) in by_command.items():
        if cmd in served:  # the result is the tool's JSON around the output it served
            assert a["result_length"] > served[cmd]["output_chars"]
            assert json.loads(a["result"])["stdout"] == writer.tool_output(cmd.split(" /tmp")[0].strip())
    # the ChatCompletions backend writes each call twice in the trace: one row, two records
    assert {a.get("records") for a in attrs} == {2}


@pytest.mark.parametrize("turn,attempt", ATTEMPTS)
def test_every_coordination_event_answer_vote_and_round(log_dir, written, turn, attempt):
    truth = written[1]
    run = massgen.load(log_dir, turn=turn, attempt=attempt)
    written_events = Counter(e["event_type"] for e in _attempt_truth(truth, turn, attempt)["coordination_events"])
    ev = run.events
    assert (ev.kind == "answer").sum() == written_events["new_answer"]
    assert (ev.kind == "vote").sum() == written_events["vote_cast"]
    assert (ev.kind == "restart").sum() == written_events["restart_triggered"]
    others = ev[ev.kind == "coordination"].name.value_counts().to_dict()
    for etype, n in written_events.items():
        if etype not in ("new_answer", "vote_cast", "restart_triggered"):
            assert others.get(etype) == n, etype
    rounds = _own(truth, turn, attempt, "round_history")
    got = ev[ev.kind == "round"]
    assert len(got) == sum(len(r) for r in rounds.values())
    assert int(got.input_tokens.sum()) == sum(r["input_tokens"] for rs in rounds.values() for r in rs)


def test_answers_are_the_texts_the_model_submitted(log_dir, written):
    run = massgen.load(log_dir, turn=1, attempt=1)
    submitted = {c["arguments"]["content"] for m in written[1]["model_log"] if (m["turn"], m["attempt"]) == (1, 1)
                 for c in m["calls"] if c["name"] == "new_answer"}
    answers = run.messages[run.messages.name.fillna("").str.match(r"agent\d\.\d$")]
    assert set(answers.content) == submitted
    final = run.messages[run.messages.name == "final"]
    assert final.content.tolist() == ["Final answer of agent_b (turn 1)."]


def test_usage_of_a_restarted_turn_is_not_counted_twice(log_dir, written):
    truth = written[1]
    first, second = (massgen.load(log_dir, turn=1, attempt=a) for a in (1, 2))
    usage = {a: _attempt_truth(truth, 1, a)["agents"] for a in (1, 2)}
    total = {a: sum(u["token_usage"]["input_tokens"] for u in usage[a].values()) for a in (1, 2)}
    assert first.tasks.input_tokens.iloc[0] == total[1]
    assert second.tasks.input_tokens.iloc[0] == total[2] - total[1]   # the files hold the sum
    assert any("earlier attempt's" in r for r in second.problems.reason)


def test_unpriced_model_has_na_cost_not_zero(log_dir):
    run = massgen.load(log_dir, turn=1, attempt=1)
    rounds = run.events[run.events.kind == "round"]
    local = rounds[rounds.agent == "agent_c"]
    assert len(local) and local.cost_usd.isna().all() and local.input_tokens.gt(0).all()
    assert all(a["reported_cost"] == 0.0 for a in _attrs(local))
    assert rounds[rounds.agent == "agent_a"].cost_usd.gt(0).all()
    assert run.meta["unpriced_agents"] == ["agent_c"]


def test_round_usage_is_billed_to_the_model_each_agent_ran(log_dir):
    run = massgen.load(log_dir, turn=1, attempt=1)
    rounds = run.events[run.events.kind == "round"]
    assert [a["model"] for a in _attrs(rounds)] == [writer.AGENTS[a] for a in rounds.agent]  # the config's models
    by_model = cost_by(run, "model").set_index("model")
    assert set(by_model.index) == set(writer.AGENTS.values())
    for agent, model in writer.AGENTS.items():
        own = rounds[rounds.agent == agent]
        assert by_model.loc[model, "calls"] == len(own)
        assert by_model.loc[model, "input_tokens"] == own.input_tokens.sum()
    assert pd.isna(by_model.loc["qwen3-8b-local", "cost_usd"])  # no price: NA, and counted as unpriced
    assert by_model.loc["qwen3-8b-local", "unpriced_calls"] == len(rounds[rounds.agent == "agent_c"])
    assert by_model["cost_usd"].sum() == pytest.approx(rounds.cost_usd.sum())


def test_attempts_listed_with_the_restart_reason(log_dir):
    run = massgen.load(log_dir)
    assert (run.meta["turn"], run.meta["attempt"]) == (2, 1)
    rows = {(a["turn"], a["attempt"]): a for a in run.meta["attempts"]}
    assert rows[(1, 1)]["outcome"] == "restarted"
    assert rows[(1, 1)]["restart_reason"] == writer.RESTART_REASON
    assert rows[(1, 2)]["outcome"] == "completed" and rows[(2, 1)]["loaded"]
    assert [a["attempt"] for a in run.meta["restarted_attempts"]] == [1]


def test_enforcement_of_a_vote_with_no_answers(log_dir):
    run = massgen.load(log_dir, turn=2, attempt=1)
    status = {s["agent"]: s for s in run.meta["agent_status"]}
    assert status["agent_c"]["status"] == "error"
    assert set(status["agent_c"]["enforcement_reasons"]) == {"vote_no_answers"}
    assert run.failures.task_id.tolist() == ["agent_c"]
    errors = run.events[run.events.kind == "error"]
    assert errors.error.str.contains("Cannot vote when no answers exist").any()  # massgen.log


def test_trace_sections_become_messages(log_dir, written):
    run = massgen.load(log_dir, turn=1, attempt=1)
    msgs = run.messages
    reasoning = msgs[msgs.name == "reasoning"]
    served = {m["reasoning"] for m in written[1]["model_log"] if m["reasoning"] and (m["turn"], m["attempt"]) == (1, 1)}
    assert set(reasoning.content) == served
    tool_results = msgs[msgs.role == "tool"]
    assert len(tool_results) and tool_results.tool_call_id.notna().all()
    assert (run.problems.reason.str.contains("execution_trace")).sum() == 0


# ----------------------------------------------------------------------------- traces alone
@pytest.mark.parametrize("name", ["mixed/execution_trace.md", "empty/execution_trace.md"])
def test_trace_written_by_execution_trace_writer(written, name):
    out, truth = written
    expected = truth["traces"][name]
    run = ak.load(out / "traces" / name)
    assert run.meta["source_format"] == "massgen_trace"
    assert run.meta["agent"] == expected["agent"] and run.meta["models"] == [expected["model"]]
    assert run.meta["started"].startswith(expected["started"].replace(" ", "T"))
    entries = expected["entries"]
    calls = [e for e in entries if e["kind"] == "tool_call"]
    ev = run.events
    tools = ev[ev.kind == "tool_call"]
    assert [a["arguments"] for a in _attrs(tools)] == [c["args"] for c in calls if c["name"] not in ("vote", "new_answer")]
    results = [e for e in entries if e["kind"] == "tool_result"]
    assert [a.get("result") for a in _attrs(tools) if "result" in a] == [r["text"] for r in results]
    assert tools.error.notna().sum() == sum(r["is_error"] for r in results) == expected["errors"]
    votes = [e for e in entries if e["kind"] == "vote"]
    assert [(a["voted_for_label"], a["reason"], a["available_options"]) for a in _attrs(ev[ev.kind == "vote"])] == \
        [(v["voted_for"], v["reason"], v["options"]) for v in votes]
    msgs = run.messages
    for kind, name_ in (("reasoning", "reasoning"), ("content", None)):
        texts = [e["text"] for e in entries if e["kind"] == kind]
        got = msgs[msgs.name == name_] if name_ else msgs[(msgs.role == "assistant") & msgs.name.isna() & msgs.tool_calls.isna()]
        assert got.content.tolist() == texts
    assert [m for m in msgs.content if isinstance(m, str) and m.startswith("# Answer")] == \
        [e["text"].rstrip("\n") for e in entries if e["kind"] == "answer"]
    assert run.problems.empty, run.problems.reason.tolist()


def test_every_snapshot_trace_of_the_log_loads_alone(log_dir):
    traces = sorted(log_dir.rglob("execution_trace.md"))
    assert len(traces) > 10
    for f in traces:
        run = massgen_trace.load(f)
        assert run.problems.empty, (f, run.problems.reason.tolist())
        assert run.meta["agent"] == (f.parent.name if f.parent.parent.name == "final" else f.parent.parent.name)


# ----------------------------------------------------------------------------- analyses on it
def test_command_analyses_count_what_the_agents_ran(log_dir, written):
    from analysis_kit import analyses as an

    truth = written[1]
    calls = {c["id"]: c for m in truth["model_log"] for c in m["calls"]}
    run = massgen.load(log_dir, turn=1, attempt=1)
    ran = Counter(an.normalise_command(calls[m["call_id"]]["arguments"]["command"])
                  for ms in _own(truth, 1, 1, "tool_metrics").values() for m in ms)
    assert Counter(an.command_runs(run).pattern) == ran
    assert dict(zip(an.repeated_commands(run).pattern, an.repeated_commands(run).runs)) == \
        {p: n for p, n in ran.items() if n >= 2}
    assert ran["npm install"] == 3                      # agent_a, agent_c, then agent_b's second answer
    assert len(an.duplicated_work(run)) == sum(n - 1 for n in ran.values())
    roi = an.round_roi(run)
    assert set(roi.answer_label.dropna()) == set(run.events[run.events.kind == "answer"].name)


def test_massgen_lists_the_log_as_analyzed_once_the_report_is_written(written, log_dir):
    from analysis_kit.report.massgen import write_analysis_report

    out = written[0]
    assert writer.list_analyzed(out) == []                 # massgen's own has_analysis_report
    path = write_analysis_report(massgen.load(log_dir, turn=1))
    assert path == log_dir / "turn_1" / "ANALYSIS_REPORT.md"
    assert writer.list_analyzed(out) == [log_dir.name]
    from analysis_kit.safe import escape_markdown

    text = path.read_text(encoding="utf-8")
    shown = "Shows turn 1, attempt 2 (3 attempts in 2 turns). Restarted: turn 1 attempt 1 (" + writer.RESTART_REASON + ")."
    assert escape_markdown(shown) in text
