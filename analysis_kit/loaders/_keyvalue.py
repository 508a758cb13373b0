"""Fields of log lines to columns, vectorized with polars (no Python per line): ``key=value``
tokens, and timestamps.

A format names the keys its columns hold (``KeyValues(columns=...)``); ``extract`` gives each
a column ``k_<key>`` (its raw text, NA where absent or an absent value such as ``None``), and
``attrs``: a JSON object of every other key (keys sorted, so the text does not depend on
their order in the line; numbers are JSON numbers, True/False booleans, absent values null,
the rest strings; NA on a line with no such key). The first occurrence of a repeated key wins.

Fast path. A writer emits each event type with the same keys in the same order, so most
lines have one of a few "shapes" (key sequences). The shapes are learned from a sample of
the lines (and reused by the file's later blocks); a line of a known shape is split on
single spaces into exactly its tokens (one ``split_exact``, then a literal ``starts_with``
check per token), about ten times cheaper than one regex search per key. Only lines the
format lets through take it (``fast``; ``_blocks.scan`` flags the lines holding a character
that would make splitting on " " differ from the regex path or need JSON escaping). Every
other line, and every line of a shape not learned, takes the generic path (one regex per
key); both give the same columns.

>>> import polars as pl
>>> df = pl.DataFrame({"text": ["[X] a=1 b=q c=True"], "unsafe": [False]})
>>> out = KeyValues(("a",)).extract(df, tail=pl.col("text").str.slice(4), fast=pl.lit(True))
>>> out.select("k_a", "attrs").row(0)
('1', '{"b":"q","c":true}')
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

NUMBER = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$"
ABSENT = ("", "None", "none", "null", "NULL")
_SIMPLE_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
SHAPE_SAMPLE = 1000  # lines looked at to learn shapes, per round
MAX_SHAPES = 48      # shapes tried per block (more would cost more than the generic path)


def shapes(tails: list[str]) -> list[tuple[str, ...]]:
    """The key sequences of ``tails`` usable by the fast path, most frequent first: every
    token ``key=value`` with a plain key, no key twice.

    >>> shapes(["a=1 b=2", "b=1 a=2", "a=3 b=4", "a=1 a=2", "a=1 junk"])
    [('a', 'b'), ('b', 'a')]
    """
    counts: dict[tuple[str, ...], int] = {}
    for tail in tails:
        keys = tuple(tok.partition("=")[0] for tok in tail.split(" "))
        if "=" not in tail or not all("=" in tok for tok in tail.split(" ")):
            continue
        if len(set(keys)) != len(keys) or not all(_SIMPLE_KEY.match(k) for k in keys):
            continue
        counts[keys] = counts.get(keys, 0) + 1
    return sorted(counts, key=counts.get, reverse=True)


def _json_string(expr):
    """JSON string literal of ``expr`` (polars does the escaping)."""
    import polars as pl

    encoded = pl.struct(expr.alias("v")).struct.json_encode()
    return encoded.str.slice(5).str.strip_suffix("}")


@dataclass(frozen=True)
class KeyValues:
    """The keys held by columns (``columns``) and the values that mean absent (``absent``)."""

    columns: tuple[str, ...]
    absent: tuple[str, ...] = ABSENT

    def _json_value(self, value, string=_json_string):
        """A token's value as JSON: numbers, booleans, null, else ``string(value)``."""
        import polars as pl

        return (pl.when(value.str.contains(NUMBER)).then(value)
                .when(value.is_in(["True", "true"])).then(pl.lit("true"))
                .when(value.is_in(["False", "false"])).then(pl.lit("false"))
                .when(value.is_in(self.absent)).then(pl.lit("null"))
                .otherwise(string(value)))

    def _generic(self):
        """Columns k_<key> and attrs of any line, by one regex per key on ``text``."""
        import polars as pl

        text = pl.col("text")
        keys = [text.str.extract(rf"(?:^|\s){re.escape(k)}=(\S*)", 1).alias(f"k_{k}") for k in self.columns]
        rest = text.str.replace_all(rf"(?:^|\s)(?:{'|'.join(map(re.escape, self.columns))})=\S*", "")
        tokens = rest.str.extract_all(r"[^\s=\[\]]+=\S*")
        key = pl.element().str.extract(r"^([^=]+)=", 1)
        value = pl.element().str.replace(r"^[^=]+=", "")
        pairs = tokens.list.eval(pl.element().filter(key.is_first_distinct()).sort()).list.eval(
            pl.concat_str([_json_string(key), pl.lit(":"), self._json_value(value)]))
        attrs = (pl.when(pairs.list.len() > 0)
                 .then(pl.concat_str([pl.lit("{"), pairs.list.join(","), pl.lit("}")]))
                 .otherwise(None).alias("attrs"))
        return keys + [attrs]

    def _attrs_shape(self, keys: tuple[str, ...]):
        """attrs of lines of one shape: the other keys in sorted order, values typed. The
        fast path admits no quote, backslash or control character, so quoting needs no escaping."""
        import polars as pl

        names = sorted(k for k in keys if k not in self.columns)
        if not names:
            return pl.lit(None, pl.String).alias("attrs")
        pieces = []
        for i, k in enumerate(names):
            typed = self._json_value(pl.col(f"k_{k}"), lambda v: pl.concat_str([pl.lit('"'), v, pl.lit('"')]))
            pieces += [pl.lit(("{" if i == 0 else ",") + json.dumps(k) + ":"), typed]
        return pl.concat_str(pieces + [pl.lit("}")]).alias("attrs")

    def _match_shape(self, sub, keys: tuple[str, ...]):
        """(rows of ``sub`` whose tail has exactly the shape ``keys``, with k_ columns and
        attrs, or None; the other rows)."""
        import polars as pl

        c = pl.col
        # Split once into columns: a struct field taken from an expression re-runs the split.
        names = [f"__f{i}" for i in range(len(keys))]
        split = sub.select(c("tail").str.split_exact(" ", len(keys) - 1).struct.rename_fields(names)
                           .alias("f")).unnest("f")
        ok = pl.all_horizontal(*[c(f).str.starts_with(f"{k}=") for f, k in zip(names, keys)]).fill_null(False)
        ok = split.select(ok).to_series()
        values = [c(f).str.slice(len(k) + 1).alias(f"k_{k}") for f, k in zip(names, keys)]
        if ok.all():  # the usual case: no copy of the rows to split them
            hit = pl.concat([sub, split.select(*values)], how="horizontal")
            return hit.with_columns(self._attrs_shape(keys)), sub.clear()
        hit = pl.concat([sub.filter(ok), split.filter(ok).select(*values)], how="horizontal")
        if not len(hit):
            return None, sub
        return hit.with_columns(self._attrs_shape(keys)), sub.filter(~ok)

    def _by_shape(self, df, tail, fast, known: list):
        """(frames of rows parsed by shape, rows left for the generic path). ``known``: shapes
        that matched lines of earlier blocks of the file, tried first without learning (shared
        by the parsing threads; learning from samples in Python was ~4% of a block's time)."""
        import polars as pl

        c = pl.col
        ok = fast & ~c("unsafe")
        if df.select(ok).to_series().all():  # the usual block: no copy of the rows to split them
            rest = [df.clear()]
        else:
            rest = [df.filter(~ok)]  # (filters by expression: a Series predicate once made
            df = df.filter(ok)         # polars 2.1 panic in a later select, found by the fuzz test)
        if not len(df):
            return [], rest[0]
        df = df.with_columns(tail.alias("tail"))
        df = df.with_columns((c("tail").str.count_matches(" ", literal=True) + 1).alias("n_tok"))
        parts, tried, pending = [], set(), df
        for round_ in range(4):  # known shapes, then learn from the lines still unmatched
            if round_ == 0:
                found = list(known[:MAX_SHAPES])
            else:
                sample = pending.head(SHAPE_SAMPLE)["tail"].to_list()
                sample += pending.gather_every(max(1, len(pending) // SHAPE_SAMPLE))["tail"].to_list()
                found = [s for s in shapes(sample) if s not in tried][:MAX_SHAPES - len(tried)]
            if not found:
                if round_ == 0:
                    continue
                break
            tried.update(found)
            left = []
            for (n,), sub in pending.partition_by("n_tok", as_dict=True).items():
                for keys in (s for s in found if len(s) == n):
                    if not len(sub):
                        break
                    hit, sub = self._match_shape(sub, keys)
                    if hit is not None:
                        parts.append(hit)
                        if round_ and keys not in known and len(known) < MAX_SHAPES:
                            known.append(keys)
                left.append(sub)
            pending = pl.concat(left) if left else pending.clear()
            if len(pending) * 100 <= len(df):  # the few odd lines are cheaper by the generic path
                break
        rest.append(pending.drop("tail", "n_tok"))
        parts = [p.drop("tail", "n_tok") for p in parts]
        return parts, pl.concat(rest, how="vertical_relaxed")

    def extract(self, df, tail, fast, known: list | None = None):
        """``df`` (columns ``text`` and ``unsafe``) with columns k_<key> and attrs: by shape
        where ``fast`` holds and the line is not ``unsafe`` (``tail``: the text after the
        line's prefix, where the tokens start), else one regex per key. Rows come grouped by
        shape: put them back in line order once, on the fewer columns kept."""
        import polars as pl

        c = pl.col
        parts, rest = self._by_shape(df, tail, fast, [] if known is None else known)
        if len(rest):
            parts.append(rest.with_columns(*self._generic()))
        if not parts:
            return df.with_columns(*[pl.lit(None, pl.String).alias(f"k_{k}") for k in self.columns],
                                   pl.lit(None, pl.String).alias("attrs"))
        out = pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]
        missing = [pl.lit(None, pl.String).alias(f"k_{k}") for k in self.columns if f"k_{k}" not in out.columns]
        out = out.with_columns(missing) if missing else out
        # Absent values mean absent (attrs keeps them as JSON null).
        return out.with_columns(*[pl.when(c(f"k_{k}").is_in(self.absent)).then(None).otherwise(c(f"k_{k}"))
                                  .alias(f"k_{k}") for k in self.columns])


# ---------------------------------------------------------------- timestamps

def fixed_width_time(stamp):
    """UTC datetimes (ns) of ``stamp``, text of the fixed width ``YYYY-MM-DD HH:MM:SS.mmm``
    (then a space or its end); NA where it has another shape (a comma before the
    milliseconds, another width, ``T``): :func:`parse_time` reads those. Lines of a log share
    their minute: ``YYYY-MM-DD HH:MM`` goes through strptime with polars' cache (each distinct
    minute parsed once), and ``SS.mmm`` is checked by one regex and read as two integers:
    2.4x faster than strptime of every stamp (measured on a 32 MB block)."""
    import polars as pl

    minute = stamp.str.slice(0, 16).str.strptime(pl.Datetime("ns"), "%Y-%m-%d %H:%M", strict=False, cache=True)
    millis = (stamp.str.slice(17, 2).cast(pl.Int64, strict=False) * 1000
              + stamp.str.slice(20, 3).cast(pl.Int64, strict=False))
    seconds_ok = stamp.str.contains(r"^.{16}:[0-5][0-9]\.[0-9]{3}(?: |$)")
    end = (minute + pl.duration(milliseconds=millis)).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    return pl.when(seconds_ok).then(end).otherwise(None)


def parse_time(text):
    """UTC datetimes (ns) of ``text``, ``YYYY-MM-DD HH:MM:SS`` with a space or ``T``, optional
    fraction after ``.`` or ``,`` (naive: taken as UTC); NA where it does not parse."""
    import polars as pl

    return (text.str.replace("T", " ", literal=True).str.replace(",", ".", literal=True)
            .str.strptime(pl.Datetime("ns"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
            .dt.replace_time_zone("UTC"))
