"""The cookbook on 8 Gaussians: train several recipes with the same budget, then measure them.

    python examples/compare_recipes_toy.py [RECIPE ...]

For each recipe (default: ae, vae, wae-mmd, swae, wae-gan, wgan-gp):
exact W2^2 between 2,000 samples and 2,000 held-out points, modes covered
and the share of high-quality samples (within 3 standard deviations of a
mode), and the training time. A 2-D scatter of every recipe's samples is
written to compare_recipes_toy.png.
"""

import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import vegan  # noqa: E402
from vegan.data import load_dataset, modes  # noqa: E402
from vegan.eval.metrics import mode_metrics  # noqa: E402

QUICK = os.environ.get("VEGAN_DOCS_QUICK", "") not in ("", "0")
STEPS = 3 if QUICK else 2000
DEFAULT = ("ae", "vae") if QUICK else ("ae", "vae", "wae-mmd", "swae", "wae-gan", "wgan-gp")


def main(recipes) -> None:
    held = load_dataset("toy:8gaussians", "heldout").x
    centers, std = modes("8gaussians")
    fig, axes = plt.subplots(1, len(recipes), figsize=(3 * len(recipes), 3), squeeze=False)
    print(f"{'recipe':10s} {'W2^2':>8s} {'modes':>6s} {'quality':>8s} {'seconds':>8s}")
    for ax, name in zip(axes[0], recipes):
        t0 = time.perf_counter()
        model, _ = vegan.fit(
            name,
            "toy:8gaussians",
            f"runs/examples/toy-{name}",
            steps=STEPS,
            overwrite=True,
            progress=False,
        )
        seconds = time.perf_counter() - t0
        x = model.sample(len(held), generator=torch.Generator().manual_seed(0))
        m = mode_metrics(x, centers, std)
        w2sq = vegan.wasserstein(x, held, cost="l2sq")
        print(
            f"{name:10s} {w2sq:8.4f} {m['modes_covered']:6.0f} {m['high_quality']:8.2f} "
            f"{seconds:8.1f}"
        )
        ax.scatter(held[:, 0], held[:, 1], s=2, c="0.7")
        ax.scatter(x[:, 0], x[:, 1], s=2, c="tab:red")
        ax.set_title(f"{name}: W2² {w2sq:.3f}")
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
    fig.tight_layout()
    fig.savefig("compare_recipes_toy.png", dpi=100)
    print("wrote compare_recipes_toy.png")


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)
