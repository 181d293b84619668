"""Train a Wasserstein auto-encoder on 8 Gaussians, sample it, and measure it with exact W2.

    python examples/quickstart.py

The Python version of

    vegan train wae-mmd --data toy:8gaussians --out runs/examples/quickstart --steps 2000
    vegan sample runs/examples/quickstart --n 2000 --out samples.npy
    vegan distance samples.npy heldout.npy

Set VEGAN_DOCS_QUICK=1 for a few steps only (what the test suite does).
"""

import os

import torch

import vegan
from vegan.data import load_dataset, modes
from vegan.eval.metrics import mode_metrics

QUICK = os.environ.get("VEGAN_DOCS_QUICK", "") not in ("", "0")
STEPS = 5 if QUICK else 2000


def main() -> None:
    model, result = vegan.fit(
        "wae-mmd",
        "toy:8gaussians",
        "runs/examples/quickstart",
        steps=STEPS,
        overwrite=True,
        progress=not QUICK,
    )
    print(f"trained {result.step} steps in {result.seconds:.1f} s: {result.last}")

    held = load_dataset("toy:8gaussians", "heldout").x  # 2,000 fresh points
    samples = model.sample(len(held), generator=torch.Generator().manual_seed(0))
    w2sq = vegan.wasserstein(samples, held, cost="l2sq")
    real = load_dataset("toy:8gaussians", "train").x[: len(held)]
    print(
        f"exact W2^2 to held-out data: {w2sq:.4f} (two real samples: "
        f"{vegan.wasserstein(real, held, cost='l2sq'):.4f})"
    )

    centers, std = modes("8gaussians")
    print("modes:", mode_metrics(samples, centers, std))


if __name__ == "__main__":
    main()
