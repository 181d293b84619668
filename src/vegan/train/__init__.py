"""Training: players, the one loop, checkpoints and run folders.

* :mod:`vegan.train.players` - :class:`Player`, the parties of the game;
* :mod:`vegan.train.loop` - :class:`Trainer`, the loop that runs any list of players;
* :mod:`vegan.train.checkpoint` - safetensors + JSON checkpoints, atomic and validated;
* :mod:`vegan.train.rundir` - the run folder's layout and reuse rules;
* :mod:`vegan.train.distributed` - data parallelism on torch.distributed;
* :mod:`vegan.train.api` - :func:`fit` and :func:`load`.

Names are imported lazily so that ingredient modules can use
:mod:`vegan.train.distributed` without importing the whole loop.
"""

from __future__ import annotations

import importlib

_NAMES = {
    "fit": "vegan.train.api",
    "load": "vegan.train.api",
    "resolve_device": "vegan.train.api",
    "Trainer": "vegan.train.loop",
    "TrainResult": "vegan.train.loop",
    "Interrupted": "vegan.train.loop",
    "Player": "vegan.train.players",
}


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'vegan.train' has no attribute '{name}'")


__all__ = list(_NAMES)
