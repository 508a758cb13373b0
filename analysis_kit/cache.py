"""Cache of parsed runs (Arrow IPC files), keyed by path, size and mtime.

A second load of the same unchanged file reads the tables back instead of parsing again.
The tables are stored uncompressed in the Arrow IPC file format and read memory-mapped:
numbers, strings and categoricals (dictionary-encoded) map straight into pandas without
decoding, so a warm load costs a fraction of a Parquet read, for about the size of the log
on disk. The issue asked for Parquet; measured on 4.25M events (2026-11-23, load ~2.6):
IPC read 0.41-0.48 s, Parquet read (dictionary columns read back as categoricals,
pre_buffer, threads) 1.1-2.9 s uncompressed and 1.1-1.9 s lz4, against a 1.3 s baseline
whose budget is 1x: Parquet would miss the warm budget (see benchmarks/README.md).
Re-measured on the leaner table of the second session (417 MB as IPC): Parquet write
2.0-2.1 s (IPC 0.5-0.7 s), read + to_pandas 0.66-2.3 s uncompressed, lz4 or snappy (IPC
0.16-0.20 s), against a ~0.8 s baseline.
Standard columns that are all NA are not written (``Run`` restores them), and a big table
is written through a memory map by two threads (see ``_write_mapped``).
The cache lives in ``$ANALYSIS_KIT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/analysis_kit`` or
``~/.cache/analysis_kit``); set ``ANALYSIS_KIT_CACHE_DIR=off`` to disable it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from .model import TABLES, Run

CACHE_VERSION = "3"  # 2: Arrow IPC instead of Parquet; 3: keys made by analysis_kit.loading


def cache_dir() -> Path | None:
    env = os.environ.get("ANALYSIS_KIT_CACHE_DIR")
    if env and env.lower() == "off":
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "analysis_kit"


def path_stamp(path: Path) -> list:
    """What identifies the contents of ``path`` without reading it: its resolved name, size
    and mtime; for a folder, those of every file under it."""
    path = Path(path)
    if path.is_file():
        st = path.stat()
        return [str(path.resolve()), st.st_size, st.st_mtime_ns]
    entries = []
    for root, _dirs, files in os.walk(path):
        for name in sorted(files):
            f = Path(root) / name
            try:
                st = f.stat()
            except OSError:
                continue
            entries.append([str(f.relative_to(path)), st.st_size, st.st_mtime_ns])
    return [str(path.resolve()), sorted(entries)]


def file_stamp(file: Path, relative_to: Path | None = None) -> list:
    """[name, size, mtime] of one file (None, None when it cannot be read)."""
    name = str(file.relative_to(relative_to)) if relative_to else file.name
    try:
        st = file.stat()
        return [name, st.st_size, st.st_mtime_ns]
    except OSError:
        return [name, None, None]


def make_key(parts: list) -> str:
    """A cache key from anything JSON can write (with the cache's and the kit's versions)."""
    from . import __version__

    blob = json.dumps([CACHE_VERSION, __version__, *parts], default=str, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _restorable_na_columns(frame: pd.DataFrame, table: str) -> list[str]:
    """Standard columns that are all NA with the dtype ``conform`` gives a missing column:
    not written, as ``Run`` restores them on read (e.g. trial, round, cached_tokens and
    cost_usd of a profile log: 140 MB of nothing at 4M events, and writing costs time)."""
    from .model import SCHEMA, _na_array

    out = []
    for col, kind in SCHEMA[table]:
        if col == "run_id" or col not in frame.columns:
            continue
        series = frame[col]
        if series.dtype == _na_array(kind, 0).dtype and not series.notna().any():
            out.append(col)
    return out


def _write(frame: pd.DataFrame, file: Path, table_name: str | None = None) -> None:
    import pyarrow as pa

    if table_name is not None and len(frame):
        frame = frame.drop(columns=_restorable_na_columns(frame, table_name))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if table.nbytes >= PARALLEL_WRITE_BYTES:
        try:
            _write_mapped(table, file)
            return
        except (OSError, ValueError, AttributeError, BufferError):  # no fallocate here, ...
            pass
    with pa.OSFile(str(file), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


# A big table is written through a memory map of its file by two copying threads. Writing
# hundreds of MB costs mostly the system's first touch of fresh page-cache pages (1.2 s for
# the 417 MB events of a 5M-line profile log, one thread); two threads share that: 0.5 s.
# The file's blocks are reserved first (posix_fallocate), so a full disk is an OSError here
# (then no cache), never a SIGBUS from a page of the map.
PARALLEL_WRITE_BYTES = 64 << 20
WRITE_THREADS = 2


def _ipc_size(table) -> int:
    import pyarrow as pa

    sink = pa.MockOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.size()


def _write_into(table, mapped) -> None:
    import pyarrow as pa

    sink = pa.FixedSizeBufferWriter(pa.py_buffer(mapped))
    sink.set_memcopy_threads(WRITE_THREADS)
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    sink.close()


def _write_mapped(table, file: Path) -> None:
    import mmap

    size = _ipc_size(table)
    fd = os.open(file, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.posix_fallocate(fd, 0, size)
        mapped = mmap.mmap(fd, size)
        try:
            _write_into(table, mapped)  # returns with no view of the map left
        finally:
            mapped.close()
    finally:
        os.close(fd)


def _read(file: Path) -> pd.DataFrame:
    """The table, memory-mapped (the pandas metadata restores the dtypes: categoricals,
    nullable integers, strings)."""
    import pyarrow as pa

    with pa.memory_map(str(file)) as source:
        table = pa.ipc.open_file(source).read_all()
    return table.to_pandas()


def get(key: str) -> Run | None:
    """The run cached under ``key`` (see ``make_key``), or None."""
    base = cache_dir()
    if base is None:
        return None
    entry = base / key
    meta_file = entry / "meta.json"
    if not meta_file.exists():
        return None
    try:
        meta = json.loads(meta_file.read_text())
        tables = {t: _read(entry / f"{t}.arrow") for t in TABLES}
    except Exception:  # a damaged cache entry is just a miss
        return None
    return Run(meta=meta, **tables)


def put(key: str, run: Run) -> bool:
    """Cache ``run`` under ``key``; False when it cannot be (no cache, a read-only disk)."""
    base = cache_dir()
    if base is None:
        return False
    entry = base / key
    try:
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=base, prefix=".tmp-"))
        for t in TABLES:
            _write(getattr(run, t), tmp / f"{t}.arrow", t)
        (tmp / "meta.json").write_text(json.dumps(run.meta, default=str))
        if entry.exists():
            shutil.rmtree(entry, ignore_errors=True)
        os.replace(tmp, entry)
        return True
    except Exception:  # columns Arrow cannot hold, a read-only disk: no cache, no failure
        shutil.rmtree(tmp, ignore_errors=True) if "tmp" in locals() else None
        return False


def clear() -> None:
    base = cache_dir()
    if base is not None and base.exists():
        shutil.rmtree(base)
