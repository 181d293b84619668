"""The game a recipe defines: its players, each with parameters, an optimizer and a loss.

A player owns some parameters, an optimizer, a learning rate and a number of
steps per iteration, and a loss. The auto-encoder of a WAE is one player; a
WAE-GAN adds a latent adversary; a WGAN has a critic (``steps = n_critic``)
and a generator. Recipes build their players from this class; the loop in
:mod:`vegan.train.loop` only runs them.

A loss is called as ``loss(x, cache)`` where ``x`` is a data batch (``None``
for players that take no data, such as a GAN's generator) and ``cache`` is a
dict shared by the players within one iteration (an auto-encoder can leave
its codes there for the latent adversary, saving a forward pass); the
training loop puts the iteration's 0-based number in ``cache["step"]`` (a
loss called outside the loop finds no ``"step"``; ``lam_warmup`` reads it). It returns
``(total, terms)``: the scalar to minimize and named scalars to log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

LossFn = Callable[[torch.Tensor | None, dict], tuple[torch.Tensor, dict[str, torch.Tensor]]]

OPTIMIZERS = ("adam", "rmsprop", "sgd")


@dataclass
class Player:
    """One party of the game.

    Attributes
    ----------
    name : str
        Used in logs, checkpoints and error messages ("autoencoder", "critic"...).
    modules : list of nn.Module
        The modules whose parameters this player updates.
    loss : LossFn
        ``loss(x, cache) -> (total, terms)``.
    optimizer : {"adam", "rmsprop", "sgd"}
    lr : float
        Base learning rate (the schedule multiplies it).
    betas : tuple of float
        Adam's (beta1, beta2).
    steps : int
        Optimizer steps per iteration (``n_critic`` for a critic).
    uses_data : bool
        Whether the loss needs a data batch. The first step of an iteration
        gets the iteration's batch; further steps draw fresh batches.
    after_step : callable, optional
        Called after each optimizer step (e.g. weight clipping).
    steps_schedule : callable, optional
        ``steps_schedule(step) -> int`` replaces ``steps`` when given: the
        number of optimizer steps at iteration ``step`` (0-based), e.g. the
        WGAN code's 100 critic steps for the first 25 generator steps. A
        pure function of the step, so resuming stays exact.
    """

    name: str
    modules: list[nn.Module]
    loss: LossFn
    optimizer: str = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    steps: int = 1
    uses_data: bool = True
    after_step: Callable[[], None] | None = None
    steps_schedule: Callable[[int], int] | None = None

    def steps_at(self, step: int) -> int:
        """Optimizer steps at iteration ``step``: ``steps_schedule(step)`` or ``steps``."""
        return self.steps if self.steps_schedule is None else int(self.steps_schedule(step))

    def parameters(self) -> Iterable[nn.Parameter]:
        seen: set[int] = set()
        for m in self.modules:
            for p in m.parameters():
                if p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    yield p
