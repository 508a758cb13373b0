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
(7, 'task t1: usage.input should be an integer, got str; taken as NA')
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ..model import NONNEGATIVE, SCHEMA, _na_array, _repeated, to_json_text
from ._values import Where, utc_column

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
            where.problem(f"{parent} should be an object, got {type(value).__name__}; taken as empty",
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
    known = read if isinstance(read, (set, frozenset)) and not ignore else set(read) | set(ignore)
    for key in record.keys() - known:  # the usual record has nothing else: one set difference
        value = record[key]
        if value in (None, "", [], {}):
            continue
        name = f"{prefix}.{key}" if prefix else str(key)
        line = where.locate(key) if where.locate is not None else where.line
        where.problems.once(where.file, line, f"not read: {name}", value)


class Table:
    """Rows of one table, collected column by column and typed once at the end.

    ``add(record, columns, where, **context)`` reads one record; ``append(where, **values)``
    adds a row of values the loader computed itself. ``frame()`` returns the DataFrame with
    every standard column in the contract's order and types, then the declared extras.
    """

    def __init__(self, name: str, types: dict[str, str] | None = None, fields: Sequence[str] | None = None):
        """``types``: the format's extra columns and their types; each is in the frame even
        when no row has a value. ``fields``: for a loader's loop over hundreds of thousands
        of records, the table's rows are lists of these columns' values in this order
        (``add_row`` takes such a list): a list costs half of a dict to build, and the frame
        needs no pass over the rows to learn their columns."""
        self.name = name
        self.declared = dict(types or {})
        self.kinds = {**dict(SCHEMA[name]), **self.declared}
        self.fields = tuple(fields) if fields is not None else None
        self._at = {field: i for i, field in enumerate(self.fields)} if self.fields is not None else None
        self.rows: list = []  # a dict per row, or a list in ``fields`` order
        self.wheres: list[Where] = []
        self.specs: dict[int, Sequence[Column]] = {}  # a row's columns, to name a bad value's path

    @property
    def n(self) -> int:
        return len(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

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
        self.specs[len(self.rows)] = columns
        self.add_row(where, self._positional(row) if self._at is not None else row)
        return row

    def append(self, where: Where, **values: Any) -> None:
        self.add_row(where, self._positional(values) if self._at is not None else values)

    def add_row(self, where: Where, row: dict[str, Any] | list) -> int:
        """``append`` of a row the loader built (its hot loops build a literal, not kwargs):
        a dict, or a list in ``fields`` order for a table with fields. Returns its number."""
        self.rows.append(row)
        self.wheres.append(where)
        return len(self.rows) - 1

    def _positional(self, row: dict[str, Any]) -> list:
        unknown = row.keys() - self._at.keys()
        if unknown:  # a loader's mistake, not the data's
            raise ValueError(f"{self.name}: {sorted(unknown)} are not among the table's fields")
        return [row.get(field) for field in self.fields]

    def get(self, row: int, name: str) -> Any:
        values = self.rows[row]
        return values.get(name) if self._at is None else values[self._at[name]]

    def set(self, row: int, name: str, value: Any) -> None:
        """Change one value of a row already added (a tool call's end, known at its result)."""
        if self._at is None:
            self.rows[row][name] = value
        else:
            self.rows[row][self._at[name]] = value

    def source_name(self, row: int, name: str) -> str:
        """How a bad value of column ``name`` in ``row`` is named in its problem: the path it
        was read from, else the column's name."""
        for column in self.specs.get(row, ()):
            if column.name == name and column.path:
                return column.path
        return name

    def frame(self, run_id: str | None = None) -> pd.DataFrame:
        """The table: every standard column first, in the contract's order and types (NA where
        no row had a value), then the extra columns. ``run_id`` fills that column (as ``Run``
        would, without a second pass over the frame)."""
        names, values = self._columns()
        columns = {}
        for name, column in zip(names, values):
            if name == "run_id" and run_id is not None:
                continue  # filled below
            kind = self.kinds.get(name)
            columns[name] = typed(column, kind, name, _Named(self, name), name in NONNEGATIVE.get(self.name, ()))
        ordered = {name: columns.pop(name) if name in columns else _na_array(kind, self.n)
                   for name, kind in SCHEMA[self.name]}
        if run_id is not None:
            ordered["run_id"] = _repeated(run_id, self.n)
        for name, kind in self.declared.items():  # declared extra columns exist even when empty
            if name not in ordered:
                ordered[name] = columns.pop(name) if name in columns else _na_array(kind, self.n)
        ordered.update(columns)
        return pd.DataFrame(ordered, index=pd.RangeIndex(self.n), copy=False)

    def _columns(self) -> tuple[list[str], list[np.ndarray]]:
        """The names of the columns any row has, and each column's values as an object array
        (None where a row has no value)."""
        if self.fields is not None:
            if not self.rows:
                return list(self.fields), [np.empty(0, dtype=object) for _ in self.fields]
            grid = _rows_array(self.rows)
            return list(self.fields), [grid[:, j] for j in range(len(self.fields))]
        union = set().union(*self.rows)
        first = list(self.rows[0]) if self.rows else []
        names = first + sorted(union.difference(first))  # the first row's order, then the others by name
        grid = _grid(self.rows, names)
        return names, [grid[:, j] for j in range(len(names))]


def _rows_array(rows: list[list]) -> np.ndarray:
    """Lists of equal length as a 2-D object array; a value that is itself a list stays one
    value (pandas' C loop; numpy's own constructor would look inside it)."""
    try:
        from pandas._libs.lib import to_object_array

        return to_object_array(rows)
    except (ImportError, TypeError):  # a pandas without it
        grid = np.empty((len(rows), len(rows[0])), dtype=object)
        for j, column in enumerate(zip(*rows)):
            grid[:, j] = np.fromiter(column, dtype=object, count=len(rows))
        return grid


def _grid(rows: list[dict], names: list[str]) -> np.ndarray:
    """The rows' values as an object array, one column per name (NaN where a row has none):
    pandas' own C loop, 4x faster than a comprehension per column."""
    try:
        from pandas._libs.lib import dicts_to_array

        return dicts_to_array(rows, names) if rows else np.empty((0, len(names)), dtype=object)
    except (ImportError, TypeError):  # a pandas without it
        grid = np.empty((len(rows), len(names)), dtype=object)
        for j, name in enumerate(names):
            grid[:, j] = [row.get(name) for row in rows]
        return grid


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


_STRING = pd.StringDtype("python")  # built from Python str far faster than the Arrow-backed one


def _objects(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):  # element by element: a list of lists must stay 1-D
        out[i] = v
    return out


def _filled(values: np.ndarray, missing: np.ndarray, fill: Any) -> np.ndarray:
    out = values.copy()
    out[missing] = fill
    return out


def typed(values: Any, kind: str | None, name: str, wheres: Sequence[Where], nonnegative: bool = False):
    """``values`` as a column of ``kind``; each value present but of the wrong type is NA
    plus a problem on its row's ``where``. A column whose values all have the usual type is
    converted in C, a whole column at a time; only the others go value by value."""
    values = _objects(values)
    if kind == "time":
        out, bad = utc_column(values)
        for i in bad:
            wheres[i].time(values[i], name)  # reports it
        return out
    fast = _usual(values, kind, nonnegative)
    if fast is not None:
        return fast
    missing = pd.isna(values)  # None, NaN, NA: absent
    types = set(map(type, values[~missing])) if len(values) else set()
    if kind == "str":
        if types <= {str}:
            return pd.array(values, dtype=_STRING)
        return pd.array([w.text(v, name) if v is not None else None
                         for v, w in zip(_filled(values, missing, None), wheres)], dtype=_STRING)
    if kind == "int":
        if types <= {int, float} and not (float in types and not _whole(values, missing)):
            try:
                ints = _filled(values, missing, 0).astype(np.int64)
            except (OverflowError, ValueError, TypeError):
                ints = None
            if ints is not None and not (nonnegative and (ints < 0).any()):
                return pd.arrays.IntegerArray(ints, missing)
        return pd.array([w.integer(v, name, nonnegative=nonnegative)
                         for v, w in zip(_filled(values, missing, None), wheres)], dtype="Int64")
    if kind == "float":
        if types <= {int, float}:
            out = _filled(values, missing, np.nan).astype("float64")
            wrong = ~missing & ~np.isfinite(out)
            if nonnegative:
                wrong |= ~missing & (out < 0)
            for i in np.flatnonzero(wrong):
                wheres[i].number(values[i], name, nonnegative=nonnegative)  # reports it
                out[i] = np.nan
            return out
        return np.array([np.nan if (x := w.number(v, name, nonnegative=nonnegative)) is None else x
                         for v, w in zip(_filled(values, missing, None), wheres)], dtype="float64")
    if kind == "bool":
        if types <= {bool}:
            return pd.arrays.BooleanArray(_filled(values, missing, False).astype(bool), missing)
        return pd.array([w.flag(v, name) for v, w in zip(_filled(values, missing, None), wheres)], dtype="boolean")
    if kind == "json":
        if types <= {str}:
            return pd.array(values, dtype=_STRING)
        return pd.array([v if v is None or isinstance(v, str) else to_json_text(v)
                         for v in _filled(values, missing, None)], dtype=_STRING)
    if kind is None and types and types <= {str}:
        return pd.array(values, dtype=_STRING)
    if kind is None and types and types <= {int, float}:
        return _filled(values, missing, np.nan).astype("float64")
    if kind in (None, "object"):
        return _filled(values, missing, None)
    raise ValueError(f"unknown column type {kind!r} for {name}")


try:  # pandas' own C checks of an object array ("all text, NA skipped"): 7x cheaper than a type set
    from pandas._libs.lib import is_bool_array, is_integer_array, is_string_array, maybe_convert_objects
except ImportError:  # a pandas without them: the general path does the same, slower
    is_string_array = None


def _usual(values: np.ndarray, kind: str | None, nonnegative: bool):
    """The column when every present value already has the kind's type (the usual case,
    checked in C), else None."""
    if is_string_array is None or not len(values):
        return None
    if kind in ("str", "json") and is_string_array(values, skipna=True):
        return pd.array(values, dtype=_STRING)
    if kind == "int" and is_integer_array(values, skipna=True):
        try:  # no value missing (an index, a trial): one conversion
            ints, missing = values.astype(np.int64), np.zeros(len(values), dtype=bool)
        except (OverflowError, ValueError, TypeError):
            missing = pd.isna(values)
            try:
                ints = _filled(values, missing, 0).astype(np.int64)
            except (OverflowError, ValueError, TypeError):
                return None
        return None if nonnegative and (ints < 0).any() else pd.arrays.IntegerArray(ints, missing)
    if kind == "float":  # numbers and None only: float64 with NaN, in C (anything else stays object)
        out = maybe_convert_objects(values)
        if out.dtype.kind not in "fi":
            return None
        out = out.astype("float64", copy=False)
        finite = np.isfinite(out) | np.isnan(out)  # NaN is a missing value here, inf is not
        return out if finite.all() and not (nonnegative and (out < 0).any()) else None
    if kind == "bool" and is_bool_array(values, skipna=True):
        missing = pd.isna(values)
        return pd.arrays.BooleanArray(_filled(values, missing, False).astype(bool), missing)
    return None


def _whole(values: np.ndarray, missing: np.ndarray) -> bool:
    """Every present number is a whole number within float precision (1.0 counts as 1)."""
    numbers = _filled(values, missing, 0.0).astype("float64")
    return bool(np.isfinite(numbers).all() and (np.abs(numbers) <= 2.0 ** 53).all()
                and (numbers == np.round(numbers)).all())


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
