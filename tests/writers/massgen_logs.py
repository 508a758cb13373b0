"""MassGen log directories and execution traces written by MassGen's own code, offline.

Run with an interpreter that has ``massgen`` (see ``massgen-env.txt``)::

    .venv-massgen/bin/python tests/writers/massgen_logs.py OUT_DIR

It writes, under ``OUT_DIR``:

- ``.massgen/massgen_logs/log_<ts>/`` by MassGen's real ``Orchestrator``, ``SingleAgent`` and
  ``ChatCompletionsBackend`` (which write coordination_events.json, status.json,
  metrics_summary.json, metrics_events.json, events.jsonl, snapshot_mappings.json,
  execution_metadata.yaml, ``agent_<id>/<ts>/{answer.txt, vote.json, context.txt,
  execution_trace.md}``, ``final/``), talking to a scripted model over HTTP (an
  ``httpx.MockTransport`` in place of the OpenAI endpoint: no network, no key). Three agents
  run a custom ``execute_command`` tool; turn 1's first attempt ends with the winner's
  post-evaluation calling ``restart_orchestration`` (so ``turn_1/attempt_2`` exists, the restart
  loop of ``massgen/cli/run.py`` replayed), and a second turn follows (``turn_2/attempt_1``).
  ``streaming_debug.log`` is written by MassGen's own ``log_streaming_debug`` into the sink that
  MassGen up to 0.1.x added in ``setup_logging`` (``{time:HH:mm:ss.SSS} | {message}``, records of
  category ``streaming_debug``); 0.1.97 no longer adds that sink, so it is added here the same way.
- ``traces/<name>/execution_trace.md`` by ``ExecutionTraceWriter`` alone, with content that
  looks like the markdown around it (fences and ``###`` lines inside results and reasoning).
- ``ground_truth.json``: what was written, taken from MassGen's in-memory objects and from the
  scripted model and tool (every call they served), for the tests to assert against.

The test side imports this module without massgen: :func:`massgen_python` finds or builds the
interpreter and :func:`write_in_subprocess` runs the writer in it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ENV_FILE = HERE / "massgen-env.txt"
MASSGEN_VERSION = "0.1.97"
PYTHON_ENV_VAR = "ANALYSIS_KIT_MASSGEN_PYTHON"


# ============================================================================ test side
def massgen_python() -> Path:
    """The interpreter that runs MassGen's writers: ``$ANALYSIS_KIT_MASSGEN_PYTHON``, else
    ``.venv-massgen`` at the repository root, built from ``massgen-env.txt`` when absent or
    stale (one to two minutes with a warm pip cache, 640 MB).

    >>> massgen_python()                                   # doctest: +SKIP
    PosixPath('.../.venv-massgen/bin/python')
    """
    from .side_venv import side_python

    return side_python("massgen", ENV_FILE, (f"massgen=={MASSGEN_VERSION}",), PYTHON_ENV_VAR)


def write_in_subprocess(out_dir: Path, python: Path | None = None, timeout: float = 600) -> dict:
    """Run :func:`write` in the MassGen interpreter; return the ground truth it saved."""
    python = python or massgen_python()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MPLBACKEND")}
    env["PYTHONWARNINGS"] = "ignore"
    proc = subprocess.run([str(python), str(Path(__file__).resolve()), str(out_dir)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"MassGen writer failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads((Path(out_dir) / "ground_truth.json").read_text(encoding="utf-8"))


def list_analyzed(root: Path, python: Path | None = None) -> list[str]:
    """The log directories MassGen's own ``massgen logs list --analyzed`` counts as analyzed
    (``massgen.logs_analyzer.has_analysis_report``), for logs under ``root/.massgen/massgen_logs``."""
    python = python or massgen_python()
    code = ("import json,sys; from pathlib import Path; from massgen.logs_analyzer import "
            "get_logs_dir, has_analysis_report; print(json.dumps(sorted(p.name for p in "
            "get_logs_dir().glob('log_*') if has_analysis_report(p))))")
    proc = subprocess.run([str(python), "-c", code], cwd=root, capture_output=True, text=True,
                          timeout=300, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-4000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ============================================================================ the scenario
# Three agents; agent_c's model is unknown to MassGen's price table (litellm), so MassGen
# records its tokens with an estimated_cost of 0.0.
AGENTS = {"agent_a": "gpt-4o-mini", "agent_b": "gpt-4o", "agent_c": "qwen3-8b-local"}
ANON = {"agent_a": "agent1", "agent_b": "agent2", "agent_c": "agent3"}
WORKSPACES = {a: f"/tmp/massgen_ws/workspace_{hashlib.md5(a.encode()).hexdigest()[:8]}"
              for a in AGENTS}
QUESTIONS = ("Create a one-page website about Bob Dylan", "Now add a dark mode toggle")
RESTART_REASON = "The page has no tests; the answer cannot be checked"
WINNER = "agent_b"

# Per turn and attempt, per agent: the answers it gives, each after running its commands
# (a list of steps; a step of two commands is one response with two parallel tool calls).
# When its answers are all in the context it votes for WINNER.
ANSWER_PLANS: dict[tuple[int, int], dict[str, list[tuple[list[list[str]], str]]]] = {
    (1, 1): {
        "agent_a": [([["ls -la {ws}", "cat {ws}/README.md"], ["npm install"]],
                     "# Bob Dylan\n\nA page with a biography and a discography table.\n")],
        "agent_b": [([["ls -la  {ws}"], ["python -m pytest -q"]],
                     "# Bob Dylan\n\nBiography.\n"),
                    ([["npm install"], ["npm run build"]],
                     "# Bob Dylan\n\nBiography.\n\n## Albums\n\n| year | album |\n|---|---|\n"
                     "| 1963 | The Freewheelin' |\n| 1965 | Highway 61 Revisited |\n")],
        "agent_c": [([["npm install"], ["cat {ws}/README.md"]],
                     "<h1>Bob Dylan</h1>\n<script>alert('x')</script>\n")],
    },
    (1, 2): {
        "agent_a": [([["npm test"]], "# Bob Dylan\n\nWith a test suite.\n")],
        "agent_b": [([["npm install"], ["npm test"]],
                     "# Bob Dylan\n\nBiography, albums, and `npm test` passes.\n")],
        "agent_c": [([["npm test"]], "<h1>Bob Dylan</h1>\n<p>Tested.</p>\n")],
    },
    # agent_c votes before any answer exists: MassGen's enforcement rejects it
    # (vote_no_answers), which status.json records under reliability.
    (2, 1): {
        "agent_a": [([["grep -rn 'color' {ws}"]], "# Bob Dylan\n\nA dark theme.\n")],
        "agent_b": [([["grep -rn 'prefers-color-scheme' {ws}"]],
                     "# Bob Dylan\n\nNow with a dark mode toggle.\n")],
        "agent_c": [],
    },
}
FAILING_COMMANDS = {"python -m pytest -q": "ModuleNotFoundError: No module named 'pytest'"}
# Simulated durations (seconds): the tool sleeps this long, so MassGen's timings order them.
DURATIONS = {"npm install": 0.25, "npm run build": 0.15, "npm test": 0.1}
LONG_OUTPUT = {"cat": "line of README\n" * 400, "npm install": "added 1 package\n" * 120}

TOOL_LOG: list[dict] = []       # every execution the custom tool served
MODEL_LOG: list[dict] = []      # every response the scripted model gave


def tool_output(command: str) -> str:
    for prefix, text in LONG_OUTPUT.items():
        if command.startswith(prefix):
            return text
    return f"ok: {command}\n"


# ============================================================================ writer side
def write(out_dir: Path) -> dict:
    """Write the log directory, the standalone traces and ground_truth.json under out_dir."""
    out_dir = Path(out_dir).resolve()
    base = out_dir / ".massgen" / "massgen_logs"
    os.environ["MASSGEN_LOG_BASE_DIR"] = str(base)
    truth: dict[str, Any] = {"massgen_version": _massgen_version(), "attempts": [],
                             "traces": write_standalone_traces(out_dir / "traces")}
    truth["log_dir"] = _run_session(base, truth).relative_to(out_dir).as_posix()
    truth["tool_log"], truth["model_log"] = TOOL_LOG, MODEL_LOG
    (out_dir / "ground_truth.json").write_text(json.dumps(truth, indent=1, default=str),
                                               encoding="utf-8")
    return truth


def _massgen_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("massgen")


def _run_session(base: Path, truth: dict) -> Path:
    import asyncio

    import massgen.logger_config as lc

    lc.setup_logging(debug=False)
    _add_streaming_debug_sink(lc)
    history: list[dict] = []
    for turn, question in enumerate(QUESTIONS, start=1):
        if turn > 1:
            lc.set_log_turn(turn)
            lc.set_log_attempt(1)
            _add_streaming_debug_sink(lc)
        history.append({"role": "user", "content": question})
        final = asyncio.run(_run_turn(lc, turn, question, history, truth))
        history.append({"role": "assistant", "content": final})
    lc.logger.complete()
    return lc.get_log_session_root()


_SINK_ID: int | None = None


def _add_streaming_debug_sink(lc) -> None:
    """The streaming_debug.log sink of MassGen <= 0.1.x's setup_logging, in the current attempt."""
    global _SINK_ID
    if _SINK_ID is not None:
        lc.logger.remove(_SINK_ID)
    _SINK_ID = lc.logger.add(
        str(lc.get_log_session_dir() / "streaming_debug.log"),
        format="{time:HH:mm:ss.SSS} | {message}", level="DEBUG", enqueue=True, colorize=False,
        filter=lambda record: record["extra"].get("category") == "streaming_debug")


async def _run_turn(lc, turn: int, question: str, history: list[dict], truth: dict) -> str:
    from massgen.agent_config import AgentConfig
    from massgen.chat_agent import SingleAgent
    from massgen.orchestrator import Orchestrator

    config = AgentConfig()
    config.coordination_config.max_orchestration_restarts = 1 if turn == 1 else 0
    config.max_new_answers_per_agent = 3  # a safety net: the script never asks for more
    backends = {aid: _backend(aid, model, turn) for aid, model in AGENTS.items()}
    agents = {aid: SingleAgent(backend=b, agent_id=aid, system_message=f"You are {aid}")
              for aid, b in backends.items()}
    orch = Orchestrator(agents=agents, config=config)
    lc.save_execution_metadata(query=question, config_content={"agents": [
        {"id": aid, "backend": {"type": "chatcompletion", "model": m}} for aid, m in AGENTS.items()]},
        cli_args={"mode": "multi-agent", "turn": turn})
    attempt = 1
    while True:
        for b in backends.values():
            b.attempt = attempt
        final, tracker = "", orch.coordination_tracker
        written = _record_what_is_written(orch, backends)
        async for chunk in orch.chat(list(history)):
            if getattr(chunk, "type", None) == "content" and chunk.content:
                final += chunk.content
        truth["attempts"].append(_attempt_truth(lc, orch, tracker, backends, turn, attempt, written))
        if not orch.restart_pending:
            return final
        if orch.workflow_phase != "idle":
            # 0.1.97 calls handle_restart() only when write isolation is on (an indentation
            # slip in final_presentation_runner), so the CLI's next attempt would reuse this
            # directory and fail; call it as the runner means to.
            orch.handle_restart()
        # The restart loop of massgen/cli/run.py: next attempt's directory, its metadata.
        lc.set_log_attempt(orch.current_attempt + 1)
        _add_streaming_debug_sink(lc)
        lc.save_execution_metadata(query=question, cli_args={
            "mode": "coordination_restart", "attempt": orch.current_attempt + 1,
            "restart_reason": orch.restart_reason})
        for b in backends.values():
            reset = b.reset_state()
            if inspect.iscoroutine(reset):  # sync or async, as massgen/cli/run.py allows
                await reset
        attempt += 1


def _record_what_is_written(orch, backends: dict) -> dict:
    """What the coordination tracker and the backends hold when MassGen writes the attempt's
    files (it keeps counting after that, e.g. during post-evaluation)."""
    written: dict = {}
    save_logs, save_metrics = orch.coordination_tracker.save_coordination_logs, orch.save_metrics

    def coordination_logs(log_dir, _tracker=orch.coordination_tracker):
        written["session_start"] = _tracker.start_time
        written["coordination_events"] = [
            {"event_type": getattr(e.event_type, "value", str(e.event_type)), "agent_id": e.agent_id,
             "timestamp": e.timestamp} for e in _tracker.events]
        return save_logs(log_dir)

    def metrics(log_dir):
        written["agents"] = {aid: {"model": b.config.get("model"), "tool_metrics": b.get_tool_metrics(),
                                   "round_history": b.get_round_token_history(),
                                   "token_usage": {"input_tokens": b.token_usage.input_tokens,
                                                   "output_tokens": b.token_usage.output_tokens,
                                                   "estimated_cost": b.token_usage.estimated_cost}}
                             for aid, b in backends.items()}
        return save_metrics(log_dir)

    orch.coordination_tracker.save_coordination_logs = coordination_logs
    orch.save_metrics = metrics
    return written


def _attempt_truth(lc, orch, tracker, backends, turn: int, attempt: int, written: dict) -> dict:
    return {
        "turn": turn, "attempt": attempt,
        "dir": lc.get_log_session_dir().relative_to(lc.get_log_session_root()).as_posix(),
        "winner": getattr(orch, "_selected_agent", None),
        "restart_pending": bool(orch.restart_pending),
        "restart_reason": orch.restart_reason if orch.restart_pending else None,
        "session_start": written["session_start"],
        "coordination_events": written["coordination_events"],
        "agents": written["agents"],
    }


def _backend(agent_id: str, model: str, turn: int):
    import httpx
    import openai

    from massgen.backend.chat_completions import ChatCompletionsBackend

    class ScriptedBackend(ChatCompletionsBackend):
        """MassGen's ChatCompletionsBackend whose HTTP endpoint is the scripted model."""

        attempt = 1

        def _create_client(self, **kwargs):
            transport = httpx.MockTransport(lambda request: _serve(agent_id, turn, self.attempt, request))
            return openai.AsyncOpenAI(api_key="offline", base_url="http://scripted.invalid/v1",
                                      http_client=httpx.AsyncClient(transport=transport))

    tool = {"name": "execute_command", "path": str(Path(__file__).resolve()),
            "function": "execute_command", "description": "Run a shell command"}
    return ScriptedBackend(api_key="offline", base_url="http://scripted.invalid/v1", model=model,
                           custom_tools=[tool])


async def execute_command(command: str, timeout: int = 60):
    """The custom tool: answers like MassGen's command_line MCP server, without running anything."""
    import asyncio

    from massgen.tool._result import ExecutionResult, TextContent

    base = re.sub(r"\s+", " ", re.sub(r"/tmp/massgen_ws/workspace_\w+", "", command)).strip()
    seconds = DURATIONS.get(base, 0.02)
    await asyncio.sleep(seconds)
    entry = {"command": command, "time": time.time(), "execution_time": seconds}
    TOOL_LOG.append(entry)
    if base in FAILING_COMMANDS:
        entry["error"] = FAILING_COMMANDS[base]
        raise RuntimeError(FAILING_COMMANDS[base])
    output = tool_output(base)
    entry["output_chars"] = len(output)
    result = {"success": True, "exit_code": 0, "stdout": output, "stderr": "",
              "execution_time": seconds, "command": command, "work_dir": "/tmp/massgen_ws"}
    return ExecutionResult(output_blocks=[TextContent(data=json.dumps(result))])


# ----------------------------------------------------------------------------- scripted model
def _serve(agent_id: str, turn: int, attempt: int, request) -> Any:
    import httpx

    body = json.loads(request.content)
    tools = {t["function"]["name"] for t in body.get("tools") or []}
    messages = body["messages"]
    if "restart_orchestration" in tools:
        reply = _post_evaluation(turn, attempt)
    elif "vote" not in tools:
        reply = {"text": f"Final answer of {agent_id} (turn {turn}).", "calls": []}
    else:
        reply = _coordination_step(agent_id, turn, attempt, messages)
    usage = {"prompt_tokens": sum(len(str(m.get("content") or "")) for m in messages) // 4,
             "completion_tokens": 20 + 10 * len(reply["calls"])}
    reply["call_ids"] = [f"call_{agent_id}_{next(_CALL_SEQ)}" for _ in reply["calls"]]
    MODEL_LOG.append({"agent": agent_id, "turn": turn, "attempt": attempt, "model": body["model"],
                      "text": reply["text"], "reasoning": reply.get("reasoning"),
                      "calls": [{"id": i, "name": n, "arguments": a} for i, (n, a) in zip(reply["call_ids"], reply["calls"])],
                      "usage": usage})
    return httpx.Response(200, headers={"content-type": "text/event-stream"},
                          content=_sse(body["model"], reply, usage, agent_id))


def _post_evaluation(turn: int, attempt: int) -> dict:
    if turn == 1 and attempt == 1:
        return {"text": "Reviewing.", "calls": [("restart_orchestration", {
            "reason": RESTART_REASON, "instructions": "Run the test suite before answering."})]}
    return {"text": "Looks complete.", "calls": [("submit", {"confirmed": True})]}


def _coordination_step(agent_id: str, turn: int, attempt: int, messages: list[dict]) -> dict:
    plan = ANSWER_PLANS[(turn, attempt)][agent_id]
    context = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "") or ""
    # The context shows each agent's latest answer only: its number is how many it gave.
    own = max((int(n) for n in re.findall(rf"<{ANON[agent_id]}\.(\d+)>", context)), default=0)
    if own >= len(plan):
        return {"text": f"{agent_id} has read the answers and votes.", "calls": [("vote", {
            "agent_id": _winner_anon_id(context, turn, attempt),
            "reason": f"{agent_id}: {WINNER}'s answer is the most complete"})]}
    steps, answer = plan[own]
    done = sum(1 for m in messages if m["role"] == "assistant" and m.get("tool_calls"))
    if done < len(steps):
        ws = WORKSPACES[agent_id]
        return {"text": f"Step {done + 1}.", "reasoning": f"I will run {len(steps[done])} command(s).",
                "calls": [("custom_tool__execute_command", {"command": c.format(ws=ws)})
                          for c in steps[done]]}
    return {"text": "Submitting.", "calls": [("new_answer", {"content": answer})]}


def _winner_anon_id(context: str, turn: int, attempt: int) -> str:
    """The anonymous id (``agentN``) under which the context shows WINNER's answer: MassGen
    numbers the agents that have answers, so the id changes from context to context."""
    blocks = re.findall(r"<(agent\d+)\.\d+>\s*(.*?)\s*<end of agent\d+\.\d+>", context, re.S)
    texts = [a.strip() for _, a in ANSWER_PLANS[(turn, attempt)][WINNER]]
    for anon, text in blocks:
        if text.strip() in texts:
            return anon
    return blocks[0][0] if blocks else "agent1"


_CALL_SEQ = iter(range(1, 10**9))


def _sse(model: str, reply: dict, usage: dict, agent_id: str) -> bytes:
    def chunk(delta=None, finish=None, usage=None):
        c = {"id": "scripted", "object": "chat.completion.chunk", "created": 0, "model": model,
             "choices": [] if delta is None and finish is None
             else [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}
        if usage:
            c["usage"] = dict(usage, total_tokens=usage["prompt_tokens"] + usage["completion_tokens"])
        return c

    chunks = []
    if reply.get("reasoning"):
        chunks.append(chunk({"role": "assistant", "reasoning_content": reply["reasoning"]}))
    chunks.append(chunk({"role": "assistant", "content": reply["text"]}))
    for i, ((name, args), call_id) in enumerate(zip(reply["calls"], reply["call_ids"])):
        chunks.append(chunk({"tool_calls": [{"index": i, "id": call_id, "type": "function",
                                              "function": {"name": name, "arguments": json.dumps(args)}}]}))
    chunks.append(chunk(finish="tool_calls" if reply["calls"] else "stop"))
    chunks.append(chunk(usage=usage))
    return ("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n").encode()


# ============================================================================ standalone traces
def write_standalone_traces(folder: Path) -> dict:
    """execution_trace.md files written by ExecutionTraceWriter alone; returns their entries."""
    from datetime import datetime

    from massgen.execution_trace import ExecutionTraceWriter

    folder.mkdir(parents=True, exist_ok=True)
    w = ExecutionTraceWriter(agent_id="agent_b", model="gpt-4o",
                             start_time=datetime(2026, 2, 24, 18, 16, 53))
    entries: list[dict] = []

    def note(kind: str, **fields):
        entries.append({"kind": kind, **fields})

    w.add_injected_context("trace_analysis_round_1", "## Learnings\n\n- run tests first\n")
    note("injected_context", name="trace_analysis_round_1")
    w.start_round(round_num=1, answer_label="2.1")
    note("round", round=1, label="2.1")
    w.add_reasoning("**Plan**\n\n### Not a section\nI will list files, ")
    w.add_reasoning("then build.")
    note("reasoning", text="**Plan**\n\n### Not a section\nI will list files, then build.")
    cmd_ls = {"command": "ls -la /tmp/massgen_ws/workspace_0f0f0f0f", "timeout": 60}
    cmd_build = {"command": "npm run build\necho 'done'", "timeout": 120}
    w.add_tool_call("mcp__command_line__execute_command", cmd_ls)
    w.add_tool_call("mcp__command_line__execute_command", cmd_build)
    note("tool_call", name="mcp__command_line__execute_command", args=cmd_ls)
    note("tool_call", name="mcp__command_line__execute_command", args=cmd_build)
    listing = "total 8\n```\n### Tool Call: fake\n```\ndrwxr-xr-x  2 u u 4096 .\n"
    w.add_tool_result("mcp__command_line__execute_command", listing)
    note("tool_result", name="mcp__command_line__execute_command", text=listing, is_error=False)
    w.add_tool_result("mcp__command_line__execute_command", "Error: build failed (exit 1)",
                      is_error=True)
    note("tool_result", name="mcp__command_line__execute_command",
         text="Error: build failed (exit 1)", is_error=True)
    w.add_tool_call("read_file", {"path": "src/index.html"})
    note("tool_call", name="read_file", args={"path": "src/index.html"})
    w.add_content("I could not build; reporting what I have. ")
    w.add_content("Ünïcödé ✓")
    note("content", text="I could not build; reporting what I have. Ünïcödé ✓")
    answer = "# Answer\n\n### Tool Result: not a section\n\nThe build fails.\n"
    w.add_tool_call("new_answer", {"content": answer})
    note("tool_call", name="new_answer", args={"content": answer})
    w.add_answer(answer_label="2.1", content=answer)
    note("answer", label="2.1", text=answer)
    w.start_round(round_num=2, answer_label="2.2")
    note("round", round=2, label="2.2")
    w.add_tool_call("vote", {"agent_id": "agent1", "reason": "Agent 1 built it"})
    note("tool_call", name="vote", args={"agent_id": "agent1", "reason": "Agent 1 built it"})
    w.add_vote(voted_for_agent="agent1", voted_for_label="agent1.1", reason="Agent 1 built it",
               available_options=["agent1.1", "agent2.1"])
    note("vote", voted_for="agent1.1", reason="Agent 1 built it",
         options=["agent1.1", "agent2.1"])
    w.save(folder / "mixed" / "execution_trace.md")

    empty = ExecutionTraceWriter(agent_id="agent_c", model="qwen3-8b-local",
                                 start_time=datetime(2026, 2, 24, 18, 20, 0))
    empty.save(folder / "empty" / "execution_trace.md")
    return {"mixed/execution_trace.md": {"agent": "agent_b", "model": "gpt-4o",
                                         "started": "2026-02-24 18:16:53", "entries": entries,
                                         "errors": 1},
            "empty/execution_trace.md": {"agent": "agent_c", "model": "qwen3-8b-local",
                                         "started": "2026-02-24 18:20:00", "entries": [],
                                         "errors": 0}}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: massgen_logs.py OUT_DIR")
    write(Path(sys.argv[1]))
