"""convex-evals run reports: the markdown of the analyze-run skill (part of the ``convex``
format; ``convex.py`` turns what this finds into a Run and registers the format).

The skill asks an LLM for run metadata, a failure summary by step and, per failure, "eval,
failed step, error, classification, reasoning"; each run of the LLM lays that out
differently. :class:`ReportReader` walks the text once (``_markdown``) and collects:

- header facts from bold, plain or bullet fields, two-column table rows and one-row tables;
- failures from table rows with an eval column, headings or all-bold lines naming an eval
  (with fields under them, or the step and class after the name), list items naming an eval,
  pasted ``Eval: ...`` field blocks, and the "Evals" columns of summary tables;
- sentences that classify every failure ("All 11 failures are MODEL_FAULT").

Sections about other things (recommendations, patterns, prior runs, impact) name evals
without listing this run's failures: they are not read for failures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import Problems
from . import _markdown as md
from . import _convex_words as words
from ._convex_words import parse_classification, parse_step, take_eval


@dataclass
class Failure:
    line: int
    category: str | None = None
    name: str | None = None
    step: str | None = None
    tests_passed_pct: float | None = None
    error: str | None = None
    classification: str | None = None
    classification_note: str | None = None
    reasoning: str | None = None
    listed: set = field(default_factory=set)  # how the report lists it: table, section, item
    unknown_class: bool = False  # an unknown classification word was reported already

    @property
    def task_id(self) -> str | None:
        if self.name is None:
            return None
        return f"{self.category}/{self.name}" if self.category else self.name

    def fill_from(self, other: "Failure") -> None:
        """Take the other listing's values where this one has none (a table, then details)."""
        for name in ("category", "step", "tests_passed_pct", "error", "classification",
                     "classification_note", "reasoning"):
            if getattr(self, name) is None and getattr(other, name) is not None:
                setattr(self, name, getattr(other, name))


@dataclass
class _Entry:
    """The failure a run of lines describes, and the fields found for it so far."""

    failure: Failure | None
    kind: str
    fields: dict[str, tuple[int, str]] = field(default_factory=dict)
    prose: list[str] = field(default_factory=list)  # paragraphs after the classification
    text: list[str] = field(default_factory=list)  # every prose line (a classification in prose)
    collecting: str | None = None
    after_classification: bool = False  # prose after it is the reasoning when no field says

    def __post_init__(self) -> None:
        # A list item's own lines, a title's paragraphs after a class it states, are its reasoning.
        self.after_classification = self.kind == "item" or (
            self.failure is not None and self.failure.classification is not None)


class ReportReader:
    """Reads one report's text: ``facts`` (header values with their lines), ``failures``,
    ``failed_by_step``; every unusable row or field is a problem on ``problems``."""

    def __init__(self, path: Path, text: str, problems: Problems):
        self.path, self.problems = path, problems
        self.doc = md.Markdown(text)
        self.facts: dict[str, tuple[str, int]] = {}
        self.failures: list[Failure] = []
        self.by_task: dict[str, Failure] = {}
        self.failed_by_step: dict[str, int] = {}
        self.hints: list[tuple[int, str | None, str, str, str]] = []  # (line, category, name, what, value)
        self.covering: list[tuple[str, int, str]] = []  # (classification, line, sentence)
        self.free_lines: list[tuple[int, str]] = []  # text outside failures and mentions
        self.category: str | None = None  # the category heading the lines read stand under

    def problem(self, line: int | None, reason: str, raw: Any = "") -> None:
        self.problems.add(self.path, line, reason, raw)

    def fact(self, key: str, value: str, line: int) -> None:
        """Keep a header fact; where the report states it twice, the first place counts."""
        if key not in self.facts or line < self.facts[key][1]:
            self.facts[key] = (value, line)

    def read(self) -> "ReportReader":
        for table in self.doc.tables:
            self._table(table)
        categories: list[tuple[int, str]] = []
        for section in self.doc.sections:
            while categories and categories[-1][0] >= section.level:
                categories.pop()
            self._section(section, categories)
        self._apply_hints()
        self._apply_covering()
        return self

    # ------------------------------------------------------------------ tables

    def _table(self, table: md.MdTable) -> None:
        header = [words.field_name(cell) for cell in table.header]
        eval_col = md.column(header, lambda c: c in words.EVAL_HEADERS)
        class_col = md.column(header, lambda c: "classification" in c or c in ("verdict", "class"))
        step_col = md.column(header, lambda c: c in words.STEP_HEADERS)
        evals_col = md.column(header, lambda c: c in ("evals", "failed evals", "eval names"))
        mention = words.is_mention(table.section.path)
        if eval_col is not None and (class_col is not None or step_col is not None):
            if not mention:
                self._failure_table(table, header, eval_col, class_col, step_col)
        elif header and header[0] in words.STEP_HEADERS and "count" in header:
            self._step_table(table, header.index("count"), evals_col)
        elif class_col == 0 and evals_col is not None:
            for number, raw, row in self._rows(table):
                value, _, understood = parse_classification(row[0])
                if understood:
                    self._hint(number, row[evals_col], "classification", value)
        elif not mention and sum(c in words.HEADER_FIELDS for c in header) >= 2 and table.rows:
            number, _, row = table.rows[0]
            for key, value in zip(header, row):
                if key in words.HEADER_FIELDS and md.clean(value):
                    self.fact(words.HEADER_FIELDS[key], value, number)

    def _rows(self, table: md.MdTable):
        for number, raw, row in table.rows:
            if len(row) != len(table.header):
                self.problem(number, f"table row has {len(row)} cells, the header has "
                             f"{len(table.header)}", raw)
                continue
            yield number, raw, row

    def _failure_table(self, table, header, eval_col, class_col, step_col) -> None:
        reason_col = md.column(header, lambda c: "reasoning" in c or c == "reason")
        error_col = md.column(header, lambda c: c in ("error", "error message"))
        category_col = md.column(header, lambda c: c == "category")
        for number, raw, row in self._rows(table):
            ref = take_eval(row[eval_col])
            if ref is None:
                text = md.clean(row[eval_col])
                if not text:
                    self.problem(number, "table row names no eval", raw)
                    continue
                ref = (*(text.split("/", 1) if "/" in text else (None, text)), "")
            failure = Failure(number, ref[0], ref[1])
            if failure.category is None and category_col is not None:
                failure.category = md.clean(row[category_col])
            if step_col is not None:
                failure.step, failure.tests_passed_pct = parse_step(row[step_col])
            if reason_col is not None:
                failure.reasoning = md.clean(row[reason_col])
            if error_col is not None:
                failure.error = md.clean(row[error_col])
            if class_col is not None:
                self._classify(failure, row[class_col], number, raw)
            self._add(failure, "table", raw)

    def _step_table(self, table: md.MdTable, count_col: int, evals_col: int | None) -> None:
        for number, raw, row in self._rows(table):
            step, _ = parse_step(row[0])
            if step in (None, "total"):
                continue
            count = re.match(r"\s*(\d+)", md.clean(row[count_col]) or "")
            if count is None:
                self.problem(number, "step count is not a number", raw)
                continue
            self.failed_by_step[step] = self.failed_by_step.get(step, 0) + int(count.group(1))
            if evals_col is not None:
                self._hint(number, row[evals_col], "step", step)

    def _hint(self, number: int, cell: str, what: str, value: str) -> None:
        for item in re.split(r"[,;]\s*", md.plain(cell)):
            ref = take_eval(item)
            if ref is not None:
                self.hints.append((number, ref[0], ref[1], what, value))

    # ------------------------------------------------------------------ sections

    def _section(self, section: md.Section, categories: list[tuple[int, str]]) -> None:
        mention = words.is_mention(section.path)
        failure, bare = None, None
        if section.level and not mention:
            failure, bare = self._title(section.title, section.line)
        if bare:
            categories.append((section.level, bare))
        if failure is None and not mention and section.level:
            self.free_lines.append((section.line, section.title))
        context = [c for _, c in categories if c != bare]
        self.category = context[-1] if context else None
        entry = _Entry(failure, "section")
        for number, line in section.lines:
            covering = None if line == md.CODE else words.covering_class(line)
            if covering:  # "All 11 failures are MODEL_FAULT"
                self.covering.append((covering, number, line.strip()))
            entry = self._line(section, entry, number, line, mention, failure is None) or entry
        if entry.failure is None and bare and "classification" in entry.fields:
            # "### 003-crons" with a classification under it is an eval, not a category.
            categories.pop()
            entry.failure = Failure(section.line, None, bare)
        self._finish(entry, section.title)

    def _title(self, title: str, number: int) -> tuple[Failure | None, str | None]:
        """A failure from a title (a heading, or a line all in bold) such as "3.
        005-function_calling (000-fundamentals) -- deploy", or the bare eval/category name of
        a title such as "000-fundamentals"."""
        text = words.HEADING_PREFIX.sub("", md.strip_numbering(md.plain(title)), count=1)
        ref = take_eval(text)
        if ref is None:
            return None, None
        category, name, rest = ref
        found = words.read_suffix(rest)
        if category is None and not (found["step"] or found["classification"]):
            return None, name
        failure = Failure(number, category, name, found["step"], found["pct"])
        failure.classification, failure.classification_note = found["classification"], found["note"]
        return failure, None

    def _line(self, section, entry: _Entry, number: int, line: str, mention: bool,
              items_start: bool) -> _Entry | None:
        """Read one line into ``entry``; a new entry when the line starts another failure."""
        if line == md.CODE or md.RULE.match(line) or not line.strip():
            entry.collecting = None
            entry.after_classification &= entry.kind != "item"  # a list item ends at a blank line
            if entry.prose and entry.prose[-1] != "":
                entry.prose.append("")
            return None
        bold = md.BOLD_LINE.match(line)
        if bold and items_start and not mention:
            started = self._title(bold["text"], number)[0]
            if started is not None:  # "**1. 003-crons (000-fundamentals) — deploy**"
                self._finish(entry, section.title)
                return _Entry(started, "section")
        item = md.list_item(line)
        if item and items_start and not mention:
            started = self._item(item[1], number)
            if started is not None:
                self._finish(entry, section.title)
                return _Entry(started, "item")
        found = md.field(line)
        if found:
            found = (words.field_name(found[0]), found[1])
        key = words.FAILURE_FIELDS.get(found[0]) if found else None
        if key == "eval" and items_start and not mention:
            ref = take_eval(found[1])
            if ref is not None:
                failure = Failure(number, ref[0], ref[1])
                if entry.failure is None:
                    entry.failure, entry.kind = failure, "item"
                    return None
                self._finish(entry, section.title)
                return _Entry(failure, "item")
        if key is not None and entry.failure is None and mention:
            return None  # a mention's fields are not this run's failures
        if key is not None and key != "eval":
            entry.collecting = None
            if key not in entry.fields and found[1]:
                entry.fields[key] = (number, found[1])
                entry.collecting = key if key == "reasoning" else None
            entry.after_classification |= key == "classification"
            return None
        if entry.failure is None and not mention:
            self.free_lines.append((number, line))
            if found and found[0] in words.HEADER_FIELDS:
                self.fact(words.HEADER_FIELDS[found[0]], found[1], number)
                return None
        if line.lstrip().startswith("|") or item:
            return None
        entry.text.append(line)
        if entry.collecting:
            num, text = entry.fields[entry.collecting]
            entry.fields[entry.collecting] = (num, f"{text} {line.strip()}")
        elif entry.after_classification:
            entry.prose.append(line.strip())
        return None

    def _item(self, text: str, number: int) -> Failure | None:
        """A failure from a list item that starts with an eval ("`003-crons` (deploy):
        MODEL_FAULT — reason"); None for other items and for lists of names ("a, b, c")."""
        ref = take_eval(text)
        if ref is None or re.match(r"\s*[,;&]|\s+and\s", ref[2]):
            return None
        found = words.read_suffix(ref[2])
        failure = Failure(number, ref[0], ref[1], found["step"], found["pct"])
        failure.classification, failure.classification_note = found["classification"], found["note"]
        failure.reasoning = md.clean(found["rest"])
        return failure

    def _finish(self, entry: _Entry, title: str) -> None:
        failure, fields = entry.failure, entry.fields
        if failure is None:
            if "classification" in fields:
                number, _ = fields["classification"]
                if words.covering_class(self.doc.lines[number - 1]) is None:  # else: noted as covering
                    self.problem(number, "a classification under a heading that names no eval", title)
            return
        if failure.category is None:
            failure.category = self.category
        if "reasoning" not in fields:
            paragraph = " ".join(md.first_paragraph(entry.prose))
            if paragraph:
                fields["reasoning"] = (failure.line, paragraph)
        self._apply_fields(failure, fields)
        if failure.classification is None and not failure.unknown_class:
            failure.classification = words.loose_classification(entry.text)
        self._add(failure, entry.kind, title)

    def _apply_fields(self, failure: Failure, fields: dict[str, tuple[int, str]]) -> None:
        if "classification" in fields:
            number, value = fields["classification"]
            self._classify(failure, value, number, self.doc.lines[number - 1])
        if "step" in fields:
            step, pct = parse_step(fields["step"][1])
            failure.step = failure.step or step
            if failure.tests_passed_pct is None:
                failure.tests_passed_pct = pct
        if "category" in fields and failure.category is None:
            failure.category = md.clean(fields["category"][1])
        if "error" in fields:
            failure.error = md.clean(fields["error"][1])
        if "reasoning" in fields:
            failure.reasoning = fields["reasoning"][1].strip()

    def _classify(self, failure: Failure, text: str | None, number: int, raw: str) -> None:
        if not md.clean(text):
            return
        value, note, understood = parse_classification(text)
        if not understood:
            failure.unknown_class = True
            self.problem(number, f"unknown classification {(md.clean(text) or '')[:60]!r}", raw)
            return
        failure.classification, failure.classification_note = value, note

    def _add(self, failure: Failure, kind: str, raw: str) -> None:
        """List a failure; the same eval again in another kind of listing fills in what the
        first lacks (a table row, then its details), in the same kind it is a problem."""
        key = failure.task_id
        known = self.by_task.get(key) or self._by_name(failure)
        if known is None:
            failure.listed.add(kind)
            self.by_task[key] = failure
            self.failures.append(failure)
            return
        if kind in known.listed:
            self.problem(failure.line, f"eval {key} is listed twice; the first entry is kept", raw)
        known.listed.add(kind)
        known.fill_from(failure)

    def _by_name(self, failure: Failure) -> Failure | None:
        """The one failure listed with the same eval name where either side has no category."""
        same = [f for f in self.failures if f.name == failure.name
                and (f.category is None or failure.category is None)]
        return same[0] if len(same) == 1 else None

    # ------------------------------------------------------------------ covering facts

    def _apply_covering(self) -> None:
        classes = {c for c, _, _ in self.covering}
        open_ = [f for f in self.failures if f.classification is None and not f.unknown_class]
        if not open_ or not classes:
            return
        if len(classes) > 1:
            _, number, sentence = self.covering[0]
            self.problem(number, f"sentences classifying every failure disagree ({', '.join(sorted(classes))}); "
                         "not used", sentence)
            return
        for failure in open_:
            failure.classification = next(iter(classes))

    def _apply_hints(self) -> None:
        """Steps and classes named in summary tables fill the failures listed; a report that
        lists its failures only there gets them from there."""
        for number, category, name, what, value in self.hints:
            target = Failure(number, category, name)
            known = self.by_task.get(target.task_id) or self._by_name(target)
            if known is None and not any("summary" not in f.listed for f in self.failures):
                self._add(target, "summary", "")
                known = target
            if known is not None and getattr(known, what) is None:
                setattr(known, what, value)

