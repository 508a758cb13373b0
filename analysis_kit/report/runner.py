"""The batch report: validate everything, load the run once, run the sections in parallel,
export them, assemble the report. A failing section never stops the others.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..exceptions import ParameterError
from . import assemble
from .assemble import SectionResult
from .parameterize import check_sections, declared_parameters, notebook_path, run_paths, validate

FORMATS = ("md", "html")


@dataclass
class ReportResult:
    """The outcome of :func:`run_report`: one result per section and the files written."""

    out_dir: Path
    sections: list[SectionResult]
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.sections)

    @property
    def failed(self) -> list[str]:
        return [r.section for r in self.sections if not r.ok]


def check_formats(formats: Sequence[str] | str) -> tuple[str, ...]:
    """``"md,html"`` or a list -> a tuple of known formats.

    >>> check_formats("html,md")
    ('html', 'md')
    """
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    items = [f.strip().lower() for f in items if f.strip()]
    unknown = [f for f in items if f not in FORMATS]
    if unknown or not items:
        raise ParameterError(f"unknown report format(s) {unknown or items}; formats are: md, html")
    return tuple(items)


def plan(paths: Sequence[str | os.PathLike], sections: Sequence[str] | None = None, *,
         options: dict[str, Any] | None = None, redact: bool = True, out_dir: str | os.PathLike = ".",
         notebooks: str | os.PathLike | None = None) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Every section's notebook and validated parameters, before anything runs.

    ``options`` (e.g. ``task_id``, ``stall_threshold_s``) go to the sections whose notebooks
    declare them; one that no chosen section declares is a :class:`ParameterError`.
    """
    chosen = check_sections(sections)
    resolved = run_paths(list(paths))
    run_path: str | list[str] = resolved[0] if len(resolved) == 1 else resolved
    options = dict(options or {})
    used: set[str] = set()
    planned = {}
    for section in chosen:
        nb = notebook_path(section, notebooks)
        declared = declared_parameters(nb)
        params = {"run_path": run_path, "out_dir": str(Path(out_dir).resolve()), "redact": redact}
        params = {k: v for k, v in params.items() if k in declared or k == "run_path"}
        for name, value in options.items():
            if name in declared:
                params[name] = value
                used.add(name)
        planned[section] = (nb, validate(nb, params))
    unused = sorted(set(options) - used)
    if unused:
        raise ParameterError(f"unknown parameter(s) {', '.join(unused)}: no chosen section "
                             f"({', '.join(chosen)}) declares them")
    return planned


def _run_section(section: str, notebook: Path, params: dict[str, Any], out_dir: Path, *,
                 timeout: float, warm: Any) -> SectionResult:
    """Execute one section (in a worker thread); :func:`_export_section` follows."""
    result = SectionResult(section)
    started = time.perf_counter()
    executed = out_dir / "notebooks" / f"{section}.ipynb"
    result.notebook = executed
    try:
        warm.execute(notebook, executed, params, timeout=timeout)
        result.ok = True
    except Exception as exc:  # a failed section is reported, never fatal to the others
        from .execute import describe_error

        result.error = describe_error(exc)
    result.seconds = time.perf_counter() - started
    return result


def _export_section(result: SectionResult, out_dir: Path, *, formats: tuple[str, ...],
                    redact: bool) -> SectionResult:
    """Export an executed section (in the parent thread, while the kernels run the next ones)."""
    from . import export

    if not result.ok:
        return result
    started = time.perf_counter()
    try:
        if "md" in formats:
            result.markdown = export.to_markdown(result.notebook, result.section, out_dir, redact=redact)
        if "html" in formats:
            result.html = export.to_html(result.notebook, redact=redact)
    except Exception as exc:
        result.ok, result.error = False, f"export failed: {type(exc).__name__}: {exc}"
    result.seconds += time.perf_counter() - started
    return result


def run_report(paths: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *,
               sections: Sequence[str] | None = None, formats: Sequence[str] | str = FORMATS,
               timeout: float = 600, jobs: int = 2, redact: bool = True,
               options: dict[str, Any] | None = None, notebooks: str | os.PathLike | None = None,
               kernel: str | None = None, progress: bool | None = None) -> ReportResult:
    """Generate the report of the run(s) at ``paths`` into ``out_dir``.

    Validates sections, formats, parameters and paths first (:class:`ParameterError`), loads
    the run once (a :class:`LoadError` stops here; the Parquet cache it fills is what the
    sections read), then executes the sections ``jobs`` at a time.

    >>> result = run_report(["sample_logs/tau2_results"], "reports/x")    # doctest: +SKIP
    >>> result.ok, [f.name for f in result.files]                          # doctest: +SKIP
    (True, ['ANALYSIS_REPORT.md', 'ANALYSIS_REPORT.html'])
    """
    from tqdm.auto import tqdm

    from .. import load

    formats = check_formats(formats)
    out = Path(out_dir).resolve()
    planned = plan(paths, sections, options=options, redact=redact, out_dir=out, notebooks=notebooks)
    resolved = run_paths(list(paths))
    out.mkdir(parents=True, exist_ok=True)
    todo: queue.Queue = queue.Queue()
    for section, (nb, params) in planned.items():
        todo.put((section, nb, params))
    done: queue.Queue = queue.Queue()
    go, stop = threading.Event(), threading.Event()
    run_section = lambda item, warm: _run_section(*item, out, timeout=timeout, warm=warm)  # noqa: E731
    workers = [threading.Thread(target=_worker, args=(todo, done, go, stop, kernel, run_section),
                                name=f"report-worker-{i}", daemon=True)
               for i in range(max(1, min(int(jobs), len(planned))))]
    for w in workers:  # kernels start and import the kit while the run loads below
        w.start()
    try:
        for path in resolved:  # validates each run up front and fills the cache the kernels share
            load(path)
    except BaseException:
        stop.set()
        go.set()
        for w in workers:
            w.join()
        raise
    go.set()
    results: dict[str, SectionResult] = {}
    with tqdm(total=len(planned), desc="report sections", unit="section",
              disable=None if progress is None else not progress) as bar:
        while len(results) < len(planned):
            try:
                result = done.get(timeout=1.0)
            except queue.Empty:
                if any(w.is_alive() for w in workers):
                    continue
                # every worker is gone: whatever is left never ran
                result = next(SectionResult(s, error="the report worker stopped before this section ran")
                              for s in planned if s not in results)
            results[result.section] = _export_section(result, out, formats=formats, redact=redact)
            bar.set_postfix_str(f"{result.section} {'ok' if result.ok else 'FAILED'}")
            bar.update(1)
    ordered = [results[s] for s in planned]
    files = assemble.write(out, ordered, resolved, formats=formats, redact=redact)
    for w in workers:  # kernels shut down while the report was being written
        w.join()
    return ReportResult(out, ordered, files)


def _worker(todo: queue.Queue, done: queue.Queue, go: threading.Event, stop: threading.Event,
            kernel: str | None, run_section: Any) -> None:
    """Take sections off ``todo`` until none is left, all on one warm kernel."""
    from .execute import WarmKernel

    with WarmKernel(kernel) as warm:
        go.wait()
        while not stop.is_set():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put(run_section(item, warm))
            except BaseException as exc:  # never leave the parent waiting for a result
                done.put(SectionResult(item[0], error=f"{type(exc).__name__}: {exc}"))
