"""The Runs report of a store: leaderboard, trends per model, the cost vs pass-rate
frontier (tables and plots), the Runs section's views on a store built by hand, the report
files (report --store, through the same notebooks and pipeline as a run's report), and the
CLI's ingest and report --store."""

import json
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

from analysis_kit import plots
from analysis_kit.report.display import Omitted
from analysis_kit.report.views import runs as views
from analysis_kit.store import ingest, open_store
from analysis_kit.store.report import by_model, leaderboard, trends
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


def tau2_results(path, model, rewards, day, *, cost, domain="airline"):
    """A tau2-bench results file written by hand: one simulation per reward, each costing
    ``cost``, started on 2025-10-``day``."""
    sims = [{"id": f"s{i}", "task_id": str(i), "trial": 0, "start_time": f"2025-10-{day:02d}T10:00:{i:02d}",
             "end_time": f"2025-10-{day:02d}T10:00:{i + 5:02d}", "duration": 5.0, "termination_reason": "user_stop",
             "agent_cost": cost, "user_cost": 0.0, "reward_info": {"reward": r}, "messages": []}
            for i, r in enumerate(rewards)]
    doc = {"timestamp": f"2025-10-{day:02d}T10:00:00",
           "info": {"agent_info": {"llm": model}, "environment_info": {"domain_name": domain}},
           "tasks": [{"id": str(i)} for i in range(len(rewards))], "simulations": sims}
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def hand_store(tmp_path_factory):
    """Three runs whose every figure is known, and a path that does not load:
    a: m-cheap, 2 of 4 pass, $0.01 a task, Mon 2025-10-06;  b: m-dear, 3 of 4, $0.05, Tue 10-07;
    c: m-cheap, 3 of 4, $0.01, Mon 10-13 (the next week), its domain a script tag.
    Pooled: m-cheap 5 of 8 (62.5%) at $0.01 a task, m-dear 3 of 4 (75%) at $0.05: both on the
    frontier (the dearer one passes more)."""
    base = tmp_path_factory.mktemp("hand_store")
    paths = [tau2_results(base / "a.json", "m-cheap", [1, 1, 0, 0], 6, cost=0.01),
             tau2_results(base / "b.json", "m-dear", [1, 1, 1, 0], 7, cost=0.05),
             tau2_results(base / "c.json", "m-cheap", [1, 0, 1, 1], 13, cost=0.01, domain="<script>x</script>")]
    junk = base / "junk.txt"
    junk.write_text("no run here\n")
    ingest(paths + [junk], base / "store", workers=1, progress=False)
    return open_store(base / "store")


def test_runs_views_by_hand(hand_store):
    assert views.has_content(hand_store) is None
    facts = views.store_facts(hand_store)
    assert (facts["runs"], facts["paths not loaded"], facts["models"], facts["task attempts"]) == \
        (3, 1, ["m-cheap", "m-dear"], 12)
    assert (facts["first started"], facts["last started"]) == (pd.Timestamp("2025-10-06 10:00", tz="UTC"),
                                                               pd.Timestamp("2025-10-13 10:00", tz="UTC"))
    board = views.leaderboard(hand_store)
    assert board.notes[0].text == "3 runs of 2 models"
    table = board.tables[0]
    rows = [dict(zip(table.columns, r)) for r in table.rows]
    # 75% twice: the cheaper run first; then 50%
    assert [(r["run id"], r["model"], r["pass rate"], r["cost"], r["cost per task"]) for r in rows] == [
        ("c", "m-cheap", "75.0%", "$0.0400", "$0.0100"), ("b", "m-dear", "75.0%", "$0.200", "$0.0500"),
        ("a", "m-cheap", "50.0%", "$0.0400", "$0.0100")]
    assert "&lt;script&gt;x&lt;/script&gt;" in table._repr_html_() and "<script>" not in table._repr_html_()
    frontier = views.frontier(hand_store)
    ax = frontier.figures[0].axes[0]
    line = [l for l in ax.lines if l.get_gid() == "frontier"][0]
    assert list(line.get_xdata()) == pytest.approx([0.01, 0.05]) and list(line.get_ydata()) == [0.625, 0.75]
    models = {r[0]: r for r in frontier.tables[0].rows}
    assert models["m-cheap"][1:3] == ["2", "62.5%"] and models["m-cheap"][6:] == ["$0.0100", "yes"]
    assert models["m-dear"][1:3] == ["1", "75.0%"] and models["m-dear"][6:] == ["$0.0500", "yes"]
    trend = views.trends(hand_store)
    weekly = [dict(zip(trend.tables[0].columns, r)) for r in trend.tables[0].rows]
    assert [(w["run model"], w["period"], w["pass rate"]) for w in weekly] == [
        ("m-cheap", "2025-10-06 00:00:00", "50.0%"), ("m-cheap", "2025-10-13 00:00:00", "75.0%"),
        ("m-dear", "2025-10-06 00:00:00", "75.0%")]
    assert [list(l.get_ydata()) for l in trend.figures[0].axes[0].lines if l.get_gid() == "trend"] == \
        [[0.5, 0.75], [0.75]]
    failed = views.not_loaded(hand_store).tables[0].rows
    assert len(failed) == 1 and failed[0][0].endswith("junk.txt") and failed[0][1]


def test_runs_views_keep_to_the_where_condition(hand_store):
    chosen = views.leaderboard(hand_store, "run_model = 'm-dear'")
    assert [r[0] for r in chosen.tables[0].rows] == ["b"]
    assert views.store_facts(hand_store, "run_model = 'm-dear'")["runs chosen by"] == "run_model = 'm-dear'"
    none = views.leaderboard(hand_store, "run_model = 'nobody'")
    assert isinstance(none, Omitted) and none.reason == "no run matches where run_model = 'nobody'"


def test_runs_has_content_says_why_a_store_has_nothing(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("nothing\n")
    ingest([junk], tmp_path / "store", workers=1, progress=False)
    store = open_store(tmp_path / "store")
    assert views.has_content(store) == "the store holds no runs (1 paths could not be loaded)"


def test_runs_views_of_real_runs(real_store):  # noqa: F811
    """What the papermill-less report asserted, now on the section's views: the leaderboard
    names the runs (escaped), the frontier and the trends each draw a figure beside a table."""
    store = open_store(real_store[0])
    board = views.leaderboard(store).tables[0]
    grok = [r for r in board.rows if r[0] == "airline_grok-3-mini_10sims"]
    assert len(grok) == 1 and grok[0][1] == "xai/grok-3-mini" and grok[0][7] == "30.0%"  # run id, model, pass rate
    for block in (views.frontier(store), views.trends(store)):
        assert len(block.figures) == 1 and len(block.tables) == 1


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "analysis_kit.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def test_cli_ingest_then_report_store_errors(tmp_path, capsys):
    from analysis_kit.cli import main

    a = profile_log(tmp_path / "a.log", [100, 200])
    junk = tmp_path / "junk.txt"
    junk.write_text("no run here\n")
    out = _cli("ingest", a, junk, "--store", tmp_path / "store", "--workers", "1", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert "1 added" in out.stdout and "1 failed to load" in out.stdout and "(1 runs" in out.stdout
    assert "not loaded:" in out.stderr and "Traceback" not in out.stderr
    again = _cli("ingest", a, "--store", tmp_path / "store", "--no-progress")
    assert "1 unchanged" in again.stdout
    # errors found before any kernel starts, nothing written
    cases = [(["report", str(a), "--store", str(tmp_path / "store")], "not both"),
             (["report", "--store", str(tmp_path / "nothing")], "no run store here"),
             (["report", "--store", str(tmp_path / "store"), "--where", "no_such_column = 1"], "not a valid condition"),
             (["report", "--store", str(tmp_path / "store"), "--sections", "latency"], "report on a run"),
             (["report", "--store", str(tmp_path / "store"), "--task-id", "7"], "no chosen section"),
             (["report", str(a), "--where", "benchmark = 'x'"], "with --store"),
             (["report", str(a), "--sections", "runs"], "report --store DIR")]
    for argv, message in cases:
        assert main(argv + ["--out", str(tmp_path / "rep")]) == 2, argv
        assert message in capsys.readouterr().err, argv
    assert not (tmp_path / "rep").exists()


@pytest.mark.slow
def test_cli_report_store_end_to_end(hand_store, tmp_path):
    """report --store DIR executes the generated Runs notebook with papermill and exports it
    with nbconvert, as a run's sections are: page one the store and its counts."""
    out = _cli("report", "--store", hand_store.path, "--out", tmp_path / "rep")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "runs: ok"
    md = (tmp_path / "rep" / "ANALYSIS_REPORT.md").read_text()
    page = (tmp_path / "rep" / "ANALYSIS_REPORT.html").read_text()
    executed = tmp_path / "rep" / "notebooks" / "runs.ipynb"
    injected = [c for c in json.loads(executed.read_text())["cells"]
                if "injected-parameters" in c["metadata"].get("tags", [])]  # papermill ran it
    assert len(injected) == 1 and f"store_dir = {str(hand_store.path)!r}".replace("'", '"') in "".join(injected[0]["source"])
    front = md[:md.index("## Runs")]
    assert front.startswith("# Analysis report\n\nStore: **") and "store" in front
    assert "| runs             | 3 " in front and "| paths not loaded | 1 " in front
    assert "| models           | m-cheap, m-dear " in front and "| task attempts    | 12 " in front
    body = md[md.index("## Runs"):]
    assert "### Leaderboard" in body and "### Cost vs pass rate" in body and "### Trends per model" in body
    assert "### Paths not loaded" in body and "junk.txt" in body
    assert "### The store" not in body  # on page one already
    assert body.index("| c ") < body.index("| b ") < body.index("| a ")  # best pass rate first, then cheapest
    assert body.count("](assets/runs/") == 2 and len(list((tmp_path / "rep" / "assets" / "runs").glob("*.png"))) == 2
    assert page.count('src="data:image/png;base64,') == 2
    assert "<script>x" not in md + page and "&lt;script&gt;x&lt;/script&gt;" in md + page
    assert "## Not in this report" not in md and "| Runs      | ok " in md


@pytest.mark.slow
def test_report_store_of_real_runs(real_store, tmp_path):  # noqa: F811
    from analysis_kit.report.runner import run_store_report

    result = run_store_report(real_store[0], tmp_path / "out", progress=False)
    assert result.ok, [(s.section, s.error) for s in result.sections]
    md, html = (f.read_text() for f in result.files)
    assert "## Runs" in md and "xai/grok\\-3\\-mini" in md.replace("xai/grok-3-mini", "xai/grok\\-3\\-mini")
    assert md.count("](assets/runs/") == 2
    assert min(p.stat().st_size for p in (tmp_path / "out" / "assets" / "runs").glob("*.png")) > 1000
    assert html.count('src="data:image/png;base64,') == 2 and "<script" not in html.lower()


def test_sample_store_holds_the_bundled_runs(tmp_path, monkeypatch):
    from analysis_kit.samples import sample_paths
    from analysis_kit.store.report import sample_store
    from conftest import SAMPLES

    monkeypatch.setenv("ANALYSIS_KIT_SAMPLES", str(SAMPLES))  # as make test sets it

    root = sample_store(tmp_path / "samples")
    runs = open_store(root).runs()
    assert set(runs["path"]) == {str(p.resolve()) for p in sample_paths(SAMPLES).values()}
    assert sample_store(tmp_path / "samples") == root  # a second call skips what is stored


def test_the_default_sample_store_is_one_per_samples_folder(tmp_path, monkeypatch):
    """Two checkouts (or kit versions) with their own samples never share one store: it
    would hold both checkouts' sample runs."""
    from analysis_kit.store.report import default_sample_store

    monkeypatch.setenv("ANALYSIS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ANALYSIS_KIT_SAMPLES", str(tmp_path / "one"))
    one = default_sample_store()
    monkeypatch.setenv("ANALYSIS_KIT_SAMPLES", str(tmp_path / "two"))
    two = default_sample_store()
    assert one != two and one.parent == two.parent == tmp_path / "cache"
    monkeypatch.setenv("ANALYSIS_KIT_SAMPLES", str(tmp_path / "one"))
    assert default_sample_store() == one
