"""The "MassGen" report section: the MassGen log-analyzer skill's report template
(``../shared/seeds/massgen_log_analyzer_skill.txt``, "Report Template"), every heading filled
from the analyses, and ``ANALYSIS_REPORT.md`` written where ``massgen logs list --analyzed``
looks for it (``<log>/turn_<N>/``).

``section_parts(run)`` is the content as data (heading level, heading, a DataFrame or text);
``render_markdown(run)`` renders it with every value from the logs escaped;
``write_analysis_report(run)`` writes it next to the turn.

>>> run = ak.load("sample_logs/massgen")                               # doctest: +SKIP
>>> write_analysis_report(run)                                          # doctest: +SKIP
PosixPath('sample_logs/massgen/log_20251103_145228/turn_1/ANALYSIS_REPORT.md')
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import analyses as an
from ..model import Run
from ..safe import escape_markdown

Part = tuple[int, str, Any]  # (heading level, heading, DataFrame | str | None)
NONE = "None found."
RED_FLAGS = {"retries_per_round": 2, "buffer_chars_lost": 5000}  # the skill's enforcement red flags


def _count(run: Run, kind: str) -> int:
    return int((run.events["kind"] == kind).sum())


def overview(run: Run) -> pd.DataFrame:
    """Session Overview: duration, agents, winner, cost (reported; NA when unpriced), answers,
    votes, restarts."""
    task = run.tasks.iloc[0] if len(run.tasks) else pd.Series(dtype=object)
    cost = task.get("cost_usd")
    unpriced = run.meta.get("unpriced_agents") or []
    rows = [("Duration", f"{task.get('duration_s', np.nan) / 60:.1f} minutes" if pd.notna(task.get("duration_s")) else "unknown"),
            ("Agents", ", ".join(run.meta.get("agents") or [])), ("Winner", run.meta.get("winner") or "none"),
            ("Total Cost", (f"${cost:.4f}" if pd.notna(cost) else "unknown") +
             (f" (unpriced: {', '.join(unpriced)})" if unpriced else "")),
            ("Total Answers", _count(run, "answer")), ("Total Votes", _count(run, "vote")),
            ("Total Restarts", _count(run, "restart")), ("Turn / attempt", an.shown_attempt(run))]
    return pd.DataFrame(rows, columns=["Metric", "Value"])


def coordination_flow(run: Run) -> pd.DataFrame:
    """Coordination Flow: answers, votes, restarts and the final selection in time order."""
    ev = run.events
    keep = ev[ev["kind"].isin(["answer", "vote", "restart"]) | ev["name"].isin(
        ["final_agent_selected", "final_answer", "session_start", "session_end"])]
    reasons = an.votes(run).set_index("time")["reason"] if _count(run, "vote") else pd.Series(dtype=object)
    what = [f"{k} {n}" if k != "vote" else f"vote for {n}" for k, n in zip(keep["kind"], keep["name"].fillna(""))]
    out = pd.DataFrame({"time": keep["start"], "agent": keep["agent"], "event": what,
                        "reason": [reasons.get(t) if k == "vote" else None for k, t in zip(keep["kind"], keep["start"])]})
    return out.sort_values("time", kind="stable").reset_index(drop=True)


def executive_summary(run: Run) -> str:
    """Two sentences of facts: the question, the winner, answers, votes, restarts, time, cost."""
    task = run.tasks.iloc[0] if len(run.tasks) else pd.Series(dtype=object)
    minutes = f"{task['duration_s'] / 60:.1f} minutes" if pd.notna(task.get("duration_s")) else "an unknown time"
    cost = f"${task['cost_usd']:.4f} reported" if pd.notna(task.get("cost_usd")) else "no reported cost"
    return (f"{len(run.meta.get('agents') or [])} agents gave {_count(run, 'answer')} answers and "
            f"{_count(run, 'vote')} votes in {minutes} ({cost}); winner: {run.meta.get('winner') or 'none'}, "
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
    """Phase Duration Breakdown: rounds by round type (count, mean, max, total seconds, share)."""
    roi = an.round_roi(run)
    if roi.empty:
        return roi
    grouped = roi.groupby(roi["round_type"].fillna("unknown"), sort=False)["time_s"]
    out = pd.DataFrame({"Count": grouped.size(), "Avg (s)": grouped.mean(), "Max (s)": grouped.max(),
                        "Total (s)": grouped.sum()})
    out["% of Total"] = 100 * out["Total (s)"] / out["Total (s)"].sum()
    return out.reset_index(names="Phase")


def enforcement(run: Run) -> pd.DataFrame:
    """Enforcement & Workflow Reliability per agent, with the skill's red flags."""
    rel = an.agent_reliability(run)
    if rel.empty:
        return rel
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
    return rel.assign(red_flags=flags)


def _bottlenecks(run: Run) -> pd.DataFrame:
    slow = an.slowest(run.events, n=5)
    if slow.empty:
        return slow
    return slow.assign(seconds=slow["duration_ms"] / 1000)[["agent", "kind", "name", "start", "seconds"]]


def tool_errors(run: Run) -> pd.DataFrame:
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


def section_parts(run: Run) -> list[Part]:
    """The report's content under the skill's template headings, in order."""
    roi = an.round_roi(run)
    return [
        (2, "Executive Summary", executive_summary(run)),
        (2, "Session Overview", overview(run)),
        (2, "1. Correctness Analysis", None),
        (3, "Coordination Flow", coordination_flow(run)),
        (3, "Status", correctness(run)),
        (2, "2. Efficiency Analysis", None),
        (3, "Phase Duration Breakdown", phases(run)),
        (3, "Per-Round Timing (Sorted by Agent)", an.rounds(run)),
        (3, "Top Bottlenecks", _bottlenecks(run)),
        (2, "3. Command Pattern Analysis", None),
        (3, "Frequently Repeated Commands", an.repeated_commands(run)),
        (3, "Commands with Excessive Output", an.largest_command_outputs(run, n=5)),
        (3, "Slowest Command Patterns", an.command_patterns(run, by="program")),
        (2, "4. Work Duplication Analysis", None),
        (3, "Duplicated Work Found", an.duplication_summary(run)),
        (3, "Specific Examples", an.duplicated_work(run).head(10)),
        (2, "5. Agent Behavior Analysis", None),
        (3, "Answer Progression", an.answer_changes(run)),
        (3, "Voting Analysis", an.votes(run)),
        (2, "6. Cost & Token Analysis", None),
        (3, "Cost Breakdown", cost_by_agent(run)),
        (2, "7. Errors & Issues", None),
        (3, "Failed Tool Calls", tool_errors(run)),
        (3, "Agent Errors and Timeouts", an.agent_reliability(run)),
        (3, "Enforcement & Workflow Reliability", enforcement(run)),
        (2, "Round ROI (\"Was It Worth It?\")", roi),
        (3, "Diminishing Returns", an.diminishing_returns(run)),
        (2, "Appendix", None),
        (3, "Turns and Attempts", an.attempts(run) if len(an.attempts(run)) else an.shown_attempt(run)),
        (3, "Configuration Used", pd.DataFrame(sorted((run.meta.get("agent_models") or {}).items()),
                                               columns=["agent", "model"])),
        (3, "Input Problems", run.problems[["file", "line", "reason"]] if len(run.problems) else NONE),
    ]


def _cell(value: Any) -> str:
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%H:%M:%S")
    return escape_markdown(value if isinstance(value, str) else str(value), newline="<br>", line_markers=False,
                           max_chars=300)


def table_markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a markdown table, every cell escaped (log text is untrusted)."""
    if frame.empty:
        return NONE
    header = "| " + " | ".join(_cell(str(c)) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def render_markdown(run: Run) -> str:
    """The whole MassGen Log Analysis Report as markdown."""
    lines = ["# MassGen Log Analysis Report", "",
             f"**Session**: {escape_markdown(run.meta.get('run_id') or '')}  ",
             f"**Generated**: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M UTC} by analysis-kit  ",
             f"**Question**: {escape_markdown(run.meta.get('question') or 'unknown', max_chars=300)}", "",
             "Claims are reported as the agents made them; no answer is marked correct.", ""]
    for level, heading, content in section_parts(run):
        lines += ["#" * level + " " + heading, ""]
        if isinstance(content, pd.DataFrame):
            lines += [table_markdown(content), ""]
        elif isinstance(content, str):
            lines += [escape_markdown(content), ""]
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
