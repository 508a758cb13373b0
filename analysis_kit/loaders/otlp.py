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
from typing import Any, Iterator

from ._spans import Span

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
# (provisional: moves onto the shared loader core's JSON/JSONL reading when it lands)

import json  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

from ..model import Problems, Run  # noqa: E402
from ._spans import run_from_spans  # noqa: E402

SNIFF_BYTES = 64 * 1024
_MARKERS = (b'"resourceSpans"', b'"resource_spans"')
SUFFIXES = (".json", ".jsonl", ".ndjson")


@dataclass(frozen=True)
class OtlpOptions:
    """``task_key``: what a task is: ``"trace"``, ``"conversation"`` or an attribute name."""

    task_key: str = "trace"


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES and _sniff_file(p))
    return [path]


def _sniff_file(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    return any(marker in head[:4096] for marker in _MARKERS) and head.lstrip()[:1] == b"{"


def sniff(path: Path) -> bool:
    """True for an OTLP JSON file (JSON lines or one document) or a folder of them: a JSON
    object whose first keys include ``resourceSpans``. Reads at most 64 KB; never raises.

    >>> sniff(Path("/nonexistent"))
    False
    """
    try:
        path = Path(path)
        if path.is_dir():
            return any(p.is_file() and p.suffix in SUFFIXES and _sniff_file(p) for p in path.iterdir())
        return path.is_file() and _sniff_file(path)
    except (OSError, ValueError):
        return False


def _documents(path: Path, problems: Problems) -> Iterator[dict]:
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    first = next((l for l in lines if l.strip()), "")
    try:
        one_per_line = isinstance(json.loads(first), dict)
    except ValueError:
        one_per_line = False
    if not one_per_line:
        try:
            yield json.loads(text)
        except ValueError as exc:
            problems.add(path, getattr(exc, "lineno", None), f"not JSON: {exc}", text[:200])
        return
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except ValueError as exc:
            problems.add(path, number, f"not JSON: {exc}", line)
            continue
        if not isinstance(document, dict) or not any(k in document for k in ("resourceSpans", "resource_spans")):
            problems.add(path, number, "not an OTLP traces document (no resourceSpans)", line)
            continue
        yield document


def load(path: Path, *, strict: bool = False, task_key: str = "trace", **_: Any) -> Run:
    """Load OTLP JSON spans (see the module docstring) into a Run."""
    path = Path(path)
    problems = Problems(strict)
    spans = []
    for file in _files(path):
        for document in _documents(file, problems):
            spans.extend(spans_of(document))
    return run_from_spans(spans, meta={"run_id": path.stem, "source_format": FORMAT, "path": str(path)},
                          problems=problems, task_key=task_key)
