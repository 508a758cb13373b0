"""MassGen analyses: command patterns, work duplication, round ROI and diminishing returns,
turns and attempts. Small runs whose answers were computed by hand, then the real trace and
both sample layouts."""

from __future__ import annotations

import difflib
import json
import re

import numpy as np
import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit import analyses as an
from analysis_kit.model import Run
from analysis_kit.samples import massgen as sample
from conftest import real

T0 = pd.Timestamp("2025-01-01 10:00:00", tz="UTC")


def at(seconds: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


def tool(agent, start, seconds, command=None, *, name="execute_command", args=None, result=None,
         cost=None, own_ms=None, error=None, round_=0):
    attrs = {"arguments": args if args is not None else {"command": command}}
    if result is not None:
        attrs["result"] = result
    if own_ms is not None:
        attrs["command_duration_ms"] = own_ms
    return {"kind": "tool_call", "agent": agent, "name": name, "round": round_, "start": at(start),
            "end": at(start + seconds), "duration_ms": seconds * 1000, "cost_usd": cost, "error": error,
            "attrs": json.dumps(attrs)}


def out(stdout: str, stderr: str = "", work_dir: str | None = None) -> str:
    return json.dumps({"success": True, "stdout": stdout, "stderr": stderr, "work_dir": work_dir})


# ----------------------------------------------------------------------------- commands
def test_normalise_command():
    assert an.normalise_command("ls   -la\t/tmp/ws/workspace_0a1b2c3d/src ") == "ls -la $WORKSPACE/src"
    assert an.normalise_command("cat /Users/u/Code/temp_workspaces/agent_c/agent2/x.md") == "cat $TEMP_WORKSPACE/agent2/x.md"
    # the work_dir a result names is the agent's own workspace too
    assert an.normalise_command("ls /home/u/proj/src", ("/home/u/proj",)) == "ls $WORKSPACE/src"
    assert an.normalise_command("ls /home/u/project2", ("/home/u/proj",)) == "ls /home/u/project2"


@pytest.fixture
def command_run():
    events = [
        tool("a", 0, 30, "npm install", result=out("x" * 100), own_ms=20_000),   # own 20 s counts
        tool("b", 5, 10, "npm  install", result=out("y" * 300, "warn" * 10)),     # 10 s, 340 chars
        tool("a", 50, 40, "npm install", result="plain text result"),              # 40 s, 17 chars
        tool("a", 60, 2, "ls /w/workspace_11111111", result=out("a\nb")),
        tool("b", 61, 1, "ls /v/workspace_22222222", error="boom"),
        tool("c", 70, 5, None, name="read_file", args={"path": "x"}),            # not a command
    ]
    return Run(events=pd.DataFrame(events))


def test_command_runs(command_run):
    runs = an.command_runs(command_run)
    assert runs.pattern.tolist() == ["npm install", "npm install", "npm install", "ls $WORKSPACE", "ls $WORKSPACE"]
    assert runs.duration_s.tolist() == [20.0, 10.0, 40.0, 2.0, 1.0]
    assert runs.output_chars.tolist()[:4] == [100, 340, 17, 3] and pd.isna(runs.output_chars.iloc[4])


def test_repeated_commands(command_run):
    rep = an.repeated_commands(command_run)
    assert rep.pattern.tolist() == ["npm install", "ls $WORKSPACE"]
    npm = rep.iloc[0]
    assert (npm.runs, npm.agents, npm.total_s, npm.mean_s, npm.max_s) == (3, "a, b", 70.0, pytest.approx(70 / 3), 40.0)
    assert npm.mean_output_chars == pytest.approx((100 + 340 + 17) / 3)
    assert rep.iloc[1].failures == 1
    assert an.repeated_commands(command_run, min_count=4).empty


def test_command_patterns_and_largest_outputs(command_run):
    slow = an.command_patterns(command_run, by="program")
    assert slow[["program", "runs", "max_s"]].values.tolist() == [["npm install", 3, 40.0], ["ls", 2, 2.0]]
    big = an.largest_command_outputs(command_run, n=2)
    assert big[["agent", "output_chars"]].values.tolist() == [["b", 340], ["a", 100]]


# ----------------------------------------------------------------------------- duplication
def test_duplicated_work_reasons_time_and_cost():
    media = {"prompt": "a red guitar"}
    events = pd.DataFrame([
        tool("a", 0, 10, name="generate_media", args=media, cost=0.04),
        {"kind": "coordination", "name": "restart_completed", "agent": "a", "start": at(20), "end": at(20)},
        tool("a", 30, 12, name="generate_media", args=media, cost=0.04),       # after a restart
        tool("b", 40, 8, name="generate_media", args=media, cost=None),        # another agent, unpriced
        tool("a", 50, 9, name="generate_media", args=media, cost=0.04),        # same agent, no restart since
        tool("a", 60, 3, "pip install x"), tool("c", 61, 4, "pip  install x"),
        tool("c", 70, 1, "ls"),
    ])
    dup = an.duplicated_work(Run(events=events))
    assert dup[["agent", "first_agent", "reason", "duration_s", "cost_usd"]].fillna(-1).values.tolist() == [
        ["a", "a", "after a restart", 12.0, 0.04], ["b", "a", "another agent", 8.0, -1],
        ["a", "a", "same agent again", 9.0, 0.04], ["c", "a", "another agent", 4.0, -1]]
    summary = an.duplication_summary(Run(events=events)).set_index("work_type")
    assert summary.loc["media generation", "times_repeated"] == 3
    assert summary.loc["media generation", "wasted_s"] == 29.0
    assert summary.loc["media generation", "wasted_cost_usd"] == pytest.approx(0.08)  # the unpriced one not as 0
    assert np.isnan(summary.loc["package install", "wasted_cost_usd"])           # nothing priced: NA
    assert summary.loc["package install", "examples"] == "pip install x"


def test_restart_event_names_the_affected_agents():
    events = pd.DataFrame([
        tool("a", 0, 1, "make"),
        {"kind": "restart", "name": "restart_triggered", "agent": "b", "start": at(5), "end": at(5),
         "attrs": json.dumps({"affected_agents": ["a", "c"]})},
        tool("a", 10, 1, "make")])
    assert an.duplicated_work(Run(events=events)).reason.tolist() == ["after a restart"]


# ----------------------------------------------------------------------------- round ROI
def _roi_run():
    texts = {"agent1.1": "line 1\nline 2\nline 3\n", "agent1.2": "line 1\nLINE 2\nline 3\n",
             "agent1.3": "line 1\nLINE 2\nline 3!\n", "agent2.1": "other"}
    rounds = [("a", 0, 0, 100, 0.10, "answer"), ("a", 1, 100, 60, 0.05, "answer"), ("a", 2, 160, 50, 0.04, "answer"),
              ("a", 3, 210, 30, 0.02, "vote"), ("b", 0, 0, 80, None, "answer"), ("b", 1, 80, 20, None, "restarted")]
    ev = [{"kind": "round", "agent": ag, "round": r, "name": f"round {r}", "start": at(s), "end": at(s + d),
           "duration_ms": d * 1000.0, "cost_usd": c, "input_tokens": 1000, "output_tokens": 100,
           "attrs": json.dumps({"outcome": o, "round_type": "voting" if r else "initial_answer"})}
          for ag, r, s, d, c, o in rounds]
    answers = [("a", "agent1.1", 90, 0), ("a", "agent1.2", 150, 1), ("a", "agent1.3", 200, 2), ("b", "agent2.1", 70, 0)]
    ev += [{"kind": "answer", "agent": ag, "name": lab, "start": at(t), "end": at(t), "round": r,
            "attrs": json.dumps({"label": lab, "length": len(texts[lab])})} for ag, lab, t, r in answers]
    msgs = [{"role": "assistant", "agent": ag, "name": lab, "content": texts[lab]} for ag, lab, _, _ in answers]
    return Run(events=pd.DataFrame(ev), messages=pd.DataFrame(msgs))


def test_answer_changes_by_hand():
    ch = an.answer_changes(_roi_run())
    a = ch[ch.agent == "a"]
    assert a.diff_lines.tolist()[1:] == [2, 2]  # one line replaced: one removed, one added
    share = 1 - difflib.SequenceMatcher(None, "line 1\nline 2\nline 3\n", "line 1\nLINE 2\nline 3\n").ratio()
    # "line" -> "LINE": 4 of 21 characters differ in each text, so 34 of 42 match
    assert a.changed_share.iloc[1] == pytest.approx(round(share, 4)) and share == pytest.approx(8 / 42)
    assert a.changed_share.iloc[2] == pytest.approx(round(1 - 42 / 43, 4))
    assert pd.isna(a.diff_lines.iloc[0]) and a.length.tolist() == [21, 21, 22]


def test_round_roi_by_hand():
    roi = an.round_roi(_roi_run())
    a = roi[roi.agent == "a"]
    assert a.time_s.tolist() == [100.0, 60.0, 50.0, 30.0] and a.cost_usd.tolist() == [0.10, 0.05, 0.04, 0.02]
    assert a.answer_label.tolist()[:3] == ["agent1.1", "agent1.2", "agent1.3"] and pd.isna(a.answer_label.iloc[3])
    assert a.ended_in.tolist() == ["answer", "answer", "answer", "vote"]
    b = roi[roi.agent == "b"]
    assert b.cost_usd.isna().all()                         # unpriced stays NA
    assert b.ended_in.tolist() == ["answer", "restart"]


def test_diminishing_returns_by_hand():
    dr = an.diminishing_returns(_roi_run(), threshold=0.05).set_index("agent")
    # agent1.2 changed 19% of the text, agent1.3 2.3%: the answer stopped changing at 1.2
    a = dr.loc["a"]
    assert (a.stopped_at, a.answers, a.answers_after, a.rounds_after) == ("agent1.2", 3, 1, 2)
    assert a.time_after_s == 80.0 and a.cost_after_usd == pytest.approx(0.06)
    assert dr.loc["b", "stopped_at"] == "agent2.1" and np.isnan(dr.loc["b", "cost_after_usd"])
    assert an.diminishing_returns(_roi_run(), threshold=0.5).set_index("agent").loc["a", "stopped_at"] == "agent1.1"


# ----------------------------------------------------------------------------- attempts
def test_attempts_and_shown_attempt_on_the_sample(tmp_path):
    run = ak.load(sample.write(tmp_path))
    table = an.attempts(run)
    assert table[["turn", "attempt", "outcome", "loaded"]].values.tolist() == [[1, 1, "restarted", False],
                                                                                [1, 2, "completed", True]]
    assert table.restart_reason.iloc[0] == sample.RESTART_REASON
    assert an.shown_attempt(run) == ("Shows turn 1, attempt 2 (2 attempts in 1 turn). Restarted: turn 1 "
                                     f"attempt 1 ({sample.RESTART_REASON}).")
    first = ak.load(sample.write(tmp_path / "again"), turn=1, attempt=1)
    assert an.shown_attempt(first).startswith("Shows turn 1, attempt 1 (2 attempts")


def test_flat_layout_has_no_attempts(tmp_path):
    run = ak.load(sample.write_flat(tmp_path))
    assert an.attempts(run).empty and an.shown_attempt(run).startswith("Shows the whole log (flat layout")
    runs = an.command_runs(run)
    assert runs.pattern.tolist() == ["npm test --prefix $WORKSPACE"] * len(runs) and len(runs) == 2
    assert runs.start.isna().all()  # no metrics in the flat layout: the traces' calls are untimed


# ----------------------------------------------------------------------------- real and sample
def test_commands_of_the_real_trace():
    run = ak.load(real("massgen_traces", "agent_c_prompt2_vote", "execution_trace.md"))
    runs = an.command_runs(run)
    assert len(runs) == 2 and runs.error.notna().tolist() == [True, False]
    # untimed in a trace, but each result says how long the command ran ("execution_time")
    assert runs.duration_s.tolist() == [0.0, 0.326340913772583]
    assert runs.output_chars.tolist() == [102, 448]  # stderr of the first, stdout of the second
    # the first command's result names work_dir /Users/tmprithvi/Code/workspace_d26eb420
    assert runs.pattern.iloc[0] == ("ls -ლა $TEMP_WORKSPACE/agent2 | sed -n '1,120p' && "
                                    "ls -la $TEMP_WORKSPACE/agent3/deliverable | sed -n '1,120p'")
    assert an.repeated_commands(run).empty and an.duplicated_work(run).empty


def test_sample_duplication_and_roi(tmp_path):
    run = ak.load(sample.write(tmp_path))
    rep = an.repeated_commands(run)
    assert rep.pattern.tolist() == ["npm test --prefix $WORKSPACE"] and rep.runs.tolist() == [2]
    dup = an.duplicated_work(run)
    assert {"another agent", "after a restart"} <= set(dup.reason)
    roi = an.round_roi(run)
    assert len(roi) == 9 and roi[roi.agent == "agent_c"].cost_usd.isna().all()
    assert set(roi.answer_label.dropna()) == {"agent1.1", "agent2.1", "agent2.2", "agent3.1", "agent3.2"}


# ----------------------------------------------------------------------------- the report section
TEMPLATE_HEADINGS = ["# MassGen Log Analysis Report", "## Executive Summary", "## Session Overview",
                     "## 1. Correctness Analysis", "### Coordination Flow", "### Status",
                     "## 2. Efficiency Analysis", "### Phase Duration Breakdown",
                     "### Per-Round Timing (Sorted by Agent)", "### Top Bottlenecks",
                     "## 3. Command Pattern Analysis", "### Frequently Repeated Commands",
                     "### Commands with Excessive Output", "### Slowest Command Patterns",
                     "## 4. Work Duplication Analysis", "### Duplicated Work Found", "### Specific Examples",
                     "## 5. Agent Behavior Analysis", "### Answer Progression", "### Voting Analysis",
                     "## 6. Cost & Token Analysis", "### Cost Breakdown", "## 7. Errors & Issues",
                     "### Failed Tool Calls", "## Appendix"]


def test_report_follows_the_skill_template_and_escapes(tmp_path):
    from analysis_kit.report import massgen as section

    run = ak.load(sample.write(tmp_path))
    text = section.render_markdown(run)
    lines = text.splitlines()
    positions = [lines.index(h) for h in TEMPLATE_HEADINGS]
    assert positions == sorted(positions)
    assert "<script>" not in text and "&lt;script&gt;" in text        # agents' text is escaped
    assert sample.RESTART_REASON.split(";")[0] in text                 # which attempt, and why the other restarted
    # tables as the report section shows them: escaped, numbers written the kit's way
    assert re.search(r"\| npm test --prefix \\\$WORKSPACE\s+\|\s+2 \|\s+agent\\_b, agent\\_c\s+\|\s+10 s \|", text)


def test_analysis_report_is_written_next_to_the_turn(tmp_path):
    from analysis_kit.cli import build_parser, _write_massgen_reports

    log = sample.write(tmp_path)
    assert build_parser().parse_args(["report", str(log), "--massgen"]).massgen
    _write_massgen_reports([str(log)])
    report = log / "turn_1" / "ANALYSIS_REPORT.md"
    assert report.read_text(encoding="utf-8").startswith("# MassGen Log Analysis Report")
    flat = sample.write_flat(tmp_path / "flat")
    _write_massgen_reports([str(flat)])
    assert (flat / "ANALYSIS_REPORT.md").is_file()  # flat layout: no turn folder to put it in


@pytest.mark.slow
def test_cli_report_with_massgen_flag(tmp_path):
    from analysis_kit.cli import main

    log = sample.write(tmp_path / "logs")
    assert main(["report", str(log), "--massgen", "--sections", "overview", "--format", "md",
                 "--out", str(tmp_path / "out"), "--jobs", "1"]) == 0
    assert (tmp_path / "out" / "ANALYSIS_REPORT.md").is_file()
    assert (log / "turn_1" / "ANALYSIS_REPORT.md").is_file()
