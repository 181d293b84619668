"""Linear probes: how much of each generative factor can be read back from a model's codes.

A linear probe (Alain and Bengio 2016) fits the simplest read-out of a
factor from the codes z = E(x) of held-out images and scores it on other
images: what it recovers is what the codes hold in a linearly accessible
form. vegan fits on the first half of the codes and scores on the second:

* continuous factors: ridge regression in closed form,
  w = (Z^T Z + lam I)^{-1} Z^T y on codes standardized with the fitting
  half's mean and standard deviation (lam = ``RIDGE * n_fit``, a numerical guard
  for codes with constant or collinear coordinates, small enough that the
  read-out does not depend on how the codes are mixed), scored by
  the coefficient of determination R^2 = 1 - sum (y - y_hat)^2 / sum (y - mean y)^2
  on the scoring half (1: read back exactly; 0: no better than the mean; it
  can be negative);
* the discrete factor (the shape): the same ridge fit to one-hot targets
  (least-squares one-vs-rest), classified by the largest output, scored by
  accuracy (chance: the share of the most frequent class).

For codes equal to a factor plus independent noise of variance s^2 (factor
variance v), the best linear read-out has R^2 = v / (v + s^2); the tests
check the probe against this value. A read-out fitted on m codes of d
dimensions scores about d / m below the best one on new codes (with the
default n = 2,000 held-out images and d = 64, about 0.06).
"""

from __future__ import annotations

import numpy as np

__all__ = ["RIDGE", "accuracy_probe", "factor_probe", "min_codes", "r2_probe", "ridge_fit"]

#: Ridge strength per fitting sample, on standardized codes (small: a guard, not a prior).
RIDGE = 1e-6


def min_codes(dim: int) -> int:
    """Fewest codes of ``dim`` coordinates the probe takes: 4 (dim + 1), so that the fitting
    half has twice as many codes as the read-out has parameters."""
    return 4 * (int(dim) + 1)


def _standardize(fit: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = fit.mean(axis=0), fit.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return (fit - mean) / std, (score - mean) / std


def ridge_fit(z: np.ndarray, y: np.ndarray, ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form ridge regression of ``y`` (n, k) on ``z`` (n, d) with an unpenalized intercept.

    Returns (weights (d, k), intercept (k,)) minimizing
    |y - z w - b|^2 + ridge * n * |w|^2.
    """
    z, y = np.asarray(z, dtype=np.float64), np.asarray(y, dtype=np.float64)
    zm, ym = z.mean(axis=0), y.mean(axis=0)
    zc, yc = z - zm, y - ym
    gram = zc.T @ zc + ridge * len(z) * np.eye(z.shape[1])
    w = np.linalg.solve(gram, zc.T @ yc)
    return w, ym - zm @ w


def r2_probe(
    z_fit: np.ndarray, y_fit: np.ndarray, z_score: np.ndarray, y_score: np.ndarray
) -> np.ndarray:
    """R^2 on the scoring set of ridge read-outs fitted on the fitting set, one per column of y."""
    a, b = _standardize(np.asarray(z_fit, np.float64), np.asarray(z_score, np.float64))
    y_fit = np.asarray(y_fit, np.float64).reshape(len(a), -1)
    y_score = np.asarray(y_score, np.float64).reshape(len(b), -1)
    w, c = ridge_fit(a, y_fit)
    resid = ((y_score - (b @ w + c)) ** 2).sum(axis=0)
    total = ((y_score - y_score.mean(axis=0)) ** 2).sum(axis=0)
    return 1.0 - resid / np.where(total > 0, total, np.nan)


def accuracy_probe(
    z_fit: np.ndarray, labels_fit: np.ndarray, z_score: np.ndarray, labels_score: np.ndarray
) -> float:
    """Accuracy on the scoring set of a least-squares one-vs-rest classifier fitted on the other."""
    a, b = _standardize(np.asarray(z_fit, np.float64), np.asarray(z_score, np.float64))
    k = int(max(labels_fit.max(), labels_score.max())) + 1
    w, c = ridge_fit(a, np.eye(k)[np.asarray(labels_fit, dtype=np.int64)])
    return float(((b @ w + c).argmax(axis=1) == labels_score).mean())


def factor_probe(
    codes: np.ndarray,
    factors: np.ndarray,
    labels: np.ndarray,
    names: tuple[str, ...],
    groups: dict[str, tuple[str, ...]],
) -> dict[str, float]:
    """Probe metrics of codes (n, d) for factors (n, k) named ``names`` and labels (n,).

    Fits on the first half, scores on the second. Returns ``probe_r2_NAME``
    for every factor, ``probe_GROUP`` (the mean R^2 of the group's factors)
    for every group, ``probe_shape`` (accuracy of the labels) and
    ``probe_shape_chance`` (the most frequent label's share of the scoring half).
    """
    z = np.asarray(codes, dtype=np.float64).reshape(len(codes), -1)
    half = len(z) // 2
    r2 = r2_probe(z[:half], factors[:half], z[half:], factors[half:])
    out = {f"probe_r2_{name}": float(v) for name, v in zip(names, r2)}
    for group, members in groups.items():
        out[f"probe_{group}"] = float(np.mean([out[f"probe_r2_{m}"] for m in members]))
    labels = np.asarray(labels, dtype=np.int64)
    out["probe_shape"] = accuracy_probe(z[:half], labels[:half], z[half:], labels[half:])
    out["probe_shape_chance"] = float(np.bincount(labels[half:]).max() / (len(z) - half))
    return out
