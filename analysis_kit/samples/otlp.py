"""The trace sample run: OTLP JSON lines written by real instrumentation, shipped as they are.

Like the Inspect sample it is not generated here: a trace is only real when the
instrumentation writes it (pydantic-ai agents under the OpenTelemetry SDK with OpenInference
attributes, and a MassGen session traced by MassGen's own ``structured_logging``, serialized
as the Collector's file exporter writes them; ``tests/writers/otel_traces.py``). ``write``
copies the packaged file, so ``seed`` and ``size`` do not apply. To regenerate it::

    .venv/bin/python -m tests.writers.otel_traces /tmp/traces
    cp /tmp/traces/otlp/weather_agents.jsonl analysis_kit/samples/otlp_weather_agents.jsonl
    make samples
"""

from __future__ import annotations

from pathlib import Path

from . import copy_packaged

FORMAT = "otlp"
FILE_NAME = "weather_agents.jsonl"


def write(directory: str | Path, *, seed: int = 7, size: int = 1) -> Path:
    """Copy the packaged trace into ``directory`` and return its path.

    >>> import tempfile
    >>> write(tempfile.mkdtemp()).name
    'weather_agents.jsonl'
    """
    return copy_packaged("otlp_weather_agents.jsonl", Path(directory) / FILE_NAME)
