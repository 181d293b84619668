"""Latent penalties against independent values: closed forms and hand-written loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vegan.models import Encoding, GaussianPrior, KLPenalty, MMDPenalty, mmd


def test_kl_matches_torch_distributions():
    # Oracle: torch.distributions' own KL between Normals (an independent implementation).
    torch.manual_seed(0)
    mean, logvar = torch.randn(16, 5), torch.randn(16, 5)
    for scale in (1.0, 0.5, 3.0):
        prior = GaussianPrior(5, scale)
        ours = KLPenalty()(Encoding(mean, mean, logvar), prior)
        q = torch.distributions.Normal(mean, (0.5 * logvar).exp())
        p = torch.distributions.Normal(torch.zeros(5), torch.full((5,), scale))
        ref = torch.distributions.kl_divergence(q, p).sum(1).mean()
        assert ours.item() == pytest.approx(ref.item(), rel=1e-5)


def test_kl_is_zero_when_posterior_is_prior():
    prior = GaussianPrior(3, 2.0)
    mean = torch.zeros(4, 3)
    logvar = torch.full((4, 3), math.log(4.0))
    assert KLPenalty()(Encoding(mean, mean, logvar), prior).item() == pytest.approx(0, abs=1e-6)


def _mmd_loops(x, y, kernel, cs):
    """MMD^2_u written as the textbook double sums (Gretton et al. 2012, eq. (3))."""

    def k(a, b):
        d2 = float(((a - b) ** 2).sum())
        if kernel == "imq":
            return sum(c / (c + d2) for c in cs)
        return sum(math.exp(-d2 / c) for c in cs)

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_matches_double_sum(kernel):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(7, 3)), rng.normal(1.0, 2.0, size=(9, 3))
    scales = (0.5, 1.0, 2.0)
    ours = mmd(torch.tensor(x), torch.tensor(y), kernel, scales, c_base=1.5).item()
    ref = _mmd_loops(x, y, kernel, [1.5 * s for s in scales])
    assert ours == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_gradient_matches_finite_differences(kernel):
    # The kernel sum has a hand-written backward (one buffer for all scales):
    # checked against central finite differences in float64, in both inputs.
    g = torch.Generator().manual_seed(2)
    x = torch.randn(6, 3, dtype=torch.float64, generator=g, requires_grad=True)
    y = (torch.randn(5, 3, dtype=torch.float64, generator=g) + 0.5).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: mmd(a, b, kernel, (0.5, 1.0, 2.0), c_base=1.5), (x, y), eps=1e-6, atol=1e-8
    )
    # second order too (a gradient penalty on a term that contains an MMD)
    assert torch.autograd.gradgradcheck(
        lambda a, b: mmd(a, b, kernel, (0.5, 1.0, 2.0), c_base=1.5), (x, y), eps=1e-6, atol=1e-8
    )


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_unbiased_on_same_distribution(kernel):
    # Two samples of the same law: the U-statistic is unbiased, so the mean of
    # R independent estimates lies within 4 standard errors of 0.
    g = torch.Generator().manual_seed(2)
    vals = torch.stack(
        [
            mmd(
                torch.randn(50, 8, generator=g, dtype=torch.float64),
                torch.randn(50, 8, generator=g, dtype=torch.float64),
                kernel,
                c_base=16.0,
            )
            for _ in range(300)
        ]
    )
    se = vals.std() / math.sqrt(len(vals))
    assert abs(vals.mean().item()) < 4 * se.item()
    assert se.item() > 0


def _rbf_gauss_expectation(mu, v, c, d):
    """E exp(-|W|^2 / c) for W ~ N(mu, v I_d): (1 + 2v/c)^(-d/2) exp(-|mu|^2 / (c + 2v))."""
    return (1 + 2 * v / c) ** (-d / 2) * math.exp(-float(mu @ mu) / (c + 2 * v))


def test_mmd_between_gaussians_matches_closed_form():
    d, s1, s2 = 4, 1.0, 1.5
    m1, m2 = np.zeros(d), np.full(d, 0.5)
    cs = [2.0, 8.0]
    exact = sum(
        _rbf_gauss_expectation(np.zeros(d), 2 * s1**2, c, d)
        + _rbf_gauss_expectation(np.zeros(d), 2 * s2**2, c, d)
        - 2 * _rbf_gauss_expectation(m1 - m2, s1**2 + s2**2, c, d)
        for c in cs
    )
    g = torch.Generator().manual_seed(3)
    ests = []
    for _ in range(10):
        x = torch.randn(1000, d, generator=g, dtype=torch.float64) * s1 + torch.tensor(m1)
        y = torch.randn(1000, d, generator=g, dtype=torch.float64) * s2 + torch.tensor(m2)
        ests.append(mmd(x, y, "rbf", scales=(1.0, 4.0), c_base=2.0).item())
    est = float(np.mean(ests))
    se = float(np.std(ests, ddof=1) / math.sqrt(len(ests)))
    assert exact > 0.02  # the test is informative: the laws differ visibly
    assert abs(est - exact) < 4 * se + 1e-4, (est, exact, se)


def test_mmd_penalty_uses_wae_kernel_constant():
    # C_base = 2 d_z sigma_z^2: with the prior's own samples as codes the
    # penalty is the U-statistic with that constant.
    prior = GaussianPrior(6, scale=2.0)
    z = torch.randn(20, 6, dtype=torch.float64)
    torch.manual_seed(5)
    got = MMDPenalty("imq", (1.0,))(Encoding(z, z), prior)
    torch.manual_seed(5)
    zp = prior.sample(20).double()
    ref = _mmd_loops(z.numpy(), zp.numpy(), "imq", [2 * 6 * 4.0])
    assert got.item() == pytest.approx(ref, rel=1e-6)
