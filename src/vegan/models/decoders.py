"""Decoders (generators) P_G(Y|Z): deterministic, Gaussian and Bernoulli.

A decoder maps a code z to raw outputs ``h = net(z)`` (data-shaped). From ``h``:
``mean(h)`` is G(z), the mean of P_G(Y|Z=z); ``sample(h)`` draws Y; ``nll(x, h)``
is -log p_G(x|z) per sample, the fit term of the likelihood recipes (eq. (5)-(7)).
``output`` sets how ``h`` maps to data space: ``"sigmoid"`` for images in
[0, 1], ``"identity"`` for unbounded vectors.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vegan.parallel import local_noise


class DeterministicDecoder(nn.Module):
    """Y = G(z): the decoder of the transport recipes (Theorem 1 needs it deterministic)."""

    kind = "deterministic"

    def __init__(self, net: nn.Module, output: str = "sigmoid") -> None:
        super().__init__()
        self.net, self.output = net, output

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)

    def mean(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(h) if self.output == "sigmoid" else h

    def sample(self, h: torch.Tensor) -> torch.Tensor:
        return self.mean(h)

    def nll(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("a deterministic decoder has no likelihood; use a cost fit")


class GaussianDecoder(DeterministicDecoder):
    """P_G(Y|Z=z) = N(G(z), sigma^2 I_d), with sigma fixed or learned.

    -log p(x|z) = |x - G(z)|^2 / (2 sigma^2) + d log sigma + (d/2) log(2 pi).
    With the squared cost, E c(x, Y) = |x - G(z)|^2 + d sigma^2 (Remark 1).
    """

    kind = "gaussian"

    def __init__(
        self, net: nn.Module, sigma: float = 1.0, learn_sigma: bool = False, output: str = "sigmoid"
    ) -> None:
        super().__init__(net, output)
        log_sigma = torch.tensor(math.log(sigma), dtype=torch.float32)
        if learn_sigma:
            self.log_sigma = nn.Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", log_sigma)

    @property
    def sigma(self) -> torch.Tensor:
        return self.log_sigma.exp()

    def sample(self, h: torch.Tensor) -> torch.Tensor:
        mu = self.mean(h)
        eps = local_noise(
            lambda n: torch.randn(n, *mu.shape[1:], device=mu.device, dtype=mu.dtype), mu.shape[0]
        )
        return mu + self.sigma * eps

    def nll(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        d = x[0].numel()
        sq = (x - self.mean(h)).flatten(1).pow(2).sum(1)
        return 0.5 * sq / self.sigma**2 + d * self.log_sigma + 0.5 * d * math.log(2 * math.pi)


class BernoulliDecoder(DeterministicDecoder):
    """P_G(Y|Z=z) = prod Bernoulli(sigmoid(h)): the binary likelihood of MNIST VAEs.

    -log p(x|z) is the summed binary cross-entropy with logits (grey levels in
    [0, 1] are accepted, as is customary for MNIST).
    """

    kind = "bernoulli"

    def __init__(self, net: nn.Module) -> None:
        super().__init__(net, "sigmoid")

    def sample(self, h: torch.Tensor) -> torch.Tensor:
        return torch.bernoulli(torch.sigmoid(h))

    def nll(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(h, x, reduction="none").flatten(1).sum(1)
