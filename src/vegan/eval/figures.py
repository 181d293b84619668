"""The pictures of a report, each returned as PNG bytes.

* :func:`samples_png` - a grid of samples (images) or a scatter over the data (vectors);
* :func:`reconstructions_png` - held-out inputs with their reconstructions below;
* :func:`interpolations_png` - decoded straight lines between codes of held-out pairs;
* :func:`codes_png` - codes of held-out data against prior samples (2-D, or PCA to 2-D);
* :func:`curves_png` - losses and logged metrics over training, from ``metrics.jsonl``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from vegan.plots import image_grid, png_bytes, scatter_png


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fig_bytes(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    _plt().close(fig)
    return buf.getvalue()


def samples_png(
    samples: torch.Tensor, heldout: torch.Tensor | None = None, title: str = ""
) -> bytes:
    """64 image samples as an 8x8 grid, or vector samples over held-out data."""
    x = torch.as_tensor(samples).float().cpu()
    if x.dim() == 4:
        return png_bytes(image_grid(x[:64], nrow=8), scale=2)
    ref = None if heldout is None else torch.as_tensor(heldout).reshape(len(heldout), -1).numpy()
    return scatter_png(x.reshape(len(x), -1).numpy(), ref, title)


def reconstructions_png(inputs: torch.Tensor, recon: torch.Tensor, per_row: int = 12) -> bytes:
    """Images: rows of inputs, each followed by the row of their reconstructions.
    Vectors: the reconstructions scattered over the inputs."""
    x, r = torch.as_tensor(inputs).float().cpu(), torch.as_tensor(recon).float().cpu()
    if x.dim() != 4:
        return scatter_png(
            r.reshape(len(r), -1).numpy(), x.reshape(len(x), -1).numpy(), "reconstructions"
        )
    rows = []
    for i in range(0, len(x), per_row):
        rows += [x[i : i + per_row], r[i : i + per_row]]
    return png_bytes(image_grid(torch.cat(rows), nrow=per_row), scale=2)


def interpolations_png(model, x: torch.Tensor, pairs: int = 8, steps: int = 10) -> bytes:
    """Decode z_t = (1 - t) E(a) + t E(b) for ``pairs`` held-out pairs (a, b), t in [0, 1].

    Each row starts with the input a and ends with the input b. Recipes
    without an encoder interpolate between prior samples instead.
    """
    t = torch.linspace(0, 1, steps)[None, :, None]
    if model.encoder is not None:
        ends = torch.as_tensor(x[: 2 * pairs]).float().cpu()
        z = model.encode(ends).cpu()
    else:
        ends = None
        g = torch.Generator(device=model.prior.device).manual_seed(1)
        z = model.prior.sample(2 * pairs, g).cpu()
    a, b = z[0::2][:pairs, None, :], z[1::2][:pairs, None, :]
    path = ((1 - t) * a + t * b).reshape(-1, z.shape[1])
    imgs = model.decode(path).cpu().reshape(pairs, steps, *x.shape[1:])
    if ends is not None:
        imgs = torch.cat([ends[0::2][:pairs, None], imgs, ends[1::2][:pairs, None]], dim=1)
    return png_bytes(image_grid(imgs.flatten(0, 1), nrow=imgs.shape[1]), scale=2)


def pca_2d(*sets: np.ndarray) -> list[np.ndarray]:
    """Project every set onto the top two principal axes of the first set (centred on it)."""
    base = np.asarray(sets[0], dtype=np.float64)
    mean = base.mean(0)
    _, _, vt = np.linalg.svd(base - mean, full_matrices=False)
    axes = vt[:2].T
    return [(np.asarray(s, dtype=np.float64) - mean) @ axes for s in sets]


def codes_png(codes, prior, labels=None, title: str = "") -> bytes:
    """Scatter of held-out codes (coloured by label when known) over prior samples.

    Codes of more than two dimensions are shown in the plane of the prior
    samples' top two principal axes (PCA fitted on the prior samples).
    """
    c = np.asarray(torch.as_tensor(codes).float().cpu())
    p = np.asarray(torch.as_tensor(prior).float().cpu())
    d = c.shape[1]
    if d == 1:
        c, p = np.c_[c, np.zeros(len(c))], np.c_[p, np.zeros(len(p))]
        axes_label = ("z", "")
    elif d == 2:
        axes_label = ("z1", "z2")
    else:
        p, c = pca_2d(p, c)
        axes_label = ("PC 1 (prior)", "PC 2 (prior)")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 4.2), dpi=100)
    ax.scatter(p[:, 0], p[:, 1], s=3, c="#c8c8c8", label="prior samples")
    if labels is not None:
        lab = np.asarray(torch.as_tensor(labels).cpu())
        sc = ax.scatter(c[:, 0], c[:, 1], s=3, c=lab, cmap="tab10", vmin=-0.5, vmax=9.5)
        cb = fig.colorbar(sc, ax=ax, ticks=range(10), fraction=0.046, pad=0.03)
        cb.set_label("label", fontsize=7)
        cb.ax.tick_params(labelsize=6)
    else:
        ax.scatter(c[:, 0], c[:, 1], s=3, c="#d62728", label="codes of held-out data")
    ax.legend(loc="upper right", fontsize=7, markerscale=2)
    ax.set_xlabel(axes_label[0], fontsize=8)
    ax.set_ylabel(axes_label[1], fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title or f"codes vs prior (d_z = {d})", fontsize=9)
    return _fig_bytes(fig)


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The records of ``RUN/metrics.jsonl`` (unreadable lines skipped)."""
    path = Path(run_dir) / "metrics.jsonl"
    out = []
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "step" in rec:
            out.append(rec)
    return out


def curve_keys(records: list[dict]) -> list[str]:
    """Keys worth a curve: players' loss terms and ``eval/`` metrics (no learning rates)."""
    keys: list[str] = []
    for rec in records:
        for k, v in rec.items():
            if "/" in k and not k.endswith("/lr") and isinstance(v, (int, float)) and k not in keys:
                keys.append(k)
    return sorted(keys, key=lambda k: (k.startswith("eval/"), k))


def curves_png(records: list[dict], title: str = "", cols: int = 3) -> bytes | None:
    """One small panel per loss term and per logged metric, against the training step."""
    keys = curve_keys(records)
    if not keys:
        return None
    rows = math.ceil(len(keys) / cols)
    plt = _plt()
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.3 * rows), dpi=100, squeeze=False)
    for ax, key in zip(axes.flat, keys):
        pts = [
            (r["step"], r[key])
            for r in records
            if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])
        ]
        if not pts:
            ax.set_visible(False)
            continue
        s, v = zip(*pts)
        ax.plot(
            s,
            v,
            "-o" if len(s) < 30 else "-",
            ms=2.5,
            lw=1.2,
            color="#1f77b4" if not key.startswith("eval/") else "#2ca02c",
        )
        if min(v) > 0 and max(v) / min(v) > 100:
            ax.set_yscale("log")
        ax.set_title(key, fontsize=8)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=9)
    return _fig_bytes(fig)


__all__ = [
    "codes_png",
    "curves_png",
    "interpolations_png",
    "pca_2d",
    "read_metrics",
    "reconstructions_png",
    "samples_png",
]
