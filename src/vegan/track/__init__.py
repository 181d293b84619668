"""Experiment tracking and sharing: trackers (TensorBoard, MLflow, W&B) and model export.

* :mod:`vegan.track.base` - :class:`Tracker`, the callback :class:`Trackers`
  that ``vegan.fit`` plugs in for the run option ``log_to``, and
  :func:`log_evaluation` (``vegan eval`` sends its numbers with it);
* :mod:`vegan.track.tensorboard_tracker`, :mod:`vegan.track.mlflow_tracker`,
  :mod:`vegan.track.wandb_tracker` - one tracker each, each an optional extra
  (``pip install 'vegan-cookbook[tensorboard]'``, ``[mlflow]``, ``[wandb]``);
* :mod:`vegan.track.export` - ``vegan export``: a folder with the weights,
  ``config.json`` and a model card, loadable by ``vegan.load``.

This layer sits above evaluation and training (trackers log evaluation
numbers; training knows nothing of them) and below ``vegan.api``.
"""

from __future__ import annotations

from vegan.track.base import Tracker, Trackers, log_evaluation, make_trackers
from vegan.track.export import export_run, model_card

__all__ = ["Tracker", "Trackers", "export_run", "log_evaluation", "make_trackers", "model_card"]
