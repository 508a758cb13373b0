"""The ``analysis-kit`` command: summary, samples, report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .exceptions import AnalysisKitError


def _cmd_summary(args: argparse.Namespace) -> int:
    import pandas as pd

    from . import load, load_runs

    run = load(args.paths[0], format=args.format) if len(args.paths) == 1 else load_runs(args.paths, format=args.format)
    table = run.summary()
    with pd.option_context("display.max_columns", None, "display.width", 200):
        print(table.to_string(index=False))
    if args.problems and len(run.problems):
        print()
        print(run.problems[["file", "line", "reason"]].to_string(index=False))
    return 0


def _cmd_samples(args: argparse.Namespace) -> int:
    from .samples import write_samples

    written = write_samples(args.dir, seed=args.seed, size=args.size, clean=args.clean,
                            formats=args.formats)
    for path in written:
        print(path)
    return 0


def sample_run_paths(directory: str | Path) -> list[Path]:
    """The runs bundled under ``directory``, one per format, from its samples.json index."""
    from .samples import sample_paths

    return list(sample_paths(directory).values())


def _cmd_report_samples(args: argparse.Namespace) -> int:
    from . import load

    for path in sample_run_paths(args.dir):
        run = load(path)
        print(f"== {path}")
        print(run.summary().to_string(index=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="analysis-kit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("summary", help="print a one-row-per-run summary of runs")
    p.add_argument("paths", nargs="+", help="run files or directories")
    p.add_argument("--format", default=None, help="skip detection and use this format")
    p.add_argument("--problems", action="store_true", help="also list the input problems")
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser("samples", help="write generated sample runs of every format")
    p.add_argument("dir")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--size", type=int, default=1, help="scale factor (1 = the bundled size)")
    p.add_argument("--formats", nargs="*", default=None)
    p.add_argument("--clean", action="store_true", help="remove the formats' old folders first")
    p.set_defaults(func=_cmd_samples)

    p = sub.add_parser("report-samples", help="report every bundled sample run")
    p.add_argument("dir", nargs="?", default="sample_logs")
    p.add_argument("--out", default="reports")
    p.set_defaults(func=_cmd_report_samples)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AnalysisKitError as exc:
        print(f"analysis-kit: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
