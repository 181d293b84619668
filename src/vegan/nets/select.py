"""Default backbones chosen from the data's shape."""

from __future__ import annotations

from torch import nn

from vegan.errors import ConfigError, ShapeError, setting
from vegan.nets.conv import ConvDecoder, ConvEncoder
from vegan.nets.mlp import MLP, flat_dim

BACKBONES = ("auto", "conv", "mlp")


def resolve_backbone(kind: str, sample_shape: tuple[int, ...]) -> str:
    """``auto`` becomes ``conv`` for (C, H, W) images and ``mlp`` for vectors."""
    if kind not in BACKBONES:
        from vegan.errors import closest

        raise ConfigError(
            f"unknown backbone '{kind}'{closest(kind, BACKBONES)}; "
            f"choose one of {', '.join(BACKBONES)}"
        )
    if kind == "auto":
        return "conv" if len(sample_shape) == 3 else "mlp"
    if kind == "conv" and len(sample_shape) != 3:
        raise ShapeError(
            f"the conv backbone needs images (C, H, W), the data has samples of shape "
            f"{tuple(sample_shape)}; use {setting('backbone', 'mlp')}"
        )
    return kind


def encoder_net(
    sample_shape: tuple[int, ...],
    out_dim: int,
    backbone: str = "auto",
    width: int = 32,
    hidden: int = 256,
    depth: int = 3,
    norm: str = "batch",
    act: str = "relu",
) -> nn.Module:
    """A network from data samples to ``out_dim`` features (encoders, critics)."""
    kind = resolve_backbone(backbone, sample_shape)
    if kind == "conv":
        return ConvEncoder(tuple(sample_shape), out_dim, width=width, norm=norm, act=act)
    mlp_norm = "none" if norm == "batch" else norm
    return MLP(flat_dim(sample_shape), out_dim, hidden=hidden, depth=depth, act=act, norm=mlp_norm)


def decoder_net(
    in_dim: int,
    sample_shape: tuple[int, ...],
    backbone: str = "auto",
    width: int = 32,
    hidden: int = 256,
    depth: int = 3,
    norm: str = "batch",
    act: str = "relu",
) -> nn.Module:
    """A network from ``in_dim`` codes to data-shaped outputs (decoders, generators)."""
    kind = resolve_backbone(backbone, sample_shape)
    if kind == "conv":
        return ConvDecoder(in_dim, tuple(sample_shape), width=width, norm=norm, act=act)
    mlp_norm = "none" if norm == "batch" else norm
    return _Reshape(
        MLP(in_dim, flat_dim(sample_shape), hidden=hidden, depth=depth, act=act, norm=mlp_norm),
        tuple(sample_shape),
    )


class _Reshape(nn.Module):
    """Apply ``net`` then reshape each output to ``shape``."""

    def __init__(self, net: nn.Module, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.net, self.shape = net, shape

    def forward(self, z):
        return self.net(z).view(z.shape[0], *self.shape)
