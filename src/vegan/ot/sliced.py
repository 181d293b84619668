r"""Sliced Wasserstein distance (Rabin et al. 2011; Bonneel et al. 2015), in torch.

The sliced distance averages one-dimensional transport over random
directions theta on the unit sphere S^{d-1}:

.. math::
    SW_p^p(\mu, \nu) = \mathbb{E}_{\theta \sim \mathcal U(S^{d-1})}
    W_p^p(\theta_\# \mu, \theta_\# \nu)
    \approx \frac1K \sum_{k=1}^K W_p^p(\langle \theta_k, X\rangle, \langle \theta_k, Y\rangle),

and each 1-D term is the quantile formula
:math:`W_p^p = \int_0^m |F^{-1}(q) - G^{-1}(q)|^p\, dq` (sorting; for n = m
with uniform weights, the mean of |x_(i) - y_(i)|^p over sorted values),
where m is the common total mass of the weights (1 by default): weights are
not normalized, so the value scales with m, as every vegan solver's and as
POT's ``ot.wasserstein_1d``.

:func:`sliced_wasserstein` follows the rule of :mod:`vegan.ot`, the value is a
transport cost: :math:`SW_p^p` (the form latent penalties use, SWAE, and the
value of ``wasserstein(method="sliced")``); ``power=False`` gives
:math:`SW_p = (\cdot)^{1/p}`, POT's ``ot.sliced_wasserstein_distance``.
NumPy inputs give a float, torch inputs a 0-d tensor (differentiable).
Cost: O(K (n + m) (d + log(n + m))). CPU tensors that need no gradient
take a NumPy path (same formula; NumPy's BLAS and sort are faster than
torch's on some CPUs). Mixed precision: computed with autocast off, from
float32 copies of float16 or bfloat16 inputs (:mod:`vegan.ot.fp32`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vegan.errors import ConfigError, ShapeError
from vegan.ot._checks import (
    as_array,
    as_samples,
    as_value,
    as_weights,
    check_allocation,
    check_masses,
    check_same_dim,
    is_tensor,
    positive_int,
)
from vegan.ot.fp32 import float32


def random_projections(
    d: int,
    n_projections: int,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """``n_projections`` directions uniform on the unit sphere of R^d, as columns (d, K).

    Normalized Gaussian vectors drawn on the CPU (so a seed gives the same
    directions on every device) from ``torch.Generator().manual_seed(seed)``,
    or from ``generator``, or from torch's global generator when neither is
    given; then moved to ``device``.
    """
    if seed is not None and generator is not None:
        raise ConfigError("give seed or generator, not both")
    if seed is not None:
        generator = torch.Generator().manual_seed(int(seed))
    gen_device = generator.device if generator is not None else torch.device("cpu")
    theta = torch.randn(d, n_projections, generator=generator, dtype=dtype, device=gen_device)
    theta = theta / theta.norm(dim=0, keepdim=True)
    return theta.to(device)


def wasserstein_1d_batch(
    u: torch.Tensor,
    v: torch.Tensor,
    p: float = 2,
    u_weights: torch.Tensor | None = None,
    v_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""W_p^p between 1-D empirical measures, column by column, differentiable.

    ``u`` (n, K) and ``v`` (m, K) hold K pairs of 1-D samples; weights (n,),
    (m,) are shared by all columns (default uniform 1/n, 1/m) and used as
    given: they must have the same total m (the callers check it). Returns
    (K,) values of :math:`\int_0^m |F_u^{-1}(q) - F_v^{-1}(q)|^p dq`, which
    scale with m like POT's ``ot.wasserstein_1d``.
    """
    n, m = u.shape[0], v.shape[0]
    if u_weights is None and v_weights is None and n == m:
        us = torch.sort(u, dim=0).values
        vs = torch.sort(v, dim=0).values
        return (us - vs).abs().pow(p).mean(0)
    K = u.shape[1]
    uw = u.new_full((n,), 1.0 / n) if u_weights is None else u_weights
    vw = v.new_full((m,), 1.0 / m) if v_weights is None else v_weights
    us, ui = torch.sort(u.T, dim=1)  # (K, n)
    vs, vi = torch.sort(v.T, dim=1)
    ucdf = torch.cumsum(uw.detach()[ui], dim=1)
    vcdf = torch.cumsum(vw.detach()[vi], dim=1)
    qs = torch.sort(torch.cat([ucdf, vcdf], dim=1), dim=1).values  # (K, n + m)
    iu = torch.searchsorted(ucdf.contiguous(), qs).clamp_(max=n - 1)
    iv = torch.searchsorted(vcdf.contiguous(), qs).clamp_(max=m - 1)
    uq = torch.gather(us, 1, iu)
    vq = torch.gather(vs, 1, iv)
    delta = torch.diff(qs, dim=1, prepend=qs.new_zeros(K, 1))
    return (delta * (uq - vq).abs().pow(p)).sum(1)


@dataclass
class SlicedResult:
    """Result of :func:`sliced_wasserstein` with ``return_result=True``.

    Attributes
    ----------
    value : float or Tensor
        SW_p^p (or SW_p with ``power=False``).
    projections : numpy.ndarray or Tensor
        The directions used, as columns (d, K) (POT's ``log["projections"]``).
    per_direction : numpy.ndarray or Tensor
        The K one-dimensional W_p^p values whose mean is SW_p^p (POT's
        ``log["projected_emds"]`` holds their p-th roots).
    p : float
        The order.
    """

    value: Any
    projections: Any
    per_direction: Any
    p: float


@float32
def sliced_wasserstein(
    x: Any,
    y: Any,
    n_projections: int = 50,
    p: float = 2,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    *,
    a: Any = None,
    b: Any = None,
    projections: Any = None,
    power: bool = True,
    return_result: bool = False,
) -> Any:
    r"""Sliced Wasserstein cost SW_p^p (or the distance SW_p) between two sample sets.

    Parameters
    ----------
    x, y : tensor or array, (n, ...) and (m, ...)
        Samples (flattened). Tensors keep their device and gradients.
    n_projections : int
        Number K of random directions (default 50).
    p : float
        Order, >= 1 (default 2).
    seed : int, optional
        Draw the directions from this seed (reproducible on any device).
    generator : torch.Generator, optional
        Or from this generator; with neither, torch's global generator.
    a, b : array, optional
        Sample weights of equal total (default uniform); n != m is allowed.
        Not normalized: SW_p^p scales with the total mass.
    projections : array (d, K), optional
        Use these directions (columns, as POT's ``projections``) instead of
        random ones; they are used as given (not re-normalized).
    power : bool
        True (default): return SW_p^p, the mean of the 1-D W_p^p (a
        transport cost, like every vegan value). False: return SW_p, POT's
        ``ot.sliced_wasserstein_distance``.
    return_result : bool
        Return a :class:`SlicedResult` (value, directions, per-direction values).

    Returns
    -------
    float, Tensor or SlicedResult
        A float for NumPy inputs, a 0-d tensor for torch inputs. With the same
        directions, SW_p equals POT's ``ot.sliced_wasserstein_distance``.
    """
    torch_out = is_tensor(x, y)
    xs = as_samples(x, "x")
    ys = as_samples(y, "y").to(xs.device)
    check_same_dim(xs, ys)
    dt = torch.promote_types(xs.dtype, ys.dtype)
    if dt in (torch.float16, torch.bfloat16):
        dt = torch.float32  # half-precision sorting and products lose too much
    xs, ys = xs.to(dt), ys.to(dt)
    try:
        p = float(p)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"p must be a number >= 1, got {_short(p)}") from exc
    if not p >= 1:
        raise ConfigError(f"p must be >= 1 for a sliced Wasserstein distance, got {p}")
    d = xs.shape[1]
    if projections is None:
        if isinstance(n_projections, (np.ndarray, torch.Tensor, list, tuple)):
            raise ConfigError(
                f"n_projections must be a positive integer, got {_short(n_projections)}; "
                "weights go by keyword (a=..., b=...): POT's positional order "
                "(X_s, X_t, a, b) is not vegan's"
            )
        K = positive_int(n_projections, "n_projections")
        # theta (d, K), both projections (n + m, K) and their sorted copies
        need = (d + 2 * (xs.shape[0] + ys.shape[0])) * K * xs.element_size()
        check_allocation(
            need,
            xs.device,
            f"sliced transport with {K} projections of {xs.shape[0]} and {ys.shape[0]} samples",
            "use fewer projections (n_projections)",
        )
        theta = random_projections(d, K, seed, generator, xs.dtype, xs.device)
    else:
        theta = torch.as_tensor(projections).to(dtype=xs.dtype, device=xs.device)
        if theta.dim() != 2 or theta.shape[0] != d:
            raise ShapeError(
                f"projections have shape {tuple(theta.shape)}; expected (d, K) with d = {d}"
            )
    wa = wb = None
    if a is not None or b is not None:
        wa = as_weights(a, xs.shape[0], "a", xs.dtype, xs.device)
        wb = check_masses(wa, as_weights(b, ys.shape[0], "b", xs.dtype, xs.device))
    fast = (
        wa is None
        and xs.shape[0] == ys.shape[0]
        and xs.device.type == "cpu"
        and not (torch.is_grad_enabled() and (xs.requires_grad or ys.requires_grad))
    )
    if fast:
        # No gradient needed on CPU: NumPy's BLAS and sort (faster than torch's here).
        xn, yn, tn = xs.detach().numpy(), ys.detach().numpy(), theta.detach().numpy()
        dev = np.abs(np.sort(xn @ tn, axis=0) - np.sort(yn @ tn, axis=0)) ** p
        w = torch.as_tensor(np.mean(dev), dtype=xs.dtype)  # one mean: the same rounding as ever
        per = torch.as_tensor(np.mean(dev, axis=0), dtype=xs.dtype) if return_result else None
    else:
        per = wasserstein_1d_batch(xs @ theta, ys @ theta, p, wa, wb)
        w = per.mean()
    if not power:
        # p-th root with a finite (zero) gradient at 0
        pos = w > 0
        w = torch.where(pos, torch.where(pos, w, torch.ones_like(w)).pow(1.0 / p), 0.0 * w)
    value = as_value(w, torch_out, w.dtype, w.device)
    if not return_result:
        return value
    return SlicedResult(
        value=value,
        projections=as_array(theta.detach(), torch_out, theta.dtype, theta.device),
        per_direction=as_array(
            per if torch_out else per.detach(), torch_out, per.dtype, per.device
        ),
        p=p,
    )


def _short(v: Any) -> str:
    """A short description of a bad option value (no array dump in a one-line message)."""
    if isinstance(v, (np.ndarray, torch.Tensor)):
        return f"an array of shape {tuple(v.shape)}"
    if isinstance(v, (list, tuple)):
        return f"a {type(v).__name__} of length {len(v)}"
    return repr(v)
