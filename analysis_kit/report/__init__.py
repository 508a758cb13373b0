"""The batch report: papermill executes the section notebooks, nbconvert exports them,
and the sections are assembled into ANALYSIS_REPORT.md and ANALYSIS_REPORT.html.

Flat modules with one job each, like papermill's own package:
``parameterize`` (sections, defaults, parameter validation), ``execute`` (papermill),
``export`` (nbconvert), ``assemble`` (the report files), ``runner`` (the whole run).
Importing this package is light: section notebooks call :func:`open_run` and
:func:`default_run` without paying for papermill or nbconvert.

>>> from analysis_kit.report import run_report                     # doctest: +SKIP
>>> run_report(["sample_logs/tau2_results"], "reports/tau2").ok     # doctest: +SKIP
True
"""

from __future__ import annotations

from typing import Any

from .parameterize import (DEFAULT_FORMATS, SECTIONS, TITLES, check_sections, declared_parameters,
                           default_run, notebook_path, notebooks_dir, open_run, run_paths,
                           samples_dir, validate)

__all__ = [
    "SECTIONS", "TITLES", "DEFAULT_FORMATS", "check_sections", "declared_parameters",
    "default_run", "notebook_path", "notebooks_dir", "open_run", "run_paths", "samples_dir",
    "validate", "run_report", "ReportResult", "SectionResult",
]


def __getattr__(name: str) -> Any:
    # The runner pulls in papermill and nbconvert: only on first use.
    if name in ("run_report", "ReportResult"):
        from . import runner

        return getattr(runner, name)
    if name == "SectionResult":
        from .assemble import SectionResult

        return SectionResult
    raise AttributeError(name)
