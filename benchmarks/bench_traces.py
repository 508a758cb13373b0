"""Benchmark: loading 100,000 spans of OTLP JSON, as a ratio to a bare ``json.loads``.

The spans are written by the same instrumentation as the tests' fixtures
(tests/writers/otel_traces.py): pydantic-ai agents on FunctionModel scripts under the
OpenTelemetry SDK (with OpenInference's attributes too) and a MassGen session traced through
logfire, serialized as the Collector's file exporter writes them (one
ExportTraceServiceRequest per trace per line). The recorded traces are repeated, each copy
under a new trace id, until the file holds ``--spans`` spans.

Baseline: ``[json.loads(line) for line in open(F)]``, the least any reader of the file does.
Then ``analysis_kit.load(F, cache=False)`` (cold: read, map, build the tables, contract
check, cost estimate) and ``analysis_kit.load(F)`` twice (the second answered by the cache),
all in this process after the imports, best of ``--repeat`` rounds, interleaved.

Budget: cold load <= 3x the baseline.

    .venv/bin/python benchmarks/bench_traces.py                 # 100,000 spans
    .venv/bin/python benchmarks/bench_traces.py --spans 20000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "_data"
BUDGET = 3.0
sys.path.insert(0, str(ROOT))


def write_spans(path: Path, spans: int) -> int:
    """The recorded traces repeated under new trace ids until ``spans`` spans; returns the count."""
    from tests.writers import otel_traces as ot

    recordings = [ot.record_pydantic_ai(openinference=True), ot.record_massgen()]
    lines = []  # (collector line, its trace id, its span count)
    for rec in recordings:
        for batch in ot._batches(rec.spans, None):
            lines.append((ot.collector_line(batch), ot.hex_trace_id(batch[0].context.trace_id), len(batch)))
    written = 0
    with open(path, "w") as fh:
        while written < spans:
            for line, trace_id, count in lines:
                fh.write(line.replace(trace_id, uuid.uuid4().hex) + "\n")
                written += count
                if written >= spans:
                    break
    return written


def baseline(path: Path) -> float:
    start = time.perf_counter()
    with open(path) as fh:
        docs = [json.loads(line) for line in fh]
    assert docs
    return time.perf_counter() - start


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"traces_{args.spans}.jsonl"
    if not path.exists():
        count = write_spans(path, args.spans)
        print(f"wrote {path.name}: {count:,} spans, {path.stat().st_size / 1e6:.1f} MB")
    os.environ["ANALYSIS_KIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="ak-bench-traces-")
    import analysis_kit as ak
    import analysis_kit.loaders.otlp  # noqa: F401  (imports before the clock)

    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}")
    base, cold, warm = [], [], []
    for _ in range(args.repeat):
        base.append(baseline(path))
        seconds, run = timed(lambda: ak.load(path, cache=False))
        cold.append(seconds)
        ak.load(path)  # fills the cache
        warm.append(timed(lambda: ak.load(path))[0])
    print(f"file: {path.stat().st_size / 1e6:.1f} MB, {len(run.events):,} events, {len(run.tasks):,} tasks, "
          f"{len(run.problems)} problems")
    print(f"baseline json.loads: {', '.join(f'{t:.2f}' for t in base)} s")
    print(f"cold load:           {', '.join(f'{t:.2f}' for t in cold)} s")
    print(f"warm (cached) load:  {', '.join(f'{t:.2f}' for t in warm)} s")
    ratio = min(cold) / min(base)
    print(f"cold / baseline (best of each): {ratio:.2f}x (budget <= {BUDGET}x: {'met' if ratio <= BUDGET else 'NOT met'})")
    print(f"warm / baseline: {min(warm) / min(base):.2f}x; load {os.getloadavg()[0]:.2f}")
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"peak RSS of this process: {peak / 1e9:.2f} GB ({peak / path.stat().st_size:.1f}x the file)")


if __name__ == "__main__":
    main()
