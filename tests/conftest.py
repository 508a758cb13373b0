import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_LOGS = ROOT.parent / "shared" / "real_logs"
SAMPLES = ROOT / "sample_logs"

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own parse cache, so no test sees another's cached tables."""
    monkeypatch.setenv("ANALYSIS_KIT_CACHE_DIR", str(tmp_path_factory.mktemp("akcache")))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def real(*parts) -> Path:
    """A path under ../shared/real_logs; the test skips (saying why) if it is absent."""
    path = REAL_LOGS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real log {path} is not present on this machine")
    return path
