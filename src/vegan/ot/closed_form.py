r"""Closed-form transport costs, used as oracles (NumPy, float64).

Both functions follow the project convention of :func:`vegan.ot.wasserstein`:
they return the *transport cost* min E c(X, Y), i.e. W_p^p for the cost
|x - y|^p (W_1 for p = 1, W_2^2 for p = 2), the same as POT's
``ot.wasserstein_1d`` (whose argument order :func:`wasserstein_1d` shares).
POT's ``ot.gaussian.bures_wasserstein_distance(ms, mt, Cs, Ct)`` returns W_2
instead, with another argument order: the same number is
``gaussian_w2(ms, Cs, mt, Ct) ** 0.5``, or ``gaussian_w2(ms=ms, mt=mt, Cs=Cs,
Ct=Ct) ** 0.5`` with POT's names.

Return kind (the rule of :mod:`vegan.ot`): a float for NumPy inputs, a 0-d
tensor for torch inputs. Weights are used as given (the value scales with
their common total mass; unequal totals raise :class:`DataError`).

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
import torch

from vegan.errors import ConfigError, DataError, ShapeError
from vegan.ot._checks import MASS_RTOL, as_value, is_tensor, mass_message


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
    if np.ndim(w.detach().cpu() if hasattr(w, "detach") else w) == 0:
        raise ConfigError(
            f"weights {name} must be an array of {n} weights, got the number {float(w)!r}; the "
            "order is POT's, wasserstein_1d(x, y, a, b, p): pass the order by keyword, p=..."
        )
    arr = _vector(w, name)
    if arr.shape[0] != n:
        raise ShapeError(f"weights {name} have {arr.shape[0]} entries for {n} samples")
    if (arr < 0).any() or arr.sum() <= 0:
        raise DataError(f"weights {name} must be non-negative with a positive sum")
    return arr


def wasserstein_1d(
    x: Any,
    y: Any,
    a: Any = None,
    b: Any = None,
    p: float = 1,
    *,
    u_weights: Any = None,
    v_weights: Any = None,
) -> Any:
    r"""W_p^p between two weighted samples on the line, by the quantile formula.

    Parameters
    ----------
    x, y : array or tensor, (n,), (m,)
        Samples (an (n, 1) array is accepted).
    a, b : array, optional
        Non-negative weights of equal total (default uniform 1/n, 1/m); not
        normalized: the value scales with the total mass. POT's names
        ``u_weights``, ``v_weights`` are accepted as keywords.
    p : float
        Order >= 1 (default 1: W_1). Fifth, as in POT's
        ``ot.wasserstein_1d(u_values, v_values, u_weights, v_weights, p)``
        (it used to be third: a number where weights are expected raises
        :class:`ConfigError` saying so).

    Returns
    -------
    float or Tensor
        :math:`\int_0^m |F^{-1}(q) - G^{-1}(q)|^p dq` with m the total mass,
        that is W_p^p (W_1 for p = 1, W_2^2 for p = 2): the value of
        :func:`vegan.ot.wasserstein` with cost ``l2`` (p = 1) or ``l2sq``
        (p = 2) in one dimension, and of POT's ``ot.wasserstein_1d``. A float
        for NumPy inputs (computed in NumPy, the oracle); for torch inputs a
        differentiable 0-d tensor (computed in torch by
        :func:`vegan.ot.sliced.wasserstein_1d_batch`).
    """
    a = _alias(a, u_weights, "a", "u_weights")
    b = _alias(b, v_weights, "b", "v_weights")
    try:
        p = float(p)
    except (TypeError, ValueError) as exc:
        what = f"an array of shape {np.shape(p)}" if np.ndim(p) else repr(p)
        raise ConfigError(f"p must be a number >= 1, got {what}") from exc
    if not p >= 1:
        raise ConfigError(f"p must be >= 1, got {p}")
    if is_tensor(x, y, a, b):
        return _wasserstein_1d_torch(x, y, a, b, p)
    u, v = _vector(x, "x"), _vector(y, "y")
    wu, wv = _weights(a, u.size, "a"), _weights(b, v.size, "b")
    total = _check_totals(wu.sum(), wv.sum())
    iu, iv = np.argsort(u, kind="stable"), np.argsort(v, kind="stable")
    u, wu, v, wv = u[iu], wu[iu], v[iv], wv[iv]
    cu, cv = np.cumsum(wu), np.cumsum(wv)
    cu[-1] = cv[-1] = total
    # F^{-1} and G^{-1} are step functions; integrate |F^-1 - G^-1|^p over the
    # common refinement of their breakpoints.
    qs = np.union1d(cu, cv)
    lo = np.concatenate(([0.0], qs[:-1]))
    mid = 0.5 * (lo + qs)
    fu = u[np.minimum(np.searchsorted(cu, mid, side="left"), u.size - 1)]
    fv = v[np.minimum(np.searchsorted(cv, mid, side="left"), v.size - 1)]
    return float(np.sum((qs - lo) * np.abs(fu - fv) ** p))


def _alias(value: Any, alias: Any, name: str, alias_name: str) -> Any:
    if alias is None:
        return value
    if value is not None:
        raise ConfigError(f"give {name} or {alias_name} (POT's name for it), not both")
    return alias


def _check_totals(sa: float, sb: float) -> float:
    """The common total mass of two weight vectors (DataError when they differ)."""
    if abs(sa - sb) > MASS_RTOL * max(sa, sb):
        raise DataError(mass_message(float(sa), float(sb)))
    return float(sa)


def _wasserstein_1d_torch(x: Any, y: Any, a: Any, b: Any, p: float) -> torch.Tensor:
    """:func:`wasserstein_1d` for torch inputs, differentiable (the sliced code in 1-D)."""
    from vegan.ot._checks import as_samples, as_weights, check_masses
    from vegan.ot.sliced import wasserstein_1d_batch

    for v, name in ((a, "a"), (b, "b")):
        if v is not None and np.ndim(v.detach().cpu() if hasattr(v, "detach") else v) == 0:
            _weights(v, 1, name)  # the message about the argument order
    xs, ys = as_samples(x, "x"), as_samples(y, "y")
    ys = ys.to(xs.device)
    for t, name in ((xs, "x"), (ys, "y")):
        if t.shape[1] != 1:
            raise ShapeError(f"{name} has shape {tuple(t.shape)}; expected 1-D samples (n,)")
    dt = torch.promote_types(xs.dtype, ys.dtype)
    xs, ys = xs.to(dt), ys.to(dt)
    wa = as_weights(a, xs.shape[0], "a", dt, xs.device)
    wb = check_masses(wa, as_weights(b, ys.shape[0], "b", dt, xs.device))
    given = a is not None or b is not None
    value = wasserstein_1d_batch(xs, ys, p, wa if given else None, wb if given else None)[0]
    return as_value(value, True, dt, xs.device)


def _psd_sqrt(S: np.ndarray, name: str) -> np.ndarray:
    w, V = np.linalg.eigh(0.5 * (S + S.T))
    if w.min() < -1e-10 * max(1.0, abs(w).max()):
        raise DataError(f"{name} is not positive semi-definite (smallest eigenvalue {w.min():.3g})")
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def gaussian_w2(
    m1: Any = None,
    S1: Any = None,
    m2: Any = None,
    S2: Any = None,
    *,
    ms: Any = None,
    Cs: Any = None,
    mt: Any = None,
    Ct: Any = None,
) -> Any:
    r"""W_2^2 between N(m1, S1) and N(m2, S2) (Bures formula).

    .. math::
        W_2^2 = |m_1 - m_2|^2 + \mathrm{Tr}\,S_1 + \mathrm{Tr}\,S_2
        - 2\,\mathrm{Tr}\,(S_1^{1/2} S_2 S_1^{1/2})^{1/2}

    Matrix square roots by symmetric eigendecomposition (float64). Returns
    the squared distance, i.e. the l2sq transport cost (POT's
    ``bures_wasserstein_distance(ms, mt, Cs, Ct)`` returns its square root).

    Parameters
    ----------
    m1, S1, m2, S2 : array (d,), (d, d), (d,), (d, d)
        Mean and covariance of each Gaussian, in that order (for d = 1,
        numbers are accepted). POT's keyword names work too:
        ``gaussian_w2(ms=..., mt=..., Cs=..., Ct=...)``.

    Returns
    -------
    float or Tensor
        A float for NumPy inputs; a 0-d tensor for torch inputs, in their
        floating dtype (computed in NumPy, float64: not differentiable, so
        inputs that require grad are refused).
    """
    m1, S1 = _alias(m1, ms, "m1", "ms"), _alias(S1, Cs, "S1", "Cs")
    m2, S2 = _alias(m2, mt, "m2", "mt"), _alias(S2, Ct, "S2", "Ct")
    args = {"m1": m1, "S1": S1, "m2": m2, "S2": S2}
    missing = [k for k, v in args.items() if v is None]
    if missing:
        raise ConfigError(
            "gaussian_w2 needs m1, S1, m2, S2 (or POT's names ms, Cs, mt, Ct); "
            f"missing {', '.join(missing)}"
        )
    torch_out = is_tensor(*args.values())
    if any(getattr(v, "requires_grad", False) for v in args.values()):
        raise ConfigError(
            "gaussian_w2 is computed in NumPy and carries no gradient; pass detached tensors "
            "(or use vegan.ot.sinkhorn_divergence between samples for a differentiable loss)"
        )
    m1, S1, m2, S2 = (
        np.asarray(v.detach().cpu() if hasattr(v, "detach") else v, dtype=np.float64)
        for v in args.values()
    )
    for S, name in ((S1, "S1"), (S2, "S2")):
        if S.ndim == 1:
            raise ShapeError(
                f"{name} has shape {S.shape}: a covariance must be (d, d); the order is "
                "gaussian_w2(m1, S1, m2, S2) (POT's bures_wasserstein_distance takes "
                "(ms, mt, Cs, Ct): call gaussian_w2(ms, Cs, mt, Ct), or use keywords)"
            )
    m1, m2 = np.atleast_1d(m1), np.atleast_1d(m2)
    S1, S2 = np.atleast_2d(S1), np.atleast_2d(S2)
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
    value = float(np.sum((m1 - m2) ** 2) + max(bures, 0.0))
    if not torch_out:
        return value
    tensors = [v for v in args.values() if isinstance(v, torch.Tensor)]
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    dtype = dtype if dtype.is_floating_point else torch.get_default_dtype()
    return as_value(value, True, dtype, tensors[0].device)
