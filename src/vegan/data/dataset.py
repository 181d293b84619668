"""The :class:`Dataset` container every loader returns."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from vegan.data.items import ArrayItems, Items, to_float
from vegan.errors import ShapeError

KINDS = ("image", "vector")


class Dataset:
    """Samples of one split of a dataset: a float32 tensor, or items read as stored.

    ``Dataset(x, y, name, kind, split)`` wraps a float32 tensor (images in
    [0, 1]). ``Dataset(None, y, name, kind, split, items=items)`` wraps
    :class:`~vegan.data.items.Items` (a memory-mapped ``.npy``, an image
    folder, a user's torch Dataset, uint8 arrays): the samples stay as stored
    (uint8 images stay uint8) and training reads them batch by batch.

    Read float32 samples with :meth:`head` (the first ``n``) or :meth:`take`
    (any of them); :attr:`x` is every sample as one float32 tensor, made on
    first use (a :class:`~vegan.errors.ResourceError` when it would not fit in
    memory: use ``head``/``take`` on large data).

    Attributes
    ----------
    y : torch.Tensor or None
        int64 labels of shape (n,), or None.
    name : str
        The spec it was loaded from (``"mnist"``, ``"toy:8gaussians"``, a path).
    kind : str
        ``"image"`` or ``"vector"``.
    split : str
        ``"train"`` or ``"heldout"``.
    fingerprint : dict or None
        The file list's fingerprint of a file or folder dataset
        (:func:`vegan.data.files.fingerprint`), checked when a run resumes.
    """

    def __init__(
        self,
        x: torch.Tensor | None,
        y: torch.Tensor | None,
        name: str,
        kind: str,
        split: str,
        *,
        items: Items | None = None,
        fingerprint: dict[str, Any] | None = None,
    ) -> None:
        self.name, self.kind, self.split = name, kind, split
        self.fingerprint = fingerprint
        self._x: torch.Tensor | None = None
        self._items = items
        if self.kind not in KINDS:
            raise ShapeError(f"dataset '{self.name}': kind must be 'image' or 'vector'")
        if items is None:
            self._set_x(x)
        elif items.kind != kind:
            raise ShapeError(f"dataset '{name}': kind must be its items' ({items.kind})")
        n = len(self)
        if y is not None and (y.dtype != torch.int64 or tuple(y.shape) != (n,)):
            raise ShapeError(
                f"dataset '{self.name}': labels must be int64 of shape ({n},), "
                f"got {y.dtype} {tuple(y.shape)}"
            )
        self.y = y

    def _set_x(self, x: Any) -> None:
        if not isinstance(x, torch.Tensor) or x.dtype != torch.float32:
            raise ShapeError(f"dataset '{self.name}': x must be a float32 tensor")
        want = 4 if self.kind == "image" else 2
        if x.ndim != want:
            raise ShapeError(
                f"dataset '{self.name}': {self.kind} data must have {want} dimensions, "
                f"got shape {tuple(x.shape)}"
            )
        self._x = x

    # ------------------------------------------------------------------ samples
    @property
    def x(self) -> torch.Tensor:
        """Every sample as one float32 tensor (read from the items once, memory permitting)."""
        if self._x is None:
            from vegan.resources import check_allocation

            items = self._items
            check_allocation(
                len(items) * math.prod(items.sample_shape) * 4,
                "cpu",
                f"dataset '{self.name}' as one float32 array ({len(items):,} samples)",
                "read parts of it with Dataset.head(n) or Dataset.take(idx)",
            )
            self._x = self._float(items.read(np.arange(len(items))))
        return self._x

    @x.setter
    def x(self, value: torch.Tensor) -> None:
        self._set_x(value)
        self._items = None

    @property
    def items(self) -> Items:
        """The samples as stored (an in-memory float32 array for a tensor dataset)."""
        if self._items is None:
            self._items = ArrayItems(self._x.detach().numpy(), f"dataset '{self.name}'")
        return self._items

    @property
    def is_tensor(self) -> bool:
        """Whether the samples are one float32 tensor (made with ``x``, or :attr:`x` read)."""
        return self._x is not None

    @property
    def in_memory(self) -> bool:
        """Whether every sample is in memory (a tensor, or an in-memory array)."""
        return self._x is not None or self._items.in_memory

    def stored(self) -> torch.Tensor:
        """Every sample as stored (float32, or uint8 images), for in-memory data only."""
        if self._x is not None:
            return self._x
        if not self._items.in_memory:
            raise ShapeError(f"dataset '{self.name}' is read on demand; use head() or take()")
        return torch.from_numpy(self._items.read(np.arange(len(self))))

    def take(self, idx: Any) -> torch.Tensor:
        """Samples ``idx`` as a float32 tensor (images in [0, 1])."""
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        if self._x is not None:
            return self._x[torch.from_numpy(idx)]
        return self._float(self._items.read(idx))

    def head(self, n: int) -> torch.Tensor:
        """The first ``n`` samples (all when fewer) as a float32 tensor."""
        n = min(int(n), len(self))
        if self._x is not None:
            return self._x[:n]
        return self._float(self._items.read(np.arange(n)))

    def first(self, n: int) -> Dataset:
        """A dataset of the first ``n`` samples (all when fewer), sharing the storage."""
        n = min(int(n), len(self))
        y = None if self.y is None else self.y[:n]
        if self._x is not None:
            return Dataset(self._x[:n], y, self.name, self.kind, self.split)
        return Dataset(
            None, y, self.name, self.kind, self.split, items=self._items.subset(slice(0, n))
        )

    @staticmethod
    def _float(a: np.ndarray) -> torch.Tensor:
        return to_float(torch.from_numpy(np.ascontiguousarray(a)))

    # ------------------------------------------------------------------ shape
    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample: ``(d,)`` or ``(C, H, W)``."""
        if self._x is not None:
            return tuple(self._x.shape[1:])
        return tuple(self._items.sample_shape)

    @property
    def dim(self) -> int:
        """Number of values per sample (``d`` or ``C * H * W``)."""
        return math.prod(self.sample_shape)

    def __len__(self) -> int:
        return int(self._x.shape[0]) if self._x is not None else len(self._items)

    def __repr__(self) -> str:
        where = "in memory" if self.in_memory else f"read from {type(self._items).__name__}"
        return (
            f"Dataset(name={self.name!r}, split={self.split!r}, kind={self.kind!r}, "
            f"n={len(self)}, sample_shape={self.sample_shape}, {where})"
        )
