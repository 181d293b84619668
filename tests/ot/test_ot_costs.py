"""Ground costs: values against direct formulas, gradients, lookup errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vegan.errors import ConfigError, ShapeError
from vegan.ot import Cost, get_cost, l1, l2, l2sq


def _direct(x: np.ndarray, y: np.ndarray, kind: str) -> np.ndarray:
    d = x[:, None, :] - y[None, :, :]
    if kind == "l2sq":
        return (d**2).sum(-1)
    if kind == "l2":
        return np.sqrt((d**2).sum(-1))
    return np.abs(d).sum(-1)


@pytest.mark.parametrize("name", ["l2sq", "l2", "l1"])
def test_pairwise_and_paired_match_direct_formula(name):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 5)) + 3.0, rng.normal(size=(9, 5)) + 3.0
    c = get_cost(name)
    got = c.pairwise(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(got, _direct(x, y, name), rtol=1e-10, atol=1e-10)
    yy = y[:7]
    paired = c.paired(torch.from_numpy(x), torch.from_numpy(yy)).numpy()
    np.testing.assert_allclose(paired, np.diag(_direct(x, yy, name)), rtol=1e-12)


def test_l2sq_has_no_half_factor_and_images_are_flattened():
    x = torch.zeros(2, 1, 2, 2)
    y = torch.ones(3, 1, 2, 2)
    assert torch.allclose(l2sq.pairwise(x, y), torch.full((2, 3), 4.0))
    assert torch.allclose(l2.pairwise(x, y), torch.full((2, 3), 2.0))
    assert torch.allclose(l1.paired(x, y[:2]), torch.full((2,), 4.0))


def test_duplicate_points_cost_is_clamped_at_zero_and_tiny():
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.normal(size=(50, 30)) * 100 + 1000)
    c = l2sq.pairwise(x, x)
    assert (c >= 0).all()
    # centered expansion: round-off on the diagonal far below the typical cost
    assert c.diagonal().max() < 1e-9 * c.mean()


def test_l2_gradient_is_finite_at_identical_points():
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0]], requires_grad=True)
    y = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    (l2.pairwise(x, y).sum() + l2.paired(x, y).sum()).backward()
    assert torch.isfinite(x.grad).all()


def test_pairwise_gradient_matches_autograd_of_direct_formula():
    torch.manual_seed(0)
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    y = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(6, 4, dtype=torch.float64)
    (g1x, g1y) = torch.autograd.grad((l2sq.pairwise(x, y) * w).sum(), (x, y))
    direct = ((x[:, None] - y[None]) ** 2).sum(-1)
    (g2x, g2y) = torch.autograd.grad((direct * w).sum(), (x, y))
    assert torch.allclose(g1x, g2x) and torch.allclose(g1y, g2y)


def test_callable_cost_is_wrapped_with_diagonal_paired_form():
    def cheb(x, y):
        return (x[:, None, :] - y[None, :, :]).abs().amax(-1)

    c = get_cost(cheb)
    assert isinstance(c, Cost) and c.name == "cheb"
    x, y = torch.randn(600, 2), torch.randn(600, 2)
    assert torch.allclose(c.paired(x, y), (x - y).abs().amax(-1))


def test_scaled_cost():
    c = l2sq.scaled(0.05)
    x, y = torch.zeros(1, 4), torch.ones(1, 4)
    assert c.paired(x, y).item() == pytest.approx(0.2)
    assert c.pairwise(x, y).item() == pytest.approx(0.2)


def test_unknown_cost_names_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'l2sq'"):
        get_cost("l2sqr")
    with pytest.raises(ConfigError):
        get_cost(3)


def test_bad_shapes():
    with pytest.raises(ShapeError):
        l2sq.pairwise(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ShapeError):
        l2sq.paired(torch.zeros(2, 3), torch.zeros(3, 3))
    with pytest.raises(ShapeError):
        get_cost(lambda x, y: x.sum(1)).pairwise(torch.zeros(2, 3), torch.zeros(4, 3))
