"""Typed values from untrusted records: every value that is present but unusable is NA
plus a problem row naming where it was, never an exception and never a silent NA.

- ``to_utc``: one timestamp to UTC (ISO text with or without an offset, naive taken as
  UTC; epoch numbers in s, ms, us or ns told apart by magnitude; datetimes), ``None`` when
  absent and ``BAD`` when present but unreadable or outside what the tables can hold
  (1677-2262).
- ``utc_column``: the same for a whole list of values at once (vectorized).
- ``Where``: a place in a source (file, line, a label such as ``task t1``) whose typed
  reads (``number``, ``integer``, ``text``, ``flag``, ``time``, ``mapping``, ``listing``)
  report their problems against it.

>>> from analysis_kit.model import Problems
>>> w = Where(Problems(), "f.jsonl", 3, "task t1")
>>> w.number("2.5", "duration"), w.time(1767225600, "start"), w.problems.rows[0]["reason"]
(None, Timestamp('2026-01-01 00:00:00+0000', tz='UTC'), 'task t1: duration should be a number, got str; taken as NA')
"""

from __future__ import annotations

import json
import math
import re
import warnings
from datetime import datetime
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..model import UTC_NS, Problems, scrub_surrogates

BAD = object()  # a value that is present but unreadable
_NANOS = re.compile(r"[.,]\d{7}")  # a fraction finer than microseconds
_TIME_MIN = pd.Timestamp.min.tz_localize("UTC")
_TIME_MAX = pd.Timestamp.max.tz_localize("UTC")
# Epoch magnitudes: seconds up to year 5138, then milli-, micro-, nanoseconds.
_EPOCH_UNITS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"), (float("inf"), "ns"))


def to_utc_ns(value: Any) -> int | None:
    """``to_utc`` as integer nanoseconds since the epoch; None when absent or unreadable.

    >>> to_utc_ns("2025-01-01T00:00:00.123456789Z"), to_utc_ns(1735689600.5), to_utc_ns("soon")
    (1735689600123456789, 1735689600500000000, None)
    """
    ts = to_utc(value)
    return None if ts is None or ts is BAD else ts.value


def epoch_unit(value: float) -> str:
    """The unit of an epoch number, told by its magnitude.

    >>> epoch_unit(1.7e9), epoch_unit(1.7e12), epoch_unit(1.7e15), epoch_unit(1.7e18)
    ('s', 'ms', 'us', 'ns')
    """
    magnitude = abs(value)
    return next(unit for limit, unit in _EPOCH_UNITS if magnitude < limit)


def to_utc(value: Any) -> pd.Timestamp | None | object:
    """A timestamp as a UTC ``pd.Timestamp``; None when absent, ``BAD`` when unreadable.

    >>> to_utc("2025-01-02T03:04:05"), to_utc("2025-01-02 03:04:05+02:00")
    (Timestamp('2025-01-02 03:04:05+0000', tz='UTC'), Timestamp('2025-01-02 01:04:05+0000', tz='UTC'))
    >>> to_utc(1735787045000) == to_utc(1735787045), to_utc("yesterday") is BAD, to_utc(None)
    (True, True, None)
    """
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            return BAD
        if isinstance(value, (int, float)):
            if not math.isfinite(value):
                return BAD
            ts = pd.Timestamp(value, unit=epoch_unit(value), tz="UTC")
        elif isinstance(value, str):
            text = value.strip()
            if _NANOS.search(text):  # fromisoformat would keep microseconds only
                ts = pd.Timestamp(text)
            else:
                try:  # the C parser of ISO 8601 first: ~10x faster than pandas' own
                    ts = pd.Timestamp(datetime.fromisoformat(text.replace("Z", "+00:00")))
                except ValueError:
                    ts = pd.Timestamp(text)
        elif isinstance(value, (datetime, pd.Timestamp, np.datetime64)):
            ts = pd.Timestamp(value)
        else:
            return BAD
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return BAD
    if ts is pd.NaT:
        return BAD
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts if _TIME_MIN <= ts <= _TIME_MAX else BAD


def utc_column(values: Sequence[Any]) -> tuple[pd.arrays.DatetimeArray, list[int]]:
    """``values`` as a UTC datetime array, and the positions of the values that were present
    but unreadable (NaT in the array). ISO strings are parsed in one vectorized pass; only
    what that pass cannot read (epoch numbers, other layouts) goes value by value."""
    values = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    fast = _numpy_iso(values)
    if fast is not None:
        return fast
    missing = pd.isna(values) | (values == "")
    texts = _filled(values, np.array([type(v) is not str for v in values], dtype=bool))
    try:  # text only: numbers (epochs) go one by one below
        parsed = pd.to_datetime(pd.Series(texts, dtype=object), format="ISO8601", utc=True, errors="coerce")
        # Parsed at the text's own resolution: a year past 2262 is readable there but not in
        # the tables' nanoseconds, so it is unreadable here.
        parsed = parsed.where((parsed >= _TIME_MIN) & (parsed <= _TIME_MAX))
        out = parsed.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("ns").to_numpy(dtype="datetime64[ns]", copy=True)
    except (ValueError, TypeError, OverflowError):
        out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    bad: list[int] = []
    for i in np.flatnonzero(np.isnat(out) & ~missing):  # not ISO 8601: one by one
        ts = to_utc(values[i])
        if ts is BAD:
            bad.append(int(i))
        elif ts is not None:
            out[i] = ts.tz_convert("UTC").tz_localize(None).to_datetime64()
    return pd.array(out).tz_localize("UTC").astype(UTC_NS), bad


def _filled(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = values.copy()
    out[mask] = None
    return out


_US_MIN, _US_MAX = (np.datetime64(t.tz_localize(None), "us") for t in (_TIME_MIN, _TIME_MAX))


def _numpy_iso(values: np.ndarray) -> tuple | None:
    """``utc_column`` by numpy's own ISO 8601 parser, when every present value is text it
    reads (10x less fixed cost than pandas for the small columns of a small run); None when
    it cannot. Parsed in microseconds first: a year past 2262 would wrap around in ns."""
    if not len(values) or not _all_text(values):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # offsets are applied, with a warning that they are "deprecated"
        try:
            us = values.astype("datetime64[us]")  # None and "" are NaT
        except (ValueError, TypeError, OverflowError):
            return None
    nat = np.isnat(us)
    if nat.any() and (nat & ~(pd.isna(values) | (values == ""))).any():
        return None  # text numpy reads as "no time" ("NaT"): the general path reports it
    if not (nat | ((us >= _US_MIN) & (us <= _US_MAX))).all():
        return None  # out of range somewhere: the general path reports each
    return pd.array(us.astype("datetime64[ns]")).tz_localize("UTC").astype(UTC_NS), []


try:  # pandas' C check "every value is text, NA skipped"
    from pandas._libs.lib import is_string_array as _is_string_array

    def _all_text(values: np.ndarray) -> bool:
        return bool(_is_string_array(values, skipna=True))
except ImportError:  # a pandas without it
    def _all_text(values: np.ndarray) -> bool:
        present = values[~pd.isna(values)]
        return bool(len(present)) and set(map(type, present)) == {str}


def seconds_between(start: pd.Series, end: pd.Series) -> np.ndarray:
    """end - start in seconds, NaN where either is unknown (numpy on the nanoseconds)."""
    a, b = start.to_numpy(dtype="datetime64[ns]"), end.to_numpy(dtype="datetime64[ns]")
    out = (b - a).astype("float64") / 1e9
    out[np.isnat(a) | np.isnat(b)] = np.nan
    return out


def zero_is_no_price(cost: Any, *tokens: Any) -> bool:
    """A reported cost of 0.0 beside tokens used: MASEval and MassGen write 0.0 for a model
    their price table lacks, so it is no price (NA, attrs ``reported_cost: 0.0``), not free.

    >>> zero_is_no_price(0.0, 120, None), zero_is_no_price(0.0, 0, None), zero_is_no_price(0.5, 120)
    (True, False, False)
    """
    return cost == 0 and any(t for t in tokens if t)


def short_json(value: Any, cut: int = 200) -> str:
    """A value as short JSON text for a problem's raw column."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text[:cut]


_RANGE = 2.0 ** 62  # a count or amount beyond this is a corrupt value, not a measurement


class Where:
    """A place in a source that typed reads report their problems against.

    ``label`` prefixes each reason (``"task t1: duration should be a number, got str; taken as NA"``).
    ``line`` is the line of the place; ``locate(key)``, when given, finds the line of a key
    within it instead, on demand (JSON documents: the line of ``"reward"`` in a simulation).
    """

    __slots__ = ("problems", "file", "line", "label", "locate")

    def __init__(self, problems: Problems, file: Any, line: int | None = None, label: str = "",
                 locate: Callable[[str | None], int | None] | None = None):
        self.problems, self.file, self.line, self.label, self.locate = problems, file, line, label, locate

    def at(self, line: int | None = None, label: str | None = None) -> "Where":
        """The same source at another line or with another label."""
        return Where(self.problems, self.file, self.line if line is None else line,
                     self.label if label is None else label, None if line is not None else self.locate)

    def problem(self, reason: str, raw: Any = None, key: str | None = None) -> None:
        prefix = f"{self.label}: " if self.label else ""
        line = self.locate(key) if self.locate is not None else self.line
        self.problems.add(self.file, line, prefix + reason, short_json(raw) if raw is not None else "")

    def wrong(self, name: str, wanted: str, value: Any, outcome: str = "taken as NA") -> None:
        """The problem of a value of the wrong type: "trial should be an integer, got str; taken as NA"."""
        self.problem(f"{name} should be {wanted}, got {type(value).__name__}; {outcome}", value, name)

    def number(self, value: Any, name: str, *, nonnegative: bool = False) -> float | None:
        """A finite number (``nonnegative``: and >= 0); anything else present is NA plus a problem."""
        if value is None:
            return None
        if (type(value) is float or type(value) is int) and -_RANGE <= value <= _RANGE and (value >= 0 or not nonnegative):
            return float(value)  # the usual value, checked first (NaN fails the range test)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.wrong(name, "a number", value)
            return None
        if not math.isfinite(value) or abs(value) > _RANGE:
            self.problem(f"{name} is out of range ({value}); taken as NA", value, name)
            return None
        if nonnegative and value < 0:
            self.problem(f"{name} is negative ({value}); taken as NA", value, name)
            return None
        return float(value)

    def integer(self, value: Any, name: str, *, nonnegative: bool = False) -> int | None:
        """A whole number (a float with no fraction counts); anything else is NA plus a problem."""
        if type(value) is int and -_RANGE <= value <= _RANGE and (value >= 0 or not nonnegative):
            return value  # the usual value, checked first
        if value is not None and not isinstance(value, (int, float)) or isinstance(value, bool):
            self.wrong(name, "an integer", value)
            return None
        number = self.number(value, name, nonnegative=nonnegative)
        if number is None:
            return None
        if not number.is_integer():
            self.problem(f"{name} should be an integer, got {value}; taken as NA", value, name)
            return None
        return int(number)

    def text(self, value: Any, name: str) -> str | None:
        """Text; numbers are written as text, objects and lists are a problem (kept as JSON)."""
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        self.wrong(name, "text", value, "kept as JSON text")
        return short_json(value, cut=10**9)

    def string(self, value: Any, name: str) -> str | None:
        """A short string such as an id or a status (a whole number is written as text);
        anything else is NA plus a problem."""
        if value is None or type(value) is str:
            return value
        if type(value) is int or (type(value) is float and value.is_integer()):
            return str(int(value))
        self.wrong(name, "a string", value)
        return None

    def flag(self, value: Any, name: str) -> bool | None:
        """A boolean (true/false, 1/0); anything else is NA plus a problem."""
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.wrong(name, "true or false", value)
        return None

    def time(self, value: Any, name: str, *, iso_only: bool = False) -> pd.Timestamp | None:
        """A UTC timestamp (see :func:`to_utc`; ``iso_only``: text only, no epoch numbers);
        unreadable is NA plus a problem."""
        if value is None:
            return None
        if iso_only and not isinstance(value, str):
            self.wrong(name, "an ISO time string", value)
            return None
        ts = to_utc(value)
        if ts is BAD:
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                self.problem(f"{name} {value!r} is not a readable time; taken as NA", value, name)
            else:
                self.wrong(name, "a time", value)
            return None
        return ts

    def arguments(self, value: Any, name: str) -> Any:
        """Tool-call arguments: JSON text as its value; text that is not JSON is kept as it is
        (plus a problem); anything else as it is."""
        if type(value) is not str:
            return value
        try:
            return json.loads(scrub_surrogates(value))
        except (ValueError, RecursionError):
            self.problem(f"{name}: arguments are not valid JSON; kept as the raw string", value, "arguments")
            return value

    def mapping(self, value: Any, name: str) -> dict:
        """An object; absent is ``{}``, anything else is ``{}`` plus a problem."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.wrong(name, "an object", value, "taken as empty")
            return {}
        return value

    def listing(self, value: Any, name: str) -> list:
        """A list; absent is ``[]``, anything else is ``[]`` plus a problem."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.wrong(name, "a list", value, "taken as empty")
            return []
        return value
