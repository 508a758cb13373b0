"""What each report section shows (the views its notebook cells call) and the headline,
computed on hand-built runs whose every expected value is known."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis_kit.model import Run, concat_runs
from analysis_kit.report import section
from analysis_kit.report.display import Block, Omitted
from analysis_kit.report.headline import Headline, facts, wilson_interval
from analysis_kit.report.views import (comparison, conversations, coordination, cost, failures, latency,
                                       overview, problems, timeline)

T0 = pd.Timestamp("2025-01-01 00:00:00", tz="UTC")


def _ev(task, kind, name, ms, at, *, trial=0, error=None, cost_usd=None, est=None, **extra):
    start = T0 + pd.Timedelta(seconds=at)
    row = {"task_id": task, "trial": trial, "agent": "agent", "thread": "1", "kind": kind, "name": name,
           "start": start, "end": start + pd.Timedelta(milliseconds=ms), "duration_ms": ms, "error": error,
           "cost_usd": cost_usd, "input_tokens": 100 if kind == "llm_call" else None,
           "output_tokens": 10 if kind == "llm_call" else None, **extra}
    if est is not None:
        row["est_cost_usd"] = est
    return row


@pytest.fixture
def run() -> Run:
    """Two tasks x two trials (3 of 4 attempts pass); model calls m1 (p90 by hand below)
    and tool calls book/search; task b's trial 1 failed at db_check; one unpriced call whose
    estimate is $0.02; one input problem."""
    events = [
        _ev("a", "llm_call", "m1", 1000.0, 0, cost_usd=0.01), _ev("a", "tool_call", "search", 20.0, 1),
        _ev("a", "llm_call", "m1", 3000.0, 2, trial=1, cost_usd=0.01),
        _ev("b", "llm_call", "m1", 2000.0, 0, cost_usd=0.01), _ev("b", "tool_call", "book", 400.0, 3, error="no seat"),
        _ev("b", "llm_call", "m1", 5000.0, 10, trial=1, cost_usd=None, est=0.02),
        _ev("b", "tool_call", "book", 600.0, 16, trial=1),
    ]
    frame = pd.DataFrame(events)
    frame["est_cost_usd"] = frame["est_cost_usd"].astype("float64")
    tasks = pd.DataFrame({"task_id": ["a", "a", "b", "b"], "trial": [0, 1, 0, 1],
                          "success": [True, True, True, False],
                          "status": ["success", "success", "success", "failure"],
                          "termination_reason": ["user_stop", "user_stop", "user_stop", "max_steps"]})
    failures_ = pd.DataFrame([{"task_id": "b", "trial": 1, "step": "db_check", "category": "airline",
                               "error": "the database differs"}])
    problems_ = pd.DataFrame([{"file": "x.log", "line": 3, "reason": "no type= field", "raw": "junk"}])
    meta = {"run_id": "r1", "source_format": "tau2_results", "benchmark": "tau2", "domain": "airline",
            "models": ["m1", "m2"], "started": "2025-01-01T00:00:00.5+00:00", "ended": "2025-01-01T00:01:00+00:00"}
    return Run(meta=meta, events=frame, tasks=tasks, failures=failures_, problems=problems_)


def _rows(block: Block, i: int = 0) -> list[list[str]]:
    return block.tables[i].rows


# ----------------------------------------------------------------------------- headline

def test_headline_facts_by_hand(run):
    found = {f.label: (f.text, f.section) for f in facts(run)}
    assert found["What ran"][0] == ("r1 (tau2 airline; format tau2_results; models m1, m2; "
                                    "2025-01-01 00:00:00 to 2025-01-01 00:01:00 UTC)")
    assert found["Tasks"] == ("2 tasks × 2 trials = 4 attempts", "overview")
    # Two trials per task: the interval is a bootstrap over tasks (k=1 of pass^k).
    assert found["Pass rate"][0].startswith("75.0% (3 of 4; 95% interval ")
    assert found["Wall time"] == ("1 min", "timeline")  # meta: 00:00:00.5 to 00:01:00 is 59.5 s
    # Reported and estimated side by side, never summed ($0.03 + $0.02 would be $0.05).
    assert found["Cost"] == ("$0.0300 reported; $0.0200 estimated for 1 calls without a price", "cost")
    assert "$0.0500" not in found["Cost"][0]
    assert found["Tokens"] == ("400 in, 40 out", "cost")
    # p90 (linear) of book [400, 600] = 580 ms; of search [20] = 20 ms; of m1 [1, 2, 3, 5 s] = 3 + 0.7 * 2 = 4.4 s.
    assert found["Slowest tool (p90)"] == ("book: p90 580 ms over 2 calls", "latency")
    assert found["Slowest model (p90)"] == ("m1: p90 4.4 s over 4 calls", "latency")
    assert found["Most common failure"] == ("db_check (step): 1 of 1 failures", "failures")
    assert found["Input problems"] == ("1 in 1 file", "problems")
    assert found["Stalled tasks"][0] == "none (of 4 tasks)"


def test_headline_of_one_trial_uses_the_wilson_interval():
    run = Run(meta={"run_id": "r"}, tasks=pd.DataFrame({"task_id": list("abcd"), "success": [True, True, True, False]}))
    low, high = wilson_interval(3, 4)
    text = next(f.text for f in facts(run) if f.label == "Pass rate")
    assert text == f"75.0% (3 of 4; 95% interval {low * 100:.1f}%–{high * 100:.1f}%)"
    assert (round(low, 3), round(high, 3)) == (0.301, 0.954)
    labels = [f.label for f in facts(run)]
    assert "Slowest tool (p90)" not in labels and "Cost" not in labels  # no data: no line


def test_headline_links_only_to_sections_in_the_report(run):
    linked = Headline(run, sections={"latency": "Latency", "cost": "Cost and tokens"})
    md, page = linked._repr_markdown_(), linked._repr_html_()
    assert "[Slowest tool \\(p90\\)](#latency)" in md and "[Cost](#cost-and-tokens)" in md
    assert '<a href="#section-latency">Slowest tool (p90)</a>' in page
    assert "[Pass rate]" not in md and "**Pass rate**" in md  # overview not in this report: no link
    assert "href" not in Headline(run)._repr_html_()  # in a notebook: no links at all


def test_headline_of_several_runs_has_a_column_each(run):
    other = Run(meta={"run_id": "r2"}, tasks=pd.DataFrame({"task_id": ["a"], "success": [False]}))
    both = Headline(concat_runs([run, other]))
    assert both.run_ids == ["r1", "r2"]
    assert both.text("Pass rate")[1].startswith("0% (0 of 1")
    assert both.text("Slowest tool (p90)") == ["book: p90 580 ms over 2 calls", ""]


# ----------------------------------------------------------------------------- sections

def test_overview_says_how_many_attempts_have_no_verdict():
    """An errored Inspect sample has no score: the rate leaves it out, and the sentence says so."""
    run = Run(meta={"run_id": "r"}, tasks=pd.DataFrame({"task_id": list("abcd"), "success": [True, False, None, None]}))
    assert overview.the_run(run).notes[0].text == "1 of 2 tasks passed (50.0%); 2 of the 4 have no verdict (not counted)."


def test_overview_views(run):
    the_run = overview.the_run(run)
    assert the_run.notes[0].text == "3 of 4 tasks passed (75.0%)."
    fields = dict(_rows(the_run))
    assert fields["models"] == "m1, m2" and fields["started"] == "2025-01-01 00:00:00"  # text, to the second
    assert fields["cost (reported)"] == "$0.0300" and fields["cost (estimated, 1 calls without a price)"] == "$0.0200"
    assert fields["pass rate"] == "75.0%" and fields["wall time"] == "1 min"
    pass_k = overview.pass_k(run)
    assert [r[:2] for r in _rows(pass_k)] == [["1", "75.0%"], ["2", "50.0%"]]
    assert len(pass_k.figures) == 1
    one_trial = Run(tasks=pd.DataFrame({"task_id": ["a", "b"], "success": [True, False]}))
    assert overview.pass_k(one_trial).reason == "one trial per task, so pass^k is the pass rate"
    assert section("overview").has_content(Run()) is None


def test_latency_views(run):
    by_kind = latency.by_kind(run)
    assert [r[:2] for r in _rows(by_kind)] == [["llm_call", "4"], ["tool_call", "3"]]
    ax = by_kind.figures[0].axes[0]
    assert {getattr(line, "ak_group", None) for line in ax.lines if line.get_gid() == "p50"} == {"llm_call", "tool_call"}
    assert latency.step_times(run).reason == "no step events in this run"
    assert _rows(latency.slowest(run, n=1))[0][4] == "m1"
    assert latency.has_content(Run()) == "no timed operations in this run"


def test_timeline_views(run):
    stalled = timeline.stalled(run, threshold_s=5)
    # Task b's trial 0 ends at 3.4 s, 16.2 s before the last event; it finished (has an outcome).
    assert stalled.notes[0].text == "0 of 4 tasks stalled (unfinished, no event for 5.0 s before the run's last one)."
    assert timeline.rounds(run).reason == "no rounds (not a multi-agent run)"
    one = timeline.one_task(run, "a")
    assert one.items[0].text == "task a" and one.figures[0].axes[0].get_title() == "Timeline of task a"
    assert timeline.has_content(Run()) == "no timestamped events in this run"


def test_cost_views_show_estimates_beside_reported_cost(run):
    totals = dict(_rows(cost.totals(run)))
    assert totals["cost (reported)"] == "$0.0300"
    assert totals["cost (estimated, 1 calls without a price)"] == "$0.0200"
    assert totals["model calls without a price"] == "1"
    by_model = cost.by_model(run)
    table = by_model.tables[0]
    assert table.columns[:6] == ["name", "calls", "priced calls", "unpriced calls", "cost", "est cost"]
    assert table.rows[0][4:6] == ["$0.0300", "$0.0200"]
    assert cost.has_content(Run()) == "no cost or token counts in this run"


def test_failures_views(run):
    assert failures.has_content(run) is None
    assert _rows(failures.by_step(run)) == [["db_check", "1", "100%"]]
    assert failures.by_classification(run).reason == "no failure is classified"
    assert failures.recurring(run).reason == "one run: recurring failures need a series of runs"
    assert [r[0] for r in _rows(failures.termination_reasons(run))] == ["user_stop", "max_steps"]
    assert _rows(failures.tool_errors(run))[0][0] == "book"
    clean = Run(tasks=pd.DataFrame({"task_id": ["a"], "success": [True]}))
    assert failures.has_content(clean) == "no failures, failed attempts or operation errors in this run"


def test_conversations_coordination_comparison_problems_say_when_they_have_nothing(run):
    assert conversations.has_content(run) == "no messages in this run"
    assert coordination.has_content(run) == "not a multi-agent run (no answers, votes or per-agent status)"
    assert comparison.has_content(run) == "one run: nothing to compare it with"
    assert isinstance(comparison.change(run), Omitted)
    assert problems.has_content(Run()) == "none: every line of the input was used"
    by_reason = problems.by_reason(run)
    assert by_reason.notes[0].text == "1 input problems in 1 file."
    assert _rows(by_reason) == [["no type= field", "1"]]


def test_comparison_views_of_two_runs():
    a = Run(meta={"run_id": "a"}, tasks=pd.DataFrame({"task_id": list("xy"), "success": [True, False]}))
    b = Run(meta={"run_id": "b"}, tasks=pd.DataFrame({"task_id": list("xy"), "success": [True, True]}))
    both = concat_runs([a, b])
    assert comparison.has_content(both) is None
    change = comparison.change(both, n_boot=20)
    rows = {r[0]: r for r in change.tables[0].rows}
    assert rows["pass_rate"][1:4] == ["50.0%", "100%", "50.0%"]  # a, b, diff written as shares
    assert _rows(comparison.changed_outcomes(both))[0][:1] == ["y"]


def test_views_work_on_events_with_span_ids(run):
    """Events gaining span_id/parent_id columns (span sources) change nothing shown."""
    events = run.events.assign(span_id=[f"s{i}" for i in range(len(run.events))],
                               parent_id=[None] + ["s0"] * (len(run.events) - 1))
    spanned = Run(meta=run.meta, events=events, tasks=run.tasks, failures=run.failures, problems=run.problems)
    assert _rows(latency.by_kind(spanned)) == _rows(latency.by_kind(run))
    assert _rows(timeline.time_split(spanned)) == _rows(timeline.time_split(run))
    assert [f.text for f in facts(spanned)] == [f.text for f in facts(run)]


def test_timeline_rounds_of_a_multi_agent_run():
    def at(s):
        return T0 + pd.Timedelta(seconds=s)
    events = pd.DataFrame([
        {"agent": "a", "round": 1, "kind": "round", "start": at(0), "end": at(10)},
        {"agent": "a", "round": 1, "kind": "tool_call", "name": "x", "start": at(2), "end": at(5)},
        {"agent": "a", "round": 1, "kind": "tool_call", "name": "y", "start": at(3), "end": at(6)},
    ])
    block = timeline.rounds(Run(events=events))
    table = block.tables[0]
    row = dict(zip(table.columns, table.rows[0]))
    assert (row["agent"], row["round"], row["total"], row["tool wall"], row["non tool"]) == ("a", "1", "10 s", "4.0 s", "6.0 s")
    assert block.figures[0].axes[0].get_title() == "Time per agent and round"
