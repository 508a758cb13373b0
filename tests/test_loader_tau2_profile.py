"""The tau2 [PROFILE]/[USER_JUDGE] loader on the real documented lines, the generated sample
and broken inputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import real

import analysis_kit as ak
from analysis_kit import LoadError
from analysis_kit.loaders import _blocks, _keyvalue, tau2_profile
from analysis_kit.samples import tau2_profile as sample

UTC = "UTC"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


@pytest.fixture(scope="module")
def real_run():
    return tau2_profile.load(real("tau2_profile", "doc_lines.log"))


@pytest.fixture(scope="module")
def sample_path(tmp_path_factory) -> Path:
    return sample.write(tmp_path_factory.mktemp("profile_sample"), seed=7, size=1)


@pytest.fixture(scope="module")
def sample_run(sample_path):
    return tau2_profile.load(sample_path)


def write(tmp_path: Path, text: str | bytes, name: str = "p.log") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


GOOD = "[PROFILE] 2025-12-23 10:15:33.012 task=t1 thread=7 type=tool_call function=f call_type=local_function step=2 duration_ms=12.00"


# ---------------------------------------------------------------- real lines

def test_real_counts_per_kind(real_run):
    counts = real_run.events["kind"].value_counts().to_dict()
    assert counts == {"llm_call": 2, "expert_call": 1, "tool_call": 1, "step": 1, "user_sim": 1, "evaluator": 1}
    assert real_run.problems.empty


def test_real_first_event_start_is_timestamp_minus_duration(real_run):
    first = real_run.events.iloc[0]
    assert first["end"] == ts("2025-12-24 04:28:25.388")
    # 04:28:25.388 - 2107.20 ms = 04:28:23.280800
    assert first["start"] == ts("2025-12-24 04:28:23.280800")
    assert first["duration_ms"] == 2107.20
    assert first["name"] == "/workspace/ckpt/nvidia/Nemotron-Orchestrator-8B"
    assert first["thread"] == "124685400381120" and first["task_id"] == "impossible_task_1"
    assert first["has_tool_calls"] is False or first["has_tool_calls"] == False  # noqa: E712
    attrs = json.loads(first["attrs"])
    assert attrs["toolorchestra_vllm_prefill_ms"] == 102.07 and attrs["toolorchestra_vllm_prefill_len"] == 857
    assert first["step"] == 1 and first["call_type"] == "vllm"
    # keys held by a typed column are not repeated in attrs
    assert not {"step", "call_type", "has_tool_calls", "task", "duration_ms"} & set(attrs)


def test_real_names_agents_steps(real_run):
    ev = real_run.events.set_index("kind")
    assert ev.loc["tool_call", "name"] == "get_order_details"
    assert ev.loc["tool_call", "step"] == 5 and ev.loc["step", "step"] == 5
    assert ev.loc["step", "duration_ms"] == 3591.00  # from total_duration_ms
    assert json.loads(ev.loc["step", "attrs"]) == {"from_role": "agent", "to_role": "env"}
    assert ev.loc["expert_call", "agent"] == "expert" and ev.loc["user_sim", "agent"] == "user_simulator"
    assert ev.loc["evaluator", "agent"] == "evaluator" and ev.loc["tool_call", "agent"] == "agent"
    assert list(real_run.events["level"].astype(str)) == ["PROFILE"] * 5 + ["USER_JUDGE"] * 2
    assert list(real_run.events["line"]) == [1, 2, 3, 4, 5, 6, 7]
    assert real_run.events["error"].isna().all()


def test_real_tasks_and_meta(real_run):
    tasks = real_run.tasks.set_index("task_id")
    assert list(tasks.index) == ["impossible_task_1", "retail_001"]
    # retail_001: earliest start is the step (10:15:33.015 - 3591 ms), last end the evaluator
    assert tasks.loc["retail_001", "start"] == ts("2025-12-23 10:15:29.424")
    assert tasks.loc["retail_001", "end"] == ts("2025-12-23 10:15:40.500")
    assert tasks.loc["retail_001", "duration_s"] == pytest.approx(11.076)
    assert (tasks["status"] == "unknown").all() and tasks["success"].isna().all()
    assert real_run.meta["models"] == ["/workspace/ckpt/nvidia/Nemotron-Orchestrator-8B", "gpt-5", "nemotron"]
    assert real_run.meta["run_id"] == "doc_lines"
    assert pd.Timestamp(real_run.meta["started"]) == ts("2025-12-23 10:15:29.424")
    assert pd.Timestamp(real_run.meta["ended"]) == ts("2025-12-24 04:28:25.388")


def test_sniff_and_detect():
    assert tau2_profile.sniff(real("tau2_profile", "doc_lines.log"))
    assert ak.detect(real("tau2_profile", "doc_lines.log")) == "tau2_profile"
    assert not tau2_profile.sniff(real("tau2", "airline_grok-3-mini_10sims.json"))


# ---------------------------------------------------------------- sample

def oracle(path: Path) -> dict[str, int]:
    """Counts by type, computed line by line without the loader."""
    counts: dict[str, int] = {}
    for line in path.read_text().splitlines():
        if line.startswith(("[PROFILE]", "[USER_JUDGE]")):
            kind = next(tok[5:] for tok in line.split() if tok.startswith("type="))
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def test_sample_counts_match_lines(sample_path, sample_run):
    expected = oracle(sample_path)
    expected["step"] = expected.pop("step_complete")
    assert sample_run.events["kind"].value_counts().to_dict() == expected
    text = sample_path.read_text()
    assert sample_run.events["error"].eq("error").sum() == text.count(" error=True")
    assert sample_run.events["attrs"].str.contains("toolorchestra_vllm_prefill_ms").sum() == text.count(
        "toolorchestra_vllm_prefill_ms=")
    assert len(sample_run.tasks) == 60 and sample_run.problems.empty
    assert set(sample_run.meta["models"]) == {sample.AGENT_MODEL, sample.EXPERT_MODEL, sample.JUDGE_MODEL}
    assert len(text.splitlines()) > 2000 and len(text.encode()) < 400_000


def test_sample_retries_and_stalled_task(sample_run):
    ev = sample_run.events
    tools = ev[ev["kind"] == "tool_call"].reset_index(drop=True)
    failed = tools.index[tools["error"].notna()]
    assert len(failed) > 0
    for i in failed:  # the next tool call of the same task repeats the failed one
        later = tools[(tools.index > i) & (tools["task_id"] == tools.loc[i, "task_id"])].iloc[0]
        assert later["name"] == tools.loc[i, "name"] and later["step"] == tools.loc[i, "step"]
    last_end = ev.groupby("task_id")["end"].max()
    stalled = ev[ev["task_id"] == sample.STALLED_TASK]
    assert stalled["step"].max() == 2 and "evaluator" not in set(stalled["kind"])
    assert last_end[sample.STALLED_TASK] < last_end.max() - pd.Timedelta(minutes=5)
    assert ev["thread"].nunique() == 4


def test_sample_is_deterministic(tmp_path, sample_path):
    again = sample.write(tmp_path, seed=7)
    assert again.read_bytes() == sample_path.read_bytes()
    assert sample.write(tmp_path / "other", seed=8).read_bytes() != sample_path.read_bytes()


def test_write_big_has_exact_line_count(tmp_path):
    path = sample.write_big(tmp_path / "big.log", 2_500, seed=3, block=1_000)
    lines = path.read_text().splitlines()
    assert len(lines) == 2_500
    run = tau2_profile.load(path)
    assert len(run.events) == sum(line.startswith(("[PROFILE]", "[USER_JUDGE]")) for line in lines)
    assert run.problems.empty


# ---------------------------------------------------------------- broken inputs

def test_bad_values_become_problems_and_events_are_kept(tmp_path):
    path = write(tmp_path, "\n".join([
        GOOD,
        "INFO something else",
        "[PROFILE] not-a-time task=t1 thread=7 type=llm_call model=m duration_ms=5",
        "[PROFILE] 2025-12-23 10:15:34.000 task=t1 thread=7 type=llm_call model=m duration_ms=abc",
        "[PROFILE] 2025-12-23 10:15:35.000 task=t1 thread=7 type=llm_call model=m duration_ms=-3",
        "[PROFILE] 2025-12-23 10:15:36.000 task=t1 thread=7 model=m duration_ms=4",
        "[USER_JUDGE] 2025-12-23 10:15:37.000 task=t1 thread=7 type=new_kind model=m duration_ms=nan input_tokens=x",
    ]) + "\n")
    run = tau2_profile.load(path)
    assert list(run.events["line"]) == [1, 3, 4, 5, 7]  # line 6 (no type) is dropped
    assert list(run.events["kind"]) == ["tool_call", "llm_call", "llm_call", "llm_call", "new_kind"]
    assert run.events["duration_ms"].isna().tolist() == [False, False, True, True, True]
    assert pd.isna(run.events.loc[1, "end"]) and pd.isna(run.events.loc[2, "start"])
    assert pd.isna(run.events.loc[4, "agent"])
    got = list(zip(run.problems["line"], run.problems["reason"].str.split(":").str[0]))
    assert got == [
        (3, "timestamp does not parse"),
        (4, "duration_ms is not a valid duration (a non-negative finite number)"),
        (5, "duration_ms is not a valid duration (a non-negative finite number)"),
        (6, "no type= field"),
        (7, "duration_ms is not a valid duration (a non-negative finite number)"),
        (7, "input_tokens is not an integer"),
    ]
    assert (run.problems["file"] == str(path)).all()
    assert run.problems.loc[0, "raw"].startswith("[PROFILE] not-a-time")


def test_raw_is_cut_to_200_characters(tmp_path):
    path = write(tmp_path, f"[PROFILE] 2025-12-23 10:15:36.000 type=x duration_ms={'9' * 500}z\n")
    run = tau2_profile.load(path)
    assert len(run.problems) == 1 and len(run.problems.loc[0, "raw"]) == 200


def test_strict_raises_with_file_and_line(tmp_path):
    path = write(tmp_path, GOOD + "\n" + GOOD.replace("duration_ms=12.00", "duration_ms=slow") + "\n")
    with pytest.raises(LoadError) as err:
        tau2_profile.load(path, strict=True)
    assert f"{path}:2:" in str(err.value) and err.value.line == 2
    with pytest.raises(LoadError, match=r":2: "):
        ak.load(path, strict=True)


def test_non_utf8_bytes_are_replaced_and_reported(tmp_path):
    data = (GOOD.replace("function=f", "function=f\xff\xfe").encode("latin-1") + b"\n"
            + b"DEBUG \x80 binary\n" + GOOD.encode() + b"\n")
    run = tau2_profile.load(write(tmp_path, data))
    assert len(run.events) == 2 and run.events.loc[0, "name"] == "f\ufffd\ufffd"
    assert list(run.problems["line"]) == [1, 2]
    assert run.problems["reason"].str.contains("invalid UTF-8").all()


def test_crlf_and_bom(tmp_path):
    data = b"\xef\xbb\xbf" + (GOOD + "\r\n" + GOOD.replace("t1", "t2") + "\r\n").encode()
    path = write(tmp_path, data)
    assert tau2_profile.sniff(path)
    run = tau2_profile.load(path)
    assert list(run.events["task_id"]) == ["t1", "t2"]
    assert list(run.events["duration_ms"]) == [12.0, 12.0]
    assert run.events["call_type"].astype(str).tolist() == ["local_function"] * 2
    assert run.events["step"].tolist() == [2, 2] and run.events["attrs"].isna().all()
    assert run.problems.empty


def test_error_values(tmp_path):
    lines = [GOOD + f" error={v}" for v in ("True", "False", "None", "", "Timeout")] + [GOOD]
    run = tau2_profile.load(write(tmp_path, "\n".join(lines)))
    assert run.events["error"].tolist() == ["error", pd.NA, pd.NA, pd.NA, "Timeout", pd.NA]


def test_has_tool_calls_that_is_no_boolean_is_a_problem(tmp_path):
    """has_tool_calls lives only in its boolean column (not in attrs), so a value it cannot
    hold is reported rather than lost."""
    lines = [GOOD + f" has_tool_calls={v}" for v in ("True", "0", "maybe", "None")]
    run = tau2_profile.load(write(tmp_path, "\n".join(lines)))
    assert run.events["has_tool_calls"].tolist() == [True, False, pd.NA, pd.NA]
    assert run.problems[["line", "reason"]].values.tolist() == [
        [3, "has_tool_calls is not a boolean (True/False/1/0): maybe"]]
    assert run.events["attrs"].isna().all()


def test_key_order_and_extra_keys_do_not_change_the_event(tmp_path):
    shuffled = ("[PROFILE] 2025-12-23 10:15:33.012 duration_ms=12.00 step=2 type=tool_call thread=7 "
                "call_type=local_function task=t1 function=f")
    extra = GOOD + " retries=2"
    run = tau2_profile.load(write(tmp_path, "\n".join([GOOD, shuffled, extra])))
    cols = ["task_id", "thread", "kind", "name", "end", "duration_ms", "step", "call_type", "attrs"]
    a, b, c = (run.events.loc[i, cols] for i in range(3))
    assert a.equals(b)
    assert pd.isna(a["attrs"]) and json.loads(c["attrs"]) == {"retries": 2}


def test_duplicate_lines_are_kept_and_counted(tmp_path):
    run = tau2_profile.load(write(tmp_path, "\n".join([GOOD, GOOD, GOOD])))
    assert len(run.events) == 3 and run.meta["duplicate_lines"] == 3 and run.problems.empty


def test_empty_file_is_an_empty_run_with_a_problem(tmp_path):
    path = write(tmp_path, b"")
    run = tau2_profile.load(path)
    assert run.events.empty and run.tasks.empty
    assert run.problems["reason"].tolist() == ["no [PROFILE] or [USER_JUDGE] lines in file"]
    with pytest.raises(LoadError):
        ak.load(path)  # no format claims an empty file


def test_directory_of_logs(tmp_path):
    write(tmp_path, GOOD + "\n", "a.log")
    write(tmp_path, "INFO only\n" + GOOD.replace("t1", "t9") + "\n", "b.log")
    write(tmp_path, "ignored", "notes.txt")
    assert tau2_profile.sniff(tmp_path)
    run = tau2_profile.load(tmp_path)
    assert run.events["file"].astype(str).tolist() == [str(tmp_path / "a.log"), str(tmp_path / "b.log")]
    assert run.events["line"].tolist() == [1, 2] and run.meta["run_id"] == tmp_path.name


# ---------------------------------------------------------------- chunks and cache

@pytest.mark.parametrize("lines, chunksize", [(120, 1), (400, 7), (None, 500)])
def test_chunked_load_equals_whole_load(tmp_path, sample_path, lines, chunksize):
    head = b"".join(sample_path.read_bytes().splitlines(keepends=True)[:lines])
    broken = head + b"[PROFILE] bad task=x type=llm_call duration_ms=q\n\xff\n" + GOOD.encode()
    path = write(tmp_path, broken)
    whole = tau2_profile.load(path)
    parts = tau2_profile.load(path, chunksize=chunksize)
    assert len(whole.problems) == 3
    for table in ("events", "tasks", "problems"):
        pd.testing.assert_frame_equal(getattr(whole, table), getattr(parts, table))
    assert whole.meta == parts.meta


def test_two_workers_give_the_same_run(tmp_path, sample_path, monkeypatch):
    # Small blocks so the sample makes several: the pool only starts for two or more.
    broken = sample_path.read_bytes() + b"[PROFILE] bad task=x type=llm_call duration_ms=q\n\xff\n" + GOOD.encode()
    path = write(tmp_path, broken)
    serial = tau2_profile.load(path)
    monkeypatch.setattr(tau2_profile, "BLOCK_BYTES", 64 * 1024)
    assert len(list(_blocks.line_blocks(path, None, tau2_profile.BLOCK_BYTES))) > 4
    parallel = tau2_profile.load(path, workers=2)
    assert len(serial.problems) == 3
    for table in ("events", "tasks", "problems"):
        pd.testing.assert_frame_equal(getattr(serial, table), getattr(parallel, table))
    assert serial.meta == parallel.meta


def test_blocks_parsed_in_threads_give_the_serial_run(tmp_path, sample_path, monkeypatch):
    # Small blocks so several are in flight at once; bad lines in the middle and at the end.
    data = sample_path.read_bytes()
    bad = b"[PROFILE] bad task=x type=llm_call duration_ms=q\n\xff\n"
    half = data.rfind(b"\n", 0, len(data) // 2) + 1  # a line boundary
    path = write(tmp_path, data[:half] + bad + data[half:] + bad + GOOD.encode())
    monkeypatch.setattr(tau2_profile, "BLOCK_BYTES", 64 * 1024)
    assert len(list(_blocks.line_blocks(path, None, tau2_profile.BLOCK_BYTES))) > 4
    threaded = tau2_profile.load(path)
    monkeypatch.setattr(_blocks, "THREADS", 1)
    serial = tau2_profile.load(path)
    assert len(serial.problems) == 6  # twice: timestamp, duration, invalid UTF-8
    for table in ("events", "tasks", "problems"):
        pd.testing.assert_frame_equal(getattr(serial, table), getattr(threaded, table))
    assert serial.meta == threaded.meta


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_bad_workers_is_a_load_error(sample_path, workers):
    with pytest.raises(LoadError, match="workers must be a positive integer"):
        tau2_profile.load(sample_path, workers=workers)


def test_lines_from_bytes_equal_lines_from_text():
    block = b"[PROFILE] a\r\n\nb\n[PROFILE] last"  # CRLF, an empty line, no final newline
    for data in (block, block + b"\n"):
        from_bytes = _blocks.lines(data.decode(), data)["text"].to_list()
        assert from_bytes == _blocks.lines(data.decode(), None)["text"].to_list()
    assert _blocks.lines(block.decode(), block)["text"].to_list() == ["[PROFILE] a\r", "", "b", "[PROFILE] last"]


def test_cache_returns_equal_tables_and_touch_invalidates(sample_path, tmp_path, monkeypatch):
    monkeypatch.setattr("analysis_kit.loading.CACHE_MIN_BYTES", 0)  # the sample is below the size worth caching
    from analysis_kit import cache
    from analysis_kit.loading import cache_key

    path = write(tmp_path, sample_path.read_bytes(), "run.log")
    first = ak.load(path)
    assert cache.get(cache_key(path, "tau2_profile")) is not None
    second = ak.load(path)
    for table in ("events", "tasks", "problems"):
        pd.testing.assert_frame_equal(getattr(first, table), getattr(second, table), check_categorical=False)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert cache.get(cache_key(path, "tau2_profile")) is None
    assert len(ak.load(path).events) == len(first.events)


# ---------------------------------------------------------------- fast path by key shape

def test_shapes_learned_are_plain_unique_key_sequences():
    tails = ["task=a type=x d=1", "task=b type=y d=2", "type=z task=c", "task=a task=b",
             "task=a junk", 'k"=1', "task=q type=x d=3"]
    assert _keyvalue.shapes(tails) == [("task", "type", "d"), ("type", "task")]


def test_fast_and_generic_paths_give_the_same_event(tmp_path):
    """The same fields by shape (plain lines) and by one regex per key (a tab, a quote or a
    repeated key sends a line to the generic path), with hand-checked values."""
    head = "[PROFILE] 2025-12-23 10:15:33.012 "
    plain = head + "task=t1 thread=7 type=llm_call model=m=2 step=3 duration_ms=5.5 has_tool_calls=False x=None y=1e3 z=abc"
    lines = [plain] * 3 + [
        plain.replace(" z=abc", "\tz=abc"),             # a tab: generic path, z is still a key
        plain + " task=t9",                              # repeated key: the first wins
        plain.replace("z=abc", 'z=a"b'),                # a quote: escaped by the generic path
    ]
    run = tau2_profile.load(write(tmp_path, "\n".join(lines) + "\n"))
    ev = run.events
    assert ev["task_id"].astype(str).tolist() == ["t1"] * 6
    assert ev["name"].astype(str).tolist() == ["m=2"] * 6
    assert ev["duration_ms"].tolist() == [5.5] * 6
    assert ev["step"].tolist() == [3] * 6 and ev["has_tool_calls"].tolist() == [False] * 6
    attrs = [json.loads(a) for a in ev["attrs"]]
    want = {"x": None, "y": 1000.0, "z": "abc"}
    assert attrs[:5] == [want] * 5
    assert attrs[5] == dict(want, z='a"b')
    assert ev["attrs"][0] == '{"x":null,"y":1e3,"z":"abc"}'
    assert ev["attrs"][0] == ev["attrs"][3]  # same text from both paths
    assert run.problems.empty


def test_many_shapes_in_one_block(tmp_path):
    """Lines of more shapes than are learned per block all parse (the rest by regex)."""
    head = "[PROFILE] 2025-12-23 10:15:33.012 task=t thread=1 type=tool_call"
    lines = [f"{head} function=f{i} k{i}={i} duration_ms={i}" for i in range(_keyvalue.MAX_SHAPES * 2)]
    run = tau2_profile.load(write(tmp_path, "\n".join(lines)))
    assert run.events["name"].astype(str).tolist() == [f"f{i}" for i in range(len(lines))]
    assert run.events["duration_ms"].tolist() == [float(i) for i in range(len(lines))]
    assert [json.loads(a) for a in run.events["attrs"]] == [{f"k{i}": i} for i in range(len(lines))]


def test_repeated_strings_are_categoricals_of_their_own_values(sample_run):
    ev = sample_run.events
    for col in ("task_id", "thread", "kind", "name", "agent", "call_type", "level"):
        assert isinstance(ev[col].dtype, pd.CategoricalDtype), col
        assert set(ev[col].cat.categories) == set(ev[col].dropna().astype(str)), col
    assert ev["attrs"].dtype == "string" and str(ev["start"].dtype) == "datetime64[ns, UTC]"


def test_cache_keeps_the_dtypes(sample_path, tmp_path):
    path = write(tmp_path, sample_path.read_bytes(), "run.log")
    first, second = ak.load(path), ak.load(path)
    assert second.meta == first.meta
    for table in ("events", "tasks", "problems"):
        pd.testing.assert_frame_equal(getattr(first, table), getattr(second, table))


def test_fixed_width_timestamps_from_bytes_match_the_calendar(tmp_path):
    """The writer's timestamps are read from the bytes with numpy; each value is checked
    against Python's calendar, and every timestamp numpy must not take (no such date, 24:00,
    a year pandas cannot hold, other widths) still parses by the regex path or is a problem."""
    stamps = {
        "2024-02-29 23:59:59.999": ts("2024-02-29 23:59:59.999"),   # leap day
        "2000-02-29 00:00:00.000": ts("2000-02-29"),                 # leap century
        "2025-12-31 12:00:00,250": ts("2025-12-31 12:00:00.250"),   # comma before millis
        "1970-01-01 00:00:00.001": ts("1970-01-01 00:00:00.001"),
        "1699-03-01 01:02:03.004": ts("1699-03-01 01:02:03.004"),
        "2025-06-30 10:15:33.012345": ts("2025-06-30 10:15:33.012345"),  # longer: regex path
        "2025-06-30T10:15:33.012": ts("2025-06-30 10:15:33.012"),        # T: regex path
        "2025-06-30 10:15:33.01": ts("2025-06-30 10:15:33.010"),         # two digits: regex path
        "2025-06-30 23:59:59.000": ts("2025-06-30 23:59:59"),
        "1900-02-29 00:00:00.000": None,   # not a leap year
        "2025-04-31 00:00:00.000": None,   # April has 30 days
        "2025-13-01 00:00:00.000": None,
        "2025-01-01 24:00:00.000": None,
        "2025-01-01 00:60:00.000": None,
        "2025-01-0a 00:00:00.000": None,
        "2025-01-01 10:61:00.000": None,
        "2025-01-01 10:15:3a.012": None,
    }
    lines = [f"[PROFILE] {s} task=t{i} thread=1 type=tool_call function=f duration_ms=1.0"
             for i, s in enumerate(stamps)]
    lines.append("[USER_JUDGE] 2024-02-29 08:00:00.500 task=j thread=1 type=evaluator duration_ms=1.0")
    lines.append("[PROFILE] 2025-03-01 00:00:00.000\r")  # CR LF, nothing after the stamp
    run = tau2_profile.load(write(tmp_path, "\n".join(lines) + "\n"))
    ends = run.events["end"].tolist()
    for (text, want), got in zip(stamps.items(), ends):
        assert (pd.isna(got) if want is None else got == want), (text, got)
    assert ends[len(stamps)] == ts("2024-02-29 08:00:00.500")
    bad = run.problems[run.problems["reason"].str.startswith("timestamp does not parse")]
    assert bad["line"].tolist() == [i + 1 for i, want in enumerate(stamps.values()) if want is None]
    assert bad["reason"].iloc[0] == "timestamp does not parse: 1900-02-29 00:00:00.000"
    # the last line has no type: dropped with a problem, its time parsed all the same
    assert run.problems["reason"].iloc[-1] == "no type= field" and len(run.events) == len(stamps) + 1


def test_big_loads_tune_glibc_malloc_and_set_it_back(monkeypatch):
    """During a big load glibc keeps freed memory (mmap and trim thresholds raised); after
    it, the thresholds are those glibc's dynamic tuning reaches, and free memory is handed back."""
    calls, trims = [], []
    monkeypatch.setattr(_blocks, "_mallopt", lambda: lambda option, value: calls.append((option, value)))
    monkeypatch.setattr(_blocks, "_malloc_trim", lambda: trims.append(True))
    with _blocks.allocator_kept(True):
        assert calls == [(-3, 256 << 20), (-1, 1 << 30)] and not trims
    assert calls[2:] == [(-3, 32 << 20), (-1, 64 << 20)] and trims == [True]
    calls.clear()
    with _blocks.allocator_kept(False):  # small loads leave malloc alone
        pass
    assert calls == []


@pytest.mark.parametrize("preset", [None, "dirty_decay_ms:0"])
def test_polars_allocator_setting_is_a_default_only(preset):
    """analysis_kit sets polars' jemalloc decay before polars loads, unless the user set one."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    if preset:
        env["_RJEM_MALLOC_CONF"] = preset
    code = "import os, analysis_kit; print(os.environ.get('_RJEM_MALLOC_CONF'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (preset or "dirty_decay_ms:5000,muzzy_decay_ms:5000")


def test_arrays_grow_past_their_first_capacity(tmp_path, monkeypatch):
    """The events arrays reserve room from the file size; a file with more events than that
    (here: room for none, so the 1024-row floor) grows them and gives the same run."""
    from analysis_kit.samples.tau2_profile import write_big

    path = tmp_path / "big.log"
    write_big(path, 6000, seed=5)
    whole = tau2_profile.load(path)
    assert len(whole.events) > 3 * 1024
    monkeypatch.setattr(_blocks, "MAX_CAPACITY", 0)
    grown = tau2_profile.load(path)
    pd.testing.assert_frame_equal(grown.events, whole.events)
    pd.testing.assert_frame_equal(grown.tasks, whole.tasks)


def test_growing_text_keeps_values_and_nulls():
    import pyarrow as pa

    text = _blocks.GrowingText(2)
    chunks = [["a", None, ""], [None], ["xyz" * 50, "b"], []]
    for chunk in chunks:
        text.append(pa.array(chunk, type=pa.large_string()))
    text.append(pa.array(["s", "t", "u"], type=pa.string()).slice(1))  # an offset array
    assert text.finish().to_pylist() == ["a", None, "", None, "xyz" * 50, "b", "t", "u"]
