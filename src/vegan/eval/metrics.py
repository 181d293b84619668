"""Sample-based metrics: arrays in, numbers out.

Every function compares two samples (generated vs held-out data, or two real
samples for the reference) and returns plain floats. The transport numbers
come from :mod:`vegan.ot` (one implementation of each, used everywhere):

* exact transport cost min over couplings of E c(X, Y) between the two
  empirical measures (network simplex): W2^2 for ``l2sq``, W1 for ``l2``;
* sliced W2 (mean over random directions of the 1-D W2^2, then the root);
* MMD^2 with the WAE paper's multi-scale IMQ kernel
  (:func:`vegan.models.kernels.mmd`, unbiased);
* sharpness: the mean gradient magnitude of images, to put next to pixel
  transport costs, which reward blur (a smooth average is close to every
  digit at once).
"""

from __future__ import annotations

import math

import torch

from vegan.errors import ShapeError

#: Random directions of the sliced W2 metric.
SLICED_PROJECTIONS = 200


def _flat(x) -> torch.Tensor:
    x = torch.as_tensor(x).detach().cpu().float()
    return x.reshape(x.shape[0], -1)


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape[1] != y.shape[1]:
        raise ShapeError(
            f"cannot compare samples of dimension {x.shape[1]} and {y.shape[1]}; "
            "they must come from the same space"
        )


def exact_cost(x, y, cost: str = "l2sq") -> float:
    """min over couplings of E c(X, Y) between the empirical measures of x and y.

    ``cost="l2sq"`` gives W2^2, ``"l2"`` gives W1 (exact network simplex,
    :func:`vegan.ot.wasserstein`).
    """
    from vegan.ot import wasserstein

    x, y = _flat(x), _flat(y)
    _check_pair(x, y)
    return float(wasserstein(x.double(), y.double(), cost=cost, method="exact"))


def sliced_w2(x, y, n_projections: int = SLICED_PROJECTIONS, seed: int = 0) -> float:
    """Sliced W2: sqrt of the mean over random directions of the 1-D W2^2 (fixed seed)."""
    from vegan.ot.sliced import sliced_wasserstein

    x, y = _flat(x), _flat(y)
    _check_pair(x, y)
    return float(sliced_wasserstein(x, y, n_projections=n_projections, p=2, seed=seed, power=False))


def mmd_imq(x, y, c_base: float) -> float:
    """Unbiased MMD^2 with the IMQ kernel summed over the WAE scales, constant ``c_base``."""
    from vegan.models.kernels import mmd

    x, y = _flat(x), _flat(y)
    _check_pair(x, y)
    return float(mmd(x.double(), y.double(), "imq", c_base=c_base))


def pixel_c_base(data) -> float:
    """Kernel constant for data space: 2 d sigma^2, sigma^2 the mean per-coordinate variance.

    The WAE paper's rule for the latent space (C = 2 d_z sigma_z^2), applied
    to the held-out data so the constant is the same for every model compared.
    """
    x = _flat(data).double()
    return float(2.0 * x.shape[1] * x.var(0).mean().clamp_min(1e-12))


def sharpness(images) -> float:
    """Mean gradient magnitude of images (n, C, H, W): average of sqrt(dx^2 + dy^2).

    Forward differences on the (H-1) x (W-1) grid, averaged over channels,
    pixels and images. Blurry samples score lower than the data.
    """
    x = torch.as_tensor(images).detach().cpu().float()
    if x.dim() != 4 or x.shape[-1] < 2 or x.shape[-2] < 2:
        raise ShapeError(f"sharpness needs images (n, C, H, W), got shape {tuple(x.shape)}")
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    return float(torch.sqrt(dx.pow(2) + dy.pow(2)).mean())


def transport_metrics(gen, data, seed: int = 0, c_base: float | None = None) -> dict[str, float]:
    """Exact W2^2, W2, W1, sliced W2 and MMD^2 between samples ``gen`` and ``data``."""
    c = pixel_c_base(data) if c_base is None else c_base
    w2sq = exact_cost(gen, data, "l2sq")
    return {
        "w2sq": w2sq,
        "w2": math.sqrt(max(w2sq, 0.0)),
        "w1": exact_cost(gen, data, "l2"),
        "sw2": sliced_w2(gen, data, seed=seed),
        "mmd": mmd_imq(gen, data, c),
    }


def mode_metrics(samples, centers, std: float) -> dict[str, float]:
    """The GAN toy metrics for a mixture of isotropic Gaussians.

    A sample is *high quality* when it lies within 3 std of its nearest mode
    center. A mode is *covered* when it receives at least 20 % of its fair
    share (n / k) of high-quality samples (the PacGAN convention: 20 of an
    expected 100). Returns ``modes_covered``, ``modes_total`` and
    ``high_quality`` (share of samples).
    """
    x = _flat(samples).double()
    c = torch.as_tensor(centers, dtype=torch.float64)
    d = torch.cdist(x, c)
    dist, nearest = d.min(1)
    good = dist <= 3.0 * float(std)
    counts = torch.bincount(nearest[good], minlength=c.shape[0])
    threshold = max(1.0, 0.2 * x.shape[0] / c.shape[0])
    return {
        "modes_covered": float((counts >= threshold).sum()),
        "modes_total": float(c.shape[0]),
        "high_quality": float(good.double().mean()),
    }


__all__ = [
    "exact_cost",
    "mmd_imq",
    "mode_metrics",
    "pixel_c_base",
    "sharpness",
    "sliced_w2",
    "transport_metrics",
]
