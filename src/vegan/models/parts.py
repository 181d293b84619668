"""Default networks for each part of a model, built from the config and the data's shape."""

from __future__ import annotations

from typing import Any

from torch import nn

from vegan.errors import ConfigError, closest, setting
from vegan.models.decoders import BernoulliDecoder, DeterministicDecoder, GaussianDecoder
from vegan.models.encoders import DeterministicEncoder, GaussianEncoder, ImplicitEncoder
from vegan.nets import MLP, decoder_net, encoder_net

ENCODERS = ("deterministic", "gaussian", "implicit")
DECODERS = ("deterministic", "gaussian", "bernoulli", "auto")


def output_map(sample_shape: tuple[int, ...]) -> str:
    """Images live in [0, 1] (sigmoid output); vectors are unbounded."""
    return "sigmoid" if len(sample_shape) == 3 else "identity"


def backbone_kwargs(cfg: Any) -> dict[str, Any]:
    """The backbone options of a config (family, width, hidden units, depth) as keywords."""
    return {"backbone": cfg.backbone, "width": cfg.width, "hidden": cfg.hidden, "depth": cfg.depth}


def make_encoder(cfg: Any, shape: tuple[int, ...], nets: dict[str, nn.Module]) -> nn.Module:
    """Q(Z|X) of kind ``cfg.encoder`` around ``nets['encoder']`` or a default backbone."""
    kind, d = cfg.encoder, cfg.latent_dim
    if kind not in ENCODERS:
        raise ConfigError(f"unknown encoder '{kind}'{closest(kind, ENCODERS)}")
    user = nets.get("encoder")
    if kind == "deterministic":
        return DeterministicEncoder(user or encoder_net(shape, d, **backbone_kwargs(cfg)))
    if kind == "gaussian":
        return GaussianEncoder(user or encoder_net(shape, 2 * d, **backbone_kwargs(cfg)), d)
    noise = getattr(cfg, "noise_dim", d)
    features = user or encoder_net(shape, cfg.hidden, **backbone_kwargs(cfg))
    head = MLP(cfg.hidden + noise, d, hidden=cfg.hidden, depth=1)
    return ImplicitEncoder(features, head, noise)


def make_decoder(cfg: Any, shape: tuple[int, ...], nets: dict[str, nn.Module]) -> nn.Module:
    """P_G(Y|Z) of kind ``cfg.decoder`` around the user's ``nets['decoder']`` or a default."""
    kind = cfg.decoder
    if kind not in DECODERS:
        raise ConfigError(f"unknown decoder '{kind}'{closest(kind, DECODERS)}")
    out = output_map(shape)
    if kind == "auto":  # binary likelihood for images, Gaussian with learned sigma for vectors
        kind = "bernoulli" if out == "sigmoid" else "gaussian"
    net = nets.get("decoder") or decoder_net(cfg.latent_dim, shape, **backbone_kwargs(cfg))
    if kind == "deterministic":
        return DeterministicDecoder(net, out)
    if kind == "bernoulli":
        if out != "sigmoid":
            raise ConfigError(
                "a Bernoulli decoder needs image data in [0, 1]; "
                f"use {setting('decoder', 'gaussian')} for vectors"
            )
        return BernoulliDecoder(net)
    learn = cfg.learn_sigma if cfg.decoder != "auto" else True
    if not cfg.sigma > 0:
        raise ConfigError(f"option 'sigma' must be > 0, got {cfg.sigma}")
    return GaussianDecoder(net, sigma=cfg.sigma, learn_sigma=learn, output=out)
