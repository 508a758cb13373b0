"""Pieces the explorers share: rendering into Output widgets without a kernel, dropdown
options with "all", categorical codes for fast filtering, a per-task row index, and the
static view that keeps a section readable in markdown export.

Explorers never use ``with out:`` (it captures nothing outside a kernel): they build
display-data dicts here and assign ``out.outputs``, which works in a kernel, in tests and in
papermill alike.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .. import safe
from ..report.display import Subheading

ALL = "all"
NA_LABEL = "(none)"  # the dropdown entry for rows whose value is missing
FIG_DPI = 80  # enough for a notebook; PNG encoding time grows with the pixel count


# --- display data -------------------------------------------------------------------------

def new_figure(width: float = 8.0, height: float = 3.2, *, left: float | None = None,
               bottom: float = 0.18):
    """A Figure outside pyplot's state machine, so explorers never leak open figures.

    With ``left`` (the left margin as a fraction) the margins are fixed: an interactive
    redraw then renders once, where a layout engine would measure and draw twice. Without
    it (static views) the constrained layout fits long labels.
    """
    from matplotlib.figure import Figure

    if left is None:
        return Figure(figsize=(width, height), dpi=FIG_DPI, layout="constrained")
    fig = Figure(figsize=(width, height), dpi=FIG_DPI)
    fig.ak_margins = {"left": left, "right": 0.97, "bottom": bottom, "top": 0.88}
    fig.subplots_adjust(**fig.ak_margins)
    return fig


def clear_figure(fig) -> None:
    """Empty ``fig`` for a redraw, keeping its fixed margins (Figure.clear resets them)."""
    fig.clear()
    margins = getattr(fig, "ak_margins", None)
    if margins:
        fig.subplots_adjust(**margins)


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIG_DPI)
    return buf.getvalue()


def figure_data(fig) -> dict:
    """One display_data output holding ``fig`` as PNG (what the inline backend would show)."""
    text = f"<Figure {fig.get_figwidth():g}x{fig.get_figheight():g} in>"
    return _output({"image/png": base64.b64encode(png_bytes(fig)).decode("ascii"), "text/plain": text})


def html_data(html: str, text: str = "") -> dict:
    """One display_data output of already-escaped HTML (and its plain-text twin)."""
    return _output({"text/html": html, "text/plain": text or "(html)"})


def object_data(obj: Any, *, markdown: bool = False) -> dict:
    """One display_data output from an object with ``_repr_html_``/``_repr_markdown_``
    (e.g. :func:`analysis_kit.safe.show`'s Table). Output widgets render the HTML and are
    never exported as markdown, so the markdown form is made only when asked for."""
    # A Table's repr lays the text out again with tabulate; widgets show the HTML anyway.
    plain = repr(obj) if markdown or not isinstance(obj, safe.Table) else f"(table of {len(obj)} rows)"
    data = {"text/plain": plain}
    wanted = [("text/html", "_repr_html_")] + ([("text/markdown", "_repr_markdown_")] if markdown else [])
    for mime, method in wanted:
        if hasattr(obj, method):
            data[mime] = getattr(obj, method)()
    return _output(data)


def _output(data: dict) -> dict:
    return {"output_type": "display_data", "data": data, "metadata": {}}


def render(out, *outputs: dict) -> None:
    """Replace what the Output widget ``out`` shows by ``outputs`` (display_data dicts)."""
    out.outputs = tuple(outputs)


def output_text(out) -> str:
    """All text/plain and text/html content an Output widget holds (for tests and users)."""
    parts = []
    for item in out.outputs:
        data = item.get("data", {})
        parts.append(data.get("text/html") or data.get("text/plain") or "")
    return "\n".join(parts)


# --- controls -------------------------------------------------------------------------------

def label_text(value: Any, max_chars: int = 60) -> str:
    """Log text fit for an option label: ANSI and secrets removed, cut. Option labels are
    rendered as text by ipywidgets, never as HTML."""
    if _missing(value):
        return NA_LABEL
    return safe.clean(value, max_chars=max_chars).replace("\n", " ")


def options_with_all(values: Iterable[Any]) -> list[str]:
    """``["all", v1, v2, ...]``: the distinct non-missing values, sorted as text."""
    distinct = sorted({str(v) for v in values if not _missing(v)})
    return [ALL] + distinct


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


@dataclass
class Codes:
    """A column as integer codes, so a filter is one integer compare over a numpy array.

    >>> c = Codes.of(pd.Series(["a", "b", None, "a"]))
    >>> c.mask("a").tolist(), c.mask("all") is None
    ([True, False, False, True], True)
    """

    codes: np.ndarray
    categories: list[str]

    @classmethod
    def of(cls, series: pd.Series) -> "Codes":
        codes, uniques = pd.factorize(series.astype("object"), use_na_sentinel=True)
        return cls(codes.astype(np.int32), [str(u) for u in uniques])

    def mask(self, value: str) -> np.ndarray | None:
        """Rows equal to ``value``; None means "no restriction" (value "all")."""
        if value == ALL:
            return None
        if value == NA_LABEL:
            return self.codes == -1
        try:
            return self.codes == self.categories.index(value)
        except ValueError:
            return np.zeros(len(self.codes), dtype=bool)


def and_masks(masks: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """The AND of the masks that restrict anything (None when none does)."""
    result = None
    for mask in masks:
        if mask is None:
            continue
        result = mask if result is None else (result & mask)
    return result


class TaskIndex:
    """Row positions of each task's events and messages, built once (one groupby per table)
    so showing a task costs a gather of its rows, not a scan of the whole run.

    >>> from analysis_kit.model import Run
    >>> run = Run(events=pd.DataFrame({"task_id": ["a", "b", "a"], "kind": ["x"] * 3}))
    >>> TaskIndex(run).events("a")["task_id"].tolist()
    ['a', 'a']
    """

    def __init__(self, run):
        self.run = run
        self._events = _positions(run.events["task_id"])
        self._messages = _positions(run.messages["task_id"])

    def events(self, task_id: str, trial: Any = None) -> pd.DataFrame:
        return _pick(self.run.events, self._events.get(task_id), trial)

    def messages(self, task_id: str, trial: Any = None) -> pd.DataFrame:
        return _pick(self.run.messages, self._messages.get(task_id), trial)

    def task_ids(self) -> list[str]:
        return sorted(set(self._events) | set(self._messages))


def _positions(task_ids: pd.Series) -> dict[str, np.ndarray]:
    codes, uniques = pd.factorize(task_ids.astype("object"), use_na_sentinel=True)
    if not len(uniques):
        return {}
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    bounds = np.searchsorted(sorted_codes, np.arange(len(uniques) + 1))
    return {str(u): order[bounds[i]:bounds[i + 1]] for i, u in enumerate(uniques)}


def _pick(frame: pd.DataFrame, positions: np.ndarray | None, trial: Any) -> pd.DataFrame:
    if positions is None:
        return frame.iloc[:0]
    rows = frame.iloc[positions]
    if trial is not None and not _missing(trial) and rows["trial"].notna().any():
        rows = rows[rows["trial"] == trial]
    return rows


# --- static views ---------------------------------------------------------------------------

@dataclass
class StaticView:
    """A plain display of an explorer's view: figures, then titled tables and notes. Each
    part becomes its own output (PNG, markdown/HTML), so markdown export keeps all of it.

    ``figures`` are matplotlib Figures; ``parts`` are ``(title, obj)`` where obj has
    ``_repr_markdown_``/``_repr_html_`` (safe.show tables, safe.note/text_block).
    """

    figures: list = field(default_factory=list)
    parts: list[tuple[str, Any]] = field(default_factory=list)

    def outputs(self) -> list[dict]:
        outs = [figure_data(fig) for fig in self.figures]
        for title, obj in self.parts:
            if title:
                outs.append(object_data(Subheading(title), markdown=True))
            outs.append(object_data(obj, markdown=True))
        return outs

    def markdown(self) -> str:
        """The tables and notes as markdown (figures left out)."""
        chunks = []
        for title, obj in self.parts:
            if title:
                chunks.append(Subheading(title)._repr_markdown_())
            chunks.append(obj._repr_markdown_())
        return "\n".join(chunks)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for item in self.outputs():
            display(item["data"], raw=True)
