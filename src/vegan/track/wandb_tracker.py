"""Weights & Biases: offline by default, online only when the user configured it; never a prompt.

Without ``WANDB_MODE`` the run is written offline to ``RUN/wandb/``
(``wandb sync RUN/wandb/offline-run-*`` uploads it later); ``WANDB_MODE``
(``online``, ``offline``, ``disabled``), ``WANDB_PROJECT`` (default
``vegan``) and ``WANDB_ENTITY`` are honoured. Online mode needs an API key
already there (``WANDB_API_KEY`` or ``wandb login``): without one the run
stops before anything is written, with a one-line error instead of a
prompt (:func:`vegan.train.options.check_wandb_key`, run when the options
are checked).

Logged: every metric against the run's step (the ``step`` metric), the
resolved options as the run's config, the grids as images
(``pictures/samples``), and the numbers of ``vegan eval`` as
``final/<metric>`` in the run's summary. A resumed run continues the same
W&B run (its id is in ``RUN/trackers.json``) and skips the steps it had
logged before. Needs the ``wandb`` extra.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from vegan.track.base import Tracker
from vegan.train.options import check_wandb_key as check_online_key
from vegan.train.options import wandb_mode

#: The project vegan's runs go to unless WANDB_PROJECT names another.
PROJECT = "vegan"


class WandbTracker(Tracker):
    """Logs the run to a W&B run (see the module docstring)."""

    name = "wandb"

    def __init__(self) -> None:
        super().__init__()
        self.run = None
        self.had = -1  # the last step logged before this process opened the run
        self.last = -1

    def open(self, run_dir, step, state, for_evaluation=False) -> dict[str, Any]:
        check_online_key()
        import wandb

        mode = wandb_mode()
        state = dict(state or {})
        run_id = state.get("id") or uuid.uuid4().hex[:12]
        self.had = self.last = int(state.get("last_step", -1))
        settings = wandb.Settings(
            console="off",
            silent=True,
            x_disable_stats=True,
            disable_git=True,
            save_code=False,
            x_save_requirements=False,
        )
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT") or PROJECT,
            dir=str(run_dir),
            id=run_id,
            name=Path(run_dir).resolve().name,
            resume="allow",
            mode=mode if mode in ("online", "offline", "disabled", "shared") else None,
            settings=settings,
        )
        self.run.define_metric("step")
        self.run.define_metric("*", step_metric="step")
        return {"id": run_id, "project": self.run.project or PROJECT, "last_step": self.last}

    def scalars(self, values: dict[str, float], step: int) -> None:
        if step <= self.had:
            return
        self.run.log({"step": step, **values})
        if step > self.last:
            self.last = step
            self.state["last_step"] = step
            from vegan.track.base import write_state

            write_state(self.run_dir, self.name, self.state)

    def images(self, pictures: dict[str, Path], step: int) -> None:
        import wandb

        if step <= self.had:
            return
        self.run.log(
            {"step": step, **{f"pictures/{k}": wandb.Image(str(p)) for k, p in pictures.items()}}
        )

    def hyperparameters(self, params: dict[str, Any]) -> None:
        self.run.config.update(params, allow_val_change=True)

    def evaluation(self, metrics: dict[str, float], table: str, result: dict, step: int) -> None:
        self.run.summary.update({f"final/{k}": v for k, v in metrics.items()})
        self.run.summary["final/step"] = step

    def close(self, finished: bool = True) -> None:
        if self.run is not None:
            self.run.finish(exit_code=0 if finished else 1)
            self.run = None


__all__ = ["WandbTracker", "check_online_key", "wandb_mode"]
