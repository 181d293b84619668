"""Toy distributions in two (or d) dimensions, sampled exactly for any n and seed.

Every sampler returns a float32 array of shape (n, d). The mixtures of
Gaussians expose their mode centers and standard deviation through
:func:`modes`, for the usual GAN toy metrics ("modes covered" and
"high-quality samples", i.e. within 3 standard deviations of a mode).

=============  ====  ==================================================================
name           d     definition (defaults; override with keyword parameters)
=============  ====  ==================================================================
8gaussians     2     8 equal Gaussians centred on a circle of ``radius`` 2 (angles
                     2 pi k / 8), ``std`` 0.02 (the GAN literature convention)
25gaussians    2     25 equal Gaussians on the grid {-2, -1, 0, 1, 2}^2, ``std`` 0.05
swissroll      2     t = 1.5 pi (1 + 2u), u ~ U(0, 1); (t cos t, t sin t) + N(0, ``noise``^2)
                     with noise 0.25, divided by 7.5 (as in the WGAN-GP toy code)
moons          2     two interleaved half circles (scikit-learn's make_moons), Gaussian
                     ``noise`` 0.1, centred and scaled by 2 (about [-3, 3] x [-1.5, 1.5])
rings          2     ``n_rings`` 4 concentric circles of radii 0.5, 1, 1.5, 2, equal mass,
                     Gaussian ``noise`` 0.05
checkerboard   2     uniform on the 8 dark squares of a 4 x 4 board of unit squares
                     covering [-2, 2]^2
gaussian       d     N(``mean``, ``cov``); defaults d = 2, mean 0, cov identity. ``mean``
                     is a scalar or d values; ``cov`` a scalar (times identity), d values
                     (diagonal) or a d x d symmetric positive semi-definite matrix
=============  ====  ==================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vegan.errors import ConfigError, closest

__all__ = [
    "TOY_DISTRIBUTIONS",
    "ToyDistribution",
    "modes",
    "parse_toy_spec",
    "sample_toy",
    "toy_names",
]

Seed = int | Sequence[int] | np.random.Generator


@dataclass(frozen=True)
class ToyDistribution:
    """A registered toy distribution.

    Attributes
    ----------
    name : str
        Registry name (the ``NAME`` in ``toy:NAME``).
    description : str
        One line for ``vegan data --list``.
    defaults : dict
        Parameters and their default values.
    sampler : callable
        ``sampler(rng, n, params) -> ndarray (n, d)``.
    centers : callable or None
        For mixtures of isotropic Gaussians: ``centers(params) -> ndarray (k, d)``;
        the common standard deviation is ``params["std"]``.
    """

    name: str
    description: str
    defaults: dict[str, Any]
    sampler: Callable[[np.random.Generator, int, dict[str, Any]], np.ndarray]
    centers: Callable[[dict[str, Any]], np.ndarray] | None = field(default=None)


# ----------------------------------------------------------------------------- samplers


#: Largest dimension of toy:gaussian (its covariance is factorized in O(d^3) time, O(d^2) memory).
MAX_GAUSSIAN_DIM = 4096


def _circle_centers(p: dict[str, Any]) -> np.ndarray:
    angles = 2 * np.pi * np.arange(8) / 8
    return p["radius"] * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _grid_centers(p: dict[str, Any]) -> np.ndarray:
    g = np.arange(-2.0, 3.0)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def _mixture(centers: Callable[[dict[str, Any]], np.ndarray]):
    def sample(rng: np.random.Generator, n: int, p: dict[str, Any]) -> np.ndarray:
        c = centers(p)
        k = rng.integers(0, len(c), size=n)
        return c[k] + p["std"] * rng.standard_normal((n, c.shape[1]))

    return sample


def _swissroll(rng: np.random.Generator, n: int, p: dict[str, Any]) -> np.ndarray:
    t = 1.5 * np.pi * (1 + 2 * rng.random(n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
    return (x + p["noise"] * rng.standard_normal((n, 2))) / 7.5


def _moons(rng: np.random.Generator, n: int, p: dict[str, Any]) -> np.ndarray:
    theta = np.pi * rng.random(n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(theta), 1 - np.cos(theta))
    y = np.where(upper, np.sin(theta), 0.5 - np.sin(theta))
    pts = np.stack([x, y], axis=1) + p["noise"] * rng.standard_normal((n, 2))
    return 2 * (pts - np.array([0.5, 0.25]))


def _rings(rng: np.random.Generator, n: int, p: dict[str, Any]) -> np.ndarray:
    k = int(p["n_rings"])
    radius = 2.0 * (rng.integers(0, k, size=n) + 1) / k
    angle = 2 * np.pi * rng.random(n)
    pts = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return pts + p["noise"] * rng.standard_normal((n, 2))


def _checkerboard(rng: np.random.Generator, n: int, p: dict[str, Any]) -> np.ndarray:
    x1 = 4 * rng.random(n) - 2
    x2 = rng.random(n) - 2 * rng.integers(0, 2, size=n) + np.floor(x1) % 2
    return np.stack([x1, x2], axis=1)


def _gaussian(rng: np.random.Generator, n: int, p: dict[str, Any]) -> np.ndarray:
    mean, root = _gaussian_moments(p)
    return mean + rng.standard_normal((n, len(mean))) @ root.T


# --------------------------------------------------------------------------- registry

TOY_DISTRIBUTIONS: dict[str, ToyDistribution] = {
    t.name: t
    for t in (
        ToyDistribution(
            "8gaussians",
            "8 Gaussians (std 0.02) on a circle of radius 2, 2-D",
            {"radius": 2.0, "std": 0.02},
            _mixture(_circle_centers),
            _circle_centers,
        ),
        ToyDistribution(
            "25gaussians",
            "25 Gaussians (std 0.05) on the grid {-2,...,2}^2, 2-D",
            {"std": 0.05},
            _mixture(_grid_centers),
            _grid_centers,
        ),
        ToyDistribution(
            "swissroll",
            "2-D swiss roll (noise 0.25, scaled by 1/7.5)",
            {"noise": 0.25},
            _swissroll,
        ),
        ToyDistribution("moons", "two interleaved moons (noise 0.1), 2-D", {"noise": 0.1}, _moons),
        ToyDistribution(
            "rings",
            "4 concentric rings of radii 0.5 to 2 (noise 0.05), 2-D",
            {"n_rings": 4, "noise": 0.05},
            _rings,
        ),
        ToyDistribution(
            "checkerboard", "uniform on a 4x4 checkerboard over [-2, 2]^2, 2-D", {}, _checkerboard
        ),
        ToyDistribution(
            "gaussian",
            "Gaussian N(mean, cov) in d dimensions (toy:gaussian?d=8&mean=0&cov=1)",
            {"d": None, "mean": 0.0, "cov": 1.0},
            _gaussian,
        ),
    )
}


def toy_names() -> list[str]:
    """Names of the toy distributions, in registry order."""
    return list(TOY_DISTRIBUTIONS)


# ------------------------------------------------------------------------- parameters


def _get(name: str) -> ToyDistribution:
    if name not in TOY_DISTRIBUTIONS:
        raise ConfigError(
            f"unknown toy distribution '{name}'{closest(name, toy_names())}; "
            f"choose one of {', '.join(toy_names())}"
        )
    return TOY_DISTRIBUTIONS[name]


def _parse_value(text: str) -> Any:
    parts = [s.strip() for s in text.split(",")]
    values = []
    for s in parts:
        try:
            values.append(int(s))
        except ValueError:
            try:
                values.append(float(s))
            except ValueError:
                raise ConfigError(
                    f"toy parameter value '{text}' is not a number or comma-separated numbers"
                ) from None
    return values[0] if len(values) == 1 else values


def parse_toy_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"NAME?key=value&key=value"`` into the name and numeric parameters.

    A value is a number or comma-separated numbers (a list), e.g.
    ``gaussian?d=3&mean=1,2,3&cov=0.5``.
    """
    name, _, query = spec.partition("?")
    params: dict[str, Any] = {}
    for item in filter(None, query.split("&")):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"toy parameter '{item}' in '{spec}' must be written key=value")
        params[key.strip()] = _parse_value(value)
    return name.strip(), params


def _positive(p: dict[str, Any], key: str, strict: bool = True) -> None:
    v = p[key]
    if isinstance(v, list) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(f"toy parameter {key}={v!r} must be a single finite number")
    if v < 0 or (strict and v == 0):
        raise ConfigError(f"toy parameter {key}={v} must be {'> 0' if strict else '>= 0'}")


def _resolve(dist: ToyDistribution, params: dict[str, Any]) -> dict[str, Any]:
    for key in params:
        if key not in dist.defaults:
            allowed = ", ".join(dist.defaults) or "none"
            raise ConfigError(
                f"toy:{dist.name} has no parameter '{key}'{closest(key, list(dist.defaults))}; "
                f"its parameters: {allowed}"
            )
    p = {**dist.defaults, **params}
    for key in ("radius", "std"):
        if key in p:
            _positive(p, key)
    if "noise" in p:
        _positive(p, "noise", strict=False)
    if "n_rings" in p and (not isinstance(p["n_rings"], int) or p["n_rings"] < 1):
        raise ConfigError(f"toy parameter n_rings={p['n_rings']!r} must be an integer >= 1")
    if dist.name == "gaussian":
        _gaussian_moments(p)  # validates d, mean and cov
    return p


def _gaussian_moments(p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Return (mean (d,), root (d, d)) with root @ root.T = cov, validating the parameters."""
    mean = np.atleast_1d(np.asarray(p["mean"], dtype=np.float64))
    cov = np.asarray(p["cov"], dtype=np.float64)
    d = p.get("d")
    if d is None:
        sizes = [mean.size if mean.ndim == 1 and mean.size > 1 else None]
        sizes.append(cov.shape[0] if cov.ndim >= 1 and cov.size > 1 else None)
        d = next((s for s in sizes if s is not None), 2)
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ConfigError(f"toy:gaussian needs an integer dimension d >= 1, got d={d!r}")
    if d > MAX_GAUSSIAN_DIM:  # the d x d covariance is factorized in O(d^3)
        raise ConfigError(
            f"toy:gaussian supports d <= {MAX_GAUSSIAN_DIM}, got d={d}; use a smaller dimension"
        )
    if mean.ndim != 1 or mean.size not in (1, d):
        raise ConfigError(f"toy:gaussian mean has {mean.size} values; give 1 or d={d}")
    mean = np.broadcast_to(mean, (d,)).copy()
    if cov.size == 1:
        cov = float(cov.reshape(())) * np.eye(d)
    elif cov.ndim == 1 and cov.size == d:
        cov = np.diag(cov)
    elif cov.size == d * d:
        cov = cov.reshape(d, d)
    else:
        raise ConfigError(
            f"toy:gaussian cov has {cov.size} values; give 1 (isotropic), d={d} (diagonal) "
            f"or d*d={d * d} (full matrix)"
        )
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
        raise ConfigError("toy:gaussian mean and cov must be finite")
    if not np.allclose(cov, cov.T, rtol=1e-8, atol=1e-12):
        raise ConfigError("toy:gaussian cov must be symmetric")
    w, v = np.linalg.eigh(cov)
    if w.min() < -1e-10 * max(1.0, abs(w).max()):
        raise ConfigError(
            f"toy:gaussian cov is not positive semi-definite (eigenvalue {w.min():.3g})"
        )
    return mean, v * np.sqrt(np.clip(w, 0, None))


# ------------------------------------------------------------------------- public API


def sample_toy(name: str, n: int, seed: Seed = 0, **params: Any) -> np.ndarray:
    """Draw ``n`` points from the toy distribution ``name``.

    Parameters
    ----------
    name : str
        A name from :func:`toy_names`, optionally with a ``toy:`` prefix and
        parameters (``"gaussian?d=8"``); keyword ``params`` override them.
    n : int
        Number of points (>= 0).
    seed : int, sequence of int or numpy.random.Generator
        Seed for ``numpy.random.default_rng`` (same seed, same points).
    **params
        Distribution parameters (see the module docstring).

    Returns
    -------
    numpy.ndarray
        float32, shape (n, d).
    """
    base, spec_params = parse_toy_spec(name.removeprefix("toy:"))
    dist = _get(base)
    p = _resolve(dist, {**spec_params, **params})
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ConfigError(f"number of toy samples must be an integer >= 0, got {n!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    with np.errstate(over="ignore", invalid="ignore"):  # reported below as one clear error
        x = np.ascontiguousarray(dist.sampler(rng, int(n), p), dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise ConfigError(
            f"toy:{dist.name} with parameters {p} gives values beyond float32; "
            "use smaller parameters"
        )
    return x


def modes(name: str, **params: Any) -> tuple[np.ndarray, float]:
    """Mode centers and common standard deviation of a Gaussian-mixture toy distribution.

    Parameters
    ----------
    name : str
        ``"8gaussians"`` or ``"25gaussians"`` (a ``toy:`` prefix and ``?key=value``
        parameters are accepted).
    **params
        The same parameters as :func:`sample_toy` (e.g. ``std``, ``radius``).

    Returns
    -------
    centers : numpy.ndarray
        float64, shape (k, 2).
    std : float
        Standard deviation of every component (isotropic). A sample is
        "high quality" when it lies within ``3 * std`` of a center.
    """
    base, spec_params = parse_toy_spec(name.removeprefix("toy:"))
    dist = _get(base)
    if dist.centers is None:
        mixtures = [t.name for t in TOY_DISTRIBUTIONS.values() if t.centers is not None]
        raise ConfigError(
            f"toy:{base} is not a mixture of Gaussians and has no modes; modes are defined for "
            f"{', '.join(mixtures)}"
        )
    p = _resolve(dist, {**spec_params, **params})
    return np.asarray(dist.centers(p), dtype=np.float64), float(p["std"])
