"""Small-n metrics logged every ``eval_every`` epochs (curves for reports), as a callback.

:class:`QuickEval` is a training callback (:mod:`vegan.train.callbacks`):
at the end of every ``eval_every``-th epoch it returns
``quick_metrics(model, run)``, which the loop writes as a line of
``metrics.jsonl``. ``quick_metrics`` compares :data:`QUICK_N` = 500 samples with
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


def heldout_for(run, n: int) -> torch.Tensor:
    """n held-out items of the run's dataset (the training data's when it has none)."""
    x = None
    try:
        info = json.loads((Path(run.run_dir) / "run.json").read_text(encoding="utf-8"))
        spec = info.get("data")
        if isinstance(spec, str) and spec not in ("array", "dataset", "dataloader"):
            from vegan.data import load_dataset

            toy = spec.lower().startswith("toy:")
            held = load_dataset(spec, "heldout", n=n if toy else None, seed=run.config.seed)
            x = held.head(n)
    except Exception:  # noqa: BLE001 - fall back to the training data, never stop training
        x = None
    if x is None or len(x) < 2:
        x = run.data[:n].detach().cpu()
    return x.float().cpu()


def quick_metrics(model, run, held: torch.Tensor | None = None) -> dict[str, float]:
    """Small-n metrics of ``model`` now (see the module docstring).

    ``run`` is the run's :class:`~vegan.train.callbacks.RunView`; ``held``
    the held-out items to compare with (read for the run when None).
    """
    held = heldout_for(run, QUICK_N) if held is None else held
    n = len(held)
    device = run.device
    seed = int(getattr(run.config, "seed", 0)) + 104729
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


class QuickEval:
    """Training callback: :func:`quick_metrics` every ``eval_every`` epochs (0: never)."""

    name = "quick evaluation"

    def __init__(self) -> None:
        self._held: torch.Tensor | None = None  # read once per run

    def on_epoch_end(self, run) -> dict[str, float] | None:
        every = run.options.eval_every
        epoch = int(round(run.epoch))
        if not every or epoch % every:
            return None
        if self._held is None:
            self._held = heldout_for(run, QUICK_N)
        return quick_metrics(run.model, run, self._held)


__all__ = ["QUICK_N", "QuickEval", "quick_metrics", "heldout_for"]
