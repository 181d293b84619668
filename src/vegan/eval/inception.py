"""Inception FID through torch-fidelity, when it and its weights are available.

vegan never downloads during an evaluation: the Inception-v3 weights must
already be in torch hub's checkpoint cache (where torch-fidelity puts them
the first time it runs online) or at the path in ``$VEGAN_INCEPTION_WEIGHTS``.
Otherwise the metric is skipped with a one-line reason. Grey images are
repeated to three channels and quantized to uint8, as torch-fidelity expects.
On a CPU this network is slow (about a minute per thousand images).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"


def weights_path() -> Path | None:
    """The Inception weights file if present locally, else None."""
    env = os.environ.get("VEGAN_INCEPTION_WEIGHTS")
    if env:
        p = Path(env).expanduser()
        return p if p.is_file() else None
    p = Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE
    return p if p.is_file() else None


def unavailable() -> str | None:
    """Why Inception FID cannot be computed here, or None when it can."""
    if importlib.util.find_spec("torch_fidelity") is None:
        return "torch-fidelity is not installed (pip install 'vegan-cookbook[fid]')"
    if weights_path() is None:
        return (
            f"Inception weights not found ({WEIGHTS_FILE} in torch hub's cache or "
            "$VEGAN_INCEPTION_WEIGHTS); vegan does not download them during evaluation"
        )
    return None


class _Images(torch.utils.data.Dataset):
    def __init__(self, x: torch.Tensor) -> None:
        x = torch.as_tensor(x).detach().cpu().float().clamp(0, 1)
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        self.x = (x * 255 + 0.5).to(torch.uint8)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.x[i]


def inception_fid(gen: torch.Tensor, data: torch.Tensor) -> float:
    """Inception FID between images ``gen`` and ``data`` (n, C, H, W) in [0, 1]."""
    import torch_fidelity

    out = torch_fidelity.calculate_metrics(
        input1=_Images(gen),
        input2=_Images(data),
        fid=True,
        cuda=torch.cuda.is_available(),
        feature_extractor_weights_path=str(weights_path()),
        cache=False,
        verbose=False,
        samples_shuffle=False,
    )
    return float(out["frechet_inception_distance"])


__all__ = ["inception_fid", "unavailable", "weights_path"]
