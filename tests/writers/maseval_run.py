"""A real MASEval run, written offline by MASEval 0.5.x's own classes.

The benchmark is built the way MASEval's built-in benchmarks build theirs (``benchmark/macs``,
``benchmark/converse``): an :class:`~maseval.Environment` whose ``create_tools`` returns tool
objects that record every call in a :class:`~maseval.ToolInvocationHistory` (so their calls
land in ``traces.environment.tools.<name>.invocations``), models made by
``get_model_adapter(register_name=...)`` and registered under ``models``, an
:class:`~maseval.LLMUser` that answers the agent, and evaluators of which one is an LLM judge
with its own model. One more tool, the orchestrator's way to ask the researcher, is registered
by hand under ``tools`` (``traces.tools.ask_researcher``), as MASEval's docs suggest for a
component the environment does not hold.

Everything that would reach a network is scripted: :class:`ScriptedModel` is a
:class:`~maseval.ModelAdapter` whose ``_chat_impl`` replays a script (tool calls, answers,
usage, provider-reported cost, raised errors); :class:`DeskAgentAdapter` is an
:class:`~maseval.AgentAdapter` around a small tool-calling loop that keeps a
:class:`~maseval.MessageHistory` and per-step logs the way MASEval's smolagents adapter does.

Ten tasks, two repeats each. Every execution status that ``Benchmark`` can give is provoked
once through MASEval's own code path (``SCENARIOS``): a tool that rejects the agent's arguments
(``agent_error``), a tool whose backend fails (``environment_error``), a user simulator whose
model answers garbage three times (``user_error``), a task over its ``timeout_seconds``
(``task_timeout``), a model call that raises (``unknown_execution_error``), a judge that returns
JSON without a score (``evaluation_failed``) and an environment that cannot be built
(``setup_failed``). Among the repeats that complete, one answers wrong (``passed: False``,
judge score 0) and one is judged 0 although its answer matched.

The results are written by :class:`~maseval.core.callbacks.result_logger.FileResultLogger`
(``benchmark_<ts>.jsonl`` + ``.meta.json``) and the conversations that
:class:`~maseval.MessageTracingAgentCallback` traced are dumped as JSON.

>>> run = write_run(Path("/tmp/maseval_run"))          # doctest: +SKIP
>>> run.jsonl.name                                        # doctest: +SKIP
'benchmark_20250101_120000.jsonl'
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from maseval import (
    AgentAdapter,
    Benchmark,
    ChatResponse,
    Environment,
    Evaluator,
    LLMUser,
    MessageHistory,
    MessageTracingAgentCallback,
    ModelAdapter,
    StaticPricingCalculator,
    Task,
    ToolInvocationHistory,
    TraceableMixin,
)
from maseval.core.callbacks.result_logger import FileResultLogger
from maseval.core.config import ConfigurableMixin
from maseval.core.exceptions import AgentError, EnvironmentError
from maseval.core.task import TaskProtocol

REPEATS = 2
ORCHESTRATOR_MODEL = "gpt-4o-mini"          # priced by a StaticPricingCalculator
RESEARCHER_MODEL = "local/qwen2.5-7b"       # no calculator, no provider cost: MASEval writes 0.0
USER_MODEL = "gpt-4o-mini"
JUDGE_MODEL = "judge-large"                 # the provider reports the cost in its usage
PRICES = {"gpt-4o-mini": {"input": 0.15e-6, "output": 0.60e-6}}
JUDGE_COST_PER_CALL = 0.0021
TIMEOUT_S = 0.3                             # the timeout task's deadline; its agent sleeps longer
GOLD = "Refunds are accepted within 30 days of delivery."
WRONG = "Refunds are never accepted."

# (task id) -> behaviour of repeat 0 and repeat 1. "ok" answers right and the judge gives 1;
# "wrong" answers wrong (judge 0); "partial" is judged 0.5; "judged_zero" matches the gold
# answer but the judge scores it 0; the rest provoke one execution status each.
SCENARIOS: Dict[str, Tuple[str, str]] = {
    "t01": ("ok", "ok"),
    "t02": ("ok", "wrong"),
    "t03": ("partial", "judged_zero"),
    "t04": ("agent_error", "ok"),
    "t05": ("environment_error", "ok"),
    "t06": ("user_error", "ok"),
    "t07": ("timeout", "ok"),
    "t08": ("model_error", "ok"),
    "t09": ("evaluation_failed", "ok"),
    "t10": ("setup_failed", "ok"),
}
# The status MASEval gives each behaviour.
STATUS = {
    "ok": "success", "wrong": "success", "partial": "success", "judged_zero": "success",
    "agent_error": "agent_error", "environment_error": "environment_error",
    "user_error": "user_error", "timeout": "task_timeout", "model_error": "unknown_execution_error",
    "evaluation_failed": "evaluation_failed", "setup_failed": "setup_failed",
}
# The evaluation's verdict for behaviours whose evaluation ran: every evaluator must pass
# (answer matched, judge score above 0).
VERDICT = {"ok": True, "wrong": False, "partial": True, "judged_zero": False}
JUDGE_SCORE = {"ok": 1.0, "wrong": 0.0, "partial": 0.5, "judged_zero": 0.0}


# --------------------------------------------------------------------------- scripted model

def _call(name: str, arguments: dict, call_id: str) -> ChatResponse:
    return ChatResponse(tool_calls=[{"id": call_id, "type": "function",
                                     "function": {"name": name, "arguments": json.dumps(arguments)}}])


def _say(text: str) -> ChatResponse:
    return ChatResponse(content=text)


class ScriptedModel(ModelAdapter):
    """A ModelAdapter that replays ``script`` (ChatResponse or an exception to raise), adding
    usage computed from the request so that every call's tokens are known."""

    def __init__(self, model_id: str, script: List[Any], *, provider_cost: Optional[float] = None,
                 cost_calculator: Optional[StaticPricingCalculator] = None):
        super().__init__(cost_calculator=cost_calculator)
        self._model_id = model_id
        self._script = list(script)
        self._provider_cost = provider_cost

    @property
    def model_id(self) -> str:
        return self._model_id

    def _chat_impl(self, messages, generation_params=None, tools=None, tool_choice=None, **kwargs) -> ChatResponse:
        if not self._script:
            raise RuntimeError(f"script of {self._model_id} exhausted (a bug in the fixture writer)")
        step = self._script.pop(0)
        if isinstance(step, BaseException):
            raise step
        chars = sum(len(str(m.get("content") or "")) for m in messages)
        usage: Dict[str, Any] = {"input_tokens": 100 + chars // 4, "output_tokens": 12 + len(step.content or "") // 4,
                                 "cached_input_tokens": 64 if len(messages) > 3 else 0}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        if self._provider_cost is not None:
            usage["cost"] = self._provider_cost
        return ChatResponse(content=step.content, tool_calls=step.tool_calls, usage=usage, model=self._model_id)


# --------------------------------------------------------------------------- tools and environment

class DeskTool(TraceableMixin, ConfigurableMixin):
    """A tool as MASEval's benchmarks write them (cf. ``MACSGenericTool``): arguments the agent
    got wrong raise :class:`AgentError`; a failing backend raises :class:`EnvironmentError`;
    every call that ran is recorded in ``history`` with its start time and duration."""

    def __init__(self, name: str, required: Sequence[str], fn: Callable[..., str], *, timed: bool = True):
        super().__init__()
        self.name, self.required, self._fn, self._timed = name, tuple(required), fn, timed
        self.history = ToolInvocationHistory()

    def __call__(self, **kwargs: Any) -> str:
        missing = [k for k in self.required if k not in kwargs]
        if missing:
            raise AgentError(f"Invalid arguments for tool '{self.name}': missing {missing}", component=self.name,
                             details={"given": sorted(kwargs)})
        started, clock = datetime.now().isoformat(), time.perf_counter()
        try:
            output = self._fn(**kwargs)
        except Exception as exc:
            self._record(kwargs, str(exc), "error", started, clock)
            raise
        self._record(kwargs, output, "success", started, clock)
        return output

    def _record(self, inputs: dict, outputs: Any, status: str, started: str, clock: float) -> None:
        if self._timed:
            self.history.add_invocation(inputs=inputs, outputs=outputs, status=status, timestamp=started,
                                        meta={"duration_seconds": time.perf_counter() - clock})
        else:  # as Converse's tools do: stamped when recorded, no duration
            self.history.add_invocation(inputs=inputs, outputs=outputs, status=status)

    def spec(self) -> dict:
        return {"type": "function", "function": {"name": self.name, "parameters": {
            "type": "object", "properties": {k: {"type": "string"} for k in self.required},
            "required": list(self.required)}}}

    def gather_traces(self) -> Dict[str, Any]:
        return {**super().gather_traces(), "name": self.name, "invocations": self.history.to_list()}

    def gather_config(self) -> Dict[str, Any]:
        return {**super().gather_config(), "name": self.name, "required": list(self.required)}


class DeskEnvironment(Environment):
    """An order desk: order records and policy documents, with tools over them."""

    def setup_state(self, environment_data: dict) -> Any:
        if environment_data.get("region") not in (None, "eu"):
            raise ValueError(f"unknown order database {environment_data['region']!r}")
        return {"orders": {"A-17": "delivered 2025-01-02"}, "docs_up": environment_data.get("docs_up", True),
                "tickets": []}

    def create_tools(self) -> Dict[str, Any]:
        return {
            "lookup_order": DeskTool("lookup_order", ["order_id"], self._lookup_order),
            "search_docs": DeskTool("search_docs", ["query"], self._search_docs),
            "create_ticket": DeskTool("create_ticket", ["order_id", "note"], self._create_ticket),
        }

    def _lookup_order(self, order_id: str) -> str:
        return f"order {order_id}: {self.state['orders'].get(order_id, 'not found')}"

    def _search_docs(self, query: str) -> str:
        if not self.state["docs_up"]:
            raise EnvironmentError("docs index unreachable", component="search_docs", details={"retries": 2})
        return "Policy 4.2: refunds within 30 days of delivery."

    def _create_ticket(self, order_id: str, note: str) -> str:
        self.state["tickets"].append((order_id, note))
        return f"ticket {len(self.state['tickets'])} created"


# --------------------------------------------------------------------------- agents

class DeskAgent:
    """A tool-calling loop over a MASEval ModelAdapter (the 'framework' the adapter wraps)."""

    def __init__(self, name: str, model: ModelAdapter, tools: Dict[str, Callable[..., str]],
                 system_prompt: str, sleep_s: float = 0.0):
        self.name, self.model, self.tools, self.system_prompt, self.sleep_s = name, model, tools, system_prompt, sleep_s


class DeskAgentAdapter(AgentAdapter):
    """Runs a :class:`DeskAgent`: the history is a MessageHistory; ``logs`` holds one entry per
    step (``step_type, step_number, start_time, end_time, duration_seconds, input_tokens,
    output_tokens, tool_calls, error``), as MASEval's smolagents adapter writes them."""

    MAX_STEPS = 6

    def _run_agent(self, query: str) -> Any:
        agent: DeskAgent = self.agent
        if self.messages is None:
            self.messages = MessageHistory()
            self.messages.add_message("system", agent.system_prompt)
        self.messages.add_message("user", query)
        time.sleep(agent.sleep_s)  # only the timeout task sleeps
        specs = [t.spec() for t in agent.tools.values() if hasattr(t, "spec")]
        for number in range(1, self.MAX_STEPS + 1):
            step: Dict[str, Any] = {"step_type": "ActionStep", "step_number": number, "start_time": time.time()}
            try:
                answer = self._step(agent, specs, step)
            except Exception as exc:
                step.update(error=str(exc), error_type=type(exc).__name__)
                raise
            finally:
                step["end_time"] = time.time()
                step["duration_seconds"] = step["end_time"] - step["start_time"]
                self.logs.append(step)
            if answer is not None:
                return answer
        raise RuntimeError(f"{self.name}: no answer after {self.MAX_STEPS} steps")

    def _step(self, agent: DeskAgent, specs: list, step: Dict[str, Any]) -> Optional[str]:
        response = agent.model.chat(self.messages, tools=specs)
        usage = response.usage or {}
        step.update(input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens"))
        if not response.tool_calls:
            self.messages.add_message("assistant", response.content or "")
            step["is_final_answer"] = True
            return response.content or ""
        self.messages.add_tool_call(response.tool_calls, content=response.content)
        step["tool_calls"] = [{"id": c["id"], "name": c["function"]["name"],
                               "arguments": c["function"]["arguments"]} for c in response.tool_calls]
        for call in response.tool_calls:
            name = call["function"]["name"]
            output = agent.tools[name](**json.loads(call["function"]["arguments"]))
            self.messages.add_tool_response(call["id"], str(output), name=name)
        return None


# --------------------------------------------------------------------------- evaluators

class AnswerMatchEvaluator(Evaluator):
    """Exact match of the final answer with the task's gold answer (tau2-style keys)."""

    def __init__(self, task: Task, environment: Environment, user=None):
        super().__init__(task, environment, user)
        self.gold = task.evaluation_data["gold"]

    def filter_traces(self, traces: Dict[str, Any]) -> Dict[str, Any]:
        return traces.get("agents", {}).get("orchestrator", {})

    def __call__(self, traces: Dict[str, Any], final_answer: Optional[str] = None) -> Dict[str, Any]:
        passed = (final_answer or "").strip() == self.gold
        return {"evaluator": "answer_match", "passed": passed, "reward": 1.0 if passed else 0.0}


class JudgeEvaluator(Evaluator):
    """An LLM judge over the tool invocations (gaia2/MACS-style filter); an answer without a
    ``score`` key raises, which MASEval records as ``evaluation_failed``."""

    def __init__(self, task: Task, environment: Environment, model: ModelAdapter, user=None):
        super().__init__(task, environment, user)
        self.model = model

    def filter_traces(self, traces: Dict[str, Any]) -> Dict[str, Any]:
        tools = (traces.get("environment") or {}).get("tools", {})
        return {"invocations": [(name, inv.get("inputs")) for name, t in tools.items()
                                for inv in t.get("invocations", [])]}

    def __call__(self, traces: Dict[str, Any], final_answer: Optional[str] = None) -> Dict[str, Any]:
        verdict = json.loads(self.model.generate(f"Judge: {final_answer!r} given {traces['invocations']!r}"))
        return {"evaluator": "judge", "score": verdict["score"], "reasoning": verdict.get("reasoning")}


# --------------------------------------------------------------------------- the benchmark

class DeskBenchmark(Benchmark):
    """Two agents (an orchestrator that looks orders up and asks a researcher, who searches the
    docs), a user simulator, an answer-match evaluator and an LLM judge."""

    def __init__(self, **kwargs: Any):
        super().__init__(n_task_repeats=REPEATS, max_invocations=2, progress_bar=False, **kwargs)
        self.tracer = MessageTracingAgentCallback(include_metadata=True)
        self._attempts: Dict[str, int] = {}
        self._behaviour = "ok"

    # -- setup
    def setup_environment(self, agent_data, task, seed_generator):
        repeat = self._attempts.get(task.id, 0)
        self._attempts[task.id] = repeat + 1
        self._behaviour = SCENARIOS[task.id][repeat]
        data = dict(task.environment_data)
        if self._behaviour == "setup_failed":
            data["region"] = "us-east"
        if self._behaviour == "environment_error":
            data["docs_up"] = False
        return DeskEnvironment(data)

    def setup_user(self, agent_data, environment, task, seed_generator):
        script = ["not json"] * 3 if self._behaviour == "user_error" else ['{"text": "Thanks, that is all I needed."}']
        model = self.get_model_adapter(USER_MODEL, register_name="user_simulator", script=script, priced=True)
        return LLMUser(name="customer", model=model, user_profile={"tier": "gold"},
                       scenario="A customer asks about refunds.", initial_query=task.query, max_turns=2)

    def setup_agents(self, agent_data, environment, task, user, seed_generator):
        b = self._behaviour
        orchestrator_model = self.get_model_adapter(ORCHESTRATOR_MODEL, register_name="orchestrator_model",
                                                    script=_orchestrator_script(task.id, b), priced=True)
        researcher_model = self.get_model_adapter(RESEARCHER_MODEL, register_name="researcher_model",
                                                  script=_researcher_script(task.id, b))
        researcher = DeskAgentAdapter(
            DeskAgent("researcher", researcher_model, {"search_docs": environment.get_tool("search_docs")},
                      "You search the policy documents."), "researcher", callbacks=[self.tracer])
        ask = DeskTool("ask_researcher", ["question"], lambda question: researcher.run(question), timed=False)
        self.register("tools", "ask_researcher", ask)
        tools = {"lookup_order": environment.get_tool("lookup_order"), "ask_researcher": ask,
                 "create_ticket": environment.get_tool("create_ticket")}
        orchestrator = DeskAgentAdapter(
            DeskAgent("orchestrator", orchestrator_model, tools, "You answer customers about their orders.",
                      sleep_s=TIMEOUT_S * 1.5 if b == "timeout" else 0.0),
            "orchestrator", callbacks=[self.tracer])
        return [orchestrator], {"orchestrator": orchestrator, "researcher": researcher}

    def setup_evaluators(self, environment, task, agents, user, seed_generator):
        b = self._behaviour
        reply = ('{"verdict": "fine"}' if b == "evaluation_failed"
                 else json.dumps({"score": JUDGE_SCORE.get(b, 1.0), "reasoning": f"behaviour {b}"}))
        judge = self.get_model_adapter(JUDGE_MODEL, register_name="judge_model", script=[_say(reply)],
                                       provider_cost=JUDGE_COST_PER_CALL)
        return [AnswerMatchEvaluator(task, environment), JudgeEvaluator(task, environment, judge)]

    def get_model_adapter(self, model_id: str, **kwargs: Any) -> ModelAdapter:
        script = [_say(s) if isinstance(s, str) else s for s in kwargs["script"]]
        calculator = StaticPricingCalculator(dict(PRICES)) if kwargs.get("priced") else None
        adapter = ScriptedModel(model_id, script, provider_cost=kwargs.get("provider_cost"),
                                cost_calculator=calculator)
        self.register("models", kwargs["register_name"], adapter)
        return adapter

    # -- run and evaluate
    def run_agents(self, agents, task, environment, query):
        return agents[0].run(query)

    def evaluate(self, evaluators, agents, final_answer, traces):
        return [ev(ev.filter_traces(traces), final_answer) for ev in evaluators]


def _orchestrator_script(task_id: str, behaviour: str) -> list:
    tag = f"{task_id}-{behaviour}"
    if behaviour == "agent_error":
        return [_call("lookup_order", {"order": "A-17"}, f"{tag}-lookup")]  # no order_id: rejected
    script: list = [_call("lookup_order", {"order_id": "A-17"}, f"{tag}-lookup")]
    if behaviour == "model_error":
        return script + [ConnectionError("503 Service Unavailable from upstream")]
    script.append(_call("ask_researcher", {"question": "What is the refund window?"}, f"{tag}-ask"))
    if behaviour != "environment_error":
        script.append(_call("create_ticket", {"order_id": "A-17", "note": "refund asked"}, f"{tag}-ticket"))
        script.append(_say(WRONG if behaviour == "wrong" else GOLD))
    return script


def _researcher_script(task_id: str, behaviour: str) -> list:
    if behaviour in ("agent_error", "model_error"):
        return []
    script = [_call("search_docs", {"query": "refund window"}, f"{task_id}-{behaviour}-search")]
    return script + ([] if behaviour == "environment_error" else [_say("Policy 4.2: within 30 days.")])


def make_tasks() -> List[Task]:
    """One Task per scenario; the timeout task carries its deadline in its protocol."""
    return [Task(query=f"[{tid}] Can I still return order A-17?", id=tid, environment_data={"region": "eu"},
                 evaluation_data={"gold": GOLD}, metadata={"scenario": list(SCENARIOS[tid])},
                 protocol=TaskProtocol(timeout_seconds=TIMEOUT_S if "timeout" in SCENARIOS[tid] else None))
            for tid in SCENARIOS]


# --------------------------------------------------------------------------- running and the truth

@dataclass
class MasevalRun:
    """What the run wrote and what it was given.

    ``lines`` are the JSONL records as written (parsed); ``reports`` are ``benchmark.reports``
    round-tripped through JSON as FileResultLogger serialises them; ``behaviour`` maps
    ``(task_id, repeat)`` to the scenario that produced it.
    """

    results_dir: Path
    jsonl: Path
    meta_json: Path
    conversations_json: Path
    lines: List[dict]
    reports: List[dict]
    conversations: List[dict]
    behaviour: Dict[Tuple[str, int], str] = field(default_factory=dict)

    def line(self, task_id: str, repeat: int) -> dict:
        return next(r for r in self.lines if r["task_id"] == task_id and r["repeat_idx"] == repeat)

    def verdict(self, task_id: str, repeat: int) -> Optional[bool]:
        """The evaluation's verdict (None when no evaluation ran)."""
        return VERDICT.get(self.behaviour[(task_id, repeat)]) if self.line(task_id, repeat)["eval"] else None


def write_run(directory: Path) -> MasevalRun:
    """Run :class:`DeskBenchmark` on :func:`make_tasks` and return what it wrote."""
    directory = Path(directory)
    results = directory / "results"
    logger = FileResultLogger(output_dir=results)
    benchmark = DeskBenchmark(callbacks=[logger])
    benchmark.run(make_tasks(), agent_data={"desk": "v1"})
    (jsonl,) = results.glob("benchmark_*.jsonl")
    conversations = directory / "conversations.json"
    conversations.write_text(json.dumps(benchmark.tracer.get_all_conversations(), default=str, indent=2),
                             encoding="utf-8")
    lines = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    behaviour = {(tid, r): SCENARIOS[tid][r] for tid in SCENARIOS for r in range(REPEATS)}
    run = MasevalRun(results, jsonl, jsonl.with_suffix(".meta.json"), conversations, lines,
                     json.loads(json.dumps(benchmark.reports, default=str)),
                     json.loads(conversations.read_text(encoding="utf-8")), behaviour)
    _check_statuses(run)
    return run


def _check_statuses(run: MasevalRun) -> None:
    """Fail loudly if MASEval gave a repeat another status than its scenario provokes (a slow
    machine could time out a task that should not): the truth would be wrong otherwise."""
    wrong = [(r["task_id"], r["repeat_idx"], r["status"]) for r in run.lines
             if r["status"] != STATUS[run.behaviour[(r["task_id"], r["repeat_idx"])]]]
    if wrong:
        raise AssertionError(f"MASEval gave unexpected statuses: {wrong}")


# --------------------------------------------------------------------------- where the writer put things

def model_calls(record: dict) -> Iterator[Tuple[str, dict]]:
    """(component, call log) for every model call in a record: ``traces.models.<name>.logs``."""
    for name, model in ((record.get("traces") or {}).get("models") or {}).items():
        for log in model.get("logs", []):
            yield name, log


def tool_invocations(record: dict) -> Iterator[Tuple[str, str, dict]]:
    """(where, tool name, invocation) for every tool invocation in a record, wherever MASEval
    puts it: ``traces.tools.<name>.invocations`` (registered by hand) and
    ``traces.environment.tools.<name>.invocations`` (the environment's tools)."""
    traces = record.get("traces") or {}
    for name, tool in (traces.get("tools") or {}).items():
        for inv in tool.get("invocations", []):
            yield f"traces.tools.{name}", name, inv
    for name, tool in ((traces.get("environment") or {}).get("tools") or {}).items():
        for inv in tool.get("invocations", []):
            yield f"traces.environment.tools.{name}", name, inv


def messages(record: dict) -> Iterator[Tuple[str, dict]]:
    """(owner, message) for every message in a record: each agent's and the user simulator's."""
    traces = record.get("traces") or {}
    for name, agent in (traces.get("agents") or {}).items():
        for msg in agent.get("messages", []):
            yield name, msg
    for msg in (traces.get("user") or {}).get("messages", []):
        yield "user", msg


def agent_steps(record: dict) -> Iterator[Tuple[str, dict]]:
    """(agent, step log) for every agent step: ``traces.agents.<name>.logs``."""
    for name, agent in ((record.get("traces") or {}).get("agents") or {}).items():
        for step in agent.get("logs", []):
            yield name, step


def user_turns(record: dict) -> List[dict]:
    """The user simulator's timed turns: ``traces.user.logs``."""
    return list(((record.get("traces") or {}).get("user") or {}).get("logs", []))


def usage_components(record: dict) -> Iterator[Tuple[str, dict]]:
    """(category:name, usage dict) for every component in ``usage``."""
    for category, group in (record.get("usage") or {}).items():
        if category == "metadata" or not isinstance(group, dict):
            continue
        if "cost" in group:
            yield category, group
        else:
            for name, usage in group.items():
                yield f"{category}:{name}", usage
