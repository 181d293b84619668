"""Callbacks: code that runs beside the loop and sees the run's values, never its private state.

The loop calls, on the main process (rank 0) only:

* ``on_start(run)`` once, before the first step (also on resume);
* ``on_log(run, record)`` after each line written to ``metrics.jsonl``
  (``record`` holds the step, the averaged losses, learning rates, speed);
* ``on_epoch_end(run)`` at the end of each epoch; it may return a dict of
  metrics, written as its own line of ``metrics.jsonl`` (the periodic
  evaluation does this);
* ``on_checkpoint(run, path)`` after each checkpoint is written;
* ``on_end(run)`` once the run reached its length (not when it was stopped).

``run`` is a :class:`RunView`: the run folder, the model, the options, the
step, the epoch, the time so far and the data, as values. A callback may
sample from the model (in inference mode, with its own generator) but must
not change it. Every method is optional: subclass :class:`Callback` and
override what you need. The built-in sample pictures
(:class:`vegan.plots.SamplePictures`) and the periodic evaluation
(:class:`vegan.eval.quick.QuickEval`) are callbacks.

A callback that raises stops the run: a :class:`~vegan.errors.VeganError`
(e.g. a full disk) goes through as it is; any other exception becomes a
one-line :class:`CallbackError` naming the callback, raised after a
checkpoint was written, so the run can be resumed once the callback is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vegan.errors import VeganError


class CallbackError(VeganError, RuntimeError):
    """A user's callback raised; the run stopped after writing a checkpoint."""


@dataclass(frozen=True)
class RunView:
    """What a callback sees of a run, at the moment it is called."""

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


class Callback:
    """Base class: every hook does nothing. ``name`` is used in error messages."""

    name: str = ""

    def on_start(self, run: RunView) -> None:
        """Before the first step of this process's training (also on resume)."""

    def on_log(self, run: RunView, record: dict[str, Any]) -> None:
        """After ``record`` was written to metrics.jsonl."""

    def on_epoch_end(self, run: RunView) -> dict[str, float] | None:
        """At the end of an epoch; a returned dict is logged as a line of metrics.jsonl."""
        return None

    def on_checkpoint(self, run: RunView, path: Path) -> None:
        """After the checkpoint ``path`` (its JSON file) was written."""

    def on_end(self, run: RunView) -> None:
        """After the run reached its length and wrote its last checkpoint."""


def callback_name(cb: Any) -> str:
    """The name a callback goes by in messages: its ``name``, else its class name."""
    return getattr(cb, "name", "") or type(cb).__name__


__all__ = ["Callback", "CallbackError", "RunView", "callback_name"]
