"""Zip archives read member by member, zstd members included, without a whole-archive read.

Python's ``zipfile`` cannot decompress zstd members (method 93) before 3.14, and some
libraries patch it to do so when imported; this module never relies on either. The central
directory is read with ``zipfile`` (which only lists), and each member's bytes are read from
its local header on: stored and deflated ones with ``zlib``, zstd ones with ``zstandard``
across every frame (writers split big members into several frames). The CRC-32 of what was
read is checked against the directory's, so a damaged member is reported, not half-read.

When the central directory is missing (a truncated or still-open archive), the members are
found by scanning for local headers, and those whose sizes the header gives are readable.

>>> import io, zipfile
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as z:
...     z.writestr("a.json", '{"x": 1}')
>>> archive = ZipArchive(buf)
>>> archive.names(), archive.read("a.json")
(['a.json'], b'{"x": 1}')
"""

from __future__ import annotations

import io
import json
import mmap
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterator

STORED, DEFLATED, ZSTD = 0, 8, 93
_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # local file header, 30 bytes
_LOCAL_SIG = b"PK\x03\x04"
_CHUNK = 1 << 20


class MemberError(Exception):
    """A member that cannot be read whole: the reason says why (damaged, truncated, method)."""


@dataclass(frozen=True)
class Member:
    """Where one member's compressed bytes are and how to read them."""

    name: str
    method: int
    header_offset: int
    compressed_size: int
    size: int
    crc: int | None  # None: unknown (found by scanning with a data descriptor)


class ZipArchive:
    """The members of a zip archive, opened one at a time.

    ``source`` is a path or a seekable binary file. ``problems`` lists what was wrong with
    the archive as a whole (e.g. no central directory, so members were found by scanning).
    A name written twice (an appending writer superseding a member) is its last version.
    """

    def __init__(self, source: str | BinaryIO):
        self._own = isinstance(source, (str, bytes)) or hasattr(source, "__fspath__")
        self._fh: BinaryIO = open(source, "rb") if self._own else source  # type: ignore[arg-type]
        self.problems: list[str] = []
        self.members: dict[str, Member] = {}
        try:
            with zipfile.ZipFile(self._fh) as listing:
                for info in listing.infolist():  # later entries win
                    self.members[info.filename] = Member(
                        info.filename, info.compress_type, info.header_offset,
                        info.compress_size, info.file_size, info.CRC)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            self.members = dict((m.name, m) for m in scan_local_headers(self._fh))
            self.problems.append(
                f"no readable central directory ({exc}); {len(self.members)} members found by scanning")

    def names(self) -> list[str]:
        return list(self.members)

    def open(self, name: str) -> BinaryIO:
        """A stream of the member's bytes; reading past its end raises MemberError if damaged."""
        member = self.members.get(name)
        if member is None:
            raise MemberError(f"no member {name!r}")
        return _MemberReader(self._fh, member)

    def read(self, name: str) -> bytes:
        """The member's bytes, whole and checked."""
        with self.open(name) as stream:
            return stream.read()

    def read_json(self, name: str, problems: Any, path: Any = None) -> Any:
        """The member's JSON value; None when absent, or (with a problem row on ``problems``,
        a ``model.Problems``) when damaged or not JSON."""
        from ..model import scrub_surrogates
        from ._read import decode

        if name not in self.members:
            return None
        try:
            where = f"{path}!{name}"  # bad bytes and surrogates are named with the member
            return json.loads(scrub_surrogates(decode(self.read(name), where, problems), where, problems))
        except (MemberError, ValueError, OSError, RecursionError) as exc:
            problems.add(path, None, f"{name}: {exc}")
            return None

    def close(self) -> None:
        if self._own:
            self._fh.close()

    def __enter__(self) -> "ZipArchive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _data_offset(fh: BinaryIO, member: Member) -> int:
    fh.seek(member.header_offset)
    header = fh.read(_LOCAL.size)
    if len(header) < _LOCAL.size or header[:4] != _LOCAL_SIG:
        raise MemberError(f"{member.name}: no local header at offset {member.header_offset}")
    fields = _LOCAL.unpack(header)
    return member.header_offset + _LOCAL.size + fields[9] + fields[10]


class _Raw(io.RawIOBase):
    """The compressed bytes of one member: a window on the archive file."""

    def __init__(self, fh: BinaryIO, start: int, size: int):
        self._fh, self._pos, self._left = fh, start, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        want = min(len(buffer), self._left)
        if want <= 0:
            return 0
        self._fh.seek(self._pos)
        data = self._fh.read(want)
        if not data:
            raise MemberError(f"archive ends {self._left} bytes before the member does")
        buffer[: len(data)] = data
        self._pos += len(data)
        self._left -= len(data)
        return len(data)


class _MemberReader(io.RawIOBase):
    """Decompressed bytes of one member, CRC-checked when the end is reached."""

    def __init__(self, fh: BinaryIO, member: Member):
        self._member = member
        raw = io.BufferedReader(_Raw(fh, _data_offset(fh, member), member.compressed_size), _CHUNK)
        self._stream = _decompressed(raw, member)
        self._crc = 0
        self._count = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._done:
            return 0
        try:
            data = self._stream.read(len(buffer))
        except MemberError:
            raise
        except Exception as exc:  # zlib.error, zstd.ZstdError: a damaged member
            raise MemberError(f"{self._member.name}: cannot decompress ({exc})") from None
        if not data:
            self._finish()
            return 0
        buffer[: len(data)] = data
        self._crc = zlib.crc32(data, self._crc)
        self._count += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := super().read(_CHUNK * 4):
                parts.append(chunk)
            return b"".join(parts)
        return super().read(size)

    def _finish(self) -> None:
        self._done = True
        member = self._member
        if member.crc is not None and (self._count != member.size or self._crc != member.crc):
            raise MemberError(
                f"{member.name}: damaged ({self._count} of {member.size} bytes read, "
                f"CRC {'ok' if self._crc == member.crc else 'mismatch'})")


def _decompressed(raw: BinaryIO, member: Member) -> BinaryIO:
    if member.method == STORED:
        return raw
    if member.method == DEFLATED:
        return _Inflated(raw)
    if member.method == ZSTD:
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=False)
    raise MemberError(f"{member.name}: compression method {member.method} not supported")


class _Inflated(io.RawIOBase):
    def __init__(self, raw: BinaryIO):
        self._raw, self._z = raw, zlib.decompressobj(-15)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while True:
            chunk = self._raw.read(_CHUNK)
            if not chunk:
                return self._z.flush()
            out = self._z.decompress(chunk)
            if out:
                return out


def scan_local_headers(fh: BinaryIO) -> Iterator[Member]:
    """Members found by their local headers, in file order (for an archive whose central
    directory is gone). A member whose sizes are only in a trailing data descriptor cannot
    be delimited and is skipped."""
    try:  # a memory map: a big archive is not read into memory to be scanned
        data: bytes | mmap.mmap = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        fh.seek(0)
        data = fh.read()
    pos = data.find(_LOCAL_SIG)
    while 0 <= pos and pos + _LOCAL.size <= len(data):
        (_, _, flags, method, _, _, crc, csize, usize, nlen, elen) = _LOCAL.unpack_from(data, pos)
        name = data[pos + _LOCAL.size: pos + _LOCAL.size + nlen].decode("utf-8", "replace")
        extra = data[pos + _LOCAL.size + nlen: pos + _LOCAL.size + nlen + elen]
        if 0xFFFFFFFF in (csize, usize):
            usize, csize = _zip64_sizes(extra, usize, csize)
        start = pos + _LOCAL.size + nlen + elen
        if not flags & 0x08 and start + csize <= len(data):
            yield Member(name, method, pos, csize, usize, crc)
            pos = data.find(_LOCAL_SIG, start + csize)
        else:
            pos = data.find(_LOCAL_SIG, start)


def _zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[int, int]:
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, at)
        if tag == 1:
            values = list(struct.unpack_from(f"<{length // 8}Q", extra, at + 4))
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            break
        at += 4 + length
    return usize, csize
