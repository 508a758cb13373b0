"""Loading runs: detection, options, the cache and the table contract around each format's
own ``load``.

``load(path)`` finds the format (``sniff`` of each registered format, in priority order; a
folder holding a single run file is that run), checks the format's options, answers from
the cache when the source is unchanged, otherwise calls the format's loader, then checks the
tables against the contract (``model.KINDS``) and adds estimated costs where calls have
tokens but no price. ``load_runs`` does that for many paths, on both cores when there are
many, and concatenates them.

Loaders know nothing of the cache, and the cache knows nothing of loaders: this module
joins them (the cache key holds the format, its options, the source's files and a stamp of
the loader code).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Literal

import pandas as pd

from . import cache as cache_mod
from .exceptions import LoadError
from .loaders import Format, formats, get_format
from .model import KINDS, Run, concat_runs, conform

SNIFF_ERRORS = (OSError, UnicodeError, ValueError, RecursionError)
MAX_FOLDER_FILES = 50  # files of a folder looked at to find the one run it holds


def detect(path: str | os.PathLike) -> str:
    """The format of ``path``, or LoadError saying which formats were tried.

    >>> detect("sample_logs/maseval")                             # doctest: +SKIP
    'maseval'
    """
    return _resolve(Path(path))[1].name


def _sniffed(path: Path) -> Format | None:
    for spec in formats():
        try:
            if spec.sniff(path):
                return spec
        except SNIFF_ERRORS:
            continue
    return None


def _resolve(path: Path) -> tuple[Path, Format]:
    """(the path to load, its format). A folder no format reads as a whole, holding exactly
    one file of a known format, is that file (``sample_logs/tau2_results``)."""
    if not path.exists() and not path.is_symlink():
        raise LoadError("no such file or directory", file=str(path))
    spec = _sniffed(path)
    if spec is not None:
        return path, spec
    tried = ", ".join(f.name for f in formats())
    if path.is_dir():
        runs = run_files(path)
        if len(runs) == 1:
            return runs[0]
        if runs:
            names = ", ".join(p.name for p, _ in runs[:5]) + (", ..." if len(runs) > 5 else "")
            raise LoadError(f"the folder holds {len(runs)} runs ({names}): load one of them, or "
                            "all with load_runs()", file=str(path))
    raise LoadError(f"not a run of any supported format (tried: {tried})", file=str(path))


def run_files(folder: Path) -> list[tuple[Path, Format]]:
    """The runs directly inside ``folder`` (files and sub-folders a format reads), sorted."""
    try:
        entries = sorted(folder.iterdir())[:MAX_FOLDER_FILES]
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        spec = _sniffed(entry)
        if spec is not None:
            found.append((entry, spec))
    return found


def load(path: str | os.PathLike, *, format: str | None = None, strict: bool = False,
         cache: bool = True, **options: Any) -> Run:
    """Load one run from ``path``, detecting its format unless ``format`` is given.

    With ``strict=False`` unusable input becomes rows of ``run.problems``; with
    ``strict=True`` the first raises :class:`LoadError` naming the file and line. Options are
    the format's own (``turn=2`` for MassGen); an unknown or mistyped one is a LoadError.

    >>> import analysis_kit as ak                                   # doctest: +SKIP
    >>> run = ak.load("sample_logs/tau2_profile/profile.log")        # doctest: +SKIP
    >>> run.events.groupby("kind").duration_ms.median()               # doctest: +SKIP
    """
    p = Path(path)
    if format is None:
        p, spec = _resolve(p)
    else:
        spec = get_format(format)
        if not p.exists():
            raise LoadError("no such file or directory", file=str(p))
    chosen = spec.options_from(options, p)
    key = cache_key(p, spec, chosen) if cache and spec.cacheable and _worth_caching(p, spec) else None
    if key is not None:
        cached = cache_mod.get(key)
        if cached is not None:
            _raise_first_problem(cached, strict)
            return cached
    try:
        with _gc_paused():
            run = spec.load(p, strict=strict, **spec.option_key(chosen))
    except (LoadError, KeyboardInterrupt, MemoryError):
        raise
    except RecursionError as exc:
        raise LoadError(f"{spec.name}: the input is nested too deeply to read ({exc})", file=str(p)) from exc
    except Exception as exc:  # a parser bug must still name the file, never a bare traceback
        raise LoadError(f"{spec.name} loader failed: {type(exc).__name__}: {exc}", file=str(p)) from exc
    run.meta.setdefault("source_format", spec.name)
    run.meta.setdefault("path", str(p))
    changed = {k: v for k, v in spec.option_key(chosen).items() if v != getattr(spec.options(), k)}
    if changed:
        run.meta["load_options"] = changed
    check_contract(run, strict)
    from .pricing import estimate_costs

    estimate_costs(run)
    if key is not None:
        cache_mod.put(key, run)
    return run


class _gc_paused:
    """The cyclic GC paused while a loader builds millions of small objects: it would rescan
    the freshly parsed JSON trees over and over (a tau2 results load took 1.5x as long), and
    loaders make no cycles."""

    def __enter__(self):
        import gc

        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        import gc

        if self.was_enabled:
            gc.enable()
        return False


# Below this size a run parses about as fast as the cache reads it back (a 377 KB tau2
# results file: 19 ms to parse, 18 ms to read from the cache, 23 ms to write it there), so
# caching would only double its first load. Measured in benchmarks/bench_load_runs.py.
CACHE_MIN_BYTES = 4 << 20


def _worth_caching(path: Path, spec: Format) -> bool:
    read = Path(spec.cache_source(path)) if spec.cache_source else path
    try:
        if read.is_file():
            return read.stat().st_size >= CACHE_MIN_BYTES
        total = 0
        for root, _dirs, files in os.walk(read):
            total += sum(os.stat(os.path.join(root, f)).st_size for f in files)
            if total >= CACHE_MIN_BYTES:
                return True
    except OSError:
        return False
    return False


def _raise_first_problem(run: Run, strict: bool) -> None:
    if strict and len(run.problems):
        first = run.problems.iloc[0]
        line = None if pd.isna(first["line"]) else int(first["line"])
        raise LoadError(str(first["reason"]), file=str(first["file"]), line=line)


def check_contract(run: Run, strict: bool = False) -> None:
    """Problem rows for what breaks the tables' contract: events of a kind analyses do not
    know (they would be silently left out of every analysis)."""
    kinds = run.events["kind"]
    if set(pd.unique(kinds.dropna())) <= KINDS.keys() and not kinds.isna().any():
        return  # the usual case, without counting
    counts = kinds.value_counts(dropna=False)
    rows = []
    for kind, n in counts.items():
        if pd.isna(kind):
            rows.append(f"{n} event(s) without a kind: analyses will not count them")
        elif kind not in KINDS:
            rows.append(f"{n} event(s) of unknown kind {kind!r}: analyses will not count them "
                        f"(kinds are listed in model.KINDS)")
    if not rows:
        return
    if strict:
        raise LoadError(rows[0], file=str(run.meta.get("path")))
    extra = pd.DataFrame({"file": str(run.meta.get("path")), "line": None, "reason": rows, "raw": ""})
    run.problems = _appended(run.problems, extra, run.run_id)


def _appended(problems: pd.DataFrame, extra: pd.DataFrame, run_id: Any) -> pd.DataFrame:
    """``problems`` with the rows of ``extra`` after them (``run_id`` given to the new rows)."""
    extra = extra.assign(run_id=run_id)
    both = pd.concat([problems.astype({"run_id": "string"}), conform(extra, "problems")], ignore_index=True)
    return conform(both, "problems")


# ----------------------------------------------------------------------------- the cache key

_CODE_STAMP: list | None = None


def code_stamp() -> list:
    """Size and mtime of every module the tables depend on (the loaders package, the model,
    the pricing): a changed parser must not be answered with what an older one cached."""
    global _CODE_STAMP
    if _CODE_STAMP is None:
        here = Path(__file__).resolve().parent
        files = sorted((here / "loaders").glob("*.py")) + [here / "model.py", here / "pricing.py"]
        _CODE_STAMP = [cache_mod.file_stamp(f, relative_to=here) for f in files]
    return _CODE_STAMP


def cache_key(path: Path, spec: Format | str, options: Any = None) -> str:
    """The cache key of a load: format, options, the files the load reads, the code stamp."""
    spec = get_format(spec) if isinstance(spec, str) else spec
    options = spec.options() if options is None else options
    read = Path(spec.cache_source(path)) if spec.cache_source else path
    return cache_mod.make_key([spec.name, spec.option_key(options), str(Path(path).resolve()),
                               cache_mod.path_stamp(read), code_stamp()])


# ----------------------------------------------------------------------------- many runs

def expand_runs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Each path as the runs it holds: a run itself, or a folder of several runs (a folder of
    Inspect logs, of tau2 results files) as each of them."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir() and _sniffed(path) is None:
            runs = run_files(path)
            if len(runs) > 1:
                out.extend(p for p, _ in runs)
                continue
        out.append(path)
    return out


def _load_job(job: tuple) -> list[tuple[str, Run | None, str | None]]:
    """One job of ``load_runs``: ``(paths, format, strict, options, on_error)``. One path is
    loaded by ``load``; several (small runs of a format with ``load_many``) into one set of
    tables. Returns (path, run or None, why not) per run."""
    paths, format, strict, options, on_error = job
    if len(paths) == 1:
        path = paths[0]
        try:
            return [(str(path), load(path, format=format, strict=strict, **options), None)]
        except LoadError as exc:
            if on_error == "raise":
                raise
            return [(str(path), None, str(exc.reason if exc.file == str(path) else exc))]
    spec = get_format(format)
    with _gc_paused():
        run, failed = spec.load_many(paths, strict=strict)
    if failed and on_error == "raise":
        raise LoadError(failed[0][1], file=failed[0][0])
    for meta in run.meta.get("runs") or [run.meta]:
        meta.setdefault("source_format", spec.name)
    check_contract(run, strict)
    from .pricing import estimate_costs

    estimate_costs(run)
    return [(", ".join(map(str, paths)), run, None)] + [(p, None, r) for p, r in failed]


POOL_MIN_RUNS = 16  # fewer runs than this are loaded in this process (a pool costs ~0.5 s)
BATCH_RUNS = 64  # small runs of one format loaded into one set of tables at a time


def _jobs(paths: list[Path], format: str | None, strict: bool, options: dict, on_error: str) -> list[tuple]:
    """The jobs of ``load_runs``, in the paths' order: consecutive small runs of a format that
    can load several at once (``Format.load_many``, no options, not worth caching) share a
    job of up to BATCH_RUNS paths; every other path is a job of its own."""
    jobs: list[tuple] = []
    batch: list[Path] = []
    batch_format = None
    for path in paths:
        spec = None
        if not options:
            try:
                spec = get_format(format) if format else _resolve(path)[1]
            except LoadError:
                spec = None
            if spec is not None and (spec.load_many is None or (spec.cacheable and _worth_caching(path, spec))):
                spec = None
        if spec is not None and (batch_format == spec.name or not batch) and len(batch) < BATCH_RUNS:
            batch.append(path)
            batch_format = spec.name
            continue
        if batch:
            jobs.append((batch, batch_format, strict, options, on_error))
        batch, batch_format = ([path], spec.name) if spec is not None else ([], None)
        if spec is None:
            jobs.append(([path], format, strict, options, on_error))
    if batch:
        jobs.append((batch, batch_format, strict, options, on_error))
    return jobs


def load_runs(paths: Iterable[str | os.PathLike], *, format: str | None = None,
              strict: bool = False, progress: bool | None = None,
              on_error: Literal["raise", "skip"] = "raise", workers: int | None = None,
              **options: Any) -> Run:
    """Load several runs and concatenate them, each row tagged with its ``run_id``.

    A folder of several runs counts as each of them. Run ids are made unique (a second run
    named ``r`` becomes ``r#2``). ``on_error="skip"`` leaves out the paths that do not load
    and lists them in ``run.problems``; ``"raise"`` (the default) raises the first. Many runs
    load on ``workers`` processes (default: every core, from ``POOL_MIN_RUNS`` runs up), and
    small runs of a format that can (tau2 results) are built into one set of tables per
    batch: a run of a few hundred rows costs more in building its frames than in parsing.

    >>> runs = load_runs(["a.json", "b.json"], on_error="skip")   # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    if on_error not in ("raise", "skip"):
        raise LoadError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    paths = expand_runs(paths)
    if not paths:
        raise LoadError("load_runs needs at least one path")
    jobs = _jobs(paths, format, strict, options, on_error)
    workers = (os.cpu_count() or 1) if workers is None else workers
    bar = dict(desc="loading runs", unit="run", total=len(paths),
               disable=None if progress is None else not progress)
    if workers > 1 and len(paths) >= POOL_MIN_RUNS and len(jobs) > 1:
        results = _pooled(jobs, workers, bar)
    else:
        results = []
        with tqdm(**bar) as progress_bar:
            for job in jobs:
                results += _load_job(job)
                progress_bar.update(len(job[0]))
    runs = [run for _, run, _ in results if run is not None]
    skipped = [(path, reason) for path, run, reason in results if run is None]
    if not runs:
        raise LoadError("no run loaded: " + "; ".join(f"{p}: {r}" for p, r in skipped[:5]))
    combined = concat_runs(runs)
    if skipped:
        combined.meta["skipped"] = [{"path": p, "reason": r} for p, r in skipped]
        extra = pd.DataFrame({"file": [p for p, _ in skipped], "line": None,
                              "reason": [f"run not loaded: {r}" for _, r in skipped], "raw": ""})
        combined.problems = _appended(combined.problems, extra, None)
    return combined


def _pooled(jobs: list, workers: int, bar: dict) -> list:
    """``_load_job`` of each job on a process pool, results in the jobs' order.

    Workers are forked (they start at once and need no ``if __name__ == "__main__"`` guard in
    a user's script), unless polars has run in this process: forking while its thread pool
    lives can deadlock the child, so then they come from a fork server (which re-imports a
    script's main module: scripts that load profile logs before ``load_runs`` need the guard).
    """
    import multiprocessing as mp
    import sys
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    if "polars" in sys.modules:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["analysis_kit.loading"])
    else:
        ctx = mp.get_context("fork")
    results = []
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool, tqdm(**bar) as progress:
        for job, done in zip(jobs, pool.map(_load_job, jobs)):
            results += done
            progress.update(len(job[0]))
    return results
