"""The ``analysis-kit`` command: summary, report, ingest, lab, notebooks, samples.

A run has the same id in every command: each path is loaded on its own and several runs are
put together as ``load_runs`` does (a second run named ``r`` is ``r#2``), in ``summary``
and in ``report`` alike.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .exceptions import AnalysisKitError, ParameterError


# ----------------------------------------------------------------------------- options

def parse_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> (key, value); VALUE is read as JSON when it is JSON (``2``,
    ``true``, ``"2"``, ``[1, 2]``), else kept as text.

    >>> parse_option("turn=2"), parse_option("name=abc"), parse_option('id="7"')
    (('turn', 2), ('name', 'abc'), ('id', '7'))
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise ParameterError(f"--option wants KEY=VALUE with KEY a name, e.g. --option turn=2; got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def load_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--option`` flags as a dict (a key given twice keeps the last value)."""
    return dict(parse_option(item) for item in (getattr(args, "option", None) or []))


# ----------------------------------------------------------------------------- summary

def load_each(paths: list[str], *, format: str | None = None, options: dict[str, Any] | None = None):
    """Load each path on its own: (the runs that loaded, put together as ``load_runs``
    would; [(path, reason)] of those that did not)."""
    from . import load
    from .model import concat_runs

    runs, failed = [], []
    for path in paths:
        try:
            runs.append(load(path, format=format, **(options or {})))
        except AnalysisKitError as exc:
            failed.append((path, str(exc)))
        except OSError as exc:
            failed.append((path, f"{type(exc).__name__}: {exc}"))
    if not runs:
        return None, failed
    return (runs[0] if len(runs) == 1 else concat_runs(runs)), failed


def summary_text(table) -> str:
    """The summary table aligned, every number written the kit's way (formatting module)."""
    from tabulate import tabulate

    from . import formatting

    headers, rows, numeric = formatting.rows_as_text(table)
    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True,
                    colalign=["right" if n else "left" for n in numeric])


def _json_value(value: Any, column: str) -> Any:
    """A raw table value for JSON: NA as null, times as ISO text, whole counts as ints."""
    from . import formatting

    if formatting.missing(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and formatting.column_format(column) == "count":
        return int(value)
    return value


def _cmd_summary(args: argparse.Namespace) -> int:
    run, failed = load_each(args.paths, format=args.format, options=load_options(args))
    if run is not None:
        table = run.summary()
        if args.json:
            records = [{k: _json_value(v, k) for k, v in row.items()} for row in table.to_dict(orient="records")]
            print(json.dumps(records, indent=2, ensure_ascii=False))
        elif args.csv:
            table.to_csv(sys.stdout, index=False)
        else:
            print(summary_text(table))
        if args.problems and len(run.problems) and not (args.json or args.csv):
            print()
            print(summary_text(run.problems[["run_id", "file", "line", "reason"]]))
    if failed:
        print(f"analysis-kit: {len(failed)} of {len(args.paths)} paths did not load:", file=sys.stderr)
        for path, reason in failed:
            print(f"  {reason if reason.startswith(str(path)) else f'{path}: {reason}'}", file=sys.stderr)
        return 2 if run is None else 1
    return 0


# ----------------------------------------------------------------------------- samples

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


# ----------------------------------------------------------------------------- report

def _report_options(args: argparse.Namespace) -> dict:
    options = {}
    if getattr(args, "task_id", None) is not None:
        options["task_id"] = args.task_id
    if getattr(args, "stall_threshold", None) is not None:
        options["stall_threshold_s"] = args.stall_threshold
    return options


def _print_report(result, label: str) -> None:
    for section in result.sections:
        if not section.ran:
            status = f"left out: {section.skipped}"
        elif section.ok:
            status = "ok"
        else:
            status = f"FAILED: {section.error.splitlines()[0] if section.error else ''}"
        print(f"{label}{section.section}: {status}", file=sys.stderr if section.ran and not section.ok else sys.stdout)
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
        return _report_store(args)
    if not args.paths:
        raise ParameterError("give run paths, or --store DIR for the report of a run store")
    if args.where is not None:
        raise ParameterError("--where chooses the runs of a run store: give it with --store DIR")
    result = run_report(args.paths, args.out, sections=args.sections, formats=args.format,
                        timeout=args.timeout, jobs=args.jobs, redact=not args.no_redact,
                        options=_report_options(args), load_options=load_options(args))
    _print_report(result, "")
    if getattr(args, "massgen", False):
        _write_massgen_reports(args.paths)
    return 0 if result.ok else 1


def _report_store(args: argparse.Namespace) -> int:
    """``report --store DIR``: the store's sections (Runs) through the same notebooks,
    papermill and nbconvert as a run's."""
    from .exceptions import ParameterError
    from .report.runner import run_store_report

    if args.paths:
        raise ParameterError("give run paths or --store DIR, not both")
    if args.option or args.massgen:
        raise ParameterError(f"{'--option' if args.option else '--massgen'} is for run reports, not --store")
    result = run_store_report(args.store, args.out, sections=args.sections, where=args.where,
                              formats=args.format, timeout=args.timeout, redact=not args.no_redact,
                              options=_report_options(args))
    _print_report(result, "")
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


# ----------------------------------------------------------------------------- notebooks, lab

def _cmd_notebooks(args: argparse.Namespace) -> int:
    from .report.notebooks import write_notebooks

    for path in write_notebooks(args.dir, overwrite=True):
        print(path)
    return 0


def prepare_lab(directory: str | os.PathLike, *, refresh: bool = False) -> tuple[list[Path], dict[str, str]]:
    """Write the kit's notebooks into ``directory`` (keeping ones already there unless
    ``refresh``) and a kernelspec ``analysis-kit`` running this interpreter into
    ``directory/.analysis-kit/kernels``; return (the notebooks, the environment for
    JupyterLab: that kernels folder first on ``JUPYTER_PATH``). Nothing is registered
    outside ``directory``.

    >>> notebooks, env = prepare_lab("/tmp/my-analysis")       # doctest: +SKIP
    """
    from .report.execute import NOTEBOOK_KERNEL, kernel_argv
    from .report.notebooks import KERNELSPEC, write_notebooks

    folder = Path(directory).expanduser().resolve()
    notebooks = write_notebooks(folder, overwrite=refresh)
    data = folder / ".analysis-kit"
    spec_dir = data / "kernels" / NOTEBOOK_KERNEL
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": kernel_argv(), "display_name": KERNELSPEC["display_name"], "language": "python",
            "metadata": {"debugger": True}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join([str(data)] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    return notebooks, env


def lab_command(directory: str | os.PathLike, extra: list[str] | None = None) -> list[str]:
    """The JupyterLab command ``analysis-kit lab`` runs (this interpreter's jupyterlab)."""
    return [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={Path(directory).expanduser().resolve()}",
            *(extra or [])]


def _cmd_lab(args: argparse.Namespace) -> int:
    import subprocess

    notebooks, env = prepare_lab(args.dir, refresh=args.refresh)
    print(f"notebooks in {Path(args.dir).resolve()}: {', '.join(p.name for p in notebooks)}")
    if args.samples:
        env["ANALYSIS_KIT_SAMPLES"] = str(Path(args.samples).resolve())
    if args.prepare_only:
        return 0
    extra = [a for a in (args.jupyter_args or []) if a != "--"]
    command = lab_command(args.dir, extra)
    if os.name == "posix":  # become JupyterLab: Ctrl-C and a terminating signal reach it, no orphan server
        sys.stdout.flush()
        os.chdir(Path(args.dir).resolve())
        os.execve(command[0], command, env)
    return subprocess.call(command, env=env, cwd=str(Path(args.dir).resolve()))


# ----------------------------------------------------------------------------- parser

def _add_report_options(p: argparse.ArgumentParser) -> None:
    from .report.sections import names

    p.add_argument("--out", default="reports", help="output folder (default: reports)")
    p.add_argument("--sections", nargs="+", default=None, metavar="SECTION",
                   help=f"sections to run (default: all): {', '.join(names())}; "
                        f"of a store (--store): {', '.join(names('store'))}")
    p.add_argument("--format", default="md,html", help="md, html or md,html (default)")
    p.add_argument("--timeout", type=float, default=600, help="per-cell timeout in seconds (default 600)")
    p.add_argument("--jobs", type=int, default=2, help="sections run in parallel (default 2)")
    p.add_argument("--no-redact", action="store_true", help="show secrets found in the logs as they are")


def _add_load_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="an option for the loader, e.g. --option turn=2 (repeatable; VALUE read as JSON "
                        "when it is JSON); the loader rejects an option it does not know")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="analysis-kit", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("summary", help="print a one-row-per-run summary of runs")
    p.add_argument("paths", nargs="+", help="run files or directories")
    p.add_argument("--format", default=None, help="skip detection and use this format")
    p.add_argument("--problems", action="store_true", help="also list the input problems")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="the table as JSON records (raw values)")
    out.add_argument("--csv", action="store_true", help="the table as CSV (raw values)")
    _add_load_option(p)
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser("report", help="markdown + HTML report of a run (several runs: compared)")
    p.add_argument("paths", nargs="*", help="run files or directories")
    p.add_argument("--store", default=None, metavar="DIR",
                   help="instead of runs: the Runs report (leaderboard, trends, cost frontier) of a run store")
    p.add_argument("--where", default=None, metavar="SQL",
                   help="with --store: the runs to report, a DuckDB condition on the runs table "
                        "(e.g. \"run_model = 'gpt-4.1'\")")
    _add_report_options(p)
    _add_load_option(p)
    p.add_argument("--task-id", default=None, help="the task the timeline, span tree and transcript show")
    p.add_argument("--massgen", action="store_true",
                   help="also write each MassGen log's turn_N/ANALYSIS_REPORT.md (massgen logs list --analyzed)")
    p.add_argument("--stall-threshold", type=float, default=None, metavar="S",
                   help="seconds without events before a task counts as stalled (default 300)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("lab", help="open JupyterLab on a copy of the kit's notebooks in DIR, with the kit's kernel",
                       description="Open JupyterLab on a copy of the kit's notebooks in DIR, with the kit's "
                                   "kernel. Other arguments (e.g. --no-browser, --port=8890) go to jupyter lab.")
    p.add_argument("dir", help="the folder for the notebooks (created if absent; notebooks there are kept)")
    p.add_argument("--refresh", action="store_true", help="overwrite notebooks already in DIR with the kit's")
    p.add_argument("--samples", default=None, metavar="DIR",
                   help="sample runs the notebooks open by default (default: generated once into the cache)")
    p.add_argument("--prepare-only", action="store_true", help="write the notebooks and kernel, start nothing")
    p.set_defaults(func=_cmd_lab, jupyter_args=[])

    p = sub.add_parser("notebooks", help="write the section notebooks (and explore.ipynb) into DIR")
    p.add_argument("dir")
    p.set_defaults(func=_cmd_notebooks)

    p = sub.add_parser("samples", help="write generated sample runs of every format")
    p.add_argument("dir")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--size", type=int, default=1, help="scale factor (1 = the bundled size)")
    p.add_argument("--formats", nargs="*", default=None)
    p.add_argument("--clean", action="store_true", help="remove the formats' old folders first")
    p.set_defaults(func=_cmd_samples)

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
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":  # only lab passes arguments on (to jupyter lab)
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "lab":
        args.jupyter_args = extra
    try:
        return int(args.func(args) or 0)
    except AnalysisKitError as exc:
        print(f"analysis-kit: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
