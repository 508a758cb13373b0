"""Report sections, their notebooks, and the parameters each notebook accepts.

Parameters are checked against the notebook's own ``parameters`` cell (as
``papermill.inspect_notebook`` reads it) before anything runs: an unknown name, a value of
the wrong type or a run path that does not exist is a :class:`ParameterError` up front, not
a warning and a failed kernel later. Values are passed typed (papermill writes them with a
safe literal translator), never as ``-p`` strings whose type papermill would guess.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any, Sequence

from ..exceptions import ParameterError

# Report order. Each section is notebooks/<name>.ipynb.
SECTIONS: tuple[str, ...] = (
    "overview", "latency", "timeline", "cost", "failures", "conversations",
    "coordination", "comparison", "problems",
)
TITLES = {
    "overview": "Overview", "latency": "Latency", "timeline": "Timeline",
    "cost": "Cost and tokens", "failures": "Failures", "conversations": "Conversations",
    "coordination": "Coordination", "comparison": "Comparison", "problems": "Input problems",
}
# The bundled sample run that shows each section best (format names of samples.json).
# Comparison needs two runs: two tau2-bench runs of the same sample tasks.
DEFAULT_FORMATS: dict[str, str | tuple[str, ...]] = {
    "overview": "tau2_results", "latency": "tau2_profile", "timeline": "tau2_profile",
    "cost": "maseval", "failures": "convex", "conversations": "tau2_results",
    "coordination": "massgen", "comparison": ("tau2_results", "tau2_results_rerun"), "problems": "tau2_profile",
}
REPO_ROOT = Path(__file__).resolve().parents[2]


def samples_dir() -> Path:
    """Where the bundled sample runs are: ``$ANALYSIS_KIT_SAMPLES`` or the repo's sample_logs/."""
    return Path(os.environ.get("ANALYSIS_KIT_SAMPLES") or REPO_ROOT / "sample_logs")


def notebooks_dir() -> Path:
    """Where the section notebooks are: ``$ANALYSIS_KIT_NOTEBOOKS`` or the repo's notebooks/."""
    return Path(os.environ.get("ANALYSIS_KIT_NOTEBOOKS") or REPO_ROOT / "notebooks")


def check_sections(sections: Sequence[str] | None) -> list[str]:
    """The sections asked for, in report order; an unknown name is a ParameterError.

    >>> check_sections(["latency", "overview"])
    ['overview', 'latency']
    """
    if not sections:
        return list(SECTIONS)
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ParameterError(f"unknown section(s) {', '.join(map(repr, unknown))}; "
                             f"sections are: {', '.join(SECTIONS)}")
    return [s for s in SECTIONS if s in set(sections)]


def default_run(section: str, samples: str | os.PathLike | None = None) -> str | list[str]:
    """The bundled sample run(s) suited to ``section``, read from ``samples.json``.

    >>> default_run("latency")                                  # doctest: +SKIP
    '/work/main/sample_logs/tau2_profile/profile.log'
    """
    from ..samples import sample_paths

    check_sections([section])
    base = Path(samples) if samples is not None else samples_dir()
    try:
        paths = sample_paths(base)
    except (OSError, ValueError) as exc:
        raise ParameterError(f"no sample index in {base} ({exc}); run `analysis-kit samples {base}` "
                             "or pass run_path") from exc
    wanted = DEFAULT_FORMATS[section]
    formats = [wanted] if isinstance(wanted, str) else list(wanted)
    missing = [f for f in formats if f not in paths]
    if missing:
        raise ParameterError(f"samples.json in {base} has no {', '.join(missing)} run")
    resolved = [str(paths[f].resolve()) for f in formats]
    return resolved[0] if isinstance(wanted, str) else resolved


def run_paths(run_path: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """``run_path`` (one path or several) as absolute path strings; a missing one is an error.

    >>> run_paths([])
    Traceback (most recent call last):
    ...
    analysis_kit.exceptions.ParameterError: run_path is empty: give at least one run file or directory
    """
    items = [run_path] if isinstance(run_path, (str, os.PathLike)) else list(run_path)
    if not items:
        raise ParameterError("run_path is empty: give at least one run file or directory")
    bad = [p for p in items if not isinstance(p, (str, os.PathLike))]
    if bad:
        raise ParameterError(f"run_path must be a string or a list of strings, not {bad[0]!r}")
    missing = [str(p) for p in items if not Path(p).exists()]
    if missing:
        raise ParameterError(f"run path not found: {', '.join(map(repr, missing))}")
    return [str(Path(p).resolve()) for p in items]


def open_run(run_path: Any, section: str):
    """What a section notebook calls first: the run at ``run_path`` (None = the section's
    bundled sample; a list = ``load_runs``).

    >>> run = open_run(None, "overview")                        # doctest: +SKIP
    """
    from .. import load, load_runs

    if run_path is None:
        run_path = default_run(section)
    paths = run_paths(run_path)
    if isinstance(run_path, (str, os.PathLike)):
        return load(paths[0])
    return load_runs(paths, progress=False)


def notebook_path(section: str, directory: str | os.PathLike | None = None) -> Path:
    """The notebook of ``section`` (``<directory>/<section>.ipynb``)."""
    path = Path(directory if directory is not None else notebooks_dir()) / f"{section}.ipynb"
    if not path.exists():
        raise ParameterError(f"no notebook for section {section!r}: {path} does not exist")
    return path


def declared_parameters(notebook: str | os.PathLike) -> dict[str, Any]:
    """The notebook's parameters and their default values (as Python values).

    >>> declared_parameters("notebooks/latency.ipynb")["redact"]   # doctest: +SKIP
    True
    """
    import papermill

    found = papermill.inspect_notebook(str(notebook))
    if not found:
        raise ParameterError(f"{notebook} has no cell tagged 'parameters'")
    defaults = {}
    for name, info in found.items():
        try:
            defaults[name] = ast.literal_eval(info.get("default") or "None")
        except (ValueError, SyntaxError):
            defaults[name] = None  # a computed default: any type accepted
    return defaults


def _type_ok(value: Any, default: Any) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))


def validate(notebook: str | os.PathLike, parameters: dict[str, Any]) -> dict[str, Any]:
    """Check ``parameters`` against the notebook's parameters cell; return them unchanged.

    Raises :class:`ParameterError` for an unknown name or a value whose type differs from the
    default's (a ``None`` default accepts anything), and for a run_path that does not exist.
    """
    declared = declared_parameters(notebook)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ParameterError(f"{Path(notebook).name}: unknown parameter(s) {', '.join(unknown)}; "
                             f"it accepts: {', '.join(declared)}")
    for name, value in parameters.items():
        if not _type_ok(value, declared[name]):
            raise ParameterError(f"{Path(notebook).name}: parameter {name}={value!r} should be a "
                                 f"{type(declared[name]).__name__} like its default {declared[name]!r}")
    if parameters.get("run_path") is not None:
        run_paths(parameters["run_path"])
    return parameters
