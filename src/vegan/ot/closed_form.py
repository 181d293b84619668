r"""Closed-form transport costs, used as oracles (NumPy, float64).

Both functions follow the project convention of :func:`vegan.ot.wasserstein`:
they return the *transport cost* min E c(X, Y), i.e. W_p^p for the cost
|x - y|^p (W_1 for p = 1, W_2^2 for p = 2), the same as POT's
``ot.wasserstein_1d``.

* One dimension (quantile formula):
  :math:`W_p^p(\mu, \nu) = \int_0^1 |F^{-1}(q) - G^{-1}(q)|^p\, dq`,
  where F, G are the cumulative distribution functions.
* Gaussians (Bures formula, Dowson and Landau 1982):
  :math:`W_2^2(\mathcal N(m_1, S_1), \mathcal N(m_2, S_2)) = |m_1 - m_2|^2
  + \mathrm{Tr}\big(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2}\big)`.

They are independent of the solvers in :mod:`vegan.ot.exact`,
:mod:`vegan.ot.sinkhorn` and :mod:`vegan.ot.sliced`, which the tests check
against them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vegan.errors import ConfigError, DataError, ShapeError


def _vector(v: Any, name: str) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ShapeError(f"{name} has shape {arr.shape}; expected 1-D samples (n,)")
    if arr.size == 0:
        raise DataError(f"{name} is empty; give at least one sample")
    if not np.isfinite(arr).all():
        raise DataError(f"{name} contains NaN or inf values")
    return arr


def _weights(w: Any, n: int, name: str) -> np.ndarray:
    if w is None:
        return np.full(n, 1.0 / n)
    arr = _vector(w, name)
    if arr.shape[0] != n:
        raise ShapeError(f"weights {name} have {arr.shape[0]} entries for {n} samples")
    if (arr < 0).any() or arr.sum() <= 0:
        raise DataError(f"weights {name} must be non-negative with a positive sum")
    return arr / arr.sum()


def wasserstein_1d(x: Any, y: Any, p: float = 1, a: Any = None, b: Any = None) -> float:
    r"""W_p^p between two weighted samples on the line, by the quantile formula.

    Parameters
    ----------
    x, y : array (n,), (m,)
        Samples (an (n, 1) array is accepted).
    p : float
        Order >= 1 (default 1: W_1).
    a, b : array, optional
        Non-negative weights (normalized here; default uniform).

    Returns
    -------
    float
        :math:`\int_0^1 |F^{-1}(q) - G^{-1}(q)|^p dq`, that is W_p^p (W_1 for
        p = 1, W_2^2 for p = 2): the value of :func:`vegan.ot.wasserstein`
        with cost ``l2`` (p = 1) or ``l2sq`` (p = 2) in one dimension.
    """
    if not float(p) >= 1:
        raise ConfigError(f"p must be >= 1, got {p}")
    u, v = _vector(x, "x"), _vector(y, "y")
    wu, wv = _weights(a, u.size, "a"), _weights(b, v.size, "b")
    iu, iv = np.argsort(u, kind="stable"), np.argsort(v, kind="stable")
    u, wu, v, wv = u[iu], wu[iu], v[iv], wv[iv]
    cu, cv = np.cumsum(wu), np.cumsum(wv)
    cu[-1] = cv[-1] = 1.0
    # F^{-1} and G^{-1} are step functions; integrate |F^-1 - G^-1|^p over the
    # common refinement of their breakpoints.
    qs = np.union1d(cu, cv)
    lo = np.concatenate(([0.0], qs[:-1]))
    mid = 0.5 * (lo + qs)
    fu = u[np.minimum(np.searchsorted(cu, mid, side="left"), u.size - 1)]
    fv = v[np.minimum(np.searchsorted(cv, mid, side="left"), v.size - 1)]
    return float(np.sum((qs - lo) * np.abs(fu - fv) ** p))


def _psd_sqrt(S: np.ndarray, name: str) -> np.ndarray:
    w, V = np.linalg.eigh(0.5 * (S + S.T))
    if w.min() < -1e-10 * max(1.0, abs(w).max()):
        raise DataError(f"{name} is not positive semi-definite (smallest eigenvalue {w.min():.3g})")
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def gaussian_w2(m1: Any, S1: Any, m2: Any, S2: Any) -> float:
    r"""W_2^2 between N(m1, S1) and N(m2, S2) (Bures formula).

    .. math::
        W_2^2 = |m_1 - m_2|^2 + \mathrm{Tr}\,S_1 + \mathrm{Tr}\,S_2
        - 2\,\mathrm{Tr}\,(S_1^{1/2} S_2 S_1^{1/2})^{1/2}

    Matrix square roots by symmetric eigendecomposition (float64). Returns
    the squared distance, i.e. the l2sq transport cost.
    """
    m1 = np.atleast_1d(np.asarray(m1, dtype=np.float64))
    m2 = np.atleast_1d(np.asarray(m2, dtype=np.float64))
    S1 = np.atleast_2d(np.asarray(S1, dtype=np.float64))
    S2 = np.atleast_2d(np.asarray(S2, dtype=np.float64))
    d = m1.shape[0]
    if m1.shape != (d,) or m2.shape != (d,) or S1.shape != (d, d) or S2.shape != (d, d):
        raise ShapeError(
            f"means {m1.shape}, {m2.shape} and covariances {S1.shape}, {S2.shape} do not "
            "fit; expected (d,), (d,), (d, d), (d, d)"
        )
    for arr, name in ((m1, "m1"), (m2, "m2"), (S1, "S1"), (S2, "S2")):
        if not np.isfinite(arr).all():
            raise DataError(f"{name} contains NaN or inf values")
    r1 = _psd_sqrt(S1, "S1")
    _psd_sqrt(S2, "S2")
    cross = r1 @ S2 @ r1
    ev = np.linalg.eigvalsh(0.5 * (cross + cross.T))
    bures = np.trace(S1) + np.trace(S2) - 2.0 * np.sqrt(np.clip(ev, 0.0, None)).sum()
    return float(np.sum((m1 - m2) ** 2) + max(bures, 0.0))
