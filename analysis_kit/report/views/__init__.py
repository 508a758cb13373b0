"""What each report section shows, as functions of a run: one module per section, one
function per part (``views.latency.by_kind(run)``), each returning a displayable
(:mod:`analysis_kit.report.display`). The section notebooks are cells calling these, so
everything a section computes is tested here, not in a notebook.

Each module has ``has_content(run) -> str | None``: None when the section has something to
say for ``run``, else the reason it has not ("one run: nothing to compare"). A part with
nothing to say returns :class:`~analysis_kit.report.display.Omitted`.

>>> from analysis_kit.report.views import latency            # doctest: +SKIP
>>> latency.by_kind(run)                                      # doctest: +SKIP
"""
