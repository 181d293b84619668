"""Channels-last conv weights on the CPU: same values, plain checkpoints, an option to turn off."""

from __future__ import annotations

import copy

import torch
from safetensors.torch import load_file
from torch import nn

import vegan
from vegan.nets import decoder_net, encoder_net
from vegan.nets.layout import has_conv, use_channels_last
from vegan.train.checkpoint import list_checkpoints

CL = torch.channels_last
SMALL = {"width": 8, "batch_size": 50, "samples_every": 0}


def _conv_weights(model) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.dim() == 4]


def test_only_convolutional_modules_on_the_cpu_change():
    conv = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU())
    mlp = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    assert has_conv(conv) and not has_conv(mlp)
    use_channels_last(conv, "cpu")
    assert conv[0].weight.is_contiguous(memory_format=CL)
    assert not conv[0].weight.is_contiguous()  # really reordered (2 input channels)
    meta = nn.Conv2d(1, 4, 3, device="meta")
    use_channels_last(meta, "meta")  # another device: left alone
    assert meta.weight.is_contiguous()


def test_training_keeps_conv_weights_channels_last_and_checkpoints_plain(tmp_path):
    model, _ = vegan.fit("wae-mmd", "mnist", tmp_path / "cl", steps=3, progress=False, **SMALL)
    weights = _conv_weights(model)
    assert weights and all(w.is_contiguous(memory_format=CL) for w in weights)
    path = list_checkpoints(tmp_path / "cl")[-1]
    saved = load_file(path.with_suffix(".safetensors"))
    assert all(t.is_contiguous() for t in saved.values())
    loaded = vegan.load(tmp_path / "cl")
    assert all(w.is_contiguous(memory_format=CL) for w in _conv_weights(loaded))


def test_the_layout_changes_no_value_beyond_rounding():
    # Oracle: PyTorch's default NCHW path on copies of the same networks. Outputs and
    # gradients of one forward-backward agree to float rounding. (Weights after several
    # Adam steps are not compared: Adam turns rounding noise in near-zero gradients
    # into learning-rate-sized steps.)
    torch.manual_seed(0)
    enc, dec = encoder_net((1, 28, 28), 8), decoder_net(8, (1, 28, 28))
    ref = nn.ModuleList([enc, dec])
    fast = use_channels_last(copy.deepcopy(ref), "cpu")
    assert all(w.is_contiguous(memory_format=CL) for w in _conv_weights(fast))
    x = vegan.load_dataset("mnist", "heldout", n=50).x
    outs = []
    for nets in (ref, fast):
        y = torch.sigmoid(nets[1](nets[0](x)))
        loss = ((x - y) ** 2).sum() / len(x)
        loss.backward()
        outs.append((y.detach(), {k: p.grad for k, p in nets.named_parameters()}))
    (y_ref, g_ref), (y_fast, g_fast) = outs
    assert torch.allclose(y_ref, y_fast, atol=1e-5)
    # relative to the largest gradient: some (a bias after batch norm) are sums that
    # cancel to ~1e-6, where float rounding is all that is left
    scale = max(g.abs().max() for g in g_ref.values())
    for k in g_ref:
        assert (g_ref[k] - g_fast[k]).abs().max() <= 1e-5 * scale, k


def test_the_option_turns_it_off(tmp_path):
    a, ra = vegan.fit("wae-mmd", "mnist", tmp_path / "a", steps=1, progress=False, **SMALL)
    b, rb = vegan.fit(
        "wae-mmd", "mnist", tmp_path / "b", steps=1, progress=False, channels_last=False, **SMALL
    )
    assert all(w.is_contiguous() for w in _conv_weights(b))
    assert not all(w.is_contiguous() for w in _conv_weights(a))
    # the first step's loss is computed on the same initial weights in both layouts
    key = "autoencoder/loss"
    assert abs(ra.last[key] - rb.last[key]) <= 1e-5 * abs(rb.last[key])
