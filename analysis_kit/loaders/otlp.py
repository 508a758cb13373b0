"""Loader for OpenTelemetry span exports in OTLP JSON.

What writers produce:

- The OpenTelemetry Collector's ``file`` exporter (and the spec's OTLP file exporter): JSON
  lines, one ``ExportTraceServiceRequest``/``TracesData`` per line, in OTLP/JSON: keys in
  lowerCamelCase, ``traceId``/``spanId``/``parentSpanId`` as hex, ``kind`` and
  ``status.code`` as integers, 64-bit integers (``startTimeUnixNano``, ``intValue``) as
  decimal strings, empty fields left out. Lines are not ordered; spans of one trace may be
  spread over several lines.
- The plain protobuf JSON mapping (``google.protobuf.json_format.MessageToJson`` of the
  SDK's ``ExportTraceServiceRequest``): one (often indented) document, ids as base64, enums
  by name (``SPAN_KIND_CLIENT``, ``STATUS_CODE_ERROR``). Some tools write snake_case keys
  (``resource_spans``): accepted too.

A document is ``{"resourceSpans": [{"resource": {"attributes": [...]}, "scopeSpans":
[{"scope": {...}, "spans": [...]}]}]}`` (``instrumentationLibrarySpans`` in old versions).
Attribute values are ``AnyValue``s (``stringValue``, ``intValue``, ``doubleValue``,
``boolValue``, ``arrayValue``, ``kvlistValue``, ``bytesValue``). The spans are mapped by
:mod:`._spans`.

>>> from analysis_kit.loaders import otlp                    # doctest: +SKIP
>>> run = otlp.load(Path("traces.jsonl"))                     # doctest: +SKIP
>>> run.events.groupby("kind").duration_ms.describe()         # doctest: +SKIP
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..model import Problems, Run
from ._read import MISSING, Source, decode, head, iter_jsonl, parse_json, read_bytes, sniffed
from ._registry import Format, register
from ._span_run import run_from_spans
from ._spans import Span
from ._values import short_json

FORMAT = "otlp"
STATUS_NAMES = {0: "unset", 1: "ok", 2: "error", "STATUS_CODE_UNSET": "unset", "STATUS_CODE_OK": "ok",
                "STATUS_CODE_ERROR": "error"}
SPAN_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


def _get(node: dict, camel: str, snake: str) -> Any:
    value = node.get(camel)
    return node.get(snake) if value is None else value


def hex_id(value: Any) -> str | None:
    """An id as lower-case hex: OTLP/JSON's hex as it is, the protobuf mapping's base64
    (24 or 12 characters for 16- or 8-byte ids) decoded. Empty or all-zero ids are None."""
    if not value or not isinstance(value, str):
        return None
    if len(value) in (32, 16):
        text = value.lower()
    else:
        try:
            text = base64.b64decode(value, validate=True).hex()
        except (binascii.Error, ValueError):
            return value  # neither: kept as the source wrote it
    return None if not text.strip("0") else text


def any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a Python value."""
    if not isinstance(value, dict):
        return value
    for key in ("stringValue", "string_value"):
        if key in value:
            return value[key]
    for key in ("intValue", "int_value"):
        if key in value:
            try:
                return int(value[key])
            except (TypeError, ValueError):
                return value[key]
    for key in ("doubleValue", "double_value", "boolValue", "bool_value"):
        if key in value:
            return value[key]
    array = _get(value, "arrayValue", "array_value")
    if array is not None:
        return [any_value(v) for v in array.get("values", [])]
    kvlist = _get(value, "kvlistValue", "kvlist_value")
    if kvlist is not None:
        return attributes(kvlist.get("values", []))
    raw = _get(value, "bytesValue", "bytes_value")
    return raw


def attributes(pairs: Any) -> dict[str, Any]:
    """``[{"key", "value": AnyValue}]`` as a dict."""
    out = {}
    for pair in pairs if isinstance(pairs, list) else []:
        if isinstance(pair, dict) and "key" in pair:
            out[pair["key"]] = any_value(pair.get("value"))
    return out


def _nanos(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def spans_of(document: dict) -> Iterator[Span]:
    """The spans of one ExportTraceServiceRequest / TracesData document."""
    for resource_spans in _get(document, "resourceSpans", "resource_spans") or []:
        resource = attributes((resource_spans.get("resource") or {}).get("attributes"))
        service = resource.get("service.name")
        scopes = _get(resource_spans, "scopeSpans", "scope_spans") or \
            _get(resource_spans, "instrumentationLibrarySpans", "instrumentation_library_spans") or []
        for scope_spans in scopes:
            scope = scope_spans.get("scope") or _get(scope_spans, "instrumentationLibrary",
                                                     "instrumentation_library") or {}
            for raw in scope_spans.get("spans") or []:
                yield _span(raw, service, scope.get("name"))


def _span(raw: dict, service: str | None, scope: str | None) -> Span:
    status = raw.get("status") or {}
    events = [(e.get("name"), _nanos(_get(e, "timeUnixNano", "time_unix_nano")), attributes(e.get("attributes")))
              for e in raw.get("events") or [] if isinstance(e, dict)]
    attrs = attributes(raw.get("attributes"))
    if "otel.span_kind" not in attrs and raw.get("kind") is not None:
        kind = raw["kind"]
        attrs["otel.span_kind"] = SPAN_KINDS.get(kind, str(kind).removeprefix("SPAN_KIND_").lower())
    return Span(
        trace_id=hex_id(_get(raw, "traceId", "trace_id")), span_id=hex_id(_get(raw, "spanId", "span_id")),
        parent_id=hex_id(_get(raw, "parentSpanId", "parent_span_id")), name=str(raw.get("name") or ""),
        start_ns=_nanos(_get(raw, "startTimeUnixNano", "start_time_unix_nano")),
        end_ns=_nanos(_get(raw, "endTimeUnixNano", "end_time_unix_nano")), attributes=attrs,
        status=STATUS_NAMES.get(status.get("code", 0), "unset"), status_message=status.get("message") or None,
        events=events, service=service, scope=scope,
        is_log=attrs.get("logfire.span_type") == "log")


# ----------------------------------------------------------------------------- reading

SNIFF_BYTES = 64 * 1024
SUFFIXES = (".json", ".jsonl", ".ndjson")
_MARKERS = (b'"resourceSpans"', b'"resource_spans"')


@dataclass(frozen=True)
class Options:
    """``task_key``: what a task is: ``"trace"`` (one per trace), ``"conversation"``
    (``gen_ai.conversation.id`` / ``session.id``) or the name of an attribute the run records."""

    task_key: str = "trace"


def _sniff_file(path: Path) -> bool:
    data = head(path, SNIFF_BYTES)
    return data.lstrip()[:1] == b"{" and any(marker in data[:4096] for marker in _MARKERS)


def _files(path: Path) -> list[Path]:
    """The export files: the path itself, or the OTLP files of a folder (a Collector's
    rotated files)."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES and _sniff_file(p))
    return [path]


def sniff(path: Path) -> bool:
    """True for an OTLP JSON file (JSON lines or one document) or a folder of them: a JSON
    object naming ``resourceSpans`` in its first 4 KB. Reads at most 64 KB; never raises.

    >>> sniff(Path("/nonexistent"))
    False
    """
    return sniffed(path, _sniff_file, lambda folder: bool(_files(folder)))


def _one_document_per_line(data: bytes) -> bool:
    """JSON lines when the first line is a whole JSON object; else one (indented) document."""
    first = data.lstrip()[: data.lstrip().find(b"\n") if b"\n" in data.lstrip() else None]
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False


def _documents(path: Path, problems: Problems) -> Iterator[tuple[int | None, Any]]:
    data = read_bytes(path, problems)
    if data is None:
        return
    if _one_document_per_line(data):
        yield from iter_jsonl(path, problems, data=data)
        return
    source = Source(path, decode(data, path, problems))
    document, _ = parse_json(source, problems, arrays=("resourceSpans", "resource_spans"))
    if document is not MISSING:
        yield 1, document


def load(path: Path, *, strict: bool = False, **options: Any) -> Run:
    """Load OTLP JSON spans (see the module docstring) into a Run."""
    opts = SPEC.options_from(options, path)
    path = Path(path)
    problems = Problems(strict)
    spans: list[Span] = []
    for file in _files(path):
        for line, document in _documents(file, problems):
            if not isinstance(document, dict) or not any(k in document for k in ("resourceSpans", "resource_spans")):
                problems.add(file, line, "not an OTLP traces document (no resourceSpans)", short_json(document))
                continue
            for span in spans_of(document):
                span.where = (str(file), line)
                spans.append(span)
    return run_from_spans(spans, meta={"run_id": path.stem, "source_format": FORMAT, "path": str(path)},
                          problems=problems, task_key=opts.task_key)


SPEC = register(Format(name=FORMAT, sniff=sniff, load=load, options=Options, priority=60,
                       samples={"otlp": "analysis_kit.samples.otlp:write"},
                       description="OpenTelemetry spans in OTLP JSON (Collector file exporter, protobuf JSON)"))
