"""Multi-layer perceptron for vector data and for latent-space players."""

from __future__ import annotations

import math

import torch
from torch import nn


def activation(name: str) -> nn.Module:
    """Return the activation module called ``name`` (relu, leaky_relu, elu, tanh, silu)."""
    table = {
        "relu": lambda: nn.ReLU(),
        "leaky_relu": lambda: nn.LeakyReLU(0.2),
        "elu": lambda: nn.ELU(),
        "tanh": lambda: nn.Tanh(),
        "silu": lambda: nn.SiLU(),
    }
    if name not in table:
        from vegan.errors import ConfigError, closest

        raise ConfigError(f"unknown activation '{name}'{closest(name, tuple(table))}")
    return table[name]()


class MLP(nn.Module):
    """``depth`` hidden layers of ``hidden`` units, then a linear output layer.

    Inputs of any shape (n, ...) are flattened to (n, in_dim).

    Parameters
    ----------
    in_dim, out_dim : int
        Input and output sizes.
    hidden : int
        Units per hidden layer.
    depth : int
        Number of hidden layers (0 gives a linear map).
    act : str
        Activation between layers.
    norm : {"none", "layer", "batch"}
        Normalisation after each hidden linear layer. Critics with a gradient
        penalty must not use batch norm (Gulrajani et al. 2017).
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden: int = 256,
        depth: int = 3,
        act: str = "relu",
        norm: str = "none",
    ) -> None:
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        layers: list[nn.Module] = []
        width = in_dim
        for _ in range(depth):
            layers.append(nn.Linear(width, hidden))
            if norm == "layer":
                layers.append(nn.LayerNorm(hidden))
            elif norm == "batch":
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(activation(act))
            width = hidden
        layers.append(nn.Linear(width, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(x.shape[0], -1))


def flat_dim(shape: tuple[int, ...]) -> int:
    """Number of entries of one sample of shape ``shape``."""
    return int(math.prod(shape))
