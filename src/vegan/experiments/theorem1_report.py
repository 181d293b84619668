"""Theorem 1's presentation: its figures and its summary (the computation is in theorem1).

Split from :mod:`vegan.experiments.theorem1` so that the experiment's module
holds what is computed and this one how it is shown: three figures (the
one-dimensional couplings, the 2-D toy, the random decoder's gap) and the
Markdown of ``summary.md`` with its conclusions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from vegan.experiments._common import Context, md_table, pyplot, seeded
from vegan.experiments.laws1d import levels, pushforward_quantiles
from vegan.experiments.theorem1 import GENERATORS, LAW_X


def figure_1d(ctx: Context, res: dict[str, Any], pictures: dict[str, Any]) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(2, len(GENERATORS), figsize=(4.2 * len(GENERATORS), 7.6))
    n = 20_000
    u = levels(n)
    for col, (key, formula, _kind, G) in enumerate(GENERATORS):
        r = res[key]
        lams = [st["lam"] for st in r["stages"]]
        ax = axes[0, col]
        ax.axhline(r["exact"], color="k", lw=1.2, label="W_2^2(P_X, P_G) exact")
        ax.errorbar(
            lams,
            [st["primal"] for st in r["stages"]],
            yerr=[st["primal_ci95"] for st in r["stages"]],
            marker="o",
            ms=4,
            color="#1f77b4",
            label="primal E c(X, G(Z)), trained Q",
        )
        ax.plot(
            lams,
            [st["w_px_gqz"] for st in r["stages"]],
            "s--",
            ms=3,
            color="#ff7f0e",
            label="W_2^2(P_X, G#Q_Z)",
        )
        ax.set_xscale("log")
        ax.set_xlabel("lambda (grown in stages)")
        ax.set_title(f"G(z) = {formula}", fontsize=10)
        ax2 = ax.twinx()
        ax2.plot(lams, [st["drift_w2sq"] for st in r["stages"]], ":", color="#2ca02c")
        ax2.set_yscale("log")
        ax2.set_ylabel("W_2^2(Q_Z, P_Z) (dotted)", color="#2ca02c", fontsize=8)
        ax2.tick_params(axis="y", labelsize=7, colors="#2ca02c")
        if col == 0:
            ax.legend(fontsize=7, loc="lower right")
        ax = axes[1, col]
        p = pictures[key]
        xs = np.repeat(p["x"][:, None], p["gz"].shape[1], axis=1).reshape(-1)
        ax.scatter(xs, p["gz"].reshape(-1), s=12 * p["pi"].reshape(-1), alpha=0.35, lw=0)
        # The optimal (monotone) coupling of X and Y = G(Z): y = F_Y^{-1}(F_X(x)).
        xx = np.linspace(np.min(p["x"]), np.max(p["x"]), 400)
        qy = pushforward_quantiles(G, n)
        ax.plot(xx, np.interp(LAW_X.cdf(xx), u, qy), "r", lw=1.2, label="optimal coupling")
        ax.set_xlabel("x")
        ax.set_ylabel("G(z), z ~ Q(Z|X=x)")
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(
        "Theorem 1 in 1-D: trained constrained encoders reach the exact W_2^2 "
        f"(P_X = {LAW_X.describe()}, P_Z = N(0, 1))",
        fontsize=10,
    )
    fig.tight_layout()
    ctx.figure("theorem1_1d.png", fig)


def figure_toy(ctx: Context, toy: dict[str, Any]) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    colors = {"wae-mmd": "#1f77b4", "wae-gan": "#d62728"}
    for recipe in ctx.settings["toy"]["recipes"]:
        rs = [r for r in toy["runs"] if r["recipe"] == recipe]
        lams = [r["lam"] for r in rs]
        c = colors.get(recipe, None)
        axes[0].errorbar(
            lams,
            [r["primal"] for r in rs],
            yerr=[r["primal_sd"] for r in rs],
            marker="o",
            color=c,
            label=f"{recipe}: primal E|X - G(E(X))|^2",
        )
        axes[0].errorbar(
            lams,
            [r["w_data_samples"] for r in rs],
            yerr=[r["w_data_samples_sd"] for r in rs],
            marker="s",
            ls="--",
            color=c,
            label=f"{recipe}: exact W_2^2(data, G(Z))",
        )
        axes[1].plot(lams, [max(r["drift_w2sq"], 1e-6) for r in rs], "o-", color=c, label=recipe)
    axes[0].axhline(
        toy["data_floor"], color="gray", lw=0.8, ls=":", label="W_2^2(data, data') floor"
    )
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("lambda")
    axes[0].legend(fontsize=7)
    axes[0].set_title("primal objective vs exact W_2^2 to the data", fontsize=10)
    axes[1].axhline(toy["prior_floor"], color="gray", lw=0.8, ls=":", label="P_Z vs P_Z' floor")
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("lambda")
    axes[1].set_title("drift of Q_Z: exact W_2^2(codes, prior samples)", fontsize=10)
    axes[1].legend(fontsize=7)
    ax = axes[2]
    g = seeded(0)
    prior = torch.randn(400, 2, generator=g).numpy()
    ax.scatter(prior[:, 0], prior[:, 1], s=4, c="#bbbbbb", label="P_Z")
    mmd_runs = [r for r in toy["runs"] if r["recipe"] == ctx.settings["toy"]["recipes"][0]]
    for r, c in ((mmd_runs[0], "#ff7f0e"), (mmd_runs[-1], "#1f77b4")):
        ax.scatter(r["codes"][:, 0], r["codes"][:, 1], s=4, c=c, label=f"Q_Z, lambda={r['lam']:g}")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=7)
    ax.set_title(f"codes of {mmd_runs[0]['recipe']}", fontsize=10)
    fig.tight_layout()
    ctx.figure("theorem1_toy.png", fig)


def figure_random(ctx: Context, rd: dict[str, Any]) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    sig = [r["sigma"] for r in rd["rows"]]
    ax = axes[0]
    ax.plot(
        sig, [r["w_dagger"] for r in rd["rows"]], "o-", label="W^dagger = W(P_X, G#P_Z) + sigma^2"
    )
    ax.errorbar(
        sig,
        [r["primal_mc"] for r in rd["rows"]],
        yerr=[r["primal_mc_ci95"] for r in rd["rows"]],
        fmt="x",
        color="k",
        label="primal value of the optimal coupling (MC)",
    )
    ax.plot(sig, [r["w_noisy"] for r in rd["rows"]], "s-", label="W_2^2(P_X, P_G^sigma) exact")
    ax.set_xlabel("decoder sigma")
    ax.set_title(f"1-D: P_X mixture, G(z) = {rd['G']}", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(
        sig,
        [r["gaussian_w_dagger_per_dim"] for r in rd["rows"]],
        "o-",
        label="W^dagger / d = sigma^2",
    )
    ax.plot(
        sig,
        [r["gaussian_w_per_dim"] for r in rd["rows"]],
        "s-",
        label="W_2^2 / d = (sqrt(1 + sigma^2) - 1)^2",
    )
    ax.set_xlabel("decoder sigma")
    ax.set_title("Gaussians: P_X = N(0, I_d), G(z) = z, P_Z = N(0, I_d)", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    ctx.figure("theorem1_random_decoder.png", fig)


def conclusions(onedim, toy, rd) -> list[str]:
    out = []
    parts, worst = [], 0.0
    for key, r in onedim.items():
        best = min(r["stages"], key=lambda st: abs(st["gap"]))
        worst = max(worst, abs(best["gap"]) / r["exact"])
        first = r["stages"][0]
        parts.append(
            f"{key}: W = {r['exact']:.4f}; primal {first['primal']:.4f} at lambda = "
            f"{first['lam']:g}, closest {best['primal']:.4f} +- {best['primal_ci95']:.4f} at "
            f"lambda = {best['lam']:g} (gap {100 * best['gap'] / r['exact']:+.1f}%, "
            f"W_2^2(Q_Z, P_Z) = {best['drift_w2sq']:.1e})"
        )
    verdict = (
        f"comes within {100 * worst:.1f}% of the exact W_2^2 for every G"
        if worst <= 0.05
        else "does not reach the exact W_2^2 for every G in this setting "
        f"(worst gap {100 * worst:.0f}%)"
    )
    out.append(
        "1-D: the trained constrained-encoder value " + verdict + " - " + "; ".join(parts) + "."
    )
    for recipe in sorted({r["recipe"] for r in toy["runs"]}):
        rs = [r for r in toy["runs"] if r["recipe"] == recipe]
        lo, hi = rs[0], rs[-1]
        out.append(
            f"Toy ({toy['data']}), {recipe}: primal objective vs exact W_2^2(data, samples) = "
            f"{lo['primal']:.3f} vs {lo['w_data_samples']:.3f} at lambda = {lo['lam']:g} "
            f"(W_2^2(Q_Z, P_Z) = {lo['drift_w2sq']:.3f}) and {hi['primal']:.3f} vs "
            f"{hi['w_data_samples']:.3f} at lambda = {hi['lam']:g} (W_2^2(Q_Z, P_Z) = "
            f"{hi['drift_w2sq']:.3f}); sampling floors {toy['data_floor']:.3f} (data) and "
            f"{toy['prior_floor']:.3f} (prior)."
        )
    big = rd["rows"][-1]
    out.append(
        f"Random decoder: W^dagger - W > 0 for every sigma > 0 (at sigma = {big['sigma']:g}: "
        f"W^dagger = {big['w_dagger']:.3f}, W = {big['w_noisy']:.3f}); the gap is eq. (9)'s "
        "inequality made visible."
    )
    return out


def summary(ctx, discrete, onedim, toy, rd) -> str:
    s = ctx.settings
    o = s["onedim"]
    lines = [
        "## Discrete form (the machinery)",
        "",
        f"On {discrete['instances']} random empirical instances with a many-to-one G, the two "
        f"linear programs agree to {discrete['max_abs_difference']:.1e} (the proof's coupling "
        "attains the same value).",
        "",
        "## One dimension: exact left side, trained right side",
        "",
        f"P_X = {LAW_X.describe()}, P_Z = N(0, 1), c(x, y) = (x - y)^2. Left side by the quantile "
        f"formula with {o['quantile_nodes']:,} nodes. Right side: a {o['branches']}-branch "
        "random encoder trained on E c(X, G(Z)) + lambda W_2^2(Q_Z, P_Z), lambda grown through "
        f"{o['lams']} ({o['steps_per_lam']} steps of batch {o['batch']} each), evaluated on "
        f"{o['n_eval']:,} fresh draws (95% CI).",
        "",
    ]
    for r in onedim.values():
        lines += [
            f"**G(z) = {r['G']}** ({r['kind']}): exact W_2^2 = {r['exact']:.5f} "
            f"(quadrature error {r['quadrature_error']:.1e}).",
            "",
            md_table(
                ["lambda", "primal E c", "95% CI", "gap", "W_2^2(P_X, G#Q_Z)", "W_2^2(Q_Z, P_Z)"],
                [
                    [
                        st["lam"],
                        st["primal"],
                        st["primal_ci95"],
                        st["gap"],
                        st["w_px_gqz"],
                        st["drift_w2sq"],
                    ]
                    for st in r["stages"]
                ],
            ),
            "",
        ]
    lines += [
        "The primal value of any encoder is at least W_2^2(P_X, G#Q_Z) (it is a coupling of "
        "those two laws); the difference is the encoder's excess over the best coupling for its "
        "own Q_Z, and W_2^2(P_X, G#Q_Z) - W is what the drift of Q_Z costs.",
        "",
        "## Toy data: trained WAEs against exact W_2^2",
        "",
        f"{toy['data']}, squared cost with cost_scale 1, latent dimension 2, "
        f"{ctx.settings['toy']['steps']} steps per run. Exact values on {toy['n_eval']} points "
        f"per side, mean and standard deviation over {toy['repeats']} independent draws; "
        f"sampling floors: W_2^2(data, data') = {toy['data_floor']:.4f}, "
        f"W_2^2(P_Z sample, P_Z sample') = {toy['prior_floor']:.4f}.",
        "",
        md_table(
            [
                "recipe",
                "lambda",
                "primal E|X - G(E(X))|^2",
                "W_2^2(data, G(Z))",
                "sd",
                "W_2^2(data, G(E(X')))",
                "W_2^2(Q_Z, P_Z)",
            ],
            [
                [
                    r["recipe"],
                    r["lam"],
                    r["primal"],
                    r["w_data_samples"],
                    r["w_data_samples_sd"],
                    r["w_data_reconstructions"],
                    r["drift_w2sq"],
                ]
                for r in toy["runs"]
            ],
        ),
        "",
        "## Random decoder: the strict gap of eq. (9)",
        "",
        f"P_G^sigma = law of G(Z) + sigma eps with G(z) = {rd['G']}; W^dagger = W_2^2(P_X, G#P_Z) "
        f"+ sigma^2 with W_2^2(P_X, G#P_Z) = {rd['w_deterministic']:.5f} (Theorem 1 and Remark 1); "
        "'primal MC' is the primal value of the optimal deterministic coupling with the noise "
        "added, by Monte Carlo. Per dimension for Gaussians (P_X = N(0, I_d), G(z) = z): "
        "W^dagger/d = sigma^2 but W_2^2/d = (sqrt(1 + sigma^2) - 1)^2.",
        "",
        md_table(
            [
                "sigma",
                "W_2^2(P_X, P_G^sigma)",
                "W^dagger",
                "gap",
                "primal MC",
                "Gaussian W/d",
                "Gaussian W^dagger/d",
            ],
            [
                [
                    r["sigma"],
                    r["w_noisy"],
                    r["w_dagger"],
                    r["gap"],
                    r["primal_mc"],
                    r["gaussian_w_per_dim"],
                    r["gaussian_w_dagger_per_dim"],
                ]
                for r in rd["rows"]
            ],
        ),
    ]
    return "\n".join(lines)
