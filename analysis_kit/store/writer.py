"""Ingest runs into a store: load each path (on a process pool), write batches as segments.

A path already stored with the same fingerprint (size and mtime of its file, or of every
file of a folder) is skipped; a changed one is loaded again and replaces the old version
(its old segment is rewritten without it, in the same manifest swap that adds the new one).
A path that cannot be loaded is stored too, as a run with ``load_error`` set and one row in
``problems``, so it is not retried until it changes; a loader's own problems rows are kept.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..analyses.cost import billing_columns
from ..exceptions import LoadError
from ..model import TABLES
from . import layout
from .layout import (RUN_COLUMNS, RUNS, SEGMENTS, TMP, Manifest, Segment, StoreError, arrow_table,
                     concat, create_or_open, kit_version, new_segment_name, now_iso, remove_unlisted,
                     write_manifest, write_table, writer_lock)

BATCH_BYTES = 128 * 1024 * 1024  # Arrow bytes buffered before a segment is written (parent peak ~2-3x)
BATCH_RUNS = 2000
WINDOW_PER_WORKER = 4  # loads in flight per worker: bounds memory when writing lags


@dataclass
class IngestResult:
    """What :func:`ingest` did, path by path.

    >>> IngestResult("s").counts()
    {'added': 0, 'replaced': 0, 'skipped': 0, 'failed': 0}
    """

    store: str
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, error)
    runs_written: int = 0
    segments_written: int = 0
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "replaced": len(self.replaced),
                "skipped": len(self.skipped), "failed": len(self.failed)}

    def __str__(self) -> str:
        c = self.counts()
        return (f"{self.store}: {c['added']} added, {c['replaced']} replaced, {c['skipped']} "
                f"unchanged, {c['failed']} failed to load ({self.runs_written} runs in "
                f"{self.segments_written} new segments, {self.seconds:.1f} s)")


# ----------------------------------------------------------------------------- fingerprints

def fingerprint(path: Path) -> tuple[int, int, str]:
    """(bytes, newest mtime in ns, fingerprint): a file's size and mtime; a folder's
    over every file in it (names, sizes, mtimes), so any change to any file shows.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.json"; _ = f.write_text("{}")
    >>> fingerprint(f)[0]
    2
    """
    from ..cache import path_stamp

    stamp = path_stamp(path)
    if not path.is_dir():
        return stamp[1], stamp[2], f"file:{stamp[1]}:{stamp[2]}"
    entries = stamp[1]  # [[relative name, size, mtime], ...] sorted, as the parse cache keys a folder
    total = sum(size for _, size, _ in entries)
    newest = max([path.stat().st_mtime_ns] + [mtime for _, _, mtime in entries])
    digest = hashlib.sha1(json.dumps(entries).encode()).hexdigest()
    return total, newest, f"dir:{len(entries)}:{digest}"


# ----------------------------------------------------------------------------- loading

@dataclass
class Loaded:
    """One path's runs as Arrow tables (run_id = the loader's ids), or why it failed."""

    path: str
    metas: list[dict]
    tables: dict[str, pa.Table]
    error: str | None = None
    error_line: int | None = None


def load_path(path: str, format: str | None, strict: bool, options: dict) -> Loaded:
    """Load ``path`` and convert its tables (runs in a worker process)."""
    from .. import load

    try:
        run = load(path, format=format, strict=strict, cache=False, **options)
    except LoadError as exc:
        if strict:
            raise
        return Loaded(path, [], {}, error=str(exc), error_line=exc.line)
    metas = [dict(m) for m in (run.meta.get("runs") or [run.meta])]
    for meta in metas:
        meta.setdefault("source_format", run.meta.get("source_format"))
    tables = {t: getattr(run, t) for t in TABLES}
    tables["events"] = tables["events"].assign(**billing_columns(tables["events"]))  # what cost queries sum
    return Loaded(path, metas, {t: arrow_table(frame, t) for t, frame in tables.items()})


def _pool_context():
    methods = multiprocessing.get_all_start_methods()
    # Not fork: the parent may hold DuckDB, polars or tqdm threads, which fork can deadlock.
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _loaded(paths: list[str], workers: int, args: tuple) -> Iterator[Loaded]:
    """Each path's Loaded, in the order given; at most a few loads per worker in flight."""
    if workers <= 1 or len(paths) <= 1:
        for p in paths:
            yield load_path(p, *args)
        return
    pool = ProcessPoolExecutor(workers, mp_context=_pool_context())
    try:
        todo = iter(paths)
        pending: deque = deque()
        for p in todo:
            pending.append(pool.submit(load_path, p, *args))
            if len(pending) >= workers * WINDOW_PER_WORKER:
                break
        while pending:
            result = pending.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.submit(load_path, nxt, *args))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ----------------------------------------------------------------------------- runs rows

def _time(value: Any) -> pd.Timestamp | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return None
    if ts is pd.NaT:
        return None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _int(value: Any) -> int | None:
    try:
        return None if value is None or pd.isna(value) else int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return None if value is None or pd.isna(value) else float(value)
    except (TypeError, ValueError):
        return None


def run_model(meta: dict) -> str | None:
    """The model a run is ranked under: meta ``agent_model`` or ``model``, else its models
    joined by ", " (several models, e.g. a profile log of agent, user and judge).

    >>> run_model({"models": ["b", "a"]}), run_model({"agent_model": "x", "models": ["x", "y"]})
    ('b, a', 'x')
    """
    for key in ("agent_model", "model"):
        if isinstance(meta.get(key), str) and meta[key]:
            return meta[key]
    models = [str(m) for m in (meta.get("models") or []) if m is not None]
    return ", ".join(models) if models else None


def run_row(meta: dict, *, run_id: str, seq: int, path: str, size: int, mtime_ns: int,
            fp: str, error: str | None = None) -> dict:
    """The runs-table row of one run (see layout.RUN_COLUMNS)."""
    meta = dict(meta)
    source_id = str(meta.get("run_id"))
    meta["run_id"] = run_id
    models = meta.get("models")
    return {
        "run_id": run_id, "source_run_id": source_id, "seq": seq, "path": path,
        "source_path": str(meta.get("path") or path), "size": size, "mtime_ns": mtime_ns,
        "fingerprint": fp, "source_format": meta.get("source_format"),
        "benchmark": meta.get("benchmark"), "domain": meta.get("domain"),
        "run_model": run_model(meta),
        "models": json.dumps(list(models), default=str) if isinstance(models, (list, tuple)) else None,
        "started": _time(meta.get("started")), "ended": _time(meta.get("ended")),
        "duration_s": _float(meta.get("duration_s")),
        "tasks_total": _int(meta.get("tasks_total")), "tasks_passed": _int(meta.get("tasks_passed")),
        "tasks_partial": bool(meta["tasks_partial"]) if meta.get("tasks_partial") is not None else None,
        "load_error": error, "ingested_at": pd.Timestamp.now(tz="UTC"), "kit_version": kit_version(),
        "meta_json": json.dumps(meta, default=str, ensure_ascii=False),
    }


def _runs_table(rows: list[dict]) -> pa.Table:
    frame = pd.DataFrame(rows, columns=[c for c, _ in RUN_COLUMNS])
    for col, kind in RUN_COLUMNS:
        if kind == "time":
            frame[col] = pd.to_datetime(frame[col], utc=True)
        elif kind == "int":
            frame[col] = frame[col].astype("Int64")
        elif kind == "bool":
            frame[col] = frame[col].astype("boolean")
    return arrow_table(frame, RUNS)


def _with_run_ids(table: pa.Table, mapping: dict[str, str]) -> pa.Table:
    """``table`` with its loader run ids replaced by store run ids."""
    changed = {k: v for k, v in mapping.items() if k != v}
    if not changed or table.num_rows == 0:
        return table
    i = table.schema.get_field_index("run_id")
    column = table.column(i)
    if len(mapping) == 1:
        new = pa.array([next(iter(mapping.values()))] * table.num_rows, type=pa.string())
    else:
        keys = pa.array(list(mapping), type=pa.string())
        index = pc.index_in(column, value_set=keys)
        new = pc.coalesce(pa.array(list(mapping.values()), type=pa.string()).take(index), column)
    return table.set_column(i, "run_id", new)


# ----------------------------------------------------------------------------- writing

def read_index(root: Path, manifest: Manifest) -> pd.DataFrame:
    """run_id, source_run_id, path, fingerprint, segment of every stored run."""
    columns = ["run_id", "source_run_id", "path", "fingerprint", "load_error"]
    frames = []
    for seg in manifest.segments:
        table = pq.read_table(root / SEGMENTS / seg.name / f"{RUNS}.parquet", columns=columns)
        frames.append(table.to_pandas().assign(segment=seg.name))
    if not frames:
        return pd.DataFrame(columns=columns + ["segment"])
    return pd.concat(frames, ignore_index=True)


def write_segment(root: Path, manifest: Manifest, tables: dict[str, pa.Table]) -> Segment:
    """Write a segment's files into ``tmp/`` (invisible until renamed and listed)."""
    name = new_segment_name(manifest.next_seq)
    tmp = root / TMP / name
    tmp.mkdir(parents=True)
    size = sum(write_table(table, tmp / f"{t}.parquet") for t, table in tables.items())
    return Segment(name, tables[RUNS].num_rows, {t: tables[t].num_rows for t in TABLES}, size, now_iso(),
                   {t: table.column_names for t, table in tables.items()})


class SegmentWriter:
    """Buffers loaded runs and commits them as a segment (with the rewrites of the segments
    holding the versions they replace) in one manifest swap."""

    def __init__(self, root: Path, manifest: Manifest, index: pd.DataFrame, *,
                 batch_bytes: int = BATCH_BYTES, batch_runs: int = BATCH_RUNS):
        self.root, self.manifest, self.index = root, manifest, index
        self.batch_bytes, self.batch_runs = batch_bytes, batch_runs
        self.taken = set(index["run_id"].astype(str))
        self.by_path = {p: g for p, g in index.groupby("path", sort=False)}
        self._reset()
        self.runs_written = self.segments_written = 0

    def _reset(self) -> None:
        self.rows: list[dict] = []
        self.tables: dict[str, list[pa.Table]] = {t: [] for t in TABLES}
        self.replacing: dict[str, list[str]] = {}  # segment -> run ids to drop from it
        self.paths: list[str] = []
        self.bytes = 0

    def _unique(self, wanted: str, reusable: dict[str, str]) -> str:
        if wanted in reusable:
            return reusable[wanted]
        run_id, n = wanted, 1
        while run_id in self.taken:
            n += 1
            run_id = f"{wanted}#{n}"
        self.taken.add(run_id)
        return run_id

    def add(self, loaded: Loaded, size: int, mtime_ns: int, fp: str) -> None:
        old = self.by_path.get(loaded.path)
        reusable: dict[str, str] = {}
        if old is not None:  # a changed path: its old runs go, their ids are its to reuse
            reusable = dict(zip(old["source_run_id"].astype(str), old["run_id"].astype(str)))
            for seg, ids in old.groupby("segment")["run_id"]:
                self.replacing.setdefault(seg, []).extend(ids.astype(str))
        metas = loaded.metas or [{"run_id": Path(loaded.path).stem or loaded.path}]
        mapping = {}
        for meta in metas:
            source_id = str(meta.get("run_id"))
            run_id = self._unique(source_id, reusable)
            mapping[source_id] = run_id
            self.rows.append(run_row(meta, run_id=run_id, seq=self.manifest.next_seq, path=loaded.path,
                                     size=size, mtime_ns=mtime_ns, fp=fp, error=loaded.error))
            self.manifest.next_seq += 1
            self.runs_written += loaded.error is None
        for t in TABLES:
            table = loaded.tables.get(t)
            if table is not None:
                table = _with_run_ids(table, mapping)
                self.tables[t].append(table)
                self.bytes += table.nbytes
        if loaded.error is not None:
            run_id = next(iter(mapping.values()))
            self.tables["problems"].append(arrow_table(pd.DataFrame({
                "run_id": [run_id], "file": [loaded.path], "line": [loaded.error_line],
                "reason": [f"not loaded: {loaded.error}"], "raw": [""]}), "problems"))
        self.paths.append(loaded.path)
        if self.bytes >= self.batch_bytes or len(self.rows) >= self.batch_runs:
            self.commit()

    def _without(self, segment: str, run_ids: list[str]) -> Segment | None:
        """A copy of ``segment`` without ``run_ids`` (None when nothing is left)."""
        drop = pa.array(sorted(set(run_ids)), type=pa.string())
        tables = {}
        for t in (RUNS,) + TABLES:
            table = pq.read_table(self.root / SEGMENTS / segment / f"{t}.parquet")
            tables[t] = table.filter(pc.invert(pc.fill_null(pc.is_in(table["run_id"], value_set=drop), False)))
        if tables[RUNS].num_rows == 0:
            return None
        return write_segment(self.root, self.manifest, tables)

    def commit(self) -> None:
        """Write the buffered runs as a segment and make it (and the rewrites) visible."""
        if not self.rows:
            return
        tables = {RUNS: _runs_table(self.rows)}
        for t in TABLES:
            parts = self.tables[t]
            tables[t] = concat(parts) if parts else arrow_table(pd.DataFrame(), t)
        new = [write_segment(self.root, self.manifest, tables)]
        rewritten = {seg: self._without(seg, ids) for seg, ids in self.replacing.items()}
        new += [s for s in rewritten.values() if s is not None]
        for seg in new:
            os.replace(self.root / TMP / seg.name, self.root / SEGMENTS / seg.name)
        layout._fsync_dir(self.root / SEGMENTS)
        self.manifest.segments = [s for s in self.manifest.segments if s.name not in rewritten] + new
        write_manifest(self.root, self.manifest)  # the moment the batch becomes visible
        self._update_index(new[0].name, rewritten)
        self.segments_written += len(new)
        self._reset()

    def _update_index(self, segment: str, rewritten: dict[str, Segment | None]) -> None:
        gone = set(self.paths)
        index = self.index[~self.index["path"].isin(gone)].copy()
        moved = {old: new.name for old, new in rewritten.items() if new is not None}
        index["segment"] = index["segment"].replace(moved)
        added = pd.DataFrame([{k: r[k] for k in ("run_id", "source_run_id", "path", "fingerprint",
                                                 "load_error")} for r in self.rows]).assign(segment=segment)
        self.index = pd.concat([index, added], ignore_index=True)
        self.by_path = {p: g for p, g in self.index.groupby("path", sort=False)}


def ingest(paths: Iterable[str | os.PathLike], store: str | os.PathLike, *, format: str | None = None,
           strict: bool = False, workers: int | None = None, progress: bool | None = None,
           batch_bytes: int = BATCH_BYTES, batch_runs: int = BATCH_RUNS, **options: Any) -> IngestResult:
    """Load each of ``paths`` (a run file or folder, as :func:`analysis_kit.load` takes it)
    into the run store at ``store`` (a folder, created if missing).

    A path stored before with the same size and mtime is skipped, a changed one replaced.
    Runs are parsed on ``workers`` processes (default: the cores, at most 8) and written in
    segments of at most ``batch_bytes`` of tables / ``batch_runs`` runs; each segment becomes
    visible whole, so an interrupted ingest leaves no half-written run. With ``strict`` the
    first unloadable path raises :class:`LoadError` (segments already written stay).

    >>> from analysis_kit.store import ingest                                 # doctest: +SKIP
    >>> print(ingest(["runs/a.json", "runs/b.json"], "store/"))               # doctest: +SKIP
    store/: 2 added, 0 replaced, 0 unchanged, 0 failed to load (2 runs in 1 new segments, 0.4 s)
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    if "://" in str(store):
        raise StoreError(f"{store}: ingest writes a local store; copy the folder to object storage "
                         "afterwards (open_store reads fsspec URLs)")
    root = Path(store)
    result = IngestResult(str(root))
    with writer_lock(root):
        manifest = create_or_open(root)
        remove_unlisted(root, manifest)  # leftovers of an interrupted ingest
        writer = SegmentWriter(root, manifest, read_index(root, manifest),
                               batch_bytes=batch_bytes, batch_runs=batch_runs)
        todo, seen = [], set()
        for p in paths:
            path = Path(p)
            if not path.exists():
                raise LoadError("no such file or directory", file=str(path))
            key = str(path.resolve())
            if key in seen:
                continue
            seen.add(key)
            size, mtime_ns, fp = fingerprint(path)
            old = writer.by_path.get(key)
            if old is not None and (old["fingerprint"] == fp).all():
                result.skipped.append(key)
                continue
            (result.replaced if old is not None else result.added).append(key)
            todo.append((key, size, mtime_ns, fp))
        n_workers = workers or min(os.cpu_count() or 1, 8)
        loads = _loaded([t[0] for t in todo], n_workers, (format, strict, options))
        bar = tqdm(total=len(todo), desc="ingesting runs", unit="run",
                   disable=None if progress is None else not progress)
        try:
            for (key, size, mtime_ns, fp), loaded in zip(todo, loads):
                if loaded.error is not None:  # stored as a failed run, counted as failed only
                    result.failed.append((key, loaded.error))
                    (result.replaced if key in result.replaced else result.added).remove(key)
                writer.add(loaded, size, mtime_ns, fp)
                bar.update(1)
            writer.commit()
        finally:
            bar.close()
            loads.close()
        remove_unlisted(root, writer.manifest)  # the segments replaced by rewrites
    result.runs_written, result.segments_written = writer.runs_written, writer.segments_written
    result.seconds = time.perf_counter() - started
    return result


def compact(store: str | os.PathLike, *, target_runs: int = BATCH_RUNS,
            target_bytes: int = BATCH_BYTES) -> int:
    """Merge small segments (many small ingests) into segments of about ``target_runs`` runs
    or ``target_bytes`` of files; returns how many segments were merged away. Queries open
    every segment's files, so a store of many small segments answers slower.

    >>> compact("store/")                                                     # doctest: +SKIP
    """
    root = Path(store)
    with writer_lock(root):
        manifest = read_manifest_for_write(root)
        small = [s for s in manifest.segments if s.runs < target_runs and s.bytes < target_bytes]
        if len(small) < 2:
            return 0
        merged, groups, group, runs, size = 0, [], [], 0, 0
        for seg in small:
            group.append(seg)
            runs, size = runs + seg.runs, size + seg.bytes
            if runs >= target_runs or size >= target_bytes:
                groups.append(group)
                group, runs, size = [], 0, 0
        if group:
            groups.append(group)
        for group in (g for g in groups if len(g) > 1):
            tables = {t: concat([pq.read_table(root / SEGMENTS / s.name / f"{t}.parquet") for s in group])
                      for t in (RUNS,) + TABLES}
            new = write_segment(root, manifest, tables)
            os.replace(root / TMP / new.name, root / SEGMENTS / new.name)
            names = {s.name for s in group}
            position = min(i for i, s in enumerate(manifest.segments) if s.name in names)
            kept = [s for s in manifest.segments if s.name not in names]
            manifest.segments = kept[:position] + [new] + kept[position:]
            write_manifest(root, manifest)
            merged += len(group) - 1
        remove_unlisted(root, manifest)
    return merged


def read_manifest_for_write(root: Path) -> Manifest:
    manifest = layout.read_manifest(root)
    remove_unlisted(root, manifest)
    return manifest
