"""Span exports written by real instrumentation, offline: the fixtures of the trace loaders.

Every span here is recorded by an instrumented framework running scripted agents, never typed
by hand:

- :func:`record_pydantic_ai`: pydantic-ai agents on ``FunctionModel`` scripts (parallel tool
  calls, a tool that asks for a retry, a tool that raises and fails the run, an agent that
  delegates to a second agent, cache and reasoning tokens), instrumented by pydantic-ai's own
  ``Instrumentation`` capability on an OpenTelemetry SDK ``TracerProvider`` with an in-memory
  exporter. ``openinference=True`` adds OpenInference's pydantic-ai span processor, which writes
  the OpenInference attributes (``openinference.span.kind``, ``llm.token_count.*``, ...) on the
  same spans; ``aggregated_usage=False`` makes agent spans repeat their children's usage under
  the standard ``gen_ai.usage.*`` names (the case "usage counted once" is about).
- :func:`record_logfire`: the same agents instrumented through ``logfire.instrument_pydantic_ai``
  with ``logfire.configure(send_to_logfire=False)``, plus manual ``logfire.span``/``info`` calls,
  captured by an additional in-memory span processor.
- :func:`record_massgen`: a two-agent MassGen coordination session traced by MassGen's own
  tracing module (``massgen/structured_logging.py``, over logfire) where MassGen's source is on
  this machine (an installed ``massgen``, ``$AK_MASSGEN_SITE``, or /tmp/mgvenv); elsewhere by
  :class:`_MassGenMirror`, a line-by-line copy of the helpers this scenario calls (their span
  names, message templates and attributes, massgen 0.1.97). The spans MassGen's orchestrator,
  MCP client and backends open themselves (``agent.<id>.round_<n>``, ``mcp_tool.<name>``,
  ``mcp.<server>.<tool>``) are opened here with the names and attributes those files set.
  ``test_massgen_mirror_matches_massgen`` checks the mirror against MassGen where both exist.

Serializers turn the recorded ``ReadableSpan``s into the files users have:

- :func:`write_collector_jsonl`: what the OpenTelemetry Collector's ``file`` exporter writes:
  one ``ExportTraceServiceRequest`` per line in OTLP/JSON (lowerCamelCase keys, trace and span
  ids as hex, enums as integers, 64-bit integers as strings, empty fields left out). The spans
  go through the SDK's own OTLP encoder (``opentelemetry.exporter.otlp.proto.common``) to
  protobuf, then ``MessageToDict(use_integers_for_enums=True)`` with the ids turned from the
  protobuf mapping's base64 to hex, as the OTLP/JSON spec requires.
- :func:`write_protobuf_json`: the plain protobuf JSON mapping (``MessageToJson``): one
  indented document, base64 ids, enum names (``SPAN_KIND_INTERNAL``, ``STATUS_CODE_ERROR``).
- :func:`write_logfire_records`: rows of Logfire's ``records`` table as its query API returns
  them (``query_json_rows``: ``{"columns": [...], "rows": [...]}``; or CSV; or the Arrow table
  saved as Parquet). Logfire's backend is not public; the row is derived from the exported span
  as Logfire's SQL reference describes each column: ``logfire.msg`` becomes ``message`` and
  ``logfire.level_num`` ``level`` (neither kept in ``attributes``), ``logfire.span_type``
  ``kind``, the first ``exception`` event ``is_exception``/``exception_*``, ``duration`` in
  seconds (null for logs), ids as hex, and attribute values that ``logfire.json_schema`` says
  are objects or arrays decoded to JSON.

The ground truth of every assertion is :attr:`Recording.spans`, what the SDK recorded.
Recordings are cached per process (``functools.cache``): a test session records each once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import functools
import importlib.util
import io
import json
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

# Scripted runs: prompts, models and tokens the tests assert against.
LEAD_MODEL = "lead-fn"
HELPER_MODEL = "helper-fn"
SUMMARY_MODEL = "summary-fn"
CRASH_MESSAGE = "weather service unreachable"
RETRY_MESSAGE = "x must be even, try again"
MASSGEN_MODEL = "gpt-4o-mini"
MASSGEN_SITE_DEFAULT = "/tmp/mgvenv/lib/python3.11/site-packages"

# A span of the SDK or a scripted pause: seconds per "unit" of scripted latency. Small in
# tests (the shape is what matters), larger for the committed sample so waterfalls read well.
DEFAULT_UNIT_S = 0.002


# ----------------------------------------------------------------------------- recordings


@dataclass(frozen=True)
class Recording:
    """Spans an instrumented run recorded, in the order they ended, with tree helpers."""

    spans: tuple[ReadableSpan, ...]
    source: str

    def by_id(self) -> dict[int, ReadableSpan]:
        return {s.context.span_id: s for s in self.spans}

    def trace_ids(self) -> list[str]:
        """Hex trace ids, in the order their first span ended."""
        return list(dict.fromkeys(hex_trace_id(s.context.trace_id) for s in self.spans))

    def depth(self, span: ReadableSpan) -> int:
        """0 for a root span, 1 for its children, ..."""
        index, depth = self.by_id(), 0
        while span.parent is not None and span.parent.span_id in index:
            span, depth = index[span.parent.span_id], depth + 1
        return depth

    def where(self, **attributes: Any) -> list[ReadableSpan]:
        """Spans whose attributes hold every given key=value (dots as ``__``)."""
        want = {k.replace("__", "."): v for k, v in attributes.items()}
        return [s for s in self.spans if all((s.attributes or {}).get(k) == v for k, v in want.items())]

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]


def hex_trace_id(trace_id: int) -> str:
    return f"{trace_id:032x}"


def hex_span_id(span_id: int) -> str:
    return f"{span_id:016x}"


def _provider(*processors, service: str) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    for processor in processors:
        provider.add_span_processor(processor)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


# ----------------------------------------------------------------------------- pydantic-ai


def _pydantic_ai_agents(make_agent: Callable[[Any, str], Any], unit_s: float) -> dict[str, Any]:
    """The scripted agents: ``lead`` (tools, a retry, delegation to ``helper``), ``crasher``
    (a tool that raises, failing the run) and ``summarizer`` (no tools; reasoning and cache
    tokens). ``make_agent(model, name)`` builds an Agent with the instrumentation under test."""
    from pydantic_ai import ModelRetry
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
    from pydantic_ai.models.function import FunctionModel
    from pydantic_ai.usage import RequestUsage

    async def pause(units: float) -> None:
        await asyncio.sleep(units * unit_s)

    async def helper_model(messages, info):
        await pause(4)
        return ModelResponse(parts=[TextPart("Paris is sunny, 24 C; Rome is cloudy.")],
                             usage=RequestUsage(input_tokens=42, output_tokens=12))

    helper = make_agent(FunctionModel(helper_model, model_name=HELPER_MODEL), "helper")

    async def lead_model(messages, info):
        await pause(6)
        step = len(messages)  # request, response, request, ... : 1, 3, 5, 7
        if step == 1:
            return ModelResponse(parts=[ToolCallPart("get_weather", {"city": "Paris"}, tool_call_id="call_weather"),
                                        ToolCallPart("pick_number", {"x": 3}, tool_call_id="call_pick_1")],
                                 usage=RequestUsage(input_tokens=120, output_tokens=24, cache_read_tokens=80))
        if step == 3:
            return ModelResponse(parts=[ToolCallPart("pick_number", {"x": 4}, tool_call_id="call_pick_2")],
                                 usage=RequestUsage(input_tokens=180, output_tokens=9, cache_read_tokens=120))
        if step == 5:
            return ModelResponse(parts=[ToolCallPart("ask_helper", {"question": "Compare Paris and Rome"},
                                                     tool_call_id="call_helper")],
                                 usage=RequestUsage(input_tokens=210, output_tokens=15))
        return ModelResponse(parts=[TextPart("Paris: sunny. Picked 4. <b>Rome</b> cloudy.")],
                             usage=RequestUsage(input_tokens=260, output_tokens=18,
                                                details={"reasoning_tokens": 7}))

    lead = make_agent(FunctionModel(lead_model, model_name=LEAD_MODEL), "lead")

    @lead.tool_plain
    async def get_weather(city: str) -> str:
        await pause(3)
        return f"sunny in {city}, 24 C"

    @lead.tool_plain
    async def pick_number(x: int) -> str:
        await pause(1)
        if x % 2:
            raise ModelRetry(RETRY_MESSAGE)
        return f"picked {x}"

    @lead.tool_plain
    async def ask_helper(question: str) -> str:
        result = await helper.run(question)
        return result.output

    async def crash_model(messages, info):
        await pause(5)
        return ModelResponse(parts=[ToolCallPart("get_forecast", {"city": "Oslo"}, tool_call_id="call_forecast")],
                             usage=RequestUsage(input_tokens=90, output_tokens=11))

    crasher = make_agent(FunctionModel(crash_model, model_name=LEAD_MODEL), "forecaster")

    @crasher.tool_plain
    async def get_forecast(city: str) -> str:
        await pause(2)
        raise ConnectionError(CRASH_MESSAGE)

    async def summary_model(messages, info):
        await pause(8)
        return ModelResponse(parts=[TextPart("Summary: three cities, two sunny. <script>alert('x')</script>")],
                             usage=RequestUsage(input_tokens=300, output_tokens=40, cache_write_tokens=64,
                                                details={"reasoning_tokens": 25}))

    summarizer = make_agent(FunctionModel(summary_model, model_name=SUMMARY_MODEL), "summarizer")
    return {"lead": lead, "helper": helper, "crasher": crasher, "summarizer": summarizer}


async def _run_pydantic_ai_scenarios(agents: dict[str, Any]) -> None:
    """Three traces: lead (delegating), forecaster (fails), summarizer."""
    await agents["lead"].run("What is the weather in Paris, and pick an even number?")
    with contextlib.suppress(ConnectionError):
        await agents["crasher"].run("Forecast for Oslo?")
    await agents["summarizer"].run("Summarize the weather reports.")


@functools.cache
def record_pydantic_ai(*, aggregated_usage: bool = True, openinference: bool = False,
                       unit_s: float = DEFAULT_UNIT_S) -> Recording:
    """pydantic-ai's own instrumentation on the OpenTelemetry SDK (see the module docstring).

    >>> rec = record_pydantic_ai()                                   # doctest: +SKIP
    >>> {s.name for s in rec.spans} >= {"invoke_agent lead", "chat lead-fn"}   # doctest: +SKIP
    True
    """
    from pydantic_ai import Agent
    from pydantic_ai.capabilities.instrumentation import Instrumentation
    from pydantic_ai.models.instrumented import InstrumentationSettings

    processors = []
    if openinference:
        from openinference.instrumentation.pydantic_ai import OpenInferenceSpanProcessor

        processors.append(OpenInferenceSpanProcessor())
    provider, exporter = _provider(*processors, service="weather-agents")
    settings = InstrumentationSettings(tracer_provider=provider,
                                       use_aggregated_usage_attribute_names=aggregated_usage)

    def make_agent(model, name):
        return Agent(model, name=name, capabilities=[Instrumentation(settings=settings)])

    asyncio.run(_run_pydantic_ai_scenarios(_pydantic_ai_agents(make_agent, unit_s)))
    provider.shutdown()
    source = "pydantic_ai+openinference" if openinference else "pydantic_ai"
    return Recording(tuple(exporter.get_finished_spans()), source)


# ----------------------------------------------------------------------------- logfire


@contextlib.contextmanager
def _logfire_capture(**configure: Any) -> Iterator[InMemorySpanExporter]:
    """``logfire.configure(send_to_logfire=False)`` with an in-memory exporter added as an
    additional span processor; logfire is reconfigured without it afterwards."""
    import logfire

    exporter = InMemorySpanExporter()
    options = dict(send_to_logfire=False, console=False, inspect_arguments=False, metrics=False)
    options.update(configure)
    logfire.configure(additional_span_processors=[SimpleSpanProcessor(exporter)], **options)
    try:
        yield exporter
    finally:
        logfire.force_flush()
        logfire.configure(send_to_logfire=False, console=False, inspect_arguments=False, metrics=False)


@functools.cache
def record_logfire(*, unit_s: float = DEFAULT_UNIT_S) -> Recording:
    """The pydantic-ai scenarios through ``logfire.instrument_pydantic_ai`` inside a manual
    ``logfire.span`` per batch, with a ``logfire.info`` log and a failing manual span."""
    import logfire
    from pydantic_ai import Agent

    with _logfire_capture(service_name="weather-agents-logfire") as exporter:
        def make_agent(model, name):
            agent = Agent(model, name=name)
            logfire.instrument_pydantic_ai(agent)
            return agent

        agents = _pydantic_ai_agents(make_agent, unit_s)

        async def scenario():
            with logfire.span("weather batch {batch}", batch=1):
                logfire.info("starting {n} agents", n=3)
                await _run_pydantic_ai_scenarios(agents)
                with contextlib.suppress(KeyError):
                    with logfire.span("cache lookup {key}", key="oslo"):
                        await asyncio.sleep(unit_s)
                        raise KeyError("oslo")

        asyncio.run(scenario())
        spans = tuple(exporter.get_finished_spans())
    return Recording(spans, "logfire")


# ----------------------------------------------------------------------------- MassGen


def massgen_structured_logging() -> types.ModuleType | None:
    """MassGen's own ``massgen.structured_logging`` module, or None where MassGen's source is
    not on this machine. It is loaded from its file without running ``massgen/__init__.py``
    (which imports every backend SDK); MassGen's ``loguru`` logger is stubbed if loguru is not
    installed (the module logs debug text through it, nothing the traces depend on)."""
    site = _massgen_site()
    if site is None:
        return None
    module = sys.modules.get("_ak_massgen_structured_logging")
    if module is not None:
        return module
    stubs = {}
    try:
        import loguru  # noqa: F401
    except ImportError:
        stubs["loguru"] = types.SimpleNamespace(logger=_SilentLogger())
    utils = _load_file("massgen.structured_logging_utils", site / "massgen" / "structured_logging_utils.py")
    with _temporary_modules({**stubs, "massgen.structured_logging_utils": utils}):
        module = _load_file("_ak_massgen_structured_logging", site / "massgen" / "structured_logging.py")
    module._ak_utils = utils
    sys.modules["_ak_massgen_structured_logging"] = module
    return module


def _massgen_site() -> Path | None:
    candidates = [os.environ.get("AK_MASSGEN_SITE")]
    spec = importlib.util.find_spec("massgen") if "massgen" not in sys.modules else None
    if spec and spec.submodule_search_locations:
        candidates.append(str(Path(list(spec.submodule_search_locations)[0]).parent))
    candidates.append(MASSGEN_SITE_DEFAULT)
    for candidate in candidates:
        if candidate and (Path(candidate) / "massgen" / "structured_logging.py").is_file():
            return Path(candidate)
    return None


def _load_file(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _temporary_modules(modules: dict[str, Any]) -> Iterator[None]:
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old


class _SilentLogger:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


class _MassGenMirror:
    """The helpers of massgen/structured_logging.py (0.1.97) this scenario calls, copied with
    their span names, message templates and attributes, for machines without MassGen."""

    def __init__(self) -> None:
        import logfire

        self._logfire = logfire
        self._round: tuple[int | None, str | None] = (None, None)

    def configure_observability(self, *, enabled: bool, service_name: str = "massgen",
                                send_to_logfire: bool = True, console_enabled: bool = False,
                                scrub_sensitive_data: bool = True, **_: Any) -> bool:
        lf = self._logfire
        lf.configure(service_name=service_name, service_version="0.1.97", environment="development",
                     send_to_logfire=send_to_logfire, console=False,
                     scrubbing=lf.ScrubbingOptions(extra_patterns=["api_key", "api_secret", "password",
                                                                   "token", "secret"])
                     if scrub_sensitive_data else False)
        return True

    @contextlib.contextmanager
    def _span(self, name: str, attributes: dict[str, Any] | None = None):
        with self._logfire.span(name, **(attributes or {})) as span:
            try:
                yield span
            except Exception as exc:
                span.record_exception(exc)
                raise

    def get_tracer(self):
        return types.SimpleNamespace(span=self._span)

    def set_current_round(self, round_number: int, round_type: str) -> None:
        self._round = (round_number, round_type)

    def get_current_round(self):
        return self._round

    def trace_coordination_session(self, task: str, num_agents: int, agent_ids=None, log_path=None):
        attributes = {"massgen.task": task[:500] if task else "", "massgen.num_agents": num_agents}
        if agent_ids:
            attributes["massgen.agent_ids"] = ",".join(agent_ids)
        if log_path:
            attributes["massgen.log_path"] = log_path
        return self._span("coordination.session", attributes)

    def trace_llm_api_call(self, agent_id: str, provider: str, model: str, operation: str = "create"):
        attributes = {"massgen.agent_id": agent_id, "llm.provider": provider, "llm.model": model,
                      "llm.operation": operation, "gen_ai.system": provider, "gen_ai.request.model": model}
        return self._span(f"llm.{provider}.{operation}", attributes)

    def log_coordination_event(self, event_type: str, agent_id=None, details=None):
        self._logfire.info(f"Coordination event: {event_type}", event_type=event_type, agent_id=agent_id,
                           **(details or {}))

    def log_tool_execution(self, agent_id, tool_name, tool_type, execution_time_ms, success, input_chars=0,
                           output_chars=0, error_message=None, server_name=None, arguments_preview=None,
                           output_preview=None, round_number=None, round_type=None, error_context=None):
        log = self._logfire.info if success else self._logfire.warn
        if round_number is None or round_type is None:
            round_number = self._round[0] if round_number is None else round_number
            round_type = self._round[1] if round_type is None else round_type
        log(f"Tool execution: {tool_name}", agent_id=agent_id, tool_name=tool_name, tool_type=tool_type,
            execution_time_ms=round(execution_time_ms, 2), success=success, input_chars=input_chars,
            output_chars=output_chars, error_message=error_message, server_name=server_name,
            arguments_preview=arguments_preview[:200] if arguments_preview else None,
            output_preview=output_preview[:200] if output_preview else None,
            round_number=round_number, round_type=round_type)

    def log_agent_answer(self, agent_id, answer_label, iteration, round_number, answer_preview=None,
                         answer_path=None):
        self._logfire.info(f"Agent answer: {answer_label}", event_type="new_answer", agent_id=agent_id,
                           answer_label=answer_label, iteration=iteration, round=round_number,
                           answer_preview=answer_preview[:200] if answer_preview else None)

    def log_agent_vote(self, agent_id, voted_for_label, iteration, round_number, reason=None,
                       available_answers=None, agents_with_answers=None, answer_label_mapping=None):
        self._logfire.info(f"Agent vote: {agent_id} -> {voted_for_label}", event_type="vote_cast",
                           agent_id=agent_id, voted_for_label=voted_for_label, iteration=iteration,
                           round=round_number, reason=reason,
                           available_answers=",".join(available_answers) if available_answers else None,
                           **{"massgen.vote.reason": reason,
                              "massgen.vote.agents_with_answers": agents_with_answers,
                              "massgen.vote.answer_label_mapping": answer_label_mapping})

    def log_winner_selected(self, winner_agent_id, winner_label, vote_counts=None, total_iterations=0):
        self._logfire.info(f"Winner selected: {winner_label}", event_type="winner_selected",
                           winner_agent_id=winner_agent_id, winner_label=winner_label,
                           vote_counts=vote_counts, total_iterations=total_iterations)

    def log_final_answer(self, agent_id, iteration, answer_preview=None):
        self._logfire.info(f"Final answer from {agent_id}", event_type="final_answer", agent_id=agent_id,
                           iteration=iteration, answer_preview=answer_preview[:200] if answer_preview else None)


def _massgen_session(mg: Any, unit_s: float) -> None:
    """One coordination session: two agents answer (agent_a's MCP write is slow), agent_a
    votes after a failed MCP read, agent_b's first voting round fails with an API error and its
    second votes, agent_b presents. Round spans carry what the orchestrator sets on them."""
    import time

    tracer = mg.get_tracer()

    def pause(units: float) -> None:
        time.sleep(units * unit_s)

    def round_span(agent: str, n: int, round_type: str, answers: int):
        return tracer.span(f"agent.{agent}.round_{n}", attributes={
            "massgen.agent_id": agent, "massgen.iteration": n + 1, "massgen.round": n,
            "massgen.round_type": round_type, "massgen.backend": "openai",
            "massgen.num_context_answers": answers})

    def usage(span, input_tokens: int, output_tokens: int, reasoning: int, cached: int, cost: float):
        for key, value in (("input", input_tokens), ("output", output_tokens), ("reasoning", reasoning),
                           ("cached_input", cached), ("cost", round(cost, 6))):
            span.set_attribute(f"massgen.usage.{key}", value)

    def mcp_call(agent: str, n: int, round_type: str, server: str, tool: str, units: float,
                 fail: str | None = None) -> None:
        name = f"mcp__{server}__{tool}"
        base = {"tool.name": name, "tool.type": "mcp", "massgen.agent_id": agent, "massgen.round": n,
                "massgen.round_type": round_type}
        started = time.perf_counter()
        try:
            with tracer.span(f"mcp_tool.{name}", attributes=base):
                with tracer.span(f"mcp.{server}.{tool}", attributes={
                        **base, "mcp.server": server, "mcp.tool": tool,
                        "tool.input_preview": json.dumps({"path": "notes.md"}), "tool.input_chars": 20}) as span:
                    pause(units)
                    if fail:
                        raise RuntimeError(fail)
                    span.set_attribute("tool.success", True)
                    span.set_attribute("tool.output_preview", "ok")
                    span.set_attribute("tool.output_chars", 2)
        except RuntimeError as exc:
            error = str(exc)
        else:
            error = None
        mg.log_tool_execution(agent_id=agent, tool_name=name, tool_type="mcp",
                              execution_time_ms=(time.perf_counter() - started) * 1000, success=error is None,
                              input_chars=20, output_chars=0 if error else 2, error_message=error,
                              arguments_preview='{"path": "notes.md"}', round_number=n, round_type=round_type)

    def llm(agent: str, units: float, fail: str | None = None) -> None:
        with mg.trace_llm_api_call(agent_id=agent, provider="openai", model=MASSGEN_MODEL, operation="stream"):
            pause(units)
            if fail:
                raise ConnectionError(fail)

    with mg.trace_coordination_session(task="Write a haiku about <b>tracing</b>", num_agents=2,
                                       agent_ids=["agent_a", "agent_b"],
                                       log_path=".massgen/massgen_logs/log_20260101_120000"):
        mg.log_coordination_event("coordination_started", details={"num_agents": 2})
        for agent, label, slow in (("agent_a", "agent1.1", 12), ("agent_b", "agent2.1", 3)):
            with round_span(agent, 0, "initial_answer", 0) as span:
                mg.set_current_round(0, "initial_answer")
                llm(agent, 5)
                mcp_call(agent, 0, "initial_answer", "filesystem", "write_file", slow)
                llm(agent, 2)
                span.set_attribute("massgen.outcome", "answer")
                span.set_attribute("massgen.answer_label", label)
                usage(span, 1200, 300, 40, 200, 0.0012)
            mg.log_agent_answer(agent_id=agent, answer_label=label, iteration=1, round_number=0,
                                answer_preview=f"haiku by {agent}")
        with round_span("agent_a", 1, "voting", 2) as span:
            mg.set_current_round(1, "voting")
            mcp_call("agent_a", 1, "voting", "filesystem", "read_file", 2, fail="Server 'filesystem' not connected")
            llm("agent_a", 4)
            span.set_attribute("massgen.outcome", "vote")
            span.set_attribute("massgen.voted_for", "agent_b")
            span.set_attribute("massgen.voted_for_label", "agent2.1")
            usage(span, 2000, 80, 10, 1500, 0.0009)
        mg.log_agent_vote(agent_id="agent_a", voted_for_label="agent2.1", iteration=2, round_number=1,
                          reason="More vivid imagery", available_answers=["agent1.1", "agent2.1"])
        with round_span("agent_b", 1, "voting", 2) as span:
            mg.set_current_round(1, "voting")
            try:
                llm("agent_b", 1, fail="peer closed connection")
            except ConnectionError as exc:  # the orchestrator catches it and marks the round
                span.set_attribute("massgen.outcome", "error")
                span.set_attribute("massgen.error_message", str(exc))
            usage(span, 900, 0, 0, 0, 0.0002)
        with round_span("agent_b", 2, "voting", 2) as span:
            mg.set_current_round(2, "voting")
            llm("agent_b", 3)
            span.set_attribute("massgen.outcome", "vote")
            span.set_attribute("massgen.voted_for", "agent_b")
            span.set_attribute("massgen.voted_for_label", "agent2.1")
            usage(span, 2100, 60, 0, 1800, 0.0008)
        mg.log_agent_vote(agent_id="agent_b", voted_for_label="agent2.1", iteration=3, round_number=2,
                          reason="Own answer still best", available_answers=["agent1.1", "agent2.1"])
        mg.log_winner_selected(winner_agent_id="agent_b", winner_label="agent2.1",
                               vote_counts={"agent2.1": 2}, total_iterations=3)
        with tracer.span("agent.agent_b.presentation", attributes={
                "massgen.agent_id": "agent_b", "massgen.iteration": 4, "massgen.round": 3,
                "massgen.round_type": "presentation", "massgen.backend": "openai",
                "massgen.is_winner": True, "massgen.vote_count": 2}) as span:
            mg.set_current_round(3, "presentation")
            llm("agent_b", 6)
            mg.log_final_answer(agent_id="agent_b", iteration=4, answer_preview="Spans fall like leaves")
            usage(span, 2500, 120, 0, 2000, 0.0011)


@functools.cache
def record_massgen(*, unit_s: float = DEFAULT_UNIT_S, use_massgen: bool | None = None) -> Recording:
    """The MassGen session of :func:`_massgen_session`, traced by MassGen's own module where
    available (``use_massgen=None``: if found; True: required; False: the mirror)."""
    import logfire

    module = massgen_structured_logging() if use_massgen is not False else None
    if use_massgen and module is None:
        raise RuntimeError("MassGen's source is not on this machine (set AK_MASSGEN_SITE)")
    mg = module if module is not None else _MassGenMirror()
    exporter = InMemorySpanExporter()
    real_configure = logfire.configure

    def configure(**options):  # MassGen's own configure call, with our exporter added
        options.setdefault("additional_span_processors", [SimpleSpanProcessor(exporter)])
        options.setdefault("inspect_arguments", False)
        options.setdefault("metrics", False)
        return real_configure(**options)

    logfire.configure = configure
    try:
        utils = {"massgen.structured_logging_utils": module._ak_utils} if module is not None else {}
        with _temporary_modules(utils):
            mg.configure_observability(enabled=True, service_name="massgen", send_to_logfire=False,
                                       console_enabled=False, scrub_sensitive_data=True)
            _massgen_session(mg, unit_s)
    finally:
        logfire.configure = real_configure
        logfire.force_flush()
        logfire.configure(send_to_logfire=False, console=False, inspect_arguments=False, metrics=False)
    if module is not None:
        module._logfire_enabled = False
    return Recording(tuple(exporter.get_finished_spans()), "massgen" if module is not None else "massgen-mirror")


# ----------------------------------------------------------------------------- OTLP files


def otlp_request(spans: Sequence[ReadableSpan]):
    """The ``ExportTraceServiceRequest`` the SDK's OTLP exporters send for ``spans``."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return encode_spans(list(spans))


def _hex_ids(node: Any) -> Any:
    """OTLP/JSON ids: the protobuf mapping's base64 bytes as lower-case hex."""
    if isinstance(node, dict):
        return {k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str)
                    else _hex_ids(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def _without_attributes(node: Any, drop: tuple[str, ...]) -> Any:
    """The document with span attributes whose key starts with one of ``drop`` removed."""
    for resource_spans in node.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                span["attributes"] = [a for a in span.get("attributes", []) if not a["key"].startswith(drop)]
    return node


def collector_line(spans: Sequence[ReadableSpan], *, drop_attributes: tuple[str, ...] = ()) -> str:
    """One line of the Collector's file exporter: an ExportTraceServiceRequest in OTLP/JSON.
    ``drop_attributes``: key prefixes left out (e.g. ``("gen_ai.",)`` keeps only what the
    OpenInference processor wrote, to test that convention alone)."""
    from google.protobuf.json_format import MessageToDict

    document = _hex_ids(MessageToDict(otlp_request(spans), use_integers_for_enums=True))
    if drop_attributes:
        document = _without_attributes(document, drop_attributes)
    return json.dumps(document, separators=(",", ":"))


def _batches(spans: Sequence[ReadableSpan], batch_size: int | None) -> list[list[ReadableSpan]]:
    """Per trace (what a batch processor flushing per request would write), or fixed size."""
    if batch_size:
        return [list(spans[i:i + batch_size]) for i in range(0, len(spans), batch_size)]
    by_trace: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        by_trace.setdefault(span.context.trace_id, []).append(span)
    return list(by_trace.values())


def write_collector_jsonl(spans: Sequence[ReadableSpan], path: str | Path, *,
                          batch_size: int | None = None, drop_attributes: tuple[str, ...] = ()) -> Path:
    """The Collector's ``file`` exporter output: one ExportTraceServiceRequest per line."""
    path = Path(path)
    path.write_text("".join(collector_line(batch, drop_attributes=drop_attributes) + "\n"
                            for batch in _batches(spans, batch_size)))
    return path


def write_protobuf_json(spans: Sequence[ReadableSpan], path: str | Path) -> Path:
    """``MessageToJson`` of one request holding every span: base64 ids, enum names, indented."""
    from google.protobuf.json_format import MessageToJson

    path = Path(path)
    path.write_text(MessageToJson(otlp_request(spans)))
    return path


# ----------------------------------------------------------------------------- Logfire records

RECORDS_COLUMNS = (
    "start_timestamp", "created_at", "trace_id", "span_id", "parent_span_id", "kind", "end_timestamp",
    "level", "span_name", "message", "attributes_json_schema", "attributes", "tags", "otel_links",
    "otel_events", "is_exception", "otel_status_code", "otel_status_message", "otel_scope_name",
    "otel_scope_version", "otel_scope_attributes", "service_namespace", "service_name", "service_version",
    "service_instance_id", "process_pid", "otel_resource_attributes", "duration", "exception_type",
    "exception_message", "exception_stacktrace", "deployment_environment",
)
_NOT_KEPT = ("logfire.msg", "logfire.level_num", "logfire.tags", "logfire.span_type", "logfire.json_schema")


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    import datetime as dt

    seconds, rest = divmod(ns, 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(seconds, dt.timezone.utc).replace(microsecond=rest // 1000)
    return stamp.isoformat().replace("+00:00", "Z")


def _decoded_attributes(attributes: dict[str, Any], schema_text: str | None) -> dict[str, Any]:
    """Attributes as the records table holds them: values that ``logfire.json_schema`` says
    are JSON-encoded objects, arrays or nulls decoded, tuples as lists."""
    schema = json.loads(schema_text).get("properties", {}) if schema_text else {}
    out = {}
    for key, value in attributes.items():
        if key in _NOT_KEPT:
            continue
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, str) and schema.get(key, {}).get("type") in ("object", "array", "null"):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        out[key] = value
    return out


def records_row(span: ReadableSpan) -> dict[str, Any] | None:
    """The ``records`` row of one exported span (None for a pending span, which ``records``
    leaves out)."""
    attributes = dict(span.attributes or {})
    kind = attributes.get("logfire.span_type", "span")
    if kind == "pending_span":
        return None
    error = span.status.status_code == StatusCode.ERROR
    exception = next((e for e in span.events if e.name == "exception"), None)
    resource = dict(span.resource.attributes)
    is_log = kind == "log"
    return {
        "start_timestamp": _iso(span.start_time), "created_at": _iso(span.end_time),
        "trace_id": hex_trace_id(span.context.trace_id), "span_id": hex_span_id(span.context.span_id),
        "parent_span_id": hex_span_id(span.parent.span_id) if span.parent else None,
        "kind": kind, "end_timestamp": _iso(span.end_time),
        "level": attributes.get("logfire.level_num", 17 if error else 9),
        "span_name": span.name, "message": attributes.get("logfire.msg", span.name),
        "attributes_json_schema": attributes.get("logfire.json_schema"),
        "attributes": _decoded_attributes(attributes, attributes.get("logfire.json_schema")),
        "tags": list(attributes.get("logfire.tags", ())) or None, "otel_links": [],
        "otel_events": [{"name": e.name, "timestamp": _iso(e.timestamp), "attributes": dict(e.attributes or {})}
                        for e in span.events],
        "is_exception": exception is not None,
        "otel_status_code": span.status.status_code.name, "otel_status_message": span.status.description,
        "otel_scope_name": span.instrumentation_scope.name if span.instrumentation_scope else None,
        "otel_scope_version": span.instrumentation_scope.version if span.instrumentation_scope else None,
        "otel_scope_attributes": {}, "service_namespace": resource.get("service.namespace"),
        "service_name": resource.get("service.name"), "service_version": resource.get("service.version"),
        "service_instance_id": resource.get("service.instance.id"), "process_pid": resource.get("process.pid"),
        "otel_resource_attributes": resource,
        "duration": None if is_log else (span.end_time - span.start_time) / 1e9,
        "exception_type": exception.attributes.get("exception.type") if exception else None,
        "exception_message": exception.attributes.get("exception.message") if exception else None,
        "exception_stacktrace": exception.attributes.get("exception.stacktrace") if exception else None,
        "deployment_environment": resource.get("deployment.environment.name", resource.get("deployment.environment")),
    }


def records_rows(spans: Iterable[ReadableSpan]) -> list[dict[str, Any]]:
    """``SELECT * FROM records`` over these spans, ordered by start_timestamp as the skill's
    queries do."""
    rows = [row for row in map(records_row, spans) if row is not None]
    return sorted(rows, key=lambda r: (r["start_timestamp"], r["span_id"]))


_JSON_COLUMNS = ("attributes", "tags", "otel_links", "otel_events", "otel_scope_attributes",
                 "otel_resource_attributes")


def write_logfire_records(spans: Iterable[ReadableSpan], path: str | Path, *, fmt: str | None = None) -> Path:
    """A ``records`` export: ``json`` (``query_json_rows``' ``{"columns", "rows"}``), ``jsonl``
    (one row per line), ``csv`` (``query_csv``: JSON columns as JSON text) or ``parquet``
    (``query_arrow``'s table saved with pyarrow: JSON columns as JSON text, timestamps as
    timestamp[us, UTC])."""
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".")
    rows = records_rows(spans)
    if fmt == "json":
        columns = [{"name": c, "datatype": "Utf8", "nullable": True} for c in RECORDS_COLUMNS]
        path.write_text(json.dumps({"columns": columns, "rows": rows}))
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=RECORDS_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (json.dumps(v) if k in _JSON_COLUMNS and v is not None else
                                 ("true" if v is True else "false" if v is False else v)) for k, v in row.items()})
        path.write_text(buffer.getvalue())
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = {c: [json.dumps(r[c]) if c in _JSON_COLUMNS and r[c] is not None else r[c] for r in rows]
                 for c in RECORDS_COLUMNS}
        arrays = {}
        for column, values in table.items():
            if column in ("start_timestamp", "end_timestamp", "created_at"):
                import pandas as pd

                arrays[column] = pa.array(pd.to_datetime(values, utc=True), type=pa.timestamp("us", tz="UTC"))
            else:
                arrays[column] = pa.array(values)
        pq.write_table(pa.table(arrays), path)
    else:
        raise ValueError(f"unknown records format {fmt!r}")
    return path


# ----------------------------------------------------------------------------- the sample

SAMPLE_NAME = "otlp"
SAMPLE_FILE = "weather_agents.jsonl"
SAMPLE_UNIT_S = 0.02  # scripted pauses long enough for waterfalls to read


def write_sample(directory: str | Path) -> Path:
    """The bundled trace sample: the pydantic-ai scenarios (SDK, OpenInference attributes
    too) and the MassGen session, as the Collector's file exporter writes them, in
    ``directory/otlp/``; listed in ``directory/samples.json``. Real instrumentation, so ids
    and times differ at each run; the kit ships a copy (``analysis_kit/samples/otlp.py`` says
    how to replace it)."""
    base = Path(directory)
    target = base / SAMPLE_NAME
    target.mkdir(parents=True, exist_ok=True)
    agents = record_pydantic_ai(openinference=True, unit_s=SAMPLE_UNIT_S)
    session = record_massgen(unit_s=SAMPLE_UNIT_S)
    path = target / SAMPLE_FILE
    lines = [collector_line(batch) for batch in _batches(agents.spans, None) + _batches(session.spans, None)]
    path.write_text("".join(line + "\n" for line in lines))
    index_file = base / "samples.json"
    index = json.loads(index_file.read_text()) if index_file.exists() else {}
    index[SAMPLE_NAME] = f"{SAMPLE_NAME}/{SAMPLE_FILE}"
    index_file.write_text(json.dumps(dict(sorted(index.items())), indent=2) + "\n")
    return path


if __name__ == "__main__":
    print(write_sample(sys.argv[1] if len(sys.argv) > 1 else "sample_logs"))
