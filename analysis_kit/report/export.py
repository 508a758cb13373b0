"""Export one executed section notebook to markdown and HTML with nbconvert.

Inputs are hidden (``exclude_input``), cells tagged ``remove``/``remove_cell`` are dropped
(``TagRemovePreprocessor``), tables come out as markdown tables (the ``text/markdown`` of
:func:`analysis_kit.safe.show` is preferred over HTML in the markdown export), and images
go to the section's own folder: nbconvert names them by cell index, so two sections sharing
a folder would overwrite each other's figures.

Plain-text outputs (prints, reprs, tracebacks) are the one place log text could reach the
markdown unescaped: nbconvert's markdown template leaves the first line of a stream as it is.
:class:`SafeTextPreprocessor` turns each into an escaped text block first.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool
from traitlets.config import Config

REMOVE_CELL_TAGS = {"remove", "remove_cell", "remove-cell", "parameters", "injected-parameters",
                    "ak-notebook-only"}
REMOVE_OUTPUT_TAGS = {"remove_output", "remove-output"}
REMOVE_INPUT_TAGS = {"remove_input", "remove-input"}
# Markdown export: markdown first, then images, then text; raw text/html never.
MARKDOWN_PRIORITY = ["text/markdown", "image/png", "image/jpeg", "image/svg+xml", "text/plain"]
_RICH = {"text/markdown", "text/html", "image/png", "image/jpeg", "image/svg+xml"}


class SafeTextPreprocessor(Preprocessor):
    """Replace text-only outputs with escaped, redacted text blocks; drop stderr noise."""

    redact = Bool(True, help="redact secrets in the text").tag(config=True)

    def _block(self, text: str) -> dict[str, Any]:
        from nbformat.v4 import new_output

        from ..safe import text_block

        block = text_block(text, redact=self.redact, max_chars=20_000)
        return new_output("display_data", data={
            "text/markdown": block._repr_markdown_(), "text/html": block._repr_html_(),
            "text/plain": block.text,
        })

    def preprocess_cell(self, cell, resources, index):
        if cell.get("cell_type") != "code":
            return cell, resources
        outputs = []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                if out.get("name") == "stderr":
                    continue  # warnings and progress bars: not report content
                outputs.append(self._block(out.get("text", "")))
            elif kind == "error":
                from ..safe import strip_ansi

                trace = strip_ansi("\n".join(out.get("traceback") or []))
                outputs.append(self._block(trace or f"{out.get('ename')}: {out.get('evalue')}"))
            elif kind in ("display_data", "execute_result") and not (_RICH & set(out.get("data", {}))):
                if "text/plain" in out.get("data", {}):
                    outputs.append(self._block(out["data"]["text/plain"]))
            else:
                outputs.append(out)
        cell.outputs = outputs
        return cell, resources


def _is_omitted(cell: Any) -> bool:
    from .display import OMITTED_MIME

    return any(OMITTED_MIME in out.get("data", {}) for out in cell.get("outputs", []))


def _parts(cells: list) -> list[tuple[int, list[int]]]:
    """(index of each ``###`` heading, indices of the code cells under it)."""
    found = []
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "markdown" and cell.get("source", "").lstrip().startswith("### "):
            body = []
            for j in range(i + 1, len(cells)):
                if cells[j].get("cell_type") == "markdown":
                    break
                body.append(j)
            found.append((i, body))
    return found


def omitted_parts(notebook: Any) -> list[tuple[str, str]]:
    """(part title, reason) of each part of an executed notebook (a path or a
    NotebookNode) that had nothing to say: its cell showed an
    :class:`~analysis_kit.report.display.Omitted`.

    >>> omitted_parts("reports/notebooks/overview.ipynb")            # doctest: +SKIP
    [('pass^k', 'one trial per task, so pass^k is the pass rate')]
    """
    import nbformat

    from .display import OMITTED_MIME

    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(str(notebook), as_version=4)
    found = []
    for head, body in _parts(nb.cells):
        for j in body:
            for out in nb.cells[j].get("outputs", []):
                data = out.get("data", {})
                if OMITTED_MIME in data:
                    title = nb.cells[head]["source"].lstrip()[4:].splitlines()[0].strip()
                    found.append((title, str(data[OMITTED_MIME].get("reason", ""))))
    return found


class EmptySubsectionPreprocessor(Preprocessor):
    """Drop a ``###`` part whose code cells showed nothing, or said they had nothing to
    say (:class:`~analysis_kit.report.display.Omitted`): the report names those once at
    its end instead of showing empty headings."""

    def preprocess(self, nb, resources):
        cells = nb.cells
        drop: set[int] = set()
        for head, body in _parts(cells):
            code = [cells[j] for j in body if cells[j].get("cell_type") == "code"]
            if not body or len(code) != len(body):
                continue
            if all(not c.get("outputs") for c in code) or any(_is_omitted(c) for c in code):
                drop.add(head)
                drop.update(body)
        nb.cells = [c for i, c in enumerate(cells) if i not in drop]
        return nb, resources


def _config(redact: bool) -> Config:
    c = Config()
    c.TemplateExporter.exclude_input = True
    c.TemplateExporter.exclude_input_prompt = True
    c.TemplateExporter.exclude_output_prompt = True
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = set(REMOVE_CELL_TAGS)
    c.TagRemovePreprocessor.remove_all_outputs_tags = set(REMOVE_OUTPUT_TAGS)
    c.TagRemovePreprocessor.remove_input_tags = set(REMOVE_INPUT_TAGS)
    c.SafeTextPreprocessor.redact = redact
    return c


_exporters = threading.local()  # compiling the templates costs more than converting a section


def _exporter(kind: str, redact: bool):
    cache = _exporters.__dict__.setdefault("cache", {})
    if (kind, redact) not in cache:
        from nbconvert import HTMLExporter, MarkdownExporter

        config = _config(redact)
        if kind == "md":
            config.NbConvertBase.display_data_priority = MARKDOWN_PRIORITY
            exporter = MarkdownExporter(config=config)
        else:
            exporter = HTMLExporter(config=config, template_name="basic")
            exporter.embed_images = True
        exporter.register_preprocessor(SafeTextPreprocessor(config=config), enabled=True)
        exporter.register_preprocessor(EmptySubsectionPreprocessor(config=config), enabled=True)
        cache[(kind, redact)] = exporter
    return cache[(kind, redact)]


def to_markdown(notebook: str | os.PathLike, section: str, out_dir: str | os.PathLike, *,
                redact: bool = True) -> str:
    """The section as markdown; its images are written to ``out_dir/assets/<section>/``
    and linked relative to ``out_dir``.

    >>> md = to_markdown("reports/notebooks/latency.ipynb", "latency", "reports")  # doctest: +SKIP
    """
    exporter = _exporter("md", redact)
    assets = f"assets/{section}"
    body, resources = exporter.from_filename(str(notebook), resources={"output_files_dir": assets})
    for name, data in (resources.get("outputs") or {}).items():
        target = Path(out_dir) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data if isinstance(data, bytes) else str(data).encode())
    return body.strip() + "\n"


def to_html(notebook: str | os.PathLike, *, redact: bool = True) -> str:
    """The section as an HTML fragment (nbconvert's ``basic`` template: no page, no scripts),
    images inlined as data: URIs.

    >>> fragment = to_html("reports/notebooks/latency.ipynb")                    # doctest: +SKIP
    """
    body, _ = _exporter("html", redact).from_filename(str(notebook))
    return body
