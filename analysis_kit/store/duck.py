"""The DuckDB engine: each query is one SQL statement over the segments' Parquet files.

DuckDB reads only the columns a query names and streams the rows through its aggregates,
so no table is ever loaded whole; what comes back is the grouped result. The selected runs
(a ``where``/``runs`` filter, and never runs that failed to load) are a small Arrow table
registered as ``runs`` that the big tables are semi-joined against.
Percentiles are ``quantile_cont``: linear interpolation between the two nearest ranks,
numpy's and pandas' default.
"""

from __future__ import annotations

import threading
from typing import Any, Sequence

import duckdb
import pandas as pd
import pyarrow as pa

from ..analyses._util import LLM_KINDS
from .layout import StoreError
from .queries import Key

_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype(),
          pa.large_string(): pd.StringDtype()}


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow result as pandas with the kit's nullable dtypes (Int64, boolean, string)."""
    return table.to_pandas(types_mapper=_TYPES.get)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(literal(v) for v in values)})"


def _not_in(column: str, values: Sequence[str]) -> str:
    """NOT IN that keeps NULL (pandas' ~isin does)."""
    return f"({column} IS NULL OR {column} NOT IN ({', '.join(literal(v) for v in values)}))"


class DuckDBEngine:
    """Runs the store's queries in an embedded DuckDB (``config``: DuckDB settings such as
    ``threads`` or ``memory_limit``)."""

    name = "duckdb"

    def __init__(self, files: dict[str, list[str]], columns: dict[str, set[str]],
                 config: dict[str, Any] | None = None, filesystem: Any = None,
                 order: dict[str, list[str]] | None = None):
        self.files, self.columns = files, columns
        self.order = order or {t: sorted(c) for t, c in columns.items()}
        self.con = duckdb.connect(config=dict(config or {}))
        if filesystem is not None:  # an fsspec URL: DuckDB reads through the same filesystem
            self.con.register_filesystem(filesystem)
        self._lock = threading.Lock()

    def close(self) -> None:
        self.con.close()

    # --- plumbing -----------------------------------------------------------------------

    def _source(self, table: str) -> str:
        files = ", ".join(literal(f) for f in self.files[table])
        return f"read_parquet([{files}], union_by_name = true)"

    def _query(self, sql: str, runs: pd.DataFrame) -> pd.DataFrame:
        slim = runs.drop(columns=["meta_json"], errors="ignore")  # no query reads the meta's JSON
        with self._lock:
            self.con.register("runs", pa.Table.from_pandas(slim, preserve_index=False))
            try:
                relation = self.con.sql(sql)
                # DuckDB 1.4 renamed .arrow() (now a reader) to .to_arrow_table()
                fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
                return to_pandas(fetch())
            except duckdb.Error as exc:
                raise StoreError(f"DuckDB query failed: {exc}") from exc
            finally:
                self.con.unregister("runs")

    def _rows(self, table: str, columns: Sequence[str], keys: Sequence[Key]) -> str:
        """SELECT of a table's rows of the selected runs, with the key columns as k0, k1..."""
        have = self.columns[table]
        cols = [f"t.{quote(c)}" if c in have else f"NULL AS {quote(c)}" for c in columns]
        cols += [self._key(k, i, have) for i, k in enumerate(keys)]
        return (f"SELECT {', '.join(cols) or '1'} FROM {self._source(table)} AS t "
                f"JOIN runs AS r ON t.run_id = r.run_id")

    @staticmethod
    def _key(key: Key, i: int, have: set[str]) -> str:
        if key.source == "run":
            return f"r.{quote(key.column)} AS k{i}"
        return f"t.{quote(key.column)} AS k{i}" if key.column in have else f"NULL AS k{i}"

    @staticmethod
    def _named(frame: pd.DataFrame, keys: Sequence[Key]) -> pd.DataFrame:
        return frame.rename(columns={f"k{i}": k.name for i, k in enumerate(keys)})

    @staticmethod
    def _group(keys: Sequence[Key]) -> str:
        return f"GROUP BY {', '.join(f'k{i}' for i in range(len(keys)))}" if keys else ""

    # --- primitives -----------------------------------------------------------------------

    def per_run(self, runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """The aggregates of the summary, per run: tasks, events, and every table's rows."""
        sql_tasks = (
            "SELECT t.run_id, count(t.success) AS known, sum(CAST(t.success AS DOUBLE)) AS success, "
            "min(t.start) AS start, max(t.\"end\") AS \"end\", sum(t.cost_usd) AS cost, "
            "CAST(sum(t.input_tokens) AS DOUBLE) AS in_tok, CAST(sum(t.output_tokens) AS DOUBLE) AS out_tok "
            f"FROM {self._source('tasks')} AS t JOIN runs AS r ON t.run_id = r.run_id GROUP BY t.run_id")
        sql_events = (
            "SELECT t.run_id, min(t.start) AS start, max(t.\"end\") AS \"end\", sum(t.cost_usd) AS cost, "
            "CAST(sum(t.input_tokens) AS DOUBLE) AS in_tok, CAST(sum(t.output_tokens) AS DOUBLE) AS out_tok "
            f"FROM {self._source('events')} AS t JOIN runs AS r ON t.run_id = r.run_id GROUP BY t.run_id")
        out = {"tasks": self._query(sql_tasks, runs), "events": self._query(sql_events, runs)}
        for table in ("tasks", "events", "messages", "failures", "problems"):
            sizes = self._query(f"SELECT t.run_id, count(*) AS n FROM {self._source(table)} AS t "
                                f"JOIN runs AS r ON t.run_id = r.run_id GROUP BY t.run_id", runs)
            out[f"rows:{table}"] = sizes
        return out

    def latency(self, keys: list[Key], include: tuple[str, ...] | None, exclude: tuple[str, ...],
                runs: pd.DataFrame) -> pd.DataFrame:
        ms = ("coalesce(t.duration_ms, (epoch_ns(t.\"end\") - epoch_ns(t.start)) / 1e6)")
        where = [_not_in("t.kind", exclude)]
        if include is not None:
            where.append(_in("t.kind", include) if include else "false")
        inner = (f"{self._rows('events', [], keys)}".replace("SELECT ", f"SELECT {ms} AS _ms, ", 1)
                 + " WHERE " + " AND ".join(where))
        ks = ", ".join(f"k{i}" for i in range(len(keys)))
        sql = (f"SELECT {ks + ', ' if ks else ''}count(*) AS count, avg(_ms) AS mean_ms, "
               "quantile_cont(_ms, 0.5) AS p50_ms, quantile_cont(_ms, 0.9) AS p90_ms, "
               "quantile_cont(_ms, 0.99) AS p99_ms, max(_ms) AS max_ms "
               f"FROM ({inner}) WHERE _ms IS NOT NULL AND NOT isnan(_ms) {self._group(keys)}")
        out = self._query(sql, runs)
        return self._named(out, keys) if len(out) and out["count"].sum() else out.iloc[0:0]

    def cost(self, keys: list[Key], runs: pd.DataFrame) -> pd.DataFrame:
        """Grouped calls and sums over each run's cost rows: its billable events when they
        carry a cost or tokens, else its messages, else its tasks (as cost_by picks)."""
        numbers = ["cost_usd", "input_tokens", "output_tokens"]
        carries = " OR ".join(f"t.{c} IS NOT NULL" for c in numbers)
        billable = (f"({_in('t.kind', LLM_KINDS)} OR {carries}) AND {_not_in('t.kind', ('step', 'round'))}")
        some = " + ".join(f"count({c})" for c in numbers)
        picks = (
            f"WITH ev AS (SELECT t.run_id FROM {self._source('events')} AS t JOIN runs AS r "
            f"ON t.run_id = r.run_id WHERE {billable} GROUP BY t.run_id HAVING {some} > 0), "
            f"msg AS (SELECT run_id FROM {self._source('messages')} WHERE run_id IN (SELECT run_id FROM runs) "
            f"AND run_id NOT IN (SELECT run_id FROM ev) GROUP BY run_id HAVING {some} > 0), "
            f"tk AS (SELECT run_id FROM {self._source('tasks')} WHERE run_id IN (SELECT run_id FROM runs) "
            "AND run_id NOT IN (SELECT run_id FROM ev) AND run_id NOT IN (SELECT run_id FROM msg) "
            f"GROUP BY run_id HAVING {some} > 0) ")
        cols = numbers + ["cached_tokens"]
        parts = [
            f"{self._rows('events', cols, keys)} WHERE {billable} AND t.run_id NOT IN "
            "(SELECT run_id FROM msg UNION ALL SELECT run_id FROM tk)",
            f"{self._rows('messages', cols, keys)} WHERE t.run_id IN (SELECT run_id FROM msg) "
            f"AND t.role IN ('assistant', 'user') AND ({carries})",
            f"{self._rows('tasks', cols, keys)} WHERE t.run_id IN (SELECT run_id FROM tk)",
        ]
        ks = ", ".join(f"k{i}" for i in range(len(keys)))
        sql = (f"{picks}SELECT {ks + ', ' if ks else ''}count(*) AS calls, count(cost_usd) AS priced_calls, "
               "sum(cost_usd) AS cost_usd, CAST(sum(input_tokens) AS DOUBLE) AS input_tokens, "
               "CAST(sum(output_tokens) AS DOUBLE) AS output_tokens, "
               "CAST(sum(cached_tokens) AS DOUBLE) AS cached_tokens "
               f"FROM ({' UNION ALL '.join(parts)}) {self._group(keys)}")
        out = self._query(sql, runs)
        return self._named(out, keys) if len(out) and out["calls"].sum() else out.iloc[0:0]

    def failure_counts(self, keys: list[Key], runs: pd.DataFrame) -> pd.DataFrame:
        ks = ", ".join(f"k{i}" for i in range(len(keys)))
        sql = (f"SELECT {ks + ', ' if ks else ''}count(*) AS count "
               f"FROM ({self._rows('failures', [], keys)}) {self._group(keys)}")
        out = self._query(sql, runs)
        return self._named(out, keys) if len(out) and out["count"].sum() else out.iloc[0:0]

    def outcome_counts(self, keys: list[Key], runs: pd.DataFrame) -> pd.DataFrame:
        """Per run and key: task rows, attempts with a known outcome, and successes
        (``success``, else reward == 1 within 1e-6, as analyses' tasks_success)."""
        keys = [k for k in keys if k.name != "run_id"]  # always grouped by run_id
        ok = ("CASE WHEN t.success IS NOT NULL THEN t.success WHEN t.reward IS NOT NULL AND NOT isnan(t.reward) "
              "THEN abs(t.reward - 1.0) <= 1e-6 END")
        ks = "".join(f", k{i}" for i in range(len(keys)))
        inner = self._rows("tasks", ["run_id", "success", "reward"], keys).replace(
            "SELECT ", f"SELECT {ok} AS _ok, ", 1)
        sql = (f"SELECT run_id{ks}, count(*) AS rows, count(_ok) AS attempts, "
               f"CAST(coalesce(sum(CAST(_ok AS INTEGER)), 0) AS BIGINT) AS successes "
               f"FROM ({inner}) GROUP BY run_id{ks}")
        return self._named(self._query(sql, runs), keys)

    def read(self, table: str, runs: pd.DataFrame) -> pd.DataFrame:
        """All rows of ``table`` for the selected runs, in the runs' order."""
        files = ", ".join(literal(f) for f in self.files[table])
        source = f"read_parquet([{files}], union_by_name = true, file_row_number = true)"
        columns = ", ".join(f"t.{quote(c)}" for c in self.order[table])
        sql = (f"SELECT {columns} FROM {source} AS t JOIN runs AS r "
               "ON t.run_id = r.run_id ORDER BY r.seq, t.file_row_number")
        return self._query(sql, runs)
