"""The one registry of formats.

Each format module (a module of ``analysis_kit.loaders`` whose name does not start with
``_``) registers one :class:`Format` at import: its name, ``sniff``, ``load``, a dataclass of
its options, whether its runs may be cached, its sample writers and its detection priority.
Formats are found by listing the package, so a new format is one new module.

Options are typed: :meth:`Format.options_from` turns keyword options (or the ``KEY=VALUE``
text of a command line) into the format's options dataclass, and an unknown or mistyped
option is a :class:`LoadError` naming it.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..exceptions import LoadError


@dataclass(frozen=True)
class NoOptions:
    """A format without options."""


@dataclass(frozen=True)
class Format:
    """A source format the kit reads.

    - ``sniff(path) -> bool``: a cheap look (at most ~64 KB), never raises;
    - ``load(path, *, strict=False, **options) -> Run``;
    - ``options``: a frozen dataclass of the format's options (defaults for all fields);
    - ``cacheable``: whether parsed runs are cached (keyed by path, size, mtime and options);
    - ``cache_source(path) -> Path``: what a load reads when it is more than ``path``;
    - ``samples``: ``{sample name: "module:function"}`` writing sample runs of this format
      (``function(directory, *, seed, size) -> Path``);
    - ``priority``: detection order, lowest first (the first ``sniff`` that accepts wins);
    - ``load_many(paths, *, strict=False) -> (Run, [(path, reason)])``: optional, several runs
      into one set of tables (``load_runs`` uses it for many small runs).
    """

    name: str
    sniff: Callable[[Path], bool]
    load: Callable[..., Any]
    options: type = NoOptions
    cacheable: bool = True
    cache_source: Callable[[Path], Path] | None = None
    samples: Mapping[str, str] = field(default_factory=dict)
    priority: int = 50
    description: str = ""
    load_many: Callable[..., Any] | None = None

    def option_fields(self) -> dict[str, Any]:
        """``{name: type}`` of the options (types resolved from the dataclass's annotations)."""
        hints = typing.get_type_hints(self.options)
        return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(self.options)}

    def options_from(self, given: Mapping[str, Any], path: Any = None) -> Any:
        """The options dataclass built from ``given``; text values (``"2"``) are converted to
        the field's type. Unknown or mistyped options raise LoadError naming them.

        >>> from analysis_kit.loaders import get_format
        >>> get_format("massgen").options_from({"turn": "2"}).turn
        2
        """
        fields = self.option_fields()
        unknown = sorted(set(given) - set(fields))
        if unknown:
            known = ", ".join(fields) or "none"
            raise LoadError(f"unknown option(s) {', '.join(map(repr, unknown))} for format "
                            f"{self.name!r}; its options: {known}", file=None if path is None else str(path))
        values = {}
        for name, value in given.items():
            try:
                values[name] = _convert(value, fields[name])
            except (TypeError, ValueError) as exc:
                raise LoadError(f"option {name!r} of format {self.name!r}: {exc}",
                                file=None if path is None else str(path)) from None
        return self.options(**values)

    def option_key(self, options: Any) -> dict[str, Any]:
        """The options as plain values, for cache keys and run meta."""
        return dataclasses.asdict(options)


def _convert(value: Any, kind: Any) -> Any:
    """``value`` as ``kind`` (int, float, bool, str, a ``X | None`` union, Literal)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        errors = []
        for option in options:
            try:
                return _convert(value, option)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors))
    if origin is typing.Literal:
        allowed = typing.get_args(kind)
        if value in allowed:
            return value
        raise ValueError(f"must be one of {', '.join(map(repr, allowed))}, not {value!r}")
    if kind is Any:
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ValueError(f"must be true or false, not {value!r}")
    if kind in (int, float):
        wanted = "an integer" if kind is int else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, str) if kind is int else (int, float, str)):
            raise ValueError(f"must be {wanted}, not {value!r}")
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"must be {wanted}, not {value!r}") from None
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"must be text, not {value!r}")
        return value
    if isinstance(kind, type) and not isinstance(value, kind):
        raise ValueError(f"must be {kind.__name__}, not {value!r}")
    return value


_REGISTRY: dict[str, Format] = {}
_DISCOVERED = False


def register(spec: Format) -> Format:
    """Add a format (called by each format module at import); returns ``spec``."""
    if not dataclasses.is_dataclass(spec.options):
        raise TypeError(f"format {spec.name!r}: options must be a dataclass")
    _REGISTRY[spec.name] = spec
    return spec


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    package = importlib.import_module("analysis_kit.loaders")
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"analysis_kit.loaders.{info.name}")
    _DISCOVERED = True


def formats() -> list[Format]:
    """Every registered format, in detection order (priority, then name)."""
    _discover()
    return sorted(_REGISTRY.values(), key=lambda f: (f.priority, f.name))


def get_format(name: str) -> Format:
    """The format called ``name``; LoadError listing the known ones otherwise."""
    _discover()
    if name not in _REGISTRY:
        raise LoadError(f"unknown format {name!r}; known formats: {', '.join(f.name for f in formats())}")
    return _REGISTRY[name]


def parse_option_text(items: list[str]) -> dict[str, str]:
    """``["turn=2", "attempt=1"]`` (a command line's ``--option``) as ``{"turn": "2", ...}``;
    the format converts the values to its options' types.

    >>> parse_option_text(["turn=2", "name=a=b"])
    {'turn': '2', 'name': 'a=b'}
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise LoadError(f"option {item!r} is not KEY=VALUE")
        out[key.strip()] = value
    return out
