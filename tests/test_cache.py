"""The Parquet cache: a second load is served from it; a change anywhere in the run invalidates it."""

import os
from pathlib import Path

import analysis_kit as ak
from analysis_kit import cache
from analysis_kit.samples import write_samples


def test_tau2_dir_results_json_cache_sees_changes_in_simulations(tmp_path):
    from analysis_kit.samples import tau2_results

    run_dir = tau2_results.write(tmp_path, seed=3, size=1, layout="dir")
    results = run_dir / "results.json" if run_dir.is_dir() else run_dir
    key_before = cache.key(results, "tau2_results")
    sim = sorted((results.parent / "simulations").iterdir())[0]
    os.utime(sim, ns=(sim.stat().st_atime_ns, sim.stat().st_mtime_ns + 10**9))
    assert cache.key(results, "tau2_results") != key_before


def test_second_load_comes_from_cache(tmp_path):
    path = write_samples(tmp_path, formats=["tau2_results"])[0]
    first = ak.load(path)
    assert cache.get(path, "tau2_results") is not None
    second = ak.load(path)
    assert len(second.tasks) == len(first.tasks)
    assert second.tasks["reward"].equals(first.tasks["reward"])
    assert second.meta["run_id"] == first.meta["run_id"]


def test_a_changed_loader_invalidates_the_cache(tmp_path):
    from analysis_kit.loaders import loader_module

    path = write_samples(tmp_path, formats=["maseval"])[0]
    before = cache.key(path, "maseval")
    source = Path(loader_module("maseval").__file__)
    st = source.stat()
    try:
        os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        assert cache.key(path, "maseval") != before
    finally:
        os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.key(path, "maseval") == before
