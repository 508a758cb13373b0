"""Load time of a large tau2 results JSON, as a ratio to a bare ``json.load`` of the file.

The budget: loading (parse + all tables) takes at most 2x ``json.load`` of the same file.
The file is written by the sample generator (``analysis_kit.samples.tau2_results``); the parse
cache is disabled so every run parses.

    .venv/bin/python benchmarks/bench_tau2_results.py [--size 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ["ANALYSIS_KIT_CACHE_DIR"] = "off"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import analysis_kit as ak  # noqa: E402
from analysis_kit.samples import tau2_results as sample  # noqa: E402

BUDGET = 2.0


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bare_json_load(path: Path) -> None:
    with open(path, encoding="utf-8") as fh:
        json.load(fh)


def json_load_without_gc(path: Path) -> None:
    """The stricter baseline: the loader pauses the cyclic GC, so compare with that too."""
    gc.disable()
    try:
        bare_json_load(path)
    finally:
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = sample.write(tmp, seed=7, size=args.size)
        mb = path.stat().st_size / 1e6
        run = ak.load(path, format="tau2_results", cache=False)
        bare_json_load(path)  # warm the page cache for both
        # Interleaved pairs, so a busy machine slows both sides alike.
        base_times, nogc_times, load_times = [], [], []
        for _ in range(args.repeat):
            base_times.append(timed(lambda: bare_json_load(path)))
            nogc_times.append(timed(lambda: json_load_without_gc(path)))
            load_times.append(timed(lambda: ak.load(path, format="tau2_results", cache=False)))
    baseline, loaded = statistics.median(base_times), statistics.median(load_times)
    ratio = statistics.median(b / a for a, b in zip(base_times, load_times))
    nogc_ratio = statistics.median(b / a for a, b in zip(nogc_times, load_times))
    print(f"tau2 results JSON: {mb:.1f} MB, {len(run.tasks)} simulations, {len(run.messages)} messages, "
          f"{len(run.events)} events")
    print(f"json.load median {baseline:.3f} s; ak.load median {loaded:.3f} s "
          f"(median of {args.repeat}); median ratio {ratio:.2f}x (budget {BUDGET:.1f}x): "
          f"{'OK' if ratio <= BUDGET else 'OVER BUDGET'}")
    print(f"json.load with the GC paused median {statistics.median(nogc_times):.3f} s; "
          f"median ratio {nogc_ratio:.2f}x (the loader pauses the GC too)")
    return 0 if ratio <= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
