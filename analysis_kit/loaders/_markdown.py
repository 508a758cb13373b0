"""Reading markdown that people and LLMs write: sections, tables, fields and list items, with
their line numbers, whatever markup the writer chose.

A report written from a template comes back in many shapes: a fact is a bold field
(``**Pass rate:** 55/66``, ``- **Model**: x``), a plain one (``Run ID: jn7...``), a row of a
two-column table (``| Model | x |``), or a cell of a one-row table; a value may be wrapped in
bold or a code span. This module gives a format the text's structure so that it can look for
each fact wherever it is:

- :class:`Markdown`: the text split into :class:`Section` s (one per heading, with the titles
  of the headings around it) and :class:`MdTable` s, code blocks kept apart;
- :func:`field`: the ``(key, value)`` of a field line in any of those shapes;
- :func:`list_item`, :func:`clean`, :func:`plain`, :func:`cells`.

>>> md = Markdown("# Report\\n\\n- **Pass rate:** `55/66`\\n\\n## Failures\\n\\n| Eval | Class |\\n|---|---|\\n| a | X |\\n")
>>> [s.path for s in md.sections], md.title
([(), ('Report',), ('Report', 'Failures')], 'Report')
>>> field(md.sections[1].lines[1][1]), clean("`55/66`")
(('pass rate', '`55/66`'), '55/66')
>>> md.tables[0].header, md.tables[0].rows[0][0], md.tables[0].rows[0][2]
(['eval', 'class'], 9, ['a', 'X'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field as dataclass_field

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
LIST_ITEM = re.compile(r"^(?P<indent>\s*)(?:[-*+]|\d+[.)])\s+(?P<text>.*)$")
BOLD_LINE = re.compile(r"^\s*(?:\*\*|__)(?P<text>[^*_].*?)(?:\*\*|__):?\s*$")  # a line all in bold
NUMBERING = re.compile(r"^(?:\d+\s*[.):]|#\d+\s*[.):]?)\s+")
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
# "**Key**: v", "**Key:** v", "__Key__ - v", "*Key*: v": the key in emphasis, then the value.
EMPHASIS_FIELD = re.compile(r"^(?P<mark>\*\*|__|\*|_)(?P<key>[^*_`]{1,60}?)\s*(?P<colon>:?)\s*(?P=mark)"
                            r"\s*(?P<sep>:|—|–|-{1,2}|=)?\s*(?P<value>.*)$")
PLAIN_FIELD = re.compile(r"^(?P<key>[A-Za-z][\w ()/\-]{0,40}?)\s*:\s+(?P<value>\S.*)$")
CODE = "\x00code"  # a line inside a code block: never a field, a heading or prose


@dataclass
class Section:
    """The lines under one heading (``level`` 0: the text before the first heading)."""

    level: int
    title: str
    line: int
    path: tuple[str, ...]  # the titles of the enclosing headings and this one, outermost first
    lines: list[tuple[int, str]] = dataclass_field(default_factory=list)


@dataclass
class MdTable:
    """A pipe table: its header cells (cleaned, lower-case) and its rows (line, raw, cells),
    separator rows left out; ``section`` is the section it stands in."""

    line: int
    header: list[str]
    rows: list[tuple[int, str, list[str]]]
    section: Section


class Markdown:
    """A markdown text as sections and tables (see the module's example)."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.title: str | None = None
        self.sections: list[Section] = [Section(0, "", 0, ())]
        self.tables: list[MdTable] = []
        self._open_headings: list[Section] = []
        self._split()

    def _split(self) -> None:
        in_code, table = False, []
        for number, line in enumerate(self.lines, start=1):
            fence = FENCE.match(line)
            if fence:
                in_code = not in_code
            is_row = not in_code and not fence and line.lstrip().startswith("|")
            if table and not is_row:
                self._add_table(table)
                table = []
            if is_row:
                table.append((number, line))
            heading = None if in_code or fence else HEADING.match(line)
            if heading:
                self._open(len(heading["hashes"]), heading["text"], number)
                continue
            self.sections[-1].lines.append((number, CODE if in_code or fence else line))
        if table:
            self._add_table(table)

    def _open(self, level: int, title: str, number: int) -> None:
        if level == 1 and self.title is None:
            self.title = title
        while self._open_headings and self._open_headings[-1].level >= level:
            self._open_headings.pop()
        path = tuple(s.title for s in self._open_headings) + (title,)
        section = Section(level, title, number, path)
        self._open_headings.append(section)
        self.sections.append(section)

    def _add_table(self, rows: list[tuple[int, str]]) -> None:
        header = [(clean(c) or "").lower() for c in cells(rows[0][1])]
        body = [(n, raw, cells(raw)) for n, raw in rows[1:] if not is_separator(cells(raw))]
        self.tables.append(MdTable(rows[0][0], header, body, self.sections[-1]))


def cells(line: str) -> list[str]:
    """The cells of a table row; ``\\|`` is a literal pipe inside a cell.

    >>> cells("| a | b \\\\| c |")
    ['a', 'b | c']
    """
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", body)]


def column(header: list[str], test) -> int | None:
    """The index of the first header cell for which ``test`` is true, else None."""
    return next((i for i, cell in enumerate(header) if test(cell)), None)


def is_separator(row: list[str]) -> bool:
    return bool(row) and all(re.fullmatch(r":?-{2,}:?", c.replace(" ", "")) for c in row)


def clean(value: str | None) -> str | None:
    """A value without wrapping emphasis or code span (repeatedly) and with links as their
    text; inner markup is text the writer wrote and stays. None when nothing is left.

    >>> clean(" **`38/66`** "), clean("`a` and `b`"), clean("[jn7x](https://e/run/jn7x)"), clean("** **")
    ('38/66', '`a` and `b`', 'jn7x', None)
    """
    if value is None:
        return None
    value = LINK.sub(r"\1", value).strip()
    changed = True
    while changed:
        changed = False
        for mark in ("**", "__", "`", "*", "_"):
            inner = value[len(mark):-len(mark)]
            if value.startswith(mark) and value.endswith(mark) and len(value) > 2 * len(mark) \
                    and mark not in inner:
                value, changed = inner.strip(), True
    return value or None


def plain(text: str | None) -> str:
    """``text`` without emphasis marks, code spans' backticks and link targets (for finding
    names in it, never for values kept as written).

    >>> plain("**`003-crons`** ([log](http://x))")
    '003-crons (log)'
    """
    return re.sub(r"\*\*|__|`", "", LINK.sub(r"\1", text or "")).strip()


def list_item(line: str) -> tuple[int, str] | None:
    """(indent, text) of a list item line, else None.

    >>> list_item("  - **Error:** x"), list_item("plain")
    ((2, '**Error:** x'), None)
    """
    match = LIST_ITEM.match(line)
    return (len(match["indent"].expandtabs(4)), match["text"]) if match else None


def field(line: str) -> tuple[str, str] | None:
    """(key, value) of a field line: ``**Key**: v``, ``**Key:** v``, ``- **Key** — v``,
    ``Key: v``, or a two-cell table row ``| Key | v |``. The key is cleaned and lower-case;
    the value is as written (stripped). The caller decides which keys it knows.

    >>> field("- **Classification:** MODEL_FAULT"), field("| **Error** | `x` |"), field("Run ID: jn7")
    (('classification', 'MODEL_FAULT'), ('error', '`x`'), ('run id', 'jn7'))
    >>> field("Just prose, no field."), field("**Bold** prose without a separator")
    (None, None)
    """
    stripped = line.strip()
    if stripped.startswith("|"):
        row = cells(stripped)
        if len(row) != 2 or is_separator(row):
            return None
        key = clean(row[0])
        return ((key.rstrip(":").strip().lower(), row[1].strip()) if key else None)
    item = list_item(line)
    text = item[1] if item else stripped
    match = EMPHASIS_FIELD.match(text)
    if match and (match["colon"] or match["sep"]):
        return match["key"].strip().rstrip(":").strip().lower(), match["value"].strip()
    match = PLAIN_FIELD.match(text)
    if match:
        return match["key"].strip().lower(), match["value"].strip()
    return None


def first_paragraph(lines: list[str]) -> list[str]:
    """The lines of the first paragraph (``""`` separates paragraphs)."""
    out: list[str] = []
    for line in lines:
        if line == "":
            if out:
                break
            continue
        out.append(line)
    return out


def strip_numbering(text: str) -> str:
    """A heading's text without its leading number (``1.``, ``2)``, ``#3``)."""
    return NUMBERING.sub("", text, count=1)
