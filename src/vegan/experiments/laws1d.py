r"""One-dimensional laws and exact transport costs by the quantile formula.

In one dimension, for a convex cost c(x, y) = h(x - y) the monotone coupling
is optimal, so

.. math::
    W_c(P, Q) = \int_0^1 h\big(F_P^{-1}(q) - F_Q^{-1}(q)\big)\, dq,

and for the squared cost this is W_2^2. The experiments evaluate the
integral with the midpoint rule on N equal cells: both quantile functions
are taken at q_i = (i - 1/2) / N. For a pushforward G#P_Z with Z ~ N(0, 1),
the N values G(Phi^{-1}(q_i)), sorted, are the quantiles of the N-point
quantization of G#P_Z at the same levels: this works for any G, monotone or
not. The quadrature error is reported by comparing N with 2N.

Everything here is NumPy/torch only (no SciPy): Phi^{-1} is
``torch.special.ndtri`` in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

SQRT_2PI = math.sqrt(2.0 * math.pi)


def ndtri(q: np.ndarray) -> np.ndarray:
    """Phi^{-1}, the standard normal quantile function (float64)."""
    return torch.special.ndtri(torch.as_tensor(np.asarray(q, dtype=np.float64))).numpy()


def ndtr(x: np.ndarray) -> np.ndarray:
    """Phi, the standard normal distribution function (float64)."""
    return torch.special.ndtr(torch.as_tensor(np.asarray(x, dtype=np.float64))).numpy()


def levels(n: int) -> np.ndarray:
    """Midpoint quantile levels (i - 1/2) / n, i = 1..n."""
    return (np.arange(n, dtype=np.float64) + 0.5) / n


def normal_quantiles(n: int) -> np.ndarray:
    """Phi^{-1} at the midpoint levels: the n-point quantization of N(0, 1)."""
    return ndtri(levels(n))


def pushforward_quantiles(G: Callable[[np.ndarray], np.ndarray], n: int) -> np.ndarray:
    """Quantiles of G(Z), Z ~ N(0, 1), at the midpoint levels (sorted G(Phi^{-1}(q_i)))."""
    return np.sort(G(normal_quantiles(n)))


@dataclass(frozen=True)
class Mixture1D:
    """A mixture of Gaussians on the line: sum_k w_k N(m_k, s_k^2)."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    def describe(self) -> str:
        parts = [
            f"{w:g} N({m:g}, {s:g}^2)"
            for w, m, s in zip(self.weights, self.means, self.stds, strict=True)
        ]
        return " + ".join(parts)

    @property
    def mean(self) -> float:
        return float(sum(w * m for w, m in zip(self.weights, self.means, strict=True)))

    @property
    def variance(self) -> float:
        second = sum(
            w * (s * s + m * m) for w, m, s in zip(self.weights, self.means, self.stds, strict=True)
        )
        return float(second - self.mean**2)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return sum(
            w * ndtr((x - m) / s)
            for w, m, s in zip(self.weights, self.means, self.stds, strict=True)
        )

    def pdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return sum(
            w * np.exp(-0.5 * ((x - m) / s) ** 2) / (s * SQRT_2PI)
            for w, m, s in zip(self.weights, self.means, self.stds, strict=True)
        )

    def quantile(self, q: np.ndarray, grid: int = 2_000_001) -> np.ndarray:
        """F^{-1}(q) by inverting the distribution function on a fine grid (error < 1e-7)."""
        lo = min(m - 12 * s for m, s in zip(self.means, self.stds, strict=True))
        hi = max(m + 12 * s for m, s in zip(self.means, self.stds, strict=True))
        xs = np.linspace(lo, hi, grid)
        return np.interp(np.asarray(q, dtype=np.float64), self.cdf(xs), xs)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n draws as a float32 tensor of shape (n,)."""
        w = torch.tensor(self.weights, dtype=torch.float64)
        k = torch.multinomial(w, n, replacement=True, generator=generator)
        m = torch.tensor(self.means, dtype=torch.float32)[k]
        s = torch.tensor(self.stds, dtype=torch.float32)[k]
        return m + s * torch.randn(n, generator=generator)


def w2sq_quantiles(qa: np.ndarray, qb: np.ndarray) -> float:
    """Midpoint-rule W_2^2 from two quantile vectors at the same levels."""
    return float(np.mean((np.asarray(qa) - np.asarray(qb)) ** 2))


def w2sq_weighted(a: np.ndarray, wa: np.ndarray, b: np.ndarray, wb: np.ndarray) -> float:
    """Exact W_2^2 between two weighted point sets on the line (step quantile functions)."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    wa, wb = np.asarray(wa, np.float64).ravel(), np.asarray(wb, np.float64).ravel()
    ia, ib = np.argsort(a, kind="stable"), np.argsort(b, kind="stable")
    a, b = a[ia], b[ib]
    ca, cb = np.cumsum(wa[ia]), np.cumsum(wb[ib])
    ca, cb = ca / ca[-1], cb / cb[-1]
    cuts = np.union1d(ca, cb)
    lo = np.concatenate([[0.0], cuts[:-1]])
    mid = 0.5 * (lo + cuts)
    qa = a[np.minimum(np.searchsorted(ca, mid), len(a) - 1)]
    qb = b[np.minimum(np.searchsorted(cb, mid), len(b) - 1)]
    return float(np.sum((cuts - lo) * (qa - qb) ** 2))


def w2sq_to_normal(z: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
    r"""Exact W_2^2 between the weighted point set (z_j, w_j) and N(0, 1); differentiable.

    With the points sorted, cumulative weights c_j and t_j = Phi^{-1}(c_j),
    the quantile function of the point set is z_j on (c_{j-1}, c_j], so

    .. math::
        W_2^2 = \sum_j w_j z_j^2 - 2 z_j [\varphi(t_{j-1}) - \varphi(t_j)]
                + [c_j - t_j \varphi(t_j)] - [c_{j-1} - t_{j-1} \varphi(t_{j-1})],

    using the primitives of Phi^{-1}(q) and Phi^{-1}(q)^2 in q. Gradients flow
    to the points and to the weights (through the c_j). Computed in float64.
    """
    z = z.reshape(-1).double()
    w = torch.full_like(z, 1.0 / z.numel()) if w is None else w.reshape(-1).double()
    w = w / w.sum()
    zs, idx = z.sort()
    ws = w[idx]
    c1 = ws.cumsum(0).clamp(0.0, 1.0)
    c0 = torch.cat([c1.new_zeros(1), c1[:-1]])

    def primitives(c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = torch.special.ndtri(c.clamp(1e-15, 1.0 - 1e-15))
        phi = torch.exp(-0.5 * t * t) / SQRT_2PI
        return phi, c - t * phi

    phi1, b1 = primitives(c1)
    phi0, b0 = primitives(c0)
    return (ws * zs * zs - 2.0 * zs * (phi0 - phi1) + (b1 - b0)).sum().clamp_min(0.0)
