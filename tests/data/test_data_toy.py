"""Toy distributions: shapes, seeding, and the geometry each one promises."""

from __future__ import annotations

import numpy as np
import pytest

from vegan.data import load_dataset, modes, sample_toy, toy_names
from vegan.errors import ConfigError

NAMES = ["8gaussians", "25gaussians", "swissroll", "moons", "rings", "checkerboard", "gaussian"]


def test_registry_has_the_documented_names():
    assert set(NAMES) <= set(toy_names())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [1, 7, 1000])
def test_shape_dtype_finite(name, n):
    x = sample_toy(name, n, seed=3)
    assert x.shape == (n, 2)
    assert x.dtype == np.float32
    assert np.isfinite(x).all()


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_points_other_seed_other_points(name):
    a = sample_toy(name, 500, seed=1)
    b = sample_toy(name, 500, seed=1)
    c = sample_toy(name, 500, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def _within(x, centers, radius):
    d = np.linalg.norm(x[:, None, :] - centers[None], axis=2)
    return d.min(axis=1) <= radius, d.argmin(axis=1)


def test_8gaussians_on_radius_2_circle():
    n = 8000
    x = sample_toy("8gaussians", n, seed=0).astype(np.float64)
    angles = np.arange(8) * np.pi / 4  # independent oracle: 8 points on the circle of radius 2
    oracle = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    centers, std = modes("8gaussians")
    assert std == 0.02
    np.testing.assert_allclose(np.sort(centers, axis=0), np.sort(oracle, axis=0), atol=1e-12)
    ok, which = _within(x, oracle, 3 * std)
    # In 2-D, P(|N(0, std^2 I)| <= 3 std) = 1 - exp(-9/2) = 0.9889; with n = 8000 the
    # observed fraction has standard error 0.0012, so 0.98 is 7 standard errors below.
    assert ok.mean() > 0.98
    counts = np.bincount(which, minlength=8)
    # Each mode gets n/8 = 1000 points on average, binomial sd ~ 30.
    assert counts.min() > 850 and counts.max() < 1150


def test_25gaussians_grid():
    x = sample_toy("25gaussians", 10000, seed=0).astype(np.float64)
    g = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    oracle = np.array([[a, b] for a in g for b in g])
    centers, std = modes("toy:25gaussians")
    assert std == 0.05
    assert {tuple(c) for c in centers} == {tuple(c) for c in oracle}
    ok, which = _within(x, oracle, 3 * std)
    assert ok.mean() > 0.98
    assert np.bincount(which, minlength=25).min() > 300  # 400 expected, sd ~ 20


def test_mode_params_follow_sampler_params():
    centers, std = modes("8gaussians", radius=5.0, std=0.1)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 5.0)
    assert std == 0.1
    x = sample_toy("8gaussians?radius=5&std=0.1", 2000, seed=0)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1).mean(), 5.0, atol=0.02)


def test_modes_only_for_mixtures():
    with pytest.raises(ConfigError, match="8gaussians"):
        modes("swissroll")


def test_checkerboard_fills_only_dark_squares():
    x = sample_toy("checkerboard", 5000, seed=0)
    assert (np.abs(x) <= 2).all()
    parity = (np.floor(x[:, 0]) + np.floor(x[:, 1])) % 2
    assert (parity == 0).all()
    # all 8 dark squares are used
    assert len({(int(a), int(b)) for a, b in np.floor(x)}) == 8


def test_rings_radii():
    x = sample_toy("rings", 4000, seed=0)
    r = np.linalg.norm(x, axis=1)
    radii = np.array([0.5, 1.0, 1.5, 2.0])
    dist = np.abs(r[:, None] - radii[None]).min(axis=1)
    assert (dist < 0.25).mean() > 0.99  # 0.25 = 5 x noise std 0.05
    assert np.bincount(np.abs(r[:, None] - radii).argmin(axis=1), minlength=4).min() > 850


def test_moons_lie_on_two_half_circles():
    x = sample_toy("moons", 4000, seed=0, noise=0.0).astype(np.float64)
    p = x / 2 + np.array([0.5, 0.25])  # undo the documented centring and scaling
    upper = np.abs(np.linalg.norm(p, axis=1) - 1) < 1e-5
    lower = np.abs(np.linalg.norm(p - np.array([1.0, 0.5]), axis=1) - 1) < 1e-5
    assert (upper | lower).all()
    assert 0.45 < upper.mean() < 0.55


def test_swissroll_is_a_spiral():
    x = sample_toy("swissroll", 4000, seed=0, noise=0.0).astype(np.float64) * 7.5
    t = np.linalg.norm(x, axis=1)  # on the noiseless roll |(t cos t, t sin t)| = t
    assert t.min() >= 1.5 * np.pi - 1e-4 and t.max() <= 4.5 * np.pi + 1e-4
    np.testing.assert_allclose(x[:, 0], t * np.cos(t), atol=1e-3)


def test_gaussian_moments():
    mean = np.array([1.0, -2.0, 0.5])
    cov = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, 0.5]])
    n = 20000
    x = sample_toy("gaussian", n, seed=0, mean=mean, cov=cov).astype(np.float64)
    assert x.shape == (n, 3)
    # Standard error of a mean entry: sqrt(2 / 20000) = 0.01 at most; tolerance 0.05 = 5 SE.
    np.testing.assert_allclose(x.mean(axis=0), mean, atol=0.05)
    # Standard error of a covariance entry: sqrt((s_ii s_jj + s_ij^2) / n) <= 0.02; 0.1 = 5 SE.
    np.testing.assert_allclose(np.cov(x, rowvar=False), cov, atol=0.1)


def test_gaussian_defaults_and_spec_params():
    x = sample_toy("gaussian", 20000, seed=0).astype(np.float64)
    assert x.shape == (20000, 2)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=0.05)
    np.testing.assert_allclose(np.cov(x, rowvar=False), np.eye(2), atol=0.1)
    y = sample_toy("gaussian?d=8&mean=3&cov=0.25", 20000, seed=0).astype(np.float64)
    assert y.shape == (20000, 8)
    np.testing.assert_allclose(y.mean(axis=0), 3, atol=0.05)
    np.testing.assert_allclose(y.var(axis=0), 0.25, atol=0.02)
    assert sample_toy("gaussian?mean=1,2,3,4", 3).shape == (3, 4)  # d inferred from mean


@pytest.mark.parametrize(
    "spec, params, match",
    [
        ("8gaussian", {}, "did you mean '8gaussians'"),
        ("8gaussians", {"sdt": 0.1}, "did you mean 'std'"),
        ("8gaussians", {"std": -1.0}, "std"),
        ("gaussian", {"cov": [[1.0, 2.0], [2.0, 1.0]]}, "positive semi-definite"),
        ("gaussian", {"d": 3, "mean": [1.0, 2.0]}, "mean"),
        ("gaussian?d=x", {}, "not a number"),
        ("gaussian?d", {}, "key=value"),
    ],
)
def test_bad_specs_are_config_errors(spec, params, match):
    with pytest.raises(ConfigError, match=match):
        sample_toy(spec, 10, **params)


def test_load_dataset_toy_splits_and_defaults():
    train = load_dataset("toy:8gaussians")
    held = load_dataset("toy:8gaussians", split="heldout")
    assert train.x.shape == (8000, 2) and held.x.shape == (2000, 2)
    assert train.kind == "vector" and train.y is None and train.name == "toy:8gaussians"
    # the two splits are different samples, from the documented random streams
    assert not np.allclose(train.x[:2000].numpy(), held.x.numpy())
    rng = np.random.default_rng([5, 1])
    np.testing.assert_array_equal(
        load_dataset("toy:moons", "heldout", n=300, seed=5).x.numpy(),
        sample_toy("moons", 300, rng),
    )
    assert len(load_dataset("toy:gaussian?d=4", n=12)) == 12
    assert load_dataset("toy:gaussian?d=4", n=12).sample_shape == (4,)
