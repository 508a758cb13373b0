"""The tau2 results loader: real files (values checked by hand), the sample, broken inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import real

import analysis_kit as ak
from analysis_kit.loaders import tau2_results
from analysis_kit.samples import HOSTILE_SNIPPETS
from analysis_kit.samples import tau2_results as sample

AIRLINE = ("tau2", "airline_grok-3-mini_10sims.json")
TELECOM = ("tau2", "telecom_grok-3_5sims.json")
EMPTY = ("tau2", "airline_gpt-4.1_no_simulations.json")
VOICE = ("tau2", "voice_dir_format")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# --------------------------------------------------------------------------- real files

def test_real_airline_tasks():
    run = ak.load(real(*AIRLINE))
    tasks = run.tasks
    assert run.meta["source_format"] == "tau2_results"
    assert len(tasks) == 10 and tasks.task_id.nunique() == 9
    assert sorted(tasks.task_id[tasks.success.astype(bool)]) == ["13", "31", "6"]
    assert tasks.status.value_counts().to_dict() == {"failure": 7, "success": 3}
    assert set(tasks.termination_reason) == {"user_stop"}
    assert (tasks.task_id == "24").sum() == 2
    assert tasks.start.min() == ts("2025-10-06T06:22:49.481667")
    assert tasks.end.max() == ts("2025-10-06T06:25:33.138763")
    first = tasks.iloc[0]
    assert first.simulation_id == "83db7361-3833-4435-b937-1f63eb93fd3e"
    assert (first.task_id, first.trial, first.num_messages) == ("17", 3, 4)
    assert first.cost_usd == pytest.approx(0.0016443 + 0.0009403)
    assert first.duration_s == pytest.approx(29.312571642999956)
    assert tasks.cost_usd.sum() == pytest.approx(0.0517551)
    assert (tasks.input_tokens.sum(), tasks.output_tokens.sum()) == (122422, 2221)
    assert run.meta["domain"] == "airline" and run.meta["models"] == ["xai/grok-3-mini"]
    assert run.meta["num_trials"] == 4 and run.meta["tasks_defined"] == 50
    assert run.meta["started"] == ts("2025-10-06T06:22:49.481667")
    assert run.problems.empty


def test_real_airline_messages_events_failures():
    run = ak.load(real(*AIRLINE))
    msgs = run.messages
    assert len(msgs) == 70
    assert msgs.role.value_counts().to_dict() == {"assistant": 35, "user": 24, "tool": 11}
    assert msgs.agent.value_counts().to_dict() == {"agent": 35, "user_simulator": 24, "tool": 11}
    assert msgs.timestamp.iloc[0] == ts("2025-10-06T06:23:34.038279")
    # 25 assistant messages after the fixed greetings, 24 priced user turns, 11 tool calls
    assert run.events.kind.value_counts().to_dict() == {"llm_call": 25, "user_sim": 24, "tool_call": 11}
    llm = run.events[run.events.kind == "llm_call"].iloc[0]
    # sim 83db7361: user wrote at 06:23:47.052784, the agent answered at 06:23:55.804537
    assert llm["name"] == "xai/grok-3-mini" and llm.agent == "agent"
    assert llm.duration_ms == pytest.approx(8751.753)
    assert (llm.input_tokens, llm.output_tokens) == (4171, 63)
    call = run.events[run.events.kind == "tool_call"].iloc[0]
    assert call["name"] == "transfer_to_human_agents"
    assert call.duration_ms == pytest.approx(0.067)
    fails = run.failures
    assert len(fails) == 7 and set(fails.category) == {"airline"}
    assert fails.step.value_counts().to_dict() == {"db_check": 6, "communicate_checks": 1}
    last = fails[fails.task_id == "3"].iloc[0]
    assert last.error.startswith("communicate_checks: not communicated: 4")
    assert "get_reservation_details (not counted in the reward)" in last.error
    assert fails.classification.isna().all()


def test_real_telecom_user_tool_calls():
    run = ak.load(real(*TELECOM))
    tasks = run.tasks
    assert len(tasks) == 5 and tasks.task_id.nunique() == 5
    assert int(tasks.success.sum()) == 4
    assert len(run.messages) == 218
    calls = run.events[run.events.kind == "tool_call"]
    assert len(calls) == 56
    assert calls.agent.value_counts().to_dict() == {"agent": 31, "user_simulator": 25}
    assert calls.end.notna().all()
    first = calls.iloc[0]
    assert first["name"] == "get_customer_by_phone"
    assert first.start == ts("2025-10-05T07:53:04.600009") and first.end == ts("2025-10-05T07:53:04.600223")
    tool_msg = run.messages[run.messages.tool_call_id == "call_98636265"].iloc[0]
    assert tool_msg["name"] == "get_customer_by_phone" and tool_msg.agent == "tool"
    calls_json = json.loads(run.messages.tool_calls.dropna().iloc[0])
    assert calls_json == [{"id": "call_98636265", "name": "get_customer_by_phone",
                           "arguments": {"phone_number": "555-123-2002"}}]
    assert tasks.cost_usd.sum() == pytest.approx(3.101454)
    assert run.failures.step.tolist() == ["env_assertions"]
    assert "assert_internet_speed" in run.failures.error.iloc[0]
    assert run.meta["domain"] == "telecom"


def test_real_no_simulations():
    run = ak.load(real(*EMPTY))
    assert len(run.tasks) == 0 and len(run.messages) == 0 and len(run.events) == 0
    assert run.problems.empty
    assert run.meta["tasks_defined"] == 5 and run.meta["models"] == ["gpt-4.1"]
    assert run.summary()["tasks"].iloc[0] == 0


def test_real_voice_dir_format():
    path = real(*VOICE)
    assert ak.detect(path) == "tau2_results"
    run = ak.load(path)
    assert len(run.tasks) == 1 and run.messages.empty and run.events.empty
    task = run.tasks.iloc[0]
    assert (task.task_id, task.trial, task.num_ticks, task["mode"]) == ("40", 0, 973, "full_duplex")
    assert task.status == "not_evaluated" and pd.isna(task.success) and pd.isna(task.cost_usd)
    assert task.duration_s == pytest.approx(352.87473287503235)
    assert run.meta["layout"] == "dir" and run.meta["domain"] == "retail"
    assert run.failures.empty
    # the voice ticks (full-duplex turns) are counted in num_ticks, not read: said once
    assert run.problems["reason"].tolist() == ["not read: simulation.ticks"]


def test_sniff():
    assert tau2_results.sniff(real(*AIRLINE))  # its "simulations" key is past the first 64 KB
    assert tau2_results.sniff(real(*VOICE))
    assert not tau2_results.sniff(real("tau2_profile", "doc_lines.log"))
    assert not tau2_results.sniff(real("massgen", "doc_example_status.json"))


# --------------------------------------------------------------------------- the sample

@pytest.fixture(scope="module")
def sample_path(tmp_path_factory) -> Path:
    return sample.write(tmp_path_factory.mktemp("tau2s"), seed=7, size=1)


def test_sample_is_deterministic_and_small(sample_path, tmp_path):
    again = sample.write(tmp_path / "a", seed=7, size=1)
    other = sample.write(tmp_path / "b", seed=8, size=1)
    assert again.read_bytes() == sample_path.read_bytes()
    assert other.read_bytes() != sample_path.read_bytes()
    assert sample_path.stat().st_size < 500_000


def test_sample_outcomes(sample_path):
    run = ak.load(sample_path)
    assert run.problems.empty
    tasks = run.tasks
    assert len(tasks) == 36 and tasks.task_id.nunique() == 12 and sorted(set(tasks.trial)) == [0, 1, 2]
    assert tasks.status.value_counts().to_dict() == {"success": 29, "failure": 6, "too_many_errors": 1}
    steps = dict(zip(run.failures.task_id, run.failures.step))
    assert steps == {"1": "db_check", "2": "action_checks", "3": "nl_assertions", "4": "communicate_checks",
                     "5": "env_assertions", "6": "too_many_errors", "7": "max_steps"}
    unpriced = tasks[tasks.task_id == "8"]
    assert unpriced.user_cost.isna().all() and (unpriced.cost_usd == unpriced.agent_cost).all()
    assert not run.messages[(run.messages.task_id == "8") & (run.messages.role == "user")].cost_usd.notna().any()


def test_sample_messages(sample_path):
    run = ak.load(sample_path)
    text = "\n".join(run.messages.content.dropna())
    for snippet in HOSTILE_SNIPPETS:
        assert snippet in text or json.dumps(snippet)[1:-1] in text
    calls = run.events[run.events.kind == "tool_call"]
    # 3 failed calls in the too_many_errors trial + one per trial of the recovered-error task
    assert calls.error.notna().sum() == 6
    retried = run.messages[(run.messages.task_id == "9") & run.messages.tool_calls.notna()]
    per_trial = retried.groupby("trial").tool_calls.apply(
        lambda s: [json.loads(c)[0]["arguments"] for c in s if "get_reservation" in c])
    assert all(len(a) == 2 and a[0] == a[1] for a in per_trial)


def test_sample_dir_layout_matches_json(sample_path, tmp_path):
    path = sample.write(tmp_path, seed=7, size=1, layout="dir")
    assert ak.detect(path) == "tau2_results"
    a = ak.load(sample_path).tasks.drop(columns="run_id").sort_values("simulation_id", ignore_index=True)
    b = ak.load(path).tasks.drop(columns="run_id").sort_values("simulation_id", ignore_index=True)
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------- broken inputs

def _sim(sim_id: str, **over) -> dict:
    sim = {
        "id": sim_id, "task_id": "t1", "trial": 0, "start_time": "2025-01-01T00:00:00",
        "end_time": "2025-01-01T00:00:10", "duration": 10.0, "termination_reason": "user_stop",
        "agent_cost": 0.5, "user_cost": 0.25, "reward_info": {"reward": 1.0},
        "messages": [
            {"role": "assistant", "content": "Hi", "timestamp": "2025-01-01T00:00:01", "cost": 0.0},
            {"role": "user", "content": "book", "timestamp": "2025-01-01T00:00:03", "cost": 0.25,
             "usage": {"prompt_tokens": 10, "completion_tokens": 2}},
            {"role": "assistant", "content": "", "timestamp": "2025-01-01T00:00:06", "cost": 0.5,
             "usage": {"prompt_tokens": 100, "completion_tokens": 20},
             "tool_calls": [{"id": "c1", "name": "book", "arguments": {"x": 1}, "requestor": "assistant"}]},
            {"role": "tool", "id": "c1", "content": "Error: no seat", "error": True,
             "timestamp": "2025-01-01T00:00:06.5"},
        ],
    }
    sim.update(over)
    return sim


def _write(tmp_path: Path, sims: list, name: str = "run.json") -> Path:
    doc = {"timestamp": "2025-01-01T00:00:00", "info": {"num_trials": 1, "agent_info": {"llm": "m-agent"},
           "user_info": {"llm": "m-user"}, "environment_info": {"domain_name": "airline"}},
           "tasks": [{"id": "t1"}], "simulations": sims}
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_hand_written_run_values(tmp_path):
    run = ak.load(_write(tmp_path, [_sim("s1")]))
    task = run.tasks.iloc[0]
    assert (task.cost_usd, task.input_tokens, task.output_tokens) == (0.75, 110, 22)
    ev = run.events.set_index("kind")
    assert ev.loc["llm_call", "duration_ms"] == 3000.0 and ev.loc["llm_call", "cost_usd"] == 0.5
    assert ev.loc["user_sim", "duration_ms"] == 2000.0 and ev.loc["user_sim", "name"] == "m-user"
    assert ev.loc["tool_call", "duration_ms"] == 500.0 and ev.loc["tool_call", "error"] == "Error: no seat"
    assert run.problems.empty


def test_truncated_mid_simulation_keeps_complete_ones(tmp_path):
    full = _write(tmp_path, [_sim(f"s{i}") for i in range(4)]).read_text()
    cut_at = full.index('"id": "s2"') + 40  # inside the third simulation
    path = tmp_path / "cut.json"
    path.write_text(full[:cut_at])
    run = ak.load(path)
    assert run.tasks.simulation_id.tolist() == ["s0", "s1"]
    assert run.meta["domain"] == "airline"
    (problem,) = run.problems.itertuples()
    assert problem.line == full[:cut_at].count("\n") + 1
    assert "simulation #3" in problem.reason and "2 complete simulations" in problem.reason
    with pytest.raises(ak.LoadError) as err:
        ak.load(path, strict=True)
    assert err.value.file == str(path) and err.value.line == problem.line


@pytest.mark.parametrize("where, kept", [
    ('"tasks"', 0),            # cut inside tasks: info survives, no simulations
    ('"simulations": [', 0),   # cut right after the array opens
    ("END", 4),                # every simulation complete, closing brackets lost
])
def test_truncated_at_other_points(tmp_path, where, kept):
    full = _write(tmp_path, [_sim(f"s{i}") for i in range(4)]).read_text()
    cut_at = len(full.rstrip().rstrip("}").rstrip().rstrip("]")) if where == "END" else full.index(where) + len(where) + 3
    path = tmp_path / "cut.json"
    path.write_text(full[:cut_at])
    run = ak.load(path)
    assert len(run.tasks) == kept
    assert len(run.problems) == 1 and run.problems.line.iloc[0] == full[:cut_at].count("\n") + 1
    assert run.meta["domain"] == "airline"


def test_truncated_real_file(tmp_path):
    data = real(*AIRLINE).read_bytes()
    cut = data.index(b'"id": "b94cdf8a') + 500  # inside the 6th simulation
    path = tmp_path / "airline_cut.json"
    path.write_bytes(data[:cut])
    run = ak.load(path)
    assert len(run.tasks) == 5 and run.tasks.simulation_id.iloc[-1].startswith("15c53988")
    assert run.problems.line.tolist() == [data[:cut].count(b"\n") + 1]


def test_wrong_types_become_na_and_problems(tmp_path):
    sims = [
        _sim("s1", trial="2", agent_cost="0.5", start_time=12345, reward_info={"reward": "1"}),
        _sim("s2", messages=None, user_cost=None, agent_cost=None, reward_info=None),
        _sim("s3", messages=[{"role": "assistant", "usage": ["x"], "timestamp": "not a time"}, 7]),
        _sim("s1"),  # duplicate id
    ]
    path = _write(tmp_path, sims)
    run = ak.load(path)
    tasks = run.tasks.set_index("simulation_id")
    assert list(tasks.index) == ["s1", "s2", "s3"]
    assert pd.isna(tasks.loc["s1", "trial"]) and pd.isna(tasks.loc["s1", "start"])
    assert pd.isna(tasks.loc["s1", "reward"]) and tasks.loc["s1", "status"] == "not_evaluated"
    assert tasks.loc["s1", "cost_usd"] == 0.25  # agent cost unknown, user cost known
    assert pd.isna(tasks.loc["s2", "cost_usd"]) and pd.isna(tasks.loc["s2", "num_messages"])
    reasons = run.problems.reason.tolist()
    expected = ["simulation s1: trial should be an integer, got str",
                "simulation s1: start_time should be an ISO time string, got int",
                "simulation s1: agent_cost should be a number, got str",
                "simulation s1: reward should be a number, got str",
                "simulation s3: message #0 usage should be an object, got list",
                "simulation s3: message #1 should be an object, got int",
                "simulation s1: duplicate simulation id",
                "simulation s3: timestamp 'not a time' is not a readable time"]  # the core's wording
    assert len(reasons) == len(expected)
    for want, got in zip(expected, reasons):
        assert got.startswith(want)
    assert run.problems.line.notna().all() and (run.problems.file == str(path)).all()
    with pytest.raises(ak.LoadError) as err:
        ak.load(path, strict=True)
    assert err.value.line == run.problems.line.iloc[0] and "trial" in str(err.value)


def test_wrong_top_level_types(tmp_path):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"info": "x", "tasks": None, "simulations": {"a": 1}}))
    run = tau2_results.load(path)
    assert run.tasks.empty
    assert [r.split(";")[0] for r in run.problems.reason] == [
        "info should be an object, got str", "simulations should be a list, got dict"]


def test_bad_tool_call_arguments(tmp_path):
    msgs = _sim("s1")["messages"]
    msgs[2]["tool_calls"] = [
        {"id": "c1", "name": "book", "arguments": '{"seat": "12A"'},
        {"id": "c2", "name": "look", "arguments": '{"seat": "12A"}'},
    ]
    run = ak.load(_write(tmp_path, [_sim("s1", messages=msgs)]))
    calls = json.loads(run.messages.tool_calls.dropna().iloc[0])
    assert calls[0]["arguments"] == '{"seat": "12A"' and calls[1]["arguments"] == {"seat": "12A"}
    (reason,) = run.problems.reason
    assert "'book': arguments are not valid JSON" in reason
    assert run.problems.raw.iloc[0] == '{"seat": "12A"'


def test_non_utf8_bytes(tmp_path):
    path = _write(tmp_path, [_sim("s1")])
    data = path.read_bytes().replace(b'"book"', b'"bo\xff\xfeok"', 1)
    path.write_bytes(data)
    run = ak.load(path)
    assert run.messages.content.iloc[1] == "bo\ufffd\ufffdok"
    (problem,) = run.problems.itertuples()
    assert "not UTF-8" in problem.reason
    assert problem.line == data[:data.index(b"\xff")].count(b"\n") + 1


def test_dir_format_with_a_broken_simulation_file(tmp_path):
    run_dir = sample.write(tmp_path, seed=3, size=1, layout="dir")
    files = sorted((run_dir / "simulations").glob("*.json"))
    files[0].write_text(files[0].read_text()[:300])
    files[1].unlink()
    run = ak.load(run_dir)
    assert len(run.tasks) == 34
    problems = run.problems.sort_values("file", ignore_index=True)
    assert len(problems) == 2
    reasons = dict(zip(problems.file, problems.reason))
    assert reasons[str(files[0])].startswith("simulation file is cut or invalid JSON")
    assert reasons[str(run_dir / "results.json")].endswith("is in simulation_index but its file is missing")
    assert files[1].stem in reasons[str(run_dir / "results.json")]


def test_not_json_at_all(tmp_path):
    path = tmp_path / "junk.json"
    path.write_bytes(b"\x00\x00\x00 not json")
    run = tau2_results.load(path)
    assert run.tasks.empty and len(run.problems) == 1
    with pytest.raises(ak.LoadError):
        tau2_results.load(path, strict=True)


def test_results_json_with_sibling_simulations_dir(tmp_path):
    run_dir = sample.write(tmp_path, seed=5, size=1, layout="dir")
    run = ak.load(run_dir / "results.json")
    assert len(run.tasks) == 36 and run.meta["layout"] == "dir"
    shutil.rmtree(run_dir / "simulations")
    # cache=False: the parse cache keys a file path by that file alone, not its sibling dir
    run = ak.load(run_dir / "results.json", cache=False)
    assert run.tasks.empty and run.meta["tasks_defined"] == 12


def test_unhashable_and_out_of_range_values(tmp_path):
    msgs = _sim("s1")["messages"]
    msgs[0]["role"] = ["assistant"]
    msgs[1]["usage"] = {"prompt_tokens": 1e30, "completion_tokens": float("inf")}
    msgs[2]["tool_calls"][0]["id"] = {"x": 1}
    msgs[3]["id"] = {"x": 1}
    run = ak.load(_write(tmp_path, [_sim("s1", messages=msgs)]))
    assert run.messages.role.isna().iloc[0] and len(run.messages) == 4
    assert pd.isna(run.messages.input_tokens.iloc[1]) and pd.isna(run.messages.output_tokens.iloc[1])
    call = run.events[run.events.kind == "tool_call"].iloc[0]
    assert call.duration_ms == 500.0  # the call and its result still pair up by their id
    # Counts beyond int64 or infinite are NA, and said so (they were NA silently before the core)
    assert run.problems.reason.tolist() == ["simulation s1: message #0 has unknown role ['assistant']; kept",
                                            "simulation s1: prompt_tokens is out of range (1e+30); taken as NA",
                                            "simulation s1: completion_tokens is out of range (inf); taken as NA"]


def test_duplicate_simulation_names_the_line_where_the_copy_begins(tmp_path):
    # The first copy's tool call id equals the simulation id: a text search for the id
    # would land inside the first copy (the old report named line 62, that tool call).
    first = _sim("s1")
    first["messages"][2]["tool_calls"][0]["id"] = first["messages"][3]["id"] = "s1"
    path = _write(tmp_path, [first, _sim("s2"), _sim("s1", trial=1)])
    text = path.read_text()
    copy_line = text[:text.rindex('"id": "s1"')].count("\n") + 1
    first_line = text[:text.index('"id": "s1"')].count("\n") + 1
    assert (first_line, copy_line) == (22, 140)  # checked by eye in the indent=2 file
    run = ak.load(path, cache=False)
    assert run.tasks.simulation_id.tolist() == ["s1", "s2"]  # the copy is skipped
    (row,) = run.problems.itertuples()
    assert (row.file, row.line) == (str(path), 140)
    assert row.reason == (f"simulation s1: duplicate simulation id (first at {path} line 22); "
                          "this copy is skipped")
    with pytest.raises(ak.LoadError) as err:
        ak.load(path, strict=True, cache=False)
    assert (err.value.file, err.value.line) == (str(path), 140)
    assert f"{path}:140:" in str(err.value)


def test_problem_lines_point_into_their_own_simulation(tmp_path):
    # A bad reward in the third simulation, whose id is also a tool call id in the first.
    early = _sim("s1")
    early["messages"][2]["tool_calls"][0]["id"] = early["messages"][3]["id"] = "s3"
    path = _write(tmp_path, [early, _sim("s2"), _sim("s3", reward_info={"reward": "high"})])
    text = path.read_text()
    third = text.rindex('"id": "s3"')  # the third's own id (its tool calls are c1)
    want = text[:text.index('"reward"', third)].count("\n") + 1
    run = ak.load(path, cache=False)
    (row,) = run.problems.itertuples()
    assert row.line == want and "s3: reward should be a number" in row.reason


def test_v1_generation_time_is_the_call_duration():
    """tau2 v1 messages carry generation_time_seconds: the call's own duration, not the gap
    since the previous message."""
    import json

    path = real("tau2_v1", "activegraph_20260531-193831_results.json")
    doc = json.loads(path.read_text())
    timed = [m["generation_time_seconds"] * 1000 for s in doc["simulations"] for m in s.get("messages") or []
             if m.get("role") == "assistant" and m.get("generation_time_seconds") is not None]
    run = ak.load(path)
    calls = run.events[run.events.kind == "llm_call"]
    assert sorted(calls.duration_ms.round(6)) == sorted(round(t, 6) for t in timed)
    assert ((calls.end - calls.start).dt.total_seconds() * 1000 - calls.duration_ms).abs().max() < 1e-3
    assert run.problems.empty


def test_unread_parts_of_a_simulation_are_said_once_per_run(tmp_path):
    sims = [_sim("s1", effect_timeline=[{"t": 1}]), _sim("s2", effect_timeline=[{"t": 2}])]
    sims[0]["messages"][0]["latency_breakdown"] = {"ttft": 0.2}
    run = ak.load(_write(tmp_path, sims))
    assert sorted(run.problems.reason) == ["not read: message.latency_breakdown", "not read: simulation.effect_timeline"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    runs = ak.load_runs([_write(tmp_path / "a", sims), _write(tmp_path / "b", sims)], workers=1)
    assert runs.problems.groupby("run_id", observed=True).size().tolist() == [2, 2]  # once per run, in a batch too
