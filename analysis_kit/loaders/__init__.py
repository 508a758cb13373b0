"""The loaders: one module per source format on a shared core.

A format module (any module here whose name does not start with ``_``) registers a
:class:`Format` with ``register``: its ``sniff``, ``load``, options dataclass, sample writers
and detection priority. The shared core, in the private modules, is what every format
uses: ``_read`` (text, JSON, JSONL and YAML with salvage, depth limits and problem rows),
``_values`` (timestamps to UTC and typed fields), ``_columns`` (``Column`` specs applied to
records by ``Table``), ``_chat`` (chat content, roles, tool calls), ``_markdown`` (markdown
written by people and LLMs), ``_blocks`` and ``_keyvalue`` (big ``key=value`` line logs read
in blocks on threads) and ``_registry``. Loading itself (detection, options, cache, contract checks) is
``analysis_kit.loading``; this package knows nothing of the cache.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ._registry import Format, NoOptions, formats, get_format, parse_option_text, register

__all__ = ["Format", "NoOptions", "register", "formats", "get_format", "parse_option_text",
           "loader_module", "FORMATS"]


def loader_module(name: str) -> ModuleType:
    """The module of format ``name`` (its ``load`` and ``sniff``)."""
    return importlib.import_module(get_format(name).load.__module__)


def __getattr__(name: str):
    if name == "FORMATS":  # the format names in detection order, found on first use
        return tuple(f.name for f in formats())
    raise AttributeError(name)
