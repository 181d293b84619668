"""Critics and adversaries: the networks that estimate a divergence by being trained.

Every adversarial recipe is a game in which one player, an adversary, is
trained to tell two samples apart and its value estimates a divergence
between their laws; the other player moves one of the laws to fool it.

* :class:`LatentAdversary` - a discriminator on codes for D_GAN(Q_Z, P_Z), the
  latent penalty of the AAE, eq. (7), and of POT / WAE-GAN, eq. (13).
* :class:`JointCritic` - AVB's discriminator T(x, z), eq. (6): trained with
  :func:`logistic_loss` on pairs (x, z ~ Q(Z|X=x)) against (x, z ~ P_Z), its
  optimum is T*(x, z) = log q(z|x) - log p_Z(z) (Mescheder et al. 2017,
  Proposition 1).
* :class:`Critic` - a scalar function T(x) on data: the GAN discriminator of
  eq. (4), or the Kantorovich-Rubinstein critic of eq. (2) made (roughly)
  1-Lipschitz by :func:`clip_weights` (WGAN, Arjovsky et al. 2017) or by
  :func:`gradient_penalty` (WGAN-GP, Gulrajani et al. 2017).

The losses are small functions shared by the recipes in
:mod:`vegan.models.adversarial` and :mod:`vegan.models.dual`. The Lipschitz
constraints of eq. (2) (:func:`gradient_penalty`, :func:`clip_weights`) and
the value :func:`kr_value` live with the dual W1 estimate in
:mod:`vegan.ot.dual` (one implementation, used by both) and are re-exported
here.

The losses are computed in float32 whatever the precision of the networks
(run option ``precision``): logits and critic values are cast to float32
and autocast is off while they are reduced (:mod:`vegan.ot.fp32`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vegan.errors import ConfigError
from vegan.nets import MLP, encoder_net
from vegan.nets.mlp import flat_dim
from vegan.nets.select import resolve_backbone
from vegan.ot.dual import clip_weights, gradient_penalty, kr_value
from vegan.ot.fp32 import float32

# ------------------------------------------------------------------ networks


class LatentAdversary(nn.Module):
    """The logit of a discriminator D(z) on the latent space, eq. (7) and (13).

    An MLP of ``depth`` hidden layers of ``hidden`` ReLU units (the WAE
    code's MNIST adversary: 4 layers of 512). Trained on prior codes (label 1)
    against encoded codes (label 0), its optimal logit is
    log p_Z(z) - log q_Z(z).
    """

    def __init__(self, latent_dim: int, hidden: int = 512, depth: int = 4) -> None:
        super().__init__()
        self.net = MLP(latent_dim, 1, hidden=hidden, depth=depth, act="relu")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Logits (n,) of D(z), the probability that z comes from the prior."""
        return self.net(z).squeeze(1)


class JointCritic(nn.Module):
    """AVB's discriminator T(x, z), eq. (6): features of x and the code z, then an MLP.

    For images the features come from a convolutional backbone (layer norm,
    leaky ReLU: no batch statistics, so T(x, z) of one pair does not depend
    on the rest of the batch); vectors are used as they are.
    """

    def __init__(
        self,
        sample_shape: tuple[int, ...],
        latent_dim: int,
        backbone: str = "auto",
        width: int = 32,
        hidden: int = 256,
        depth: int = 3,
    ) -> None:
        super().__init__()
        if resolve_backbone(backbone, sample_shape) == "conv":
            self.features: nn.Module = encoder_net(
                sample_shape, hidden, "conv", width=width, norm="layer", act="leaky_relu"
            )
            feat = hidden
        else:
            self.features = nn.Flatten()
            feat = flat_dim(sample_shape)
        self.head = MLP(feat + latent_dim, 1, hidden=hidden, depth=depth, act="leaky_relu")

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """T(x, z), shape (n,)."""
        return self.head(torch.cat([self.features(x), z], dim=1)).squeeze(1)


class Critic(nn.Module):
    """A scalar function T(x) on data: GAN discriminator (logits) or Wasserstein critic.

    ``net`` maps (n, ...) samples to (n, 1) or (n,) outputs; :func:`critic_net`
    builds the default one.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(x.shape[0])


def critic_net(
    sample_shape: tuple[int, ...],
    backbone: str = "auto",
    width: int = 32,
    hidden: int = 256,
    depth: int = 3,
    norm: str = "auto",
) -> nn.Module:
    """The default critic network: conv for images, MLP for vectors, leaky ReLU.

    ``norm="auto"`` is layer norm for images and none for vectors. Batch norm
    is refused: it makes T(x) depend on the other samples of the batch, which
    breaks the gradient penalty (Gulrajani et al. 2017, section 4).
    """
    kind = resolve_backbone(backbone, sample_shape)
    if norm == "auto":
        norm = "layer" if kind == "conv" else "none"
    if norm not in ("layer", "none"):
        raise ConfigError(f"option 'critic_norm' must be auto, layer or none, got '{norm}'")
    return encoder_net(
        sample_shape,
        1,
        kind,
        width=width,
        hidden=hidden,
        depth=depth,
        norm=norm,
        act="leaky_relu",
    )


# ------------------------------------------------------------------ losses


@float32
def logistic_loss(logits_pos: torch.Tensor, logits_neg: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of a discriminator: positives labelled 1, negatives 0.

    -E log sigmoid(T(pos)) - E log(1 - sigmoid(T(neg))), the negated inner
    objective of eq. (4) (written with softplus, stable for any logit). Its
    minimizer is T* = log p_pos - log p_neg; its minimum is
    2 log 2 - 2 JS(P_pos, P_neg), so 2 log 2 when the laws coincide.
    """
    return F.softplus(-logits_pos).mean() + F.softplus(logits_neg).mean()


@float32
def generator_loss(logits_fake: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """What the generator (or the encoder) minimizes against a GAN discriminator, eq. (4).

    ``"minimax"``: E log(1 - D(G(z))), the objective of eq. (4) itself.
    ``"non_saturating"``: -E log D(G(z)) (Goodfellow et al. 2014), same fixed
    point, stronger gradients when D rejects the fakes; the WAE code's
    encoder loss.
    """
    if kind == "non_saturating":
        return F.softplus(-logits_fake).mean()
    if kind == "minimax":
        return -F.softplus(logits_fake).mean()
    raise ConfigError(f"option 'generator_loss' must be non_saturating or minimax, got '{kind}'")


def weight_clipper(module: nn.Module, c: float):
    """A callable clipping ``module``'s weights to [-c, c]: a player's ``after_step``."""
    if not c > 0:
        raise ConfigError(f"option 'clip' must be > 0, got {c}")

    def clip() -> None:
        clip_weights(module, c)

    return clip


__all__ = [
    "LatentAdversary",
    "JointCritic",
    "Critic",
    "critic_net",
    "logistic_loss",
    "generator_loss",
    "gradient_penalty",
    "clip_weights",
    "weight_clipper",
    "kr_value",
]
