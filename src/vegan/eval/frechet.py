"""Frechet distance between Gaussians fitted to two sets of features.

For feature sets with means m1, m2 and covariances S1, S2 (Heusel et al.
2017, the "FID" formula when the features are Inception-v3's):

    FD = |m1 - m2|^2 + Tr(S1 + S2 - 2 (S1^(1/2) S2 S1^(1/2))^(1/2)),

which is the squared 2-Wasserstein (Bures) distance between N(m1, S1) and
N(m2, S2): the value comes from :func:`vegan.ot.closed_form.gaussian_w2`
(float64, symmetric eigendecompositions, so the matrix square roots are
real and stable for singular covariances).

vegan reports it in the features of its own MNIST classifier as
"FD (vegan-mnist-cnn features)": a different number from Inception FID.
"""

from __future__ import annotations

import numpy as np
import torch

from vegan.errors import ShapeError


def _as64(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def gaussian_moments(features) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), covariance (d, d)) of features (n, d), with the unbiased 1/(n-1) covariance."""
    f = _as64(features)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ShapeError(f"need features of shape (n >= 2, d), got {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def frechet_from_moments(m1, s1, m2, s2) -> float:
    """|m1 - m2|^2 + Tr(S1 + S2 - 2 (S1^(1/2) S2 S1^(1/2))^(1/2)), clipped at 0."""
    from vegan.ot.closed_form import gaussian_w2

    m1, s1, m2, s2 = (_as64(a) for a in (m1, s1, m2, s2))
    if m1.shape != m2.shape or s1.shape != s2.shape or s1.shape != (m1.size, m1.size):
        raise ShapeError(
            f"moments do not match: means {m1.shape}, {m2.shape}; covariances {s1.shape}, "
            f"{s2.shape}"
        )
    return max(float(gaussian_w2(m1, s1, m2, s2)), 0.0)


def frechet_distance(x, y) -> float:
    """Frechet distance between Gaussians fitted to feature sets x (n, d) and y (m, d)."""
    fx, fy = _as64(x), _as64(y)
    if fx.ndim != 2 or fy.ndim != 2 or fx.shape[1] != fy.shape[1]:
        raise ShapeError(f"feature sets must be (n, d) and (m, d), got {fx.shape} and {fy.shape}")
    return frechet_from_moments(*gaussian_moments(fx), *gaussian_moments(fy))


__all__ = ["frechet_distance", "frechet_from_moments", "gaussian_moments"]
