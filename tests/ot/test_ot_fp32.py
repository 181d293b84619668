"""Transport terms stay float32 under autocast (vegan.ot.fp32).

Inside ``torch.autocast(cpu, bfloat16)`` a plain matrix product is computed
in bfloat16; the costs, the Sinkhorn and sliced solvers, the MMD and the
gradient penalty must give the very numbers they give without autocast.
"""

from __future__ import annotations

import math

import pytest
import torch

from vegan.models.kernels import mmd
from vegan.ot import gradient_penalty, sinkhorn_divergence, sliced_wasserstein
from vegan.ot.costs import l1, l2, l2sq, sqeuclidean_matrix
from vegan.ot.fp32 import as_float32, autocast_enabled, autocast_off, float32


def _bf16():
    return torch.autocast("cpu", dtype=torch.bfloat16)


@pytest.fixture
def xy():
    g = torch.Generator().manual_seed(0)
    return torch.randn(40, 6, generator=g), torch.randn(30, 6, generator=g) + 0.5


def test_autocast_really_lowers_a_plain_product(xy):
    """The premise: without the float32 regions these terms would be bfloat16."""
    x, y = xy
    with _bf16():
        assert (x @ y.T).dtype == torch.bfloat16


@pytest.mark.parametrize("cost", [l2sq, l2, l1], ids=["l2sq", "l2", "l1"])
def test_costs_under_autocast_equal_the_float32_ones(xy, cost):
    x, y = xy
    ref_pair, ref_paired = cost.pairwise(x, y), cost.paired(x[:30], y)
    with _bf16():
        pair, paired = cost.pairwise(x, y), cost.paired(x[:30], y)
        matrix = sqeuclidean_matrix(x, y)
    assert pair.dtype == paired.dtype == matrix.dtype == torch.float32
    assert torch.equal(pair, ref_pair) and torch.equal(paired, ref_paired)
    assert torch.equal(matrix, sqeuclidean_matrix(x, y))


def test_half_inputs_are_cast_up_and_float64_is_kept(xy):
    x, y = xy
    xb = x.bfloat16()
    with _bf16():
        c = l2sq.pairwise(xb, y)
    assert c.dtype == torch.float32
    assert torch.equal(c, l2sq.pairwise(xb.float(), y))
    assert l2sq.pairwise(x.double(), y.double()).dtype == torch.float64
    assert as_float32(x.half()).dtype == torch.float32 and as_float32(3) == 3


def test_mmd_sinkhorn_sliced_under_autocast_equal_the_float32_values(xy):
    x, y = xy
    refs = (
        mmd(x, y, c_base=12.0),
        sinkhorn_divergence(x, y, epsilon=0.5, max_iter=50),
        sliced_wasserstein(x, y, n_projections=20, seed=1),
    )
    with _bf16():
        values = (
            mmd(x, y, c_base=12.0),
            sinkhorn_divergence(x, y, epsilon=0.5, max_iter=50),
            sliced_wasserstein(x, y, n_projections=20, seed=1),
        )
    for v, r in zip(values, refs):
        assert v.dtype == torch.float32 and torch.equal(v, r)


def test_gradient_penalty_of_a_linear_critic_is_exact_under_autocast():
    """Closed form: for T(x) = <w, x> + b the penalty is weight * (|w| - 1)^2."""
    torch.manual_seed(0)
    critic = torch.nn.Linear(50, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.linspace(-0.3, 0.31, 50)[None])
    w = critic.weight.detach().double()
    expected = 10.0 * (float(w.norm()) - 1.0) ** 2
    real, fake = torch.rand(64, 50), torch.rand(64, 50)
    with _bf16():
        value = gradient_penalty(lambda t: critic(t).squeeze(1), real, fake, 10.0)
        # the same penalty computed by hand in bfloat16 is visibly off
        x_hat = real.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    assert value.dtype == torch.float32
    assert math.isclose(float(value.detach()), expected, rel_tol=1e-5)
    low = 10.0 * (float(grad.float().norm(dim=1).mean()) - 1.0) ** 2
    assert abs(low - expected) / expected > 1e-4


def test_autocast_off_and_the_decorator_restore_the_outer_state():
    seen = []

    @float32
    def inner(t):
        seen.append((t.dtype, autocast_enabled("cpu")))
        return t

    with _bf16():
        inner(torch.ones(2, dtype=torch.bfloat16))
        assert autocast_enabled("cpu")
        with autocast_off():
            assert not autocast_enabled("cpu")
        assert autocast_enabled("cpu")
    assert seen == [(torch.float32, False)]
    assert not autocast_enabled("cpu")
