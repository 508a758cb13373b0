"""Reading source files: bytes to text, JSON, JSONL and YAML, every defect a problem row.

What every format needs before its own mapping, in one place:

- ``read_text``: a file's text. A BOM (UTF-8 or UTF-16) is dropped; bytes that are not
  UTF-8 are one problem row naming the first bad line, and are decoded with replacement
  characters (or with a fallback code page the format names, e.g. MassGen's Windows-1252).
- ``parse_json``: a whole document. Lone surrogate escapes are replaced (one problem); JSON
  nested deeper than the parser's limit is a problem (``LoadError`` when strict), never a
  ``RecursionError``; a damaged or truncated document is salvaged: the complete top-level
  keys before the damage, and element by element the arrays the format names.
- ``iter_jsonl``: one value per line with its line number; a bad line is a problem and the
  next line is read; a last line cut mid-write is named as such.
- ``iter_json_array``: the elements of a top-level array one at a time, with their lines.
- ``Source``: a document's text with line lookup for problems found after parsing.

>>> from analysis_kit.model import Problems
>>> problems = Problems()
>>> value, _ = parse_json(Source("f.json", '{"a": 1, "runs": [{"x": 1}, {"x": 2}, '),
...                       problems, arrays=("runs",))
>>> value, problems.rows[0]["reason"]
({'a': 1, 'runs': [{'x': 1}, {'x': 2}]}, 'file ends inside the runs array after 2 complete elements: it was cut')
"""

from __future__ import annotations

import bisect
import codecs
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from ..model import Problems, scrub_surrogates

BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"))
RAW_CONTEXT = 100  # characters each side of a defect kept as the problem's raw text
_WS = re.compile(r"[ \t\n\r]*")
_WS_COMMA = re.compile(r"[ \t\n\r,]*")
MISSING = object()  # parse_json's value when nothing could be read


class Source:
    """A document's text and where it came from; line numbers of offsets on demand.

    >>> Source("f", "a\\nb\\nc").line_at(4)
    3
    """

    __slots__ = ("path", "text", "first_line", "_newlines", "offsets", "damaged")

    def __init__(self, path: Any, text: str, first_line: int = 1):
        self.path = path
        self.text = text
        self.first_line = first_line
        self._newlines: list[int] | None = None
        self.offsets: dict[str, list[int]] = {}  # array name -> text offset of each element
        self.damaged = False  # set by parse_json when the document had to be salvaged

    def line_at(self, pos: int | None) -> int | None:
        """The 1-based line of text offset ``pos`` (None for None)."""
        if pos is None or pos < 0:
            return None
        if self._newlines is None:  # one pass, then each lookup is a bisection
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        return bisect.bisect_left(self._newlines, pos) + self.first_line

    def key_line(self, key: str, start: int = 0) -> int | None:
        """The line of the first ``"key"`` at or after offset ``start`` (else of ``start``)."""
        found = self.text.find(f'"{key}"', start)
        return self.line_at(found if found >= 0 else start)

    def element_line(self, array: str, index: int, key: str | None = None) -> int | None:
        """The line of element ``index`` of the top-level array ``array`` (``""``: the
        document is an array), or of its ``"key"``. The elements' offsets are found by one
        walk of the document, the first time a problem needs one."""
        if array not in self.offsets:
            self.offsets[array] = element_offsets(self, array)
        offsets = self.offsets[array]
        if index >= len(offsets):
            return None
        return self.line_at(offsets[index]) if key is None else self.key_line(key, offsets[index])

    def around(self, pos: int, before: int = RAW_CONTEXT, after: int = RAW_CONTEXT) -> str:
        return self.text[max(0, pos - before):pos + after]

    def line_text(self, line: int) -> str:
        """The text of 1-based line ``line`` (for a problem's raw column)."""
        lines = self.text.split("\n", line - self.first_line + 1)
        index = line - self.first_line
        return lines[index] if 0 <= index < len(lines) else ""


# ------------------------------------------------------------------------------- text

def head(path: Path, size: int = 64 * 1024) -> bytes:
    """The first ``size`` bytes of a file without a UTF-8 BOM, for ``sniff`` (OSError raises)."""
    with open(path, "rb") as fh:
        data = fh.read(size)
    return data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data


def sniffed(path: Any, file: Callable[[Path], bool] | None = None,
            folder: Callable[[Path], bool] | None = None) -> bool:
    """A format's ``sniff`` answer, never raising: ``file(path)`` for a file, ``folder(path)``
    for a directory, False for anything else and whenever the file system refuses (a file
    that cannot be read is not recognised; ``load`` says why when it is asked to read it).

    >>> sniffed("/nonexistent", file=lambda p: True)
    False
    """
    try:
        p = Path(path)
        if p.is_file():
            return file is not None and bool(file(p))
        return folder is not None and p.is_dir() and bool(folder(p))
    except (OSError, ValueError):
        return False


def read_bytes(path: Path, problems: Problems) -> bytes | None:
    """The file's bytes, or None with a problem row when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        problems.add(path, None, f"cannot read file: {exc.strerror or exc}")
        return None


def decode(data: bytes, path: Any, problems: Problems, *, fallback: str | None = None,
           first_line: int = 1) -> str:
    """``data`` as text. A BOM is dropped (UTF-16 with a BOM is decoded as such); bytes that
    are not UTF-8 are one problem row (its line, the byte, and how the text was decoded).

    >>> p = Problems(); decode(b"ok \\xff", "f.txt", p), p.rows[0]["reason"]
    ('ok \\ufffd', 'bytes that are not UTF-8 (0xff at byte 3); decoded with replacement characters')
    """
    for bom, encoding in BOMS:
        if data.startswith(bom):
            if encoding != "utf-8":
                return data[len(bom):].decode(encoding, "replace")
            data = data[len(bom):]
            break
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text, how = None, "decoded with replacement characters"
        if fallback:
            try:
                text, how = data.decode(fallback), f"decoded as {fallback}"
            except UnicodeDecodeError:
                pass
        if text is None:
            text = data.decode("utf-8", "replace")
        start = data.rfind(b"\n", 0, exc.start) + 1
        end = data.find(b"\n", exc.start)
        problems.add(path, data.count(b"\n", 0, exc.start) + first_line,
                     f"bytes that are not UTF-8 (0x{data[exc.start]:02x} at byte {exc.start}); {how}",
                     data[start:end if end >= 0 else len(data)])
        return text


def read_text(path: Path, problems: Problems, *, fallback: str | None = None) -> str | None:
    """The file's text (see :func:`decode`), or None with a problem when it cannot be read."""
    data = read_bytes(path, problems)
    return None if data is None else decode(data, path, problems, fallback=fallback)


# ------------------------------------------------------------------------------- JSON

def parse_json(source: Source, problems: Problems, *, arrays: Iterable[str] | Mapping[str, str] = (),
               empty_ok: bool = False) -> tuple[Any, dict[str, list[int]]]:
    """The document of ``source`` and, for a salvaged one, the text offset of each element
    of the named ``arrays`` (``{name: [offsets]}``, empty when the document was intact;
    also kept in ``source.offsets``). ``arrays`` may map each name to what one element is
    called in problems (``{"simulations": "simulation"}``).

    An empty document is a problem (unless ``empty_ok``); nesting beyond the parser's limit
    is a problem with no value; a damaged document keeps what came before the damage: the
    complete top-level keys, and the complete elements of the ``arrays`` (top-level keys
    whose value is an array) or of a top-level array. Returns ``MISSING`` as the value when
    nothing could be read.
    """
    text = source.text = scrub_surrogates(source.text, source.path, problems, source.first_line)
    if not text or text.isspace():  # isspace stops at the first character that is not: no copy
        if not empty_ok:
            problems.add(source.path, None, "empty file, not JSON")
        return MISSING, {}
    try:
        return json.loads(text), {}
    except RecursionError:
        source.damaged = True
        problems.add(source.path, None, "JSON nested deeper than the parser's limit "
                     f"(about {_depth_limit()} levels); not read", text[:RAW_CONTEXT])
        return MISSING, {}
    except json.JSONDecodeError as exc:
        source.damaged = True
        before = len(problems)
        value, positions = _salvage(source, problems, _nouns(arrays))
        source.offsets.update(positions)
        if len(problems) == before:  # e.g. junk after a complete document
            problems.add(source.path, source.line_at(exc.pos),
                         f"invalid JSON: {exc.msg} (column {exc.colno})", source.around(exc.pos))
        return value, positions


def _nouns(arrays: Iterable[str] | Mapping[str, str]) -> dict[str, str]:
    return dict(arrays) if isinstance(arrays, Mapping) else {name: "element" for name in arrays}


def element_offsets(source: Source, array: str) -> list[int]:
    """Text offsets of the elements of the top-level array ``array`` (or of a top-level
    array when ``array`` is ``""``): found by walking the document once, when a problem
    needs the line of an element of an intact document."""
    return _salvage(source, Problems(False), {array: "element"})[1].get(array, [])


def _depth_limit() -> int:
    import sys

    return sys.getrecursionlimit()


def _salvage(source: Source, problems: Problems, arrays: dict[str, str]) -> tuple[Any, dict[str, list[int]]]:
    """Decode a damaged document key by key (named arrays element by element)."""
    text, n = source.text, len(source.text)
    pos = _WS.match(text, 0).end()
    if pos < n and text[pos] == "[":
        items, offsets, _pos, _complete = _salvage_array(source, pos + 1, problems, "", arrays.get("", "element"))
        return items, {"": offsets}
    if pos >= n or text[pos] != "{":
        problems.add(source.path, source.line_at(pos), "not JSON (no object or array at the start)",
                     text[:RAW_CONTEXT * 2])
        return MISSING, {}
    decoder = json.JSONDecoder()
    doc: dict = {}
    positions: dict[str, list[int]] = {}
    pos += 1
    while True:
        pos = _WS_COMMA.match(text, pos).end()
        if pos >= n:
            problems.add(source.path, source.line_at(n), "file ends inside the top-level object "
                         f"after the keys {sorted(doc)}: it was cut", text[-RAW_CONTEXT * 2:])
            return doc, positions
        if text[pos] == "}":
            return doc, positions
        try:
            key, pos = decoder.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()
            if not isinstance(key, str) or pos >= n or text[pos] != ":":
                raise json.JSONDecodeError("expected a key and ':'", text, pos)
            pos = _WS.match(text, pos + 1).end()
        except json.JSONDecodeError as err:
            problems.add(source.path, source.line_at(err.pos),
                         f"invalid JSON at the top level: {err.msg}", source.around(err.pos, 0))
            return doc, positions
        if key in arrays and pos < n and text[pos] == "[":
            doc[key], positions[key], pos, complete = _salvage_array(source, pos + 1, problems, key, arrays[key])
            if not complete:
                return doc, positions
            continue
        try:
            doc[key], pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError) as err:
            at = getattr(err, "pos", pos)
            problems.add(source.path, source.line_at(at), f"top-level key {key!r} is cut or invalid "
                         f"JSON ({getattr(err, 'msg', 'nested too deeply')}); its value is not used",
                         source.around(at, 0))
            resume = _next_array_key(text, at, set(arrays) - set(doc))
            if resume is None:
                return doc, positions
            pos = resume


def _next_array_key(text: str, start: int, arrays: set[str]) -> int | None:
    """Offset of the next named array key after damage (a damaged header may be followed by
    intact records)."""
    found = [p for p in (text.find(f'"{a}"', start) for a in arrays) if p >= 0]
    return min(found) if found else None


def _salvage_array(source: Source, pos: int, problems: Problems, name: str,
                   noun: str = "element") -> tuple[list, list[int], int, bool]:
    """Elements of the array whose ``[`` is just before ``pos``: (items, offsets, end, complete)."""
    text, n = source.text, len(source.text)
    decoder = json.JSONDecoder()
    items: list = []
    offsets: list[int] = []
    label = "the top-level array" if not name else f"the {name} array"
    while True:
        pos = _WS_COMMA.match(text, pos).end()
        if pos >= n:
            problems.add(source.path, source.line_at(n), f"file ends inside {label} after "
                         f"{len(items)} complete {noun}s: it was cut", text[-RAW_CONTEXT * 2:])
            return items, offsets, pos, False
        if text[pos] == "]":
            return items, offsets, pos + 1, True
        start = pos
        try:
            item, pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError) as err:
            what = getattr(err, "msg", "nested too deeply")
            problems.add(source.path, source.line_at(getattr(err, "pos", start)),
                         f"{noun} #{len(items) + 1} of {label} (starting at line "
                         f"{source.line_at(start)}) is cut or invalid JSON ({what}); the "
                         f"{len(items)} complete {noun}s before it are kept, the rest is not read",
                         text[start:start + RAW_CONTEXT * 2])
            return items, offsets, pos, False
        items.append(item)
        offsets.append(start)


def iter_json_array(source: Source, problems: Problems) -> Iterator[tuple[int, Any]]:
    """(line, element) of each element of a top-level JSON array, decoded one at a time, so
    a broken tail keeps the good head."""
    items, offsets = _salvage(source, problems, {})
    if items is MISSING:
        return
    if not isinstance(items, list):
        problems.add(source.path, 1, f"expected a JSON array, not {type(items).__name__}",
                     source.text[:RAW_CONTEXT * 2])
        return
    for item, offset in zip(items, offsets.get("", [])):
        yield source.line_at(offset), item


def iter_jsonl(path: Path, problems: Problems, *, data: bytes | None = None) -> Iterator[tuple[int, Any]]:
    """(line number, value) of every line of a JSON Lines file that parses; each other
    non-blank line is a problem row (invalid UTF-8 is replaced and the line still read)."""
    if data is None:
        data = read_bytes(path, problems)
        if data is None:
            return
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if not data.strip():
        problems.add(path, None, "empty file: no JSON lines")
        return
    lines = data.split(b"\n")
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        text = decode(raw, path, problems, first_line=lineno)
        text = scrub_surrogates(text, path, problems, first_line=lineno)
        try:
            yield lineno, json.loads(text)
        except RecursionError:
            problems.add(path, lineno, "JSON nested deeper than the parser's limit; line not read",
                         text[:RAW_CONTEXT])
        except ValueError as exc:
            cut = lineno == len(lines) and not data.endswith(b"\n")
            problems.add(path, lineno, "truncated last line (the writer was stopped mid-line?)"
                         if cut else f"invalid JSON: {exc}", text)


def read_json(path: Path, problems: Problems, *, arrays: Iterable[str] = (),
              fallback: str | None = None) -> tuple[Any, Source | None]:
    """``parse_json`` of a file: (value or MISSING, its Source or None when unreadable)."""
    text = read_text(path, problems, fallback=fallback)
    if text is None:
        return MISSING, None
    source = Source(path, text)
    value, _ = parse_json(source, problems, arrays=arrays)
    return value, source


def read_yaml(path: Path, problems: Problems) -> Any:
    """A YAML file's value (safe loader), or MISSING with a problem naming the line."""
    import yaml

    text = read_text(path, problems)
    if text is None:
        return MISSING
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problems.add(path, line, f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
                     Source(path, text).line_text(line) if line else "")
        return MISSING
    except RecursionError:
        problems.add(path, None, "YAML nested too deeply; not read")
        return MISSING
