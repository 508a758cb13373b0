"""The shared loader core: reading, salvage, depth limits, timestamps, typed columns, the
registry's options, loading folders and many runs, the table contract, estimated costs."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit.loaders import _registry
from analysis_kit.loaders._columns import Column, Table, unread
from analysis_kit.loaders._read import (MISSING, Source, decode, iter_json_array, iter_jsonl, parse_json,
                                        read_text, read_yaml)
from analysis_kit.loaders._values import BAD, Where, to_utc, utc_column
from analysis_kit.model import SCHEMA, Problems
from conftest import ROOT

# --------------------------------------------------------------------------- the worked example


@pytest.fixture
def example_format():
    """The format module of CONTRIBUTING.md's worked example, run as written there."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    code = re.search(r"### A worked example.*?```python\n(.*?)```", text, re.S).group(1)
    module = types.ModuleType("calls_jsonl_example")
    sys.modules[module.__name__] = module
    exec(compile(code, "CONTRIBUTING.md", "exec"), module.__dict__)
    yield module
    _registry._REGISTRY.pop("calls_jsonl", None)
    sys.modules.pop(module.__name__, None)


def test_the_worked_example_loads_what_it_says(example_format, tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join([
        '{"task": "t1", "model": "gpt-4o-mini", "started": "2025-01-01T10:00:00Z", "seconds": 1.5, '
        '"usage": {"input": 120, "output": 40}, "error": null}',
        '{"task": "t1", "model": "m2", "started": 1735725600, "seconds": "slow", "usage": {"input": "x"}}',
        '[1, 2]',
        '{"model": "m2"}',
    ]) + "\n")
    run = ak.load(path)
    assert run.meta["source_format"] == "calls_jsonl"
    ev = run.events
    assert ev["name"].tolist() == ["gpt-4o-mini", "m2"]
    assert ev["duration_ms"].tolist()[0] == 1500.0 and pd.isna(ev["duration_ms"].iloc[1])
    assert ev["start"].tolist() == [pd.Timestamp("2025-01-01 10:00", tz="UTC")] * 2
    assert ev["input_tokens"].tolist()[0] == 120 and pd.isna(ev["input_tokens"].iloc[1])
    assert ev["est_cost_usd"].iloc[0] == pytest.approx(120 * 0.15e-6 + 40 * 0.6e-6)
    assert run.problems[["line", "reason"]].values.tolist() == [
        [2, "seconds should be a number, got str; taken as NA"], [3, "a call must be a JSON object"],
        [4, "no task: record skipped"], [2, "usage.input should be an integer, got str; taken as NA"]]
    only = ak.load(path, model="m2", cache=False)
    assert only.events["name"].tolist() == ["m2"] and only.meta["load_options"] == {"model": "m2"}
    with pytest.raises(ak.LoadError, match="unknown option.*'modle'.*its options: model"):
        ak.load(path, modle="m2")
    with pytest.raises(ak.LoadError, match=r"calls.jsonl:2: seconds should be a number"):
        ak.load(path, strict=True, cache=False)


# --------------------------------------------------------------------------- reading


def test_decode_boms_and_bytes_that_are_not_utf8():
    p = Problems()
    assert decode(b"\xef\xbb\xbfhello", "f", p) == "hello"
    assert decode("h\u00e9".encode("utf-16-le").join([b"\xff\xfe", b""]), "f", p) == "h\u00e9"
    assert decode(b"one\ntwo \xe9t\xe9\n", "f", p, fallback="cp1252") == "one\ntwo \u00e9t\u00e9\n"
    assert decode(b"a\nb\n\xff", "g", p) == "a\nb\n\ufffd"
    assert [(r["file"], r["line"], r["reason"]) for r in p.rows] == [
        ("f", 2, "bytes that are not UTF-8 (0xe9 at byte 8); decoded as cp1252"),
        ("g", 3, "bytes that are not UTF-8 (0xff at byte 4); decoded with replacement characters")]


def test_read_text_of_a_missing_file_is_a_problem(tmp_path):
    p = Problems()
    assert read_text(tmp_path / "nope", p) is None
    assert p.rows[0]["reason"].startswith("cannot read file")


@pytest.mark.parametrize("depth", [5_000, 200_000])
def test_json_nested_past_the_limit_is_a_problem_never_a_recursion_error(depth):
    p = Problems()
    value, _ = parse_json(Source("deep.json", "[" * depth + "]" * depth), p)
    assert value is MISSING
    assert p.rows[0]["reason"].startswith("JSON nested deeper than the parser's limit")
    with pytest.raises(ak.LoadError, match="deep.json: JSON nested deeper"):
        parse_json(Source("deep.json", '{"a": ' * depth + "1" + "}" * depth), Problems(strict=True))


@pytest.mark.parametrize("fmt_file", ["tau2.json", "benchmark_20250101_000000.jsonl", "calls.json"])
def test_deep_json_through_ak_load_is_a_problem_or_load_error(tmp_path, fmt_file):
    deep = "[" * 200_000 + "]" * 200_000
    path = tmp_path / fmt_file
    if fmt_file.startswith("tau2"):
        path.write_text('{"info": {"agent_info": {}, "user_info": {}}, "tasks": [], "simulations": ' + deep + "}")
    elif fmt_file.endswith(".jsonl"):
        path.write_text('{"task_id": "t", "repeat_idx": 0, "traces": ' + deep + "}\n")
    else:
        path.write_text(deep)
    try:
        run = ak.load(path)
    except ak.LoadError as exc:  # the file named, never a bare RecursionError
        assert str(path) in str(exc)
    else:
        assert run.problems["reason"].str.contains("nested").any()


def test_salvage_keeps_complete_keys_and_array_elements():
    p = Problems()
    text = '{"info": {"a": 1},\n "sims": [\n {"id": 1},\n {"id": 2},\n {"id": 3, "x": [1, 2'
    value, offsets = parse_json(Source("r.json", text), p, arrays=("sims",))
    assert value == {"info": {"a": 1}, "sims": [{"id": 1}, {"id": 2}]}
    assert [Source("r.json", text).line_at(o) for o in offsets["sims"]] == [3, 4]
    assert (p.rows[0]["line"], p.rows[0]["reason"]) == (5, "element #3 of the sims array (starting at line 5) "
                                                          "is cut or invalid JSON (Expecting ',' delimiter); the 2 "
                                                          "complete elements before it are kept, the rest is not read")


def test_salvage_of_a_cut_header_and_junk_after_a_document():
    p = Problems()
    value, _ = parse_json(Source("r.json", '{"info": {"a": [1, 2'), p)
    assert value == {} and "top-level key 'info' is cut" in p.rows[0]["reason"]
    p = Problems()
    value, _ = parse_json(Source("r.json", '{"a": 1}\nxyz'), p)
    assert value == {"a": 1} and p.rows[0]["reason"].startswith("invalid JSON: Extra data") and p.rows[0]["line"] == 2


def test_iter_jsonl_lines_problems_and_a_cut_last_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\nnot json\n{"b": "\xff"}\n{"c": [1, 2')
    p = Problems()
    assert list(iter_jsonl(path, p)) == [(1, {"a": 1}), (4, {"b": "\ufffd"})]
    assert [(r["line"], r["reason"].split(":")[0].split(" (")[0]) for r in p.rows] == [
        (3, "invalid JSON"), (4, "bytes that are not UTF-8"), (5, "truncated last line")]


def test_iter_json_array_gives_lines_and_keeps_the_good_head():
    p = Problems()
    items = list(iter_json_array(Source("a.json", '[\n{"x": 1},\n{"x": 2},\n{"x": '), p))
    assert items == [(2, {"x": 1}), (3, {"x": 2})] and "element #3" in p.rows[0]["reason"]


def test_read_yaml_names_the_line(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("a: 1\nb: [1, 2\nc: 3\n")
    p = Problems()
    assert read_yaml(path, p) is MISSING
    assert p.rows[0]["line"] == 3 and p.rows[0]["reason"].startswith("invalid YAML")


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("value, expected", [
    ("2025-01-02T03:04:05", "2025-01-02 03:04:05+00:00"),
    ("2025-01-02T03:04:05Z", "2025-01-02 03:04:05+00:00"),
    ("2025-01-02 05:04:05.250+02:00", "2025-01-02 03:04:05.250+00:00"),
    (1735787045, "2025-01-02 03:04:05+00:00"),
    (1735787045.5, "2025-01-02 03:04:05.500+00:00"),
    (1735787045000, "2025-01-02 03:04:05+00:00"),
    (1735787045000000, "2025-01-02 03:04:05+00:00"),
    (1735787045000000000, "2025-01-02 03:04:05+00:00"),
])
def test_to_utc_reads_iso_and_every_epoch_unit(value, expected):
    assert to_utc(value) == pd.Timestamp(expected)


@pytest.mark.parametrize("value", ["yesterday", "3000-01-01T00:00:00", "1500-01-01", True, [1], float("nan"), 1e30])
def test_to_utc_unreadable_or_out_of_range_is_bad(value):
    assert to_utc(value) is BAD


def test_utc_column_vectorized_equals_one_by_one():
    values = ["2025-01-02T03:04:05", None, 1735787045, "2025-01-02 05:04:05+02:00", "soon", "2999-01-01"]
    column, bad = utc_column(values)
    assert bad == [4, 5]
    assert column[0] == column[2] == column[3] == pd.Timestamp("2025-01-02 03:04:05", tz="UTC")
    assert pd.isna(column[1]) and pd.isna(column[4]) and str(column.dtype) == "datetime64[ns, UTC]"


def test_where_locates_the_line_of_a_key_on_demand():
    p = Problems()
    source = Source("r.json", '[\n {"id": "a",\n  "reward": "high"}\n]')
    w = Where(p, "r.json", label="simulation a", locate=lambda key: source.line_at(source.text.find(f'"{key}"')))
    w.number("high", "reward")
    assert (p.rows[0]["line"], p.rows[0]["reason"]) == (3, "simulation a: reward should be a number, got str; taken as NA")


def test_where_typed_reads_report_with_label_and_line():
    p = Problems()
    w = Where(p, "f.json", 9, "task t1")
    assert w.integer(3.0, "trial") == 3 and w.integer(2.5, "trial") is None
    assert w.number(-1, "cost", nonnegative=True) is None and w.flag("true", "ok") is True
    assert w.text({"a": 1}, "name") == '{"a": 1}' and w.mapping([], "usage") == {} and w.listing("x", "m") == []
    assert [r["reason"] for r in p.rows] == [
        "task t1: trial should be an integer, got 2.5; taken as NA", "task t1: cost is negative (-1); taken as NA",
        "task t1: name should be text, got dict; kept as JSON text",
        "task t1: usage should be an object, got list; taken as empty",
        "task t1: m should be a list, got str; taken as empty"]
    assert {r["line"] for r in p.rows} == {9}


# --------------------------------------------------------------------------- columns and tables


def test_table_types_each_column_once_and_names_bad_values_by_path():
    p = Problems()
    spec = [Column("task_id", "id", required=True), Column("input_tokens", "usage.in"),
            Column("duration_ms", "ms"), Column("success", "ok"), Column("attrs", "extra"),
            Column("start", "at"), Column("custom", "c", type="int")]
    t = Table("tasks", types={"attrs": "json"})
    records = [
        {"id": "a", "usage": {"in": 5}, "ms": 1.0, "ok": True, "extra": {"k": 1}, "at": "2025-01-01", "c": 1},
        {"id": "b", "usage": {"in": -3}, "ms": float("inf"), "ok": "maybe", "at": "never", "c": "two"},
        {"id": "c", "usage": [1, 2]},
        {"usage": {"in": 1}},
    ]
    for line, record in enumerate(records, start=1):
        t.add(record, spec, Where(p, "t.jsonl", line), trial=0)
    frame = t.frame()
    assert frame["task_id"].tolist() == ["a", "b", "c"] and frame["trial"].tolist() == [0, 0, 0]
    assert frame["input_tokens"].tolist()[0] == 5 and frame["input_tokens"].isna().tolist() == [False, True, True]
    assert frame["attrs"].tolist()[0] == '{"k": 1}' and str(frame["custom"].dtype) == "Int64"
    assert sorted((r["line"], r["reason"]) for r in p.rows) == [
        (2, "at 'never' is not a readable time; taken as NA"), (2, "c should be an integer, got str; taken as NA"),
        (2, "ok should be true or false, got str; taken as NA"), (2, "usage.in is negative (-3); taken as NA"),
        (3, "usage should be an object, got list; taken as empty"), (4, "no id: record skipped")]
    run = ak.Run(meta={"run_id": "r"}, tasks=frame)
    assert str(run.tasks["start"].dtype) == "datetime64[ns, UTC]"


def test_a_table_with_fields_builds_the_same_frame_and_problems_as_one_of_dicts():
    spec = [Column("task_id", "id", required=True), Column("input_tokens", "usage.in"), Column("cost_usd", "cost"),
            Column("start", "at"), Column("success", "ok")]
    records = [{"id": "a", "usage": {"in": 5}, "cost": 0.5, "at": "2025-01-01T00:00:01Z", "ok": True},
               {"id": "b", "usage": {"in": "x"}, "cost": float("inf"), "at": "never", "ok": 1},
               {"id": "c", "cost": True, "at": 1735787045}, {"usage": {"in": 1}}]
    fields = ("task_id", "trial", "input_tokens", "cost_usd", "start", "success")
    frames, reasons = [], []
    for table in (Table("tasks"), Table("tasks", fields=fields)):
        p = Problems()
        for line, record in enumerate(records, start=1):
            table.add(record, spec, Where(p, "t.jsonl", line), trial=line)
        frames.append(table.frame("r"))
        reasons.append(sorted((r["line"], r["reason"]) for r in p.rows))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert reasons[0] == reasons[1] == [
        (2, "at 'never' is not a readable time; taken as NA"), (2, "cost is out of range (inf); taken as NA"),
        (2, "usage.in should be an integer, got str; taken as NA"), (3, "cost should be a number, got bool; taken as NA"),
        (4, "no id: record skipped")]
    assert frames[1]["cost_usd"].tolist()[0] == 0.5 and frames[1]["success"].tolist()[:2] == [True, True]
    assert frames[1]["start"].tolist()[2] == pd.Timestamp("2025-01-02 03:04:05", tz="UTC")


def test_a_table_with_fields_takes_lists_and_keeps_a_list_as_one_value():
    t = Table("events", {"payload": "object"}, fields=("task_id", "kind", "name", "end", "payload"))
    p = Problems()
    first = t.add_row(Where(p, "f", 1), ["t1", "tool_call", "search", None, [1, 2]])
    t.add_row(Where(p, "f", 2), ["t1", "llm_call", "m", "2025-01-01T00:00:00Z", [3, 4]])
    t.set(first, "end", "2025-01-01T00:00:02Z")
    assert first == 0 and t.get(first, "name") == "search" and len(t) == 2
    frame = t.frame()
    assert frame["payload"].tolist() == [[1, 2], [3, 4]] and frame["end"].notna().all()
    assert list(frame.columns)[:len(SCHEMA["events"])] == [c for c, _ in SCHEMA["events"]]
    with pytest.raises(ValueError, match="cost"):
        t.append(Where(p, "f", 3), task_id="t2", cost=1.0)  # not a field: the loader's mistake
    empty = Table("events", fields=("task_id", "kind")).frame()
    assert len(empty) == 0 and list(empty.columns) == [c for c, _ in SCHEMA["events"]] and not p.rows


def test_unread_lists_each_unread_part_once_per_run():
    p = Problems()
    for line in (1, 2):
        unread({"agents": {"a": 1}, "tools": {"t": {"invocations": [1]}}, "config": {"x": 1}, "empty": {}},
               read={"agents"}, where=Where(p, "b.jsonl", line), prefix="traces", ignore={"config"})
    assert [(r["line"], r["reason"]) for r in p.rows] == [(1, "not read: traces.tools")]


# --------------------------------------------------------------------------- registry and loading


def test_options_are_typed_and_named_in_errors():
    spec = ak.loaders.get_format("massgen")
    assert spec.options_from({"turn": "2", "attempt": None}).turn == 2
    with pytest.raises(ak.LoadError, match=r"option 'turn' of format 'massgen': must be an integer, not 'two'"):
        spec.options_from({"turn": "two"})
    with pytest.raises(ak.LoadError, match=r"unknown option\(s\) 'chunksize' for format 'massgen'"):
        spec.options_from({"chunksize": 1})
    with pytest.raises(ak.LoadError, match="unknown format 'nope'"):
        ak.loaders.get_format("nope")
    assert _registry.parse_option_text(["turn=2"]) == {"turn": "2"}
    with pytest.raises(ak.LoadError, match="not KEY=VALUE"):
        _registry.parse_option_text(["turn"])


def test_formats_come_from_one_registry_in_priority_order():
    names = [f.name for f in ak.loaders.formats()]
    assert names[:5] == ["massgen", "tau2_results", "tau2_profile", "maseval", "convex"]
    assert tuple(names) == ak.FORMATS
    from analysis_kit.samples import sample_writers
    assert sample_writers()["tau2_results_rerun"][0] == "tau2_results"


def test_every_sniff_says_no_to_what_the_file_system_refuses(tmp_path):
    refused = [tmp_path / ("x" * 5000), tmp_path / "missing.json", str(tmp_path / "nul\0.json")]
    (tmp_path / "empty.json").write_text("")
    for spec in ak.loaders.formats():
        for path in refused + [tmp_path / "empty.json"]:
            assert spec.sniff(path) is False, (spec.name, str(path)[:40])  # a name too long: OSError, never raised


def test_a_folder_holding_one_run_file_is_that_run(tmp_path):
    from analysis_kit.samples import tau2_results

    folder = tmp_path / "one"
    path = tau2_results.write(folder, seed=1, size=1)
    (folder / "notes.txt").write_text("not a run")
    assert ak.detect(folder) == "tau2_results"
    run = ak.load(folder)
    assert run.meta["path"] == str(path) and len(run.tasks)
    second = tau2_results.write(tmp_path / "two", seed=2, size=1)
    (tmp_path / "one" / "copy.json").write_bytes(second.read_bytes())
    with pytest.raises(ak.LoadError, match="the folder holds 2 runs"):
        ak.load(folder)
    both = ak.load_runs([folder])
    assert len(both.run_ids) == 2


def test_load_runs_skips_what_does_not_load_and_says_so(tmp_path):
    from analysis_kit.samples import tau2_results

    good = tau2_results.write(tmp_path / "a", seed=1, size=1)
    bad = tmp_path / "bad.txt"
    bad.write_text("nothing")
    with pytest.raises(ak.LoadError, match="not a run of any supported format"):
        ak.load_runs([good, bad])
    runs = ak.load_runs([good, bad, tmp_path / "missing.json"], on_error="skip")
    assert runs.run_ids == [good.stem]
    skipped = runs.problems[runs.problems["reason"].str.startswith("run not loaded")]
    assert skipped["file"].tolist() == [str(bad), str(tmp_path / "missing.json")]
    with pytest.raises(ak.LoadError, match="on_error"):
        ak.load_runs([good], on_error="ignore")


def test_load_runs_on_a_process_pool_equals_in_process(tmp_path):
    from analysis_kit.samples import tau2_results

    paths = [tau2_results.write(tmp_path / str(i), seed=i, size=1) for i in range(3)]
    serial = ak.load_runs(paths, workers=1)
    from analysis_kit import loading
    pooled = loading._pooled([([p], None, False, {}, "raise") for p in paths], 2, {"disable": True})
    combined = ak.concat_runs([r for _, r, _ in pooled])
    assert combined.run_ids == serial.run_ids
    pd.testing.assert_frame_equal(combined.tasks, serial.tasks, check_dtype=False)


def test_many_small_runs_batched_equal_one_by_one(tmp_path):
    """Small tau2 runs load into one set of tables per batch (Format.load_many): the same
    tables, ids and problems as loading each and concatenating."""
    from analysis_kit import loading
    from analysis_kit.samples import tau2_results

    paths = [tau2_results.write(tmp_path / str(i), seed=i % 3, size=1) for i in range(5)]
    damaged = paths[3].read_text().replace('"reward": 1.0', '"reward": "high"', 1)
    paths[3].write_text(damaged)
    jobs = loading._jobs(paths, None, False, {}, "raise")
    assert [len(j[0]) for j in jobs] == [5] and jobs[0][1] == "tau2_results"
    batched = ak.load_runs(paths, workers=1)
    one_by_one = ak.concat_runs([ak.load(p) for p in paths])
    assert batched.run_ids == one_by_one.run_ids == ["tau2_airline_results"] + [
        f"tau2_airline_results#{i}" for i in range(2, 6)]
    for table in ("tasks", "events", "messages", "failures", "problems"):
        pd.testing.assert_frame_equal(getattr(batched, table).astype(str), getattr(one_by_one, table).astype(str),
                                      check_dtype=False, obj=table)
    assert batched.problems["run_id"].tolist() == ["tau2_airline_results#4"]
    assert [m["path"] for m in batched.meta["runs"]] == [str(p) for p in paths]
    summary = batched.summary().set_index("run_id")
    assert summary.loc["tau2_airline_results#2", "tasks"] == len(ak.load(paths[1]).tasks)


def test_unknown_event_kinds_are_problem_rows(example_format, tmp_path, monkeypatch):
    from analysis_kit import loading

    path = tmp_path / "calls.jsonl"
    path.write_text('{"task": "t1", "model": "m"}\n')
    calls = list(example_format.CALL)
    calls[1] = Column("kind", default="llm_cal")
    monkeypatch.setattr(example_format, "CALL", calls)
    run = ak.load(path, cache=False)
    assert run.problems["reason"].tolist() == [
        "1 event(s) of unknown kind 'llm_cal': analyses will not count them (kinds are listed in model.KINDS)"]
    with pytest.raises(ak.LoadError, match="unknown kind 'llm_cal'"):
        ak.load(path, cache=False, strict=True)
    assert "llm_call" in loading.KINDS


# --------------------------------------------------------------------------- estimated cost


def test_estimated_cost_beside_reported_never_mixed(tmp_path):
    from analysis_kit.pricing import estimate_costs

    t = pd.Timestamp("2025-06-01", tz="UTC")
    events = pd.DataFrame({
        "kind": ["llm_call", "llm_call", "llm_call", "tool_call", "user_sim"],
        "name": ["gpt-4o-mini", "gpt-4o-mini", "my-local-model", "search", "openai/gpt-4o-mini"],
        "start": [t] * 5, "input_tokens": [1000, 1000, 50, None, 2000], "output_tokens": [100, 100, 5, None, 0],
        "cached_tokens": [None, 400, None, None, None], "cost_usd": [None, 0.5, None, None, None]})
    run = ak.Run(meta={"run_id": "r"}, events=events)
    estimate_costs(run)
    est = run.events["est_cost_usd"].tolist()
    assert est[0] == pytest.approx(1000 * 0.15e-6 + 100 * 0.6e-6)
    assert np.isnan(est[1]) and np.isnan(est[2]) and np.isnan(est[3])  # priced, unknown, not a call
    assert est[4] == pytest.approx(2000 * 0.15e-6)  # a provider prefix is understood
    assert run.meta["unpriced_models"] == ["my-local-model"]
    assert run.meta["price_table"].startswith("genai-prices ")
    assert run.events["cost_usd"].tolist()[1] == 0.5 and run.events["cost_usd"].isna().sum() == 4
    summary = run.summary().iloc[0]  # side by side, never added together
    assert summary["cost_usd"] == 0.5 and summary["est_cost_usd"] == pytest.approx(est[0] + est[4])
    from analysis_kit.report.views import cost

    note = cost.totals(run).notes[-1].text
    assert "my-local-model" in note and note.startswith("Not in the price table (genai-prices")


def test_a_round_that_reports_usage_without_a_price_is_estimated_as_its_models_calls():
    from analysis_kit.pricing import estimate_costs

    t = pd.Timestamp("2025-06-01", tz="UTC")
    events = pd.DataFrame({  # MassGen: usage per round; one model MassGen's own table lacked
        "kind": ["round", "round", "tool_call"], "agent": ["a", "b", "b"], "name": ["round 0", "round 0", "search"],
        "attrs": ['{"model": "gpt-4o-mini"}', '{"model": "my-local-model"}', None], "start": [t] * 3,
        "input_tokens": [1000, 50, None], "output_tokens": [100, 5, None], "cost_usd": [None, None, None]})
    run = ak.Run(meta={"run_id": "r"}, events=events)
    estimate_costs(run)
    est = run.events["est_cost_usd"].tolist()
    assert est[0] == pytest.approx(1000 * 0.15e-6 + 100 * 0.6e-6) and np.isnan(est[1]) and np.isnan(est[2])
    assert run.meta["unpriced_models"] == ["my-local-model"] and run.events["name"].tolist()[0] == "round 0"


def test_cached_tokens_are_priced_as_cache_reads():
    from analysis_kit.pricing import estimate_costs

    events = pd.DataFrame({"kind": ["llm_call"], "name": ["gpt-4o-mini"], "input_tokens": [1_000_000],
                           "output_tokens": [0], "cached_tokens": [1_000_000]})
    run = ak.Run(meta={"run_id": "r"}, events=events)
    estimate_costs(run)
    assert run.events["est_cost_usd"].iloc[0] == pytest.approx(0.075)
