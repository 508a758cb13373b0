"""Page one of a report: the answer first.

:func:`facts` reads a run into a short list of :class:`Fact` (what ran, tasks x trials,
pass rate with its interval, wall time, cost reported and estimated, tokens, the slowest
tool and model at p90, the most common failure, stalled tasks, input problems), each
naming the section that explains it. :class:`Headline` shows them as a table whose labels
link to those sections (``#section-<name>`` in HTML, the heading's anchor in markdown).

>>> import pandas as pd
>>> from analysis_kit.model import Run
>>> run = Run(meta={"run_id": "r"}, tasks=pd.DataFrame({"task_id": ["a", "b", "c", "d"],
...                                                     "success": [True, True, True, False]}))
>>> [(f.label, f.text) for f in facts(run)][1:3]
[('Tasks', '4 tasks, one trial each'), ('Pass rate', '75.0% (3 of 4; 95% interval 30.1%–95.4%)')]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

import pandas as pd

from .. import formatting as fmt
from .. import safe
from ..model import Run

STALL_THRESHOLD_S = 300.0


@dataclass
class Fact:
    """One line of the headline: a label, its text (untrusted: escaped when shown) and
    the section that explains it."""

    label: str
    text: str
    section: str | None = None


def wilson_interval(successes: float, n: float, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default): sound at 0 and at n.

    >>> [round(v, 3) for v in wilson_interval(3, 4)]
    [0.301, 0.954]
    """
    if not n:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _trials(tasks: pd.DataFrame) -> pd.Series:
    """Attempts per task id."""
    return tasks.groupby("task_id", dropna=True).size()


def _what_ran(run: Run) -> str:
    meta = run.meta
    parts = [str(meta.get("run_id"))]
    about = " ".join(str(meta[k]) for k in ("benchmark", "domain") if meta.get(k))
    source = meta.get("source_format")
    detail = [d for d in (about, f"format {source}" if source else "") if d]
    models = fmt.text_list(meta.get("models") or [])
    if models:
        detail.append(f"models {models}")
    started, ended = fmt.timestamp(meta.get("started")), fmt.timestamp(meta.get("ended"))
    if started:
        detail.append(f"{started} to {ended} UTC" if ended else f"started {started} UTC")
    return parts[0] + (f" ({'; '.join(detail)})" if detail else "")


def _tasks_text(run: Run, totals: dict) -> str:
    trials = _trials(run.tasks)
    if run.meta.get("tasks_partial") or (run.meta.get("tasks_total") and int(run.meta["tasks_total"]) > len(run.tasks)):
        return f"{fmt.count(totals['tasks'])} tasks (the source lists only the ones that failed)"
    if trials.empty:
        return f"{fmt.count(totals['tasks'])} tasks" if totals["tasks"] else "no task outcomes recorded"
    lo, hi = int(trials.min()), int(trials.max())
    if hi == 1:
        return f"{len(trials):,} task{'s' if len(trials) != 1 else ''}, one trial each"
    each = f"{hi} trials" if lo == hi else f"{lo} to {hi} trials"
    return f"{len(trials):,} tasks × {each} = {int(trials.sum()):,} attempts"


def pass_rate_interval(run: Run, totals: dict) -> tuple[float, float]:
    """95% interval of the pass rate: a bootstrap over tasks when tasks have several
    trials (trials of one task are not independent), else the Wilson interval."""
    from ..analyses import pass_hat_k

    trials = _trials(run.tasks)
    if len(trials) and trials.max() > 1 and not run.meta.get("tasks_partial"):
        table = pass_hat_k(run, n_boot=1000, seed=0)
        if len(table):
            row = table.iloc[0]
            return float(row["ci_low"]), float(row["ci_high"])
    successes, known = totals["successes"], totals["tasks"]
    if successes is pd.NA or fmt.missing(successes) or fmt.missing(totals["pass_rate"]):
        return (math.nan, math.nan)
    n = successes / totals["pass_rate"] if totals["pass_rate"] else known
    return wilson_interval(float(successes), float(n))


def _pass_text(run: Run, totals: dict) -> str:
    rate = totals["pass_rate"]
    if fmt.missing(rate):
        return "not recorded (this source has no pass/fail verdicts)"
    low, high = pass_rate_interval(run, totals)
    n = int(round(totals["successes"] / rate)) if rate else totals["tasks"]
    text = f"{fmt.percent(rate)} ({fmt.count(totals['successes'])} of {fmt.count(n)}"
    if not (fmt.missing(low) or fmt.missing(high)):
        text += f"; 95% interval {fmt.percent(low)}–{fmt.percent(high)}"
    return text + ")"


def estimated_cost(events: pd.DataFrame) -> tuple[float, int]:
    """(sum, calls) of ``events.est_cost_usd`` where the column exists and has values:
    the price table's estimate for calls whose source gave no price. NaN when none."""
    if "est_cost_usd" not in events.columns:
        return math.nan, 0
    est = pd.to_numeric(events["est_cost_usd"], errors="coerce")
    if not est.notna().any():
        return math.nan, 0
    return float(est.sum()), int(est.notna().sum())


def _cost_text(run: Run, totals: dict) -> str | None:
    reported = totals["cost_usd"]
    est, est_calls = estimated_cost(run.events)
    parts = []
    if not fmt.missing(reported):
        parts.append(f"{fmt.cost(reported)} reported")
    if not fmt.missing(est):
        parts.append(f"{fmt.cost(est)} estimated for {fmt.counted(est_calls, 'call')} without a price")
    left = (totals["unpriced_calls"] or 0) - (est_calls if not fmt.missing(est) else 0)
    if left > 0 and parts:  # neither priced nor estimated (no tokens, or a model no table knows)
        more = "more " if not fmt.missing(est) else ""
        parts.append(f"{fmt.counted(left, more + 'model call')} without a price, not counted")
    return "; ".join(parts) or None


def _tokens_text(totals: dict) -> str | None:
    inp, out, cached = totals["input_tokens"], totals["output_tokens"], totals["cached_tokens"]
    if fmt.missing(inp) and fmt.missing(out):
        return None
    parts = []
    if not fmt.missing(inp):
        share = f" ({fmt.percent(cached / inp)} cached)" if not fmt.missing(cached) and inp else ""
        parts.append(f"{fmt.count(inp)} in{share}")
    if not fmt.missing(out):
        parts.append(f"{fmt.count(out)} out")
    return ", ".join(parts)


def _slowest(run: Run, kinds: Sequence[str]) -> str | None:
    from ..analyses import latency_stats

    events = run.events[run.events["kind"].isin(list(kinds))]
    if events.empty:
        return None
    stats = latency_stats(events, by="name").dropna(subset=["p90_ms"])
    if stats.empty:
        return None
    top = stats.sort_values("p90_ms", ascending=False, kind="stable").iloc[0]
    name = "(unnamed)" if fmt.missing(top["name"]) else str(top["name"])
    if top["count"] == 1:  # no percentile of one call: its time
        return f"{name}: {fmt.duration_ms(top['p90_ms'])}, its only call"
    return f"{name}: p90 {fmt.duration_ms(top['p90_ms'])} over {fmt.counted(top['count'], 'call')}"


def _top_failure(run: Run) -> str | None:
    failures = run.failures
    if len(failures):
        for column in ("step", "category", "classification"):
            values = failures[column].dropna()
            if len(values):
                counts = values.astype(str).value_counts()
                name, n = counts.index[0], int(counts.iloc[0])
                tied = [str(v) for v in counts.index[counts == n]]
                if len(tied) == 1:
                    return f"{name} ({column}): {n:,} of {len(failures):,} failures"
                listed = ", ".join(tied[:3]) + (", ..." if len(tied) > 3 else "")
                if n == 1:  # nothing recurs: "most common" would pick one at random
                    return f"none recurs: {len(failures):,} failures at {len(counts):,} different {column}s ({listed})"
                return f"{listed} ({column}): {n:,} each of {len(failures):,} failures"
        return f"{len(failures):,} failures, none labelled with a step or category"
    from ..analyses._util import tasks_success

    failed = run.tasks[tasks_success(run.tasks).fillna(True) == False]  # noqa: E712 - NA stays unknown
    reasons = failed["termination_reason"].dropna()
    if len(reasons):
        counts = reasons.astype(str).value_counts()
        return f"ended by {counts.index[0]}: {int(counts.iloc[0]):,} of {len(failed):,} failed attempts"
    failed_ops = run.events[run.events["error"].notna()]
    if len(failed_ops):
        names = (failed_ops["kind"].astype(str) + " " + failed_ops["name"].astype("string").fillna("(unnamed)"))
        counts = names.value_counts()
        return (f"{len(failed_ops):,} operations returned an error, most often {counts.index[0]} "
                f"({int(counts.iloc[0]):,})")
    return None


def _stalled_text(run: Run, threshold_s: float) -> str | None:
    from ..analyses import stalled_tasks

    if run.events.empty or not run.events["task_id"].notna().any():
        return None
    stalled = stalled_tasks(run, threshold_s=threshold_s)
    if stalled.empty:
        return None
    n = int(stalled["stalled"].sum())
    if not n:
        return f"none (of {len(stalled):,} task{'s' if len(stalled) != 1 else ''})"
    return (f"{n:,} of {len(stalled):,} tasks (unfinished, no event for {fmt.duration(threshold_s)} "
            "before the run's last one)")


def _problems_text(run: Run) -> str:
    problems = run.problems
    if problems.empty:
        return "none: every line of the input was used"
    files = problems["file"].nunique()
    return f"{len(problems):,} in {files:,} file{'s' if files != 1 else ''}"


def facts(run: Run, *, stall_threshold_s: float = STALL_THRESHOLD_S) -> list[Fact]:
    """The headline of one run: each fact with the section that explains it. A fact the
    run has no data for is left out (no tool calls: no slowest tool)."""
    from ..analyses import totals as run_totals

    totals = run_totals(run)
    found = [
        Fact("What ran", _what_ran(run), "overview"),
        Fact("Tasks", _tasks_text(run, totals), "overview"),
        Fact("Pass rate", _pass_text(run, totals), "overview"),
        Fact("Wall time", fmt.duration(totals["wall_s"]) if not fmt.missing(totals["wall_s"]) else None, "timeline"),
        Fact("Cost", _cost_text(run, totals), "cost"),
        Fact("Tokens", _tokens_text(totals), "cost"),
        Fact("Slowest tool (p90)", _slowest(run, ["tool_call"]), "latency"),
        Fact("Slowest model (p90)", _slowest(run, ["llm_call"]), "latency"),
        Fact("Most common failure", _top_failure(run), "failures"),
        Fact("Stalled tasks", _stalled_text(run, stall_threshold_s), "timeline"),
        Fact("Input problems", _problems_text(run), "problems"),
    ]
    return [f for f in found if f.text]


def anchor(title: str) -> str:
    """The markdown anchor of a ``## title`` heading (GitHub's rule).

    >>> anchor("Cost and tokens")
    'cost-and-tokens'
    """
    text = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return text.replace(" ", "-")


class Headline:
    """The headline table: one row per fact, one value column per run. A label links to
    the section that explains it when that section is in the report (``sections``, a
    mapping of section name to title; None: no links, as in a notebook).

    >>> import pandas as pd
    >>> from analysis_kit.model import Run
    >>> h = Headline(Run(meta={"run_id": "r"}), sections={"problems": "Input problems"})
    >>> '<a href="#section-problems">Input problems</a>' in h._repr_html_()
    True
    """

    def __init__(self, run: Run, *, sections: dict[str, str] | None = None,
                 stall_threshold_s: float = STALL_THRESHOLD_S):
        self.sections = sections
        ids = run.run_ids
        runs = [run] if len(ids) <= 1 else [run.select(rid) for rid in ids]
        self.run_ids = [r.run_id for r in runs]
        per_run = [facts(r, stall_threshold_s=stall_threshold_s) for r in runs]
        labels: list[tuple[str, str | None]] = []
        for found in per_run:
            for fact in found:
                if (fact.label, fact.section) not in labels:
                    labels.append((fact.label, fact.section))
        values = [{f.label: f.text for f in found} for found in per_run]
        self.rows = [(label, section, [v.get(label, "") for v in values]) for label, section in labels]

    def text(self, label: str) -> list[str]:
        """The values of fact ``label``, one per run."""
        return next((vals for lab, _, vals in self.rows if lab == label), [])

    def _link_md(self, label: str, section: str | None) -> str:
        text = safe.escape_markdown(label)
        if self.sections and section in self.sections:
            return f"[{text}](#{anchor(self.sections[section])})"
        return text

    def _link_html(self, label: str, section: str | None) -> str:
        text = safe.escape_html(label)
        if self.sections and section in self.sections:
            return f'<a href="#section-{section}">{text}</a>'
        return text

    def _repr_markdown_(self) -> str:
        many = len(self.run_ids) > 1
        head = "| | " + " | ".join(safe.escape_markdown(r, line_markers=False) for r in self.run_ids) + " |" \
            if many else "| | |"
        rule = "|:--|" + ":--|" * (len(self.run_ids) if many else 1)
        lines = [head, rule]
        for label, section, values in self.rows:
            cells = [safe.escape_markdown(v, newline="<br>", line_markers=False) for v in values]
            lines.append(f"| **{self._link_md(label, section)}** | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        many = len(self.run_ids) > 1
        head = ("<thead><tr><th></th>" + "".join(f"<th>{safe.escape_html(r)}</th>" for r in self.run_ids)
                + "</tr></thead>") if many else ""
        body = "".join(
            f"<tr><th>{self._link_html(label, section)}</th>"
            + "".join(f"<td>{safe.escape_html(v)}</td>" for v in values) + "</tr>"
            for label, section, values in self.rows)
        return f'<table class="ak-table ak-headline">{head}<tbody>{body}</tbody></table>'

    def __repr__(self) -> str:
        return "\n".join(f"{label}: {' | '.join(values)}" for label, _, values in self.rows)


def headline(run: Run, *, sections: dict[str, str] | None = None,
             stall_threshold_s: float = STALL_THRESHOLD_S) -> Headline:
    """The headline of ``run`` (several runs: one column each).

    >>> headline(run)                                          # doctest: +SKIP
    """
    return Headline(run, sections=sections, stall_threshold_s=stall_threshold_s)

