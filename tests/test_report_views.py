"""What each report section shows (the views its notebook cells call) and the headline,
computed on hand-built runs whose every expected value is known."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis_kit.model import Run, concat_runs
from analysis_kit.report import section
from analysis_kit.report.display import Block, Omitted, Subheading
from analysis_kit.report.headline import Headline, facts, wilson_interval
from analysis_kit.report.views import (comparison, conversations, coordination, cost, failures, latency,
                                       massgen, overview, problems, timeline, trace)

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

def test_headline_cost_counts_the_calls_neither_priced_nor_estimated():
    from analysis_kit.pricing import estimate_costs

    t = pd.Timestamp("2025-06-01", tz="UTC")
    events = pd.DataFrame({"kind": ["llm_call"] * 3, "name": ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o-mini"],
                           "start": [t] * 3, "input_tokens": [1000, None, None], "output_tokens": [100, None, None]})
    run = Run(meta={"run_id": "r"}, events=events)
    estimate_costs(run)
    found = {f.label: f.text for f in facts(run)}
    assert found["Cost"] == "$0.000210 estimated for 1 call without a price; 2 more model calls without a price, not counted"


def test_headline_names_no_most_common_failure_when_none_recurs():
    def top(steps):
        failures = pd.DataFrame({"task_id": [f"t{i}" for i in range(len(steps))], "step": steps})
        return {f.label: f.text for f in facts(Run(meta={"run_id": "r"}, failures=failures))}["Most common failure"]

    assert top(["db", "tests", "deploy", "lint"]) == "none recurs: 4 failures at 4 different steps (db, tests, deploy, ...)"
    assert top(["db", "tests", "db", "tests", "lint"]) == "db, tests (step): 2 each of 5 failures"
    assert top(["db", "db", "tests"]) == "db (step): 2 of 3 failures"


def test_headline_facts_by_hand(run):
    found = {f.label: (f.text, f.section) for f in facts(run)}
    assert found["What ran"][0] == ("r1 (tau2 airline; format tau2_results; models m1, m2; "
                                    "2025-01-01 00:00:00 to 2025-01-01 00:01:00 UTC)")
    assert found["Tasks"] == ("2 tasks × 2 trials = 4 attempts", "overview")
    # Two trials per task: the interval is a bootstrap over tasks (k=1 of pass^k).
    assert found["Pass rate"][0].startswith("75.0% (3 of 4; 95% interval ")
    assert found["Wall time"] == ("1 min", "timeline")  # meta: 00:00:00.5 to 00:01:00 is 59.5 s
    # Reported and estimated side by side, never summed ($0.03 + $0.02 would be $0.05).
    assert found["Cost"] == ("$0.0300 reported; $0.0200 estimated for 1 call without a price", "cost")
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
    assert fields["cost (reported)"] == "$0.0300" and fields["cost (estimated, 1 call without a price)"] == "$0.0200"
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
    assert totals["cost (estimated, 1 call without a price)"] == "$0.0200"
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
    assert by_reason.notes[0].text == "1 input problem in 1 file."
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


# ----------------------------------------------------------------------------- trace

def _span(task, span, parent, kind, name, start_s, end_s, error=None):
    return {"task_id": task, "trial": 0, "agent": "agent", "span_id": span, "parent_id": parent, "kind": kind,
            "name": name, "start": T0 + pd.Timedelta(seconds=start_s), "end": T0 + pd.Timedelta(seconds=end_s),
            "duration_ms": (end_s - start_s) * 1000.0, "error": error}


@pytest.fixture
def traced() -> Run:
    """Task t1: a 10 s root span with two children (chat 1-4 s, a failing tool 5-6 s whose
    name carries HTML); task t2: one 2 s span. Self times by hand: root 10 - 3 - 1 = 6 s,
    chat 3 s, tool 1 s, other 2 s (12 s in all)."""
    events = pd.DataFrame([
        _span("t1", "a", None, "agent", "agent run", 0, 10), _span("t1", "b", "a", "llm_call", "chat", 1, 4),
        _span("t1", "c", "a", "tool_call", "<b>tool</b>", 5, 6, error="boom"),
        _span("t2", "d", None, "span", "other", 0, 2),
    ])
    return Run(meta={"run_id": "traced", "source_format": "otlp"}, events=events)


def test_trace_has_content_only_with_span_ids(traced, run):
    assert trace.has_content(traced) is None
    assert trace.has_content(run) == "no span ids in the events: tau2_results records no span hierarchy"
    assert trace.has_content(Run()) == "no span ids in the events: these runs records no span hierarchy"
    assert section("trace").has_content(run) == trace.has_content(run)


def test_trace_slowest_traces_each_with_a_waterfall(traced):
    block = trace.slowest(traced)
    rows = _rows(block)
    assert [r[0] for r in rows] == ["t1", "t2"]
    assert rows[0][1:] == ["agent run", "2025-01-01 00:00:00", "10 s", "3", "1"]  # root, start, duration, spans, errors
    assert [s.text for s in block.items if isinstance(s, Subheading)] == ["task t1: agent run", "task t2: other"]
    first, second = block.figures
    assert tuple(first.get_size_inches()) == (10, 0.25 * 3 + 1.5) and tuple(second.get_size_inches()) == (10, 1.75)
    ax = first.axes[0]
    assert ax.get_title() == "Waterfall of task t1"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["agent run", "  chat", "  <b>tool</b>"]
    assert len([line for line in ax.lines if line.get_gid() == "errors"][0].get_xdata()) == 1  # the failed tool


def test_trace_self_time_by_span_name(traced):
    block = trace.self_time(traced)
    by_name = {r[0]: r[1:] for r in _rows(block)}
    assert by_name == {"agent run": ["1", "10 s", "6.0 s", "50.0%"], "chat": ["1", "3.0 s", "3.0 s", "25.0%"],
                       "other": ["1", "2.0 s", "2.0 s", "16.7%"], "<b>tool</b>": ["1", "1.0 s", "1.0 s", "8.3%"]}
    assert [r[0] for r in _rows(block)] == ["agent run", "chat", "other", "<b>tool</b>"]  # most self time first
    ax = block.figures[0].axes[0]
    assert [p.get_width() for p in ax.containers[1]] == [6.0, 3.0, 2.0, 1.0]  # the self-time bars
    assert "&lt;b&gt;tool&lt;/b&gt;" in block.tables[0]._repr_html_() and "<b>tool" not in block.tables[0]._repr_html_()


def test_trace_span_tree_of_the_slowest_or_the_chosen_task(traced):
    tree = trace.span_tree(traced)
    assert tree.items[0].text == "task t1: 3 spans"
    assert _rows(tree) == [["agent run", "agent", "agent", "0 ms", "10 s", "6.0 s", "2", ""],
                           ["· chat", "llm_call", "agent", "1.0 s", "3.0 s", "3.0 s", "0", ""],
                           ["· <b>tool</b>", "tool_call", "agent", "5.0 s", "1.0 s", "1.0 s", "0", "boom"]]
    assert "| · &lt;b&gt;tool&lt;/b&gt; |" in tree.text() and "<b>" not in tree.text()  # escaped in markdown
    assert _rows(trace.span_tree(traced, "t2"))[0][0] == "other"
    assert trace.span_tree(traced, "nope").notes[0].text == "task nope has no spans in this run"
    assert isinstance(trace.span_tree(Run()), Omitted)


# ----------------------------------------------------------------------------- massgen

@pytest.fixture
def multi_agent() -> Run:
    """A MassGen-shaped run built by hand: agents a and b answer in round 0 (a 0-60 s, b
    0-30 s, both initial_answer), a votes for b in round 1 (60-90 s, voting), submitting a
    checklist at 70 s and proposing nothing; the vote's reason carries a script tag."""
    def at(s):
        return T0 + pd.Timedelta(seconds=s)
    rows = [
        {"agent": "a", "round": 0, "kind": "round", "name": "round 0", "start": at(0), "end": at(60),
         "attrs": '{"round_type": "initial_answer", "outcome": "answer"}'},
        {"agent": "b", "round": 0, "kind": "round", "name": "round 0", "start": at(0), "end": at(30),
         "attrs": '{"round_type": "initial_answer", "outcome": "answer"}'},
        {"agent": "a", "round": 1, "kind": "round", "name": "round 1", "start": at(60), "end": at(90),
         "attrs": '{"round_type": "voting", "outcome": "vote"}'},
        {"agent": "a", "round": 0, "kind": "answer", "name": "agent1.1", "start": at(60), "end": at(60),
         "attrs": '{"label": "agent1.1", "length": 10}'},
        {"agent": "b", "round": 0, "kind": "answer", "name": "agent2.1", "start": at(30), "end": at(30),
         "attrs": '{"label": "agent2.1", "length": 12}'},
        {"agent": "a", "round": 1, "kind": "tool_call", "name": "submit_checklist", "start": at(70), "end": at(71)},
        {"agent": "a", "round": 1, "kind": "vote", "name": "b", "start": at(90), "end": at(90),
         "attrs": '{"voted_for": "b", "reason": "<script>x</script> b is better"}'},
    ]
    events = pd.DataFrame(rows)
    tasks = pd.DataFrame({"task_id": ["q"], "status": ["completed"], "duration_s": [120.0], "cost_usd": [0.5]})
    meta = {"run_id": "log_1", "source_format": "massgen", "agents": ["a", "b"], "winner": "b"}
    return Run(meta=meta, events=events, tasks=tasks)


def test_massgen_has_content_only_for_one_massgen_log(multi_agent, traced):
    assert massgen.has_content(multi_agent) is None
    assert massgen.has_content(traced) == "not a MassGen log directory (format otlp)"
    trace_file = Run(meta={"run_id": "t", "source_format": "massgen_trace"})
    assert massgen.has_content(trace_file) == "not a MassGen log directory (format massgen_trace)"
    two = concat_runs([multi_agent, Run(meta={"run_id": "log_2", "source_format": "massgen"})])
    assert massgen.has_content(two) == "several runs: the MassGen report describes one log"


def test_massgen_parts_follow_the_template_headings():
    from analysis_kit.report.massgen import TEMPLATE

    parts = section("massgen").parts
    assert [p.title for p in parts] == [h.title for h in TEMPLATE]
    for part, heading in zip(parts, TEMPLATE):
        assert part.call.startswith(f"view.{heading.view}(run")  # one view per ## heading
        takes_elsewhere = any(sub.shown_in for sub in heading.subs)
        assert ("shown_elsewhere" in part.call) == takes_elsewhere


def test_massgen_views_by_hand(multi_agent):
    summary = massgen.executive_summary(multi_agent)
    assert summary.notes[0].text.startswith("2 agents gave 2 answers and 1 votes in 2 min ($0.500 reported); "
                                            "winner: b, 0 restarts.")
    overview_rows = dict(_rows(massgen.session_overview(multi_agent)))
    assert (overview_rows["Duration"], overview_rows["Total Cost"], overview_rows["Winner"]) == ("2 min", "$0.500", "b")
    efficiency = massgen.efficiency(multi_agent)
    headings = [i.text for i in efficiency.items if isinstance(i, Subheading)]
    assert headings == ["Phase Duration Breakdown", "Per-Round Timing (Sorted by Agent)",
                        "Evaluation vs Implementation Timing (Checklist-Gated Phases)",
                        "Per-Round Evaluation vs Improvement Table", "Top Bottlenecks"]
    # initial_answer: 60 s and 30 s (mean 45, total 90 of 120 s); voting: 30 s
    assert _rows(efficiency, 0) == [["initial_answer", "2", "45 s", "1 min", "1 min 30 s", "75.0%"],
                                    ["voting", "1", "30 s", "30 s", "30 s", "25.0%"]]
    # round 1 of a: 10 s before the checklist, 20 s after it (no proposal), nothing implemented
    shares = {r[0]: (r[1], r[3]) for r in _rows(efficiency, 2)}
    assert shares == {"evaluation": ("10 s", "33.3%"), "checklist_to_propose": ("20 s", "66.7%"),
                      "implementation": ("0 ms", "0%")}


def test_massgen_names_what_another_section_of_the_report_shows(multi_agent):
    alone = massgen.behavior(multi_agent)
    assert "Voting Analysis" in [i.text for i in alone.items if isinstance(i, Subheading)]
    votes = alone.tables[-1]
    assert votes.columns[:2] == ["voter", "voted for"] and votes.rows[0][:2] == ["a", "b"]
    assert "&lt;script&gt;" in votes._repr_html_() and "<script>" not in votes._repr_html_()
    in_report = massgen.behavior(multi_agent, ["coordination", "latency"])
    assert in_report.notes[-1].text == "Shown in the Coordination section (Votes)."
    assert len(in_report.tables) == len(alone.tables) - 1
    rounds = massgen.efficiency(multi_agent, ["coordination"]).tables  # no Timeline in the report
    assert "Shown in the Timeline" not in massgen.efficiency(multi_agent, ["coordination"]).text()
    assert len(rounds) == len(massgen.efficiency(multi_agent, ["timeline"]).tables) + 1


def test_massgen_heading_with_nothing_found_is_left_out_and_named(multi_agent):
    commands = massgen.commands(multi_agent)
    assert isinstance(commands, Omitted)
    assert commands.reason == ("none of Frequently Repeated Commands, Commands with Excessive Output, "
                               "Slowest Command Patterns found in this log")


def test_trace_of_a_task_with_several_trials_shows_the_first(traced):
    """Inspect epochs: one task's spans in two trials would interleave in one tree."""
    again = traced.events[traced.events["task_id"] == "t1"].assign(trial=1, span_id=lambda e: e["span_id"] + "2",
                                                                  parent_id=lambda e: e["parent_id"] + "2")
    run = Run(meta=traced.meta, events=pd.concat([traced.events, again], ignore_index=True))
    tree = trace.span_tree(run, "t1")
    assert tree.items[0].text == "task t1 trial 0: 3 spans" and len(tree.tables[0].rows) == 3
    slowest = trace.slowest(run)
    assert [s.text for s in slowest.items if isinstance(s, Subheading)][0] == "task t1 trial 0: agent run"
    assert len(slowest.figures[0].axes[0].get_yticklabels()) == 3
