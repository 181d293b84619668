"""The primal recipes without an adversary: AE, VAE, WAE-MMD, SWAE and Sinkhorn-WAE.

Each minimizes, over encoder and decoder (one player, "autoencoder"),

    E_x E_{z ~ Q(Z|X=x)} fit(x, G(z)) + lam * F(Q, P_Z)            eq. (12)

and differs only in the ingredients: the fit term (a transport cost c, or
-log p_G(x|z) for the likelihood recipes), the encoder's kind and the
penalty F. With F the per-sample KL, lam = 1 and the NLL fit this is the
VAE's negative ELBO, eq. (5); with F = MMD it is WAE-MMD; lam = 0 gives a
plain auto-encoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vegan.errors import ConfigError
from vegan.models.config import Config, opt
from vegan.models.fits import CostFit, NLLFit
from vegan.models.game import Player
from vegan.models.kernels import WAE_SCALES
from vegan.models.model import GenerativeModel
from vegan.models.parts import make_decoder, make_encoder
from vegan.models.penalties import KLPenalty, MMDPenalty, SinkhornPenalty, SlicedPenalty
from vegan.models.priors import make_prior
from vegan.models.registry import recipe


@dataclass
class AutoEncoderConfig(Config):
    """Options of every auto-encoder recipe (the WAE paper's MNIST settings by default)."""

    encoder: str = opt("deterministic", "Q(Z|X): deterministic, gaussian or implicit")
    decoder: str = opt(
        "deterministic",
        "P_G(Y|Z): deterministic, gaussian, bernoulli, or auto "
        "(bernoulli for images, gaussian with learned sigma for vectors)",
    )
    sigma: float = opt(1.0, "standard deviation of a Gaussian decoder")
    learn_sigma: bool = opt(False, "learn the Gaussian decoder's sigma")
    fit: str = opt("cost", "fit term: cost (transport cost c(x, G(z))) or nll (-log p_G(x|z))")
    cost: str = opt("l2sq", "transport cost c: l2sq (squared Euclidean), l2 or l1")
    cost_scale: float = opt(0.05, "multiplies the cost (the WAE code used 0.05 for l2sq)")
    lam: float = opt(10.0, "weight lambda of the latent penalty, eq. (12)")
    lam_warmup: int = opt(
        0,
        "steps over which lam rises linearly from 0 to its value (0: constant lam); for the "
        "VAE this is KL annealing (Bowman et al. 2016), a remedy for posterior collapse",
    )

    def validate(self) -> None:
        super().validate()
        if self.lam_warmup < 0:
            raise ConfigError(f"option 'lam_warmup' must be >= 0, got {self.lam_warmup}")
        if self.fit not in ("cost", "nll"):
            raise ConfigError(f"option 'fit' must be cost or nll, got '{self.fit}'")
        if self.fit == "nll" and self.decoder == "deterministic":
            raise ConfigError("the nll fit needs a random decoder (decoder=gaussian or bernoulli)")


def fit_term(cfg: Any) -> nn.Module:
    """The fit term of ``cfg``: the scaled cost c(x, G(z)) (``fit = "cost"``) or -log p_G(x|z)."""
    return CostFit(cfg.cost, cfg.cost_scale) if cfg.fit == "cost" else NLLFit()


def autoencoder(
    cfg: Any,
    shape: tuple[int, ...],
    nets: dict[str, nn.Module],
    fit: nn.Module,
    penalty: nn.Module | None = None,
) -> GenerativeModel:
    """Prior, encoder and decoder from ``cfg``, and one player minimizing fit + lam * penalty.

    ``fit`` is the first term of eq. (12) (:func:`fit_term` gives the config's;
    a recipe may pass its own, e.g. another cost); ``penalty`` is F(Q_Z, P_Z),
    called as ``penalty(encoding, prior)``, or None for no latent penalty.
    """
    prior = make_prior(cfg.prior, cfg.latent_dim, cfg.prior_scale)
    encoder = make_encoder(cfg, shape, nets)
    decoder = make_decoder(cfg, shape, nets)
    if isinstance(fit, NLLFit) and decoder.kind == "deterministic":
        raise ConfigError("the nll fit needs a random decoder (decoder=gaussian or bernoulli)")
    model = GenerativeModel(cfg, shape, prior, decoder, encoder, fit=fit)
    lam = cfg.lam if penalty is not None else 0.0
    if penalty is not None:
        model.parts["penalty"] = penalty
    model.players = [autoencoder_player(model, lam, cfg)]
    return model


def warmed_up(lam: float, warmup: int, step: int | None) -> float:
    """The penalty weight at iteration ``step`` (0-based): lam * min(1, (step + 1) / warmup).

    A linear warm-up of the latent penalty's weight (KL annealing for the VAE,
    Bowman et al. 2016; Sonderby et al. 2016). ``warmup`` 0 or an unknown step
    (a loss called outside the training loop) gives lam itself. A pure function
    of the step, so a resumed run continues the same ramp.
    """
    if warmup <= 0 or step is None:
        return lam
    return lam * min(1.0, (step + 1) / warmup)


def weighted_penalty(
    value: torch.Tensor, lam: float, warmup: int, cache: dict, terms: dict
) -> torch.Tensor:
    """``value`` times the weight of :func:`warmed_up` at the cache's step.

    During a warm-up the weight is logged as the term ``lam`` (on the
    value's device: the loop stacks the terms of a step).
    """
    weight = warmed_up(lam, warmup, cache.get("step"))
    if warmup:
        terms["lam"] = torch.tensor(weight, device=value.device)
    return weight * value


def autoencoder_player(model: GenerativeModel, lam: float, cfg: Any) -> Player:
    """The player that trains encoder and decoder on fit + lam * penalty.

    Leaves the batch's codes in ``cache["codes"]`` for players that follow
    (a latent adversary reuses them instead of encoding the batch again).
    """
    encoder, decoder, prior = model.encoder, model.decoder, model.prior
    fit = model.parts["fit"]
    penalty = model.parts["penalty"] if "penalty" in model.parts else None
    fit_name = "nll" if isinstance(fit, NLLFit) else "cost"
    pen_name = getattr(penalty, "name", "penalty")
    warmup = int(getattr(cfg, "lam_warmup", 0))

    def loss(x, cache):
        codes = encoder(x)
        cache["codes"] = codes
        fit_value = fit(x, decoder(codes.z), decoder)
        terms = {fit_name: fit_value}
        total = fit_value
        if penalty is not None and lam > 0:
            pen = penalty(codes, prior)
            terms[pen_name] = pen
            total = total + weighted_penalty(pen, lam, warmup, cache, terms)
        return total, terms

    return Player(
        "autoencoder",
        [encoder, decoder],
        loss,
        optimizer="adam",
        lr=cfg.lr,
        betas=(cfg.beta1, cfg.beta2),
    )


@recipe(
    "ae",
    AutoEncoderConfig,
    side="primal",
    equation="(12), lam = 0",
    summary="plain auto-encoder, no latent penalty: the baseline (prior samples are poor)",
)
def ae(cfg, shape, nets):
    """Plain auto-encoder: minimize E c(x, G(E(x))) (eq. (12) with lam = 0); nothing ties Q_Z to
    P_Z.
    """
    return autoencoder(cfg, shape, nets, fit_term(cfg))


@dataclass
class VAEConfig(AutoEncoderConfig):
    """Options of the VAE: Gaussian encoder, likelihood decoder, per-sample KL (eq. (5))."""

    encoder: str = opt("gaussian", "Q(Z|X): a Gaussian encoder (reparametrized)")
    decoder: str = opt(
        "auto", "P_G(Y|Z): auto = bernoulli for images, gaussian with learned sigma for vectors"
    )
    fit: str = opt("nll", "fit term: nll (-log p_G(x|z), the ELBO's) or cost")
    lam: float = opt(
        1.0, "weight of the per-sample KL (1 is the ELBO; other values give a beta-VAE)"
    )


@recipe(
    "vae",
    VAEConfig,
    side="primal",
    equation="(5)",
    summary="variational auto-encoder: -log p_G(x|z) + per-sample KL(Q(Z|X), P_Z)",
)
def vae(cfg, shape, nets):
    """VAE: minimize E[-log p_G(x|z)] + lam * E_x KL(Q(Z|X=x), P_Z), the negative ELBO of eq. (5)
    at lam = 1.
    """
    return autoencoder(cfg, shape, nets, fit_term(cfg), KLPenalty())


@dataclass
class WAEMMDConfig(AutoEncoderConfig):
    """Options of WAE-MMD: the WAE paper's MNIST settings and the MMD kernel (eq. (12))."""

    kernel: str = opt("imq", "MMD kernel: imq (inverse multiquadratics) or rbf")
    kernel_scales: tuple[float, ...] = opt(
        WAE_SCALES, "kernel constants C = 2 d_z sigma_z^2 * s for each scale s, summed"
    )


@recipe(
    "wae-mmd",
    WAEMMDConfig,
    side="primal",
    equation="(12) with MMD",
    summary="Wasserstein auto-encoder: c(x, G(z)) + lam * MMD(Q_Z, P_Z), IMQ kernel, lam = 10",
)
def wae_mmd(cfg, shape, nets):
    """WAE-MMD: minimize E c(x, G(E(x))) + lam * MMD_k(Q_Z, P_Z), eq. (12) with the MMD penalty."""
    penalty = MMDPenalty(cfg.kernel, cfg.kernel_scales, scope=cfg.penalty_scope)
    return autoencoder(cfg, shape, nets, fit_term(cfg), penalty)


@dataclass
class SWAEConfig(AutoEncoderConfig):
    """Options of SWAE: the auto-encoder's plus the sliced penalty's directions and order."""

    projections: int = opt(50, "random directions of the sliced Wasserstein penalty")
    p: int = opt(2, "order p of the sliced W_p^p penalty")

    def validate(self) -> None:
        super().validate()
        if self.projections < 1:
            raise ConfigError("option 'projections' must be >= 1")


@recipe(
    "swae",
    SWAEConfig,
    side="primal",
    equation="(12) with sliced W",
    summary="sliced-Wasserstein auto-encoder: c(x, G(z)) + lam * SW_2^2(Q_Z, P_Z)",
)
def swae(cfg, shape, nets):
    """SWAE: minimize E c(x, G(E(x))) + lam * SW_p^p(Q_Z, P_Z), eq. (12) with a sliced penalty."""
    penalty = SlicedPenalty(cfg.projections, cfg.p, scope=cfg.penalty_scope)
    return autoencoder(cfg, shape, nets, fit_term(cfg), penalty)


@dataclass
class SinkhornWAEConfig(AutoEncoderConfig):
    """Options of Sinkhorn-WAE: the auto-encoder's plus the Sinkhorn epsilon and budget."""

    epsilon: float = opt(
        0.05,
        "entropic regularisation as a fraction of 2 d_z sigma_z^2 (the prior's mean squared "
        "distance between two codes); vegan.ot.sinkhorn's epsilon is absolute",
    )
    sinkhorn_iters: int = opt(50, "Sinkhorn iterations per step")
    lam: float = opt(10.0, "weight lambda of the Sinkhorn penalty")

    def validate(self) -> None:
        super().validate()
        if not self.epsilon > 0:
            raise ConfigError("option 'epsilon' must be > 0")


@recipe(
    "sinkhorn-wae",
    SinkhornWAEConfig,
    side="primal",
    equation="(12) with Sinkhorn",
    summary="Sinkhorn auto-encoder: c(x, G(z)) + lam * Sinkhorn divergence(Q_Z, P_Z)",
)
def sinkhorn_wae(cfg, shape, nets):
    """Sinkhorn-WAE: minimize E c(x, G(E(x))) + lam * S_eps(Q_Z, P_Z), eq. (12) with a Sinkhorn
    penalty.
    """
    penalty = SinkhornPenalty(cfg.epsilon, cfg.sinkhorn_iters, scope=cfg.penalty_scope)
    return autoencoder(cfg, shape, nets, fit_term(cfg), penalty)
