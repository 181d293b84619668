"""Lipschitz constraints of the Wasserstein critics: gradient penalty and weight clipping."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import vegan
from vegan.models.critics import Critic, gradient_penalty
from vegan.models.dual import wgan_critic_steps
from vegan.models.registry import make_config
from vegan.train.loop import Trainer
from vegan.train.options import RunOptions


def _linear(w: torch.Tensor, b: float) -> nn.Linear:
    layer = nn.Linear(w.numel(), 1).double()
    with torch.no_grad():
        layer.weight.copy_(w.view(1, -1))
        layer.bias.fill_(b)
    return layer


@pytest.mark.parametrize("lam", [10.0, 0.5])
def test_gradient_penalty_of_a_linear_critic_is_exact(lam):
    # T(x) = <w, x> + b has gradient w everywhere: the penalty is lam (|w| - 1)^2
    # whatever the interpolates (oracle: the closed form, no autograd).
    g = torch.Generator().manual_seed(0)
    w = torch.randn(5, generator=g, dtype=torch.float64)
    critic = Critic(_linear(w, 0.7))
    expected = lam * (float(w.norm()) - 1.0) ** 2
    real = torch.randn(64, 5, generator=g, dtype=torch.float64)
    fake = 30.0 * torch.randn(64, 5, generator=g, dtype=torch.float64) - 4.0
    for seed in range(3):  # random interpolates
        torch.manual_seed(seed)
        value = gradient_penalty(critic, real, fake, lam).item()
        assert value == pytest.approx(expected, rel=1e-12)
    far = 1e3 * torch.randn(16, 5, generator=g, dtype=torch.float64)  # any points
    value = gradient_penalty(critic, real, fake, lam, interpolates=far).item()
    assert value == pytest.approx(expected, rel=1e-12)


def test_gradient_penalty_inside_the_wgan_gp_recipe():
    # The recipe's critic loss carries the same term, weight 10 by default.
    w = torch.tensor([0.3, -2.0, 0.4])
    model = vegan.build("wgan-gp", (3,), nets={"critic": _linear(w.double(), -1.0).float()})
    x = torch.randn(32, 3)
    _, terms = model.players[0].loss(x, {})
    assert terms["gp"].item() == pytest.approx(10.0 * (float(w.norm()) - 1.0) ** 2, rel=1e-5)
    # A non-linear critic is penalised where its slope is not 1, not at 0 in general.
    model = vegan.build("wgan-gp", (3,), hidden=16, depth=2)
    _, terms = model.players[0].loss(x, {})
    assert terms["gp"].item() > 0


def test_clipping_holds_after_every_critic_step(tmp_path):
    c = 0.01
    cfg = make_config("wgan", (2,), {"hidden": 32, "depth": 2, "seed": 1})
    options = RunOptions(steps=3, samples_every=0)
    torch.manual_seed(1)
    model = vegan.build("wgan", (2,), cfg)
    critic = model.parts["critic"]
    assert max(p.abs().max().item() for p in critic.parameters()) > 10 * c  # init is not clipped
    player = model.players[0]
    assert player.name == "critic"
    clip, seen = player.after_step, []

    def checked():
        clip()
        seen.append(max(p.abs().max().item() for p in critic.parameters()))

    player.after_step = checked
    x = torch.randn(640, 2)
    Trainer(model, x, tmp_path, options, torch.device("cpu"), progress=False).fit()
    # The WGAN code's schedule: 100 critic steps for each of the first 25 generator steps.
    assert len(seen) == 300
    assert max(seen) <= c
    assert min(seen) == pytest.approx(c)  # the constraint is active, not vacuous


def test_wgan_critic_schedule():
    steps = wgan_critic_steps(5)
    assert [steps(s) for s in (0, 24, 25, 26, 499, 500, 501, 1000)] == [
        100,
        100,
        5,
        5,
        5,
        100,
        5,
        100,
    ]
    model = vegan.build("wgan", (2,), critic_boost=False)
    assert model.players[0].steps_at(0) == 5 and model.players[0].steps_schedule is None
