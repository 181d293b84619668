"""Entropic OT: POT as an oracle, convergence to the exact value, gradients, options."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vegan.errors import ConfigError, ConvergenceError, DataError
from vegan.ot import (
    cost_matrix,
    sinkhorn,
    sinkhorn_divergence,
    sinkhorn_from_cost,
    wasserstein,
)

ot = pytest.importorskip("ot")  # POT, the reference implementation


def _problem(seed=0, n=60, m=45, d=3):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) + 0.5
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    return x, y, a / a.sum(), b / b.sum()


@pytest.mark.parametrize("eps", [1.0, 0.1])
def test_matches_pot_sinkhorn_log(eps):
    x, y, a, b = _problem()
    M = ot.dist(x, y)  # squared Euclidean, POT's own code
    ref = ot.sinkhorn2(a, b, M, eps, method="sinkhorn_log", stopThr=1e-12, numItermax=10**6)
    r = sinkhorn(x, y, eps, a=a, b=b, tol=1e-11, return_result=True)
    assert r.converged and r.marginal_error < 1e-11
    assert float(r.value) == pytest.approx(float(ref), rel=1e-8)
    P = ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", stopThr=1e-12, numItermax=10**6)
    r2 = sinkhorn(x, y, eps, a=a, b=b, tol=1e-11, return_plan=True)
    np.testing.assert_allclose(r2.plan, P, atol=1e-9)


def test_plain_annealed_and_newton_paths_agree():
    x, y, a, b = _problem(1)
    vals = [
        float(sinkhorn(x, y, 0.05, a=a, b=b, tol=1e-10, scaling=s, newton=nt))
        for s, nt in [(None, False), (0.5, False), (0.5, True), (0.2, True)]
    ]
    assert max(vals) - min(vals) < 1e-8 * abs(vals[0])


def test_entropic_and_transport_values_are_consistent():
    x, y, a, b = _problem(2)
    r = sinkhorn(x, y, 0.2, a=a, b=b, tol=1e-12, return_result=True, return_plan=True)
    P = r.plan
    M = cost_matrix(x, y)
    kl = np.sum(P * np.log(P / np.outer(a, b)))
    assert float(r.value) == pytest.approx(np.sum(P * M), rel=1e-10)
    assert float(r.entropic) == pytest.approx(np.sum(P * M) + 0.2 * kl, rel=1e-8)


def test_converges_to_exact_value_as_epsilon_decreases():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(80, 2)), rng.normal(size=(80, 2)) + 1.0
    w = wasserstein(x, y)  # exact (network simplex)
    gaps = []
    for eps in (1.0, 0.3, 0.1, 0.03, 0.01):
        v = float(sinkhorn(x, y, eps, tol=1e-9))
        gap = v - w
        # 0 <= <P_eps, C> - W <= OT_eps - W <= eps * KL(P* | a x b) <= eps * log(n)
        assert -1e-9 <= gap <= eps * math.log(80) + 1e-9
        gaps.append(gap)
    assert all(g2 < g1 for g1, g2 in zip(gaps, gaps[1:]))
    assert gaps[-1] < 1e-3 * w


def test_divergence_gradient_matches_finite_differences():
    torch.manual_seed(0)
    x = torch.randn(4, 2, dtype=torch.float64)
    y = torch.randn(3, 2, dtype=torch.float64) + 0.3
    eps = 0.5

    def S(xx):
        return sinkhorn_divergence(xx, y, eps, tol=1e-13)

    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(S(xg), xg)
    h = 1e-5
    fd = torch.zeros_like(x)
    for i in range(x.shape[0]):
        for k in range(x.shape[1]):
            e = torch.zeros_like(x)
            e[i, k] = h
            fd[i, k] = (S(x + e) - S(x - e)) / (2 * h)
    torch.testing.assert_close(grad, fd, rtol=1e-5, atol=1e-8)


def test_entropic_gradient_wrt_both_sides_and_weights():
    torch.manual_seed(1)
    x = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    a = torch.full((5,), 0.2, dtype=torch.float64, requires_grad=True)
    r = sinkhorn(x, y, 0.3, a=a, tol=1e-13, return_result=True)
    gx, gy, ga = torch.autograd.grad(r.entropic, (x, y, a))

    def ent(xx, yy, aa):
        return sinkhorn(xx, yy, 0.3, a=aa, tol=1e-13, return_result=True).entropic

    h = 1e-6
    e = torch.zeros_like(x)
    e[2, 1] = h
    fd = ent(x.detach() + e, y.detach(), a.detach()) - ent(x.detach() - e, y.detach(), a.detach())
    assert float(gx[2, 1]) == pytest.approx(float(fd) / (2 * h), rel=1e-5)
    e = torch.zeros_like(y)
    e[0, 0] = h
    fd = ent(x.detach(), y.detach() + e, a.detach()) - ent(x.detach(), y.detach() - e, a.detach())
    assert float(gy[0, 0]) == pytest.approx(float(fd) / (2 * h), rel=1e-5)
    # weights: a mass-preserving perturbation (the gradient is defined up to a constant)
    da = torch.tensor([h, -h, 0, 0, 0], dtype=torch.float64)
    fd = ent(x.detach(), y.detach(), a.detach() + da) - ent(x.detach(), y.detach(), a.detach() - da)
    assert float(ga[0] - ga[1]) == pytest.approx(float(fd) / (2 * h), rel=1e-4)


def test_divergence_of_a_set_to_itself_is_zero_and_positive_otherwise():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(50, 3))
    perm = rng.permutation(50)
    assert abs(float(sinkhorn_divergence(x, x[perm], 0.1))) < 1e-9
    assert float(sinkhorn_divergence(x, x + 0.5, 0.1)) > 0.1
    # n != m goes through three separate solves
    assert float(sinkhorn_divergence(x, np.vstack([x, x]), 0.1)) == pytest.approx(0.0, abs=1e-8)


def test_divergence_tends_to_exact_value():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + 1.0
    w = wasserstein(x, y)
    assert float(sinkhorn_divergence(x, y, 0.01, tol=1e-9)) == pytest.approx(w, rel=1e-3)


def test_batched_solve_equals_separate_solves():
    torch.manual_seed(2)
    C = torch.rand(3, 20, 30, dtype=torch.float64)
    a = torch.rand(3, 20, dtype=torch.float64) + 0.1
    a = a / a.sum(-1, keepdim=True)
    rb = sinkhorn_from_cost(C, 0.05, a=a, tol=1e-11, return_result=True)
    assert rb.value.shape == (3,) and rb.f.shape == (3, 20)
    for k in range(3):
        rk = sinkhorn_from_cost(C[k], 0.05, a=a[k], tol=1e-11)
        assert float(rk) == pytest.approx(float(rb.value[k]), rel=1e-9)


def test_epsilon_rel_is_a_fraction_of_numpys_median_cost():
    x, y, _, _ = _problem(6)  # n * m = 2,700 entries: even, the median is a mean of two
    M = cost_matrix(x, y)
    med = float(np.median(M))
    lower = np.sort(M.ravel())[(60 * 45 - 1) // 2]  # what torch.median returns
    assert med != lower
    r = sinkhorn(x, y, epsilon_rel=0.05, return_result=True)
    assert r.epsilon == pytest.approx(0.05 * med, rel=1e-13)
    # odd count: the middle value
    r = sinkhorn(x[:3], y[:5], epsilon_rel=0.05, return_result=True)
    assert r.epsilon == pytest.approx(0.05 * np.median(cost_matrix(x[:3], y[:5])), rel=1e-13)
    # neither epsilon nor epsilon_rel: 1% of the median, as wasserstein(method="sinkhorn")
    r = sinkhorn(x, y, return_result=True)
    assert r.epsilon == pytest.approx(0.01 * med, rel=1e-13)
    w = wasserstein(x, y, method="sinkhorn", return_result=True)
    assert w.info["epsilon"] == r.epsilon and w.value == pytest.approx(r.value, rel=1e-12)


@pytest.mark.parametrize("block", [7, 2**20])
def test_epsilon_rel_median_with_ties_and_blocks(monkeypatch, block):
    import sys

    monkeypatch.setattr(sys.modules["vegan.ot.sinkhorn"], "MEDIAN_BLOCK", block)
    rng = np.random.default_rng(11)
    for n, m in ((6, 4), (5, 5), (7, 9)):
        C = np.round(rng.random((n, m)) * 4) / 4 + 0.25  # many ties
        r = sinkhorn_from_cost(C, epsilon_rel=1.0, return_result=True)
        assert r.epsilon == np.median(C), (n, m)


def test_budget_semantics():
    x, y, _, _ = _problem(7, n=200, m=200)
    # an explicit max_iter is a budget: no error, flagged result
    r = sinkhorn(x, y, 0.001, max_iter=5, return_result=True)
    assert not r.converged and r.n_iter <= 6
    with pytest.raises(ConvergenceError, match="budget of max_iter=5 .*raise max_iter"):
        sinkhorn(x, y, 0.001, max_iter=5, check_convergence=True)


def test_float32_inputs_keep_their_dtype_and_gradients():
    torch.manual_seed(3)
    x = torch.randn(64, 8, requires_grad=True)
    y = torch.randn(64, 8)
    s = sinkhorn_divergence(x, y, 1.0, max_iter=100)
    assert s.dtype == torch.float32
    s.backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    r32 = sinkhorn(x.detach(), y, 1.0, dtype=torch.float32, tol=1e-4, return_result=True)
    r64 = sinkhorn(x.detach().double(), y.double(), 1.0, return_result=True)
    assert float(r32.value) == pytest.approx(float(r64.value), rel=1e-4)


def test_small_epsilon_far_points_do_not_underflow():
    # eps is 1e-4 of the cost scale: plain exp(-C/eps) would be 0 everywhere
    x = np.array([[0.0], [100.0], [200.0]])
    y = np.array([[1.0], [101.0], [203.0]])
    r = sinkhorn(x, y, 0.5, return_result=True)
    assert r.converged
    assert float(r.value) == pytest.approx((1 + 1 + 9) / 3, rel=1e-6)


def test_option_errors():
    x, y, _, _ = _problem(8, n=5, m=5)
    with pytest.raises(ConfigError, match="not both"):
        sinkhorn(x, y, 0.1, epsilon_rel=0.1)
    with pytest.raises(ConfigError, match="positive"):
        sinkhorn(x, y, -1.0)
    with pytest.raises(ConfigError, match="scaling"):
        sinkhorn(x, y, 0.1, scaling=2.0)
    with pytest.raises(ConfigError, match="max_iter"):
        sinkhorn(x, y, 0.1, max_iter=0)
    with pytest.raises(ConfigError, match="median"):
        sinkhorn(np.zeros((4, 2)), np.zeros((4, 2)), epsilon_rel=0.1)
    with pytest.raises(DataError, match="NaN"):
        sinkhorn_from_cost(torch.tensor([[0.0, float("nan")]]), 0.1)


def test_small_problems_restore_the_thread_setting():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        x, y, _, _ = _problem(9, n=20, m=20)
        sinkhorn_divergence(x, y, 0.5)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
