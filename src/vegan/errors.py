"""Typed errors. Every error a user can cause is a :class:`VeganError`.

The command line prints ``vegan: error: <message>`` on one line and exits
with status 2 for any of them; the message says what is wrong and how to fix
it. Internal bugs are not VeganErrors and keep their traceback.

A message names what the user can change in the words of the interface
they use: ``--resume`` on the command line, ``resume=True`` from Python.
:func:`words` picks between the two; :func:`command_line` is the context
in which the ``vegan`` command runs.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

#: Whether the ``vegan`` command line is running (its messages name flags, not arguments).
_COMMAND_LINE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "vegan_command_line", default=False
)


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


@contextlib.contextmanager
def command_line() -> Iterator[None]:
    """Within this context, messages speak the command line's words (``--resume``)."""
    token = _COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _COMMAND_LINE.reset(token)


def words(cli: str, python: str) -> str:
    """``cli`` when the ``vegan`` command line is running, else ``python``.

    Examples
    --------
    ``words("--resume", "resume=True")`` in a message raised by
    :func:`vegan.fit` reads ``resume=True``; raised under ``vegan train`` it
    reads ``--resume``.
    """
    return cli if _COMMAND_LINE.get() else python


def flag(name: str, value: Any = True) -> str:
    """An argument in the user's words: ``--name [value]`` or ``name=value``.

    ``flag("resume")`` is ``--resume`` or ``resume=True``; ``flag("n", 1000)``
    is ``--n 1000`` or ``n=1000``; ``flag("out", None)`` names the argument
    alone (``--out`` or ``out``).
    """
    if value is None:
        return words(f"--{name}", name)
    cli = f"--{name}" if value is True else f"--{name} {value}"
    return words(cli, f"{name}={value!r}")


def setting(key: str, value: Any) -> str:
    """An option in the user's words: ``--set key=value`` or ``key=value`` (a keyword)."""
    return words(f"--set {key}={value}", f"{key}={value!r}")
