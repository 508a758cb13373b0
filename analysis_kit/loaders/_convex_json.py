"""convex-evals JSON inputs (part of the ``convex`` format; ``convex.py`` registers it).

- the failure summary of ``debugQueries:getFailedEvalsForRun``: ``{run{_id, model, provider,
  experiment, status}, totalEvals, passedCount, failedCount, failedEvals[{_id, evalPath,
  category, name, failureReason, failedStep{name, failureReason}}]}``: one run of the listed
  failures, the totals in ``meta``;
- the results of ``bun run validate:guidelines``: each model ran the same evals with the
  "before" and the "after" guidelines; two runs per model, ``<stem>/<model>/before|after``.

Both are read with the core's salvage: a cut or damaged file keeps what came before the
damage (a problem row names it); a file that keeps nothing usable is a LoadError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import LoadError
from ..model import Problems, Run
from ._columns import Column, Table, unread
from ._read import MISSING, Source, element_offsets, parse_json, read_text
from ._values import Where
from ._convex_words import BENCHMARK, FORMAT, STEPS, parse_step

SUMMARY_KEYS = ("run", "totalEvals", "passedCount", "failedCount", "failedEvals")
RUN_KEYS = ("_id", "model", "provider", "experiment", "status")
STATUS_KEYS = ("kind", "failureReason", "durationMs")
FAILED_EVAL_KEYS = ("_id", "evalPath", "category", "name", "failureReason", "failedStep")
GUIDELINE_KEYS = ("timestamp", "beforePath", "afterPath", "filter", "models", "anyRegressions",
                  "totalRegressions", "totalImprovements")
MODEL_KEYS = ("model", "before", "after", "delta", "regressions", "improvements")
TASK_TYPES = {"category": "str", "step": "str"}
EXTRA_TYPES = {**TASK_TYPES, "name": "str", "failure_reason": "str", "eval_id": "str", "file": "str",
               "line": "int"}


def step_of_reason(reason: Any) -> str | None:
    """The step of a runner failure reason ("convex dev fail" -> deploy); None for "unknown fail".

    >>> step_of_reason("convex dev fail"), step_of_reason("unknown fail")
    ('deploy', None)
    """
    if not isinstance(reason, str) or not reason.strip():
        return None
    step, _ = parse_step(reason)
    return step if step in STEPS else None


def _step(item: dict, where: Where) -> str | None:
    name = where.mapping(item.get("failedStep"), "failedStep").get("name")
    if name is None:
        return step_of_reason(item.get("failureReason"))
    return parse_step(where.text(name, "failedStep.name"))[0]


def _error(item: dict, where: Where) -> Any:
    step = item.get("failedStep") if isinstance(item.get("failedStep"), dict) else {}
    error = step.get("failureReason") or item.get("failureReason")
    return None if error is None else where.text(error, "failureReason")


FAILED_EVAL = [
    Column("category", fn=lambda r, w: r.get("category") if isinstance(r.get("category"), str)
           else (r["evalPath"].split("/", 1)[0] if "/" in (r.get("evalPath") or "") else None)),
    Column("name", "name"),
    Column("step", fn=_step),
    Column("error", fn=_error),
    Column("failure_reason", fn=lambda r, w: None if r.get("failureReason") is None
           else w.text(r["failureReason"], "failureReason")),
    Column("eval_id", "_id"),
]


_NA_DTYPES = {"str": "string", "int": "Int64", "float": "float64"}


def frame_with(table: Table, types: dict[str, str]) -> pd.DataFrame:
    """The table's frame (kept as a name: Table now gives every declared column itself)."""
    return table.frame()


def read_document(path: Path, problems: Problems) -> tuple[Any, Source, dict | None]:
    """(value, source, the first problem of its JSON or None) of a convex JSON file;
    LoadError when nothing could be read."""
    text = read_text(path, problems)
    if text is None:
        raise LoadError(problems.rows[-1]["reason"], file=str(path))
    before = len(problems)
    source = Source(path, text)
    value, _ = parse_json(source, problems, arrays=("failedEvals", "models"))
    if value is MISSING:
        if not text.strip():
            raise LoadError("empty file: expected a convex-evals JSON document", file=str(path), line=1)
        damage = problems.rows[-1]
        raise LoadError(f"invalid JSON: {damage['reason']}", file=str(path), line=damage["line"])
    if value is None:
        raise LoadError("the failure summary is null: getFailedEvalsForRun found no such run", file=str(path))
    return value, source, problems.rows[before] if len(problems) > before else None


def load_json(path: Path, problems: Problems) -> list[Run]:
    """The runs of a failure summary or guideline validation results file."""
    data, source, damage = read_document(path, problems)
    if isinstance(data, dict) and ("failedEvals" in data or "totalEvals" in data):
        run = _failure_summary(path, data, source, problems)
        if damage and run.failures.empty and "tasks_passed" not in run.meta:
            raise LoadError("the failure summary was cut or damaged before anything usable (no complete "
                            f"failed eval, no pass counts; truncated?): {damage['reason']}",
                            file=str(path), line=damage["line"])
        return [run]
    if isinstance(data, dict) and "models" in data and ("beforePath" in data or "afterPath" in data):
        runs = _guideline_validation(path, data, source, problems)
        if not runs:
            raise LoadError("guideline validation results list no model results", file=str(path))
        # The file's problems are attached once, to its first run.
        runs[0] = Run(meta=runs[0].meta, tasks=runs[0].tasks, failures=runs[0].failures,
                      problems=problems.frame())
        return runs
    raise LoadError("JSON is neither a getFailedEvalsForRun failure summary nor guideline "
                    "validation results (no failedEvals/totalEvals or beforePath/models keys)",
                    file=str(path))


def _line_of(source: Source, needle: str | None, start: int = 0) -> int | None:
    at = source.text.find(needle, start) if needle else -1
    return None if at < 0 else source.line_at(at)


def _failure_summary(path: Path, data: dict, source: Source, problems: Problems) -> Run:
    top = Where(problems, path, 1)
    unread(data, SUMMARY_KEYS, top, "")
    run = top.mapping(data.get("run"), "run")
    unread(run, RUN_KEYS, top, "run")
    status = run.get("status")
    status_reason = duration_ms = None
    if isinstance(status, dict):
        unread(status, STATUS_KEYS, top, "run.status")
        status, status_reason = status.get("kind"), status.get("failureReason")
        duration_ms = top.number(run["status"].get("durationMs"), "run.status.durationMs", nonnegative=True)
    convex_id, model, provider = (top.text(run.get(k), f"run.{k}") for k in ("_id", "model", "provider"))
    tasks, failures = _failed_evals(path, data, source, problems)
    keyed = Where(problems, path, 1, locate=lambda key: _line_of(source, f'"{key}"'))  # the count's line
    counts = {key: keyed.integer(data.get(key), key, nonnegative=True)
              for key in ("totalEvals", "passedCount", "failedCount")}
    total, passed, failed_count = counts.values()
    listed = data.get("failedEvals")
    if failed_count is not None and isinstance(listed, list) and failed_count != len(listed):
        problems.add(path, _line_of(source, '"failedCount"'),
                     f"failedCount is {failed_count} but failedEvals lists {len(listed)}", "")
    meta: dict[str, Any] = {
        "run_id": "/".join(p for p in (provider, model, convex_id[:8] if convex_id else path.stem) if p),
        "source_format": FORMAT, "path": str(path), "benchmark": BENCHMARK, "domain": None,
        "models": [model] if model else [], "model": model, "provider": provider,
        "experiment": run.get("experiment"), "status": status, "status_reason": status_reason,
        "convex_run_id": convex_id, "started": None, "ended": None, "failures_listed": len(failures),
        "duration_s": None if duration_ms is None else duration_ms / 1000,
    }
    if total is not None:
        meta["tasks_total"] = total
        if passed is not None:  # without the total, passes over the listed failures mislead
            meta["tasks_passed"] = passed
    else:
        meta["tasks_partial"] = True  # failedEvals lists only failures: the rate is unknown
    if failed_count is not None:
        meta["tasks_failed"] = failed_count
    return Run(meta=meta, tasks=frame_with(tasks, TASK_TYPES), failures=frame_with(failures, EXTRA_TYPES),
               problems=problems.frame())


def _failed_evals(path: Path, data: dict, source: Source, problems: Problems) -> tuple[Table, Table]:
    tasks, failures = Table("tasks", EXTRA_TYPES), Table("failures", EXTRA_TYPES)
    listed = data.get("failedEvals")
    if not isinstance(listed, list):
        problems.add(path, _line_of(source, '"failedEvals"'), "failedEvals is missing or not a list",
                     "" if listed is None else str(listed)[:200])
        return tasks, failures
    offsets = element_offsets(source, "failedEvals") if listed else []
    for index, item in enumerate(listed):
        offset = offsets[index] if index < len(offsets) else 0
        where = Where(problems, path, source.line_at(offset) if offsets else None)
        if not isinstance(item, dict):
            where.problem(f"failedEvals[{index}] is not an object", item)
            continue
        eval_id = item.get("_id") if isinstance(item.get("_id"), str) else None
        where = where.at(_line_of(source, eval_id, offset) or where.line)
        task_id = item.get("evalPath") if isinstance(item.get("evalPath"), str) else None
        if task_id is None and isinstance(item.get("category"), str) and isinstance(item.get("name"), str):
            task_id = f"{item['category']}/{item['name']}"
        if not task_id:
            where.problem(f"failedEvals[{index}] has no evalPath and no category/name", item)
            continue
        unread(item, FAILED_EVAL_KEYS, where, "failedEvals[]")
        unread(item.get("failedStep"), ("name", "failureReason"), where, "failedEvals[].failedStep")
        row = failures.add(item, FAILED_EVAL, where, task_id=task_id, file=str(path), line=where.line)
        tasks.append(where, task_id=task_id, status="failure", success=False, error=row["error"],
                     category=row["category"], step=row["step"], eval_id=row["eval_id"])
    return tasks, failures


def _guideline_validation(path: Path, data: dict, source: Source, problems: Problems) -> list[Run]:
    """Two runs per model, before and after the guideline change (one Problems for all)."""
    top = Where(problems, path, 1)
    unread(data, GUIDELINE_KEYS, top, "")
    runs = []
    for entry in top.listing(data.get("models"), "models"):
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
            top.at(None).problem("models[] entry without a model name", entry)
            continue
        where = top.at(_line_of(source, f'"{entry["model"]}"'))
        unread(entry, MODEL_KEYS, where, "models[]")
        for variant in ("before", "after"):
            part = entry.get(variant)
            if not isinstance(part, dict):
                where.problem(f"{entry['model']} has no {variant!r} results")
                continue
            runs.append(_validation_run(path, data, entry, variant, part, where))
    return runs


def _validation_run(path: Path, data: dict, entry: dict, variant: str, part: dict, where: Where) -> Run:
    model = entry["model"]
    label = f"{model} {variant}"
    unread(part, ("passed", "failed", "results"), where, f"models[].{variant}")
    tasks, failures = Table("tasks", EXTRA_TYPES), Table("failures", EXTRA_TYPES)
    for result in where.listing(part.get("results"), f"{label}: results"):
        if not isinstance(result, dict) or not isinstance(result.get("eval"), str):
            where.at(None).problem(f"{label}: result without an eval", result)
            continue
        unread(result, ("eval", "passed", "failure_reason"), where, f"models[].{variant}.results[]")
        task_id, reason = result["eval"], result.get("failure_reason")
        success = where.flag(result.get("passed"), f"{label}: {task_id} passed")
        category = task_id.split("/", 1)[0] if "/" in task_id else None
        step = step_of_reason(reason)
        tasks.append(where, task_id=task_id, status={True: "success", False: "failure"}.get(success),
                     success=success, error=reason, category=category, step=step)
        if success is False:
            failures.append(where, task_id=task_id, category=category, step=step, error=reason,
                            failure_reason=reason, file=str(path))
    tasks_frame = frame_with(tasks, TASK_TYPES)
    counted = int(tasks_frame["success"].sum()) if "success" in tasks_frame else 0
    passed, failed = (where.integer(part.get(k), f"{label}: {k}", nonnegative=True) for k in ("passed", "failed"))
    if passed is not None and passed != counted:
        where.problem(f"{label}: passed is {passed} but {counted} results passed")
    meta = {
        "run_id": f"{path.stem}/{model}/{variant}", "source_format": FORMAT, "path": str(path),
        "benchmark": BENCHMARK, "domain": None, "models": [model], "model": model,
        "provider": model.split("/", 1)[0] if "/" in model else None,
        "experiment": "guideline_validation", "variant": variant,
        "guidelines_path": data.get(f"{variant}Path"), "filter": data.get("filter"),
        "started": where.time(data.get("timestamp"), "timestamp"), "ended": None,
        "tasks_total": len(tasks_frame) if failed is None or passed is None else passed + failed,
        "tasks_passed": counted if passed is None else passed,
        "delta": entry.get("delta"), "regressions": entry.get("regressions"),
        "improvements": entry.get("improvements"), "any_regressions": data.get("anyRegressions"),
        "total_regressions": data.get("totalRegressions"), "total_improvements": data.get("totalImprovements"),
    }
    return Run(meta=meta, tasks=tasks_frame, failures=frame_with(failures, EXTRA_TYPES))
