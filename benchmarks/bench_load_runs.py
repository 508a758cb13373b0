"""``load_runs`` of many small runs, as a ratio to a bare ``json.load`` loop over the same files.

Issue 13's budget: 1,000 real tau2 results files (the 376 KB grok-3-mini airline run of
``../shared/real_logs``, copied 1,000 times into a temporary folder; the sample generator's
run when the real file is absent) load with ``load_runs`` in at most 3x the time of a loop
of ``json.load`` over them. Measured cold (an empty parse cache, which the load fills) and
warm (the cache filled), with the default workers (every core) and with one.

    .venv/bin/python benchmarks/bench_load_runs.py [--runs 1000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REAL = Path(__file__).resolve().parents[2] / "shared" / "real_logs" / "tau2" / "airline_grok-3-mini_10sims.json"
BUDGET = 3.0


def json_loop(paths: list[Path]) -> None:
    for p in paths:
        with open(p, encoding="utf-8") as fh:
            json.load(fh)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        source = REAL
        if not source.exists():
            from analysis_kit.samples import tau2_results

            source = tau2_results.write(base / "src", seed=7, size=1)
        paths = []
        for i in range(args.runs):
            target = base / "runs" / f"run_{i:05d}.json"
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(source, target)
            paths.append(target)
        os.environ["ANALYSIS_KIT_CACHE_DIR"] = str(base / "cache")
        import analysis_kit as ak

        json_loop(paths)  # page cache warm for everyone
        rows: dict[str, list[float]] = {"json.load loop": [], "load_runs cold": [], "load_runs warm": [],
                                        "load_runs cold, 1 worker": []}
        for _ in range(args.repeat):
            rows["json.load loop"].append(timed(lambda: json_loop(paths)))
            shutil.rmtree(base / "cache", ignore_errors=True)
            rows["load_runs cold"].append(timed(lambda: ak.load_runs(paths, progress=False)))
            rows["load_runs warm"].append(timed(lambda: ak.load_runs(paths, progress=False)))
            shutil.rmtree(base / "cache", ignore_errors=True)
            rows["load_runs cold, 1 worker"].append(timed(lambda: ak.load_runs(paths, progress=False, workers=1)))
        runs = ak.load_runs(paths, progress=False)
    baseline = min(rows["json.load loop"])
    print(f"{args.runs} runs of {source.name} ({source.stat().st_size / 1e3:.0f} KB each): "
          f"{len(runs.tasks)} tasks, {len(runs.messages)} messages, {len(runs.events)} events; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for name, times in rows.items():
        ratio = min(times) / baseline
        verdict = "" if name == "json.load loop" else (" (budget 3x: met)" if ratio <= BUDGET else " (budget 3x: OVER)")
        print(f"  {name:28s} best {min(times):7.2f} s  median {statistics.median(times):7.2f} s  "
              f"{ratio:5.2f}x{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
