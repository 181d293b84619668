"""Encoders Q(Z|X): deterministic, Gaussian (reparametrized) and implicit.

Every encoder returns an :class:`Encoding`: the code ``z`` (a sample of
Q(Z|X=x)) and, for Gaussian encoders, the mean and log-variance that the
closed-form KL of eq. (5) needs. Any ``nn.Module`` backbone mapping x to
features of the right size can be wrapped.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from vegan.parallel import local_noise


class Encoding(NamedTuple):
    """Output of an encoder: a code sample and, where defined, its Gaussian parameters."""

    z: torch.Tensor
    mean: torch.Tensor | None = None
    logvar: torch.Tensor | None = None


class DeterministicEncoder(nn.Module):
    """Q(Z|X=x) = delta_{E(x)}: the WAE paper's deterministic encoder."""

    kind = "deterministic"

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> Encoding:
        z = self.net(x)
        return Encoding(z, z)


class GaussianEncoder(nn.Module):
    """Q(Z|X=x) = N(mu(x), diag(exp(logvar(x)))), sampled by reparametrization.

    ``net`` must output 2 * latent_dim features: the mean, then the log-variance.
    Log-variances are clamped to [-12, 8] for numerical safety.
    """

    kind = "gaussian"

    def __init__(self, net: nn.Module, latent_dim: int) -> None:
        super().__init__()
        self.net, self.latent_dim = net, latent_dim

    def forward(self, x: torch.Tensor, sample: bool = True) -> Encoding:
        h = self.net(x)
        mean, logvar = h[:, : self.latent_dim], h[:, self.latent_dim :].clamp(-12.0, 8.0)
        if not sample:
            return Encoding(mean, mean, logvar)
        eps = local_noise(
            lambda n: torch.randn(n, *mean.shape[1:], device=mean.device, dtype=mean.dtype),
            mean.shape[0],
        )
        z = mean + eps * (0.5 * logvar).exp()
        return Encoding(z, mean, logvar)


class ImplicitEncoder(nn.Module):
    """Q(Z|X=x) as the law of head(features(x), eps) with eps ~ N(0, I): AVB's encoder, eq. (6).

    The density q(z|x) is not available; AVB estimates log q(z|x) - log p(z)
    with a discriminator T(x, z).
    """

    kind = "implicit"

    def __init__(self, features: nn.Module, head: nn.Module, noise_dim: int) -> None:
        super().__init__()
        self.features, self.head, self.noise_dim = features, head, noise_dim

    def forward(self, x: torch.Tensor) -> Encoding:
        h = self.features(x)
        eps = local_noise(
            lambda n: torch.randn(n, self.noise_dim, device=h.device, dtype=h.dtype), h.shape[0]
        )
        return Encoding(self.head(torch.cat([h, eps], dim=1)))
