"""Generated sample runs of every supported format.

Each format has a module here with ``write(directory, *, seed, size) -> Path`` that writes one
realistic run (concurrent threads, tool errors, retries, a stalled task, unpriced calls,
failures of each kind, messages carrying markdown, HTML and ``<script>`` text) and returns
its path. Output is deterministic for a seed; ``size`` scales the number of tasks/lines.

>>> from analysis_kit.samples import write_samples          # doctest: +SKIP
>>> write_samples("/tmp/samples", seed=7)                      # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

INDEX_NAME = "samples.json"  # format -> path of its run, relative to the samples folder



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
