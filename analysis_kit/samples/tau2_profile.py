"""Sample tau2-bench ``[PROFILE]`` / ``[USER_JUDGE]`` logs, deterministic from a seed.

``write`` produces a realistic log of a few thousand lines: several tasks on concurrent
threads whose lines interleave, INFO/DEBUG lines and a Python traceback between them,
``llm_call`` lines with tokens (vLLM timing fields on some), ``tool_call`` lines with errors
and retries (the same call repeated after an error), ``expert_call``, ``step_complete``,
``user_sim`` and ``evaluator`` lines (level ``USER_JUDGE``), fields in varied order, and one
task that stalls (its events stop long before the others).

``write_big`` writes a large log of N lines quickly (polars builds each million-line block
column-wise) for the loader benchmark.

>>> from analysis_kit.samples import tau2_profile               # doctest: +SKIP
>>> path = tau2_profile.write("/tmp/s", seed=7, size=1)           # doctest: +SKIP
>>> path.name                                                     # doctest: +SKIP
'profile.log'
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

FILE_NAME = "profile.log"
AGENT_MODEL = "Qwen/Qwen3-8B"
EXPERT_MODEL = "gpt-5"
JUDGE_MODEL = "gpt-4.1"
TOOLS = ("get_order_details", "get_user_details", "find_user_id_by_email", "cancel_pending_order",
         "list_all_product_types", "exchange_delivered_order_items", "transfer_to_human_agents")
DOMAINS = ("retail", "airline", "telecom")
STALLED_TASK = "retail_3"  # the task whose thread hangs after its second step
START = datetime(2025, 12, 23, 10, 0, 0)
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/tau2/environment/toolkit.py", line 212, in use_tool\n'
    "    return tool(**kwargs)\n"
    '  File "/app/tau2/domains/retail/tools.py", line 88, in cancel_pending_order\n'
    '    raise ValueError("Non-pending order cannot be cancelled")\n'
    "ValueError: Non-pending order cannot be cancelled"
)


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def _line(level: str, t: datetime, head: dict, fields: list[tuple[str, str]], rng: random.Random) -> str:
    """One profile line; about a third of lines put their fields in a shuffled order."""
    fields = list(fields)
    if rng.random() < 0.35:
        rng.shuffle(fields)
    keys = [f"task={head['task']}", f"thread={head['thread']}", f"type={head['type']}"]
    return f"[{level}] {_stamp(t)} " + " ".join(keys + [f"{k}={v}" for k, v in fields])


def _task_lines(task: str, thread: str, clock: datetime, steps: int, rng: random.Random,
                stall_after: int | None) -> tuple[list[tuple[datetime, str]], datetime]:
    """The timestamped lines one task writes, and the time its thread is free again."""
    out: list[tuple[datetime, str]] = []

    def emit(level, kind, dur_ms, fields):
        nonlocal clock
        clock += timedelta(milliseconds=dur_ms)
        head = {"task": task, "thread": thread, "type": kind}
        out.append((clock, _line(level, clock, head, fields, rng)))

    out.append((clock, f"INFO {_stamp(clock)} [{thread}] Starting task {task}"))
    for step in range(1, steps + 1):
        step_start = clock
        dur = round(rng.uniform(300, 4000), 2)
        fields = [("step", str(step)), ("model", AGENT_MODEL), ("call_type", "vllm"),
                  ("duration_ms", f"{dur:.2f}"), ("has_tool_calls", "True" if step < steps else "False"),
                  ("input_tokens", str(rng.randint(800, 9000))), ("output_tokens", str(rng.randint(20, 600)))]
        if rng.random() < 0.4:  # vLLM's own timing split on some lines
            prefill = round(dur * 0.1, 2)
            fields += [("toolorchestra_vllm_infer_ms", f"{dur - 3:.2f}"),
                       ("toolorchestra_vllm_prefill_ms", f"{prefill:.2f}"),
                       ("toolorchestra_vllm_decode_ms", f"{dur - 3 - prefill:.2f}"),
                       ("toolorchestra_vllm_prefill_len", str(rng.randint(500, 9000))),
                       ("toolorchestra_vllm_decode_len", str(rng.randint(10, 600)))]
        emit("PROFILE", "llm_call", dur, fields)
        out.append((clock, f"DEBUG {_stamp(clock)} [{thread}] agent message: {{'role': 'assistant', 'content': 'step {step}'}}"))
        if step % 3 == 0:
            edur = round(rng.uniform(1000, 6000), 2)
            emit("PROFILE", "expert_call", edur,
                 [("model", EXPERT_MODEL), ("call_type", "openai"), ("duration_ms", f"{edur:.2f}")])
        to_role = "user"
        if step < steps:
            to_role = "env"
            tool = rng.choice(TOOLS)
            failed = rng.random() < 0.2
            err = [("error", "True")] if failed else ([("error", "None")] if rng.random() < 0.3 else [])
            tdur = round(rng.uniform(1, 60), 2)
            emit("PROFILE", "tool_call", tdur, [("function", tool), ("call_type", "local_function"),
                                                ("step", str(step)), ("duration_ms", f"{tdur:.2f}")] + err)
            if failed:  # the agent retries the same call once
                out.append((clock, f"WARNING {_stamp(clock)} [{thread}] tool {tool} failed, retrying"))
                tdur = round(rng.uniform(1, 60), 2)
                emit("PROFILE", "tool_call", tdur, [("function", tool), ("call_type", "local_function"),
                                                    ("step", str(step)), ("duration_ms", f"{tdur:.2f}")])
        total = (clock - step_start).total_seconds() * 1000
        emit("PROFILE", "step_complete", 0.5, [("step", str(step)), ("total_duration_ms", f"{total:.2f}"),
                                               ("from_role", "agent"), ("to_role", to_role)])
        if stall_after is not None and step >= stall_after:
            out.append((clock, f"INFO {_stamp(clock)} [{thread}] waiting for tool server..."))
            return out, clock + timedelta(days=1)  # the thread never comes back
        if to_role == "user" or step % 2 == 0:
            udur = round(rng.uniform(400, 2500), 2)
            emit("USER_JUDGE", "user_sim", udur,
                 [("model", JUDGE_MODEL), ("call_type", "openai"), ("duration_ms", f"{udur:.2f}")])
    vdur = round(rng.uniform(500, 3000), 2)
    emit("USER_JUDGE", "evaluator", vdur,
         [("model", JUDGE_MODEL), ("call_type", "openai"), ("duration_ms", f"{vdur:.2f}")])
    out.append((clock, f"INFO {_stamp(clock)} [{thread}] Task {task} finished"))
    return out, clock


def write(directory: str | Path, *, seed: int = 7, size: int = 1) -> Path:
    """Write ``directory/profile.log`` (size=1: ~2,100 lines, ~330 KB) and return its path.

    >>> p = write("/tmp/ak_profile_sample", seed=1)     # doctest: +SKIP
    """
    rng = random.Random(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    n_threads, n_tasks = 4, 60 * size
    threads = [str(rng.randint(10**14, 2 * 10**14)) for _ in range(n_threads)]
    free_at = [START + timedelta(milliseconds=137 * i) for i in range(n_threads)]
    timed: list[tuple[datetime, str]] = [(START, f"INFO {_stamp(START)} Loaded {n_tasks} tasks, {n_threads} threads")]
    for i in range(n_tasks):
        task = f"{DOMAINS[i % 3]}_{i // 3}" if i != 9 else STALLED_TASK
        worker = min(range(n_threads), key=lambda w: free_at[w])
        lines, free_at[worker] = _task_lines(task, threads[worker], free_at[worker], 4 + i % 6, rng,
                                             2 if task == STALLED_TASK else None)
        timed.extend(lines)
    # Lines reach the file in time order, so the threads' lines interleave.
    timed.sort(key=lambda pair: pair[0])
    texts = [text for _, text in timed]
    texts.insert(len(texts) // 2, f"ERROR {_stamp(START)} tool raised\n{TRACEBACK}")
    path = directory / FILE_NAME
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


def write_big(path: str | Path, lines: int, seed: int = 0, block: int = 1_000_000) -> Path:
    """Write a log of exactly ``lines`` lines (about 85% profile lines) for benchmarks.

    Built column-wise with polars in blocks of ``block`` lines, so 5M lines take seconds.

    >>> write_big("/tmp/big.log", 1000, seed=1)          # doctest: +SKIP
    """
    import numpy as np
    import polars as pl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    kinds = np.array(["llm_call", "tool_call", "step_complete", "user_sim", "expert_call",
                      "evaluator", "INFO", "DEBUG"])
    weights = np.array([0.30, 0.25, 0.18, 0.07, 0.04, 0.01, 0.12, 0.03])
    t0 = np.datetime64("2025-12-23T10:00:00.000", "ms")
    with path.open("wb") as out:
        done = 0
        while done < lines:
            n = min(block, lines - done)
            kind = rng.choice(len(kinds), size=n, p=weights)
            task = rng.integers(0, 500, size=n)
            df = pl.DataFrame({
                "kind": kinds[kind],
                "ts": (t0 + (done + np.arange(n)) * 3).astype("datetime64[ms]"),
                "task": task, "thread": 140000000000000 + task % 16 * 7919,
                "dur": np.round(rng.lognormal(6.5, 1.0, size=n), 2),
                "tok_in": rng.integers(500, 12000, size=n), "tok_out": rng.integers(5, 900, size=n),
                "step": rng.integers(1, 30, size=n), "tool": rng.integers(0, len(TOOLS), size=n),
                "err": rng.random(size=n) < 0.05, "vllm": rng.random(size=n) < 0.3,
            })
            c = pl.col
            ts = c("ts").dt.strftime("%Y-%m-%d %H:%M:%S%.3f")
            dur = c("dur").round(2).cast(pl.String)
            head = pl.concat_str([ts, pl.lit(" task="), pl.lit("retail_"), c("task").cast(pl.String),
                                  pl.lit(" thread="), c("thread").cast(pl.String), pl.lit(" type="), c("kind")])
            vllm = pl.when(c("vllm")).then(pl.concat_str([
                pl.lit(" toolorchestra_vllm_prefill_ms="), (c("dur") * 0.1).round(2).cast(pl.String),
                pl.lit(" toolorchestra_vllm_decode_ms="), (c("dur") * 0.9).round(2).cast(pl.String)])).otherwise(pl.lit(""))
            tool_names = pl.Series(TOOLS)
            text = (
                pl.when(c("kind") == "llm_call").then(pl.concat_str([
                    pl.lit("[PROFILE] "), head, pl.lit(" step="), c("step").cast(pl.String),
                    pl.lit(f" model={AGENT_MODEL} call_type=vllm duration_ms="), dur,
                    pl.lit(" input_tokens="), c("tok_in").cast(pl.String), pl.lit(" output_tokens="),
                    c("tok_out").cast(pl.String), vllm, pl.lit(" has_tool_calls=True")]))
                .when(c("kind") == "tool_call").then(pl.concat_str([
                    pl.lit("[PROFILE] "), head, pl.lit(" function="),
                    c("tool").replace_strict(list(range(len(TOOLS))), tool_names, return_dtype=pl.String),
                    pl.lit(" call_type=local_function duration_ms="), dur, pl.lit(" step="),
                    c("step").cast(pl.String),
                    pl.when(c("err")).then(pl.lit(" error=True")).otherwise(pl.lit(""))]))
                .when(c("kind") == "step_complete").then(pl.concat_str([
                    pl.lit("[PROFILE] "), head, pl.lit(" step="), c("step").cast(pl.String),
                    pl.lit(" total_duration_ms="), dur, pl.lit(" from_role=agent to_role=env")]))
                .when(c("kind").is_in(["user_sim", "evaluator"])).then(pl.concat_str([
                    pl.lit("[USER_JUDGE] "), head, pl.lit(f" model={JUDGE_MODEL} call_type=openai duration_ms="), dur]))
                .when(c("kind") == "expert_call").then(pl.concat_str([
                    pl.lit("[PROFILE] "), head, pl.lit(f" model={EXPERT_MODEL} duration_ms="), dur]))
                .when(c("kind") == "INFO").then(pl.concat_str([
                    pl.lit("INFO "), ts, pl.lit(" Task retail_"), c("task").cast(pl.String), pl.lit(" progress")]))
                .otherwise(pl.concat_str([pl.lit("DEBUG "), ts, pl.lit(" raw prompt: {'role': 'user', 'content': '...'}")]))
            )
            joined = df.select(text.alias("t"))["t"].str.join("\n").item()
            out.write(joined.encode("utf-8") + b"\n")
            done += n
    return path
