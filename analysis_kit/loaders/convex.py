"""convex-evals: failure-analysis reports, failure summaries and guideline validation results.

Three inputs, all written around get-convex/convex-evals:

- the markdown reports of its ``analyze-run-failures`` skill,
  ``reports/{provider}/{model}/{runId8}_{date}.md``. They list only the failed evals (each
  with a classification MODEL_FAULT, OVERLY_STRICT, AMBIGUOUS_TASK or KNOWN_GAP), so the
  totals come from the header's "Pass rate: 38/66" and go to ``meta`` ``tasks_total`` and
  ``tasks_passed``. Two layouts occur, often mixed in one file: a table
  "Eval | Failed step | Classification | One-line reasoning", and a heading per failure
  followed by ``**Classification**: X`` (or ``- **Classification:** X``, or a
  ``| **Classification** | X |`` field table) with ``Error`` and ``Reasoning`` fields.
- the failure summary JSON of ``debugQueries:getFailedEvalsForRun``:
  ``{run{_id, model, provider, experiment, status}, totalEvals, passedCount, failedCount,
  failedEvals[{_id, evalPath, category, name, failureReason, failedStep{name, failureReason}}]}``.
- the JSON summary of ``bun run validate:guidelines``
  (``guideline-validation/results/<timestamp>.json``): each model ran the same evals with
  the "before" and the "after" guidelines. It loads as two runs per model,
  ``<stem>/<model>/before`` and ``<stem>/<model>/after``, so ``compare`` can set them side by side.

A directory loads every such file under it as one run each, in date order.

>>> import analysis_kit as ak                                          # doctest: +SKIP
>>> runs = ak.load("../shared/real_logs/convex_evals/reports")         # doctest: +SKIP
>>> runs.failures.groupby(["run_id", "classification"]).size()        # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import LoadError
from ._registry import Format, register
from ..model import CLASSIFICATIONS, Problems, Run, concat_runs, scrub_surrogates

FORMAT = "convex"
BENCHMARK = "convex-evals"
STEPS = ("filesystem", "install", "deploy", "tsc", "eslint", "tests")
SNIFF_BYTES = 64 * 1024

# The runner's words for a failed step ("convex dev fail", "bun install fail", ...).
STEP_ALIASES = {
    "convex": "deploy", "dev": "deploy", "deployment": "deploy", "bun": "install",
    "npm": "install", "lint": "eslint", "test": "tests", "typecheck": "tsc",
    "codegen": "deploy", "fs": "filesystem",
}
REPORT_STEM = re.compile(r"^(?P<prefix>[A-Za-z0-9]{4,})_(?P<date>\d{4}-\d{2}-\d{2})$")
EVAL_ID = r"\d{2,4}-[\w.\-]+"
EVAL_PATH = re.compile(rf"^(?P<category>{EVAL_ID})/(?P<name>{EVAL_ID})$")
EVAL_WITH_CATEGORY = re.compile(rf"^(?P<name>{EVAL_ID})\s*\((?P<category>{EVAL_ID})\)$")
BARE_EVAL = re.compile(rf"^{EVAL_ID}$")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
NUMBERING = re.compile(r"^(?:\d+\s*[.):]|#\d+\s*[.):]?)\s*")
SEPARATOR = re.compile(r"\s+(?:--|—|–|-|:)\s+")
BOLD_FIELD = re.compile(
    r"^\s*(?:[-*+]\s+)?\*\*(?P<key>[^*]{1,40}?)\s*(?::\*\*\s*|\*\*\s*:\s*)(?P<value>.*)$"
)
FENCE = re.compile(r"^\s*(```|~~~)")
RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
PASS_RATE = re.compile(r"(\d+)\s*/\s*(\d+)")
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)\b", re.I)
FAILURE_FIELDS = {
    "classification": "classification", "failed step": "step", "step": "step",
    "error": "error", "reasoning": "reasoning", "one-line reasoning": "reasoning",
}
HEADER_FIELDS = {
    "run id": "convex_run_id", "run": "convex_run_id", "model": "model", "provider": "provider",
    "experiment": "experiment", "date": "date", "pass rate": "pass_rate", "duration": "duration",
    "status": "status", "failed evals": "failed_evals", "formatted name": "formatted_name",
    "note": "note",
}


# ---------------------------------------------------------------------------- detection

def _head(path: Path) -> str:
    with open(path, "rb") as fh:
        return fh.read(SNIFF_BYTES).decode("utf-8", "replace")


def _is_summary_json(text: str) -> bool:
    return '"failedEvals"' in text or '"totalEvals"' in text


def _is_guideline_json(text: str) -> bool:
    return '"beforePath"' in text and '"afterPath"' in text and '"models"' in text


def _looks_like_report(path: Path, text: str) -> bool:
    if "reports" in path.parts[:-1] or REPORT_STEM.match(path.stem):
        return True
    head = text[:4000].lower()
    if "run analysis" in head:
        return True
    return "classification" in text.lower() and ("eval" in head or "convex" in head)


def _sniff_file(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = _head(path)
        return _is_summary_json(text) or _is_guideline_json(text)
    if suffix in (".md", ".markdown"):
        return _looks_like_report(path, _head(path))
    return False


def _candidate_files(directory: Path) -> list[Path]:
    found = []
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".md", ".markdown", ".json"):
            found.append(path)
    return found


def sniff(path: Path) -> bool:
    """True for a report .md, a failure summary or guideline validation .json, or a tree of them.

    >>> sniff(Path("/nonexistent.txt"))
    False
    """
    try:
        path = Path(path)
        if path.is_file():
            return _sniff_file(path)
        if path.is_dir():
            # A report tree is reports/{provider}/{model}/*.md: look at most three levels down.
            for pattern in ("*", "*/*", "*/*/*", "reports/*/*/*"):
                for candidate in itertools.islice(path.glob(pattern), 200):
                    if candidate.is_file() and _sniff_file(candidate):
                        return True
        return False
    except (OSError, ValueError):
        return False


# ---------------------------------------------------------------------------- reading

def _read_text(path: Path, problems: Problems) -> str:
    """The file's text; bytes that are not UTF-8 become U+FFFD and one problem row."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raw = data[max(0, exc.start - 40): exc.start + 40]
        problems.add(path, line, "invalid UTF-8 bytes (replaced with U+FFFD)", raw)
        return data.decode("utf-8", "replace")


def _clean(value: str | None) -> str | None:
    """A markdown cell/field value without one wrapping pair of ``**`` or backticks; inner
    markup is text the report wrote and stays.

    >>> _clean(" **`38/66`** "), _clean("`a` and `b`"), _clean("**bold** text")
    ('38/66', '`a` and `b`', '**bold** text')
    """
    if value is None:
        return None
    value = value.strip()
    for mark in ("**", "`"):
        if value.startswith(mark) and value.endswith(mark) and len(value) > 2 * len(mark) \
                and mark not in value[len(mark):-len(mark)]:
            value = value[len(mark):-len(mark)].strip()
    return value or None


def _split_eval(text: str | None) -> tuple[str | None, str | None]:
    """(category, name) of an eval reference such as ``000-fundamentals/003-crons``,
    ``003-crons (000-fundamentals)`` or ``003-crons``; (None, None) when it is none of them."""
    text = (_clean(text) or "").strip("`* ")
    for pattern in (EVAL_PATH, EVAL_WITH_CATEGORY):
        match = pattern.match(text)
        if match:
            return match["category"], match["name"]
    if BARE_EVAL.match(text):
        return None, text
    return None, None


def parse_step(text: str | None) -> tuple[str | None, float | None]:
    """The step name and the tests pass percentage of a "failed step" text.

    >>> parse_step("tests (50% pass)"), parse_step("deploy (convex dev fail)"), parse_step("convex dev fail")
    (('tests', 50.0), ('deploy', None), ('deploy', None))
    """
    text = _clean(text)
    if not text:
        return None, None
    word = re.sub(r"[^a-z]", "", text.split()[0].lower())
    step = STEP_ALIASES.get(word, word) or None
    pct = PERCENT.search(text)
    return step, float(pct.group(1)) if pct else None


def parse_classification(text: str | None) -> tuple[str | None, str | None, bool]:
    """(classification, note, understood) of a classification text.

    >>> parse_classification("OVERLY_STRICT (config bug)")
    ('OVERLY_STRICT', 'config bug', True)
    >>> parse_classification("PROBABLY_FINE")
    (None, None, False)
    """
    text = _clean(text)
    match = re.match(r"[`*_\s]*([A-Za-z][A-Za-z_\- ]*)", text or "")
    if not match:
        return None, None, False
    word = re.sub(r"[\s\-_]+", "_", match.group(1)).strip("_").upper()
    # "MODEL_FAULT because ..." or "Model fault": the leading known word counts.
    for known in CLASSIFICATIONS:
        if word == known or word.startswith(known + "_"):
            rest = text[match.start(1):]
            rest = rest[len(re.match(r"[A-Za-z]+(?:[\s_\-]+[A-Za-z]+)?", rest).group(0)):]
            paren = re.search(r"\(([^)]*)\)", rest)
            note = paren.group(1) if paren else rest.strip(" -—:`*")
            return known, (note.strip() or None) if note else None, True
    return None, None, False


def _is_classification(text: str | None) -> bool:
    return parse_classification(text)[2]


def _duration_s(text: str | None) -> float | None:
    match = DURATION.search(text or "")
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2).lower()
    if unit == "ms":
        return value / 1000
    if unit.startswith("h"):
        return value * 3600
    if unit.startswith("m"):
        return value * 60
    return value


def _cells(line: str) -> list[str]:
    """Cells of a markdown table row; ``\\|`` is a literal pipe inside a cell."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", body)]


def _is_separator_row(cells: list[str]) -> bool:
    return bool(cells) and all(re.fullmatch(r":?-{2,}:?", c.replace(" ", "")) for c in cells)


# ---------------------------------------------------------------------------- report parsing

@dataclass
class _Failure:
    line: int
    category: str | None = None
    name: str | None = None
    step: str | None = None
    tests_passed_pct: float | None = None
    error: str | None = None
    classification: str | None = None
    classification_note: str | None = None
    reasoning: str | None = None
    detailed: bool = False  # a details section already met this table row

    @property
    def task_id(self) -> str | None:
        if self.name is None:
            return None
        return f"{self.category}/{self.name}" if self.category else self.name

    def fill_from(self, other: "_Failure") -> None:
        """Take the other record's values where this one has none (table first, details after)."""
        for name in ("category", "step", "tests_passed_pct", "error", "classification",
                     "classification_note", "reasoning"):
            if getattr(self, name) is None and getattr(other, name) is not None:
                setattr(self, name, getattr(other, name))


@dataclass
class _Block:
    """The lines under one heading."""

    level: int
    title: str
    line: int
    lines: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Report:
    header: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    failures: list[_Failure] = field(default_factory=list)
    failed_by_step: dict[str, int] = field(default_factory=dict)


class _ReportParser:
    """Reads one report's text into a :class:`_Report`, reporting what it cannot use."""

    def __init__(self, path: Path, text: str, problems: Problems):
        self.path, self.problems = path, problems
        self.lines = text.splitlines()
        self.report = _Report()
        self.by_task: dict[str, _Failure] = {}

    # The walk: headings open blocks; tables anywhere are looked at on their own.
    def parse(self) -> _Report:
        blocks, tables = self._split()
        for start, rows in tables:
            self._table(start, rows)
        table_tasks = set(self.by_task)
        self._failure_blocks(blocks, table_tasks)
        return self.report

    def _split(self) -> tuple[list[_Block], list[tuple[int, list[tuple[int, str]]]]]:
        blocks: list[_Block] = [_Block(0, "", 0)]
        tables: list[tuple[int, list[tuple[int, str]]]] = []
        in_code, header_mode = False, True
        table: list[tuple[int, str]] = []
        for number, line in enumerate(self.lines, start=1):
            if FENCE.match(line):
                in_code = not in_code
            is_table = not in_code and line.lstrip().startswith("|")
            if table and not is_table:
                tables.append((table[0][0], table))
                table = []
            if is_table:
                table.append((number, line))
            heading = None if in_code else HEADING.match(line)
            if heading:
                level, title = len(heading["hashes"]), heading["text"]
                if level == 1 and self.report.title is None:
                    self.report.title = title
                if level <= 2:
                    header_mode = level == 1 or "metadata" in title.lower()
                blocks.append(_Block(level, title, number))
                continue
            if header_mode and not in_code:
                self._header_line(line)
            blocks[-1].lines.append((number, line if not in_code and not FENCE.match(line) else "\x00code"))
        if table:
            tables.append((table[0][0], table))
        return blocks, tables

    def _header_line(self, line: str) -> None:
        key, value = None, None
        match = BOLD_FIELD.match(line)
        if match:
            key, value = match["key"], match["value"]
        elif line.lstrip().startswith("|"):
            cells = _cells(line)
            if len(cells) == 2:
                key, value = cells
        if key is None:
            return
        name = HEADER_FIELDS.get((_clean(key) or "").lower())
        if name and name not in self.report.header and _clean(value):
            self.report.header[name] = _clean(value)

    # Tables: the classification table and the failures-by-step table.
    def _table(self, start: int, rows: list[tuple[int, str]]) -> None:
        header = [(_clean(c) or "").lower() for c in _cells(rows[0][1])]
        body = [(n, line) for n, line in rows[1:] if not _is_separator_row(_cells(line))]
        eval_col = next((i for i, c in enumerate(header) if c in ("eval", "eval path", "evaluation")), None)
        class_col = next((i for i, c in enumerate(header) if "classification" in c), None)
        if eval_col is not None and class_col is not None:
            self._classification_table(header, body, eval_col, class_col)
        elif header and header[0] in ("step", "step type", "failed step") and "count" in header:
            self._step_table(header, body)

    def _bad_row(self, number: int, line: str, cells: list[str], want: int) -> bool:
        if len(cells) == want:
            return False
        self.problems.add(self.path, number, f"table row has {len(cells)} cells, the header has {want}", line)
        return True

    def _classification_table(self, header, body, eval_col, class_col) -> None:
        find = lambda *names: next((i for i, c in enumerate(header) if c in names), None)  # noqa: E731
        step_col = find("failed step", "step")
        reason_col = next((i for i, c in enumerate(header) if "reasoning" in c or c == "reason"), None)
        error_col = find("error")
        for number, line in body:
            cells = _cells(line)
            if self._bad_row(number, line, cells, len(header)):
                continue
            category, name = _split_eval(cells[eval_col])
            if name is None:
                text = _clean(cells[eval_col])
                if not text:
                    self.problems.add(self.path, number, "table row names no eval", line)
                    continue
                category, name = (text.split("/", 1) if "/" in text else (None, text))
            failure = _Failure(number, category, name)
            if step_col is not None:
                failure.step, failure.tests_passed_pct = parse_step(cells[step_col])
            if reason_col is not None:
                failure.reasoning = _clean(cells[reason_col])
            if error_col is not None:
                failure.error = _clean(cells[error_col])
            self._set_classification(failure, cells[class_col], number, line)
            self._add(failure, line)

    def _step_table(self, header, body) -> None:
        count_col = header.index("count")
        for number, line in body:
            cells = _cells(line)
            if self._bad_row(number, line, cells, len(header)):
                continue
            step, _ = parse_step(cells[0])
            count = re.match(r"\s*(\d+)", _clean(cells[count_col]) or "")
            if step in (None, "total"):
                continue
            if count is None:
                self.problems.add(self.path, number, "step count is not a number", line)
                continue
            self.report.failed_by_step[step] = self.report.failed_by_step.get(step, 0) + int(count.group(1))

    def _set_classification(self, failure: _Failure, text: str | None, number: int, raw: str) -> None:
        if not _clean(text):
            return
        value, note, understood = parse_classification(text)
        if not understood:
            self.problems.add(self.path, number, f"unknown classification {(_clean(text) or '')[:60]!r}", raw)
            return
        failure.classification, failure.classification_note = value, note

    def _add(self, failure: _Failure, raw: str, table_tasks: set[str] | None = None) -> None:
        key = failure.task_id
        known = self.by_task.get(key) if key else None
        if known is None:
            self.by_task[key] = failure
            self.report.failures.append(failure)
            return
        if table_tasks is None or key not in table_tasks or known.detailed:
            self.problems.add(self.path, failure.line, f"eval {key} is listed twice; the first entry is kept", raw)
        known.detailed = True
        known.fill_from(failure)

    # Per-failure sections: a heading naming an eval, then fields.
    def _failure_blocks(self, blocks: list[_Block], table_tasks: set[str]) -> None:
        category_stack: list[tuple[int, str]] = []
        for block in blocks[1:]:
            while category_stack and category_stack[-1][0] >= block.level:
                category_stack.pop()
            failure, bare = self._heading(block)
            if failure is None and bare:
                category_stack.append((block.level, bare))
            context = category_stack[-1][1] if category_stack else None
            fields = self._fields(block)
            if failure is None and bare and "classification" in fields:
                # "### 003-crons" with a classification under it is an eval, not a category.
                category_stack.pop()
                context = category_stack[-1][1] if category_stack else None
                failure = _Failure(block.line, None, bare)
            if failure is None:
                if "classification" in fields:
                    number, _ = fields["classification"]
                    self.problems.add(self.path, number, "a classification under a heading that names no eval",
                                      block.title)
                continue
            if failure.category is None:
                failure.category = context
            self._apply_fields(failure, fields)
            self._add(failure, block.title, table_tasks)

    def _heading(self, block: _Block) -> tuple[_Failure | None, str | None]:
        """A failure from a heading such as "3. 005-function_calling (000-fundamentals) -- deploy",
        or the bare eval/category token of a heading such as "000-fundamentals"."""
        text = NUMBERING.sub("", _clean(block.title) or "", count=1)
        parts = SEPARATOR.split(text, maxsplit=1)
        category, name = _split_eval(parts[0])
        if name is None:
            return None, None
        if len(parts) == 1 and category is None:
            return None, name
        failure = _Failure(block.line, category, name)
        if len(parts) == 2:
            suffix = parts[1]
            if _is_classification(suffix):
                failure.classification, failure.classification_note, _ = parse_classification(suffix)
            else:
                failure.step, failure.tests_passed_pct = parse_step(suffix)
        return failure, None

    def _fields(self, block: _Block) -> dict[str, tuple[int, str]]:
        """The failure fields of a block (first of each), reasoning with its continuation lines,
        and, when no Reasoning field exists, the first prose paragraph after the classification."""
        fields: dict[str, tuple[int, str]] = {}
        prose: list[str] = []
        collecting: str | None = None
        seen_classification = False
        for number, line in block.lines:
            if line == "\x00code" or RULE.match(line) or not line.strip():
                collecting = None
                if prose and prose[-1] != "":
                    prose.append("")
                continue
            key, value = self._field(line)
            if key is not None:
                collecting = None
                if key not in fields and value:
                    fields[key] = (number, value)
                    collecting = key if key == "reasoning" else None
                seen_classification = seen_classification or key == "classification"
                continue
            if collecting and not line.lstrip().startswith("|") and not LIST_ITEM.match(line):
                num, text = fields[collecting]
                fields[collecting] = (num, f"{text} {line.strip()}")
                continue
            if seen_classification and not line.lstrip().startswith("|") and not LIST_ITEM.match(line):
                prose.append(line.strip())
        if "reasoning" not in fields:
            paragraph = " ".join(_first_paragraph(prose))
            if paragraph:
                fields["reasoning"] = (block.line, paragraph)
        return fields

    @staticmethod
    def _field(line: str) -> tuple[str | None, str | None]:
        match = BOLD_FIELD.match(line)
        if match:
            key, value = match["key"], match["value"]
        elif line.lstrip().startswith("|"):
            cells = _cells(line)
            if len(cells) != 2 or "**" not in cells[0]:
                return None, None
            key, value = cells
        else:
            return None, None
        name = FAILURE_FIELDS.get((_clean(key) or "").lower().rstrip(":"))
        return (name, value.strip()) if name else (None, None)

    def _apply_fields(self, failure: _Failure, fields: dict[str, tuple[int, str]]) -> None:
        if "classification" in fields:
            number, value = fields["classification"]
            self._set_classification(failure, value, number, self.lines[number - 1])
        if "step" in fields:
            step, pct = parse_step(fields["step"][1])
            failure.step = failure.step or step
            failure.tests_passed_pct = failure.tests_passed_pct if failure.tests_passed_pct is not None else pct
        if "error" in fields:
            failure.error = _clean(fields["error"][1])
        if "reasoning" in fields:
            failure.reasoning = fields["reasoning"][1].strip()


def _first_paragraph(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line == "":
            if out:
                break
            continue
        out.append(line)
    return out


# ---------------------------------------------------------------------------- report -> Run

def _path_identity(path: Path) -> tuple[str | None, str | None]:
    """(provider, model) from ``reports/{provider}/{model}/{file}``, else (None, None)."""
    parts = path.parts
    if "reports" in parts[:-1]:
        rel = parts[len(parts) - parts[::-1].index("reports"):]
        if len(rel) == 3:
            return rel[0], rel[1]
        return None, None
    if REPORT_STEM.match(path.stem) and len(parts) >= 3:
        return parts[-3], parts[-2]
    return None, None


def _model_and_provider(value: str | None) -> tuple[str | None, str | None, str | None]:
    """(model, provider, formatted name) from "claude-haiku-4-5 (anthropic)" or
    "google/gemini-3-pro-preview (Gemini 3 Pro)"."""
    if not value:
        return None, None, None
    value = value.replace("`", "")
    match = re.match(r"^(?P<model>[^\s(]+)\s*(?:\((?P<paren>[^)]*)\))?", value)
    if not match:
        return value, None, None
    paren = match["paren"]
    if paren and re.fullmatch(r"[a-z0-9_.\-]+", paren):
        return match["model"], paren, None
    return match["model"], None, paren


def _timestamp(value: Any) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    stamp = pd.to_datetime(str(value), errors="coerce", utc=True)
    return None if pd.isna(stamp) else stamp


def _report_meta(path: Path, report: _Report) -> dict[str, Any]:
    header = report.header
    path_provider, path_model = _path_identity(path)
    model_reported, paren_provider, formatted = _model_and_provider(header.get("model"))
    provider_reported = header.get("provider") or paren_provider
    if model_reported is None and report.title:
        # "# Run Analysis: claude-opus-4-6" when the header has no Model line.
        title_model = re.sub(r"^.*?:\s*", "", report.title)
        model_reported, _, _ = _model_and_provider(title_model)
    stem = REPORT_STEM.match(path.stem)
    date = header.get("date") or (stem["date"] if stem else None)
    run_id = f"{path_provider}/{path_model}/{path.stem}" if path_provider else path.stem
    model = path_model or model_reported
    meta: dict[str, Any] = {
        "run_id": run_id, "source_format": FORMAT, "path": str(path), "benchmark": BENCHMARK,
        "domain": None, "models": [model] if model else [], "model": model,
        "provider": path_provider or provider_reported, "model_reported": model_reported,
        "provider_reported": provider_reported, "formatted_name": header.get("formatted_name") or formatted,
        "experiment": (header.get("experiment") or "").split(" ")[0].strip("`*") or None,
        "status": header.get("status"), "convex_run_id": header.get("convex_run_id"),
        "date": date, "started": _timestamp(date), "ended": None,
        "duration_s": _duration_s(header.get("duration")), "note": header.get("note"),
        "failed_by_step": dict(report.failed_by_step), "failures_listed": len(report.failures),
        # a report lists only failures: without its header totals the pass rate is unknown
        "tasks_partial": True,
    }
    rate = PASS_RATE.search(header.get("pass_rate") or "")
    if rate:
        passed, total = int(rate.group(1)), int(rate.group(2))
        meta.update(tasks_total=total, tasks_passed=passed, tasks_failed=total - passed)
    else:
        meta["missing_header"] = ["pass rate"]
    failed = re.match(r"\s*(\d+)", header.get("failed_evals") or "")
    if failed and "tasks_failed" not in meta:
        meta["tasks_failed"] = int(failed.group(1))
    return meta


def _failure_tables(failures: list[_Failure], file: Path) -> tuple[list[dict], list[dict]]:
    failure_rows, task_rows = [], []
    for f in failures:
        failure_rows.append({
            "task_id": f.task_id, "category": f.category, "step": f.step, "error": f.error,
            "classification": f.classification, "reasoning": f.reasoning, "name": f.name,
            "tests_passed_pct": f.tests_passed_pct, "classification_note": f.classification_note,
            "file": str(file), "line": f.line,
        })
        task_rows.append({
            "task_id": f.task_id, "status": "failure", "success": False, "error": f.error,
            "category": f.category, "step": f.step,
        })
    return task_rows, failure_rows


def _load_report(path: Path, problems: Problems) -> Run | None:
    """One report .md as a Run, or None (with a problem row) when it holds no report."""
    text = _read_text(path, problems)
    report = _ReportParser(path, text, problems).parse()
    if not report.failures and "pass_rate" not in report.header:
        problems.add(path, None, "no pass rate and no failures: not a convex-evals run report",
                     text[:200])
        return None
    meta = _report_meta(path, report)
    tasks, failures = _failure_tables(report.failures, path)
    return Run(meta=meta, tasks=pd.DataFrame(tasks), failures=pd.DataFrame(failures),
               problems=problems.frame())


# ---------------------------------------------------------------------------- JSON inputs

def _read_json(path: Path, problems: Problems) -> tuple[Any, str]:
    text = _read_text(path, problems)
    if not text.strip():
        raise LoadError("empty file: expected a convex-evals JSON document", file=str(path), line=1)
    text = scrub_surrogates(text, path, problems)
    try:
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        end = "the file ends early (truncated?)" if exc.pos >= len(text.rstrip()) else exc.msg
        raise LoadError(f"invalid JSON at column {exc.colno}: {end}", file=str(path), line=exc.lineno) from None


def _line_of(text: str, needle: str | None) -> int | None:
    if not needle:
        return None
    at = text.find(needle)
    return None if at < 0 else text.count("\n", 0, at) + 1


def _step_of_reason(reason: Any) -> str | None:
    """The step of a runner failure reason ("convex dev fail" -> deploy); None for "unknown fail"."""
    if not isinstance(reason, str) or not reason.strip():
        return None
    step, _ = parse_step(reason)
    return step if step in STEPS else None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _count(data: dict, key: str, text: str, path: Path, problems: Problems) -> int | None:
    """A header count; present but not an integer is a problem row and NA."""
    value = data.get(key)
    if value is None or _int_or_none(value) is not None:
        return value
    problems.add(path, _line_of(text, f'"{key}"'), f"{key} should be an integer, got "
                 f"{type(value).__name__}; taken as NA", json.dumps(value)[:200])
    return None


def _load_failure_summary(path: Path, data: dict, text: str, problems: Problems) -> Run:
    run = data.get("run") if isinstance(data.get("run"), dict) else {}
    convex_id = run.get("_id") if isinstance(run.get("_id"), str) else None
    model = run.get("model") if isinstance(run.get("model"), str) else None
    provider = run.get("provider") if isinstance(run.get("provider"), str) else None
    status = run.get("status")
    status_reason = None
    if isinstance(status, dict):
        status, status_reason = status.get("kind"), status.get("failureReason")
    run_id = "/".join(p for p in (provider, model, convex_id[:8] if convex_id else path.stem) if p)
    failed = data.get("failedEvals")
    if not isinstance(failed, list):
        problems.add(path, _line_of(text, '"failedEvals"'), "failedEvals is missing or not a list",
                     json.dumps(failed)[:200])
        failed = []
    task_rows, failure_rows = [], []
    for index, item in enumerate(failed):
        row = _summary_failure(path, text, index, item, problems)
        if row is None:
            continue
        failure_rows.append(row)
        task_rows.append({"task_id": row["task_id"], "status": "failure", "success": False,
                          "error": row["error"], "category": row["category"], "step": row["step"],
                          "eval_id": row["eval_id"]})
    total, passed, failed_count = (_count(data, key, text, path, problems)
                                   for key in ("totalEvals", "passedCount", "failedCount"))
    if failed_count is not None and isinstance(data.get("failedEvals"), list) and failed_count != len(failed):
        problems.add(path, _line_of(text, '"failedCount"'),
                     f"failedCount is {failed_count} but failedEvals lists {len(failed)}", "")
    meta: dict[str, Any] = {
        "run_id": run_id, "source_format": FORMAT, "path": str(path), "benchmark": BENCHMARK,
        "domain": None, "models": [model] if model else [], "model": model, "provider": provider,
        "experiment": run.get("experiment"), "status": status, "status_reason": status_reason,
        "convex_run_id": convex_id, "started": None, "ended": None,
        "failures_listed": len(failure_rows),
    }
    if total is not None:
        meta["tasks_total"] = total
        if passed is not None:  # without the total, passes over the listed failures mislead
            meta["tasks_passed"] = passed
    else:
        meta["tasks_partial"] = True  # failedEvals lists only failures: the rate is unknown
    if failed_count is not None:
        meta["tasks_failed"] = failed_count
    return Run(meta=meta, tasks=pd.DataFrame(task_rows), failures=pd.DataFrame(failure_rows),
               problems=problems.frame())


def _summary_failure(path: Path, text: str, index: int, item: Any, problems: Problems) -> dict | None:
    where = f"failedEvals[{index}]"
    if not isinstance(item, dict):
        problems.add(path, None, f"{where} is not an object", json.dumps(item)[:200])
        return None
    eval_id = item.get("_id") if isinstance(item.get("_id"), str) else None
    line = _line_of(text, eval_id)
    category, name = item.get("category"), item.get("name")
    task_id = item.get("evalPath") if isinstance(item.get("evalPath"), str) else None
    if task_id is None and isinstance(category, str) and isinstance(name, str):
        task_id = f"{category}/{name}"
    if not task_id:
        problems.add(path, line, f"{where} has no evalPath and no category/name", json.dumps(item)[:200])
        return None
    if not isinstance(category, str) and "/" in task_id:
        category = task_id.split("/", 1)[0]
    step_info = item.get("failedStep") if isinstance(item.get("failedStep"), dict) else {}
    reason = item.get("failureReason")
    step = step_info.get("name") if isinstance(step_info.get("name"), str) else None
    step = parse_step(step)[0] if step else _step_of_reason(reason)
    error = step_info.get("failureReason") or reason
    return {"task_id": task_id, "category": category if isinstance(category, str) else None,
            "step": step, "error": None if error is None else str(error), "classification": None,
            "reasoning": None, "name": name if isinstance(name, str) else None,
            "failure_reason": None if reason is None else str(reason), "eval_id": eval_id,
            "file": str(path), "line": line}


def _load_guideline_validation(path: Path, data: dict, text: str, problems: Problems) -> list[Run]:
    """Two runs per model, before and after the guideline change (one Problems for all)."""
    runs = []
    models = data.get("models") if isinstance(data.get("models"), list) else []
    for entry in models:
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
            problems.add(path, None, "models[] entry without a model name", json.dumps(entry)[:200])
            continue
        for variant in ("before", "after"):
            part = entry.get(variant)
            if not isinstance(part, dict):
                problems.add(path, _line_of(text, f'"{entry["model"]}"'), f"{entry['model']} has no {variant!r} results", "")
                continue
            runs.append(_validation_run(path, data, entry, variant, part, text, problems))
    return runs


def _validation_run(path, data, entry, variant, part, text, problems) -> Run:
    model = entry["model"]
    run_id = f"{path.stem}/{model}/{variant}"
    tasks, failures = [], []
    results = part.get("results") if isinstance(part.get("results"), list) else []
    for result in results:
        if not isinstance(result, dict) or not isinstance(result.get("eval"), str):
            problems.add(path, None, f"{model} {variant}: result without an eval", json.dumps(result)[:200])
            continue
        task_id, passed, reason = result["eval"], result.get("passed"), result.get("failure_reason")
        success = passed if isinstance(passed, bool) else None
        category = task_id.split("/", 1)[0] if "/" in task_id else None
        status = {True: "success", False: "failure"}.get(success)
        tasks.append({"task_id": task_id, "status": status, "success": success, "error": reason,
                      "category": category, "step": _step_of_reason(reason)})
        if success is False:
            failures.append({"task_id": task_id, "category": category, "step": _step_of_reason(reason),
                             "error": reason, "classification": None, "reasoning": None,
                             "failure_reason": reason, "file": str(path)})
    passed_count = _int_or_none(part.get("passed"))
    counted = sum(1 for t in tasks if t["success"] is True)
    if passed_count is not None and passed_count != counted:
        problems.add(path, _line_of(text, f'"{model}"'),
                     f"{model} {variant}: passed is {passed_count} but {counted} results passed", "")
    failed_count = _int_or_none(part.get("failed"))
    meta = {
        "run_id": run_id, "source_format": FORMAT, "path": str(path), "benchmark": BENCHMARK,
        "domain": None, "models": [model], "model": model,
        "provider": model.split("/", 1)[0] if "/" in model else None,
        "experiment": "guideline_validation", "variant": variant,
        "guidelines_path": data.get(f"{variant}Path"), "filter": data.get("filter"),
        "started": _timestamp(data.get("timestamp")), "ended": None,
        "tasks_total": len(tasks) if failed_count is None or passed_count is None else passed_count + failed_count,
        "tasks_passed": counted if passed_count is None else passed_count,
        "delta": entry.get("delta"), "regressions": entry.get("regressions"),
        "improvements": entry.get("improvements"),
    }
    return Run(meta=meta, tasks=pd.DataFrame(tasks), failures=pd.DataFrame(failures))


def _load_json(path: Path, problems: Problems) -> list[Run]:
    data, text = _read_json(path, problems)
    if data is None:
        raise LoadError("the failure summary is null: getFailedEvalsForRun found no such run", file=str(path))
    if isinstance(data, dict) and ("failedEvals" in data or "totalEvals" in data):
        return [_load_failure_summary(path, data, text, problems)]
    if isinstance(data, dict) and "models" in data and ("beforePath" in data or "afterPath" in data):
        runs = _load_guideline_validation(path, data, text, problems)
        if not runs:
            raise LoadError("guideline validation results list no model results", file=str(path))
        # The file's problems are attached once, to its first run.
        runs[0] = Run(meta=runs[0].meta, tasks=runs[0].tasks, failures=runs[0].failures,
                      problems=problems.frame())
        return runs
    raise LoadError("JSON is neither a getFailedEvalsForRun failure summary nor guideline "
                    "validation results (no failedEvals/totalEvals or beforePath/models keys)",
                    file=str(path))


# ---------------------------------------------------------------------------- entry point

def _load_file(path: Path, strict: bool) -> tuple[list[Run], Problems]:
    problems = Problems(strict)
    if path.suffix.lower() == ".json":
        return _load_json(path, problems), problems
    run = _load_report(path, problems)
    return ([run] if run is not None else []), problems


def _sort_key(run: Run) -> pd.Timestamp:
    """Date order; the sort is stable, so runs of one date keep path (and file) order."""
    started = run.meta.get("started")
    return pd.Timestamp.max.tz_localize("UTC") if started is None or pd.isna(started) else pd.Timestamp(started)


def _load_tree(directory: Path, strict: bool) -> Run:
    runs: list[Run] = []
    leftover = Problems(strict)
    files = [p for p in _candidate_files(directory) if _sniff_file(p)]
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
