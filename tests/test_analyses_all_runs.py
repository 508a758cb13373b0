"""Every analysis on every sample run and every real log that loads: no errors, and the
documented columns. Formats whose loader or sample generator is missing are skipped, saying why."""

import json
from pathlib import Path

import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit import analyses as an
from analysis_kit.samples import sample_format, sample_writers, write_samples
from conftest import REAL_LOGS

REAL_RUNS = [
    "tau2/airline_grok-3-mini_10sims.json", "tau2/telecom_grok-3_5sims.json",
    "tau2/airline_gpt-4.1_no_simulations.json", "tau2/voice_dir_format",
    "tau2_profile/doc_lines.log", "massgen/log_20251025_225510", "convex_evals/reports",
    "convex_evals/reports/openai/gpt-5.2-codex/jn76nmvg_2026-02-11.md",
]


def run_every_analysis(run: ak.Run, tmp_path: Path) -> None:
    ev, msgs, fails = run.events, run.messages, run.failures
    summary = an.totals(run)
    assert summary["tasks"] >= 0
    for by in ("status", "termination_reason", "success"):
        assert list(an.outcomes(run, by=by).columns) == [by, "count", "share"]
    assert list(an.pass_hat_k(run.tasks, n_boot=20).columns) == ["k", "pass_hat_k", "ci_low", "ci_high", "tasks"]
    for by in ("kind", "model", "tool", "agent", ["kind", "name"]):
        stats = an.latency_stats(ev, by=by)
        assert list(stats.columns)[-6:] == ["count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms"]
    an.slowest(ev)
    an.step_times(ev)
    an.step_times(ev, by="transition")
    task = ev["task_id"].dropna().iloc[0] if ev["task_id"].notna().any() else None
    an.task_timeline(ev, task_id=task)
    flight = an.concurrency(ev)
    assert (flight["in_flight"] >= 0).all()
    an.stalled_tasks(ev)
    split = an.time_split(ev)
    if len(split):
        assert (split["llm_s"] + split["tool_s"] + split["other_s"] - split["wall_s"]).abs().max() < 1e-6
    an.interval_union(ev["start"], ev["end"])
    table = an.rounds(ev)
    assert (table["tool_wall_s"] <= table["total_s"] + 1e-9).all()
    an.checklist_phases(ev)
    for by in ("name", "agent", "task", "kind", "round"):
        costs = an.cost_by(run, by=by)
        assert (costs["unpriced_calls"] + costs["priced_calls"] == costs["calls"]).all()
    an.cost_per_success(run)
    an.agent_vs_framework(run)
    for by in ("step", "classification", "category"):
        an.failures_by(fails, by=by)
    an.actionable(fails)
    an.tool_errors(ev)
    an.recurring_failures(run)
    an.message_counts(msgs)
    an.repeated_tool_calls(run)
    an.largest_tool_outputs(msgs)
    if msgs["task_id"].notna().any():
        an.transcript(msgs, msgs["task_id"].dropna().iloc[0])
    out = tmp_path / "conversations.jsonl"
    lines = an.export_openai_jsonl(run, out)
    assert lines == len(out.read_text().splitlines())
    for line in out.read_text().splitlines():
        assert isinstance(json.loads(line)["messages"], list)
    an.answers(run)
    an.votes(run)
    an.vote_counts(run)
    an.agent_reliability(run)
    an.restarts(run)
    diff = an.compare(run, run, n_boot=20) if len(run.run_ids) == 1 else None
    if diff is not None:
        assert (diff["diff"].dropna() == 0).all()  # a run against itself changes nothing
        assert an.changed_outcomes(run, run).empty


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("samples")
    formats = list(sample_writers())
    return dict(zip(formats, write_samples(base, formats=formats)))


@pytest.mark.parametrize("fmt", list(sample_writers()))
def test_every_analysis_on_sample(fmt, sample_dir, tmp_path):
    fmt_loader = sample_format(fmt)  # a sample may be a second run of a format
    run_every_analysis(ak.load(sample_dir[fmt], format=fmt_loader), tmp_path)


@pytest.mark.parametrize("rel", REAL_RUNS)
def test_every_analysis_on_real_log(rel, tmp_path):
    path = REAL_LOGS / rel
    if not path.exists():
        pytest.skip(f"real log {path} is not present on this machine")
    try:
        fmt = ak.detect(path)
    except ak.LoadError as exc:
        pytest.skip(f"no loader recognises {rel} yet: {exc}")
    run_every_analysis(ak.load(path), tmp_path)


def test_compare_two_sample_convex_runs(sample_dir):
    """The convex sample is a series of reports: compare its first two runs."""
    series = ak.load(sample_dir["convex"], format="convex")
    if len(series.run_ids) < 2:
        pytest.skip("the convex sample holds one run")
    first, second = series.select(series.run_ids[0]), series.select(series.run_ids[1])
    out = an.compare(first, second, n_boot=50).set_index("metric")
    assert out.loc["pass_rate", "diff"] == pytest.approx(out.loc["pass_rate", "b"] - out.loc["pass_rate", "a"])
    changed = an.changed_outcomes(first, second)
    assert set(changed["change"]) <= {"fixed", "broken"}


def test_every_analysis_on_empty_run(tmp_path):
    run_every_analysis(ak.Run(meta={"run_id": "empty"}), tmp_path)
    assert an.export_openai_jsonl(ak.Run(meta={"run_id": "empty"}), tmp_path / "e.jsonl") == 0


def test_every_analysis_on_na_heavy_run(tmp_path):
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    events = pd.DataFrame({
        "kind": [None, "llm_call", "tool_call", None, "vote", "answer", "round"],
        "task_id": [None, "a", None, "b", None, None, None],
        "agent": [None, None, "x", None, None, "x", None], "name": [None] * 7,
        "round": [None, 1, 1, None, None, None, 1],
        "start": [t0, None, t0, None, None, None, t0], "duration_ms": [None, 5.0, None, 3.0, None, None, None],
        "attrs": ["{bad", None, "[]", "3", '{"label": null}', None, None]})
    run = ak.Run(
        meta={"run_id": "na", "agent_status": [None, {"agent": None}], "vote_counts": {}, "winner": None},
        tasks=pd.DataFrame({"task_id": ["a", None], "trial": [None, 1], "success": [None, True]}),
        events=events,
        messages=pd.DataFrame({"task_id": [None, "a"], "role": [None, "tool"], "content": [None, None],
                               "tool_calls": ["[1,2]", '{"name": null}']}),
        failures=pd.DataFrame({"task_id": [None], "step": [None]}))
    run_every_analysis(run, tmp_path)
    assert an.latency_stats(run.events)["count"].sum() == 2  # the two events with a duration
