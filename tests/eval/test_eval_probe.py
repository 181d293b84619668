"""The linear probe against closed forms, and the shapes64 evaluation data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vegan.data import load_dataset, shapes
from vegan.eval.evaluation import eval_data, shapes_factors
from vegan.eval.probe import accuracy_probe, factor_probe, r2_probe, ridge_fit


def _halves(a):
    h = len(a) // 2
    return a[:h], a[h:]


def test_ridge_fit_recovers_a_linear_map():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((50, 4))
    w = np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 3.0], [-1.0, 1.0]])
    y = z @ w + np.array([2.0, -1.0])
    got_w, got_b = ridge_fit(z, y, ridge=0.0)
    np.testing.assert_allclose(got_w, w, atol=1e-10)
    np.testing.assert_allclose(got_b, [2.0, -1.0], atol=1e-10)


def test_r2_of_factor_plus_noise_is_v_over_v_plus_s2():
    """Codes = factor + independent noise: the best linear read-out has R^2 = v / (v + s^2)."""
    rng = np.random.default_rng(1)
    n = 8000
    lo, hi = np.array([0.0, 10.0, -1.0]), np.array([1.0, 40.0, 1.0])
    f = lo + (hi - lo) * rng.random((n, 3))  # uniform factors: v = (hi - lo)^2 / 12
    v = (hi - lo) ** 2 / 12
    s = np.sqrt(v) * np.array([0.25, 1.0, 2.0])  # noise at 1/4, 1 and 2 factor std
    codes = np.concatenate([f + s * rng.standard_normal((n, 3)), rng.standard_normal((n, 5))], 1)
    codes = codes @ rng.standard_normal((8, 8))  # any invertible mix reads back the same
    r2 = r2_probe(*_halves(codes)[:1], _halves(f)[0], _halves(codes)[1], _halves(f)[1])
    want = v / (v + s**2)  # 0.941, 0.5, 0.2
    np.testing.assert_allclose(r2, want, atol=0.025)


def test_r2_of_random_codes_is_about_zero():
    rng = np.random.default_rng(2)
    f = rng.random((6000, 2))
    codes = rng.standard_normal((6000, 16))
    r2 = r2_probe(codes[:3000], f[:3000], codes[3000:], f[3000:])
    assert np.all(np.abs(r2) < 0.02)


def _phi_cdf(x):
    return 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def test_accuracy_of_one_hot_plus_noise_matches_the_closed_form():
    """Codes = one-hot(label) + N(0, s^2 I): reading the label by the largest coordinate is
    right with probability int phi(u) Phi(u + 1/s)^(K-1) du (the true coordinate 1 + s u beats
    the K - 1 others s v_k); least squares one-vs-rest learns that rule."""
    rng = np.random.default_rng(3)
    k, s, n = 5, 0.7, 10000
    labels = rng.integers(0, k, n)
    codes = np.eye(k)[labels] + s * rng.standard_normal((n, k))
    u = np.linspace(-8, 8, 4001)
    density = np.exp(-(u**2) / 2) / math.sqrt(2 * math.pi)
    want = float(np.sum(density * _phi_cdf(u + 1 / s) ** (k - 1)) * (u[1] - u[0]))
    got = accuracy_probe(codes[: n // 2], labels[: n // 2], codes[n // 2 :], labels[n // 2 :])
    assert 0.5 < want < 0.8 and abs(got - want) < 0.02


def test_accuracy_of_random_codes_is_chance():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 5, 6000)
    codes = rng.standard_normal((6000, 8))
    got = accuracy_probe(codes[:3000], labels[:3000], codes[3000:], labels[3000:])
    assert abs(got - 0.2) < 0.03


def test_factor_probe_groups_and_chance():
    f, labels = shapes.draw_factors(range(2000), seed=1)
    rng = np.random.default_rng(5)
    noise = rng.standard_normal(f.shape) * f.std(0)  # noise std = factor std: R^2 = 1/2
    codes = np.concatenate([f + noise, np.eye(5)[labels]], axis=1)
    out = factor_probe(codes, f, labels, shapes.FACTORS, shapes.FACTOR_GROUPS)
    for name in shapes.FACTORS:
        assert abs(out[f"probe_r2_{name}"] - 0.5) < 0.08, name
    assert out["probe_position"] == np.mean([out["probe_r2_pos_x"], out["probe_r2_pos_y"]])
    assert out["probe_shape"] == 1.0  # the one-hot shape is in the codes
    share = np.bincount(labels[1000:]).max() / 1000
    assert out["probe_shape_chance"] == share


def test_shapes_eval_data_equals_the_generic_selection():
    spec, n, seed = "shapes64?n=60", 9, 3
    held, ref, ds = eval_data(spec, n, seed)
    full_held = load_dataset(spec, "heldout")
    train = load_dataset(spec, "train")
    take = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n]
    assert torch.equal(held, full_held.x[:n])
    assert torch.equal(ref, train.x[take])
    values, labels = shapes_factors(spec, n)
    assert np.array_equal(labels, full_held.y[:n].numpy())
    want = shapes.draw_factors([4 + 5 * k for k in range(n)])[0].astype(np.float32)
    assert np.array_equal(values, want)
    assert shapes_factors("mnist", n) is None


def test_factors_of_a_written_npy_are_read_from_the_csv_beside(run_cli, tmp_path):
    from vegan.errors import DataError

    out = tmp_path / "s.npy"
    assert run_cli("data", "shapes64", "--n", "60", "--out", out)[0] == 0
    values, labels = shapes_factors(str(out), 7)
    # Held-out rows of the file are 4, 9, ..., 34: train items 4, 9, ... of shapes64.
    items = shapes.items_of("train", np.array([4 + 5 * k for k in range(7)]))
    want, want_labels = shapes.draw_factors(items)
    np.testing.assert_allclose(values, want, rtol=1e-5, atol=1e-5)
    assert np.array_equal(labels, want_labels)
    held = load_dataset(str(out), "heldout", n=7)
    assert np.array_equal(held.x.numpy(), shapes.generate(items).images / np.float32(255))
    with pytest.raises(DataError, match="fewer rows"):
        shapes_factors(str(out), 13)  # row 64 of 60
    assert shapes_factors(str(tmp_path / "other.npy"), 3) is None  # no CSV beside
    (tmp_path / "s.factors.csv").write_text("index,x\n")
    with pytest.raises(DataError, match="header"):
        shapes_factors(str(out), 3)
