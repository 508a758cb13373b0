"""Section notebooks made from the section descriptions (:mod:`.sections`) with nbformat.

Every notebook has the same head: a title and the section's opening sentence, a
``parameters`` cell (the common parameters and the section's own, each with its default
and meaning), and a setup cell that opens the run (the section's sample run when
``run_path`` is None). Then each part: a ``###`` heading with its sentence, and one cell
calling the section's views. The kit makes these at run time for a report, ``analysis-kit
lab`` writes them for a user, and ``notebooks/`` in the repository holds the same output
(a test compares them).

>>> nb = section_notebook(section("latency"))
>>> [c.cell_type for c in nb.cells][:4]
['markdown', 'code', 'code', 'markdown']
>>> nb.cells[1].metadata.tags
['parameters']
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .sections import EXPLORER, SECTIONS, Explorer, Param, Section, section

KERNELSPEC = {"name": "analysis-kit", "display_name": "Python (analysis-kit)", "language": "python"}
NOTEBOOK_ONLY_TAG = "ak-notebook-only"  # cells the report leaves out (shown elsewhere in it)


def _literal(value: object) -> str:
    return repr(value)


def parameters_cell(params: tuple[Param, ...], cell_id: str):
    """The ``parameters`` cell papermill injects after: one line per parameter."""
    lines = ["# Parameters: papermill injects its values in a cell after this one."]
    lines += [f"{p.name} = {_literal(p.default)}  # {p.help}" for p in params]
    cell = new_code_cell("\n".join(lines), metadata={"tags": ["parameters"]})
    cell.id = cell_id
    return cell


def _sample_expression(sample: str | tuple[str, ...]) -> str:
    return f"sample_run({sample!r})"


def setup_cell(sec: Section, cell_id: str):
    """Imports, and the run opened (the section's sample when ``run_path`` is None)."""
    package, _, module = sec.views_module.rpartition(".")
    imports = ["%matplotlib inline", f"from {package} import {module} as view" if package else f"import {module} as view"]
    if sec.setup:
        code = "\n".join(imports + ["", sec.setup])
    else:
        code = "\n".join(imports + [
            "from analysis_kit.report import open_run",
            "from analysis_kit.samples import sample_run",
            "",
            "# No run given: the bundled sample run that shows this section.",
            f"run = open_run(run_path if run_path is not None else {_sample_expression(sec.sample)},",
            "               load_options=load_options, redact=redact)",
        ])
    cell = new_code_cell(code, metadata={"tags": ["remove"]})
    cell.id = cell_id
    return cell


def _markdown(text: str, cell_id: str):
    cell = new_markdown_cell(text)
    cell.id = cell_id
    return cell


def _code(text: str, cell_id: str, tags: list[str] | None = None):
    cell = new_code_cell(text, metadata={"tags": tags} if tags else {})
    cell.id = cell_id
    return cell


def _notebook(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    return nb


def section_notebook(sec: Section) -> nbformat.NotebookNode:
    """The notebook of section ``sec``, without outputs."""
    cells = [
        _markdown(f"## {sec.title}\n\n{sec.intro}", f"{sec.name}-title"),
        parameters_cell(sec.all_params(), f"{sec.name}-parameters"),
        setup_cell(sec, f"{sec.name}-setup"),
    ]
    for i, part in enumerate(sec.parts, start=1):
        tags = None if part.report else [NOTEBOOK_ONLY_TAG]
        cells.append(_markdown(f"### {part.title}\n\n{part.text}", f"{sec.name}-{i}-text"))
        if not part.report:
            cells[-1].metadata["tags"] = [NOTEBOOK_ONLY_TAG]
        cells.append(_code(part.call, f"{sec.name}-{i}", tags))
    return _notebook(cells)


def explore_notebook(spec: Explorer = EXPLORER) -> nbformat.NotebookNode:
    """The interactive notebook: the explorers of a run, linked, in tabs."""
    intro = (
        "# Explore a run\n\n"
        "Interactive drill-down with ipywidgets, in tabs: **Task** (pick a task and read why it ended, its "
        "timeline and its transcript), **Latency** (filter operations by kind, model, tool, agent and duration), "
        "**Failures** (browse failures by step and classification) and, with several runs, **Comparison**. "
        "Choosing a slow call or a failure opens its task (that very trial, the call highlighted) in the Task tab.\n\n"
        "Set `run_path` in the parameters cell (one path, or a list of paths to compare runs); `None` opens the "
        "bundled sample run. Everything shown from the logs is escaped and secrets are redacted. Widgets need a "
        "live kernel: in an exported copy of this notebook use the report sections instead."
    )
    setup = "\n".join([
        "from analysis_kit import widgets",
        "from analysis_kit.report import open_run",
        "from analysis_kit.samples import sample_run",
        "",
        f"run = open_run(run_path if run_path is not None else {_sample_expression(spec.sample)},",
        "               load_options=load_options, redact=redact)",
        "run",
    ])
    cells = [
        _markdown(intro, "explore-title"),
        parameters_cell(spec.params, "explore-parameters"),
        _code(setup, "explore-setup"),
        _markdown("## Explorers\n\nThe tabs share one task view: a choice in Latency or Failures switches to "
                  "the Task tab and shows it there.", "explore-tabs-text"),
        _code("explorers = widgets.explore(run, run_id=run_id)\nexplorers", "explore-tabs"),
    ]
    return _notebook(cells)


def notebook(name: str) -> nbformat.NotebookNode:
    """The notebook called ``name``: a section's, or ``explore``."""
    if name == EXPLORER.name:
        return explore_notebook()
    return section_notebook(section(name))


def all_names() -> list[str]:
    return [s.name for s in SECTIONS] + [EXPLORER.name]


def notebook_text(name: str) -> str:
    """The notebook's file content, exactly as :func:`write_notebooks` writes it."""
    return nbformat.writes(notebook(name)) + "\n"


def write_notebooks(directory: str | os.PathLike, names: list[str] | None = None, *,
                    overwrite: bool = True) -> list[Path]:
    """Write the notebooks (all by default) into ``directory``; return their paths. With
    ``overwrite=False`` a notebook already there is kept (a user's edited copy).

    >>> write_notebooks("notebooks")                           # doctest: +SKIP
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or all_names():
        path = out / f"{name}.ipynb"
        if overwrite or not path.exists():
            path.write_text(notebook_text(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # python -m analysis_kit.report.notebooks DIR: regenerate notebooks/
    import sys

    for written in write_notebooks(sys.argv[1] if len(sys.argv) > 1 else "notebooks"):
        print(written)
