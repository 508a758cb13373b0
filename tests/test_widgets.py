"""The explorers driven headlessly: set a control's value, check what they now list, show
and draw. Runs are built by hand so every expected value is known."""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
import pytest

from analysis_kit.model import Run, concat_runs
from analysis_kit.widgets import (ALL, NA_LABEL, FailureExplorer, LatencyExplorer, RunComparison,
                                  TaskExplorer, TaskIndex, comparison_static, explore, failures_static,
                                  fold_html, latency_static, output_text, task_static)

T0 = pd.Timestamp("2025-01-01 00:00:00", tz="UTC")
HOSTILE = "<script>window.__ak_pwned=1</script> key sk-abcdefghijklmnop1234 \x1b[31mred\x1b[0m"


def _event(task, kind, name, ms, *, at=0.0, agent="agent", error=None, thread="1"):
    start = T0 + pd.Timedelta(seconds=at)
    return {"task_id": task, "trial": 0, "agent": agent, "thread": thread, "kind": kind, "name": name,
            "start": start, "end": start + pd.Timedelta(milliseconds=ms), "duration_ms": ms, "error": error}


@pytest.fixture
def latency_run() -> Run:
    """Eight timed operations spanning 1 ms to 20 s (over four decades), a step span (a
    container, left out) and one operation without any time (counted as untimed)."""
    events = [
        _event("t1", "llm_call", "m1", 10.0), _event("t1", "llm_call", "m1", 100.0, at=1),
        _event("t2", "llm_call", "m1", 1000.0), _event("t3", "llm_call", "m2", 20000.0),
        _event("t1", "tool_call", "search", 1.0, at=2), _event("t2", "tool_call", "search", 5.0, at=2),
        _event("t2", "tool_call", "search", 50.0, at=3),
        _event("t3", "tool_call", "book", 500.0, at=30, error="timeout"),
        _event("t1", "step", None, 99999.0),
        {"task_id": "t2", "kind": "user_sim", "name": "m1", "agent": "user_simulator"},
    ]
    tasks = [{"task_id": t, "trial": 0, "success": s, "duration_s": d}
             for t, s, d in (("t1", True, 3.0), ("t2", False, 4.0), ("t3", False, 31.0))]
    return Run(meta={"run_id": "lat"}, events=pd.DataFrame(events), tasks=pd.DataFrame(tasks))


def _png(out) -> bytes:
    (item,) = out.outputs
    return base64.b64decode(item["data"]["image/png"])


# --- latency -----------------------------------------------------------------------------------

def test_latency_explorer_prepares_options_and_log_range(latency_run):
    ex = LatencyExplorer(latency_run)
    assert list(ex.kind.options) == [ALL, "llm_call", "tool_call"]
    assert list(ex.model.options) == [ALL, "m1", "m2"]  # model calls only, not tool names
    assert list(ex.tool.options) == [ALL, "book", "search"]
    assert ex.log is True  # 1 ms .. 20 s spreads over more than two decades
    assert ex.untimed == 1
    # The slider spans log10(1 ms) = 0 to log10(20000 ms) = 4.301 -> 4.31 (rounded up).
    assert (ex.duration.min, ex.duration.max) == (0.0, 4.31)
    assert ex.count == 8
    assert ex.rows["duration_ms"].tolist() == [20000.0, 1000.0, 500.0, 100.0, 50.0, 10.0, 5.0, 1.0]
    assert _png(ex.hist_out)[:8] == b"\x89PNG\r\n\x1a\n"


def test_latency_kind_filter_lists_slowest_tool_calls_and_redraws(latency_run):
    ex = LatencyExplorer(latency_run)
    ex.kind.value = "tool_call"
    assert ex.count == 4
    assert ex.rows["duration_ms"].tolist() == [500.0, 50.0, 5.0, 1.0]
    assert ex.rows["name"].tolist() == ["book", "search", "search", "search"]
    assert int(ex.counts.sum()) == 4
    heights = [p.get_height() for p in ex.ax.patches]
    assert len(heights) == ex.bins and sum(heights) == 4
    assert ex.ax.get_title() == "Latency of kind tool_call"
    assert ex.ax.get_xscale() == "log"
    assert len(ex.calls.options) == 4
    assert "4 operations match" in ex.summary.value
    # p50 of [1, 5, 50, 500] with linear interpolation: (5 + 50) / 2 = 27.5 ms.
    assert "p50 28 ms" in ex.summary.value  # 27.5 ms, written to the millisecond


def test_latency_model_and_agent_filters(latency_run):
    ex = LatencyExplorer(latency_run)
    ex.model.value = "m1"
    assert ex.rows["duration_ms"].tolist() == [1000.0, 100.0, 10.0]
    ex.model.value = ALL
    ex.tool.value = "search"
    assert ex.rows["duration_ms"].tolist() == [50.0, 5.0, 1.0]
    ex.model.value = "m1"  # a model and a tool at once: nothing is both
    assert ex.count == 0 and ex.rows.empty
    assert ex._no_data.get_visible()
    assert "no operation matches" in ex.summary.value


def test_latency_duration_range_in_ms(latency_run):
    ex = LatencyExplorer(latency_run)
    ex.set_duration_ms(4, 600)
    # log10(4) = 0.602 and log10(600) = 2.778 on a 0.00862 step slider: 5, 10, 50, 100, 500 ms.
    assert ex.rows["duration_ms"].tolist() == [500.0, 100.0, 50.0, 10.0, 5.0]
    assert ex.count == 5
    lo, hi = ex.duration_ms
    assert lo == pytest.approx(4, rel=0.02) and hi == pytest.approx(600, rel=0.02)
    assert ex.edges_ms[0] == pytest.approx(lo) and ex.edges_ms[-1] == pytest.approx(hi)
    assert "ms" in ex.duration_label.value
    ex.kind.value = "tool_call"  # dropdowns and range combine
    assert ex.rows["duration_ms"].tolist() == [500.0, 50.0, 5.0]


def test_latency_linear_slider_when_durations_are_close():
    run = Run(events=pd.DataFrame([_event("a", "llm_call", "m", ms) for ms in (100.0, 150.0, 300.0)]))
    ex = LatencyExplorer(run)
    assert ex.log is False
    assert ex.duration.value == (100.0, 300.0)
    ex.duration.value = (120.0, 300.0)
    assert ex.rows["duration_ms"].tolist() == [300.0, 150.0]


def test_latency_call_opens_task_in_linked_explorer(latency_run):
    task = TaskExplorer(latency_run)
    ex = LatencyExplorer(latency_run, task_explorer=task)
    ex.kind.value = "tool_call"
    ex.calls.value = 1  # the second slowest tool call: search, 50 ms, task t2
    assert ex.selected_call["task_id"] == "t2"
    assert task.current_task == "t2"
    assert "opened in the task explorer" in output_text(ex.task_out)


def test_latency_call_without_link_lists_its_task_events(latency_run):
    ex = LatencyExplorer(latency_run)
    ex.calls.value = 0  # the slowest call: m2, task t3
    shown = output_text(ex.task_out)
    assert "events of task t3" in shown
    assert "book" in shown and "timeout" in shown


def test_latency_explorer_on_a_run_without_events():
    ex = LatencyExplorer(Run())
    assert ex.count == 0 and ex.rows.empty
    assert ex._no_data.get_visible()


# --- task -------------------------------------------------------------------------------------

@pytest.fixture
def task_run() -> Run:
    long_text = "A" * 1500 + "B" * 3500
    tasks = pd.DataFrame([
        {"task_id": "t1", "trial": 0, "success": True, "status": "success", "duration_s": 10.0, "cost_usd": 0.5},
        {"task_id": "t2", "trial": 0, "success": False, "termination_reason": "max_steps", "duration_s": 30.0,
         "cost_usd": 0.1},
        {"task_id": "t3", "trial": 0, "status": "error", "duration_s": 5.0, "error": "RateLimitError: 429"},
    ])
    calls = json.dumps([{"id": "c1", "name": "lookup", "arguments": {"id": 7}}])
    messages = pd.DataFrame([
        {"task_id": "t1", "trial": 0, "idx": 0, "role": "user", "content": HOSTILE},
        {"task_id": "t1", "trial": 0, "idx": 1, "role": "assistant", "content": "", "tool_calls": calls},
        {"task_id": "t1", "trial": 0, "idx": 2, "role": "tool", "content": long_text, "tool_call_id": "c1"},
        {"task_id": "t2", "trial": 0, "idx": 0, "role": "user", "content": "please rebook flight 42"},
    ])
    events = pd.DataFrame([_event("t1", "llm_call", "m1", 800.0), _event("t1", "tool_call", "lookup", 40.0, at=1),
                           _event("t2", "llm_call", "m1", 900.0, thread="2"),
                           _event("t2", "tool_call", "rebook", 30.0, at=2, error="no seat", thread="2")])
    failures = pd.DataFrame([{"task_id": "t2", "trial": 0, "category": "airline", "step": "db_check",
                              "error": "the database differs"}])
    return Run(meta={"run_id": "tasks"}, tasks=tasks, messages=messages, events=events, failures=failures)


def test_task_explorer_sorts_and_searches(task_run):
    ex = TaskExplorer(task_run)
    assert ex.rows == ["t2", "t1", "t3"]  # duration 30, 10, 5 s
    assert ex.current_task == "t2"
    ex.sort.value = "cost"
    assert ex.rows == ["t1", "t2", "t3"]  # 0.5, 0.1, unknown last
    ex.sort.value = "outcome"
    assert ex.rows == ["t2", "t3", "t1"]  # failure, error, success
    assert ex.current_task == "t2"  # still listed, so still shown
    ex.search.value = "3"
    assert ex.rows == ["t3"] and ex.current_task == "t3"
    assert "RateLimitError: 429" in ex.header_text
    ex.search.value = "zzz"
    assert ex.rows == [] and ex.current_task is None
    assert ex.header_text == "no task matches"


def test_task_explorer_shows_reason_timeline_events(task_run):
    ex = TaskExplorer(task_run)
    assert ex.header_text == ("task t2 trial 0: failure; termination: max_steps; "
                              "failed at db_check / airline: the database differs")
    assert "termination: max_steps" in output_text(ex.header_out)
    assert ex.current_events["name"].tolist() == ["m1", "rebook"]
    assert ex.current_events["offset_s"].tolist() == [0.0, 2.0]
    ax = ex.figure.axes[0]
    assert ax.get_title() == "Timeline of task t2 trial 0"
    assert len(ax.collections) == 2  # one bar collection per kind
    assert _png(ex.gantt_out)[:4] == b"\x89PNG"
    assert "rebook" in output_text(ex.events_out) and "no seat" in output_text(ex.events_out)
    assert "please rebook flight 42" in ex.transcript_html


def test_task_transcript_is_escaped_redacted_and_folded(task_run):
    ex = TaskExplorer(task_run)
    ex.task.value = "t1"
    assert ex.current_task == "t1"
    assert ex.current_transcript["role"].tolist() == ["user", "assistant", "tool"]
    html = output_text(ex.transcript_out)
    assert html == ex.transcript_html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "sk-abcdefghijklmnop1234" not in html and "[REDACTED]" in html
    assert "\x1b" not in html
    # The 5000-char tool output shows 1500 chars, then says how many more.
    assert "... (3,500 more chars)" in html
    assert "<details><summary>show all 5,000 chars</summary>" in html
    assert "lookup({&quot;id&quot;: 7})" in html  # the tool call with its arguments
    assert "result of call c1" in html


def test_task_explorer_show_task_clears_a_hiding_search(task_run):
    ex = TaskExplorer(task_run)
    ex.search.value = "t3"
    ex.show_task("t1")
    assert ex.search.value == "" and ex.current_task == "t1"
    with pytest.raises(KeyError):
        ex.show_task("nope")


def test_task_explorer_lists_tasks_known_only_from_events():
    run = Run(events=pd.DataFrame([_event("solo", "llm_call", "m", 2000.0)]))
    ex = TaskExplorer(run)
    assert ex.rows == ["solo"]
    assert ex.tasks["outcome"].tolist() == ["unknown"]
    assert ex.tasks["duration_s"].tolist() == [2.0]  # from the event span
    assert "no messages for this task" in ex.transcript_html


def test_task_explorer_trials():
    tasks = pd.DataFrame({"task_id": ["a", "a"], "trial": [0, 1], "success": [True, False]})
    messages = pd.DataFrame({"task_id": ["a", "a"], "trial": [0, 1], "idx": [0, 0], "role": ["user", "user"],
                             "content": ["first try", "second try"]})
    ex = TaskExplorer(Run(tasks=tasks, messages=messages))
    assert [v for _, v in ex.trial.options] == [0, 1]
    assert "first try" in ex.transcript_html
    ex.trial.value = 1
    assert ex.current_trial == 1
    assert "second try" in ex.transcript_html and "first try" not in ex.transcript_html
    assert ex.header_text.startswith("task a trial 1: failure")


def test_fold_html_keeps_short_text_whole_and_escaped():
    assert fold_html("<b>hi</b>") == '<pre class="ak-text">&lt;b&gt;hi&lt;/b&gt;</pre>'
    folded = fold_html("x" * 30, fold_chars=10, detail_chars=20)
    assert "... (20 more chars)" in folded and "... (10 chars not shown)" in folded


def test_task_index_gathers_rows_per_task(task_run):
    index = TaskIndex(task_run)
    assert index.events("t2")["name"].tolist() == ["m1", "rebook"]
    assert index.messages("t1")["idx"].tolist() == [0, 1, 2]
    assert index.events("missing").empty
    assert index.task_ids() == ["t1", "t2"]


# --- failures ---------------------------------------------------------------------------------

@pytest.fixture
def failure_run() -> Run:
    failures = pd.DataFrame([
        {"task_id": "e1", "category": "queries", "step": "tsc", "classification": "MODEL_FAULT",
         "error": "TS2322: type mismatch", "reasoning": "the model used a string"},
        {"task_id": "e2", "category": "queries", "step": "tsc", "classification": None, "error": HOSTILE},
        {"task_id": "e3", "category": "mutations", "step": "eslint", "classification": "OVERLY_STRICT",
         "error": "no-unused-vars", "reasoning": "R" * 2000},
        {"task_id": "e4", "category": "mutations", "step": "tests", "classification": "MODEL_FAULT",
         "error": "expected 3 got 2"},
    ])
    return Run(meta={"run_id": "fail"}, failures=failures)


def test_failure_explorer_filters(failure_run):
    ex = FailureExplorer(failure_run)
    assert list(ex.step.options) == [ALL, "eslint", "tests", "tsc"]
    assert list(ex.classification.options) == [ALL, "MODEL_FAULT", "OVERLY_STRICT", NA_LABEL]
    assert len(ex.rows) == 4
    ex.step.value = "tsc"
    assert ex.rows["task_id"].tolist() == ["e1", "e2"]
    ex.classification.value = NA_LABEL
    assert ex.rows["task_id"].tolist() == ["e2"]
    ex.step.value = ALL
    ex.classification.value = "MODEL_FAULT"
    ex.category.value = "mutations"
    assert ex.rows["task_id"].tolist() == ["e4"]
    assert "1 of 4 failures" in output_text(ex.summary_out)


def test_failure_detail_is_full_and_escaped(failure_run):
    ex = FailureExplorer(failure_run)
    assert ex.current_failure["task_id"] == "e1"  # the first one is shown at once
    assert "the model used a string" in ex.detail_html
    ex.failure.value = 1
    assert ex.current_failure["task_id"] == "e2"
    assert "<script>" not in ex.detail_html and "&lt;script&gt;" in ex.detail_html
    assert "[REDACTED]" in ex.detail_html
    ex.failure.value = 2
    assert "... (500 more chars)" in ex.detail_html  # 2000 chars of reasoning, 1500 shown
    assert "<script>" not in output_text(ex.detail_out)


def test_failure_choice_opens_task_when_linked(task_run):
    task = TaskExplorer(task_run)
    task.show_task("t1")
    ex = FailureExplorer(task_run, task_explorer=task)
    assert task.current_task == "t1"  # the automatic first pick does not move the task view
    ex.failure.value = None
    ex.failure.value = 0
    assert task.current_task == "t2"


# --- comparison -------------------------------------------------------------------------------

@pytest.fixture
def two_runs() -> Run:
    a = Run(meta={"run_id": "a"}, tasks=pd.DataFrame({"task_id": list("xy"), "success": [True, False]}))
    b = Run(meta={"run_id": "b"}, tasks=pd.DataFrame({"task_id": list("xy"), "success": [True, True]}))
    return concat_runs([a, b])


def test_run_comparison_metric_and_changes(two_runs):
    cmp = RunComparison(two_runs, n_boot=50)
    assert (cmp.run_a.value, cmp.run_b.value) == ("a", "b")
    assert "pass_rate" in cmp.metric.options
    cmp.metric.value = "pass_rate"
    assert cmp.rows["metric"].tolist() == ["pass_rate"]
    row = cmp.rows.iloc[0]
    assert (row["a"], row["b"], row["diff"]) == (0.5, 1.0, 0.5)
    assert cmp.changes[["task_id", "change"]].values.tolist() == [["y", "fixed"]]
    assert len(cmp.figure.axes[0].patches) == 2  # paired bars a and b
    cmp.run_a.value, cmp.run_b.value = "b", "a"
    assert cmp.rows.iloc[0]["diff"] == -0.5
    assert cmp.changes["change"].tolist() == ["broken"]
    cmp.run_b.value = "b"
    assert cmp.rows.empty and "pick two different runs" in output_text(cmp.table_out)


def test_run_comparison_accepts_a_list_of_runs():
    a = Run(meta={"run_id": "a"}, tasks=pd.DataFrame({"task_id": ["x"], "success": [False]}))
    b = Run(meta={"run_id": "b"}, tasks=pd.DataFrame({"task_id": ["x"], "success": [True]}))
    cmp = RunComparison([a, b], n_boot=20)
    assert cmp.comparison.set_index("metric").loc["pass_rate", "diff"] == 1.0


# --- static views and the linked set -----------------------------------------------------------

def test_static_views_keep_figure_and_escaped_tables(task_run, latency_run, failure_run, two_runs):
    view = latency_static(latency_run, n=3)
    outs = view.outputs()
    assert "image/png" in outs[0]["data"]
    markdown = view.markdown()
    assert re.search(r"\|\s+20 s \|", markdown)  # the slowest call, 20000 ms, in readable units
    task_view = task_static(task_run, "t1")
    text = task_view.markdown()
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "sk-abcdefghijklmnop1234" not in text and "\\[REDACTED\\]" in text  # markdown-escaped
    default = task_static(task_run)  # the first failing task by default
    assert "task t2" in default.markdown()
    fail_view = failures_static(failure_run)
    assert "TS2322" in fail_view.markdown() and "<script>" not in fail_view.markdown()
    assert all("text/markdown" in o["data"] for o in fail_view.outputs()[1:])
    assert "pass\\_rate" in comparison_static(two_runs, n_boot=20).markdown()


def test_explore_links_explorers(task_run):
    ex = explore(task_run)
    assert ex.latency.task_explorer is ex.task and ex.failures.task_explorer is ex.task
    ex.latency.kind.value = "tool_call"
    ex.latency.calls.value = 0  # lookup 40 ms in t1 is slower than rebook 30 ms in t2
    assert ex.task.current_task == "t1"
    assert ex.widget.get_title(0) == "Task"


def test_explore_every_sample_format(tmp_path):
    import analysis_kit as ak
    from analysis_kit import analyses as an
    from analysis_kit.samples import sample_paths, write_samples

    write_samples(tmp_path)
    for fmt, path in sample_paths(tmp_path).items():
        run = ak.load(path)
        ex = explore(run)
        assert len(ex.task.rows) >= 1, fmt
        # Every timed operation but container spans, counted independently by the analyses.
        assert ex.latency.count == int(an.latency_stats(run, by="agent")["count"].sum()), fmt
        for out in (ex.task.transcript_out, ex.failures.detail_out):
            assert "<script>" not in output_text(out), fmt


# --- explorers that agree with themselves ------------------------------------------------------

@pytest.fixture
def trials_run() -> Run:
    """Task "a" passed in trial 0 and failed in trial 1 (its failure says so); task "b" failed
    its only failing trial 2 with a failure record that names no trial."""
    tasks = pd.DataFrame({"task_id": ["a", "a", "b", "b"], "trial": [0, 1, 1, 2],
                          "success": [True, False, True, False], "status": ["success", "failure", "success", "failure"],
                          "termination_reason": ["user_stop", "max_steps", "user_stop", "too_many_errors"]})
    failures = pd.DataFrame([
        {"task_id": "a", "trial": 1, "step": "db_check", "error": "trial one differs"},
        {"task_id": "b", "trial": None, "step": "tests", "error": "b broke"},
    ])
    messages = pd.DataFrame({"task_id": ["a", "a", "b", "b"], "trial": [0, 1, 1, 2], "idx": [0] * 4,
                             "role": ["user"] * 4, "content": ["a zero", "a one", "b one", "b two"]})
    events = pd.DataFrame([_event("a", "llm_call", "m", 100.0, at=0), _event("a", "tool_call", "t", 5.0, at=1),
                           {**_event("a", "llm_call", "m", 900.0, at=10), "trial": 1},
                           {**_event("a", "tool_call", "t", 40.0, at=11), "trial": 1},
                           {**_event("b", "llm_call", "m", 300.0, at=20), "trial": 2}])
    return Run(meta={"run_id": "trials"}, tasks=tasks, failures=failures, messages=messages, events=events)


def test_failure_explorer_opens_the_failing_trial_not_another(trials_run):
    task = TaskExplorer(trials_run)
    ex = FailureExplorer(trials_run, task_explorer=task)
    ex.failure.value = None
    ex.failure.value = 0  # a's failure, in trial 1
    assert (task.current_task, task.current_trial) == ("a", 1)
    assert "a one" in task.transcript_html and "a zero" not in task.transcript_html
    ex.failure.value = 1  # b's failure names no trial: b's only failed attempt is trial 2
    assert (task.current_task, task.current_trial) == ("b", 2)
    assert ex.current_trial == 2


def test_task_header_describes_the_trial_shown_only(trials_run):
    task = TaskExplorer(trials_run)
    task.show_task("a", 0)
    assert task.header_text == "task a trial 0: success; termination: user_stop"  # not trial 1's failure
    task.trial.value = 1
    assert task.header_text == ("task a trial 1: failure; termination: max_steps; "
                                "failed at db_check: trial one differs")


def test_a_chosen_call_is_outlined_and_marked_in_the_task_view(trials_run):
    task = TaskExplorer(trials_run)
    lat = LatencyExplorer(trials_run, task_explorer=task)
    lat.kind.value = "tool_call"
    lat.calls.value = 0  # the slowest tool call: t, 40 ms, task a trial 1
    assert (task.current_task, task.current_trial) == ("a", 1)
    assert task.highlighted == [1]  # the second event of that trial
    assert task.current_events.iloc[1][["kind", "duration_ms"]].tolist() == ["tool_call", 40.0]
    shown = output_text(task.events_out)
    assert "▶ the call chosen in the latency explorer" in shown and shown.count("▶") == 2  # caption + row
    ax = task.figure.axes[0]
    assert [c.get_gid() for c in ax.collections].count("highlight") == 1
    task.task.value = "b"  # the user picks another task: nothing of the old choice stays marked
    assert task.highlight is None and "▶" not in output_text(task.events_out)


def test_explorers_sit_in_tabs_and_a_click_shows_its_result(trials_run):
    ex = explore(trials_run)
    assert [ex.widget.get_title(i) for i in range(3)] == ["Task", "Latency", "Failures"]
    ex.widget.selected_index = 2  # the Failures tab
    ex.failures.failure.value = None
    ex.failures.failure.value = 0
    assert ex.widget.selected_index == 0 and ex.task.current_trial == 1  # the Task tab, showing that trial
    ex.widget.selected_index = 1
    ex.latency.calls.value = 0
    assert ex.widget.selected_index == 0


def test_explore_adds_a_comparison_tab_for_several_runs(two_runs):
    ex = explore(two_runs)
    assert ex.widget.get_title(3) == "Comparison" and ex.comparison is not None
    assert ex.comparison.run_b.value == "b"


def test_latency_histogram_takes_the_kinds_colour(latency_run):
    from matplotlib.colors import to_hex

    from analysis_kit import plots

    ex = LatencyExplorer(latency_run)
    assert to_hex(ex.ax.patches[0].get_facecolor()) == plots.MIXED_COLOR
    ex.kind.value = "tool_call"
    assert to_hex(ex.ax.patches[0].get_facecolor()) == plots.kind_color("tool_call")
    assert "p50 28 ms" in ex.summary.value
    assert ex.calls.options[0][0].strip().startswith("500 ms")


def test_explorers_work_on_events_with_span_ids(task_run):
    events = task_run.events.assign(span_id=["s1", "s2", "s3", "s4"], parent_id=[None, "s1", None, "s3"])
    spanned = Run(meta=task_run.meta, tasks=task_run.tasks, messages=task_run.messages, events=events,
                  failures=task_run.failures)
    ex = explore(spanned)
    ex.latency.calls.value = 0
    assert ex.task.current_task == "t2" and ex.task.highlighted == [0]


def test_task_explorer_draws_the_waterfall_of_a_task_with_spans(task_run):
    """t1's events carry span ids (the tool call inside the model call), t2's do not: the
    explorer shows t1's waterfall, and nothing in its place for t2."""
    events = task_run.events.assign(span_id=["s1", "s2", None, None], parent_id=[None, "s1", None, None])
    spanned = Run(meta=task_run.meta, tasks=task_run.tasks, messages=task_run.messages, events=events,
                  failures=task_run.failures)
    ex = TaskExplorer(spanned)
    assert ex.current_task == "t2" and ex.waterfall_figure is None and ex.waterfall_out.outputs == ()
    ex.task.value = "t1"
    ax = ex.waterfall_figure.axes[0]
    assert ax.get_title() == "Waterfall of task t1"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["m1", "  lookup"]  # the child indented
    assert [round(b.get_width(), 3) for b in ax.containers[0]] == [0.8, 0.04]  # 800 ms and 40 ms
    assert tuple(ex.waterfall_figure.get_size_inches()) == (10, 0.25 * 2 + 1.5)
    assert _png(ex.waterfall_out)[:4] == b"\x89PNG"
    assert ex.widget.children.index(ex.waterfall_out) == ex.widget.children.index(ex.gantt_out) + 1
    ex.task.value = "t2"
    assert ex.waterfall_figure is None and ex.waterfall_out.outputs == ()
    static = task_static(spanned, "t1")
    assert len(static.figures) == 2 and static.figures[1].axes[0].get_title() == "Waterfall of task t1"
    assert len(task_static(spanned, "t2").figures) == 1
