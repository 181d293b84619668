"""Optimizers of the players (the loop makes one per player of the recipe's game)."""

from __future__ import annotations

import torch

from vegan.errors import ConfigError
from vegan.models.game import Player


def make_optimizer(player: Player, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """The optimizer of ``player`` (Adam with its betas, RMSProp or SGD)."""
    params = list(player.parameters())
    if not params:
        raise ConfigError(f"player '{player.name}' has no trainable parameters")
    if player.optimizer == "adam":
        return torch.optim.Adam(
            params, lr=player.lr, betas=player.betas, weight_decay=weight_decay, foreach=True
        )
    if player.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=player.lr, weight_decay=weight_decay, foreach=True)
    if player.optimizer == "sgd":
        return torch.optim.SGD(params, lr=player.lr, weight_decay=weight_decay, foreach=True)
    raise ConfigError(f"unknown optimizer '{player.optimizer}' for player '{player.name}'")
