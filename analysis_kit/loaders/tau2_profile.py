"""Loader for tau2-bench ``[PROFILE]`` / ``[USER_JUDGE]`` log lines.

Lines look like (field order varies, every field but the prefix is optional)::

    [PROFILE] 2025-12-23 10:15:33.012 task=retail_001 thread=12345 type=tool_call function=get_order_details call_type=local_function step=5 duration_ms=12.34

The timestamp is when the line was written, i.e. the END of the operation:
``end = timestamp`` and ``start = timestamp - duration_ms``. Naive timestamps are taken as UTC.
Other lines (INFO, DEBUG, tracebacks) are skipped without a problem: they are not profile data.

Parsing is vectorized with polars, no Python loop per line: the file is read in blocks of
whole lines parsed on threads (``_blocks``), the key=value tokens become columns by learned
line shapes (``_keyvalue``), and the events fill arrays that pandas wraps without a copy.
Peak memory is about 2x the file size; ``chunksize=N`` (lines per block) gives the same
tables as a whole load. See benchmarks/README.md for the measured speed and memory.

Mapping to events: ``kind`` = ``type`` except ``step_complete`` -> ``step`` (whose duration is
``total_duration_ms``); ``name`` = ``function`` for tool calls, else ``model``; ``agent`` =
``agent`` (llm_call, tool_call, step), ``user_simulator`` (user_sim), ``evaluator``,
``expert`` (expert_call), NA for unknown types (kept with kind = their type). Extra typed
columns: ``step`` (Int64), ``call_type``, ``has_tool_calls`` (boolean), ``level``
(PROFILE/USER_JUDGE), ``line`` (1-based line number) and, for a directory, ``file``.
``attrs`` is a JSON object of the keys no column holds (all but CORE_KEYS and TYPED_KEYS:
from_role, to_role, the vLLM timing fields, any other key; NA on a line with none of them);
numbers are JSON numbers, True/False are booleans, None is null, the rest strings. The typed
columns are not repeated in attrs: at millions of lines that text was the largest column and
the largest cost of a load.

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

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..exceptions import LoadError
from ..model import Problems, Run
from ._blocks import (BLOCK_BYTES, Columns, block_columns, block_lines, capacity, check_options,
                      problem_rows, problem_table, read_files, repeated, to_pandas)
from ._keyvalue import KeyValues, fixed_width_time, parse_time
from ._read import head, sniffed
from ._registry import Format, register

FORMAT = "tau2_profile"
CACHEABLE = True
PREFIXES = (b"[PROFILE]", b"[USER_JUDGE]")
SNIFF_BYTES = 64 * 1024
# BLOCK_BYTES (imported): bytes per block, ~200k lines; loads read it here, so a script may lower it.
EVENT_BYTES = 120  # fewer bytes per event than a real profile line takes (~150-190)

# Keys that become standard columns; every other key goes to attrs.
CORE_KEYS = ("task", "thread", "type", "model", "function", "duration_ms", "total_duration_ms",
             "input_tokens", "output_tokens", "error")
TYPED_KEYS = ("step", "call_type", "has_tool_calls")
KEYS = KeyValues(columns=CORE_KEYS + TYPED_KEYS)  # keys held by a column are not repeated in attrs
AGENTS = {"llm_call": "agent", "tool_call": "agent", "step_complete": "agent",
          "user_sim": "user_simulator", "evaluator": "evaluator", "expert_call": "expert"}
BOOLEANS = ("True", "true", "1", "False", "false", "0")  # has_tool_calls: three true, three false
# Columns of few distinct values, handed to pandas as categoricals: a fraction of the memory
# of one string per row, and stored as such in the cache (plus ``file`` for a directory).
CATEGORICAL = ("task_id", "agent", "thread", "kind", "name", "call_type", "level")
EVENT_COLUMNS = ("task_id", "agent", "thread", "kind", "name", "start", "end", "duration_ms",
                 "input_tokens", "output_tokens", "error", "attrs", "step", "call_type",
                 "has_tool_calls", "level", "line")


# ---------------------------------------------------------------- detection

def _sniff_file(path: Path) -> bool:
    data = head(path, SNIFF_BYTES)
    return any(data.startswith(p) or b"\n" + p in data for p in PREFIXES)


def _log_files(path: Path) -> list[Path]:
    return sorted(f for f in path.glob("*.log") if f.is_file())


def sniff(path: Path) -> bool:
    """True for a file whose first 64 KB hold a line starting with ``[PROFILE]`` or
    ``[USER_JUDGE]``, or a directory of such ``*.log`` files (not a tau2 results or MassGen
    directory). Never raises.

    >>> sniff(Path("/nonexistent"))
    False
    """
    return sniffed(path, _sniff_file, _sniff_dir)


def _sniff_dir(path: Path) -> bool:
    if (path / "results.json").exists() or (path / "coordination_events.json").exists() \
            or (path / "status.json").exists() or path.name.startswith("log_"):
        return False
    return any(_sniff_file(f) for f in _log_files(path)[:20])


# ---------------------------------------------------------------- timestamps

def _fixed_end(df):
    """Columns ``ts_text`` and ``end`` from the writer's fixed-width timestamp right after
    ``[PROFILE] `` / ``[USER_JUDGE] `` (``end`` NA where the line has another shape, or a
    comma before the milliseconds: _timestamps parses those)."""
    import polars as pl

    c = pl.col
    offset = pl.when(c("text").str.starts_with("[PROFILE] ")).then(10).otherwise(13)
    df = df.with_columns(c("text").str.slice(offset, 24).alias("ts_text"))
    return df.with_columns(fixed_width_time(c("ts_text")).alias("end"), c("ts_text").str.slice(0, 23))


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
    odd = df.filter(missing).with_columns(pl.coalesce(head, shown).alias("ts_text"), parse_time(head).alias("end"))
    return pl.concat([df.filter(~missing), odd])


# ---------------------------------------------------------------- one block

def _problems(df, file: str):
    """Problem rows of the profile lines in ``df``: a field present but unusable."""
    import polars as pl

    c = pl.col
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
    return problem_rows(df, checks, file)


def _parse_frames(block: bytes, first_line: int, file: str, categories: dict | None = None,
                  learned: list | None = None):
    """Events and problems (polars frames) of one block of whole lines."""
    import polars as pl

    c = pl.col
    lines, bad_utf8 = block_lines(block, first_line, file)
    problems = [] if bad_utf8 is None else [bad_utf8]
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
    tail = c("text").str.slice(pl.when(c("level") == "PROFILE").then(34).otherwise(37))
    df = KEYS.extract(df, tail=tail, fast=c("end").is_not_null(), known=learned)
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
    problems.append(_problems(df, file))
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
    events = events.with_columns(*[c(k).cast(pl.Categorical(categories.get(k))) for k in CATEGORICAL])
    return events, pl.concat(problems, how="diagonal_relaxed")


def _columns(events, problems, categories: dict) -> tuple:
    """(a parsed block's events as arrays plus its partial aggregates, or None; problems)."""
    import polars as pl

    if not len(events):
        return None, problems
    c = pl.col
    out = block_columns(events, categories, dense=("line", "hash"))
    tokens = [agg for k in ("input_tokens", "output_tokens") for agg in (c(k).sum(), c(k).count().alias(f"{k}.n"))]
    out["tasks"] = (events.with_row_index("row").filter(c("task_id").is_not_null()).group_by("task_id")
                    .agg(c("row").min(), c("start").min(), c("end").min().alias("end.min"), c("end").max(), *tokens)
                    .with_columns(c("task_id").cast(pl.String), c("row").cast(pl.Int64)))
    out["bounds"] = events.select(c("start").min(), c("end").min().alias("end.min"), c("end").max()).row(0)
    out["models"] = set(events.filter(c("kind") != "tool_call")
                        .select(c("name").cast(pl.String).drop_nulls().unique()).to_series().to_list())
    return out, problems


def _parse_here(block: bytes, first_line: int, file: str, categories: dict, learned: list) -> tuple:
    """One block parsed in this process: (its events as _columns, problems frame)."""
    return _columns(*_parse_frames(block, first_line, file, categories, learned), categories)


def _received(frames: tuple, categories: dict) -> tuple:
    """A block parsed by a worker process (categoricals as text) as _parse_here gives it."""
    import polars as pl

    events, problems = frames
    if len(events):
        events = events.with_columns(pl.col(k).cast(pl.Categorical(cats)) for k, cats in categories.items())
    return _columns(events, problems, categories)


# ---------------------------------------------------------------- the events of a load

class _Events(Columns):
    """Every block's events in growing arrays, and their tasks, time bounds and models."""

    def __init__(self, capacity: int):
        super().__init__(capacity, CATEGORICAL, text=("attrs",), sparse_text=("error",))
        self.tasks, self.bounds, self.models = [], [], set()

    def add(self, block: dict, file: str | None = None) -> None:
        import polars as pl

        self.tasks.append(block["tasks"].with_columns(pl.col("row") + self.n))
        self.bounds.append(block["bounds"])
        self.models |= block["models"]
        super().add(block, file)

    def frame(self) -> pd.DataFrame:
        self.hashes = self.take("hash")
        return super().frame(EVENT_COLUMNS)

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


# ---------------------------------------------------------------- load

def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = _log_files(path)
        if not files:
            raise LoadError("directory holds no *.log files", file=str(path))
        return files
    return [path]


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
    check_options(path, chunksize, workers)
    files = _files(path)
    problems = Problems(strict)
    events = _Events(capacity(files, EVENT_BYTES))  # room for the events (address space)
    frames = read_files(files, events, problems, parse=_parse_here, remote=_parse_frames, receive=_received,
                        chunksize=chunksize, workers=workers, block_bytes=BLOCK_BYTES, name_files=path.is_dir(),
                        empty="no [PROFILE] or [USER_JUDGE] lines in file", label="profile logs")
    return _build_run(path, events, problem_table(problems, frames))


def _build_run(path: Path, events: _Events, problems: pd.DataFrame) -> Run:
    meta = {"run_id": path.stem if path.is_file() else path.name, "source_format": FORMAT,
            "path": str(path), "benchmark": "tau2-bench", "domain": None, "models": [],
            "started": None, "ended": None, "duplicate_lines": 0}
    if not events.n:
        return Run(meta=meta, problems=problems)
    meta["models"] = sorted(events.models)
    meta["started"], meta["ended"] = (None if v is None else pd.Timestamp(v).isoformat()
                                      for v in events.time_bounds())
    meta["events_total"] = events.n
    tasks = to_pandas(events.task_table())
    frame = events.frame()
    meta["duplicate_lines"] = repeated(events.hashes)  # lines in a group of identical lines
    # run_id and the columns profile lines lack (trial, round, cached_tokens, cost_usd) are
    # added by Run as a one-byte categorical and calloc'd NA arrays.
    return Run(meta=meta, tasks=tasks, events=frame, problems=problems)


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
