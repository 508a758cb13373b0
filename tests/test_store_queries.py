"""Store queries equal the pandas path value by value, on real runs of every format, in
both engines (DuckDB, and Dask on its local threads; the cluster is test_store_dask.py).

The pandas path is the kit's own analyses on the same runs loaded with ``load_runs``:
latency_stats, cost_by (run by run: a store picks each run's cost rows itself), failures_by,
the pass rate of analyses.comparison (task attempts, convex's unlisted passes from meta) and
Run.summary. Percentiles are checked against numpy on hand-made durations.
"""

import numpy as np
import pandas as pd
import pytest

from analysis_kit import analyses as an
from analysis_kit.analyses._util import tasks_success
from analysis_kit.analyses.comparison import _outcomes
from analysis_kit.store import ingest, open_store
from analysis_kit.store.queries import bootstrap_rate
from test_store import profile_log, real_store  # noqa: F401  (the shared session store)

ENGINES = ["duckdb", "dask"]


def same(got: pd.DataFrame, want: pd.DataFrame, what: str = "") -> None:
    """Equal column by column: counts and labels exactly, floats within 1e-9 relative
    (sums and means may add in another order), NA where NA."""
    got, want = got.reset_index(drop=True), want.reset_index(drop=True)
    assert list(got.columns) == list(want.columns), what
    assert len(got) == len(want), (what, len(got), len(want))
    for col in want.columns:
        a, b = got[col], want[col]
        if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            x = pd.to_numeric(a, errors="coerce").to_numpy(dtype="float64")
            y = pd.to_numeric(b, errors="coerce").to_numpy(dtype="float64")
            assert np.allclose(x, y, rtol=1e-9, atol=0, equal_nan=True), (what, col, x, y)
        else:
            pairs = zip(a.astype(object), b.astype(object))
            assert all((pd.isna(p) and pd.isna(q)) or p == q for p, q in pairs), (what, col, list(a), list(b))


@pytest.fixture(params=ENGINES)
def store(request, real_store):  # noqa: F811
    return open_store(real_store[0], engine=request.param)


@pytest.fixture
def duck(real_store):  # noqa: F811
    """DuckDB alone, for the many groupings (Dask on the same store: the tests taking
    ``store``, and test_both_engines_give_the_same_tables)."""
    return open_store(real_store[0])


@pytest.fixture
def run(real_store):  # noqa: F811
    return real_store[1]


@pytest.fixture(scope="module")
def one_by_one(real_store):  # noqa: F811
    """Each run of the pandas path on its own, by run id."""
    run = real_store[1]
    return {rid: run.select(rid) for rid in run.run_ids}


def test_summary_equals_run_summary(store, run):
    same(store.summary(), run.summary(), "summary")


@pytest.mark.parametrize("by", ["kind", "model", "tool", "name", "agent", ["run_id", "kind"]])
def test_latency_stats_equal_the_analysis(duck, run, by):
    same(duck.latency_stats(by=by), an.latency_stats(run.events, by=by), str(by))


def test_latency_stats_by_a_runs_column(store, run):
    models = store.runs().set_index("run_id")["run_model"]
    events = run.events.assign(run_model=run.events["run_id"].map(models).astype("string"))
    same(store.latency_stats(by=["run_model", "tool"]), an.latency_stats(events, by=["run_model", "tool"]))


def test_latency_groups_keyed_by_na_have_their_percentiles(store, run):
    """Grouping by kind and round (NA outside MassGen): every group's p50 is numpy's.
    (analyses.latency_stats leaves these NaN: its join on the group index drops NA keys.)"""
    got = store.latency_stats(by=["kind", "round"])
    events = run.events[~run.events["kind"].isin(["answer", "vote", "coordination", "restart"])]
    for row in got.itertuples(index=False):
        rows = events[(events["kind"] == row.kind) & (events["round"].isna() if pd.isna(row.round)
                                                      else events["round"] == row.round)]
        durations = an._util.duration_ms(rows).dropna().to_numpy()
        assert row.count == durations.size
        assert np.isclose(row.p50_ms, np.percentile(durations, 50), rtol=1e-12)
    assert got["round"].isna().any()


@pytest.mark.parametrize("by", [["run_id", "model"], ["run_id", "agent"], ["run_id", "task"]])
def test_cost_by_equals_the_analysis_run_by_run(duck, one_by_one, by):
    want = pd.concat([an.cost_by(r, by=by) for r in one_by_one.values()], ignore_index=True)
    keys = [{"model": "model", "task": "task"}.get(k, k) for k in by]
    want = want.sort_values(keys, na_position="last", kind="stable")
    same(duck.cost_by(by=by), want, str(by))


def test_cost_by_model_across_runs(store, one_by_one):
    from analysis_kit.analyses.cost import _aggregate, _cost_rows

    rows = pd.concat([_cost_rows(r) for r in one_by_one.values()], ignore_index=True)
    want = _aggregate(rows, ["name"]).rename(columns={"name": "model"})
    same(store.cost_by(by="model"), want)


@pytest.mark.parametrize("by", ["step", "category", "classification", ["run_id", "step", "classification"]])
def test_failures_by_equals_the_analysis(duck, run, by):
    same(duck.failures_by(by=by), an.failures_by(run.failures, by=by), str(by))


def test_pass_rates_per_run_equal_the_comparison_outcomes(store, one_by_one):
    got = store.pass_rates(by="run_id").set_index("run_id")
    assert list(got.index) == sorted(one_by_one)
    for rid, one in one_by_one.items():
        outcomes = _outcomes(one)  # per task attempt, convex's unlisted passes added
        row = got.loc[rid]
        assert row["attempts"] == outcomes.size and row["successes"] == outcomes.sum()
        assert np.isclose(row["pass_rate"], outcomes.mean(), equal_nan=True) if outcomes.size else np.isnan(row["pass_rate"])
    haiku = got.loc["anthropic/claude-haiku-4-5/jn7ajdrr_2026-02-06"]  # 27 failures listed, 38/66 passed
    assert (haiku["attempts"], haiku["successes"]) == (66, 38)


def test_pass_rates_by_model_pool_the_runs(store, one_by_one):
    models = store.runs().set_index("run_id")["run_model"]
    got = store.pass_rates(by="run_model").set_index("run_model")
    for model, ids in models.groupby(models).groups.items():
        outcomes = np.concatenate([_outcomes(one_by_one[rid]) for rid in ids])
        assert got.loc[model, "attempts"] == outcomes.size and got.loc[model, "runs"] == len(ids)
        assert got.loc[model, "successes"] == outcomes.sum()


def test_pass_rates_by_task_count_listed_attempts(store, run):
    ok = tasks_success(run.tasks)
    want = run.tasks.assign(ok=ok)[ok.notna()].groupby("task_id")["ok"].agg(["size", "sum"])
    got = store.pass_rates(by="task_id").set_index("task_id")
    assert (got["attempts"] == want["size"].reindex(got.index)).all()
    assert (got["successes"] == want["sum"].reindex(got.index)).all()


def test_pass_rate_intervals_are_reproducible_and_per_group(store):
    a = store.pass_rates(by="run_model", seed=3)
    same(a, store.pass_rates(by="run_model", seed=3))
    row = a.dropna(subset=["pass_rate"]).iloc[0]
    assert (row["ci_low"], row["ci_high"]) == bootstrap_rate(row["attempts"], row["successes"],
                                                             (row["run_model"],), seed=3)
    assert row["ci_low"] <= row["pass_rate"] <= row["ci_high"]
    # a group's interval does not depend on which other groups are asked for
    alone = store.pass_rates(by="run_model", seed=3, where=f"run_model = '{row['run_model']}'")
    assert alone["ci_low"].iloc[0] == row["ci_low"] and alone["ci_high"].iloc[0] == row["ci_high"]


def test_both_engines_give_the_same_tables(real_store):  # noqa: F811
    duck, dask = (open_store(real_store[0], engine=e) for e in ENGINES)
    for name, kwargs in (("summary", {}), ("latency_stats", {"by": ["run_model", "kind"]}),
                         ("cost_by", {"by": ["run_model", "agent"]}), ("failures_by", {"by": "step"}),
                         ("pass_rates", {"by": "run_model"})):
        same(getattr(dask, name)(**kwargs), getattr(duck, name)(**kwargs), name)
    same(dask.select(where="benchmark = 'tau2'").events, duck.select(where="benchmark = 'tau2'").events)


# ----------------------------------------------------------------------------- hand-checked

@pytest.fixture(scope="module")
def known_store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("known")
    a = profile_log(tmp / "a.log", [100, 200, 300, 400])
    b = profile_log(tmp / "b.log", [1000], model_ms=3000.0)
    ingest([a, b], tmp / "store", workers=1, progress=False)
    return tmp / "store"


@pytest.mark.parametrize("engine", ENGINES)
def test_percentiles_are_linear_interpolation(known_store, engine):
    stats = open_store(known_store, engine=engine).latency_stats(by=["run_id", "kind"]).set_index(["run_id", "kind"])
    tools = stats.loc[("a", "tool_call")]
    # numpy's default (linear): h = (n - 1) p, between the two nearest ranks
    assert (tools["count"], tools["mean_ms"], tools["max_ms"]) == (4, 250.0, 400.0)
    assert (tools["p50_ms"], tools["p90_ms"]) == (250.0, 370.0)
    assert np.isclose(tools["p99_ms"], 397.0, rtol=1e-12)
    assert stats.loc[("b", "llm_call"), "p90_ms"] == 3000.0
    everything = open_store(known_store, engine=engine).latency_stats(by=[]).iloc[0]
    durations = [100, 200, 300, 400, 1000, 1000, 3000]
    assert everything["count"] == 7 and np.isclose(everything["p90_ms"], np.percentile(durations, 90))


@pytest.mark.parametrize("engine", ENGINES)
def test_summary_and_cost_of_known_runs(known_store, engine):
    store = open_store(known_store, engine=engine)
    summary = store.summary().set_index("run_id")
    assert summary.loc["a", "events"] == 5 and summary.loc["b", "events"] == 2
    assert summary.loc["a", "input_tokens"] == 10 and np.isnan(summary.loc["a", "cost_usd"])
    cost = store.cost_by(by=["run_id", "model"]).set_index("run_id")
    assert cost.loc["a", "calls"] == 1 and cost.loc["a", "unpriced_calls"] == 1
    assert np.isnan(cost.loc["a", "cost_usd"])  # unpriced is NA, never 0


def test_bootstrap_interval_matches_resampling_attempts():
    """The binomial draw is resampling the attempts: same distribution (checked on its
    quantiles against an index resample of 20,000)."""
    low, high = bootstrap_rate(40, 10, ("x",), n_boot=20_000)
    rng = np.random.default_rng(1)
    values = np.r_[np.ones(10), np.zeros(30)]
    rates = values[rng.integers(0, 40, size=(20_000, 40))].mean(axis=1)
    assert abs(low - np.percentile(rates, 2.5)) <= 0.025 and abs(high - np.percentile(rates, 97.5)) <= 0.025
    assert all(np.isnan(v) for v in bootstrap_rate(0, 0))  # no attempt: no interval
