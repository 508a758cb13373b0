"""Task explorer: pick a task (searchable, sortable) and see why it ended, its Gantt
timeline, the waterfall of its spans (where the source has a span hierarchy), its events
and its transcript (escaped, long contents folded)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import analyses as an
from .. import formatting as fmt
from .. import plots, safe
from ..analyses._util import tasks_success
from ..plots import matching_rows
from ..model import Run
from ._common import (StaticView, TaskIndex, clear_figure, figure_data, html_data, label_text,
                      new_figure, object_data, render)

SORTS = [("duration (longest first)", "duration"), ("cost (highest first)", "cost"),
         ("outcome (failures first)", "outcome"), ("task id", "task_id")]
# Failures first: the tasks a reader opens this explorer for.
OUTCOME_RANK = {"failure": 0, "error": 1, "timeout": 2, "running": 3, "unknown": 4, "success": 5}
EVENT_COLUMNS = ["offset_s", "kind", "name", "agent", "thread", "duration_ms", "error"]
FOLD_CHARS = 1500  # characters of a message shown before folding
DETAIL_CHARS = 20_000  # most characters of one message ever put on the page
WATERFALL_SPANS = 80  # spans drawn in a waterfall (the plot counts the rest in its title)


def single_run(run: Run, run_id: str | None = None) -> Run:
    """One run out of a ``load_runs`` result (the first unless ``run_id`` says)."""
    if len(run.run_ids) <= 1:
        return run
    return run.select(run_id or run.run_ids[0])


def task_list(run: Run, index: TaskIndex | None = None) -> pd.DataFrame:
    """One row per task attempt: task_id, trial, outcome, termination_reason, error,
    duration_s, cost_usd. Tasks seen only in events or messages are added (outcome
    "unknown"); a missing duration comes from the task's event span.

    >>> task_list(Run(tasks=pd.DataFrame({"task_id": ["a"], "success": [False]})))["outcome"].tolist()
    ['failure']
    """
    t = run.tasks
    success = tasks_success(t)
    outcome = t["status"].astype("string").str.lower()
    outcome = outcome.fillna(success.map({True: "success", False: "failure"}).astype("string"))
    frame = pd.DataFrame({
        "task_id": t["task_id"].astype("string"), "trial": t["trial"],
        "outcome": outcome.fillna("unknown"), "termination_reason": t["termination_reason"],
        "error": t["error"], "duration_s": t["duration_s"], "cost_usd": t["cost_usd"],
    })
    index = index or TaskIndex(run)
    seen = set(frame["task_id"].dropna())
    extra = [tid for tid in index.task_ids() if tid not in seen]
    if extra:
        frame = pd.concat([frame, pd.DataFrame({"task_id": pd.array(extra, dtype="string"),
                                                "outcome": "unknown"})], ignore_index=True)
    frame = frame[frame["task_id"].notna()].reset_index(drop=True)
    missing = frame["duration_s"].isna()
    if missing.any() and run.events["start"].notna().any():
        span = _event_spans(run.events)
        frame.loc[missing, "duration_s"] = frame.loc[missing, "task_id"].map(span).astype("float64")
    return frame


def _event_spans(events: pd.DataFrame) -> pd.Series:
    """Seconds from each task's first event start to its last event end."""
    start = events["start"].fillna(events["end"])
    end = events["end"].fillna(events["start"])
    g = pd.DataFrame({"task_id": events["task_id"], "start": start, "end": end}).groupby("task_id")
    return (g["end"].max() - g["start"].min()).dt.total_seconds()


def per_task(tasks: pd.DataFrame) -> pd.DataFrame:
    """One row per task id (trials merged): longest duration, total cost, worst outcome
    rank and the dropdown label; computed once so sorting and filtering are cheap.

    >>> t = pd.DataFrame({"task_id": ["a", "a"], "trial": [0, 1], "outcome": ["success", "failure"],
    ...                   "duration_s": [1.0, 3.0], "cost_usd": [0.5, None]})
    >>> per_task(t)[["task_id", "duration", "cost", "outcome"]].values.tolist()
    [['a', 3.0, 0.5, 0]]
    """
    if tasks.empty:
        return pd.DataFrame(columns=["task_id", "duration", "cost", "outcome", "outcomes", "label"])
    rank = tasks["outcome"].astype(str).map(OUTCOME_RANK).fillna(OUTCOME_RANK["unknown"])
    g = tasks.assign(_rank=rank).groupby("task_id", sort=True)
    out = pd.DataFrame({
        "duration": g["duration_s"].max(), "cost": g["cost_usd"].sum(min_count=1),
        "outcome": g["_rank"].min().astype(int),
        "outcomes": g["outcome"].agg(lambda s: ",".join(sorted(set(s.astype(str))))),
    }).reset_index()
    out["task_id"] = out["task_id"].astype(str)
    out["label"] = [_label(t, o, d, c) for t, o, d, c in
                    zip(out["task_id"], out["outcomes"], out["duration"], out["cost"])]
    return out


def _label(task_id: str, outcomes: str, duration: float, cost: float) -> str:
    parts = [label_text(task_id, 50), outcomes]
    if pd.notna(duration):
        parts.append(fmt.duration(duration))
    if pd.notna(cost):
        parts.append(fmt.cost(cost))
    return "  ·  ".join(parts)


def _sorted_task_ids(per: pd.DataFrame, sort: str) -> list[str]:
    """Task ids in the order ``sort`` asks for (ties by task id)."""
    if sort == "duration":
        per = per.sort_values(["duration", "task_id"], ascending=[False, True], na_position="last")
    elif sort == "cost":
        per = per.sort_values(["cost", "task_id"], ascending=[False, True], na_position="last")
    elif sort == "outcome":
        per = per.sort_values(["outcome", "task_id"], kind="stable")
    else:
        per = per.sort_values("task_id", kind="stable")
    return per["task_id"].tolist()


class TaskExplorer:
    """One task in detail.

    Controls: ``.search`` (Text: keeps task ids containing it), ``.sort`` (Dropdown:
    duration, cost, outcome, task_id), ``.task`` (Dropdown of task ids), ``.trial``.
    Outputs: ``.header_out`` (outcome, termination/failure reason of the trial shown),
    ``.gantt_out``, ``.waterfall_out`` (the task's spans as a waterfall when its events
    carry span ids, else empty), ``.events_out``, ``.transcript_out``. State: ``.tasks``
    (all attempts), ``.rows`` (the task ids listed, in order), ``.current_task``,
    ``.current_trial``, ``.current_events``, ``.current_transcript``, ``.header_text``,
    ``.transcript_html``, ``.figure``, ``.waterfall_figure`` (None while the task shown has
    no spans), ``.highlight`` (the call chosen in another explorer, drawn outlined in the
    Gantt chart and marked in the events table) and ``.highlighted`` (its rows in
    ``current_events``). ``on_open(callback)`` registers a function called after another
    explorer opens a task here (the tabs use it to show this one).

    >>> ex = TaskExplorer(run); ex.sort.value = "outcome"; ex.current_task   # doctest: +SKIP
    """

    def __init__(self, run: Run, *, run_id: str | None = None, index: TaskIndex | None = None,
                 sort: str = "duration", fold_chars: int = FOLD_CHARS):
        import ipywidgets as w

        self.run = single_run(run, run_id)
        self.index = index if index is not None and index.run is self.run else TaskIndex(self.run)
        self.fold_chars = fold_chars
        self.tasks = task_list(self.run, self.index)
        self._per_task = per_task(self.tasks)
        self._labels = dict(zip(self._per_task["task_id"], self._per_task["label"]))
        self._orders: dict[str, list[str]] = {}  # sort key -> task ids, computed on first use
        trials = self.tasks.dropna(subset=["trial"]).groupby("task_id")["trial"]
        self._trials = {str(t): sorted({int(v) for v in values}) for t, values in trials}
        self._quiet = False
        self.search = w.Text(value="", placeholder="filter task ids", description="search",
                             continuous_update=True)
        self.sort = w.Dropdown(options=SORTS, value=sort, description="sort by")
        self.task = w.Dropdown(options=[], description="task", layout=w.Layout(width="60%"))
        self.trial = w.Dropdown(options=[], description="trial")
        self.header_out, self.gantt_out, self.waterfall_out = w.Output(), w.Output(), w.Output()
        self.events_out, self.transcript_out = w.Output(), w.Output()
        # CSS classes name the parts for the browser test and for users' own styling.
        self.task.add_class("ak-task-select")
        self.transcript_out.add_class("ak-transcript-out")
        self.header_out.add_class("ak-task-header-out")
        self.events_out.add_class("ak-task-events-out")
        self.current_task: str | None = None
        self.current_trial: int | None = None
        self.current_events = pd.DataFrame()
        self.current_transcript = pd.DataFrame()
        self.header_text, self.transcript_html = "", ""
        self.highlight: dict | None = None
        self.highlighted: list[int] = []
        self._listeners: list = []
        # Room for lane names on the left and the date offset under the axis.
        self.figure = new_figure(9, 3.4, left=0.2, bottom=0.28)
        self.waterfall_figure = None
        self.search.observe(self._on_list, names="value")
        self.sort.observe(self._on_list, names="value")
        self.task.observe(self._on_task, names="value")
        self.trial.observe(self._on_trial, names="value")
        self._on_list()
        self.widget = w.VBox([
            w.HBox([self.search, self.sort]), w.HBox([self.task, self.trial]),
            self.header_out, self.gantt_out, self.waterfall_out, self.events_out, self.transcript_out,
        ])

    # --- the task list ----------------------------------------------------------------------

    def _on_list(self, change: Any = None) -> None:
        if self.sort.value not in self._orders:
            self._orders[self.sort.value] = _sorted_task_ids(self._per_task, self.sort.value)
        ids = self._orders[self.sort.value]
        needle = self.search.value.strip().lower()
        if needle:
            ids = [t for t in ids if needle in t.lower()]
        self.rows = ids
        keep = self.current_task if self.current_task in ids else (ids[0] if ids else None)
        self._quiet = True
        try:
            self.task.options = [(self._labels[t], t) for t in ids]
            self.task.value = keep
        finally:
            self._quiet = False
        if keep != self.current_task or change is None:
            self._set_trials(keep)
            self._show()

    def _set_trials(self, task_id: str | None) -> None:
        values = self._trials.get(task_id, [])
        quiet, self._quiet = self._quiet, True
        try:
            self.trial.options = [(f"trial {v}", v) for v in values] or [("-", None)]
            self.trial.value = values[0] if values else None
        finally:
            self._quiet = quiet

    def _on_task(self, change: Any = None) -> None:
        if self._quiet:
            return
        self.highlight = None  # the user picked a task: no call of another explorer to mark
        self._set_trials(self.task.value)
        self._show()

    def _on_trial(self, change: Any = None) -> None:
        if not self._quiet:
            self.highlight = None
            self._show()

    def show_task(self, task_id: str, trial: int | None = None, *, highlight: dict | None = None) -> None:
        """Open ``task_id`` (and ``trial``; default its first), clearing the search if it
        hides the task; ``highlight`` (``{"kind", "name", "start", "duration_ms"}``) marks
        one call. The listeners (``on_open``) hear of it first, then the task is drawn."""
        if task_id not in self.rows:
            self.search.value = ""
        if task_id not in self.rows:
            raise KeyError(f"no task {task_id!r} in this run")
        self.highlight = highlight
        self._quiet = True
        try:
            self.task.value = task_id
            self._set_trials(task_id)
            if trial is not None and trial in [v for _, v in self.trial.options]:
                self.trial.value = trial
        finally:
            self._quiet = False
        for callback in self._listeners:  # first, so the Task tab is up while the task renders
            callback(task_id, self.trial.value)
        self._show()

    def on_open(self, callback) -> None:
        """Call ``callback(task_id, trial)`` each time another explorer opens a task here."""
        self._listeners.append(callback)

    # --- the task shown -----------------------------------------------------------------------

    def _show(self) -> None:
        self.current_task, self.current_trial = self.task.value, self.trial.value
        if self.current_task is None:
            self.header_text = "no task matches"
            self.waterfall_figure = None
            for out in (self.gantt_out, self.waterfall_out, self.events_out, self.transcript_out):
                render(out)
            render(self.header_out, object_data(safe.note(self.header_text)))
            return
        task_id, trial = self.current_task, self.current_trial
        events = self.index.events(task_id, trial)
        self.header_text = task_header(self.run, task_id, trial)
        render(self.header_out, html_data(f'<div class="ak-task-header"><strong>'
                                          f'{safe.escape_html(self.header_text)}</strong></div>',
                                          self.header_text))
        clear_figure(self.figure)
        ax = plots.gantt(events, task_id=task_id, trial=trial, lane="agent", highlight=self.highlight,
                         ax=self.figure.add_subplot())
        _fix_legend(ax)
        render(self.gantt_out, figure_data(self.figure))
        self.waterfall_figure = waterfall_figure(events, task_id)
        render(self.waterfall_out, *([] if self.waterfall_figure is None else [figure_data(self.waterfall_figure)]))
        self.current_events = an.task_timeline(events)
        self.highlighted = matching_rows(self.current_events, self.highlight)
        shown = self.current_events[EVENT_COLUMNS]
        caption = f"events ({len(self.current_events):,})"
        if self.highlight is not None:
            mark = np.full(len(shown), "", dtype=object)
            mark[self.highlighted] = "▶"
            shown = shown.assign(chosen=mark)[["chosen"] + EVENT_COLUMNS]
            caption += "; ▶ the call chosen in the latency explorer" if self.highlighted else \
                "; the chosen call is not among them"
            if self.highlighted:  # start the table at the chosen call, so it is on screen
                first = max(0, self.highlighted[0] - 3)
                shown = shown.iloc[first:]
                caption += f" (from event {first + 1})" if first else ""
        render(self.events_out, object_data(safe.show(shown, caption=caption, max_rows=100)))
        self.current_transcript = an.transcript(self.index.messages(task_id, trial), task_id, trial)
        self.transcript_html = transcript_html(self.current_transcript, fold_chars=self.fold_chars)
        render(self.transcript_out, html_data(self.transcript_html, _transcript_text(self.current_transcript)))

    def static_view(self) -> StaticView:
        """The task shown, as a plain figure and tables (for markdown export)."""
        return task_static(self.run, self.current_task, self.current_trial)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def waterfall_figure(events: pd.DataFrame, task_id: str):
    """The waterfall of ``task_id``'s spans on a figure tall enough for its bars, or None
    when its events carry no span ids (the source has no span hierarchy).

    >>> waterfall_figure(pd.DataFrame({"task_id": ["a"], "span_id": [pd.NA]}), "a") is None
    True
    """
    spans = int(an.timed_spans(events).sum())
    if not spans:
        return None
    fig = new_figure(10, 0.25 * min(spans, WATERFALL_SPANS) + 1.5)
    plots.waterfall(events, task_id=task_id, max_spans=WATERFALL_SPANS, ax=fig.add_subplot())
    return fig


def call_of(row: pd.Series) -> dict:
    """A call row (of the events table or an explorer's list) as :func:`matching_rows` wants
    it: start completed from end - duration where the source gave only the end.

    >>> t = pd.Timestamp("2025-01-01 00:00:02", tz="UTC")
    >>> call_of(pd.Series({"kind": "x", "name": "y", "end": t, "duration_ms": 2000.0}))["start"]
    Timestamp('2025-01-01 00:00:00+0000', tz='UTC')
    """
    start, end = _timestamp(row.get("start")), _timestamp(row.get("end"))
    duration = pd.to_numeric(pd.Series([row.get("duration_ms")]), errors="coerce").iloc[0]
    if pd.isna(start) and not pd.isna(end) and not pd.isna(duration):
        start = end - pd.Timedelta(milliseconds=float(duration))
    return {"kind": row.get("kind"), "name": row.get("name"), "start": start, "duration_ms": duration}


def _timestamp(value: Any) -> pd.Timestamp:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return pd.NaT
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts


def _fix_legend(ax) -> None:
    """A legend in a fixed corner: loc="best" tests every bar against every spot, which on a
    task with hundreds of operations costs more than the rest of the redraw."""
    legend = ax.get_legend()
    if legend is not None:
        legend.set_loc("upper right")


def task_header(run: Run, task_id: str, trial: int | None = None) -> str:
    """One line on how the task attempt ended: outcome, reward, termination reason, error,
    and its failures (step, category, classification), all of that trial only when
    ``trial`` is given. Plain text, not yet escaped.

    >>> run = Run(tasks=pd.DataFrame({"task_id": ["a"], "success": [False],
    ...                               "termination_reason": ["max_steps"]}))
    >>> task_header(run, "a")
    'task a: failure; termination: max_steps'
    """
    t = run.tasks[run.tasks["task_id"] == task_id]
    if trial is not None and t["trial"].notna().any():
        t = t[t["trial"] == trial]
    parts = []
    if len(t):
        row = t.iloc[0]
        ok = tasks_success(t).iloc[0]
        status = row["status"] if pd.notna(row["status"]) else (
            "unknown" if pd.isna(ok) else ("success" if ok else "failure"))
        parts.append(str(status))
        if pd.notna(row["reward"]):
            parts.append(f"reward {row['reward']:g}")
        if pd.notna(row["termination_reason"]):
            parts.append(f"termination: {row['termination_reason']}")
        if pd.notna(row["error"]):
            parts.append(f"error: {safe.clean(row['error'], max_chars=300)}")
    f = run.failures[run.failures["task_id"] == task_id]
    if trial is not None and "trial" in f.columns and f["trial"].notna().any():
        f = f[f["trial"] == trial]  # this trial's failures only, not its task's other trials
    for _, row in f.head(3).iterrows():
        what = " / ".join(str(v) for v in (row["step"], row["category"], row["classification"]) if pd.notna(v))
        reason = safe.clean(row["error"], max_chars=300) if pd.notna(row["error"]) else ""
        parts.append(f"failed at {what or 'unknown step'}" + (f": {reason}" if reason else ""))
    if len(f) > 3:
        parts.append(f"and {len(f) - 3} more failures")
    label = f"task {task_id}" + (f" trial {trial}" if trial is not None else "")
    return f"{label}: " + ("; ".join(parts) if parts else "no outcome recorded")


def fold_html(text: Any, fold_chars: int = FOLD_CHARS, detail_chars: int = DETAIL_CHARS) -> str:
    """Untrusted text as escaped HTML; beyond ``fold_chars`` it is cut with "... (N more
    chars)" and the whole (up to ``detail_chars``) goes in a <details> element, escaped too.

    >>> fold_html("<b>" + "x" * 10, fold_chars=5)[:75]
    '<pre class="ak-text">&lt;b&gt;xx</pre><p class="ak-more">... (8 more chars)'
    """
    full = safe.clean(text)
    if len(full) <= fold_chars:
        return f'<pre class="ak-text">{safe.escape_html(full, redact_secrets=False)}</pre>'
    more = len(full) - fold_chars
    shown = safe.escape_html(full[:fold_chars], redact_secrets=False)
    body = safe.escape_html(full[:detail_chars], redact_secrets=False)
    cut = f'<p class="ak-more">... ({len(full) - detail_chars:,} chars not shown)</p>' if len(full) > detail_chars else ""
    return (f'<pre class="ak-text">{shown}</pre><p class="ak-more">... ({more:,} more chars)</p>'
            f"<details><summary>show all {len(full):,} chars</summary>"
            f'<pre class="ak-text">{body}</pre>{cut}</details>')


def transcript_html(transcript: pd.DataFrame, *, fold_chars: int = FOLD_CHARS) -> str:
    """A transcript (``analyses.transcript``) as HTML: one block per message with its role,
    agent, tool calls with arguments and folded content; every log value escaped."""
    if transcript.empty:
        return "<p><em>no messages for this task</em></p>"
    blocks = []
    for row in transcript.itertuples(index=False):
        head = " · ".join(safe.escape_html(v, max_chars=80) for v in (row.role, row.agent, row.name)
                          if pd.notna(v))
        idx = "" if pd.isna(row.idx) else f"[{int(row.idx)}] "
        parts = [f'<div class="ak-msg"><div class="ak-msg-head"><strong>{idx}{head}</strong></div>']
        if pd.notna(row.content) and str(row.content):
            parts.append(fold_html(row.content, fold_chars))
        if pd.notna(row.tool_calls):
            parts.append("<div>tool calls: " + fold_html(row.tool_calls, fold_chars) + "</div>")
        if pd.notna(row.tool_call_id):
            parts.append(f"<div>result of call {safe.escape_html(row.tool_call_id, max_chars=80)}</div>")
        parts.append("</div>")
        blocks.append("".join(parts))
    return '<div class="ak-transcript">' + "".join(blocks) + "</div>"


def _transcript_text(transcript: pd.DataFrame) -> str:
    lines = [f"{r.role}: {safe.clean(r.content, max_chars=200)}" for r in transcript.itertuples(index=False)]
    return "\n".join(lines) or "no messages for this task"


def task_static(run: Run, task_id: str | None = None, trial: int | None = None, *,
                max_chars: int = 300) -> StaticView:
    """A plain view of one task (by default the first failing, else the longest): how it
    ended, its Gantt chart (and waterfall, where it has spans), its events and its
    transcript cut to ``max_chars`` per message.

    >>> task_static(run, "12")                               # doctest: +SKIP
    """
    run = single_run(run)
    index = TaskIndex(run)
    if task_id is None:
        ordered = _sorted_task_ids(per_task(task_list(run, index)), "outcome")
        task_id = ordered[0] if ordered else None
    if task_id is None:
        return StaticView(parts=[("Task", safe.note("this run has no tasks"))])
    events = index.events(task_id, trial)
    fig = new_figure(8, 3.0)
    plots.gantt(events, task_id=task_id, trial=trial, lane="agent", ax=fig.add_subplot())
    waterfall = waterfall_figure(events, task_id)
    timeline = an.task_timeline(events)
    talk = an.transcript(index.messages(task_id, trial), task_id, trial)
    return StaticView(figures=[fig] + ([waterfall] if waterfall is not None else []), parts=[
        ("How it ended", safe.note(task_header(run, task_id, trial), emphasis=False)),
        ("Events", safe.show(timeline[EVENT_COLUMNS], max_rows=50)),
        ("Transcript", safe.show(talk[["idx", "role", "agent", "content", "tool_calls"]],
                                 max_rows=50, max_chars=max_chars, empty="no messages for this task")),
    ])
