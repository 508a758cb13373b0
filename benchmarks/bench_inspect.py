"""Loading an Inspect AI log: a whole `ak.load` process vs. one with inspect_ai's own dataframes.

The budget (issue "Inspect AI logs"): a process that runs ``ak.load`` of the log and touches
its tasks, events and messages takes at most 0.2x the time of a process that imports
``inspect_ai.analysis`` and builds ``samples_df``, ``messages_df`` and ``events_df`` of the
same log, and peaks at no more memory. Both formats: the ``.eval`` log and its ``.json`` form.
For scale it also times a bare read of every sample (members decompressed and ``json.loads``
for ``.eval``; ``json.load`` for ``.json``) inside this process.

The log is written by inspect-ai itself (``tests/writers/inspect_logs.py``, N samples of a
ReAct agent with a tool call, an approval and a submit, on mockllm) once into
``benchmarks/_data/inspect_<N>/`` and reused. Both processes run offline with the same
environment; times and peak RSS are each child's own (``os.wait4``), medians of interleaved
repeats so a busy machine slows both alike.

    .venv/bin/python benchmarks/bench_inspect.py [--samples 1000] [--repeat 3] [--baseline-repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.writers.inspect_logs import generate, offline_environment  # noqa: E402

TIME_BUDGET = 0.2
MEMORY_BUDGET = 1.0

KIT = """
import sys, analysis_kit as ak
run = ak.load(sys.argv[1], cache=False)
print(len(run.tasks), len(run.events), len(run.messages), len(run.problems))
"""
INSPECT = """
import sys
from inspect_ai.analysis import events_df, messages_df, samples_df
print(len(samples_df(sys.argv[1])), len(events_df(sys.argv[1])), len(messages_df(sys.argv[1])))
"""


def run_child(code: str, path: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB, the child's own rusage) and output of a process running
    ``code`` on ``path``."""
    with tempfile.TemporaryDirectory() as tmp:
        out, err = os.path.join(tmp, "out"), os.path.join(tmp, "err")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        start = time.perf_counter()
        pid = os.posix_spawn(sys.executable, [sys.executable, "-c", code, str(path)], env,
                             file_actions=[(os.POSIX_SPAWN_OPEN, 1, out, flags, 0o644),
                                           (os.POSIX_SPAWN_OPEN, 2, err, flags, 0o644)])
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"child failed: {Path(err).read_text()[-2000:]}")
        return elapsed, usage.ru_maxrss / 1024, Path(out).read_text().strip()


def bare_read(path: Path) -> float:
    """Seconds to decompress and parse every sample of the log in this process."""
    start = time.perf_counter()
    if path.suffix == ".eval":
        from analysis_kit.loaders._zip import ZipArchive

        with ZipArchive(path) as archive:
            for name in archive.names():
                if name.startswith("samples/"):
                    json.loads(archive.read(name))
    else:
        with open(path, "rb") as fh:
            json.load(fh)
    return time.perf_counter() - start


def measure(path: Path, env: dict[str, str], repeat: int, baseline_repeat: int) -> dict[str, float]:
    kit, inspect = [], []
    for i in range(max(repeat, baseline_repeat)):  # interleaved
        if i < baseline_repeat:
            inspect.append(run_child(INSPECT, path, env))
        if i < repeat:
            kit.append(run_child(KIT, path, env))
    figures = {
        "kit_s": statistics.median(t for t, _, _ in kit),
        "kit_mb": max(m for _, m, _ in kit),
        "inspect_s": statistics.median(t for t, _, _ in inspect),
        "inspect_mb": max(m for _, m, _ in inspect),
        "bare_s": statistics.median(bare_read(path) for _ in range(3)),
    }
    figures["time_ratio"] = figures["kit_s"] / figures["inspect_s"]
    figures["memory_ratio"] = figures["kit_mb"] / figures["inspect_mb"]
    print(f"  ak.load rows (tasks events messages problems): {kit[0][2]}; "
          f"inspect_ai rows (samples events messages): {inspect[0][2]}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="ak.load processes per format")
    parser.add_argument("--baseline-repeat", type=int, default=2, help="inspect_ai processes per format")
    args = parser.parse_args(argv)
    data = ROOT / "benchmarks" / "_data" / f"inspect_{args.samples}"
    paths = {fmt: next(iter(sorted(data.glob(f"*_toolbox_model.{fmt}"))), None) for fmt in ("eval", "json")}
    if not all(paths.values()):
        print(f"writing the {args.samples}-sample log with inspect-ai into {data} (minutes) ...", flush=True)
        paths = generate(data, kind="benchmark", samples=args.samples, timeout_s=3600)
    env = offline_environment(data / ".home")
    env["ANALYSIS_KIT_CACHE_DIR"] = "off"
    env["PYTHONPATH"] = str(ROOT)
    ok = True
    for fmt, path in paths.items():
        print(f"{fmt}: {path.name}, {path.stat().st_size / 1e6:.1f} MB", flush=True)
        f = measure(path, env, args.repeat, args.baseline_repeat)
        met = f["time_ratio"] <= TIME_BUDGET and f["memory_ratio"] <= MEMORY_BUDGET
        ok &= met
        print(f"  ak.load process {f['kit_s']:.2f} s, peak {f['kit_mb']:.0f} MB; inspect_ai.analysis "
              f"process {f['inspect_s']:.2f} s, peak {f['inspect_mb']:.0f} MB; bare read in-process "
              f"{f['bare_s']:.2f} s")
        print(f"  time ratio {f['time_ratio']:.3f}x (budget {TIME_BUDGET}x), memory ratio "
              f"{f['memory_ratio']:.2f}x (budget {MEMORY_BUDGET}x): {'OK' if met else 'OVER BUDGET'}",
              flush=True)
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
