"""The run store at scale: ingest of N generated runs (time, peak memory), each store query
in DuckDB and in Dask (time, peak memory, each in a fresh subprocess), and the same
aggregates through pandas: ``load_runs`` of a subset, and all N runs read back with
``store.select()``. Every time is also given as a ratio to a baseline measured here:
ingest to a bare ``json.load`` loop over the same files, queries to the pandas analysis of
the same runs. Targets (issue 13): DuckDB aggregates over 10,000 runs under 2 s each, peak
memory of a query under 500 MB.

    .venv/bin/python benchmarks/bench_store.py                 # 10,000 runs (~2.5 GB of JSON)
    .venv/bin/python benchmarks/bench_store.py --runs 500      # a quick run

Runs are tau2 results files as the kit's sample generator writes them (36 simulations,
~250 KB each, like a real tau2 results file), each a variant: one of eight models, a start
day over 90 days, rewards and costs drawn per model. They are written once to
``benchmarks/_data/store_runs_<N>/`` and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "_data"
sys.path.insert(0, str(ROOT))
os.environ["ANALYSIS_KIT_CACHE_DIR"] = "off"

MODELS = {  # model: (pass probability of a task the template passes, price factor)
    "gpt-4.1": (0.9, 1.0), "gpt-4.1-mini": (0.8, 0.2), "gpt-5": (0.95, 1.5), "claude-sonnet-4": (0.9, 1.2),
    "claude-haiku-4-5": (0.7, 0.3), "gemini-2.5-pro": (0.88, 0.9), "gemini-2.5-flash": (0.75, 0.15),
    "qwen3-32b": (0.6, 0.05),
}
TEMPLATE_DAY = "2025-10-06"  # the sample generator's T0
QUERIES = {
    "summary": ("summary", {}),
    "latency_by_kind": ("latency_stats", {"by": "kind"}),
    "latency_by_model_tool": ("latency_stats", {"by": ["run_model", "tool"]}),
    "cost_by_model": ("cost_by", {"by": "run_model"}),
    "pass_rates_by_model": ("pass_rates", {"by": "run_model"}),
    "failures_by_step": ("failures_by", {"by": "step"}),
}
TARGET_S, TARGET_MB = 2.0, 500.0


# ----------------------------------------------------------------------------- generation

def generate(n: int, out: Path, templates: int = 8) -> list[Path]:
    """N run files (cached: a folder already holding N files is reused)."""
    from analysis_kit.samples import tau2_results

    paths = [out / f"run_{i:05d}.json" for i in range(n)]
    if out.exists() and all(p.exists() for p in paths):
        return paths
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        texts = [tau2_results.write(Path(tmp) / str(s), seed=s, size=1).read_text() for s in range(templates)]
    rng = random.Random(13)
    names = list(MODELS)
    started = time.perf_counter()
    for i, path in enumerate(paths):
        doc = json.loads(texts[i % templates])
        model = names[rng.randrange(len(names))]
        skill, price = MODELS[model]
        doc["info"]["agent_info"]["llm"] = model
        for sim in doc["simulations"]:
            reward = (sim.get("reward_info") or {}).get("reward")
            if reward == 1.0 and rng.random() > skill:
                sim["reward_info"]["reward"] = 0.0
            if isinstance(sim.get("agent_cost"), (int, float)):
                sim["agent_cost"] = sim["agent_cost"] * price * rng.uniform(0.8, 1.2)
        day = f"2025-{7 + (i * 90 // n) // 30:02d}-{1 + (i * 90 // n) % 30:02d}"
        path.write_text(json.dumps(doc).replace(TEMPLATE_DAY, day))
        if i and i % 1000 == 0:
            print(f"  generated {i} runs ({time.perf_counter() - started:.0f} s)", flush=True)
    return paths


# ----------------------------------------------------------------------------- children

def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(argv: list[str]) -> None:
    """One measurement in this fresh process; prints JSON {seconds, peak_mb, ...}."""
    what, rest = argv[0], argv[1:]
    if what == "json_load":
        paths = [Path(p) for p in Path(rest[0]).read_text().split("\n") if p]
        started = time.perf_counter()
        for p in paths:
            with open(p, encoding="utf-8") as fh:
                json.load(fh)
        out = {"seconds": time.perf_counter() - started}
    elif what == "ingest":
        from analysis_kit.store import ingest

        paths = [p for p in Path(rest[0]).read_text().split("\n") if p]
        started = time.perf_counter()
        result = ingest(paths, rest[1], workers=int(rest[2]), progress=False)
        out = {"seconds": time.perf_counter() - started, "runs": result.runs_written,
               "segments": result.segments_written, "failed": len(result.failed)}
    elif what == "query":
        store_dir, engine, name = rest
        from analysis_kit.store import open_store

        store = open_store(store_dir, engine=engine)
        before = peak_mb()
        method, kwargs = QUERIES[name] if name != "open" else (None, None)
        times = []
        for _ in range(2 if method else 0):  # first and second call (DuckDB caches nothing between)
            started = time.perf_counter()
            getattr(store, method)(**kwargs)
            times.append(time.perf_counter() - started)
        out = {"seconds": times[0] if times else 0.0, "second": times[1] if times else 0.0,
               "open_mb": before}
    elif what == "pandas":
        store_dir, source, n = rest[0], rest[1], int(rest[2])
        from analysis_kit import analyses as an, load_runs
        from analysis_kit.store import open_store

        store = open_store(store_dir)
        started = time.perf_counter()
        if source == "load_runs":
            paths = list(store.runs()["path"][:n])
            run = load_runs(paths, progress=False, cache=False)
        else:
            run = store.select(tables=["tasks", "events", "failures"])
        load_s = time.perf_counter() - started
        models = store.runs().set_index("run_id")["run_model"]
        events = run.events.assign(run_model=run.events["run_id"].map(models).astype("string"))
        timed = {}
        for name, call in {
            "summary": lambda: run.summary(),
            "latency_by_kind": lambda: an.latency_stats(run.events, by="kind"),
            "latency_by_model_tool": lambda: an.latency_stats(events, by=["run_model", "tool"]),
            "cost_by_model": lambda: an.cost_by(events, by="run_model"),
            "failures_by_step": lambda: an.failures_by(run.failures, by="step"),
        }.items():
            t0 = time.perf_counter()
            call()
            timed[name] = time.perf_counter() - t0
        out = {"seconds": load_s, "queries": timed, "runs": len(run.run_ids), "events": len(run.events)}
    else:
        raise SystemExit(f"unknown child {what}")
    out["peak_mb"] = peak_mb()
    print(json.dumps(out))


def run_child(*args: str, timeout: float = 7200) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"child {args[:1]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="ingest processes")
    parser.add_argument("--pandas-runs", type=int, default=1000, help="runs loaded with load_runs")
    parser.add_argument("--engines", default="duckdb,dask")
    parser.add_argument("--keep-store", action="store_true", help="reuse the store of a previous run")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()}", flush=True)
    runs_dir = DATA / f"store_runs_{args.runs}"
    paths = generate(args.runs, runs_dir)
    json_mb = sum(p.stat().st_size for p in paths) / 1e6
    listing = DATA / f"store_paths_{args.runs}.txt"
    listing.write_text("\n".join(map(str, paths)))
    store_dir = DATA / f"store_{args.runs}"

    base = run_child("json_load", listing)
    print(f"{args.runs} runs, {json_mb:,.0f} MB of JSON; bare json.load loop {base['seconds']:.1f} s", flush=True)
    if not (args.keep_store and (store_dir / "manifest.json").exists()):
        shutil.rmtree(store_dir, ignore_errors=True)
        ing = run_child("ingest", listing, store_dir, args.workers)
        store_mb = sum(f.stat().st_size for f in store_dir.rglob("*.parquet")) / 1e6
        print(f"ingest ({args.workers} workers): {ing['seconds']:.1f} s = {ing['seconds'] / base['seconds']:.1f}x "
              f"the json.load loop; peak RSS {ing['peak_mb']:.0f} MB (parent; each worker holds one run); "
              f"{ing['runs']} runs in {ing['segments']} segments, {store_mb:,.0f} MB of Parquet "
              f"({store_mb / json_mb:.2f}x the JSON)", flush=True)
    print(f"load average {os.getloadavg()}", flush=True)

    pandas_all = run_child("pandas", store_dir, "select", args.runs)
    pandas_sub = run_child("pandas", store_dir, "load_runs", min(args.pandas_runs, args.runs))
    print(f"pandas path: store.select() of all {pandas_all['runs']} runs (tasks, events, failures: "
          f"{pandas_all['events']:,} events) {pandas_all['seconds']:.1f} s, peak {pandas_all['peak_mb']:.0f} MB; "
          f"load_runs of {pandas_sub['runs']} runs {pandas_sub['seconds']:.1f} s "
          f"(~{pandas_sub['seconds'] * args.runs / pandas_sub['runs']:.0f} s for {args.runs}), "
          f"peak {pandas_sub['peak_mb']:.0f} MB", flush=True)

    opened = {e: run_child("query", store_dir, e, "open") for e in args.engines.split(",")}
    print(f"\n{'query':24} {'engine':7} {'first s':>8} {'second s':>9} {'vs pandas':>10} "
          f"{'peak MB':>8} {'+ over open':>12}  target")
    worst = 0.0
    for name in QUERIES:
        for engine in args.engines.split(","):
            r = run_child("query", store_dir, engine, name)
            pandas_s = pandas_all["queries"].get(name)
            ratio = f"{r['seconds'] / pandas_s:.2f}x" if pandas_s else "-"
            ok = r["seconds"] <= TARGET_S and r["peak_mb"] <= TARGET_MB
            if engine == "duckdb":
                worst = max(worst, r["seconds"])
            print(f"{name:24} {engine:7} {r['seconds']:8.2f} {r['second']:9.2f} {ratio:>10} "
                  f"{r['peak_mb']:8.0f} {r['peak_mb'] - opened[engine]['peak_mb']:12.0f}  "
                  f"{'met' if ok else 'MISSED' if engine == 'duckdb' else '-'}", flush=True)
    print("\n(pandas analysis times on the runs in memory: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in pandas_all["queries"].items()) + ")")
    print("process with the store open, before any query: "
          + ", ".join(f"{e} {o['peak_mb']:.0f} MB" for e, o in opened.items()))
    print(f"load average {os.getloadavg()}")
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        sys.exit(main())
