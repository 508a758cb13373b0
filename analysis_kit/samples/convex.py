"""A sample convex-evals report series and failure summary, shaped like the real ones.

Writes ``reports/{provider}/{model}/{runId8}_{date}.md``: three reports of one model on
consecutive dates, each in a different real layout (a heading per failure with a
``**Classification**:`` line; the "Eval | Failed step | Classification | One-line reasoning"
table plus details; a metadata table with ``- **Classification:**`` bullets under category
headings). Some evals fail in all three reports and some in two consecutive ones, so
recurring failures can be computed. Beside ``reports/`` it writes the
``getFailedEvalsForRun`` summary of the last run as ``failures_<runId>.json``. Every report
has failures at every step and of every classification; reasoning and errors carry the
hostile snippets (markdown, HTML, ``<script>``, ``<img onerror>``, ANSI, a fake secret).

>>> from analysis_kit.samples import convex                  # doctest: +SKIP
>>> convex.write("/tmp/s", seed=7, size=1)                     # doctest: +SKIP
PosixPath('/tmp/s/reports')
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from . import HOSTILE_SNIPPETS

PROVIDER, MODEL = "anthropic", "claude-sample-4-5"
CATEGORIES = ("000-fundamentals", "001-data_modeling", "002-queries", "003-mutations",
              "004-actions", "005-idioms", "006-clients")
WORDS = ("crons", "http_endpoint", "pagination", "schema_evolution", "helper_fns", "no_storage",
         "use_query", "cascade_delete", "node", "batch_queries", "returns_validator", "literals")
STEPS = ("filesystem", "install", "deploy", "tsc", "eslint", "tests")
CLASSES = ("MODEL_FAULT", "OVERLY_STRICT", "AMBIGUOUS_TASK", "KNOWN_GAP")
REASONS = {"filesystem": "filesystem fail", "install": "install fail", "deploy": "convex dev fail",
           "tsc": "tsc fail", "eslint": "eslint fail", "tests": "tests fail"}
FIRST_DATE = date(2026, 3, 2)


@dataclass
class Failure:
    eval_path: str
    step: str
    classification: str
    error: str
    reasoning: str
    tests_pct: int | None = None

    @property
    def category(self) -> str:
        return self.eval_path.split("/")[0]

    @property
    def name(self) -> str:
        return self.eval_path.split("/")[1]


def _one_line(text: str) -> str:
    return text.replace("\n", " ")


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


def _evals(rng: random.Random, size: int) -> list[str]:
    per_category = 2 + size
    paths = []
    for category in CATEGORIES:
        words = rng.sample(WORDS, per_category) if per_category <= len(WORDS) else [
            f"{rng.choice(WORDS)}_{i}" for i in range(per_category)]
        paths += [f"{category}/{i:03d}-{word}" for i, word in enumerate(words)]
    return paths


def _failing_sets(rng: random.Random, evals: list[str], size: int) -> list[list[str]]:
    """Which evals fail in each of the three reports: 4 in all, 2 in reports 1-2, 2 in 2-3."""
    pool = rng.sample(evals, len(evals))
    always, first_two, last_two = pool[:4], pool[4:6], pool[6:8]
    rest = pool[8:]
    per_report, offset = 8 + size, 0
    sets = []
    for pair in ([*first_two], [*first_two, *last_two], [*last_two]):
        count = per_report - len(always) - len(pair)
        sets.append(sorted(always + pair + rest[offset: offset + count]))  # singles: disjoint
        offset += count
    return sets


def _failures(rng: random.Random, names: list[str], report: int) -> list[Failure]:
    out = []
    for i, path in enumerate(names):
        step = STEPS[(i + report) % len(STEPS)]
        hostile = HOSTILE_SNIPPETS[(i + report) % len(HOSTILE_SNIPPETS)]
        out.append(Failure(
            eval_path=path, step=step, classification=CLASSES[(i + report) % len(CLASSES)],
            error=f"{REASONS[step]}: `{rng.choice(['TS2339', 'no-misused-promises', 'ENOENT'])}` {hostile}",
            reasoning=f"The model used `{rng.choice(WORDS)}` wrongly. {hostile}",
            tests_pct=rng.choice([0, 33, 50, 86]) if step == "tests" else None,
        ))
    return out


def _step_table(failures: list[Failure]) -> list[str]:
    lines = ["| Step | Count |", "|------|-------|"]
    for step in STEPS:
        count = sum(f.step == step for f in failures)
        if count:
            lines.append(f"| {step} | {count} |")
    return lines


def _step_text(f: Failure) -> str:
    return f"{f.step} ({f.tests_pct}%)" if f.tests_pct is not None else f.step


def _sections_layout(run_id: str, day: date, passed: int, total: int, failures: list[Failure]) -> str:
    """The layout of the claude-haiku/opus reports: numbered headings, a classification line."""
    lines = [f"# Run Analysis: {MODEL} (default)", "", f"- **Run ID**: {run_id}",
             f"- **Model**: {MODEL} ({PROVIDER})", "- **Experiment**: default", f"- **Date**: {day}",
             f"- **Pass rate**: {passed}/{total} ({100 * passed / total:.1f}%)", "- **Duration**: 512s",
             "", "## Failure Summary", "", *_step_table(failures), "", "## Per-Failure Analysis", ""]
    for n, f in enumerate(failures, start=1):
        lines += [f"### {n}. {f.name} ({f.category}) -- {_step_text(f)}", "",
                  f"**Classification**: {f.classification}", "", _one_line(f.reasoning), "",
                  "```typescript", "// # not a heading: code stays code", "```", "", "---", ""]
    lines += ["## Cross-Cutting Patterns", "", "### 1. Pagination (3 failures)", "", "Text.", ""]
    return "\n".join(lines)


def _table_layout(run_id: str, day: date, passed: int, total: int, failures: list[Failure]) -> str:
    """The layout of the gpt-5.2-codex reports: a classification table, then details."""
    lines = [f"# Run Analysis Report: {MODEL}", "", "## Run metadata", "",
             f"- **Run ID**: `{run_id}`", f"- **Run ID prefix**: `{run_id[:8]}`", f"- **Date**: `{day}`",
             f"- **Provider**: `{PROVIDER}`", f"- **Model**: `{MODEL}`", "- **Experiment**: `default`",
             "- **Status**: `completed`", f"- **Pass rate**: `{passed}/{total}` ({100 * passed / total:.1f}%)",
             f"- **Failed evals**: `{total - passed}`", "", "## Failure summary by step type", "",
             *_step_table(failures), "", "## Failure classification table", "",
             "| Eval | Failed step | Classification | One-line reasoning |", "| --- | --- | --- | --- |"]
    for f in failures:
        lines.append(f"| `{f.eval_path}` | {f.step} | {f.classification} | {_cell(f.reasoning)} |")
    lines += ["", "## Per-failure analysis (details)", ""]
    for n, f in enumerate(failures, start=1):
        pct = f" ({f.tests_pct}% pass)" if f.tests_pct is not None else ""
        lines += [f"### {n}) {f.eval_path} — {f.classification} (repeat)", "",
                  f"- **Failed step**: {f.step}{pct}", f"- **Error**: {_one_line(f.error)}",
                  "- **Model snippet**:", "  - `ctx.db.query(\"items\")`", ""]
    return "\n".join(lines)


def _bullets_layout(run_id: str, day: date, passed: int, total: int, failures: list[Failure]) -> str:
    """The layout of the qwen report: a metadata table, category headings, bullet fields."""
    lines = [f"# Run Analysis: {MODEL} — {day}", "", "## Run Metadata", "", "| Field | Value |",
             "|-------|-------|", f"| Run ID | `{run_id}` |", f"| Model | `{PROVIDER}/{MODEL}` |",
             "| Experiment | default (with guidelines) |", f"| Date | {day} |",
             f"| Pass rate | {passed} / {total} ({100 * passed / total:.1f}%) |", "| Duration | ~6.5 min |",
             "", "## Failure Summary by Step Type", "", *_step_table(failures), "", "---", "",
             "## Per-Failure Analysis", ""]
    for category in CATEGORIES:
        mine = [f for f in failures if f.category == category]
        if not mine:
            continue
        lines += [f"### {category}", ""]
        for f in mine:
            lines += [f"#### {f.name} — {_step_text(f)}", f"- **Classification:** {f.classification}",
                      f"- **Error:** {_one_line(f.error)}", f"- **Reasoning:** {_one_line(f.reasoning)}", ""]
    return "\n".join(lines)


def _summary_json(run_id: str, total: int, failures: list[Failure], rng: random.Random) -> dict:
    failed = []
    for i, f in enumerate(failures):
        eval_id = "".join(rng.choice("abcdefghjkmnpqrstvwxyz0123456789") for _ in range(32))
        step = None if i == 0 else {"name": f.step, "failureReason": f.error}  # a failure without a step row
        failed.append({"_id": eval_id, "evalPath": f.eval_path, "category": f.category, "name": f.name,
                       "failureReason": REASONS[f.step], "failedStep": step})
    return {"run": {"_id": run_id, "model": MODEL, "provider": PROVIDER, "experiment": "default",
                    "status": {"kind": "completed", "durationMs": 389000}},
            "totalEvals": total, "passedCount": total - len(failures), "failedCount": len(failures),
            "failedEvals": failed}


def write(directory: str | Path, *, seed: int = 7, size: int = 1) -> Path:
    """Write the report series and failure summary under ``directory``; return ``directory/reports``.

    >>> write("/tmp/convex_sample", seed=7).name                   # doctest: +SKIP
    'reports'
    """
    rng = random.Random(seed)
    base = Path(directory)
    size = max(1, int(size))
    evals = _evals(rng, size)
    total = len(evals)
    model_dir = base / "reports" / PROVIDER / MODEL
    model_dir.mkdir(parents=True, exist_ok=True)
    layouts = (_sections_layout, _table_layout, _bullets_layout)
    last = None
    for index, (names, layout) in enumerate(zip(_failing_sets(rng, evals, size), layouts)):
        run_id = "jn7" + "".join(rng.choice("abcdefghjkmnpqrstvwxyz0123456789") for _ in range(29))
        day = FIRST_DATE + timedelta(days=index)
        failures = _failures(rng, names, index)
        text = layout(run_id, day, total - len(failures), total, failures)
        (model_dir / f"{run_id[:8]}_{day}.md").write_text(text + "\n", encoding="utf-8")
        last = (run_id, failures)
    run_id, failures = last
    summary = _summary_json(run_id, total, failures, rng)
    (base / f"failures_{run_id}.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return base / "reports"
