"""Format detection and the one loading entry point.

Each loader is a module with ``FORMAT`` (its name), ``sniff(path) -> bool`` (a cheap look at
the path) and ``load(path, *, strict=False, **options) -> Run``. Loaders that set
``CACHEABLE = True`` get their tables cached as Arrow IPC files, keyed by path, size and mtime;
a loader whose run reads more than its path names that with ``cache_source(path) -> Path``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any, Iterable

from ..exceptions import LoadError
from ..model import Run, concat_runs

# Order matters: the first loader whose sniff() accepts the path wins.
LOADER_MODULES = {
    "massgen": "analysis_kit.loaders.massgen",
    "tau2_results": "analysis_kit.loaders.tau2_results",
    "tau2_profile": "analysis_kit.loaders.tau2_profile",
    "maseval": "analysis_kit.loaders.maseval",
    "convex": "analysis_kit.loaders.convex",
}
FORMATS = tuple(LOADER_MODULES)


def loader_module(fmt: str):
    if fmt not in LOADER_MODULES:
        raise LoadError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
    return importlib.import_module(LOADER_MODULES[fmt])


def detect(path: str | os.PathLike) -> str:
    """The format of ``path``, or LoadError saying which formats were tried."""
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        raise LoadError("no such file or directory", file=str(p))
    tried = []
    for fmt in FORMATS:
        tried.append(fmt)
        try:
            if loader_module(fmt).sniff(p):
                return fmt
        except (OSError, UnicodeError, ValueError):
            continue
    raise LoadError(
        f"not a run of any supported format (tried: {', '.join(tried)})", file=str(p)
    )


def load(path: str | os.PathLike, *, format: str | None = None, strict: bool = False,
         cache: bool = True, **options: Any) -> Run:
    """Load one run from ``path``, detecting its format unless ``format`` is given.

    With ``strict=False`` unusable input becomes rows of ``run.problems``; with
    ``strict=True`` the first raises :class:`LoadError` naming the file and line.

    >>> import analysis_kit as ak                                   # doctest: +SKIP
    >>> run = ak.load("sample_logs/tau2_profile/profile.log")        # doctest: +SKIP
    >>> run.events.groupby("kind").duration_ms.median()               # doctest: +SKIP
    """
    p = Path(path)
    fmt = format or detect(p)
    module = loader_module(fmt)
    if not p.exists():
        raise LoadError("no such file or directory", file=str(p))
    use_cache = cache and getattr(module, "CACHEABLE", False) and not options
    if use_cache:
        from .. import cache as cache_mod

        cached = cache_mod.get(p, fmt)
        if cached is not None:
            if strict and len(cached.problems):
                first = cached.problems.iloc[0]
                line = None if first["line"] is None or str(first["line"]) == "<NA>" else int(first["line"])
                raise LoadError(str(first["reason"]), file=str(first["file"]), line=line)
            return cached
    try:
        run = module.load(p, strict=strict, **options)
    except LoadError:
        raise
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # a parser bug must still name the file, never a bare traceback
        raise LoadError(f"{fmt} loader failed: {type(exc).__name__}: {exc}", file=str(p)) from exc
    run.meta.setdefault("source_format", fmt)
    run.meta.setdefault("path", str(p))
    if use_cache:
        from .. import cache as cache_mod

        cache_mod.put(p, fmt, run)
    return run


def load_runs(paths: Iterable[str | os.PathLike], *, format: str | None = None,
              strict: bool = False, progress: bool | None = None, **options: Any) -> Run:
    """Load several runs and concatenate them, each row tagged with its ``run_id``.

    Run ids are made unique (a second run named ``r`` becomes ``r#2``).
    """
    from tqdm.auto import tqdm

    paths = list(paths)
    if not paths:
        raise LoadError("load_runs needs at least one path")
    runs = [load(p, format=format, strict=strict, **options)
            for p in tqdm(paths, desc="loading runs", unit="run", disable=None if progress is None else not progress)]
    return concat_runs(runs)
