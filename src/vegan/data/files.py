"""User data: ``.npy``/``.npz`` arrays and folders of images.

Accepted layouts
    * ``(n, d)`` arrays: vectors.
    * ``(n, C, H, W)`` arrays: images (channels-last ``(n, H, W, C)`` with C in
      {1, 3} is transposed); ``(n, H, W)`` arrays: grayscale images.
    * a folder of ``.png``/``.jpg``/``.jpeg`` files of one size, read in sorted
      file-name order: grayscale files give 1 channel, colour files 3 (alpha is
      dropped; a folder mixing both gives 3 channels).

Values
    uint8 data (and 8-bit image files) are scaled to [0, 1] by 1/255, 16-bit
    image files by 1/65535, booleans become 0/1; other numbers are used as is,
    except that images must lie in [0, 1]. NaN or inf anywhere is an error.

Labels
    An ``.npz`` holding a ``y`` or ``labels`` array (non-negative integers, one
    per sample) provides labels; ``FILE.npz:KEY`` picks the data array.

Split
    Same rule as the built-in MNIST: held-out = the items with index
    ``i % 5 == 4`` (every fifth, in file order), train = the others.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vegan.data.splits import select, split_indices
from vegan.errors import DataError, ShapeError
from vegan.io import load_array

__all__ = ["IMAGE_SUFFIXES", "load_array_data", "load_image_folder", "prepare_array"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
LABEL_KEYS = ("y", "labels")
_GRAY_MODES = ("1", "L", "LA")
_GRAY16_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def prepare_array(arr: np.ndarray, source: str) -> tuple[np.ndarray, str]:
    """Validate a user array and convert it to float32 ``(n, d)`` or ``(n, C, H, W)``.

    Returns
    -------
    x : numpy.ndarray
        float32 data.
    kind : str
        ``"vector"`` or ``"image"``.
    """
    shape = tuple(arr.shape)
    if arr.ndim == 1:
        raise ShapeError(
            f"{source} has shape {shape}; expected (n, d) vectors or (n, C, H, W) images "
            "(for one-dimensional data save x[:, None])"
        )
    if arr.ndim not in (2, 3, 4):
        raise ShapeError(
            f"{source} has {arr.ndim} dimensions (shape {shape}); expected (n, d) vectors "
            "or (n, C, H, W) images"
        )
    if arr.size == 0:
        raise DataError(f"{source} is empty (shape {shape}); give at least one sample")
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4 and arr.shape[1] not in (1, 3) and arr.shape[3] in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)  # channels-last -> channels-first
    kind = "image" if arr.ndim == 4 else "vector"
    if arr.dtype == np.uint8:
        x = arr.astype(np.float32) / np.float32(255.0)
    elif np.issubdtype(arr.dtype, np.complexfloating):
        raise DataError(f"{source} has complex dtype {arr.dtype}; give real numbers")
    else:
        if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
            bad = int((~np.isfinite(arr)).sum())
            raise DataError(f"{source} contains {bad} NaN or inf values; remove or replace them")
        with np.errstate(over="ignore"):  # reported below as one clear error
            x = arr.astype(np.float32)
        if not np.all(np.isfinite(x)):
            raise DataError(f"{source} has values too large for float32; rescale it")
    if kind == "image":
        lo, hi = float(x.min()), float(x.max())
        if lo < 0 or hi > 1:
            raise DataError(
                f"{source} holds images with values in [{lo:.4g}, {hi:.4g}]; images must be "
                "in [0, 1] (uint8 0..255 is scaled automatically): rescale them, or reshape "
                "to (n, d) to use them as vectors"
            )
    return np.ascontiguousarray(x), kind


def _labels(path: Path, n: int) -> np.ndarray | None:
    with np.load(path, allow_pickle=False) as z:
        names = list(z.files)
    key = next((k for k in LABEL_KEYS if k in names), None)
    if key is None:
        return None
    y = load_array(path, key)
    if y.ndim != 1 or y.shape[0] != n:
        raise ShapeError(
            f"'{path}': labels '{key}' have shape {y.shape} but there are {n} samples; "
            f"give one label per sample"
        )
    if not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_) or (y.size and y.min() < 0):
        raise DataError(f"'{path}': labels '{key}' must be non-negative integers")
    return y.astype(np.int64)


def load_array_data(
    path: str | os.PathLike, split: str, n: int | None = None, key: str | None = None
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Load one split of a ``.npy``/``.npz`` file.

    Parameters
    ----------
    path : path-like
        The file.
    split : {"train", "heldout"}
        Held-out = indices ``i % 5 == 4``; train = the rest.
    n : int, optional
        Keep the first ``n`` items of the split (all when None).
    key : str, optional
        Array name inside an ``.npz``.

    Returns
    -------
    x, y, kind
        float32 data, int64 labels or None, ``"image"`` or ``"vector"``.
    """
    p = Path(path)
    arr = load_array(p, key)
    x, kind = prepare_array(arr, f"'{p}'" + (f" (array '{key}')" if key else ""))
    y = None
    if p.suffix.lower() == ".npz" and key not in LABEL_KEYS:
        y = _labels(p, x.shape[0])
    idx = split_indices(x.shape[0], split)
    idx = idx[select(idx.size, n, f"'{p}'", split)]
    return x[idx], (None if y is None else y[idx]), kind


def _read_image(path: Path) -> np.ndarray:
    """One image file -> float32 (C, H, W) in [0, 1], C = 1 or 3."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in _GRAY16_MODES:
                a = np.asarray(img, dtype=np.float64) / 65535.0
                if a.min() < 0 or a.max() > 1:
                    raise DataError(f"image '{path}' has values outside 16 bits")
                return a.astype(np.float32)[None]
            if img.mode in _GRAY_MODES:
                a = np.asarray(img.convert("L"))[None]
            else:
                a = np.asarray(img.convert("RGB")).transpose(2, 0, 1)
    except DataError:
        raise
    except Exception as exc:  # Pillow raises many types (OSError, ValueError, bomb errors)
        raise DataError(
            f"could not read image '{path}' ({type(exc).__name__}: {exc}); remove or replace it"
        ) from exc
    return a.astype(np.float32) / np.float32(255.0)


def load_image_folder(
    path: str | os.PathLike, split: str, n: int | None = None
) -> tuple[np.ndarray, None, str]:
    """Load one split of a folder of images (sorted by file name).

    Only the files of the requested split (and the first ``n`` of them) are
    decoded. Returns float32 ``(m, C, H, W)`` in [0, 1], no labels, ``"image"``.
    """
    folder = Path(path)
    files = sorted(
        f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()
    )
    if not files:
        raise DataError(
            f"folder '{folder}' holds no {'/'.join(s[1:] for s in IMAGE_SUFFIXES)} images; "
            "point to a folder of images or to a .npy/.npz file"
        )
    idx = split_indices(len(files), split)
    idx = idx[select(idx.size, n, f"folder '{folder}'", split)]
    images = []
    for i in idx:
        a = _read_image(files[i])
        if images and a.shape[1:] != images[0].shape[1:]:
            raise ShapeError(
                f"image '{files[i]}' is {a.shape[2]}x{a.shape[1]} but '{files[idx[0]]}' is "
                f"{images[0].shape[2]}x{images[0].shape[1]}; all images must have one size"
            )
        images.append(a)
    if any(a.shape[0] == 3 for a in images):
        images = [np.repeat(a, 3, axis=0) if a.shape[0] == 1 else a for a in images]
    return np.stack(images), None, "image"
