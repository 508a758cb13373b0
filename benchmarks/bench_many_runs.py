"""``load_runs`` of many tiny runs (10,000 MASEval files, every 1000th empty), as a ratio to
reading and parsing the same files with ``json.loads`` measured here. It checks what it
loads (the counts and the problem rows of the empty files) and exits non-zero when a check
fails. Formerly the test suite's slowest case (minutes): a benchmark, not a test.

    .venv/bin/python benchmarks/bench_many_runs.py [--runs 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "hostile"))
from make_corpus import many_runs  # noqa: E402  (the hostile corpus's own writer of these runs)


def baseline_s(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        text = path.read_text()
        if text:
            json.loads(text)
    return time.perf_counter() - started


def check(run, n: int) -> list[str]:
    empty = len(range(999, n, 1000))
    wrong = []
    if len(run.meta["run_ids"]) != n or len(set(run.meta["run_ids"])) != n:
        wrong.append(f"run ids: {len(run.meta['run_ids'])} (want {n}, all distinct)")
    if len(run.tasks) != n - empty:
        wrong.append(f"tasks: {len(run.tasks)} (want {n - empty})")
    if run.problems["reason"].tolist() != ["empty file: no report lines"] * empty:
        wrong.append(f"problems: {run.problems['reason'].value_counts().to_dict()}")
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    import analysis_kit as ak

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ANALYSIS_KIT_CACHE_DIR"] = "off"
        paths = many_runs(Path(tmp), args.runs)
        base = baseline_s(paths)
        started = time.perf_counter()
        run = ak.load_runs(paths, format="maseval", progress=False, cache=False)
        loaded = time.perf_counter() - started
        wrong = check(run, args.runs)
    print(f"{args.runs:,} runs: load_runs {loaded:.1f} s ({loaded / args.runs * 1000:.1f} ms a run); "
          f"json.loads of the same files {base:.2f} s; ratio {loaded / base:.0f}x")
    for line in wrong:
        print(f"WRONG: {line}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
