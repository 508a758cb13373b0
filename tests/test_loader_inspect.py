"""The Inspect AI loader, on logs inspect-ai itself wrote (offline, in a subprocess: see
``tests/writers/inspect_logs.py``) and on the real logs, checked against what inspect-ai's
own reader, ``read_eval_log``, says the same files hold."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit import analyses as an
from analysis_kit.loaders._json_stream import iter_object
from analysis_kit.loaders._zip import MemberError, ZipArchive
from conftest import REAL_LOGS, ROOT, SAMPLES, real
from writers.inspect_logs import generate

KINDS = ["toolbox", "toolbox-b", "toolbox-error", "toolbox-cancelled"]
REAL = ["inspect/log_formats.eval", "inspect/log_formats.json", "inspect/2025-05-12T20-27-36-04-00_browser.json"]


@pytest.fixture(scope="session")
def logs(tmp_path_factory):
    """{kind: {format: path}} of logs inspect-ai wrote, and "references": read_eval_log's facts."""
    real_logs = [REAL_LOGS / r for r in REAL if (REAL_LOGS / r).exists()]
    return generate(tmp_path_factory.mktemp("inspect"), kind=KINDS, with_references=True,
                    references=real_logs, timeout_s=900)


def reference(logs, path) -> dict:
    return logs["references"][str(path)]


def by_attempt(frame: pd.DataFrame) -> dict:
    return {(row.task_id, int(row.trial)): row for row in frame.itertuples()}


def load(path, **options) -> ak.Run:
    return ak.load(path, cache=False, **options)


# ----------------------------------------------------------------------------- both formats

@pytest.mark.parametrize("kind", KINDS)
def test_eval_and_json_forms_of_a_log_give_the_same_tables(logs, kind):
    eval_run, json_run = load(logs[kind]["eval"]), load(logs[kind]["json"])
    for table in ("tasks", "events", "messages", "failures"):
        pd.testing.assert_frame_equal(
            getattr(eval_run, table).sort_values(["task_id", "trial"], kind="stable").reset_index(drop=True),
            getattr(json_run, table).sort_values(["task_id", "trial"], kind="stable").reset_index(drop=True),
            check_like=True)  # extra columns come in the order samples bring them
    assert len(eval_run.tasks) == len(reference(logs, logs[kind]["eval"])["samples"])


@pytest.mark.parametrize("fmt", ["eval", "json"])
def test_tasks_match_read_eval_log(logs, fmt):
    path = logs["toolbox"][fmt]
    ref = reference(logs, path)["samples"]
    tasks = by_attempt(load(path).tasks)
    assert set(tasks) == {(key.split("|")[0], int(key.split("|")[1])) for key in ref}
    for key, sample in ref.items():
        task_id, epoch = key.split("|")
        row = tasks[(task_id, int(epoch))]
        status = "error" if sample["error"] else f"{sample['limit']}_limit" if sample["limit"] else "success"
        assert row.status == status
        match = sample["scores"].get("match")
        assert (pd.isna(row.success) and match is None) or row.success == (match == "C")
        assert (pd.isna(row.reward) and match is None) or row.reward == {"C": 1.0, "I": 0.0}[match]
        closeness = sample["scores"].get("closeness")
        assert pd.isna(row.score_closeness) if closeness is None else row.score_closeness == str(closeness)
        assert row.duration_s == pytest.approx(sample["total_time"])
        assert row.working_s == pytest.approx(sample["working_time"])
        assert row.start == pd.Timestamp(sample["started_at"]) and row.end == pd.Timestamp(sample["completed_at"])
        [usage] = sample["model_usage"].values()
        assert row.input_tokens == usage["input_tokens"] + usage["input_tokens_cache_read"] + usage[
            "input_tokens_cache_write"]
        assert row.output_tokens == usage["output_tokens"]
        assert row.cached_tokens == usage["input_tokens_cache_read"]
        assert row.cost_usd == pytest.approx(usage["total_cost"])
        reasoning = usage.get("reasoning_tokens")
        assert pd.isna(row.reasoning_tokens) if reasoning is None else row.reasoning_tokens == reasoning


def test_statuses_verdicts_and_failures_by_hand(logs):
    run = load(logs["toolbox"]["eval"])
    tasks = by_attempt(run.tasks)
    assert tasks[("add", 1)].status == "success" and tasks[("add", 1)].success
    assert tasks[("add", 1)].termination_reason == "completed" and tasks[("add", 1)].answer == "5"
    crash = tasks[("crash", 2)]
    assert crash.status == "error" and pd.isna(crash.success) and crash.error == "RuntimeError('tool crashed: boom')"
    loop = tasks[("loop", 1)]
    assert (loop.status, loop.termination_reason, loop.success, loop.limit) == (
        "message_limit", "message_limit", False, "message")
    failures = run.failures.sort_values(["category", "task_id", "trial"]).reset_index(drop=True)
    assert failures[["task_id", "trial", "category", "step"]].astype(object).where(failures.notna(), None).values.tolist() == [
        ["crash", 1, "error", None], ["crash", 2, "error", None],
        ["loop", 1, "limit", "message"], ["loop", 2, "limit", "message"]]
    assert failures.loc[0, "error"] == "RuntimeError: tool crashed: boom"  # the traceback's last line
    assert failures.loc[2, "error"] == "Message limit reached. count: 12; limit: 12"
    assert an.totals(run)["tasks"] == 10


def test_an_errored_sample_that_was_scored_keeps_status_and_verdict_apart(logs):
    tasks = by_attempt(load(logs["toolbox-b"]["eval"]).tasks)  # score_on_error=True
    crash = tasks[("crash", 1)]
    assert crash.status == "error" and pd.notna(crash.success) and not crash.success and crash.reward == 0.0


def test_options_choose_the_scorer_and_the_threshold(logs):
    path = logs["toolbox-b"]["eval"]  # closeness: add 0.5, think 0.5, flaky 1.0
    tasks = by_attempt(load(path, scorer="closeness", pass_threshold=0.5).tasks)
    assert tasks[("add", 1)].success and tasks[("add", 1)].reward == 0.5 and tasks[("add", 1)].scorer == "closeness"
    assert not by_attempt(load(path, scorer="closeness").tasks)[("add", 1)].success
    with pytest.raises(ak.LoadError, match="unknown option"):
        load(path, scorers="x")


# ----------------------------------------------------------------------------- events

@pytest.mark.parametrize("fmt", ["eval", "json"])
def test_model_and_tool_events_match_read_eval_log(logs, fmt):
    path = logs["toolbox"][fmt]
    events = load(path).events
    for key, sample in reference(logs, path)["samples"].items():
        task_id, epoch = key.split("|")
        ev = events[(events.task_id == task_id) & (events.trial == int(epoch))]
        models = [e for e in sample["events"] if e["event"] == "model"]
        calls = ev[ev.kind == "llm_call"].reset_index(drop=True)
        assert len(calls) == len(models)
        for row, model in zip(calls.itertuples(), models):
            usage = model["usage"]
            assert row.start == pd.Timestamp(model["timestamp"]) and row.end == pd.Timestamp(model["completed"])
            assert row.duration_ms == pytest.approx((row.end - row.start).total_seconds() * 1000)
            assert row.input_tokens == usage["input_tokens"] + usage.get("input_tokens_cache_read", 0) + usage.get(
                "input_tokens_cache_write", 0)
            assert row.cached_tokens == usage["input_tokens_cache_read"] and row.name == "mockllm/model"
        tools = [e for e in sample["events"] if e["event"] == "tool"]
        rows = ev[ev.kind == "tool_call"].reset_index(drop=True)
        assert rows["name"].tolist() == [t["name"] for t in tools]
        assert [json.loads(a)["arguments"] for a in rows["attrs"]] == [t["arguments"] for t in tools]
        assert [None if pd.isna(e) else e for e in rows["error"]] == [
            None if t["error"] is None else f"unknown: {t['error']}" for t in tools]
        # usage is counted once: the sample's model_usage equals the sum over its calls
        assert calls["input_tokens"].sum() == by_attempt(load(path).tasks)[(task_id, int(epoch))].input_tokens


def test_spans_keep_the_hierarchy_and_merge_with_their_events(logs):
    events = load(logs["toolbox"]["eval"]).events
    flaky = events[(events.task_id == "flaky") & (events.trial == 1)].set_index("span_id")
    assert not set(flaky["parent_id"].dropna()) - set(flaky.index)  # every parent is a row
    [shell] = flaky.index[(flaky.kind == "tool_call") & (flaky.name == "shell")]
    [subtask] = flaky.index[flaky.kind == "subtask"]
    assert flaky.loc[subtask, "parent_id"] == shell  # the tool span merged into the tool call row
    sandbox = flaky[(flaky.kind == "sandbox") & (flaky.parent_id == subtask)]
    assert json.loads(sandbox.iloc[0]["attrs"])["cmd"] == "sh -c 'echo ok'"
    agent = flaky.loc[flaky.loc[shell, "parent_id"]]
    assert (agent["kind"], agent["name"]) == ("agent", "react")
    assert flaky.loc[agent["parent_id"], "kind"] == "step"  # the react solver step
    assert set(flaky[flaky.kind.isin(["llm_call", "tool_call", "approval"])]["agent"]) == {"react"}
    scores = flaky[flaky.kind == "score"]
    assert scores["name"].tolist() == ["match", "closeness"]
    assert set(flaky.loc[scores["parent_id"], "name"]) == {"scorers"}
    assert (scores["duration_ms"] > 0).all()  # a score takes its scorer span's time
    assert "tool" not in set(json.loads(a).get("span_type") for a in flaky[flaky.kind == "step"]["attrs"])
    steps = an.step_times(events)
    assert {"init", "solvers", "react", "scorers"} <= set(steps["step"])
    assert set(events["kind"]) <= set(ak.model.KINDS)


def test_limits_and_errors_are_instants_and_approvals_are_kept(logs):
    events = load(logs["toolbox"]["eval"]).events
    errors = events[events.kind == "error"]
    # the crash's warning line of Inspect's own log is kept too (logger events of warning level and up)
    assert set(zip(errors.task_id, errors["name"])) == {("crash", "error"), ("crash", "warning"), ("loop", "message")}
    assert (errors["duration_ms"] == 0).all()
    approvals = events[events.kind == "approval"]
    assert (approvals["attrs"].map(lambda a: json.loads(a)["decision"]) == "approve").all()


# ----------------------------------------------------------------------------- messages and meta

@pytest.mark.parametrize("fmt", ["eval", "json"])
def test_messages_match_read_eval_log(logs, fmt):
    path = logs["toolbox"][fmt]
    messages = load(path).messages
    for key, sample in reference(logs, path)["samples"].items():
        task_id, epoch = key.split("|")
        rows = messages[(messages.task_id == task_id) & (messages.trial == int(epoch))].sort_values("idx")
        assert rows["role"].tolist() == [m["role"] for m in sample["messages"]]
        for row, ref in zip(rows.itertuples(), sample["messages"]):
            assert ref["text"] in row.content  # a content list adds its labelled non-text parts
            calls = [] if pd.isna(row.tool_calls) else json.loads(row.tool_calls)
            assert calls == ref["tool_calls"]
            assert (None if pd.isna(row.tool_call_id) else row.tool_call_id) == ref["tool_call_id"]
            assert (None if pd.isna(row.name) else row.name) == ref["function"]
            assert (None if pd.isna(row.error) else row.error) == (ref["error"] and f"unknown: {ref['error']}")
    think = messages[(messages.task_id == "think") & (messages.idx == 2)].iloc[0]
    assert think.content.startswith("[reasoning] The sum of the two numbers.\nThinking it over. <script>")


def test_meta_matches_read_eval_log(logs):
    path = logs["toolbox"]["eval"]
    ref, meta = reference(logs, path), load(path).meta
    assert (meta["benchmark"], meta["models"], meta["epochs"], meta["eval_status"]) == ("toolbox", [ref["model"]], 2, "success")
    assert meta["metrics"] == ref["metrics"] and meta["inspect_version"] == ref["inspect_version"]
    assert pd.Timestamp(meta["started"]) == pd.Timestamp(ref["started_at"])
    assert meta["solver"] == "react" and meta["source_format"] == "inspect"


@pytest.mark.parametrize("kind, status", [("toolbox-error", "error"), ("toolbox-cancelled", "cancelled")])
@pytest.mark.parametrize("fmt", ["eval", "json"])
def test_an_eval_that_did_not_succeed_loads_what_it_has(logs, kind, status, fmt):
    path = logs[kind][fmt]
    ref = reference(logs, path)
    run = load(path)
    assert run.meta["eval_status"] == status == ref["status"]
    assert len(run.tasks) == len(ref["samples"])
    [problem] = run.problems[run.problems.reason.str.startswith("eval status")]["reason"]
    assert problem.startswith(f"eval status {status}") and (ref["error"] or "") in problem
    tasks = by_attempt(run.tasks)
    for key, sample in ref["samples"].items():  # the crash stopped the eval: samples running then are cancelled
        row = tasks[(key.split("|")[0], int(key.split("|")[1]))]
        assert (row.status == "error") == bool(sample["error"])
        assert (None if pd.isna(row.error) else row.error) == sample["error"]
    with pytest.raises(ak.LoadError, match=path.name):
        ak.load(path, cache=False, strict=True)


# ----------------------------------------------------------------------------- real logs

def test_real_log_in_both_formats(logs):
    eval_run, json_run = load(real("inspect", "log_formats.eval")), load(real("inspect", "log_formats.json"))
    pd.testing.assert_frame_equal(eval_run.tasks, json_run.tasks)
    ref = reference(logs, real("inspect", "log_formats.eval"))
    [row] = eval_run.tasks.itertuples()
    assert (row.task_id, row.trial, row.status, row.success, row.reward) == ("1", 1, "success", False, 0.0)
    assert (row.input_tokens, row.output_tokens) == (66, 2)  # no usage per sample: the call's
    assert eval_run.messages["content"].tolist() == [m["text"] for m in ref["samples"]["1|1"]["messages"]]
    # older logs: steps instead of spans, tc:// references
    assert eval_run.events["kind"].tolist() == ["step", "step", "llm_call", "score"]
    assert set(eval_run.events[eval_run.events.kind == "step"]["name"]) == {"system_message", "generate"}
    llm = eval_run.events[eval_run.events.kind == "llm_call"].iloc[0]
    assert llm["parent_id"] == eval_run.events[eval_run.events.name == "generate"].iloc[0]["span_id"]
    assert eval_run.meta["metrics"] == ref["metrics"] and len(eval_run.problems) == 0


def test_real_browser_log():
    run = load(real("inspect", "2025-05-12T20-27-36-04-00_browser.json"))
    [task] = run.tasks.itertuples()
    assert (task.status, task.success, task.input_tokens, task.cached_tokens) == ("success", True, 15235 + 9088, 9088)
    counts = run.events["kind"].value_counts().to_dict()
    assert (counts["llm_call"], counts["tool_call"], counts["sandbox"]) == (5, 4, 10)
    calls = run.events[run.events.kind == "llm_call"]
    assert calls["input_tokens"].sum() == task.input_tokens  # events and sample agree, counted once
    tools = run.events[run.events.kind == "tool_call"].set_index("span_id")
    sandbox = run.events[run.events.kind == "sandbox"]
    assert sandbox["parent_id"].isin(tools.index).all()  # the browser's commands run inside its tool calls
    assert not run.messages["content"].str.contains("attachment://").any()
    assert run.messages.iloc[0]["content"].startswith("Use the web browser tool")
    assert len(run.problems) == 0


# ----------------------------------------------------------------------------- damaged input

def test_truncated_eval_loads_the_members_before_the_cut(logs, tmp_path):
    data = logs["toolbox"]["eval"].read_bytes()
    archive = ZipArchive(io.BytesIO(data))
    cut_at = archive.members["samples/think_epoch_2.json"].header_offset + 100
    path = tmp_path / "cut.eval"
    path.write_bytes(data[:cut_at])
    run = load(path)
    reasons = run.problems["reason"].tolist()
    assert any("no readable central directory" in r for r in reasons)
    assert any(r == "eval status started; what the log holds is loaded" for r in reasons)  # no header.json
    complete = [n for n, m in archive.members.items() if n.startswith("samples/") and m.header_offset < cut_at - 100]
    assert len(run.tasks) == len(complete) and set(run.tasks["status"]) >= {"success"}


def test_a_damaged_sample_member_is_a_problem_and_its_row_comes_from_the_summary(logs, tmp_path):
    data = bytearray(logs["toolbox"]["eval"].read_bytes())
    member = ZipArchive(io.BytesIO(bytes(data))).members["samples/loop_epoch_1.json"]
    data[member.header_offset + 30 + len(member.name) + 200] ^= 0xFF
    path = tmp_path / "damaged.eval"
    path.write_bytes(bytes(data))
    run = load(path)
    assert run.problems["reason"].str.contains("samples/loop_epoch_1.json: ").any()
    assert run.problems["reason"].str.contains("sample loop epoch 1: no readable sample").any()
    loop = by_attempt(run.tasks)[("loop", 1)]
    assert (loop.status, loop.success, loop.limit) == ("message_limit", False, "message")
    assert len(run.tasks) == 10 and run.events[(run.events.task_id == "loop") & (run.events.trial == 1)].empty
    with pytest.raises(ak.LoadError, match="damaged.eval"):
        ak.load(path, cache=False, strict=True)


def test_truncated_json_log_keeps_the_samples_before_the_cut(logs, tmp_path):
    text = logs["toolbox"]["json"].read_text()
    second = text.index('"epoch": 1', text.index('"samples": [') + 200)  # inside the second sample
    path = tmp_path / "cut.json"
    path.write_text(text[:second])
    run = load(path)
    assert len(run.tasks) == 1
    assert run.problems["reason"].str.contains("the file ends inside a value").any()


def test_json_samples_are_read_one_at_a_time():
    """The first sample is yielded after reading about one buffer, not the whole file."""
    samples = ",".join(json.dumps({"id": i, "text": "x" * 5000}) for i in range(2000))
    raw = ('{"version": 2, "status": "success", "eval": {}, "samples": [' + samples + "]}").encode()

    class Counting(io.BytesIO):
        served = 0

        def read(self, n=-1):
            out = super().read(n)
            self.served += len(out)
            return out

    stream = Counting(raw)
    items = iter_object(stream, streamed={"samples"})
    while next(items)[0] != "samples":
        pass
    assert stream.served <= 2 * 1024 * 1024 < len(raw)
    assert sum(1 for _ in items) == 1999


def test_zip_members_zstd_frames_deflate_and_crc():
    import zstandard

    payload = b'{"a": 1}' * 1000
    frames = zstandard.ZstdCompressor().compress(payload[:3000]) + zstandard.ZstdCompressor().compress(payload[3000:])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("stored.json", payload)
        zf.writestr(zipfile.ZipInfo("deflated.json"), payload, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("zstd.json", frames)  # stored, then relabelled as zstd below
    data = bytearray(buf.getvalue())
    archive = ZipArchive(io.BytesIO(bytes(data)))
    zstd = archive.members["zstd.json"]
    for offset in (zstd.header_offset + 8, data.rindex(b"zstd.json") - 46 + 10):  # local and central method
        data[offset:offset + 2] = (93).to_bytes(2, "little")
    central = data.rindex(b"zstd.json") - 46
    data[central + 16:central + 20] = zlib.crc32(payload).to_bytes(4, "little")
    data[central + 24:central + 28] = len(payload).to_bytes(4, "little")
    archive = ZipArchive(io.BytesIO(bytes(data)))
    assert archive.read("stored.json") == archive.read("deflated.json") == archive.read("zstd.json") == payload
    data[central + 16] ^= 0xFF
    with pytest.raises(MemberError, match="CRC mismatch"):
        ZipArchive(io.BytesIO(bytes(data))).read("zstd.json")


# ----------------------------------------------------------------------------- detection, speed path, analyses

def test_detection_and_a_folder_of_logs(logs, tmp_path):
    for kind in KINDS:
        for path in logs[kind].values():
            assert ak.detect(path) == "inspect"
    folder = tmp_path / "logs"
    folder.mkdir()
    for kind in ("toolbox", "toolbox-b"):
        shutil.copy(logs[kind]["eval"], folder)
    with pytest.raises(ak.LoadError, match="holds 2 runs"):
        ak.load(folder)
    both = ak.load_runs([folder], progress=False)
    assert sorted(both.run_ids) == sorted(logs[kind]["eval"].stem for kind in ("toolbox", "toolbox-b"))
    assert all(run_id.endswith(("_toolbox_model", "_toolbox_model-b")) for run_id in both.run_ids)
    assert ak.detect(SAMPLES / "inspect") == "inspect"  # a folder holding one log is that log
    other = tmp_path / "other.eval"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("x.txt", "not a log")
    sniff = ak.loaders.get_format("inspect").sniff
    assert not sniff(other) and not sniff(tmp_path / "missing.json") and not sniff(tmp_path)
    assert not sniff(SAMPLES / "tau2_results" / "tau2_airline_results.json")


def test_loading_never_imports_inspect_ai_nor_needs_its_zipfile_patch(logs):
    code = ("import sys, zipfile, analysis_kit as ak; run = ak.load(sys.argv[1], cache=False); "
            "print(len(run.tasks), 'inspect_ai' in sys.modules, hasattr(zipfile, 'ZIP_ZSTANDARD'))")
    out = subprocess.run([sys.executable, "-c", code, str(logs["toolbox"]["eval"])], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout.split()
    assert out == ["10", "False", "False"]


def test_every_analysis_on_inspect_runs(logs, tmp_path):
    from test_analyses_all_runs import run_every_analysis

    for path in [logs["toolbox"]["eval"], logs["toolbox-error"]["json"], *(REAL_LOGS / r for r in REAL)]:
        if Path(path).exists():
            run_every_analysis(load(path), tmp_path)


def test_comparison_of_two_models_on_the_same_task(logs):
    """What Inspect users ask for (inspect_ai #1327): per-sample changed outcomes and the pass
    rate difference with its bootstrap interval."""
    runs = ak.load_runs([logs["toolbox"]["eval"], logs["toolbox-b"]["eval"]], progress=False)
    changed = an.changed_outcomes(runs)
    assert set(zip(changed.task_id, changed.trial, changed.change)) == {
        (t, e, "broken") for t in ("add", "think") for e in (1, 2)}
    diff = an.compare(runs, n_boot=200).set_index("metric").loc["pass_rate"]
    assert (diff["a"], diff["b"]) == (pytest.approx(6 / 8), pytest.approx(2 / 10))  # b scores its errors: I
    assert diff["ci_low"] <= diff["diff"] <= diff["ci_high"] < 0


def test_widgets_on_inspect_runs(logs):
    from analysis_kit import widgets

    run = load(logs["toolbox"]["eval"])
    ex = widgets.explore(run)
    assert sorted(ex.task.rows) == ["add", "crash", "flaky", "loop", "think"]
    ex.task.show_task("think", 1)
    assert "&lt;script&gt;" in ex.task.transcript_html and "<script>" not in ex.task.transcript_html
    assert ex.task.header_text == "task think trial 1: success; reward 1; termination: completed"
    ex.task.show_task("crash", 2)
    assert "error: RuntimeError('tool crashed: boom')" in ex.task.header_text
    for kind in ex.latency.kind.options:
        ex.latency.kind.value = kind
    assert not ex.latency.rows["kind"].isin(["agent", "step"]).any()
    assert len(ex.failures.rows) == 4
    both = ak.load_runs([logs["toolbox"]["eval"], logs["toolbox-b"]["json"]], progress=False)
    comparison = widgets.RunComparison(both, n_boot=50)
    assert set(comparison.changes["task_id"]) == {"add", "think"}
    assert comparison.comparison.set_index("metric").loc["pass_rate", "diff"] == pytest.approx(0.2 - 0.75)


@pytest.mark.parametrize("name", ["log_formats.eval", "log_formats.json", "toolbox.eval"])
def test_mutated_logs_give_a_run_or_a_load_error(name, logs, tmp_path):
    """Bounded fuzz: bytes of a log flipped and cut (the zstd one: its members); the only
    outcomes allowed are a Run whose problems name the file, or a LoadError naming it.
    A longer hunt: AK_FUZZ_EXAMPLES=2000 AK_FUZZ_RANDOM=1."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from analysis_kit.loaders import inspect as loader

    source = (logs["toolbox"]["eval"] if name == "toolbox.eval" else real("inspect", name)).read_bytes()

    @settings(max_examples=int(os.environ.get("AK_FUZZ_EXAMPLES", 12)), deadline=None, database=None,
              derandomize=not os.environ.get("AK_FUZZ_RANDOM"), suppress_health_check=list(HealthCheck))
    @given(flips=st.lists(st.tuples(st.integers(0, len(source) - 1), st.integers(1, 255)), max_size=8),
           cut=st.integers(0, len(source)))
    def check(flips, cut):
        data = bytearray(source)
        for at, mask in flips:
            data[at] ^= mask
        path = tmp_path / name
        path.write_bytes(bytes(data[:cut]))
        _a_run_or_a_load_error(loader, path)

    check()


def _a_run_or_a_load_error(loader, path) -> None:
    """What any damaged log must give: a Run whose problems name their file, or a LoadError
    naming it (never another exception)."""
    try:
        run = loader.load(path)
    except ak.LoadError as exc:
        assert exc.file is not None
        return
    assert isinstance(run, ak.Run) and run.problems["file"].notna().all()


@pytest.mark.parametrize("which", ["toolbox", "browser"])
def test_json_values_of_the_wrong_type_give_a_run_or_a_load_error(which, logs, tmp_path):
    """Bounded fuzz (as test_fuzz's): values anywhere in a .json log swapped for values of
    the wrong type (lists for ids, text for times, objects for epochs, ...)."""
    import copy

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_fuzz import WRONG_VALUES, _paths, _replace

    from analysis_kit.loaders import inspect as loader

    source = logs["toolbox"]["json"] if which == "toolbox" else real("inspect", REAL[2].split("/")[1])
    original = json.loads(source.read_text())
    paths = list(_paths(original))[1:]

    @settings(max_examples=int(os.environ.get("AK_FUZZ_EXAMPLES", 12)), deadline=None, database=None,
              derandomize=not os.environ.get("AK_FUZZ_RANDOM"), suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data):
        obj = copy.deepcopy(original)
        for _ in range(data.draw(st.integers(1, 6))):
            try:
                _replace(obj, data.draw(st.sampled_from(paths)), copy.deepcopy(data.draw(WRONG_VALUES)))
            except (KeyError, IndexError, TypeError):  # an earlier swap removed this path
                pass
        path = tmp_path / f"{which}.json"
        path.write_bytes(json.dumps(obj, allow_nan=True).encode("utf-8", "surrogatepass"))
        _a_run_or_a_load_error(loader, path)

    check()


@pytest.mark.slow
def test_report_of_an_inspect_log_and_of_two_compared(logs, tmp_path, monkeypatch):
    """Every report section runs on the Inspect sample; two logs of the same task compare."""
    import re

    from analysis_kit.report import TITLES, run_report

    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    one = run_report([SAMPLES / "inspect" / "toolbox.eval"], tmp_path / "one", formats="md", progress=False)
    assert one.ok, [(s.section, s.error) for s in one.sections]
    md = (one.out_dir / "ANALYSIS_REPORT.md").read_text()
    ran = [r.title for r in one.sections if r.ran]  # a section with nothing to say is named at the end
    assert [h for h in re.findall(r"^## (.+)$", md, flags=re.M) if h in TITLES.values()] == ran
    assert {"Overview", "Latency", "Timeline", "Cost and tokens", "Failures", "Conversations", "Trace"} <= set(ran)
    assert "<script" not in md and re.search(r"\| message\\_limit\s+\|\s+2 \|", md)  # outcomes by status
    two = run_report([logs["toolbox"]["eval"], logs["toolbox-b"]["json"]], tmp_path / "two",
                     sections=["comparison"], formats="md", progress=False)
    assert two.ok, [(s.section, s.error) for s in two.sections]
    compared = (two.out_dir / "ANALYSIS_REPORT.md").read_text()
    assert re.search(r"\| pass\\_rate\s+\|\s+75\.0% \|\s+20\.0% \|\s+-55\.0% \|", compared)  # shares as percentages
    assert len(re.findall(r"\| (add|think) \s*\|\s+[12] \s*\|\s+yes\s+\|\s+no\s+\| broken", compared)) == 4


def test_fixtures_were_written_offline_without_a_tokenizer(logs):
    """The writer ran in a network namespace with no interface where that works (root), and
    with explicit usage on every output: no tokenizer or hub file was fetched or cached."""
    from writers.inspect_logs import _network_isolation

    home = logs["toolbox"]["eval"].parent.parent / ".home"
    assert home.is_dir()
    cached = [p for p in (home / "cache").rglob("*") if p.is_file()] if (home / "cache").exists() else []
    assert cached == []
    assert not list(home.rglob("*tiktoken*")) and not list(home.rglob("*huggingface*"))
    if sys.platform == "linux" and shutil.which("unshare") and os.geteuid() == 0:
        assert _network_isolation() == [shutil.which("unshare"), "-n"]  # so the writer had no network
