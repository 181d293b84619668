"""Training: players, the one loop, checkpoints and run folders.

* :mod:`vegan.train.players` - :class:`Player`, the parties of the game;
* :mod:`vegan.train.loop` - :class:`Trainer`, the loop that runs any list of players;
* :mod:`vegan.train.checkpoint` - safetensors + JSON checkpoints, atomic and validated;
* :mod:`vegan.train.rundir` - the run folder's layout and reuse rules;
* :mod:`vegan.train.api` - :func:`fit` and :func:`load`.
"""

from vegan.train.api import fit, load, resolve_device
from vegan.train.loop import Interrupted, Trainer, TrainResult
from vegan.train.players import Player

__all__ = ["Player", "Trainer", "TrainResult", "Interrupted", "fit", "load", "resolve_device"]
