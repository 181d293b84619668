"""Memory layout of convolutional backbones: channels-last on the CPU.

PyTorch stores a 4-D tensor as (N, C, H, W) by default. oneDNN, which runs
convolutions on the CPU, works in the channels-last order (N, H, W, C): with
weights kept in that order a ``wae-mmd`` training step on vegan's default
MNIST networks took 7 to 12% less time on the benchmark machine
(BENCHMARKS.md, "Profile": the channels-last and channels-first levers).
The values computed are the same up to float rounding; checkpoints store
plain contiguous tensors either way.
"""

from __future__ import annotations

import torch
from torch import nn

_CONV = (nn.Conv2d, nn.ConvTranspose2d)


def has_conv(module: nn.Module) -> bool:
    """Whether ``module`` contains a 2-D (transposed) convolution."""
    return any(isinstance(m, _CONV) for m in module.modules())


def use_channels_last(module: nn.Module, device: torch.device | str) -> nn.Module:
    """Keep the 4-D parameters of ``module`` channels-last when it convolves on the CPU.

    Other devices and convolution-free modules are left as they are (on CUDA
    the gain depends on the card and on mixed precision; not measured here).
    Returns ``module`` (changed in place).
    """
    if torch.device(device).type == "cpu" and has_conv(module):
        module.to(memory_format=torch.channels_last)
    return module
