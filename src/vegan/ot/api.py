r"""One entry point for a transport cost between two sample sets: :func:`wasserstein`.

Conventions, shared by every function of :mod:`vegan.ot`:

* **The value is a transport cost**, min over couplings of E c(X, Y)
  (eq. (1)): with ``cost="l2sq"`` it is W_2^2 (take the square root for
  W_2, or :attr:`OTResult.distance`); with ``cost="l2"`` it is W_1.
* **Mass** (POT's rule): weights are used as given, never normalized; the
  value scales linearly with their common total mass, and unequal totals
  raise :class:`DataError` (vegan solves balanced transport only).
* **Return kind**: NumPy arrays or lists in, a Python float out; torch
  tensors in, a 0-d tensor out (on their device, in their floating dtype,
  with gradients where the method has them); a result object
  (:class:`OTResult`) when more is asked for (``return_result=True``, or
  ``return_plan=True``), holding arrays of the same kind.

Methods:

* ``"exact"`` (default): network simplex, :func:`vegan.ot.exact.exact_ot`.
* ``"sinkhorn"``: <P_eps, C> for the entropic plan,
  :func:`vegan.ot.sinkhorn.sinkhorn` (an upper bound of the exact value that
  tends to it as epsilon -> 0); ``epsilon`` absolute or ``epsilon_rel`` times
  the median cost (default ``epsilon_rel=0.01``, as :func:`sinkhorn`),
  computed in float64.
* ``"sliced"``: the sliced analogue, :func:`vegan.ot.sliced.sliced_wasserstein`,
  matched to the cost: ``l2sq`` gives SW_2^2 (mean over directions of the 1-D
  W_2^2) and ``l2`` gives SW_1 (mean of the 1-D W_1); other costs raise
  :class:`ConfigError`. It is a different quantity, not an approximation:
  a lower bound of the exact value (for a translation by v in d dimensions,
  W_2^2 = |v|^2 but SW_2^2 = |v|^2 / d). Directions come from ``seed``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from vegan.errors import ConfigError
from vegan.ot._checks import (
    as_array,
    as_samples,
    as_value,
    check_choice,
    check_same_dim,
    is_tensor,
    output_dtype,
)
from vegan.ot.costs import Cost, CostFn, get_cost

#: Methods accepted by :func:`wasserstein`.
METHODS = ("exact", "sinkhorn", "sliced")


@dataclass
class OTResult:
    """Result of :func:`wasserstein` with ``return_result=True`` or ``return_plan=True``.

    Values and arrays are of the inputs' kind (floats and NumPy arrays for
    NumPy inputs, tensors for torch inputs).

    Attributes
    ----------
    value : float or Tensor
        The transport cost (W_2^2 for l2sq, W_1 for l2; see the module notes).
    method, cost : str
        What computed it.
    n_a, n_b : int
        Sample sizes.
    seconds : float
        Wall-clock time of the computation (validation included).
    plan : numpy.ndarray, Tensor or None
        The (n_a, n_b) plan (exact and sinkhorn, on request).
    f, g : numpy.ndarray, Tensor or None
        Dual potentials (n_a,), (n_b,) (exact: POT's centered ``u``, ``v``,
        f_i + g_j <= C_ij; sinkhorn: P_ij = a_i b_j e^{(f_i + g_j - C_ij)/eps});
        None for sliced.
    info : dict
        Method details: ``epsilon``, ``entropic``, ``n_iter``, ``n_newton``,
        ``marginal_error`` (sinkhorn); ``n_projections``, ``p``, ``seed``
        (sliced); ``converged``.
    """

    value: Any
    method: str
    cost: str
    n_a: int
    n_b: int
    seconds: float
    plan: Any = None
    info: dict = field(default_factory=dict)
    f: Any = None
    g: Any = None

    @property
    def distance(self) -> Any:
        """The distance in units of the data: sqrt(value) for l2sq (W_2 or SW_2), else value."""
        if self.cost != "l2sq":
            return self.value
        if isinstance(self.value, torch.Tensor):
            return self.value.clamp_min(0.0).sqrt()
        return math.sqrt(max(self.value, 0.0))


def wasserstein(
    x: Any,
    y: Any,
    cost: str | Cost | CostFn = "l2sq",
    method: str = "exact",
    a: Any = None,
    b: Any = None,
    *,
    epsilon: float | None = None,
    epsilon_rel: float | None = None,
    n_projections: int = 50,
    seed: int | None = 0,
    tol: float = 1e-6,
    max_iter: int | None = None,
    check_convergence: bool = True,
    return_plan: bool = False,
    return_result: bool = False,
) -> Any:
    r"""Transport cost W_c(x, y) = min over couplings of E c(X, Y) (eq. (1)).

    Parameters
    ----------
    x, y : array or tensor, (n, ...) and (m, ...)
        Samples: NumPy arrays or torch tensors (CPU or CUDA); a 1-D array
        (n,) is n points on the line; images (n, C, H, W) are flattened.
    cost : str, Cost or callable
        ``"l2sq"`` (|x - y|^2, value W_2^2), ``"l2"`` (value W_1), ``"l1"``
        (POT's names ``"sqeuclidean"``, ``"euclidean"``, ``"cityblock"`` work
        too), or a callable c(x, y) -> (n, m) (exact and sinkhorn only).
    method : str
        ``"exact"``, ``"sinkhorn"`` or ``"sliced"`` (module notes).
    a, b : array, optional
        Non-negative sample weights of equal total (default uniform); not
        normalized: the value scales with the total mass.
    epsilon, epsilon_rel : float, optional
        Sinkhorn regularization, absolute or relative to the median cost
        (default ``epsilon_rel=0.01``).
    n_projections : int
        Directions of the sliced method (default 50).
    seed : int or None
        Seed of the sliced directions (default 0: reproducible).
    tol : float
        Sinkhorn marginal tolerance (L1, default 1e-6).
    max_iter : int, optional
        Iteration limit of the exact or Sinkhorn solver (default: theirs).
    check_convergence : bool
        Raise :class:`ConvergenceError` when a solver stops before
        optimality / tolerance (default); False returns its last value with
        ``info["converged"] = False``.
    return_plan : bool
        Return an :class:`OTResult` holding the plan (exact, sinkhorn).
    return_result : bool
        Return an :class:`OTResult` (value, potentials, method, cost, sizes,
        seconds, info).

    Returns
    -------
    float, Tensor or OTResult
        A float for NumPy inputs, a 0-d tensor for torch inputs (module notes).

    Raises
    ------
    ShapeError
        Samples of different dimensions, or weights of the wrong length.
    DataError
        Empty samples, NaN or inf, invalid weights, unequal total masses.
    ConfigError
        Unknown cost or method (naming the closest), a cost the method
        cannot use, invalid options.
    ConvergenceError, ResourceError
        A solver that did not converge; an exact problem too large for memory.
    """
    t0 = time.perf_counter()
    check_choice(method, METHODS, "method")
    c = get_cost(cost)
    xs = as_samples(x, "x")
    ys = as_samples(y, "y")
    check_same_dim(xs, ys)
    ys = ys.to(xs.device)
    info: dict[str, Any] = {}
    plan = f = g = None
    if method == "exact":
        from vegan.ot.exact import exact_ot

        r = exact_ot(
            xs, ys, c, a, b, max_iter=max_iter, check_convergence=check_convergence,
            return_plan=return_plan, return_result=True,
        )  # fmt: skip
        value, plan, f, g = r.value, r.plan, r.f, r.g
        info.update(converged=r.converged, max_iter=r.max_iter)
    elif method == "sinkhorn":
        from vegan.ot.sinkhorn import sinkhorn

        r = sinkhorn(
            xs,
            ys,
            epsilon,
            epsilon_rel=epsilon_rel,
            cost=c,
            a=a,
            b=b,
            tol=tol,
            max_iter=max_iter,
            dtype=torch.float64,
            check_convergence=check_convergence,
            return_result=True,
            return_plan=return_plan,
        )
        value, plan, f, g = r.value, r.plan, r.f, r.g
        info.update(
            epsilon=r.epsilon,
            entropic=float(r.entropic.detach() if is_tensor(r.entropic) else r.entropic),
            n_iter=r.n_iter,
            n_newton=r.n_newton,
            marginal_error=r.marginal_error,
            converged=r.converged,
        )
    else:
        from vegan.ot.sliced import sliced_wasserstein

        if c.name not in ("l2sq", "l2") or c.scale != 1.0:
            raise ConfigError(
                f"method 'sliced' supports cost 'l2sq' (SW_2^2) and 'l2' (SW_1), not "
                f"{c.name!r}; use method 'exact' or 'sinkhorn' for other costs"
            )
        p = 2 if c.name == "l2sq" else 1
        value = sliced_wasserstein(
            xs.double(), ys.double(), n_projections, p=p, seed=seed, a=a, b=b, power=True
        )
        info.update(n_projections=n_projections, p=p, seed=seed, converged=True)
    # every branch above computed on tensors: give the value back in the inputs' kind
    torch_out = is_tensor(x, y)
    dtype, device = output_dtype(xs, ys), xs.device
    value = as_value(value, torch_out, dtype, device)
    if not (return_result or return_plan):
        return value
    return OTResult(
        value=value,
        method=method,
        cost=c.name,
        n_a=xs.shape[0],
        n_b=ys.shape[0],
        seconds=time.perf_counter() - t0,
        plan=as_array(plan, torch_out, dtype, device),
        info=info,
        f=as_array(f, torch_out, dtype, device),
        g=as_array(g, torch_out, dtype, device),
    )
