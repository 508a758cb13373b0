"""Input problems: every line or file the loader could not use, with the reason, so
nothing is lost silently."""

from __future__ import annotations

from ... import safe
from ...model import Run
from ..display import Block, Omitted


def has_content(run: Run) -> str | None:
    """Something to say when the loader skipped any input."""
    return None if len(run.problems) else "none: every line of the input was used"


def by_reason(run: Run) -> Block | Omitted:
    """How many lines or files were skipped, for each reason."""
    problems = run.problems
    if problems.empty:
        return Omitted("none: every line of the input was used")
    files = problems["file"].nunique()
    counts = problems.groupby("reason", dropna=False).size().rename("count").sort_values(ascending=False)
    n = len(problems)
    return Block(safe.note(f"{n:,} input problem{'s' if n != 1 else ''} in {files:,} file{'s' if files != 1 else ''}."),
                 safe.show(counts.reset_index()))


def examples(run: Run, per_reason: int = 3) -> Block | Omitted:
    """Up to ``per_reason`` examples per reason: file, line and the raw text (escaped, cut)."""
    problems = run.problems
    if problems.empty:
        return Omitted("none: every line of the input was used")
    shown = problems.groupby("reason", dropna=False, sort=False).head(per_reason)
    return Block(safe.show(shown[["file", "line", "reason", "raw"]], max_rows=60, max_chars=160))
