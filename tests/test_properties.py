"""Property-based tests (hypothesis) of the parsers.

- [PROFILE] events generated at random, written in random key order (with noise lines and
  random chunk sizes), parse back to the same values.
- Any prefix of a valid JSON run of each format loads to a Run or raises LoadError, and the
  records complete before the cut are kept.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis_kit import LoadError, Run
from analysis_kit.loaders import loader_module, tau2_profile
from hostile import make_corpus as mc

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

NAME = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="_-.:/"),
               min_size=1, max_size=12).filter(lambda s: s not in ("None", "none", "null", "NULL"))
TYPES = ("llm_call", "tool_call", "expert_call", "user_sim", "evaluator", "novel_kind")


@st.composite
def profile_event(draw):
    millis = draw(st.integers(0, 86_400_000 - 1))
    ts = pd.Timestamp("2025-12-23", tz="UTC") + pd.Timedelta(milliseconds=millis)
    kind = draw(st.sampled_from(TYPES))
    keys = {"task": draw(NAME), "thread": str(draw(st.integers(0, 10**15))), "type": kind,
            "duration_ms": f"{draw(st.integers(0, 10**7)) / 1000:.3f}"}
    keys["function" if kind == "tool_call" else "model"] = draw(NAME)
    if draw(st.booleans()):
        keys["input_tokens"] = str(draw(st.integers(0, 10**9)))
    if draw(st.booleans()):
        keys["step"] = str(draw(st.integers(0, 500)))
    if draw(st.booleans()):
        keys["extra_" + draw(NAME).replace(":", "").replace("/", "")[:6]] = draw(NAME)
    order = draw(st.permutations(list(keys)))
    return ts, keys, order


def _line(ts: pd.Timestamp, keys: dict, order: list, level: str = "PROFILE") -> str:
    stamp = ts.strftime("%Y-%m-%d %H:%M:%S.") + f"{ts.microsecond // 1000:03d}"
    return f"[{level}] {stamp} " + " ".join(f"{k}={keys[k]}" for k in order)


@SETTINGS
@given(events=st.lists(profile_event(), min_size=1, max_size=25),
       noise=st.lists(st.sampled_from(["INFO starting", "Traceback (most recent call last):",
                                        "  File \"x.py\", line 3", "DEBUG type=llm_call task=x", ""]),
                      max_size=5),
       chunksize=st.one_of(st.none(), st.integers(1, 9)), crlf=st.booleans())
def test_profile_lines_in_random_key_order_parse_back(events, noise, chunksize, crlf):
    lines = []
    for i, (ts, keys, order) in enumerate(events):
        lines.append(_line(ts, keys, order))
        if i < len(noise):
            lines.append(noise[i])
    text = ("\r\n" if crlf else "\n").join(lines) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.log"
        path.write_bytes(text.encode())
        run = tau2_profile.load(path, chunksize=chunksize)
    assert len(run.problems) == 0, run.problems.to_dict("records")
    ev = run.events
    assert len(ev) == len(events)
    for (ts, keys, _), (_, row) in zip(events, ev.iterrows()):
        assert row["task_id"] == keys["task"] and row["thread"] == keys["thread"]
        assert row["end"] == ts
        assert row["duration_ms"] == pytest.approx(float(keys["duration_ms"]))
        assert row["name"] == keys.get("function", keys.get("model"))
        if "input_tokens" in keys:
            assert row["input_tokens"] == int(keys["input_tokens"])
        else:
            assert pd.isna(row["input_tokens"])
        assert row["kind"] == keys["type"]
        attrs = json.loads(row["attrs"]) if isinstance(row["attrs"], str) else {}
        extras = {k: v for k, v in keys.items() if k.startswith("extra_")}
        for k, v in extras.items():
            assert str(attrs[k]) == v or attrs[k] == json.loads(v)


@SETTINGS
@given(events=st.lists(profile_event(), min_size=1, max_size=15), data=st.data())
def test_profile_same_table_whatever_the_key_order(events, data):
    """The same events written twice, in two random key orders, give identical tables."""
    def load(orders):
        text = "\n".join(_line(ts, keys, order) for (ts, keys, _), order in zip(events, orders)) + "\n"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "p.log"
            path.write_text(text)
            return tau2_profile.load(path).events.drop(columns=["run_id"])
    first = load([o for _, _, o in events])
    shuffled = [data.draw(st.permutations(list(keys))) for _, keys, _ in events]
    pd.testing.assert_frame_equal(first, load(shuffled), check_categorical=False)


# ------------------------------------------------------------------ random truncation

def _load_or_error(fmt: str, path: Path):
    try:
        return loader_module(fmt).load(path)
    except LoadError as exc:
        assert exc.file is not None
        return exc


TAU2_BYTES = mc.TAU2.read_bytes()


def _simulation_ends() -> list[int]:
    """Byte offset where each simulation object of the committed file ends."""
    text, decoder, ends = TAU2_BYTES.decode(), json.JSONDecoder(), []
    for i in (1, 2, 3):
        start = text.rindex("{", 0, text.index(f'"id": "sim-{i}"'))
        ends.append(decoder.raw_decode(text, start)[1])
    return ends


TAU2_SIM_ENDS = _simulation_ends()  # ASCII file: character offsets are byte offsets


@SETTINGS
@given(cut=st.integers(0, len(TAU2_BYTES)))
def test_tau2_results_any_prefix_keeps_the_complete_simulations(cut):
    with tempfile.TemporaryDirectory() as tmp:
        path = mc.write(Path(tmp), "cut.json", TAU2_BYTES[:cut])
        result = _load_or_error("tau2_results", path)
    assert isinstance(result, Run), result  # this loader salvages: never a whole-file error
    if cut < len(TAU2_BYTES.rstrip()):
        assert len(result.problems) >= 1
    # Every simulation whose object ends before the cut is complete: it must be kept.
    complete = [f"sim-{i}" for i, end in zip((1, 2, 3), TAU2_SIM_ENDS) if end <= cut]
    assert result.tasks["simulation_id"].tolist() == complete, (cut, complete)


def _prefix_cases():
    massgen_files = ("status.json", "coordination_events.json")
    return [("maseval", mc.MASEVAL, None), ("convex", mc.CONVEX, None),
            *[("massgen", mc.MASSGEN / f, f) for f in massgen_files]]


@pytest.mark.parametrize("fmt,source,inner", _prefix_cases(), ids=lambda v: getattr(v, "name", str(v)))
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(fraction=st.floats(0, 1))
def test_any_prefix_of_a_json_run_loads_or_raises_load_error(fmt, source, inner, fraction):
    data = source.read_bytes()
    cut = int(len(data) * fraction)
    with tempfile.TemporaryDirectory() as tmp:
        if inner:
            root = mc.massgen_copy(Path(tmp))
            (root / inner).write_bytes(data[:cut])
            path = root
        else:
            path = mc.write(Path(tmp), source.name, data[:cut])
        result = _load_or_error(fmt, path)
    if isinstance(result, Run) and cut < len(data.rstrip()):
        assert len(result.problems) >= 1, (fmt, cut)  # a cut is never silent
    if fmt == "maseval" and isinstance(result, Run):
        first_line_end = data.index(b"\n")
        if cut > first_line_end:
            assert result.tasks["task_id"].tolist()[:1] == ["t1"]  # line 1 was complete


def test_tau2_real_file_every_tenth_prefix(tmp_path):
    from conftest import real

    source = real("tau2", "airline_grok-3-mini_10sims.json")
    data = source.read_bytes()
    full = loader_module("tau2_results").load(source)
    previous = -1
    for tenth in range(1, 10):
        path = mc.write(tmp_path, f"cut{tenth}.json", data[:len(data) * tenth // 10])
        run = loader_module("tau2_results").load(path)
        kept = run.tasks["simulation_id"].tolist()
        assert kept == full.tasks["simulation_id"].tolist()[:len(kept)]  # a prefix, in order
        assert len(kept) >= previous and len(run.problems) >= 1
        previous = len(kept)
    assert previous >= 8  # 90% of the file holds at least 8 of the 10 simulations
