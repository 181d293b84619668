r"""Exact optimal transport between empirical measures (network simplex, via POT).

Between the empirical measures :math:`\mu = \sum_i a_i \delta_{x_i}` and
:math:`\nu = \sum_j b_j \delta_{y_j}`, eq. (1) of the VEGAN paper is the
linear program

.. math::
    W_c(\mu, \nu) = \min_{P \ge 0,\ P \mathbf{1} = a,\ P^\top \mathbf{1} = b}
    \langle P, C \rangle, \qquad C_{ij} = c(x_i, y_j),

solved exactly by POT's network simplex (``ot.emd2``, Bonneel et al. 2011).
The value is the transport cost: with ``cost="l2sq"`` it is W_2^2, with
``cost="l2"`` it is W_1.

Limits
------
Memory is O(n m): the float64 cost matrix (8 n m bytes) plus the solver's
own arrays and the dense plan POT always builds. Measured peaks are about 40
bytes per entry (n = m = 5,000: 1.0 GB; n = m = 10,000: 4.0 GB; see
BENCHMARKS.md); the check below budgets :data:`BYTES_PER_ENTRY` = 48. A
problem whose estimate exceeds the memory available (``MemAvailable`` on
Linux, or ``max_memory``) raises :class:`ResourceError` before anything is
allocated: with 8 GB free the limit is about n = m = 12,900. Time grows
faster than n^2 (MNIST in 784-D on 2 cores: about 1 s at n = 2,000, 10 to
20 s at 5,000, 75 to 85 s at 10,000); use ``method="sinkhorn"`` or
``"sliced"`` beyond that.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vegan.errors import ConvergenceError, DataError, ResourceError, ShapeError
from vegan.ot._checks import (
    as_samples,
    as_weights,
    available_memory,
    check_masses,
    check_same_dim,
    format_bytes,
)
from vegan.ot.costs import COSTS, Cost, CostFn, get_cost

#: Peak bytes per cost-matrix entry of an exact solve (cost matrix, solver arrays, plan).
BYTES_PER_ENTRY = 48
#: Fixed allowance (bytes) added to the memory estimate.
BYTES_OVERHEAD = 64 * 2**20
#: Entries of the cost matrix built per block (64 MiB of float64 temporaries).
CHUNK_ENTRIES = 2**23


@dataclass
class ExactResult:
    """Result of :func:`exact_ot`.

    Attributes
    ----------
    value : float
        min over couplings of <P, C> (W_2^2 for l2sq, W_1 for l2).
    plan : numpy.ndarray or None
        The optimal plan P (n, m), when ``return_plan=True``.
    f, g : numpy.ndarray
        Optimal dual potentials (POT's centered ``u``, ``v``):
        f_i + g_j <= C_ij, with equality on the support of P.
    converged : bool
        False only when ``check_convergence=False`` and the iteration limit
        stopped the solver before optimality. The value is then not to be
        trusted: the simplex's intermediate flow is not a coupling, so it is
        neither an upper nor a lower bound.
    max_iter : int
        The iteration limit used.
    """

    value: float
    plan: np.ndarray | None
    f: np.ndarray
    g: np.ndarray
    converged: bool
    max_iter: int


def estimate_memory(n: int, m: int) -> int:
    """Peak memory estimate (bytes) of an exact solve between n and m samples."""
    return BYTES_PER_ENTRY * n * m + BYTES_OVERHEAD


def check_memory(n: int, m: int, max_memory: int | None = None) -> None:
    """Raise :class:`ResourceError` when an n x m exact solve would not fit in memory.

    ``max_memory`` (bytes) overrides the memory available on the machine.
    """
    need = estimate_memory(n, m)
    have = available_memory() if max_memory is None else int(max_memory)
    if have is not None and need > have:
        raise ResourceError(
            f"exact transport between {n} and {m} samples needs about {format_bytes(need)} "
            f"({BYTES_PER_ENTRY} bytes per pair) but {format_bytes(have)} is available; "
            "subsample, or use method='sinkhorn' or 'sliced'"
        )


def cost_matrix(
    x: Any, y: Any, cost: str | Cost | CostFn = "l2sq", dtype: torch.dtype = torch.float64
) -> np.ndarray:
    """The cost matrix C_ij = c(x_i, y_j) as a C-contiguous NumPy array.

    Built in blocks of rows (at most :data:`CHUNK_ENTRIES` entries each), so
    no (n, m, d) tensor and at most one block of temporaries ever exists:
    n = m = 10,000 in 784 dimensions needs the 800 MB of the result and
    64 MB more. ``l2sq``/``l2`` on CPU use NumPy's BLAS, writing each block in
    place (same formula as :func:`vegan.ot.costs.sqeuclidean_matrix`: centered
    expansion clamped at 0); other costs and GPU tensors go through
    ``Cost.pairwise`` block by block.
    """
    xs = as_samples(x, "x", dtype=dtype)
    ys = as_samples(y, "y", dtype=dtype).to(xs.device)
    check_same_dim(xs, ys)
    return _cost_matrix(xs, ys, get_cost(cost))


def _cost_matrix(xs: torch.Tensor, ys: torch.Tensor, c: Cost) -> np.ndarray:
    """:func:`cost_matrix` for validated samples of the same dtype and device."""
    dtype = xs.dtype
    n, m = xs.shape[0], ys.shape[0]
    out = np.empty((n, m), dtype=np.float64 if dtype == torch.float64 else np.float32)
    rows = max(1, CHUNK_ENTRIES // m)
    if c.name in ("l2sq", "l2") and c is COSTS[c.name] and xs.device.type == "cpu":
        xn, yn = xs.detach().numpy(), ys.detach().numpy()
        mu = (xn.sum(0) + yn.sum(0)) / (n + m)
        xc, yc = xn - mu, yn - mu
        xx = np.einsum("ij,ij->i", xc, xc)
        yy = np.einsum("ij,ij->i", yc, yc)
        for s in range(0, n, rows):
            blk = out[s : s + rows]
            np.matmul(xc[s : s + rows], yc.T, out=blk)
            blk *= -2.0
            blk += xx[s : s + rows, None]
            blk += yy[None, :]
            np.maximum(blk, 0.0, out=blk)
            if c.name == "l2":
                np.sqrt(blk, out=blk)
        return out
    out_t = torch.from_numpy(out)
    with torch.no_grad():
        for s in range(0, n, rows):
            out_t[s : s + rows].copy_(c.pairwise(xs[s : s + rows], ys))
    return out


def exact_ot(
    x: Any,
    y: Any,
    cost: str | Cost | CostFn = "l2sq",
    a: Any = None,
    b: Any = None,
    *,
    max_iter: int | None = None,
    check_convergence: bool = True,
    return_plan: bool = False,
    max_memory: int | None = None,
) -> ExactResult:
    r"""Exact W_c between two sample sets: min_P <P, C> by network simplex (eq. (1)).

    Parameters
    ----------
    x, y : array or tensor, (n, ...) and (m, ...)
        Samples (1-D arrays are n points on the line; images are flattened).
    cost : str, Cost or callable
        Ground cost (see :mod:`vegan.ot.costs`): ``"l2sq"`` gives W_2^2,
        ``"l2"`` gives W_1.
    a, b : array, optional
        Non-negative sample weights of equal total (default uniform 1/n, 1/m).
    max_iter : int, optional
        Network-simplex iteration limit; default ``max(10**7, 1000 (n + m))``
        (MNIST in 784-D needs about 50 n).
    check_convergence : bool
        Raise :class:`ConvergenceError` when the limit stops the solver before
        optimality (default); with False, return ``converged=False`` instead
        (the value is then meaningless, see :class:`ExactResult`).
    return_plan : bool
        Also return the optimal plan (an n x m float64 array).
    max_memory : int, optional
        Memory budget in bytes (default: the memory available now).

    Returns
    -------
    ExactResult
        ``value`` (float), ``plan``, dual potentials ``f``, ``g``, ``converged``.
    """
    xs = as_samples(x, "x", dtype=torch.float64)
    ys = as_samples(y, "y", dtype=torch.float64).to(xs.device)
    check_same_dim(xs, ys)
    return _exact_ot(
        xs, ys, get_cost(cost), a, b, max_iter, check_convergence, return_plan, max_memory
    )


def _exact_ot(
    xs: torch.Tensor,
    ys: torch.Tensor,
    c: Cost,
    a: Any,
    b: Any,
    max_iter: int | None,
    check_convergence: bool,
    return_plan: bool,
    max_memory: int | None,
) -> ExactResult:
    """:func:`exact_ot` for validated float64 samples on one device."""
    n, m = xs.shape[0], ys.shape[0]
    check_memory(n, m, max_memory)
    wa = as_weights(a, n, "a", torch.float64, "cpu")
    wb = as_weights(b, m, "b", torch.float64, "cpu")
    M = _cost_matrix(xs, ys, c)
    return _emd(M, wa, wb, max_iter, check_convergence, return_plan)


def exact_ot_from_cost(
    M: Any,
    a: Any = None,
    b: Any = None,
    *,
    max_iter: int | None = None,
    check_convergence: bool = True,
    return_plan: bool = False,
    max_memory: int | None = None,
) -> ExactResult:
    """Exact min_P <P, M> for a given (n, m) cost matrix ``M`` (see :func:`exact_ot`)."""
    if isinstance(M, torch.Tensor):
        M = M.detach().cpu().numpy()
    M = np.asarray(M)
    if M.ndim != 2 or M.shape[0] == 0 or M.shape[1] == 0:
        raise ShapeError(f"cost matrix has shape {M.shape}; expected a non-empty (n, m) matrix")
    n, m = M.shape
    check_memory(n, m, max_memory)
    wa = as_weights(a, n, "a", torch.float64, "cpu")
    wb = as_weights(b, m, "b", torch.float64, "cpu")
    M = np.ascontiguousarray(M, dtype=np.float64)
    return _emd(M, wa, wb, max_iter, check_convergence, return_plan)


def _emd(
    M: np.ndarray,
    a: torch.Tensor,
    b: torch.Tensor,
    max_iter: int | None,
    check_convergence: bool,
    return_plan: bool,
) -> ExactResult:
    n, m = M.shape
    if not np.isfinite(M).all():
        raise DataError("the cost matrix contains NaN or inf values; check the cost function")
    b = check_masses(a, b)
    if max_iter is None:
        max_iter = max(10**7, 1000 * (n + m))
    import ot  # POT, imported on first use (it takes a moment to load)

    an, bn = a.numpy(), b.numpy()
    with warnings.catch_warnings():
        # POT warns on early stops; the result code below is authoritative.
        warnings.simplefilter("ignore", UserWarning)
        value, log = ot.emd2(
            an, bn, M, numItermax=int(max_iter), log=True, return_matrix=return_plan
        )
    code = int(log["result_code"])
    converged = code == 1
    if not converged and (check_convergence or code != 3):
        if code == 3:
            raise ConvergenceError(
                f"the network simplex reached its iteration limit ({max_iter}) before "
                "optimality; raise max_iter or use method='sinkhorn'"
            )
        raise ConvergenceError(f"the network simplex failed: {log['warning']}")
    return ExactResult(
        value=float(value),
        plan=np.asarray(log["G"]) if return_plan else None,
        f=np.asarray(log["u"]),
        g=np.asarray(log["v"]),
        converged=converged,
        max_iter=int(max_iter),
    )
