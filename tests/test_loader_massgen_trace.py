"""execution_trace.md: the real trace (counts in real_logs/massgen_traces/FACTS.json, read by
hand from the file) and damaged or tricky traces, alone and inside a log directory."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit.exceptions import LoadError
from analysis_kit.loaders import massgen, massgen_trace
from analysis_kit.loaders._massgen_trace import parse_trace
from analysis_kit.model import Problems
from conftest import real

REAL = ("massgen_traces", "agent_c_prompt2_vote", "execution_trace.md")


@pytest.fixture(scope="module")
def facts():
    return json.loads(real("massgen_traces", "FACTS.json").read_text(encoding="utf-8"))["agent_c_prompt2_vote/execution_trace.md"]


@pytest.fixture(scope="module")
def real_run():
    return ak.load(real(*REAL))


def _attrs(frame: pd.DataFrame) -> list[dict]:
    return [json.loads(a) for a in frame["attrs"]]


def test_real_trace_is_detected_alone_and_in_its_folder():
    assert ak.detect(real(*REAL)) == "massgen_trace"
    assert ak.detect(real(*REAL[:2])) == "massgen_trace"  # a folder holding the one trace
    assert massgen_trace.sniff(real(*REAL)) and not massgen_trace.sniff(real("massgen", "doc_example_status.json"))


def test_real_trace_header(real_run, facts):
    meta = real_run.meta
    assert meta["agent"] == facts["agent"] and meta["models"] == [facts["model"]]
    assert meta["started"] == pd.Timestamp(facts["started"], tz="UTC").isoformat()
    assert real_run.tasks.start.iloc[0] == pd.Timestamp(facts["started"], tz="UTC")
    assert real_run.problems.empty


def test_real_trace_calls_results_and_vote(real_run, facts):
    ev = real_run.events
    tools = ev[ev.kind == "tool_call"]
    # two execute_command calls written back to back before their two results, then the vote
    assert tools.name.tolist() == [n for n in facts["tool_call_names_in_order"] if n != "vote"]
    commands = [a["arguments"]["command"] for a in _attrs(tools)]
    assert commands == facts["commands"]
    results = [json.loads(a["result"]) for a in _attrs(tools)]
    assert [r["command"] for r in results] == facts["commands"]  # each result joined to its call
    assert tools.error.iloc[0].startswith("Docker execution error: 'utf-8' codec can't decode byte 0xe1")
    assert pd.isna(tools.error.iloc[1])
    vote = ev[ev.kind == "vote"]
    detail = facts["vote_details"][0]
    (a,) = _attrs(vote)
    assert vote.name.tolist() == ["agent3"] and a["voted_for_label"] == detail["voted_for"] == detail["header_target"]
    assert a["available_options"] == detail["available_options"]
    assert a["reason"].startswith("Verified via python-pptx inspection that agent3\u2019s PPTX")
    assert a["cast"] is True  # the Tool Call: vote and its Vote Cast are one vote


def test_real_trace_messages_in_file_order(real_run, facts):
    msgs = real_run.messages
    assert (msgs.name == "reasoning").sum() == facts["reasoning_sections"]
    assert msgs.role.tolist() == ["assistant", "assistant", "assistant", "tool", "tool", "assistant", "assistant", "assistant"]
    calls = [json.loads(t)[0] for t in msgs.tool_calls.dropna()]
    assert [c["name"] for c in calls] == facts["tool_call_names_in_order"]
    tool_msgs = msgs[msgs.role == "tool"]
    assert tool_msgs.tool_call_id.tolist() == [c["id"] for c in calls[:2]]
    assert msgs.content.iloc[0].startswith("**Executing Python commands**")


# ----------------------------------------------------------------------------- tricky traces
HEADER = "# Execution Trace: agent_x\n**Model**: m-1 | **Started**: 2026-01-02 03:04:05\n\n"


def _call(name: str, args: dict) -> str:
    return f"### Tool Call: {name}\n**Args**:\n```json\n{json.dumps(args, indent=2)}\n```\n\n"


def _result(name: str, text: str, error: bool = False) -> str:
    return f"### Tool {'Error' if error else 'Result'}: {name}\n```\n{text}\n```\n\n"


def _parse(text: str):
    problems = Problems()
    return parse_trace(text, "t.md", problems), problems


def test_headings_inside_a_result_stay_in_the_result():
    # e.g. `cat README.md`: markdown headings in a result, before its closing fence
    body = "# Title\n\n### Reasoning\nnot a section\n\n### Tool Call: fake\n**Args**:\n```json\n{}"
    trace, problems = _parse(HEADER + _call("run", {"c": 1}) + _result("run", body) + "### Reasoning\nreal\n")
    kinds = [(e.kind, e.name) for e in trace.entries]
    assert kinds == [("call", "run"), ("reasoning", None)]
    assert trace.entries[0].result == body and trace.entries[1].text == "real"
    assert not problems.rows


def test_second_record_of_a_call_is_folded_not_counted():
    # MassGen's ChatCompletions backend: each call when streamed, again when run
    text = HEADER + _call("sh", {"c": "ls"}) + _call("sh", {"c": "pwd"}) + _call("sh", {"c": "ls"}) + \
        _result("sh", "LS") + _call("sh", {"c": "pwd"}) + _result("sh", "PWD")
    trace, _ = _parse(text)
    calls = trace.calls()
    assert [(c.args["c"], c.result, c.records) for c in calls] == [("ls", "LS", 2), ("pwd", "PWD", 2)]


def test_identical_calls_both_answered_are_two_calls():
    text = HEADER + _call("sh", {"c": "ls"}) + _call("sh", {"c": "ls"}) + _result("sh", "A") + _result("sh", "B")
    trace, _ = _parse(text)
    assert [(c.result, c.records) for c in trace.calls()] == [("A", 1), ("B", 1)]


def test_a_rerun_after_its_result_is_a_new_call():
    text = HEADER + _call("sh", {"c": "ls"}) + _result("sh", "A") + _call("sh", {"c": "ls"})
    trace, _ = _parse(text)
    assert [(c.result, c.records) for c in trace.calls()] == [("A", 1), (None, 1)]


def test_tool_error_and_the_errors_list():
    text = HEADER + _call("sh", {"c": "x"}) + _result("sh", "boom\nline 2", error=True) + \
        "---\n\n## Errors\n\n- [03:05:06] **Tool Error: sh** - boom\nline 2\n"
    trace, problems = _parse(text)
    (call,) = trace.calls()
    assert call.is_error and call.result == "boom\nline 2" and call.error_time == "03:05:06"
    assert not problems.rows


def test_unknown_section_and_damage_are_problem_rows(tmp_path):
    text = ("\ufeff" + HEADER + _call("sh", {"c": 1}).replace('"c": 1', '"c": 1,') + _result("sh", "ok") +
            "### Tool Progress: sh\n50%\n\n" + _result("other", "orphan"))
    f = tmp_path / "execution_trace.md"
    f.write_text(text.replace("\n", "\r\n"), encoding="utf-8")
    run = massgen_trace.load(f)
    reasons = run.problems.reason.tolist()
    assert any("arguments of sh are not valid JSON" in r for r in reasons)
    assert "not read: execution_trace.md section '### Tool Progress'" in reasons
    assert any("a result of other with no call" in r for r in reasons)
    tools = run.events[run.events.kind == "tool_call"]
    assert tools.name.tolist() == ["sh", "other"]          # kept, not dropped
    assert _attrs(tools)[0]["arguments"].startswith("{")    # the raw text
    with pytest.raises(LoadError) as info:
        massgen_trace.load(f, strict=True)
    assert info.value.file.endswith("execution_trace.md") and info.value.line == run.problems.line.iloc[0] == 17


def test_no_header_and_stray_text(tmp_path):
    f = tmp_path / "execution_trace.md"
    f.write_text("hello\n\n" + _call("sh", {}) + _result("sh", "ok"), encoding="utf-8")
    run = massgen_trace.load(f)
    assert any("no '# Execution Trace: <agent>' header" in r for r in run.problems.reason)
    assert (run.events.kind == "tool_call").sum() == 1 and run.meta["agent"] is None


def test_a_cut_trace_keeps_what_came_before(tmp_path):
    text = HEADER + _call("sh", {"c": 1}) + _result("sh", "ok") + _call("sh", {"c": 2})[:40]
    f = tmp_path / "execution_trace.md"
    f.write_text(text, encoding="utf-8")
    run = massgen_trace.load(f)
    tools = run.events[run.events.kind == "tool_call"]
    assert len(tools) == 2 and _attrs(tools)[0]["result"] == "ok"
    assert any("not a fenced block" in r for r in run.problems.reason)


def test_hostile_text_is_kept_raw(tmp_path):
    evil = "<script>alert(1)</script>\x1b[31m **bold** ${{7*7}}"
    f = tmp_path / "execution_trace.md"
    f.write_text(HEADER + "### Reasoning\n" + evil + "\n\n" + _call("sh", {"c": evil}) + _result("sh", evil), encoding="utf-8")
    run = massgen_trace.load(f)
    assert run.messages.content.iloc[0] == evil
    assert _attrs(run.events)[0]["arguments"]["c"] == evil


# ----------------------------------------------------------------------------- in a log directory
def test_real_trace_inside_a_flat_log_joins_nothing_it_cannot(tmp_path):
    log = tmp_path / "log_20251025_225510"
    shutil.copytree(real("massgen", "log_20251025_225510"), log)
    snap = next((log / "agent_3").iterdir())
    shutil.copy(real(*REAL), snap / "execution_trace.md")
    run = massgen.load(log)
    tools = run.events[run.events.kind == "tool_call"]
    # no metrics in the flat layout: the trace's two commands are the tool rows, untimed
    assert len(tools) == 2 and set(tools.agent) == {"agent_3"} and tools.start.isna().all()
    # the copied trace's header names another agent: the folder wins, and it is said
    assert any("header names agent 'agent_c'" in r for r in run.problems.reason)
    assert (run.events.kind == "vote").sum() == 7  # the trace's vote is the snapshot's, not an 8th
    assert (run.messages.name == "reasoning").sum() == 2
    assert run.meta["execution_traces"] == [f"agent_3/{snap.name}/execution_trace.md"]
