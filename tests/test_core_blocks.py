"""The core for big line logs (``_blocks``: blocks of whole lines, parsing in order on threads,
growing columns, glibc tuning) and for key=value fields (``_keyvalue``), on made-up line
formats: nothing here knows tau2's [PROFILE] lines."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from analysis_kit import LoadError
from analysis_kit.loaders import _blocks
from analysis_kit.loaders._blocks import (Columns, Growing, block_columns, block_lines, check_options,
                                          decode_lines, line_blocks, parse_blocks, problem_rows,
                                          problem_table, read_files, scan)
from analysis_kit.loaders._keyvalue import KeyValues, fixed_width_time, parse_time
from analysis_kit.model import Problems


def write(tmp_path: Path, data: bytes, name: str = "x.log") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- blocks of whole lines

def test_blocks_of_chunksize_lines_know_their_first_line(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + b"".join(b"line %d\n" % i for i in range(1, 8)) + b"last")
    blocks = list(line_blocks(path, chunksize=3))
    assert [first for _block, first in blocks] == [1, 4, 7]
    assert blocks[0][0] == b"line 1\nline 2\nline 3\n"  # the BOM is dropped
    assert blocks[-1][0] == b"line 7\nlast"              # no final newline: kept as is


@pytest.mark.parametrize("block_bytes", [1, 3, 5, 16, 1 << 20])
def test_blocks_of_bytes_are_whole_lines_that_rebuild_the_file(tmp_path, block_bytes):
    """Lines longer than a block (the 40 and 81-byte ones at 5 or 16 bytes) stay whole; a
    BOM is dropped whatever the block size."""
    lines = [b"short", b"x" * 40, b"", b"\xc3\xa9t\xc3\xa9", b"a line longer than a block " * 3]
    data = b"\n".join(lines) + b"\n"
    path = write(tmp_path, b"\xef\xbb\xbf" + data)
    blocks = list(line_blocks(path, block_bytes=block_bytes))
    assert b"".join(block for block, _first in blocks) == data
    assert all(block.endswith(b"\n") for block, _first in blocks)  # never a line cut in two
    firsts = [1 + sum(block.count(b"\n") for block, _ in blocks[:i]) for i in range(len(blocks))]
    assert [first for _block, first in blocks] == firsts


def test_empty_and_bom_only_files_have_no_blocks(tmp_path):
    assert list(line_blocks(write(tmp_path, b""))) == []
    assert list(line_blocks(write(tmp_path, b"\xef\xbb\xbf", "bom.log"), chunksize=2)) == []


def test_invalid_utf8_names_every_line_it_is_on():
    block = b"ok\nb\xffd\n\xe9\xe9\nfine\n\xf0\x9f"  # a cut 4-byte sequence at the end
    text, bad = decode_lines(block)
    assert text == block.decode("utf-8", "replace")  # replaced as _read.decode does
    assert bad == [1, 2, 4]
    assert decode_lines(b"\xc3\xa9\n") == ("\xe9\n", [])


def test_scan_flags_lines_that_cannot_be_split_on_spaces():
    block = b'plain a=1\r\ntab\there\nq"uote\nback\\slash\nnon-\xc3\xa9ascii\nlast\r'
    newlines, unsafe = scan(block)
    assert newlines.tolist() == [i for i, b in enumerate(block) if b == 10]
    # CR before LF is a line end, not a character; a CR without LF is one
    assert unsafe.tolist() == [False, True, True, True, True, True]
    big = b"a=1\n" * (3 * 1024 * 1024) + b"b=\x01\n"  # more than one 8 MB slice
    assert np.flatnonzero(scan(big)[1]).tolist() == [3 * 1024 * 1024]


def test_block_lines_numbers_strips_line_ends_and_reports_bad_bytes():
    frame, bad = block_lines(b"one\r\n\ntwo \xff\nthree", 10, "f.log")
    assert frame["text"].to_list() == ["one", "", "two \ufffd", "three"]
    assert frame["line"].to_list() == [10, 11, 12, 13]
    assert frame["unsafe"].to_list() == [False, False, True, False]
    assert bad.rows() == [(12, _blocks.INVALID_UTF8, "two \ufffd", "f.log")]
    assert block_lines(b"a\nb\n", 1, "f.log")[1] is None


def test_problem_rows_from_conditions():
    df = pl.DataFrame({"line": [1, 2, 3], "text": ["a", "b" * 300, "c"], "n": [1, None, -1]})
    checks = [(pl.col("n").is_null(), pl.lit("no n")),
              (pl.col("n") < 0, pl.format("negative: {}", pl.col("n")))]
    rows = problem_rows(df, checks, "f.log")
    assert rows.select("line", "reason", "file").rows() == [(2, "no n", "f.log"), (3, "negative: -1", "f.log")]
    assert len(rows["raw"][0]) == 200  # cut like every problem's raw text
    assert problem_rows(df.filter(pl.col("n") == 1), checks, "f.log").is_empty()


# ---------------------------------------------------------------- parsing in order

def _slow_then_fast(block: bytes, first_line: int) -> tuple[int, bytes, str]:
    time.sleep(0.05 if first_line == 1 else 0)  # the first block finishes last
    return first_line, block, threading.current_thread().name


def test_blocks_come_back_in_order_from_threads_and_serially(monkeypatch):
    blocks = [(b"%d\n" % i, i) for i in range(1, 9)]
    threaded = list(parse_blocks(iter(blocks), _slow_then_fast))
    assert [(block, first) for first, block, _ in threaded] == blocks
    assert all(name.startswith("analysis_kit_blocks") for _, _, name in threaded)
    monkeypatch.setattr(_blocks, "THREADS", 1)
    serial = list(parse_blocks(iter(blocks), _slow_then_fast))
    assert [(block, first) for first, block, _ in serial] == blocks
    assert {name for _, _, name in serial} == {threading.current_thread().name}


def test_reading_stops_soon_after_a_block_fails():
    read = []

    def blocks():
        for i in range(1, 1000):
            read.append(i)
            yield b"x\n", i

    def parse(block, first_line):
        if first_line == 3:
            raise ValueError("bad block")
        return first_line

    results = []
    with pytest.raises(ValueError, match="bad block"):
        for value in parse_blocks(blocks(), parse):
            results.append(value)
    assert results == [1, 2]
    assert len(read) <= 3 + _blocks.THREADS + _blocks.READ_AHEAD  # bounded read-ahead


def test_frames_travel_between_processes_as_ipc_with_categoricals_as_text():
    def parse(block, first_line):
        return (pl.DataFrame({"k": ["a", "b"], "n": [first_line, None]}, schema={"k": pl.Categorical, "n": pl.Int64}),)

    (frame,) = _blocks._from_ipc(_blocks._as_ipc(parse, b"", 7))
    assert frame.schema == {"k": pl.String, "n": pl.Int64} and frame.rows() == [("a", 7), ("b", None)]


@pytest.mark.parametrize("chunksize, workers, match", [
    (0, 1, "chunksize must be a positive integer, not 0"),
    ("5", 1, "chunksize must be a positive integer"),
    (None, 0, "workers must be a positive integer, not 0"),
    (None, True, "workers must be a positive integer, not True")])
def test_bad_block_options_are_load_errors(chunksize, workers, match):
    with pytest.raises(LoadError, match=match):
        check_options(Path("f.log"), chunksize, workers)
    check_options(Path("f.log"), None, 1)  # the defaults pass


# ---------------------------------------------------------------- glibc during a big load

def test_allocator_is_set_back_when_the_load_fails(monkeypatch):
    calls, trims = [], []
    monkeypatch.setattr(_blocks, "_mallopt", lambda: lambda option, value: calls.append((option, value)))
    monkeypatch.setattr(_blocks, "_malloc_trim", lambda: trims.append(True))
    with pytest.raises(RuntimeError):
        with _blocks.allocator_kept(True):
            raise RuntimeError("parse failed")
    assert calls == list(_blocks.MALLOC_DURING_LOAD.items()) + list(_blocks.MALLOC_AFTER_LOAD.items())
    assert trims == [True]


def test_glibc_accepts_each_setting(monkeypatch):
    real = _blocks._mallopt()
    if real is None:
        pytest.skip("not glibc: nothing is tuned")
    answers = []
    monkeypatch.setattr(_blocks, "_mallopt", lambda: lambda option, value: answers.append(real(option, value)))
    with _blocks.allocator_kept(True):
        np.ones(64 << 20, dtype=np.uint8).sum()  # a large allocation while the settings hold
    assert answers == [1, 1, 1, 1]  # mallopt returns 1 on success


def test_no_mallopt_means_no_tuning(monkeypatch):
    monkeypatch.setattr(_blocks, "_mallopt", lambda: None)
    monkeypatch.setattr(_blocks, "_malloc_trim", lambda: pytest.fail("trimmed without tuning"))
    with _blocks.allocator_kept(True) as kept:
        assert kept.mallopt is None


# ---------------------------------------------------------------- growing columns

def test_growing_array_grows_past_capacity_and_trims_to_its_rows():
    grow = Growing(np.int64, 2)
    for part in ([1, 2], [3], [], [4, 5, 6, 7]):
        grow.append(np.array(part, dtype=np.int64))
    assert grow.finish().tolist() == [1, 2, 3, 4, 5, 6, 7]


def test_capacity_is_bounded(tmp_path, monkeypatch):
    path = write(tmp_path, b"x" * 1000)
    assert _blocks.capacity([path], 10) == 100
    monkeypatch.setattr(_blocks, "MAX_CAPACITY", 7)
    assert _blocks.capacity([path], 10) == 7
    assert _blocks.capacity([tmp_path / "missing.log"], 10) == 0


def _block(rows: list[dict], columns: Columns) -> dict:
    schema = {"who": pl.String, "at": pl.Datetime("ns", "UTC"), "n": pl.Int64, "ok": pl.Boolean,
              "note": pl.String, "x": pl.Float64, "line": pl.Int64}
    frame = pl.DataFrame(rows, schema=schema)
    frame = frame.with_columns(pl.col("who").cast(pl.Categorical(columns.categories["who"])))
    return block_columns(frame, columns.categories, dense=("line",))


def test_blocks_become_one_typed_frame():
    columns = Columns(0, ("who",), text=("note",))
    at = pd.Timestamp("2025-01-01 10:00", tz="UTC")
    first = [{"who": "zed", "at": at, "n": 1, "ok": True, "note": "a", "x": 0.5, "line": 1},
             {"who": None, "at": None, "n": None, "ok": None, "note": None, "x": None, "line": 2}]
    columns.add(_block(first, columns), "b.log")
    columns.add(_block([{"who": "amy", "at": at, "n": 3, "ok": False, "note": "", "x": 2.0, "line": 9}] * 2000,
                       columns), "a.log")
    frame = columns.frame(["who", "at", "n", "ok", "note", "x", "line"])
    assert len(frame) == columns.n == 2002
    assert list(frame.columns) == ["who", "at", "n", "ok", "note", "x", "line", "file"]
    assert list(frame["who"].cat.categories) == ["amy", "zed"]  # sorted, only those present
    assert frame["who"].isna().tolist()[:3] == [False, True, False] and frame["who"][[0, 2]].tolist() == ["zed", "amy"]
    assert str(frame["at"].dtype) == "datetime64[ns, UTC]" and frame["at"][0] == at and pd.isna(frame["at"][1])
    assert str(frame["n"].dtype) == "Int64" and frame["n"].tolist()[:3] == [1, pd.NA, 3]
    assert str(frame["ok"].dtype) == "boolean" and frame["ok"].tolist()[:3] == [True, pd.NA, False]
    assert frame["note"].dtype == "string" and frame["note"].tolist()[:3] == ["a", pd.NA, ""]
    assert frame["x"].dtype == np.float64 and np.isnan(frame["x"][1])
    assert str(frame["line"].dtype) == "Int64" and frame["line"].tolist()[:3] == [1, 2, 9]
    assert frame["file"].tolist()[:3] == ["b.log", "b.log", "a.log"]


# ---------------------------------------------------------------- reading files end to end

LEARNED: dict = {}  # file name -> the ``learned`` list each of its blocks was given


def _count_parse(block, first_line, file, categories, learned):
    """A toy format: lines "n=<int>"; other lines are problems."""
    LEARNED.setdefault(Path(file).name, []).append(learned)
    lines, bad = block_lines(block, first_line, file)
    lines = lines.with_columns(pl.col("text").str.strip_prefix("n=").cast(pl.Int64, strict=False).alias("n"))
    problems = problem_rows(lines, [(pl.col("n").is_null(), pl.lit("not n=<int>"))], file)
    good = lines.filter(pl.col("n").is_not_null()).select("n", "line")
    frames = [problems] + ([bad] if bad is not None else [])
    return (block_columns(good, categories) if len(good) else None), pl.concat(frames, how="diagonal_relaxed")


def _unused(*args, **kwargs):
    raise AssertionError("no process pool for a small load")


def test_read_files_gathers_rows_and_problems_of_every_file(tmp_path):
    good = write(tmp_path, b"n=1\nn=2\njunk\nn=4\n", "a.log")
    empty = write(tmp_path, b"nothing here\n", "b.log")
    missing = tmp_path / "gone.log"
    problems, columns = Problems(), Columns(0, ())
    LEARNED.clear()
    frames = read_files([good, empty, missing], columns, problems, parse=_count_parse, remote=_unused,
                        receive=_unused, chunksize=2, name_files=True, empty="no n= lines")
    frame = columns.frame(["n", "line"])
    assert frame["n"].tolist() == [1, 2, 4] and frame["line"].tolist() == [1, 2, 4]
    # one list per file, shared by its blocks (a.log has two)
    (first, second), (other,) = LEARNED["a.log"], LEARNED["b.log"]
    assert first is second and other is not first
    assert frame["file"].tolist() == [str(good)] * 3
    table = problem_table(problems, frames)
    assert [(Path(f).name, line, reason.split(":")[0]) for f, line, reason in
            table[["file", "line", "reason"]].itertuples(index=False)] == [
        ("a.log", 3, "not n=<int>"), ("b.log", pd.NA, "no n= lines"), ("b.log", 1, "not n=<int>"),
        ("gone.log", pd.NA, "cannot read file")]


def test_read_files_strict_raises_the_first_problem_of_a_block(tmp_path):
    path = write(tmp_path, b"n=1\nx\ny\n")
    with pytest.raises(LoadError) as err:
        read_files([path], Columns(0, ()), Problems(strict=True), parse=_count_parse, remote=_unused,
                   receive=_unused)
    assert err.value.line == 2 and "not n=<int>" in str(err.value)


# ---------------------------------------------------------------- key=value fields

KV = KeyValues(columns=("id", "ms"))


def _extract(lines: list[str], unsafe: bool = False):
    df = pl.DataFrame({"text": lines, "unsafe": [unsafe] * len(lines)})
    return KV.extract(df.with_row_index("i"), tail=pl.col("text").str.slice(4), fast=pl.lit(True)).sort("i")


def test_fast_and_regex_paths_give_the_same_columns():
    lines = ["[L] id=1 ms=2.5 b=x a=None c=1e3 d=True", "[L] ms=3 id=2", "[L] id= e=false z=1 z=2"]
    fast, generic = _extract(lines), _extract(lines, unsafe=True)
    cols = ["k_id", "k_ms", "attrs"]
    assert fast.select(cols).rows() == generic.select(cols).rows() == [
        ("1", "2.5", '{"a":null,"b":"x","c":1e3,"d":true}'), ("2", "3", None), (None, None, '{"e":false,"z":1}')]


def test_regex_path_escapes_what_json_needs():
    out = _extract(['[L] id=1 q=a"b t=x\\y'], unsafe=True)
    assert json.loads(out["attrs"][0]) == {"q": 'a"b', "t": "x\\y"}


def test_shapes_are_remembered_for_the_next_block():
    known: list = []
    df = pl.DataFrame({"text": ["[L] id=1 ms=2", "[L] ms=1 id=2 k=3"] * 10, "unsafe": [False] * 20})
    KV.extract(df, tail=pl.col("text").str.slice(4), fast=pl.lit(True), known=known)
    assert sorted(known) == [("id", "ms"), ("ms", "id", "k")]


def test_timestamps_fixed_width_and_otherwise():
    stamps = pl.DataFrame({"s": ["2025-06-30 10:15:33.012", "2025-06-30 10:15:33.012 rest", "2025-06-30 10:15:33,012",
                                 "2025-02-30 10:15:33.012", "2025-06-30T10:15:33.5"]})
    fixed = stamps.select(fixed_width_time(pl.col("s")))["s"].to_list()
    parsed = stamps.select(parse_time(pl.col("s")))["s"].to_list()
    want = pd.Timestamp("2025-06-30 10:15:33.012", tz="UTC")
    assert fixed[:2] == [want, want] and fixed[2:] == [None, None, None]
    assert parsed[0] == parsed[2] == want and parsed[3] is None
    assert parsed[4] == pd.Timestamp("2025-06-30 10:15:33.5", tz="UTC")

