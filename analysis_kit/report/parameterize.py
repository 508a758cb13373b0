"""The parameters a section accepts, checked before anything runs; and the run a section
notebook opens.

Parameters are checked against the section's description (:mod:`.sections`): an unknown
name, a value of the wrong type or a run path that does not exist is a
:class:`ParameterError` up front, not a warning and a failed kernel later. Values are
passed typed (papermill writes them with a safe literal translator), never as ``-p``
strings whose type papermill would guess. A folder of one's own notebooks
(``notebooks=``/``$ANALYSIS_KIT_NOTEBOOKS``) is checked against each notebook's own
``parameters`` cell instead.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any, Sequence

from ..exceptions import ParameterError
from .sections import check_sections, section  # noqa: F401 - re-exported

NOTEBOOKS_ENV = "ANALYSIS_KIT_NOTEBOOKS"


def notebooks_dir() -> Path | None:
    """A folder of section notebooks to run instead of the kit's own (``$ANALYSIS_KIT_NOTEBOOKS``),
    or None: the kit makes each section's notebook from its description."""
    env = os.environ.get(NOTEBOOKS_ENV)
    return Path(env) if env else None


def run_paths(run_path: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """``run_path`` (one path or several) as absolute path strings; a missing one is an error.

    >>> run_paths([])
    Traceback (most recent call last):
    ...
    analysis_kit.exceptions.ParameterError: run_path is empty: give at least one run file or directory
    """
    if run_path is None:
        raise ParameterError("no run_path given: give a run file or directory (a notebook opens its "
                             "sample run: analysis_kit.samples.sample_run)")
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


def check_load_options(load_options: Any) -> dict[str, Any]:
    """``load_options`` as a dict of option name -> value (None: no options).

    >>> check_load_options({"turn": 2}), check_load_options(None)
    ({'turn': 2}, {})
    """
    if load_options is None:
        return {}
    if not isinstance(load_options, dict) or not all(isinstance(k, str) for k in load_options):
        raise ParameterError(f"load_options must be a dict of option name -> value, not {load_options!r}")
    return dict(load_options)


def open_run(run_path: Any, load_options: dict[str, Any] | None = None, *, redact: bool = True):
    """What a section notebook calls first: the run at ``run_path`` (a list: ``load_runs``),
    loaded with ``load_options``; secret redaction set for everything shown after.

    >>> run = open_run("sample_logs/tau2_profile/profile.log")        # doctest: +SKIP
    """
    from .. import load, load_runs, safe

    safe.set_redaction(redact)
    options = check_load_options(load_options)
    paths = run_paths(run_path)
    if isinstance(run_path, (str, os.PathLike)):
        return load(paths[0], **options)
    return load_runs(paths, progress=False, **options)


def notebook_path(name: str, directory: str | os.PathLike) -> Path:
    """The notebook of section ``name`` in a folder of one's own notebooks."""
    path = Path(directory) / f"{name}.ipynb"
    if not path.exists():
        raise ParameterError(f"no notebook for section {name!r}: {path} does not exist")
    return path


def declared_parameters(notebook: str | os.PathLike | None = None, *, name: str | None = None) -> dict[str, Any]:
    """The parameters and their defaults: of section ``name`` (from its description), or
    of a notebook file (read from its ``parameters`` cell as papermill does).

    >>> declared_parameters(name="timeline")["stall_threshold_s"]
    300.0
    """
    if notebook is None:
        return section(name).parameters()
    import papermill

    found = papermill.inspect_notebook(str(notebook))
    if not found:
        raise ParameterError(f"{notebook} has no cell tagged 'parameters'")
    defaults = {}
    for key, info in found.items():
        try:
            defaults[key] = ast.literal_eval(info.get("default") or "None")
        except (ValueError, SyntaxError):
            defaults[key] = None  # a computed default: any type accepted
    return defaults


def _type_ok(value: Any, default: Any) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))


def validate(declared: dict[str, Any], parameters: dict[str, Any], *, where: str = "section") -> dict[str, Any]:
    """Check ``parameters`` against ``declared`` (name -> default); return them unchanged.

    Raises :class:`ParameterError` for an unknown name or a value whose type differs from the
    default's (a ``None`` default accepts anything), and for a run_path that does not exist.

    >>> validate({"redact": True}, {"redact": 1})
    Traceback (most recent call last):
    ...
    analysis_kit.exceptions.ParameterError: section: parameter redact=1 should be a bool like its default True
    """
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ParameterError(f"{where}: unknown parameter(s) {', '.join(unknown)}; "
                             f"it accepts: {', '.join(declared)}")
    for name, value in parameters.items():
        if not _type_ok(value, declared[name]):
            raise ParameterError(f"{where}: parameter {name}={value!r} should be a "
                                 f"{type(declared[name]).__name__} like its default {declared[name]!r}")
    if parameters.get("run_path") is not None:
        run_paths(parameters["run_path"])
    if "load_options" in parameters:
        check_load_options(parameters["load_options"])
    return parameters
