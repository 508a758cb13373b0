"""Generated sample runs of every supported format.

Each format has a module here with ``write(directory, *, seed, size) -> Path`` that writes one
realistic run (concurrent threads, tool errors, retries, a stalled task, unpriced calls,
failures of each kind, messages carrying markdown, HTML and ``<script>`` text) and returns
its path. Output is deterministic for a seed; ``size`` scales the number of tasks/lines.

The section notebooks open a sample run when given none: :func:`sample_run` finds it in
``$ANALYSIS_KIT_SAMPLES`` (a folder :func:`write_samples` wrote, e.g. the repository's
``sample_logs``), else writes the samples once into the user's cache (generation is
deterministic and takes about a second), so an installed kit needs no repository.

>>> from analysis_kit.samples import write_samples          # doctest: +SKIP
>>> write_samples("/tmp/samples", seed=7)                      # doctest: +SKIP
>>> sample_run("tau2_profile")                                 # doctest: +SKIP
'/home/me/.cache/analysis_kit/samples-0.1.0-seed7/tau2_profile/profile.log'
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

INDEX_NAME = "samples.json"  # format -> path of its run, relative to the samples folder
SAMPLES_ENV = "ANALYSIS_KIT_SAMPLES"
DEFAULT_SEED = 7



def sample_writers() -> dict[str, tuple[str, str]]:
    """{sample name: (format, "module:function")}: the sample writers the formats register."""
    from ..loaders import formats

    return {name: (spec.name, writer) for spec in formats() for name, writer in spec.samples.items()}


def _writer(target: str):
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)

# Untrusted text that sample messages carry, so every display path is exercised.
HOSTILE_SNIPPETS = (
    "<script>window.__ak_pwned = 1; alert('xss')</script>",
    "<img src=x onerror=\"window.__ak_pwned=2\">",
    "**bold** _markdown_ | a | table |\n|---|---|",
    "\x1b[31mANSI red\x1b[0m",
    "Authorization: Bearer sk-test-FAKE0123456789abcdefABCDEF",
)


def write_samples(directory: str | Path, *, seed: int = 7, size: int = 1, clean: bool = False,
                  formats: list[str] | None = None) -> list[Path]:
    """Write one sample run per format under ``directory/<format>/`` and return their paths."""
    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    writers = sample_writers()
    written = []
    for fmt in formats or list(writers):
        if fmt not in writers:
            raise ValueError(f"unknown sample format {fmt!r}; known: {', '.join(writers)}")
        target = base / fmt
        if clean and target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True, exist_ok=True)
        written.append(_writer(writers[fmt][1])(target, seed=seed, size=size))
    index_file = base / INDEX_NAME
    index = json.loads(index_file.read_text()) if index_file.exists() else {}
    for fmt, path in zip(formats or list(writers), written):
        index[fmt] = Path(path).relative_to(base).as_posix()
    index_file.write_text(json.dumps(dict(sorted(index.items())), indent=2) + "\n")
    return written


def copy_packaged(name: str, target: Path) -> Path:
    """Copy a sample file shipped in this package (written by a framework itself, e.g. an
    Inspect log) to ``target``; the writers of such samples are this one call."""
    from importlib import resources

    with resources.as_file(resources.files(__package__) / name) as packaged:
        shutil.copyfile(packaged, target)
    return target


def sample_format(name: str) -> str:
    """The loader format of sample ``name`` (a sample may be a second run of a format).

    >>> sample_format("tau2_results_rerun"), sample_format("massgen")
    ('tau2_results', 'massgen')
    """
    writers = sample_writers()
    return writers[name][0] if name in writers else name


def sample_paths(directory: str | Path) -> dict[str, Path]:
    """The runs written under ``directory`` by :func:`write_samples`, by format."""
    base = Path(directory)
    index = json.loads((base / INDEX_NAME).read_text())
    return {fmt: base / rel for fmt, rel in index.items()}


def samples_dir() -> Path:
    """Where :func:`sample_run` looks: ``$ANALYSIS_KIT_SAMPLES``, else a folder of this
    kit version's samples in the user's cache (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    env = os.environ.get(SAMPLES_ENV)
    if env:
        return Path(env)
    from .. import __version__

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "analysis_kit" / f"samples-{__version__}-seed{DEFAULT_SEED}"


def _ensure(base: Path, names: list[str]) -> dict[str, Path]:
    """The sample index of ``base``, writing the samples first when any named one is missing.
    They are written into a temporary folder and moved into place, so two kernels asking at
    once never read a half-written sample."""
    try:
        paths = sample_paths(base)
        if all(n in paths and paths[n].exists() for n in names):
            return paths
    except (OSError, ValueError):
        pass
    if os.environ.get(SAMPLES_ENV):
        write_samples(base, seed=DEFAULT_SEED)
        return sample_paths(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=base.name + ".", dir=base.parent))
    write_samples(staging, seed=DEFAULT_SEED)
    try:
        if base.exists():
            shutil.rmtree(base, ignore_errors=True)
        os.replace(staging, base)
    except OSError:  # another process moved its copy in first: use that one
        shutil.rmtree(staging, ignore_errors=True)
    return sample_paths(base)


def sample_run(name: str | Sequence[str]) -> str | list[str]:
    """The absolute path of sample run ``name`` (a name of :func:`sample_writers`),
    or a list of paths for a list of names; written first if absent (see :func:`samples_dir`).

    >>> sample_run(["tau2_results", "tau2_results_rerun"])      # doctest: +SKIP
    """
    names = [name] if isinstance(name, str) else list(name)
    known = sample_writers()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown sample {unknown[0]!r}; samples are: {', '.join(known)}")
    paths = _ensure(samples_dir(), names)
    resolved = [str(paths[n].resolve()) for n in names]
    return resolved[0] if isinstance(name, str) else resolved
