"""Training: the one loop that runs a recipe's players, checkpoints and run folders.

* :mod:`vegan.train.loop` - :class:`Trainer`, the loop that runs any list of players;
* :mod:`vegan.train.options` - :class:`RunOptions`, a run's length and cadence;
* :mod:`vegan.train.callbacks` - what runs beside the loop (pictures, evaluation, loggers);
* :mod:`vegan.train.checkpoint` - safetensors + JSON checkpoints, atomic and validated;
* :mod:`vegan.train.rundir` - the run folder's layout and reuse rules;
* :mod:`vegan.train.api` - :func:`fit` and :func:`load`.

The game itself (players and their losses) is defined by the recipes in
:mod:`vegan.models`; the process group in :mod:`vegan.parallel`.
"""

from vegan.train.api import fit, load, resolve_device
from vegan.train.callbacks import Callback, CallbackError, RunView
from vegan.train.loop import Interrupted, Trainer, TrainResult
from vegan.train.options import RunOptions

__all__ = [
    "fit",
    "load",
    "resolve_device",
    "Trainer",
    "TrainResult",
    "Interrupted",
    "RunOptions",
    "Callback",
    "CallbackError",
    "RunView",
]
