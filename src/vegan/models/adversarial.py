"""The primal recipes with an adversary: AAE (eq. 7), POT / WAE-GAN (eq. 13) and AVB (eq. 6).

They are auto-encoders like those of :mod:`vegan.models.primal` (same
prior, encoder, decoder and fit term, same "autoencoder" player) whose
latent penalty is estimated by a second player trained against them:

* ``aae`` and ``wae-gan`` (alias ``pot``): F = D_GAN(Q_Z, P_Z) on the
  aggregate posterior, estimated by a :class:`~vegan.models.critics.LatentAdversary`
  trained on prior codes against encoded codes; the encoder minimizes the
  non-saturating loss -log D(z) of its codes (:class:`AdversarialPenalty`).
  The AAE pairs it with the likelihood fit -log p_G(x|z) and lam = 1, eq. (7);
  WAE-GAN with the transport cost c(x, G(z)) and lam = 10, eq. (13).
* ``avb``: an implicit encoder (noise input) whose per-sample
  KL(Q(Z|X=x), P_Z) = E log q(z|x) - log p_Z(z) is estimated by a
  discriminator T(x, z) (:class:`~vegan.models.critics.JointCritic`) trained
  so that T* = log q(z|x) - log p_Z(z), eq. (6). The encoder and decoder
  minimize E [-log p_G(x|z) + T(x, z)], z ~ Q(Z|X=x). By default with AVB's
  adaptive contrast (T sees standardized codes; the Gaussian part of the KL
  is computed exactly), without which T cannot follow a sharpening
  posterior and the encoder collapses onto points.

In a mixed-precision step (run option ``precision``) the adversaries run
in the low-precision dtype like every network, but their losses, the prior
densities log p_Z(z) and the KL estimate of AVB are computed in float32
(:mod:`vegan.ot.fp32`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vegan.errors import ConfigError
from vegan.models.config import opt
from vegan.models.critics import JointCritic, LatentAdversary, generator_loss, logistic_loss
from vegan.models.encoders import Encoding
from vegan.models.fits import NLLFit
from vegan.models.game import Player
from vegan.models.model import GenerativeModel
from vegan.models.primal import (
    AutoEncoderConfig,
    VAEConfig,
    autoencoder,
    fit_term,
    weighted_penalty,
)
from vegan.models.priors import Prior
from vegan.models.registry import recipe
from vegan.ot.fp32 import as_float32, autocast_off
from vegan.parallel import local_noise

# ------------------------------------------------------------------ ingredients


class AdversarialPenalty(nn.Module):
    """The encoder's side of D_GAN(Q_Z, P_Z), eq. (7) and (13): -E log D(z), z ~ Q_Z.

    Holds the latent adversary D (any module mapping codes (n, d_z) to
    logits (n,) or (n, 1)); :func:`latent_adversary_player` trains it.
    Minimizing the non-saturating loss -log D(z) rather than log(1 - D(z))
    is what the WAE code does (same fixed point Q_Z = P_Z, stronger
    gradients early on).

    With ``prior_trick``, log p_Z(z) is added to the adversary's logits
    (the WAE code's ``gan_p_trick``, borrowed from AVB): the optimal logit
    is log p_Z - log q_Z, so the network only has to learn -log q_Z.

    With ``pack`` = m > 1 the adversary judges m codes at once (PacGAN,
    Lin et al. 2018): D sees packs of m codes concatenated, (n/m, m d_z),
    and tells m prior draws from m codes; the packed laws P_Z^m and Q_Z^m
    coincide only when Q_Z = P_Z, so the fixed point is unchanged. A pack
    of two codes from one collapsed posterior is two (nearly) equal points,
    which no pair of prior draws is: D can tell, and its gradient pushes
    the codes of a pack apart, the between-codes term that -log D(z) on
    single codes lacks. The rows of a batch are packed in order; when n is
    not a multiple of m the last pack is filled with the batch's first codes.
    """

    name = "gan"

    def __init__(self, adversary: nn.Module, prior_trick: bool = False, pack: int = 1) -> None:
        super().__init__()
        self.adversary, self.prior_trick, self.pack = adversary, bool(prior_trick), int(pack)

    def packed(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (n, d) as rows of packs: (ceil(n / m) m, d), the first codes repeated to fill."""
        pad = -z.shape[0] % self.pack
        if pad == 0:
            return z
        return torch.cat([z, z[torch.arange(pad, device=z.device) % z.shape[0]]])

    def logits(self, z: torch.Tensor, prior: Prior) -> torch.Tensor:
        """Logits (ceil(n / m),) of D on packs of m codes, in float32 (log p_Z in float32).

        With the prior trick the pack's density is the product of its
        codes' densities: log p_Z summed over the pack.
        """
        z = self.packed(z)
        k = z.shape[0] // self.pack
        out = as_float32(self.adversary(z.reshape(k, -1)).reshape(k))
        if not self.prior_trick:
            return out
        with autocast_off():
            return out + prior.log_prob(as_float32(z)).reshape(k, self.pack).sum(1)

    def forward(self, enc: Encoding, prior: Prior) -> torch.Tensor:
        return generator_loss(self.logits(enc.z, prior), "non_saturating")


def _batch_codes(encoder: nn.Module, x: torch.Tensor, cache: dict) -> torch.Tensor:
    """Codes of this batch, detached: those the autoencoder left in the cache, else encode x.

    The cached codes are used once (by the first adversary step of the
    iteration, which gets the same batch); further steps get fresh batches
    and encode them.
    """
    codes = cache.pop("codes", None)
    if codes is None:
        with torch.no_grad():
            codes = encoder(x)
    return codes.z.detach()


def latent_adversary_player(model: GenerativeModel, lam: float, cfg: Any) -> Player:
    """The player training the latent adversary D on prior codes (label 1) vs encoded codes (0).

    Loss lam * [-E_{P_Z} log D(z) - E_{Q_Z} log(1 - D(z))], the WAE code's
    adversary loss (the weight lam changes nothing at its optimum
    D* = p_Z / (p_Z + q_Z)). Logs the mean of D on each sample.
    """
    encoder, prior = model.encoder, model.prior
    penalty = model.parts["penalty"]

    def loss(x, cache):
        z_q = _batch_codes(encoder, x, cache)
        z_p = local_noise(prior.sample, z_q.shape[0]).to(z_q.dtype)
        logits_p, logits_q = penalty.logits(z_p, prior), penalty.logits(z_q, prior)
        bce = logistic_loss(logits_p, logits_q)
        terms = {
            "bce": bce,
            "d_prior": torch.sigmoid(logits_p.detach()).mean(),
            "d_codes": torch.sigmoid(logits_q.detach()).mean(),
        }
        return lam * bce, terms

    return Player(
        "adversary",
        [penalty.adversary],
        loss,
        optimizer="adam",
        lr=cfg.adv_lr,
        betas=(cfg.beta1, cfg.beta2),
        steps=cfg.adv_steps,
    )


def adversarial_autoencoder(
    cfg: Any, shape: tuple[int, ...], nets: dict[str, nn.Module]
) -> GenerativeModel:
    """An auto-encoder with penalty D_GAN(Q_Z, P_Z): players "autoencoder" and "adversary"."""
    adversary = nets.get("adversary") or LatentAdversary(
        cfg.latent_dim * cfg.adv_pack, cfg.adv_hidden, cfg.adv_depth
    )
    penalty = AdversarialPenalty(adversary, cfg.prior_trick, cfg.adv_pack)
    model = autoencoder(cfg, shape, nets, fit_term(cfg), penalty)
    if cfg.prior_trick:
        try:
            model.prior.log_prob(torch.zeros(1, cfg.latent_dim))
        except NotImplementedError as exc:
            raise ConfigError(
                f"prior_trick=true needs a prior with a density; the {cfg.prior} prior has none"
            ) from exc
    model.players.append(latent_adversary_player(model, cfg.lam, cfg))
    return model


# ------------------------------------------------------------------ WAE-GAN / POT


@dataclass
class WAEGANConfig(AutoEncoderConfig):
    """WAE-GAN: the WAE paper's MNIST settings (tolstikhin/wae, configs.py)."""

    lam: float = opt(10.0, "weight lambda of D_GAN(Q_Z, P_Z), eq. (13) (WAE code, MNIST: 10)")
    adv_lr: float = opt(5e-4, "learning rate of the latent adversary (WAE paper, MNIST: 5e-4)")
    adv_hidden: int = opt(512, "latent adversary: units per hidden layer (WAE code: 512)")
    adv_depth: int = opt(4, "latent adversary: hidden layers (WAE code: 4)")
    adv_steps: int = opt(1, "latent adversary steps per iteration")
    adv_pack: int = opt(
        1,
        "codes the latent adversary judges at once (PacGAN packing; 1 = one code, the papers'); "
        "packs let it see codes that collapsed onto one point",
    )
    prior_trick: bool = opt(
        False, "add log p_Z(z) to the adversary's logits (WAE code's gan_p_trick, from AVB)"
    )

    def validate(self) -> None:
        super().validate()
        for name in ("adv_hidden", "adv_steps", "adv_pack"):
            if getattr(self, name) < 1:
                raise ConfigError(f"option '{name}' must be >= 1, got {getattr(self, name)}")
        if self.adv_depth < 0:
            raise ConfigError(f"option 'adv_depth' must be >= 0, got {self.adv_depth}")


@recipe(
    "wae-gan",
    WAEGANConfig,
    side="primal",
    equation="(13)",
    summary="POT / WAE-GAN: c(x, G(z)) + lam * D_GAN(Q_Z, P_Z) by a latent adversary, lam = 10",
    aliases=("pot",),
)
def wae_gan(cfg, shape, nets):
    """POT / WAE-GAN: minimize E c(x, G(E(x))) + lam * D_GAN(Q_Z, P_Z) with a latent adversary, eq.
    (13).
    """
    return adversarial_autoencoder(cfg, shape, nets)


# ------------------------------------------------------------------ AAE


@dataclass
class AAEConfig(WAEGANConfig):
    """The adversarial auto-encoder (Makhzani et al. 2016) as eq. (7): NLL fit, lam = 1."""

    decoder: str = opt(
        "auto", "P_G(Y|Z): auto = bernoulli for images, gaussian with learned sigma for vectors"
    )
    fit: str = opt("nll", "fit term: nll (-log p_G(x|z), eq. (7)) or cost")
    lam: float = opt(1.0, "weight of D_GAN(Q_Z, P_Z) (1 in eq. (7))")


@recipe(
    "aae",
    AAEConfig,
    side="primal",
    equation="(7)",
    summary="adversarial auto-encoder: -log p_G(x|z) + D_GAN(Q_Z, P_Z) by a latent adversary",
)
def aae(cfg, shape, nets):
    """AAE: minimize E[-log p_G(x|z)] + lam * D_GAN(Q_Z, P_Z) with a latent adversary, eq. (7)."""
    return adversarial_autoencoder(cfg, shape, nets)


# ------------------------------------------------------------------ AVB


@dataclass
class AVBConfig(VAEConfig):
    """Adversarial variational Bayes (Mescheder et al. 2017), eq. (6): a VAE with a learned KL."""

    encoder: str = opt("implicit", "Q(Z|X): implicit (noise input, AVB's) or gaussian")
    lam: float = opt(1.0, "weight of the estimated per-sample KL (1 is AVB's ELBO)")
    sigma: float = opt(
        0.1,
        "standard deviation of a Gaussian decoder (its initial value when learned, as with "
        "decoder=auto on vectors; a small start avoids collapsing Q(Z|X) onto the prior)",
    )
    noise_dim: int = opt(16, "noise inputs of the implicit encoder")
    adaptive_contrast: bool = opt(
        True,
        "AVB's adaptive contrast: T compares standardized codes with N(0, I) and the "
        "Gaussian part of the KL is exact (needs prior=gaussian)",
    )
    ac_samples: int = opt(16, "adaptive contrast: codes per input to estimate q(z|x)'s moments")
    critic_lr: float = opt(5e-4, "learning rate of the discriminator T(x, z)")
    critic_steps: int = opt(1, "discriminator steps per iteration")

    def validate(self) -> None:
        super().validate()
        if self.noise_dim < 1 or self.critic_steps < 1 or self.ac_samples < 2:
            raise ConfigError(
                "options 'noise_dim' and 'critic_steps' must be >= 1 and 'ac_samples' >= 2"
            )
        if self.encoder == "deterministic":
            raise ConfigError("AVB needs a random encoder (encoder=implicit or gaussian)")
        if self.adaptive_contrast and self.prior != "gaussian":
            raise ConfigError(
                "adaptive contrast needs the Gaussian prior (log p_Z(z) finite everywhere); "
                "set prior=gaussian or adaptive_contrast=false"
            )


def _log_normal(z: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, diag(std^2)), summed over coordinates."""
    u = (z - mean) / std
    return -0.5 * (u.pow(2) + 2.0 * std.log() + math.log(2 * math.pi)).sum(1)


def avb_codes(
    encoder: nn.Module, x: torch.Tensor, ac_samples: int = 0
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """A code z ~ Q(Z|X=x) and, for adaptive contrast, the moments of Q(Z|X=x).

    Returns ``(z, mean, std)``; ``mean`` and ``std`` are None when
    ``ac_samples`` is 0. They are detached, as in the AVB code: exact for a
    Gaussian encoder, estimated from ``ac_samples`` further draws for an
    implicit one (the features of x are computed once).
    """
    if not ac_samples:
        return encoder(x).z, None, None
    if getattr(encoder, "kind", None) == "gaussian":
        codes = encoder(x)
        return codes.z, codes.mean.detach(), (0.5 * codes.logvar.detach()).exp()
    if all(hasattr(encoder, a) for a in ("features", "head", "noise_dim")):
        h = encoder.features(x)
        k, n = ac_samples + 1, h.shape[0]
        eps = local_noise(
            lambda m: torch.randn(k, m, encoder.noise_dim, device=h.device, dtype=h.dtype), n, dim=1
        )
        hk = h.unsqueeze(0).expand(k, *h.shape)
        zs = encoder.head(torch.cat([hk, eps], dim=2).reshape(k * n, -1)).reshape(k, n, -1)
    else:  # any other random encoder: encode x again for each draw
        zs = torch.stack([encoder(x).z for _ in range(ac_samples + 1)])
    rest = zs[1:].detach()
    return zs[0], rest.mean(0), (rest.var(0) + 1e-4).sqrt()


def avb_kl_and_contrast(
    critic: nn.Module,
    prior: Prior,
    x: torch.Tensor,
    z: torch.Tensor,
    mean: torch.Tensor | None,
    std: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """AVB's per-sample KL estimate and the point T sees, eq. (6).

    Without adaptive contrast: KL = T(x, z). With it (Mescheder et al. 2017,
    section 3.3): z~ = (z - mean) / std, and with r(z|x) = N(mean, std^2),
    KL = T(x, z~) + log r(z|x) - log p_Z(z); T is trained on z~ against
    N(0, I), so T* = log q(z|x) - log r(z|x) and the sum is log q - log p_Z.
    Returns (KL per sample, the input of T). The KL is computed in float32
    (the codes, their moments and T's value are cast up; autocast is off
    for the densities), whatever the precision of the networks.
    """
    if mean is None:
        return as_float32(critic(x, z)), z
    z, mean, std = as_float32(z), as_float32(mean), as_float32(std)
    z_std = (z - mean) / std
    t = as_float32(critic(x, z_std))
    with autocast_off():
        return t + _log_normal(z, mean, std) - prior.log_prob(z), z_std


def avb_autoencoder_player(model: GenerativeModel, lam: float, cfg: Any) -> Player:
    """Encoder and decoder minimize E_x E_{z ~ Q(Z|X=x)} [fit(x, G(z)) + lam * KL(x, z)], eq. (6).

    KL(x, z) is T(x, z) (or its adaptive-contrast form, see
    :func:`avb_kl_and_contrast`). T's parameters are not this player's: the
    gradient reaches the encoder through z only, which is the gradient of
    the true KL when T is optimal (Mescheder et al. 2017, Proposition 2).
    """
    encoder, decoder, prior = model.encoder, model.decoder, model.prior
    critic, fit = model.parts["critic"], model.parts["fit"]
    fit_name = "nll" if isinstance(fit, NLLFit) else "cost"
    k = cfg.ac_samples if cfg.adaptive_contrast else 0

    def loss(x, cache):
        z, mean, std = avb_codes(encoder, x, k)
        kl, t_input = avb_kl_and_contrast(critic, prior, x, z, mean, std)
        cache["contrast"] = t_input.detach()
        fit_value = fit(x, decoder(z), decoder)
        kl = kl.mean()
        terms = {fit_name: fit_value, "kl": kl}
        return fit_value + weighted_penalty(kl, lam, cfg.lam_warmup, cache, terms), terms

    return Player(
        "autoencoder",
        [encoder, decoder],
        loss,
        optimizer="adam",
        lr=cfg.lr,
        betas=(cfg.beta1, cfg.beta2),
    )


def avb_critic_player(model: GenerativeModel, cfg: Any) -> Player:
    """T(x, z) trained on (x, z ~ Q(Z|X=x)) (label 1) against (x, z ~ P_Z) (label 0).

    The logistic loss has the minimizer T* = log q(z|x) - log p_Z(z)
    (Mescheder et al. 2017, Proposition 1). With adaptive contrast the codes
    are standardized and the reference is N(0, I).
    """
    encoder, prior, critic = model.encoder, model.prior, model.parts["critic"]
    k = cfg.ac_samples if cfg.adaptive_contrast else 0

    def loss(x, cache):
        pos = cache.pop("contrast", None)
        if pos is None:  # steps after the first: a fresh batch
            with torch.no_grad():
                z, mean, std = avb_codes(encoder, x, k)
                pos = z if mean is None else (z - mean) / std
        if k:
            neg = local_noise(
                lambda n: torch.randn(n, *pos.shape[1:], dtype=pos.dtype, device=pos.device),
                pos.shape[0],
            )
        else:
            neg = local_noise(prior.sample, pos.shape[0]).to(pos.dtype)
        bce = logistic_loss(critic(x, pos), critic(x, neg))
        return bce, {"bce": bce}

    return Player(
        "critic",
        [critic],
        loss,
        optimizer="adam",
        lr=cfg.critic_lr,
        betas=(cfg.beta1, cfg.beta2),
        steps=cfg.critic_steps,
    )


@recipe(
    "avb",
    AVBConfig,
    side="primal",
    equation="(6)",
    summary="adversarial variational Bayes: implicit encoder, KL estimated by T(x, z)",
)
def avb(cfg, shape, nets):
    """AVB: implicit Q(Z|X); minimize E[-log p_G(x|z)] + lam * E T(x, z), T a discriminator, eq.
    (6).
    """
    model = autoencoder(cfg, shape, nets, fit_term(cfg))
    model.parts["critic"] = nets.get("critic") or JointCritic(
        shape, cfg.latent_dim, cfg.backbone, cfg.width, cfg.hidden, cfg.depth
    )
    model.players = [avb_autoencoder_player(model, cfg.lam, cfg), avb_critic_player(model, cfg)]
    return model


__all__ = [
    "AdversarialPenalty",
    "latent_adversary_player",
    "adversarial_autoencoder",
    "avb_codes",
    "avb_kl_and_contrast",
    "avb_autoencoder_player",
    "avb_critic_player",
    "WAEGANConfig",
    "AAEConfig",
    "AVBConfig",
]
