"""Run every benchmark in turn (quick sizes unless --full), printing each one's figures.

    .venv/bin/python benchmarks/run_all.py          # quick: minutes
    .venv/bin/python benchmarks/run_all.py --full   # the sizes benchmarks/README.md reports
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK = {
    "bench_profile_load.py": ["--lines", "500000"],
    "bench_tau2_results.py": [],
    "bench_widgets.py": [],
    "bench_report.py": [],
    "bench_inspect.py": ["--samples", "200", "--repeat", "2", "--baseline-repeat", "1"],
    "bench_many_runs.py": ["--runs", "500"],
}


def main(argv: list[str]) -> int:
    full = "--full" in argv
    failed = []
    for script, quick_args in QUICK.items():
        args = [] if full else quick_args
        print(f"== {script} {' '.join(args)}", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *args]).returncode != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
