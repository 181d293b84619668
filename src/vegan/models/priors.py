"""Priors P_Z on the latent space (the first ingredient of every recipe).

Each prior samples with ``sample(n, generator=None)`` and, where a density
exists, gives ``log_prob(z)``. ``variance`` is the per-coordinate variance,
which sets the WAE paper's MMD kernel constant C = 2 * d_z * sigma_z^2.
Priors are ``nn.Module`` s without parameters so ``.to(device)`` moves them.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vegan.errors import ConfigError, closest


class Prior(nn.Module):
    """Base class: a distribution on R^dim."""

    def __init__(self, dim: int, scale: float = 1.0) -> None:
        super().__init__()
        if dim < 1:
            raise ConfigError(f"latent dimension must be >= 1, got {dim}")
        if not scale > 0:
            raise ConfigError(f"prior_scale must be > 0, got {scale}")
        self.dim, self.scale = dim, float(scale)
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)

    @property
    def device(self) -> torch.device:
        return self._anchor.device

    @property
    def variance(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError  # pragma: no cover

    def _noise(self, fn, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """Draw (n, dim) noise with ``fn`` (randn/rand) on the generator's device, then move."""
        device = generator.device if generator is not None else self.device
        return fn(n, self.dim, generator=generator, device=device).to(self.device)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no density on R^{self.dim}")


class GaussianPrior(Prior):
    """N(0, scale^2 I_d), the WAE paper's prior (scale 1)."""

    @property
    def variance(self) -> float:
        return self.scale**2

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z = self._noise(torch.randn, n, generator)
        return z * self.scale

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        s2 = self.scale**2
        return -0.5 * (z.pow(2).sum(1) / s2 + self.dim * math.log(2 * math.pi * s2))


class UniformBoxPrior(Prior):
    """Uniform on the box [-scale, scale]^d."""

    @property
    def variance(self) -> float:
        return (2 * self.scale) ** 2 / 12

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        u = self._noise(torch.rand, n, generator)
        return (2 * u - 1) * self.scale

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        inside = (z.abs() <= self.scale).all(1)
        value = -self.dim * math.log(2 * self.scale)
        return torch.where(
            inside, torch.full_like(z[:, 0], value), torch.full_like(z[:, 0], -math.inf)
        )


class SpherePrior(Prior):
    """Uniform on the sphere of radius ``scale`` in R^d (no density on R^d)."""

    def __init__(self, dim: int, scale: float = 1.0) -> None:
        super().__init__(dim, scale)
        if dim < 2:
            raise ConfigError("the sphere prior needs latent_dim >= 2")

    @property
    def variance(self) -> float:
        return self.scale**2 / self.dim

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        g = self._noise(torch.randn, n, generator)
        return self.scale * g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)


PRIORS = {"gaussian": GaussianPrior, "uniform": UniformBoxPrior, "sphere": SpherePrior}


def make_prior(name: str, dim: int, scale: float = 1.0) -> Prior:
    """Build the prior called ``name`` (gaussian, uniform, sphere)."""
    if name not in PRIORS:
        raise ConfigError(
            f"unknown prior '{name}'{closest(name, tuple(PRIORS))}; "
            f"choose one of {', '.join(PRIORS)}"
        )
    return PRIORS[name](dim, scale)
