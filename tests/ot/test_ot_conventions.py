"""The conventions every function of vegan.ot shares: mass scaling, return kinds, results.

* mass: weights are used as given, so every value is linear in the common
  total mass s of a and b (a hypothesis property over random weighted
  inputs; the oracle is the same call at mass 1, times s, and for the
  entropic objective the closed form of its mass terms);
* return kind: NumPy in, float out; torch in, 0-d tensor out; a result object
  (with plans and potentials where the solver has them) on request.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vegan.ot import (
    DivergenceResult,
    ExactResult,
    OTResult,
    SinkhornResult,
    SlicedResult,
    exact_ot,
    exact_ot_from_cost,
    gaussian_w2,
    sinkhorn,
    sinkhorn_divergence,
    sinkhorn_from_cost,
    sliced_wasserstein,
    wasserstein,
    wasserstein_1d,
)

_COMMON = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FAST = settings(max_examples=12, derandomize=True, **_COMMON)
SLOW = settings(max_examples=200, **_COMMON)

EPS = 0.7  # absolute: the data are standard normal, costs of order 1 to 10


def _weighted(seed: int, n: int, m: int, d: int):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) + 0.5
    a, b = rng.random(n) + 0.05, rng.random(m) + 0.05
    return x, y, a / a.sum(), b / b.sum()


#: Every solver as value(x, y, a, b); each must be linear in the common mass.
SOLVERS = {
    "exact l2sq": lambda x, y, a, b: wasserstein(x, y, a=a, b=b),
    "exact l1": lambda x, y, a, b: exact_ot(x, y, "l1", a, b),
    "sinkhorn": lambda x, y, a, b: sinkhorn(x, y, EPS, a=a, b=b, tol=1e-12),
    "sinkhorn from cost": lambda x, y, a, b: sinkhorn_from_cost(
        ((x[:, None] - y[None]) ** 2).sum(-1), EPS, a=a, b=b, tol=1e-12
    ),
    "divergence entropic": lambda x, y, a, b: sinkhorn_divergence(x, y, EPS, a=a, b=b, tol=1e-12),
    "divergence transport": lambda x, y, a, b: sinkhorn_divergence(
        x, y, EPS, a=a, b=b, tol=1e-12, debias="transport"
    ),
    "sliced p=2": lambda x, y, a, b: sliced_wasserstein(x, y, 20, seed=0, a=a, b=b),
    "sliced p=1": lambda x, y, a, b: wasserstein(x, y, "l2", "sliced", a, b, n_projections=20),
    "1-D quantile": lambda x, y, a, b: wasserstein_1d(x[:, 0], y[:, 0], a, b, p=2),
    "1-D quantile, torch": lambda x, y, a, b: float(
        wasserstein_1d(torch.from_numpy(x[:, 0]), torch.from_numpy(y[:, 0]), a, b, p=1.5)
    ),
}


_MASS_CASES = dict(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 7),
    m=st.integers(1, 7),
    d=st.integers(1, 3),
    mass=st.floats(0.05, 20.0),
)


def _check_mass_scaling(seed, n, m, d, mass):
    x, y, a, b = _weighted(seed, n, m, d)
    for name, solve in SOLVERS.items():
        base = solve(x, y, a, b)
        scaled = solve(x, y, mass * a, mass * b)
        assert scaled == pytest.approx(mass * base, rel=1e-7, abs=1e-10), name


@FAST
@given(**_MASS_CASES)
def test_every_solver_scales_with_the_total_mass(seed, n, m, d, mass):
    _check_mass_scaling(seed, n, m, d, mass)


@pytest.mark.slow
@SLOW
@given(**_MASS_CASES)
def test_every_solver_scales_with_the_total_mass_many_cases(seed, n, m, d, mass):
    _check_mass_scaling(seed, n, m, d, mass)


@FAST
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 7), mass=st.floats(0.05, 20.0))
def test_the_entropic_objective_shifts_by_its_mass_terms(seed, n, mass):
    """OT_eps(s mu, s nu) = s OT_eps(mu, nu) + eps (s^2 - s - s log s) (KL to a x b, mass s^2)."""
    x, y, a, b = _weighted(seed, n, n + 1, 2)
    r1 = sinkhorn(x, y, EPS, a=a, b=b, tol=1e-12, return_result=True)
    rs = sinkhorn(x, y, EPS, a=mass * a, b=mass * b, tol=1e-12, return_result=True)
    shift = EPS * (mass**2 - mass - mass * math.log(mass))
    assert rs.entropic == pytest.approx(mass * r1.entropic + shift, rel=1e-8, abs=1e-9)
    assert rs.plan is None  # no plan unless asked
    # the plan scales with the mass
    p1 = sinkhorn(x, y, EPS, a=a, b=b, tol=1e-12, return_plan=True).plan
    ps = sinkhorn(x, y, EPS, a=mass * a, b=mass * b, tol=1e-12, return_plan=True).plan
    np.testing.assert_allclose(ps, mass * p1, rtol=1e-7, atol=1e-12)


def test_mass_other_than_one_matches_the_uniform_weights_value_times_the_mass():
    """The hand-computable case: x = (0, 1), y = (3,), weights (1, 1) and (2,): W1 = 3 + 2."""
    x, y = np.array([0.0, 1.0]), np.array([3.0])
    assert wasserstein(x, y, "l2", a=[1.0, 1.0], b=[2.0]) == pytest.approx(5.0)
    assert wasserstein(x, y, "l2", "sliced", a=[1.0, 1.0], b=[2.0]) == pytest.approx(5.0)
    assert wasserstein_1d(x, y, [1.0, 1.0], [2.0]) == pytest.approx(5.0)
    assert wasserstein(x, y, "l2sq", a=[1.0, 1.0], b=[2.0]) == pytest.approx(9.0 + 4.0)


# --------------------------------------------------------------------------- return kinds


def _data():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(9, 2)), rng.normal(size=(7, 2)) + 1.0
    return x, y


#: name -> call(x, y) for value-returning calls; the value kind must follow the inputs.
VALUE_CALLS = {
    "wasserstein exact": lambda x, y: wasserstein(x, y),
    "wasserstein sinkhorn": lambda x, y: wasserstein(x, y, method="sinkhorn"),
    "wasserstein sliced": lambda x, y: wasserstein(x, y, method="sliced"),
    "exact_ot": lambda x, y: exact_ot(x, y),
    "sinkhorn": lambda x, y: sinkhorn(x, y, 0.5),
    "sinkhorn_divergence": lambda x, y: sinkhorn_divergence(x, y, 0.5),
    "sliced_wasserstein": lambda x, y: sliced_wasserstein(x, y, seed=0),
    "wasserstein_1d": lambda x, y: wasserstein_1d(x[:, 0], y[:, 0]),
    "gaussian_w2": lambda x, y: gaussian_w2(x[0], x[:2].T @ x[:2], y[0], y[:2].T @ y[:2]),
}


@pytest.mark.parametrize("name", sorted(VALUE_CALLS))
def test_numpy_in_float_out_and_torch_in_tensor_out(name):
    x, y = _data()
    v = VALUE_CALLS[name](x, y)
    assert type(v) is float, name
    for dt in (torch.float64, torch.float32):
        vt = VALUE_CALLS[name](torch.from_numpy(x).to(dt), torch.from_numpy(y).to(dt))
        assert isinstance(vt, torch.Tensor) and vt.dim() == 0 and vt.dtype == dt, name
        if dt == torch.float64:  # (seeded directions are drawn in the samples' dtype)
            assert vt.item() == pytest.approx(v, rel=1e-12), name
    # the "from cost" forms follow their cost matrix
    M = ((x[:, None] - y[None]) ** 2).sum(-1)
    assert type(exact_ot_from_cost(M)) is float
    assert type(sinkhorn_from_cost(M, 0.5)) is float
    assert isinstance(exact_ot_from_cost(torch.from_numpy(M)), torch.Tensor)
    assert isinstance(sinkhorn_from_cost(torch.from_numpy(M), 0.5), torch.Tensor)


def test_result_objects_hold_plans_and_potentials_of_the_inputs_kind():
    x, y = _data()
    M = ((x[:, None] - y[None]) ** 2).sum(-1)
    a, b = np.full(9, 1 / 9), np.full(7, 1 / 7)
    for torch_in in (False, True):
        X, Y = (torch.from_numpy(x), torch.from_numpy(y)) if torch_in else (x, y)
        kind = torch.Tensor if torch_in else np.ndarray
        results = [
            wasserstein(X, Y, return_plan=True),
            wasserstein(X, Y, method="sinkhorn", epsilon=0.5, tol=1e-12, return_plan=True),
            exact_ot(X, Y, return_plan=True),
            sinkhorn(X, Y, 0.5, tol=1e-12, return_plan=True),
        ]
        for r in results:
            assert isinstance(r, (OTResult, ExactResult, SinkhornResult))
            assert isinstance(r.plan, kind) and tuple(r.plan.shape) == (9, 7)
            assert isinstance(r.f, kind) and isinstance(r.g, kind)
            P, f, g = (np.asarray(t) for t in (r.plan, r.f, r.g))
            # the plan is a coupling, and the potentials certify it
            np.testing.assert_allclose(P.sum(1), a, atol=1e-8)
            np.testing.assert_allclose(P.sum(0), b, atol=1e-8)
            value = float(r.value)
            assert np.sum(P * M) == pytest.approx(value, rel=1e-9)
            if isinstance(r, ExactResult) or getattr(r, "method", "") == "exact":
                assert a @ f + b @ g == pytest.approx(value, rel=1e-9)  # strong duality
                assert (f[:, None] + g[None] <= M + 1e-9).all()  # feasibility
            else:  # P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)
                rebuilt = np.outer(a, b) * np.exp((f[:, None] + g[None] - M) / 0.5)
                np.testing.assert_allclose(P, rebuilt, rtol=1e-9, atol=1e-14)
        d = sinkhorn_divergence(X, Y, 0.5, return_result=True)
        assert isinstance(d, DivergenceResult) and isinstance(d.f, kind)
        s = sliced_wasserstein(X, Y, 10, seed=0, return_result=True)
        assert isinstance(s, SlicedResult) and isinstance(s.projections, kind)
        assert tuple(s.per_direction.shape) == (10,)
        assert float(s.per_direction.mean()) == pytest.approx(float(s.value), rel=1e-12)
    # no plan unless asked
    assert wasserstein(x, y, return_result=True).plan is None
    assert exact_ot(x, y, return_result=True).plan is None


def test_gradients_flow_through_wasserstein_for_every_method():
    x, y = _data()
    for method in ("exact", "sinkhorn", "sliced"):
        X = torch.from_numpy(x).requires_grad_(True)
        v = wasserstein(X, torch.from_numpy(y), method=method, epsilon=0.5)
        (g,) = torch.autograd.grad(v, X)
        assert torch.isfinite(g).all() and g.abs().sum() > 0, method
    # the exact gradient of a translation: d W2^2 / d x_i = 2 a_i (x_i - T(x_i)) = -2 v / n
    X = torch.from_numpy(x).requires_grad_(True)
    v = np.array([0.3, -0.4])
    (g,) = torch.autograd.grad(wasserstein(X, torch.from_numpy(x + v)), X)
    np.testing.assert_allclose(g.numpy(), np.tile(-2 * v / 9, (9, 1)), atol=1e-12)


def test_gaussian_w2_refuses_inputs_that_need_a_gradient():
    from vegan.errors import ConfigError

    m = torch.zeros(2, requires_grad=True)
    with pytest.raises(ConfigError, match="no gradient"):
        gaussian_w2(m, torch.eye(2), torch.ones(2), torch.eye(2))
