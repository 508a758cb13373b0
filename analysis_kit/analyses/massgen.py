"""The MassGen log-analyzer's questions that need more than timing: command patterns, work
duplication, round return on investment with the point where answers stopped changing, and
the turns and attempts of a log. Inputs are the tables any MassGen load fills (tool_call
events with attrs ``arguments``/``result``, round events with cost and tokens, answer events
and answer messages) and ``meta["attempts"]``.

>>> from analysis_kit import analyses as an                       # doctest: +SKIP
>>> an.repeated_commands(run).head()                               # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

import numpy as np
import pandas as pd

from ..model import Run
from ._util import attr, duration_ms, empty_frame, parse_json, table

COMMAND_COLUMNS = ["agent", "round", "tool", "command", "pattern", "start", "duration_s", "output_chars", "error"]
# MassGen's own workspaces: workspace_<hex> folders and an agent's temp_workspaces/<agent>/ copy.
_WORKSPACE = re.compile(r"(?<![\w$])[~/]?(?:[\w.-]+/)*workspace_[0-9a-f]{6,}")
_TEMP_WORKSPACE = re.compile(r"(?<![\w$])[~/]?(?:[\w.-]+/)*temp_workspaces/[\w.-]+")
WORK_TYPES = (("media generation", ("generate_media", "image", "video", "audio", "tts")),
              ("research / scraping", ("crawl", "scrape", "fetch", "search", "browse", "curl ", "wget ")),
              ("package install", ("npm install", "pip install", "npm ci", "uv pip", "yarn install", "apt-get")),
              ("tests / build", ("pytest", "npm test", "npm run", "make ")))


def normalise_command(command: str, workspaces: tuple[str, ...] = ()) -> str:
    """A command with its whitespace collapsed and the agent's own workspace paths (the
    given ones, MassGen's ``workspace_<hex>`` and ``temp_workspaces/<agent>`` folders)
    replaced, so the same work by two agents or after a restart reads the same.

    >>> normalise_command("ls  -la /tmp/ws/workspace_a1b2c3d4/src")
    'ls -la $WORKSPACE/src'
    """
    text = _TEMP_WORKSPACE.sub("$TEMP_WORKSPACE", _WORKSPACE.sub("$WORKSPACE", str(command)))
    for path in sorted((w for w in workspaces if w and w != "/"), key=len, reverse=True):
        text = re.sub(re.escape(path) + r"(?=/|\s|$|')", "$WORKSPACE", text)
    return re.sub(r"\s+", " ", text).strip()


def _output(result: Any) -> tuple[int | None, str | None, float | None]:
    """(characters of output, work_dir, execution_time in seconds) of a tool result: stdout +
    stderr of a command result (MassGen's command_line server answers JSON), else the whole
    result."""
    if not isinstance(result, str):
        return None, None, None
    parsed = parse_json(result) if result.lstrip().startswith("{") else None
    if isinstance(parsed, dict) and ("stdout" in parsed or "stderr" in parsed):
        out = len(str(parsed.get("stdout") or "")) + len(str(parsed.get("stderr") or ""))
        took = parsed.get("execution_time")
        took = float(took) if isinstance(took, (int, float)) and not isinstance(took, bool) and took >= 0 else None
        return out, parsed.get("work_dir") if isinstance(parsed.get("work_dir"), str) else None, took
    return len(result), None, None


def command_runs(run: Run | pd.DataFrame) -> pd.DataFrame:
    """One row per tool call whose arguments hold a ``command`` (``execute_command`` and the
    like): agent, round, tool, the command, its normalised pattern, start, seconds (the
    command's own ``execution_time`` where a timed record gives it, else the call's duration,
    else the ``execution_time`` in its result), output characters, error.

    >>> ev = pd.DataFrame({"kind": ["tool_call"], "agent": ["a"], "name": ["execute_command"],
    ...     "duration_ms": [1500.0], "attrs": ['{"arguments": {"command": "npm  install"}, "result": "{\\\\"stdout\\\\": \\\\"ok\\\\"}"}']})
    >>> command_runs(ev)[["pattern", "duration_s", "output_chars"]].values.tolist()
    [['npm install', 1.5, 2]]
    """
    ev = table(run, "events")
    ev = ev[ev["kind"] == "tool_call"]
    args = attr(ev, "arguments")
    command = args.map(lambda a: a.get("command") if isinstance(a, dict) and isinstance(a.get("command"), str) else None)
    ev, command = ev[command.notna()], command[command.notna()]
    if ev.empty:
        return empty_frame(COMMAND_COLUMNS)
    outputs = attr(ev, "result").map(_output)
    own = pd.to_numeric(attr(ev, "command_duration_ms"), errors="coerce")
    in_result = pd.Series([o[2] * 1000 if o[2] is not None else np.nan for o in outputs], index=ev.index)
    seconds = own.fillna(duration_ms(ev)).fillna(in_result) / 1000.0
    out = pd.DataFrame({"agent": ev["agent"], "round": ev["round"], "tool": ev["name"], "command": command,
                        "start": ev["start"], "duration_s": seconds.astype("float64"),
                        "output_chars": pd.array([o[0] for o in outputs], dtype="Int64"),
                        "error": ev["error"]})
    workspaces = tuple(sorted({o[1] for o in outputs if o[1]}))
    out.insert(4, "pattern", [normalise_command(c, workspaces) for c in out["command"]])
    return out[COMMAND_COLUMNS].sort_values("start", kind="stable", na_position="last").reset_index(drop=True)


def _pattern_stats(runs: pd.DataFrame, by: str) -> pd.DataFrame:
    grouped = runs.groupby(by, dropna=False, sort=False)
    return pd.DataFrame({
        "runs": grouped.size(),
        "agents": grouped["agent"].agg(lambda s: ", ".join(sorted(set(s.dropna())))),
        "total_s": grouped["duration_s"].sum(min_count=1),
        "mean_s": grouped["duration_s"].mean(),
        "max_s": grouped["duration_s"].max(),
        "mean_output_chars": grouped["output_chars"].mean(),
        "failures": grouped["error"].agg(lambda s: int(s.notna().sum())),
    }).reset_index()


def repeated_commands(run: Run | pd.DataFrame, min_count: int = 2) -> pd.DataFrame:
    """Commands run ``min_count`` times or more (same normalised pattern, any agent): runs,
    agents, total/mean/max seconds, mean output, failures; most repeated first.

    >>> ev = pd.DataFrame({"kind": ["tool_call"] * 3, "agent": ["a", "b", "a"], "name": ["sh"] * 3,
    ...     "attrs": ['{"arguments": {"command": "ls /x/workspace_aaaaaaaa"}}',
    ...               '{"arguments": {"command": "ls /y/workspace_bbbbbbbb"}}', '{"arguments": {"command": "pwd"}}']})
    >>> repeated_commands(ev)[["pattern", "runs", "agents"]].values.tolist()
    [['ls $WORKSPACE', 2, 'a, b']]
    """
    runs = command_runs(run)
    columns = ["pattern", "runs", "agents", "total_s", "mean_s", "max_s", "mean_output_chars", "failures"]
    if runs.empty:
        return empty_frame(columns)
    stats = _pattern_stats(runs, "pattern")
    stats = stats[stats["runs"] >= min_count]
    return stats.sort_values(["runs", "total_s"], ascending=False, kind="stable").reset_index(drop=True)[columns]


def command_patterns(run: Run | pd.DataFrame, by: str = "pattern", n: int = 10) -> pd.DataFrame:
    """The slowest command patterns: per normalised command (``by="pattern"``) or per
    program (``by="program"``: its first word, two for ``npm``/``pip``/``python -m``...),
    runs, max, mean and total seconds; slowest (max) first.

    >>> ev = pd.DataFrame({"kind": ["tool_call"] * 2, "name": ["sh"] * 2, "duration_ms": [4000.0, 1000.0],
    ...     "attrs": ['{"arguments": {"command": "npm install a"}}', '{"arguments": {"command": "npm install b"}}']})
    >>> command_patterns(ev, by="program")[["program", "runs", "max_s", "mean_s"]].values.tolist()
    [['npm install', 2, 4.0, 2.5]]
    """
    runs = command_runs(run)
    columns = [by, "runs", "max_s", "mean_s", "total_s", "agents", "failures"]
    if runs.empty:
        return empty_frame(columns)
    if by == "program":
        runs = runs.assign(program=runs["pattern"].map(_program))
    stats = _pattern_stats(runs, by)
    return stats.sort_values("max_s", ascending=False, kind="stable", na_position="last").head(n).reset_index(drop=True)[columns]


def _program(pattern: str) -> str:
    words = pattern.split()
    if not words:
        return ""
    if len(words) > 2 and words[1] == "-m":
        return " ".join(words[:3])
    if words[0] in ("npm", "pip", "uv", "yarn", "pnpm", "git", "docker", "openskills", "npx") and len(words) > 1:
        return " ".join(words[:2])
    return words[0]


def largest_command_outputs(run: Run | pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The commands with the longest output (stdout + stderr characters), longest first."""
    runs = command_runs(run)
    columns = ["pattern", "agent", "output_chars", "duration_s", "command"]
    if runs.empty:
        return empty_frame(columns)
    runs = runs[runs["output_chars"].notna()]
    return runs.sort_values("output_chars", ascending=False, kind="stable").head(n).reset_index(drop=True)[columns]


def work_type(tool: str, work: str) -> str:
    """A coarse kind of work for the duplication table (the skill's "Work Type"): a known
    kind, else the command's program, else the tool."""
    text = f"{tool} {work}".lower()
    kind = next((kind for kind, words in WORK_TYPES if any(w in text for w in words)), None)
    value = parse_json(work)
    command = value.get("command") if isinstance(value, dict) else None
    return kind or (f"command: {_program(command)}" if isinstance(command, str) else str(tool))


# ----------------------------------------------------------------------------- duplication
DUPLICATE_COLUMNS = ["work_type", "tool", "work", "agent", "first_agent", "reason", "start", "duration_s", "cost_usd"]


def _work_key(args: Any) -> str | None:
    """Arguments as comparable text, command strings and paths normalised."""
    if args is None or args is pd.NA:
        return None
    if isinstance(args, dict):
        args = {k: normalise_command(v) if isinstance(v, str) else v for k, v in args.items()}
        return json.dumps(args, sort_keys=True, ensure_ascii=False, default=str)
    return normalise_command(str(args))


def _restart_times(ev: pd.DataFrame) -> dict[str, list[pd.Timestamp]]:
    """When each agent was restarted: restart_completed events, and the agents a restart
    event names as affected."""
    times: dict[str, list] = {}
    done = ev[(ev["kind"] == "coordination") & (ev["name"] == "restart_completed")]
    for agent, t in zip(done["agent"], done["start"].fillna(done["end"])):
        times.setdefault(agent, []).append(t)
    restarts = ev[ev["kind"] == "restart"]
    for affected, t in zip(attr(restarts, "affected_agents"), restarts["start"].fillna(restarts["end"])):
        for agent in affected if isinstance(affected, list) else []:
            times.setdefault(agent, []).append(t)
    return times


def duplicated_work(run: Run | pd.DataFrame) -> pd.DataFrame:
    """Every extra run of the same tool with the same (normalised) arguments: by another
    agent, by the same agent after it was restarted, or again by the same agent; with the
    seconds and cost (NA when unpriced) each extra run took. The first run is not listed.

    >>> ev = pd.DataFrame({"kind": ["tool_call"] * 2, "agent": ["a", "b"], "name": ["sh"] * 2,
    ...     "duration_ms": [3000.0, 2000.0], "start": pd.to_datetime(["2025-01-01 00:00", "2025-01-01 00:01"], utc=True),
    ...     "attrs": ['{"arguments": {"command": "npm install"}}'] * 2})
    >>> duplicated_work(ev)[["work", "agent", "first_agent", "reason", "duration_s"]].values.tolist()
    [['npm install', 'b', 'a', 'another agent', 2.0]]
    """
    ev = table(run, "events")
    tools = ev[ev["kind"] == "tool_call"]
    keys = attr(tools, "arguments").map(_work_key)
    tools, keys = tools[keys.notna()], keys[keys.notna()]
    if tools.empty:
        return empty_frame(DUPLICATE_COLUMNS)
    restarts = _restart_times(ev)
    seconds = duration_ms(tools) / 1000.0
    rows = []
    frame = tools.assign(_key=keys, _s=seconds).sort_values("start", kind="stable", na_position="last")
    for (tool, key), group in frame.groupby(["name", "_key"], sort=False, dropna=False):
        if len(group) < 2:
            continue
        first = group.iloc[0]
        for i in range(1, len(group)):
            row, before = group.iloc[i], group.iloc[:i]
            rows.append({"work_type": work_type(tool, key), "tool": tool, "work": _work_text(key),
                         "agent": row["agent"], "first_agent": first["agent"],
                         "reason": _why(row, before, restarts), "start": row["start"],
                         "duration_s": row["_s"], "cost_usd": row["cost_usd"]})
    return pd.DataFrame(rows, columns=DUPLICATE_COLUMNS) if rows else empty_frame(DUPLICATE_COLUMNS)


def _work_text(key: str) -> str:
    value = parse_json(key)
    if isinstance(value, dict) and isinstance(value.get("command"), str) and len(value) <= 2:
        return value["command"]
    return key


def _why(row: pd.Series, before: pd.DataFrame, restarts: dict[str, list]) -> str:
    mine = before[before["agent"] == row["agent"]]
    if mine.empty:
        return "another agent"
    last = mine["start"].max()
    between = [t for t in restarts.get(row["agent"], []) if pd.notna(t) and pd.notna(last) and pd.notna(row["start"])
               and last <= t <= row["start"]]
    return "after a restart" if between else "same agent again"


def duplication_summary(run: Run | pd.DataFrame) -> pd.DataFrame:
    """Per kind of work: times repeated, seconds and cost spent on the repeats (cost NA when
    no repeat had a price), and the reasons (the skill's "Duplicated Work Found" table)."""
    dup = duplicated_work(run)
    columns = ["work_type", "times_repeated", "wasted_s", "wasted_cost_usd", "reasons", "examples"]
    if dup.empty:
        return empty_frame(columns)
    grouped = dup.groupby("work_type", sort=False)
    out = pd.DataFrame({
        "times_repeated": grouped.size(),
        "wasted_s": grouped["duration_s"].sum(min_count=1),
        "wasted_cost_usd": grouped["cost_usd"].sum(min_count=1),
        "reasons": grouped["reason"].agg(lambda s: ", ".join(f"{k}: {v}" for k, v in s.value_counts().items())),
        "examples": grouped["work"].agg(lambda s: "; ".join(list(dict.fromkeys(s))[:3])),
    }).reset_index()
    return out.sort_values("wasted_s", ascending=False, kind="stable", na_position="last").reset_index(drop=True)[columns]


# ----------------------------------------------------------------------------- round ROI
ROI_COLUMNS = ["agent", "round", "round_type", "start", "time_s", "cost_usd", "input_tokens", "output_tokens",
               "ended_in", "answer_label", "answer_length", "diff_lines", "changed_share"]
ENDINGS = {"restarted": "restart", "answer": "answer", "vote": "vote", "timeout": "timeout", "error": "error",
           "presentation": "presentation", "post_evaluation": "post_evaluation", "interrupted": "restart"}


def answer_changes(run: Run) -> pd.DataFrame:
    """Each agent's answers in order, with how much each changed from the agent's previous
    one: lines added or removed (a line diff) and the changed share (1 - similarity).

    >>> ev = pd.DataFrame({"kind": ["answer"] * 2, "agent": ["a"] * 2, "name": ["agent1.1", "agent1.2"],
    ...     "start": pd.to_datetime(["2025-01-01 00:00", "2025-01-01 00:01"], utc=True)})
    >>> m = pd.DataFrame({"role": ["assistant"] * 2, "agent": ["a"] * 2, "name": ["agent1.1", "agent1.2"],
    ...     "content": ["x\\ny", "x\\ny\\nz"]})
    >>> answer_changes(Run(events=ev, messages=m))[["label", "diff_lines"]].values.tolist()
    [['agent1.1', <NA>], ['agent1.2', 1]]
    """
    columns = ["agent", "label", "time", "round", "length", "diff_lines", "changed_share"]
    ev = run.events[run.events["kind"] == "answer"]
    if ev.empty:
        return empty_frame(columns)
    labels = attr(ev, "label").astype("string").fillna(ev["name"])
    msgs = run.messages[(run.messages["role"] == "assistant") & run.messages["name"].notna()]
    texts = dict(zip(zip(msgs["agent"], msgs["name"]), msgs["content"]))
    out = pd.DataFrame({"agent": ev["agent"], "label": labels, "time": ev["start"].fillna(ev["end"]),
                        "round": ev["round"]}).sort_values("time", kind="stable", na_position="last")
    out["text"] = [texts.get((a, l)) for a, l in zip(out["agent"], out["label"])]
    out["length"] = pd.array([len(t) if isinstance(t, str) else None for t in out["text"]], dtype="Int64")
    diffs, shares = [], []
    previous: dict[Any, str] = {}
    for agent, text in zip(out["agent"], out["text"]):
        prev = previous.get(agent)
        if isinstance(text, str) and isinstance(prev, str):
            diffs.append(_diff_lines(prev, text))
            shares.append(round(1 - difflib.SequenceMatcher(None, prev, text, autojunk=False).ratio(), 4))
        else:
            diffs.append(None)
            shares.append(np.nan)
        if isinstance(text, str):
            previous[agent] = text
    out["diff_lines"] = pd.array(diffs, dtype="Int64")
    out["changed_share"] = shares
    return out[columns].reset_index(drop=True)


def _diff_lines(a: str, b: str) -> int:
    return sum(1 for line in difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---")))


def round_roi(run: Run) -> pd.DataFrame:
    """Per agent and round: start, seconds, cost (NA when unpriced) and tokens, what the
    round ended in (answer, vote, restart, ...), and for an answer its label, length and how
    much it changed from the agent's previous answer.

    >>> t = lambda m: pd.Timestamp(f"2025-01-01 00:{m:02d}", tz="UTC")
    >>> ev = pd.DataFrame({"kind": ["round", "answer"], "agent": ["a", "a"], "round": [0, 0],
    ...     "name": ["round 0", "agent1.1"], "start": [t(0), t(4)], "end": [t(5), t(4)],
    ...     "cost_usd": [0.5, None], "attrs": ['{"outcome": "answer"}', '{"label": "agent1.1"}']})
    >>> round_roi(Run(events=ev))[["time_s", "cost_usd", "ended_in", "answer_label"]].values.tolist()
    [[300.0, 0.5, 'answer', 'agent1.1']]
    """
    ev = run.events
    rounds = ev[ev["kind"] == "round"]
    if rounds.empty:
        return empty_frame(ROI_COLUMNS)
    out = pd.DataFrame({"agent": rounds["agent"], "round": rounds["round"],
                        "round_type": attr(rounds, "round_type").astype("string"),
                        "start": rounds["start"], "end": rounds["end"],
                        "time_s": duration_ms(rounds) / 1000.0, "cost_usd": rounds["cost_usd"],
                        "input_tokens": rounds["input_tokens"], "output_tokens": rounds["output_tokens"],
                        "ended_in": attr(rounds, "outcome").map(lambda o: ENDINGS.get(str(o), o) if isinstance(o, str) else pd.NA)})
    out = out.sort_values(["agent", "start"], kind="stable", na_position="last").reset_index(drop=True)
    changes = answer_changes(run)
    slot = [_round_of(out, a, t, r) for a, t, r in zip(changes["agent"], changes["time"], changes["round"])]
    for column, source in (("answer_label", "label"), ("answer_length", "length"), ("diff_lines", "diff_lines"),
                           ("changed_share", "changed_share")):
        values: list = [np.nan if column == "changed_share" else pd.NA] * len(out)
        for i, value in zip(slot, changes[source]):
            if i is not None:
                values[i] = value
        out[column] = (np.array(values, dtype="float64") if column == "changed_share" else
                       pd.array(values, dtype="Int64" if column in ("answer_length", "diff_lines") else "string"))
    return out[ROI_COLUMNS]


def _round_of(rounds: pd.DataFrame, agent: Any, when: Any, number: Any) -> int | None:
    """The row of ``agent``'s round that holds an answer given at ``when`` (its last round
    starting before it), else the round with that number."""
    mine = rounds[rounds["agent"] == agent]
    if pd.notna(when):
        started = mine[mine["start"].notna() & (mine["start"] <= when)]
        if len(started):
            return int(started.index[-1])
    same = mine[mine["round"] == number] if pd.notna(number) else mine.iloc[0:0]
    return int(same.index[0]) if len(same) else None


def diminishing_returns(run: Run, threshold: float = 0.1) -> pd.DataFrame:
    """Per agent, where its answer stopped changing: the last answer that changed at least
    ``threshold`` (share of text) from the one before; the answers after it, and the rounds,
    seconds and cost (NA when unpriced) the agent spent after that point.

    >>> ev = pd.DataFrame({"kind": ["answer"] * 3, "agent": ["a"] * 3, "name": ["agent1.1", "agent1.2", "agent1.3"],
    ...     "start": pd.to_datetime(["2025-01-01 00:00", "2025-01-01 00:01", "2025-01-01 00:02"], utc=True)})
    >>> m = pd.DataFrame({"role": ["assistant"] * 3, "agent": ["a"] * 3, "name": ["agent1.1", "agent1.2", "agent1.3"],
    ...     "content": ["short", "a much longer and different answer", "a much longer and different answer!"]})
    >>> diminishing_returns(Run(events=ev, messages=m))[["agent", "stopped_at", "answers_after"]].values.tolist()
    [['a', 'agent1.2', 1]]
    """
    columns = ["agent", "answers", "stopped_at", "stopped_time", "answers_after", "rounds_after", "time_after_s",
               "cost_after_usd"]
    changes = answer_changes(run)
    if changes.empty:
        return empty_frame(columns)
    roi = round_roi(run)
    rows = []
    for agent, mine in changes.groupby("agent", sort=False):
        big = mine.index[(mine["changed_share"] >= threshold) | mine["changed_share"].isna()]
        point = mine.loc[big[-1]] if len(big) else mine.iloc[0]
        later = mine[mine["time"] > point["time"]] if pd.notna(point["time"]) else mine.iloc[0:0]
        spent = roi[(roi["agent"] == agent) & (roi["start"] > point["time"])] if pd.notna(point["time"]) else roi.iloc[0:0]
        rows.append({"agent": agent, "answers": len(mine), "stopped_at": point["label"], "stopped_time": point["time"],
                     "answers_after": len(later), "rounds_after": len(spent),
                     "time_after_s": float(spent["time_s"].sum()) if len(spent) else 0.0,
                     "cost_after_usd": spent["cost_usd"].sum(min_count=1) if len(spent) else np.nan})
    return pd.DataFrame(rows, columns=columns)


# ----------------------------------------------------------------------------- turns and attempts
def attempts(run: Run) -> pd.DataFrame:
    """Every turn and attempt of the log (``meta["attempts"]``): outcome (``restarted`` for
    an attempt a later one replaced), winner, the restart's reason, and which one the run is."""
    columns = ["turn", "attempt", "outcome", "winner", "restart_reason", "loaded", "dir"]
    rows = run.meta.get("attempts") or []
    return pd.DataFrame(rows, columns=columns) if rows else empty_frame(columns)


def shown_attempt(run: Run) -> str:
    """One sentence: which turn and attempt the run shows, of how many, and the restarted ones.

    >>> shown_attempt(Run(meta={"turn": 1, "attempt": 2, "attempts": [
    ...     {"turn": 1, "attempt": 1, "outcome": "restarted", "restart_reason": "no tests"},
    ...     {"turn": 1, "attempt": 2, "outcome": "completed"}]}))
    'Shows turn 1, attempt 2 (2 attempts in 1 turn). Restarted: turn 1 attempt 1 (no tests).'
    """
    meta = run.meta
    rows = meta.get("attempts") or []
    if meta.get("turn") is None:
        return "Shows the whole log (flat layout: no turns or attempts)."
    turns = len({r["turn"] for r in rows}) or 1
    text = (f"Shows turn {meta['turn']}, attempt {meta.get('attempt')} ({len(rows)} attempt{'s' * (len(rows) != 1)} "
            f"in {turns} turn{'s' * (turns != 1)}).")
    restarted = [f"turn {r['turn']} attempt {r['attempt']} ({r.get('restart_reason') or 'reason not recorded'})"
                 for r in rows if r.get("outcome") == "restarted"]
    return text + (f" Restarted: {'; '.join(restarted)}." if restarted else "")
