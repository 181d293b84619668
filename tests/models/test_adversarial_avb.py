"""AVB's discriminator T(x, z) against the closed-form log q(z|x) - log p_Z(z), eq. (6).

The encoder is a fixed Gaussian, q(z|x) = N(a x + b, s^2), and the prior is
N(0, 1), so the log-ratio that T must learn at its optimum is

    log q(z|x) - log p(z) = -log s - (z - a x - b)^2 / (2 s^2) + z^2 / 2.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import vegan
from vegan.models.adversarial import avb_codes, avb_kl_and_contrast

A, B, S = 0.8, 0.3, 0.5


def _fixed_gaussian_encoder() -> nn.Linear:
    """x (n, 1) -> (mean, log-variance) = (a x + b, log s^2)."""
    net = nn.Linear(1, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[A], [0.0]]))
        net.bias.copy_(torch.tensor([B, 2 * math.log(S)]))
    net.requires_grad_(False)
    return net


def _log_ratio(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return -math.log(S) - (z - A * x - B).pow(2) / (2 * S**2) + z.pow(2) / 2


def _model(**options):
    return vegan.build(
        "avb",
        (1,),
        nets={"encoder": _fixed_gaussian_encoder()},
        encoder="gaussian",
        latent_dim=1,
        hidden=64,
        depth=2,
        critic_lr=2e-3,
        **options,
    )


def test_trained_discriminator_matches_the_log_density_ratio():
    torch.manual_seed(0)
    model = _model(adaptive_contrast=False)
    critic_player = model.players[1]
    assert critic_player.name == "critic"
    critic = model.parts["critic"]
    opt = torch.optim.Adam(critic.parameters(), lr=2e-3, betas=(0.5, 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 if i < 400 else 0.2)
    for _ in range(600):  # the recipe's critic loss, fresh x ~ N(0, 1) each step
        loss, _ = critic_player.loss(torch.randn(256, 1), {})
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    # Compare where either law has mass: z ~ q(z|x) and z ~ p(z), half each.
    x = torch.randn(4000, 1)
    z = torch.cat([A * x[:2000] + B + S * torch.randn(2000, 1), torch.randn(2000, 1)])
    with torch.no_grad():
        t = critic(x, z)
    truth = _log_ratio(x, z).squeeze(1)
    # Stated error: mean absolute error below 0.15 nats where |log-ratio| < 4
    # (sigmoid(T*) in [0.02, 0.98], about 90% of these points; beyond, the
    # logistic loss saturates and leaves T free), while the ratio itself
    # spreads over several nats there.
    inside = truth.abs() < 4
    assert inside.float().mean() > 0.8 and truth[inside].std() > 1.0
    err = (t - truth)[inside].abs().mean()
    assert err < 0.15, float(err)
    # And the KL it implies, E_q T, is the Gaussian KL(N(a x + b, s^2) || N(0, 1)).
    kl_true = (0.5 * (S**2 + (A * x + B).pow(2) - 1) - math.log(S)).mean()
    assert t[:2000].mean().item() == pytest.approx(kl_true.item(), abs=0.1)


def test_untrained_discriminator_is_far_from_the_ratio():
    # The same comparison before training fails: the test above can fail.
    torch.manual_seed(0)
    critic = _model(adaptive_contrast=False).parts["critic"]
    x = torch.randn(2000, 1)
    z = A * x + B + S * torch.randn(2000, 1)
    with torch.no_grad():
        err = (critic(x, z) - _log_ratio(x, z).squeeze(1)).abs().mean()
    assert err > 0.3


def test_adaptive_contrast_of_a_gaussian_encoder_is_the_closed_form_kl():
    # With adaptive contrast, the reference r(z|x) is the Gaussian with q's
    # moments; for a Gaussian encoder r = q, so with T = 0 the estimate is
    # log q(z|x) - log p(z) exactly, and its mean the closed-form KL.
    torch.manual_seed(1)
    model = _model()
    encoder, prior = model.encoder, model.prior
    x = torch.randn(20000, 1)
    z, mean, std = avb_codes(encoder, x, 16)
    # float32 rounding of the linear layer: 2.4e-7 at most on an Intel Xeon (atol, not 1e-8)
    assert torch.allclose(mean, A * x + B, atol=1e-6)
    assert torch.allclose(std, torch.full_like(std, S), atol=1e-6)

    def zero(x, z):
        return torch.zeros(len(z))

    kl, contrast = avb_kl_and_contrast(zero, prior, x, z, mean, std)
    assert torch.allclose(kl, _log_ratio(x, z).squeeze(1), atol=1e-5)
    assert contrast.std().item() == pytest.approx(1.0, abs=0.03)  # standardized codes


def test_adaptive_contrast_moments_of_an_implicit_encoder():
    # An implicit encoder z = h(x) + eps @ V^T has mean h(x) and standard
    # deviations the row norms of V: the moment estimate must find them.
    torch.manual_seed(2)
    model = vegan.build("avb", (3,), latent_dim=2, noise_dim=4, hidden=8)
    enc = model.encoder
    enc.features = nn.Linear(3, 8)
    head = nn.Linear(8 + 4, 2)
    with torch.no_grad():
        head.weight[:, 8:] = torch.tensor([[1.0, 0.5, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0]])
    enc.head = head
    x = torch.randn(5, 3)
    x_rep = x.repeat_interleave(4000, 0)
    z, mean, std = avb_codes(enc, x_rep, 16)
    with torch.no_grad():
        h = enc.features(x_rep)
        true_mean = h @ head.weight[:, :8].T + head.bias
    # Each estimate uses 16 draws; over the 4000 repeats of each x they are unbiased.
    bias = (mean - true_mean).view(5, 4000, 2).mean(1)
    assert bias.abs().max() < 0.05
    var = std.pow(2).view(5, 4000, 2).mean(1)
    assert var.mean(0).tolist() == pytest.approx([1.0**2 + 0.5**2, 2.0**2], rel=0.05)
    assert z.shape == (20000, 2)
