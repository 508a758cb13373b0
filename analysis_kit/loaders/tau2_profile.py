"""Loader for tau2-bench ``[PROFILE]`` / ``[USER_JUDGE]`` log lines.

Lines look like (field order varies, every field but the prefix is optional)::

    [PROFILE] 2025-12-23 10:15:33.012 task=retail_001 thread=12345 type=tool_call function=get_order_details call_type=local_function step=5 duration_ms=12.34

The timestamp is when the line was written, i.e. the END of the operation:
``end = timestamp`` and ``start = timestamp - duration_ms``. Naive timestamps are taken as UTC.
Other lines (INFO, DEBUG, tracebacks) are skipped without a problem: they are not profile data.

Parsing is vectorized with polars, no Python loop per line. Each block learns the key
sequences ("shapes") its writer uses from a sample of lines (and reuses the shapes earlier
blocks of the file learned) and splits every plain line of a known shape once on spaces (a
literal check per token); other lines (odd whitespace, quotes, non-ASCII, repeated keys,
unknown shapes) take one regex per key. Both paths give the same columns. The file is read
in blocks of whole lines, two parsed at once in threads (polars and numpy release the GIL)
with two more read ahead; each parsed block becomes numpy arrays in its thread, and the main
thread copies them, in order, into arrays that grow in place, which pandas then wraps
without a copy (categoricals share one polars ``Categories`` per load). Peak memory is about
2x the file size; ``chunksize=N`` (lines per block) gives the same tables as a whole load.
See benchmarks/README.md for the measured speed and memory.

Mapping to events: ``kind`` = ``type`` except ``step_complete`` -> ``step`` (whose duration is
``total_duration_ms``); ``name`` = ``function`` for tool calls, else ``model``; ``agent`` =
``agent`` (llm_call, tool_call, step), ``user_simulator`` (user_sim), ``evaluator``,
``expert`` (expert_call), NA for unknown types (kept with kind = their type). Extra typed
columns: ``step`` (Int64), ``call_type``, ``has_tool_calls`` (boolean), ``level``
(PROFILE/USER_JUDGE), ``line`` (1-based line number) and, for a directory, ``file``.
``attrs`` is a JSON object of the keys no column holds: every key except task, thread, type,
model, function, duration_ms, total_duration_ms, input_tokens, output_tokens, error, step,
call_type and has_tool_calls (so it holds from_role, to_role, the vLLM timing fields and any
other key; NA on a line with none of them); numbers are JSON numbers, True/False are
booleans, None is null, the rest strings. The typed columns are not repeated in attrs: at
millions of lines that text was the largest column and the largest cost of a load.

Decisions (each problem is a row of ``run.problems``; ``strict=True`` raises the first):

- timestamp missing or unparseable: the event is KEPT with NA start/end, plus a problem;
- duration present but not a number, nan, inf or negative: the event is KEPT with NA
  duration and NA start, plus a problem; a duration that is simply absent is no problem
  (the format makes every field optional), the event has NA duration;
- tokens or step present but not an integer, has_tool_calls not a boolean (True/False/1/0):
  kept as NA, plus a problem;
- no ``type``: the line is DROPPED, with a problem (it cannot be classified);
- ``error``: NA when absent, empty, ``None``, ``False`` or ``0``; ``True``/``1`` become
  ``"error"``; any other text is kept as the error;
- values ``None``/``null``/empty count as absent for every key;
- invalid UTF-8: decoded with replacement characters, one problem per affected line, and
  the line is still parsed;
- exact duplicate lines are KEPT (both) and not problems -- two identical calls on one thread
  in the same millisecond are possible, and dropping would lose data; their number is in
  ``run.meta["duplicate_lines"]`` so a doubled log handler is visible;
- a repeated key in one line: the first occurrence wins (typed columns and attrs alike);
- a file with no profile lines: an empty run with one problem (line NA);
- events without a ``task`` are kept but make no row in ``run.tasks``.

``run.tasks`` has one row per task id: start = first event start (else first end), end =
last event end, status ``unknown`` and NA success (profile lines carry no outcome), tokens
summed (NA when none known).

>>> from analysis_kit.loaders import tau2_profile                   # doctest: +SKIP
>>> run = tau2_profile.load(Path("logs/tau2_retail.log"))            # doctest: +SKIP
>>> run.events.groupby("kind").duration_ms.median()                  # doctest: +SKIP
"""

from __future__ import annotations

import codecs
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from ..exceptions import LoadError
from ._registry import Format, register
from ..model import RAW_CUT, Problems, Run, conform

FORMAT = "tau2_profile"
CACHEABLE = True
PREFIXES = (b"[PROFILE]", b"[USER_JUDGE]")
SNIFF_BYTES = 64 * 1024
BLOCK_BYTES = 32 * 1024 * 1024  # bytes read per block when no chunksize is given
BOM = b"\xef\xbb\xbf"

# Keys that become standard columns; every other key goes to attrs.
CORE_KEYS = ("task", "thread", "type", "model", "function", "duration_ms", "total_duration_ms",
             "input_tokens", "output_tokens", "error")
TYPED_KEYS = ("step", "call_type", "has_tool_calls")
COLUMN_KEYS = CORE_KEYS + TYPED_KEYS  # keys held by a column, so not repeated in attrs
AGENTS = {"llm_call": "agent", "tool_call": "agent", "step_complete": "agent",
          "user_sim": "user_simulator", "evaluator": "evaluator", "expert_call": "expert"}
ABSENT = ("", "None", "none", "null", "NULL")
BOOLEANS = ("True", "true", "1", "False", "false", "0")  # has_tool_calls: three true, three false
_NUMBER = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$"


# ---------------------------------------------------------------- detection

def _sniff_file(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(BOM):
        head = head[len(BOM):]
    return any(head.startswith(p) or b"\n" + p in head for p in PREFIXES)


def _log_files(path: Path) -> list[Path]:
    return sorted(f for f in path.glob("*.log") if f.is_file())


def sniff(path: Path) -> bool:
    """True for a file whose first 64 KB hold a line starting with ``[PROFILE]`` or
    ``[USER_JUDGE]``, or a directory of such ``*.log`` files (not a tau2 results or MassGen
    directory). Never raises.

    >>> sniff(Path("/nonexistent"))
    False
    """
    try:
        path = Path(path)
        if path.is_file():
            return _sniff_file(path)
        if path.is_dir():
            if (path / "results.json").exists() or (path / "coordination_events.json").exists() \
                    or (path / "status.json").exists() or path.name.startswith("log_"):
                return False
            return any(_sniff_file(f) for f in _log_files(path)[:20])
    except (OSError, ValueError):
        return False
    return False


# ---------------------------------------------------------------- reading

def _blocks(path: Path, chunksize: int | None) -> Iterator[tuple[bytes, int]]:
    """Yield (bytes of whole lines, number of their first line); ``chunksize`` lines each
    when given, else about BLOCK_BYTES each. A BOM at the start of the file is dropped."""
    line_no, pending, first = 1, b"", True
    with path.open("rb") as fh:
        while True:
            data = fh.read(BLOCK_BYTES)
            if first and data.startswith(BOM):
                data = data[len(BOM):]
            first = False
            if not data:
                break
            if not chunksize:
                # One copy of the block's bytes (the pending tail + this read up to its last
                # newline), not a concatenation and then a slice of it.
                cut = data.rfind(b"\n") + 1
                if not cut:  # no newline in this read: a line longer than a block
                    pending += data
                    continue
                block = b"".join((pending, memoryview(data)[:cut])) if pending or cut < len(data) else data
                pending = data[cut:]
                del data  # not held while the block is parsed
                yield block, line_no
                line_no += block.count(b"\n")
                continue
            buf = pending + data if pending else data
            newlines = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
            start = 0
            for idx in range(chunksize - 1, len(newlines), chunksize):
                end = int(newlines[idx]) + 1
                yield buf[start:end], line_no
                line_no += chunksize
                start = end
            pending = buf[start:]
    if pending:
        yield pending, line_no


_bad_offsets = threading.local()


def _record_bad_bytes(exc: UnicodeDecodeError) -> tuple[str, int]:
    _bad_offsets.value.append(exc.start)
    return "\ufffd", exc.end


codecs.register_error("analysis_kit_tau2_profile", _record_bad_bytes)


def _decode(block: bytes) -> tuple[str, list[int]]:
    """The block as text, and the 0-based indexes of lines holding invalid UTF-8."""
    try:
        return block.decode("utf-8"), []
    except UnicodeDecodeError:
        _bad_offsets.value = []
        text = block.decode("utf-8", "analysis_kit_tau2_profile")
        newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
        lines = np.searchsorted(newlines, np.array(_bad_offsets.value), side="left")
        return text, sorted(set(int(i) for i in lines))


# ---------------------------------------------------------------- parsing

def _key(name: str):
    import polars as pl

    return pl.col("text").str.extract(rf"(?:^|\s){name}=(\S*)", 1).alias(f"k_{name}")


def _json_string(expr):
    """JSON string literal of ``expr`` (polars does the escaping)."""
    import polars as pl

    encoded = pl.struct(expr.alias("v")).struct.json_encode()
    return encoded.str.slice(5).str.strip_suffix("}")


def _json_value(value):
    """A key=value token's value as JSON: numbers, booleans, null, else a string."""
    import polars as pl

    return (pl.when(value.str.contains(_NUMBER)).then(value)
            .when(value.is_in(["True", "true"])).then(pl.lit("true"))
            .when(value.is_in(["False", "false"])).then(pl.lit("false"))
            .when(value.is_in(ABSENT)).then(pl.lit("null"))
            .otherwise(_json_string(value)))


def _attrs_generic():
    """attrs from every key=value token not in COLUMN_KEYS (first occurrence of a key wins),
    keys in sorted order so the text does not depend on the order in the line."""
    import polars as pl

    core = "|".join(COLUMN_KEYS)
    rest = pl.col("text").str.replace_all(rf"(?:^|\s)(?:{core})=\S*", "")
    tokens = rest.str.extract_all(r"[^\s=\[\]]+=\S*")
    key = pl.element().str.extract(r"^([^=]+)=", 1)
    value = pl.element().str.replace(r"^[^=]+=", "")
    pairs = tokens.list.eval(pl.element().filter(key.is_first_distinct()).sort()).list.eval(
        pl.concat_str([_json_string(key), pl.lit(":"), _json_value(value)]))
    return (pl.when(pairs.list.len() > 0)
            .then(pl.concat_str([pl.lit("{"), pairs.list.join(","), pl.lit("}")]))
            .otherwise(None).alias("attrs"))


# Fast path. A writer emits each event type with the same keys in the same order, so most
# lines have one of a few "shapes" (key sequences). The shapes are learned from a sample of
# the block's lines; a line of a known shape is split on single spaces into exactly its
# tokens (one `split_exact`, then a literal `starts_with` check per token), about ten times
# cheaper than one regex search per key. Only lines that qualify take it: the fixed-width
# timestamp parsed, and no character that would make splitting on " " differ from the
# regex path (tabs and other whitespace) or need JSON escaping (quotes, backslashes,
# control characters). Every other line, and every line of a shape not learned, takes the
# generic path (one regex per key); both give the same columns.
_SIMPLE_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
SHAPE_SAMPLE = 1000  # lines looked at to learn shapes, per round
MAX_SHAPES = 48      # shapes tried per block (more would cost more than the generic path)


def _shapes(tails: list[str]) -> list[tuple[str, ...]]:
    """The key sequences of ``tails`` usable by the fast path, most frequent first: every
    token ``key=value`` with a plain key, no key twice."""
    counts: dict[tuple[str, ...], int] = {}
    for tail in tails:
        keys = tuple(tok.partition("=")[0] for tok in tail.split(" "))
        if "=" not in tail or not all("=" in tok for tok in tail.split(" ")):
            continue
        if len(set(keys)) != len(keys) or not all(_SIMPLE_KEY.match(k) for k in keys):
            continue
        counts[keys] = counts.get(keys, 0) + 1
    return sorted(counts, key=counts.get, reverse=True)


def _attrs_shape(keys: tuple[str, ...]):
    """attrs of lines of one shape: the non-core keys in sorted order, values typed. The
    fast path admits no quote, backslash or control character, so quoting needs no escaping."""
    import json

    import polars as pl

    c = pl.col
    names = sorted(k for k in keys if k not in COLUMN_KEYS)
    if not names:
        return pl.lit(None, pl.String).alias("attrs")
    pieces = []
    for i, k in enumerate(names):
        v = c(f"k_{k}")
        typed = (pl.when(v.str.contains(_NUMBER)).then(v)
                 .when(v.is_in(["True", "true"])).then(pl.lit("true"))
                 .when(v.is_in(["False", "false"])).then(pl.lit("false"))
                 .when(v.is_in(ABSENT)).then(pl.lit("null"))
                 .otherwise(pl.concat_str([pl.lit('"'), v, pl.lit('"')])))
        pieces += [pl.lit(("{" if i == 0 else ",") + json.dumps(k) + ":"), typed]
    return pl.concat_str(pieces + [pl.lit("}")]).alias("attrs")


def _match_shape(sub, keys: tuple[str, ...]):
    """(rows of ``sub`` whose tail has exactly the shape ``keys``, with k_ columns and
    attrs; the other rows)."""
    import polars as pl

    c = pl.col
    n = len(keys)
    # Split once into columns: a struct field taken from an expression re-runs the split.
    names = [f"__f{i}" for i in range(n)]
    split = sub.select(c("tail").str.split_exact(" ", n - 1).struct.rename_fields(names).alias("f")).unnest("f")
    ok = pl.all_horizontal(*[c(f).str.starts_with(f"{k}=") for f, k in zip(names, keys)]).fill_null(False)
    ok = split.select(ok).to_series()
    if ok.all():  # the usual case: no copy of the rows to split them
        hit = pl.concat([sub, split.select(
            *[c(f).str.slice(len(k) + 1).alias(f"k_{k}") for f, k in zip(names, keys)])], how="horizontal")
        return hit.with_columns(_attrs_shape(keys)), sub.clear()
    hit = pl.concat([sub.filter(ok), split.filter(ok).select(
        *[c(f).str.slice(len(k) + 1).alias(f"k_{k}") for f, k in zip(names, keys)])], how="horizontal")
    if not len(hit):
        return None, sub
    return hit.with_columns(_attrs_shape(keys)), sub.filter(~ok)


def _fast_keys(df, known: list | None = None):
    """(rows parsed by shape, rows left for the generic path). ``known``: shapes that
    matched lines of earlier blocks of the file, tried first without learning (shared by
    the parsing threads; learning from samples in Python was ~4% of a block's time)."""
    import polars as pl

    c = pl.col
    ok = c("end").is_not_null() & ~c("unsafe")
    fast = df.select(ok).to_series()
    if fast.all():  # the usual block: no copy of the rows to split them
        rest = [df.clear()]
    else:
        rest = [df.filter(~ok)]  # (filters by expression: a Series predicate once made
        df = df.filter(ok)         # polars 2.1 panic in a later select, found by the fuzz test)
    if not len(df):
        return [], rest[0]
    df = df.with_columns(c("text").str.slice(pl.when(c("level") == "PROFILE").then(34).otherwise(37)).alias("tail"))
    df = df.with_columns((c("tail").str.count_matches(" ", literal=True) + 1).alias("n_tok"))
    parts, tried = [], set()
    pending = df
    known = [] if known is None else known
    for round_ in range(4):  # known shapes, then learn from the lines still unmatched
        if round_ == 0:
            shapes = list(known[:MAX_SHAPES])
        else:
            sample = pending.head(SHAPE_SAMPLE)["tail"].to_list()
            sample += pending.gather_every(max(1, len(pending) // SHAPE_SAMPLE))["tail"].to_list()
            shapes = [s for s in _shapes(sample) if s not in tried][:MAX_SHAPES - len(tried)]
        if not shapes:
            if round_ == 0:
                continue
            break
        tried.update(shapes)
        left = []
        for (n,), sub in pending.partition_by("n_tok", as_dict=True).items():
            for keys in (s for s in shapes if len(s) == n):
                if not len(sub):
                    break
                hit, sub = _match_shape(sub, keys)
                if hit is not None:
                    parts.append(hit)
                    if round_ and keys not in known and len(known) < MAX_SHAPES:
                        known.append(keys)
            left.append(sub)
        pending = pl.concat(left) if left else pending.clear()
        if len(pending) * 100 <= len(df):  # the few odd lines are cheaper by the generic path
            break
    rest.append(pending.drop("tail", "n_tok"))
    parts = [p.drop("tail", "n_tok") for p in parts]
    return parts, pl.concat(rest, how="vertical_relaxed")




def _extract_keys(df, known_shapes: list | None = None):
    """Columns k_<key> (raw text, NA where absent) and attrs: by shape where possible,
    else one regex per key (first occurrence of a key wins)."""
    import polars as pl

    c = pl.col
    parts, rest = _fast_keys(df, known_shapes)
    if len(rest):
        rest = rest.with_columns(*[_key(k) for k in COLUMN_KEYS], _attrs_generic())
        parts.append(rest)
    if not parts:
        return df.with_columns(*[pl.lit(None, pl.String).alias(f"k_{k}") for k in COLUMN_KEYS],
                               pl.lit(None, pl.String).alias("attrs"))
    # Rows come grouped by shape; they are put back in line order once, on the events
    # (fewer and narrower columns than here), in _parse_block.
    out = pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]
    missing = [pl.lit(None, pl.String).alias(f"k_{k}") for k in COLUMN_KEYS if f"k_{k}" not in out.columns]
    out = out.with_columns(missing) if missing else out
    # "None"/"null"/empty mean absent (attrs keeps them as JSON null).
    return out.with_columns(*[pl.when(c(f"k_{k}").is_in(ABSENT)).then(None).otherwise(c(f"k_{k}"))
                              .alias(f"k_{k}") for k in COLUMN_KEYS])


def _parse_time(expr):
    import polars as pl

    return (expr.str.replace(",", ".", literal=True)
            .str.strptime(pl.Datetime("ns"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
            .dt.replace_time_zone("UTC"))


def _fixed_end(df):
    """Columns ``ts_text`` and ``end`` from the writer's fixed-width timestamp right after
    ``[PROFILE] `` / ``[USER_JUDGE] `` (``end`` NA where the line has another shape, or a
    comma before the milliseconds: _timestamps parses those)."""
    import polars as pl

    c = pl.col
    # Lines of a log share their minute: "YYYY-MM-DD HH:MM" goes through strptime with
    # polars' cache (each distinct minute parsed once), and "SS.mmm" is checked by one regex
    # and read as two integers: 2.4x faster than strptime of every stamp (measured on a 32 MB
    # block). The regex also wants a space or the end of the line after the stamp.
    offset = pl.when(c("text").str.starts_with("[PROFILE] ")).then(10).otherwise(13)
    df = df.with_columns(c("text").str.slice(offset, 24).alias("ts_text"))
    stamp = c("ts_text")
    minute = stamp.str.slice(0, 16).str.strptime(pl.Datetime("ns"), "%Y-%m-%d %H:%M", strict=False, cache=True)
    millis = (stamp.str.slice(17, 2).cast(pl.Int64, strict=False) * 1000
              + stamp.str.slice(20, 3).cast(pl.Int64, strict=False))
    seconds_ok = stamp.str.contains(r"^.{16}:[0-5][0-9]\.[0-9]{3}(?: |$)")
    end = (minute + pl.duration(milliseconds=millis)).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    return df.with_columns(pl.when(seconds_ok).then(end).otherwise(None).alias("end"),
                           stamp.str.slice(0, 23))


def _timestamps(df):
    """Column ``end`` where the fixed-width timestamp failed (other widths, ``T``, missing
    milliseconds, extra spaces): from a regex on those lines only."""
    import polars as pl

    c = pl.col
    missing = c("end").is_null()
    if not df.select(missing.any()).item():
        return df
    head = c("text").str.extract(r"^\[[A-Z_]+\]\s*(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?)(?:\s|$)", 1)
    shown = c("text").str.extract(r"^\[[A-Z_]+\]\s*(\S+(?:\s+\S+)?)", 1)
    # The regexes run on those lines only (rows are put back in line order later).
    odd = df.filter(missing).with_columns(
        pl.coalesce(head, shown).alias("ts_text"),
        _parse_time(head.str.replace("T", " ", literal=True)).alias("end"))
    return pl.concat([df.filter(~missing), odd])


def _problem_frames(df, file: str):
    """(line, reason, raw) rows for the parse problems of profile lines in ``df``."""
    import polars as pl

    c = pl.col
    raw = c("text").str.slice(0, RAW_CUT)
    checks = [
        (c("end").is_null(), pl.format("timestamp does not parse: {}", c("ts_text").fill_null(""))),
        (c("bad_duration"), pl.format("{} is not a valid duration (a non-negative finite number): {}",
                                      c("duration_key"), c("dur_raw"))),
        (c("k_type").is_null(), pl.lit("no type= field")),
    ]
    for name in ("input_tokens", "output_tokens", "step"):
        checks.append((c(f"k_{name}").is_not_null() & c(f"i_{name}").is_null(),
                       pl.format(f"{name} is not an integer: {{}}", c(f"k_{name}"))))
    # Not repeated in attrs, so a value the column cannot hold would otherwise be lost.
    checks.append((c("k_has_tool_calls").is_not_null() & ~c("k_has_tool_calls").is_in(BOOLEANS),
                   pl.format("has_tool_calls is not a boolean (True/False/1/0): {}", c("k_has_tool_calls"))))
    flags = df.select(*[cond.fill_null(False).alias(f"p{i}") for i, (cond, _reason) in enumerate(checks)])
    if not flags.select(pl.any_horizontal(pl.all()).any()).item():  # the usual block: none
        return pl.DataFrame(schema={"line": pl.Int64, "reason": pl.String, "raw": pl.String, "file": pl.String})
    frames = [df.filter(cond).select(c("line"), reason.alias("reason"), raw.alias("raw"))
              for i, (cond, reason) in enumerate(checks) if flags[f"p{i}"].any()]
    out = pl.concat(frames)
    return out.with_columns(pl.lit(file).alias("file"))


def _scan(block: bytes):
    """(offsets of the newlines in ``block``, boolean per line: True where the line holds a
    byte the fast path must not see: control characters but a final CR, ``"``, ``\\``, DEL,
    any non-ASCII byte, so any Unicode space). One numpy pass finds both, in slices to bound
    the temporaries: far cheaper than a regex per line."""
    data = np.frombuffer(block, dtype=np.uint8)
    newlines, unsafe = [], []
    step = 8 * 1024 * 1024
    for start in range(0, len(data), step):
        part = data[start:start + step]
        special = (part - np.uint8(32)) >= np.uint8(95)  # below " " or from DEL up (wraps)
        special |= part == 34
        special |= part == 92
        pos = np.flatnonzero(special) + start
        byte = data[pos]
        newline = byte == 10
        newlines.append(pos[newline])
        if len(pos) > len(newlines[-1]):  # anything but newlines: the rare case
            nxt = data[np.minimum(pos + 1, len(data) - 1)]
            unsafe.append(pos[~newline & ~((byte == 13) & (nxt == 10))])
    newlines = np.concatenate(newlines) if newlines else np.zeros(0, dtype=np.int64)
    n_lines = len(newlines) + (0 if block.endswith(b"\n") else 1)
    flags = np.zeros(n_lines, dtype=bool)
    unsafe = np.concatenate(unsafe) if unsafe else np.zeros(0, dtype=np.int64)
    if len(unsafe):
        flags[np.minimum(np.searchsorted(newlines, unsafe, side="left"), n_lines - 1)] = True
    return newlines, flags


def _newlines(block: bytes):
    """Offsets of the newlines in ``block`` (numpy, no copy of the bytes)."""
    return np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)


def _lines(text: str | None, block: bytes | None, newlines=None):
    """One row per line (without its newline). From valid UTF-8 ``block``, the rows are an
    Arrow string array over the block's own bytes, cut at the newlines numpy finds: ~6x
    cheaper than splitting the decoded text."""
    import polars as pl
    import pyarrow as pa

    if block is None:
        if text.endswith("\n"):
            text = text[:-1]
        return pl.DataFrame({"text": pl.Series([text]).str.split("\n").explode()})
    ends = (_newlines(block) if newlines is None else newlines) + 1
    if not block.endswith(b"\n"):
        ends = np.append(ends, len(block))
    offsets = np.concatenate([np.zeros(1, np.int64), ends.astype(np.int64)])
    array = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(block))
    return pl.DataFrame({"text": pl.from_arrow(array)}).with_columns(pl.col("text").str.strip_suffix("\n"))


def _parse_block(text: str | None, first_line: int, bad_lines: list[int], file: str, block: bytes,
                 categories: dict | None = None, shapes: list | None = None):
    """Events and problems (polars frames) of one block of whole lines (``block``: the same
    lines as bytes, for a cheap check of which lines may take the fast path)."""
    import polars as pl

    c = pl.col
    newlines, unsafe = _scan(block)
    lines = _lines(text, None if bad_lines else block, newlines)
    lines = lines.with_columns(pl.int_range(first_line, first_line + pl.len(), dtype=pl.Int64).alias("line"),
                               c("text").str.strip_suffix("\r"), pl.Series("unsafe", unsafe))
    problems = []
    if bad_lines:
        bad = lines[bad_lines].select(
            "line", pl.lit("invalid UTF-8 bytes (decoded with replacement characters)").alias("reason"),
            c("text").str.slice(0, RAW_CUT).alias("raw"), pl.lit(file).alias("file"))
        problems.append(bad)
    df = lines.filter(c("text").str.starts_with("[PROFILE]") | c("text").str.starts_with("[USER_JUDGE]"))
    del lines
    df = df.with_columns(
        pl.when(c("text").str.starts_with("[PROFILE]")).then(pl.lit("PROFILE"))
        .otherwise(pl.lit("USER_JUDGE")).alias("level"),
        c("text").hash(seed=0).alias("hash"),
    )
    # The writer's timestamp is fixed-width right after "[LEVEL] "; other shapes are looked
    # for with a regex (_timestamps), on those lines only. (Reading it from the block's bytes
    # with numpy was measured: no faster than strptime.)
    df = _fixed_end(df)
    df = _extract_keys(df, shapes)
    is_step = c("k_type") == "step_complete"
    df = _timestamps(df)
    df = df.with_columns(
        pl.when(is_step).then(pl.coalesce(c("k_total_duration_ms"), c("k_duration_ms")))
        .otherwise(c("k_duration_ms")).alias("dur_raw"),
        pl.when(is_step & c("k_total_duration_ms").is_not_null()).then(pl.lit("total_duration_ms"))
        .otherwise(pl.lit("duration_ms")).alias("duration_key"),
        *[c(f"k_{k}").cast(pl.Int64, strict=False).alias(f"i_{k}")
          for k in ("input_tokens", "output_tokens", "step")],
    )
    df = df.with_columns(c("dur_raw").cast(pl.Float64, strict=False).alias("duration_ms"))
    dur = c("duration_ms")
    bad_dur = c("dur_raw").is_not_null() & (dur.is_null() | dur.is_nan() | dur.is_infinite() | (dur < 0))
    df = df.with_columns(bad_dur.alias("bad_duration"))
    df = df.with_columns(pl.when(c("bad_duration")).then(None).otherwise(dur).alias("duration_ms"))
    problems.append(_problem_frames(df, file))
    df = df.filter(c("k_type").is_not_null())
    error = c("k_error")
    events = df.select(
        c("k_task").alias("task_id"),
        c("k_type").replace_strict(AGENTS, default=None, return_dtype=pl.String).alias("agent"),
        c("k_thread").alias("thread"),
        pl.when(is_step).then(pl.lit("step")).otherwise(c("k_type")).alias("kind"),
        pl.when(c("k_type") == "tool_call").then(pl.coalesce(c("k_function"), c("k_model")))
        .otherwise(pl.coalesce(c("k_model"), c("k_function"))).alias("name"),
        (c("end") - pl.duration(microseconds=(c("duration_ms") * 1000).round(0).cast(pl.Int64))).alias("start"),
        c("end"),
        c("duration_ms"),
        c("i_input_tokens").alias("input_tokens"),
        c("i_output_tokens").alias("output_tokens"),
        pl.when(error.is_in(["False", "false", "0"])).then(None)
        .when(error.is_in(["True", "true", "1"])).then(pl.lit("error"))
        .otherwise(error).alias("error"),
        c("attrs"),
        c("i_step").alias("step"),
        c("k_call_type").alias("call_type"),
        pl.when(c("k_has_tool_calls").is_in(BOOLEANS[:3])).then(True)
        .when(c("k_has_tool_calls").is_in(BOOLEANS[3:])).then(False)
        .otherwise(None).alias("has_tool_calls"),
        c("level"),
        c("line"),
        c("hash"),
    ).sort("line")
    # Repeated strings as codes into the load's categories (shared by its blocks).
    categories = categories or {}
    events = events.with_columns(*[c(k).cast(pl.Categorical(categories.get(k))) for k in CATEGORICAL
                                   if k in events.columns])
    return events, pl.concat(problems, how="diagonal_relaxed") if problems else None


# ---------------------------------------------------------------- assembling the events

# Columns of few distinct values, handed to pandas as categoricals: a fraction of the memory
# of one string per row, and stored as such in the cache.
CATEGORICAL = ("task_id", "agent", "thread", "kind", "name", "call_type", "level", "file")
INT_COLUMNS = ("input_tokens", "output_tokens", "step")
TEXT_COLUMNS = ("error", "attrs")
NAT = np.iinfo(np.int64).min  # NaT as int64 nanoseconds


def _categories() -> tuple[dict, list]:
    """One polars ``Categories`` per categorical column, for one load: every block's codes
    index the same strings, so blocks join by their codes, without re-encoding at the end.
    Also an empty Series of each: polars frees a Categories' strings (and would number them
    afresh) once no column uses it, so these keep them for the whole load."""
    import polars as pl

    categories = {k: pl.Categories.random() for k in CATEGORICAL if k != "file"}
    return categories, [pl.Series([], dtype=pl.Categorical(cats)) for cats in categories.values()]


def _block_columns(events, categories: dict) -> dict:
    """A block's events as numpy arrays (Arrow arrays for the free text) and partial
    aggregates (tasks, time bounds, models). Made in the parsing thread, so the main thread
    only copies arrays into place: no table-wide conversion at the end of a load."""
    import polars as pl

    c = pl.col
    events = events.with_columns(c("start").dt.cast_time_unit("ns"), c("end").dt.cast_time_unit("ns"))
    out: dict = {"n": events.height, "present": {}}
    for k in categories:  # codes into the load's categories; -1 is NA
        codes = events[k].to_physical()
        if codes.null_count():
            codes = codes.cast(pl.Int32).fill_null(-1).to_numpy()
        else:  # the usual column: the codes as they are
            codes = codes.to_numpy().astype(np.int32, copy=False)
        out[k] = codes
        out["present"][k] = np.flatnonzero(np.bincount(codes[codes >= 0] if len(codes) else codes)).tolist()
    for k in ("start", "end"):
        out[k] = events[k].to_physical().fill_null(NAT).to_numpy()
    out["duration_ms"] = events["duration_ms"].to_numpy()  # NA -> NaN
    for k in INT_COLUMNS + ("has_tool_calls",):
        column = events[k]
        out[k] = column.fill_null(False if k == "has_tool_calls" else 0).to_numpy()
        out[k + ".na"] = column.is_null().to_numpy()
    out["line"] = events["line"].to_numpy()
    out["hash"] = events["hash"].to_numpy()
    for k in TEXT_COLUMNS:
        out[k] = events[k].to_arrow(compat_level=pl.CompatLevel.oldest())

    def count(col):
        return c(col).count().alias(f"{col}.n")

    out["tasks"] = (events.with_row_index("row").filter(c("task_id").is_not_null())
                    .group_by("task_id")
                    .agg(c("row").min(), c("start").min(), c("end").min().alias("end.min"), c("end").max(),
                         c("input_tokens").sum(), count("input_tokens"),
                         c("output_tokens").sum(), count("output_tokens"))
                    .with_columns(c("task_id").cast(pl.String), c("row").cast(pl.Int64)))
    out["bounds"] = events.select(c("start").min(), c("end").min().alias("end.min"), c("end").max()).row(0)
    out["models"] = set(events.filter(c("kind") != "tool_call")
                        .select(c("name").cast(pl.String).drop_nulls().unique()).to_series().to_list())
    return out


class _Growing:
    """A numpy array filled block by block, grown in place: ``ndarray.resize`` reallocates,
    which for large arrays remaps pages instead of copying them, and the capacity not yet
    filled is address space only (no page is touched until written)."""

    def __init__(self, dtype, capacity: int):
        self.array = np.empty(capacity, dtype=dtype)
        self.n = 0

    def append(self, values) -> None:
        end = self.n + len(values)
        if end > len(self.array):
            self.array.resize(max(end, len(self.array) * 3 // 2), refcheck=False)
        self.array[self.n:end] = values
        self.n = end

    def finish(self):
        self.array.resize(self.n, refcheck=False)
        return self.array


class _GrowingText:
    """A large_string column filled block by block: the blocks' bytes, offsets and validity
    copied into growing arrays, wrapped as one Arrow array at the end (no concatenation of
    the blocks' arrays, which cost a copy of the whole column)."""

    def __init__(self, capacity: int):
        self.offsets = _Growing(np.int64, capacity + 1)
        self.offsets.append(np.zeros(1, dtype=np.int64))
        self.data = _Growing(np.uint8, capacity * 8)
        self.valid = _Growing(np.bool_, capacity)

    def append(self, array) -> None:
        import pyarrow as pa

        if array.type != pa.large_string():
            array = array.cast(pa.large_string())
        _validity, offsets, data = array.buffers()
        offsets = np.frombuffer(offsets, dtype=np.int64)[array.offset:array.offset + len(array) + 1]
        first, last = int(offsets[0]), int(offsets[-1])
        self.offsets.append(offsets[1:] - first + self.data.n)
        if last > first:
            self.data.append(np.frombuffer(data, dtype=np.uint8)[first:last])
        self.valid.append(array.is_valid().to_numpy(zero_copy_only=False))

    def finish(self):
        import pyarrow as pa

        offsets, data, valid = self.offsets.finish(), self.data.finish(), self.valid.finish()
        nulls = len(valid) - int(np.count_nonzero(valid))
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
        return pa.LargeStringArray.from_buffers(len(valid), pa.py_buffer(offsets), pa.py_buffer(data),
                                                bitmap, nulls)


class _Events:
    """Every block's events, copied into final arrays as the blocks arrive (in order), so a
    load holds one copy of the events, not the blocks plus a concatenation of them."""

    def __init__(self, capacity: int):
        self.categories, self._anchors = _categories()
        self.capacity = max(1024, capacity)
        self.arrays: dict[str, _Growing] = {}
        self.text = {k: _GrowingText(self.capacity if k == "attrs" else 1024) for k in TEXT_COLUMNS}
        self.tasks, self.bounds, self.models, self.files = [], [], set(), []
        self.present: dict[str, set] = {k: set() for k in self.categories}  # codes in use
        self.n = 0

    def _append(self, name: str, values) -> None:
        if name not in self.arrays:
            self.arrays[name] = _Growing(values.dtype, self.capacity)
        self.arrays[name].append(values)

    def add(self, block: dict, file: str | None = None) -> None:
        import polars as pl

        for name, values in block.items():
            if isinstance(values, np.ndarray):
                self._append(name, values)
        for k in TEXT_COLUMNS:
            self.text[k].append(block[k])
        for k, codes in block["present"].items():
            self.present[k].update(codes)
        if file is not None:  # a directory: which file each event came from
            if not self.files or self.files[-1] != file:
                self.files.append(file)
            self.present.setdefault("file", set()).add(len(self.files) - 1)
            self._append("file", np.full(block["n"], len(self.files) - 1, dtype=np.int32))
        self.tasks.append(block["tasks"].with_columns(pl.col("row") + self.n))
        self.bounds.append(block["bounds"])
        self.models |= block["models"]
        self.n += block["n"]

    def _categorical(self, name: str, codes) -> pd.Categorical:
        """Codes of column ``name`` as a pandas categorical whose categories are the values
        present, sorted (the order polars saw them in depends on thread timing)."""
        names = self.files if name == "file" else self.categories[name].to_series().to_list()
        keep = sorted(self.present[name], key=names.__getitem__)
        dtype = np.int8 if len(keep) < 2**7 else np.int16 if len(keep) < 2**15 else np.int32
        remap = np.full(len(names) + 1, -1, dtype=dtype)  # the last entry answers code -1
        remap[keep] = np.arange(len(keep), dtype=dtype)
        return pd.Categorical.from_codes(remap[codes], categories=pd.Index([names[i] for i in keep]),
                                         validate=False)

    def frame(self) -> pd.DataFrame:
        """The events as pandas columns over the filled arrays (no further copy)."""
        import pyarrow as pa

        arrays = {name: grow.finish() for name, grow in self.arrays.items()}
        self.arrays = {}
        columns: dict = {}
        for k in ("task_id", "agent", "thread", "kind", "name"):
            columns[k] = self._categorical(k, arrays.pop(k))
        for k in ("start", "end"):
            columns[k] = _utc(arrays.pop(k))
        columns["duration_ms"] = arrays.pop("duration_ms")
        for k in INT_COLUMNS[:2]:
            columns[k] = pd.arrays.IntegerArray(arrays.pop(k), arrays.pop(k + ".na"))
        for k in TEXT_COLUMNS:
            columns[k] = pd.arrays.ArrowStringArray(pa.chunked_array([self.text.pop(k).finish()]))
        columns["step"] = pd.arrays.IntegerArray(arrays.pop("step"), arrays.pop("step.na"))
        columns["call_type"] = self._categorical("call_type", arrays.pop("call_type"))
        columns["has_tool_calls"] = pd.arrays.BooleanArray(arrays.pop("has_tool_calls"), arrays.pop("has_tool_calls.na"))
        columns["level"] = self._categorical("level", arrays.pop("level"))
        columns["line"] = pd.arrays.IntegerArray(arrays.pop("line"), np.zeros(self.n, dtype=bool))
        if "file" in arrays:
            columns["file"] = self._categorical("file", arrays.pop("file"))
        self.hashes = arrays.pop("hash")
        return pd.DataFrame(columns, copy=False)

    def duplicate_lines(self) -> int:
        """Lines in a group of identical lines (n each), from the lines' hashes."""
        import polars as pl

        hashes = pl.Series(self.hashes)
        if hashes.n_unique() == len(hashes):  # the usual case, and 7x cheaper to know
            return 0
        return int(hashes.is_duplicated().sum())

    def task_table(self):
        """One row per task id, in order of first appearance, from the blocks' partials."""
        import polars as pl

        c = pl.col
        parts = pl.concat(self.tasks, how="vertical_relaxed")

        def total(col):
            return pl.when(c(f"{col}.n").sum() > 0).then(c(col).sum()).otherwise(None).alias(col)

        tasks = (parts.group_by("task_id")
                 .agg(c("row").min(), pl.coalesce(c("start").min(), c("end.min").min()).alias("start"),
                      c("end").max(), total("input_tokens"), total("output_tokens"))
                 .sort("row").drop("row"))
        return tasks.with_columns(
            ((c("end") - c("start")).dt.total_microseconds() / 1e6).alias("duration_s"),
            pl.lit("unknown").alias("status"))

    def time_bounds(self) -> tuple:
        """(first start, else first end; last end) over every event, None when unknown."""
        starts = [b[0] for b in self.bounds if b[0] is not None] or [b[1] for b in self.bounds if b[1] is not None]
        ends = [b[2] for b in self.bounds if b[2] is not None]
        return (min(starts) if starts else None), (max(ends) if ends else None)


def _utc(nanoseconds) -> pd.arrays.DatetimeArray:
    """int64 nanoseconds (NAT for NA) as a UTC datetime array over the same memory."""
    values = nanoseconds.view("M8[ns]")
    try:
        return pd.arrays.DatetimeArray._simple_new(values, dtype=pd.DatetimeTZDtype("ns", "UTC"))
    except (AttributeError, TypeError):  # a pandas without the private constructor: one copy
        return pd.array(values).tz_localize("UTC")


def _to_pandas(frame) -> pd.DataFrame:
    """A small polars frame (tasks, problems) -> pandas with nullable types and Arrow-backed
    strings (no Python objects)."""
    import polars as pl
    import pyarrow as pa

    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    mapping = {pa.large_string(): pd.StringDtype("pyarrow"), pa.string(): pd.StringDtype("pyarrow"),
               pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    return table.to_pandas(types_mapper=mapping.get)


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = _log_files(path)
        if not files:
            raise LoadError("directory holds no *.log files", file=str(path))
        return files
    return [path]


# ---------------------------------------------------------------- parallel blocks

# Blocks are independent (whole lines, their first line number known), so they can be parsed
# in other processes: polars runs most per-line passes of one block on a single core, so two
# processes use the machine's two cores where one left half of them idle. Each worker gets a
# block's bytes and returns its events and problems as Arrow IPC (categoricals stay
# dictionary-encoded: a fraction of the block's size); the results are taken in block order,
# so line numbers, problems and row order are those of a serial load. Opt-in: on the shared
# 2-core machine it measured no steadier gain than the noise (polars already uses both cores
# for part of each block), and "forkserver" re-imports a script's __main__ in each worker.
IN_FLIGHT = 2  # blocks queued per worker beyond the one it parses: bounds the bytes held


def _pool(files: list[Path], chunksize: int | None, workers: int):
    """A process pool when it pays: at least two blocks to parse and more than one worker
    (small loads do not pay the pool's start-up). None means parse in this process."""
    import os

    if chunksize is not None or not workers or workers == 1:
        return None
    n = min(workers, os.cpu_count() or 1)
    try:
        total = sum(f.stat().st_size for f in files)
    except OSError:
        return None
    if n < 2 or total < 2 * BLOCK_BYTES:
        return None
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # "forkserver", not "fork": forking a process whose polars thread pool is running can
    # deadlock the child. The server imports polars once; workers fork from it.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["polars", __name__])
    return ProcessPoolExecutor(max_workers=n, mp_context=ctx)


def _parse_bytes(block: bytes, first_line: int, file: str, categories: dict | None = None,
                 shapes: list | None = None) -> tuple:
    """One block parsed: (events, problems) as polars frames."""
    if block.isascii():  # valid UTF-8 without building a str (C, no copy): the usual case
        return _parse_block(None, first_line, [], file, block, categories, shapes)
    text, bad_lines = _decode(block)
    # Valid UTF-8: the rows are cut from the bytes, the decoded copy is not needed.
    return _parse_block(text if bad_lines else None, first_line, bad_lines, file, block, categories, shapes)


def _parse_columns(block: bytes, first_line: int, file: str, categories: dict, shapes: list) -> tuple:
    """One block parsed in this process: (its events as _block_columns, problems frame)."""
    events, problems = _parse_bytes(block, first_line, file, categories, shapes)
    return (_block_columns(events, categories) if len(events) else None), problems


def _parse_to_ipc(block: bytes, first_line: int, file: str) -> tuple[bytes, bytes]:
    """_parse_bytes in a worker process: the two frames as Arrow IPC bytes (categoricals as
    text: the worker's categories are not the load's)."""
    import io

    import polars as pl

    out = []
    for frame in _parse_bytes(block, first_line, file):
        frame = frame.with_columns(pl.col(pl.Categorical).cast(pl.String))
        buf = io.BytesIO()
        frame.write_ipc(buf)
        out.append(buf.getvalue())
    return out[0], out[1]


def _parsed_blocks(file: Path, chunksize: int | None, pool, categories: dict) -> Iterator[tuple]:
    """(events as _block_columns or None, problems frame) of each block of ``file``, in order."""
    import collections

    import polars as pl

    name = str(file)
    shapes: list = []  # learned by the file's blocks, for its next ones
    if pool is None:
        if THREADS < 2:
            for block, first_line in _blocks(file, chunksize):
                yield _parse_columns(block, first_line, name, categories, shapes)
            return
        # Blocks read ahead of the parsing threads: a thread that finishes finds its next block
        # already read and queued, instead of idling while the main thread stores the result
        # and reads on (measured: each thread idled 22-28% of a 5M-line load with no read-ahead).
        pool, limit = _thread_pool(), THREADS + READ_AHEAD

        def submit(block, first_line):
            return pool.submit(_parse_columns, block, first_line, name, categories, shapes)

        def receive(result):
            return result
    else:
        limit = pool._max_workers * IN_FLIGHT

        def submit(block, first_line):
            return pool.submit(_parse_to_ipc, block, first_line, name)

        def receive(parts):
            events, problems = (pl.read_ipc(part) for part in parts)
            if not len(events):
                return None, problems
            events = events.with_columns(pl.col(k).cast(pl.Categorical(cats)) for k, cats in categories.items())
            return _block_columns(events, categories), problems
    queued: collections.deque = collections.deque()
    try:
        for block, first_line in _blocks(file, chunksize):
            queued.append(submit(block, first_line))
            del block
            while len(queued) >= limit:
                yield receive(queued.popleft().result())
        while queued:
            yield receive(queued.popleft().result())
    finally:
        for future in queued:  # an error or strict stop: do not parse the rest
            future.cancel()


# Threads, by default: polars and numpy release the GIL while they work, and most of a
# block's parse is single-threaded polars string passes, so two blocks parsed at once use
# both cores without a process's start-up, IPC copies or memory. At most THREADS blocks are
# in flight (one per thread), which bounds the bytes held.
THREADS = 2
READ_AHEAD = 2  # blocks read and queued beyond one per thread
_threads = None


def _thread_pool():
    global _threads
    if _threads is None:
        from concurrent.futures import ThreadPoolExecutor

        _threads = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="tau2_profile")
    return _threads


def load(path: Path, *, strict: bool = False, chunksize: int | None = None,
         workers: int = 1) -> Run:
    """Load a profile log file, or a directory of ``*.log`` files, into a Run.

    ``chunksize`` parses N lines at a time (same result as a whole load). ``workers=2``
    parses the blocks in two processes (only when there are at least two blocks; the default,
    1, parses in this process; see benchmarks/README.md for why it is not the default); the
    result is the same either way.

    >>> run = load(Path("tau2_retail.log"))                            # doctest: +SKIP
    >>> run.events[run.events.kind == "tool_call"].error.notna().sum()  # doctest: +SKIP
    """
    path = Path(path)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise LoadError(f"workers must be a positive integer, not {workers!r}", file=str(path))
    if chunksize is not None and (not isinstance(chunksize, int) or chunksize < 1):
        raise LoadError(f"chunksize must be a positive integer, not {chunksize!r}", file=str(path))
    files = _files(path)
    is_dir = path.is_dir()
    problems = Problems(strict)
    problem_frames: list = []
    try:  # room for the events a file of this size may hold (address space, filled as read)
        capacity = min(sum(f.stat().st_size for f in files) // EVENT_BYTES, MAX_CAPACITY)
    except OSError:
        capacity = 0
    events = _Events(capacity)
    pool = _pool(files, chunksize, workers)
    try:
        with _allocator_kept(capacity * EVENT_BYTES >= 2 * BLOCK_BYTES):
            _load_files(files, chunksize, pool, is_dir, problems, problem_frames, events)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return _build_run(path, events, problem_frames, problems)


# glibc malloc, by default, maps every allocation above a threshold (at most 32 MB) afresh
# and unmaps it when freed, and hands the top of its heap back to the system: parsing block
# after block (each read, each numpy temporary) then faults in fresh pages again and again,
# and in a process with threads each unmap costs a TLB shootdown on every core. Measured on
# the 5M-line log: 746k page faults and 3.7 s of system time in the parse; with larger
# thresholds for the load, 292k faults and 2.0 s (benchmarks/README.md). Only glibc is tuned
# (mallopt is process-wide, so for big loads only); afterwards the thresholds are set to the
# values glibc's own dynamic tuning reaches in a data-heavy process (32 MB, trim at 64 MB).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MALLOC_DURING_LOAD = {M_MMAP_THRESHOLD: 256 << 20, M_TRIM_THRESHOLD: 1 << 30}
MALLOC_AFTER_LOAD = {M_MMAP_THRESHOLD: 32 << 20, M_TRIM_THRESHOLD: 64 << 20}


def _mallopt():
    """glibc's ``mallopt``, or None (another C library, another system)."""
    import ctypes
    import platform
    import sys

    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


class _allocator_kept:
    """Context: glibc keeps and reuses freed memory while a big load runs (see above)."""

    def __init__(self, big: bool):
        self.mallopt = _mallopt() if big else None

    def __enter__(self):
        for option, value in (MALLOC_DURING_LOAD.items() if self.mallopt else ()):
            self.mallopt(option, value)
        return self

    def __exit__(self, *exc):
        if self.mallopt:
            for option, value in MALLOC_AFTER_LOAD.items():
                self.mallopt(option, value)
            _malloc_trim()
        return False


def _malloc_trim() -> None:
    """Hand glibc's free memory back to the system now: the pages the parse freed are then
    the next ones the system gives out (the cache file's, pandas' arrays), already warm."""
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


EVENT_BYTES = 120  # fewer bytes per event than a real profile line takes (~150-190)
# Rows reserved up front at most (128 MB of address space per 8-byte column): a bigger file's
# arrays grow as they fill, so a strict-overcommit system is not asked for gigabytes at once.
MAX_CAPACITY = 16_000_000


def _load_files(files, chunksize, pool, is_dir, problems, problem_frames, events: _Events) -> None:
    """Parse every file's blocks (in ``pool`` when given) into ``events`` and the problem
    frames."""
    from tqdm.auto import tqdm

    strict = problems.strict
    for file in tqdm(files, desc="profile logs", unit="file", disable=len(files) < 2, leave=False):
        name = str(file)
        before = events.n
        try:
            for columns, probs in _parsed_blocks(file, chunksize, pool, events.categories):
                if len(probs):
                    if strict:
                        first = probs.sort("line").row(0, named=True)
                        problems.add(first["file"], first["line"], first["reason"], first["raw"])
                    problem_frames.append(probs)
                if columns is not None:
                    events.add(columns, name if is_dir else None)
        except OSError as exc:
            problems.add(name, None, f"cannot read file: {exc}")
            continue
        if events.n == before:
            problems.add(name, None, "no [PROFILE] or [USER_JUDGE] lines in file")


def _build_run(path: Path, events: _Events, problem_frames: list, problems: Problems) -> Run:
    import polars as pl

    meta = {"run_id": path.stem if path.is_file() else path.name, "source_format": FORMAT,
            "path": str(path), "benchmark": "tau2-bench", "domain": None, "models": [],
            "started": None, "ended": None, "duplicate_lines": 0}
    problem_rows = pd.DataFrame(problems.rows, columns=["file", "line", "reason", "raw"])
    if problem_frames:
        parsed = _to_pandas(pl.concat(problem_frames, how="diagonal_relaxed").select("file", "line", "reason", "raw"))
        problem_rows = pd.concat([problem_rows, parsed], ignore_index=True) if len(problem_rows) else parsed
        problem_rows = problem_rows.sort_values(["file", "line"], kind="stable", na_position="first")
    if not events.n:
        return Run(meta=meta, problems=conform(problem_rows, "problems"))
    meta["models"] = sorted(events.models)
    meta["started"], meta["ended"] = (None if v is None else pd.Timestamp(v).isoformat()
                                      for v in events.time_bounds())
    meta["events_total"] = events.n
    tasks = _to_pandas(events.task_table())
    frame = events.frame()
    meta["duplicate_lines"] = events.duplicate_lines()
    # run_id and the columns profile lines lack (trial, round, cached_tokens, cost_usd) are
    # added by Run as a one-byte categorical and calloc'd NA arrays.
    return Run(meta=meta, tasks=tasks, events=frame, problems=conform(problem_rows, "problems"))


@dataclass(frozen=True)
class Options:
    """``chunksize``: lines parsed per block (same tables as a whole load); ``workers``:
    processes parsing blocks (1: threads in this process)."""

    chunksize: int | None = None
    workers: int = 1


SPEC = register(Format(
    name=FORMAT, sniff=sniff, load=load, options=Options, cacheable=CACHEABLE, priority=30,
    samples={"tau2_profile": "analysis_kit.samples.tau2_profile:write"},
    description="tau2-bench [PROFILE]/[USER_JUDGE] log lines"))
