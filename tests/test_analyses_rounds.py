"""Round analyses: round windows (declared and derived), tool wall time, checklist phases."""

import numpy as np
import pandas as pd
import pytest

from analysis_kit.analyses import checklist_phases, rounds
from analysis_kit.model import conform

T0 = pd.Timestamp("2025-01-01", tz="UTC")


def at(seconds):
    return T0 + pd.Timedelta(seconds=seconds)


def events(rows):
    return conform(pd.DataFrame(rows), "events")


def test_rounds_declared_and_derived():
    ev = events({
        "agent": ["a", "a", "a", "a", "b", "b"],
        "round": [1, 1, 1, 1, 1, 1],
        "kind": ["round", "tool_call", "tool_call", "tool_call", "llm_call", "tool_call"],
        "name": [None, "read", "write", "late", "m", "read"],
        # a's round 0..20; tools [2,6] [4,8] overlap (6 s), [18,25] clipped to [18,20] (2 s)
        "start": [at(0), at(2), at(4), at(18), at(3), at(5)],
        "end": [at(20), at(6), at(8), at(25), at(9), at(7)],
        "attrs": ['{"outcome": "answered"}', None, None, None, None, None],
    })
    out = rounds(ev).set_index("agent")
    assert out.loc["a", "total_s"] == 20.0
    assert out.loc["a", "tool_wall_s"] == 8.0  # union, not the 13 s sum
    assert out.loc["a", "non_tool_s"] == 12.0
    assert out.loc["a", "outcome"] == "answered" and out.loc["a", "tool_calls"] == 3
    # b has no round event: span of its events 3..9
    assert out.loc["b", "start"] == at(3) and out.loc["b", "end"] == at(9)
    assert out.loc["b", "total_s"] == 6.0 and out.loc["b", "tool_wall_s"] == 2.0
    assert pd.isna(out.loc["b", "outcome"])


def phase_events(round_no, base, submit, propose=None, end=100):
    rows = [("round", None, base, base + end)]
    rows.append(("tool_call", "mcp__planning__submit_checklist", base + submit, base + submit + 1))
    if propose is not None:
        rows.append(("tool_call", "propose_improvements", base + propose, base + propose + 2))
    rows.append(("tool_call", "submit_checklist", base + submit + 5, base + submit + 6))  # not first
    return [{"agent": "a", "round": round_no, "kind": k, "name": n, "start": at(s), "end": at(e)}
            for k, n, s, e in rows]


def test_checklist_phase_split():
    rows = (phase_events(1, 0, submit=30, propose=50)        # 30 / 22 (to propose end 52) / 48
            + phase_events(2, 200, submit=10)                  # 10 / 90 / 0 (no propose)
            + [{"agent": "a", "round": 3, "kind": "round", "start": at(400), "end": at(450)}])
    per_round, shares = checklist_phases(events(rows))
    assert per_round["round"].tolist() == [1, 2]  # round 3 has no checklist
    assert per_round["evaluation_s"].tolist() == [30.0, 10.0]
    assert per_round["checklist_to_propose_s"].tolist() == [22.0, 90.0]
    assert per_round["implementation_s"].tolist() == [48.0, 0.0]
    assert per_round["proposed"].tolist() == [True, False]
    shares = shares.set_index("phase")
    assert shares["total_s"].to_dict() == {"evaluation": 40.0, "checklist_to_propose": 112.0, "implementation": 48.0}
    assert shares["percent"].tolist() == pytest.approx([20.0, 56.0, 24.0])
    assert shares["rounds"].tolist() == [2, 2, 2]


def test_rounds_empty_and_without_rounds():
    empty = conform(None, "events")
    assert rounds(empty).empty
    per_round, shares = checklist_phases(empty)
    assert per_round.empty and shares.empty
    tau2_like = events({"task_id": ["t"], "kind": ["llm_call"], "start": [at(0)], "end": [at(1)]})
    assert rounds(tau2_like).empty and checklist_phases(tau2_like)[0].empty
