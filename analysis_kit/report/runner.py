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
from .assemble import Front, SectionResult
from .parameterize import (check_load_options, declared_parameters, notebook_path, notebooks_dir,
                           run_paths, validate)
from .sections import check_sections, section

FORMATS = ("md", "html")
# The parameter of a section that names other sections of the report instead of repeating
# their tables: the report gives it the sections that run.
SHOWN_ELSEWHERE = "shown_elsewhere"


@dataclass
class ReportResult:
    """The outcome of :func:`run_report`: one result per section and the files written."""

    out_dir: Path
    sections: list[SectionResult]
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every section that ran succeeded (one left out for having nothing to say is fine)."""
        return all(r.ok for r in self.sections if r.ran)

    @property
    def failed(self) -> list[str]:
        return [r.section for r in self.sections if r.ran and not r.ok]

    @property
    def skipped(self) -> dict[str, str]:
        """Sections left out for having nothing to say for this run, and why."""
        return {r.section: r.skipped for r in self.sections if not r.ran}


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
         options: dict[str, Any] | None = None, load_options: dict[str, Any] | None = None,
         redact: bool = True, out_dir: str | os.PathLike = ".",
         notebooks: str | os.PathLike | None = None) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Every section's notebook and validated parameters, before anything runs.

    The notebook is made from the section's description, unless ``notebooks`` (or
    ``$ANALYSIS_KIT_NOTEBOOKS``) names a folder of one's own. ``options`` (e.g.
    ``task_id``, ``stall_threshold_s``) go to the sections that declare them; one that no
    chosen section declares is a :class:`ParameterError`. ``load_options`` go to every
    section (``analysis_kit.load(path, **load_options)``). A section declaring
    ``shown_elsewhere`` is given the other sections chosen (the ones that then run, once
    the run is loaded: see :func:`run_report`).
    """
    chosen = check_sections(sections)
    resolved = run_paths(list(paths))
    run_path: str | list[str] = resolved[0] if len(resolved) == 1 else resolved
    load_options = check_load_options(load_options)
    given = {"run_path": run_path, "out_dir": str(Path(out_dir).resolve()), "redact": redact,
             "load_options": load_options}
    return _plan(chosen, given, options, notebooks)


def plan_store(store_dir: str | os.PathLike, sections: Sequence[str] | None = None, *,
               where: str | None = None, options: dict[str, Any] | None = None, redact: bool = True,
               out_dir: str | os.PathLike = ".",
               notebooks: str | os.PathLike | None = None) -> dict[str, tuple[Any, dict[str, Any]]]:
    """:func:`plan` for the sections of a run store's report (``store_dir``, ``where``)."""
    chosen = check_sections(sections, scope="store")
    given = {"store_dir": str(store_dir) if "://" in str(store_dir) else str(Path(store_dir).resolve()),
             "where": where, "out_dir": str(Path(out_dir).resolve()), "redact": redact}
    return _plan(chosen, given, options, notebooks)


def _plan(chosen: list[str], given: dict[str, Any], options: dict[str, Any] | None,
          notebooks: str | os.PathLike | None) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Each chosen section's notebook and parameters: of ``given`` those it declares, then
    ``options`` (each must be declared by some chosen section)."""
    options = dict(options or {})
    folder = notebooks if notebooks is not None else notebooks_dir()
    used: set[str] = set()
    planned = {}
    for name in chosen:
        if folder is not None:
            nb: Any = notebook_path(name, folder)
            declared = declared_parameters(nb)
            where = str(nb)
        else:
            from .notebooks import section_notebook

            nb = section_notebook(section(name))
            declared = section(name).parameters()
            where = f"section {name}"
        params = {k: v for k, v in given.items() if k in declared}
        if given.get("load_options") and "load_options" not in declared:
            raise ParameterError(f"{where} does not take load_options")
        if SHOWN_ELSEWHERE in declared:
            params[SHOWN_ELSEWHERE] = [s for s in chosen if s != name]
        for key, value in options.items():
            if key in declared:
                params[key] = value
                used.add(key)
        planned[name] = (nb, validate(declared, params, where=where))
    unused = sorted(set(options) - used)
    if unused:
        raise ParameterError(f"unknown parameter(s) {', '.join(unused)}: no chosen section "
                             f"({', '.join(chosen)}) declares them")
    return planned


def _run_section(section: str, notebook: Any, params: dict[str, Any], out_dir: Path, *,
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
        result.omitted = export.omitted_parts(result.notebook)
        if "md" in formats:
            result.markdown = export.to_markdown(result.notebook, result.section, out_dir, redact=redact)
        if "html" in formats:
            result.html = export.to_html(result.notebook, redact=redact)
    except Exception as exc:
        result.ok, result.error = False, f"export failed: {type(exc).__name__}: {exc}"
    result.seconds += time.perf_counter() - started
    return result


def _load(paths: list[str], load_options: dict[str, Any]):
    """Load every run in the parent (validating each, and filling the parse cache the
    kernels then read): (the run, as a ``load_runs`` would give it; (run ids, path) per path)."""
    from .. import load
    from ..model import concat_runs

    runs = [load(path, **load_options) for path in paths]
    run = runs[0] if len(runs) == 1 else concat_runs(runs)
    ids, front = run.run_ids, []
    for path, one in zip(paths, runs):
        n = len(one.run_ids)
        front.append((", ".join(ids[:n]), path))
        ids = ids[n:]
    return run, front


def run_report(paths: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *,
               sections: Sequence[str] | None = None, formats: Sequence[str] | str = FORMATS,
               timeout: float = 600, jobs: int = 2, redact: bool = True,
               options: dict[str, Any] | None = None, load_options: dict[str, Any] | None = None,
               notebooks: str | os.PathLike | None = None, kernel: str | None = None,
               progress: bool | None = None) -> ReportResult:
    """Generate the report of the run(s) at ``paths`` into ``out_dir``.

    Validates sections, formats, parameters and paths first (:class:`ParameterError`), loads
    the run once with ``load_options`` (a :class:`LoadError` stops here; the cache it fills is
    what the sections read), leaves out the sections with nothing to say for this run (named
    at the report's end), then executes the others ``jobs`` at a time. The report opens with
    the run's headline.

    >>> result = run_report(["sample_logs/tau2_results"], "reports/x")    # doctest: +SKIP
    >>> result.ok, [f.name for f in result.files]                          # doctest: +SKIP
    (True, ['ANALYSIS_REPORT.md', 'ANALYSIS_REPORT.html'])
    """
    from tqdm.auto import tqdm

    from .headline import Headline

    formats = check_formats(formats)
    out = Path(out_dir).resolve()
    load_options = check_load_options(load_options)
    planned = plan(paths, sections, options=options, load_options=load_options, redact=redact, out_dir=out,
                   notebooks=notebooks)
    resolved = run_paths(list(paths))
    todo: queue.Queue = queue.Queue()
    done: queue.Queue = queue.Queue()
    go, stop = threading.Event(), threading.Event()
    run_section = lambda item, warm: _run_section(*item, out, timeout=timeout, warm=warm)  # noqa: E731
    workers = [threading.Thread(target=_worker, args=(todo, done, go, stop, kernel, run_section),
                                name=f"report-worker-{i}", daemon=True)
               for i in range(max(1, min(int(jobs), len(planned))))]
    for w in workers:  # kernels start and import the kit while the run loads below
        w.start()
    try:
        run, front_runs = _load(resolved, load_options)
        skipped = {name: _nothing_to_say(name, run) for name in planned}
    except BaseException:
        stop.set()
        go.set()
        for w in workers:
            w.join()
        raise
    out.mkdir(parents=True, exist_ok=True)
    to_run = [name for name in planned if skipped[name] is None]
    for name in to_run:
        nb, params = planned[name]
        if SHOWN_ELSEWHERE in params:  # name only the sections this report shows
            params = {**params, SHOWN_ELSEWHERE: [s for s in params[SHOWN_ELSEWHERE] if s in to_run]}
        todo.put((name, nb, params))
    go.set()
    # The headline, while the kernels run the sections (a failed section keeps its anchor).
    try:
        headline: Any = Headline(run, sections={name: section(name).title for name in to_run},
                                 **_headline_options(options))
    except Exception as exc:  # a headline that cannot be made never costs the sections
        from ..safe import note

        headline = note(f"The headline could not be made: {type(exc).__name__}: {exc}")
    results: dict[str, SectionResult] = {name: SectionResult(name, skipped=reason)
                                         for name, reason in skipped.items() if reason is not None}
    with tqdm(total=len(to_run), desc="report sections", unit="section",
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
    front = Front(runs=front_runs, headline=headline)
    files = assemble.write(out, ordered, front, formats=formats, redact=redact)
    for w in workers:  # kernels shut down while the report was being written
        w.join()
    return ReportResult(out, ordered, files)


def run_store_report(store_dir: str | os.PathLike, out_dir: str | os.PathLike, *,
                     sections: Sequence[str] | None = None, where: str | None = None,
                     formats: Sequence[str] | str = FORMATS, timeout: float = 600, redact: bool = True,
                     options: dict[str, Any] | None = None, notebooks: str | os.PathLike | None = None,
                     kernel: str | None = None, progress: bool | None = None) -> ReportResult:
    """Generate the report of the run store at ``store_dir`` into ``out_dir``
    (``analysis-kit report --store DIR``): its sections (the Runs section) executed and
    exported as a run's sections are, assembled the same way; page one names the store and
    what it holds instead of a run's headline.

    Validates first: the store must open (a :class:`StoreError` naming what is wrong) and
    ``where`` must be a valid condition on its runs table.

    >>> run_store_report("store/", "reports/runs").files                  # doctest: +SKIP
    [PosixPath('reports/runs/ANALYSIS_REPORT.md'), PosixPath('reports/runs/ANALYSIS_REPORT.html')]
    """
    from tqdm.auto import tqdm

    from ..store import open_store
    from .execute import WarmKernel
    from .views.runs import facts_table

    formats = check_formats(formats)
    out = Path(out_dir).resolve()
    store = open_store(store_dir if "://" in str(store_dir) else Path(store_dir).resolve())
    store.runs(where=where)  # a bad condition fails here, not in a kernel
    planned = plan_store(store.path, sections, where=where, options=options, redact=redact, out_dir=out,
                         notebooks=notebooks)
    skipped = {name: _nothing_to_say(name, store) for name in planned}
    results: dict[str, SectionResult] = {name: SectionResult(name, skipped=reason)
                                         for name, reason in skipped.items() if reason is not None}
    to_run = [name for name in planned if skipped[name] is None]
    out.mkdir(parents=True, exist_ok=True)
    with tqdm(total=len(to_run), desc="report sections", unit="section",
              disable=None if progress is None else not progress) as bar:
        if to_run:
            with WarmKernel(kernel) as warm:
                for name in to_run:
                    result = _run_section(name, *planned[name], out, timeout=timeout, warm=warm)
                    results[name] = _export_section(result, out, formats=formats, redact=redact)
                    bar.update(1)
    ordered = [results[s] for s in planned]
    front = Front(runs=[(store.path, "")], headline=facts_table(store, where), label="Store")
    files = assemble.write(out, ordered, front, formats=formats, redact=redact)
    return ReportResult(out, ordered, files)


def _nothing_to_say(name: str, run: Any) -> str | None:
    """Why section ``name`` has nothing to say for ``run`` (None: it has). A check that
    fails runs the section anyway: its own error is then reported."""
    try:
        return section(name).has_content(run)
    except Exception:
        return None


def _headline_options(options: dict[str, Any] | None) -> dict[str, Any]:
    threshold = (options or {}).get("stall_threshold_s")
    return {"stall_threshold_s": float(threshold)} if threshold is not None else {}


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
