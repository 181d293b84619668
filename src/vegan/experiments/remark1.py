r"""Remark 1: a Gaussian decoder adds exactly d sigma^2 to the primal value.

With a Gaussian decoder P_G(Y|Z) = N(G(Z), sigma^2 I_d) and the squared
cost c(x, y) = |x - y|^2, for every coupling of (X, Z),

.. math::
    \mathbb{E}\, |X - Y|^2 = \mathbb{E}\, |X - G(Z)|^2 + d \sigma^2,
    \qquad Y = G(Z) + \sigma \varepsilon,\ \varepsilon \sim N(0, I_d),

because the noise is independent of (X, Z) with mean 0 and E|eps|^2 = d. So
the primal objective W_c^dagger of a Gaussian decoder is the deterministic
one plus d sigma^2, whatever the encoder: minimizing it pushes sigma to 0.

Two checks:

1. **Monte Carlo.** For several d and sigma, the paired difference
   |x - g - sigma eps|^2 - |x - g|^2 over n draws of a fixed coupling
   (X a Gaussian mixture in R^d, Z = E(X) through a fixed random encoder,
   g = G(Z) through a fixed random decoder): the estimate, its 95% confidence
   interval, and the exact d sigma^2.
2. **What it means for the exact W_2 to the data.** A perfect generator
   (G#P_Z = P_X) with Gaussian noise: the exact W_2^2 between data and noisy
   samples (network simplex) against d sigma^2. In population it depends on
   where the data live: for N(0, I_d) it is d (sqrt(1 + sigma^2) - 1)^2, far
   below d sigma^2; for data on a 2-D set embedded in R^d it is
   W_2^2 in the plane + (d - 2) sigma^2, close to d sigma^2. MNIST (d = 784)
   with real images as the "generator" shows the pixel-space case.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from vegan.experiments._common import (
    Context,
    Outcome,
    exact_transport,
    md_table,
    pyplot,
    seeded,
)

NAME = "remark1"
TITLE = "Remark 1: the d sigma^2 term of a Gaussian decoder"
PAPER = (
    "Remark 1 of Bousquet et al. (2017): with P_G(Y|Z) = N(G(Z), sigma^2 I_d) and "
    "c = |x - y|^2, the primal value is the deterministic one plus d sigma^2"
)


def settings(quick: bool) -> dict[str, Any]:
    """The parameters of the full setting, or of the quick one (under a minute)."""
    if quick:
        return {
            "mc": {"dims": [1, 8, 128], "sigmas": [0.5, 1.0], "n": 20_000, "latent_dim": 4},
            "w2": {
                "dims": [2, 32],
                "sigmas": [0.25, 1.0],
                "n": 300,
                "repeats": 1,
                "mnist_n": 200,
                "mnist_sigmas": [0.1],
            },
        }
    return {
        "mc": {
            "dims": [1, 2, 8, 32, 128, 784],
            "sigmas": [0.1, 0.5, 1.0],
            "n": 200_000,
            "latent_dim": 8,
        },
        "w2": {
            "dims": [2, 8, 32, 128],
            "sigmas": [0.1, 0.25, 0.5, 1.0],
            "n": 1000,
            "repeats": 2,
            "mnist_n": 1000,
            "mnist_sigmas": [0.05, 0.1, 0.2, 0.3],
        },
    }


# --------------------------------------------------------------------------- Monte Carlo


def _random_net(d_in: int, d_out: int, gen: torch.Generator) -> torch.nn.Module:
    net = torch.nn.Sequential(
        torch.nn.Linear(d_in, 64), torch.nn.Tanh(), torch.nn.Linear(64, d_out)
    ).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(
                torch.randn(p.shape, generator=gen, dtype=torch.float64) / math.sqrt(p.shape[-1])
            )
    return net


def mc_increment(
    d: int, sigma: float, n: int, seed: int = 0, latent_dim: int = 8, chunk: int = 20_000
) -> dict[str, float]:
    """Monte Carlo estimate of E|X - Y|^2 - E|X - G(Z)|^2 for Y = G(Z) + sigma eps.

    The coupling: X a mixture of 4 Gaussians in R^d, Z = E(X) for a fixed
    random tanh encoder R^d -> R^k, G a fixed random tanh decoder R^k -> R^d
    (k = min(d, latent_dim)). The estimate is the mean of the paired
    differences D_i = |x_i - g_i - sigma eps_i|^2 - |x_i - g_i|^2, with a 95%
    normal confidence interval; the exact value is d sigma^2.

    Returns
    -------
    dict
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``exact``, ``z`` (standard
        errors between estimate and exact), ``covered`` (exact inside the CI),
        ``primal_deterministic`` and ``primal_gaussian`` (the two objectives).
    """
    gen = seeded(seed)
    k = min(d, latent_dim)
    encoder, decoder = _random_net(d, k, gen), _random_net(k, d, gen)
    centers = 2.0 * torch.randn(4, d, generator=gen, dtype=torch.float64)
    s1 = s2 = det_sum = 0.0
    with torch.no_grad():
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            comp = torch.randint(4, (m,), generator=gen)
            x = centers[comp] + torch.randn(m, d, generator=gen, dtype=torch.float64)
            g = decoder(encoder(x))
            eps = torch.randn(m, d, generator=gen, dtype=torch.float64)
            r = x - g
            diff = (r - sigma * eps).pow(2).sum(1) - r.pow(2).sum(1)
            s1 += float(diff.sum())
            s2 += float(diff.pow(2).sum())
            det_sum += float(r.pow(2).sum())
    mean = s1 / n
    var = max(s2 / n - mean * mean, 0.0) * n / (n - 1)
    se = math.sqrt(var / n)
    exact = d * sigma**2
    return {
        "d": d,
        "sigma": sigma,
        "n": n,
        "estimate": mean,
        "se": se,
        "ci_low": mean - 1.96 * se,
        "ci_high": mean + 1.96 * se,
        "exact": exact,
        "z": (mean - exact) / se if se > 0 else 0.0,
        "covered": bool(mean - 1.96 * se <= exact <= mean + 1.96 * se),
        "primal_deterministic": det_sum / n,
        "primal_gaussian": det_sum / n + mean,
    }


# --------------------------------------------------------------------------- exact W2


def _embedded_toy(n: int, d: int, seed: int, basis: np.ndarray) -> np.ndarray:
    from vegan.data import sample_toy

    return sample_toy("8gaussians", n, seed).astype(np.float64) @ basis.T


def _planar_w2_increase(sigma: float, n: int, seed: int) -> float:
    """Exact W_2^2 in the plane between 8gaussians and 8gaussians + N(0, sigma^2 I_2) (LP, n)."""
    from vegan.data import sample_toy

    rng = np.random.default_rng(seed)
    a = sample_toy("8gaussians", n, seed)
    b = sample_toy("8gaussians", n, seed + 1) + sigma * rng.standard_normal((n, 2))
    c = sample_toy("8gaussians", n, seed + 2)
    return exact_transport(a, b)[0] - exact_transport(a, c)[0]


def _w2_rows(ctx: Context) -> list[dict[str, Any]]:
    s = ctx.settings["w2"]
    n, reps = s["n"], s["repeats"]
    rows = []
    for d in s["dims"]:
        rng = np.random.default_rng(ctx.seed * 1000 + d)
        basis = np.linalg.qr(rng.standard_normal((d, d)))[0][:, :2] if d > 2 else np.eye(2)
        for kind in ("gaussian", "embedded 8gaussians"):
            for sigma in s["sigmas"]:
                floor, noisy = [], []
                for r in range(reps):
                    seed = ctx.seed * 1000 + 37 * r + d
                    g = np.random.default_rng(seed)
                    if kind == "gaussian":
                        data = g.standard_normal((n, d))
                        gen = g.standard_normal((n, d))
                    else:
                        data = _embedded_toy(n, d, seed, basis)
                        gen = _embedded_toy(n, d, seed + 1, basis)
                    noise = sigma * g.standard_normal((n, d))
                    floor.append(exact_transport(data, gen)[0])
                    noisy.append(exact_transport(data, gen + noise)[0])
                if kind == "gaussian":
                    population = d * (math.sqrt(1.0 + sigma**2) - 1.0) ** 2
                    pop_note = "d (sqrt(1 + sigma^2) - 1)^2"
                else:
                    planar = max(_planar_w2_increase(sigma, 2000 if not ctx.quick else 300, 7), 0)
                    population = planar + (d - 2) * sigma**2
                    pop_note = "plane part (LP, n = 2000) + (d - 2) sigma^2"
                rows.append(
                    {
                        "data": kind,
                        "d": d,
                        "sigma": sigma,
                        "d_sigma2": d * sigma**2,
                        "population_increase": population,
                        "population_formula": pop_note,
                        "lp_clean": float(np.mean(floor)),
                        "lp_noisy": float(np.mean(noisy)),
                        "lp_increase": float(np.mean(noisy) - np.mean(floor)),
                        "n": n,
                        "repeats": reps,
                    }
                )
        ctx.say(f"exact W2 with noise: d = {d} done")
    return rows


def _mnist_rows(ctx: Context) -> list[dict[str, Any]]:
    from vegan.data import load_dataset

    s = ctx.settings["w2"]
    n = s["mnist_n"]
    held = load_dataset("mnist", "heldout").x[:n].reshape(n, -1).double()
    train = load_dataset("mnist", "train").x[:n].reshape(n, -1).double()
    floor = exact_transport(held, train)[0]
    gen = seeded(ctx.seed * 1000 + 784)
    rows = []
    for sigma in s["mnist_sigmas"]:
        noisy = train + sigma * torch.randn(train.shape, generator=gen, dtype=torch.float64)
        w = exact_transport(held, noisy)[0]
        rows.append(
            {
                "data": "mnist (pixels in [0, 1])",
                "d": 784,
                "sigma": sigma,
                "d_sigma2": 784 * sigma**2,
                "population_increase": None,
                "population_formula": "unknown",
                "lp_clean": floor,
                "lp_noisy": w,
                "lp_increase": w - floor,
                "n": n,
                "repeats": 1,
            }
        )
    ctx.say("exact W2 with noise: MNIST done")
    return rows


# --------------------------------------------------------------------------- figures


def _figure_mc(ctx: Context, mc: list[dict[str, Any]]) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    sigmas = sorted({r["sigma"] for r in mc})
    for i, sigma in enumerate(sigmas):
        rs = [r for r in mc if r["sigma"] == sigma]
        dims = np.array([r["d"] for r in rs], dtype=float) * (1.0 + 0.06 * (i - 1))
        ratio = [r["estimate"] / r["exact"] for r in rs]
        err = [1.96 * r["se"] / r["exact"] for r in rs]
        ax.errorbar(dims, ratio, yerr=err, fmt="o", capsize=3, label=f"sigma = {sigma:g}")
    ax.axhline(1.0, color="k", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("dimension d")
    ax.set_ylabel("MC estimate / (d sigma^2), 95% CI")
    ax.set_title(
        "Remark 1: primal(Gaussian decoder) - primal(deterministic) = d sigma^2", fontsize=10
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.figure("remark1_mc.png", fig)


def _figure_w2(ctx: Context, rows: list[dict[str, Any]]) -> None:
    plt = pyplot()
    kinds = ["gaussian", "embedded 8gaussians"]
    dims = sorted({r["d"] for r in rows if r["data"] in kinds})
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for ax, kind in zip(axes[:2], kinds, strict=True):
        for d in dims:
            rs = [r for r in rows if r["data"] == kind and r["d"] == d]
            sig = [r["sigma"] for r in rs]
            (line,) = ax.plot(sig, [r["lp_increase"] / d for r in rs], "o-", label=f"d = {d}: LP")
            ax.plot(
                sig,
                [r["population_increase"] / d for r in rs],
                "s--",
                color=line.get_color(),
                ms=3,
                label=f"d = {d}: population",
            )
        sig_all = sorted({r["sigma"] for r in rows if r["data"] == kind})
        ax.plot(sig_all, [s**2 for s in sig_all], "k:", label="sigma^2 (primal)")
        ax.set_xlabel("sigma")
        ax.set_ylabel("increase of W_2^2 per dimension")
        ax.set_title(f"{kind}: W_2^2(data, G(Z) + noise) - W_2^2(data, G(Z))", fontsize=9)
        ax.legend(fontsize=6, ncol=2)
    ax = axes[2]
    mn = [r for r in rows if r["data"].startswith("mnist")]
    if mn:
        sig = [r["sigma"] for r in mn]
        ax.plot(sig, [r["lp_increase"] for r in mn], "o-", label=f"LP increase (n = {mn[0]['n']})")
        ax.plot(sig, [r["d_sigma2"] for r in mn], "k:", label="784 sigma^2 (primal)")
        ax.set_xlabel("sigma")
        ax.set_ylabel("increase of W_2^2")
        ax.set_title(f"MNIST pixels: real-vs-real W_2^2 = {mn[0]['lp_clean']:.1f}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    ctx.figure("remark1_w2.png", fig)


# --------------------------------------------------------------------------- run


def run(ctx: Context) -> Outcome:
    """Run the experiment; figures are saved through ``ctx``, numbers returned."""
    s = ctx.settings["mc"]
    mc = []
    for d in s["dims"]:
        for sigma in s["sigmas"]:
            mc.append(
                mc_increment(d, sigma, s["n"], seed=ctx.seed * 1000 + d, latent_dim=s["latent_dim"])
            )
        ctx.say(f"Monte Carlo: d = {d} done")
    _figure_mc(ctx, mc)
    rows = _w2_rows(ctx) + _mnist_rows(ctx)
    _figure_w2(ctx, rows)
    covered = sum(r["covered"] for r in mc)
    worst = max(abs(r["z"]) for r in mc)
    conclusions = [
        f"Monte Carlo: the exact d sigma^2 lies inside the 95% CI in {covered} of {len(mc)} "
        f"cases (largest |z| = {worst:.2f}); e.g. d = {mc[-1]['d']}, sigma = "
        f"{mc[-1]['sigma']:g}: estimate {mc[-1]['estimate']:.3f} in "
        f"[{mc[-1]['ci_low']:.3f}, {mc[-1]['ci_high']:.3f}], exact {mc[-1]['exact']:.3f}.",
    ]
    g_rows = [r for r in rows if r["data"] == "gaussian"]
    e_rows = [r for r in rows if r["data"] == "embedded 8gaussians"]
    if g_rows and e_rows:
        g, e = g_rows[-1], e_rows[-1]
        conclusions.append(
            f"Exact W_2^2 with a perfect G plus noise (d = {g['d']}, sigma = {g['sigma']:g}; "
            f"d sigma^2 = {g['d_sigma2']:.3g}): for N(0, I_d) data the population increase is "
            f"only {g['population_increase']:.3g}, but the LP on {g['n']} samples reports "
            f"{g['lp_increase']:.3g}; for data on a 2-D set the population increase is "
            f"{e['population_increase']:.3g} and the LP reports {e['lp_increase']:.3g}. Noise "
            "off the data's support costs its full sigma^2 per dimension."
        )
    mn = [r for r in rows if r["data"].startswith("mnist")]
    if mn:
        m = mn[-1]
        conclusions.append(
            f"MNIST pixels (n = {m['n']}): adding N(0, {m['sigma']:g}^2) noise to real images "
            f"raises their exact W_2^2 to held-out images from {m['lp_clean']:.2f} to "
            f"{m['lp_noisy']:.2f} (+{m['lp_increase']:.2f}; 784 sigma^2 = {m['d_sigma2']:.2f}): "
            "in pixel space a Gaussian decoder's samples are penalized by nearly d sigma^2, so "
            "images are shown as the decoder's mean G(z)."
        )
    summary = "\n".join(
        [
            "## Monte Carlo check of the d sigma^2 term",
            "",
            f"n = {s['n']:,} paired draws per cell (a fixed random encoder/decoder coupling); "
            "'estimate' is the mean of |x - g - sigma eps|^2 - |x - g|^2.",
            "",
            md_table(
                [
                    "d",
                    "sigma",
                    "primal (det.)",
                    "estimate",
                    "95% CI",
                    "exact d sigma^2",
                    "z",
                    "in CI",
                ],
                [
                    [
                        r["d"],
                        r["sigma"],
                        r["primal_deterministic"],
                        r["estimate"],
                        f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]",
                        r["exact"],
                        r["z"],
                        r["covered"],
                    ]
                    for r in mc
                ],
            ),
            "",
            "## Exact W_2^2 between data and noisy samples of a perfect generator",
            "",
            "'LP clean' is the exact W_2^2 between two independent samples of the data law "
            "(the sampling floor), 'LP noisy' the same with N(0, sigma^2 I_d) noise on the "
            "second; 'population' is the increase for the laws themselves.",
            "",
            md_table(
                [
                    "data",
                    "d",
                    "sigma",
                    "d sigma^2",
                    "population",
                    "LP clean",
                    "LP noisy",
                    "LP increase",
                ],
                [
                    [
                        r["data"],
                        r["d"],
                        r["sigma"],
                        r["d_sigma2"],
                        r["population_increase"],
                        r["lp_clean"],
                        r["lp_noisy"],
                        r["lp_increase"],
                    ]
                    for r in rows
                ],
            ),
        ]
    )
    return Outcome({"monte_carlo": mc, "exact_w2": rows}, conclusions, summary)
