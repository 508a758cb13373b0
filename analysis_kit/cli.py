"""The ``analysis-kit`` command: summary, samples, report, ingest."""

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


def _report_options(args: argparse.Namespace) -> dict:
    options = {}
    if args.task_id is not None:
        options["task_id"] = args.task_id
    if args.stall_threshold is not None:
        options["stall_threshold_s"] = args.stall_threshold
    return options


def _print_report(result, label: str) -> None:
    for section in result.sections:
        status = "ok" if section.ok else f"FAILED: {section.error.splitlines()[0] if section.error else ''}"
        print(f"{label}{section.section}: {status}", file=sys.stderr if not section.ok else sys.stdout)
    for path in result.files:
        print(path)


def _cmd_ingest(args: argparse.Namespace) -> int:
    from .store import ingest

    result = ingest(args.paths, args.store, format=args.format, strict=args.strict,
                    workers=args.workers, progress=False if args.no_progress else None)
    print(result)
    for path, error in result.failed:
        print(f"not loaded: {error}", file=sys.stderr)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .exceptions import ParameterError
    from .report import run_report

    if args.store is not None:
        if args.paths:
            raise ParameterError("give run paths or --store DIR, not both")
        from .store.report import write_report

        for path in write_report(args.store, args.out, formats=args.format, redact=not args.no_redact):
            print(path)
        return 0
    if not args.paths:
        raise ParameterError("give run paths, or --store DIR for the report of a run store")
    result = run_report(args.paths, args.out, sections=args.sections, formats=args.format,
                        timeout=args.timeout, jobs=args.jobs, redact=not args.no_redact,
                        options=_report_options(args))
    _print_report(result, "")
    if getattr(args, "massgen", False):
        _write_massgen_reports(args.paths)
    return 0 if result.ok else 1


def _write_massgen_reports(paths: list[str]) -> None:
    """``--massgen``: each MassGen log's ANALYSIS_REPORT.md next to its turn, where
    ``massgen logs list --analyzed`` finds it."""
    from . import load
    from .report.massgen import write_analysis_report

    for path in paths:
        run = load(path)
        if run.meta.get("source_format") != "massgen":
            print(f"--massgen: {path} is not a MassGen log directory; no ANALYSIS_REPORT.md", file=sys.stderr)
            continue
        print(write_analysis_report(run))


def _cmd_report_samples(args: argparse.Namespace) -> int:
    """The report of every bundled sample run, each under OUT/<format>/."""
    from .report import run_report
    from .samples import sample_paths

    failed = 0
    for fmt, path in sample_paths(args.dir).items():
        print(f"== {fmt}: {path}")
        result = run_report([path], Path(args.out) / fmt, sections=args.sections, formats=args.format,
                            timeout=args.timeout, jobs=args.jobs, redact=not args.no_redact)
        _print_report(result, f"{fmt}/")
        failed += not result.ok
    return 0 if not failed else 1


def _add_report_options(p: argparse.ArgumentParser) -> None:
    from .report.parameterize import SECTIONS

    p.add_argument("--out", default="reports", help="output folder (default: reports)")
    p.add_argument("--sections", nargs="+", default=None, metavar="SECTION",
                   help=f"sections to run (default: all): {', '.join(SECTIONS)}")
    p.add_argument("--format", default="md,html", help="md, html or md,html (default)")
    p.add_argument("--timeout", type=float, default=600, help="per-cell timeout in seconds (default 600)")
    p.add_argument("--jobs", type=int, default=2, help="sections run in parallel (default 2)")
    p.add_argument("--no-redact", action="store_true", help="show secrets found in the logs as they are")


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

    p = sub.add_parser("report", help="markdown + HTML report of a run (several runs: compared)")
    p.add_argument("paths", nargs="*", help="run files or directories")
    p.add_argument("--store", default=None, metavar="DIR",
                   help="instead of runs: the Runs report (leaderboard, trends, cost frontier) of a run store")
    _add_report_options(p)
    p.add_argument("--task-id", default=None, help="the task the timeline and transcript show")
    p.add_argument("--massgen", action="store_true",
                   help="also write each MassGen log's turn_N/ANALYSIS_REPORT.md (massgen logs list --analyzed)")
    p.add_argument("--stall-threshold", type=float, default=None, metavar="S",
                   help="seconds without events before a task counts as stalled (default 300)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("ingest", help="add runs to a run store (Parquet, queried by DuckDB or Dask)")
    p.add_argument("paths", nargs="+", help="run files or directories, one run (or series) each")
    p.add_argument("--store", required=True, metavar="DIR", help="the store folder (created if missing)")
    p.add_argument("--format", default=None, help="skip detection and use this format")
    p.add_argument("--workers", type=int, default=None, help="processes parsing runs (default: the cores)")
    p.add_argument("--strict", action="store_true", help="stop at the first run that cannot be loaded")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("report-samples", help="report every bundled sample run, each under OUT/<format>/")
    p.add_argument("dir", nargs="?", default="sample_logs")
    _add_report_options(p)
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
