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
