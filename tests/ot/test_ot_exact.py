"""Exact transport: brute force, 1-D closed forms, translations, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.stats
import torch

from vegan.errors import ConvergenceError, DataError, ResourceError, ShapeError
from vegan.ot import cost_matrix, exact_ot, exact_ot_from_cost, wasserstein


def _brute_force_assignment(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """min over permutations of the mean |x_i - y_s(i)|^p (Birkhoff: optimal for uniform n = m)."""
    n = len(x)
    best = np.inf
    for perm in itertools.permutations(range(n)):
        c = np.mean([np.linalg.norm(x[i] - y[j]) ** p for i, j in enumerate(perm)])
        best = min(best, c)
    return best


@pytest.mark.parametrize("seed", range(3))
def test_exact_equals_brute_force_on_small_assignments(seed):
    rng = np.random.default_rng(seed)
    for n in (3, 5):
        x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
        assert wasserstein(x, y, "l2sq") == pytest.approx(_brute_force_assignment(x, y, 2), 1e-12)
        assert wasserstein(x, y, "l2") == pytest.approx(_brute_force_assignment(x, y, 1), 1e-12)


def test_exact_3x3_hand_computed():
    # points on a line: x = 0, 1, 2 and y = 0.5, 1.5, 5; sorted matching is optimal
    x = np.array([[0.0], [1.0], [2.0]])
    y = np.array([[5.0], [0.5], [1.5]])
    assert wasserstein(x, y, "l2") == pytest.approx((0.5 + 0.5 + 3.0) / 3)
    assert wasserstein(x, y, "l2sq") == pytest.approx((0.25 + 0.25 + 9.0) / 3)


@pytest.mark.parametrize("seed", range(3))
def test_one_dimension_matches_scipy_and_quantile_formula(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=40)
    y = rng.exponential(size=60)
    a = rng.random(40)
    b = rng.random(60)
    a, b = a / a.sum(), b / b.sum()
    # W1: scipy's CDF formula (independent of vegan)
    assert wasserstein(x, y, "l2") == pytest.approx(scipy.stats.wasserstein_distance(x, y), 1e-9)
    assert wasserstein(x, y, "l2", a=a, b=b) == pytest.approx(
        scipy.stats.wasserstein_distance(x, y, a, b), 1e-9
    )
    # W2^2: quantile formula by hand on equal-size uniform samples
    y2 = rng.exponential(size=40)
    ref = np.mean((np.sort(x) - np.sort(y2)) ** 2)
    assert wasserstein(x, y2, "l2sq") == pytest.approx(ref, 1e-10)


def test_translation_gives_squared_shift_and_permutation_gives_zero():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 6))
    v = np.array([0.3, -1.0, 2.0, 0.0, 0.5, -0.25])
    assert wasserstein(x, x + v, "l2sq") == pytest.approx(np.sum(v**2), 1e-9)
    assert wasserstein(x, x + v, "l2") == pytest.approx(np.linalg.norm(v), 1e-9)
    perm = rng.permutation(200)
    assert abs(wasserstein(x, x[perm], "l2sq")) < 1e-12
    assert abs(wasserstein(x, x[perm], "l1")) < 1e-12


def test_plan_is_a_coupling_and_values_agree():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(20, 3))
    a = rng.random(30)
    a /= a.sum()
    r = exact_ot(x, y, a=a, return_plan=True)
    assert r.converged
    np.testing.assert_allclose(r.plan.sum(1), a, atol=1e-12)
    np.testing.assert_allclose(r.plan.sum(0), np.full(20, 1 / 20), atol=1e-12)
    M = cost_matrix(x, y)
    assert np.sum(r.plan * M) == pytest.approx(r.value)
    # dual feasibility and strong duality of the potentials
    assert (r.f[:, None] + r.g[None, :] <= M + 1e-9).all()
    assert a @ r.f + r.g.mean() == pytest.approx(r.value)
    assert float(exact_ot_from_cost(torch.from_numpy(M), a=a)) == pytest.approx(r.value)


def test_cost_matrix_blocks_and_torch_path_agree(monkeypatch):
    import vegan.ot.exact as ex

    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(37, 4)), rng.normal(size=(11, 4))
    full = cost_matrix(x, y, "l2")
    monkeypatch.setattr(ex, "CHUNK_ENTRIES", 50)  # blocks of 4 rows
    np.testing.assert_allclose(cost_matrix(x, y, "l2"), full, rtol=1e-12)
    np.testing.assert_allclose(
        cost_matrix(x, y, lambda u, v: torch.cdist(u, v)), full, rtol=1e-9, atol=1e-12
    )


def test_iteration_limit_raises_or_flags():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(200, 5)), rng.normal(size=(200, 5))
    with pytest.raises(ConvergenceError, match="iteration limit"):
        exact_ot(x, y, max_iter=10)
    r = exact_ot(x, y, max_iter=10, check_convergence=False, return_result=True)
    assert not r.converged  # the value is then meaningless (not even a bound)
    assert exact_ot(x, y, return_result=True).converged


def test_memory_limit_raises_resource_error():
    x = np.zeros((100, 2))
    with pytest.raises(ResourceError, match="bytes per pair"):
        exact_ot(x, x, max_memory=10_000)


def test_weight_validation():
    x, y = np.zeros((3, 2)), np.ones((4, 2))
    with pytest.raises(DataError, match="negative"):
        exact_ot(x, y, a=[0.5, 0.6, -0.1])
    with pytest.raises(ShapeError, match="one weight per sample"):
        exact_ot(x, y, a=[0.5, 0.5])
    with pytest.raises(DataError, match="equal total mass"):
        exact_ot(x, y, a=[1, 1, 1], b=[0.25] * 4)
    with pytest.raises(DataError, match="NaN"):
        exact_ot(x, y, b=[0.25, 0.25, np.nan, 0.25])
