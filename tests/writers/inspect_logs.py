"""Inspect AI logs written by inspect-ai itself, offline: test fixtures and the benchmark log.

A scripted `mockllm` model drives a ReAct agent with tools through a small task, so every
file here is what inspect-ai writes, never an imitation:

- `toolbox`: samples that cover what a loader must map. ``add`` calls a tool and submits the
  sum; ``flaky`` calls a tool that raises a `ToolError` (a tool-call error the agent sees),
  runs a command in the ``local`` sandbox inside a subtask, then submits; ``crash`` calls a tool
  that raises `RuntimeError` (the sample errors); ``loop`` calls tools until the task's
  ``message_limit`` stops it; ``think`` answers with reasoning plus text content, is urged to
  continue (its text carries HTML, ``<script>``, markdown, ANSI and a fake secret), then
  submits. Two scorers (``match`` first, then a numeric ``closeness``); an auto approver on
  every tool (approval events); the ``local`` sandbox. Epochs 2.
- `write_benchmark_log`: N samples of the same shape as ``add``, epochs 1, no sleeps.

Every model output carries an explicit `ModelUsage`, so inspect-ai never counts tokens with a
tokenizer (which would download one), and `offline_environment` points inspect-ai's data
and cache directories into the output folder and turns hub downloads off.

Run it in a subprocess (`python tests/writers/inspect_logs.py OUT_DIR`, see `main`) where
the environment can be set before inspect-ai is imported; importing inspect-ai also patches
the standard library's ``zipfile`` to read zstd, which must not leak into a test of a loader
that reads zstd on its own.

Example:
    >>> paths = generate(Path("/tmp/logs"))            # doctest: +SKIP
    >>> sorted(paths)                                  # doctest: +SKIP
    ['eval', 'json']
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

#: The sample ids of `toolbox`, and what each one does.
TOOLBOX_SAMPLES = {
    "add": "calls add, then submits the sum (correct)",
    "flaky": "calls flaky (ToolError), runs echo in the sandbox in a subtask, submits",
    "crash": "calls crash (RuntimeError): the sample errors",
    "loop": "calls add until the message limit stops it",
    "think": "reasoning + text content, urged to continue, then submits",
}
MESSAGE_LIMIT = 12
EPOCHS = 2


def offline_environment(home: Path) -> dict[str, str]:
    """Environment for a process that runs inspect-ai with no network and no writes to $HOME.

    Example:
        >>> env = offline_environment(Path("/tmp/x"))
        >>> env["HF_HUB_OFFLINE"]
        '1'
    """
    home = Path(home)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("INSPECT_", "OPENAI_", "ANTHROPIC_"))
    }
    env.update(
        {
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_STATE_HOME": str(home / "state"),
            "INSPECT_CACHE_DIR": str(home / "cache" / "inspect_ai"),
            "INSPECT_DISPLAY": "none",
            "INSPECT_LOG_LEVEL": "warning",
            "INSPECT_TELEMETRY": "",
            "INSPECT_API_LOG": "",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TIKTOKEN_CACHE_DIR": str(home / "cache" / "tiktoken"),
            "NO_PROXY": "*",
        }
    )
    return env


def usage(step: int, *, reasoning: int | None = None) -> Any:
    """An explicit usage for the step-th call of a sample (so no tokenizer is ever needed)."""
    from inspect_ai.model import ModelUsage

    input_tokens = 100 + 40 * step
    return ModelUsage(
        input_tokens=input_tokens,
        output_tokens=20 + step,
        total_tokens=input_tokens + 20 + step + 30,
        input_tokens_cache_read=30,
        input_tokens_cache_write=10 if step == 0 else None,
        reasoning_tokens=reasoning,
        total_cost=round(0.0001 * (step + 1), 6),
    )


def _user_text(messages: list[Any]) -> str:
    return next((m.text for m in messages if m.role == "user"), "")


def scripted_outputs(model_name: str, *, wrong_on: frozenset[str] = frozenset()) -> Any:
    """The mock model's policy: (input, tools, tool_choice, config) -> ModelOutput.

    The sample is read from its first user message (``<kind> <a> <b>``), the step from the
    number of assistant messages so far; samples run concurrently, so an iterator of outputs
    would interleave. Kinds in `wrong_on` submit a wrong answer (a second "model").
    """
    from inspect_ai._util.content import ContentReasoning, ContentText
    from inspect_ai.model import ModelOutput

    from analysis_kit.samples import HOSTILE_SNIPPETS  # untrusted text every display must escape

    def policy(messages: list[Any], tools: Any, tool_choice: Any, config: Any) -> Any:
        kind, *numbers = _user_text(messages).split()
        a, b = (int(n) for n in numbers[:2]) if len(numbers) >= 2 else (0, 0)
        step = sum(1 for m in messages if m.role == "assistant")
        answer = str(a + b + (1 if kind in wrong_on else 0))

        def call(tool: str, arguments: dict[str, Any], **kw: Any) -> Any:
            out = ModelOutput.for_tool_call(
                model_name, tool, arguments, tool_call_id=f"{kind}-{step}-{tool}", **kw
            )
            out.usage = usage(step)
            return out

        if kind == "add":
            plan = [lambda: call("add", {"x": a, "y": b})]
        elif kind == "flaky":
            plan = [lambda: call("flaky", {"query": "status"}), lambda: call("shell", {"cmd": "echo ok"})]
        elif kind == "crash":
            plan = [lambda: call("crash", {"reason": "boom"})]
        elif kind == "loop":
            plan = [lambda: call("add", {"x": a, "y": step})] * 50
        elif kind == "think":
            def think() -> Any:
                out = ModelOutput.from_content(
                    model_name,
                    [ContentReasoning(reasoning="The sum of the two numbers."),
                     ContentText(text="Thinking it over. " + " ".join(HOSTILE_SNIPPETS))],
                )
                out.usage = usage(step, reasoning=12)
                return out
            plan = [think]
        else:
            plan = []
        if step < len(plan):
            return plan[step]()
        return call("submit", {"answer": answer}, content=f"The answer is {answer}.")

    return policy


def toolbox_task(*, samples: list[tuple[str, int, int]] | None = None, sleep_s: float = 0.02,
                 message_limit: int = MESSAGE_LIMIT) -> Any:
    """The `toolbox` task: a ReAct agent with add/flaky/crash/shell tools, two scorers."""
    import anyio
    from inspect_ai import Task
    from inspect_ai.agent import react
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import Score, Target, mean, match, scorer
    from inspect_ai.solver import TaskState
    from inspect_ai.tool import ToolError, tool
    from inspect_ai.util import sandbox, subtask

    @tool
    def add() -> Any:
        async def execute(x: int, y: int) -> str:
            """Add two integers.

            Args:
                x: first number
                y: second number
            """
            await anyio.sleep(sleep_s)
            return str(x + y)

        return execute

    @tool
    def flaky() -> Any:
        async def execute(query: str) -> str:
            """Ask a service that is down.

            Args:
                query: what to ask
            """
            await anyio.sleep(sleep_s)
            raise ToolError("service unavailable (503)")

        return execute

    @tool
    def crash() -> Any:
        async def execute(reason: str) -> str:
            """A tool with a bug.

            Args:
                reason: why
            """
            raise RuntimeError(f"tool crashed: {reason}")

        return execute

    @subtask
    async def run_in_sandbox(cmd: str) -> str:
        result = await sandbox().exec(["sh", "-c", cmd])
        return result.stdout.strip()

    @tool
    def shell() -> Any:
        async def execute(cmd: str) -> str:
            """Run a shell command in the sandbox.

            Args:
                cmd: the command
            """
            return await run_in_sandbox(cmd)

        return execute

    @scorer(metrics=[mean()])
    def closeness() -> Any:
        async def score(state: TaskState, target: Target) -> Score:
            try:
                distance = abs(float(state.output.completion.split()[-1].rstrip(".")) - float(target.text))
            except (ValueError, IndexError):
                return Score(value=0.0, explanation="no number")
            return Score(value=1.0 / (1.0 + distance), answer=state.output.completion)

        return score

    named = samples is None  # the fixture's samples are named by their kind
    if samples is None:
        samples = [("add", 2, 3), ("flaky", 4, 5), ("crash", 1, 1), ("loop", 7, 8), ("think", 10, 20)]
    dataset = [
        Sample(id=kind if named else f"{kind}-{i}", input=f"{kind} {a} {b}",
               target=str(a + b), metadata={"kind": kind})
        for i, (kind, a, b) in enumerate(samples)
    ]
    return Task(
        name="toolbox",
        dataset=dataset,
        solver=react(tools=[add(), flaky(), crash(), shell()]),
        scorer=[match(location="end", numeric=True), closeness()],
        message_limit=message_limit,
        sandbox="local",
    )


def run_toolbox(out_dir: Path, *, model: str = "mockllm/model", epochs: int = EPOCHS,
                wrong_on: frozenset[str] = frozenset(), formats: tuple[str, ...] = ("eval", "json"),
                samples: list[tuple[str, int, int]] | None = None, sleep_s: float = 0.02,
                max_samples: int | None = None, fail_on_error: bool = False,
                score_on_error: bool = False, status: str | None = None) -> dict[str, Path]:
    """Run `toolbox` once with inspect-ai and write its log in each format; return the paths.

    The `.eval` log is the eval's own; the `.json` is inspect-ai's `write_eval_log` of it, so
    both formats hold the same run. `status` (e.g. ``cancelled``) rewrites the finished log's
    status through inspect-ai's own reader and writer (an eval cannot be cancelled on cue).
    """
    from inspect_ai import eval as inspect_eval
    from inspect_ai.approval import ApprovalPolicy, auto_approver
    from inspect_ai.log import read_eval_log, write_eval_log
    from inspect_ai.model import get_model

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mock = get_model(model, custom_outputs=scripted_outputs(model.split("/", 1)[1], wrong_on=wrong_on))
    [log] = inspect_eval(
        toolbox_task(samples=samples, sleep_s=sleep_s),
        model=mock,
        epochs=epochs,
        fail_on_error=fail_on_error,
        score_on_error=score_on_error,
        approval=[ApprovalPolicy(auto_approver(), "*")],
        log_dir=str(out_dir / ".inspect"),
        log_format="eval",
        display="none",
        max_samples=max_samples,
    )
    # Inspect's own naming (<ISO time>_<task>_...): inspect_ai.analysis lists a .json log only
    # when its name starts with the time; the model ends the name so runs tell apart.
    stem = f"{Path(log.location).name.split('_')[0]}_toolbox_{model.split('/', 1)[1]}"
    paths: dict[str, Path] = {}
    source = Path(log.location)
    if status is not None:
        edited = read_eval_log(str(source))
        edited.status = status  # type: ignore[assignment]
        write_eval_log(edited, str(source))
    if "eval" in formats:
        paths["eval"] = source.rename(out_dir / f"{stem}.eval")
        source = paths["eval"]
    if "json" in formats:
        paths["json"] = out_dir / f"{stem}.json"
        write_eval_log(read_eval_log(str(source)), str(paths["json"]), format="json")
    if "eval" not in formats:
        source.unlink()
    return paths


def write_benchmark_log(out_dir: Path, *, samples: int = 1000,
                        formats: tuple[str, ...] = ("eval", "json")) -> dict[str, Path]:
    """The benchmark's log: `samples` samples like ``add`` (tool call, approval, submit), epochs 1."""
    rows = [("add", i, i % 97) for i in range(samples)]
    return run_toolbox(Path(out_dir), model="mockllm/model", epochs=1, samples=rows,
                       sleep_s=0.0, formats=formats, max_samples=64)


#: The logs `generate` can write: kind -> keyword arguments of `run_toolbox`.
KINDS: dict[str, dict[str, Any]] = {
    # the fixture: model mockllm/model, an errored sample left unscored
    "toolbox": {},
    # the same task on a second mock model that gets add and think wrong; errored samples scored
    "toolbox-b": {"model": "mockllm/model-b", "wrong_on": frozenset({"add", "think"}), "score_on_error": True},
    # fail_on_error: the crash sample stops the eval (status "error", the samples done so far)
    "toolbox-error": {"model": "mockllm/model-error", "fail_on_error": True},
    # the finished fixture with its status set to "cancelled" (see run_toolbox)
    "toolbox-cancelled": {"model": "mockllm/model-cancelled", "status": "cancelled"},
}


def _network_isolation() -> list[str]:
    """``unshare -n`` (a network namespace with no interface) where it works: a writer that
    tried to reach the network would fail instead of quietly succeeding."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def reference(path: Path) -> dict[str, Any]:
    """What inspect-ai's own reader, `read_eval_log`, says a log holds: the facts a loader
    is checked against, as plain JSON (computed where inspect-ai is imported, see `generate`)."""
    from inspect_ai.log import read_eval_log

    log = read_eval_log(str(path))
    usage = lambda per_model: {m: u.model_dump(exclude_none=True) for m, u in (per_model or {}).items()}  # noqa: E731
    stamp = lambda t: t.isoformat() if t is not None and not isinstance(t, str) else t  # noqa: E731
    samples = {}
    for s in log.samples or []:
        samples[f"{s.id}|{s.epoch}"] = {
            "scores": {name: score.value for name, score in (s.scores or {}).items()},
            "error": s.error.message if s.error else None,
            "traceback": s.error.traceback if s.error else None,
            "limit": s.limit.type if s.limit else None,
            "limit_reason": s.limit.reason if s.limit else None,
            "total_time": s.total_time, "working_time": s.working_time,
            "started_at": stamp(s.started_at), "completed_at": stamp(s.completed_at),
            "model_usage": usage(s.model_usage),
            "messages": [{
                "role": m.role, "text": m.text, "content_types": [c.type for c in m.content] if isinstance(m.content, list) else None,
                "tool_calls": [{"id": c.id, "name": c.function, "arguments": c.arguments} for c in getattr(m, "tool_calls", None) or []],
                "tool_call_id": getattr(m, "tool_call_id", None), "function": getattr(m, "function", None),
                "error": m.error.message if getattr(m, "error", None) else None,
            } for m in s.messages],
            "events": [{
                "event": e.event, "timestamp": stamp(e.timestamp), "completed": stamp(getattr(e, "completed", None)),
                "span_id": e.span_id, "id": getattr(e, "id", None), "parent_id": getattr(e, "parent_id", None),
                "name": getattr(e, "name", None) or getattr(e, "function", None) or getattr(e, "model", None),
                "usage": e.output.usage.model_dump(exclude_none=True) if e.event == "model" and e.output.usage else None,
                "error": (e.error.message if e.event == "tool" and e.error else getattr(e, "error", None)
                          if e.event == "model" else None),
                "arguments": getattr(e, "arguments", None) if e.event == "tool" else None,
            } for e in s.events],
        }
    return {
        "status": log.status, "error": log.error.message if log.error else None,
        "task": log.eval.task, "model": log.eval.model, "epochs": log.eval.config.epochs,
        "inspect_version": log.eval.packages.get("inspect_ai"),
        "started_at": stamp(log.stats.started_at), "completed_at": stamp(log.stats.completed_at),
        "metrics": {score.name: {m.name: m.value for m in score.metrics.values()}
                    for score in (log.results.scores if log.results else [])},
        "model_usage": usage(log.stats.model_usage), "samples": samples,
    }


def generate(out_dir: Path, *, kind: str | list[str] = "toolbox", samples: int = 1000,
             references: list[Path] = (), with_references: bool = False,
             timeout_s: float = 900) -> dict[str, Any]:
    """Write logs in a fresh offline process (see the module docstring).

    kind: one of `KINDS` or ``benchmark`` (`samples` samples like ``add``), or a list of
    kinds, each written into ``out_dir/<kind>/``. Returns {format: path} for one kind,
    {kind: {format: path}} for a list; with `references` (paths of other logs) or
    `with_references` (every log written) also {"references": {path: reference(path)}}. The process runs without network where
    ``unshare -n`` works (root), and with `offline_environment`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kinds = [kind] if isinstance(kind, str) else list(kind)
    cmd = [*_network_isolation(), sys.executable, str(Path(__file__).resolve()), str(out_dir),
           "--samples", str(samples), *(a for k in kinds for a in ("--kind", k)),
           *(a for r in references for a in ("--reference", str(r))),
           *(["--with-references"] if with_references else [])]
    done = subprocess.run(cmd, env=offline_environment(out_dir / ".home"), capture_output=True,
                          text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"inspect log writer failed ({done.returncode}):\n{done.stderr[-4000:]}")
    written = json.loads(done.stdout.strip().splitlines()[-1])
    for name, paths in written.items():
        if name != "references":
            written[name] = {fmt: Path(p) for fmt, p in paths.items()}
    return written[kind] if isinstance(kind, str) and "references" not in written else written


def main(argv: list[str] | None = None) -> None:
    """Command line: write the logs of each --kind (into OUT_DIR, or OUT_DIR/<kind> when
    there are several) and the --reference facts of logs; print them as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--kind", action="append", choices=[*KINDS, "benchmark"], default=[])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--reference", action="append", type=Path, default=[])
    parser.add_argument("--with-references", action="store_true", help="the reference of every log written")
    args = parser.parse_args(argv)
    written: dict[str, Any] = {}
    for kind in args.kind:
        target = args.out_dir / kind if len(args.kind) > 1 else args.out_dir
        if kind == "benchmark":
            paths = write_benchmark_log(target, samples=args.samples)
        else:
            paths = run_toolbox(target, **KINDS[kind])
        written[kind] = {fmt: str(p) for fmt, p in paths.items()}
        if args.with_references:
            args.reference.extend(paths.values())
    if args.reference:
        written["references"] = {str(p): reference(p) for p in args.reference}
    print(json.dumps(written, default=str))


if __name__ == "__main__":
    main()
