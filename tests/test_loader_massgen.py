"""MassGen loader: the real flat run, the documented status.json, the generated sample, and
damaged log directories. Expected values were read by hand from the files (jq / file / grep)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit.exceptions import LoadError
from analysis_kit import detect
from analysis_kit.loaders import massgen
from analysis_kit.samples import HOSTILE_SNIPPETS
from analysis_kit.samples import massgen as sample
from conftest import real

REAL_RUN = ("massgen", "log_20251025_225510")
QUESTION = ("France has changed it's capital multiple times in history. "
            "Which capital was most recognised and loved by French historically?")


def _attrs(events: pd.DataFrame) -> list[dict]:
    return [json.loads(a) for a in events["attrs"]]


# ----------------------------------------------------------------------------- the real run
@pytest.fixture(scope="module")
def real_run():
    return massgen.load(real(*REAL_RUN))


def test_real_run_is_detected_from_its_dir_and_its_parent():
    assert detect(real(*REAL_RUN)) == "massgen"
    # real_logs/massgen holds exactly one log_* directory (plus a status.json example file)
    assert massgen.sniff(real("massgen"))
    assert detect(real("massgen", "doc_example_status.json")) == "massgen"


def test_real_run_agents_winner_question(real_run):
    meta = real_run.meta
    assert meta["agents"] == [f"agent_{i}" for i in range(1, 8)]
    assert meta["winner"] == "agent_6"
    assert meta["question"] == QUESTION
    assert meta["layout"] == "flat" and meta["turn"] is None
    assert meta["models"] == ["gemini-2.5-flash", "gemini-2.5-pro"]
    assert meta["agent_models"]["agent_7"] == "gemini-2.5-pro"
    assert meta["massgen_version"] == "0.1.1"
    assert meta["final_answer_file"] == "final/agent_6/answer.txt"


def test_real_run_answers_and_votes_are_not_doubled(real_run):
    ev = real_run.events
    answers = ev[ev.kind == "answer"]
    votes = ev[ev.kind == "vote"]
    # 7 new_answer events + 7 answer.txt files are the same 7 answers; likewise the votes
    assert len(answers) == 7
    assert sorted(answers.name) == [f"agent{i}.1" for i in range(1, 8)]
    assert len(votes) == 7 and set(votes.name) == {"agent_6"}
    assert real_run.meta["vote_counts"] == {f"agent_{i}": (7 if i == 6 else 0) for i in range(1, 8)}
    by_label = {a["label"]: a for a in _attrs(answers)}
    assert by_label["agent6.1"]["length"] == 2585  # bytes of a single-byte-encoded file
    assert by_label["agent5.1"]["file"] == "agent_5/20251025_225516_026946/answer.txt"
    vote6 = [a for a, agent in zip(_attrs(votes), votes.agent) if agent == "agent_6"][0]
    assert vote6["reason"].startswith("This agent provides the most comprehensive")
    assert vote6["context_length"] == 9719


def test_real_run_timestamps_and_task(real_run):
    ev = real_run.events
    first = pd.Timestamp(1761429313.2308233, unit="s", tz="UTC")  # session_start
    last = pd.Timestamp(1761430650.8234873, unit="s", tz="UTC")   # the second session_end
    assert abs((ev.start.min() - first).total_seconds()) < 1e-3
    assert abs((ev.end.max() - last).total_seconds()) < 1e-3
    task = real_run.tasks.iloc[0]
    assert task.task_id == QUESTION[:60]
    assert task.status == "completed" and pd.isna(task.success)
    assert task.duration_s == pytest.approx(1761430650.8234782 - 1761429313.2508476)
    assert pd.isna(task.cost_usd)  # no metrics in the older layout: unpriced, not free
    assert (ev.kind == "restart").sum() == 7 and (ev.kind == "coordination").sum() == 274
    # session-wide events (no agent) keep their round in attrs, not in the agent round column
    session = ev[ev.agent.isna() & (ev.kind == "coordination")]
    assert len(session) == 173 and session["round"].isna().all()  # 169 iteration_start + 2 + 2


def test_real_run_derived_status_and_messages(real_run):
    status = {a["agent"]: a for a in real_run.meta["agent_status"]}
    assert status["agent_1"]["times_restarted"] == 3  # restart_completed: rounds 1, 2, 3
    assert status["agent_6"]["status"] == "completed"
    assert status["agent_3"]["vote_cast"] == "agent_6" and status["agent_3"]["answer_count"] == 1
    msgs = real_run.messages
    assert list(msgs.role[:2]) == ["user", "assistant"] and len(msgs) == 9  # question, 7 answers, final
    assert msgs.content.iloc[0] == QUESTION
    # agent_7's answer is Windows-1252 (0x92 at byte 255) and reads back as a real apostrophe
    assert "Here\u2019s a breakdown" in msgs[msgs.name == "agent7.1"].content.iloc[0]
    assert real_run.failures.empty


def test_real_run_cp1252_answers_are_problem_rows(real_run):
    rows = {Path(f).parent.name + "/" + Path(f).name: (line, reason)
            for f, line, reason in real_run.problems[["file", "line", "reason"]].itertuples(index=False)}
    assert rows["20251025_225613_723293/answer.txt"][0] == 3
    assert "0x92 at byte 255" in rows["20251025_225613_723293/answer.txt"][1]
    assert "decoded as cp1252" in rows["20251025_225613_723293/answer.txt"][1]
    assert len(rows) == 3  # agent_6 answer, agent_7 answer, final answer


def test_real_run_derived_rounds(real_run):
    rounds = real_run.events[real_run.events.kind == "round"]
    a5 = rounds[rounds.agent == "agent_5"].sort_values("start")
    assert list(a5["round"]) == [0, 1, 2, 3]
    # agent_5 round 1 runs from its restart_completed (316.0308456) to the next one (373.2672045)
    assert a5.iloc[1].duration_ms == pytest.approx((1761429373.2672045 - 1761429316.0308456) * 1000, abs=1)


# ----------------------------------------------------------------------------- the doc example
def test_doc_status_example():
    run = ak.load(real("massgen", "doc_example_status.json"))
    status = {a["agent"]: a for a in run.meta["agent_status"]}
    assert status["agent_a"]["status"] == "voted" and status["agent_b"]["status"] == "streaming"
    assert status["agent_a"]["vote_cast"] == "agent_b" and status["agent_b"]["vote_cast"] is None
    assert status["agent_a"]["times_restarted"] == 1
    assert status["agent_a"]["enforcement_retries"] == 0 and status["agent_a"]["unknown_tools"] == []
    assert run.meta["winner"] is None
    assert run.meta["vote_counts"] == {"agent_a": 0, "agent_b": 1}
    assert run.meta["question"] == "Create a website about Bob Dylan"
    task = run.tasks.iloc[0]
    assert task.status == "incomplete" and task.termination_reason == "enforcement"
    assert task.duration_s == pytest.approx(101.234)
    votes = run.events[run.events.kind == "vote"]
    assert list(votes.agent) == ["agent_a"] and list(votes.name) == ["agent_b"]
    assert run.problems.empty


# ----------------------------------------------------------------------------- the sample
@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    return sample.write(tmp_path_factory.mktemp("massgen_sample"), seed=7, size=1)


@pytest.fixture
def copy(sample_dir, tmp_path) -> Path:
    target = tmp_path / sample_dir.name
    shutil.copytree(sample_dir, target)
    return target


def test_sample_is_deterministic_and_small(sample_dir, tmp_path):
    again = sample.write(tmp_path, seed=7, size=1)
    files = sorted(p.relative_to(sample_dir) for p in sample_dir.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((sample_dir / f).read_bytes() == (again / f).read_bytes() for f in files)
    assert sum((sample_dir / f).stat().st_size for f in files) < 400_000
    assert sample_dir.name.startswith("log_") and sample.write(tmp_path / "s2", seed=8).name != ""


def test_sample_default_is_latest_attempt(sample_dir):
    run = ak.load(sample_dir)
    assert run.meta["turn"] == 1 and run.meta["attempt"] == 2
    assert run.meta["available_attempts"] == [1, 2] and run.meta["available_turns"] == [1]
    assert run.run_id == f"{sample_dir.name}/turn_1/attempt_2"
    assert run.problems.empty


def test_sample_counts(sample_dir):
    run = massgen.load(sample_dir)
    ev = run.events
    assert (ev.kind == "answer").sum() == 5  # 3 in round 0 + agent_b and agent_c in round 1
    assert (ev.kind == "vote").sum() == 2 and run.meta["winner"] == "agent_b"
    assert run.meta["vote_counts"] == {"agent_a": 0, "agent_b": 2, "agent_c": 0}
    assert (ev.kind == "round").sum() == 9  # 3 agents x 3 rounds
    # round 0: 4 tools each, round 1: 7 each, voting round: 2 each
    assert (ev.kind == "tool_call").sum() == 3 * 4 + 3 * 7 + 3 * 2
    errors = ev[(ev.kind == "tool_call") & ev.error.notna()]
    assert sorted(zip(errors.agent, errors.name)) == [("agent_b", "web_search"), ("agent_c", "run_tests")]
    assert run.tasks.iloc[0].status == "completed"
    # question, 5 answers, final; then each snapshot's execution_trace.md sections
    assert run.messages.trace.isna().sum() == 7 and run.messages.role.iloc[0] == "user"
    assert run.messages.trace.nunique() == 7  # 5 answer and 2 vote snapshots


def test_sample_answer_lengths_match_files(sample_dir):
    run = massgen.load(sample_dir)
    answers = run.events[run.events.kind == "answer"]
    for attrs in _attrs(answers):
        text = (sample_dir / attrs["file"]).read_text(encoding="utf-8")
        assert attrs["length"] == len(text)
    contents = " ".join(run.messages.content.dropna())
    assert "<script>" in contents and "onerror" in contents
    assert any(s in contents for s in HOSTILE_SNIPPETS)


def test_sample_reliability_timeout_and_unpriced(sample_dir):
    run = massgen.load(sample_dir)
    status = {a["agent"]: a for a in run.meta["agent_status"]}
    assert status["agent_a"]["enforcement_retries"] == 2
    assert status["agent_a"]["buffer_chars_lost"] == 2300  # 1500 + 800
    assert status["agent_a"]["unknown_tools"] == ["execute_command"]
    assert status["agent_a"]["times_restarted"] == 1
    assert status["agent_c"]["status"] == "timeout" and status["agent_c"]["timeouts"] == 1
    assert run.failures[["task_id", "category"]].values.tolist() == [["agent_c", "timeout"]]
    rounds = run.events[run.events.kind == "round"]
    assert rounds[rounds.agent == "agent_c"].cost_usd.isna().all()
    assert rounds[rounds.agent != "agent_c"].cost_usd.notna().all()
    assert run.meta["unpriced_agents"] == ["agent_c"]
    priced = rounds.cost_usd.sum()
    assert run.tasks.iloc[0].cost_usd == pytest.approx(priced, abs=1e-5)


def test_sample_checklist_order_inside_rounds(sample_dir):
    """Every middle round calls submit_checklist, then propose_improvements, inside the round."""
    run = massgen.load(sample_dir)
    ev = run.events
    rounds = ev[(ev.kind == "round") & (ev["round"] == 1)]
    for r in rounds.itertuples():
        tools = ev[(ev.kind == "tool_call") & (ev.agent == r.agent) & (ev["round"] == 1)]
        check = tools[tools.name == "submit_checklist"].iloc[0]
        propose = tools[tools.name == "propose_improvements"].iloc[0]
        assert r.start < check.start < check.end < propose.start < propose.end < r.end
        write = tools[tools.name == "write_file"].iloc[0]
        nested = tools[tools.name == "mcp__filesystem__write_file"].iloc[0]
        assert write.start < nested.start and nested.end < write.end


def test_sample_attempt_and_turn_options(sample_dir):
    first = massgen.load(sample_dir, attempt=1)
    assert first.meta["attempt"] == 1 and first.tasks.iloc[0].status == "incomplete"
    assert (first.events.kind == "answer").sum() == 1
    assert massgen.load(sample_dir, turn=1, attempt=2).meta["attempt"] == 2
    with pytest.raises(LoadError, match="no turn_2"):
        massgen.load(sample_dir, turn=2)
    with pytest.raises(LoadError, match="no attempt_3"):
        massgen.load(sample_dir, attempt=3)
    # pointing at an attempt directory loads just that attempt
    direct = ak.load(sample_dir / "turn_1" / "attempt_1")
    assert direct.meta["attempt"] == 1 and (direct.events.kind == "answer").sum() == 1
    assert direct.run_id == f"{sample_dir.name}/turn_1/attempt_1"


def test_sample_size_scales_rounds(tmp_path):
    run = massgen.load(sample.write(tmp_path, seed=3, size=2))
    assert (run.events.kind == "answer").sum() == 7  # 3 + 2 * size
    assert (run.events.kind == "round").sum() == 12


# ----------------------------------------------------------------------------- damaged inputs
def _problem(run, name: str) -> dict:
    rows = [r for r in run.problems.to_dict("records") if str(r["file"]).endswith(name)]
    assert rows, f"no problem row for {name}: {run.problems.to_dict('records')}"
    return rows[0]


def test_missing_status_json_is_a_problem_and_status_is_derived(copy):
    (copy / "turn_1" / "attempt_2" / "status.json").unlink()
    run = massgen.load(copy)
    row = _problem(run, "status.json")
    assert row["reason"].startswith("missing status.json")
    assert run.meta["winner"] == "agent_b"  # still in session_metadata
    status = {a["agent"]: a for a in run.meta["agent_status"]}
    assert status["agent_a"]["source"] == "coordination_events.json"
    assert status["agent_c"]["status"] == "timeout" and status["agent_a"]["status"] == "voted"
    assert (run.events.kind == "answer").sum() == 5
    with pytest.raises(LoadError, match="status.json"):
        massgen.load(copy, strict=True)


def test_truncated_status_json(copy):
    status = copy / "turn_1" / "attempt_2" / "status.json"
    text = status.read_text(encoding="utf-8")
    cut = text.index('"times_restarted"', text.index('"agent_b"')) + 10  # mid-key, mid-line
    status.write_text(text[:cut], encoding="utf-8")
    expected_line = text[:cut].count("\n") + 1
    run = massgen.load(copy)
    row = _problem(run, "status.json")
    assert row["line"] == expected_line
    # the core keeps the complete top-level keys before the cut and names the one it cut
    assert "'agents' is cut" in row["reason"]
    assert (run.events.kind == "answer").sum() == 5 and (run.events.kind == "tool_call").sum() == 39
    with pytest.raises(LoadError) as info:
        massgen.load(copy, strict=True)
    assert info.value.file.endswith("status.json") and info.value.line == expected_line


def test_truncated_coordination_events_keeps_complete_events(copy):
    f = copy / "turn_1" / "attempt_2" / "coordination_events.json"
    data = json.loads(f.read_text(encoding="utf-8"))
    text = f.read_text(encoding="utf-8")
    tenth = text.index('"event_type"', 0)
    for _ in range(10):
        tenth = text.index('"event_type"', tenth + 1)
    f.write_text(text[:tenth], encoding="utf-8")  # cut inside the 11th event
    run = massgen.load(copy)
    row = _problem(run, "coordination_events.json")
    assert "the 10 complete elements before it are kept" in row["reason"]
    assert len(data["events"]) > 10
    assert (run.events.kind.isin(["coordination", "restart", "answer", "vote"])).sum() >= 10


def test_non_utf8_answer(copy):
    snap = sorted((copy / "turn_1" / "attempt_2" / "agent_a").iterdir())[0]
    (snap / "answer.txt").write_bytes(b"first line\nbad \x81\x8d bytes\nend\n")
    run = massgen.load(copy)
    row = _problem(run, "answer.txt")
    assert row["line"] == 2 and "0x81" in row["reason"] and "replacement" in row["reason"]
    msg = run.messages[run.messages.name == "agent1.1"].content.iloc[0]
    assert msg.startswith("first line\nbad \ufffd")


def test_vote_json_that_is_not_json(copy):
    vote = next((copy / "turn_1" / "attempt_2" / "agent_a").rglob("vote.json"))
    vote.write_text("this is not JSON {", encoding="utf-8")
    run = massgen.load(copy)
    row = _problem(run, "vote.json")
    assert row["line"] == 1 and row["reason"].startswith("not JSON")
    votes = run.events[run.events.kind == "vote"]
    assert len(votes) == 2  # the vote_cast event still counts
    assert run.meta["vote_counts"]["agent_b"] == 2
    with pytest.raises(LoadError) as info:
        massgen.load(copy, strict=True)
    assert info.value.file.endswith("vote.json") and info.value.line == 1


def test_empty_turn_dir(tmp_path):
    log = tmp_path / "log_20250101_000000"
    (log / "turn_1").mkdir(parents=True)
    assert massgen.sniff(log) and massgen.sniff(tmp_path)
    run = massgen.load(log)
    assert _problem(run, "turn_1")["reason"].startswith("missing attempt_*")
    assert run.events.empty and run.tasks.iloc[0].status == "incomplete"
    with pytest.raises(LoadError, match="turn_1"):
        massgen.load(log, strict=True)


def test_empty_latest_turn_falls_back_to_earlier_turn(copy):
    (copy / "turn_2").mkdir()
    run = massgen.load(copy)
    assert run.meta["turn"] == 1 and run.meta["attempt"] == 2
    assert _problem(run, "turn_2")["reason"].startswith("missing attempt_*")
    assert (run.events.kind == "answer").sum() == 5


def test_wrong_types_are_problems_not_crashes(copy):
    base = copy / "turn_1" / "attempt_2"
    (base / "metrics_events.json").write_text('{"tool_executions": [1, {"tool_name": "x", '
                                              '"success": false}], "round_completions": null}')
    (base / "metrics_summary.json").write_text("[]")
    run = massgen.load(copy)
    assert "tool_executions[0] is not a JSON object" in _problem(run, "metrics_events.json")["reason"]
    assert "expected a JSON object" in _problem(run, "metrics_summary.json")["reason"]
    tools = run.events[run.events.kind == "tool_call"]
    timed = tools[[("metrics_events.json" in a["sources"]) for a in _attrs(tools)]]
    assert list(timed.name) == ["x"] and list(timed.error) == ["error"]
    # the traces' calls with no metrics record left to join are rows of their own, untimed
    assert tools.drop(timed.index).start.isna().all() and len(tools) > 1


def test_not_a_log_dir(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert not massgen.sniff(tmp_path)
    assert not massgen.sniff(tmp_path / "missing")
    with pytest.raises(LoadError, match="not a MassGen log directory"):
        massgen.load(tmp_path)
