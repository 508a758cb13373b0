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

from .layout import StoreError
from . import queries as q
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

    def _rows(self, table: str, columns: Sequence[str], keys: Sequence[Key], filtered: bool) -> str:
        """SELECT of a table's rows (of the selected runs when ``filtered``), with the key
        columns as k0, k1...; the runs table is joined only for run-level keys."""
        have = self.columns[table]
        cols = [f"t.{quote(c)}" if c in have else f"NULL AS {quote(c)}" for c in columns]
        cols += [self._key(k, i, have) for i, k in enumerate(keys)]
        sql = f"SELECT {', '.join(cols) or '1'} FROM {self._source(table)} AS t"
        if any(k.source == "run" and k.column != "run_id" for k in keys):
            return sql + " JOIN runs AS r ON t.run_id = r.run_id WHERE true"
        return sql + (" WHERE t.run_id IN (SELECT run_id FROM runs)" if filtered else " WHERE true")

    @staticmethod
    def _key(key: Key, i: int, have: set[str]) -> str:
        if key.column == "run_id":
            return f"t.run_id AS k{i}"
        if key.source == "run":
            return f"r.{quote(key.column)} AS k{i}"
        return f"t.{quote(key.column)} AS k{i}" if key.column in have else f"NULL AS k{i}"

    @staticmethod
    def _named(frame: pd.DataFrame, keys: Sequence[Key]) -> pd.DataFrame:
        return frame.rename(columns={f"k{i}": k.name for i, k in enumerate(keys)})

    @staticmethod
    def _group(keys: Sequence[Key], *first: str) -> str:
        names = list(first) + [f"k{i}" for i in range(len(keys))]
        return f"GROUP BY {', '.join(names)}" if names else ""

    # --- primitives -----------------------------------------------------------------------
    # Grouped by run (and the keys read from the table itself) wherever a result can be:
    # the runs table's keys are then added by run id on the small result, not joined to
    # millions of rows. ``filtered``: only some runs are selected (else every row counts).

    def per_run(self, runs: pd.DataFrame, filtered: bool) -> dict[str, pd.DataFrame]:
        """The aggregates of the summary, per run: tasks, events, and every table's rows."""
        numbers = ("sum(t.cost_usd) AS cost, CAST(sum(t.input_tokens) AS DOUBLE) AS in_tok, "
                   "CAST(sum(t.output_tokens) AS DOUBLE) AS out_tok, min(t.start) AS start, max(t.\"end\") AS \"end\"")
        tasks = self._query(
            "SELECT t.run_id, count(*) AS n, count(t.success) AS known, "
            f"sum(CAST(t.success AS DOUBLE)) AS success, {numbers} "
            f"FROM ({self._rows('tasks', ['run_id', 'success', 'cost_usd', 'input_tokens', 'output_tokens', 'start', 'end'], [], filtered)}) AS t "
            "GROUP BY t.run_id", runs)
        events = self._query(
            f"SELECT t.run_id, count(*) AS n, {numbers}, sum(t.est_cost_usd) AS est "
            f"FROM ({self._rows('events', ['run_id', 'cost_usd', 'est_cost_usd', 'input_tokens', 'output_tokens', 'start', 'end'], [], filtered)}) AS t "
            "GROUP BY t.run_id", runs)
        counts = self._query(" UNION ALL ".join(
            f"SELECT '{t}' AS tbl, run_id, count(*) AS n FROM ({self._rows(t, ['run_id'], [], filtered)}) GROUP BY run_id"
            for t in ("messages", "failures", "problems")), runs)
        out = {"tasks": tasks, "events": events, "rows:tasks": tasks[["run_id", "n"]],
               "rows:events": events[["run_id", "n"]]}
        for t in ("messages", "failures", "problems"):
            out[f"rows:{t}"] = counts.loc[counts["tbl"] == t, ["run_id", "n"]]
        return out

    def latency(self, keys: list[Key], include: tuple[str, ...] | None, exclude: tuple[str, ...],
                runs: pd.DataFrame, filtered: bool) -> pd.DataFrame:
        ms = "coalesce(t.duration_ms, (epoch_ns(t.\"end\") - epoch_ns(t.start)) / 1e6)"
        where = [_not_in("t.kind", exclude)]
        if include is not None:
            where.append(_in("t.kind", include) if include else "false")
        inner = (self._rows("events", [], keys, filtered).replace("SELECT ", f"SELECT {ms} AS _ms, ", 1)
                 + " AND " + " AND ".join(where))
        ks = ", ".join(f"k{i}" for i in range(len(keys)))
        sql = (f"SELECT {ks + ', ' if ks else ''}count(*) AS count, avg(_ms) AS mean_ms, "
               "quantile_cont(_ms, 0.5) AS p50_ms, quantile_cont(_ms, 0.9) AS p90_ms, "
               "quantile_cont(_ms, 0.99) AS p99_ms, max(_ms) AS max_ms "
               f"FROM ({inner}) WHERE _ms IS NOT NULL AND NOT isnan(_ms) {self._group(keys)}")
        out = self._query(sql, runs)
        return self._named(out, keys) if len(out) and out["count"].sum() else out.iloc[0:0]

    def cost(self, keys: list[Key], runs: pd.DataFrame, filtered: bool) -> dict[str, pd.DataFrame]:
        """Per source table (events, messages, tasks), per run and (row) key: calls,
        priced calls, the sums and counts of cost and tokens of its cost rows, and how many
        of the run's rows carry a number (:func:`queries.combine_cost` picks each run's
        source from these, as cost_by does)."""
        carries = "(t.cost_usd IS NOT NULL OR t.input_tokens IS NOT NULL OR t.output_tokens IS NOT NULL)"
        # the events' billing was decided at ingest (analyses.cost.billing: a span tree walk)
        kept = {"events": "true", "messages": f"t.role IN ('assistant', 'user') AND {carries}", "tasks": "true"}
        where = {"events": "t._bill_calls IS NOT NULL", "messages": "true", "tasks": "true"}
        calls = {"events": ("CAST(sum(_bill_calls) AS BIGINT)", "count(*) FILTER (WHERE _bill_priced AND _bill_calls > 0)")}
        out = {}
        for table in ("events", "messages", "tasks"):
            cols = ["run_id", "role", "kind", "cost_usd", "input_tokens", "output_tokens", "cached_tokens"]
            cols += ["_bill_calls", "_bill_priced"] if table == "events" else []
            rows = f"{self._rows(table, cols, q.billing_keys(keys, table), filtered)} AND {where[table]}"
            f = f"FILTER (WHERE {kept[table].replace('t.', '')})"
            sums = ", ".join(
                f"CAST(sum({c}) {f} AS DOUBLE) AS {c}, count({c}) {f} AS _n_{c}"
                for c in ("cost_usd", "input_tokens", "output_tokens", "cached_tokens"))
            plain = carries.replace("t.", "")
            n_calls, n_priced = calls.get(table, (f"count(*) {f}", f"count(cost_usd) {f}"))
            sql = (f"SELECT run_id{''.join(f', k{i}' for i in range(len(keys)))}, {n_calls} AS calls, "
                   f"{n_priced} AS priced_calls, count(*) {f} AS _rows, {sums}, "
                   f"count(*) FILTER (WHERE {plain}) AS _carrying FROM ({rows}) {self._group(keys, 'run_id')}")
            out[table] = self._named(self._query(sql, runs), keys)
        return out

    def failure_counts(self, keys: list[Key], runs: pd.DataFrame, filtered: bool) -> pd.DataFrame:
        """Failures per run and (row) key."""
        sql = (f"SELECT run_id{''.join(f', k{i}' for i in range(len(keys)))}, count(*) AS count "
               f"FROM ({self._rows('failures', ['run_id'], keys, filtered)}) {self._group(keys, 'run_id')}")
        return self._named(self._query(sql, runs), keys)

    def outcome_counts(self, keys: list[Key], runs: pd.DataFrame, filtered: bool) -> pd.DataFrame:
        """Per run and (row) key: task rows, attempts with a known outcome, and successes
        (``success``, else reward == 1 within 1e-6, as analyses' tasks_success)."""
        ok = ("CASE WHEN t.success IS NOT NULL THEN t.success WHEN t.reward IS NOT NULL AND NOT isnan(t.reward) "
              "THEN abs(t.reward - 1.0) <= 1e-6 END")
        ks = "".join(f", k{i}" for i in range(len(keys)))
        inner = self._rows("tasks", ["run_id", "success", "reward"], keys, filtered).replace(
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
