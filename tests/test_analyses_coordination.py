"""Coordination analyses on a hand-built MassGen-like run."""

import pandas as pd

from analysis_kit.analyses import agent_reliability, answers, vote_counts, votes
from analysis_kit.model import Run

T0 = pd.Timestamp("2025-10-25 22:55", tz="UTC")


def at(s):
    return T0 + pd.Timedelta(seconds=s)


def massgen_events():
    return pd.DataFrame({
        "agent": ["agent_2", "agent_1", "agent_1", "agent_2", "agent_3", "agent_1", "agent_3", "agent_3"],
        "kind": ["answer", "answer", "restart", "vote", "vote", "vote", "vote", "coordination"],
        "name": ["agent2.1", "agent1.1", None, "agent_1", "agent_2", "agent_1", "agent_1", "timeout"],
        "round": [1, 1, 1, 2, 2, 2, 2, 2],
        "start": [at(30), at(10), at(40), at(50), at(55), at(60), at(70), at(80)],
        "attrs": ['{"label": "agent2.1", "length": 1200}', '{"label": "agent1.1", "length": 800}', None,
                  '{"voted_for": "agent_1", "reason": "more complete"}', '{"reason": "first look"}',
                  '{"reason": "mine"}', '{"reason": "changed my mind"}', None],
    })


def test_answers_in_time_order():
    out = answers(Run(meta={"run_id": "m"}, events=massgen_events()))
    assert out[["label", "agent", "length"]].values.tolist() == [["agent1.1", "agent_1", 800], ["agent2.1", "agent_2", 1200]]
    assert out["time"].tolist() == [at(10), at(30)]


def test_votes_and_counts_use_latest_vote_per_voter():
    run = Run(meta={"run_id": "m"}, events=massgen_events())
    v = votes(run)
    assert v["voter"].tolist() == ["agent_2", "agent_3", "agent_1", "agent_3"]
    assert v.loc[0, "reason"] == "more complete" and v.loc[3, "voted_for"] == "agent_1"
    counts = vote_counts(run)
    # agent_3 first voted agent_2 then switched to agent_1: agent_1 has 3, agent_2 none
    assert counts[["candidate", "votes", "winner"]].values.tolist() == [["agent_1", 3, True]]


def test_vote_counts_from_meta_and_meta_winner():
    run = Run(meta={"run_id": "m", "vote_counts": {"agent1.1": 0, "agent2.1": 1}, "winner": "agent1.1"},
              events=massgen_events())
    out = vote_counts(run).set_index("candidate")
    assert out["votes"].to_dict() == {"agent2.1": 1, "agent1.1": 0}
    assert out["winner"].to_dict() == {"agent2.1": False, "agent1.1": True}


def test_reliability_from_status_then_events():
    status = [{"agent": "agent_1", "status": "voted", "answer_count": 1, "vote_cast": "agent_1",
               "times_restarted": 2, "error": None, "enforcement_retries": 3, "buffer_chars_lost": 512,
               "unknown_tools": ["web_fetch"], "timeouts": 0}]
    out = agent_reliability(Run(meta={"run_id": "m", "agent_status": status}, events=massgen_events())).set_index("agent")
    assert out.index.tolist() == ["agent_1", "agent_2", "agent_3"]
    assert out.loc["agent_1", ["times_restarted", "enforcement_retries", "buffer_chars_lost"]].tolist() == [2, 3, 512]
    assert out.loc["agent_1", "unknown_tools"] == ["web_fetch"]
    # agent_2/agent_3 are not in agent_status: derived from events
    assert out.loc["agent_2", "answer_count"] == 1 and out.loc["agent_2", "vote_cast"] == "agent_1"
    assert out.loc["agent_3", "timeouts"] == 1 and out.loc["agent_3", "answer_count"] == 0
    assert pd.isna(out.loc["agent_3", "enforcement_retries"]) and out.loc["agent_3", "unknown_tools"] == []
    only_events = agent_reliability(Run(meta={"run_id": "m"}, events=massgen_events())).set_index("agent")
    assert only_events.loc["agent_1", "times_restarted"] == 1


def test_coordination_empty():
    run = Run(meta={"run_id": "e"})
    for frame in (answers(run), votes(run), vote_counts(run), agent_reliability(run)):
        assert frame.empty and len(frame.columns)


def test_reliability_vote_cast_dict_from_status_json():
    status = [{"agent": "agent_a", "status": "voted",
               "vote_cast": {"voted_for_agent": "agent_b", "voted_for_label": "agent2.1", "reason_preview": "x"}}]
    out = agent_reliability(Run(meta={"run_id": "m", "agent_status": status}))
    assert out["vote_cast"].tolist() == ["agent_b"]


def test_restarts_listed_in_time_order():
    from analysis_kit.analyses import restarts
    ev = massgen_events()
    ev.loc[2, "attrs"] = '{"triggering_agent": "agent_2", "affected_agents": ["agent_1", "agent_3"]}'
    out = restarts(Run(meta={"run_id": "m"}, events=ev))
    assert out[["agent", "triggered_by"]].values.tolist() == [["agent_1", "agent_2"]]
    assert out.loc[0, "affected_agents"] == ["agent_1", "agent_3"] and out.loc[0, "time"] == at(40)
