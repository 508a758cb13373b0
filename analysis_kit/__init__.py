"""analysis_kit: load runs of LLM-agent benchmarks into tidy tables, analyse and report them.

>>> import analysis_kit as ak                          # doctest: +SKIP
>>> run = ak.load("sample_logs/tau2_results")           # doctest: +SKIP
>>> run.summary()                                        # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys

# polars' allocator (jemalloc) hands freed memory back to the system at once by default, so a
# load that parses block after block faults fresh pages in for every block: measured 1.1M page
# faults and 4-5 s of system time in a 5M-line profile log load. Keeping freed pages for a few
# seconds lets the next block reuse them (0.7M faults, 1-2 s faster; benchmarks/README.md).
# jemalloc reads this once, when polars loads: a user's own setting wins, and it does nothing
# if polars was imported before analysis_kit.
if "polars" not in sys.modules:
    os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:5000,muzzy_decay_ms:5000")

from .exceptions import AnalysisKitError, LoadError, ParameterError
from .loading import detect, load, load_runs
from .model import Run, concat_runs

__all__ = [
    "AnalysisKitError", "LoadError", "ParameterError", "FORMATS", "Run", "concat_runs",
    "detect", "load", "load_runs",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "FORMATS":  # the registered format names, in detection order (found on first use)
        from .loaders import formats

        return tuple(f.name for f in formats())
    raise AttributeError(name)
