"""One way to write numbers, for every table, plot, widget and CLI line of the kit.

Durations in readable units (``820 ms``, ``4.3 s``, ``2 min 5 s``), shares and rates as
percentages, counts as integers, costs with a currency sign and enough digits, never
scientific notation, lists as text, timestamps to the second (UTC). A missing value is
an empty string: the reader sees a blank, not ``nan`` or ``<NA>``.

Tables follow the kit's column names: a column ``*_ms`` holds milliseconds, ``*_s``
seconds, ``*_usd`` or ``cost*`` dollars, ``share``/``*_rate`` shares, ``*tokens``/``count``
counts. :func:`format_frame` picks each column's format from its name and dtype (a
``unit`` column, as in ``analyses.compare``, picks it per row), and :func:`header` names
the column without the unit its values now carry.

>>> duration(0.82), duration(4.3), duration(125), duration_ms(0.42)
('820 ms', '4.3 s', '2 min 5 s', '0.42 ms')
>>> percent(0.80556), cost(0.3069884), cost(12.3456), count(1234567.0)
('80.6%', '$0.307', '$12.35', '1,234,567')
>>> timestamp("2025-12-23T10:04:40.223+00:00"), text_list(["gpt-4o", "o3"])
('2025-12-23 10:04:40', 'gpt-4o, o3')
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "missing", "duration", "duration_ms", "percent", "count", "cost", "number", "timestamp",
    "text_list", "value", "column_format", "format_column", "format_frame", "header",
    "FORMATS", "duration_axis", "percent_axis", "cost_axis", "count_axis", "axis_formatter", "unit_format",
    "rows_as_text",
]


def missing(x: Any) -> bool:
    """True for None, NaN, NA and NaT (and never raises on odd values).

    >>> missing(None), missing(float("nan")), missing(pd.NA), missing(0)
    (True, True, True, False)
    """
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    if isinstance(x, (str, bytes, list, tuple, dict, np.ndarray)):
        return False
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _float(x: Any) -> float | None:
    if missing(x) or isinstance(x, bool):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


# ----------------------------------------------------------------------------- scalars

def duration(seconds: Any) -> str:
    """Seconds in the unit a reader takes in at a glance.

    >>> [duration(s) for s in (0, 0.0004, 0.0043, 0.82, 4.34, 42.4, 59.97, 3599.6, 3725, 90061)]
    ['0 ms', '0.4 ms', '4.3 ms', '820 ms', '4.3 s', '42 s', '1 min', '1 h', '1 h 2 min', '1 d 1 h']
    >>> duration(-2.5), duration(None)
    ('-2.5 s', '')
    """
    s = _float(seconds)
    if s is None:
        return ""
    if math.isinf(s):
        return "∞" if s > 0 else "-∞"
    sign, s = ("-" if s < 0 else ""), abs(s)
    ms = s * 1000
    if round(ms, 1) < 10:
        if ms == 0:
            text = "0 ms"
        elif ms < 1:  # two significant digits, no trailing zeros: 0.42 ms, 0.4 ms
            text = f"{ms:.{min(_decimals_for(ms, 2), 12)}f}".rstrip("0").rstrip(".") + " ms"
        else:
            text = f"{ms:.1f} ms"
    elif round(ms) < 1000:
        text = f"{ms:.0f} ms"
    elif round(s, 1) < 10:
        text = f"{s:.1f} s"
    elif round(s) < 60:
        text = f"{s:.0f} s"
    elif round(s) < 3600:
        whole = int(round(s))
        text = f"{whole // 60} min" + (f" {whole % 60} s" if whole % 60 else "")
    elif round(s / 60) < 24 * 60:
        minutes = int(round(s / 60))
        text = f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")
    else:
        hours = int(round(s / 3600))
        text = f"{hours // 24:,} d" + (f" {hours % 24} h" if hours % 24 else "")
    return sign + text


def duration_ms(ms: Any) -> str:
    """Milliseconds, written like :func:`duration`.

    >>> duration_ms(820), duration_ms(4300), duration_ms(None)
    ('820 ms', '4.3 s', '')
    """
    v = _float(ms)
    return "" if v is None else duration(v / 1000)


def percent(share: Any, *, signed: bool = False) -> str:
    """A share (0..1) as a percentage: one decimal; a small non-zero share keeps two
    significant digits rather than reading as 0.

    >>> percent(0.5), percent(1), percent(0), percent(0.00042), percent(0.12, signed=True)
    ('50.0%', '100%', '0%', '0.042%', '+12.0%')
    """
    v = _float(share)
    if v is None:
        return ""
    p = v * 100
    if p == 0 or abs(p) == 100:
        text = f"{p:.0f}%"
    elif abs(p) < 0.05:
        text = f"{p:.{min(_decimals_for(p, 2), 12)}f}%"
    else:
        text = f"{p:.1f}%"
    return ("+" + text) if signed and p > 0 else text


def counted(n: Any, noun: str, plural: str | None = None) -> str:
    """A count with its noun, singular for one.

    >>> counted(1, "call"), counted(1234, "call"), counted(2, "failure", "failures")
    ('1 call', '1,234 calls', '2 failures')
    """
    return f"{count(n)} {noun if _float(n) == 1 else plural or noun + 's'}"


def count(n: Any) -> str:
    """A count as an integer with thousands separators (a non-integral value keeps its
    decimals, see :func:`number`).

    >>> count(1234567.0), count(3), count(2.5)
    ('1,234,567', '3', '2.50')
    """
    v = _float(n)
    if v is None:
        return ""
    if v.is_integer():
        return f"{int(v):,}"
    return number(v)


def _decimals_for(v: float, significant: int) -> int:
    """Decimals that show ``significant`` digits of ``v`` (at least 0)."""
    if v == 0:
        return 0
    return max(0, significant - 1 - int(math.floor(math.log10(abs(v)))))


def cost(usd: Any, *, currency: str = "$", signed: bool = False) -> str:
    """Dollars with the sign and enough digits to tell small costs apart: cents from $1
    up, three significant digits below.

    >>> cost(0.3069884), cost(0.0000123), cost(1234.5), cost(0), cost(-0.0034)
    ('$0.307', '$0.0000123', '$1,234.50', '$0.00', '-$0.00340')
    """
    v = _float(usd)
    if v is None:
        return ""
    sign = "-" if v < 0 else ("+" if signed and v > 0 else "")
    a = abs(v)
    if a == 0 or a >= 1:
        body = f"{a:,.2f}"
    else:
        body = f"{a:,.{min(_decimals_for(a, 3), 12)}f}"
    return f"{sign}{currency}{body}"


def number(x: Any, *, significant: int = 3) -> str:
    """A measurement without a unit: thousands separated, three significant digits for
    small values, never scientific notation.

    >>> number(21003.56), number(12.3456), number(0.000123456), number(-0.5), number(1e21), number(1.0)
    ('21,004', '12.35', '0.000123', '-0.500', '1,000,000,000,000,000,000,000', '1')
    """
    v = _float(x)
    if v is None:
        return ""
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    a = abs(v)
    if a >= 100 or (v.is_integer() and a < 1e15):  # a whole value reads as one: 1, not 1.00
        return f"{v:,.0f}"
    if a >= 1:
        return f"{v:,.2f}"
    return f"{v:.{min(_decimals_for(a, significant), 15)}f}"


def timestamp(t: Any) -> str:
    """A point in time to the second, in UTC (naive times are taken as UTC).

    >>> timestamp(pd.Timestamp("2025-01-01 12:00:03.9", tz="Europe/Paris"))
    '2025-01-01 11:00:03'
    >>> timestamp("not a time")
    'not a time'
    """
    if missing(t):
        return ""
    try:
        ts = pd.Timestamp(t)
    except (TypeError, ValueError):
        return str(t)
    if ts is pd.NaT:
        return ""
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def text_list(values: Any) -> str:
    """A list (or its JSON text) as comma-separated text.

    >>> text_list(["a", "b"]), text_list('["x"]'), text_list("plain")
    ('a, b', 'x', 'plain')
    """
    if isinstance(values, str):
        stripped = values.strip()
        if stripped.startswith("["):
            try:
                values = json.loads(stripped)
            except ValueError:
                return values
        else:
            return values
    if isinstance(values, (list, tuple, set, np.ndarray, pd.Series)):
        return ", ".join(str(v) for v in values if not missing(v))
    return "" if missing(values) else str(values)


def _text(x: Any) -> str:
    if missing(x):
        return ""
    if isinstance(x, (list, tuple, set, np.ndarray)):
        return text_list(x)
    if isinstance(x, dict):
        return json.dumps(x, ensure_ascii=False, default=str)
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, pd.Timestamp):
        return timestamp(x)
    if isinstance(x, (float, np.floating)):
        return count(x) if float(x).is_integer() else number(x)
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    return str(x)


FORMATS: dict[str, Callable[[Any], str]] = {
    "duration_s": duration, "duration_ms": duration_ms, "percent": percent, "count": count,
    "cost": cost, "number": number, "timestamp": timestamp, "list": text_list, "text": _text,
    "id": lambda x: "" if missing(x) else (str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)),
    "signed_percent": lambda x: percent(x, signed=True),
}


def value(x: Any, kind: str = "text") -> str:
    """``x`` written in format ``kind`` (a key of :data:`FORMATS`).

    >>> value(0.25, "percent"), value(1500, "duration_ms"), value(True)
    ('25.0%', '1.5 s', 'yes')
    """
    return FORMATS[kind](x)


# ----------------------------------------------------------------------------- columns

_PERCENT_NAMES = {"share", "pass_rate", "pass_hat_k", "cache_hit_rate", "rate", "hit_rate"}
_COUNT_WORDS = ("tokens", "calls", "count", "events", "messages", "failures", "problems", "tasks",
                "successes", "trials", "attempts", "answers", "votes", "retries", "restarts",
                "lines", "rows", "in_flight", "timeouts", "chars", "lost")
_ID_NAMES = {"trial", "idx", "round", "step", "k", "line", "epoch", "turn", "attempt", "repeat"}


def column_format(name: Any, series: pd.Series | None = None) -> str:
    """The format of a column, from its name (the kit's unit suffixes) and dtype.

    >>> [column_format(n) for n in ("p90_ms", "wall_s", "cost_usd", "cost_share", "input_tokens", "task_id")]
    ['duration_ms', 'duration_s', 'cost', 'percent', 'count', 'id']
    """
    n = str(name).lower()
    dtype = getattr(series, "dtype", None)
    if dtype is not None and (isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype)):
        return "timestamp"
    if n in ("started", "ended", "start", "end", "timestamp", "time", "last_event", "first_event"):
        return "timestamp"
    if n in ("models", "tools", "unknown_tools", "agents"):
        return "list"
    if n.endswith("_id") or n == "id" or n in _ID_NAMES:
        return "id"
    if n in _PERCENT_NAMES or n.endswith("_share") or n.endswith("_rate") or n.startswith("share"):
        return "percent"
    if n.endswith("_ms"):
        return "duration_ms"
    if n.endswith("_s") or n in ("seconds", "duration"):
        return "duration_s"
    if n.endswith("_usd") or "cost" in n:
        return "cost"
    if any(n == w or n.endswith("_" + w) or n.startswith(w + "_") or n.endswith(w) for w in _COUNT_WORDS):
        return "count"
    if dtype is not None and (pd.api.types.is_bool_dtype(dtype)):
        return "text"
    if dtype is not None and pd.api.types.is_integer_dtype(dtype):
        return "count"
    if dtype is not None and pd.api.types.is_float_dtype(dtype):
        return "number"
    return "text"


def unit_format(unit: Any) -> str:
    """The format of a value whose unit is written out (``analyses.compare``'s ``unit``)."""
    u = str(unit).lower() if not missing(unit) else ""
    if u.startswith("share") or u in ("%", "percent", "rate"):
        return "percent"
    if u.startswith("usd") or u.startswith("$"):
        return "cost"
    if u == "ms":
        return "duration_ms"
    if u in ("s", "seconds"):
        return "duration_s"
    if u.startswith("tokens") or u.startswith("count") or u.startswith("calls"):
        return "number"
    return "number"


_PER_ROW = ("a", "b", "diff", "ci_low", "ci_high", "value", "mean", "median")


def format_column(series: pd.Series, kind: str | None = None, *, name: Any = None) -> list[str]:
    """The column's values as text in format ``kind`` (inferred from ``name`` and dtype
    when None). Distinct values are formatted once.

    >>> format_column(pd.Series([1500.0, None, 42.0]), name="p50_ms")
    ['1.5 s', '', '42 ms']
    """
    kind = kind or column_format(series.name if name is None else name, series)
    fmt = FORMATS[kind]
    values = series.tolist()
    cache: dict[Any, str] = {}
    out = []
    for v in values:
        try:
            key = v if not isinstance(v, (list, dict, np.ndarray, set)) else None
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in cache:
            out.append(cache[key])
            continue
        text = fmt(v)
        if key is not None:
            cache[key] = text
        out.append(text)
    return out


def format_frame(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> list[list[str]]:
    """Every column of ``frame`` as text (a list of columns). ``formats`` names the
    format of columns where the name does not say; a ``unit`` column sets the format of
    ``a``, ``b``, ``diff``, ``ci_low``, ``ci_high`` row by row.

    >>> df = pd.DataFrame({"metric": ["pass_rate", "p50_ms"], "a": [0.5, 820.0],
    ...                    "unit": ["share of tasks", "ms"]})
    >>> format_frame(df)[1]
    ['50.0%', '820 ms']
    """
    formats = dict(formats or {})
    units = frame["unit"].tolist() if "unit" in frame.columns else None
    columns = []
    for i, name in enumerate(frame.columns):
        series = frame.iloc[:, i]
        if units is not None and name in _PER_ROW and name not in formats:
            columns.append([FORMATS[unit_format(u)](v) for v, u in zip(series.tolist(), units)])
        else:
            columns.append(format_column(series, formats.get(name), name=name))
    return columns


_HEADER_NAMES = {"pass_hat_k": "pass^k", "n_a": "n (a)", "n_b": "n (b)", "ci_low": "95% CI low",
                 "ci_high": "95% CI high", "in_flight": "in flight"}
_UNIT_SUFFIX = re.compile(r"_(ms|s|usd)$")


def header(name: Any) -> str:
    """A column name for readers: the unit suffix dropped (the values carry their unit)
    and underscores as spaces.

    >>> header("p90_ms"), header("cost_usd"), header("input_tokens"), header("wall_s")
    ('p90', 'cost', 'input tokens', 'wall')
    """
    text = str(name)
    if text in _HEADER_NAMES:
        return _HEADER_NAMES[text]
    stripped = _UNIT_SUFFIX.sub("", text)
    return (stripped or text).replace("_", " ")


def is_numeric_format(kind: str) -> bool:
    """Formats whose text is right-aligned in a table."""
    return kind in ("duration_s", "duration_ms", "percent", "count", "cost", "number", "signed_percent")


# ----------------------------------------------------------------------------- plot axes

def axis_formatter(fn: Callable[[float], str]):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, pos: fn(v))


def duration_axis(ax, unit: str = "ms", axis: str = "x") -> None:
    """Tick labels of ``axis`` as durations (``820 ms``, ``4.3 s``), the values being in
    ``unit`` (``ms`` or ``s``). On a log axis the minor labels are left out."""
    from matplotlib.ticker import NullFormatter

    fn = duration_ms if unit == "ms" else duration
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(axis_formatter(fn))
    if target.get_scale() == "log":
        target.set_minor_formatter(NullFormatter())


def percent_axis(ax, axis: str = "y") -> None:
    """Tick labels of ``axis`` as percentages of shares (0..1)."""
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(axis_formatter(
        lambda v: f"{v * 100:.0f}%" if abs(v * 100 - round(v * 100)) < 1e-9 else percent(v)))


def cost_axis(ax, axis: str = "x") -> None:
    """Tick labels of ``axis`` as dollars."""
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(axis_formatter(cost))


def count_axis(ax, axis: str = "y") -> None:
    """Tick labels of ``axis`` as counts with thousands separators."""
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(axis_formatter(
        lambda v: count(v) if float(v).is_integer() else number(v)))


def rows_as_text(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> tuple[list[str], list[list[str]], list[bool]]:
    """(headers, rows of text, right-aligned flags) of ``frame``: what a table shows.

    >>> rows_as_text(pd.DataFrame({"cost_usd": [0.5], "task_id": ["a"]}))
    (['cost', 'task id'], [['$0.500', 'a']], [True, False])
    """
    formats = dict(formats or {})
    columns = format_frame(frame, formats)
    units = "unit" in frame.columns
    numeric = []
    for i, name in enumerate(frame.columns):
        kind = formats.get(name) or column_format(name, frame.iloc[:, i])
        numeric.append(is_numeric_format(kind) or (units and name in _PER_ROW))
    rows = [list(r) for r in zip(*columns)] if columns else []
    return [header(c) for c in frame.columns], rows, numeric

