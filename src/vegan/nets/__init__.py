"""Backbones: plain networks that the ingredients in :mod:`vegan.models` wrap.

A backbone maps a tensor to a tensor and knows nothing about priors, costs or
penalties (the split diffusers makes between models and pipelines). The
defaults are chosen from the data's shape by :func:`encoder_net` and
:func:`decoder_net`; any ``torch.nn.Module`` with the same input and output
shapes can replace them.
"""

from vegan.nets.conv import ConvDecoder, ConvEncoder
from vegan.nets.mlp import MLP
from vegan.nets.select import decoder_net, encoder_net

__all__ = ["MLP", "ConvEncoder", "ConvDecoder", "encoder_net", "decoder_net"]
