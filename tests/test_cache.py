"""The cache (Arrow IPC): a second load is served from it; a change anywhere in the run invalidates it."""

import os

import pytest
from pathlib import Path

import analysis_kit as ak
from analysis_kit import cache
from analysis_kit.loading import cache_key
from analysis_kit.samples import write_samples


def test_tau2_dir_results_json_cache_sees_changes_in_simulations(tmp_path):
    from analysis_kit.samples import tau2_results

    run_dir = tau2_results.write(tmp_path, seed=3, size=1, layout="dir")
    results = run_dir / "results.json" if run_dir.is_dir() else run_dir
    key_before = cache_key(results, "tau2_results")
    sim = sorted((results.parent / "simulations").iterdir())[0]
    os.utime(sim, ns=(sim.stat().st_atime_ns, sim.stat().st_mtime_ns + 10**9))
    assert cache_key(results, "tau2_results") != key_before


@pytest.fixture
def cache_everything(monkeypatch):
    """Cache runs of any size (the bundled samples are below the size worth caching)."""
    from analysis_kit import loading

    monkeypatch.setattr(loading, "CACHE_MIN_BYTES", 0)


def test_small_runs_are_not_cached(tmp_path):
    """A run below CACHE_MIN_BYTES parses about as fast as the cache reads it back."""
    path = write_samples(tmp_path, formats=["tau2_results"])[0]
    ak.load(path)
    assert cache.get(cache_key(path, "tau2_results")) is None


def test_second_load_comes_from_cache(tmp_path, cache_everything):
    path = write_samples(tmp_path, formats=["tau2_results"])[0]
    first = ak.load(path)
    assert cache.get(cache_key(path, "tau2_results")) is not None
    second = ak.load(path)
    assert len(second.tasks) == len(first.tasks)
    assert second.tasks["reward"].equals(first.tasks["reward"])
    assert second.meta["run_id"] == first.meta["run_id"]


@pytest.mark.parametrize("module", ["analysis_kit.loaders.maseval", "analysis_kit.loaders._columns",
                                    "analysis_kit.model"])
def test_a_changed_loader_invalidates_the_cache(tmp_path, monkeypatch, module):
    """The key covers the whole loaders package (the core too) and the model; the stamp is
    taken once per process, as a process runs the code it imported."""
    import importlib

    from analysis_kit import loading

    path = write_samples(tmp_path, formats=["maseval"])[0]
    monkeypatch.setattr(loading, "_CODE_STAMP", None)
    before = cache_key(path, "maseval")
    source = Path(importlib.import_module(module).__file__)
    st = source.stat()
    try:
        os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        assert cache_key(path, "maseval") == before  # this process still runs the old code
        monkeypatch.setattr(loading, "_CODE_STAMP", None)  # a new process
        assert cache_key(path, "maseval") != before
    finally:
        os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))
    monkeypatch.setattr(loading, "_CODE_STAMP", None)
    assert cache_key(path, "maseval") == before


def test_options_are_part_of_the_key_and_do_not_switch_the_cache_off(tmp_path, cache_everything):
    from analysis_kit.samples import tau2_profile

    path = tau2_profile.write(tmp_path, seed=3, size=1)
    assert cache_key(path, "tau2_profile") != cache_key(
        path, "tau2_profile", ak.loaders.get_format("tau2_profile").options_from({"chunksize": 50}))
    whole = ak.load(path)
    chunked = ak.load(path, chunksize=50)
    assert cache.get(cache_key(path, "tau2_profile")) is not None
    assert cache.get(cache_key(path, "tau2_profile", ak.loaders.get_format("tau2_profile")
                               .options_from({"chunksize": 50}))) is not None
    assert chunked.meta["load_options"] == {"chunksize": 50} and "load_options" not in whole.meta
    assert len(chunked.events) == len(whole.events)


def _profile_run(tmp_path):
    from analysis_kit.samples import sample_paths

    src = sample_paths(Path(__file__).resolve().parents[1] / "sample_logs")["tau2_profile"]
    path = tmp_path / "run.log"
    path.write_bytes(Path(src).read_bytes())
    return path, ak.load(path, cache=False)


def test_big_tables_are_written_through_a_map_and_read_back_equal(tmp_path, monkeypatch):
    """Tables over PARALLEL_WRITE_BYTES go through a memory map with two copying threads:
    the file is byte for byte the plain writer's, and reads back equal."""
    import pandas as pd

    path, run = _profile_run(tmp_path)
    calls = []
    real = cache._write_mapped
    monkeypatch.setattr(cache, "_write_mapped", lambda table, file: (calls.append(file), real(table, file)))
    monkeypatch.setattr(cache, "PARALLEL_WRITE_BYTES", 0)
    cache._write(run.events, tmp_path / "mapped.arrow", "events")
    monkeypatch.setattr(cache, "PARALLEL_WRITE_BYTES", 1 << 62)
    cache._write(run.events, tmp_path / "plain.arrow", "events")
    assert calls == [tmp_path / "mapped.arrow"]
    assert (tmp_path / "mapped.arrow").read_bytes() == (tmp_path / "plain.arrow").read_bytes()
    back = ak.Run(meta=dict(run.meta), events=cache._read(tmp_path / "mapped.arrow"))
    pd.testing.assert_frame_equal(back.events, run.events)


def test_a_map_that_cannot_be_reserved_falls_back_to_a_plain_write(tmp_path, monkeypatch):
    """posix_fallocate failing (a full disk, a file system without it) is no failure: the
    table is written the plain way."""
    path, run = _profile_run(tmp_path)

    def full(fd, offset, size):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "PARALLEL_WRITE_BYTES", 0)
    monkeypatch.setattr(cache.os, "posix_fallocate", full)
    cache._write(run.events, tmp_path / "events.arrow", "events")
    back = ak.Run(meta=dict(run.meta), events=cache._read(tmp_path / "events.arrow"))
    assert len(back.events) == len(run.events) and back.events["end"].equals(run.events["end"])
