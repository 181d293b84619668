"""Frechet distance against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from vegan.eval.frechet import frechet_distance, frechet_from_moments, gaussian_moments


def _spd(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_sample_against_itself_is_zero():
    x = np.random.default_rng(0).standard_normal((500, 16)) * 3 + 1
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_diagonal_gaussians_closed_form():
    # FD = |m1 - m2|^2 + sum_i (sqrt(s1_i) - sqrt(s2_i))^2 for diagonal covariances
    m1, m2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 0.5])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    want = ((m1 - m2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
    assert frechet_from_moments(m1, np.diag(s1), m2, np.diag(s2)) == pytest.approx(want, rel=1e-10)


def test_full_covariances_match_scipy_sqrtm():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(1)
    d = 6
    m1, m2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = _spd(rng, d), _spd(rng, d)
    cross = scipy_linalg.sqrtm(s1 @ s2).real
    want = ((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * cross)
    assert frechet_from_moments(m1, s1, m2, s2) == pytest.approx(want, rel=1e-8)


def test_samples_converge_to_the_closed_form():
    rng = np.random.default_rng(3)
    d = 4
    m1, m2 = np.zeros(d), np.full(d, 0.5)
    s1, s2 = _spd(rng, d), _spd(rng, d)
    x = rng.multivariate_normal(m1, s1, size=40000)
    y = rng.multivariate_normal(m2, s2, size=40000)
    want = frechet_from_moments(m1, s1, m2, s2)
    assert frechet_distance(x, y) == pytest.approx(want, rel=0.05, abs=0.01)


def test_moments_and_shape_errors():
    from vegan.errors import ShapeError

    m, s = gaussian_moments(np.eye(3))
    assert m.shape == (3,) and s.shape == (3, 3)
    with pytest.raises(ShapeError):
        frechet_distance(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ShapeError):
        gaussian_moments(np.zeros((1, 2)))
