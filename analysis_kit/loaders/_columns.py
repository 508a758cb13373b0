"""Declarative mapping from source records to table rows, in the spirit of
``inspect_ai.analysis``'s ``Column`` and ``import_record``.

A format module declares, per kind of record, a list of :class:`Column` (the table column's
name; where the value comes from, as a dotted path into the record or a function of the
record; whether it is required; a default) and feeds records to a :class:`Table`. The
column's type is the table contract's (``model.SCHEMA``), so it is declared once for every
format; only columns outside the contract name their own. Types are applied when the table
is built, a whole column at a time: a value that is present but of the wrong type becomes
NA plus a problem row naming the record it came from.

>>> from analysis_kit.model import Problems
>>> from analysis_kit.loaders._values import Where
>>> CALL = [Column("name", "model"), Column("duration_ms", fn=lambda r, w: r["seconds"] * 1000),
...         Column("input_tokens", "usage.input"), Column("kind", default="llm_call")]
>>> events, problems = Table("events"), Problems()
>>> _ = events.add({"model": "m", "seconds": 1.5, "usage": {"input": "many"}}, CALL,
...                Where(problems, "f.json", 7, "task t1"), task_id="t1")
>>> frame = events.frame()
>>> frame.loc[0, ["task_id", "kind", "name"]].tolist(), float(frame.loc[0, "duration_ms"])
(['t1', 'llm_call', 'm'], 1500.0)
>>> frame.loc[0, "input_tokens"]
<NA>
>>> problems.rows[0]["line"], problems.rows[0]["reason"]
(7, 'task t1: usage.input should be an integer, got text; taken as NA')
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ..model import NONNEGATIVE, SCHEMA, to_json_text
from ._values import Where, _type_name, utc_column

_NOT_OBJECT = object()  # a path ran into a value that is not an object


@dataclass(frozen=True)
class Column:
    """One column of a table row, read from a source record.

    - ``path``: dotted keys into the record (``"usage.input_tokens"``); a key whose parent is
      not an object is a problem ("usage is not an object") and NA;
    - ``fn(record, where)``: computes the value instead (it may report problems on
      ``where``; a ValueError/TypeError/KeyError it raises is a problem and NA);
    - ``required``: a record without this value makes no row (and one problem);
    - ``default``: the value when the source has none;
    - ``type``: only for columns outside the table contract (``str``, ``int``, ``float``,
      ``bool``, ``time``, ``json``, ``object``).
    """

    name: str
    path: str | None = None
    fn: Callable[[Any, Where], Any] | None = None
    required: bool = False
    default: Any = None
    type: str | None = None

    def read(self, record: Any, where: Where) -> Any:
        if self.fn is not None:
            try:
                value = self.fn(record, where)
            except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
                where.problem(f"{self.name}: {type(exc).__name__}: {exc}")
                value = None
        elif self.path is not None:
            value = _follow(record, self.path)
            if value is _NOT_OBJECT:
                value = None
                _report_not_object(record, self.path, where)
        else:
            value = None
        return self.default if value is None else value


def _follow(record: Any, path: str) -> Any:
    value = record
    for key in path.split("."):
        if value is None:
            return None
        if not isinstance(value, dict):
            return _NOT_OBJECT
        value = value.get(key)
    return value


def _report_not_object(record: Any, path: str, where: Where) -> None:
    keys = path.split(".")
    value = record
    for depth, key in enumerate(keys):
        if not isinstance(value, dict):
            parent = ".".join(keys[:depth]) or "the record"
            where.problem(f"{parent} should be an object, got {_type_name(value)}; taken as empty",
                          value, keys[depth - 1] if depth else None)
            return
        value = value.get(key)


def import_record(record: Any, columns: Sequence[Column], where: Where) -> dict[str, Any] | None:
    """The raw values of ``columns`` read from ``record`` (typed later, by the table); None
    when a required value is missing (one problem row)."""
    row: dict[str, Any] = {}
    for column in columns:
        value = column.read(record, where)
        if value is None and column.required:
            where.problem(f"no {column.path or column.name}: record skipped")
            return None
        row[column.name] = value
    return row


def unread(record: Any, read: Iterable[str], where: Where, prefix: str, ignore: Iterable[str] = ()) -> None:
    """A problem row, once per run, for each non-empty part of ``record`` that the loader
    neither reads nor knowingly ignores ("not read: traces.environment"): a new writer
    version must not lose timed operations, messages, usage or errors quietly."""
    if not isinstance(record, dict):
        return
    known = set(read) | set(ignore)
    for key, value in record.items():
        if key in known or value in (None, "", [], {}):
            continue
        name = f"{prefix}.{key}" if prefix else str(key)
        where.problems.once(where.file, where.line, f"not read: {name}", value)


class Table:
    """Rows of one table, collected column by column and typed once at the end.

    ``add(record, columns, where, **context)`` reads one record; ``append(where, **values)``
    adds a row of values the loader computed itself. ``frame()`` returns the DataFrame with
    the contract's types (``Run`` adds the columns no row had).
    """

    def __init__(self, name: str, types: dict[str, str] | None = None):
        self.name = name
        self.kinds = {**dict(SCHEMA[name]), **(types or {})}
        self.values: dict[str, list] = {}
        self.wheres: list[Where] = []
        self.specs: list[Sequence[Column] | None] = []  # each row's columns, to name a bad value's path
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def add(self, record: Any, columns: Sequence[Column], where: Where, **context: Any) -> dict | None:
        row = import_record(record, columns, where)
        if row is None:
            return None
        for key, value in context.items():
            if row.get(key) is None:
                row[key] = value
        for column in columns:
            if column.type and column.name not in self.kinds:
                self.kinds[column.name] = column.type
        self.append(where, **row)
        self.specs[-1] = columns
        return row

    def append(self, where: Where, **values: Any) -> None:
        n = self.n
        for key, value in values.items():
            if value is None:
                continue
            column = self.values.get(key)
            if column is None:
                column = self.values[key] = [None] * n
            elif len(column) < n:
                column.extend([None] * (n - len(column)))
            column.append(value)
        self.wheres.append(where)
        self.specs.append(None)
        self.n += 1

    def source_name(self, row: int, name: str) -> str:
        """How a bad value of column ``name`` in ``row`` is named in its problem: the path it
        was read from, else the column's name."""
        for column in self.specs[row] or ():
            if column.name == name and column.path:
                return column.path
        return name

    def frame(self) -> pd.DataFrame:
        columns = {}
        for name, values in self.values.items():
            if len(values) < self.n:
                values.extend([None] * (self.n - len(values)))
            kind = self.kinds.get(name)
            wheres = _Named(self, name)
            checked = typed(values, kind, name, wheres, name in NONNEGATIVE.get(self.name, ()))
            columns[name] = checked
        return pd.DataFrame(columns, index=pd.RangeIndex(self.n))


class _Named:
    """The rows' ``Where``s, each naming a bad value of one column by the path it came from."""

    def __init__(self, table: Table, name: str):
        self.table, self.name = table, name

    def __getitem__(self, row: int) -> "_NamedWhere":
        return _NamedWhere(self.table.wheres[row], self.table.source_name(row, self.name))

    def __iter__(self):
        return (self[i] for i in range(self.table.n))


class _NamedWhere:
    """A ``Where`` whose typed reads use ``label`` as the value's name."""

    __slots__ = ("where", "label")

    def __init__(self, where: Where, label: str):
        self.where, self.label = where, label

    def __getattr__(self, method: str):
        read = getattr(self.where, method)
        if method in ("text", "integer", "number", "flag", "time"):
            return lambda value, _name, **kw: read(value, self.label, **kw)
        return read


_NONE = type(None)


def typed(values: list, kind: str | None, name: str, wheres: Sequence[Where], nonnegative: bool = False):
    """``values`` as a column of ``kind``; each value present but of the wrong type is NA
    plus a problem on its row's ``where``. The usual all-right column takes one fast path."""
    types = set(map(type, values))
    if kind == "str":
        if types <= {str, _NONE}:
            return pd.array(values, dtype="string")
        return pd.array([w.text(v, name) for v, w in zip(values, wheres)], dtype="string")
    if kind == "int":
        if types <= {int, _NONE}:
            try:
                out = pd.array(values, dtype="Int64")
            except (OverflowError, TypeError, ValueError):
                out = None
            if out is not None and not (nonnegative and (out < 0).any()):
                return out
        return pd.array([w.integer(v, name, nonnegative=nonnegative) for v, w in zip(values, wheres)],
                        dtype="Int64")
    if kind == "float":
        if types <= {int, float, _NONE}:
            out = np.array([np.nan if v is None else v for v in values], dtype="float64")
            present = np.array([v is not None for v in values])
            wrong = present & ~np.isfinite(out)
            if nonnegative:
                wrong |= present & (out < 0)
            for i in np.flatnonzero(wrong):
                wheres[i].number(values[i], name, nonnegative=nonnegative)  # reports it
                out[i] = np.nan
            return out
        return np.array([np.nan if (x := w.number(v, name, nonnegative=nonnegative)) is None else x
                         for v, w in zip(values, wheres)], dtype="float64")
    if kind == "bool":
        if types <= {bool, _NONE}:
            return pd.array(values, dtype="boolean")
        return pd.array([w.flag(v, name) for v, w in zip(values, wheres)], dtype="boolean")
    if kind == "time":
        out, bad = utc_column(values)
        for i in bad:
            wheres[i].time(values[i], name)  # reports it
        return out
    if kind == "json":
        return pd.array([v if v is None or isinstance(v, str) else to_json_text(v) for v in values],
                        dtype="string")
    if kind in (None, "object"):
        if kind is None and types <= {str, _NONE}:
            return pd.array(values, dtype="string")
        if kind is None and types <= {int, float, _NONE} and float in types:
            return np.array([np.nan if v is None else v for v in values], dtype="float64")
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    raise ValueError(f"unknown column type {kind!r} for {name}")


def finite_or_none(value: Any) -> float | None:
    """A float for a finite number, else None (for values computed by a loader)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def json_or_text(value: Any) -> Any:
    """A JSON string's value, or the string itself when it is not JSON (tool arguments)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value
