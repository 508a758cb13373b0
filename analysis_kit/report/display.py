"""What a section's views return: figures, tables and notes shown one after another, and
the marker of a part that has nothing to say for this run.

A view (``analysis_kit.report.views.<section>.<part>(run)``) returns one displayable: a
:func:`analysis_kit.safe.show` table, a :func:`~analysis_kit.safe.note`, a :class:`Block`
of several (figures included), or :class:`Omitted`. In a notebook the cell shows it; in a
test its parts are plain attributes; in the report an Omitted part is dropped and named
once at the end ("Not in this report").

>>> Omitted("one trial per task")._repr_mimebundle_()[OMITTED_MIME]
{'reason': 'one trial per task'}
"""

from __future__ import annotations

import base64
import io
from typing import Any

from .. import safe

OMITTED_MIME = "application/vnd.analysis-kit.omitted+json"
FIGURE_DPI = 100


def new_figure(width: float = 9.0, height: float = 4.0):
    """A Figure outside pyplot's state, so a view never leaves an open figure behind."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=FIGURE_DPI, layout="constrained")


def figure_bundle(fig) -> dict[str, str]:
    """``fig`` as the mime bundle the inline backend would show (PNG and a text twin)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIGURE_DPI)
    return {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"),
            "text/plain": f"<Figure {fig.get_figwidth():g}x{fig.get_figheight():g} in>"}


def _is_figure(item: Any) -> bool:
    return type(item).__name__ == "Figure" and hasattr(item, "savefig")


class Block:
    """Displayables shown in order: Figures (as PNG), tables, notes, headings.

    ``items`` keeps them for tests; ``tables``/``figures``/``notes`` pick them by kind.

    >>> b = Block(safe.note("two tables follow"), None)
    >>> len(b.items), b.notes[0].text
    (1, 'two tables follow')
    """

    def __init__(self, *items: Any):
        self.items = [item for item in items if item is not None]

    @property
    def figures(self) -> list:
        return [i for i in self.items if _is_figure(i)]

    @property
    def tables(self) -> list[safe.Table]:
        return [i for i in self.items if isinstance(i, safe.Table)]

    @property
    def notes(self) -> list[safe.Note]:
        return [i for i in self.items if isinstance(i, safe.Note)]

    def text(self) -> str:
        """Every table and note as markdown (figures left out): what a reader would read."""
        return "\n".join(i._repr_markdown_() for i in self.items if hasattr(i, "_repr_markdown_"))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for item in self.items:
            if _is_figure(item):
                display(figure_bundle(item), raw=True)
            else:
                display(item)

    def __repr__(self) -> str:
        return "\n".join(repr(i) for i in self.items)


class Omitted:
    """A part with nothing to say for this run, and why ("one trial per task, so pass^k is
    the pass rate"). Shown as a short note in a notebook; the report leaves the part out
    and names it once at the end.

    >>> Omitted("no step events").reason
    'no step events'
    """

    def __init__(self, reason: str):
        self.reason = str(reason)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        text = f"Nothing to show here: {self.reason}."
        return {OMITTED_MIME: {"reason": self.reason}, "text/plain": text,
                "text/markdown": f"*{safe.escape_markdown(text)}*\n",
                "text/html": f"<p><em>{safe.escape_html(text)}</em></p>"}

    def __repr__(self) -> str:
        return f"Omitted({self.reason!r})"


class Subheading:
    """A bold line naming what follows (its text escaped: it may name a task)."""

    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return f"**{safe.escape_markdown(self.text)}**\n"

    def _repr_html_(self) -> str:
        return f"<p><strong>{safe.escape_html(self.text)}</strong></p>"

    def __repr__(self) -> str:
        return self.text
