"""analysis_kit: load runs of LLM-agent benchmarks into tidy tables, analyse and report them.

>>> import analysis_kit as ak                          # doctest: +SKIP
>>> run = ak.load("sample_logs/tau2_results")           # doctest: +SKIP
>>> run.summary()                                        # doctest: +SKIP
"""

from __future__ import annotations

from .exceptions import AnalysisKitError, LoadError, ParameterError
from .loaders import FORMATS, detect, load, load_runs
from .model import Run, concat_runs

__all__ = [
    "AnalysisKitError", "LoadError", "ParameterError", "FORMATS", "Run", "concat_runs",
    "detect", "load", "load_runs",
]
__version__ = "0.1.0"
