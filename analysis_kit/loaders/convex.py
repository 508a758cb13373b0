"""convex-evals: failure-analysis reports, failure summaries and guideline validation results.

Three inputs, all written around get-convex/convex-evals, read by the modules beside this one:

- the markdown reports of its analyze-run skill, ``reports/{provider}/{model}/{runId8}_{date}.md``
  (``_convex_report``: each fact looked for wherever the LLM put it). They list only the failed
  evals (each with a classification MODEL_FAULT, OVERLY_STRICT, AMBIGUOUS_TASK or KNOWN_GAP),
  so the totals come from the pass rate and go to ``meta`` ``tasks_total`` / ``tasks_passed``;
  what a report does not say is a problem row ("no pass rate found", "no run id found", ...);
- the failure summary JSON of ``debugQueries:getFailedEvalsForRun`` and the JSON results of
  ``bun run validate:guidelines`` (``_convex_json``; the latter loads as a "before" and an
  "after" run per model, so ``compare`` can set them side by side).

This module detects them, loads a file or a tree (every such file under a directory, one run
each, in date order) and registers the format.

>>> import analysis_kit as ak                                          # doctest: +SKIP
>>> runs = ak.load("../shared/real_logs/convex_evals/reports")         # doctest: +SKIP
>>> runs.failures.groupby(["run_id", "classification"]).size()        # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import LoadError
from ..model import Problems, Run, concat_runs
from . import _convex_words as words
from ._columns import Table
from ._read import head, read_text, sniffed
from ._registry import Format, register
from ._values import Where, to_utc
from ._convex_json import TASK_TYPES, frame_with, load_json
from ._convex_report import Failure, ReportReader
from ._convex_words import BENCHMARK, FORMAT, REPORT_STEM, STEPS  # noqa: F401  (STEPS: the vocabulary)

SNIFF_BYTES = 64 * 1024
REPORT_SUFFIXES = (".md", ".markdown")
FAILURE_TYPES = {**TASK_TYPES, "name": "str", "tests_passed_pct": "float", "classification_note": "str",
                 "file": "str", "line": "int"}


# ---------------------------------------------------------------------------- detection

def _head(path: Path) -> str:
    return head(path, SNIFF_BYTES).decode("utf-8", "replace")


def _looks_like_report(path: Path, text: str) -> bool:
    if "reports" in path.parts[:-1] or REPORT_STEM.match(path.stem):
        return True
    head = text[:4000].lower()
    if "run analysis" in head:
        return True
    classified = "classification" in text.lower() or re.search(words.CLASS_WORD, text, re.I)
    named = "eval" in head or "convex" in head or re.search(rf"{words.EVAL_ID}/{words.EVAL_ID}", head)
    return bool(classified and named)


def _sniff_file(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = _head(path)
        return ('"failedEvals"' in text or '"totalEvals"' in text) or (
            '"beforePath"' in text and '"afterPath"' in text and '"models"' in text)
    return suffix in REPORT_SUFFIXES and _looks_like_report(path, _head(path))


def sniff(path: Path) -> bool:
    """True for a report .md, a failure summary or guideline validation .json, or a tree of them.

    >>> sniff(Path("/nonexistent.txt"))
    False
    """
    return sniffed(path, _sniff_file, _sniff_tree)


def _sniff_tree(path: Path) -> bool:
    # A report tree is reports/{provider}/{model}/*.md: look at most three levels down.
    return any(candidate.is_file() and _sniff_file(candidate)
               for pattern in ("*", "*/*", "*/*/*", "reports/*/*/*")
               for candidate in itertools.islice(path.glob(pattern), 200))


# ---------------------------------------------------------------------------- a report

def _path_identity(path: Path) -> tuple[str | None, str | None]:
    """(provider, model) from ``reports/{provider}/{model}/{file}``, else (None, None)."""
    parts = path.parts
    if "reports" in parts[:-1]:
        rel = parts[len(parts) - parts[::-1].index("reports"):]
        return (rel[0], rel[1]) if len(rel) == 3 else (None, None)
    if REPORT_STEM.match(path.stem) and len(parts) >= 3:
        return parts[-3], parts[-2]
    return None, None


def _pass_counts(reader: ReportReader) -> tuple[int | None, int | None, str | None, int | None]:
    """(passed, total, percentage text, failed count) from wherever the report gives them."""
    fact = {k: v for k, (v, _) in reader.facts.items()}
    passed, total, pct = words.parse_rate(fact.get("pass_rate"))
    given = words.parse_rate(fact.get("passed"))
    if passed is None:
        passed, total = (given[0], given[1]) if given[1] else (words.count(fact.get("passed")), total)
    total = total if total is not None else words.count(fact.get("total"))
    failed = words.count(fact.get("failed"))
    if passed is None and total is not None and failed is not None:
        passed = total - failed
    if total is None and passed is not None and failed is not None:
        total = passed + failed
    pct = pct or given[2]
    if (passed is None or total is None) and pct is None:
        passed, total, pct = _pass_sentence(reader)
    if (passed is None or total is None) and pct:
        passed, total = words.counts_from_percent(pct, total, failed) or (None, None)
    return passed, total, pct, failed


def _pass_sentence(reader: ReportReader) -> tuple[int | None, int | None, str | None]:
    lines = ([reader.doc.title] if reader.doc.title else []) + [line for _, line in reader.free_lines]
    for line in lines:
        for pattern in words.RATE_SENTENCES:
            match = pattern.search(words.plain(line))
            if match and "pct" in pattern.groupindex:
                return None, None, match["pct"]
            if match:
                return int(match["p"]), int(match["t"]), None
    return None, None, None


def _run_id(reader: ReportReader) -> str | None:
    """The Convex run id: a run id field, a run URL, or an id in the text before the failures."""
    if "run_id" in reader.facts:
        return words.run_token(reader.facts["run_id"][0])
    first_failure = min((f.line for f in reader.failures), default=None)
    head = [line for number, line in reader.free_lines if first_failure is None or number < first_failure]
    for pattern in (words.RUN_URL, words.CONVEX_ID):
        for line in (reader.doc.title or "", *head):
            match = pattern.search(line)
            if match:
                return match.group(match.lastindex or 0)
    return None


def _report_meta(path: Path, reader: ReportReader, where: Where, counts: tuple) -> dict[str, Any]:
    fact = {k: v for k, (v, _) in reader.facts.items()}
    path_provider, path_model = _path_identity(path)
    model_reported, paren_provider, formatted = words.model_and_provider(fact.get("model"))
    provider_reported = words.clean(fact.get("provider")) or paren_provider
    title = reader.doc.title or ""
    if model_reported is None and ":" in title:  # "# Run Analysis: claude-opus-4-6"
        model_reported = words.model_and_provider(title.split(":", 1)[1])[0]
    stem = REPORT_STEM.match(path.stem)
    date = next((m.group(0) for m in (words.DATE.search(t or "") for t in (fact.get("date"), title)) if m),
                stem["date"] if stem else None)
    model, convex_id = path_model or model_reported, _run_id(reader)
    passed, total, pct, failed = counts
    meta: dict[str, Any] = {
        "run_id": f"{path_provider}/{path_model}/{path.stem}" if path_provider else path.stem,
        "source_format": FORMAT, "path": str(path), "benchmark": BENCHMARK, "domain": None,
        "models": [model] if model else [], "model": model,
        "provider": path_provider or provider_reported, "model_reported": model_reported,
        "provider_reported": provider_reported,
        "formatted_name": fact.get("formatted_name") or formatted,
        "experiment": (words.plain(fact.get("experiment")).split(" ") or [None])[0] or None,
        "status": words.clean(fact.get("status")), "convex_run_id": convex_id, "date": date,
        "started": to_utc(date), "ended": None, "duration_s": words.duration_s(fact.get("duration")),
        "note": fact.get("note"), "failed_by_step": dict(reader.failed_by_step),
        "failures_listed": len(reader.failures),
        "tasks_partial": True,  # a report lists only failures: without its totals the rate is unknown
    }
    if passed is not None and total is not None:
        meta.update(tasks_total=total, tasks_passed=passed, tasks_failed=total - passed)
    elif failed is not None:
        meta["tasks_failed"] = failed
    if pct is not None:
        meta["pass_rate_reported"] = round(float(pct) / 100, 6)
    missing = _report_problems(reader, where, meta, pct, stem["prefix"] if stem else None)
    if missing:
        meta["missing_header"] = missing
    return meta


def _report_problems(reader: ReportReader, where: Where, meta: dict, pct: str | None,
                     prefix: str | None) -> list[str]:
    """A problem row for each fact the report does not state, or states against itself; the
    names of the facts missing."""
    missing = []
    line = reader.facts.get("pass_rate", (None, None))[1]
    if "tasks_total" in meta and pct is not None and meta["tasks_total"]:
        # Written rounded or cut to its decimals: off by more than one last digit is an error.
        exact = 100 * meta["tasks_passed"] / meta["tasks_total"]
        if abs(exact - float(pct)) > 10 ** -len(pct.partition(".")[2]) + 1e-9:
            where.at(line).problem(f"the pass rate {meta['tasks_passed']}/{meta['tasks_total']} is "
                                   f"{exact:.1f}%, not {pct}% as written")
    if "tasks_total" not in meta:
        if pct is not None:
            where.at(line).problem(f"no eval counts found: the pass rate is given only as {pct}%")
        else:
            missing.append("pass rate")
            where.problem("no pass rate found")
    for name, found in (("model", meta["model"]), ("run id", meta["convex_run_id"] or prefix)):
        if not found:
            missing.append(name)
            where.problem(f"no {name} found")
    convex_id = meta["convex_run_id"]
    if convex_id and prefix and not convex_id.startswith(prefix):
        where.problem(f"the run id {convex_id} does not start with the file name's prefix {prefix}")
    if not reader.failures and meta.get("tasks_passed") != meta.get("tasks_total"):
        where.problem("no failures found")
    for what, lacking in (("classification", [f for f in reader.failures if f.classification is None
                                                and not f.unknown_class]),
                          ("failed step", [f for f in reader.failures if f.step is None])):
        if lacking:
            where.at(lacking[0].line).problem(f"no {what} found for {len(lacking)} of "
                                              f"{len(reader.failures)} failures",
                                              ", ".join(str(f.task_id) for f in lacking))
    return missing


def _tables(failures: list[Failure], path: Path, where: Where) -> tuple[pd.DataFrame, pd.DataFrame]:
    tasks, rows = Table("tasks", TASK_TYPES), Table("failures", FAILURE_TYPES)
    for f in failures:
        at = where.at(f.line)
        rows.append(at, task_id=f.task_id, category=f.category, step=f.step, error=f.error,
                    classification=f.classification, reasoning=f.reasoning, name=f.name,
                    tests_passed_pct=f.tests_passed_pct, classification_note=f.classification_note,
                    file=str(path), line=f.line)
        tasks.append(at, task_id=f.task_id, status="failure", success=False, error=f.error,
                     category=f.category, step=f.step)
    return frame_with(tasks, TASK_TYPES), frame_with(rows, FAILURE_TYPES)


def load_report(path: Path, problems: Problems) -> Run | None:
    """One report .md as a Run, or None (with a problem row) when it holds no report."""
    text = read_text(path, problems)
    if text is None:
        return None
    reader = ReportReader(path, text, problems).read()
    counts = _pass_counts(reader)
    if not reader.failures and counts[1] is None and counts[2] is None:
        problems.add(path, None, "no pass rate and no failures: not a convex-evals run report", text[:200])
        return None
    where = Where(problems, path)
    meta = _report_meta(path, reader, where, counts)
    tasks, failures = _tables(reader.failures, path, where)
    return Run(meta=meta, tasks=tasks, failures=failures, problems=problems.frame())


# ---------------------------------------------------------------------------- files and trees

def _load_file(path: Path, strict: bool) -> tuple[list[Run], Problems]:
    problems = Problems(strict)
    if path.suffix.lower() == ".json":
        return load_json(path, problems), problems
    run = load_report(path, problems)
    return ([run] if run is not None else []), problems


def _sort_key(run: Run) -> pd.Timestamp:
    """Date order; the sort is stable, so runs of one date keep path (and file) order."""
    started = run.meta.get("started")
    return pd.Timestamp.max.tz_localize("UTC") if started is None or pd.isna(started) else pd.Timestamp(started)


def _load_tree(directory: Path, strict: bool) -> Run:
    runs: list[Run] = []
    leftover = Problems(strict)
    files = [p for p in sorted(directory.rglob("*")) if p.is_file()
             and p.suffix.lower() in (".json", *REPORT_SUFFIXES) and _sniff_file(p)]
    for path in files:
        try:
            loaded, problems = _load_file(path, strict)
        except LoadError as exc:
            if strict:
                raise
            leftover.add(exc.file or path, exc.line, exc.reason, "")
            continue
        if not loaded:
            leftover.extend(problems.frame())
        runs.extend(loaded)
    if not runs:
        detail = f"; {leftover.rows[0]['file']}: {leftover.rows[0]['reason']}" if leftover.rows else ""
        raise LoadError(f"no convex-evals reports or failure summaries under this directory{detail}",
                        file=str(directory))
    runs.sort(key=_sort_key)
    if leftover.rows:
        # Files that gave no run still show up: their problems go with the first run.
        first = runs[0]
        merged = pd.concat([first.problems, leftover.frame(first.run_id)], ignore_index=True)
        runs[0] = Run(meta=first.meta, tasks=first.tasks, failures=first.failures, problems=merged)
    return concat_runs(runs)


def load(path: Path, *, strict: bool = False) -> Run:
    """Load a report, a failure summary JSON, guideline validation results, or a tree of them.

    A single report gives one run; a tree gives one run per report in date order (run ids
    ``{provider}/{model}/{runId8}_{date}``); guideline validation gives a before and an
    after run per model. With ``strict`` the first unusable row raises :class:`LoadError`.

    >>> run = load(Path("reports/anthropic/claude-opus-4-6/jn72t14a_2026-02-06.md"))  # doctest: +SKIP
    >>> run.meta["tasks_passed"], run.meta["tasks_total"], len(run.failures)          # doctest: +SKIP
    (55, 66, 10)
    """
    path = Path(path)
    if path.is_dir():
        return _load_tree(path, strict)
    if not path.is_file():
        raise LoadError("no such file", file=str(path))
    runs, problems = _load_file(path, strict)
    if not runs:
        first = problems.rows[0] if problems.rows else {"reason": "not a convex-evals run report", "line": None}
        raise LoadError(first["reason"], file=str(path), line=first["line"])
    runs.sort(key=_sort_key)
    return runs[0] if len(runs) == 1 else concat_runs(runs)


SPEC = register(Format(
    name=FORMAT, sniff=sniff, load=load, cacheable=False, priority=50,
    samples={"convex": "analysis_kit.samples.convex:write"},
    description="convex-evals failure summaries and analysis reports"))
