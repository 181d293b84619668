r"""Exact optimal transport between empirical measures (network simplex, via POT).

Between the empirical measures :math:`\mu = \sum_i a_i \delta_{x_i}` and
:math:`\nu = \sum_j b_j \delta_{y_j}`, eq. (1) of the VEGAN paper is the
linear program

.. math::
    W_c(\mu, \nu) = \min_{P \ge 0,\ P \mathbf{1} = a,\ P^\top \mathbf{1} = b}
    \langle P, C \rangle, \qquad C_{ij} = c(x_i, y_j),

solved exactly by POT's network simplex (``ot.emd2``, Bonneel et al. 2011).
The value is the transport cost: with ``cost="l2sq"`` it is W_2^2, with
``cost="l2"`` it is W_1. Weights are used as given (POT's rule): the value
scales with their common total mass, and unequal totals raise
:class:`DataError`.

Return kind (the rule of :mod:`vegan.ot`): a Python float for NumPy inputs,
a 0-d tensor for torch inputs; an :class:`ExactResult` (plan, dual
potentials) with ``return_result=True`` or ``return_plan=True``, its arrays
of the same kind. With torch inputs that require grad, the value carries the
envelope gradient (Danskin): d W / d C = P, the optimal plan, so gradients
reach x and y through C = c(x, y), and d W / d a = f, d W / d b = g (POT's
centered potentials); this is what POT's ``emd2`` gives with its torch
backend (it needs the plan and a differentiable cost matrix: about 24
bytes per pair more than the estimate below). :func:`exact_ot_batch` solves
many pairs in one call.

Limits
------
Memory is O(n m): the float64 cost matrix (8 n m bytes) plus the solver's
own arrays and the dense plan POT always builds. Measured peaks are about 40
bytes per entry (BENCHMARKS.md, "Optimal transport"); the check below
budgets :data:`BYTES_PER_ENTRY` = 48. A
problem whose estimate exceeds the memory available (``MemAvailable`` on
Linux, or ``max_memory``) raises :class:`ResourceError` before anything is
allocated: with 8 GB free the limit is about n = m = 12,900. Time grows
faster than n^2 (BENCHMARKS.md, "Scaling"); use ``method="sinkhorn"`` or
``"sliced"`` for large n.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vegan.errors import ConvergenceError, DataError, ResourceError, ShapeError
from vegan.ot._checks import (
    as_array,
    as_samples,
    as_value,
    as_weights,
    available_memory,
    check_masses,
    check_same_dim,
    format_bytes,
    is_tensor,
    output_dtype,
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

    Arrays and the value are of the inputs' kind: NumPy float64 arrays and a
    float for NumPy inputs, tensors for torch inputs.

    Attributes
    ----------
    value : float or Tensor
        min over couplings of <P, C> (W_2^2 for l2sq, W_1 for l2).
    plan : numpy.ndarray, Tensor or None
        The optimal plan P (n, m), when ``return_plan=True``.
    f, g : numpy.ndarray or Tensor
        Optimal dual potentials (POT's centered ``u``, ``v``):
        f_i + g_j <= C_ij, with equality on the support of P, and
        <a, f> + <b, g> = value.
    converged : bool
        False only when ``check_convergence=False`` and the iteration limit
        stopped the solver before optimality. The value is then not to be
        trusted: the simplex's intermediate flow is not a coupling, so it is
        neither an upper nor a lower bound.
    max_iter : int
        The iteration limit used.
    """

    value: Any
    plan: Any
    f: Any
    g: Any
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
    return_result: bool = False,
    max_memory: int | None = None,
) -> Any:
    r"""Exact W_c between two sample sets: min_P <P, C> by network simplex (eq. (1)).

    Parameters
    ----------
    x, y : array or tensor, (n, ...) and (m, ...)
        Samples (1-D arrays are n points on the line; images are flattened).
    cost : str, Cost or callable
        Ground cost (see :mod:`vegan.ot.costs`): ``"l2sq"`` gives W_2^2,
        ``"l2"`` gives W_1.
    a, b : array, optional
        Non-negative sample weights of equal total (default uniform 1/n,
        1/m); not normalized: the value scales with the total.
    max_iter : int, optional
        Network-simplex iteration limit; default ``max(10**7, 1000 (n + m))``
        (MNIST in 784-D needs about 50 n).
    check_convergence : bool
        Raise :class:`ConvergenceError` when the limit stops the solver before
        optimality (default); with False, return ``converged=False`` instead
        (the value is then meaningless, see :class:`ExactResult`).
    return_plan : bool
        Return an :class:`ExactResult` holding the optimal plan (n, m).
    return_result : bool
        Return an :class:`ExactResult` (value, dual potentials f, g, converged).
    max_memory : int, optional
        Memory budget in bytes (default: the memory available now).

    Returns
    -------
    float, Tensor or ExactResult
        The value (a float for NumPy inputs, a 0-d tensor with envelope
        gradients for torch inputs; module notes), or the result.
    """
    xs = as_samples(x, "x")
    ys = as_samples(y, "y").to(xs.device)
    check_same_dim(xs, ys)
    torch_out = is_tensor(x, y)
    c = get_cost(cost)
    grad = _needs_grad(xs, ys)
    res = _exact_ot(
        xs.detach().double(),
        ys.detach().double(),
        c,
        _detached(a),
        _detached(b),
        max_iter,
        check_convergence,
        return_plan or grad,
        max_memory,
    )
    cost_fn = (lambda: c.pairwise(xs, ys)) if grad else None
    dtype = output_dtype(xs, ys)
    return _finish(res, torch_out, dtype, xs.device, return_plan, return_result, cost_fn, a, b)


def _detached(w: Any) -> Any:
    return w.detach() if isinstance(w, torch.Tensor) else w


def _needs_grad(*values: Any) -> bool:
    return torch.is_grad_enabled() and any(
        isinstance(v, torch.Tensor) and v.requires_grad for v in values
    )


def _finish(
    res: ExactResult,
    torch_out: bool,
    dtype: torch.dtype,
    device: Any,
    return_plan: bool,
    return_result: bool,
    cost_fn: Any,
    a: Any,
    b: Any,
) -> Any:
    """Convert a NumPy :class:`ExactResult` to the inputs' kind; attach envelope gradients.

    ``cost_fn`` builds the differentiable cost matrix (None when no gradient
    to the samples or the cost matrix is wanted).
    """
    value = as_value(res.value, torch_out, dtype, device)
    if torch_out:
        # value + (link - link.detach()): the same number, the envelope gradient
        link = None
        if cost_fn is not None:
            P = torch.as_tensor(res.plan, dtype=dtype, device=device)
            link = (P * cost_fn().to(dtype)).sum()
        for w, pot in ((a, res.f), (b, res.g)):
            if _needs_grad(w):
                term = (w.to(dtype) * torch.as_tensor(pot, dtype=dtype, device=w.device)).sum()
                link = term if link is None else link + term.to(device)
        if link is not None:
            value = value + (link - link.detach())
    if not (return_plan or return_result):
        return value
    return ExactResult(
        value=value,
        plan=as_array(res.plan, torch_out, dtype, device) if return_plan else None,
        f=as_array(res.f, torch_out, dtype, device),
        g=as_array(res.g, torch_out, dtype, device),
        converged=res.converged,
        max_iter=res.max_iter,
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
    """Exact solve for validated float64 samples on one device (NumPy result)."""
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
    return_result: bool = False,
    max_memory: int | None = None,
) -> Any:
    """Exact min_P <P, M> for a given (n, m) cost matrix ``M`` (POT's ``ot.emd2(a, b, M)``).

    Same options, return kind and gradients (d value / d M = P) as
    :func:`exact_ot`.
    """
    torch_out = is_tensor(M)
    if torch_out:
        Mt = M if M.is_floating_point() else M.to(torch.get_default_dtype())
        dtype, device = Mt.dtype, Mt.device
        Mn = Mt.detach().cpu().numpy()
    else:
        Mt, dtype, device = None, torch.float64, "cpu"
        Mn = np.asarray(M)
    if Mn.ndim != 2 or Mn.shape[0] == 0 or Mn.shape[1] == 0:
        raise ShapeError(f"cost matrix has shape {Mn.shape}; expected a non-empty (n, m) matrix")
    n, m = Mn.shape
    check_memory(n, m, max_memory)
    wa = as_weights(_detached(a), n, "a", torch.float64, "cpu")
    wb = as_weights(_detached(b), m, "b", torch.float64, "cpu")
    Mn = np.ascontiguousarray(Mn, dtype=np.float64)
    grad = _needs_grad(Mt)
    res = _emd(Mn, wa, wb, max_iter, check_convergence, return_plan or grad)
    cost_fn = (lambda: Mt) if grad else None
    return _finish(res, torch_out, dtype, device, return_plan, return_result, cost_fn, a, b)


def exact_ot_batch(
    xs: Any,
    ys: Any,
    cost: str | Cost | CostFn = "l2sq",
    a: Any = None,
    b: Any = None,
    *,
    max_iter: int | None = None,
    check_convergence: bool = True,
    return_plan: bool = False,
    return_result: bool = False,
    max_memory: int | None = None,
) -> Any:
    """Exact W_c for many pairs (x_k, y_k) in one call (the idea of POT's ``ot.batch``).

    Parameters
    ----------
    xs, ys : sequence of arrays or tensors, or an array (B, n, ...)
        B pairs of sample sets; sizes may differ between pairs (pass lists).
    cost : str, Cost or callable
        Ground cost, as in :func:`exact_ot`.
    a, b : sequence of weight vectors, or an array (B, n), optional
        Weights of each pair (default uniform); each pair's totals must agree.
    max_iter, check_convergence, max_memory
        As in :func:`exact_ot`, for each pair.
    return_plan, return_result : bool
        Return a list of B :class:`ExactResult` instead of the values.

    Returns
    -------
    numpy.ndarray, Tensor or list of ExactResult
        The B values, as a float64 array for NumPy inputs and a (B,) tensor
        (envelope gradients) for torch inputs, or the B results.

    Notes
    -----
    Each pair is one network-simplex solve (POT's ``emd2`` is sequential C
    code), so the time is the sum of the B solves; the call saves the
    Python-side loop and validation, and checks every pair before solving.
    POT's ``ot.batch.solve_batch`` instead runs an approximate (proximal or
    entropic) solver on a stacked (B, n, m) tensor.
    """
    xl, yl = _pairs(xs, "xs"), _pairs(ys, "ys")
    if len(xl) != len(yl):
        raise ShapeError(f"xs holds {len(xl)} sample sets but ys holds {len(yl)}; give one y per x")
    al = _pairs(a, "a", len(xl)) if a is not None else [None] * len(xl)
    bl = _pairs(b, "b", len(xl)) if b is not None else [None] * len(xl)
    out = [
        exact_ot(
            x,
            y,
            cost,
            ak,
            bk,
            max_iter=max_iter,
            check_convergence=check_convergence,
            return_plan=return_plan,
            return_result=return_result,
            max_memory=max_memory,
        )  # fmt: skip
        for x, y, ak, bk in zip(xl, yl, al, bl)
    ]
    if return_plan or return_result:
        return out
    if is_tensor(*xl, *yl):
        return torch.stack([v.to(out[0].device) for v in out])
    return np.asarray(out, dtype=np.float64)


def _pairs(v: Any, name: str, count: int | None = None) -> list:
    """Split a batch (sequence, or an array/tensor with a leading batch axis) into a list."""
    if isinstance(v, (list, tuple)):
        items = list(v)
    elif isinstance(v, (np.ndarray, torch.Tensor)) and v.ndim >= (2 if count else 3):
        items = list(v)
    else:
        raise ShapeError(
            f"{name} must be a list of arrays or an array with a leading batch axis "
            f"(B, n, ...); for one pair use exact_ot"
        )
    if not items:
        raise DataError(f"{name} is empty; give at least one pair")
    if count is not None and len(items) != count:
        raise ShapeError(f"{name} holds {len(items)} weight vectors for {count} pairs")
    return items


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
