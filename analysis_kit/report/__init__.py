"""The batch report: papermill executes the section notebooks, nbconvert exports them,
and the sections are assembled into ANALYSIS_REPORT.md and ANALYSIS_REPORT.html.

Flat modules with one job each, like papermill's own package: ``sections`` (the one
description of every section), ``notebooks`` (the notebooks made from it), ``views`` (what
each part of a section shows), ``headline`` (page one), ``parameterize`` (parameter
validation, opening the run), ``execute`` (papermill), ``export`` (nbconvert),
``assemble`` (the report files), ``runner`` (the whole run). Importing this package is
light: section notebooks call :func:`open_run` without paying for papermill or nbconvert.

>>> from analysis_kit.report import run_report                     # doctest: +SKIP
>>> run_report(["sample_logs/tau2_results"], "reports/tau2").ok     # doctest: +SKIP
True
"""

from __future__ import annotations

from typing import Any

from .parameterize import check_load_options, declared_parameters, open_run, run_paths, validate
from .sections import SECTIONS, TITLES, Param, Part, Section, check_sections, names, section

__all__ = [
    "SECTIONS", "TITLES", "Section", "Part", "Param", "section", "names", "check_sections",
    "check_load_options", "declared_parameters", "open_run", "run_paths", "validate",
    "run_report", "ReportResult", "SectionResult", "write_notebooks", "notebook",
]


def __getattr__(name: str) -> Any:
    # The runner pulls in papermill and nbconvert, the notebooks nbformat: only on first use.
    if name in ("run_report", "ReportResult"):
        from . import runner

        return getattr(runner, name)
    if name == "SectionResult":
        from .assemble import SectionResult

        return SectionResult
    if name in ("write_notebooks", "notebook"):
        from . import notebooks

        return getattr(notebooks, name)
    raise AttributeError(name)
