"""The dual recipes: GAN (eq. 4), WGAN and WGAN-GP (eq. 2). No encoder.

The distance between P_X and P_G is written as a supremum over critics T
and estimated by training one; the generator G (a deterministic decoder
fed with prior codes) then descends the estimate. Two players, run in this
order every iteration:

* "critic", ``n_critic`` steps on data batches against fresh fakes G(z):
  - ``gan``: the discriminator of eq. (4),
    D_GAN(P_X, P_G) = sup_T E log sigmoid T(X) + E log(1 - sigmoid T(G(Z))),
    trained with :func:`~vegan.models.critics.logistic_loss`;
  - ``wgan`` / ``wgan-gp``: the Kantorovich-Rubinstein critic of eq. (2),
    W_1(P_X, P_G) = sup_{T 1-Lipschitz} E T(X) - E T(G(Z)), the Lipschitz
    constraint enforced by weight clipping (Arjovsky et al. 2017) or by the
    two-sided gradient penalty (Gulrajani et al. 2017).
* "generator", one step on prior samples (it takes no data): the
  non-saturating -E log D(G(Z)) (or the minimax E log(1 - D(G(Z)))) for
  ``gan``, -E T(G(Z)) for the Wasserstein recipes.

The logged ``critic/w1`` of the Wasserstein recipes is the critic's value
E T(X) - E T(G(Z)) on the batch: a biased, lower estimate of W1 (see
:func:`vegan.ot.dual.dual_w1`); with clipping it is W1 times an unknown
Lipschitz constant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vegan.errors import ConfigError
from vegan.models.config import Config, opt
from vegan.models.critics import (
    Critic,
    critic_net,
    generator_loss,
    gradient_penalty,
    kr_value,
    logistic_loss,
    weight_clipper,
)
from vegan.models.decoders import DeterministicDecoder
from vegan.models.game import OPTIMIZERS, Player
from vegan.models.model import GenerativeModel
from vegan.models.parts import backbone_kwargs, output_map
from vegan.models.priors import make_prior
from vegan.models.registry import recipe
from vegan.nets import decoder_net
from vegan.ot.fp32 import as_float32
from vegan.parallel import local_noise

CriticLoss = Callable[[nn.Module, torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict]]

# ------------------------------------------------------------------ ingredients


@dataclass
class DualConfig(Config):
    """Options every dual recipe shares (generator = decoder, critic on data)."""

    batch_size: int = opt(64, "samples per step (64 in the WGAN and WGAN-GP papers)")
    optimizer: str = opt("adam", "optimizer of both players: adam, rmsprop or sgd")
    critic_lr: float = opt(1e-4, "learning rate of the critic")
    n_critic: int = opt(5, "critic steps per generator step")
    critic_norm: str = opt(
        "auto", "critic normalisation: auto (layer for images, none for vectors), layer or none"
    )

    def validate(self) -> None:
        super().validate()
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"option 'optimizer' must be one of {', '.join(OPTIMIZERS)}")
        if self.n_critic < 1:
            raise ConfigError(f"option 'n_critic' must be >= 1, got {self.n_critic}")


def generator_and_critic(
    cfg: Any, shape: tuple[int, ...], nets: dict[str, nn.Module]
) -> GenerativeModel:
    """Prior, generator G (a deterministic decoder) and critic T(x); no players yet.

    ``nets`` may hold "decoder" (or "generator") and "critic" modules
    replacing the default backbones.
    """
    prior = make_prior(cfg.prior, cfg.latent_dim, cfg.prior_scale)
    net = nets.get("decoder") or nets.get("generator")
    if net is None:
        net = decoder_net(cfg.latent_dim, shape, **backbone_kwargs(cfg))
    generator = DeterministicDecoder(net, output_map(shape))
    critic = Critic(
        nets.get("critic")
        or critic_net(shape, cfg.backbone, cfg.width, cfg.hidden, cfg.depth, cfg.critic_norm)
    )
    return GenerativeModel(cfg, shape, prior, generator, None, critic=critic)


def _fakes(model: GenerativeModel, n: int) -> torch.Tensor:
    """n samples G(z), z ~ P_Z (through the decoder's output map)."""
    return model.decoder.mean(model.decoder(local_noise(model.prior.sample, n)))


def critic_player(
    model: GenerativeModel,
    cfg: Any,
    critic_loss: CriticLoss,
    after_step: Callable[[], None] | None = None,
    steps_schedule: Callable[[int], int] | None = None,
) -> Player:
    """The critic: ``n_critic`` steps of ``critic_loss(critic, real, fake)`` per iteration."""
    critic = model.parts["critic"]

    def loss(x, cache):
        cache["n"] = x.shape[0]
        with torch.no_grad():
            fake = _fakes(model, x.shape[0])
        return critic_loss(critic, x, fake)

    return Player(
        "critic",
        [critic],
        loss,
        optimizer=cfg.optimizer,
        lr=cfg.critic_lr,
        betas=(cfg.beta1, cfg.beta2),
        steps=cfg.n_critic,
        after_step=after_step,
        steps_schedule=steps_schedule,
    )


def generator_player(
    model: GenerativeModel, cfg: Any, objective: Callable[[torch.Tensor], torch.Tensor]
) -> Player:
    """The generator: one step of ``objective(T(G(z)))`` on as many codes as the data batch."""
    critic = model.parts["critic"]

    def loss(x, cache):
        value = objective(critic(_fakes(model, cache.get("n", cfg.batch_size))))
        return value, {}

    return Player(
        "generator",
        [model.decoder],
        loss,
        optimizer=cfg.optimizer,
        lr=cfg.lr,
        betas=(cfg.beta1, cfg.beta2),
        uses_data=False,
    )


def gan_critic_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor):
    """The discriminator's side of eq. (4): logistic loss, real labelled 1, fake 0."""
    logits_real, logits_fake = critic(real), critic(fake)
    bce = logistic_loss(logits_real, logits_fake)
    return bce, {
        "bce": bce,
        "d_real": torch.sigmoid(as_float32(logits_real.detach())).mean(),
        "d_fake": torch.sigmoid(as_float32(logits_fake.detach())).mean(),
    }


def wasserstein_critic_loss(gp_weight: float = 0.0) -> CriticLoss:
    """-(E T(real) - E T(fake)), eq. (2), plus ``gp_weight`` times the gradient penalty."""

    def loss(critic, real, fake):
        w1 = kr_value(critic(real), critic(fake))
        terms = {"w1": w1}
        total = -w1
        if gp_weight > 0:
            gp = gradient_penalty(critic, real, fake, gp_weight)
            terms["gp"] = gp
            total = total + gp
        return total, terms

    return loss


def wasserstein_generator_loss(critic_fake: torch.Tensor) -> torch.Tensor:
    """-E T(G(Z)): the generator descends the critic's estimate of W1 (averaged in float32)."""
    return -as_float32(critic_fake).mean()


# ------------------------------------------------------------------ GAN


@dataclass
class GANConfig(DualConfig):
    """The GAN of eq. (4) with DCGAN's optimizer settings (Radford et al. 2016)."""

    lr: float = opt(2e-4, "learning rate of the generator (DCGAN: 2e-4)")
    critic_lr: float = opt(2e-4, "learning rate of the discriminator (DCGAN: 2e-4)")
    beta1: float = opt(0.5, "Adam beta1 (DCGAN: 0.5)")
    n_critic: int = opt(1, "discriminator steps per generator step")
    generator_loss: str = opt(
        "non_saturating", "non_saturating (-log D(G(z))) or minimax (log(1 - D(G(z))), eq. (4))"
    )

    def validate(self) -> None:
        super().validate()
        if self.generator_loss not in ("non_saturating", "minimax"):
            raise ConfigError(
                "option 'generator_loss' must be non_saturating or minimax, got "
                f"'{self.generator_loss}'"
            )


@recipe(
    "gan",
    GANConfig,
    side="dual",
    equation="(4)",
    summary="GAN: discriminator of eq. (4), non-saturating generator loss",
)
def gan(cfg, shape, nets):
    """GAN: critic T maximizes eq. (4); the generator minimizes the (non-saturating) GAN loss."""
    model = generator_and_critic(cfg, shape, nets)
    kind = cfg.generator_loss
    model.players = [
        critic_player(model, cfg, gan_critic_loss),
        generator_player(model, cfg, lambda logits: generator_loss(logits, kind)),
    ]
    return model


# ------------------------------------------------------------------ WGAN


@dataclass
class WGANConfig(DualConfig):
    """WGAN, Algorithm 1 of Arjovsky et al. (2017)."""

    optimizer: str = opt("rmsprop", "optimizer of both players (WGAN: rmsprop)")
    lr: float = opt(5e-5, "learning rate of the generator (WGAN: 5e-5)")
    critic_lr: float = opt(5e-5, "learning rate of the critic (WGAN: 5e-5)")
    clip: float = opt(0.01, "weight clipping: critic parameters are kept in [-clip, clip]")
    critic_boost: bool = opt(
        True,
        "100 critic steps for the first 25 generator steps and every 500th "
        "(the WGAN reference code)",
    )


def wgan_critic_steps(n_critic: int) -> Callable[[int], int]:
    """The WGAN code's schedule: 100 critic steps when step < 25 or step % 500 == 0."""

    def steps(step: int) -> int:
        return 100 if step < 25 or step % 500 == 0 else n_critic

    return steps


@recipe(
    "wgan",
    WGANConfig,
    side="dual",
    equation="(2), clipping",
    summary="Wasserstein GAN: critic of eq. (2) kept Lipschitz by clipping weights to 0.01",
)
def wgan(cfg, shape, nets):
    """WGAN: a weight-clipped critic estimates W_1 by eq. (2); G minimizes -E T(G(Z))."""
    model = generator_and_critic(cfg, shape, nets)
    critic = model.parts["critic"]
    model.players = [
        critic_player(
            model,
            cfg,
            wasserstein_critic_loss(0.0),
            after_step=weight_clipper(critic, cfg.clip),
            steps_schedule=wgan_critic_steps(cfg.n_critic) if cfg.critic_boost else None,
        ),
        generator_player(model, cfg, wasserstein_generator_loss),
    ]
    return model


# ------------------------------------------------------------------ WGAN-GP


@dataclass
class WGANGPConfig(DualConfig):
    """WGAN-GP, Algorithm 1 of Gulrajani et al. (2017)."""

    lr: float = opt(1e-4, "learning rate of the generator (WGAN-GP: 1e-4)")
    critic_lr: float = opt(1e-4, "learning rate of the critic (WGAN-GP: 1e-4)")
    beta1: float = opt(0.0, "Adam beta1 (WGAN-GP: 0)")
    beta2: float = opt(0.9, "Adam beta2 (WGAN-GP: 0.9)")
    gp_weight: float = opt(10.0, "weight of the gradient penalty (WGAN-GP: 10)")

    def validate(self) -> None:
        super().validate()
        if not self.gp_weight >= 0:
            raise ConfigError(f"option 'gp_weight' must be >= 0, got {self.gp_weight}")


@recipe(
    "wgan-gp",
    WGANGPConfig,
    side="dual",
    equation="(2), penalty",
    summary="WGAN-GP: critic of eq. (2) with a two-sided gradient penalty, weight 10",
)
def wgan_gp(cfg, shape, nets):
    """WGAN-GP: eq. (2) with a two-sided gradient penalty on the critic; the generator minimizes -E
    T(G(Z)).
    """
    model = generator_and_critic(cfg, shape, nets)
    model.players = [
        critic_player(model, cfg, wasserstein_critic_loss(cfg.gp_weight)),
        generator_player(model, cfg, wasserstein_generator_loss),
    ]
    return model


__all__ = [
    "DualConfig",
    "GANConfig",
    "WGANConfig",
    "WGANGPConfig",
    "generator_and_critic",
    "critic_player",
    "generator_player",
    "gan_critic_loss",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
    "wgan_critic_steps",
]
