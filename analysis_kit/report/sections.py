"""The report's sections, described once. Everything else is made from this list: the
section notebooks (:mod:`analysis_kit.report.notebooks`), the parameters a report accepts
and validates, the sample run a notebook opens without one, and which sections a run has
something to say for.

A section is one :class:`Section` entry: its name and title, the sentence that opens it,
its own parameters (beside the common ones), the bundled sample run that shows it, the
module of views it calls (whose ``has_content(run)`` says whether it has anything to say
for a run) and its parts, each a heading, a sentence and one call into that module. A new
section is one entry here and one views module.

A section has a scope: ``run`` sections make the report of a run (``analysis-kit report
PATH``); ``store`` sections open a run store instead (their own ``setup`` and parameters,
``common=False``) and make the report of a store (``analysis-kit report --store DIR``).

>>> [s.name for s in SECTIONS][:3]
['overview', 'latency', 'timeline']
>>> section("timeline").parameters()["stall_threshold_s"]
300.0
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..exceptions import ParameterError


@dataclass(frozen=True)
class Param:
    """A notebook parameter: its name, default value (a Python literal) and what it means."""

    name: str
    default: Any
    help: str


@dataclass(frozen=True)
class Part:
    """One ``###`` part of a section: a title, a sentence saying what it shows, and the
    call that shows it (an expression on ``view``, the section's views module, and the
    notebook's variables: ``run`` and the parameters). ``report=False`` keeps the part out
    of the report (it is there already, e.g. the headline on page one)."""

    title: str
    text: str
    call: str
    report: bool = True


COMMON_PARAMS: tuple[Param, ...] = (
    Param("run_path", None, "a run file or directory, or a list of them; None: the sample run that shows this section"),
    Param("load_options", {}, 'options passed to analysis_kit.load, e.g. {"turn": 2}; the loader checks them'),
    Param("out_dir", None, "a folder this section may write files to (None: write nothing)"),
    Param("redact", True, "replace API keys, bearer tokens and URL passwords in everything shown"),
)


@dataclass(frozen=True)
class Section:
    """One report section (see the module docstring)."""

    name: str
    title: str
    intro: str
    sample: str | tuple[str, ...]  # a sample name, or several (compared); () for a store section (its setup)
    parts: tuple[Part, ...]
    params: tuple[Param, ...] = ()
    views: str = ""
    # The setup cell's code after the imports, when the section opens something else than
    # ``run_path`` (e.g. a run store from a ``store_dir`` parameter); empty: open the run.
    setup: str = ""
    common: bool = True  # declare the common parameters (run_path, load_options, ...)
    scope: str = "run"  # "run": a run's report; "store": a run store's report

    @property
    def views_module(self) -> str:
        return self.views or f"analysis_kit.report.views.{self.name}"

    def parameters(self) -> dict[str, Any]:
        """Every parameter the section's notebook declares, with its default."""
        return {p.name: p.default for p in self.all_params()}

    def all_params(self) -> tuple[Param, ...]:
        return (COMMON_PARAMS if self.common else ()) + self.params

    def has_content(self, run: Any) -> str | None:
        """None when the section has something to say for ``run``, else the reason it has not."""
        return importlib.import_module(self.views_module).has_content(run)


SECTIONS: tuple[Section, ...] = (
    Section(
        "overview", "Overview",
        "What ran, how many tasks passed, and the totals of time, cost and tokens.",
        sample="tau2_results",
        parts=(
            Part("Headline", "The answer first: what ran, the pass rate with its interval, time, cost, "
                 "the slowest tool and model, the most common failure (the report's first page).",
                 "view.headline(run)", report=False),
            Part("The run", "Where the run came from and its totals (blank where the source has no such data).",
                 "view.the_run(run)"),
            Part("Outcomes", "Task attempts by status, and by the reason each one ended.", "view.outcomes(run)"),
            Part("pass^k", "The chance that all k trials of a task pass (C(successes, k) / C(trials, k), "
                 "averaged over tasks), with a bootstrap interval.", "view.pass_k(run)"),
        )),
    Section(
        "latency", "Latency",
        "How long model calls, tool calls and expert calls took, and which were slowest.",
        sample="tau2_profile",
        parts=(
            Part("By kind", "Count, mean and percentiles of each kind of timed operation; the histogram "
                 "marks each kind's own percentiles.", "view.by_kind(run)"),
            Part("By model and tool", "The same percentiles for each model and each tool function.",
                 "view.by_name(run)"),
            Part("Slowest calls", "The ten longest operations, with the task they belong to.", "view.slowest(run)"),
            Part("Time per step", "How long the conversation steps took (tau2-bench `step_complete` events).",
                 "view.step_times(run)"),
        )),
    Section(
        "timeline", "Timeline",
        "When things happened: one task's operations as a Gantt chart, how many ran at once, and the tasks "
        "that stalled.",
        sample="tau2_profile",
        params=(Param("task_id", None, "the task to draw (None: the longest task)"),
                Param("stall_threshold_s", 300.0, "an unfinished task whose last event is this many seconds "
                      "before the run's last one counts as stalled")),
        parts=(
            Part("Time split per task", "Wall time of each task attempt and how much of it went to model calls, "
                 "tool calls and the rest, longest first.", "view.time_split(run)"),
            Part("One task", "The operations of one task (the `task_id` parameter, else the longest), one lane "
                 "per thread.", "view.one_task(run, task_id)"),
            Part("Concurrency", "Operations in flight over time.", "view.concurrency(run)"),
            Part("Stalled tasks", "Each task's last event and the gap from it to the end of the run; a gap over "
                 "`stall_threshold_s` marks a task stalled unless it had finished (it was evaluated, or has an "
                 "outcome). Stalled tasks first.", "view.stalled(run, stall_threshold_s)"),
            Part("Rounds", "For multi-agent runs: each agent's rounds, their total time, the tool wall time "
                 "(the union of overlapping tool calls) and the rest.", "view.rounds(run)"),
        )),
    Section(
        "trace", "Trace",
        "Where the time went in span sources (OpenTelemetry, Logfire, Inspect spans): the slowest traces as "
        "waterfalls, self time by span name, and the span tree of one task.",
        sample="otlp",
        params=(Param("task_id", None, "the task whose span tree is listed (None: the slowest trace's)"),),
        parts=(
            Part("Slowest traces", "The three traces whose spans cover the longest wall time, each as a waterfall: "
                 "one bar per span, indented by depth under its parent, the self time dark inside it, failed "
                 "spans marked red.", "view.slowest(run)"),
            Part("Self time by span name", "Per span name: the spans' total time (nested time counted at every "
                 "level) and their self time (time not covered by child spans, each second counted once), "
                 "largest self time first.", "view.self_time(run)"),
            Part("Span tree", "The spans of one task (the `task_id` parameter, else the slowest trace) depth-first, "
                 "with the offset from the trace start, duration, self time and error of each.",
                 "view.span_tree(run, task_id)"),
        )),
    Section(
        "cost", "Cost and tokens",
        "What the run cost and where the tokens went. Calls without a price are counted as such, never summed "
        "as free; an estimated cost is shown beside the reported one, never added to it.",
        sample="maseval",
        parts=(
            Part("Totals", "Cost, tokens and cache use of the whole run.", "view.totals(run)"),
            Part("By model", "Cost and tokens of each model; `unpriced calls` counts calls without a price.",
                 "view.by_model(run)"),
            Part("By agent and by task", "The same totals per agent, and the most expensive tasks.",
                 "view.by_agent_and_task(run)"),
            Part("Cost per successful task", "Total cost divided by the tasks that passed.", "view.per_success(run)"),
            Part("Agent and framework", "The agent's own calls against the framework's (user simulator, "
                 "evaluator, experts).", "view.agent_vs_framework(run)"),
        )),
    Section(
        "failures", "Failures",
        "Why tasks failed: by step and classification, tool errors, termination reasons, and failures that "
        "recur across runs.",
        sample="convex",
        parts=(
            Part("By step", "Failed evaluations or tasks by the step that failed.", "view.by_step(run)"),
            Part("By classification", "Failures by why they happened (MODEL_FAULT, OVERLY_STRICT, AMBIGUOUS_TASK, "
                 "KNOWN_GAP), and the groups worth acting on.", "view.by_classification(run)"),
            Part("Failed tasks", "The failures themselves (error text escaped and cut).", "view.failed_tasks(run)"),
            Part("Tool errors", "Tool calls that returned an error, per tool, with the most common error.",
                 "view.tool_errors(run)"),
            Part("Termination reasons", "How each task attempt ended.", "view.termination_reasons(run)"),
            Part("Recurring failures", "Tasks that failed in several runs of a series in a row.",
                 "view.recurring(run)"),
        )),
    Section(
        "conversations", "Conversations",
        "What the agents said: messages and tool calls per task, repeated tool calls, the largest tool outputs, "
        "and one task's transcript (all text escaped).",
        sample="tau2_results",
        params=(Param("task_id", None, "the task whose transcript is shown (None: the task with the most messages)"),),
        parts=(
            Part("Messages per task", "Messages by role and tool calls made, per task attempt and agent "
                 "(largest first).", "view.per_task(run)"),
            Part("Repeated tool calls", "The same tool called with the same arguments more than once in a task.",
                 "view.repeated_calls(run)"),
            Part("Largest tool outputs", "The tool results with the most characters.", "view.largest_outputs(run)"),
            Part("Transcript", "One task's conversation (the `task_id` parameter, else the longest), contents "
                 "escaped and cut.", "view.transcript(run, task_id)"),
        )),
    Section(
        "coordination", "Coordination",
        "How the agents of a multi-agent run coordinated: answers, votes and their reasons, the winner, "
        "restarts and reliability.",
        sample="massgen",
        parts=(
            Part("Winner", "The answer the agents chose, and the votes each agent received.", "view.winner(run)"),
            Part("Answers", "Each answer in the order given, by agent and round.", "view.answers(run)"),
            Part("Votes", "Each vote, whom it was for, and the reason given (escaped).", "view.votes(run)"),
            Part("Agent reliability", "Per agent: status, restarts, enforcement retries, buffer characters lost, "
                 "unknown tools and timeouts.", "view.reliability(run)"),
        )),
    Section(
        "massgen", "MassGen",
        "The MassGen log-analyzer skill's report, heading by heading: correctness, efficiency, commands, "
        "duplicated work, agent behaviour, cost, errors and the return of each round (the same content "
        "`analysis-kit report LOGDIR --massgen` writes to turn_N/ANALYSIS_REPORT.md). Tables other sections of "
        "this report show are named, not repeated.",
        sample="massgen",
        params=(Param("shown_elsewhere", [], "sections of the same report whose tables this one names instead of "
                      "repeating (the report gives the sections it holds; []: show everything here)"),),
        parts=(
            Part("Executive Summary", "The run in two sentences.", "view.executive_summary(run)"),
            Part("Session Overview", "Duration, agents, winner, cost, answers, votes and restarts.",
                 "view.session_overview(run)"),
            Part("1. Correctness Analysis", "What happened in order, and the template's status checklist (claims "
                 "as the agents made them, not verdicts).", "view.correctness(run)"),
            Part("2. Efficiency Analysis", "Time by phase and round, the checklist-gated phases (evaluation, "
                 "checklist to proposal, implementation) and the top bottlenecks.",
                 "view.efficiency(run, shown_elsewhere)"),
            Part("3. Command Pattern Analysis", "Commands run more than once, with the largest output, and the "
                 "slowest kinds of command.", "view.commands(run)"),
            Part("4. Work Duplication Analysis", "Work done again by the same or another agent, with the time and "
                 "cost it took.", "view.duplication(run)"),
            Part("5. Agent Behavior Analysis", "How each agent's answers changed, and the votes.",
                 "view.behavior(run, shown_elsewhere)"),
            Part("6. Cost & Token Analysis", "Tokens, cost and cache hits per agent.", "view.cost(run)"),
            Part("7. Errors & Issues", "Failed tool calls, agent errors and timeouts, and the enforcement red "
                 "flags.", "view.errors(run, shown_elsewhere)"),
            Part('Round ROI ("Was It Worth It?")', "What each round cost in time and money against what it "
                 "produced, and where each agent's answers stopped improving.", "view.round_roi(run)"),
            Part("Appendix", "Turns and attempts, the agents' models, input problems.",
                 "view.appendix(run, shown_elsewhere)"),
        )),
    Section(
        "comparison", "Comparison",
        "Two or more runs side by side: pass rate, latency percentiles and cost, with the change (b - a) and a "
        "bootstrap interval.",
        sample=("tau2_results", "tau2_results_rerun"),
        parts=(
            Part("Runs", "The runs compared, one row each.", "view.runs(run)"),
            Part("Change", "Each later run against the first: the metric in each run, the difference and its "
                 "95% interval.", "view.change(run)"),
            Part("Changed outcomes", "Task attempts that passed in one run and failed in the other.",
                 "view.changed_outcomes(run)"),
        )),
    Section(
        "problems", "Input problems",
        "Input the loader could not use: every skipped line or file is listed here with the reason, so nothing "
        "is lost silently.",
        sample="tau2_profile",
        parts=(
            Part("By reason", "How many lines or files were skipped, for each reason.", "view.by_reason(run)"),
            Part("Examples", "Up to three examples per reason: file, line and the raw text (escaped and cut).",
                 "view.examples(run)"),
        )),
    Section(
        "runs", "Runs",
        "Many runs of a run store side by side: a leaderboard, the cost vs pass-rate frontier per model, and "
        "trends over time per model.",
        sample=(), scope="store", common=False,
        params=(
            Param("store_dir", None, "a run store folder or URL (None: a store of the bundled sample runs)"),
            Param("where", None, "a DuckDB SQL condition on the runs table choosing the runs, on run_model, "
                  "benchmark, started, ... (None: every run)"),
            Param("redact", True, "replace API keys, bearer tokens and URL passwords in everything shown"),
            Param("out_dir", None, "a folder this section may write files to (None: write nothing)"),
        ),
        setup="\n".join([
            "from analysis_kit.store.report import sample_store",
            "",
            "# No store given: a store of the bundled sample runs (ingested once).",
            "store = view.open_store(store_dir if store_dir is not None else sample_store(), redact=redact)",
        ]),
        parts=(
            Part("The store", "Where the store is and what it holds: runs, models, benchmarks, formats, when they "
                 "ran (the report's first page).", "view.the_store(store, where)", report=False),
            Part("Leaderboard", "One row per run, best pass rate first (then cheapest): pass rate over the task "
                 "attempts with a known outcome and its 95% bootstrap interval (seed 0), cost (none where the run "
                 "has no price), tokens, and the p50/p90 latency of its model calls.",
                 "view.leaderboard(store, where)"),
            Part("Cost vs pass rate", "Each model's runs pooled: the pass rate of all their attempts with its "
                 "interval against the cost per task of its priced runs; the frontier joins the models no other "
                 "beats on both.", "view.frontier(store, where)"),
            Part("Trends per model", "Each model's pooled pass rate per week of the runs' start, with its interval.",
                 "view.trends(store, where)"),
            Part("Paths not loaded", "Paths the ingest could not load, and why.", "view.not_loaded(store)"),
        )),
)

_BY_NAME = {s.name: s for s in SECTIONS}
TITLES: dict[str, str] = {s.name: s.title for s in SECTIONS}


SCOPES = ("run", "store")


def names(scope: str = "run") -> list[str]:
    """The names of the sections of ``scope`` (a run's report, or a store's), in report order.

    >>> names("store")
    ['runs']
    """
    if scope not in SCOPES:
        raise ParameterError(f"unknown scope {scope!r}; scopes are: {', '.join(SCOPES)}")
    return [s.name for s in SECTIONS if s.scope == scope]


def section(name: str) -> Section:
    """The section called ``name``; an unknown name is a ParameterError listing them.

    >>> section("cost").title
    'Cost and tokens'
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ParameterError(f"unknown section {name!r}; sections are: {', '.join(names())}") from None


def check_sections(chosen: Sequence[str] | None, scope: str = "run") -> list[str]:
    """The sections of ``scope`` asked for (None: all of them), in report order; an unknown
    name, or a section of the other scope, is a ParameterError.

    >>> check_sections(["latency", "overview"])
    ['overview', 'latency']
    """
    if not chosen:
        return names(scope)
    unknown = [s for s in chosen if s not in _BY_NAME]
    if unknown:
        raise ParameterError(f"unknown section(s) {', '.join(map(repr, unknown))}; "
                             f"sections are: {', '.join(names(scope))}")
    other = [s for s in chosen if _BY_NAME[s].scope != scope]
    if other:
        how = "analysis-kit report --store DIR" if scope == "run" else "analysis-kit report PATH"
        raise ParameterError(f"section(s) {', '.join(map(repr, other))} report on "
                             f"{'a run store' if scope == 'run' else 'a run'}: {how}; "
                             f"the sections here are: {', '.join(names(scope))}")
    wanted = set(chosen)
    return [s for s in names(scope) if s in wanted]


@dataclass(frozen=True)
class Explorer:
    """The interactive notebook (not a report section): explorers in tabs."""

    name: str = "explore"
    sample: str | tuple[str, ...] = "tau2_results"
    params: tuple[Param, ...] = field(default=(
        Param("run_path", None, "a run file or directory, or a list of them (None: the bundled sample run)"),
        Param("load_options", {}, 'options passed to analysis_kit.load, e.g. {"turn": 2}'),
        Param("run_id", None, "with several runs, the run the explorers show (None: the first)"),
        Param("redact", True, "replace API keys, bearer tokens and URL passwords in everything shown"),
    ))


EXPLORER = Explorer()
