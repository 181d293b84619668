"""Latent penalties F(Q_Z, P_Z), the divergence term of eq. (12).

A penalty is called as ``penalty(encoding, prior)`` on a batch of codes and
returns a scalar. The primal recipes minimize ``fit + lam * penalty``.

* :class:`KLPenalty` - the per-sample KL(Q(Z|X=x), P_Z) averaged over x,
  which makes the VAE's bound eq. (5); closed form for Gaussians.
* :class:`MMDPenalty` - MMD_k(Q_Z, P_Z) on the aggregate posterior (WAE-MMD).
* :class:`SlicedPenalty` - sliced W_p^p(Q_Z, P_Z) (SWAE, Kolouri et al. 2019).
* :class:`SinkhornPenalty` - the Sinkhorn divergence S_eps(Q_Z, P_Z)
  (Sinkhorn auto-encoders, Patrini et al. 2019).

The last three compare the aggregate Q_Z with P_Z through fresh prior samples
of the batch's size; only KL constrains every Q(Z|X=x) separately (the source
of VAE blur, section 4 of the VEGAN paper).

Every penalty is computed in float32, also inside a mixed-precision step
(run option ``precision``): the codes are cast to float32 and autocast is
off while the penalty is evaluated (:mod:`vegan.ot.fp32`); the prior
samples they are compared with are float32 draws.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vegan.errors import ConfigError
from vegan.models.encoders import Encoding
from vegan.models.kernels import WAE_SCALES, mmd
from vegan.models.priors import GaussianPrior, Prior
from vegan.ot.fp32 import as_float32, autocast_off
from vegan.parallel import current, local_noise

#: Where a batch-wide penalty is computed in a distributed run (``penalty_scope``).
SCOPES = ("global", "local")


def codes_and_prior_draws(
    enc: Encoding, prior: Prior, scope: str = "global"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes and as many prior samples, over the whole batch or this process's part.

    In a distributed run, ``scope="global"`` gathers the codes of every rank
    (with gradients) and draws prior samples for all of them, so a penalty
    that is not an average over samples (MMD, sliced, Sinkhorn) is the
    single-process one; ``"local"`` uses this rank's codes only. With one
    process both are the same. A penalty of a user's recipe that compares
    Q_Z with P_Z should take its codes from here (docs/howto/new-recipe.md).
    Half-precision codes (a mixed-precision step) come back in float32, so
    the prior samples are float32 draws too.
    """
    if scope not in SCOPES:
        raise ConfigError(f"penalty scope must be global or local, got '{scope}'")
    if scope == "global":
        z = as_float32(current().gather(enc.z))
        return z, prior.sample(z.shape[0]).to(z.dtype)
    z = as_float32(enc.z)
    return z, local_noise(prior.sample, z.shape[0]).to(z.dtype)


class KLPenalty(nn.Module):
    """E_x KL(N(mu(x), diag(var(x))) || N(0, s^2 I)), eq. (5), in closed form:

    KL = 1/2 sum_i [ (var_i + mu_i^2) / s^2 - 1 - log var_i + log s^2 ],

    computed in float32 (autocast off, half-precision moments cast up).
    """

    name = "kl"

    def forward(self, enc: Encoding, prior: Prior) -> torch.Tensor:
        if enc.logvar is None or enc.mean is None:
            raise ConfigError("the KL penalty needs a Gaussian encoder (set encoder=gaussian)")
        if not isinstance(prior, GaussianPrior):
            raise ConfigError(
                "the closed-form KL penalty needs a Gaussian prior (set prior=gaussian)"
            )
        s2 = prior.scale**2
        mean, logvar = as_float32(enc.mean), as_float32(enc.logvar)
        with autocast_off():
            kl = 0.5 * ((logvar.exp() + mean.pow(2)) / s2 - 1.0 - logvar + math.log(s2))
            return kl.sum(1).mean()


class MMDPenalty(nn.Module):
    """MMD_k(Q_Z, P_Z)^2, unbiased, multi-scale, kernel constant C = 2 d_z sigma_z^2 (WAE-MMD)."""

    name = "mmd"

    def __init__(
        self, kernel: str = "imq", scales: tuple[float, ...] = WAE_SCALES, scope: str = "global"
    ) -> None:
        super().__init__()
        self.kernel, self.scales, self.scope = kernel, tuple(scales), scope

    def forward(self, enc: Encoding, prior: Prior) -> torch.Tensor:
        z, zp = codes_and_prior_draws(enc, prior, self.scope)
        return mmd(z, zp, self.kernel, self.scales, c_base=2.0 * prior.dim * prior.variance)


class SlicedPenalty(nn.Module):
    """Sliced Wasserstein SW_p^p(Q_Z, P_Z) over random directions (SWAE)."""

    name = "sw"

    def __init__(self, n_projections: int = 50, p: int = 2, scope: str = "global") -> None:
        super().__init__()
        self.n_projections, self.p, self.scope = n_projections, p, scope

    def forward(self, enc: Encoding, prior: Prior) -> torch.Tensor:
        from vegan.ot.sliced import sliced_wasserstein

        z, zp = codes_and_prior_draws(enc, prior, self.scope)
        return sliced_wasserstein(z, zp, n_projections=self.n_projections, p=self.p, power=True)


class SinkhornPenalty(nn.Module):
    """Debiased Sinkhorn divergence S_eps(Q_Z, P_Z) with squared Euclidean cost.

    ``epsilon`` is relative: it multiplies the prior's expected squared
    distance between two codes, 2 d_z sigma_z^2, so the default suits any
    latent dimension and prior scale.
    """

    name = "sinkhorn"

    def __init__(self, epsilon: float = 0.05, max_iter: int = 100, scope: str = "global") -> None:
        super().__init__()
        self.epsilon, self.max_iter, self.scope = epsilon, max_iter, scope

    def forward(self, enc: Encoding, prior: Prior) -> torch.Tensor:
        from vegan.ot.sinkhorn import sinkhorn_divergence

        z, zp = codes_and_prior_draws(enc, prior, self.scope)
        eps = self.epsilon * 2.0 * prior.dim * prior.variance
        # A fixed work budget per step: a penalty needs a good gradient, not a
        # certified optimum, so convergence is not checked here.
        return sinkhorn_divergence(
            z,
            zp,
            epsilon=eps,
            cost="l2sq",
            max_iter=self.max_iter,
            tol=1e-4,
            check_convergence=False,
        )
