"""Small-n metrics the training loop logs every ``eval_every`` epochs (curves for reports).

``quick_metrics(model, trainer)`` compares :data:`QUICK_N` = 500 samples with
500 held-out items (the run's dataset, read from ``run.json``; the training
data when the run has no held-out split, e.g. an in-memory array) and
returns, under ``eval/`` keys so they sit beside the players' losses in
``metrics.jsonl``:

* ``eval/w2sq`` exact W2^2 (``l2sq``) and ``eval/mmd`` MMD^2 (IMQ) in data space;
* ``eval/sharpness`` mean gradient magnitude of the samples (images);
* primal recipes: ``eval/recon_l2sq`` the held-out reconstruction cost and
  ``eval/codes_mmd`` MMD^2 between held-out codes and prior samples.

It leaves the training state alone: fixed generators, a forked RNG, and
the model's train/eval mode restored by the model's own methods.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from vegan.eval import metrics as M

QUICK_N = 500
_ATTR = "_vegan_quick_heldout"


def _heldout(trainer, n: int) -> torch.Tensor:
    """n held-out items for the trainer's run (cached on the trainer)."""
    cached = getattr(trainer, _ATTR, None)
    if cached is not None:
        return cached
    x = None
    try:
        info = json.loads((Path(trainer.run_dir) / "run.json").read_text(encoding="utf-8"))
        spec = info.get("data")
        if isinstance(spec, str) and spec != "array":
            from vegan.data import load_dataset

            toy = spec.lower().startswith("toy:")
            held = load_dataset(spec, "heldout", n=n if toy else None, seed=trainer.cfg.seed)
            x = held.x[:n]
    except Exception:  # noqa: BLE001 - fall back to the training data, never stop training
        x = None
    if x is None or len(x) < 2:
        x = trainer.x[:n].detach().cpu()
    x = x.float().cpu()
    setattr(trainer, _ATTR, x)
    return x


def quick_metrics(model, trainer) -> dict[str, float]:
    """Small-n metrics of ``model`` now (see the module docstring)."""
    held = _heldout(trainer, QUICK_N)
    n = len(held)
    device = trainer.device
    seed = int(getattr(trainer.cfg, "seed", 0)) + 104729
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        gen = model.sample(n, generator=torch.Generator(device=device).manual_seed(seed)).cpu()
        out = {
            "eval/w2sq": M.exact_cost(gen, held, "l2sq"),
            "eval/mmd": M.mmd_imq(gen, held, M.pixel_c_base(held)),
        }
        if held.dim() == 4:
            out["eval/sharpness"] = M.sharpness(gen)
        if model.encoder is not None:
            recon = model.reconstruct(held.to(device)).cpu()
            out["eval/recon_l2sq"] = float((recon - held).flatten(1).pow(2).sum(1).mean())
            codes = model.encode(held.to(device)).cpu()
            prior = model.prior
            pz = prior.sample(n, torch.Generator(device=prior.device).manual_seed(seed)).cpu()
            out["eval/codes_mmd"] = M.mmd_imq(codes, pz, 2.0 * prior.dim * prior.variance)
    return out


__all__ = ["QUICK_N", "quick_metrics"]
