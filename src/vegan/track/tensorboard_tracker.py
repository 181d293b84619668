"""TensorBoard: event files in the run folder, through ``torch.utils.tensorboard``.

``tensorboard --logdir runs/`` then shows every run in ``runs/`` under its
folder's name: each logged metric as a scalar (``gen/loss``, ``eval/w2sq``,
...), the sample and reconstruction grids as images (``pictures/samples``),
the resolved options in the HPARAMS tab and as a text table, and the numbers
of ``vegan eval`` as ``final/<metric>`` with the evaluation table as text.

A resumed run writes a new event file whose first event purges the steps
after the checkpoint it continues from (TensorBoard's ``purge_step``), so
steps a killed process had logged past its last checkpoint are replaced, not
shown twice. Needs the ``tensorboard`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vegan.track.base import Tracker


class TensorBoardTracker(Tracker):
    """Writes the run to TensorBoard event files in the run folder."""

    name = "tensorboard"

    def __init__(self) -> None:
        super().__init__()
        self.writer = None

    def open(self, run_dir, step, state, for_evaluation=False) -> dict[str, Any]:
        from torch.utils.tensorboard import SummaryWriter

        continuing = state is not None or step > 0
        purge = step + 1 if continuing and not for_evaluation else None
        self.writer = SummaryWriter(log_dir=str(run_dir), purge_step=purge, flush_secs=30)
        return {"log_dir": str(Path(run_dir).resolve())}

    def scalars(self, values: dict[str, float], step: int) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def images(self, pictures: dict[str, Path], step: int) -> None:
        import numpy as np
        from PIL import Image

        for name, path in pictures.items():
            with Image.open(path) as im:
                pixels = np.asarray(im.convert("RGB"))
            self.writer.add_image(f"pictures/{name}", pixels, step, dataformats="HWC")

    def hyperparameters(self, params: dict[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams

        exp, ssi, sei = hparams(params, {})
        for summary in (exp, ssi, sei):  # in this run, not in a sub-run as add_hparams does
            self.writer.file_writer.add_summary(summary, 0)
        rows = "\n".join(f"| {k} | {v} |" for k, v in params.items())
        self.writer.add_text("options", "| option | value |\n|---|---|\n" + rows, 0)

    def evaluation(self, metrics: dict[str, float], table: str, result: dict, step: int) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(f"final/{key}", value, step)
        self.writer.add_text("evaluation", table, step)

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self, finished: bool = True) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


__all__ = ["TensorBoardTracker"]
