"""Phoenix's span dataframe (read by the ``logfire`` format) on the dataframe Arize Phoenix
itself returns: a Phoenix server run offline in its own interpreter (.venv-phoenix, built on
first use from tests/writers/phoenix-env.txt, or $ANALYSIS_KIT_PHOENIX_PYTHON), OpenInference
spans sent to it with the OpenTelemetry SDK, its client's ``get_spans_dataframe()`` saved as
Parquet (tests/writers/phoenix_spans.py)."""

from __future__ import annotations

import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit.analyses import cost_by
from tests.writers import phoenix_spans as writer

pytestmark = pytest.mark.xdist_group("phoenix_writer")
KINDS = {"LLM": "llm_call", "TOOL": "tool_call", "AGENT": "agent"}


@pytest.fixture(scope="session")
def sent(tmp_path_factory):
    out = tmp_path_factory.mktemp("phoenix_written")
    return out, writer.write_in_subprocess(out)


@pytest.fixture(scope="session")
def run(sent):
    return ak.load(sent[0] / "spans.parquet", cache=False)


def test_phoenix_dataframe_is_recognised(sent):
    frame = pd.read_parquet(sent[0] / "spans.parquet")
    assert {"context.span_id", "context.trace_id", "span_kind", "start_time"} <= set(frame.columns)
    assert ak.detect(sent[0] / "spans.parquet") == "logfire"


def test_every_span_phoenix_returned_is_an_event(run, sent):
    spans = {s["span_id"]: s for s in sent[1]}
    events = run.events.set_index("span_id")
    assert sorted(events.index) == sorted(spans) and run.problems.empty
    for span_id, s in spans.items():
        row = events.loc[span_id]
        assert row["kind"] == KINDS[s["kind"]], s["name"]
        assert row["task_id"] == s["trace_id"]
        assert (pd.isna(row["parent_id"]) if s["parent_id"] is None else row["parent_id"] == s["parent_id"])
        assert row["name"] == s.get("llm.model_name", s.get("tool.name", s["name"]))
        assert row["start"] <= row["end"] and row["duration_ms"] >= 2.0  # each span slept 2 ms
        if s["kind"] == "LLM":
            assert (row["input_tokens"], row["output_tokens"]) == (s["llm.token_count.prompt"],
                                                                  s["llm.token_count.completion"])
        assert (s["error"] in row["error"]) if s["error"] else pd.isna(row["error"])


def test_usage_and_tasks_of_the_traces(run, sent):
    llm = [s for s in sent[1] if s["kind"] == "LLM"]
    by_model = cost_by(run, "model").set_index("model")
    assert by_model.loc["gpt-4o-mini", "calls"] == len(llm)
    assert by_model.loc["gpt-4o-mini", "input_tokens"] == sum(s["llm.token_count.prompt"] for s in llm)
    assert sorted(run.tasks["task_id"]) == sorted({s["trace_id"] for s in sent[1]})
