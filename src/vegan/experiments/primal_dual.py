r"""W_1 from both sides: the auto-encoder (primal) and the critic (dual) against the exact value.

For the Euclidean cost c(x, y) = |x - y| the paper gives two ways to
estimate W_1(P_X, P_G) with networks:

* **primal** (Theorem 1, relaxed as in POT, eq. (12)-(13)): for the fixed
  generator G, train an encoder on
  E |X - G(E(X))| + lambda * MMD^2(Q_Z, P_Z);
  the value is the trained fit term E |X - G(E(X))|. The constraint
  Q_Z = P_Z is only penalized, so the value can fall below W_1 (small
  lambda, Q_Z drifts) or stay above it (the encoder does not find the best
  coupling);
* **dual** (Kantorovich-Rubinstein, eq. (2)): train a critic T on
  E T(X) - E T(G(Z)) with the Lipschitz constraint approximated by weight
  clipping or by a gradient penalty (:func:`vegan.ot.dual.dual_w1`, whose
  value is divided by the critic's slope between the sets: a lower bound of
  the exact W_1 of the samples).

Both see the same finite problem: n data points and n codes z_j of P_Z
(the generated points are y_j = G(z_j); the encoder's penalty compares its
codes with the z_j). Their *values* are compared with the exact W_1 of the
laws (closed form for a translation, |v|; an exact LP on large stratified
samples for the mixture, with its sampling error), and with the exact LP
on the same n points (the plug-in value, biased upward in high dimension).

Their *gradients* with respect to generated points are compared with the
exact one: for W_1 between uniform n-point sets the optimal plan is a
permutation sigma and dW_1/dy_j = (y_j - x_sigma(j)) / (n |y_j - x_sigma(j)|)
- each generated point moves toward the data point it is sent to. The dual's
gradient at y_j is -grad T(y_j) / L; the primal's at its generated point
G(E(x_i)) is (G(E(x_i)) - x_i) / |G(E(x_i)) - x_i| (each reconstruction moves
toward its input), compared with the plan of the exact LP between the data
and those generated points. For the translation the population gradient is
known too, v / |v| at every point, and also serves as reference.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from vegan.experiments._common import (
    Context,
    Outcome,
    exact_transport,
    fmt,
    matching,
    md_table,
    pyplot,
    seeded,
)

NAME = "primal-dual"
TITLE = "Primal vs dual estimates of W_1: values and gradients against the exact ones"
PAPER = (
    "Section 5 of Bousquet et al. (2017): POT (primal, eq. (12)-(13), constraint "
    "penalized) and WGAN (dual, eq. (2), Lipschitz constraint by clipping or gradient "
    "penalty) approximate the same W_1 from two sides"
)

#: Estimators in table order.
DUALS = ("dual-clip", "dual-gp")


def settings(quick: bool) -> dict[str, Any]:
    """The parameters of the full setting, or of the quick one (under a minute)."""
    if quick:
        return {
            "problems": ["translation", "mixture"],
            "dims": [2, 32],
            "sizes": [128],
            "seeds": 1,
            "lams": [1.0, 10.0],
            "primal_steps": 80,
            "dual_steps": 80,
            "batch": 64,
            "hidden": 64,
            "depth": 2,
            "shift": 1.0,
            "mixture_radius": 2.0,
            "mixture_spread": 0.25,
            "reference_n": 400,
            "reference_repeats": 2,
        }
    return {
        "problems": ["translation", "mixture"],
        "dims": [2, 8, 32, 128],
        "sizes": [256, 1024],
        "seeds": 3,
        "lams": [1.0, 10.0, 100.0],
        "primal_steps": 500,
        "dual_steps": 500,
        "batch": 128,
        "hidden": 128,
        "depth": 2,
        "shift": 1.0,
        "mixture_radius": 2.0,
        "mixture_spread": 0.25,
        "reference_n": 4000,
        "reference_repeats": 2,
    }


# --------------------------------------------------------------------------- problems


@dataclass
class Problem:
    """P_X, P_Z and a fixed generator G, with what is known about W_1(P_X, G#P_Z).

    Attributes
    ----------
    name, d, latent_dim : problem name, data and latent dimensions.
    sample_x, sample_z : callables (n, generator) -> (n, d) / (n, latent_dim) float32.
    G : callable, differentiable (n, latent_dim) -> (n, d).
    exact : float or None
        Closed-form W_1 when it exists.
    field : callable or None
        Population gradient of W_1 at generated points (unit vectors), when known.
    description : str
    """

    name: str
    d: int
    latent_dim: int
    sample_x: Callable[[int, torch.Generator], torch.Tensor]
    sample_z: Callable[[int, torch.Generator], torch.Tensor]
    G: Callable[[torch.Tensor], torch.Tensor]
    exact: float | None
    field: Callable[[torch.Tensor], torch.Tensor] | None
    description: str
    prior_variance: float = 1.0


def _directions(d: int, k: int, gen: torch.Generator) -> torch.Tensor:
    """k unit vectors: orthonormal when d >= k, evenly spread angles in the plane when d = 2."""
    if d == 2:
        ang = torch.arange(k, dtype=torch.float64) * (2 * math.pi / k)
        return torch.stack([ang.cos(), ang.sin()], 1).float()
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64))
    return q[:, :k].T.contiguous().float()


def make_problem(name: str, d: int, s: dict[str, Any]) -> Problem:
    """The ``translation`` or ``mixture`` problem in dimension ``d`` (fixed by d, not the seed)."""
    gen = seeded(10_000 + d)
    shift = float(s["shift"])
    if name == "translation":
        v = torch.randn(d, generator=gen)
        v = shift * v / v.norm()

        def sample(n, g):
            return torch.randn(n, d, generator=g)

        return Problem(
            name,
            d,
            d,
            sample,
            sample,
            lambda z: z + v,
            shift,
            lambda y: (v / v.norm()).expand(len(y), d),
            f"P_X = N(0, I_d), P_Z = N(0, I_d), G(z) = z + v with |v| = {shift:g}: W_1 = |v|",
        )
    if name != "mixture":
        raise ValueError(name)
    k = 4
    centers = s["mixture_radius"] * _directions(d, k, gen)
    deltas = torch.randn(k, d, generator=gen)
    deltas = shift * deltas / deltas.norm(dim=1, keepdim=True)
    spread = s["mixture_spread"] / math.sqrt(d)  # each component has radius ~ mixture_spread
    w_x = torch.full((k,), 1.0 / k)
    w_z = torch.tensor([0.4, 0.3, 0.2, 0.1])

    def mixture(weights):
        def sample(n, g):
            counts = _stratified_counts(n, weights)
            comp = torch.repeat_interleave(torch.arange(k), counts)
            comp = comp[torch.randperm(n, generator=g)]
            return centers[comp] + spread * torch.randn(n, d, generator=g)

        return sample

    tau2 = 2.0 * 0.5**2

    def G(z):
        gate = torch.softmax(-torch.cdist(z, centers).pow(2) / tau2, dim=1)
        return z + gate @ deltas

    return Problem(
        name,
        d,
        d,
        mixture(w_x),
        mixture(w_z),
        G,
        None,
        None,
        f"P_X: 4 Gaussians of radius ~{s['mixture_spread']:g} (std "
        f"{s['mixture_spread']:g}/sqrt(d) per coordinate) at distance {s['mixture_radius']:g} "
        "from 0, equal weights; P_Z: the same components with weights (0.4, 0.3, 0.2, 0.1); "
        f"G moves each component by its own vector of length {shift:g}",
        prior_variance=float(s["mixture_radius"] ** 2 / d + spread**2),
    )


def _stratified_counts(n: int, weights: torch.Tensor) -> torch.Tensor:
    """Exact component counts n * w (largest remainders): no component-count noise."""
    raw = n * weights.double()
    counts = raw.floor().long()
    rest = n - int(counts.sum())
    if rest:
        counts[torch.argsort(raw - counts, descending=True)[:rest]] += 1
    return counts


# --------------------------------------------------------------------------- references


def reference(problem: Problem, s: dict[str, Any], seed: int) -> dict[str, Any]:
    """The exact W_1 of the laws: closed form, or the LP on large stratified samples."""
    if problem.exact is not None:
        return {"value": problem.exact, "how": "closed form", "sd": 0.0}
    n, reps = s["reference_n"], s["reference_repeats"]
    full, half, floor = [], [], []
    for r in range(reps):
        g = seeded(seed + 7919 * r)
        x = problem.sample_x(n, g)
        with torch.no_grad():
            y = problem.G(problem.sample_z(n, g))
        full.append(exact_transport(x, y, "l2")[0])
        half.append(exact_transport(x[: n // 2], y[: n // 2], "l2")[0])
        floor.append(exact_transport(x[: n // 2], x[n // 2 :], "l2")[0])
    return {
        "value": float(np.mean(full)),
        "how": f"exact LP on {n} stratified samples per side, mean of {reps}",
        "sd": float(np.std(full, ddof=1)) if reps > 1 else None,
        "half_n_value": float(np.mean(half)),
        "data_vs_data_floor": float(np.mean(floor)),
    }


# --------------------------------------------------------------------------- estimators


class ResidualEncoder(nn.Module):
    """E(x) = A x + b + MLP(x): can represent the identity and the nonlinear corrections."""

    def __init__(self, d: int, latent_dim: int, hidden: int, depth: int) -> None:
        super().__init__()
        from vegan.nets import MLP

        self.linear = nn.Linear(d, latent_dim)
        self.mlp = MLP(d, latent_dim, hidden=hidden, depth=depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) + self.mlp(x)


def primal_estimate(
    problem: Problem,
    x: torch.Tensor,
    z: torch.Tensor,
    lam: float,
    s: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Train an encoder on (1/n) sum |x - G(E(x))| + lam MMD^2(E(x), z); value and gradients.

    Deterministic encoder, residual MLP; IMQ multi-scale MMD of the WAE code
    with C = 2 d_z sigma_z^2; Adam (beta1 = 0.5) with cosine decay.
    """
    from vegan.models.kernels import mmd

    torch.manual_seed(seed)
    gen = seeded(seed + 1)
    enc = ResidualEncoder(problem.d, problem.latent_dim, s["hidden"], s["depth"])
    opt = torch.optim.Adam(enc.parameters(), lr=1e-3, betas=(0.5, 0.999))
    steps, batch, n = s["primal_steps"], s["batch"], len(x)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: 0.5 * (1.0 + math.cos(math.pi * min(i / steps, 1.0)))
    )
    c_base = 2.0 * problem.latent_dim * problem.prior_variance
    b = min(batch, n)
    for _ in range(steps):
        xb = x[torch.randint(n, (b,), generator=gen)]
        zb = z[torch.randint(n, (b,), generator=gen)]
        codes = enc(xb)
        fit = (xb - problem.G(codes)).norm(dim=1).mean()
        loss = fit + lam * mmd(codes, zb, "imq", c_base=c_base)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        codes = enc(x)
        r = problem.G(codes)
        value = float((x - r).norm(dim=1).mean())
        penalty = float(mmd(codes, z, "imq", c_base=c_base))
        diff = r - x
        grad = diff / diff.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return {"value": value, "mmd": penalty, "points": r, "grad": grad}


def dual_estimate(
    problem: Problem,
    x: torch.Tensor,
    y: torch.Tensor,
    constraint: str,
    s: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """:func:`vegan.ot.dual.dual_w1` with a critic we keep; value, raw value and gradients."""
    from vegan.nets import MLP
    from vegan.ot.dual import dual_w1, kr_value, pair_slope

    torch.manual_seed(seed)
    critic = MLP(problem.d, 1, hidden=s["hidden"], depth=s["depth"] + 1, act="leaky_relu")
    value = dual_w1(
        x, y, constraint, steps=s["dual_steps"], batch_size=s["batch"], critic=critic, seed=seed
    )
    yy = y.detach().clone().requires_grad_(True)
    ty = critic(yy).reshape(-1)
    (gy,) = torch.autograd.grad(ty.sum(), yy)
    with torch.no_grad():
        tx = critic(x).reshape(-1)
        raw = float(kr_value(tx, ty.detach()))
        slope = pair_slope(tx, ty.detach(), x, y.detach()) if raw > 0 else float("nan")
    scale = slope if raw > 0 and slope > 0 else 1.0
    # dW/dy_j = -grad T(y_j) / L (times 1/n): the direction that increases the estimate.
    return {"value": float(value), "raw": raw, "slope": slope, "points": y, "grad": -gy / scale}


# --------------------------------------------------------------------------- metrics


def _plan_field(x: torch.Tensor, points: torch.Tensor) -> tuple[float, torch.Tensor]:
    """Exact W_1 between x and points, and the unit gradient direction at each point."""
    value, plan = exact_transport(x, points, "l2", plan=True)
    partner = torch.as_tensor(matching(plan))
    diff = points.double() - x.double()[partner]
    return value, (diff / diff.norm(dim=1, keepdim=True).clamp_min(1e-12)).float()


def grad_metrics(g: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
    """Per-point cosine, norm ratio and relative error of g against ref, averaged over points."""
    g, ref = g.double(), ref.double()
    gn, rn = g.norm(dim=1), ref.norm(dim=1).clamp_min(1e-12)
    cos = (g * ref).sum(1) / (gn.clamp_min(1e-12) * rn)
    return {
        "cos": float(cos.mean()),
        "norm_ratio": float((gn / rn).mean()),
        "rel_err": float(((g - ref).norm(dim=1) / rn).mean()),
    }


def _record(base, estimator, lam, value, grad, points, x, problem, ref_value, plugin, extra):
    plug_value, plug_field = plugin
    if points is None:
        field = plug_field
    else:
        field = _plan_field(x, points)[1]
    rec = {
        **base,
        "estimator": estimator,
        "lam": lam,
        "value": value,
        "rel_err_value": (value - ref_value) / ref_value,
        "rel_err_vs_plugin": (value - plug_value) / plug_value,
        **{f"grad_lp_{k}": v for k, v in grad_metrics(grad, field).items()},
        **extra,
    }
    if problem.field is not None:
        pts = points if points is not None else None
        pop = problem.field(pts if pts is not None else grad)
        rec.update({f"grad_pop_{k}": v for k, v in grad_metrics(grad, pop).items()})
        mean = grad.double().mean(0)
        unit = pop[0].double()
        rec["grad_mean_cos_pop"] = float(mean @ unit / mean.norm().clamp_min(1e-12))
        rec["grad_mean_norm"] = float(mean.norm())
    return rec


def _one_config(problem, n, seed, ref_value, s, say) -> list[dict[str, Any]]:
    gen = seeded(seed)
    x = problem.sample_x(n, gen)
    z = problem.sample_z(n, gen)
    with torch.no_grad():
        y = problem.G(z)
    base = {"problem": problem.name, "d": problem.d, "n": n, "seed": seed}
    t0 = time.perf_counter()
    plug_value, plug_field = _plan_field(x, y)
    records = [
        _record(
            base,
            "exact LP (plug-in)",
            None,
            plug_value,
            plug_field,
            None,
            x,
            problem,
            ref_value,
            (plug_value, plug_field),
            {"seconds": time.perf_counter() - t0},
        )
    ]
    for i, lam in enumerate(s["lams"]):
        t0 = time.perf_counter()
        p = primal_estimate(problem, x, z, lam, s, seed * 100 + i)
        records.append(
            _record(
                base,
                f"primal lam={lam:g}",
                lam,
                p["value"],
                p["grad"],
                p["points"],
                x,
                problem,
                ref_value,
                (plug_value, plug_field),
                {"mmd": p["mmd"], "seconds": time.perf_counter() - t0},
            )
        )
    for constraint in ("clip", "gp"):
        t0 = time.perf_counter()
        dl = dual_estimate(problem, x, y, constraint, s, seed * 100 + 50)
        records.append(
            _record(
                base,
                f"dual-{constraint}",
                None,
                dl["value"],
                dl["grad"],
                None,
                x,
                problem,
                ref_value,
                (plug_value, plug_field),
                {"raw": dl["raw"], "slope": dl["slope"], "seconds": time.perf_counter() - t0},
            )
        )
    say(
        f"{problem.name} d={problem.d} n={n} seed={seed}: "
        + ", ".join(f"{r['estimator']}={r['value']:.3f}" for r in records)
        + f" (exact {ref_value:.3f})"
    )
    return records


# --------------------------------------------------------------------------- aggregate


def estimators(s: dict[str, Any]) -> list[str]:
    """Estimator names in table order: the plug-in LP, the primal sweep, the duals."""
    return ["exact LP (plug-in)", *[f"primal lam={lam:g}" for lam in s["lams"]], *DUALS]


KEYS = (
    "value",
    "rel_err_value",
    "rel_err_vs_plugin",
    "grad_lp_cos",
    "grad_lp_norm_ratio",
    "grad_lp_rel_err",
    "grad_pop_cos",
    "grad_pop_norm_ratio",
    "grad_pop_rel_err",
    "grad_mean_cos_pop",
    "raw",
    "slope",
    "mmd",
)


def aggregate(records: list[dict[str, Any]], s: dict[str, Any]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds per (problem, d, n, estimator)."""
    out = []
    for problem in s["problems"]:
        for d in s["dims"]:
            for n in s["sizes"]:
                for est in estimators(s):
                    rs = [
                        r
                        for r in records
                        if r["problem"] == problem
                        and r["d"] == d
                        and r["n"] == n
                        and r["estimator"] == est
                    ]
                    if not rs:
                        continue
                    row = {"problem": problem, "d": d, "n": n, "estimator": est, "seeds": len(rs)}
                    for k in KEYS:
                        vals = [r[k] for r in rs if r.get(k) is not None]
                        vals = [v for v in vals if isinstance(v, float) and math.isfinite(v)]
                        if vals:
                            row[k] = float(np.mean(vals))
                            row[k + "_sd"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
                    out.append(row)
    return out


# --------------------------------------------------------------------------- run


def run(ctx: Context) -> Outcome:
    """Run the experiment; figures are saved through ``ctx``, numbers returned."""
    s = ctx.settings
    records, refs = [], {}
    for pname in s["problems"]:
        for d in s["dims"]:
            problem = make_problem(pname, d, s)
            ref = reference(problem, s, ctx.seed * 1000 + 999)
            refs[f"{pname}/d={d}"] = {"description": problem.description, **ref}
            ctx.say(f"{pname} d={d}: exact W_1 = {ref['value']:.4f} ({ref['how']})")
            for n in s["sizes"]:
                for k in range(s["seeds"]):
                    seed = ctx.seed * 1000 + 17 * k + d + n
                    records += _one_config(problem, n, seed, ref["value"], s, ctx.say)
    table = aggregate(records, s)
    _figures(ctx, table)
    results = {"references": refs, "summary_table": table, "records": records}
    return Outcome(results, _conclusions(table, s), _summary(ctx, table, refs))


# --------------------------------------------------------------------------- report


COLORS = {
    "exact LP (plug-in)": "k",
    "dual-clip": "#9467bd",
    "dual-gp": "#d62728",
}
PRIMAL_COLORS = ["#aec7e8", "#1f77b4", "#17becf", "#08306b"]


def _color(est: str, s: dict[str, Any]) -> str:
    if est in COLORS:
        return COLORS[est]
    i = [f"primal lam={lam:g}" for lam in s["lams"]].index(est)
    return PRIMAL_COLORS[i % len(PRIMAL_COLORS)]


def _figures(ctx: Context, table: list[dict[str, Any]]) -> None:
    s = ctx.settings
    plt = pyplot()
    rows = [
        ("rel_err_value", "relative error of the value vs exact W_1"),
        ("grad_lp_cos", "gradient cosine vs exact LP plan"),
        ("grad_pop_cos", "gradient cosine vs population field"),
    ]
    fig, axes = plt.subplots(len(rows), len(s["problems"]), figsize=(6.2 * len(s["problems"]), 11))
    axes = np.atleast_2d(axes)
    styles = ["-", "--", ":"]
    for col, problem in enumerate(s["problems"]):
        for row, (key, label) in enumerate(rows):
            ax = axes[row, col]
            drew = False
            for est in estimators(s):
                for j, n in enumerate(s["sizes"]):
                    rs = [
                        r
                        for r in table
                        if r["problem"] == problem
                        and r["estimator"] == est
                        and r["n"] == n
                        and key in r
                    ]
                    if not rs:
                        continue
                    drew = True
                    ax.errorbar(
                        [r["d"] * (1 + 0.03 * j) for r in rs],
                        [r[key] for r in rs],
                        yerr=[r[key + "_sd"] for r in rs],
                        color=_color(est, s),
                        ls=styles[j % len(styles)],
                        marker="o",
                        ms=3,
                        capsize=2,
                        label=f"{est}, n={n}",
                    )
            if not drew:
                ax.set_visible(False)
                continue
            ax.set_xscale("log")
            ax.minorticks_off()
            ax.set_xticks(s["dims"])
            ax.set_xticklabels([str(d) for d in s["dims"]])
            if key == "rel_err_value":
                ax.axhline(0, color="gray", lw=0.8)
                ax.set_yscale("symlog", linthresh=0.1)
            else:
                ax.axhline(1, color="gray", lw=0.8)
                ax.set_ylim(-0.2, 1.05)
            ax.set_xlabel("dimension d")
            ax.set_title(f"{problem}: {label}", fontsize=10)
            if row == 0 and col == 0:
                ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    ctx.figure("primal_dual.png", fig)


def _row(table, problem, d, n, est):
    return next(
        (
            r
            for r in table
            if (r["problem"], r["d"], r["n"], r["estimator"]) == (problem, d, n, est)
        ),
        None,
    )


def _series(table, problem, n, est, key, pct=False) -> str:
    vals = []
    for d in sorted({r["d"] for r in table}):
        r = _row(table, problem, d, n, est)
        if r is None or key not in r:
            vals.append("-")
        elif pct:
            vals.append(f"{100 * r[key]:+.0f}%")
        else:
            vals.append(f"{r[key]:.2f}")
    return "/".join(vals)


def _conclusions(table: list[dict[str, Any]], s: dict[str, Any]) -> list[str]:
    n = max(s["sizes"])
    dims = "/".join(str(d) for d in s["dims"])
    out = []
    for problem in s["problems"]:
        parts = [
            f"{est} {_series(table, problem, n, est, 'rel_err_value', pct=True)}"
            for est in estimators(s)
        ]
        out.append(
            f"{problem}, n = {n}, relative error of the value at d = {dims}: "
            + "; ".join(parts)
            + "."
        )
        key = (
            "grad_pop_cos"
            if any("grad_pop_cos" in r for r in table if r["problem"] == problem)
            else "grad_lp_cos"
        )
        what = "the population gradient" if key == "grad_pop_cos" else "the exact LP plan"
        parts = [f"{est} {_series(table, problem, n, est, key)}" for est in estimators(s)]
        out.append(
            f"{problem}, n = {n}, per-point gradient cosine with {what} at d = {dims}: "
            + "; ".join(parts)
            + "."
        )
    return out


def _summary(ctx: Context, table: list[dict[str, Any]], refs: dict[str, Any]) -> str:
    s = ctx.settings
    lines = [
        f"Problems: {', '.join(s['problems'])}; d in {s['dims']}; n in {s['sizes']} points per "
        f"side; {s['seeds']} seed(s). Primal: residual-MLP encoder (hidden {s['hidden']}, depth "
        f"{s['depth']}), {s['primal_steps']} Adam steps of batch {s['batch']}, IMQ MMD penalty, "
        f"lambda in {s['lams']}. Dual: MLP critic (hidden {s['hidden']}, depth {s['depth'] + 1}), "
        f"{s['dual_steps']} steps (clipping: RMSProp, c = 0.01; gradient penalty: Adam, weight "
        "10), value divided by the critic's slope between the sets (`vegan.ot.dual.dual_w1`).",
        "",
        "### Exact values",
        "",
        md_table(
            ["problem", "exact W_1", "how", "sd", "LP at n/2", "data-vs-data LP"],
            [
                [
                    k,
                    v["value"],
                    v["how"],
                    v.get("sd"),
                    v.get("half_n_value"),
                    v.get("data_vs_data_floor"),
                ]
                for k, v in refs.items()
            ],
        ),
        "",
    ]
    for problem in s["problems"]:
        lines += [
            f"### {problem}: {refs[next(k for k in refs if k.startswith(problem))]['description']}",
            "",
        ]
        for key, label in (
            ("rel_err_value", "relative error of the value, (estimate - exact) / exact"),
            ("grad_lp_cos", "gradient cosine with the exact LP plan (per point, mean)"),
            ("grad_pop_cos", "gradient cosine with the population gradient v / |v|"),
            ("grad_mean_cos_pop", "cosine of the mean gradient (the gradient in v) with v / |v|"),
            ("grad_lp_norm_ratio", "gradient norm / exact norm (per point, mean)"),
            ("raw", "raw critic value E T(X) - E T(G(Z)) before normalization"),
        ):
            ests = estimators(s)
            rows = []
            for d in s["dims"]:
                for n in s["sizes"]:
                    row: list[Any] = [d, n]
                    have = False
                    for est in ests:
                        r = next(
                            (
                                r
                                for r in table
                                if (r["problem"], r["d"], r["n"], r["estimator"])
                                == (problem, d, n, est)
                            ),
                            None,
                        )
                        if r is None or key not in r:
                            row.append("-")
                            continue
                        have = True
                        sd = r.get(key + "_sd", 0.0)
                        row.append(f"{fmt(r[key], 3)} +- {fmt(sd, 2)}")
                    if have:
                        rows.append(row)
            if rows:
                lines += [
                    f"**{label}** (mean +- sd over seeds)",
                    "",
                    md_table(["d", "n", *ests], rows),
                    "",
                ]
    return "\n".join(lines)
