"""Arize Phoenix's own span dataframe, written offline: a Phoenix server started in this
process (SQLite in the output folder), OpenInference spans sent to it by the OpenTelemetry SDK
(``phoenix.otel.register``), and the dataframe Phoenix's client gives back
(``Client().spans.get_spans_dataframe``) saved as Parquet, as a user saves it.

Run with an interpreter that has ``arize-phoenix`` (see ``phoenix-env.txt``)::

    .venv-phoenix/bin/python tests/writers/phoenix_spans.py OUT_DIR

It writes ``OUT_DIR/spans.parquet`` and ``OUT_DIR/ground_truth.json`` (every span it sent).
The test side: :func:`phoenix_python` gives the interpreter (``.venv-phoenix``, built on first
use) and :func:`write_in_subprocess` runs the writer in it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENV_FILE = HERE / "phoenix-env.txt"
PYTHON_ENV_VAR = "ANALYSIS_KIT_PHOENIX_PYTHON"
PROJECT = "support-desk"


# ============================================================================ test side
def phoenix_python() -> Path:
    """``$ANALYSIS_KIT_PHOENIX_PYTHON``, else ``.venv-phoenix`` built from ``phoenix-env.txt``."""
    from .side_venv import side_python

    return side_python("phoenix", ENV_FILE, (), PYTHON_ENV_VAR)


def write_in_subprocess(out_dir: Path, timeout: float = 300) -> list[dict]:
    """Run the writer in Phoenix's interpreter; return the spans it sent."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MPLBACKEND")}
    env["PYTHONWARNINGS"] = "ignore"
    proc = subprocess.run([str(phoenix_python()), str(Path(__file__).resolve()), str(out_dir)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"Phoenix writer failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads((Path(out_dir) / "ground_truth.json").read_text(encoding="utf-8"))


# ============================================================================ the scenario
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _send(tracer, truth: list[dict]) -> None:
    """Two traces (two tasks) of an agent: model calls with usage, tools, one failing call."""
    from opentelemetry.trace import Status, StatusCode

    def span(name: str, kind: str, attributes: dict, fail: str | None = None, sleep: float = 0.002):
        ctx = tracer.start_as_current_span(name, attributes={"openinference.span.kind": kind, **attributes})

        class _Span:
            def __enter__(self):
                self.s = ctx.__enter__()
                return self.s

            def __exit__(self, *exc):
                time.sleep(sleep)
                if fail:
                    self.s.set_status(Status(StatusCode.ERROR, fail))
                    self.s.record_exception(RuntimeError(fail))
                parent = getattr(self.s, "parent", None)
                c = self.s.get_span_context()
                truth.append({"name": name, "kind": kind, "trace_id": f"{c.trace_id:032x}",
                              "span_id": f"{c.span_id:016x}", "parent_id": f"{parent.span_id:016x}" if parent else None,
                              "error": fail, **{k: v for k, v in attributes.items()}})
                return ctx.__exit__(*exc)
        return _Span()

    for task, city in (("t1", "Paris"), ("t2", "Oslo")):
        with span("support agent", "AGENT", {"session.id": task, "input.value": f"Weather in {city}?"}):
            with span("ChatCompletion", "LLM", {"llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": 120,
                                                "llm.token_count.completion": 14, "llm.token_count.total": 134}):
                pass
            with span("get_weather", "TOOL", {"tool.name": "get_weather", "input.value": json.dumps({"city": city})},
                      fail="weather service timed out" if task == "t2" else None):
                pass
            with span("ChatCompletion", "LLM", {"llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": 180,
                                                "llm.token_count.completion": 22, "llm.token_count.total": 202}):
                pass


def write(out_dir: Path) -> list[dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    os.environ.update({"PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(_free_port()),
                       "PHOENIX_WORKING_DIR": str(out_dir / "phoenix"), "PHOENIX_TELEMETRY_ENABLED": "false"})
    import phoenix as px
    from phoenix.client import Client
    from phoenix.otel import register

    px.launch_app(use_temp_dir=False)
    provider = register(project_name=PROJECT, endpoint=f"http://127.0.0.1:{port}/v1/traces", batch=False,
                        set_global_tracer_provider=False, verbose=False)
    truth: list[dict] = []
    _send(provider.get_tracer("support-desk"), truth)
    provider.force_flush()
    client, frame = Client(base_url=f"http://127.0.0.1:{port}"), None
    for _ in range(150):  # the server stores spans asynchronously
        frame = client.spans.get_spans_dataframe(project_identifier=PROJECT)
        if frame is not None and len(frame) >= len(truth):
            break
        time.sleep(0.2)
    frame.to_parquet(out_dir / "spans.parquet")
    (out_dir / "ground_truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    px.close_app()
    return truth


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: phoenix_spans.py OUT_DIR")
    write(Path(sys.argv[1]))
