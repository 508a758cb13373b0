"""The "MassGen" report section: the MassGen log-analyzer skill's report template
(``../shared/seeds/massgen_log_analyzer_skill.txt``, "Report Template"), every heading filled
from the analyses, and ``ANALYSIS_REPORT.md`` written where ``massgen logs list --analyzed``
looks for it (``<log>/turn_<N>/``).

:data:`TEMPLATE` lists the template's headings in order, each ``##`` heading with its
``###`` ones and the function that fills each. The report section shows one part per
``##`` heading (:mod:`analysis_kit.report.views.massgen`); ``render_markdown(run)`` writes
the same headings and the same tables (:func:`shown`: escaped, every number written the
kit's way) as one markdown file; ``write_analysis_report(run)`` writes it next to the turn.
``section_parts(run)`` is the content as data (heading level, heading, DataFrame or text).

>>> [h.title for h in TEMPLATE][:3]
['Executive Summary', 'Session Overview', '1. Correctness Analysis']
>>> run = ak.load("sample_logs/massgen")                               # doctest: +SKIP
>>> write_analysis_report(run)                                          # doctest: +SKIP
PosixPath('sample_logs/massgen/log_20251103_145228/turn_1/ANALYSIS_REPORT.md')
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .. import analyses as an
from .. import formatting as fmt
from .. import safe
from ..analyses.rounds import checklist_phases
from ..model import Run
from ..safe import escape_markdown

Part = tuple[int, str, Any]  # (heading level, heading, DataFrame | str | None)
NONE = "None found."
RED_FLAGS = {"retries_per_round": 2, "buffer_chars_lost": 5000}  # the skill's enforcement red flags


def _count(run: Run, kind: str) -> int:
    return int((run.events["kind"] == kind).sum())


def _task(run: Run) -> pd.Series:
    return run.tasks.iloc[0] if len(run.tasks) else pd.Series(dtype=object)


def overview(run: Run) -> pd.DataFrame:
    """Session Overview: duration, agents, winner, cost (reported; NA when unpriced), answers,
    votes, restarts."""
    task = _task(run)
    cost = task.get("cost_usd")
    unpriced = run.meta.get("unpriced_agents") or []
    rows = [("Duration", fmt.duration(task.get("duration_s")) or "unknown"),
            ("Agents", ", ".join(run.meta.get("agents") or [])), ("Winner", run.meta.get("winner") or "none"),
            ("Total Cost", (fmt.cost(cost) if pd.notna(cost) else "unknown") +
             (f" (unpriced: {', '.join(unpriced)})" if unpriced else "")),
            ("Total Answers", fmt.count(_count(run, "answer"))), ("Total Votes", fmt.count(_count(run, "vote"))),
            ("Total Restarts", fmt.count(_count(run, "restart"))), ("Turn / attempt", an.shown_attempt(run))]
    return pd.DataFrame(rows, columns=["Metric", "Value"])


def coordination_flow(run: Run) -> pd.DataFrame:
    """Coordination Flow: answers, votes, restarts and the final selection in time order
    (the votes' reasons are under Voting Analysis)."""
    ev = run.events
    keep = ev[ev["kind"].isin(["answer", "vote", "restart"]) | ev["name"].isin(
        ["final_agent_selected", "final_answer", "session_start", "session_end"])]
    what = [f"{k} {n}" if k != "vote" else f"vote for {n}" for k, n in zip(keep["kind"], keep["name"].fillna(""))]
    out = pd.DataFrame({"time": keep["start"], "agent": keep["agent"], "event": what})
    return out.sort_values("time", kind="stable").reset_index(drop=True)


def executive_summary(run: Run) -> str:
    """Two sentences of facts: the winner, answers, votes, restarts, time, cost, the attempt shown."""
    task = _task(run)
    took = fmt.duration(task.get("duration_s")) or "an unknown time"
    cost = f"{fmt.cost(task['cost_usd'])} reported" if pd.notna(task.get("cost_usd")) else "no reported cost"
    return (f"{len(run.meta.get('agents') or [])} agents gave {_count(run, 'answer')} answers and "
            f"{_count(run, 'vote')} votes in {took} ({cost}); winner: {run.meta.get('winner') or 'none'}, "
            f"{_count(run, 'restart')} restarts. {an.shown_attempt(run)}")


def correctness(run: Run) -> pd.DataFrame:
    """The template's Status checklist, each line checked from the events (claims, not verdicts)."""
    reliability = an.agent_reliability(run)
    agents = run.meta.get("agents") or []
    answered = set(run.events.loc[run.events["kind"] == "answer", "agent"].dropna())
    checks = [("All phases completed", run.tasks["status"].eq("completed").any() if len(run.tasks) else False),
              ("All agents submitted answers", bool(agents) and set(agents) <= answered),
              ("Voting completed", _count(run, "vote") > 0),
              ("Winner selected", bool(run.meta.get("winner"))),
              ("Final answer delivered", bool(run.meta.get("final_answer_file")))]
    rows = [(name, "yes" if ok else "no") for name, ok in checks]
    errors = reliability[reliability["error"].notna()] if "error" in reliability else reliability.iloc[0:0]
    rows += [(f"Agent error: {a}", e) for a, e in zip(errors["agent"], errors["error"])]
    return pd.DataFrame(rows, columns=["Check", "Result"])


def phases(run: Run) -> pd.DataFrame:
    """Phase Duration Breakdown: rounds by round type (count, average, longest, total, share
    of the total)."""
    roi = an.round_roi(run)
    if roi.empty:
        return pd.DataFrame(columns=["phase", "count", "avg_s", "max_s", "total_s", "share_of_total"])
    grouped = roi.groupby(roi["round_type"].fillna("unknown"), sort=False)["time_s"]
    out = pd.DataFrame({"count": grouped.size(), "avg_s": grouped.mean(), "max_s": grouped.max(),
                        "total_s": grouped.sum()})
    out["share_of_total"] = out["total_s"] / out["total_s"].sum()
    return out.reset_index(names="phase")


def checklist_shares(run: Run) -> pd.DataFrame:
    """Evaluation vs Implementation Timing: over the rounds that submit a checklist, the time
    before it (evaluation), from it to the first propose_improvements, and after (implementation)."""
    shares = checklist_phases(run)[1]
    return shares.assign(share=shares["percent"] / 100).drop(columns="percent")


def checklist_rounds(run: Run) -> pd.DataFrame:
    """Per-Round Evaluation vs Improvement Table: the same three phases for each such round."""
    return checklist_phases(run)[0]


def enforcement(run: Run) -> pd.DataFrame:
    """Enforcement & Workflow Reliability: per agent, enforcement retries, buffer lost and
    unknown tools, with the skill's red flags (the agents' status and errors are under
    Agent Errors and Timeouts)."""
    rel = an.agent_reliability(run)
    columns = ["agent", "enforcement_retries", "buffer_chars_lost", "unknown_tools"]
    if rel.empty:
        return pd.DataFrame(columns=columns + ["red_flags"])
    flags = []
    for row in rel.itertuples():
        found = []
        retries, lost = (0 if pd.isna(v) else v for v in (row.enforcement_retries, row.buffer_chars_lost))
        if retries >= RED_FLAGS["retries_per_round"]:
            found.append(f"{row.enforcement_retries} retries")
        if lost > RED_FLAGS["buffer_chars_lost"]:
            found.append(f"{row.buffer_chars_lost} chars lost")
        if isinstance(row.unknown_tools, list) and row.unknown_tools:
            found.append("unknown tools: " + ", ".join(row.unknown_tools))
        flags.append("; ".join(found) or "-")
    return rel[columns].assign(red_flags=flags)


def bottlenecks(run: Run) -> pd.DataFrame:
    """Top Bottlenecks: the five longest operations, with their share of the session."""
    slow = an.slowest(run.events, n=5)
    if slow.empty:
        return pd.DataFrame(columns=["agent", "kind", "name", "start", "duration_s", "share_of_session"])
    seconds = slow["duration_ms"] / 1000
    session = _task(run).get("duration_s")
    share = seconds / session if pd.notna(session) and session > 0 else pd.NA
    return slow.assign(duration_s=seconds, share_of_session=share)[
        ["agent", "kind", "name", "start", "duration_s", "share_of_session"]]


def tool_errors(run: Run) -> pd.DataFrame:
    """Failed Tool Calls: each tool call that returned an error."""
    ev = run.events
    failed = ev[(ev["kind"] == "tool_call") & ev["error"].notna()]
    return failed[["agent", "name", "start", "error"]].rename(columns={"name": "tool"}).reset_index(drop=True)


def cost_by_agent(run: Run) -> pd.DataFrame:
    """Cost Breakdown: per agent, tokens and reported cost of its rounds (NA when unpriced;
    est_cost_usd beside it where the price table knew the model)."""
    rounds = run.events[run.events["kind"] == "round"]
    if rounds.empty:
        return pd.DataFrame(columns=["agent", "input_tokens", "output_tokens", "cached_tokens", "cost_usd", "est_cost_usd"])
    grouped = rounds.groupby("agent", sort=True)
    out = pd.DataFrame({c: grouped[c].sum(min_count=1) for c in ("input_tokens", "output_tokens", "cached_tokens",
                                                                  "cost_usd", "est_cost_usd")})
    out["cache_hit_rate"] = out["cached_tokens"] / out["input_tokens"]
    return out.reset_index()


def attempts(run: Run) -> pd.DataFrame | str:
    """Turns and Attempts: every attempt of the log, or the sentence saying which one is shown."""
    table = an.attempts(run)
    return table if len(table) else an.shown_attempt(run)


def configuration(run: Run) -> pd.DataFrame:
    """Configuration Used: each agent's model."""
    return pd.DataFrame(sorted((run.meta.get("agent_models") or {}).items()), columns=["agent", "model"])


def problems(run: Run) -> pd.DataFrame:
    """Input Problems: what the loader could not use."""
    return run.problems[["file", "line", "reason"]]


# ----------------------------------------------------------------------------- the template

@dataclass(frozen=True)
class Sub:
    """A ``###`` heading of the template and what fills it. ``shown_in`` names the
    (section, part) of the kit's report that shows the very same table: in a report holding
    that section, this heading names it instead of repeating it."""

    title: str
    content: Callable[[Run], Any]
    shown_in: tuple[str, str] | None = None


@dataclass(frozen=True)
class Heading:
    """A ``##`` heading of the template: its own content (or None), its ``###`` headings,
    and the function of :mod:`analysis_kit.report.views.massgen` that shows it."""

    title: str
    view: str
    content: Callable[[Run], Any] | None = None
    subs: tuple[Sub, ...] = ()


TEMPLATE: tuple[Heading, ...] = (
    Heading("Executive Summary", "executive_summary", executive_summary),
    Heading("Session Overview", "session_overview", overview),
    Heading("1. Correctness Analysis", "correctness", subs=(
        Sub("Coordination Flow", coordination_flow), Sub("Status", correctness))),
    Heading("2. Efficiency Analysis", "efficiency", subs=(
        Sub("Phase Duration Breakdown", phases),
        Sub("Per-Round Timing (Sorted by Agent)", an.rounds, shown_in=("timeline", "Rounds")),
        Sub("Evaluation vs Implementation Timing (Checklist-Gated Phases)", checklist_shares),
        Sub("Per-Round Evaluation vs Improvement Table", checklist_rounds),
        Sub("Top Bottlenecks", bottlenecks))),
    Heading("3. Command Pattern Analysis", "commands", subs=(
        Sub("Frequently Repeated Commands", an.repeated_commands),
        Sub("Commands with Excessive Output", lambda run: an.largest_command_outputs(run, n=5)),
        Sub("Slowest Command Patterns", lambda run: an.command_patterns(run, by="program")))),
    Heading("4. Work Duplication Analysis", "duplication", subs=(
        Sub("Duplicated Work Found", an.duplication_summary),
        Sub("Specific Examples", lambda run: an.duplicated_work(run).head(10)))),
    Heading("5. Agent Behavior Analysis", "behavior", subs=(
        Sub("Answer Progression", an.answer_changes),
        Sub("Voting Analysis", an.votes, shown_in=("coordination", "Votes")))),
    Heading("6. Cost & Token Analysis", "cost", subs=(Sub("Cost Breakdown", cost_by_agent),)),
    Heading("7. Errors & Issues", "errors", subs=(
        Sub("Failed Tool Calls", tool_errors),
        Sub("Agent Errors and Timeouts", an.agent_reliability, shown_in=("coordination", "Agent reliability")),
        Sub("Enforcement & Workflow Reliability", enforcement))),
    Heading('Round ROI ("Was It Worth It?")', "round_roi", an.round_roi, subs=(
        Sub("Diminishing Returns", an.diminishing_returns),)),
    Heading("Appendix", "appendix", subs=(
        Sub("Turns and Attempts", attempts), Sub("Configuration Used", configuration),
        Sub("Input Problems", problems, shown_in=("problems", "Examples")))),
)


def heading(title: str) -> Heading:
    """The template heading called ``title``."""
    return next(h for h in TEMPLATE if h.title == title)


def section_parts(run: Run) -> list[Part]:
    """The report's content under the skill's template headings, in order: (2, heading,
    its own content or None), then (3, sub-heading, content) for each of its headings."""
    parts: list[Part] = []
    for h in TEMPLATE:
        parts.append((2, h.title, h.content(run) if h.content is not None else None))
        parts += [(3, sub.title, sub.content(run)) for sub in h.subs]
    return parts


def is_empty(content: Any) -> bool:
    """No table rows and no text: the template's "None found."."""
    if content is None:
        return True
    return content.empty if isinstance(content, pd.DataFrame) else not str(content).strip()


def shown(content: Any) -> safe.Table | safe.Note:
    """A heading's content as the report shows it: a table (every cell escaped, numbers
    written the kit's way) or a sentence; nothing found is "None found.".

    >>> shown(pd.DataFrame({"agent": ["<b>a</b>"], "total_s": [90.0]})).rows
    [['<b>a</b>', '1 min 30 s']]
    """
    if isinstance(content, pd.DataFrame):
        return safe.show(content, max_chars=300, empty=NONE)
    return safe.note(NONE if is_empty(content) else content, emphasis=False)


def render_markdown(run: Run) -> str:
    """The whole MassGen Log Analysis Report as markdown: every template heading, each
    filled as the report section fills it (nothing left to another section here)."""
    lines = ["# MassGen Log Analysis Report", "",
             f"**Session**: {escape_markdown(run.meta.get('run_id') or '')}  ",
             f"**Generated**: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M UTC} by analysis-kit  ",
             f"**Question**: {escape_markdown(run.meta.get('question') or 'unknown', max_chars=300)}", "",
             "Claims are reported as the agents made them; no answer is marked correct.", ""]
    for level, title, content in section_parts(run):
        lines += ["#" * level + " " + title, ""]
        if content is not None or level == 3:
            lines += [shown(content)._repr_markdown_().strip(), ""]
    return "\n".join(lines)


def write_analysis_report(run: Run, path: str | Path | None = None) -> Path:
    """Write the report to ``path``, by default ``<log>/turn_<N>/ANALYSIS_REPORT.md`` (the
    log itself for the flat layout, which ``massgen logs list`` does not list)."""
    if path is None:
        from ..loaders._massgen_layout import REPORT_NAME, report_path

        path = report_path(run.meta) or Path(run.meta.get("log_dir") or run.meta["path"]) / REPORT_NAME
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(run), encoding="utf-8")
    return path
