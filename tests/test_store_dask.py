"""The Dask engine on a distributed LocalCluster of two worker processes: the segments are
read and reduced on the workers, and the tables equal DuckDB's. (Starting the cluster
costs seconds to tens of seconds on a shared machine: marked slow.)"""

import pytest

from analysis_kit.store import ingest, open_store
from test_store import run_paths
from test_store_queries import same


@pytest.mark.slow
def test_dask_engine_on_a_local_cluster_of_two_workers(tmp_path):
    distributed = pytest.importorskip("distributed")
    root = tmp_path / "store"
    ingest(run_paths(), root, workers=1, progress=False, batch_runs=6)  # several segments
    duck = open_store(root)
    assert len(duck.manifest.segments) > 2
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        store = open_store(root, engine="dask")
        with distributed.get_task_stream(client) as stream:
            for name, kwargs in (("summary", {}), ("latency_stats", {"by": ["run_model", "tool"]}),
                                 ("cost_by", {"by": ["run_model", "agent"]}),
                                 ("failures_by", {"by": ["run_id", "step"]}), ("pass_rates", {"by": "run_model"})):
                same(getattr(store, name)(**kwargs), getattr(duck, name)(**kwargs), name)
        reads = [t for t in stream.data if "read-" in str(t["key"])]
        workers = set(cluster.workers[w].worker_address for w in cluster.workers)
        assert reads and {t["worker"] for t in reads} <= workers  # read on the workers, not here
