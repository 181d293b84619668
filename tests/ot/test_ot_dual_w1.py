"""The dual (Kantorovich-Rubinstein) estimate of W1, eq. (2), against known values.

Oracles: a translation by v has W_1 = |v| (and for the samples, the exact
empirical W_1 from POT's network simplex); a linear critic's penalized
optimum has a closed form.
"""

from __future__ import annotations

import numpy as np
import ot
import pytest
import torch
from torch import nn

from vegan.errors import ConfigError
from vegan.ot.dual import dual_w1

V = np.array([1.2, 0.9])  # |v| = 1.5


def _samples(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + V


def _exact_w1(x, y):
    return float(ot.emd2([], [], ot.dist(x, y, metric="euclidean"), numItermax=1_000_000))


@pytest.mark.slow  # half a minute; the linear-critic closed forms cover the default run
def test_estimate_approaches_the_translation_from_below():
    x, y = _samples()
    exact = _exact_w1(x, y)  # 1.548: |v| plus the sampling bias of the empirical W1
    assert exact == pytest.approx(1.5, abs=0.07)
    value, history = dual_w1(x, y, "gp", steps=400, history_every=100)
    values = history[:, 1]
    assert history[0, 0] == 0 and history[-1, 0] == 400 and values[-1] == value
    # From below: the normalized value is a feasible dual point, never above
    # the exact W1 of the samples (1e-6: float32 rounding).
    assert values.max() <= exact + 1e-6, values
    # It approaches: the untrained critic is far off, the trained one within
    # 10% of |v| = 1.5.
    assert values[0] < 0.5
    assert value >= 0.9 * np.linalg.norm(V), values


def test_linear_critic_closed_forms():
    # For T(x) = <w, x> + b with the penalty, the optimum is w = a d / |d|,
    # d = mean(x) - mean(y), a = 1 + |d| / (2 lam): raw value |d| + |d|^2 / (2 lam);
    # divided by the slope a it is |d| exactly.
    x, y = _samples(1000, seed=1)
    d = float(np.linalg.norm(x.mean(0) - y.mean(0)))
    for lam in (10.0, 2.0):
        torch.manual_seed(0)
        raw = dual_w1(
            x, y, critic=nn.Linear(2, 1), gp_weight=lam, lr=2e-2, steps=300, normalize=False
        )
        assert raw == pytest.approx(d + d**2 / (2 * lam), rel=5e-3)
    torch.manual_seed(0)
    value = dual_w1(x, y, critic=nn.Linear(2, 1), lr=2e-2, steps=300)
    assert value == pytest.approx(d, rel=1e-3) and value <= d + 1e-6


def test_clipping_gives_a_lower_estimate_on_the_right_scale():
    x, y = _samples(1000)
    critic = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
    raw = dual_w1(x, y, "clip", critic=critic, steps=300, normalize=False)
    assert all(p.abs().max() <= 0.01 for p in critic.parameters())
    assert 0 < raw < 0.1  # a clipped critic is far flatter than 1-Lipschitz
    value = dual_w1(x, y, "clip", critic=critic, steps=0)
    assert 0.3 < value <= _exact_w1(x, y) + 1e-6


def test_seeded_and_leaves_the_global_rng_alone():
    x, y = _samples(500)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = dual_w1(x, y, steps=50, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    assert dual_w1(x, y, steps=50, seed=7) == a
    assert dual_w1(torch.tensor(x), torch.tensor(y), steps=50, seed=7) == pytest.approx(a)
    assert dual_w1(x, y, steps=50, seed=8) != a


def test_bad_arguments():
    x, y = _samples(10)
    with pytest.raises(ConfigError, match="constraint"):
        dual_w1(x, y, "lipschitz")
    with pytest.raises(ConfigError, match="dimensions"):
        dual_w1(x, y[:, :1])
    with pytest.raises(ConfigError, match="NaN"):
        dual_w1(np.full((3, 2), np.nan), y)
