"""A second tau2 results run of the same sample tasks (another seed), so that the comparison
section and ``load_runs`` have two runs of one benchmark to put side by side."""

from __future__ import annotations

from pathlib import Path

from . import tau2_results

FORMAT = "tau2_results"  # the loader that reads it
FILE_NAME = "tau2_airline_results_rerun.json"


def write(directory: str | Path, *, seed: int = 7, size: int = 1) -> Path:
    """Write the rerun under ``directory`` and return its path.

    >>> import tempfile                                                        # doctest: +SKIP
    >>> write(tempfile.mkdtemp()).name                                          # doctest: +SKIP
    'tau2_airline_results_rerun.json'
    """
    first = tau2_results.write(directory, seed=seed + 101, size=size)
    return first.replace(Path(directory) / FILE_NAME)
