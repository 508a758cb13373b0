"""The run store on disk: ingest (incremental, replacing, interrupted, failing paths), the
schema version check, the runs table, select() and the fsspec path.

The store of real runs built here (``real_store``) is shared with the other test_store_*
files, built once per session.
"""

import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit.model import SCHEMA, TABLES
from analysis_kit.store import StoreError, compact, ingest, open_store
from analysis_kit.store import layout
from conftest import REAL_LOGS, SAMPLES

# Real runs of every format the kit loads (and series: a convex folder is 7 runs, the
# guideline file 6), then the bundled samples. A path that is absent is left out.
REAL_PATHS = [
    "tau2/airline_grok-3-mini_10sims.json", "tau2/airline_gemini2_5_flash_10tasks_2t.json",
    "tau2/telecom_grok-3_5sims.json", "tau2/airline_gpt-4.1_no_simulations.json",
    "tau2/voice_dir_format", "tau2_v1/activegraph_20260531-193831_results.json",
    "massgen/log_20251025_225510", "convex_evals/reports",
    "convex_evals/guideline_validation_2026-02-25.json", "tau2_profile/doc_lines.log",
]
SAMPLE_PATHS = ["tau2_profile/profile.log", "maseval", "massgen/log_20251103_145228",
                "tau2_results/tau2_airline_results.json", "tau2_results_rerun/tau2_airline_results_rerun.json",
                "convex/reports"]
_BUILT: dict = {}


def run_paths() -> list[str]:
    paths = [REAL_LOGS / p for p in REAL_PATHS] + [SAMPLES / p for p in SAMPLE_PATHS]
    present = [str(p) for p in paths if p.exists()]
    if len(present) < 6:
        pytest.skip("the real logs are not present on this machine")
    return present


@pytest.fixture(scope="session")
def real_store(tmp_path_factory):
    """(store folder, the same runs through load_runs) built once per session."""
    if "real" not in _BUILT:
        root = tmp_path_factory.mktemp("real_store") / "store"
        paths = run_paths()
        result = ingest(paths, root, workers=1, progress=False)
        run = ak.load_runs(paths, progress=False, cache=False)
        _BUILT["real"] = (root, run, result)
    return _BUILT["real"]


def profile_log(path: Path, durations, *, model_ms: float = 1000.0, day: int = 23) -> Path:
    """A tau2 [PROFILE] log of tool calls of the given durations (ms) and one model call."""
    lines = [f"[PROFILE] 2025-12-{day:02d} 10:00:{i + 1:02d}.000 task=t{i % 2} thread={i % 2} "
             f"type=tool_call function=lookup duration_ms={d}" for i, d in enumerate(durations)]
    lines.append(f"[PROFILE] 2025-12-{day:02d} 10:01:00.000 task=t0 thread=0 type=llm_call model=m1 "
                 f"duration_ms={model_ms} input_tokens=10 output_tokens=5")
    path.write_text("\n".join(lines) + "\n")
    return path


# ----------------------------------------------------------------------------- ingest

def test_ingest_stores_every_run_of_every_path(real_store):
    root, run, result = real_store
    store = open_store(root)
    assert result.counts()["failed"] == 0 and len(result.added) == len(run_paths())
    # one runs row per run, series split into their runs, the ids load_runs gives
    assert list(store.runs()["run_id"]) == run.run_ids
    assert len(store.runs()) > len(run_paths())  # the convex series are several runs each
    for table in TABLES:
        assert store.manifest.segments[0].rows[table] == len(getattr(run, table))


def test_runs_table_holds_meta(real_store):
    root, run, _ = real_store
    runs = open_store(root).runs().set_index("run_id")
    grok = runs.loc["airline_grok-3-mini_10sims"]
    assert grok["run_model"] == "xai/grok-3-mini" and grok["benchmark"] == "tau2"
    assert grok["source_format"] == "tau2_results"
    assert grok["started"] == pd.Timestamp("2025-10-06 06:22:49.481667", tz="UTC")
    assert grok["size"] == (REAL_LOGS / REAL_PATHS[0]).stat().st_size
    assert "meta_json" not in runs.columns  # the whole meta is read by select() alone
    meta = open_store(root).select("airline_grok-3-mini_10sims", tables=[]).meta["runs"][0]
    assert meta["git_commit"] == "d003d75e910bf45fc765ce11e2746b958bf8e242"
    haiku = runs.loc["anthropic/claude-haiku-4-5/jn7ajdrr_2026-02-06"]
    assert (haiku["tasks_total"], haiku["tasks_passed"], bool(haiku["tasks_partial"])) == (66, 38, True)
    assert haiku["path"] == str((REAL_LOGS / "convex_evals/reports").resolve())  # the path ingested


def test_unchanged_paths_are_skipped_and_a_changed_one_replaced(tmp_path):
    a = profile_log(tmp_path / "a.log", [100, 200])
    b = profile_log(tmp_path / "b.log", [300])
    root = tmp_path / "store"
    first = ingest([a, b], root, workers=1, progress=False)
    assert first.counts() == {"added": 2, "replaced": 0, "skipped": 0, "failed": 0}
    again = ingest([a, b], root, workers=1, progress=False)
    assert again.counts() == {"added": 0, "replaced": 0, "skipped": 2, "failed": 0}
    assert again.segments_written == 0
    profile_log(a, [100, 200, 400, 800])  # a grows: same path, new size and mtime
    os.utime(a, ns=(time.time_ns(), time.time_ns() + 10**9))
    third = ingest([a, b], root, workers=1, progress=False)
    assert third.counts() == {"added": 0, "replaced": 1, "skipped": 1, "failed": 0}
    store = open_store(root)
    assert list(store.runs()["run_id"]) == ["b", "a"]  # a keeps its id, now the latest ingest
    stats = store.latency_stats(by=["run_id", "kind"]).set_index(["run_id", "kind"])
    assert stats.loc[("a", "tool_call"), "count"] == 4  # the new version only, no duplicate
    assert stats.loc[("b", "tool_call"), "count"] == 1
    # the first segment was rewritten without a: only live segments remain on disk
    live = {s.name for s in store.manifest.segments}
    assert {p.name for p in (root / "segments").iterdir()} == live
    assert sum(s.runs for s in store.manifest.segments) == 2


def test_same_run_id_from_two_paths_is_made_unique(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    one = profile_log(tmp_path / "x" / "run.log", [10])
    two = profile_log(tmp_path / "y" / "run.log", [20])
    root = tmp_path / "store"
    ingest([one], root, workers=1, progress=False)
    ingest([two], root, workers=1, progress=False)
    runs = open_store(root).runs()
    assert list(runs["run_id"]) == ["run", "run#2"]
    assert list(runs["source_run_id"]) == ["run", "run"]
    assert ak.load_runs([one, two], progress=False).run_ids == ["run", "run#2"]


def test_interrupted_ingest_leaves_no_run_visible_and_is_cleaned_up(tmp_path, monkeypatch):
    a = profile_log(tmp_path / "a.log", [100])
    b = profile_log(tmp_path / "b.log", [200])
    root = tmp_path / "store"
    ingest([a], root, workers=1, progress=False)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # the moment before the new manifest would replace the old

    from analysis_kit.store import writer

    monkeypatch.setattr(writer, "write_manifest", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest([b], root, workers=1, progress=False)
    monkeypatch.undo()
    leftover = {p.name for p in (root / "segments").iterdir()}
    store = open_store(root)
    assert list(store.runs()["run_id"]) == ["a"]  # b's written segment is not visible
    assert len(leftover) == 2 and len(store.manifest.segments) == 1
    store.select()  # the visible store reads whole
    result = ingest([a, b], root, workers=1, progress=False)
    assert result.counts() == {"added": 1, "replaced": 0, "skipped": 1, "failed": 0}
    assert {p.name for p in (root / "segments").iterdir()} == {s.name for s in open_store(root).manifest.segments}
    assert not (root / "tmp").exists()


def test_a_path_that_cannot_be_loaded_is_stored_as_a_problem(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("nothing to see\n")
    good = profile_log(tmp_path / "good.log", [100])
    root = tmp_path / "store"
    result = ingest([good, junk], root, workers=1, progress=False)
    assert [p for p, _ in result.failed] == [str(junk.resolve())]
    store = open_store(root)
    assert list(store.runs()["run_id"]) == ["good"]  # queries leave it out
    failed = store.runs(include_failed=True).set_index("run_id").loc["notes"]
    assert "not a run of any supported format" in failed["load_error"]
    problems = store.problems()
    row = problems[problems["run_id"] == "notes"].iloc[0]
    assert row["file"] == str(junk.resolve()) and row["reason"].startswith("not loaded:")
    assert list(store.summary()["run_id"]) == ["good"]
    # unchanged, it is not retried; strict stops at it
    assert ingest([junk], root, workers=1, progress=False).counts()["skipped"] == 1
    with pytest.raises(ak.LoadError):
        ingest([junk], tmp_path / "strict", workers=1, progress=False, strict=True)


def test_loader_problems_are_stored(real_store):
    root, run, _ = real_store
    stored = open_store(root).problems()
    assert len(stored) == len(run.problems) > 0
    assert sorted(stored["reason"]) == sorted(run.problems["reason"])


def test_parallel_ingest_matches_one_process(tmp_path):
    paths = [profile_log(tmp_path / f"r{i}.log", [100 * (i + 1), 50]) for i in range(3)]
    ingest(paths, tmp_path / "one", workers=1, progress=False)
    ingest(paths, tmp_path / "two", workers=2, progress=False)
    one, two = open_store(tmp_path / "one"), open_store(tmp_path / "two")
    pd.testing.assert_frame_equal(one.summary(), two.summary())
    assert list(two.runs()["run_id"]) == ["r0", "r1", "r2"]  # the order given


def test_small_batches_make_segments_and_compact_merges_them(tmp_path):
    paths = [profile_log(tmp_path / f"r{i}.log", [10 * (i + 1)]) for i in range(5)]
    root = tmp_path / "store"
    result = ingest(paths, root, workers=1, progress=False, batch_runs=2)
    assert result.segments_written == 3
    before = open_store(root).latency_stats(by="run_id")
    assert compact(root) == 2
    store = open_store(root)
    assert len(store.manifest.segments) == 1
    pd.testing.assert_frame_equal(store.latency_stats(by="run_id"), before)
    assert len(list((root / "segments").iterdir())) == 1


# ----------------------------------------------------------------------------- the format

def _set_version(root: Path, version) -> None:
    doc = json.loads((root / layout.MANIFEST).read_text())
    doc["schema_version"] = version
    (root / layout.MANIFEST).write_text(json.dumps(doc))


def test_a_store_of_another_schema_version_is_refused_clearly(tmp_path):
    root = tmp_path / "store"
    ingest([profile_log(tmp_path / "a.log", [1])], root, workers=1, progress=False)
    _set_version(root, layout.STORE_SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="newer analysis_kit.*upgrade"):
        open_store(root)
    with pytest.raises(StoreError, match="newer"):  # nor written to
        ingest([tmp_path / "a.log"], root, workers=1, progress=False)
    _set_version(root, 0)
    with pytest.raises(StoreError, match="older analysis_kit.*ingest the runs again"):
        open_store(root)


def test_what_is_not_a_store_says_so(tmp_path):
    with pytest.raises(StoreError, match="no run store here"):
        open_store(tmp_path / "missing")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "file.txt").write_text("x")
    with pytest.raises(StoreError, match="not a run store"):
        open_store(tmp_path / "other")
    with pytest.raises(StoreError, match="not a run store"):
        ingest([profile_log(tmp_path / "a.log", [1])], tmp_path / "other", workers=1, progress=False)


def test_segment_files_use_the_schema_types_and_keep_extra_columns(real_store):
    import pyarrow.parquet as pq

    root, run, _ = real_store
    store = open_store(root)
    seg = store.manifest.segments[0].name
    schema = pq.read_schema(root / "segments" / seg / "events.parquet")
    assert str(schema.field("start").type) == "timestamp[ns, tz=UTC]"
    assert str(schema.field("input_tokens").type) == "int64"
    assert schema.metadata is None or b"pandas" not in schema.metadata  # engine-neutral files
    extra = set(run.events.columns) - {c for c, _ in SCHEMA["events"]}
    assert extra and extra <= set(schema.names)  # e.g. the profile log's step, call_type


def test_a_column_added_to_the_schema_is_stored_typed(tmp_path, monkeypatch):
    from analysis_kit import model

    monkeypatch.setitem(model.SCHEMA, "events", model.SCHEMA["events"] + [("span_id", "str")])
    root = tmp_path / "store"
    ingest([profile_log(tmp_path / "a.log", [5])], root, workers=1, progress=False)
    store = open_store(root)
    assert "span_id" in store.columns["events"]
    assert "span_id" in store.select().events.columns


# ----------------------------------------------------------------------------- reading back

def test_select_returns_the_runs_as_load_runs_does(real_store):
    root, run, _ = real_store
    chosen = open_store(root).select()
    assert chosen.run_ids == run.run_ids
    assert [m["run_id"] for m in chosen.meta["runs"]] == run.run_ids
    for table in TABLES:
        got, want = getattr(chosen, table), getattr(run, table)
        assert list(got.columns)[:len(SCHEMA[table])] == [c for c, _ in SCHEMA[table]]
        assert set(got.columns) == set(want.columns), table
        got, want = got[list(want.columns)], want
        assert len(got) == len(want), table
        for col in want.columns:
            a, b = got[col].astype(object), want[col].astype(object)
            same = [(pd.isna(x) and pd.isna(y)) or x == y for x, y in zip(a, b)]
            assert all(same), (table, col)


def test_select_by_id_and_where(real_store):
    root, run, _ = real_store
    store = open_store(root)
    one = store.select("airline_grok-3-mini_10sims")
    assert one.run_ids == ["airline_grok-3-mini_10sims"] and len(one.tasks) == 10
    assert one.meta["runs"][0]["agent_model"] == "xai/grok-3-mini"
    tau2 = store.select(where="benchmark = 'tau2' AND started < TIMESTAMPTZ '2025-10-06'",
                        tables=["tasks"])
    assert set(tau2.run_ids) == {"airline_gemini2_5_flash_10tasks_2t", "telecom_grok-3_5sims",
                                 "airline_gpt-4.1_no_simulations"}
    assert tau2.events.empty and len(tau2.tasks) == 25
    pd.testing.assert_frame_equal(tau2.summary()[["run_id", "tasks", "successes"]].sort_values("run_id").reset_index(drop=True),
                                  run.summary().set_index("run_id").loc[sorted(tau2.run_ids)].reset_index()[["run_id", "tasks", "successes"]])


def test_bad_filters_are_clear_errors(real_store):
    store = open_store(real_store[0])
    with pytest.raises(StoreError, match="no run"):
        store.select(["no-such-run"])
    with pytest.raises(StoreError, match="not a valid condition"):
        store.summary(where="no_such_column = 1")
    with pytest.raises(StoreError, match="cannot group by 'nope'"):
        store.latency_stats(by="nope")
    with pytest.raises(StoreError, match="no run matches"):
        store.select(where="run_model = 'nobody'")


def test_an_empty_store_answers_with_empty_tables(tmp_path):
    root = tmp_path / "store"
    ingest([], root, workers=1, progress=False)
    store = open_store(root)
    assert store.summary().empty and list(store.summary().columns)[:2] == ["run_id", "format"]
    assert store.latency_stats().empty and "p90_ms" in store.latency_stats().columns
    assert store.cost_by().empty and store.failures_by().empty and store.pass_rates().empty


def test_queries_see_runs_ingested_after_opening(tmp_path):
    root = tmp_path / "store"
    ingest([profile_log(tmp_path / "a.log", [1])], root, workers=1, progress=False)
    store = open_store(root)
    ingest([profile_log(tmp_path / "b.log", [2])], root, workers=1, progress=False)
    assert list(store.summary()["run_id"]) == ["a", "b"]


def test_a_store_read_through_an_fsspec_url(real_store):
    fsspec = pytest.importorskip("fsspec")
    root, _, _ = real_store
    fs = fsspec.filesystem("memory")
    fs.put(str(root), "/ak_store_test", recursive=True)
    try:
        local = open_store(root)
        for engine in ("duckdb", "dask"):
            remote = open_store("memory://ak_store_test", engine=engine)
            pd.testing.assert_frame_equal(remote.summary(), local.summary())
            pd.testing.assert_frame_equal(remote.latency_stats(by="kind"), local.latency_stats(by="kind"))
    finally:
        fs.rm("/ak_store_test", recursive=True)


def test_one_writer_at_a_time(tmp_path):
    root = tmp_path / "store"
    log = profile_log(tmp_path / "a.log", [1])
    with layout.writer_lock(root):  # another ingest holds the store
        with pytest.raises(StoreError, match="another ingest is writing"):
            ingest([log], root, workers=1, progress=False)
    assert ingest([log], root, workers=1, progress=False).counts()["added"] == 1


def test_extra_columns_of_clashing_types_are_kept_as_text():
    a = layout.arrow_table(pd.DataFrame({"run_id": ["a"], "extra": [1], "blob": [{"k": [1, 2]}]}), "events")
    b = layout.arrow_table(pd.DataFrame({"run_id": ["b"], "extra": ["x"]}), "events")
    assert str(a.schema.field("start").type) == "timestamp[ns, tz=UTC]"  # missing standard column typed
    both = layout.concat([a, b])
    assert both.column("extra").to_pylist() == ["1", "x"]
    assert json.loads(both.column("blob").to_pylist()[0]) == {"k": [1, 2]} and both.column("blob").to_pylist()[1] is None
