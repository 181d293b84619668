"""The latent adversary of AAE / WAE-GAN (eq. 7 and 13) and its penalty."""

from __future__ import annotations

import math

import pytest
import torch

import vegan
from vegan.models.adversarial import AdversarialPenalty
from vegan.models.encoders import Encoding


def _train_adversary(shift: float, steps: int = 300, **options):
    """Train the recipe's adversary player on codes = prior samples + shift."""
    torch.manual_seed(0)
    model = vegan.build("wae-gan", (2,), adv_hidden=64, adv_depth=2, **options)
    player = model.players[1]
    assert player.name == "adversary"
    opt = torch.optim.Adam(player.parameters(), lr=1e-3, betas=(0.5, 0.999))
    for _ in range(steps):
        codes = Encoding(model.prior.sample(256) + shift)
        loss, terms = player.loss(None, {"codes": codes})
        opt.zero_grad()
        loss.backward()
        opt.step()
    penalty = model.parts["penalty"]
    z = model.prior.sample(4000)
    with torch.no_grad():
        d = torch.sigmoid(penalty.logits(z, model.prior))
    return d, terms


def test_optimal_discriminator_is_one_half_when_codes_follow_the_prior():
    # D* = p_Z / (p_Z + q_Z) = 1/2 when Q_Z = P_Z; the loss is then 2 log 2.
    d, terms = _train_adversary(shift=0.0)
    assert d.mean().item() == pytest.approx(0.5, abs=0.03)
    assert (d - 0.5).abs().max().item() < 0.1
    assert terms["bce"].item() == pytest.approx(2 * math.log(2), abs=0.05)


def test_discriminator_separates_shifted_codes():
    # The same training on codes shifted by 2: D is far from 1/2 on the prior.
    d, terms = _train_adversary(shift=2.0)
    assert d.mean().item() > 0.75
    assert terms["bce"].item() < 1.0


def test_prior_trick_starts_from_log_p():
    # With the prior trick the logits are net(z) + log p_Z(z), as in the WAE code.
    torch.manual_seed(0)
    model = vegan.build("wae-gan", (2,), adv_hidden=8, adv_depth=1, prior_trick=True)
    penalty, prior = model.parts["penalty"], model.prior
    z = prior.sample(10)
    with torch.no_grad():
        raw = penalty.adversary(z)
        assert torch.allclose(penalty.logits(z, prior), raw + prior.log_prob(z))
    with pytest.raises(vegan.errors.ConfigError, match="density"):
        vegan.build("wae-gan", (2,), prior="sphere", prior_trick=True)


def test_encoder_penalty_is_the_non_saturating_loss():
    # penalty = -E log D(z) = E softplus(-logit) on the encoder's codes, times lam in the loss.
    torch.manual_seed(0)
    model = vegan.build("wae-gan", (2,), adv_hidden=8, adv_depth=1)
    penalty = model.parts["penalty"]
    assert isinstance(penalty, AdversarialPenalty)
    x = torch.randn(16, 2)
    loss, terms = model.players[0].loss(x, cache := {})
    with torch.no_grad():
        logits = penalty.adversary(cache["codes"].z)
        expected = -torch.log(torch.sigmoid(logits)).mean()
    assert terms["gan"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert loss.item() == pytest.approx(terms["cost"].item() + 10.0 * expected.item(), rel=1e-5)
