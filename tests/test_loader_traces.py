"""The trace loaders (OTLP JSON, Logfire records) on spans real instrumentation recorded.

Every expected value is computed from the spans the OpenTelemetry SDK recorded
(``Recording.spans``, see tests/writers/otel_traces.py), never typed in: tokens, tool calls,
errors, agents, depth; usage counted once; unknown spans kept as kind "span".
"""

import json
from collections import Counter

import pandas as pd
import pytest

from analysis_kit import analyses as an
from analysis_kit.exceptions import LoadError
from analysis_kit.loaders import logfire, otlp
from tests.writers import otel_traces as ot

RECORD_FORMATS = ("json", "jsonl", "csv", "parquet")


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def traces_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("traces")


@pytest.fixture(scope="session")
def pyd():
    return ot.record_pydantic_ai()


@pytest.fixture(scope="session")
def pyd_run(pyd, traces_dir):
    return otlp.load(ot.write_collector_jsonl(pyd.spans, traces_dir / "pydantic_ai.jsonl"))


@pytest.fixture(scope="session")
def massgen():
    return ot.record_massgen()


@pytest.fixture(scope="session")
def massgen_runs(massgen, traces_dir):
    """The MassGen session as Logfire records in each export format, and as OTLP."""
    runs = {fmt: logfire.load(ot.write_logfire_records(massgen.spans, traces_dir / f"massgen.{fmt}"))
            for fmt in RECORD_FORMATS}
    runs["otlp"] = otlp.load(ot.write_collector_jsonl(massgen.spans, traces_dir / "massgen.jsonl"))
    return runs


def attr(span, key, default=None):
    return (span.attributes or {}).get(key, default)


def chat_spans(rec):
    return [s for s in rec.spans if attr(s, "gen_ai.operation.name") == "chat"]


def span_ids(rec, spans):
    return {ot.hex_span_id(s.context.span_id) for s in spans}


def events_of(run, rec, spans):
    return run.events[run.events["span_id"].isin(span_ids(rec, spans))]


def comparable(run):
    """The events as the values the formats must agree on (times to the microsecond)."""
    ev = run.events.sort_values("span_id").reset_index(drop=True)
    out = ev[["task_id", "span_id", "parent_id", "kind", "name", "agent", "round", "input_tokens",
              "output_tokens", "cached_tokens", "cost_usd", "error"]].astype("object")
    out["start_us"] = ev["start"].dt.floor("us")
    out["end_us"] = ev["end"].dt.floor("us")
    return out.where(out.notna(), None)


# ----------------------------------------------------------------------------- pydantic-ai, OTLP

def test_tokens_match_the_chat_spans(pyd, pyd_run):
    chats = chat_spans(pyd)
    ev = pyd_run.events
    assert ev["input_tokens"].sum() == sum(attr(s, "gen_ai.usage.input_tokens") for s in chats)
    assert ev["output_tokens"].sum() == sum(attr(s, "gen_ai.usage.output_tokens") for s in chats)
    assert ev["cached_tokens"].sum() == sum(attr(s, "gen_ai.usage.cache_read.input_tokens", 0) for s in chats)
    for span in chats:
        row = events_of(pyd_run, pyd, [span]).iloc[0]
        assert row["kind"] == "llm_call"
        assert row["name"] == attr(span, "gen_ai.response.model")
        assert row["input_tokens"] == attr(span, "gen_ai.usage.input_tokens")
    per_trace = Counter()
    for span in chats:
        per_trace[ot.hex_trace_id(span.context.trace_id)] += attr(span, "gen_ai.usage.input_tokens")
    assert pyd_run.tasks.set_index("task_id")["input_tokens"].to_dict() == dict(per_trace)


def test_reasoning_and_cache_write_tokens_are_kept_in_attrs(pyd, pyd_run):
    span = next(s for s in chat_spans(pyd) if attr(s, "gen_ai.usage.cache_creation.input_tokens"))
    attrs = json.loads(events_of(pyd_run, pyd, [span])["attrs"].item())
    assert attrs["reasoning_tokens"] == attr(span, "gen_ai.usage.details.reasoning_tokens")
    assert attrs["cache_write_tokens"] == attr(span, "gen_ai.usage.cache_creation.input_tokens")
    assert "gen_ai.input.messages" not in attrs  # messages go to the messages table


def test_usage_reported_again_on_agent_spans_is_counted_once(pyd_run, traces_dir):
    flat = ot.record_pydantic_ai(aggregated_usage=False)
    agents = [s for s in flat.spans if attr(s, "gen_ai.operation.name") == "invoke_agent"]
    assert any(attr(s, "gen_ai.usage.input_tokens") for s in agents)  # the case under test exists
    run = otlp.load(ot.write_collector_jsonl(flat.spans, traces_dir / "flat.jsonl"))
    expected = sum(attr(s, "gen_ai.usage.input_tokens") for s in chat_spans(flat))
    assert run.events["input_tokens"].sum() == expected
    assert run.tasks["input_tokens"].sum() == expected
    lead = events_of(run, flat, [s for s in agents if attr(s, "gen_ai.agent.name") == "lead"]).iloc[0]
    assert pd.isna(lead["input_tokens"])
    assert json.loads(lead["attrs"])["aggregate_input_tokens"] == attr(
        next(s for s in agents if attr(s, "gen_ai.agent.name") == "lead"), "gen_ai.usage.input_tokens")


def test_tool_calls_and_their_errors(pyd, pyd_run):
    tools = [s for s in pyd.spans if attr(s, "gen_ai.operation.name") == "execute_tool"]
    ev = pyd_run.events[pyd_run.events["kind"] == "tool_call"]
    assert Counter(ev["name"]) == Counter(attr(s, "gen_ai.tool.name") for s in tools)
    failed = [s for s in tools if s.status.status_code.name == "ERROR"]
    assert set(ev.loc[ev["error"].notna(), "span_id"]) == span_ids(pyd, failed)
    errors = ev.set_index("span_id")["error"]
    retry = next(s for s in failed if attr(s, "gen_ai.tool.name") == "pick_number")
    assert ot.RETRY_MESSAGE in errors[ot.hex_span_id(retry.context.span_id)]
    crash = next(s for s in failed if attr(s, "gen_ai.tool.name") == "get_forecast")
    assert errors[ot.hex_span_id(crash.context.span_id)] == f"ConnectionError: {ot.CRASH_MESSAGE}"


def test_a_failed_run_is_an_errored_task_and_a_failure(pyd, pyd_run):
    crashed = {ot.hex_trace_id(s.context.trace_id) for s in pyd.spans
               if s.parent is None and s.status.status_code.name == "ERROR"}
    tasks = pyd_run.tasks.set_index("task_id")
    assert set(tasks.index[tasks["status"] == "error"]) == crashed
    assert (tasks.loc[list(crashed), "error"] == f"ConnectionError: {ot.CRASH_MESSAGE}").all()
    assert set(tasks.index[tasks["status"] == "success"]) == set(pyd.trace_ids()) - crashed
    assert pyd_run.failures["task_id"].tolist() == list(crashed)
    assert pyd_run.failures["category"].tolist() == ["ConnectionError"]


def test_agents(pyd, pyd_run):
    runs = [s for s in pyd.spans if attr(s, "gen_ai.operation.name") == "invoke_agent"]
    ev = pyd_run.events
    assert Counter(ev.loc[ev["kind"] == "agent", "name"]) == Counter(attr(s, "gen_ai.agent.name") for s in runs)
    for span in pyd.spans:  # every span is attributed to the agent whose run it is in
        assert events_of(pyd_run, pyd, [span])["agent"].item() == attr(span, "gen_ai.agent.name")


def test_depth_and_hierarchy_match_the_recorded_tree(pyd, pyd_run):
    tree = an.span_tree(pyd_run)
    depth = tree.set_index("span_id")["depth"]
    for span in pyd.spans:
        sid = ot.hex_span_id(span.context.span_id)
        assert depth[sid] == pyd.depth(span)
        parent = pyd_run.events.set_index("span_id").loc[sid, "parent_id"]
        assert (pd.isna(parent) and span.parent is None) or parent == ot.hex_span_id(span.parent.span_id)
    # the deepest span: lead run > ask_helper tool > helper run > helper's chat
    assert depth.max() == 3
    helper_chat = next(s for s in chat_spans(pyd) if attr(s, "gen_ai.agent.name") == "helper")
    assert depth[ot.hex_span_id(helper_chat.context.span_id)] == 3


def test_messages_come_from_the_message_attributes(pyd, pyd_run):
    last_lead_chat = max((s for s in chat_spans(pyd) if attr(s, "gen_ai.agent.name") == "lead"),
                         key=lambda s: s.end_time)
    history = json.loads(attr(last_lead_chat, "gen_ai.input.messages")) + \
        json.loads(attr(last_lead_chat, "gen_ai.output.messages"))
    messages = pyd_run.messages[pyd_run.messages["agent"] == "lead"].sort_values("idx")
    responses = [p for m in history for p in m["parts"] if p["type"] == "tool_call_response"]
    calls = [p for m in history for p in m["parts"] if p["type"] == "tool_call"]
    tool_rows = messages[messages["role"] == "tool"]
    assert tool_rows["tool_call_id"].tolist() == [p["id"] for p in responses]
    assert tool_rows["content"].tolist() == [p["result"] for p in responses]
    made = [c for text in messages["tool_calls"].dropna() for c in json.loads(text)]
    assert [(c["id"], c["name"], c["arguments"]) for c in made] == [(p["id"], p["name"], p["arguments"]) for p in calls]
    assert messages["content"].iloc[-1] == history[-1]["parts"][0]["content"]  # raw text, <b> and all
    assert messages["idx"].tolist() == list(range(len(messages)))


def test_the_protobuf_json_mapping_reads_the_same(pyd, pyd_run, traces_dir):
    path = ot.write_protobuf_json(pyd.spans, traces_dir / "pydantic_ai_protobuf.json")
    text = path.read_text()
    assert '"STATUS_CODE_ERROR"' in text and "==" in text  # enum names and base64 ids
    run = otlp.load(path)
    pd.testing.assert_frame_equal(comparable(run), comparable(pyd_run))


def test_openinference_attributes_alone_map_the_same(traces_dir):
    rec = ot.record_pydantic_ai(openinference=True)
    assert any(attr(s, "openinference.span.kind") == "LLM" for s in rec.spans)
    both = otlp.load(ot.write_collector_jsonl(rec.spans, traces_dir / "oi_both.jsonl"))
    alone = otlp.load(ot.write_collector_jsonl(rec.spans, traces_dir / "oi_alone.jsonl",
                                               drop_attributes=("gen_ai.",)))
    for column in ("kind", "name", "input_tokens", "output_tokens"):
        left = both.events.set_index("span_id")[column]
        right = alone.events.set_index("span_id")[column].reindex(left.index)
        llm_or_tool = both.events.set_index("span_id")["kind"].isin(["llm_call", "tool_call"])
        pd.testing.assert_series_equal(left[llm_or_tool], right[llm_or_tool], check_names=False)
    expected = sum(attr(s, "llm.token_count.prompt") for s in rec.spans if attr(s, "llm.token_count.prompt"))
    assert alone.events["input_tokens"].sum() == expected == both.events["input_tokens"].sum()
    lead = alone.messages[alone.messages["task_id"] == both.tasks["task_id"][0]]
    assert (lead["role"] == "tool").sum() == (both.messages.query("task_id == @lead.task_id.iloc[0]")["role"] == "tool").sum()


# ----------------------------------------------------------------------------- logfire

def test_logfire_records_in_every_format_read_the_same(traces_dir):
    rec = ot.record_logfire()
    runs = {fmt: logfire.load(ot.write_logfire_records(rec.spans, traces_dir / f"lf.{fmt}"))
            for fmt in RECORD_FORMATS}
    first = comparable(runs["json"])
    for fmt in RECORD_FORMATS[1:]:
        pd.testing.assert_frame_equal(comparable(runs[fmt]), first, obj=fmt)
    run = runs["json"]
    assert run.events["input_tokens"].sum() == sum(attr(s, "gen_ai.usage.input_tokens") for s in chat_spans(rec))
    assert len(run.events) == len(rec.spans)


def test_unknown_spans_are_kept_as_span(traces_dir):
    rec = ot.record_logfire()
    run = logfire.load(ot.write_logfire_records(rec.spans, traces_dir / "lf_unknown.json"))
    manual = [s for s in rec.spans if attr(s, "gen_ai.operation.name") is None]
    rows = events_of(run, rec, manual)
    assert len(rows) == len(manual) == 3
    assert set(rows["kind"]) == {"span"}
    assert set(rows["name"]) == {"weather batch {batch}", "starting {n} agents", "cache lookup {key}"}
    assert rows.set_index("name")["error"]["cache lookup {key}"] == "KeyError: 'oslo'"


def test_conversations_as_tasks(traces_dir):
    rec = ot.record_logfire()
    assert len(rec.trace_ids()) == 1
    run = logfire.load(ot.write_logfire_records(rec.spans, traces_dir / "lf_conv.json"), task_key="conversation")
    conversations = {attr(s, "gen_ai.conversation.id") for s in rec.spans} - {None}
    assert conversations <= set(run.tasks["task_id"])
    # the batch span around the agent runs has no conversation: it stays in its trace's task
    assert set(run.tasks["task_id"]) == conversations | set(rec.trace_ids())


# ----------------------------------------------------------------------------- MassGen

def test_massgen_formats_agree(massgen_runs):
    first = comparable(massgen_runs["json"])
    for fmt, run in massgen_runs.items():
        pd.testing.assert_frame_equal(comparable(run), first, obj=fmt)


def test_massgen_rounds_outcomes_and_usage(massgen, massgen_runs):
    run = massgen_runs["json"]
    rounds = [s for s in massgen.spans if s.name.startswith("agent.")]
    ev = run.events[run.events["kind"] == "round"]
    assert len(ev) == len(rounds)
    for key, column in (("massgen.usage.input", "input_tokens"), ("massgen.usage.output", "output_tokens"),
                        ("massgen.usage.cached_input", "cached_tokens")):
        assert ev[column].sum() == sum(attr(s, key) for s in rounds)
    assert ev["cost_usd"].sum() == pytest.approx(sum(attr(s, "massgen.usage.cost") for s in rounds))
    table = an.rounds(run).set_index(["agent", "round"])
    expected = {(attr(s, "massgen.agent_id"), attr(s, "massgen.round")): attr(s, "massgen.outcome")
                for s in rounds if attr(s, "massgen.outcome")}
    assert table["outcome"].dropna().to_dict() == expected
    errored = ev.set_index("span_name")["error"]
    assert errored["agent.agent_b.round_1"] == "peer closed connection"
    # the rounds report the usage, the model calls inside them none: billed once, to those calls' model
    calls = run.events[run.events["kind"] == "llm_call"]
    by_agent = an.cost_by(run, "agent").set_index("agent")
    for agent, own in ev.groupby("agent"):
        assert by_agent.loc[agent, "cost_usd"] == pytest.approx(own["cost_usd"].sum())
        listed = int((calls["agent"] == agent).sum())
        assert by_agent.loc[agent, "calls"] == (listed or len(own))  # its calls, or its rounds where none is listed
    assert an.totals(run)["unpriced_calls"] == 0 and an.cost_by(run, "model")["unpriced_calls"].sum() == 0


def test_massgen_tool_calls_counted_once(massgen, massgen_runs):
    run = massgen_runs["json"]
    calls = [s for s in massgen.spans if s.name.startswith("mcp_tool.")]
    tools = run.events[run.events["kind"] == "tool_call"]
    assert Counter(tools["name"]) == Counter(attr(s, "tool.name") for s in calls)
    details = run.events[run.events["span_name"].str.startswith(("mcp.", "Tool execution: "))]
    assert set(details["kind"]) == {"span"}
    assert set(json.loads(a)["detail_of"] for a in details["attrs"]) == span_ids(massgen, calls)
    failed = tools[tools["error"].notna()]
    assert failed["name"].tolist() == ["mcp__filesystem__read_file"]
    assert an.rounds(run).set_index(["agent", "round"]).loc[("agent_a", 0), "tool_calls"] == 1


def test_massgen_answers_votes_and_winner(massgen, massgen_runs):
    run = massgen_runs["json"]
    answers = run.events[run.events["kind"] == "answer"].set_index("agent")["name"].to_dict()
    assert answers == {attr(s, "agent_id"): attr(s, "answer_label") for s in massgen.spans
                       if s.name.startswith("Agent answer: ")}
    votes = run.events[run.events["kind"] == "vote"]
    logged = [s for s in massgen.spans if s.name.startswith("Agent vote: ")]
    assert votes["agent"].tolist() == [attr(s, "agent_id") for s in logged]
    label_owner = {label: agent for agent, label in answers.items()}
    assert votes["name"].tolist() == [label_owner[attr(s, "voted_for_label")] for s in logged]
    assert [json.loads(a)["reason"] for a in votes["attrs"]] == [attr(s, "reason") for s in logged]
    winner = next(s for s in massgen.spans if s.name.startswith("Winner selected: "))
    assert run.meta["winner"] == attr(winner, "winner_agent_id")
    assert run.meta["vote_counts"] == json.loads(attr(winner, "vote_counts"))


def test_massgen_tree(massgen, massgen_runs):
    tree = an.span_tree(massgen_runs["parquet"]).set_index("span_id")
    for span in massgen.spans:
        assert tree.loc[ot.hex_span_id(span.context.span_id), "depth"] == massgen.depth(span)
    root = tree[tree["depth"] == 0]
    assert root["name"].tolist() == ["coordination.session"]
    slow = tree[tree["name"] == "mcp.filesystem.write_file"].sort_values("duration_s")
    assert slow["self_s"].iloc[-1] == pytest.approx(slow["duration_s"].iloc[-1])  # a leaf: all self


def test_massgen_mirror_matches_massgen():
    if ot.massgen_structured_logging() is None:
        pytest.skip("MassGen's source is not on this machine (set AK_MASSGEN_SITE)")
    real, mirror = ot.record_massgen(use_massgen=True), ot.record_massgen(use_massgen=False)

    def shape(rec):
        return [(rec.depth(s), s.name, s.status.status_code.name,
                 sorted(k for k in s.attributes if not k.startswith("code."))) for s in rec.spans]

    assert real.source == "massgen" and mirror.source == "massgen-mirror"
    assert shape(real) == shape(mirror)


# ----------------------------------------------------------------------------- bad input, sniff

def test_bad_lines_become_problems_and_strict_raises(pyd, traces_dir):
    good = ot.write_collector_jsonl(pyd.spans, traces_dir / "good.jsonl").read_text().splitlines()
    path = traces_dir / "bad.jsonl"
    path.write_text("\n".join([good[0], '{"resourceSpans": [', '["not", "otlp"]', *good[1:]]) + "\n")
    run = otlp.load(path)
    assert run.problems["line"].tolist() == [2, 3]
    assert len(run.events) == len(pyd.spans)
    with pytest.raises(LoadError) as err:
        otlp.load(path, strict=True)
    assert err.value.line == 2 and err.value.file == str(path)


def test_detected_and_loaded_through_the_central_load(pyd, massgen, traces_dir):
    import analysis_kit as ak
    from analysis_kit.model import KINDS

    files = {"otlp": [ot.write_collector_jsonl(pyd.spans, traces_dir / "central.jsonl"),
                      ot.write_protobuf_json(pyd.spans, traces_dir / "central_pb.json")],
             "logfire": [ot.write_logfire_records(massgen.spans, traces_dir / f"central_records.{fmt}")
                         for fmt in RECORD_FORMATS]}
    for fmt, paths in files.items():
        for path in paths:
            assert ak.detect(path) == fmt
            run = ak.load(path)
            assert run.meta["source_format"] == fmt
            assert set(run.events["kind"]) <= set(KINDS)
            assert run.problems.empty, run.problems
    by_conversation = ak.load(files["otlp"][0], task_key="conversation")
    assert by_conversation.meta["load_options"] == {"task_key": "conversation"}
    assert by_conversation.tasks["task_id"].nunique() == len(
        {attr(s, "gen_ai.conversation.id") for s in pyd.spans})
    with pytest.raises(LoadError, match="unknown option"):
        ak.load(files["otlp"][0], turn=2)


def test_sniff(pyd, massgen, traces_dir):
    jsonl = ot.write_collector_jsonl(pyd.spans, traces_dir / "sniff.jsonl")
    pretty = ot.write_protobuf_json(pyd.spans, traces_dir / "sniff.json")
    records = [ot.write_logfire_records(massgen.spans, traces_dir / f"sniff_records.{fmt}")
               for fmt in RECORD_FORMATS]
    assert otlp.sniff(jsonl) and otlp.sniff(pretty) and otlp.sniff(traces_dir)
    assert not any(otlp.sniff(p) for p in records)
    assert all(logfire.sniff(p) for p in records)
    assert not logfire.sniff(jsonl) and not logfire.sniff(pretty)
    other = traces_dir / "other.json"
    other.write_text('{"timestamp": "x", "simulations": []}')
    assert not otlp.sniff(other) and not logfire.sniff(other)


def test_damaged_spans_are_kept_and_reported(pyd, traces_dir):
    """The instrumentation's own lines, damaged: a span without an id, a batch written twice
    (repeated ids), a start past 2262 and an end before its start."""
    lines = ot.write_collector_jsonl(pyd.spans, traces_dir / "damage.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    spans = first["resourceSpans"][0]["scopeSpans"][0]["spans"]
    del spans[0]["spanId"]
    spans[1]["startTimeUnixNano"] = str(2**63 + 5)
    spans[2]["endTimeUnixNano"] = str(int(spans[2]["startTimeUnixNano"]) - 1)
    path = traces_dir / "damaged.jsonl"
    path.write_text("\n".join([json.dumps(first), *lines[1:], lines[1]]) + "\n")
    run = otlp.load(path)
    reasons = run.problems["reason"].tolist()
    assert len(run.events) == len(pyd.spans) + len(json.loads(lines[1])["resourceSpans"][0]["scopeSpans"][0]["spans"])
    assert any("has no span id" in r for r in reasons)
    assert any("repeated in trace" in r for r in reasons)
    assert any("outside the years 1677-2262" in r for r in reasons)
    assert any("ends before it starts" in r for r in reasons)
    assert set(run.problems["line"].dropna()) <= {1, len(lines) + 1}
    assert an.span_tree(run)["span_id"].notna().all()  # the id-less span is an event, not a tree node
