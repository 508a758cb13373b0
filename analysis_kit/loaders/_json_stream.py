"""A top-level JSON object read key by key, with chosen arrays yielded one element at a time.

For logs that are one big JSON object holding one big array (an Inspect AI ``.json`` log's
``samples``): the array is never held whole, only the element being decoded. Each value is
decoded by the standard library's C decoder (``raw_decode``) from a buffer that grows until
the value is complete, so the work stays linear. A damaged element is skipped (its extent
found by matching brackets outside strings) and reported; a file that ends inside a value
stops the reading with an error saying where.

>>> import io
>>> doc = io.BytesIO(b'{"eval": {"task": "t"}, "samples": [{"id": 1}, {"id": 2}], "n": 2}')
>>> [(key, index, value) for key, index, value in iter_object(doc, streamed={"samples"})]
[('eval', None, {'task': 't'}), ('samples', 0, {'id': 1}), ('samples', 1, {'id': 2}), ('n', None, 2)]
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, BinaryIO, Callable, Iterator

from ..model import scrub_surrogates

_FIRST_READ = 1 << 20
_WS = re.compile(r"[ \t\n\r]*")
# A string (escapes included) or one bracket: enough to find where a damaged value ends.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},]', re.S)


class JsonStreamError(ValueError):
    """The document cannot be read on from here: ``offset`` is the character offset."""

    def __init__(self, reason: str, offset: int):
        super().__init__(f"{reason} (character {offset})")
        self.reason, self.offset = reason, offset


class BadElement:
    """Stands for an array element that is not valid JSON: ``reason``, ``offset``, ``raw``."""

    def __init__(self, reason: str, offset: int, raw: str):
        self.reason, self.offset, self.raw = reason, offset, raw

    def __repr__(self) -> str:
        return f"BadElement({self.reason!r}, {self.offset})"


class _Buffer:
    """Decoded text of the stream from ``base`` on; grows on demand, drops what was read.
    Bytes that are not UTF-8 are replaced (U+FFFD) and said once to ``on_problem``."""

    def __init__(self, stream: BinaryIO, on_problem: Callable[[str], None]):
        self.stream, self.on_problem = stream, on_problem
        self._said_bytes = False
        self.text = ""
        self.pos = 0  # index into text
        self.base = 0  # characters dropped before text[0]
        self.eof = False
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self._next_read = _FIRST_READ

    def offset(self) -> int:
        return self.base + self.pos

    def more(self) -> bool:
        """Read more (twice as much as last time); False at the end of the stream."""
        if self.eof:
            return False
        chunk = self.stream.read(self._next_read)
        self._next_read = min(self._next_read * 2, 1 << 28)
        if self.pos > (1 << 16):  # keep only what is still to be read
            self.base += self.pos
            self.text = self.text[self.pos:]
            self.pos = 0
        self.eof = not chunk
        try:
            self.text += self._decoder.decode(chunk, final=self.eof)
        except UnicodeDecodeError as exc:
            if not self._said_bytes:
                self.on_problem(f"bytes that are not UTF-8 (0x{exc.object[exc.start]:02x}) near character "
                                f"{self.base + len(self.text) + exc.start}; decoded with replacement characters")
                self._said_bytes = True
            self._decoder.reset()  # a character cut by this chunk's edge is lost with the bad bytes
            self.text += chunk.decode("utf-8", "replace")
        return not self.eof

    def reset_read_size(self) -> None:
        self._next_read = _FIRST_READ

    def peek(self) -> str:
        """The next non-space character ('' at the end), skipping spaces."""
        while True:
            self.pos = _WS.match(self.text, self.pos).end()
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""

    def expect(self, chars: str) -> str:
        found = self.peek()
        if not found or found not in chars:
            what = "the end of the file" if not found else repr(found)
            raise JsonStreamError(f"expected {' or '.join(map(repr, chars))}, found {what}", self.offset())
        self.pos += 1
        return found


def _incomplete(exc: json.JSONDecodeError, text: str) -> bool:
    """Whether the decoder may have stopped because the text ends (a literal, number or
    escape cut by the buffer's end; a string not closed yet) rather than bad JSON."""
    return exc.pos >= len(text) - 8 or exc.msg.startswith("Unterminated string")


def _decode_value(buf: _Buffer, decoder: json.JSONDecoder) -> Any:
    """The next value; raises JsonStreamError when the file ends inside it, ValueError
    (with the offset in .offset) when it is malformed. Lone surrogate escapes (``"\\ud800"``),
    which no UTF-8 text can hold, are replaced by U+FFFD and said to ``on_problem``."""
    buf.peek()
    buf.reset_read_size()
    while True:
        try:
            value, end = decoder.raw_decode(buf.text, buf.pos)
        except json.JSONDecodeError as exc:
            if _incomplete(exc, buf.text) and buf.more():
                continue
            if _incomplete(exc, buf.text):
                raise JsonStreamError(f"the file ends inside a value ({exc.msg})", buf.offset()) from None
            raise
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and end >= len(buf.text) and buf.more():  # the number may go on
            continue
        start, buf.pos = buf.pos, end
        segment = buf.text[start:end]
        if "\\ud" in segment or "\\uD" in segment:
            scrubbed = scrub_surrogates(segment)
            if scrubbed != segment:
                buf.on_problem(f"lone UTF-16 surrogate escapes replaced by U+FFFD (value at character "
                               f"{buf.base + start})")
                return json.loads(scrubbed)
        return value


def _skip_value(buf: _Buffer) -> str:
    """Skip a malformed value up to the ',' or ']' that ends it at its own depth (brackets
    inside strings ignored); return its text, cut. Best effort: a damaged string can hide
    the real end."""
    start = buf.pos
    while True:
        depth = 0
        for match in _TOKENS.finditer(buf.text, start):
            token = match.group()
            if token in "[{":
                depth += 1
            elif token in "]}" and depth > 0:
                depth -= 1
            elif token in ",]" and depth == 0:
                buf.pos = match.start()
                return buf.text[start:match.start()][:200]
        if not buf.more():
            raise JsonStreamError("the file ends inside a damaged value", buf.base + start)


def iter_object(stream: BinaryIO, *, streamed: set[str] = frozenset(),
                on_problem: Callable[[str], None] = lambda reason: None) -> Iterator[tuple[str, int | None, Any]]:
    """(key, None, value) for each member of the top-level object, in file order, except
    keys in ``streamed`` whose array is yielded as (key, index, element). A malformed
    element is yielded as a `BadElement` and reading goes on; the end of the file inside a
    value raises `JsonStreamError` after everything before it was yielded.
    """
    buf = _Buffer(stream, on_problem)
    decoder = json.JSONDecoder()
    buf.expect("{")
    if buf.peek() == "}":
        return
    while True:
        key = _top_level(buf, decoder)
        if not isinstance(key, str):
            raise JsonStreamError("expected a key", buf.offset())
        buf.expect(":")
        if key in streamed and buf.peek() == "[":
            buf.pos += 1
            yield from _iter_array(buf, decoder, key)
        else:
            yield key, None, _top_level(buf, decoder)
        if buf.expect(",}") == "}":
            return


def _top_level(buf: _Buffer, decoder: json.JSONDecoder) -> Any:
    """A key or value of the top-level object: damage there ends the reading (its extent is
    unknown), as a JsonStreamError."""
    offset = buf.offset()
    try:
        return _decode_value(buf, decoder)
    except json.JSONDecodeError as exc:
        raise JsonStreamError(f"not valid JSON ({exc.msg})", offset) from None


def _iter_array(buf: _Buffer, decoder: json.JSONDecoder, key: str) -> Iterator[tuple[str, int, Any]]:
    if buf.peek() == "]":
        buf.pos += 1
        return
    index = 0
    while True:
        offset = buf.offset()
        try:
            yield key, index, _decode_value(buf, decoder)
        except json.JSONDecodeError as exc:
            raw = _skip_value(buf)
            yield key, index, BadElement(f"not valid JSON ({exc.msg})", offset, raw)
        index += 1
        if buf.expect(",]") == "]":
            return


def iter_records(path: Any, problems: Any, array: str, header: dict) -> Iterator[Any]:
    """The elements of the top-level object's ``array`` in a JSON file, one at a time; every
    other top-level key goes into ``header`` as it comes. A damaged element is a problem and
    is skipped; a file cut short is a problem after what came before it was yielded.
    (``problems``: a ``model.Problems``.)"""
    with open(path, "rb") as fh:
        try:
            said = lambda reason: problems.add(path, None, reason)  # noqa: E731
            for key, index, value in iter_object(fh, streamed={array}, on_problem=said):
                if isinstance(value, BadElement):
                    problems.add(path, None, f"{array} element {index}: {value.reason}", value.raw)
                elif index is not None:
                    yield value
                else:
                    header[key] = value
        except (JsonStreamError, RecursionError) as exc:
            problems.add(path, None, f"{exc}; what came before is loaded")
        except OSError as exc:
            problems.add(path, None, f"cannot read file: {exc.strerror or exc}")
