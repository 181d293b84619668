"""Pictures of samples: image grids (Pillow) and scatter plots of 2-D points (matplotlib)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch

from vegan.io import atomic_write_bytes


def image_grid(x: torch.Tensor | np.ndarray, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile images (n, C, H, W) in [0, 1] into one uint8 array (H', W') or (H', W', 3)."""
    x = torch.as_tensor(x).detach().float().cpu().clamp(0, 1)
    n, c, h, w = x.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    ncol = int(math.ceil(n / nrow))
    grid = torch.ones(c, ncol * (h + pad) + pad, nrow * (w + pad) + pad)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, top : top + h, left : left + w] = x[i]
    arr = (grid.numpy() * 255 + 0.5).astype(np.uint8)
    return arr[0] if c == 1 else arr[:3].transpose(1, 2, 0)


def png_bytes(arr: np.ndarray, scale: int = 1) -> bytes:
    """Encode a uint8 image array as PNG, optionally enlarged by an integer factor."""
    from PIL import Image

    img = Image.fromarray(arr)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def save_image_grid(
    x: torch.Tensor | np.ndarray, path: str | Path, nrow: int | None = None, scale: int = 2
) -> Path:
    """Write images (n, C, H, W) in [0, 1] as one PNG grid."""
    return atomic_write_bytes(path, png_bytes(image_grid(x, nrow), scale))


def scatter_png(
    points: np.ndarray, reference: np.ndarray | None = None, title: str = "", size: float = 4.0
) -> bytes:
    """PNG of a scatter plot of the first two coordinates, over optional reference points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    if reference is not None:
        ax.scatter(reference[:, 0], reference[:, 1], s=3, c="#bbbbbb", label="data")
    pts = np.asarray(points)
    ys = pts[:, 1] if pts.shape[1] > 1 else np.zeros(len(pts))
    ax.scatter(pts[:, 0], ys, s=3, c="#d62728", label="samples")
    if reference is not None:
        ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.set_aspect("equal", adjustable="datalim")
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def save_samples_picture(
    x: torch.Tensor | np.ndarray,
    path: str | Path,
    reference: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """Images as a grid, vectors as a scatter plot (first two coordinates)."""
    x = torch.as_tensor(x).detach().float().cpu()
    if x.dim() == 4:
        return save_image_grid(x, path)
    return atomic_write_bytes(path, scatter_png(x.reshape(len(x), -1).numpy(), reference, title))


class SamplePictures:
    """The run's pictures, as a training callback (:mod:`vegan.train.callbacks`).

    Every ``samples_every`` epochs and at the end: ``samples.png`` (and
    ``samples/epoch-NNNN.png``), a grid of 64 images or a scatter of 2,000
    points over the training data, from fixed codes (the same z every time);
    for auto-encoders on images, ``reconstructions.png`` (and ``recon/``):
    held-out inputs above their reconstructions. Drawing leaves the training
    RNG alone (a forked RNG and a generator of its own).

    Parameters
    ----------
    heldout : tensor, optional
        Inputs to reconstruct (the first 32 are used; the training data's
        first 32 when None).
    reference : array, optional
        Points drawn under 2-D samples (the training data).
    """

    name = "sample pictures"

    def __init__(self, heldout: torch.Tensor | None = None, reference=None) -> None:
        self.heldout, self.reference = heldout, reference

    def on_epoch_end(self, run) -> dict[str, Path] | None:
        every = run.options.samples_every
        epoch = int(round(run.epoch))  # called at the end of an epoch: a whole number
        if every and epoch % every == 0:
            return self.draw(run, epoch)
        return None

    def on_end(self, run) -> dict[str, Path]:
        return self.draw(run, None)

    def draw(self, run, epoch: int | None) -> dict[str, Path]:
        """Write the pictures of the model now (``epoch`` None: only the latest files).

        Returns the files written, ``{"samples": path, "reconstructions": path}``
        (the epoch's own files when ``epoch`` is given), for the callbacks after
        this one (:attr:`vegan.train.callbacks.RunView.pictures`).
        """
        model, device, data = run.model, run.device, run.data
        shown = (self.heldout if self.heldout is not None else data[:32])[:32]
        shown = shown.to(device, torch.float32)
        gen = torch.Generator().manual_seed(int(run.config.seed) + 7919)
        n = 64 if data.dim() == 4 else 2000
        devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # pictures leave the training RNG alone
            samples = model.sample(n, generator=gen, noise=None)
            recon = (
                model.reconstruct(shown) if model.encoder is not None and data.dim() == 4 else None
            )
        folder = Path(run.run_dir)
        tag = f"epoch-{epoch:04d}.png" if epoch is not None else None
        title = f"{model.recipe}, step {run.step}"
        targets = [folder / "samples.png"]
        if tag:
            (folder / "samples").mkdir(exist_ok=True)
            targets.append(folder / "samples" / tag)
        for t in targets:
            save_samples_picture(samples, t, reference=self.reference, title=title)
        written = {"samples": targets[-1]}
        if recon is not None:
            both = torch.cat([shown.cpu(), recon.cpu()])
            rtargets = [folder / "reconstructions.png"]
            if tag:
                (folder / "recon").mkdir(exist_ok=True)
                rtargets.append(folder / "recon" / tag)
            for t in rtargets:
                save_image_grid(both, t, nrow=16)
            written["reconstructions"] = rtargets[-1]
        return written
