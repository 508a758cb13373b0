"""A run store: many runs' tables in Parquet, queried by DuckDB (or Dask on a cluster).

>>> from analysis_kit.store import ingest, open_store              # doctest: +SKIP
>>> ingest(["runs/a.json", "runs/b.json"], "store/")                # doctest: +SKIP
>>> store = open_store("store/")                                     # doctest: +SKIP
>>> store.latency_stats(by=["run_model", "tool"], where="started >= DATE '2025-10-01'")  # doctest: +SKIP
>>> run = store.select(where="run_model = 'gpt-4.1'")               # a Run, as load_runs gives  # doctest: +SKIP

``ingest`` (module :mod:`.writer`) writes; :func:`open_store` (module :mod:`.api`) reads;
:mod:`.layout` is the format on disk; :mod:`.queries` what both engines share;
:mod:`.duck` and :mod:`.dask_engine` the engines; :mod:`.report` the Runs report.
Importing this package is light: DuckDB, Dask and pyarrow load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ingest", "compact", "open_store", "RunStore", "IngestResult", "StoreError",
           "STORE_SCHEMA_VERSION"]

_WHERE = {"ingest": "writer", "compact": "writer", "IngestResult": "writer", "open_store": "api",
          "RunStore": "api", "StoreError": "layout", "STORE_SCHEMA_VERSION": "layout"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(name)
