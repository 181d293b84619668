"""Fit terms: how far a reconstruction is from its input.

* :class:`CostFit` - the transport cost c(x, G(z)) of eq. (11)-(13), taken
  from :mod:`vegan.ot.costs`, times a scale (the WAE code uses 0.05 for the
  squared Euclidean cost on MNIST pixels).
* :class:`NLLFit` - the negative log-likelihood -log p_G(x|z) of eq. (5)-(7).

Both return the batch mean of a per-sample value, computed in float32:
inside a mixed-precision step the decoder's raw outputs are cast to float32
and the output map, the decoder's noise, the cost and the likelihood run
with autocast off (:mod:`vegan.ot.fp32`); the networks themselves are not
affected.
"""

from __future__ import annotations

import torch
from torch import nn

from vegan.ot.fp32 import as_float32, autocast_off


class CostFit(nn.Module):
    """scale * E c(X, Y) with Y ~ P_G(Y|Z) (Y = G(Z) for a deterministic decoder)."""

    def __init__(self, cost: str = "l2sq", scale: float = 1.0) -> None:
        from vegan.ot.costs import get_cost

        super().__init__()
        self.cost, self.scale = get_cost(cost), float(scale)

    def forward(self, x: torch.Tensor, h: torch.Tensor, decoder: nn.Module) -> torch.Tensor:
        with autocast_off():
            y = decoder.sample(as_float32(h))
            return self.scale * self.cost.paired(as_float32(x), y).mean()


class NLLFit(nn.Module):
    """E -log p_G(x|z), per image summed over pixels (nats)."""

    def forward(self, x: torch.Tensor, h: torch.Tensor, decoder: nn.Module) -> torch.Tensor:
        with autocast_off():
            return decoder.nll(as_float32(x), as_float32(h)).mean()
