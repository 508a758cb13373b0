"""Loader for exports of Logfire's ``records`` table (and Phoenix's span dataframe).

What Logfire's query API returns (``logfire.query_client.LogfireQueryClient``):
``query_json_rows`` gives ``{"columns": [{"name", "datatype", "nullable"}], "rows":
[{column: value}]}`` (the raw ``/v2/query`` answer is ``{"schema": {"fields"}, "data"}``),
``query_csv`` CSV text, ``query_arrow`` an Arrow table users save as Parquet. The columns are
those of ``records`` (Logfire's SQL reference): ``trace_id``, ``span_id``, ``parent_span_id``
(hex; null for a root), ``span_name`` (the message template), ``message`` (filled in),
``kind`` (``span``, ``log``; ``pending_span`` only in ``records_full``), ``start_timestamp``,
``end_timestamp``, ``duration`` (seconds, null for logs), ``level`` (9 info, 13 warn, 17
error), ``attributes`` (a JSON object; JSON text in CSV/Parquet), ``otel_events``,
``is_exception``, ``exception_type``, ``exception_message``, ``otel_status_code``,
``otel_status_message``, ``otel_scope_name``, ``service_name``, ... Any subset of columns
is read; rows may also be a bare JSON list or JSON lines.

Phoenix's span dataframe (``Client().spans.get_spans_dataframe()`` saved as Parquet) has the
same shape under other names: ``context.span_id``, ``context.trace_id``, ``parent_id``,
``name``, ``span_kind``, ``start_time``, ``end_time``, ``status_code``, ``status_message``,
``events`` and one ``attributes.<key>`` column per attribute; it is read by renaming.

>>> from analysis_kit.loaders import logfire                 # doctest: +SKIP
>>> run = logfire.load(Path("records.parquet"))               # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..model import Problems, Run
from ._read import MISSING, Source, decode, head, iter_jsonl, parse_json, read_bytes, sniffed
from ._registry import Format, register
from ._span_run import run_from_spans
from ._spans import Span
from ._values import short_json, to_utc_ns

FORMAT = "logfire"
PHOENIX_COLUMNS = {"context.span_id": "span_id", "context.trace_id": "trace_id", "parent_id": "parent_span_id",
                   "name": "span_name", "start_time": "start_timestamp", "end_time": "end_timestamp",
                   "status_code": "otel_status_code", "status_message": "otel_status_message",
                   "events": "otel_events"}
ERROR_LEVEL = 17


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _json_value(value: Any) -> Any:
    """A JSON column's value: JSON text (CSV, Parquet) decoded, objects as they are."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def timestamp_ns(value: Any) -> int | None:
    """ISO text, a datetime/Timestamp, or epoch numbers (s, ms, us or ns by magnitude), as the
    core reads them (``_values.to_utc_ns``); NaN cells of CSV and Parquet are absent."""
    return None if _missing(value) else to_utc_ns(value)


def _attributes(row: dict[str, Any]) -> dict[str, Any]:
    attrs = _json_value(row.get("attributes"))
    attrs = dict(attrs) if isinstance(attrs, dict) else {}
    for key, value in row.items():  # Phoenix: one column per attribute
        if key.startswith("attributes.") and not _missing(value):
            attrs[key[len("attributes."):]] = _json_value(value)
    return attrs


def _events(row: dict[str, Any]) -> list[tuple[str, int | None, dict[str, Any]]]:
    events = []
    for event in _json_value(row.get("otel_events")) or []:
        if isinstance(event, dict):
            events.append((event.get("name"), timestamp_ns(event.get("timestamp")),
                           event.get("attributes") or {}))
    if row.get("is_exception") in (True, "true", "True", 1) and not any(e[0] == "exception" for e in events):
        events.append(("exception", None, {"exception.type": row.get("exception_type"),
                                           "exception.message": row.get("exception_message")}))
    return events


def span_from_row(row: dict[str, Any]) -> Span:
    """One records row (or Phoenix dataframe row) as a Span."""
    if "context.span_id" in row:
        row = {PHOENIX_COLUMNS.get(k, k): v for k, v in row.items()}
    attrs = _attributes(row)
    start = timestamp_ns(row.get("start_timestamp"))
    end = timestamp_ns(row.get("end_timestamp"))
    duration = row.get("duration")
    if end is None and start is not None and not _missing(duration):
        end = start + int(float(duration) * 1e9)
    status = str(row.get("otel_status_code") or "").upper().removeprefix("STATUS_CODE_")
    level = row.get("level")
    if status != "ERROR" and not _missing(level) and str(level).isdigit() and int(level) >= ERROR_LEVEL:
        status = "ERROR"  # an error-level log, e.g. logfire.error(...)
    if not _missing(row.get("message")) and row.get("message") != row.get("span_name"):
        attrs.setdefault("logfire.msg", row["message"])
    return Span(
        trace_id=None if _missing(row.get("trace_id")) else str(row["trace_id"]),
        span_id=None if _missing(row.get("span_id")) else str(row["span_id"]),
        parent_id=None if _missing(row.get("parent_span_id")) else str(row["parent_span_id"]),
        name=str(row.get("span_name") or ""), start_ns=start, end_ns=end, attributes=attrs,
        status={"ERROR": "error", "OK": "ok"}.get(status, "unset"),
        status_message=None if _missing(row.get("otel_status_message")) else str(row["otel_status_message"]),
        events=_events(row), service=None if _missing(row.get("service_name")) else str(row["service_name"]),
        scope=None if _missing(row.get("otel_scope_name")) else str(row["otel_scope_name"]),
        is_log=row.get("kind") == "log" or attrs.get("logfire.span_type") == "log")


# ----------------------------------------------------------------------------- reading

SNIFF_BYTES = 64 * 1024
RECORD_MARKERS = ("span_name", "trace_id", "span_id")
PHOENIX_MARKERS = ("context.span_id", "context.trace_id")


@dataclass(frozen=True)
class Options:
    """``task_key``: what a task is: ``"trace"`` (one per trace), ``"conversation"``
    (``gen_ai.conversation.id`` / ``session.id``) or the name of an attribute the run records."""

    task_key: str = "trace"


def _has_markers(names: Any) -> bool:
    names = set(names)
    return all(m in names for m in RECORD_MARKERS) or all(m in names for m in PHOENIX_MARKERS)


def sniff(path: Path) -> bool:
    """True for a Logfire ``records`` export (JSON, JSON lines, CSV, Parquet) or a Phoenix
    span dataframe saved as Parquet: rows with ``trace_id``, ``span_id`` and ``span_name``
    (or ``context.span_id``/``context.trace_id``). Reads at most 64 KB; never raises.

    >>> sniff(Path("/nonexistent"))
    False
    """
    return sniffed(path, _sniff_file)


def _sniff_file(path: Path) -> bool:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return _has_markers(pq.read_schema(path).names)
    text = head(path, SNIFF_BYTES).decode("utf-8", "replace")
    if path.suffix == ".csv":
        return _has_markers(next(csv.reader(io.StringIO(text.split("\n", 1)[0])), []))
    if path.suffix in (".json", ".jsonl") and text.lstrip()[:1] in ("{", "["):
        return all(f'"{m}"' in text for m in RECORD_MARKERS) or all(f'"{m}"' in text for m in PHOENIX_MARKERS)
    return False


def _parquet_rows(path: Path, problems: Problems) -> Iterator[tuple[int | None, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        problems.add(path, None, f"not a readable Parquet file: {exc}")
        return
    yield from enumerate(table.to_pylist(), 1)


def _rows(path: Path, problems: Problems) -> Iterator[tuple[int | None, Any]]:
    """(line, or row number for Parquet and JSON documents, row) of the export."""
    if path.suffix == ".parquet":
        yield from _parquet_rows(path, problems)
        return
    data = read_bytes(path, problems)
    if data is None:
        return
    if path.suffix == ".csv":
        text = decode(data, path, problems)
        yield from enumerate(csv.DictReader(io.StringIO(text, newline="")), 2)
        return
    if path.suffix == ".jsonl":
        yield from iter_jsonl(path, problems, data=data)
        return
    document, _ = parse_json(Source(path, decode(data, path, problems)), problems, arrays=("rows", "data"))
    if isinstance(document, dict):
        document = document.get("rows", document.get("data"))
    if document is MISSING:
        return
    if not isinstance(document, list):
        problems.add(path, None, 'no rows: expected {"rows": [...]}, {"data": [...]} or a list', short_json(document))
        return
    yield from ((None, row) for row in document)


def load(path: Path, *, strict: bool = False, **options: Any) -> Run:
    """Load a records export (see the module docstring) into a Run."""
    opts = SPEC.options_from(options, path)
    path = Path(path)
    problems = Problems(strict)
    rows = []
    for number, row in _rows(path, problems):
        if isinstance(row, dict):
            rows.append((number, row))
        else:
            problems.add(path, number, "a records row must be an object", short_json(row))
    finished = {(r.get("trace_id"), r.get("span_id")) for _, r in rows if r.get("kind") != "pending_span"}
    spans = []
    for number, row in rows:
        if row.get("kind") == "pending_span" and (row.get("trace_id"), row.get("span_id")) in finished:
            continue  # the placeholder Logfire writes while a span is open; its finished row is here
        span = span_from_row(row)
        span.where = (str(path), number)
        spans.append(span)
    return run_from_spans(spans, meta={"run_id": path.stem, "source_format": FORMAT, "path": str(path)},
                          problems=problems, task_key=opts.task_key)


SPEC = register(Format(name=FORMAT, sniff=sniff, load=load, options=Options, priority=61,
                       description="Logfire records exports (JSON, CSV, Parquet) and Phoenix span dataframes"))
