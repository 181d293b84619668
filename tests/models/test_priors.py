"""Priors: moments, supports and densities against their definitions."""

from __future__ import annotations

import math

import pytest
import torch

from vegan.errors import ConfigError
from vegan.models import GaussianPrior, SpherePrior, UniformBoxPrior, make_prior


def test_gaussian_moments_and_log_prob():
    p = GaussianPrior(3, scale=2.0)
    z = p.sample(20000, torch.Generator().manual_seed(0))
    assert z.shape == (20000, 3)
    assert z.std(0).sub(2.0).abs().max() < 0.05
    ref = torch.distributions.Normal(0.0, 2.0).log_prob(z[:5]).sum(1)
    assert torch.allclose(p.log_prob(z[:5]), ref, atol=1e-5)
    assert p.variance == 4.0


def test_uniform_box_and_sphere():
    u = UniformBoxPrior(4, scale=0.5).sample(5000, torch.Generator().manual_seed(1))
    assert u.abs().max() <= 0.5 and u.var(0).sub(1.0 / 12).abs().max() < 0.01
    assert UniformBoxPrior(2).log_prob(torch.tensor([[0.0, 0.0], [2.0, 0.0]]))[1] == -math.inf
    s = SpherePrior(5, scale=3.0).sample(100, torch.Generator().manual_seed(2))
    assert torch.allclose(s.norm(dim=1), torch.full((100,), 3.0), atol=1e-5)
    with pytest.raises(NotImplementedError):
        SpherePrior(3).log_prob(s[:, :3])


def test_same_generator_seed_same_samples_and_unknown_prior():
    a = GaussianPrior(2).sample(5, torch.Generator().manual_seed(9))
    b = GaussianPrior(2).sample(5, torch.Generator().manual_seed(9))
    assert torch.equal(a, b)
    with pytest.raises(ConfigError, match="did you mean 'gaussian'"):
        make_prior("gausian", 2)
