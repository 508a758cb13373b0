"""MassGen's ``execution_trace.md``, parsed into calls, notes and votes.

``massgen.execution_trace.ExecutionTraceWriter.to_markdown`` writes a header (``# Execution
Trace: <agent>``, ``**Model**: <model> | **Started**: YYYY-MM-DD HH:MM:SS``, the writer's local
clock) and then one section per entry, each followed by one empty line:

- ``## Round N (Answer L)``; ``### Injected Context: <name>`` + text;
- ``### Tool Call: <name>`` + ``**Args**:`` + a fenced ``json`` block (``json.dumps(args,
  indent=2)``: one value, no raw newline inside a string);
- ``### Tool Result: <name>`` / ``### Tool Error: <name>`` + a fenced block of the raw result;
- ``### Reasoning`` / ``### Content`` + text; ``### Answer Submitted (L)`` + text;
- ``### Vote Cast: <label or agent>`` + ``**Available options**:``, ``**Voted for**:``,
  ``**Reason**:`` lines;
- at the end, when a tool failed, ``---`` and ``## Errors`` with one ``- [HH:MM:SS] **Tool
  Error: <name>** - <text>`` line per error (the only times in the file).

Rules this parser follows (the bodies are written unescaped, so they can hold lines that look
like headings):

1. A heading counts only at the start of a line after an empty line, and only if the lines
   after it have its kind's shape (a call: ``**Args**:`` then a fence; a result: a fence; a
   vote: one of its ``**...**:`` lines).
2. A tool result's body is fenced: a heading inside it (before its closing fence and the
   empty line after it) is part of the result.
3. Results join calls of the same tool first in, first out (calls may be written back to back
   before their results; workflow calls have none). A call written again, with the same
   arguments, while the first is still waiting for its result is one call recorded twice
   (MassGen's ChatCompletions backend records a call when it streams and again when it runs
   it): it is folded into the first (``records: 2``), not counted as a second call.
4. An unknown ``### X`` heading after a closed section is a section this parser does not read:
   one problem row per run ("not read: execution_trace.md section '### X'").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..model import Problems

WORKFLOW_TOOLS = ("new_answer", "vote")
_TITLE = re.compile(r"^# Execution Trace: (?P<agent>.*)$")
_MODEL = re.compile(r"^\*\*Model\*\*: (?P<model>.*) \| \*\*Started\*\*: (?P<started>.*)$")
_HEADING = re.compile(
    r"^(?:## Round (?P<round>\d+) \(Answer (?P<round_label>.*)\)"
    r"|### (?P<named>Tool Call|Tool Result|Tool Error|Injected Context|Vote Cast): ?(?P<name>.*)"
    r"|### (?P<plain>Reasoning|Content)"
    r"|### Answer Submitted \((?P<answer_label>.*)\)"
    r"|(?P<errors>## Errors))$")
_UNKNOWN = re.compile(r"^### [A-Z][\w ]*(?::.*)?$")
_ERROR_LINE = re.compile(r"^- \[(?P<time>\d\d:\d\d:\d\d)\] \*\*Tool Error: (?P<name>.*?)\*\* - (?P<text>.*)$")
_FENCED = ("Tool Call", "Tool Result", "Tool Error")


@dataclass
class Entry:
    """One section: ``kind`` is call, result, reasoning, content, context, answer or vote."""

    kind: str
    line: int
    name: str | None = None
    text: str | None = None
    args: Any = None
    round: int | None = None
    round_label: str | None = None
    # calls: the joined result
    result: str | None = None
    result_line: int | None = None
    is_error: bool = False
    error_time: str | None = None
    records: int = 1
    # votes
    options: list[str] = field(default_factory=list)
    voted_for: str | None = None


@dataclass
class Trace:
    agent: str | None
    model: str | None
    started: pd.Timestamp | None
    entries: list[Entry]

    def calls(self, workflow: bool | None = None) -> list[Entry]:
        """The tool calls (``workflow``: only vote/new_answer, or only the others)."""
        return [e for e in self.entries if e.kind == "call" and (
            workflow is None or (e.name in WORKFLOW_TOOLS) == workflow)]


def parse_trace(text: str, file: Any, problems: Problems) -> Trace:
    """The trace in ``text`` (problems against ``file``).

    >>> t = parse_trace("# Execution Trace: a\\n**Model**: m | **Started**: 2026-01-02 03:04:05\\n\\n"
    ...                 "### Tool Call: ls\\n**Args**:\\n```json\\n{}\\n```\\n\\n"
    ...                 "### Tool Result: ls\\n```\\nx\\n```\\n", "f", Problems())
    >>> t.agent, t.model, [(e.kind, e.name, e.result) for e in t.entries]
    ('a', 'm', [('call', 'ls', 'x')])
    """
    lines = text.replace("\r\n", "\n").split("\n")
    agent, model, started, first = _header(lines, file, problems)
    sections = _sections(lines, first, file, problems)
    entries: list[Entry] = []
    current_round: tuple[int | None, str | None] = (None, None)
    errors: list[dict] = []
    for heading, start, body in sections:
        if heading is None:  # a section this parser does not read (a problem row already)
            continue
        kind = _kind(heading)
        if kind == "round":
            current_round = (int(heading.group("round")), heading.group("round_label"))
            continue
        if kind == "errors":
            errors = _error_lines(body, start, file, problems)
            continue
        entry = _entry(kind, heading, start, body, file, problems)
        entry.round, entry.round_label = current_round
        entries.append(entry)
    return Trace(agent, model, started, _join(entries, errors, file, problems))


def _header(lines: list[str], file: Any, problems: Problems) -> tuple[str | None, str | None, Any, int]:
    """(agent, model, started, index of the first line after the header)."""
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    title = _TITLE.match(lines[i]) if i < len(lines) else None
    if title is None:
        problems.add(file, i + 1, "no '# Execution Trace: <agent>' header; agent unknown",
                     lines[i] if i < len(lines) else "")
        return None, None, None, i
    model_line = _MODEL.match(lines[i + 1]) if i + 1 < len(lines) else None
    if model_line is None:
        problems.add(file, i + 2, "no '**Model**: ... | **Started**: ...' line; model and start unknown",
                     lines[i + 1] if i + 1 < len(lines) else "")
        return title.group("agent").strip(), None, None, i + 1
    started = pd.to_datetime(model_line.group("started").strip(), format="%Y-%m-%d %H:%M:%S",
                             errors="coerce")
    if pd.isna(started):
        problems.add(file, i + 2, "unreadable Started time; taken as NA", model_line.group("started"))
        started = None
    else:  # the writer's local clock, which the file does not name: taken as UTC
        started = started.tz_localize("UTC")
    return title.group("agent").strip(), model_line.group("model").strip(), started, i + 2


def _kind(heading: re.Match) -> str:
    if heading.group("round") is not None:
        return "round"
    if heading.group("errors"):
        return "errors"
    if heading.group("plain"):
        return heading.group("plain").lower()
    if heading.group("answer_label") is not None:
        return "answer"
    return {"Tool Call": "call", "Tool Result": "result", "Tool Error": "error",
            "Injected Context": "context", "Vote Cast": "vote"}[heading.group("named")]


def _shaped(heading: re.Match, lines: list[str], i: int) -> bool:
    """Whether the lines after the heading at ``i`` have the shape of its kind."""
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    named = heading.group("named")
    if named == "Tool Call":
        return nxt == "**Args**:" and i + 2 < len(lines) and lines[i + 2].startswith("```")
    if named in ("Tool Result", "Tool Error"):
        return nxt.startswith("```")
    if named == "Vote Cast":
        return nxt.startswith(("**Available options**:", "**Voted for**:"))
    if heading.group("errors"):
        return i >= 2 and lines[i - 2] == "---"
    return True


def _fenced_kind(heading: re.Match | None) -> bool:
    return heading is not None and heading.group("named") in _FENCED


def _closed(body: list[str]) -> bool:
    """Whether a fenced body so far ends with its closing fence (then empty lines)."""
    text = [line for line in body]
    while text and not text[-1].strip():
        text.pop()
    return len(text) >= 2 and text[-1] == "```"


def _sections(lines: list[str], first: int, file: Any, problems: Problems) -> list[tuple[re.Match | None, int, list[str]]]:
    """(heading match, 1-based line, body lines) of each section, by rules 1, 2 and 4."""
    sections: list[tuple[re.Match | None, int, list[str]]] = []
    stray: list[int] = []
    for i in range(first, len(lines)):
        line = lines[i]
        after_blank = i == first or not lines[i - 1].strip() or (line == "## Errors" and lines[i - 1] == "")
        heading = _HEADING.match(line) if after_blank else None
        if heading and _shaped(heading, lines, i):
            body = sections[-1][2] if sections else []
            if heading.group("errors"):
                body = _without_rule(body)
            if sections and _fenced_kind(sections[-1][0]) and not _closed(body):
                heading = None  # rule 2: still inside a fenced body
        if heading and _shaped(heading, lines, i):
            if heading.group("errors") and sections:
                sections[-1][2][:] = _without_rule(sections[-1][2])
            sections.append((heading, i + 1, []))
            continue
        if after_blank and _UNKNOWN.match(line) and (not sections or (
                _fenced_kind(sections[-1][0]) and _closed(sections[-1][2]))):
            problems.once(file, i + 1, f"not read: execution_trace.md section {line.split(':')[0]!r}", line)
            sections.append((None, i + 1, []))  # its body is its own, not the result's before it
            continue
        if sections:
            sections[-1][2].append(line)
        elif line.strip():
            stray.append(i + 1)
    if stray:
        problems.add(file, stray[0], f"{len(stray)} line(s) before the first section; not read",
                     lines[stray[0] - 1])
    return sections


def _without_rule(body: list[str]) -> list[str]:
    """A body without the ``---`` rule (and empty lines) the writer puts above ``## Errors``."""
    body = list(body)
    while body and not body[-1].strip():
        body.pop()
    if body and body[-1] == "---":
        body.pop()
    return body


def _body_text(body: list[str]) -> str:
    """A free-text body without the empty line the writer puts after every entry."""
    body = list(body)
    while body and body[-1] == "":
        body.pop()
    return "\n".join(body)


def _fenced(body: list[str], start: int, file: Any, problems: Problems, what: str) -> str:
    lines = _body_text(body).split("\n")
    if len(lines) >= 2 and lines[0].startswith("```") and lines[-1] == "```":
        return "\n".join(lines[1:-1])
    problems.add(file, start, f"{what} is not a fenced block; its text is taken as it is", "\n".join(lines)[:200])
    return "\n".join(lines)


def _entry(kind: str, heading: re.Match, start: int, body: list[str], file: Any, problems: Problems) -> Entry:
    name = heading.group("name")
    if kind == "call":
        raw = _fenced(body[1:], start + 1, file, problems, f"the arguments of {name}")
        try:
            args = json.loads(raw)
        except ValueError:
            problems.add(file, start + 2, f"the arguments of {name} are not valid JSON; kept as text", raw)
            args = raw
        return Entry("call", start, name=name, args=args)
    if kind in ("result", "error"):
        return Entry("result", start, name=name, text=_fenced(body, start, file, problems, f"the result of {name}"),
                     is_error=kind == "error")
    if kind == "vote":
        return _vote(name, start, body)
    label = heading.group("answer_label") if kind == "answer" else (name if kind == "context" else None)
    return Entry(kind, start, name=label, text=_body_text(body))


def _vote(target: str, start: int, body: list[str]) -> Entry:
    entry = Entry("vote", start, voted_for=target.strip())
    reason: list[str] | None = None
    for line in _body_text(body).split("\n"):
        if reason is not None:
            reason.append(line)
        elif line.startswith("**Available options**:"):
            entry.options = [o.strip() for o in line.split(":", 1)[1].split(",") if o.strip()]
        elif line.startswith("**Voted for**:"):
            entry.voted_for = line.split(":", 1)[1].strip()
        elif line.startswith("**Reason**:"):
            reason = [line.split(":", 1)[1].lstrip()]
    entry.text = "\n".join(reason) if reason is not None else None
    return entry


def _error_lines(body: list[str], start: int, file: Any, problems: Problems) -> list[dict]:
    """The ``## Errors`` list: one item per line starting ``- [HH:MM:SS] **Tool Error:``
    (an error's text may go on over the next lines)."""
    items: list[dict] = []
    for offset, line in enumerate(body):
        m = _ERROR_LINE.match(line)
        if m:
            items.append({"time": m.group("time"), "name": m.group("name"), "text": m.group("text"),
                          "line": start + offset + 1})
        elif items and line:
            items[-1]["text"] += "\n" + line
        elif line.strip():
            problems.add(file, start + offset + 1, "a line of the Errors list that is not an error; not read", line)
    return items


def _join(entries: list[Entry], errors: list[dict], file: Any, problems: Problems) -> list[Entry]:
    """Results into their calls, first in first out per tool; then rule 3's second records
    folded into their first; error times from the Errors list."""
    pending: dict[str, list[Entry]] = {}
    out: list[Entry] = []
    for entry in entries:
        if entry.kind == "call":
            pending.setdefault(entry.name, []).append(entry)
            out.append(entry)
        elif entry.kind == "result":
            waiting = pending.get(entry.name) or []
            if waiting:
                _attach(_next_waiting(waiting, out), entry)
                continue
            problems.add(file, entry.line, f"a result of {entry.name} with no call before it; "
                         "kept as a call with unknown arguments", (entry.text or "")[:200])
            orphan = Entry("call", entry.line, name=entry.name)
            _attach(orphan, entry)
            out.append(orphan)
        else:
            out.append(entry)
    out = _fold_second_records(out)
    failed = [e for e in out if e.kind == "call" and e.is_error]
    for call, item in zip(failed, errors):  # the Errors list repeats them in order
        if call.name == item["name"]:
            call.error_time = item["time"]
    return out


def _is_second_record(call: Entry, before: list[Entry]) -> bool:
    """Whether an identical earlier call was waiting when ``call`` was written and has had
    its result since (so ``call`` is most likely its second record)."""
    return any(p is not call and p.kind == "call" and p.line < call.line and p.name == call.name
               and p.args == call.args and (p.result_line or 0) > call.line for p in before)


def _next_waiting(waiting: list[Entry], seen: list[Entry]) -> Entry:
    """The call a result belongs to: the first waiting one that is not a second record of a
    call already answered (else the first waiting one)."""
    for i, call in enumerate(waiting):
        if not _is_second_record(call, seen):
            return waiting.pop(i)
    return waiting.pop(0)


def _fold_second_records(entries: list[Entry]) -> list[Entry]:
    """A call with no result, written while an identical call was still waiting for the
    result it then got, is that call's second record."""
    calls = [e for e in entries if e.kind == "call"]
    folded: set[int] = set()
    for i, call in enumerate(calls):
        if call.result_line is not None or call.name in WORKFLOW_TOOLS:
            continue
        first = next((p for p in calls[:i] if id(p) not in folded and p.name == call.name
                      and p.args == call.args and (p.result_line or 0) > call.line), None)
        if first is not None:
            first.records += 1
            folded.add(id(call))
    return [e for e in entries if id(e) not in folded]


def _attach(call: Entry, result: Entry) -> None:
    call.result, call.result_line, call.is_error = result.text, result.line, result.is_error
