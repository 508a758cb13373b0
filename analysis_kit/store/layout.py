"""The run store on disk: its manifest, its segments, and the Arrow form of a run's tables.

A store is a directory::

    DIR/manifest.json                      schema version + the list of live segments
    DIR/segments/<segment>/runs.parquet    one row per run (its meta), see RUN_COLUMNS
    DIR/segments/<segment>/<table>.parquet tasks, events, messages, failures, problems
    DIR/tmp/<segment>/                     a segment being written: invisible to readers
    DIR/.lock                              held by the one writer at a time

A segment holds the runs of one ingest batch (a few hundred runs, or one big run), each
run's rows together and tagged with its store ``run_id``. Readers read only the segments
the manifest lists, so a segment becomes visible when the manifest naming it replaces the
old one (``os.replace``, atomic): an interrupted ingest leaves at most a folder in ``tmp/``
or a segment no manifest names, which the next writer deletes. Segment files are never
changed in place; replacing a run rewrites its old segment without it, and the replaced
segment is deleted when that ingest ends (a query already running on it then may fail;
queries read the manifest afresh when they start).

Why segments rather than one folder per run: measured on 10,000 runs of a real tau2 file
(benchmarks/README.md), DuckDB spends 2.3-3.3 s per query just opening 10,000 sets of
small files, and 0.04-0.14 s on the same rows in 20 segments.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..exceptions import AnalysisKitError
from ..model import SCHEMA, TABLES, to_json_text

STORE_SCHEMA_VERSION = 2  # bump when the layout or a column's meaning changes
READABLE_VERSIONS = (2,)  # 2: events keep analyses.cost's billing (_bill_calls, _bill_priced, _bill_name)
STORE_FORMAT = "analysis_kit run store"
MANIFEST = "manifest.json"
SEGMENTS, TMP, LOCK = "segments", "tmp", ".lock"
RUNS = "runs"
ALL_TABLES = (RUNS,) + TABLES
ROW_GROUP_ROWS = 128 * 1024  # row groups DuckDB and Dask can split work on
COMPRESSION = "zstd"

ARROW_TYPES = {"str": pa.string(), "json": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
               "time": pa.timestamp("ns", tz="UTC"), "object": pa.string()}

# The runs table: one row per stored run. The run's whole meta is kept as JSON (meta_json);
# the columns queries filter and group on are typed.
RUN_COLUMNS: list[tuple[str, str]] = [
    ("run_id", "str"),            # unique in the store (a second "r" from another path is "r#2")
    ("source_run_id", "str"),     # the loader's run id
    ("seq", "int"),               # ingest order
    ("path", "str"),              # what was ingested (file or folder): the unit skipped or replaced
    ("source_path", "str"),       # meta "path": a series member's own file
    ("size", "int"),              # bytes (a folder: all its files)
    ("mtime_ns", "int"),          # newest modification time
    ("fingerprint", "str"),       # size + mtime of every file, hashed: changed -> replaced
    ("source_format", "str"), ("benchmark", "str"), ("domain", "str"),
    ("run_model", "str"),         # meta agent_model or model, else the models joined by ", "
    ("models", "str"),            # JSON list
    ("started", "time"), ("ended", "time"), ("duration_s", "float"),
    ("tasks_total", "int"), ("tasks_passed", "int"), ("tasks_partial", "bool"),
    ("load_error", "str"),        # the path could not be loaded: no tables, one problems row
    ("ingested_at", "time"), ("kit_version", "str"),
    ("meta_json", "str"),
]
RUN_KINDS = dict(RUN_COLUMNS)


class StoreError(AnalysisKitError):
    """A run store is missing, unreadable, of another schema version, or a query is invalid."""


# ----------------------------------------------------------------------------- manifest

@dataclass
class Segment:
    """One segment as the manifest lists it: its runs, rows and columns per table, bytes."""

    name: str
    runs: int
    rows: dict[str, int]
    bytes: int
    created: str
    columns: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "Segment":
        return cls(d["name"], int(d["runs"]), dict(d.get("rows") or {}), int(d.get("bytes") or 0),
                   str(d.get("created") or ""), {k: list(v) for k, v in (d.get("columns") or {}).items()})


@dataclass
class Manifest:
    schema_version: int = STORE_SCHEMA_VERSION
    kit_version: str = ""
    created: str = ""
    updated: str = ""
    next_seq: int = 0
    segments: list[Segment] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({
            "format": STORE_FORMAT, "schema_version": self.schema_version,
            "kit_version": self.kit_version, "created": self.created, "updated": self.updated,
            "next_seq": self.next_seq,
            "segments": [s.__dict__ for s in self.segments],
        }, indent=1) + "\n"


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def kit_version() -> str:
    from .. import __version__

    return __version__


def parse_manifest(text: str, where: str) -> Manifest:
    """The manifest in ``text``; a StoreError saying what to do when this kit cannot read it."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise StoreError(f"{where}: the store manifest is not valid JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != STORE_FORMAT:
        raise StoreError(f"{where}: not an analysis_kit run store manifest")
    version = doc.get("schema_version")
    if version not in READABLE_VERSIONS:
        if isinstance(version, int) and version > STORE_SCHEMA_VERSION:
            raise StoreError(
                f"{where}: this store was written by a newer analysis_kit (store schema {version}, "
                f"kit {doc.get('kit_version')}); this kit ({kit_version()}) reads schema "
                f"{', '.join(map(str, READABLE_VERSIONS))}: upgrade analysis_kit to read it")
        raise StoreError(
            f"{where}: this store was written by an older analysis_kit (store schema {version!r}, "
            f"kit {doc.get('kit_version')}), which this kit ({kit_version()}, schema "
            f"{STORE_SCHEMA_VERSION}) cannot read: ingest the runs again into a new store")
    return Manifest(schema_version=version, kit_version=str(doc.get("kit_version") or ""),
                    created=str(doc.get("created") or ""), updated=str(doc.get("updated") or ""),
                    next_seq=int(doc.get("next_seq") or 0),
                    segments=[Segment.from_dict(s) for s in doc.get("segments") or []])


def read_manifest(root: Path) -> Manifest:
    """The manifest of the local store ``root``, or a StoreError naming what is wrong."""
    path = root / MANIFEST
    if not path.exists():
        if not root.exists():
            raise StoreError(f"{root}: no run store here; create one with "
                             f"`analysis-kit ingest PATHS... --store {root}`")
        raise StoreError(f"{root}: not a run store (no {MANIFEST})")
    return parse_manifest(path.read_text(encoding="utf-8"), str(path))


def write_manifest(root: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically (a reader sees the old one or the new one, whole)."""
    manifest.updated = now_iso()
    tmp = root / f"{MANIFEST}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(manifest.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / MANIFEST)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def segment_files(base: str, segment: str) -> dict[str, str]:
    """{table: path or URL} of one segment of the store at ``base`` (a path or fsspec URL)."""
    base = base.rstrip("/")
    return {t: f"{base}/{SEGMENTS}/{segment}/{t}.parquet" for t in ALL_TABLES}


def new_segment_name(seq: int) -> str:
    return f"seg-{seq:09d}-{uuid.uuid4().hex[:8]}"


@contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """Hold the store's writer lock (one ingest at a time); released if the process dies."""
    root.mkdir(parents=True, exist_ok=True)
    fh = open(root / LOCK, "a+")
    try:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock (documented)
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                raise StoreError(f"{root}: another ingest is writing this store") from exc
        yield
    finally:
        fh.close()


def create_or_open(root: Path) -> Manifest:
    """The manifest of ``root``, creating an empty store if the folder is missing or empty."""
    if (root / MANIFEST).exists():
        return read_manifest(root)
    if root.exists() and any(p.name != LOCK for p in root.iterdir()):
        raise StoreError(f"{root}: not a run store (no {MANIFEST}) and not empty; "
                         "give an empty or new folder")
    manifest = Manifest(kit_version=kit_version(), created=now_iso())
    (root / SEGMENTS).mkdir(parents=True, exist_ok=True)
    write_manifest(root, manifest)
    return manifest


def remove_unlisted(root: Path, manifest: Manifest) -> list[str]:
    """Delete what no manifest names: leftovers of an interrupted ingest, replaced segments."""
    removed = []
    live = {s.name for s in manifest.segments}
    shutil.rmtree(root / TMP, ignore_errors=True)
    seg_dir = root / SEGMENTS
    if seg_dir.exists():
        for child in seg_dir.iterdir():
            if child.name not in live:
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child.name)
    for stale in root.glob(f"{MANIFEST}.*.tmp"):
        stale.unlink(missing_ok=True)
    return removed


# ----------------------------------------------------------------------------- Arrow form

def _json_or_text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return value.isoformat()
    return to_json_text(value)


def _array(series: pd.Series, kind: str | None) -> pa.Array | pa.ChunkedArray:
    """One column in its canonical Arrow type: the schema's for standard columns, the
    inferred one for extra columns (text when it cannot be inferred or is all null)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(series.dtype.categories.dtype if kind != "str" else "string")
    target = ARROW_TYPES.get(kind) if kind else None
    if target is not None and kind in ("str", "object") and series.dtype == object:
        series = series.map(_json_or_text, na_action="ignore")
    try:
        array = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        array = pa.array(series.map(_json_or_text, na_action="ignore").astype("object"),
                         type=pa.string(), from_pandas=True)
    if isinstance(array.type, pa.DictionaryType):
        array = array.dictionary_decode()
    if target is None:
        if pa.types.is_nested(array.type):  # lists, dicts: JSON text, as the tables keep attrs
            return pa.array(series.map(_json_or_text, na_action="ignore").astype("object"),
                            type=pa.string(), from_pandas=True)
        if pa.types.is_null(array.type):
            return array.cast(pa.string())
        if pa.types.is_large_string(array.type):
            return array.cast(pa.string())
        if pa.types.is_timestamp(array.type) and array.type.tz is not None:
            return array.cast(pa.timestamp("ns", tz="UTC"))
        return array
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(array.type) and array.type.tz is None:
        return array.cast(pa.timestamp("ns")).cast(target)  # naive = UTC, as the loaders take it
    return array.cast(target)


def arrow_table(df: pd.DataFrame, table: str) -> pa.Table:
    """``df`` (a conformed table of ``table``, extra columns kept) as an Arrow table in the
    store's types, with no pandas metadata (the files are read by DuckDB and Dask too).

    >>> import pandas as pd
    >>> arrow_table(pd.DataFrame({"run_id": ["r"], "trial": [1.0]}), "tasks").schema.field("trial").type
    DataType(int64)
    """
    kinds = dict(SCHEMA[table]) if table in SCHEMA else RUN_KINDS
    columns = {str(col): _array(df[col], kinds.get(str(col))) for col in df.columns}
    for col, kind in (SCHEMA.get(table) or RUN_COLUMNS):
        if col not in columns:
            columns[col] = pa.nulls(len(df), ARROW_TYPES[kind])
    ordered = [c for c, _ in (SCHEMA.get(table) or RUN_COLUMNS)] + [c for c in columns if c not in kinds]
    return pa.table({c: columns[c] for c in ordered})


def concat(tables: list[pa.Table]) -> pa.Table:
    """Tables of one kind from several runs, their extra columns unified: a column typed
    differently by two runs is kept as text."""
    if len(tables) == 1:
        return tables[0]
    types: dict[str, set] = {}
    for t in tables:
        for f in t.schema:
            types.setdefault(f.name, set()).add(f.type)
    clashing = {name for name, ts in types.items() if len(ts) > 1}
    if clashing:
        fixed = []
        for t in tables:
            for name in clashing & set(t.column_names):
                i = t.schema.get_field_index(name)
                column = t.column(i)
                try:
                    column = column.cast(pa.string())
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    column = pa.array([_json_or_text(v) for v in column.to_pylist()], type=pa.string())
                t = t.set_column(i, name, column)
            fixed.append(t)
        tables = fixed
    return pa.concat_tables(tables, promote_options="default")


def write_table(table: pa.Table, path: Path) -> int:
    """Write one segment file; returns its size in bytes."""
    pq.write_table(table, path, compression=COMPRESSION, row_group_size=ROW_GROUP_ROWS)
    return path.stat().st_size
