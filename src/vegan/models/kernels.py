"""Maximum mean discrepancy with the WAE paper's kernels (Gretton et al. 2012).

MMD_k(P, Q)^2 = E k(X, X') + E k(Y, Y') - 2 E k(X, Y), estimated by the
unbiased U-statistic: the within-sample averages exclude the diagonal, the
cross average keeps every pair. Kernels are summed over scales, as in the
WAE code (Tolstikhin et al. 2018, eq. (12) with an MMD penalty):

* inverse multiquadratics: k(x, y) = C / (C + |x - y|^2);
* RBF: k(x, y) = exp(-|x - y|^2 / C), i.e. bandwidth sigma_k^2 = C / 2;

with C = c_base * s for every scale s. For a prior with per-coordinate
variance sigma_z^2 in d_z dimensions the WAE paper takes c_base = 2 d_z sigma_z^2.
The squared distances are computed once and shared by every scale.

Limits
------
Memory is O((n + m)^2): the (n + m) x (n + m) distance and kernel matrices
and their temporaries peak at 5 to 10 matrices of the input's dtype when
the estimate is differentiated and 3 to 5 without gradients (measured on
CPU for n = m = 500 ... 3,000; the kernel scales share one buffer, see
:class:`_KernelSum`). :func:`mmd_memory` counts
:data:`MATRICES_WITH_GRAD` = 12 and :data:`MATRICES_NO_GRAD` = 6 for a
margin: a WAE-MMD batch of B codes in float32 needs about 192 B^2 bytes
(0.7 GiB at B = 2,000). A problem larger than the memory available raises
:class:`~vegan.errors.ResourceError` before anything is allocated.

Precision: :func:`mmd` is always computed in float32 or float64, never in a
half-precision dtype: inside a mixed-precision step it runs with autocast
off on float32 copies of float16/bfloat16 samples (:mod:`vegan.ot.fp32`);
an MMD is a small difference of large kernel sums, which 8 significant
bits cannot resolve.
"""

from __future__ import annotations

import torch

from vegan.errors import ConfigError, ShapeError, closest
from vegan.ot.fp32 import float32

#: The scales of the WAE code.
WAE_SCALES: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
KERNELS = ("imq", "rbf")
#: (n + m)^2 matrices held at peak by a differentiated / a gradient-free estimate.
MATRICES_WITH_GRAD, MATRICES_NO_GRAD = 12, 6


def mmd_memory(n: int, m: int, itemsize: int = 4, grad: bool = True) -> int:
    """Peak memory estimate (bytes) of :func:`mmd` between n and m samples."""
    per = MATRICES_WITH_GRAD if grad else MATRICES_NO_GRAD
    return per * itemsize * (int(n) + int(m)) ** 2


def check_mmd_memory(
    n: int, m: int, itemsize: int = 4, grad: bool = True, device: torch.device | str = "cpu"
) -> None:
    """Raise :class:`ResourceError` when an MMD between n and m samples cannot fit in memory."""
    need = mmd_memory(n, m, itemsize, grad)
    from vegan.resources import check_allocation  # small needs return at once (no /proc read)

    check_allocation(
        need,
        device,
        f"the MMD between {n} and {m} samples",
        "its kernel matrices grow as (n+m)^2: use a smaller batch_size (or fewer samples)",
    )


def _sqdist(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """|x_i - y_j|^2 through the Gram expansion, clamped at 0."""
    xx = x.pow(2).sum(1, keepdim=True)
    yy = y.pow(2).sum(1, keepdim=True)
    return (xx + yy.T - 2.0 * (x @ y.T)).clamp_min_(0.0)


class _KernelSum(torch.autograd.Function):
    """sum_c k_c(d2) over the kernel scales, computed in one reused buffer.

    Autograd on the plain expression keeps every scale's temporaries for the
    backward pass; this saves only d2 and recomputes the derivative
    d/dd2 c / (c + d2) = -c / (c + d2)^2 (IMQ) or d/dd2 exp(-d2 / c) =
    -exp(-d2 / c) / c (RBF): half the time at batch 100, a third at 1600
    (BENCHMARKS.md, "Scaling"), and less memory.
    """

    @staticmethod
    def forward(ctx, d2: torch.Tensor, kernel: str, cs: list[float]) -> torch.Tensor:
        ctx.save_for_backward(d2)
        ctx.kernel, ctx.cs = kernel, cs
        out, tmp = torch.zeros_like(d2), torch.empty_like(d2)
        for c in cs:
            if kernel == "imq":
                torch.add(d2, c, out=tmp).reciprocal_().mul_(c)
            else:
                torch.mul(d2, -1.0 / c, out=tmp).exp_()
            out.add_(tmp)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (d2,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiable ops, for double backward
            if ctx.kernel == "imq":
                dk = sum(-c / (c + d2) ** 2 for c in ctx.cs)
            else:
                dk = sum(-torch.exp(-d2 / c) / c for c in ctx.cs)
            return dk * grad, None, None
        acc, tmp = torch.zeros_like(d2), torch.empty_like(d2)
        for c in ctx.cs:
            if ctx.kernel == "imq":
                torch.add(d2, c, out=tmp).reciprocal_()
                tmp.mul_(tmp).mul_(-c)
            else:
                torch.mul(d2, -1.0 / c, out=tmp).exp_().mul_(-1.0 / c)
            acc.add_(tmp)
        return acc.mul_(grad), None, None


def _kernel_sum(d2: torch.Tensor, kernel: str, cs: list[float]) -> torch.Tensor:
    return _KernelSum.apply(d2, kernel, cs)


@float32
def mmd(
    x: torch.Tensor,
    y: torch.Tensor,
    kernel: str = "imq",
    scales: tuple[float, ...] = WAE_SCALES,
    c_base: float = 1.0,
) -> torch.Tensor:
    """Unbiased estimate of MMD_k(P, Q)^2 from samples x ~ P (n, d) and y ~ Q (m, d).

    Differentiable in x and y. Inputs of any trailing shape are flattened.
    Needs n >= 2 and m >= 2. The value can be slightly negative (unbiased).
    Computed in float32 at least, with autocast off (module notes).
    """
    if kernel not in KERNELS:
        raise ConfigError(
            f"unknown kernel '{kernel}'{closest(kernel, KERNELS)}; "
            f"choose one of {', '.join(KERNELS)}"
        )
    x, y = x.flatten(1), y.flatten(1)
    n, m = x.shape[0], y.shape[0]
    if x.shape[1] != y.shape[1]:
        raise ShapeError(
            f"MMD needs samples of the same dimension, got {x.shape[1]} and {y.shape[1]}"
        )
    if n < 2 or m < 2:
        raise ShapeError("the unbiased MMD needs at least 2 samples on each side")
    grad = torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)
    check_mmd_memory(n, m, max(x.element_size(), y.element_size()), grad, x.device)
    cs = [float(c_base) * float(s) for s in scales]
    # One distance matrix for the stacked samples serves every block and scale.
    k = _kernel_sum(_sqdist(torch.cat([x, y]), torch.cat([x, y])), kernel, cs)
    kxx, kyy, kxy = k[:n, :n], k[n:, n:], k[:n, n:]
    xx = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return xx + yy - 2.0 * kxy.mean()
