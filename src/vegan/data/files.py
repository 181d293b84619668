"""User data: ``.npy``/``.npz`` arrays and folders of images, held as stored.

Accepted layouts
    * ``(n, d)`` arrays: vectors.
    * ``(n, C, H, W)`` arrays: images (channels-last ``(n, H, W, C)`` with C in
      {1, 3} is transposed when read); ``(n, H, W)`` arrays: grayscale images.
    * a folder of ``.png``/``.jpg``/``.jpeg`` files of one size, nested class
      folders allowed, read in sorted order of their paths relative to the
      folder: grayscale files give 1 channel, colour files 3 (alpha is
      dropped; a folder mixing both gives 3 channels). When every file lies in
      a first-level subfolder, the subfolders are classes: labels are their
      numbers in sorted order.

Storage
    A ``.npy`` file is memory-mapped (``np.load(mmap_mode="r")``), never read
    whole; an ``.npz`` is read into memory (zip members cannot be mapped). A
    folder's files are opened once to check them (header, size, and for PNG
    the checksums of every chunk, :meth:`PIL.Image.Image.verify`, which finds
    a truncated or corrupted file without decoding it) and decoded when a
    batch needs them. :class:`~vegan.data.items.Items` says how a batch is read.

Values
    uint8 data (and 8-bit image files) stay uint8 until a batch is on its
    device, where they are scaled to [0, 1] by 1/255; 16-bit image files are
    scaled by 1/65535, booleans become 0/1; other numbers are used as is,
    except that images must lie in [0, 1]. NaN or inf anywhere is an error
    (float files are checked once, in chunks, when loaded).

Labels
    An ``.npz`` holding a ``y`` or ``labels`` array (non-negative integers, one
    per sample) provides labels; ``FILE.npz:KEY`` picks the data array.

Split
    Same rule as the built-in MNIST: held-out = the items with index
    ``i % 5 == 4`` (every fifth, in file order), train = the others; a split
    is an index mapping into the stored items, not a copy.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from vegan.data.items import ArrayItems, FolderItems
from vegan.data.splits import select, split_indices
from vegan.errors import DataError, ShapeError
from vegan.io import load_array, map_npy

__all__ = [
    "IMAGE_SUFFIXES",
    "array_items",
    "check_image",
    "decode_image",
    "fingerprint",
    "folder_items",
    "image_files",
    "prepare_array",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
LABEL_KEYS = ("y", "labels")
#: Pillow modes read as one grey channel (8 bits, 16 bits).
GRAY_MODES = ("1", "L", "LA")
GRAY16_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def prepare_array(arr: np.ndarray, source: str) -> tuple[np.ndarray, str]:
    """Validate a user array and convert it to float32 ``(n, d)`` or ``(n, C, H, W)``.

    Returns
    -------
    x : numpy.ndarray
        float32 data (uint8 scaled by 1/255).
    kind : str
        ``"vector"`` or ``"image"``.
    """
    items = ArrayItems(arr, source)
    items.check_values()
    x = items.read(np.arange(len(items)))
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / np.float32(255.0)
    return np.ascontiguousarray(x), items.kind


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


def array_items(
    path: str | os.PathLike, split: str, n: int | None = None, key: str | None = None
) -> tuple[ArrayItems, np.ndarray | None]:
    """One split of a ``.npy``/``.npz`` file, as stored.

    Parameters
    ----------
    path : path-like
        The file (a ``.npy`` is memory-mapped).
    split : {"train", "heldout"}
        Held-out = indices ``i % 5 == 4``; train = the rest.
    n : int, optional
        Keep the first ``n`` items of the split (all when None).
    key : str, optional
        Array name inside an ``.npz``.

    Returns
    -------
    items, y
        The split's items (an index mapping into the file's array) and int64
        labels or None.
    """
    p = Path(path)
    name = f"'{p}'" + (f" (array '{key}')" if key else "")
    if p.suffix.lower() == ".npy" and key is None:
        items = ArrayItems(map_npy(p), name, path=str(p))
    else:
        items = ArrayItems(load_array(p, key), name)
    y = None
    if p.suffix.lower() == ".npz" and key not in LABEL_KEYS:
        y = _labels(p, items.count)
    idx = split_indices(items.count, split)
    idx = idx[select(idx.size, n, f"'{p}'", split)]
    items = items.subset(idx)
    items.check_values()
    return items, (None if y is None else y[idx])


def decode_image(path: Path) -> np.ndarray:
    """One image file -> (C, H, W), C = 1 or 3: uint8, or float32 in [0, 1] for 16-bit files."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in GRAY16_MODES:
                a = np.asarray(img, dtype=np.float64) / 65535.0
                if a.min() < 0 or a.max() > 1:
                    raise DataError(f"image '{path}' has values outside 16 bits")
                return a.astype(np.float32)[None]
            if img.mode in GRAY_MODES:
                return np.asarray(img.convert("L"))[None]
            return np.ascontiguousarray(np.asarray(img.convert("RGB")).transpose(2, 0, 1))
    except DataError:
        raise
    except Exception as exc:  # Pillow raises many types (OSError, ValueError, bomb errors)
        raise DataError(unreadable(path, exc)) from exc


def unreadable(path: Path, exc: BaseException) -> str:
    """The one-line message for an image file Pillow could not read."""
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
    return f"could not read image '{path}' ({reason}); remove or replace it"


def image_files(folder: Path) -> list[Path]:
    """The png/jpg files under ``folder`` (nested folders too), sorted by relative path."""
    if not folder.is_dir():
        raise DataError(f"'{folder}' is not a folder of images; check the path")
    files = [
        f
        for f in folder.rglob("*")
        if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".") and f.is_file()
    ]
    files.sort(key=lambda f: f.relative_to(folder).as_posix())
    if not files:
        raise DataError(
            f"folder '{folder}' holds no {'/'.join(s[1:] for s in IMAGE_SUFFIXES)} images; "
            "point to a folder of images or to a .npy/.npz file"
        )
    return files


def check_image(path: Path) -> tuple[tuple[int, int], str]:
    """((width, height), mode) of an image file, its PNG chunks verified; DataError if broken."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            size, mode, fmt = img.size, img.mode, img.format
            if fmt == "PNG":
                img.verify()  # every chunk's checksum: finds truncation, no decoding
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types
        raise DataError(unreadable(path, exc)) from exc
    return size, mode


def folder_items(
    path: str | os.PathLike, split: str, n: int | None = None
) -> tuple[FolderItems, np.ndarray | None]:
    """One split of a folder of images, checked now and decoded when read.

    Only the files of the requested split (and the first ``n`` of them) are
    opened: each must be an image (PNG files: every chunk intact) of the
    split's first file's size. Returns the items (uint8 ``(C, H, W)``, or
    float32 with 16-bit files) and int64 class labels (every file in a
    first-level subfolder) or None.
    """
    folder = Path(path)
    files = image_files(folder)
    idx = split_indices(len(files), split)
    idx = idx[select(idx.size, n, f"folder '{folder}'", split)]
    first: tuple[int, int] | None = None
    channels, depth16 = 1, False
    for i in idx:
        size, mode = check_image(files[i])
        if first is None:
            first = size
        elif size != first:
            raise ShapeError(
                f"image '{files[i]}' is {size[0]}x{size[1]} but '{files[idx[0]]}' is "
                f"{first[0]}x{first[1]}; all images must have one size"
            )
        depth16 = depth16 or mode in GRAY16_MODES
        if mode not in GRAY_MODES and mode not in GRAY16_MODES:
            channels = 3
    assert first is not None
    rel = [files[i].relative_to(folder).as_posix() for i in idx]
    items = FolderItems(folder, rel, (channels, first[1], first[0]), depth16)
    return items, _class_labels(folder, files, idx)


def _class_labels(folder: Path, files: list[Path], idx: np.ndarray) -> np.ndarray | None:
    parts = [f.relative_to(folder).parts for f in files]
    if any(len(p) < 2 for p in parts):
        return None
    classes = {c: k for k, c in enumerate(sorted({p[0] for p in parts}))}
    return np.array([classes[parts[i][0]] for i in idx], dtype=np.int64)


def fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """What identifies a data file or folder: its files' names, sizes and modification times.

    ``{"files": count, "bytes": total size, "sha256": digest}`` where the
    digest covers each file's relative path, size and ``st_mtime_ns``. Only
    the file list is read (``stat``), never the data. A resumed run compares
    it with the one in its run.json.
    """
    p = Path(path)
    files = image_files(p) if p.is_dir() else [p]
    h = hashlib.sha256()
    total = 0
    for f in files:
        st = f.stat()
        total += st.st_size
        rel = f.relative_to(p).as_posix() if p.is_dir() else f.name
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return {"files": len(files), "bytes": total, "sha256": h.hexdigest()[:16]}
