r"""Why VAE samples are blurry: VAE and WAE-MMD on MNIST with the same networks and budget.

The paper's explanation (section 4): the VAE's penalty is the *per-sample*
KL(Q(Z|X=x), P_Z), which pulls every posterior Q(Z|X=x) toward the prior,
so the posteriors of different images overlap; at a code z the decoder that
minimizes the reconstruction loss outputs an average of the images whose
posteriors cover z - a blurred digit. A WAE constrains only the aggregate
Q_Z = E_X Q(Z|X) (here by MMD, eq. (12)), so Q(Z|X=x) may be a point and
the decoder need not average.

``vae`` (Gaussian encoder, Bernoulli decoder, KL) and ``wae-mmd``
(deterministic encoder and decoder, 0.05 |x - y|^2, lambda = 10 MMD) are
trained on the built-in MNIST with the same backbone, latent dimension,
batch, learning rate and number of steps. Then, on held-out images:

* **sharpness** (mean gradient magnitude, :func:`vegan.eval.metrics.sharpness`)
  of samples G(z), z ~ P_Z, and of reconstructions, against real digits;
* **feature-space Frechet distance** to held-out digits in the features of
  vegan's MNIST classifier (``vegan-mnist-cnn``; not Inception FID);
* **pixel W_2^2**: exact transport cost to held-out digits (network simplex),
  with the real-vs-real value as reference - pixel transport is known to
  reward blur, so it is read next to the two above;
* **the mechanism itself**: for the VAE, the share of latent variance that
  is per-sample posterior noise, E Var(Z|X) / Var(Z), and, at codes drawn
  from Q(Z|X=x), the effective number of training images whose posteriors
  cover the code (1 / sum_i w_i^2 with w_i proportional to q(z | x_i)) and the
  sharpness of their w-weighted average image, the output the
  reconstruction loss asks for. For both models, the exact W_2^2 between the
  codes and prior samples (how well the aggregate Q_Z matches P_Z).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vegan.experiments._common import Context, Outcome, exact_transport, md_table, pyplot, seeded

NAME = "blur"
TITLE = "Blur: VAE vs WAE-MMD on MNIST with the same networks and budget"
PAPER = (
    "Section 4 of Bousquet et al. (2017) (and Tolstikhin et al. 2018): the per-sample KL of "
    "the VAE, eq. (5), against the aggregate penalty of the WAE, eq. (12)"
)

RECIPES = ("vae", "wae-mmd")


def settings(quick: bool) -> dict[str, Any]:
    """The parameters of the full setting, or of the quick one (under a minute)."""
    if quick:
        return {
            "data": "mnist",
            "steps": 30,
            "backbone": "mlp",
            "hidden": 128,
            "depth": 2,
            "latent_dim": 8,
            "batch_size": 100,
            "lr": 1e-3,
            "n_eval": 200,
            "n_posterior_pool": 500,
            "features": "if cached",
        }
    return {
        "data": "mnist",
        "steps": 3000,
        "backbone": "mlp",
        "hidden": 512,
        "depth": 2,
        "latent_dim": 8,
        "batch_size": 100,
        "lr": 1e-3,
        "n_eval": 1000,
        "n_posterior_pool": 4000,
        "features": "always",
    }


def _features(ctx: Context):
    from vegan.eval.features import cache_paths, mnist_features

    if ctx.settings["features"] == "if cached" and not cache_paths()[0].is_file():
        return None
    return mnist_features(log=False)


def _train(ctx: Context, recipe: str, tmp: Path):
    import vegan

    s = ctx.settings
    opts = {
        "backbone": s["backbone"],
        "hidden": s["hidden"],
        "depth": s["depth"],
        "latent_dim": s["latent_dim"],
        "batch_size": s["batch_size"],
        "lr": s["lr"],
        "samples_every": 0,
        "checkpoint_every": s["steps"],
        "keep_checkpoints": 1,
        "log_every": max(1, s["steps"] // 10),
    }
    model, result = vegan.fit(
        recipe,
        s["data"],
        tmp / recipe,
        steps=s["steps"],
        seed=ctx.seed,
        sets=opts,
        progress=False,
        device="cpu",
    )
    ctx.say(f"trained {recipe}: {s['steps']} steps in {result.seconds:.0f} s, last {result.last}")
    return model, result


@torch.no_grad()
def _posterior_stats(model, x: torch.Tensor, pool: torch.Tensor, gen: torch.Generator):
    """Per-sample noise share, effective images per code, sharpness of the weighted average."""
    from vegan.eval.metrics import sharpness

    model.eval()
    enc = model.encoder(x)
    mean = enc.mean
    if enc.logvar is None:  # deterministic encoder: Q(Z|X=x) is a point
        return {"noise_share": 0.0, "posterior_std": 0.0, "effective_images": 1.0}
    var = enc.logvar.exp()
    noise_share = float(var.mean(0).sum() / (var.mean(0) + mean.var(0)).sum())
    pe = model.encoder(pool)
    m = min(len(x), 200)
    z = mean[:m] + var[:m].sqrt() * torch.randn(m, mean.shape[1], generator=gen)
    # log q(z | x_i) for every pool image x_i (diagonal Gaussians), then normalized weights.
    lq = -0.5 * (
        ((z[:, None, :] - pe.mean[None]) ** 2) / pe.logvar.exp()[None] + pe.logvar[None]
    ).sum(-1)
    w = torch.softmax(lq, dim=1)
    eff = 1.0 / w.pow(2).sum(1)
    avg = (w @ pool.reshape(len(pool), -1)).reshape(m, *pool.shape[1:])
    return {
        "noise_share": noise_share,
        "posterior_std": float(var.sqrt().mean()),
        "effective_images": float(eff.median()),
        "effective_images_mean": float(eff.mean()),
        "weighted_average_sharpness": sharpness(avg),
        "decoder_at_codes_sharpness": sharpness(model.decode(z)),
    }


def _evaluate(ctx: Context, model, held: torch.Tensor, pool: torch.Tensor, feats, ref) -> dict:
    from vegan.eval.frechet import frechet_distance
    from vegan.eval.metrics import sharpness

    n = len(held)
    gen = seeded(ctx.seed * 1000 + 11)
    samples = model.sample(n, generator=gen, noise=False)
    recon = model.reconstruct(held)
    out: dict[str, Any] = {
        "sharpness_samples": sharpness(samples),
        "sharpness_reconstructions": sharpness(recon),
        "pixel_w2sq_samples": exact_transport(samples, ref)[0],
        "pixel_w2sq_reconstructions": exact_transport(recon, ref)[0],
        "reconstruction_sq_error": float(((recon - held) ** 2).flatten(1).sum(1).mean()),
    }
    if feats is not None:
        f_ref = feats(ref)
        out["fd_samples"] = frechet_distance(feats(samples), f_ref)
        out["fd_reconstructions"] = frechet_distance(feats(recon), f_ref)
    codes = model.encode(held)
    out["codes_w2sq_to_prior"] = exact_transport(codes, model.prior.sample(n, gen))[0]
    # Sampling floor of that number: two independent prior samples of the same size.
    out["prior_w2sq_floor"] = exact_transport(
        model.prior.sample(n, gen), model.prior.sample(n, gen)
    )[0]
    out.update(_posterior_stats(model, held, pool, gen))
    return out, samples[:64], recon[:16]


def run(ctx: Context) -> Outcome:
    """Run the experiment; figures are saved through ``ctx``, numbers returned."""
    from vegan.data import load_dataset
    from vegan.eval.frechet import frechet_distance
    from vegan.eval.metrics import sharpness

    s = ctx.settings
    n = s["n_eval"]
    held_all = load_dataset(s["data"], "heldout").x
    train = load_dataset(s["data"], "train").x
    # Two disjoint held-out sets: 'held' (inputs to reconstruct), 'ref' (the target sample).
    half = min(n, len(held_all) // 2)
    held, ref = held_all[:half], held_all[half : 2 * half]
    pool = train[: s["n_posterior_pool"]]
    feats = _features(ctx)
    real = train[-len(ref) :]
    reference = {
        "sharpness_real": sharpness(ref),
        "pixel_w2sq_real_vs_real": exact_transport(real, ref)[0],
        "n": len(ref),
    }
    if feats is not None:
        reference["fd_real_vs_real"] = frechet_distance(feats(real), feats(ref))
        reference["feature_net_accuracy"] = feats.accuracy
    ctx.say(f"real-vs-real: {reference}")
    models, pics = {}, {}
    with tempfile.TemporaryDirectory(prefix="vegan-blur-") as tmp:
        for recipe in RECIPES:
            model, tr = _train(ctx, recipe, Path(tmp))
            ev, smp, rec = _evaluate(ctx, model, held, pool, feats, ref)
            ev["train_seconds"] = tr.seconds
            ev["last_losses"] = tr.last
            models[recipe] = ev
            pics[recipe] = (smp, rec)
            ctx.say(f"{recipe}: {ev}")
    _figure(ctx, held[:16], pics, models, reference)
    results = {"reference": reference, "models": models}
    return Outcome(results, _conclusions(models, reference), _summary(ctx, models, reference))


def _figure(ctx, inputs, pics, models, reference) -> None:
    from vegan.plots import image_grid

    plt = pyplot()
    fig = plt.figure(figsize=(15, 8.5))
    grid = fig.add_gridspec(2, 3, height_ratios=[2.2, 1.0], width_ratios=[1, 1, 1.15])
    for i, recipe in enumerate(RECIPES):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(image_grid(pics[recipe][0], nrow=8), cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{recipe}: samples G(z), z ~ P_Z", fontsize=10)
        ax.axis("off")
    ax = fig.add_subplot(grid[0, 2])
    keys = [("sharpness_samples", "samples"), ("sharpness_reconstructions", "reconstructions")]
    xs = np.arange(len(keys))
    for i, recipe in enumerate(RECIPES):
        ax.bar(xs + 0.3 * (i - 0.5), [models[recipe][k] for k, _ in keys], 0.3, label=recipe)
    ax.axhline(reference["sharpness_real"], color="k", ls="--", label="real digits")
    ax.set_xticks(xs)
    ax.set_xticklabels([lab for _, lab in keys])
    ax.set_title("sharpness (mean gradient magnitude)", fontsize=10)
    ax.legend(fontsize=8)
    ax = fig.add_subplot(grid[1, :])
    rows = torch.cat([inputs, pics["vae"][1], pics["wae-mmd"][1]])
    ax.imshow(image_grid(rows, nrow=len(inputs)), cmap="gray", vmin=0, vmax=255)
    ax.set_title("reconstructions - rows: held-out input, vae, wae-mmd", fontsize=10)
    ax.axis("off")
    fig.tight_layout()
    ctx.figure("blur.png", fig)


def _conclusions(models: dict, ref: dict) -> list[str]:
    v, w = models["vae"], models["wae-mmd"]
    out = [
        f"Sharpness (real digits {ref['sharpness_real']:.3f}): samples VAE "
        f"{v['sharpness_samples']:.3f} vs WAE-MMD {w['sharpness_samples']:.3f}; "
        f"reconstructions VAE {v['sharpness_reconstructions']:.3f} vs WAE-MMD "
        f"{w['sharpness_reconstructions']:.3f}.",
    ]
    if "fd_samples" in v:
        out.append(
            f"Feature-space Frechet distance to held-out digits (vegan-mnist-cnn features; "
            f"real vs real {ref['fd_real_vs_real']:.2f}): samples VAE {v['fd_samples']:.2f} vs "
            f"WAE-MMD {w['fd_samples']:.2f}; reconstructions VAE {v['fd_reconstructions']:.2f} "
            f"vs WAE-MMD {w['fd_reconstructions']:.2f}."
        )
    out.append(
        f"Pixel W_2^2 to held-out digits (real vs real {ref['pixel_w2sq_real_vs_real']:.2f}): "
        f"samples VAE {v['pixel_w2sq_samples']:.2f} vs WAE-MMD {w['pixel_w2sq_samples']:.2f}; "
        "pixel transport rewards smooth averages, so it is read with sharpness and features."
    )
    if "effective_images" in v and v.get("noise_share", 0) > 0:
        out.append(
            f"Mechanism: in the VAE, per-sample posterior noise is "
            f"{100 * v['noise_share']:.0f}% of the latent variance (posterior std "
            f"{v['posterior_std']:.2f}); a code drawn from Q(Z|X=x) is covered by the posteriors "
            f"of ~{v['effective_images']:.0f} training images (median effective number), whose "
            f"weighted average - what the reconstruction loss asks the decoder to output - has "
            f"sharpness {v['weighted_average_sharpness']:.3f} (the VAE decoder at those codes: "
            f"{v['decoder_at_codes_sharpness']:.3f}). The WAE's encoder is deterministic: one "
            f"image per code; its aggregate Q_Z is matched to P_Z up to W_2^2 = "
            f"{w['codes_w2sq_to_prior']:.3f} (VAE posterior means: {v['codes_w2sq_to_prior']:.3f})."
        )
    return out


def _summary(ctx: Context, models: dict, ref: dict) -> str:
    s = ctx.settings
    keys = [
        ("sharpness_samples", "sharpness of samples"),
        ("sharpness_reconstructions", "sharpness of reconstructions"),
        ("fd_samples", "FD (vegan-mnist-cnn) samples"),
        ("fd_reconstructions", "FD (vegan-mnist-cnn) reconstructions"),
        ("pixel_w2sq_samples", "pixel W_2^2 samples"),
        ("pixel_w2sq_reconstructions", "pixel W_2^2 reconstructions"),
        ("reconstruction_sq_error", "E |x - G(E(x))|^2"),
        ("codes_w2sq_to_prior", "W_2^2(codes, P_Z samples)"),
        ("prior_w2sq_floor", "W_2^2(P_Z samples, P_Z samples'), the floor"),
        ("noise_share", "E Var(Z|X) / Var(Z)"),
        ("effective_images", "images per code (median)"),
        ("weighted_average_sharpness", "sharpness of the posterior-weighted average"),
    ]
    real = {
        "sharpness_samples": ref["sharpness_real"],
        "sharpness_reconstructions": ref["sharpness_real"],
        "fd_samples": ref.get("fd_real_vs_real"),
        "fd_reconstructions": ref.get("fd_real_vs_real"),
        "pixel_w2sq_samples": ref["pixel_w2sq_real_vs_real"],
        "pixel_w2sq_reconstructions": ref["pixel_w2sq_real_vs_real"],
    }
    rows = [
        [label, models["vae"].get(k), models["wae-mmd"].get(k), real.get(k)]
        for k, label in keys
        if k in models["vae"] or k in models["wae-mmd"]
    ]
    lines = [
        f"Both models: {s['backbone']} backbone (hidden {s['hidden']}, depth {s['depth']}), "
        f"latent dimension {s['latent_dim']}, batch {s['batch_size']}, Adam lr {s['lr']}, "
        f"{s['steps']} steps, seed {ctx.seed}; each recipe's own defaults otherwise (VAE: "
        "Gaussian encoder, Bernoulli decoder, KL weight 1; WAE-MMD: deterministic encoder and "
        "decoder, cost 0.05 |x - y|^2, IMQ MMD with lambda = 10). Metrics on "
        f"{ref['n']} held-out digits; samples are the decoder's mean G(z).",
        "",
        md_table(["metric", "vae", "wae-mmd", "real digits"], rows),
        "",
    ]
    if "fd_samples" not in models["vae"]:
        lines += [
            "(Feature-space distances skipped: the quick setting uses the feature network only "
            "when it is already cached.)",
            "",
        ]
    return "\n".join(lines)
