"""DCGAN-style convolutional encoders and decoders (Radford et al. 2016).

The WAE paper's MNIST networks (Tolstikhin et al. 2018, appendix) are this
family with ``width=128`` (filters up to 1024, kernel 4, batch norm); the
default here is narrower so that a run fits a CPU budget, and ``width`` restores
the paper's size. Supported image sizes: 28x28 (MNIST), 32x32 and 64x64.
"""

from __future__ import annotations

import torch
from torch import nn

from vegan.errors import ShapeError, setting
from vegan.nets.mlp import activation

SUPPORTED_SIZES = (28, 32, 64)


def _plan(size: int) -> tuple[int, int]:
    """Return (number of stride-2 stages, spatial size after them) for an image size."""
    if size == 28:
        return 2, 7
    if size == 32:
        return 3, 4
    if size == 64:
        return 4, 4
    raise ShapeError(
        f"no built-in convolutional backbone for {size}x{size} images (supported: 28, 32, 64); "
        f"resize the images, use {setting('backbone', 'mlp')}, or pass your own "
        "encoder/decoder module"
    )


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # layer norm over (C, H, W)
    return nn.Identity()


class ConvEncoder(nn.Module):
    """Image (n, C, H, W) -> vector (n, out_dim): stride-2 convolutions, then a linear layer.

    Channels double at each stage starting from ``width``.
    ``norm`` is ``"batch"`` (encoders), ``"layer"`` or ``"none"`` (critics).
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        out_dim: int,
        width: int = 32,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        c, h, w = in_shape
        if h != w:
            raise ShapeError(f"convolutional backbones need square images, got {h}x{w}")
        stages, final = _plan(h)
        layers: list[nn.Module] = []
        ch = c
        for i in range(stages):
            out = width * 2**i
            layers += [nn.Conv2d(ch, out, 4, 2, 1, bias=norm == "none"), _norm(norm, out)]
            layers.append(activation(act))
            ch = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(ch * final * final, out_dim)
        self.in_shape, self.out_dim = tuple(in_shape), out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:] != self.in_shape:
            raise ShapeError(
                f"this encoder takes images of shape {self.in_shape}, got {tuple(x.shape[1:])}"
            )
        return self.head(self.features(x).flatten(1))


class ConvDecoder(nn.Module):
    """Vector (n, in_dim) -> image (n, C, H, W): a linear layer, then stride-2 transposed convs.

    Returns unbounded values (logits); the decoder ingredient applies the
    output map (sigmoid for images in [0, 1]).
    """

    def __init__(
        self,
        in_dim: int,
        out_shape: tuple[int, int, int],
        width: int = 32,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        c, h, w = out_shape
        if h != w:
            raise ShapeError(f"convolutional backbones need square images, got {h}x{w}")
        stages, final = _plan(h)
        ch = width * 2**stages
        self.start = (ch, final, final)
        self.fc = nn.Sequential(
            nn.Linear(in_dim, ch * final * final, bias=norm == "none"),
            nn.BatchNorm1d(ch * final * final) if norm == "batch" else nn.Identity(),
            activation(act),
        )
        layers: list[nn.Module] = []
        for i in range(stages):
            last = i == stages - 1
            out = c if last else ch // 2
            layers.append(nn.ConvTranspose2d(ch, out, 4, 2, 1, bias=last or norm == "none"))
            if not last:
                layers += [_norm(norm, out), activation(act)]
            ch = out
        self.deconv = nn.Sequential(*layers)
        self.out_shape = tuple(out_shape)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.fc(z).view(-1, *self.start))
