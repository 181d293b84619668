"""Sliced Wasserstein: POT as an oracle with the same directions, 1-D identities, seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vegan.errors import ConfigError, ShapeError
from vegan.ot import random_projections, sliced_wasserstein, wasserstein, wasserstein_1d

ot = pytest.importorskip("ot")  # POT, the reference implementation


@pytest.mark.parametrize("p", [1, 2, 3])
def test_matches_pot_with_the_same_projections(p):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(100, 7)), rng.normal(size=(100, 7)) * 2 + 1
    theta = random_projections(7, 30, seed=1).numpy()
    ref = ot.sliced_wasserstein_distance(x, y, n_projections=30, p=p, projections=theta)
    got = sliced_wasserstein(x, y, p=p, projections=theta, power=False)
    assert got == pytest.approx(float(ref), rel=1e-10)
    # the default is the transport cost SW_p^p
    assert sliced_wasserstein(x, y, p=p, projections=theta) == pytest.approx(
        float(ref) ** p, rel=1e-10
    )


def test_matches_pot_with_unequal_sizes_and_weights():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(65, 3)) + 0.5
    a, b = rng.random(40), rng.random(65)
    a, b = a / a.sum(), b / b.sum()
    theta = random_projections(3, 20, seed=3).numpy()
    ref = ot.sliced_wasserstein_distance(x, y, a, b, n_projections=20, projections=theta)
    got = sliced_wasserstein(x, y, a=a, b=b, projections=theta, power=False)
    assert got == pytest.approx(float(ref), rel=1e-10)


def test_torch_path_equals_numpy_path():
    # CPU inputs without gradients take a NumPy path; with gradients the torch one
    rng = np.random.default_rng(9)
    x, y = torch.from_numpy(rng.normal(size=(50, 6))), torch.from_numpy(rng.normal(size=(50, 6)))
    v_np = sliced_wasserstein(x, y, seed=0, p=1.5)
    v_t = sliced_wasserstein(x.clone().requires_grad_(True), y, seed=0, p=1.5)
    assert float(v_t.detach()) == pytest.approx(float(v_np), rel=1e-12)


def test_one_dimension_equals_exact_and_quantile_formula():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=50), rng.gamma(2.0, size=70)
    # in 1-D every direction is +-1, so SW_p^p = W_p^p
    sw2 = float(sliced_wasserstein(x, y, n_projections=5, p=2, seed=0, power=True))
    assert sw2 == pytest.approx(wasserstein(x, y, "l2sq"), rel=1e-9)
    assert sw2 == pytest.approx(wasserstein_1d(x, y, p=2), rel=1e-9)
    sw1 = float(sliced_wasserstein(x, y, n_projections=5, p=1, seed=0))
    assert sw1 == pytest.approx(wasserstein(x, y, "l2"), rel=1e-9)


def test_seed_is_reproducible_and_generator_or_global_rng_work():
    rng = np.random.default_rng(5)
    x, y = torch.from_numpy(rng.normal(size=(30, 4))), torch.from_numpy(rng.normal(size=(30, 4)))
    v1 = sliced_wasserstein(x, y, seed=7)
    assert torch.equal(v1, sliced_wasserstein(x, y, seed=7))
    assert not torch.equal(v1, sliced_wasserstein(x, y, seed=8))
    g = torch.Generator().manual_seed(7)
    assert torch.equal(v1, sliced_wasserstein(x, y, generator=g))
    torch.manual_seed(0)
    v2 = sliced_wasserstein(x, y)
    torch.manual_seed(0)
    assert torch.equal(v2, sliced_wasserstein(x, y))
    with pytest.raises(ConfigError):
        sliced_wasserstein(x, y, seed=1, generator=g)


def test_directions_are_unit_vectors():
    theta = random_projections(10, 100, seed=0)
    torch.testing.assert_close(theta.norm(dim=0), torch.ones(100, dtype=torch.float64))


def test_gradient_flows_and_is_finite_at_zero():
    x = torch.randn(20, 3, requires_grad=True)
    y = torch.randn(20, 3)
    sliced_wasserstein(x, y, seed=0, power=True).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    z = torch.randn(10, 2, requires_grad=True)
    v = sliced_wasserstein(z, z.detach().clone(), seed=0, power=False)  # the p-th root at 0
    v.backward()
    assert float(v.detach()) == 0.0 and torch.isfinite(z.grad).all()


def test_translation():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(64, 3))
    v = np.array([1.0, 2.0, -2.0])
    theta = random_projections(3, 50, seed=0).numpy()
    # every 1-D projection is shifted by <theta, v>
    ref = np.mean((theta.T @ v) ** 2)
    got = float(sliced_wasserstein(x, x + v, projections=theta, power=True))
    assert got == pytest.approx(ref, rel=1e-10)


def test_errors():
    x = np.zeros((5, 3))
    with pytest.raises(ConfigError, match="p must be >= 1"):
        sliced_wasserstein(x, x, p=0.5)
    with pytest.raises(ShapeError):
        sliced_wasserstein(x, np.zeros((5, 4)))
    with pytest.raises(ShapeError, match="projections"):
        sliced_wasserstein(x, x, projections=np.ones((4, 2)))
    with pytest.raises(ConfigError, match="n_projections"):
        sliced_wasserstein(x, x, n_projections=0)
