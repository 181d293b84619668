r"""Proposition 2: the minimizer of W_c(P_X, P_G^sigma) moves with sigma; the primal bound's not.

Take a Gaussian decoder, P_G^sigma = law of G_theta(Z) + sigma * eps with
Z, eps ~ N(0, 1) independent, and the squared cost. Two ways to fit theta:

* minimize the true transport cost W_2^2(P_X, P_G^sigma): the decoder's
  noise is part of the model, and the best G_theta shrinks to make room for
  it, so the minimizer moves with sigma;
* minimize the primal bound W^dagger(P_X, P_G^sigma) = inf over Q(Z|X) with
  Q_Z = P_Z of E |X - G_theta(Z) - sigma eps|^2, which by Theorem 1 and
  Remark 1 is W_2^2(P_X, G_theta#P_Z) + sigma^2: the noise only adds a
  constant, so the minimizer is the deterministic one for every sigma.

Everything is exact in one dimension (:mod:`vegan.experiments.laws1d`): the
quantiles of G_theta(Z) + sigma eps are those of a product grid of
quantile nodes of Z and eps (sorted, differentiable in theta), compared
with the quantiles of P_X at the same levels. theta is fitted by L-BFGS
from several starts. Two families:

* affine, G(z) = a z + b: P_G^sigma = N(b, a^2 + sigma^2), so the minimizer
  is known in closed form: b* = E X and a*(sigma) = sqrt(s*^2 - sigma^2)
  with s* = int_0^1 F_X^{-1}(q) Phi^{-1}(q) dq (the W_2-closest Gaussian's
  standard deviation) - a check of the machinery;
* affine + tanh, G(z) = a z + b + c tanh(3 z): a bimodal family, fitted
  numerically.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from vegan.experiments._common import Context, Outcome, md_table, pyplot
from vegan.experiments.laws1d import levels, normal_quantiles
from vegan.experiments.theorem1 import LAW_X

NAME = "prop2"
TITLE = "Proposition 2: the minimizers of W_c(P_X, P_G^sigma) and of the primal bound"
PAPER = (
    "Proposition 2 of Bousquet et al. (2017), with eq. (9) and Remark 1: for a Gaussian "
    "decoder the minimizer of W_c(P_X, P_G^sigma) moves with sigma, that of W_c^dagger does not"
)

#: Slope of the tanh term of the bimodal family.
KAPPA = 3.0

FAMILIES = {
    "affine": {"formula": "a z + b", "params": ["a", "b"]},
    "affine+tanh": {"formula": f"a z + b + c tanh({KAPPA:g} z)", "params": ["a", "b", "c"]},
}


def settings(quick: bool) -> dict[str, Any]:
    """The parameters of the full setting, or of the quick one (under a minute)."""
    if quick:
        return {
            "law_x": LAW_X.describe(),
            "sigmas": [0.0, 0.5, 1.0],
            "z_nodes": 300,
            "eps_nodes": 30,
            "lbfgs_iters": 40,
        }
    return {
        "law_x": LAW_X.describe(),
        "sigmas": [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5],
        "z_nodes": 2000,
        "eps_nodes": 100,
        "lbfgs_iters": 200,
    }


def generator(family: str, theta: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """G_theta(z) for a family of :data:`FAMILIES`."""
    out = theta[0] * z + theta[1]
    if family == "affine+tanh":
        out = out + theta[2] * torch.tanh(KAPPA * z)
    return out


class Objectives:
    """W_2^2(P_X, P_G^sigma) and W^dagger(P_X, P_G^sigma) as differentiable functions of theta."""

    def __init__(self, nz: int, ne: int) -> None:
        self.z = torch.as_tensor(normal_quantiles(nz))
        self.eps = torch.as_tensor(normal_quantiles(ne))
        self.qx = torch.as_tensor(LAW_X.quantile(levels(nz * ne)))
        self.qx_z = torch.as_tensor(LAW_X.quantile(levels(nz)))
        self.eps_sq = float(self.eps.pow(2).mean())

    def w(self, family: str, theta: torch.Tensor, sigma: float) -> torch.Tensor:
        """W_2^2(P_X, P_G^sigma): quantiles of the grid G(z_i) + sigma eps_j against P_X's."""
        g = generator(family, theta, self.z)
        y = (g[:, None] + sigma * self.eps[None, :]).reshape(-1)
        return (y.sort().values - self.qx).pow(2).mean()

    def dagger(self, family: str, theta: torch.Tensor, sigma: float) -> torch.Tensor:
        """W^dagger: primal value of Theorem 1's coupling X <-> Z plus independent noise.

        With Q the optimal coupling of X and G(Z) (quantile matching) and eps
        independent of (X, Z) on its quantile nodes (mean exactly 0), the
        primal E (X - G(Z) - sigma eps)^2 equals W_2^2(P_X, G#P_Z) + sigma^2
        mean(eps_j^2).
        """
        g = generator(family, theta, self.z)
        return (g.sort().values - self.qx_z).pow(2).mean() + sigma**2 * self.eps_sq


def _minimize(fn, starts: list[list[float]], iters: int) -> tuple[np.ndarray, float]:
    best, best_val = None, math.inf
    for start in starts:
        theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS(
            [theta], lr=1.0, max_iter=iters, line_search_fn="strong_wolfe", tolerance_grad=1e-10
        )

        def closure(theta=theta, opt=opt):
            opt.zero_grad()
            loss = fn(theta)
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            val = float(fn(theta))
        if val < best_val:
            best, best_val = theta.detach().numpy().copy(), val
    assert best is not None
    # theta and its mirror image (z -> -z, a law-preserving symmetry of N(0, 1)) give
    # the same P_G: report the one whose leading term is >= 0 (a for the affine
    # family, c for the bimodal one).
    lead = 0 if len(best) == 2 else 2
    if best[lead] < 0:
        best = best.copy()
        best[0] = -best[0]
        if len(best) > 2:
            best[2] = -best[2]
    return best, best_val


def _starts(family: str, previous: np.ndarray | None) -> list[list[float]]:
    starts = (
        [[1.0, 0.0], [2.0, 0.5]]
        if family == "affine"
        else [
            [1.0, 0.0, 0.0],
            [0.5, 0.0, 1.5],
            [0.2, 0.3, 1.8],
        ]
    )
    if previous is not None:
        starts.append(list(previous))
    return starts


def run(ctx: Context) -> Outcome:
    """Run the experiment; figures are saved through ``ctx``, numbers returned."""
    s = ctx.settings
    obj = Objectives(s["z_nodes"], s["eps_nodes"])
    # Closed form for the affine family.
    u = levels(200_000)
    s_star = float(np.mean(LAW_X.quantile(u) * normal_quantiles(200_000)))
    results: dict[str, Any] = {
        "law_x": LAW_X.describe(),
        "s_star": s_star,
        "mean_x": LAW_X.mean,
        "families": {},
    }
    for family, info in FAMILIES.items():
        rows = []
        prev_w = prev_d = None
        for sigma in s["sigmas"]:
            th_w, val_w = _minimize(
                lambda t, sigma=sigma, family=family: obj.w(family, t, sigma),
                _starts(family, prev_w),
                s["lbfgs_iters"],
            )
            th_d, val_d = _minimize(
                lambda t, sigma=sigma, family=family: obj.dagger(family, t, sigma),
                _starts(family, prev_d),
                s["lbfgs_iters"],
            )
            prev_w, prev_d = th_w, th_d
            with torch.no_grad():
                w_at_d = float(obj.w(family, torch.as_tensor(th_d), sigma))
                dag_at_w = float(obj.dagger(family, torch.as_tensor(th_w), sigma))
            row = {
                "sigma": sigma,
                "theta_w": dict(zip(info["params"], th_w.tolist(), strict=True)),
                "theta_dagger": dict(zip(info["params"], th_d.tolist(), strict=True)),
                "w_at_w_minimizer": val_w,
                "w_at_dagger_minimizer": w_at_d,
                "dagger_at_dagger_minimizer": val_d,
                "dagger_at_w_minimizer": dag_at_w,
            }
            if family == "affine":
                row["a_closed_form"] = math.sqrt(max(s_star**2 - sigma**2, 0.0))
            rows.append(row)
            ctx.say(
                f"{family} sigma={sigma:g}: argmin W -> {np.round(th_w, 3).tolist()}, "
                f"argmin W^dagger -> {np.round(th_d, 3).tolist()}"
            )
        results["families"][family] = {"G": info["formula"], "rows": rows}
    _figure(ctx, obj, results)
    return Outcome(results, _conclusions(results), _summary(ctx, results))


def _movement(rows: list[dict[str, Any]], key: str) -> float:
    """Largest distance of the minimizer from its sigma = 0 value."""
    first = np.array(list(rows[0][key].values()))
    return float(max(np.linalg.norm(np.array(list(r[key].values())) - first) for r in rows))


def _conclusions(results: dict[str, Any]) -> list[str]:
    out = []
    aff = results["families"]["affine"]["rows"]
    err = max(abs(r["theta_w"]["a"] - r["a_closed_form"]) for r in aff)
    out.append(
        f"Affine family: the fitted argmin of W_2^2(P_X, P_G^sigma) follows the closed form "
        f"a*(sigma) = sqrt(s*^2 - sigma^2) (s* = {results['s_star']:.4f}) to {err:.1e}; "
        f"a* goes from {aff[0]['theta_w']['a']:.3f} at sigma = 0 to "
        f"{aff[-1]['theta_w']['a']:.3f} at sigma = {aff[-1]['sigma']:g}, while the argmin of "
        f"W^dagger stays at a = {aff[-1]['theta_dagger']['a']:.3f}."
    )
    for family, fam in results["families"].items():
        rows = fam["rows"]
        last = rows[-1]
        out.append(
            f"{family} (G = {fam['G']}): the W-minimizer moves by "
            f"{_movement(rows, 'theta_w'):.3f} in parameter space as sigma goes from 0 to "
            f"{last['sigma']:g}, the W^dagger-minimizer by {_movement(rows, 'theta_dagger'):.1e}. "
            f"At sigma = {last['sigma']:g} the W^dagger-minimizer is off by "
            f"{last['w_at_dagger_minimizer'] - last['w_at_w_minimizer']:.3f} in W_2^2 "
            f"({last['w_at_dagger_minimizer']:.3f} vs {last['w_at_w_minimizer']:.3f}): fitting "
            "the primal bound of a noisy decoder does not fit the noisy model."
        )
    return out


def _summary(ctx: Context, results: dict[str, Any]) -> str:
    s = ctx.settings
    lines = [
        f"P_X = {results['law_x']}, P_Z = N(0, 1), squared cost. Quantiles on a "
        f"{s['z_nodes']} x {s['eps_nodes']} grid of quantile nodes of (Z, eps); L-BFGS from "
        "several starts (theta and its mirror image under z -> -z give the same law; the one "
        "with a >= 0 (affine) or c >= 0 (affine + tanh) is reported).",
        "",
    ]
    for family, fam in results["families"].items():
        params = FAMILIES[family]["params"]
        headers = ["sigma"]
        headers += [f"{p} (argmin W)" for p in params]
        headers += [f"{p} (argmin W^dagger)" for p in params]
        headers += ["W at argmin W", "W at argmin W^dagger"]
        if family == "affine":
            headers.append("a closed form")
        rows = []
        for r in fam["rows"]:
            row = [r["sigma"]]
            row += [r["theta_w"][p] for p in params]
            row += [r["theta_dagger"][p] for p in params]
            row += [r["w_at_w_minimizer"], r["w_at_dagger_minimizer"]]
            if family == "affine":
                row.append(r["a_closed_form"])
            rows.append(row)
        lines += [f"**G(z) = {fam['G']}**", "", md_table(headers, rows), ""]
    return "\n".join(lines)


def _figure(ctx: Context, obj: Objectives, results: dict[str, Any]) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    ax = axes[0]
    colors = {"a": "#1f77b4", "b": "#2ca02c", "c": "#d62728"}
    fam = results["families"]["affine+tanh"]
    sig = [r["sigma"] for r in fam["rows"]]
    for p in FAMILIES["affine+tanh"]["params"]:
        ax.plot(
            sig,
            [r["theta_w"][p] for r in fam["rows"]],
            "o-",
            color=colors[p],
            label=f"{p}: argmin W",
        )
        ax.plot(
            sig,
            [r["theta_dagger"][p] for r in fam["rows"]],
            "s--",
            color=colors[p],
            ms=4,
            label=f"{p}: argmin W^dagger",
        )
    aff = results["families"]["affine"]["rows"]
    ax.plot(sig, [r["a_closed_form"] for r in aff], "k:", label="affine: sqrt(s*^2 - sigma^2)")
    ax.plot(sig, [r["theta_w"]["a"] for r in aff], "kx", label="affine: fitted a")
    ax.set_xlabel("decoder sigma")
    ax.set_title(f"minimizers, G(z) = {fam['G']}", fontsize=10)
    ax.legend(fontsize=6, ncol=2)
    ax = axes[1]
    xs = np.linspace(-5, 5, 400)
    ax.plot(xs, LAW_X.pdf(xs), "k", lw=2, label="P_X")
    cmap = plt.get_cmap("viridis")
    bins = np.linspace(-5, 5, 121)
    for i, r in enumerate(fam["rows"]):
        if i % 2:
            continue
        theta = torch.tensor(list(r["theta_w"].values()), dtype=torch.float64)
        with torch.no_grad():
            g = generator("affine+tanh", theta, obj.z)
            y = (g[:, None] + r["sigma"] * obj.eps[None, :]).reshape(-1).numpy()
        h, e = np.histogram(y, bins=bins, density=True)
        ax.plot(
            0.5 * (e[1:] + e[:-1]),
            h,
            color=cmap(i / len(fam["rows"])),
            label=f"sigma = {r['sigma']:g}",
        )
    last = fam["rows"][-1]
    theta = torch.tensor(list(last["theta_dagger"].values()), dtype=torch.float64)
    with torch.no_grad():
        g = generator("affine+tanh", theta, obj.z)
        y = (g[:, None] + last["sigma"] * obj.eps[None, :]).reshape(-1).numpy()
    h, e = np.histogram(y, bins=bins, density=True)
    ax.plot(0.5 * (e[1:] + e[:-1]), h, "r--", label=f"argmin W^dagger, sigma = {last['sigma']:g}")
    ax.set_title("P_G^sigma at the W-minimizer (solid)", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[2]
    for family, style in (("affine", "--"), ("affine+tanh", "-")):
        rows = results["families"][family]["rows"]
        ax.plot(
            sig, [r["w_at_w_minimizer"] for r in rows], "o" + style, label=f"{family}: at argmin W"
        )
        ax.plot(
            sig,
            [r["w_at_dagger_minimizer"] for r in rows],
            "s" + style,
            label=f"{family}: at argmin W^dagger",
        )
    ax.set_xlabel("decoder sigma")
    ax.set_ylabel("W_2^2(P_X, P_G^sigma)")
    ax.set_title("the price of fitting the primal bound", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    ctx.figure("prop2.png", fig)
