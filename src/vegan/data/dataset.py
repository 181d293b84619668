"""The :class:`Dataset` container every loader returns."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from vegan.errors import ShapeError

KINDS = ("image", "vector")


@dataclass
class Dataset:
    """Samples of one split of a dataset, as tensors.

    Attributes
    ----------
    x : torch.Tensor
        float32, shape (n, d) for ``kind="vector"`` or (n, C, H, W) for
        ``kind="image"`` (values in [0, 1]).
    y : torch.Tensor or None
        int64 labels of shape (n,), or None.
    name : str
        The spec it was loaded from (``"mnist"``, ``"toy:8gaussians"``, a path).
    kind : str
        ``"image"`` or ``"vector"``.
    split : str
        ``"train"`` or ``"heldout"``.
    """

    x: torch.Tensor
    y: torch.Tensor | None
    name: str
    kind: str
    split: str

    def __post_init__(self) -> None:
        if not isinstance(self.x, torch.Tensor) or self.x.dtype != torch.float32:
            raise ShapeError(f"dataset '{self.name}': x must be a float32 tensor")
        if self.kind not in KINDS:
            raise ShapeError(f"dataset '{self.name}': kind must be 'image' or 'vector'")
        want = 4 if self.kind == "image" else 2
        if self.x.ndim != want:
            raise ShapeError(
                f"dataset '{self.name}': {self.kind} data must have {want} dimensions, "
                f"got shape {tuple(self.x.shape)}"
            )
        if self.y is not None and (
            self.y.dtype != torch.int64 or self.y.shape != (self.x.shape[0],)
        ):
            raise ShapeError(
                f"dataset '{self.name}': labels must be int64 of shape ({self.x.shape[0]},), "
                f"got {self.y.dtype} {tuple(self.y.shape)}"
            )

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample: ``(d,)`` or ``(C, H, W)``."""
        return tuple(self.x.shape[1:])

    @property
    def dim(self) -> int:
        """Number of values per sample (``d`` or ``C * H * W``)."""
        return math.prod(self.sample_shape)

    def __len__(self) -> int:
        return int(self.x.shape[0])
