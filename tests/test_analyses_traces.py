"""span_tree, self_time and slowest_traces on hand-built trees whose answers are worked out
by hand in each test."""

import pandas as pd
import pytest

from analysis_kit import analyses as an
from analysis_kit.analyses.traces import SELF_COLUMNS, SLOWEST_COLUMNS, TREE_COLUMNS
from analysis_kit.model import Run


def at(*seconds):
    return pd.to_datetime([pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(seconds=s) for s in seconds])


def events(rows, **extra):
    """rows: (task, span, parent, kind, name, start_s, end_s[, error])"""
    frame = pd.DataFrame([r + (None,) * (8 - len(r)) for r in rows],
                         columns=["task_id", "span_id", "parent_id", "kind", "name", "s", "e", "error"])
    frame["start"], frame["end"] = at(*frame["s"]), at(*frame["e"])
    return frame.drop(columns=["s", "e"]).assign(**extra)


# root 0-20: agent; children: llm 1-5, tool 4-9 (overlaps llm by 1 s), sub-agent 12-18;
# sub-agent's child llm 13-25 runs past its parent's end (clipped to 13-18).
TREE = [
    ("t", "r", None, "agent", "lead", 0, 20),
    ("t", "l1", "r", "llm_call", "gpt", 1, 5),
    ("t", "k1", "r", "tool_call", "search", 4, 9, "timeout"),
    ("t", "s", "r", "agent", "helper", 12, 18),
    ("t", "l2", "s", "llm_call", "gpt", 13, 25),
]


def test_span_tree_orders_depth_first_and_computes_depth_offsets_and_self_time():
    tree = an.span_tree(events(TREE), "t")
    assert tree["span_id"].tolist() == ["r", "l1", "k1", "s", "l2"]
    assert tree["depth"].tolist() == [0, 1, 1, 1, 2]
    assert tree["offset_s"].tolist() == [0.0, 1.0, 4.0, 12.0, 13.0]
    assert tree["duration_s"].tolist() == [20.0, 4.0, 5.0, 6.0, 12.0]
    # r: children cover [1,9] (8 s, overlap once) + [12,18] (6 s) -> 20 - 14 = 6
    # s: its child covers [13,18] after clipping -> 6 - 5 = 1
    assert tree["self_s"].tolist() == [6.0, 4.0, 5.0, 1.0, 12.0]
    assert tree["children"].tolist() == [3, 0, 0, 1, 0]
    assert tree["error"].tolist()[2] == "timeout"
    assert list(tree.columns) == TREE_COLUMNS


def test_span_tree_siblings_by_start_not_by_input_order():
    rows = [("t", "c2", "r", "span", "late", 5, 6), ("t", "r", None, "span", "root", 0, 10),
            ("t", "c1", "r", "span", "early", 1, 2), ("t", "g", "c2", "span", "grandchild", 5, 6)]
    tree = an.span_tree(events(rows), "t")
    assert tree["name"].tolist() == ["root", "early", "late", "grandchild"]
    assert tree["depth"].tolist() == [0, 1, 1, 2]


def test_span_tree_prefers_the_source_span_name():
    ev = events(TREE[:2]).assign(span_name=["invoke_agent lead", pd.NA])
    assert an.span_tree(ev, "t")["name"].tolist() == ["invoke_agent lead", "gpt"]


def test_orphans_and_cycles_become_roots_and_nothing_is_dropped():
    rows = [("t", "a", "missing", "span", "orphan", 0, 4), ("t", "b", "a", "span", "child", 1, 2),
            ("t", "x", "y", "span", "cycle x", 5, 6), ("t", "y", "x", "span", "cycle y", 5, 6)]
    tree = an.span_tree(events(rows), "t")
    assert len(tree) == 4
    assert tree.set_index("span_id")["depth"].to_dict() == {"a": 0, "b": 1, "x": 0, "y": 0}
    assert tree["span_id"].tolist()[:2] == ["a", "b"]  # the placed tree first, the cycle last


def test_repeated_span_ids_do_not_multiply_rows():
    rows = TREE + [("t", "l1", "r", "llm_call", "gpt", 1, 5)]
    tree = an.span_tree(events(rows), "t")
    assert len(tree) == 6
    assert tree.loc[tree["span_id"] == "r", "self_s"].item() == 6.0


def test_parents_are_found_within_the_trace_not_across_traces():
    rows = [("t", "root", None, "span", "one", 0, 10), ("t", "kid", "root", "span", "one kid", 1, 9),
            ("t", "root", None, "span", "two", 0, 10)]
    ev = events(rows, trace_id=["T1", "T1", "T2"])
    tree = an.span_tree(ev, "t")
    assert tree["trace_id"].tolist() == ["T1", "T1", "T2"]
    assert tree["self_s"].tolist() == [2.0, 8.0, 10.0]


def test_span_tree_of_one_task_and_of_every_task():
    rows = TREE + [("u", "z", None, "span", "other", 0, 1)]
    assert set(an.span_tree(events(rows), "u")["span_id"]) == {"z"}
    both = an.span_tree(events(rows))
    assert both["task_id"].tolist() == ["t"] * 5 + ["u"]
    assert both.loc[both["task_id"] == "u", "offset_s"].item() == 0.0


def test_span_tree_accepts_a_run():
    run = Run(meta={"run_id": "r1"}, events=events(TREE))
    assert an.span_tree(run, "t")["depth"].tolist() == [0, 1, 1, 1, 2]


@pytest.mark.parametrize("frame", [
    pd.DataFrame(),
    events(TREE).drop(columns=["span_id", "parent_id"]),
    events(TREE).assign(span_id=pd.NA),
])
def test_no_spans_gives_empty_frames_with_the_columns(frame):
    assert list(an.span_tree(frame).columns) == TREE_COLUMNS
    assert an.span_tree(frame).empty
    assert list(an.self_time(frame, by="name").columns) == ["name"] + SELF_COLUMNS
    assert list(an.slowest_traces(frame).columns) == SLOWEST_COLUMNS


def test_self_time_per_span_and_by_name():
    per_span = an.self_time(events(TREE)).set_index("span_id")
    assert per_span["self_s"].to_dict() == {"r": 6.0, "l1": 4.0, "k1": 5.0, "s": 1.0, "l2": 12.0}
    by_name = an.self_time(events(TREE), by="name")
    # gpt: 4 + 12 = 16 s self of 28 s in all (6 + 4 + 5 + 1 + 12)
    assert by_name["name"].tolist() == ["gpt", "lead", "search", "helper"]
    assert by_name["self_s"].tolist() == [16.0, 6.0, 5.0, 1.0]
    assert by_name["total_s"].tolist() == [16.0, 20.0, 5.0, 6.0]
    assert by_name["count"].tolist() == [2, 1, 1, 1]
    assert by_name["self_share"].tolist() == pytest.approx([16 / 28, 6 / 28, 5 / 28, 1 / 28])


def test_self_time_by_kind_and_per_run():
    a, b = events(TREE).assign(run_id="a"), events(TREE[:2]).assign(run_id="b")
    out = an.self_time(pd.concat([a, b], ignore_index=True), by="kind")
    assert out.columns.tolist() == ["run_id", "kind"] + SELF_COLUMNS
    run_b = out[out["run_id"] == "b"].set_index("kind")["self_s"].to_dict()
    assert run_b == {"agent": 16.0, "llm_call": 4.0}  # b's root keeps all but its one child
    assert out.groupby("run_id")["self_share"].sum().tolist() == pytest.approx([1.0, 1.0])


def test_slowest_traces():
    rows = TREE + [("u", "z", None, "span", "quick", 0, 1), ("u", "z2", "z", "span", "kid", 0, 1, "boom")]
    out = an.slowest_traces(events(rows), n=2)
    assert out["task_id"].tolist() == ["t", "u"]
    assert out["root"].tolist() == ["lead", "quick"]
    assert out["duration_s"].tolist() == [25.0, 1.0]  # t's last span ends at 25 s
    assert out["spans"].tolist() == [5, 2]
    assert out["errors"].tolist() == [1, 1]
    assert an.slowest_traces(events(rows), n=1)["task_id"].tolist() == ["t"]
