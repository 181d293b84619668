"""Look inside an auto-encoder trained on a 2-D toy: its codes, its samples, its decoder's map.

    .venv/bin/python bench/toy_codes.py RUN_DIR OUT.png [--data 8gaussians]

Three panels, for a run with a 2-D latent space (``vegan train ... --data
toy:8gaussians``, or a folder kept by ``bench_quality_toy.py --keep``):

* the codes of 2,000 held-out points, coloured by the mode they come from,
  over 2,000 prior draws (grey): a posterior collapsed onto a point shows
  as a dot, a good WAE as coloured regions tiling the grey cloud;
* 2,000 samples (decoder noise included, as ``vegan eval`` scores them) and
  the modes (red);
* the decoder's map of the code space: for G(z) on a grid of codes, the mode
  it lands within 3 std of (colour) or none (black).

Prints each mode's code spread (mean std of its codes) and the codes' std.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

import vegan  # noqa: E402
from vegan.data import load_dataset, modes  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("run", help="a run folder (run.json and checkpoints/)")
    ap.add_argument("out", help="the PNG to write")
    ap.add_argument("--data", default="8gaussians", help="8gaussians or 25gaussians")
    a = ap.parse_args()
    torch.set_num_threads(1)
    model = vegan.load(a.run)
    model.eval()
    centers, std = modes(a.data)
    x = load_dataset(f"toy:{a.data}", split="heldout", seed=0).x[:2000].float()
    with torch.no_grad():
        z = model.encoder(x).z.numpy()
        prior = model.prior.sample(2000).numpy()
        samples = model.sample(2000, generator=torch.Generator().manual_seed(1)).numpy()
    if z.shape[1] != 2:
        raise SystemExit(f"the codes have {z.shape[1]} dimensions; this picture needs 2")
    label = np.linalg.norm(x.numpy()[:, None] - centers[None], axis=2).argmin(1)
    spread = [z[label == k].std(0).mean() for k in range(len(centers))]
    print("per-mode code std", np.round(spread, 3), "codes std", z.std(0).round(3))

    k = len(centers)
    colours = plt.get_cmap("tab20" if k > 10 else "tab10")(np.arange(k) % 20)
    fig, ax = plt.subplots(1, 3, figsize=(15, 5))
    ax[0].scatter(*prior.T, s=2, c="lightgray")
    ax[0].scatter(*z.T, s=2, c=colours[label])
    ax[0].set_title("codes by mode (grey: prior draws)")
    lim = np.abs(centers).max() * 1.5
    ax[1].scatter(*samples.T, s=2)
    ax[1].scatter(*centers.T, c="r", s=10)
    ax[1].set(xlim=(-lim, lim), ylim=(-lim, lim), title="samples (red: modes)")
    g = torch.linspace(-3, 3, 200)
    grid = torch.stack(torch.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2)
    with torch.no_grad():
        means = model.decoder(grid)
    means = (means if isinstance(means, torch.Tensor) else means.mean).numpy()
    d = np.linalg.norm(means[:, None] - centers[None], axis=2)
    img = np.where(d.min(1) <= 3 * std, d.argmin(1), -1).reshape(200, 200)
    cmap = ListedColormap(np.vstack([[0, 0, 0, 1], colours]))
    ax[2].imshow(img + 1, origin="lower", extent=(-3, 3, -3, 3), cmap=cmap, vmin=0, vmax=k)
    ax[2].set_title("decoder: the mode G(z) lands on (black: none)")
    fig.suptitle(Path(a.run).name)
    fig.tight_layout()
    fig.savefig(a.out, dpi=70)


if __name__ == "__main__":
    main()
