"""Typed errors. Every error a user can cause is a :class:`VeganError`.

The command line prints ``vegan: error: <message>`` on one line and exits
with status 2 for any of them; the message says what is wrong and how to fix
it. Internal bugs are not VeganErrors and keep their traceback.
"""

from __future__ import annotations


class VeganError(Exception):
    """Base class of every error caused by user input or user files."""


class ConfigError(VeganError, ValueError):
    """An unknown, misspelled or ill-typed option, recipe or setting."""


class DataError(VeganError, ValueError):
    """Data that cannot be used: missing file, wrong format, NaN, empty, bad checksum."""


class ShapeError(DataError):
    """Arrays whose shapes do not fit together or do not fit a network."""


class CheckpointError(VeganError):
    """A run folder or checkpoint that is missing, corrupted, unsafe or incompatible."""


class RunDirError(VeganError):
    """A run folder that exists when it should not, or is not a vegan run."""


class OutputError(VeganError, OSError):
    """An output path that cannot be written (missing folder, permissions, disk full)."""


class ConvergenceError(VeganError, RuntimeError):
    """A solver stopped before reaching optimality or its tolerance."""


class DivergenceError(VeganError, RuntimeError):
    """Training produced a non-finite loss or gradient."""


class ResourceError(VeganError, MemoryError):
    """A request above the documented limits (memory, size)."""


def closest(name: str, candidates: list[str] | tuple[str, ...]) -> str:
    """Return a ``" (did you mean 'x'?)"`` hint for a misspelled ``name``, or ``""``."""
    import difflib

    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""
