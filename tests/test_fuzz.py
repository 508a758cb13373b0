"""A bounded fuzz run of every parser: random bytes, byte-mutated valid files and JSON
files whose values are swapped for values of the wrong type. The only allowed outcomes are
a Run or a LoadError naming the file; anything else is a crash, which hypothesis shrinks
to a minimal input. Bounded by max_examples so the file runs in well under 30 s.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis_kit import LoadError, Run
from analysis_kit.loaders import loader_module
from hostile import make_corpus as mc

# CI budget: the whole file in well under 30 s on two shared cores. For a longer hunt:
# AK_FUZZ_EXAMPLES=2000 AK_FUZZ_RANDOM=1 pytest tests/test_fuzz.py
FUZZ = settings(max_examples=int(os.environ.get("AK_FUZZ_EXAMPLES", 12)), deadline=None,
                derandomize=not os.environ.get("AK_FUZZ_RANDOM"), database=None,
                suppress_health_check=list(HealthCheck))

# (format, committed valid-ish source, file name the loader is given)
TARGETS = [
    ("tau2_profile", mc.PROFILE, "p.log"),
    ("tau2_results", mc.TAU2, "r.json"),
    ("maseval", mc.MASEVAL, "benchmark_1.jsonl"),
    ("convex", mc.CONVEX, "failures_x.json"),
    ("massgen", mc.MASSGEN / "status.json", "status.json"),
    ("massgen", mc.MASSGEN / "coordination_events.json", "coordination_events.json"),
]
IDS = [f"{fmt}-{name}" for fmt, _, name in TARGETS]


def load_only_run_or_load_error(fmt: str, path: Path):
    try:
        result = loader_module(fmt).load(path)
    except LoadError as exc:
        assert exc.file is not None, "a LoadError must name its file"
        return exc
    assert isinstance(result, Run)
    # Every problem row names a file; lines, where given, are positive.
    assert result.problems["file"].notna().all()
    assert (result.problems["line"].dropna() >= 1).all()
    return result


def place(tmp: Path, fmt: str, name: str, data: bytes) -> Path:
    """Write ``data`` where the loader expects it (a MassGen file goes in a log dir copy)."""
    if fmt == "massgen":
        root = mc.massgen_copy(tmp)
        (root / name).write_bytes(data)
        return root
    return mc.write(tmp, name, data)


@pytest.mark.parametrize("fmt,source,name", TARGETS, ids=IDS)
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(fmt, source, name, data):
    with tempfile.TemporaryDirectory() as tmp:
        load_only_run_or_load_error(fmt, place(Path(tmp), fmt, name, data))


@st.composite
def mutated(draw, source: Path) -> bytes:
    """The source with a few bytes replaced, deleted, duplicated or inserted."""
    data = bytearray(source.read_bytes())
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        op = draw(st.sampled_from(("set", "delete", "insert", "dup")))
        if op == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from([b"\x00", b"\xff\xfe", b"\r\n", b"\n", b'"', b"{", b"]",
                                                b"\\ud800", b"\xef\xbb\xbf", b"=", b" type=", b"nan"]))
        else:
            chunk = bytes(data[at:at + draw(st.integers(1, 200))])
            data[at:at] = chunk
    return bytes(data)


@pytest.mark.parametrize("fmt,source,name", TARGETS, ids=IDS)
@FUZZ
@given(data=st.data())
def test_mutated_valid_files(fmt, source, name, data):
    blob = data.draw(mutated(source))
    with tempfile.TemporaryDirectory() as tmp:
        load_only_run_or_load_error(fmt, place(Path(tmp), fmt, name, blob))


WRONG_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.just("\ud800"), st.just([]), st.just({}), st.just([None]),
    st.just({"a": None}), st.just("2025-13-45T99:99:99"), st.just(1e300),
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(obj, list):
        for i, value in enumerate(obj[:4]):
            yield from _paths(value, prefix + (i,))


def _replace(obj, path, value):
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


JSON_TARGETS = [t for t in TARGETS if t[0] not in ("tau2_profile", "maseval")]


@pytest.mark.parametrize("fmt,source,name", JSON_TARGETS, ids=[f"{f}-{n}" for f, _, n in JSON_TARGETS])
@FUZZ
@given(data=st.data())
def test_json_values_of_the_wrong_type(fmt, source, name, data):
    obj = json.loads(source.read_text())
    for _ in range(data.draw(st.integers(1, 4))):
        paths = list(_paths(obj))[1:]
        if not paths:
            break
        _replace(obj, data.draw(st.sampled_from(paths)), copy.deepcopy(data.draw(WRONG_VALUES)))
    blob = json.dumps(obj, allow_nan=True).encode("utf-8", "surrogatepass")
    with tempfile.TemporaryDirectory() as tmp:
        load_only_run_or_load_error(fmt, place(Path(tmp), fmt, name, blob))


@FUZZ
@given(data=st.data())
def test_maseval_lines_with_values_of_the_wrong_type(data):
    lines = []
    for raw in mc.MASEVAL.read_text().split("\n")[:2]:
        obj = json.loads(raw)
        for _ in range(data.draw(st.integers(1, 4))):
            paths = list(_paths(obj))[1:]
            _replace(obj, data.draw(st.sampled_from(paths)), copy.deepcopy(data.draw(WRONG_VALUES)))
        lines.append(json.dumps(obj, allow_nan=True))
    with tempfile.TemporaryDirectory() as tmp:
        path = mc.write(Path(tmp), "benchmark_1.jsonl", "\n".join(lines).encode("utf-8", "surrogatepass"))
        load_only_run_or_load_error("maseval", path)


def test_massgen_snapshot_tree_fuzzed_names(tmp_path):
    """Odd snapshot folders (files where folders belong, junk names, empty folders)."""
    root = mc.massgen_copy(tmp_path)
    (root / "agent_c").write_bytes(b"\x00\x01")  # a file where an agent folder belongs
    (root / "agent_a" / "not_a_timestamp").mkdir()
    (root / "agent_a" / "20250101_129999_999999").mkdir()
    (root / "agent_b" / "20250101_120030_000000").mkdir()
    (root / "agent_b" / "20250101_120030_000000" / "vote.json").write_bytes(b"{\"voted_for\": ")
    shutil.copy(mc.PROFILE, root / "agent_a" / "stray.log")
    result = load_only_run_or_load_error("massgen", root)
    assert isinstance(result, Run)
    assert any("vote.json" in f for f in result.problems["file"])  # the cut vote is reported


# ------------------------------------------------------------------ what the fuzz found
# Each of these crashed a loader before the fix; they stay as plain regression tests.

def test_found_lone_surrogate_escape_is_replaced_and_reported(tmp_path):
    data = json.loads(mc.TAU2.read_text())
    data["simulations"][0]["messages"][1]["content"] = "half an emoji \ud83d here"
    path = mc.write(tmp_path, "s.json", json.dumps(data).encode())  # ensure_ascii: "\ud83d" escape
    run = loader_module("tau2_results").load(path)
    assert run.messages["content"].iloc[1] == "half an emoji \ufffd here"
    assert run.problems["reason"].tolist() == ["1 lone UTF-16 surrogate escape(s) in JSON strings replaced by U+FFFD"]


def test_found_out_of_range_numbers_become_na():
    run = Run(meta={"run_id": "r"}, tasks=[{"task_id": "a", "trial": 1e30, "input_tokens": float("inf"),
                                            "start": pd.Timestamp(1e10, unit="s", tz="UTC")},
                                           {"task_id": "b", "trial": 2, "input_tokens": 5,
                                            "start": "2025-01-01T00:00:00Z"}])
    assert run.tasks["trial"].isna().tolist() == [True, False]
    assert run.tasks["input_tokens"].tolist()[1] == 5 and pd.isna(run.tasks["input_tokens"].iloc[0])
    assert pd.isna(run.tasks["start"].iloc[0]) and str(run.tasks["start"].iloc[1]) == "2025-01-01 00:00:00+00:00"


def test_found_massgen_epoch_beyond_2262_is_a_problem_row(tmp_path):
    root = mc.massgen_copy(tmp_path)
    coord = json.loads((root / "coordination_events.json").read_text())
    coord["events"][0]["timestamp"] = 11735732800.0  # one digit too many: year 2341
    coord["events"][1]["agent_id"] = ["agent_a"]  # a list where an id belongs
    (root / "coordination_events.json").write_text(json.dumps(coord))
    run = loader_module("massgen").load(root)
    reasons = run.problems["reason"].tolist()
    assert "unreadable timestamp in session_start event" in reasons
    assert "agent_id of a new_answer event should be text, got list; taken as NA" in reasons
    assert len(run.events) == 11
