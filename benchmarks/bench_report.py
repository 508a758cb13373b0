"""Time of the full report (all sections) of one sample run, as a ratio to one papermill run
of an empty notebook on the same kernel, both measured here. Budget: <= 6x.

    .venv/bin/python benchmarks/bench_report.py [--format tau2_results] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 6.0


def _isolate(base: Path) -> None:
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        os.environ.setdefault(var, str(base / var.lower()))
    os.environ.pop("MPLBACKEND", None)


def empty_notebook_s(tmp: Path, kernel: str) -> float:
    """One papermill run of a notebook with a single empty cell: kernel start, run, stop."""
    import nbformat
    import papermill
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell("")])
    nb.metadata.kernelspec = {"name": kernel, "display_name": kernel, "language": "python"}
    path = tmp / "empty.ipynb"
    nbformat.write(nb, path)
    started = time.perf_counter()
    papermill.execute_notebook(str(path), str(tmp / "empty.out.ipynb"), kernel_name=kernel,
                               progress_bar=False, execution_timeout=60)
    return time.perf_counter() - started


def report_s(run_path: Path, out: Path, cache: Path) -> float:
    """The whole report, cold parse cache (the report loads and caches the run itself)."""
    from analysis_kit.report import run_report

    os.environ["ANALYSIS_KIT_CACHE_DIR"] = str(cache)
    started = time.perf_counter()
    result = run_report([run_path], out, progress=False)
    elapsed = time.perf_counter() - started
    if not result.ok:
        sys.exit(f"report failed: {[(s.section, s.error) for s in result.sections if not s.ok]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--format", default="tau2_results", help="which bundled sample run")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from analysis_kit.report.execute import kernel_name
    from analysis_kit.samples import sample_paths, write_samples

    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp_name:
        tmp = Path(tmp_name)
        _isolate(tmp)
        samples = ROOT / "sample_logs"
        if not (samples / "samples.json").exists():
            write_samples(tmp / "samples")
            samples = tmp / "samples"
        run_path = sample_paths(samples)[args.format]
        kernel = kernel_name()
        empty_notebook_s(tmp, kernel)  # warm the disk caches of both measurements alike
        baseline = statistics.median(empty_notebook_s(tmp, kernel) for _ in range(max(3, args.repeat)))
        report = statistics.median(
            report_s(run_path, tmp / f"out{i}", tmp / f"cache{i}") for i in range(args.repeat))
    ratio = report / baseline
    print(f"sample run: {args.format} ({run_path.name}), all sections, jobs=2, kernel {kernel}")
    print(f"empty notebook (papermill): {baseline:.2f} s")
    print(f"full report:                {report:.2f} s")
    print(f"ratio: {ratio:.1f}x (budget {BUDGET:g}x) -> {'OK' if ratio <= BUDGET else 'OVER BUDGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
