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


def test_packed_adversary_judges_consecutive_codes_together():
    # adv_pack = m: the adversary's input is m consecutive codes side by side (PacGAN), so
    # one logit per pack; its first layer takes m * d_z inputs; a last pack is filled from the
    # batch's start.
    torch.manual_seed(0)
    model = vegan.build("wae-gan", (2,), latent_dim=3, adv_hidden=8, adv_depth=1, adv_pack=2)
    penalty, prior = model.parts["penalty"], model.prior
    assert penalty.adversary.net.net[0].in_features == 6
    z = torch.arange(15.0).reshape(5, 3) / 10
    with torch.no_grad():
        logits = penalty.logits(z, prior)
        by_hand = penalty.adversary(torch.stack([z[0:2], z[2:4], z[[4, 0]]]).reshape(3, 6))
        one = penalty.logits(z[:1], prior)
    assert logits.shape == (3,)
    assert torch.allclose(logits, by_hand)
    assert torch.allclose(one, penalty.adversary(torch.cat([z[0], z[0]])[None]))
    with pytest.raises(vegan.errors.ConfigError, match="adv_pack"):
        vegan.build("wae-gan", (2,), adv_pack=0)


def test_packed_prior_trick_adds_the_packs_log_density():
    # The density of a pack of independent codes is the product: log p_Z summed over the pack.
    torch.manual_seed(0)
    model = vegan.build("aae", (2,), adv_hidden=8, adv_depth=1, adv_pack=3, prior_trick=True)
    penalty, prior = model.parts["penalty"], model.prior
    z = prior.sample(6)
    gauss = -0.5 * (z.pow(2).sum(1) + 2 * math.log(2 * math.pi))  # log N(z; 0, I_2), by hand
    with torch.no_grad():
        raw = penalty.adversary(z.reshape(2, 6))
        got = penalty.logits(z, prior)
    assert torch.allclose(got, raw + gauss.reshape(2, 3).sum(1), atol=1e-5)


def test_packed_adversary_tells_collapsed_codes_from_the_prior_where_one_code_cannot():
    # Codes that follow the prior's law one at a time but come in equal pairs (each code
    # repeated: a posterior collapsed onto a point per input) have the prior's marginal:
    # a one-code adversary is at chance (D* = 1/2), a pack of two sees z1 = z2 (D* on the
    # prior -> 1).
    def train(pack: int) -> float:
        torch.manual_seed(0)
        model = vegan.build("wae-gan", (2,), adv_hidden=64, adv_depth=2, adv_pack=pack)
        player = model.players[1]
        opt = torch.optim.Adam(player.parameters(), lr=1e-3, betas=(0.5, 0.999))
        for _ in range(400):
            z = model.prior.sample(128).repeat_interleave(2, dim=0)
            loss, terms = player.loss(None, {"codes": Encoding(z)})
            opt.zero_grad()
            loss.backward()
            opt.step()
        return terms["bce"].item()

    assert train(1) == pytest.approx(2 * math.log(2), abs=0.05)
    assert train(2) < 1.0
