"""``open_store``: the queries of a run store, computed by DuckDB (default) or Dask.

Every query takes the same run filter: ``runs`` (run ids) and ``where`` (a DuckDB SQL
condition on the runs table, e.g. ``"run_model = 'gpt-4.1' AND started >= DATE '2025-10-01'"``;
the runs table is small, so it is evaluated by DuckDB in memory whatever the engine).
Runs that failed to load are never part of a query (``runs(include_failed=True)`` and
``problems()`` show them).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..analyses._util import as_list, empty_frame
from ..analyses.cost import BILLING_COLUMNS
from ..model import SCHEMA, TABLES, Run, empty_table
from . import queries as q
from .layout import (ALL_TABLES, MANIFEST, RUN_COLUMNS, RUNS, Manifest, StoreError, parse_manifest,
                     segment_files)

ENGINES = ("duckdb", "dask")


def _filesystem(base: str, storage_options: dict | None):
    """(fsspec filesystem or None for a local path, the path on it)."""
    if "://" not in base:
        return None, base
    import fsspec

    fs, path = fsspec.core.url_to_fs(base, **(storage_options or {}))
    return fs, path


class RunStore:
    """A run store opened for queries; see :func:`open_store`."""

    def __init__(self, path: str | os.PathLike, engine: str = "duckdb", *,
                 storage_options: dict | None = None, config: dict | None = None):
        if engine not in ENGINES:
            raise StoreError(f"unknown engine {engine!r}; engines are: {', '.join(ENGINES)}")
        self.path = str(path).rstrip("/") if "://" in str(path) else str(Path(path))
        self.engine_name, self.storage_options, self.config = engine, storage_options, config
        self._fs, self._fs_path = _filesystem(self.path, storage_options)
        self._manifest_text: str | None = None
        self._engine = None
        self._runs: pd.DataFrame | None = None
        self._refresh()

    def __repr__(self) -> str:
        return f"RunStore({self.path!r}, engine={self.engine_name!r}, runs={len(self._runs)})"

    # --- state --------------------------------------------------------------------------

    def _read_text(self, name: str) -> str:
        if self._fs is None:
            target = Path(self.path) / name
            if not target.exists():
                from .layout import read_manifest

                read_manifest(Path(self.path))  # raises the StoreError saying what is wrong
            return target.read_text(encoding="utf-8")
        target = f"{self._fs_path.rstrip('/')}/{name}"
        if not self._fs.exists(target):
            raise StoreError(f"{self.path}: no run store here (no {name})")
        with self._fs.open(target, "r", encoding="utf-8") as fh:
            return fh.read()

    def _refresh(self) -> None:
        """Re-read the manifest; when another ingest changed it, the new segments are used."""
        text = self._read_text(MANIFEST)
        if text == self._manifest_text:
            return
        manifest = parse_manifest(text, f"{self.path}/{MANIFEST}")
        self.manifest: Manifest = manifest
        self._manifest_text = text
        base = self.path if self._fs is None else self.path
        files = {t: [] for t in ALL_TABLES}
        order: dict[str, dict[str, None]] = {t: {} for t in ALL_TABLES}
        for seg in manifest.segments:
            for t, f in segment_files(base, seg.name).items():
                files[t].append(f)
                order[t].update(dict.fromkeys(seg.columns.get(t) or []))
        # the stored columns of each table, in the order first written (standard ones first)
        # (the events' billing columns are the cost queries' own, not part of the run's tables)
        self.column_order = {t: [c for c in cols if c not in BILLING_COLUMNS] for t, cols in order.items()}
        self.files, self.columns = files, {t: set(cols) for t, cols in order.items()}
        self._runs = self._read_runs()
        if self._engine is not None and hasattr(self._engine, "close"):
            self._engine.close()
        self._engine = self._make_engine()

    def _make_engine(self):
        if self.engine_name == "dask":
            from .dask_engine import DaskEngine

            return DaskEngine(self.files, self.columns, filesystem=self._fs, order=self.column_order,
                              to_fs_path=self._fs_path_of if self._fs is not None else None)
        from .duck import DuckDBEngine

        return DuckDBEngine(self.files, self.columns, self.config, filesystem=self._fs,
                            order=self.column_order)

    def _runs_files(self, columns: Sequence[str] | None = None, run_ids: Sequence[str] | None = None) -> pa.Table:
        """The runs table from every segment (``columns`` of it; rows of ``run_ids``)."""
        from .layout import arrow_table

        filters = [("run_id", "in", list(run_ids))] if run_ids is not None else None
        tables = [pq.read_table(f if self._fs is None else self._fs_path_of(f), filesystem=self._fs,
                                columns=list(columns) if columns else None, filters=filters)
                  for f in self.files[RUNS]]
        if not tables:
            table = arrow_table(pd.DataFrame(), RUNS)
            return table.select(list(columns)) if columns else table
        return pa.concat_tables(tables, promote_options="default")

    def _read_runs(self) -> pd.DataFrame:
        """The runs table without the metas' JSON (read for select() alone: at 100,000s of
        runs it would be most of the table's memory)."""
        from .duck import to_pandas

        columns = [c for c in self.column_order[RUNS] if c != "meta_json"] or \
            [c for c, _ in RUN_COLUMNS if c != "meta_json"]
        return to_pandas(self._runs_files(columns)).sort_values("seq", kind="stable").reset_index(drop=True)

    def _metas(self, run_ids: list[str]) -> list[dict]:
        """The whole meta of each of ``run_ids``, in that order."""
        import json

        table = self._runs_files(["run_id", "meta_json"], run_ids)
        texts = dict(zip(table.column("run_id").to_pylist(), table.column("meta_json").to_pylist()))
        return [json.loads(texts[rid]) for rid in run_ids]

    def _fs_path_of(self, url: str) -> str:
        return self._fs_path.rstrip("/") + url[len(self.path):]

    def refresh(self) -> "RunStore":
        """Pick up runs another ingest added since this store was opened (queries do this
        on their own too)."""
        self._refresh()
        return self

    # --- the run filter -------------------------------------------------------------------

    def runs(self, where: str | None = None, runs: Sequence[str] | None = None, *,
             include_failed: bool = False) -> pd.DataFrame:
        """The runs table (one row per run: id, path, format, model, started, tasks_total,
        ...; the whole meta comes with :meth:`select`), in ingest order, filtered.

        >>> store.runs(where="run_model LIKE 'gpt-4%'")[["run_id", "started"]]   # doctest: +SKIP
        """
        self._refresh()
        frame = self._runs
        if not include_failed:
            frame = frame[frame["load_error"].isna()]
        if runs is not None:
            wanted = [str(r) for r in ([runs] if isinstance(runs, str) else runs)]
            unknown = sorted(set(wanted) - set(frame["run_id"]))
            if unknown:
                raise StoreError(f"no run(s) {', '.join(map(repr, unknown[:10]))} in {self.path}"
                                 + (f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else ""))
            frame = frame[frame["run_id"].isin(wanted)]
        if where:
            frame = self._where(frame, where)
        return frame.reset_index(drop=True)

    @staticmethod
    def _where(frame: pd.DataFrame, where: str) -> pd.DataFrame:
        con = duckdb.connect()
        try:
            con.register("runs", pa.Table.from_pandas(frame, preserve_index=False))
            relation = con.sql(f"SELECT run_id FROM runs WHERE {where}")
            fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
            keep = set(fetch().column("run_id").to_pylist())
        except duckdb.Error as exc:
            raise StoreError(f"where={where!r} is not a valid condition on the runs table "
                             f"(columns: {', '.join(c for c, _ in RUN_COLUMNS)}): {exc}") from exc
        finally:
            con.close()
        return frame[frame["run_id"].isin(keep)]

    def _known(self, table: str) -> set[str]:
        """Columns a query may name: the stored ones and the schema's (NA where not stored)."""
        standard = SCHEMA[table] if table in SCHEMA else RUN_COLUMNS
        return self.columns[table] | {c for c, _ in standard}

    def _filtered(self, where: str | None, runs: Sequence[str] | None) -> bool:
        """Whether a query must keep to some runs (else every stored row counts: no run
        that failed to load has rows but its problems, which only problems() reads)."""
        return bool(where) or runs is not None

    def _selected(self, where: str | None, runs: Sequence[str] | None) -> pd.DataFrame:
        return self.runs(where=where, runs=runs)

    # --- queries ----------------------------------------------------------------------------

    def summary(self, *, where: str | None = None, runs: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per run, the columns of :meth:`Run.summary`: format, tasks, successes,
        pass rate, events, messages, failures, duration, cost, tokens, problems.

        >>> store.summary(where="benchmark = 'tau2'").head()                # doctest: +SKIP
        """
        selected = self._selected(where, runs)
        if selected.empty:
            return q.finish_summary(selected, pd.DataFrame(), pd.DataFrame(),
                                    {t: pd.Series(dtype="int64") for t in TABLES})
        parts = self._engine.per_run(selected, self._filtered(where, runs))
        sizes = {t: parts[f"rows:{t}"].set_index("run_id")["n"] for t in TABLES}
        return q.finish_summary(selected, parts["tasks"], parts["events"], sizes)

    def latency_stats(self, by: str | Sequence[str] = "kind", *, where: str | None = None,
                      runs: Sequence[str] | None = None) -> pd.DataFrame:
        """count, mean, p50, p90, p99 and max duration (ms) per group, the columns and rules
        of :func:`analysis_kit.analyses.latency_stats`; ``by`` may also name runs-table
        columns (``run_model``, ``benchmark``, ``run_id``...).

        >>> store.latency_stats(by=["run_model", "tool"], where="started >= DATE '2025-10-01'")  # doctest: +SKIP
        """
        names = as_list(by)
        selected = self._selected(where, runs)
        aliases = {k: v[0] for k, v in q.LATENCY_ALIASES.items()}
        keys = q.resolve_keys(names, self._known("events"), self._known(RUNS), aliases, "events")
        if selected.empty or not self.files["events"]:
            return q.finish_latency(pd.DataFrame(), names)
        include, exclude = q.latency_filter(names)
        grouped = self._engine.latency(keys, include, exclude, selected, self._filtered(where, runs))
        return q.finish_latency(grouped, names)

    def cost_by(self, by: str | Sequence[str] = "name", *, where: str | None = None,
                runs: Sequence[str] | None = None) -> pd.DataFrame:
        """Calls, priced/unpriced calls, cost, tokens and cache hit rate per group, as
        :func:`analysis_kit.analyses.cost_by` computes them for a Run; each run's cost rows
        are its own best source (billable events carrying cost or tokens, else messages,
        else tasks), where ``cost_by`` of a ``load_runs`` result picks one for all runs.

        >>> store.cost_by(by="run_model")                                   # doctest: +SKIP
        """
        names = as_list(by)
        selected = self._selected(where, runs)
        row_columns = set().union(*(self._known(t) for t in q.COST_SOURCES))
        keys = q.resolve_keys(names, row_columns, self._known(RUNS), q.COST_ALIASES, "events")
        if selected.empty:
            return q.finish_cost(pd.DataFrame(), keys)
        parts = self._engine.cost(q.row_keys(keys), selected, self._filtered(where, runs))
        return q.finish_cost(q.combine_cost(parts, keys, selected), keys)

    def failures_by(self, by: str | Sequence[str] = "step", *, where: str | None = None,
                    runs: Sequence[str] | None = None) -> pd.DataFrame:
        """Failures counted per group, most frequent first, with shares, as
        :func:`analysis_kit.analyses.failures_by`.

        >>> store.failures_by(by=["run_model", "classification"])          # doctest: +SKIP
        """
        names = as_list(by)
        selected = self._selected(where, runs)
        keys = q.resolve_keys(names, self._known("failures"), self._known(RUNS), None, "failures")
        if selected.empty:
            return q.finish_failures(pd.DataFrame(), names)
        counts = self._engine.failure_counts(q.row_keys(keys), selected, self._filtered(where, runs))
        return q.finish_failures(q.combine_failures(counts, keys, selected), names)

    def pass_rates(self, by: str | Sequence[str] = "run_id", *, n_boot: int = q.N_BOOT,
                   seed: int = q.SEED, level: float = q.LEVEL, where: str | None = None,
                   runs: Sequence[str] | None = None) -> pd.DataFrame:
        """Pass rate per group over task attempts with a known outcome (``success``, else
        reward == 1), with a seeded percentile bootstrap interval (see
        :func:`queries.bootstrap_rate`). Grouped by runs-table columns, tasks a run ran but
        does not list (convex) count from its meta, as in analyses.compare.

        >>> store.pass_rates(by="run_model")[["run_model", "pass_rate", "ci_low", "ci_high"]]  # doctest: +SKIP
        """
        names = as_list(by)
        selected = self._selected(where, runs)
        keys = q.resolve_keys(names, self._known("tasks"), self._known(RUNS), None, "tasks")
        if selected.empty:
            return empty_frame(names + q.PASS_COLUMNS)
        counted = self._engine.outcome_counts(q.row_keys(keys), selected, self._filtered(where, runs))
        counted = q.add_run_keys(counted, keys, selected)
        return q.finish_pass_rates(counted, selected, keys, n_boot=n_boot, seed=seed, level=level)

    def problems(self, *, where: str | None = None, runs: Sequence[str] | None = None) -> pd.DataFrame:
        """Every problems row of the chosen runs, those of paths that failed to load included."""
        selected = self.runs(where=where, runs=runs, include_failed=True)
        if selected.empty or not self.files["problems"]:
            return empty_table("problems")
        return self._engine.read("problems", selected)

    def select(self, runs: Sequence[str] | str | None = None, *, where: str | None = None,
               tables: Sequence[str] = TABLES) -> Run:
        """The chosen runs as one :class:`Run` (``run_id`` column, ``meta["runs"]``), as
        ``load_runs`` returns them, for every other analysis, plot and widget. ``tables``
        limits what is read (the others are empty).

        >>> run = store.select(where="run_model = 'gpt-4.1'")            # doctest: +SKIP
        >>> analysis_kit.analyses.compare(run)                            # doctest: +SKIP
        """
        selected = self._selected(where, [runs] if isinstance(runs, str) else runs)
        if selected.empty:
            raise StoreError(f"{self.path}: no run matches" + (f" where={where!r}" if where else ""))
        unknown = sorted(set(tables) - set(TABLES))
        if unknown:
            raise StoreError(f"unknown table(s) {unknown}; tables are: {', '.join(TABLES)}")
        metas = self._metas(list(selected["run_id"]))
        frames = {t: self._engine.read(t, selected) if t in tables else None for t in TABLES}
        formats = sorted({str(m.get("source_format")) for m in metas})
        ids = [m["run_id"] for m in metas]
        meta = {"run_id": "+".join(ids) if len(ids) <= 4 else f"{len(ids)} runs",
                "source_format": formats[0] if len(formats) == 1 else "mixed",
                "runs": metas, "run_ids": ids, "store": self.path}
        return Run(meta=meta, **frames)

    # --- the Runs report's tables (analysis_kit.store.report) -------------------------------

    def leaderboard(self, **kwargs: Any) -> pd.DataFrame:
        """See :func:`analysis_kit.store.report.leaderboard`."""
        from .report import leaderboard

        return leaderboard(self, **kwargs)

    def trends(self, **kwargs: Any) -> pd.DataFrame:
        """See :func:`analysis_kit.store.report.trends`."""
        from .report import trends

        return trends(self, **kwargs)


def open_store(path: str | os.PathLike, engine: str = "duckdb", *, storage_options: dict | None = None,
               config: dict | None = None) -> RunStore:
    """Open the run store at ``path`` (a folder, or an fsspec URL such as ``s3://bucket/store``
    with ``storage_options`` for its credentials) for queries with ``engine``: ``"duckdb"``
    (embedded, the default; ``config`` are DuckDB settings such as ``{"memory_limit": "1GB"}``)
    or ``"dask"`` (``dask.dataframe`` on the current scheduler: a ``distributed.Client``
    created beforehand makes it a cluster's).

    A store written by a newer or an older kit that this one cannot read is refused with a
    :class:`StoreError` saying which.

    >>> from analysis_kit.store import open_store                       # doctest: +SKIP
    >>> store = open_store("store/")                                     # doctest: +SKIP
    >>> store.latency_stats(by=["run_model", "tool"]).head()             # doctest: +SKIP
    """
    return RunStore(path, engine, storage_options=storage_options, config=config)
