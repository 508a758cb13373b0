"""The Runs report of a store: leaderboard, trends per model, the cost vs pass-rate
frontier (tables and plots), the report files, and the CLI's ingest and report --store."""

import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd

from analysis_kit import plots
from analysis_kit.store import open_store
from analysis_kit.store.report import by_model, leaderboard, section_parts, trends, write_report
from test_store import profile_log, real_store  # noqa: F401  (the shared session store)

matplotlib.use("Agg")


def test_leaderboard_has_a_row_per_run_best_first(real_store):  # noqa: F811
    root, run, _ = real_store
    board = leaderboard(open_store(root))
    assert sorted(board["run_id"]) == sorted(run.run_ids)
    rates = board["pass_rate"].dropna().to_numpy()
    assert (np.diff(rates) <= 0).all() and board["pass_rate"].isna().sum() == board["pass_rate"].iloc[len(rates):].isna().sum()
    grok = board.set_index("run_id").loc["airline_grok-3-mini_10sims"]
    summary = run.summary().set_index("run_id").loc["airline_grok-3-mini_10sims"]
    assert (grok["model"], grok["tasks"], grok["pass_rate"]) == ("xai/grok-3-mini", 10, 0.3)
    assert np.isclose(grok["cost_usd"], summary["cost_usd"]) and np.isclose(grok["cost_per_task"], summary["cost_usd"] / 10)
    calls = run.events[(run.events["run_id"] == "airline_grok-3-mini_10sims") & (run.events["kind"] == "llm_call")]
    assert np.isclose(grok["llm_p90_ms"], np.percentile(calls["duration_ms"].dropna(), 90))
    assert grok["ci_low"] <= 0.3 <= grok["ci_high"]


def test_trends_pool_each_models_runs_per_period(tmp_path):
    from analysis_kit.store import ingest

    # the same model on two days; tool calls only, so no outcome: pass rate NA, runs counted
    paths = [profile_log(tmp_path / f"r{i}.log", [10], day=d) for i, d in enumerate((1, 1, 3))]
    ingest(paths, tmp_path / "store", workers=1, progress=False)
    table = trends(open_store(tmp_path / "store"), freq="D")
    assert list(table["runs"]) == [2, 1]
    assert list(table["period"]) == [pd.Timestamp("2025-12-01", tz="UTC"), pd.Timestamp("2025-12-03", tz="UTC")]
    assert table["pass_rate"].isna().all() and (table["run_model"] == "m1").all()


def test_trends_and_models_of_real_runs(real_store):  # noqa: F811
    store = open_store(real_store[0])
    table = trends(store, freq="M")
    assert table["runs"].sum() == len(store.runs().dropna(subset=["started"]))
    convex = table[table["run_model"] == "claude-haiku-4-5"].iloc[0]
    assert (convex["attempts"], convex["successes"]) == (66, 38)
    models = by_model(store)
    assert models["runs"].sum() == len(store.runs())
    frontier = models[models["on_frontier"]]
    # no frontier model is beaten by one at most as expensive with a higher pass rate
    for row in frontier.itertuples():
        better = models[(models["cost_per_task"] <= row.cost_per_task) & (models["pass_rate"] > row.pass_rate)]
        assert better.empty
    assert len(frontier) >= 1 and frontier["cost_per_task"].notna().all()


def test_frontier_mask_by_hand():
    x = np.array([1.0, 2.0, 2.0, 3.0, 5.0, np.nan])
    y = np.array([0.2, 0.5, 0.4, 0.45, 0.9, 1.0])
    assert plots._frontier_mask(x, y).tolist() == [True, True, False, False, True, False]


def test_cost_frontier_draws_points_frontier_and_labels():
    data = pd.DataFrame({"run_model": ["cheap", "mid", "dear", "worse", "unpriced"],
                         "cost_per_task": [0.005, 0.1, 1.0, 0.5, np.nan],
                         "pass_rate": [0.3, 0.6, 0.8, 0.5, 0.9],
                         "ci_low": [0.2, 0.5, 0.7, 0.4, 0.8], "ci_high": [0.4, 0.7, 0.9, 0.6, 1.0]})
    ax = plots.cost_frontier(data)
    line = [l for l in ax.lines if l.get_gid() == "frontier"][0]
    assert list(line.get_xdata()) == [0.005, 0.1, 1.0] and list(line.get_ydata()) == [0.3, 0.6, 0.8]
    labels = sorted(t.get_text() for t in ax.texts if t.get_gid() == "frontier_label")
    assert labels == ["cheap", "dear", "mid"]
    assert ax.get_xscale() == "log"  # two decades of cost
    assert "1 without cost" in ax.get_title()


def test_cost_frontier_escapes_labels_and_handles_no_data():
    data = pd.DataFrame({"run_model": ["$x$"], "cost_per_task": [1.0], "pass_rate": [0.5]})
    ax = plots.cost_frontier(data)
    assert [t.get_text() for t in ax.texts if t.get_gid() == "frontier_label"] == [r"\$x\$"]
    empty = plots.cost_frontier(data.assign(cost_per_task=np.nan))
    assert any(t.get_gid() == "no_data" for t in empty.texts)


def test_runs_trend_draws_a_line_and_band_per_model():
    data = pd.DataFrame({"run_model": ["a", "a", "b"],
                         "period": pd.to_datetime(["2025-10-01", "2025-10-08", "2025-10-01"], utc=True),
                         "pass_rate": [0.5, 0.6, 0.7], "ci_low": [0.4, 0.5, 0.6], "ci_high": [0.6, 0.7, 0.8]})
    ax = plots.runs_trend(data)
    lines = [l for l in ax.lines if l.get_gid() == "trend"]
    assert [list(l.get_ydata()) for l in lines] == [[0.5, 0.6], [0.7]]
    assert len([c for c in ax.collections if c.get_gid() == "ci"]) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert any(t.get_gid() == "no_data" for t in plots.runs_trend(data.iloc[0:0]).texts)


def test_section_parts_and_report_files(real_store, tmp_path):  # noqa: F811
    store = open_store(real_store[0])
    parts = section_parts(store)
    kinds = [k for k, _ in parts]
    assert kinds.count("figure") == 2 and kinds.count("table") == 2
    assert [o for k, o in parts if k == "heading"] == ["Leaderboard", "Cost vs pass rate", "Trends per model"]
    files = write_report(store, tmp_path / "out")
    md, html = (f.read_text() for f in files)
    assert "## Runs" in md and "xai/grok\\-3\\-mini" in md.replace("xai/grok-3-mini", "xai/grok\\-3\\-mini")
    assert md.count("](assets/runs/figure_") == 2
    assert (tmp_path / "out" / "assets" / "runs" / "figure_1.png").stat().st_size > 1000
    assert html.count('src="data:image/png;base64,') == 2 and "<script" not in html.lower()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "analysis_kit.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def test_cli_ingest_then_report_store(tmp_path):
    a = profile_log(tmp_path / "a.log", [100, 200])
    junk = tmp_path / "junk.txt"
    junk.write_text("no run here\n")
    out = _cli("ingest", a, junk, "--store", tmp_path / "store", "--workers", "1", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert "1 added" in out.stdout and "1 failed to load" in out.stdout and "(1 runs" in out.stdout
    assert "not loaded:" in out.stderr and "Traceback" not in out.stderr
    again = _cli("ingest", a, "--store", tmp_path / "store", "--no-progress")
    assert "1 unchanged" in again.stdout
    report = _cli("report", "--store", tmp_path / "store", "--out", tmp_path / "rep", "--format", "md")
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "rep" / "ANALYSIS_REPORT.md").exists() and not (tmp_path / "rep" / "ANALYSIS_REPORT.html").exists()
    both = _cli("report", a, "--store", tmp_path / "store")
    assert both.returncode == 2 and "not both" in both.stderr
    missing = _cli("report", "--store", tmp_path / "nothing")
    assert missing.returncode == 2 and "no run store here" in missing.stderr


def test_sample_store_holds_the_bundled_runs(tmp_path, monkeypatch):
    from analysis_kit.samples import sample_paths
    from analysis_kit.store.report import sample_store
    from conftest import SAMPLES

    monkeypatch.setenv("ANALYSIS_KIT_SAMPLES", str(SAMPLES))  # as make test sets it

    root = sample_store(tmp_path / "samples")
    runs = open_store(root).runs()
    assert set(runs["path"]) == {str(p.resolve()) for p in sample_paths(SAMPLES).values()}
    assert sample_store(tmp_path / "samples") == root  # a second call skips what is stored
