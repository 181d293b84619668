"""Fit terms: how far a reconstruction is from its input.

* :class:`CostFit` - the transport cost c(x, G(z)) of eq. (11)-(13), taken
  from :mod:`vegan.ot.costs`, times a scale (the WAE code uses 0.05 for the
  squared Euclidean cost on MNIST pixels).
* :class:`NLLFit` - the negative log-likelihood -log p_G(x|z) of eq. (5)-(7).

Both return the batch mean of a per-sample value.
"""

from __future__ import annotations

import torch
from torch import nn


class CostFit(nn.Module):
    """scale * E c(X, Y) with Y ~ P_G(Y|Z) (Y = G(Z) for a deterministic decoder)."""

    def __init__(self, cost: str = "l2sq", scale: float = 1.0) -> None:
        from vegan.ot.costs import get_cost

        super().__init__()
        self.cost, self.scale = get_cost(cost), float(scale)

    def forward(self, x: torch.Tensor, h: torch.Tensor, decoder: nn.Module) -> torch.Tensor:
        return self.scale * self.cost.paired(x, decoder.sample(h)).mean()


class NLLFit(nn.Module):
    """E -log p_G(x|z), per image summed over pixels (nats)."""

    def forward(self, x: torch.Tensor, h: torch.Tensor, decoder: nn.Module) -> torch.Tensor:
        return decoder.nll(x, h).mean()
