"""The Run: one tidy model for every source format.

Every loader fills the same five tables. A column that a source has no data for is present
and NA, so analyses never need to know which format a run came from.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from .exceptions import LoadError

# dtype names used in the schema: "str" -> pandas "string", "int" -> "Int64",
# "float" -> "float64", "bool" -> "boolean", "time" -> datetime64[ns, UTC], "object" -> object,
# "json" -> "string" holding JSON text (a loader may give the value itself; it is serialized).
SCHEMA: dict[str, list[tuple[str, str]]] = {
    "tasks": [
        ("run_id", "str"), ("task_id", "str"), ("trial", "int"), ("status", "str"),
        ("success", "bool"), ("reward", "float"), ("termination_reason", "str"),
        ("start", "time"), ("end", "time"), ("duration_s", "float"), ("cost_usd", "float"),
        ("input_tokens", "int"), ("output_tokens", "int"), ("error", "str"),
    ],
    "events": [
        ("run_id", "str"), ("task_id", "str"), ("trial", "int"), ("agent", "str"),
        ("thread", "str"), ("span_id", "str"), ("parent_id", "str"), ("kind", "str"),
        ("name", "str"), ("round", "int"), ("start", "time"), ("end", "time"),
        ("duration_ms", "float"), ("input_tokens", "int"), ("output_tokens", "int"),
        ("cached_tokens", "int"), ("cost_usd", "float"), ("est_cost_usd", "float"),
        ("error", "str"), ("attrs", "json"),
    ],
    "messages": [
        ("run_id", "str"), ("task_id", "str"), ("trial", "int"), ("agent", "str"),
        ("idx", "int"), ("role", "str"), ("content", "str"), ("tool_calls", "json"),
        ("tool_call_id", "str"), ("name", "str"), ("timestamp", "time"),
        ("input_tokens", "int"), ("output_tokens", "int"), ("cost_usd", "float"),
    ],
    "failures": [
        ("run_id", "str"), ("task_id", "str"), ("trial", "int"), ("category", "str"),
        ("step", "str"), ("error", "str"), ("classification", "str"), ("reasoning", "str"),
    ],
    "problems": [
        ("run_id", "str"), ("file", "str"), ("line", "int"), ("reason", "str"), ("raw", "str"),
    ],
}
TABLES = tuple(SCHEMA)
_NAMES = {table: [c for c, _ in columns] for table, columns in SCHEMA.items()}
# Columns whose values cannot be negative: a negative one from a source is NA plus a problem.
NONNEGATIVE: dict[str, frozenset[str]] = {
    "tasks": frozenset({"duration_s", "cost_usd", "input_tokens", "output_tokens"}),
    "events": frozenset({"duration_ms", "input_tokens", "output_tokens", "cached_tokens",
                         "cost_usd", "est_cost_usd"}),
    "messages": frozenset({"input_tokens", "output_tokens", "cost_usd"}),
}

# ---------------------------------------------------------------- the events vocabulary
# Every kind a loader may write, and what it means. Analyses select events by these names
# only; a loader that writes another kind gets a problem row (check_contract), so a typo or
# a new source's word cannot make analyses silently skip its events.
KINDS: dict[str, str] = {
    "llm_call": "a call to a model by the agent under test (name: the model)",
    "tool_call": "a tool or function the agent ran (name: the tool)",
    "expert_call": "a call to an expert model the agent consults (name: the model)",
    "user_sim": "a call to the user simulator's model (framework cost)",
    "evaluator": "a call to an evaluator or judge model (framework cost)",
    "step": "one step of a task, containing other operations (attrs: step, from_role, to_role)",
    "round": "one round of a multi-agent run, containing other operations (attrs: outcome)",
    "agent": "an agent's invocation, containing its calls (name: the agent)",
    "usage": "the usage a model component reported for a task attempt, covering its calls (name: the model; untimed)",
    "answer": "an agent's answer (instant; attrs: label, length)",
    "vote": "an agent's vote (instant; name: the voted-for agent; attrs: voted_for, reason)",
    "restart": "a restart of an agent or run (instant; attrs: reason, triggering_agent)",
    "coordination": "another coordination event of a multi-agent run (instant)",
    "sandbox": "an operation in a sandbox (exec, file read/write)",
    "subtask": "a subtask or sub-agent run",
    "approval": "a human or policy approval of a tool call",
    "score": "scoring of a sample or task",
    "error": "an error or limit reached (instant)",
    "span": "a traced operation of no kind above (kept, never dropped)",
}
LLM_KINDS = ("llm_call", "expert_call", "user_sim", "evaluator")
FRAMEWORK_KINDS = ("user_sim", "evaluator", "expert_call")  # cost of the harness, not the agent
# Agents whose work is the harness's, not the agent's under test (events.agent, messages.agent).
FRAMEWORK_AGENTS = ("user_simulator", "evaluator", "judge", "expert")
CONTAINER_KINDS = ("step", "round", "agent", "usage")  # spans that contain other operations
INSTANT_KINDS = ("answer", "vote", "coordination", "restart", "error")  # moments, not timed operations
# Keys of events.attrs that analyses read, by kind (None: any kind). Loaders write these names.
ATTR_KEYS: dict[str, tuple[str | None, str]] = {
    "label": ("answer", "the answer's label (agent1.1)"),
    "length": ("answer", "the answer's length in characters"),
    "voted_for": ("vote", "the agent voted for"),
    "reason": (None, "a vote's or restart's reason"),
    "triggering_agent": ("restart", "the agent whose action caused the restart"),
    "affected_agents": ("restart", "the agents restarted"),
    "outcome": ("round", "how a round ended: answer, vote, restart, error"),
    "model": (None, "the model a round or usage record ran: what the usage it reports is billed to"),
    "step": (None, "the step number an operation belongs to"),
    "from_role": ("step", "who handed over"),
    "to_role": ("step", "who took over"),
    "call_type": (None, "the source's call type"),
    "has_tool_calls": ("llm_call", "whether the model answered with tool calls"),
    "arguments": ("tool_call", "the tool call's arguments (an object, or the raw text)"),
    "arguments_truncated": ("tool_call", "true when the source kept only a preview of the arguments"),
    "result": ("tool_call", "the tool's result text"),
    "result_length": ("tool_call", "the length of the tool's result in characters"),
}
RAW_CUT = 200  # characters of a bad line kept in run.problems
CLASSIFICATIONS = ("MODEL_FAULT", "OVERLY_STRICT", "AMBIGUOUS_TASK", "KNOWN_GAP")


def _cast(series: pd.Series, kind: str) -> pd.Series:
    if kind == "json":
        if series.dtype == "string" or isinstance(series.dtype, pd.CategoricalDtype):
            return series
        return series.astype("object").where(series.notna(), None).map(
            lambda v: v if v is None or isinstance(v, str) else to_json_text(v)).astype("string")
    if kind == "str":
        # Categoricals (dictionary-encoded strings) are kept: big loaders use them for
        # columns of few distinct values, which saves memory and a Parquet round trip.
        if series.dtype == "string" or isinstance(series.dtype, pd.CategoricalDtype):
            return series
        try:  # fast: str() of non-strings, NA for None/NaN
            return series.astype("string")
        except (TypeError, ValueError):
            pass
        return series.astype("object").where(series.notna(), None).map(
            lambda v: v if v is None or isinstance(v, str) else str(v)
        ).astype("string")
    if kind == "int":
        if series.dtype == "Int64":  # already typed: no copy
            return series
        numbers = pd.to_numeric(series, errors="coerce")
        if numbers.dtype.kind == "f":  # inf or beyond int64 cannot be an integer: NA
            numbers = numbers.where(numbers.abs() < 2.0**63)
        return numbers.round().astype("Int64")
    if kind == "float":
        if series.dtype == "float64":
            return series
        return pd.to_numeric(series, errors="coerce").astype("float64")
    if kind == "bool":
        if series.dtype == "boolean":
            return series
        return series.astype("object").where(series.notna(), None).map(
            lambda v: None if v is None else bool(v)
        ).astype("boolean")
    if kind == "time":
        if series.dtype == UTC_NS:  # already right: no copy
            return series
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            times = series.dt.tz_convert("UTC")
        else:
            times = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
        try:
            return times.astype("datetime64[ns, UTC]")
        except (OverflowError, pd.errors.OutOfBoundsDatetime):
            # Outside 1677-2262 (a corrupt epoch value): NA rather than a crash.
            inside = (times >= pd.Timestamp.min.tz_localize("UTC")) & (times <= pd.Timestamp.max.tz_localize("UTC"))
            return times.where(inside).astype("datetime64[ns, UTC]")
    return series.astype("object")


UTC_NS = pd.DatetimeTZDtype("ns", "UTC")
_NA_DTYPES = {"str": "string", "json": "string", "int": "Int64", "float": "float64", "bool": "boolean",
              "time": "datetime64[ns, UTC]", "object": "object"}


def _na_array(kind: str, n: int):
    """A typed all-NA column of length ``n`` (a missing standard column), built without
    casting a column of Python Nones."""
    dtype = _NA_DTYPES.get(kind, "object")
    if kind == "float":
        return np.full(n, np.nan)
    if kind == "time":
        return pd.array(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")).tz_localize("UTC")
    if kind == "object":
        return np.full(n, None, dtype=object)
    if kind == "int":  # zeros from calloc: pages untouched until read
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    if kind == "bool":
        return pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    if kind in ("str", "json"):
        return _na_strings(n) if n <= 100_000 else pd.array(pa.nulls(n, pa.large_string()), dtype=dtype)
    return pd.array([None] * n, dtype=dtype)


@functools.lru_cache(maxsize=256)
def _na_strings(n: int):
    """An all-NA string column (immutable Arrow data, so safe to share): made once per length,
    as a small run has several such columns and each costs a conversion from Arrow."""
    return pd.array(pa.nulls(n, pa.large_string()), dtype="string")


def _repeated(value: str, n: int) -> pd.Categorical:
    """``value`` n times as a categorical: one byte per row (zeros from calloc), where a
    string column would hold the text once per row (100 MB at 4M rows for a run id)."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), dtype=_one_category(value))


@functools.lru_cache(maxsize=1024)
def _one_category(value: str) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(pd.Index([value]))


def _is_string(d) -> bool:
    return isinstance(d, (pd.StringDtype, pd.CategoricalDtype))


_DTYPE_OK = {  # instance checks: comparing a dtype with a name parses the name every time
    "str": _is_string, "json": _is_string,
    "int": lambda d: isinstance(d, pd.Int64Dtype), "float": lambda d: d is _FLOAT64 or d == _FLOAT64,
    "bool": lambda d: isinstance(d, pd.BooleanDtype),
    "time": lambda d: isinstance(d, pd.DatetimeTZDtype) and d == UTC_NS, "object": lambda d: d == _OBJECT,
}
_FLOAT64, _OBJECT = np.dtype("float64"), np.dtype("object")


def _conformed(df: pd.DataFrame, table: str) -> bool:
    """True when ``df`` already has the table's standard columns first, in order, typed, on a
    plain 0..n-1 index."""
    schema = SCHEMA[table]
    index = df.index
    if len(df.columns) < len(schema) or type(index) is not pd.RangeIndex or index.start != 0 \
            or index.step != 1 or list(df.columns[:len(schema)]) != _NAMES[table]:
        return False
    dtypes = df.dtypes.tolist()
    return all(_DTYPE_OK[kind](dtypes[i]) for i, (_, kind) in enumerate(schema))


def empty_table(table: str) -> pd.DataFrame:
    """An empty DataFrame with the table's columns and dtypes (a fresh frame each call, made
    from one built once: building it costs a millisecond, and a run has several)."""
    return _empty(table).copy(deep=False)


@functools.lru_cache(maxsize=None)
def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame({col: _na_array(kind, 0) for col, kind in SCHEMA[table]}, index=pd.RangeIndex(0))


def conform(df: pd.DataFrame | Iterable[dict] | None, table: str, run_id: str | None = None) -> pd.DataFrame:
    """Give ``df`` exactly the table's standard columns (in order, typed), keeping any extra
    columns after them. Missing standard columns are added as NA.

    >>> conform(pd.DataFrame({"task_id": ["a"]}), "tasks").columns[:3].tolist()
    ['run_id', 'task_id', 'trial']
    """
    if df is None:
        df = pd.DataFrame()
    elif not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(list(df))
    if df.empty and not len(df.columns):
        df = empty_table(table)
    if _conformed(df, table):  # the usual case for a loader's typed frame: no copy of any column
        if run_id is not None:
            df = df.copy(deep=False)
            df["run_id"] = _repeated(run_id, len(df))
        return df
    df = df.reset_index(drop=True)
    out = {}
    n = len(df)
    for col, kind in SCHEMA[table]:
        if col in df.columns:
            out[col] = _cast(df[col], kind)
        else:
            out[col] = pd.Series(_na_array(kind, n), index=df.index, copy=False)
    if run_id is not None:
        out["run_id"] = pd.Series(_repeated(run_id, n), index=df.index, copy=False)
    standard = {c for c, _ in SCHEMA[table]}
    for col in df.columns:
        if col not in standard:
            out[col] = df[col]
    return pd.DataFrame(out, index=df.index, copy=False)  # no copy of columns already right


class Problems:
    """Collects input a loader could not use. With ``strict`` the first one raises.

    >>> p = Problems(strict=False); p.add("f.log", 3, "not a number", "x=abc"); len(p)
    1
    """

    def __init__(self, strict: bool = False):
        self.strict = strict
        self.rows: list[dict[str, Any]] = []
        self._once: set[str] = set()

    def add(self, file: Any, line: int | None, reason: str, raw: Any = "") -> None:
        file = str(file)
        if self.strict:
            raise LoadError(reason, file=file, line=line)
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        raw = "" if raw is None else str(raw)
        self.rows.append({"file": file, "line": line, "reason": reason, "raw": raw[:RAW_CUT]})

    def next_run(self) -> None:
        """Start the next run of a batch: ``once`` says each reason once per run."""
        self._once.clear()

    def once(self, file: Any, line: int | None, reason: str, raw: Any = "") -> None:
        """``add``, unless a problem with this reason was already added (say it once per run)."""
        if reason in self._once:
            return
        self._once.add(reason)
        self.add(file, line, reason, raw if isinstance(raw, (str, bytes)) else to_json_text(raw))

    def extend(self, frame: pd.DataFrame) -> None:
        for row in frame.to_dict("records"):
            self.add(row.get("file"), None if pd.isna(row.get("line")) else int(row["line"]),
                     row.get("reason"), row.get("raw"))

    def __len__(self) -> int:
        return len(self.rows)

    def frame(self, run_id: str | None = None) -> pd.DataFrame:
        rows = pd.DataFrame(self.rows) if self.rows else None
        return conform(rows, "problems", run_id=run_id)


def _known(value: Any) -> bool:
    return value is not None and not pd.isna(value)


def _first_known(*values: Any) -> float:
    for value in values:
        if _known(value):
            return float(value)
    return np.nan


def _per_run(frame: pd.DataFrame, **aggs: tuple[str, str]) -> dict[Any, dict[str, Any]]:
    """Named aggregations of ``frame`` by run_id, as {run_id: {name: value}}. A sum over no
    known value is NA, not 0 (unpriced is not free)."""
    if frame.empty:
        return {}
    groups = frame.groupby("run_id", sort=False, observed=True)
    grouped = groups.agg(**aggs)
    for name, (column, how) in aggs.items():
        if how == "sum":
            grouped[name] = grouped[name].astype("float64").where(groups[column].count() > 0)
    return grouped.to_dict("index")


def _run_duration(meta: dict, tasks: dict, events: dict) -> float:
    started, ended = meta.get("started"), meta.get("ended")
    if _known(started) and _known(ended):
        return (pd.Timestamp(ended) - pd.Timestamp(started)).total_seconds()
    for span in (tasks, events):
        if _known(span.get("start")) and _known(span.get("end")):
            return (span["end"] - span["start"]).total_seconds()
    return np.nan


@dataclass
class Run:
    """A loaded run: ``meta`` and five tidy tables.

    >>> run = Run(meta={"run_id": "r1", "source_format": "demo"})
    >>> run.tasks.empty, list(run.summary()["run_id"])
    (True, ['r1'])
    """

    meta: dict[str, Any] = field(default_factory=dict)
    tasks: pd.DataFrame = None  # type: ignore[assignment]
    events: pd.DataFrame = None  # type: ignore[assignment]
    messages: pd.DataFrame = None  # type: ignore[assignment]
    failures: pd.DataFrame = None  # type: ignore[assignment]
    problems: pd.DataFrame = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        run_id = self.meta.setdefault("run_id", "run")
        for table in TABLES:
            value = getattr(self, table)
            if value is None:
                value = empty_table(table)
            elif not isinstance(value, pd.DataFrame):
                value = pd.DataFrame(list(value))
            fill = run_id if "run_id" not in value.columns or value["run_id"].isna().all() else None
            setattr(self, table, conform(value, table, run_id=fill))

    @property
    def run_id(self) -> str:
        return str(self.meta.get("run_id"))

    @property
    def run_ids(self) -> list[str]:
        """The run ids in this Run (several after ``load_runs``), in load order."""
        return list(self.meta.get("run_ids") or [self.run_id])

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    def select(self, run_id: str) -> "Run":
        """The one run ``run_id`` out of a ``load_runs`` result."""
        metas = {m.get("run_id"): m for m in self.meta.get("runs", [self.meta])}
        if run_id not in metas:
            raise KeyError(f"no run {run_id!r}; runs are {sorted(map(str, metas))}")
        tables = {t: getattr(self, t)[getattr(self, t)["run_id"] == run_id] for t in TABLES}
        return Run(meta=dict(metas[run_id]), **tables)

    def summary(self) -> pd.DataFrame:
        """One row per run: format, tasks, successes, pass rate, events, messages, failures,
        total duration, cost (reported, and estimated for calls without a price), tokens,
        problems.

        Aggregates each table once by ``run_id`` (not once per run), so a ``load_runs`` of
        thousands of runs summarises in one pass.
        """
        metas = self.meta.get("runs") or [self.meta]
        tasks = _per_run(self.tasks.assign(success=self.tasks["success"].astype("Float64")),
                         success=("success", "sum"), known=("success", "count"),
                         start=("start", "min"), end=("end", "max"), cost=("cost_usd", "sum"),
                         in_tok=("input_tokens", "sum"), out_tok=("output_tokens", "sum"))
        events = _per_run(self.events, start=("start", "min"), end=("end", "max"),
                          cost=("cost_usd", "sum"), est=("est_cost_usd", "sum"), in_tok=("input_tokens", "sum"),
                          out_tok=("output_tokens", "sum"))
        sizes = {t: self.table(t).groupby("run_id", sort=False, observed=True).size().to_dict()
                 for t in TABLES}
        rows = []
        for meta in metas:
            rid = meta.get("run_id")
            t = tasks.get(rid, {})
            e = events.get(rid, {})
            n_tasks = meta.get("tasks_total")
            n_tasks = sizes["tasks"].get(rid, 0) if n_tasks is None else int(n_tasks)
            successes = meta.get("tasks_passed")
            known = t.get("known", 0) if successes is None else n_tasks
            if successes is None:
                # No known outcome (a profile log): NA, not 0 successes.
                successes = int(_first_known(t.get("success")) if _known(t.get("success")) else 0) \
                    if known or not n_tasks else pd.NA
            pass_rate = successes / known if known else np.nan
            if meta.get("tasks_partial") and meta.get("tasks_passed") is None:
                pass_rate = np.nan  # the tasks table lists only failures: the rate is unknown
            tokens = t if _known(t.get("in_tok")) else e  # tasks' own totals, else the calls'
            rows.append({
                "run_id": rid,
                "format": meta.get("source_format"),
                "tasks": n_tasks,
                "successes": successes,
                "pass_rate": pass_rate,
                "events": sizes["events"].get(rid, 0),
                "messages": sizes["messages"].get(rid, 0),
                "failures": sizes["failures"].get(rid, 0),
                "duration_s": _run_duration(meta, t, e),
                "cost_usd": _first_known(t.get("cost"), e.get("cost")),
                # the price table's estimate for calls without a price: beside, never added
                "est_cost_usd": _first_known(e.get("est")),
                "input_tokens": _first_known(tokens.get("in_tok")),
                "output_tokens": _first_known(tokens.get("out_tok")),
                "problems": sizes["problems"].get(rid, 0),
            })
        out = pd.DataFrame(rows)
        if len(out):
            out["successes"] = out["successes"].astype("Int64")
        return out

    def __repr__(self) -> str:
        counts = ", ".join(f"{t}={len(getattr(self, t))}" for t in TABLES)
        return f"Run({self.meta.get('run_id')!r}, format={self.meta.get('source_format')!r}, {counts})"


def concat_runs(runs: list[Run]) -> Run:
    """Concatenate runs into one with a ``run_id`` column; run ids are made unique (a second
    ``r`` becomes ``r#2``). A run that already holds several (a ``load_runs`` result, or a
    loader's batch) is taken whole. Each table is concatenated once, and ``run_id`` becomes
    one categorical column (categories sorted, as a text column would group)."""
    seen: dict[str, int] = {}
    used: set[str] = set()
    metas, frames = [], {t: [] for t in TABLES}
    for run in runs:
        renamed = {}
        for sub in (run.meta.get("runs") or [run.meta]):
            rid = str(sub.get("run_id"))
            base = rid.split("#")[0] if rid not in seen and rid in used else rid
            new_id, n = rid, seen.get(base, 1)
            while new_id in used:  # a second "r" is "r#2", and never an "r#2" already there
                n += 1
                new_id = f"{base}#{n}"
            seen[base] = n
            used.add(new_id)
            meta = dict(sub)
            meta["run_id"] = new_id
            renamed[rid] = meta["run_id"]
            metas.append(meta)
        for t in TABLES:
            frame = getattr(run, t)
            if len(frame):
                ids = frame["run_id"].astype("string").fillna(next(iter(renamed.values())) if len(renamed) == 1 else pd.NA)
                frames[t].append((frame, ids.map(renamed) if any(k != v for k, v in renamed.items()) else ids))
    categories = pd.Index(sorted(m["run_id"] for m in metas))
    tables = {}
    for t in TABLES:
        if not frames[t]:
            tables[t] = empty_table(t)
            continue
        parts = [f for f, _ in frames[t]]
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        ids = np.concatenate([i.to_numpy(dtype=object) for _, i in frames[t]])
        frame["run_id"] = pd.Categorical(ids, categories=categories)
        tables[t] = frame
    formats = sorted({str(m.get("source_format")) for m in metas})
    meta = {
        "run_id": "+".join(m["run_id"] for m in metas) if len(metas) <= 4 else f"{len(metas)} runs",
        "source_format": formats[0] if len(formats) == 1 else "mixed",
        "runs": metas,
        "run_ids": [m["run_id"] for m in metas],
    }
    return Run(meta=meta, **tables)


def _json_encoder():
    """``json.dumps(value, ensure_ascii=False, default=str)`` without building an encoder per
    call: the C encoder the json module builds inside every ``dumps``, made once (0.6x the
    time for the small values of a tool call; loaders encode one per call). Without it, dumps."""
    try:
        from json.encoder import c_make_encoder, encode_basestring
    except ImportError:
        c_make_encoder = None
    if c_make_encoder is None:
        return functools.partial(json.dumps, ensure_ascii=False, default=str)
    # markers, default, encoder, indent, key/item separators, sort_keys, skipkeys, allow_nan;
    # no circular-reference markers: a cycle ends as a RecursionError, as nesting too deep does
    encode = c_make_encoder(None, str, encode_basestring, None, ": ", ", ", False, False, True)
    return lambda value: "".join(encode(value, 0))


json_text = _json_encoder()


def to_json_text(value: Any) -> str | None:
    """Serialize a value (tool calls, attrs) as JSON text for a string column."""
    if value is None:
        return None
    try:
        return json_text(value)
    except (TypeError, ValueError, RecursionError):  # circular or nested past the limit
        try:
            return json.dumps(str(value)[:10_000])
        except RecursionError:  # too deep even for its repr
            return json.dumps(f"<{type(value).__name__} nested too deep to show>")


# A \uD800-\uDFFF escape (with the backslashes before it) and an optional low half after it.
_SURROGATE_ESCAPE = re.compile(r"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?")


def scrub_surrogates(text: str, file: Any = None, problems: "Problems | None" = None,
                     first_line: int = 1) -> str:
    r"""JSON text with lone UTF-16 surrogate escapes (``"\ud800"``) replaced by ``\ufffd``.

    ``json.loads`` accepts them but gives a str that no UTF-8 text (so no Arrow string
    column) can hold; valid pairs (emoji) are kept. The replacements are one problem row.

    >>> scrub_surrogates('["\\ud800", "\\ud83d\\ude00"]')
    '["\\ufffd", "\\ud83d\\ude00"]'
    """
    if "\\ud" not in text and "\\uD" not in text:
        return text
    lines: list[int] = []

    def fix(match: re.Match) -> str:
        slashes, first, low = match.group(1), match.group(2), match.group(3)
        if len(slashes) % 2 == 0 or (first[1] in "89abAB" and low):
            return match.group(0)  # an escaped backslash, or a valid surrogate pair
        lines.extend([text.count("\n", 0, match.start()) + first_line] * (2 if low else 1))
        return slashes + "ufffd" + ("\\ufffd" if low else "")

    fixed = _SURROGATE_ESCAPE.sub(fix, text)
    if lines and problems is not None:
        problems.add(file, lines[0], f"{len(lines)} lone UTF-16 surrogate escape(s) in JSON "
                     "strings replaced by U+FFFD", text.splitlines()[lines[0] - first_line][:200]
                     if text.splitlines() else "")
    return fixed
