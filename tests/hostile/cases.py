"""The hostile-input corpus as a table of cases: how to build each input, which loader reads
it, and what the user must get (checked by hand against the committed files in ``files/``).

Every case must end in one of two ways: a Run whose ``problems`` name the damage and whose
tables keep every good record (``expect="run"``), or a ``LoadError`` naming the file
(``expect="error"``). Any other exception, or a silent drop, fails the case.

    python tests/hostile/cases.py     # runs every case, prints the README table
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hostile import make_corpus as mc  # noqa: E402

from analysis_kit import LoadError, Run  # noqa: E402
from analysis_kit.loaders import loader_module  # noqa: E402


@dataclass
class Case:
    name: str
    fmt: str
    build: Callable[[Path], Path]
    expect: str  # "run" or "error"
    check: Callable[[object, Path], None]
    what: str
    outcome: str
    slow: bool = False
    skip_if: Callable[[], str | None] = lambda: None


def reasons(run: Run) -> list[str]:
    return run.problems["reason"].tolist()


def problem_lines(run: Run) -> list[int]:
    return sorted(int(x) for x in run.problems["line"].dropna())


def has(run: Run, text: str, n: int | None = None) -> None:
    found = [r for r in reasons(run) if text in r]
    assert found, f"no problem mentions {text!r}: {reasons(run)}"
    if n is not None:
        assert len(found) == n, (text, found)


def error_names(fragment: str, line: int | None = "any"):  # type: ignore[assignment]
    def check(exc: LoadError, path: Path) -> None:
        assert exc.file is not None and Path(exc.file).name == path.name, exc.file
        assert fragment in str(exc), str(exc)
        if line != "any":
            assert exc.line == line, (exc.line, line)
    return check


# ----------------------------------------------------------------- tau2 [PROFILE] logs

PROFILE_PROBLEM_LINES = [5, 6, 7, 8, 9, 16, 17]


def check_profile(run: Run, path: Path, extra_lines: tuple[int, ...] = (), offset: int = 0) -> None:
    ev = run.events
    assert len(ev) == 13, len(ev)  # 15 [PROFILE]/[USER_JUDGE] lines minus the one with no type
    assert sorted(set(ev["kind"])) == ["llm_call", "mystery_event", "step", "tool_call", "user_sim"]
    assert ev.loc[ev["kind"] == "mystery_event", "agent"].isna().all()  # unknown type kept, no agent
    first = ev.iloc[0]
    assert (first["name"], first["duration_ms"], first["input_tokens"]) == ("gpt-4o", 1000.0, 10)
    assert str(first["start"]) == "2025-12-23 10:00:00+00:00"
    tool = ev[ev["name"] == "get_order"].iloc[0]  # keys in another order, error=True
    assert (tool["kind"], tool["error"], tool["duration_ms"]) == ("tool_call", "error", 20.0)
    bad_durations = ev[ev["line"].isin([5 + offset, 6 + offset, 7 + offset, 8 + offset])]
    assert bad_durations["duration_ms"].isna().all() and bad_durations["start"].isna().all()
    assert bad_durations["end"].notna().all()  # abc, nan, inf, -5: kept with the end time
    assert run.meta["duplicate_lines"] == 2
    assert list(run.tasks["task_id"]) == ["t1", "t2"]
    assert run.tasks["input_tokens"].tolist()[0] == 10
    expected = sorted([n + offset for n in PROFILE_PROBLEM_LINES] + list(extra_lines))
    assert problem_lines(run) == expected, (problem_lines(run), expected)
    has(run, "no type= field", 1)
    has(run, "not a valid duration", 4)
    has(run, "input_tokens is not an integer: ten", 1)
    has(run, "timestamp does not parse", 1)


def check_profile_bad_utf8(run: Run, path: Path) -> None:
    check_profile(run, path, extra_lines=(4,))
    has(run, "invalid UTF-8", 1)
    mystery = run.events[run.events["kind"] == "mystery_event"].iloc[0]
    assert mystery["attrs"] == '{"foo":"\ufffd\ufffdbar"}', mystery["attrs"]


def check_profile_10mb(run: Run, path: Path) -> None:
    ev = run.events
    assert len(ev) == 14
    big = ev[ev["task_id"] == "t3"].iloc[0]
    assert big["name"] == "big" and big["duration_ms"] == 10.0
    assert len(big["attrs"]) > mc.TEN_MB  # the 10 MB value is kept in attrs, not cut
    assert problem_lines(run) == sorted(n + 1 for n in PROFILE_PROBLEM_LINES)


def check_no_profile_lines(n_bad_utf8: int | None = None):
    def check(run: Run, path: Path) -> None:
        assert run.events.empty and run.tasks.empty
        has(run, "no [PROFILE] or [USER_JUDGE] lines", 1)
        if n_bad_utf8 is not None:
            has(run, "invalid UTF-8", n_bad_utf8)
    return check


def profile_dir(dest: Path) -> Path:
    folder = dest / "profile_dir"
    folder.mkdir()
    (folder / "a.log").write_bytes(mc.PROFILE.read_bytes())
    (folder / "b_empty.log").write_bytes(b"")
    return folder


def check_profile_dir(run: Run, path: Path) -> None:
    assert len(run.events) == 13
    empty = run.problems[run.problems["file"].str.endswith("b_empty.log")]
    assert empty["reason"].tolist() == ["no [PROFILE] or [USER_JUDGE] lines in file"]


# ----------------------------------------------------------------- tau2 results

def check_tau2_kept(n: int, cut_line: int | None = None):
    def check(run: Run, path: Path) -> None:
        assert run.tasks["simulation_id"].tolist() == [f"sim-{i}" for i in range(1, n + 1)]
        assert len(run.messages) == 4 * n  # four messages per complete simulation
        assert run.tasks["success"].tolist() == [True, False, True][:n]
        assert len(run.problems) == 1
        if cut_line is not None:
            assert problem_lines(run) == [cut_line]
    return check


def check_tau2_intact(extra: str | None = None, n_problems: int = 0):
    def check(run: Run, path: Path) -> None:
        assert run.tasks["simulation_id"].tolist() == ["sim-1", "sim-2", "sim-3"]
        assert run.tasks["reward"].tolist() == [1.0, 0.0, 1.0]
        assert run.tasks["input_tokens"].tolist() == [1100, 1100, 1100]
        assert len(run.messages) == 12 and len(run.events) == 9
        assert len(run.problems) == n_problems, reasons(run)
        if extra:
            has(run, extra)
    return check


def check_tau2_10mb(run: Run, path: Path) -> None:
    check_tau2_intact()(run, path)
    assert len(run.messages.iloc[1]["content"]) == mc.TEN_MB


def check_tau2_wrong_types(run: Run, path: Path) -> None:
    t = run.tasks
    assert t["simulation_id"].tolist() == ["sim-1", "sim-2", "sim-3"]  # the duplicate sim-1 dropped
    assert t["trial"].isna().tolist() == [True, False, False]  # "first" is not a trial
    assert t["reward"].isna().tolist() == [True, True, False]  # "1.0" (a string), {} (no reward)
    assert t["cost_usd"].tolist()[1] == 0.001  # agent_cost "cheap" is NA; the user cost stays
    m = run.messages
    assert m["role"].tolist()[:4] == ["assistant", "narrator", "assistant", "tool"]  # unknown role kept
    assert '"arguments": "{\\"id\\": \\"X1\\""' in m["tool_calls"].iloc[2]  # bad JSON kept raw
    assert m[m["task_id"] == "1"]["tool_calls"].isna().all()  # tool_calls a dict: NA
    has(run, "trial should be an integer", 1)
    has(run, "reward should be a number", 1)
    has(run, "unknown role 'narrator'", 1)
    has(run, "arguments are not valid JSON", 1)
    has(run, "agent_cost should be a number", 1)
    has(run, "prompt_tokens should be an integer", 1)
    has(run, "tool_calls should be a list", 1)
    has(run, "duplicate simulation id", 1)
    dup = run.problems[run.problems["reason"].str.contains("duplicate simulation id")]
    assert dup["line"].tolist() == [169]  # where the copy's id is, not the first copy's line 63
    assert len(run.problems) == 8


def check_tau2_empty_run(text: str):
    def check(run: Run, path: Path) -> None:
        assert run.tasks.empty and run.messages.empty
        has(run, text)
    return check


# ----------------------------------------------------------------- MASEval

def check_maseval(extra_lines: tuple[int, ...] = (), extra: str | None = None):
    def check(run: Run, path: Path) -> None:
        t = run.tasks
        assert t["task_id"].tolist() == ["t1", "t2", "t1", "t3"]  # duplicate t1/0 kept twice, reported
        assert t["trial"].tolist()[1] is None or str(t["trial"].tolist()[1]) == "<NA>"
        assert t["cost_usd"].tolist()[0] == 0.001 and t["input_tokens"].tolist()[0] == 100
        m = run.messages
        assert len(m) == 10
        assert m["role"].tolist()[4] == "wizard"  # unknown role kept, reported
        assert '"arguments": "{not json"' in m["tool_calls"].tolist()[5]
        ev = run.events
        assert ev[ev["task_id"] == "t2"]["duration_ms"].isna().all()  # "2.5" is not a number
        assert ev[ev["task_id"] == "t2"]["start"].isna().all()  # "yesterday" is not a time
        assert sorted(set(problem_lines(run))) == sorted({2, 4, 5, 6, 7, 8, 9} | set(extra_lines))
        has(run, "task t2: traces.models.m.logs[0].timestamp 'yesterday' is not a readable time", 1)
        has(run, "task t2: traces.agents.orchestrator.messages[0] has unknown role 'wizard'", 1)
        dup = run.problems[run.problems["reason"].str.contains("duplicate attempt")]
        assert dup["line"].tolist() == [7] and "first at line 1" in dup["reason"].iloc[0]
        has(run, "repeat_idx should be an integer, got str", 1)
        has(run, "arguments are not valid JSON", 1)
        has(run, "report has no task_id", 1)
        has(run, "a report must be a JSON object, not list", 1)
        has(run, "messages is not a list", 1)
        has(run, "truncated last line", 1)
        if extra:
            has(run, extra)
    return check


def check_maseval_nothing(text: str):
    def check(run: Run, path: Path) -> None:
        assert run.tasks.empty
        has(run, text)
    return check


# ----------------------------------------------------------------- MassGen

def check_massgen_intact_events(problem: str | None, n_problems: int = 1, events: int = 11):
    def check(run: Run, path: Path) -> None:
        assert len(run.events) == events, len(run.events)
        ev = run.events
        assert sorted(ev.loc[ev["kind"] == "answer", "name"]) == ["agent1.1", "agent2.1"]
        assert run.meta["vote_counts"] == {"agent_a": 0, "agent_b": 2}
        assert len(run.problems) == n_problems, reasons(run)
        if problem:
            has(run, problem, 1)
    return check


def check_massgen_status_cut(line: int, cut: str, agents_kept: bool = False):
    def check(run: Run, path: Path) -> None:
        check_massgen_intact_events(cut)(run, path)
        assert problem_lines(run) == [line]
        # The complete keys before the cut are kept (the core's salvage): with the agents
        # cut, their status is derived from the events; cut after them, status.json's.
        sources = {s["source"] for s in run.meta["agent_status"]}
        assert (sources == {"status.json"}) == agents_kept, sources
    return check


def check_massgen_events_cut(run: Run, path: Path) -> None:
    ev = run.events
    # Three events were complete before the cut (session_start, two answers); both votes
    # still come from status.json, both answers from their answer.txt files.
    assert sorted(ev.loc[ev["kind"] == "answer", "name"]) == ["agent1.1", "agent2.1"]
    assert ev.loc[ev["kind"] == "coordination", "name"].tolist() == ["session_start"]
    has(run, "the 3 complete elements before it are kept", 1)
    assert problem_lines(run) == [44]


def check_massgen_only_answers(run: Run, path: Path) -> None:
    ev = run.events
    assert ev["kind"].tolist() == ["answer", "answer"]
    assert ev["name"].tolist() == ["agent1.1", "agent2.1"]
    assert "Old pond" in run.messages["content"].str.cat()
    has(run, "missing coordination_events.json", 1)


def check_massgen_empty_turn(run: Run, path: Path) -> None:
    assert run.events.empty
    has(run, "empty turn directory", 1)


def check_massgen_bad_answer(run: Run, path: Path) -> None:
    check_massgen_intact_events("bytes that are not UTF-8 (0x81")(run, path)
    assert problem_lines(run) == [1]


def skip_if_root() -> str | None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "running as root: chmod 000 does not stop root from reading (see status-is-a-directory)"
    return None


# ----------------------------------------------------------------- convex

def check_convex(run: Run, path: Path) -> None:
    f = run.failures
    assert f["task_id"].tolist() == ["000-fundamentals/001-pagination"] * 2 + [
        "002-queries/003-<script>alert(1)</script>"]  # duplicate kept; hostile text kept raw
    assert f["step"].tolist()[:2] == ["tsc", "eslint"]
    has(run, "failedEvals[2] has no evalPath", 1)
    has(run, "failedEvals[3] is not an object", 1)
    has(run, "totalEvals should be an integer, got str", 1)
    has(run, "failedCount is 4 but failedEvals lists 5", 1)
    summary = run.summary().iloc[0]
    assert summary["pass_rate"] != summary["pass_rate"]  # NA: the total is unknown


def _truncated_tail(dest: Path) -> Path:
    """The results file without its final "\n}\n": every simulation is complete."""
    return mc.write(dest, "tau2_cut_tail.json", mc.TAU2.read_bytes()[:-3])


def check_massgen_events_garbage(run: Run, path: Path) -> None:
    ev = run.events
    assert sorted(ev.loc[ev["kind"] == "answer", "name"]) == ["agent1.1", "agent2.1"]
    assert run.meta["vote_counts"] == {"agent_a": 0, "agent_b": 2}  # from status.json
    has(run, "bytes that are not UTF-8", 1)
    has(run, "not JSON", 1)


def build_cases() -> list[Case]:
    P, T, M, G, C = "tau2_profile", "tau2_results", "maseval", "massgen", "convex"
    return [
        # -- [PROFILE] logs
        Case("profile_damaged", P, lambda d: mc.PROFILE, "run", check_profile,
             "unknown type, unknown keys, missing type, duration abc/nan/inf/-5, tokens 'ten', "
             "bad timestamp, duplicated line, out-of-order timestamps, a traceback between lines",
             "13 events kept (unknown type too); 7 problem rows (lines 5-9, 16, 17); "
             "duplicate lines counted in meta"),
        Case("profile_crlf", P, lambda d: mc.with_crlf(d, mc.PROFILE), "run", check_profile,
             "CRLF line ends", "same tables as LF"),
        Case("profile_bom", P, lambda d: mc.with_bom(d, mc.PROFILE), "run", check_profile,
             "UTF-8 BOM at the start", "same tables as without BOM"),
        Case("profile_non_utf8", P, lambda d: mc.with_bad_utf8(d, mc.PROFILE, b"foo="),
             "run", check_profile_bad_utf8, "bytes 0xff 0xfe inside a value",
             "line kept with U+FFFD, plus an 'invalid UTF-8' problem on line 4"),
        Case("profile_10mb_lines", P, mc.profile_ten_mb_lines, "run", check_profile_10mb,
             "a 10 MB INFO line and a [PROFILE] line with a 10 MB value",
             "14 events; the 10 MB value kept in attrs", slow=True),
        Case("profile_empty", P, lambda d: mc.empty(d, "empty.log"), "run",
             check_no_profile_lines(), "empty file", "empty run, 1 problem (no profile lines)"),
        Case("profile_zeros", P, lambda d: mc.zeros(d, "zeros.log"), "run",
             check_no_profile_lines(), "4096 zero bytes", "empty run, 1 problem"),
        Case("profile_binary", P, lambda d: mc.binary(d, "binary.log"), "run",
             check_no_profile_lines(23), "4 KB of random bytes",
             "empty run; 1 problem per line with invalid UTF-8 + 'no profile lines'"),
        Case("profile_dir_with_empty_file", P, profile_dir, "run", check_profile_dir,
             "a directory of logs, one of them empty", "13 events; the empty file is a problem row"),
        # -- tau2 results
        Case("tau2_cut_in_header", T, lambda d: mc.truncated(d, mc.TAU2, b'"info"', "tau2_cut_header.json"),
             "run", check_tau2_empty_run("expected a key"),
             "results file cut after its first key", "empty run, 1 problem (line 3)"),
        Case("tau2_cut_mid_sim2", T, lambda d: mc.truncated(d, mc.TAU2, b'"id": "sim-2"', "tau2_cut2.json"),
             "run", check_tau2_kept(1, 98), "cut inside the 2nd simulation",
             "simulation 1 kept; 1 problem at line 98"),
        Case("tau2_cut_mid_sim3", T, lambda d: mc.truncated(d, mc.TAU2, b'"role": "tool"', "tau2_cut3.json", 3),
             "run", check_tau2_kept(2, 234), "cut inside the 3rd simulation's messages",
             "simulations 1-2 kept; 1 problem at line 234"),
        Case("tau2_cut_before_end", T, _truncated_tail, "run", check_tau2_intact("cut", 1),
             "cut after the last simulation (closing brackets missing)",
             "all 3 simulations kept; 1 problem"),
        Case("tau2_wrong_types", T, lambda d: mc.TAU2_WRONG, "run", check_tau2_wrong_types,
             "reward '1.0', trial 'first', messages null, reward_info {}, agent_cost 'cheap', "
             "usage 'many', tool_calls a dict, arguments not JSON, unknown role, duplicate id",
             "3 simulations (duplicate dropped, reported at its own line 169); each damage an NA plus a problem row (8)"),
        Case("tau2_empty", T, lambda d: mc.empty(d, "tau2_empty.json"), "run",
             check_tau2_empty_run("not JSON"), "empty file", "empty run, 1 problem"),
        Case("tau2_zeros", T, lambda d: mc.zeros(d, "tau2_zeros.json"), "run",
             check_tau2_empty_run("not JSON"), "4096 zero bytes", "empty run, 1 problem"),
        Case("tau2_binary", T, lambda d: mc.binary(d, "tau2_binary.json"), "run",
             check_tau2_empty_run("not UTF-8"), "random bytes", "empty run, 2 problems"),
        Case("tau2_bom", T, lambda d: mc.with_bom(d, mc.TAU2), "run", check_tau2_intact(),
             "UTF-8 BOM", "all 3 simulations, no problem"),
        Case("tau2_crlf", T, lambda d: mc.with_crlf(d, mc.TAU2), "run", check_tau2_intact(),
             "CRLF line ends", "all 3 simulations, no problem"),
        Case("tau2_non_utf8", T, lambda d: mc.with_bad_utf8(d, mc.TAU2, b"Change my", "tau2_u8.json"),
             "run", check_tau2_intact("not UTF-8", 1), "0xff 0xfe inside a user message",
             "all 3 simulations; 1 problem at line 55"),
        Case("tau2_10mb_line", T, mc.tau2_ten_mb_line, "run", check_tau2_10mb,
             "the whole file on one line with a 10 MB message", "all 3 simulations, content intact",
             slow=True),
        # -- MASEval
        Case("maseval_damaged", M, lambda d: mc.MASEVAL, "run", check_maseval(),
             "wrong types (repeat_idx 'zero', duration '2.5', tokens 'many', cost 'free'), unknown "
             "role, bad tool arguments, blank line, non-JSON line, a list, no task_id, duplicate "
             "task id, null messages, last line cut",
             "4 tasks kept (duplicate t1/0 too); a problem per damage, incl. timestamp 'yesterday', "
             "unknown role and the duplicate (lines 2,4-9)"),
        Case("maseval_crlf", M, lambda d: mc.with_crlf(d, mc.MASEVAL), "run", check_maseval(),
             "CRLF line ends", "same as LF"),
        Case("maseval_bom", M, lambda d: mc.with_bom(d, mc.MASEVAL), "run", check_maseval(),
             "UTF-8 BOM", "same as without BOM"),
        Case("maseval_non_utf8", M, lambda d: mc.with_bad_utf8(d, mc.MASEVAL, b"Refunds take"),
             "run", check_maseval((1,), "not UTF-8"), "0xff 0xfe inside a message",
             "record kept with U+FFFD; problem on line 1"),
        Case("maseval_empty", M, lambda d: mc.empty(d, "benchmark_empty.jsonl"), "run",
             check_maseval_nothing("empty file"), "empty file", "empty run, 1 problem"),
        Case("maseval_zeros", M, lambda d: mc.zeros(d, "benchmark_zeros.jsonl"), "run",
             check_maseval_nothing("truncated last line"), "4096 zero bytes", "empty run, 1 problem"),
        Case("maseval_binary", M, lambda d: mc.binary(d, "benchmark_binary.jsonl"), "run",
             check_maseval_nothing("invalid JSON"), "random bytes", "empty run, problems per line"),
        # -- MassGen
        Case("massgen_intact", G, lambda d: mc.massgen_copy(d), "run",
             check_massgen_intact_events(None, 0), "the undamaged small log (baseline)",
             "11 events, no problem"),
        Case("massgen_status_cut_at_meta", G, lambda d: mc.massgen_status_cut(d, b'"meta"'), "run",
             check_massgen_status_cut(2, "invalid JSON at the top level"), "status.json cut after its first key (killed while writing)",
             "events intact; 1 problem (line 2); agent status derived"),
        Case("massgen_status_cut_in_agents", G, lambda d: mc.massgen_status_cut(d, b'"agent_b": {'),
             "run", check_massgen_status_cut(28, "top-level key 'agents' is cut"), "status.json cut inside agents",
             "events intact; 1 problem (line 28)"),
        Case("massgen_status_cut_at_winner", G, lambda d: mc.massgen_status_cut(d, b'"winner"'), "run",
             check_massgen_status_cut(47, "top-level key 'results' is cut", agents_kept=True), "status.json cut at results.winner",
             "events intact; 1 problem (line 47)"),
        Case("massgen_events_cut", G, mc.massgen_events_cut, "run", check_massgen_events_cut,
             "coordination_events.json cut inside the first vote event",
             "3 complete events salvaged, answers from files, votes from status.json; 1 problem"),
        Case("massgen_missing_files", G, mc.massgen_only_answers, "run", check_massgen_only_answers,
             "no coordination_events.json, no status.json", "2 answers from answer.txt; 1 problem"),
        Case("massgen_empty_turn", G, mc.massgen_empty_turn, "run", check_massgen_empty_turn,
             "log dir whose only turn_1/ is empty", "empty run; 1 problem"),
        Case("massgen_symlink_loop", G, mc.massgen_symlink_loop, "run",
             check_massgen_intact_events(None, 0), "snapshot symlinks pointing up the tree and a "
             "self-referencing symlink", "loads without hanging; 11 events"),
        Case("massgen_status_is_dir", G, mc.massgen_status_is_dir, "run",
             check_massgen_intact_events("status.json is not a regular file"),
             "status.json is a directory (unreadable even as root)", "events intact; 1 problem"),
        Case("massgen_status_dangling", G, mc.massgen_status_dangling, "run",
             check_massgen_intact_events("status.json is not a regular file"),
             "status.json is a broken symlink", "events intact; 1 problem"),
        Case("massgen_status_unreadable", G, mc.massgen_status_unreadable, "run",
             check_massgen_intact_events("cannot read file"),
             "status.json with mode 000 (permission denied)", "events intact; 1 problem",
             skip_if=skip_if_root),
        Case("massgen_status_empty", G, lambda d: mc.massgen_bytes(d, "status.json", b""), "run",
             check_massgen_intact_events("empty file"), "empty status.json", "events intact; 1 problem"),
        Case("massgen_status_zeros", G, lambda d: mc.massgen_bytes(d, "status.json", b"\0" * 100), "run",
             check_massgen_intact_events("not JSON"), "zero-filled status.json", "events intact; 1 problem"),
        Case("massgen_events_binary", G, lambda d: mc.massgen_bytes(d, "coordination_events.json", mc.garbage()),
             "run", check_massgen_events_garbage,
             "random bytes in coordination_events.json", "answers from files; 2 problems"),
        Case("massgen_bad_answer_bytes", G, mc.massgen_bad_answer_bytes, "run", check_massgen_bad_answer,
             "answer.txt with bytes neither UTF-8 nor Windows-1252", "answer kept with U+FFFD; 1 problem"),
        # -- convex
        Case("convex_wrong_types", C, lambda d: mc.CONVEX, "run", check_convex,
             "totalEvals '5', a failure with no path, a string element, duplicate eval path, "
             "<script> in a name, failedCount mismatch", "3 failures kept; 4 problems; pass rate NA"),
        Case("convex_truncated", C, lambda d: mc.truncated(d, mc.CONVEX, b'"failedEvals"', "failures_cut.json"),
             "error", error_names("cut or damaged before anything usable", 13), "failure summary cut at failedEvals",
             "LoadError naming file and line 13"),
        Case("convex_empty", C, lambda d: mc.empty(d, "failures_empty.json"), "error",
             error_names("empty file", 1), "empty summary JSON", "LoadError (line 1)"),
        Case("convex_binary", C, lambda d: mc.binary(d, "failures_binary.json"), "error",
             error_names("invalid JSON"), "random bytes", "LoadError naming the file"),
        Case("convex_zero_report", C, lambda d: mc.zeros(d, "jn7aaaaa_2026-01-01.md"), "error",
             error_names("not a convex-evals run report"), "a zero-filled .md report",
             "LoadError naming the file"),
    ]


CASES = build_cases()


def run_case(case: Case, dest: Path):
    """Build and load one case; return (passed, what happened). Never raises for a failed
    check: the caller (pytest or the README table) reports it."""
    path = case.build(dest)
    try:
        result = loader_module(case.fmt).load(path)
    except LoadError as exc:
        result = exc
    except Exception as exc:  # noqa: BLE001 - any other exception is the defect we look for
        return False, f"CRASH {type(exc).__name__}: {exc}"
    got = "error" if isinstance(result, LoadError) else "run"
    if got != case.expect:
        return False, f"expected {case.expect}, got {got}: {result!r}"
    try:
        case.check(result, path)
    except AssertionError as exc:
        return False, f"check failed: {exc}"
    return True, str(result) if got == "error" else repr(result)


def readme_table() -> str:
    rows = ["| case | loader | input | outcome | result |", "|---|---|---|---|---|"]
    for case in CASES:
        skip = case.skip_if()
        if skip:
            result = f"skipped: {skip}"
        else:
            with tempfile.TemporaryDirectory() as tmp:
                ok, detail = run_case(case, Path(tmp))
            result = "pass" if ok else f"FAIL: {detail}"
        rows.append(f"| `{case.name}` | {case.fmt} | {case.what} | {case.outcome} | {result} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(readme_table())
