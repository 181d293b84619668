"""Items as stored: where the samples of one split live, and how a batch of them is read.

A dataset is never turned into one float32 array to be trained on. Its
items stay as they are stored and :meth:`Items.read` returns the few a batch
needs, as a NumPy array ``(k, *sample_shape)`` of the stored dtype:

* :class:`ArrayItems`: a NumPy array in memory (``.npz`` files, user
  arrays) or memory-mapped from a ``.npy`` file (``np.load(mmap_mode="r")``):
  only the rows of a batch are paged in (``MADV_RANDOM``: no read-ahead
  around them), and the map's pages are handed back after each batch, so
  the resident memory stays bounded however large the file;
* :class:`FolderItems`: png/jpg files decoded by Pillow when read;
* :class:`TorchItems`: a user's map-style ``torch.utils.data.Dataset``.

8-bit images are read as uint8 and become floats in [0, 1] only on the
training device (:func:`to_float`: v / 255, the same float32 values as
dividing in NumPy); everything else is read as float32. A split is an index
mapping (:attr:`Items.index`), never a copy. Items are picklable, so that a
``DataLoader``'s workers each get a copy (a memory map is opened again from
its path).
"""

from __future__ import annotations

import copy
import math
import mmap
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vegan.errors import DataError, ShapeError

__all__ = [
    "ArrayItems",
    "FolderItems",
    "Items",
    "TorchItems",
    "array_layout",
    "to_float",
]

#: Bytes per chunk when every value of a split is checked.
CHUNK_BYTES = 32 * 2**20


def to_float(batch: torch.Tensor) -> torch.Tensor:
    """A batch as float32: uint8 v -> v / 255 (images in [0, 1]); float32 unchanged.

    Called once the batch is on its device. IEEE division is correctly
    rounded, so the values equal NumPy's ``a.astype(np.float32) / np.float32(255)``
    bit for bit.
    """
    if batch.dtype == torch.uint8:
        return batch.to(torch.float32).div_(255.0)
    return batch if batch.dtype == torch.float32 else batch.to(torch.float32)


def array_layout(shape: tuple[int, ...], source: str) -> tuple[str, tuple[int, ...]]:
    """How an array's axes map to samples: (layout, sample shape).

    ``(n, d)`` -> ``"vector"``; ``(n, H, W)`` -> ``"nhw"`` (grey images);
    ``(n, C, H, W)`` -> ``"nchw"``; ``(n, H, W, C)`` with C in {1, 3} and the
    second axis not 1 or 3 -> ``"nhwc"`` (transposed when read). Other ranks
    are a :class:`ShapeError`, an empty array a :class:`DataError`.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        raise ShapeError(
            f"{source} has shape {shape}; expected (n, d) vectors or (n, C, H, W) images "
            "(for one-dimensional data save x[:, None])"
        )
    if len(shape) not in (2, 3, 4):
        raise ShapeError(
            f"{source} has {len(shape)} dimensions (shape {shape}); expected (n, d) vectors "
            "or (n, C, H, W) images"
        )
    if math.prod(shape) == 0:
        raise DataError(f"{source} is empty (shape {shape}); give at least one sample")
    if len(shape) == 2:
        return "vector", shape[1:]
    if len(shape) == 3:
        return "nhw", (1, *shape[1:])
    if shape[1] not in (1, 3) and shape[3] in (1, 3):
        return "nhwc", (shape[3], shape[1], shape[2])
    return "nchw", shape[1:]


class Items:
    """The items of one split, read on demand (base class).

    Attributes
    ----------
    name : str
        What the items are called in messages (``"'data.npy'"``, ``"folder 'imgs'"``).
    kind : str
        ``"image"`` or ``"vector"``.
    sample_shape : tuple of int
        ``(C, H, W)`` or ``(d,)``.
    dtype : numpy.dtype
        What :meth:`read` returns: uint8 (8-bit images) or float32.
    in_memory : bool
        Reading is a copy from memory (no decoding, no disk): such items may
        be held whole on the training device.
    index : numpy.ndarray or None
        This split's stored item numbers (None: all, in order).
    """

    name: str = "data"
    kind: str = "vector"
    sample_shape: tuple[int, ...] = ()
    dtype: np.dtype = np.dtype(np.float32)
    in_memory: bool = False

    def __init__(self, count: int) -> None:
        self.count = int(count)
        self.index: np.ndarray | None = None

    def __len__(self) -> int:
        return self.count if self.index is None else int(self.index.size)

    def rows(self, idx: Any) -> np.ndarray:
        """Stored item numbers of this view's items ``idx``."""
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        return idx if self.index is None else self.index[idx]

    def subset(self, idx: Any) -> Items:
        """A view on items ``idx`` (positions, a slice or a mask) of this one, same storage."""
        out = copy.copy(self)
        out.index = self.rows(np.arange(len(self), dtype=np.int64)[idx])
        return out

    def read(self, idx: Any) -> np.ndarray:
        """Items ``idx`` (positions in this view) as ``(k, *sample_shape)`` of :attr:`dtype`."""
        rows = self.rows(idx)
        if rows.size == 0:
            return np.zeros((0, *self.sample_shape), self.dtype)
        return self._read(rows)

    def _read(self, rows: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def item_name(self, row: int) -> str:
        """How stored item ``row`` is named in messages."""
        return f"item {int(row)} of {self.name}"


def _float_checked(a: np.ndarray, kind: str, where: Any) -> np.ndarray:
    """float32 copy of a numeric batch: finite values, and images in [0, 1].

    ``where(i)`` names the i-th item of the batch in the message.
    """
    if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
        bad = int(np.argmax(~np.isfinite(a).reshape(len(a), -1).all(1)))
        raise DataError(f"{where(bad)} contains NaN or inf values; remove or replace it")
    with np.errstate(over="ignore"):
        x = a.astype(np.float32)
    if not np.all(np.isfinite(x)):
        bad = int(np.argmax(~np.isfinite(x).reshape(len(x), -1).all(1)))
        raise DataError(f"{where(bad)} has values too large for float32; rescale it")
    if kind == "image" and x.size and (x.min() < 0 or x.max() > 1):
        flat = x.reshape(len(x), -1)
        bad = int(np.argmax((flat.min(1) < 0) | (flat.max(1) > 1)))
        lo, hi = float(flat[bad].min()), float(flat[bad].max())
        raise DataError(
            f"{where(bad)} has values in [{lo:.4g}, {hi:.4g}]; images must be in [0, 1] "
            "(uint8 0..255 is scaled automatically)"
        )
    return x


class ArrayItems(Items):
    """Items of a NumPy array, in memory or memory-mapped from a ``.npy`` file.

    uint8 arrays are read as uint8; every other numeric dtype is converted to
    float32 when read (booleans become 0/1). A memory-mapped array is never
    read whole: a batch copies its rows out of the map (NumPy's fancy
    indexing), and then the map's pages are handed back to the operating
    system with ``madvise(MADV_DONTNEED)`` (they stay in its file cache): a
    fault on a mapped file maps more than the row asked for (read-ahead,
    large page-cache folios of up to 2 MiB), which would otherwise add up,
    batch after batch, to the size of the file.

    Parameters
    ----------
    array : numpy.ndarray
        ``(n, d)``, ``(n, H, W)``, ``(n, C, H, W)`` or ``(n, H, W, C)`` (see
        :func:`array_layout`); an ``np.memmap`` for a mapped file.
    name : str
        The array in messages.
    path : path, optional
        The ``.npy`` file of a memory-mapped array (workers map it again).
    """

    def __init__(self, array: np.ndarray, name: str = "array", path: str | None = None) -> None:
        if array.ndim == 0:
            raise ShapeError(f"{name} is a scalar; expected (n, d) vectors or (n, C, H, W) images")
        super().__init__(array.shape[0])
        self.layout, self.sample_shape = array_layout(tuple(array.shape), name)
        self.kind = "vector" if self.layout == "vector" else "image"
        if np.issubdtype(array.dtype, np.complexfloating):
            raise DataError(f"{name} has complex dtype {array.dtype}; give real numbers")
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise DataError(f"{name} has dtype {array.dtype}; expected a numeric array")
        self.array, self.name, self.path = array, name, path
        self.dtype = np.dtype(np.uint8 if array.dtype == np.uint8 else np.float32)
        self.mapped = isinstance(array, np.memmap)
        self.in_memory = not self.mapped
        self._advise(getattr(mmap, "MADV_RANDOM", None))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self.mapped:  # never pickle the mapped data: a worker maps the file itself
            state["array"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.mapped and self.array is None:
            self.array = np.load(self.path, mmap_mode="r", allow_pickle=False)
            self._advise(getattr(mmap, "MADV_RANDOM", None))

    def _advise(self, advice: int | None) -> None:
        """``madvise`` the map under the array (a no-op in memory or without madvise)."""
        mm = getattr(self.array, "base", None)
        if advice is not None and isinstance(mm, mmap.mmap):
            try:
                mm.madvise(advice)
            except (OSError, ValueError):  # pragma: no cover - a platform without madvise
                pass

    def _read(self, rows: np.ndarray) -> np.ndarray:
        a = np.asarray(self.array[rows])  # fancy indexing: a copy of these rows only
        if self.mapped:
            self.release()
        if self.layout == "nhw":
            a = a[:, None]
        elif self.layout == "nhwc":
            a = a.transpose(0, 3, 1, 2)
        if a.dtype != np.uint8:
            a = _float_checked(a, self.kind, lambda i: self.item_name(rows[i]))
        return np.ascontiguousarray(a)

    def release(self) -> None:
        """Hand the map's resident pages back to the system (they stay in its file cache)."""
        self._advise(getattr(mmap, "MADV_DONTNEED", None))

    def check_values(self) -> None:
        """Check every stored value once, in chunks: finite, and images in [0, 1].

        The whole array is checked (both splits: messages count the bad values
        of the file). uint8 data need no check (0..255 maps into [0, 1]);
        booleans and integers cannot be non-finite but are range-checked as
        images.
        """
        if self.array.dtype == np.uint8:
            return
        per = max(1, CHUNK_BYTES // max(1, math.prod(self.array.shape[1:]) * 8))
        bad, lo, hi = 0, math.inf, -math.inf
        floating = np.issubdtype(self.array.dtype, np.floating)
        for s in range(0, self.count, per):
            a = np.asarray(self.array[s : s + per])
            if floating:
                bad += int((~np.isfinite(a)).sum())
            if not bad:
                with np.errstate(over="ignore"):
                    x = a.astype(np.float32)
                if not np.all(np.isfinite(x)):
                    raise DataError(f"{self.name} has values too large for float32; rescale it")
                lo, hi = min(lo, float(x.min())), max(hi, float(x.max()))
            if self.mapped:
                self.release()
        if bad:
            raise DataError(f"{self.name} contains {bad} NaN or inf values; remove or replace them")
        if self.kind == "image" and (lo < 0 or hi > 1):
            raise DataError(
                f"{self.name} holds images with values in [{lo:.4g}, {hi:.4g}]; images must be "
                "in [0, 1] (uint8 0..255 is scaled automatically): rescale them, or reshape "
                "to (n, d) to use them as vectors"
            )


class FolderItems(Items):
    """Image files decoded by Pillow when read (a folder scanned by :mod:`vegan.data.files`).

    Parameters
    ----------
    root : path
        The folder.
    files : list of str
        Paths relative to ``root``, in item order.
    sample_shape : (C, H, W)
        C = 3 when any file of the split has colour (grey files are repeated), else 1.
    depth16 : bool
        Some files are 16-bit grey: items are float32 (16-bit / 65535, 8-bit / 255).
    """

    kind = "image"

    def __init__(
        self, root: str | Path, files: list[str], sample_shape: tuple[int, ...], depth16: bool
    ) -> None:
        super().__init__(len(files))
        self.root, self.files = str(root), list(files)
        self.name = f"folder '{root}'"
        self.sample_shape = tuple(sample_shape)
        self.dtype = np.dtype(np.float32 if depth16 else np.uint8)

    def _read(self, rows: np.ndarray) -> np.ndarray:
        from vegan.data.files import decode_image

        c, h, w = self.sample_shape
        out = np.empty((rows.size, c, h, w), self.dtype)
        for k, r in enumerate(rows):
            path = Path(self.root) / self.files[int(r)]
            a = decode_image(path)
            if a.shape[1:] != (h, w):
                raise ShapeError(
                    f"image '{path}' is {a.shape[2]}x{a.shape[1]} but the folder's images are "
                    f"{w}x{h}; all images must have one size (did the folder change?)"
                )
            if a.dtype != self.dtype:
                a = a.astype(np.float32) / np.float32(255.0)
            out[k] = a if a.shape[0] == c else np.repeat(a, c, axis=0)
        return out

    def item_name(self, row: int) -> str:
        return f"image '{Path(self.root) / self.files[int(row)]}'"


def _as_array(x: Any) -> np.ndarray | None:
    """A tensor or NumPy array as a NumPy array; anything else None."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    return None


class TorchItems(Items):
    """A user's map-style ``torch.utils.data.Dataset``, item by item.

    An item is a tensor or a NumPy array, or a tuple/list whose first
    element is one (an ``(x, label)`` pair; the label is not used): ``(C, H,
    W)`` or ``(H, W)`` images, ``(d,)`` vectors. uint8 items are 8-bit images
    (scaled by 1/255 on the device); other items are read as float32 and
    checked (finite, images in [0, 1]). Item 0 fixes the shape and dtype; an
    item that differs is a one-line error naming its index.
    """

    def __init__(self, dataset: Any, name: str = "Dataset") -> None:
        try:
            n = len(dataset)
        except TypeError as exc:
            raise DataError(
                f"the {type(dataset).__name__} has no length; give a map-style Dataset "
                "(with __len__ and __getitem__) or a DataLoader"
            ) from exc
        if n < 1:
            raise DataError(f"the {type(dataset).__name__} is empty; give at least one sample")
        super().__init__(n)
        self.dataset, self.name = dataset, name
        first = self._item(0, check=False)
        self.dtype = np.dtype(np.uint8 if first.dtype == np.uint8 else np.float32)
        self.sample_shape = tuple(first.shape)
        self.kind = "image" if first.ndim == 3 else "vector"

    def _item(self, i: int, check: bool = True) -> np.ndarray:
        try:
            item = self.dataset[i]
        except Exception as exc:  # noqa: BLE001 - a user's code: report it on one line
            first = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise DataError(f"item {i} of the {self.name} could not be read ({first})") from exc
        x = item[0] if isinstance(item, (tuple, list)) and item else item
        a = _as_array(x)
        if a is None or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
            what = type(x).__name__ if a is None else f"an array of {a.dtype}"
            raise DataError(
                f"item {i} of the {self.name} is {what}; a Dataset must return a tensor "
                "(or an (x, label) pair) of numbers"
            )
        if a.ndim == 2:
            a = a[None]
        if a.ndim not in (1, 3):
            raise ShapeError(
                f"item {i} of the {self.name} has shape {tuple(a.shape)}; items must be (d,) "
                "vectors or (C, H, W) images"
            )
        if check:
            if tuple(a.shape) != self.sample_shape:
                raise ShapeError(
                    f"item {i} of the {self.name} has shape {tuple(a.shape)} but item 0 has "
                    f"{self.sample_shape}; every item must have one shape"
                )
            if (a.dtype == np.uint8) != (self.dtype == np.uint8):
                raise DataError(
                    f"item {i} of the {self.name} is {a.dtype} but item 0 is "
                    f"{'uint8' if self.dtype == np.uint8 else 'float'}; return one dtype"
                )
        return a

    def _read(self, rows: np.ndarray) -> np.ndarray:
        a = np.stack([self._item(int(r)) for r in rows])
        if self.dtype == np.uint8:
            return np.ascontiguousarray(a)
        return _float_checked(a, self.kind, lambda k: self.item_name(rows[k]))

    def item_name(self, row: int) -> str:
        return f"item {int(row)} of the {self.name}"
