"""MassGen: the MassGen log-analyzer skill's report template, one part per ``##`` heading
of it (:data:`analysis_kit.report.massgen.TEMPLATE`), its ``###`` headings inside. A
heading whose table another section of the same report shows (the votes, the rounds, the
agents' reliability, the input problems) names that section instead of repeating it:
``shown_elsewhere`` lists the sections the report holds (the report runner gives it; a
notebook on its own shows everything)."""

from __future__ import annotations

from typing import Sequence

from ... import safe
from ...model import Run
from .. import massgen as template
from ..display import Block, Omitted, Subheading


def has_content(run: Run) -> str | None:
    """Something to say for one MassGen log directory (the template reads its status,
    coordination and metrics files)."""
    form = run.meta.get("source_format")
    if len(run.run_ids) > 1:
        return "several runs: the MassGen report describes one log"
    if form != "massgen":
        return f"not a MassGen log directory (format {form or 'unknown'})"
    return None


def _block(run: Run, title: str, shown_elsewhere: Sequence[str] = ()) -> Block | Omitted:
    """The heading ``title`` of the template: its own content, then each of its headings
    (or where the report shows it already)."""
    from ..sections import TITLES

    heading = template.heading(title)
    items, contents = [], []
    if heading.content is not None:
        content = heading.content(run)
        contents.append(content)
        items.append(template.shown(content))
    for sub in heading.subs:
        items.append(Subheading(sub.title))
        if sub.shown_in is not None and sub.shown_in[0] in shown_elsewhere:
            section, part = sub.shown_in
            items.append(safe.note(f"Shown in the {TITLES.get(section, section)} section ({part}).",
                                   emphasis=False))
            continue
        content = sub.content(run)
        contents.append(content)
        items.append(template.shown(content))
    if contents and all(template.is_empty(c) for c in contents):
        return Omitted(f"none of {', '.join(s.title for s in heading.subs) or title} found in this log")
    return Block(*items)


def executive_summary(run: Run) -> Block | Omitted:
    """The run in two sentences: answers, votes, time, cost, winner, restarts, the attempt shown."""
    return _block(run, "Executive Summary")


def session_overview(run: Run) -> Block | Omitted:
    """The template's metric table: duration, agents, winner, cost, answers, votes, restarts."""
    return _block(run, "Session Overview")


def correctness(run: Run) -> Block | Omitted:
    """Coordination flow in time order, and the status checklist."""
    return _block(run, "1. Correctness Analysis")


def efficiency(run: Run, shown_elsewhere: Sequence[str] = ()) -> Block | Omitted:
    """Phase durations, per-round timing, checklist-gated phases, the top bottlenecks."""
    return _block(run, "2. Efficiency Analysis", shown_elsewhere)


def commands(run: Run) -> Block | Omitted:
    """Repeated commands, commands with the largest output, the slowest command patterns."""
    return _block(run, "3. Command Pattern Analysis")


def duplication(run: Run) -> Block | Omitted:
    """Work done more than once: by kind of work, with examples."""
    return _block(run, "4. Work Duplication Analysis")


def behavior(run: Run, shown_elsewhere: Sequence[str] = ()) -> Block | Omitted:
    """How each agent's answers changed, and the votes."""
    return _block(run, "5. Agent Behavior Analysis", shown_elsewhere)


def cost(run: Run) -> Block | Omitted:
    """Tokens and cost per agent, with the cache hit rate."""
    return _block(run, "6. Cost & Token Analysis")


def errors(run: Run, shown_elsewhere: Sequence[str] = ()) -> Block | Omitted:
    """Failed tool calls, agent errors and timeouts, enforcement red flags."""
    return _block(run, "7. Errors & Issues", shown_elsewhere)


def round_roi(run: Run) -> Block | Omitted:
    """Each round's time and cost against what it produced, and where answers stopped improving."""
    return _block(run, 'Round ROI ("Was It Worth It?")')


def appendix(run: Run, shown_elsewhere: Sequence[str] = ()) -> Block | Omitted:
    """Turns and attempts, the agents' models, input problems."""
    return _block(run, "Appendix", shown_elsewhere)
