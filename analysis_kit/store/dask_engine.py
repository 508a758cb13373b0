"""The Dask engine: the same grouped numbers as the DuckDB engine, with ``dask.dataframe``
over the same Parquet files, on whatever scheduler is current (a ``distributed.Client``
makes it a cluster's; without one, Dask's local threads).

One partition per segment file (``dd.from_map``), read with pyarrow (through fsspec for a
URL) in the store's columns and types. All of a run's rows are in one segment, so per-run
aggregates (the summary, cost rows, outcome counts) are complete inside a partition: each
partition is reduced to them by pandas where it is read, and the client only adds up small
per-run tables. Percentiles cross runs, so their rows are shuffled to put each group in one
partition, whose pandas quantiles (linear interpolation) are then exact. Doing the row work
in one function per partition keeps Dask's graph (and its optimizer's time) small.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..analyses._util import duration_ms, tasks_success
from ..analyses.latency import STAT_COLUMNS
from ..model import SCHEMA
from .duck import to_pandas
from .layout import ARROW_TYPES
from . import queries as q
from .queries import Key

NUMBERS = ["cost_usd", "input_tokens", "output_tokens"]  # est_cost_usd: events only
SUMMED = NUMBERS + ["cached_tokens"]


def read_partition(path: str, wanted: list[str], table: str, filesystem: Any = None,
                   run_ids: frozenset | None = None, prepare: Callable | None = None) -> pd.DataFrame:
    """The ``wanted`` columns of one segment file as pandas (those it lacks added as NA),
    rows of ``run_ids`` only, passed through ``prepare``. (Not named ``columns``:
    dask.from_map would take that for its own column projection.)"""
    kinds = dict(SCHEMA.get(table, []))
    present = set(pq.read_schema(path, filesystem=filesystem).names)
    data = pq.read_table(path, columns=[c for c in wanted if c in present], filesystem=filesystem)
    for col in wanted:
        if col not in present:
            data = data.append_column(col, pa.nulls(data.num_rows, ARROW_TYPES.get(kinds.get(col), pa.string())))
    frame = to_pandas(data.select(wanted))
    if run_ids is not None:
        frame = frame[frame["run_id"].isin(run_ids)]
    return prepare(frame) if prepare is not None else frame


def with_keys(frame: pd.DataFrame, keys: Sequence[Key], run_values: dict[str, dict]) -> pd.DataFrame:
    """Key columns k0, k1, ... : a column of the rows, or a runs-table value by run id."""
    out = {}
    for i, key in enumerate(keys):
        if key.column == "run_id":
            out[f"k{i}"] = frame["run_id"]
        elif key.source == "run":
            out[f"k{i}"] = frame["run_id"].map(run_values[key.column])
        elif key.column in frame.columns:
            out[f"k{i}"] = frame[key.column]
        else:
            out[f"k{i}"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame.assign(**out)


def _carries(frame: pd.DataFrame) -> pd.Series:
    """Rows carrying a cost or a token count."""
    return frame[NUMBERS].notna().any(axis=1)


# --- what each query does to one partition (module functions: pickled to the workers) ---

def _latency_rows(frame, *, keys, run_values, include, exclude):
    frame = frame[~frame["kind"].isin(exclude)]
    if include is not None:
        frame = frame[frame["kind"].isin(include)]
    names = [f"k{i}" for i in range(len(keys))]
    frame = with_keys(frame, keys, run_values).assign(_ms=duration_ms(frame))
    return frame[frame["_ms"].notna()][names + ["_ms"]]


def _cost_rows(frame, *, table, keys):
    """Per run and key, this table's cost rows summed (calls, priced calls, each number's
    sum and count) and how many of the run's rows carry a number: the columns the DuckDB
    engine's cost query gives, for :func:`queries.combine_cost`."""
    names = [f"k{i}" for i in range(len(keys))]
    if table == "events":  # billed as decided at ingest (analyses.cost.billing)
        frame = frame[frame["_bill_calls"].notna()]
    carrying = _carries(frame)
    kept = frame["role"].isin(["assistant", "user"]) & carrying if table == "messages" else pd.Series(True, index=frame.index)
    if table == "events":
        calls = frame["_bill_calls"].astype("int64")
        priced = (frame["_bill_priced"].fillna(False).astype(bool) & (calls > 0)).astype("int64")
    else:
        calls, priced = kept.astype("int64"), (kept & frame["cost_usd"].notna()).astype("int64")
    columns = {"_kept": calls, "_priced": priced, "_rows": kept.astype("int64"), "_carrying": carrying.astype("int64")}
    for col in SUMMED:
        values = pd.to_numeric(frame[col], errors="coerce").astype("float64") if col in frame else np.nan
        columns[col] = pd.Series(values, index=frame.index).where(kept)
    frame = with_keys(frame, keys, {}).assign(**columns)
    spec = {"calls": ("_kept", "sum"), "priced_calls": ("_priced", "sum"), "_rows": ("_rows", "sum")}
    for col in SUMMED:
        spec[col], spec[f"_n_{col}"] = (col, "sum"), (col, "count")
    spec["_carrying"] = ("_carrying", "sum")
    return frame.groupby(["run_id"] + names, dropna=False, sort=False).agg(**spec).reset_index()


def _outcomes(frame, *, keys):
    names = [f"k{i}" for i in range(len(keys))]
    ok = tasks_success(frame).astype("Float64")
    frame = with_keys(frame, keys, {}).assign(
        _one=1, _known=ok.notna().astype("int64"), _win=ok.fillna(0).astype("int64"))
    return frame.groupby(["run_id"] + names, dropna=False, sort=False).agg(
        rows=("_one", "sum"), attempts=("_known", "sum"), successes=("_win", "sum")).reset_index()


def _failure_counts(frame, *, keys):
    names = [f"k{i}" for i in range(len(keys))]
    frame = with_keys(frame, keys, {}).assign(_one=1)
    return frame.groupby(["run_id"] + names, dropna=False, sort=False)["_one"].sum().rename("count").reset_index()


def _per_run(frame, *, table):
    """The summary's aggregates of one table, per run (sums NA when nothing is known)."""
    groups = frame.groupby("run_id", sort=False)
    out = groups.size().rename("n").to_frame()
    if table in ("tasks", "events"):
        out["start"], out["end"] = groups["start"].min(), groups["end"].max()
        for name, col in (("cost", "cost_usd"), ("in_tok", "input_tokens"), ("out_tok", "output_tokens"),
                          ("est", "est_cost_usd")):
            if col in frame.columns:
                out[name] = groups[col].sum().astype("float64").where(groups[col].count() > 0)
    if table == "tasks":
        success = frame["success"].astype("Float64").groupby(frame["run_id"], sort=False)
        out["known"] = success.count()
        out["success"] = success.sum().astype("float64").where(out["known"] > 0)
    return out.reset_index()


class DaskEngine:
    """Runs the store's queries with dask.dataframe (``filesystem``: fsspec, for URLs)."""

    name = "dask"

    def __init__(self, files: dict[str, list[str]], columns: dict[str, set[str]], *,
                 filesystem: Any = None, to_fs_path: Callable[[str], str] | None = None,
                 order: dict[str, list[str]] | None = None):
        self.files, self.columns, self.filesystem = files, columns, filesystem
        self.to_fs_path = to_fs_path or (lambda f: f)
        self.order = order or {t: sorted(c) for t, c in columns.items()}

    def close(self) -> None:
        pass

    def frame(self, table: str, columns: Sequence[str], runs: pd.DataFrame,
              prepare: Callable | None = None, filtered: bool = True):
        """A Dask DataFrame, one partition per segment: ``columns`` of ``table`` (of the
        selected runs when ``filtered``), each partition passed through ``prepare``."""
        import dask.dataframe as dd

        columns = list(dict.fromkeys(["run_id", *columns]))
        paths = [self.to_fs_path(f) for f in self.files[table]]
        ids = frozenset(runs["run_id"]) if filtered else None
        empty = read_partition(paths[0], columns, table, self.filesystem, frozenset(), prepare)
        return dd.from_map(read_partition, paths, args=(columns, table, self.filesystem, ids, prepare),
                           meta=empty.iloc[0:0], label=f"read-{table}", enforce_metadata=False)

    @staticmethod
    def _run_values(keys: Sequence[Key], runs: pd.DataFrame) -> dict[str, dict]:
        """{runs column: {run_id: value}} for the run-level keys."""
        return {k.column: dict(zip(runs["run_id"], runs[k.column].astype(object)))
                for k in keys if k.source == "run" and k.column != "run_id"}

    @staticmethod
    def _named(frame: pd.DataFrame, keys: Sequence[Key]) -> pd.DataFrame:
        return frame.rename(columns={f"k{i}": k.name for i, k in enumerate(keys)})

    def _row_columns(self, table: str, keys: Sequence[Key], *base: str) -> list[str]:
        standard = {c for c, _ in SCHEMA.get(table, [])}
        wanted = [k.column for k in keys if k.source == "row"]
        return list(base) + [c for c in wanted if c in self.columns[table] or c in standard]

    # --- primitives -----------------------------------------------------------------------

    def per_run(self, runs: pd.DataFrame, filtered: bool) -> dict[str, pd.DataFrame]:
        import dask

        wanted = {"tasks": ["success", "start", "end", *NUMBERS], "events": ["start", "end", *NUMBERS, "est_cost_usd"],
                  "messages": [], "failures": [], "problems": []}
        frames = [self.frame(t, cols, runs, functools.partial(_per_run, table=t), filtered)
                  for t, cols in wanted.items()]
        results = dict(zip(wanted, dask.compute(*frames)))
        out = {f"rows:{t}": r[["run_id", "n"]] for t, r in results.items()}
        out["tasks"], out["events"] = results["tasks"], results["events"]
        return out

    def latency(self, keys: list[Key], include: tuple[str, ...] | None, exclude: tuple[str, ...],
                runs: pd.DataFrame, filtered: bool) -> pd.DataFrame:
        names = [f"k{i}" for i in range(len(keys))]
        prepare = functools.partial(_latency_rows, keys=keys, run_values=self._run_values(keys, runs),
                                    include=list(include) if include is not None else None, exclude=list(exclude))
        rows = self.frame("events", self._row_columns("events", keys, "kind", "start", "end", "duration_ms"),
                          runs, prepare, filtered)
        if not names:
            rows = rows.assign(_all=0).repartition(npartitions=1)
            return rows.map_partitions(_stats, ["_all"], meta=_stats_meta(["_all"])).compute().drop(columns="_all")
        shuffled = rows.shuffle(on=names) if rows.npartitions > 1 else rows
        out = shuffled.map_partitions(_stats, names, meta=_stats_meta(names, rows._meta)).compute()
        return self._named(out, keys)

    def cost(self, keys: list[Key], runs: pd.DataFrame, filtered: bool) -> dict[str, pd.DataFrame]:
        """Per source table, per run and (row) key: the sums of its cost rows and how many
        of the run's rows carry a number (see queries.combine_cost); one pass per table."""
        import dask

        base = {"events": ["kind", "_bill_calls", "_bill_priced", *SUMMED], "messages": ["role", *NUMBERS],
                "tasks": NUMBERS}
        frames = [self.frame(t, self._row_columns(t, q.billing_keys(keys, t), *cols), runs,
                             functools.partial(_cost_rows, table=t, keys=q.billing_keys(keys, t)), filtered)
                  for t, cols in base.items()]
        return {t: self._named(f, keys) for t, f in zip(base, dask.compute(*frames))}

    def failure_counts(self, keys: list[Key], runs: pd.DataFrame, filtered: bool) -> pd.DataFrame:
        prepare = functools.partial(_failure_counts, keys=keys)
        out = self.frame("failures", self._row_columns("failures", keys), runs, prepare, filtered).compute()
        return self._named(out.reset_index(drop=True), keys)

    def outcome_counts(self, keys: list[Key], runs: pd.DataFrame, filtered: bool) -> pd.DataFrame:
        prepare = functools.partial(_outcomes, keys=keys)
        out = self.frame("tasks", self._row_columns("tasks", keys, "success", "reward"), runs, prepare,
                         filtered).compute()
        return self._named(out.reset_index(drop=True), keys)

    def read(self, table: str, runs: pd.DataFrame) -> pd.DataFrame:
        frame = self.frame(table, self.order[table], runs).compute()
        order = dict(zip(runs["run_id"], runs["seq"]))
        frame = frame.assign(_seq=frame["run_id"].map(order)).sort_values("_seq", kind="stable")
        return frame.drop(columns="_seq").reset_index(drop=True)


def _stats(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """count, mean and p50/p90/p99/max of ``_ms`` per group (pandas: linear interpolation)."""
    if frame.empty:
        return _stats_meta(names, frame)
    grouped = frame.groupby(names, dropna=False, sort=True)["_ms"]
    out = grouped.agg(count="size", mean_ms="mean", max_ms="max")
    for q, col in ((0.5, "p50_ms"), (0.9, "p90_ms"), (0.99, "p99_ms")):
        # by position: joining on the group index would miss groups keyed by NA
        out[col] = grouped.quantile(q).to_numpy()
    out = out[STAT_COLUMNS].reset_index()
    out["count"] = out["count"].astype("int64")
    return out


def _stats_meta(names: list[str], like: pd.DataFrame | None = None) -> pd.DataFrame:
    columns = {n: (like[n].dtype if like is not None and n in like else "object") for n in names}
    frame = pd.DataFrame({n: pd.Series(dtype=d) for n, d in columns.items()})
    for col in STAT_COLUMNS:
        frame[col] = pd.Series(dtype="int64" if col == "count" else "float64")
    return frame
