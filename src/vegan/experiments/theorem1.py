r"""Theorem 1, eq. (9)-(11): the primal (auto-encoder) form of W_c.

For a deterministic generator Y = G(Z), Z ~ P_Z,

.. math::
    W_c(P_X, P_G) = \inf_{Q(Z|X):\ Q_Z = P_Z}
        \mathbb{E}_{X \sim P_X} \mathbb{E}_{Z \sim Q(Z|X)}\, c(X, G(Z)),   \qquad (10)-(11)

whatever G (monotone or not, injective or not). For a random decoder
P_G(Y|Z) the right side, W_c^\dagger, is only an upper bound, eq. (9). Three
checks, with a continuous P_Z:

1. **One dimension.** P_Z = N(0, 1), P_X a two-component Gaussian mixture,
   c(x, y) = (x - y)^2, and G monotone, non-monotone, or |z|. The left side
   is exact by the quantile formula (:mod:`vegan.experiments.laws1d`). The
   right side is estimated by training an encoder on the relaxed objective
   (12), E c(X, G(Z)) + lambda * W_2^2(Q_Z, P_Z), with lambda growing in
   stages. The encoder is random with enough capacity for the optimal
   couplings, which split the mass of x between several preimages of G: a
   mixture of K Gaussian branches, Q(Z|X=x) = sum_k pi_k(x) N(mu_k(x),
   s_k(x)^2). The fit term is averaged exactly over the branches; the penalty
   is the exact W_2^2 between the batch's weighted codes and N(0, 1)
   (:func:`~vegan.experiments.laws1d.w2sq_to_normal`, the 1-D sliced penalty
   of SWAE with the prior's quantile function in closed form).
2. **Toy data.** ``wae-mmd`` and ``wae-gan`` trained on ``toy:moons``
   for several lambda: the trained primal objective E c(X, G(E(X))) against
   the exact W_2^2 between data and generated samples (network simplex),
   and how far the relaxation lets Q_Z drift from P_Z.
3. **Random decoder.** P_G^sigma = law of G(Z) + sigma * eps: the strict gap
   W_c(P_X, P_G^sigma) < W_c^dagger(P_X, P_G^sigma) = W_c(P_X, G#P_Z) + sigma^2
   (squared cost, Remark 1), in 1-D (quantile formula) and for Gaussians.

The discrete form of the theorem (finitely many codes, both sides linear
programs) is :func:`discrete_identity`, a unit test of the machinery.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vegan.experiments._common import (
    Context,
    Outcome,
    exact_transport,
    mean_ci,
    seeded,
)
from vegan.experiments.laws1d import (
    Mixture1D,
    levels,
    normal_quantiles,
    pushforward_quantiles,
    w2sq_quantiles,
    w2sq_to_normal,
    w2sq_weighted,
)

NAME = "theorem1"
TITLE = "Theorem 1: W_c as an auto-encoder problem with a constrained encoder"
PAPER = (
    "Theorem 1 and eq. (9)-(11) of Bousquet et al. (2017): W_c(P_X, P_G) = inf over "
    "Q(Z|X) with Q_Z = P_Z of E c(X, G(Z)) for deterministic G; only an upper bound "
    "W_c^dagger for random decoders; the relaxation (12)"
)

#: P_X of the one-dimensional checks: a two-component Gaussian mixture.
LAW_X = Mixture1D(weights=(0.35, 0.65), means=(-2.0, 1.5), stds=(0.5, 0.8))


def _g_monotone(z):
    return 1.5 * z + (torch.sin(z) if isinstance(z, torch.Tensor) else np.sin(z))


def _g_wiggle(z):
    return 0.5 * z + 2.0 * (torch.sin(1.5 * z) if isinstance(z, torch.Tensor) else np.sin(1.5 * z))


def _g_abs(z):
    return z.abs() if isinstance(z, torch.Tensor) else np.abs(z)


#: The generators G of the 1-D check: (key, formula, kind, function).
GENERATORS: list[tuple[str, str, str, Callable]] = [
    ("monotone", "1.5 z + sin z", "monotone", _g_monotone),
    ("non-monotone", "0.5 z + 2 sin(1.5 z)", "non-monotone, up to 3 preimages", _g_wiggle),
    ("abs", "|z|", "non-injective, 2 preimages everywhere", _g_abs),
]


def settings(quick: bool) -> dict[str, Any]:
    """The parameters of the full setting, or of the quick one (under a minute)."""
    if quick:
        return {
            "onedim": {
                "law_x": LAW_X.describe(),
                "lams": [1.0, 10.0, 100.0],
                "steps_per_lam": 60,
                "batch": 512,
                "branches": 4,
                "hidden": 32,
                "lr": 1e-3,
                "n_eval": 20_000,
                "quantile_nodes": 200_000,
            },
            "toy": {
                "data": "toy:moons",
                "recipes": ["wae-mmd", "wae-gan"],
                "lams": {"wae-mmd": [1.0, 100.0], "wae-gan": [1.0]},
                "steps": 60,
                "hidden": 64,
                "depth": 2,
                "n_eval": 300,
                "repeats": 2,
            },
            "random_decoder": {"sigmas": [0.0, 0.5, 1.0], "quantile_nodes": 100_000},
        }
    return {
        "onedim": {
            "law_x": LAW_X.describe(),
            "lams": [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0],
            "steps_per_lam": 500,
            "batch": 2048,
            "branches": 6,
            "hidden": 64,
            "lr": 1e-3,
            "n_eval": 100_000,
            "quantile_nodes": 2_000_000,
        },
        "toy": {
            "data": "toy:moons",
            "recipes": ["wae-mmd", "wae-gan"],
            "lams": {
                "wae-mmd": [1.0, 10.0, 100.0, 1000.0, 10000.0],
                "wae-gan": [0.1, 1.0, 10.0, 100.0],
            },
            "steps": 2000,
            "hidden": 128,
            "depth": 3,
            "n_eval": 2000,
            "repeats": 3,
        },
        "random_decoder": {
            "sigmas": [0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5],
            "quantile_nodes": 1_000_000,
        },
    }


# --------------------------------------------------------------------------- discrete form


def discrete_identity(
    x: np.ndarray,
    codes: np.ndarray,
    code_weights: np.ndarray,
    G: Callable[[np.ndarray], np.ndarray],
    cost: str = "l2sq",
    data_weights: np.ndarray | None = None,
    decimals: int = 12,
) -> dict[str, Any]:
    """Both sides of Theorem 1 for empirical P_X and a P_Z with finitely many codes.

    P_X = sum_i a_i delta_{x_i}, P_Z = sum_k w_k delta_{z_k} and a deterministic G.
    Then P_G = sum_k w_k delta_{G(z_k)}, where codes with the same image
    merge into one atom (G need not be injective).

    * Left side: W_c(P_X, P_G), the transport LP between the x_i and the
      distinct atoms of P_G.
    * Right side: inf over couplings pi of (X, Z) with marginals a and w of
      sum_ik pi_ik c(x_i, G(z_k)) - Q(Z|X=x_i) = pi_i. / a_i has Q_Z = P_Z -
      another LP, over the codes.

    The proof's coupling is also built: with Gamma an optimal plan of the left
    side, pi_ik = Gamma_{i, j(k)} w_k / b_{j(k)} (j(k) the atom of G(z_k), b_j
    its mass) has marginals (a, w) and cost equal to the left side.

    Parameters
    ----------
    x : array (n, d)
        Data points.
    codes : array (m, d_z)
        Codes z_k.
    code_weights : array (m,)
        w_k > 0, summing to 1.
    G : callable
        Maps an (m, d_z) array of codes to an (m, d) array of points.
    cost : str
        Ground cost name (:func:`vegan.ot.get_cost`).
    data_weights : array (n,), optional
        a_i (default uniform).
    decimals : int
        Images equal after rounding to this many decimals are one atom.

    Returns
    -------
    dict
        ``lhs``, ``rhs`` (the two LP values), ``coupling`` (the proof's
        pi, (n, m)), ``coupling_value`` and ``atoms`` (number of distinct images).
    """
    from vegan.ot import get_cost
    from vegan.ot.exact import exact_ot_from_cost

    x = np.asarray(x, np.float64).reshape(len(x), -1)
    w = np.asarray(code_weights, np.float64).reshape(-1)
    a = (
        np.full(len(x), 1.0 / len(x))
        if data_weights is None
        else np.asarray(data_weights, np.float64).reshape(-1)
    )
    y = np.asarray(G(np.asarray(codes, np.float64)), np.float64).reshape(len(w), -1)
    atoms, j_of_k = np.unique(np.round(y, decimals), axis=0, return_inverse=True)
    j_of_k = j_of_k.reshape(-1)
    b = np.bincount(j_of_k, weights=w, minlength=len(atoms))
    # Atom positions: the first image of each group (not the rounded value).
    first = np.full(len(atoms), -1)
    for k, j in enumerate(j_of_k):
        if first[j] < 0:
            first[j] = k
    atoms = y[first]
    c = get_cost(cost)
    xt = torch.from_numpy(x)
    C_atoms = c.pairwise(xt, torch.from_numpy(atoms)).numpy()
    C_codes = c.pairwise(xt, torch.from_numpy(y)).numpy()
    left = exact_ot_from_cost(C_atoms, a, b, return_plan=True)
    right = exact_ot_from_cost(C_codes, a, w, return_result=True)
    coupling = left.plan[:, j_of_k] * (w / b[j_of_k])[None, :]
    return {
        "lhs": left.value,
        "rhs": right.value,
        "coupling": coupling,
        "coupling_value": float((coupling * C_codes).sum()),
        "atoms": len(atoms),
    }


def _discrete_checks(seed: int, count: int) -> dict[str, Any]:
    """|lhs - rhs| over random instances with a many-to-one G (reported as a sanity check)."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(count):
        n, m = int(rng.integers(3, 12)), int(rng.integers(3, 15))
        x = rng.normal(size=(n, 2))
        codes = rng.integers(-2, 3, size=(m, 1)).astype(np.float64)
        w = rng.random(m) + 0.1
        w /= w.sum()

        def G(z):
            return np.concatenate([np.abs(z), np.cos(z)], axis=1)

        r = discrete_identity(x, codes, w, G)
        worst = max(worst, abs(r["lhs"] - r["rhs"]), abs(r["coupling_value"] - r["lhs"]))
    return {"instances": count, "max_abs_difference": worst}


# --------------------------------------------------------------------------- 1-D


class MixtureEncoder(nn.Module):
    """Q(Z|X=x) = sum_k pi_k(x) N(mu_k(x), s_k(x)^2): a random encoder with K branches.

    One MLP outputs the K logits, means and log-standard-deviations. The
    branch means start spread over the quantiles of N(0, 1), so every branch
    covers a different part of the latent line at initialization.
    """

    def __init__(self, branches: int, hidden: int) -> None:
        super().__init__()
        from vegan.nets import MLP

        self.k = branches
        self.net = MLP(1, 3 * branches, hidden=hidden, depth=2)
        last = [m for m in self.net.modules() if isinstance(m, nn.Linear)][-1]
        with torch.no_grad():
            last.bias[branches : 2 * branches] = torch.as_tensor(
                normal_quantiles(branches), dtype=last.bias.dtype
            )
            last.bias[2 * branches :] = -2.0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(codes (n, K), one reparametrized draw per branch; weights pi (n, K))."""
        h = self.net(x.reshape(-1, 1))
        k = self.k
        logits, mu, log_s = h[:, :k], h[:, k : 2 * k], h[:, 2 * k :].clamp(-8.0, 2.0)
        z = mu + log_s.exp() * torch.randn_like(mu)
        return z, torch.softmax(logits, dim=1)


def _evaluate_1d(enc, G, law, n, gen, w_exact) -> dict[str, float]:
    with torch.no_grad():
        x = law.sample(n, gen)
        z, pi = enc(x)
        per_x = (pi * (x[:, None] - G(z)) ** 2).sum(1).double().numpy()
        primal, se, half = mean_ci(per_x)
        weights = (pi / n).reshape(-1)
        drift = float(w2sq_to_normal(z, weights))
        xs = x[:, None].expand_as(z).reshape(-1).numpy()
        w_model = w2sq_weighted(xs, weights.numpy(), G(z).reshape(-1).numpy(), weights.numpy())
    return {
        "primal": primal,
        "primal_se": se,
        "primal_ci95": half,
        "gap": primal - w_exact,
        "w_px_gqz": w_model,
        "encoder_excess": primal - w_model,
        "drift_w2sq": drift,
    }


def _train_1d(ctx: Context, key: str, G, w_exact: float, seed: int) -> dict[str, Any]:
    s = ctx.settings["onedim"]
    torch.manual_seed(seed)
    gen = seeded(seed + 1)
    enc = MixtureEncoder(s["branches"], s["hidden"])
    opt = torch.optim.Adam(enc.parameters(), lr=s["lr"], betas=(0.5, 0.999))
    steps, batch = s["steps_per_lam"], s["batch"]
    stages = []
    for lam in s["lams"]:
        # Larger lambda, smaller steps: the penalty's gradient grows with lambda.
        peak = s["lr"] * min(1.0, math.sqrt(10.0 / lam))
        for it in range(steps):
            lr = 1e-5 + peak * 0.5 * (1.0 + math.cos(math.pi * it / steps))
            for group in opt.param_groups:
                group["lr"] = lr
            x = LAW_X.sample(batch, gen)
            z, pi = enc(x)
            fit = (pi * (x[:, None] - G(z)) ** 2).sum(1).mean()
            penalty = w2sq_to_normal(z, pi / batch).float()
            loss = fit + lam * penalty
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        rec = {"lam": lam, **_evaluate_1d(enc, G, LAW_X, s["n_eval"], gen, w_exact)}
        stages.append(rec)
        ctx.say(
            f"1-D {key}: lambda={lam:g} primal={rec['primal']:.4f} "
            f"(W={w_exact:.4f}) drift={rec['drift_w2sq']:.2e}"
        )
    with torch.no_grad():
        x = LAW_X.sample(3000, gen)
        z, pi = enc(x)
        picture = {"x": x.numpy(), "gz": G(z).numpy(), "z": z.numpy(), "pi": pi.numpy()}
    return {"stages": stages, "picture": picture}


def _onedim(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]]:
    s = ctx.settings["onedim"]
    n = s["quantile_nodes"]
    qx = LAW_X.quantile(levels(n))
    qx_half = LAW_X.quantile(levels(n // 2))
    out, pictures = {}, {}
    for i, (key, formula, kind, G) in enumerate(GENERATORS):
        w = w2sq_quantiles(qx, pushforward_quantiles(G, n))
        w_half = w2sq_quantiles(qx_half, pushforward_quantiles(G, n // 2))
        ctx.say(f"1-D {key}: exact W_2^2(P_X, G#P_Z) = {w:.5f}")
        trained = _train_1d(ctx, key, G, w, ctx.seed * 1000 + 10 * i)
        out[key] = {
            "G": formula,
            "kind": kind,
            "exact": w,
            "quadrature_error": abs(w - w_half),
            "stages": trained["stages"],
        }
        pictures[key] = trained["picture"]
    return out, pictures


# --------------------------------------------------------------------------- toy data


def _toy(ctx: Context) -> dict[str, Any]:
    import vegan
    from vegan.data import sample_toy

    s = ctx.settings["toy"]
    name = s["data"].removeprefix("toy:")
    n, reps = s["n_eval"], s["repeats"]
    base = ctx.seed * 1000 + 500
    # Sampling floors: exact W_2^2 between two independent samples of the same law.
    data_floor = [
        exact_transport(sample_toy(name, n, base + 2 * r), sample_toy(name, n, base + 2 * r + 1))[0]
        for r in range(reps)
    ]
    prior_floor = []
    for r in range(reps):
        g = seeded(base + 100 + r)
        prior_floor.append(
            exact_transport(torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g))[0]
        )
    runs = []
    with tempfile.TemporaryDirectory(prefix="vegan-theorem1-") as tmp:
        for recipe in s["recipes"]:
            for lam in s["lams"][recipe]:
                opts = {
                    "lam": lam,
                    "cost_scale": 1.0,
                    "latent_dim": 2,
                    "hidden": s["hidden"],
                    "depth": s["depth"],
                    "samples_every": 0,
                    "checkpoint_every": s["steps"],
                    "keep_checkpoints": 1,
                    "log_every": max(1, s["steps"]),
                }
                if recipe == "wae-gan":
                    opts.update({"adv_hidden": s["hidden"], "adv_depth": s["depth"]})
                run_dir = Path(tmp) / f"{recipe}-{lam:g}"
                model, _ = vegan.fit(
                    recipe,
                    s["data"],
                    run_dir,
                    steps=s["steps"],
                    seed=ctx.seed,
                    sets=opts,
                    progress=False,
                    device="cpu",
                )
                runs.append(_evaluate_toy(model, recipe, lam, name, n, reps, base))
                r = runs[-1]
                ctx.say(
                    f"toy {recipe} lambda={lam:g}: primal={r['primal']:.4f} "
                    f"W2^2(data, samples)={r['w_data_samples']:.4f} drift={r['drift_w2sq']:.4f}"
                )
    return {
        "data": s["data"],
        "cost": "l2sq (|x - y|^2, cost_scale 1)",
        "n_eval": n,
        "repeats": reps,
        "data_floor": float(np.mean(data_floor)),
        "prior_floor": float(np.mean(prior_floor)),
        "runs": runs,
    }


def _evaluate_toy(model, recipe, lam, name, n, reps, base) -> dict[str, Any]:
    from vegan.data import sample_toy

    primal, w_ds, w_model, drift = [], [], [], []
    codes_keep = None
    for r in range(reps):
        x = torch.from_numpy(sample_toy(name, n, base + 2 * r))
        x2 = torch.from_numpy(sample_toy(name, n, base + 2 * r + 1))
        g = seeded(base + 200 + r)
        rec = model.reconstruct(x)
        primal.append(((x - rec) ** 2).sum(1).mean().item())
        samples = model.sample(n, generator=g, noise=False)
        w_ds.append(exact_transport(x2, samples)[0])
        w_model.append(exact_transport(x2, model.reconstruct(x))[0])
        codes = model.encode(x)
        drift.append(exact_transport(codes, torch.randn(n, 2, generator=g))[0])
        codes_keep = codes.numpy() if codes_keep is None else codes_keep
    per_point = ((x - rec) ** 2).sum(1).double().numpy()

    def ms(v):
        v = np.asarray(v)
        return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan")

    out = {"recipe": recipe, "lam": lam}
    for key, vals in (
        ("primal", primal),
        ("w_data_samples", w_ds),
        ("w_data_reconstructions", w_model),
        ("drift_w2sq", drift),
    ):
        out[key], out[key + "_sd"] = ms(vals)
    out["primal_se"] = mean_ci(per_point)[1]
    out["gap"] = out["primal"] - out["w_data_samples"]
    out["codes"] = codes_keep[:400]
    return out


# --------------------------------------------------------------------------- random decoder


def _noisy_quantiles(G, sigma: float, n: int, nz: int = 2000, grid: int = 20_001) -> np.ndarray:
    """Quantiles of G(Z) + sigma * eps at the midpoint levels.

    The distribution function F(y) = E_Z Phi((y - G(Z)) / sigma) is computed on
    a grid of y (Z on ``nz`` quantile nodes) and inverted by interpolation.
    """
    if sigma == 0:
        return pushforward_quantiles(G, n)
    gz = torch.as_tensor(G(normal_quantiles(nz)))
    lo, hi = float(gz.min()) - 9 * sigma, float(gz.max()) + 9 * sigma
    ys = torch.linspace(lo, hi, grid, dtype=torch.float64)
    cdf = torch.zeros_like(ys)
    for chunk in gz.split(250):
        cdf += torch.special.ndtr((ys[:, None] - chunk[None, :]) / sigma).sum(1)
    cdf /= len(gz)
    return np.interp(levels(n), cdf.numpy(), ys.numpy())


def _random_decoder(ctx: Context) -> dict[str, Any]:
    s = ctx.settings["random_decoder"]
    n = s["quantile_nodes"]
    key, formula, _kind, G = GENERATORS[0]
    qx = LAW_X.quantile(levels(n))
    w_det = w2sq_quantiles(qx, pushforward_quantiles(G, n))
    # The primal value of the optimal deterministic coupling with the noise added,
    # by Monte Carlo: z = Phi^{-1}(F_X(x)) (G is increasing), y = G(z) + sigma eps.
    gen = seeded(ctx.seed * 1000 + 900)
    mc_n = 200_000 if ctx.quick else 2_000_000
    x = LAW_X.sample(mc_n, gen).double().numpy()
    z = torch.special.ndtri(torch.as_tensor(LAW_X.cdf(x)).clamp(1e-15, 1 - 1e-15)).numpy()
    eps = torch.randn(mc_n, generator=gen, dtype=torch.float64).numpy()
    rows = []
    for sigma in s["sigmas"]:
        w_noisy = w2sq_quantiles(qx, _noisy_quantiles(G, sigma, n))
        dagger = w_det + sigma**2
        mc, _, half = mean_ci((x - G(z) - sigma * eps) ** 2)
        gauss_w = 1.0 * (math.sqrt(1.0 + sigma**2) - 1.0) ** 2
        rows.append(
            {
                "sigma": sigma,
                "w_noisy": w_noisy,
                "w_dagger": dagger,
                "gap": dagger - w_noisy,
                "primal_mc": mc,
                "primal_mc_ci95": half,
                "gaussian_w_per_dim": gauss_w,
                "gaussian_w_dagger_per_dim": sigma**2,
            }
        )
    ctx.say(f"random decoder: {len(rows)} values of sigma")
    return {"G": formula, "generator": key, "w_deterministic": w_det, "rows": rows}


# --------------------------------------------------------------------------- run


def run(ctx: Context) -> Outcome:
    """Run the experiment; figures are saved through ``ctx``, numbers returned."""
    discrete = _discrete_checks(ctx.seed, 20 if ctx.quick else 200)
    ctx.say(f"discrete identity: max |lhs - rhs| = {discrete['max_abs_difference']:.2e}")
    onedim, pictures = _onedim(ctx)
    from vegan.experiments import theorem1_report as report  # presentation

    report.figure_1d(ctx, onedim, pictures)
    toy = _toy(ctx)
    report.figure_toy(ctx, toy)
    rd = _random_decoder(ctx)
    report.figure_random(ctx, rd)
    toy_json = {**toy, "runs": [{k: v for k, v in r.items() if k != "codes"} for r in toy["runs"]]}
    results = {"discrete": discrete, "onedim": onedim, "toy": toy_json, "random_decoder": rd}
    return Outcome(
        results, report.conclusions(onedim, toy, rd), report.summary(ctx, discrete, onedim, toy, rd)
    )
