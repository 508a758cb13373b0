"""Big line logs: blocks of whole lines, parsed on threads, into columns that grow in place.

What a format whose runs are line logs of millions of lines needs besides its own parsing
(``tau2_profile`` uses it), in one place:

- ``line_blocks``: a file as blocks of whole lines (about ``block_bytes`` each, or
  ``chunksize`` lines each) with the number of each block's first line; a UTF-8 BOM at the
  start is dropped, a line longer than a block is kept whole.
- ``block_lines``: one block as a polars frame of its lines (``text`` without the line end,
  ``line``, ``unsafe``), cut from the block's own bytes without decoding them when they are
  valid UTF-8; invalid UTF-8 is replaced and each affected line is a problem row.
- ``parse_blocks``: a file's blocks parsed by the format's function two at a time on threads
  (polars and numpy release the GIL) with more read ahead, or in an opt-in process pool,
  results in block order, so line numbers, problems and rows are those of a serial load.
- ``allocator_kept``: glibc keeps and reuses freed memory while a big load runs.
- ``block_columns`` and ``Columns``: each parsed block becomes numpy arrays in its thread;
  the main thread copies them, in order, into arrays that grow in place, which pandas then
  wraps without a copy (categoricals share one polars ``Categories`` per load).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.log"
>>> _ = path.write_bytes(b"\\xef\\xbb\\xbfa\\nb\\nc\\n")
>>> list(line_blocks(path, chunksize=2))
[(b'a\\nb\\n', 1), (b'c\\n', 3)]
"""

from __future__ import annotations

import codecs
import collections
import threading
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from ..exceptions import LoadError
from ..model import RAW_CUT, Problems, conform

BLOCK_BYTES = 32 * 1024 * 1024  # bytes read per block when no chunksize is given
BOM = codecs.BOM_UTF8
INVALID_UTF8 = "invalid UTF-8 bytes (decoded with replacement characters)"


# ---------------------------------------------------------------- blocks of whole lines

def line_blocks(path: Path, chunksize: int | None = None,
                block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[bytes, int]]:
    """Yield (bytes of whole lines, number of their first line); ``chunksize`` lines each
    when given, else about ``block_bytes`` each. A BOM at the start of the file is dropped."""
    line_no, pending, first = 1, b"", True
    with Path(path).open("rb") as fh:
        while True:
            data = fh.read(max(block_bytes, len(BOM)) if first else block_bytes)
            if not data:
                break
            if first and data.startswith(BOM):
                data = data[len(BOM):]
            first = False
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
            newlines = newline_offsets(buf)
            start = 0
            for idx in range(chunksize - 1, len(newlines), chunksize):
                end = int(newlines[idx]) + 1
                yield buf[start:end], line_no
                line_no += chunksize
                start = end
            pending = buf[start:]
    if pending:
        yield pending, line_no


def newline_offsets(block: bytes) -> np.ndarray:
    """Offsets of the newlines in ``block`` (numpy, no copy of the bytes)."""
    return np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)


_bad_offsets = threading.local()


def _record_bad_bytes(exc: UnicodeDecodeError) -> tuple[str, int]:
    _bad_offsets.value.append(exc.start)
    return "\ufffd", exc.end


codecs.register_error("analysis_kit_blocks", _record_bad_bytes)


def decode_lines(block: bytes) -> tuple[str, list[int]]:
    """The block as text (invalid UTF-8 replaced, as ``_read.decode`` does), and the 0-based
    indexes of the lines holding invalid UTF-8 (every one, not only the first).

    >>> decode_lines(b"ok\\nb\\xffd\\n\\xfe\\n")
    ('ok\\nb\\ufffdd\\n\\ufffd\\n', [1, 2])
    """
    try:
        return block.decode("utf-8"), []
    except UnicodeDecodeError:
        _bad_offsets.value = []
        text = block.decode("utf-8", "analysis_kit_blocks")
        lines = np.searchsorted(newline_offsets(block), np.array(_bad_offsets.value), side="left")
        return text, sorted(set(int(i) for i in lines))


def scan(block: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(offsets of the newlines in ``block``, boolean per line: True where the line holds a
    byte that splitting on spaces or quoting as JSON must not meet: control characters but a
    final CR, ``"``, ``\\``, DEL, any non-ASCII byte, so any Unicode space). One numpy pass
    finds both, in slices to bound the temporaries: far cheaper than a regex per line."""
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


def lines(text: str | None, block: bytes | None, newlines=None):
    """One row per line (without its newline). From valid UTF-8 ``block``, the rows are an
    Arrow string array over the block's own bytes, cut at the newlines numpy finds: ~6x
    cheaper than splitting the decoded ``text`` (used when ``block`` is None)."""
    import polars as pl
    import pyarrow as pa

    if block is None:
        if text.endswith("\n"):
            text = text[:-1]
        return pl.DataFrame({"text": pl.Series([text]).str.split("\n").explode()})
    ends = (newline_offsets(block) if newlines is None else newlines) + 1
    if not block.endswith(b"\n"):
        ends = np.append(ends, len(block))
    offsets = np.concatenate([np.zeros(1, np.int64), ends.astype(np.int64)])
    array = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(block))
    return pl.DataFrame({"text": pl.from_arrow(array)}).with_columns(pl.col("text").str.strip_suffix("\n"))


def block_lines(block: bytes, first_line: int, file: str):
    """(the block's lines: ``text`` without CR LF, ``line`` numbers, ``unsafe`` (see
    :func:`scan`); a problems frame with one row per line holding invalid UTF-8, or None)."""
    import polars as pl

    c = pl.col
    text, bad_lines = (None, []) if block.isascii() else decode_lines(block)  # isascii: C, no copy
    newlines, unsafe = scan(block)
    # Valid UTF-8: the rows are cut from the bytes, the decoded copy is not needed.
    frame = lines(text if bad_lines else None, None if bad_lines else block, newlines)
    frame = frame.with_columns(pl.int_range(first_line, first_line + pl.len(), dtype=pl.Int64).alias("line"),
                               c("text").str.strip_suffix("\r"), pl.Series("unsafe", unsafe))
    if not bad_lines:
        return frame, None
    bad = frame[bad_lines].select("line", pl.lit(INVALID_UTF8).alias("reason"),
                                  c("text").str.slice(0, RAW_CUT).alias("raw"), pl.lit(file).alias("file"))
    return frame, bad


def problem_rows(df, checks: list[tuple[Any, Any]], file: str):
    """Problem rows (line, reason, raw, file) of the rows of ``df`` (columns ``line`` and
    ``text``) where each check's condition holds; ``checks``: (condition, reason) polars
    expressions. Cheap when no row has a problem (the usual block)."""
    import polars as pl

    c = pl.col
    raw = c("text").str.slice(0, RAW_CUT)
    flags = df.select(*[cond.fill_null(False).alias(f"p{i}") for i, (cond, _reason) in enumerate(checks)])
    if not flags.select(pl.any_horizontal(pl.all()).any()).item():
        return pl.DataFrame(schema={"line": pl.Int64, "reason": pl.String, "raw": pl.String, "file": pl.String})
    frames = [df.filter(cond).select(c("line"), reason.alias("reason"), raw.alias("raw"))
              for i, (cond, reason) in enumerate(checks) if flags[f"p{i}"].any()]
    return pl.concat(frames).with_columns(pl.lit(file).alias("file"))


# ---------------------------------------------------------------- parsing blocks in order

# Threads, by default: polars and numpy release the GIL while they work, and most of a
# block's parse is single-threaded polars string passes, so two blocks parsed at once use
# both cores without a process's start-up, IPC copies or memory. At most THREADS blocks are
# parsed at once (one per thread), plus READ_AHEAD queued, which bounds the bytes held.
THREADS = 2
READ_AHEAD = 2  # blocks read and queued beyond one per thread: a thread that finishes finds
# its next block ready instead of idling while the main thread stores a result and reads on
# (measured: each thread idled 22-28% of a 5M-line load with no read-ahead).
IN_FLIGHT = 2  # blocks queued per worker process beyond the one it parses
_threads = None


def _thread_pool():
    global _threads
    if _threads is None:
        from concurrent.futures import ThreadPoolExecutor

        _threads = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="analysis_kit_blocks")
    return _threads


def parse_blocks(blocks: Iterable[tuple[bytes, int]], parse: Callable[[bytes, int], Any], *,
                 pool=None, remote: Callable | None = None,
                 receive: Callable | None = None) -> Iterator[Any]:
    """``parse(block, first_line)`` of each of ``blocks``, in order: on THREADS threads, or,
    with a process ``pool`` (see :func:`process_pool`), ``receive(remote(block, first_line))``
    where ``remote`` (picklable: a module-level function or a partial of one) returns polars
    frames, which travel back as Arrow IPC. On an error or a strict stop, blocks queued are
    not parsed."""
    if pool is None and THREADS < 2:
        for block, first_line in blocks:
            yield parse(block, first_line)
        return
    if pool is None:
        pool, limit = _thread_pool(), THREADS + READ_AHEAD

        def submit(block, first_line):
            return pool.submit(parse, block, first_line)

        def result(future):
            return future.result()
    else:
        limit = pool._max_workers * IN_FLIGHT

        def submit(block, first_line):
            return pool.submit(_as_ipc, remote, block, first_line)

        def result(future):
            return receive(_from_ipc(future.result()))
    queued: collections.deque = collections.deque()
    try:
        for block, first_line in blocks:
            queued.append(submit(block, first_line))
            del block
            while len(queued) >= limit:
                yield result(queued.popleft())
        while queued:
            yield result(queued.popleft())
    finally:
        for future in queued:
            future.cancel()


def check_options(path: Path, chunksize: Any, workers: Any) -> None:
    """LoadError unless ``chunksize`` (lines per block) is None or a positive integer and
    ``workers`` (processes) a positive integer."""
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise LoadError(f"workers must be a positive integer, not {workers!r}", file=str(path))
    if chunksize is not None and (not isinstance(chunksize, int) or chunksize < 1):
        raise LoadError(f"chunksize must be a positive integer, not {chunksize!r}", file=str(path))


def read_files(files: list[Path], columns: "Columns", problems: Problems, *, parse: Callable,
               remote: Callable, receive: Callable, chunksize: int | None = None, workers: int = 1,
               block_bytes: int = BLOCK_BYTES, name_files: bool = False,
               empty: str = "no lines of this format in file", label: str = "logs") -> list:
    """Parse every file's blocks into ``columns``; return the blocks' problem frames (with
    ``problems.strict``, a block's first problem raises). Per block, in this process
    ``parse(block, first_line, file, categories, learned)`` (``learned``: a list the blocks
    of one file share, e.g. the line shapes they learned) gives (``block_columns`` dict or
    None, problems frame); with ``workers`` > 1, ``remote(block, first_line, file)`` gives
    polars frames in a worker process and ``receive(frames, categories)`` turns them into
    the same. A file that cannot be read, or that gives no rows (``empty``), is a problem;
    ``name_files``: a ``file`` column names each row's file (a directory); ``label``: the
    progress bar's (shown for two files or more)."""
    from tqdm.auto import tqdm

    pool = process_pool(files, workers, chunksize=chunksize, preload=remote.__module__, block_bytes=block_bytes)
    frames: list = []
    try:
        with allocator_kept((total_bytes(files) or 0) >= 2 * block_bytes):
            for file in tqdm(files, desc=label, unit="file", disable=len(files) < 2, leave=False):
                name, before = str(file), columns.n
                blocks = parse_blocks(line_blocks(file, chunksize, block_bytes),
                                      partial(parse, file=name, categories=columns.categories, learned=[]),
                                      pool=pool, remote=partial(remote, file=name),
                                      receive=partial(receive, categories=columns.categories))
                try:
                    for block, block_problems in blocks:
                        _keep_problems(block_problems, problems, frames)
                        if block is not None:
                            columns.add(block, name if name_files else None)
                except OSError as exc:
                    problems.add(name, None, f"cannot read file: {exc}")
                    continue
                if columns.n == before:
                    problems.add(name, None, empty)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return frames


def _keep_problems(frame, problems: Problems, frames: list) -> None:
    """Keep a block's problem frame; with strict, its first problem (by line) raises."""
    if len(frame):
        if problems.strict:
            first = frame.sort("line").row(0, named=True)
            problems.add(first["file"], first["line"], first["reason"], first["raw"])
        frames.append(frame)


def problem_table(problems: Problems, frames: list) -> pd.DataFrame:
    """The load's problems: ``problems``' rows and the blocks' problem frames, by file and
    line (rows without a line first)."""
    import polars as pl

    rows = pd.DataFrame(problems.rows, columns=["file", "line", "reason", "raw"])
    if frames:
        parsed = to_pandas(pl.concat(frames, how="diagonal_relaxed").select("file", "line", "reason", "raw"))
        rows = pd.concat([rows, parsed], ignore_index=True) if len(rows) else parsed
        rows = rows.sort_values(["file", "line"], kind="stable", na_position="first")
    return conform(rows, "problems")


# Blocks are independent (whole lines, their first line number known), so they can be parsed
# in other processes: polars runs most per-line passes of one block on a single core, so two
# processes use two cores where one left half of them idle. Opt-in: on a shared 2-core
# machine it measured no steadier gain than the noise (polars already uses both cores for
# part of each block; benchmarks/README.md), and "forkserver" re-imports a script's
# __main__ in each worker.
def process_pool(files: list[Path], workers: int, *, chunksize: int | None, preload: str,
                 block_bytes: int = BLOCK_BYTES):
    """A process pool when it pays: whole blocks (no ``chunksize``), at least two of them,
    more than one worker (small loads do not pay the pool's start-up). None: parse in this
    process. ``preload``: the module holding the ``remote`` function."""
    import os

    if chunksize is not None or not workers or workers == 1:
        return None
    n = min(workers, os.cpu_count() or 1)
    total = total_bytes(files)
    if n < 2 or total is None or total < 2 * block_bytes:
        return None
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # "forkserver", not "fork": forking a process whose polars thread pool is running can
    # deadlock the child. The server imports polars once; workers fork from it.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["polars", preload])
    return ProcessPoolExecutor(max_workers=n, mp_context=ctx)


def _as_ipc(parse: Callable, block: bytes, first_line: int) -> list[bytes]:
    """``parse`` in a worker process: its frames as Arrow IPC bytes (categoricals as text:
    the worker's categories are not the load's)."""
    import io

    import polars as pl

    out = []
    for frame in parse(block, first_line):
        frame = frame.with_columns(pl.col(pl.Categorical).cast(pl.String))
        buf = io.BytesIO()
        frame.write_ipc(buf)
        out.append(buf.getvalue())
    return out


def _from_ipc(parts: list[bytes]) -> tuple:
    import polars as pl

    return tuple(pl.read_ipc(part) for part in parts)


def total_bytes(files: Iterable[Path]) -> int | None:
    """The files' size together, None when one cannot be read."""
    try:
        return sum(Path(f).stat().st_size for f in files)
    except OSError:
        return None


# ---------------------------------------------------------------- glibc during a big load

# glibc malloc, by default, maps every allocation above a threshold (at most 32 MB) afresh
# and unmaps it when freed, and hands the top of its heap back to the system: parsing block
# after block (each read, each numpy temporary) then faults in fresh pages again and again,
# and in a process with threads each unmap costs a TLB shootdown on every core. Measured on
# the 5M-line profile log: 746k page faults and 3.7 s of system time in the parse; with
# larger thresholds for the load, 292k faults and 2.0 s (benchmarks/README.md). Only glibc is
# tuned (mallopt is process-wide, so for big loads only); afterwards the thresholds are set to
# the values glibc's own dynamic tuning reaches in a data-heavy process (32 MB, trim at 64 MB).
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


class allocator_kept:
    """Context: glibc keeps and reuses freed memory while a ``big`` load runs (see above);
    a small one leaves malloc alone."""

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


# ---------------------------------------------------------------- columns that grow in place

# Rows reserved up front at most (128 MB of address space per 8-byte column): a bigger file's
# arrays grow as they fill, so a strict-overcommit system is not asked for gigabytes at once.
MAX_CAPACITY = 16_000_000
NAT = np.iinfo(np.int64).min  # NaT as int64 nanoseconds


def capacity(files: Iterable[Path], row_bytes: int) -> int:
    """Rows to reserve for files of this size when a row takes at least ``row_bytes``."""
    total = total_bytes(files)
    return 0 if total is None else min(total // row_bytes, MAX_CAPACITY)


class Growing:
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


class GrowingText:
    """A large_string column filled block by block: the blocks' bytes, offsets and validity
    copied into growing arrays, wrapped as one Arrow array at the end (no concatenation of
    the blocks' arrays, which cost a copy of the whole column)."""

    def __init__(self, capacity: int):
        self.offsets = Growing(np.int64, capacity + 1)
        self.offsets.append(np.zeros(1, dtype=np.int64))
        self.data = Growing(np.uint8, capacity * 8)
        self.valid = Growing(np.bool_, capacity)

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


def block_columns(frame, categories: dict, dense: tuple[str, ...] = ()) -> dict:
    """A parsed block (polars frame) as numpy arrays, made in the parsing thread so the main
    thread only copies arrays into place: ``{"rows": n, "columns": {name: array}, "present":
    {name: codes}, "times": [names]}``. A column of ``categories`` is int32 codes into the
    load's categories (-1: NA), with the codes ``present``; a datetime int64 nanoseconds (NAT:
    NA), named in ``times``; a string an Arrow array; an integer or boolean its values plus a
    ``<name>.na`` mask, unless ``dense`` (never NA); a float as is (NA: NaN). A format may add
    its own entries (e.g. partial aggregates) beside these."""
    import polars as pl

    out: dict = {"rows": frame.height, "columns": {}, "present": {}, "times": []}
    arrays = out["columns"]
    for name, dtype in frame.schema.items():
        column = frame[name]
        if name in categories:
            codes = column.to_physical()
            if codes.null_count():
                codes = codes.cast(pl.Int32).fill_null(-1).to_numpy()
            else:  # the usual column: the codes as they are
                codes = codes.to_numpy().astype(np.int32, copy=False)
            arrays[name] = codes
            out["present"][name] = np.flatnonzero(np.bincount(codes[codes >= 0] if len(codes) else codes)).tolist()
        elif dtype == pl.Datetime:
            arrays[name] = column.dt.cast_time_unit("ns").to_physical().fill_null(NAT).to_numpy()
            out["times"].append(name)
        elif dtype == pl.String:
            arrays[name] = column.to_arrow(compat_level=pl.CompatLevel.oldest())
        elif (dtype.is_integer() or dtype == pl.Boolean) and name not in dense:
            arrays[name] = column.fill_null(False if dtype == pl.Boolean else 0).to_numpy()
            arrays[name + ".na"] = column.is_null().to_numpy()
        else:
            arrays[name] = column.to_numpy()
    return out


def categories(names: Iterable[str]) -> tuple[dict, list]:
    """One polars ``Categories`` per categorical column, for one load: every block's codes
    index the same strings, so blocks join by their codes, without re-encoding at the end.
    Also an empty Series of each: polars frees a Categories' strings (and would number them
    afresh) once no column uses it, so these keep them for the whole load."""
    import polars as pl

    cats = {k: pl.Categories.random() for k in names}
    return cats, [pl.Series([], dtype=pl.Categorical(c)) for c in cats.values()]


class Columns:
    """Every block's columns (``block_columns``) copied into final arrays as the blocks arrive
    in order, so a load holds one copy of its rows, not the blocks plus a concatenation.
    ``categorical``: columns held as codes into the load's ``categories``; ``text``: string
    columns with a value on most rows (room reserved for every row), ``sparse_text``: string
    columns mostly NA (they start small and grow)."""

    def __init__(self, capacity: int, categorical: tuple[str, ...], text: tuple[str, ...] = (),
                 sparse_text: tuple[str, ...] = ()):
        self.categories, self._anchors = categories(categorical)
        self.capacity = max(1024, capacity)
        self.arrays: dict[str, Growing] = {}
        self.text = {k: GrowingText(self.capacity if k in text else 1024) for k in sparse_text + text}
        self.present: dict[str, set] = {k: set() for k in self.categories}  # codes in use
        self.files: list[str] = []
        self.times: set[str] = set()  # int64 columns that are UTC nanoseconds
        self.n = 0

    def _append(self, name: str, values) -> None:
        if name not in self.arrays:
            self.arrays[name] = Growing(values.dtype, self.capacity)
        self.arrays[name].append(values)

    def add(self, block: dict, file: str | None = None) -> None:
        """Append one block's columns (string columns must be named ``text`` or ``sparse_text``);
        ``file``: name a ``file`` categorical column after it (rows from a directory's files)."""
        for name, values in block["columns"].items():
            if isinstance(values, np.ndarray):
                self._append(name, values)
            else:
                self.text[name].append(values)
        for k, codes in block["present"].items():
            self.present[k].update(codes)
        self.times.update(block["times"])
        if file is not None:
            if not self.files or self.files[-1] != file:
                self.files.append(file)
            self.present.setdefault("file", set()).add(len(self.files) - 1)
            self._append("file", np.full(block["rows"], len(self.files) - 1, dtype=np.int32))
        self.n += block["rows"]

    def take(self, name: str) -> np.ndarray:
        """The filled array of column ``name``, no longer held here."""
        return self.arrays.pop(name).finish()

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

    def frame(self, names: Iterable[str]) -> pd.DataFrame:
        """Columns ``names`` (and ``file`` when filled) as pandas columns over the filled
        arrays, no further copy: categoricals, UTC datetimes, nullable integers and
        booleans, Arrow-backed strings."""
        import pyarrow as pa

        columns: dict = {}
        for name in [*names, *(["file"] if "file" in self.arrays else [])]:
            if name in self.text:
                columns[name] = pd.arrays.ArrowStringArray(pa.chunked_array([self.text.pop(name).finish()]))
                continue
            values = self.take(name)
            if name in self.present:
                columns[name] = self._categorical(name, values)
            elif name in self.times:
                columns[name] = utc(values)
            elif name + ".na" in self.arrays:
                masked = pd.arrays.BooleanArray if values.dtype == np.bool_ else pd.arrays.IntegerArray
                columns[name] = masked(values, self.take(name + ".na"))
            elif values.dtype.kind in "iu":
                columns[name] = pd.arrays.IntegerArray(values, np.zeros(len(values), dtype=bool))
            else:
                columns[name] = values
        return pd.DataFrame(columns, copy=False)


def repeated(values: np.ndarray) -> int:
    """Values in a group of equal values (n each), e.g. of the lines' hashes: lines written twice.

    >>> repeated(np.array([3, 1, 3, 2, 3]))
    3
    """
    import polars as pl

    values = pl.Series(values)
    if values.n_unique() == len(values):  # the usual case, and 7x cheaper to know
        return 0
    return int(values.is_duplicated().sum())


def utc(nanoseconds) -> pd.arrays.DatetimeArray:
    """int64 nanoseconds (NAT for NA) as a UTC datetime array over the same memory."""
    values = nanoseconds.view("M8[ns]")
    try:
        return pd.arrays.DatetimeArray._simple_new(values, dtype=pd.DatetimeTZDtype("ns", "UTC"))
    except (AttributeError, TypeError):  # a pandas without the private constructor: one copy
        return pd.array(values).tz_localize("UTC")


def to_pandas(frame) -> pd.DataFrame:
    """A small polars frame -> pandas with nullable types and Arrow-backed strings (no
    Python objects)."""
    import polars as pl
    import pyarrow as pa

    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    mapping = {pa.large_string(): pd.StringDtype("pyarrow"), pa.string(): pd.StringDtype("pyarrow"),
               pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    return table.to_pandas(types_mapper=mapping.get)
