"""Sample metrics: exact transport through vegan.ot, sharpness, MMD, toy modes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vegan.eval import metrics as M


def test_exact_costs_of_a_translation():
    # translating a point cloud by v: W2^2 = |v|^2 and W1 = |v| (identity coupling is optimal)
    x = torch.randn(60, 5, generator=torch.Generator().manual_seed(0))
    v = torch.tensor([0.3, -0.4, 0.0, 1.2, 0.0])
    assert M.exact_cost(x, x + v, "l2sq") == pytest.approx(float(v.pow(2).sum()), rel=1e-6)
    assert M.exact_cost(x, x + v, "l2") == pytest.approx(float(v.norm()), rel=1e-6)


def test_exact_cost_matches_a_permutation_by_hand():
    # 1-D: the monotone coupling is optimal
    x = torch.tensor([[0.0], [1.0], [5.0]])
    y = torch.tensor([[6.0], [2.0], [0.5]])
    want = ((0 - 0.5) ** 2 + (1 - 2) ** 2 + (5 - 6) ** 2) / 3
    assert M.exact_cost(x, y, "l2sq") == pytest.approx(want, rel=1e-9)


def test_transport_metrics_keys_and_consistency():
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(80, 1, 6, 6, generator=g), torch.rand(80, 1, 6, 6, generator=g)
    m = M.transport_metrics(x, y, seed=0)
    assert set(m) == {"w2sq", "w2", "w1", "sw2", "mmd"}
    assert m["w2"] == pytest.approx(math.sqrt(m["w2sq"]))
    assert m["w1"] <= m["w2"] + 1e-9  # W1 <= W2
    same = M.transport_metrics(x, x, seed=0)
    assert same["w2sq"] == pytest.approx(0.0, abs=1e-9) and same["sw2"] == pytest.approx(0.0)
    assert M.sliced_w2(x, y, seed=3) == M.sliced_w2(x, y, seed=3)


def test_sharpness():
    flat = torch.full((4, 1, 8, 8), 0.5)
    assert M.sharpness(flat) == 0.0
    ramp = torch.arange(8.0).repeat(8, 1)[None, None] / 10  # d/dx = 0.1, d/dy = 0
    assert M.sharpness(ramp) == pytest.approx(0.1)
    blurred = torch.nn.functional.avg_pool2d(torch.rand(4, 1, 8, 8), 3, 1, 1)
    assert M.sharpness(blurred) < M.sharpness(torch.rand(4, 1, 8, 8))


def test_mode_metrics():
    from vegan.data import modes, sample_toy

    centers, std = modes("8gaussians")
    data = sample_toy("8gaussians", 2000, seed=0)
    m = M.mode_metrics(data, centers, std)
    assert m["modes_covered"] == 8 and m["modes_total"] == 8 and m["high_quality"] > 0.98
    half = data[np.argmin(np.linalg.norm(data[:, None] - centers[None], axis=2), 1) < 4]
    m = M.mode_metrics(half, centers, std)
    assert m["modes_covered"] == 4
    m = M.mode_metrics(np.zeros((100, 2)), centers, std)
    assert m["modes_covered"] == 0 and m["high_quality"] == 0


def test_mmd_near_zero_for_one_law_positive_for_two():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(300, 3, generator=g), torch.randn(300, 3, generator=g)
    c = M.pixel_c_base(y)
    assert abs(M.mmd_imq(x, y, c)) < 0.05 < M.mmd_imq(x + 2.0, y, c)


def test_public_names_resolve():
    import vegan.eval

    for name in vegan.eval.__all__:
        assert getattr(vegan.eval, name) is not None, name
