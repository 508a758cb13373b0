"""Errors the kit raises on purpose. Every one names what went wrong and where."""

from __future__ import annotations


class AnalysisKitError(Exception):
    """Base class of the kit's own errors."""


class LoadError(AnalysisKitError):
    """A file or directory could not be loaded.

    ``file`` and ``line`` say where (``line`` is None for whole-file problems).
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        self.file = file
        self.line = line
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        super().__init__(f"{where}{message}")
        self.reason = message


class ParameterError(AnalysisKitError):
    """A report or notebook parameter is unknown or invalid."""
