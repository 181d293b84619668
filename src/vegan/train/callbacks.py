"""Callbacks: code that runs beside the loop and sees the run's values, never its private state.

The loop calls, on the main process (rank 0) only, in the order the
callbacks were given:

* ``on_start(run)`` once, before the first step (also on resume: then
  ``run.step`` is the step of the checkpoint it continues from);
* ``on_log(run, record)`` after each line written to ``metrics.jsonl``:
  the training lines every ``log_every`` steps (the step, the averaged
  losses, learning rates, speed) and the lines of metrics the callbacks
  return (below);
* ``on_epoch_end(run)`` at the end of each epoch;
* ``on_checkpoint(run, path)`` after each checkpoint is written;
* ``on_end(run)`` once the run reached its length (not when it was stopped);
* ``on_stop(run)`` once instead of ``on_end`` when the run ends without
  reaching its length (Ctrl-C or SIGTERM, a stop on a non-finite loss, an
  error), after its last checkpoint: a place to close what ``on_start``
  opened. What it raises is not raised again (the run is already ending
  with its own message).

``on_epoch_end`` and ``on_end`` may return a dict. Its numbers are metrics,
written as one line of ``metrics.jsonl`` (and passed to every ``on_log``);
its paths (:class:`~pathlib.Path`) are pictures it wrote, which the
callbacks after it see in ``run.pictures`` (the built-in sample pictures
return ``{"samples": ..., "reconstructions": ...}``, so a logger placed
after them can send the grids to a tracker).

``run`` is a :class:`RunView`: the run folder, the model, the options, the
step, the epoch, the time so far, the data and the pictures of this round
of calls, as values. A callback may sample from the model (in inference
mode, with its own generator) but must not change it. Every method is
optional: subclass :class:`Callback` and override what you need. The
built-in sample pictures (:class:`vegan.plots.SamplePictures`), the periodic
evaluation (:class:`vegan.eval.quick.QuickEval`) and the experiment trackers
(:mod:`vegan.track`) are callbacks.

A callback that raises stops the run: a :class:`~vegan.errors.VeganError`
(e.g. a full disk) goes through as it is; any other exception becomes a
one-line :class:`CallbackError` naming the callback, raised after a
checkpoint was written, so the run can be resumed once the callback is fixed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vegan.errors import VeganError


class CallbackError(VeganError, RuntimeError):
    """A user's callback raised; the run stopped after writing a checkpoint."""


@dataclass(frozen=True)
class RunView:
    """What a callback sees of a run, at the moment it is called.

    ``pictures`` holds the pictures the earlier callbacks of this round of
    ``on_epoch_end`` (or ``on_end``) calls returned, by name; it is empty in
    the other hooks.
    """

    run_dir: Path
    model: Any
    config: Any
    options: Any
    step: int
    total: int
    epoch: float
    seconds: float
    device: torch.device
    data: torch.Tensor
    is_main: bool = True
    pictures: Mapping[str, Path] = field(default_factory=dict)


class Callback:
    """Base class: every hook does nothing. ``name`` is used in error messages."""

    name: str = ""

    def on_start(self, run: RunView) -> None:
        """Before the first step of this process's training (also on resume)."""

    def on_log(self, run: RunView, record: dict[str, Any]) -> None:
        """After ``record`` was written to metrics.jsonl."""

    def on_epoch_end(self, run: RunView) -> dict[str, float | Path] | None:
        """At the end of an epoch; returned numbers are logged, returned paths are pictures."""
        return None

    def on_checkpoint(self, run: RunView, path: Path) -> None:
        """After the checkpoint ``path`` (its JSON file) was written."""

    def on_end(self, run: RunView) -> dict[str, float | Path] | None:
        """After the run reached its length and wrote its last checkpoint (returns as above)."""
        return None

    def on_stop(self, run: RunView) -> None:
        """When the run ends before its length (interrupted, stopped, failed)."""


def callback_name(cb: Any) -> str:
    """The name a callback goes by in messages: its ``name``, else its class name."""
    return getattr(cb, "name", "") or type(cb).__name__


__all__ = ["Callback", "CallbackError", "RunView", "callback_name"]
