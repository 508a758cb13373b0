"""The Dask engine: the same grouped numbers as the DuckDB engine, with ``dask.dataframe``
over the same Parquet files, on whatever scheduler is current (a ``distributed.Client``
makes it a cluster's; without one, Dask's local threads).

One partition per segment file, read with pyarrow (through fsspec for a URL) and given the
store's columns and types, so segments written with different extra columns line up. Group
sums and counts are Dask aggregations; percentiles are exact: the rows are shuffled so each
group sits in one partition, whose pandas quantiles (linear interpolation) are final.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..analyses._util import LLM_KINDS, duration_ms
from ..analyses.latency import STAT_COLUMNS
from ..model import SCHEMA
from .duck import to_pandas
from .layout import ARROW_TYPES
from .queries import Key

_READ_COLUMNS = {"events": ["run_id", "kind", "name", "start", "end", "duration_ms", "cost_usd",
                            "input_tokens", "output_tokens", "cached_tokens"]}


def read_partition(path: str, wanted: list[str], table: str, filesystem: Any = None) -> pd.DataFrame:
    """The ``wanted`` columns of one segment file as pandas, those it lacks added as NA.
    (Not named ``columns``: dask.from_map would take that for its own column projection.)"""
    kinds = dict(SCHEMA.get(table, []))
    present = set(pq.read_schema(path, filesystem=filesystem).names)
    data = pq.read_table(path, columns=[c for c in wanted if c in present], filesystem=filesystem)
    for col in wanted:
        if col not in present:
            data = data.append_column(col, pa.nulls(data.num_rows, ARROW_TYPES.get(kinds.get(col), pa.string())))
    return to_pandas(data.select(wanted))


class DaskEngine:
    """Runs the store's queries with dask.dataframe (``filesystem``: fsspec, for URLs)."""

    name = "dask"

    def __init__(self, files: dict[str, list[str]], columns: dict[str, set[str]], *,
                 filesystem: Any = None, to_fs_path: Callable[[str], str] | None = None):
        self.files, self.columns, self.filesystem = files, columns, filesystem
        self.to_fs_path = to_fs_path or (lambda f: f)

    def close(self) -> None:
        pass

    def frame(self, table: str, columns: Sequence[str], runs: pd.DataFrame):
        """A Dask DataFrame of ``columns`` of ``table``, rows of the selected runs only."""
        import dask.dataframe as dd

        columns = list(dict.fromkeys(["run_id", *columns]))
        paths = [self.to_fs_path(f) for f in self.files[table]]
        meta = read_partition(paths[0], columns, table, self.filesystem).iloc[0:0]
        ddf = dd.from_map(read_partition, paths, args=(columns, table, self.filesystem), meta=meta,
                          label=f"read-{table}", enforce_metadata=False)
        ids = set(runs["run_id"])
        return ddf[ddf["run_id"].isin(list(ids))] if ids else ddf.iloc[0:0]

    @staticmethod
    def _with_keys(ddf, keys: Sequence[Key], runs: pd.DataFrame, have: set[str]):
        """Key columns k0, k1, ... added (run-level keys merged from the small runs table)."""
        run_keys = [k for k in keys if k.source == "run" and k.column != "run_id"]
        if run_keys:
            small = runs[["run_id"] + list(dict.fromkeys(k.column for k in run_keys))]
            small = small.rename(columns={k.column: f"_run_{k.column}" for k in run_keys})
            ddf = ddf.merge(small, on="run_id", how="left")
        for i, key in enumerate(keys):
            if key.column == "run_id":
                ddf = ddf.assign(**{f"k{i}": ddf["run_id"]})
            elif key.source == "run":
                ddf = ddf.assign(**{f"k{i}": ddf[f"_run_{key.column}"]})
            elif key.column in have:
                ddf = ddf.assign(**{f"k{i}": ddf[key.column]})
            else:
                ddf = ddf.assign(**{f"k{i}": pd.NA})
                ddf[f"k{i}"] = ddf[f"k{i}"].astype("string")
        return ddf

    @staticmethod
    def _named(frame: pd.DataFrame, keys: Sequence[Key]) -> pd.DataFrame:
        return frame.rename(columns={f"k{i}": k.name for i, k in enumerate(keys)})

    @staticmethod
    def _key_columns(keys: Sequence[Key]) -> list[str]:
        return [k.column for k in keys if k.source == "row"]

    def _existing(self, table: str, wanted: Sequence[str]) -> list[str]:
        return [c for c in wanted if c in self.columns[table] or c in dict(SCHEMA.get(table, []))]

    # --- primitives -----------------------------------------------------------------------

    def per_run(self, runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
        import dask

        tasks = self.frame("tasks", ["success", "start", "end", "cost_usd", "input_tokens", "output_tokens"], runs)
        tasks = tasks.assign(success=tasks["success"].astype("Float64"))
        events = self.frame("events", ["start", "end", "cost_usd", "input_tokens", "output_tokens"], runs)
        sums = {"cost": "cost_usd", "in_tok": "input_tokens", "out_tok": "output_tokens"}

        def aggregate(ddf, extra: dict):
            spec = {"start": ("start", "min"), "end": ("end", "max"), **extra}
            for name, col in sums.items():
                spec[name] = (col, "sum")
                spec[f"_n_{name}"] = (col, "count")
            return ddf.groupby("run_id").agg(**spec)

        counts = {t: self.frame(t, [], runs).groupby("run_id").size() for t in
                  ("tasks", "events", "messages", "failures", "problems")}
        t_agg, e_agg, *sizes = dask.compute(
            aggregate(tasks, {"success": ("success", "sum"), "known": ("success", "count")}),
            aggregate(events, {}), *counts.values())
        out = {}
        for name, agg in (("tasks", t_agg), ("events", e_agg)):
            agg = agg.copy()
            for s in sums:  # a sum over no known value is NA, not 0
                agg[s] = agg[s].astype("float64").where(agg.pop(f"_n_{s}") > 0)
            if "success" in agg:
                agg["success"] = agg["success"].astype("float64").where(agg["known"] > 0)
            out[name] = agg.reset_index()
        for table, size in zip(counts, sizes):
            out[f"rows:{table}"] = size.rename("n").reset_index()
        return out

    def latency(self, keys: list[Key], include: tuple[str, ...] | None, exclude: tuple[str, ...],
                runs: pd.DataFrame) -> pd.DataFrame:
        names = [f"k{i}" for i in range(len(keys))]
        ev = self.frame("events", ["kind", "start", "end", "duration_ms"] + self._key_columns(keys), runs)
        ev = ev[~ev["kind"].isin(list(exclude))]
        if include is not None:
            ev = ev[ev["kind"].isin(list(include))]
        ev = self._with_keys(ev, keys, runs, self.columns["events"])
        ev = ev.assign(_ms=ev.map_partitions(duration_ms, meta=("_ms", "float64")))
        ev = ev[ev["_ms"].notnull()][names + ["_ms"]]
        if not names:
            ev = ev.assign(_all=0)
            grouped = ev.repartition(npartitions=1).map_partitions(_stats, ["_all"], meta=_stats_meta(["_all"]))
            return grouped.compute().drop(columns="_all")
        meta = _stats_meta(names, ev._meta)
        shuffled = ev.shuffle(on=names) if ev.npartitions > 1 else ev
        return self._named(shuffled.map_partitions(_stats, names, meta=meta).compute(), keys)

    def cost(self, keys: list[Key], runs: pd.DataFrame) -> pd.DataFrame:
        import dask
        import dask.dataframe as dd

        numbers = ["cost_usd", "input_tokens", "output_tokens"]
        ev = self.frame("events", ["kind"] + numbers + ["cached_tokens"] + self._key_columns(keys), runs)
        carries = ev[numbers[0]].notnull() | ev[numbers[1]].notnull() | ev[numbers[2]].notnull()
        ev = ev[(ev["kind"].isin(list(LLM_KINDS)) | carries) & ~ev["kind"].isin(["step", "round"])]
        msg = self.frame("messages", ["role"] + numbers + self._existing("messages", self._key_columns(keys)), runs)
        tk = self.frame("tasks", numbers + self._existing("tasks", self._key_columns(keys)), runs)

        def carrying(ddf):
            return ddf.assign(_n=ddf[numbers].notnull().sum(axis=1)).groupby("run_id")["_n"].sum()

        ev_n, msg_n, tk_n = dask.compute(carrying(ev), carrying(msg), carrying(tk))
        from_ev = set(ev_n[ev_n > 0].index)
        from_msg = set(msg_n[msg_n > 0].index) - from_ev
        from_tk = set(tk_n[tk_n > 0].index) - from_ev - from_msg
        msg_carries = msg[numbers[0]].notnull() | msg[numbers[1]].notnull() | msg[numbers[2]].notnull()
        parts = [
            ev[~ev["run_id"].isin(list(from_msg | from_tk))],
            msg[msg["run_id"].isin(list(from_msg)) & msg["role"].isin(["assistant", "user"]) & msg_carries],
            tk[tk["run_id"].isin(list(from_tk))],
        ]
        names = [f"k{i}" for i in range(len(keys))]
        frames = []
        for part, table in zip(parts, ("events", "messages", "tasks")):
            part = self._with_keys(part, keys, runs, self.columns[table])
            for col in numbers + ["cached_tokens"]:
                if col not in part.columns:
                    part = part.assign(**{col: np.nan})
                part[col] = part[col].astype("float64")
            frames.append(part[names + numbers + ["cached_tokens"]])
        rows = dd.concat(frames)
        rows = rows.assign(_one=1, _priced=rows["cost_usd"].notnull().astype("int64"))
        spec = {"calls": ("_one", "sum"), "priced_calls": ("_priced", "sum")}
        for col in numbers + ["cached_tokens"]:
            spec[col] = (col, "sum")
            spec[f"_n_{col}"] = (col, "count")
        if names:
            out = rows.groupby(names, dropna=False).agg(**spec).compute().reset_index()
        else:
            out = rows.assign(_all=0).groupby("_all").agg(**spec).compute().reset_index(drop=True)
        for col in numbers + ["cached_tokens"]:
            out[col] = out[col].where(out.pop(f"_n_{col}") > 0)
        out = out[out["calls"] > 0]
        return self._named(out, keys)

    def failure_counts(self, keys: list[Key], runs: pd.DataFrame) -> pd.DataFrame:
        names = [f"k{i}" for i in range(len(keys))]
        f = self._with_keys(self.frame("failures", self._key_columns(keys), runs), keys, runs,
                            self.columns["failures"])
        if not names:
            n = int(f.shape[0].compute())
            return pd.DataFrame({"count": [n]}) if n else pd.DataFrame(columns=["count"])
        out = f.groupby(names, dropna=False).size().compute()
        return self._named(out.rename("count").reset_index(), keys)

    def outcome_counts(self, keys: list[Key], runs: pd.DataFrame) -> pd.DataFrame:
        keys = [k for k in keys if k.name != "run_id"]  # always grouped by run_id
        names = [f"k{i}" for i in range(len(keys))]
        t = self.frame("tasks", ["success", "reward"] + self._key_columns(keys), runs)
        t = self._with_keys(t, keys, runs, self.columns["tasks"])
        t = t.assign(_ok=t.map_partitions(_outcome, meta=("_ok", "Float64")))
        t = t.assign(_one=1, _known=t["_ok"].notnull().astype("int64"), _win=t["_ok"].fillna(0).astype("int64"))
        out = t.groupby(["run_id"] + names, dropna=False).agg(
            rows=("_one", "sum"), attempts=("_known", "sum"), successes=("_win", "sum")).compute()
        return self._named(out.reset_index(), keys)

    def read(self, table: str, runs: pd.DataFrame) -> pd.DataFrame:
        columns = sorted(self.columns[table], key=_schema_order(table))
        frame = self.frame(table, columns, runs).compute()
        order = dict(zip(runs["run_id"], runs["seq"]))
        frame = frame.assign(_seq=frame["run_id"].map(order)).sort_values("_seq", kind="stable")
        return frame.drop(columns="_seq").reset_index(drop=True)


def _schema_order(table: str):
    position = {c: i for i, (c, _) in enumerate(SCHEMA.get(table, []))}
    return lambda c: (position.get(c, len(position)), c if c not in position else "")


def _outcome(tasks: pd.DataFrame) -> pd.Series:
    """1.0 / 0.0 / NA per task: ``success``, else reward == 1 (analyses' tasks_success)."""
    from ..analyses._util import tasks_success

    return tasks_success(tasks).astype("Float64")


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
