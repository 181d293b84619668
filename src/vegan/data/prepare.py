"""``vegan data prepare``: decode a folder of images once into a uint8 ``.npy`` (read many).

The FFCV / WebDataset idea: decoding png/jpg files is the slow part of
reading an image collection, so it is done once. The result is a uint8
``(n, C, H, W)`` array that training memory-maps (:mod:`vegan.data.items`):
later runs stream from it at the speed of a memory copy. The file is written
through ``np.lib.format.open_memmap`` chunk by chunk (the images never need
to fit in memory) under a temporary name, and renamed at the end
(:func:`vegan.io.atomic_npy`): a bad image stops it with a one-line error
naming the file, and nothing is left behind.

Resizing and cropping are Pillow's (``ImageOps.fit``: center crop to the
target's aspect, then resize; ``Image.resize`` without cropping), with
Lanczos filtering. Items keep the folder's order (sorted relative paths), so
the train / held-out split of the ``.npy`` is the folder's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vegan.data.files import GRAY16_MODES, GRAY_MODES, check_image, image_files, unreadable
from vegan.errors import ConfigError, DataError, ShapeError
from vegan.io import atomic_npy, check_output_path

__all__ = ["CROPS", "prepare_folder"]

#: What ``crop`` may be: ``center`` (crop to a square around the center, then resize) or
#: ``none`` (resize the whole image, changing its aspect ratio when it is not square).
CROPS = ("center", "none")
#: Images decoded and written per chunk.
CHUNK = 256


def _open(path: Path):
    from PIL import Image

    try:
        img = Image.open(path)
        img.load()
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types
        raise DataError(unreadable(path, exc)) from exc
    if img.mode in GRAY16_MODES:
        raise DataError(
            f"image '{path}' has 16-bit values; prepare writes 8-bit images: convert the "
            "folder to 8 bits, or train on the folder itself"
        )
    return img


def prepare_folder(
    folder: str | os.PathLike,
    out: str | os.PathLike,
    size: int | None = None,
    crop: str = "center",
    log: Callable[[str], None] | None = None,
) -> tuple[int, ...]:
    """Decode every image of ``folder`` into a uint8 ``(n, C, H, W)`` ``.npy`` at ``out``.

    Parameters
    ----------
    folder : path
        png/jpg files, nested folders allowed (sorted by relative path).
    out : path
        The ``.npy`` to write (atomically; an existing file is replaced only
        by a complete one).
    size : int, optional
        Resize every image to ``size`` x ``size`` (cropped as ``crop`` says);
        None keeps the images' size, which must then be one size.
    crop : {"center", "none"}
        With ``size``: crop to a centered square first, or resize the whole image.
    log : callable, optional
        Receives a progress line every few thousand images.

    Returns
    -------
    tuple of int
        The shape written. C is 3 when any file has colour (grey files are
        repeated), else 1.
    """
    from PIL import Image, ImageOps

    if crop not in CROPS:
        raise ConfigError(f"unknown crop '{crop}'; use one of {', '.join(CROPS)}")
    if size is not None and (isinstance(size, bool) or int(size) < 1):
        raise ConfigError(f"size must be a positive number of pixels, got {size!r}")
    out = check_output_path(out, (".npy",))
    folder = Path(folder)
    files = image_files(folder)
    channels, first = 1, None
    for f in files:  # headers (and PNG checksums): the shape before any pixel is decoded
        dims, mode = check_image(f)
        if mode not in GRAY_MODES and mode not in GRAY16_MODES:
            channels = 3
        if size is None:
            if first is None:
                first = (dims, f)
            elif dims != first[0]:
                raise ShapeError(
                    f"image '{f}' is {dims[0]}x{dims[1]} but '{first[1]}' is "
                    f"{first[0][0]}x{first[0][1]}; all images must have one size (or give "
                    "--size to resize them)"
                )
    w, h = (size, size) if size is not None else first[0]
    shape = (len(files), channels, h, w)
    resample = Image.Resampling.LANCZOS
    with atomic_npy(out, shape, np.uint8) as arr:
        for start in range(0, len(files), CHUNK):
            chunk = np.empty((min(CHUNK, len(files) - start), channels, h, w), np.uint8)
            for k, f in enumerate(files[start : start + CHUNK]):
                with _open(f) as img:
                    img = img.convert("RGB" if channels == 3 else "L")
                    if size is not None:
                        if crop == "center":
                            img = ImageOps.fit(img, (w, h), method=resample)
                        else:
                            img = img.resize((w, h), resample=resample)
                    a = np.asarray(img)
                chunk[k] = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
            arr[start : start + len(chunk)] = chunk
            done = start + len(chunk)
            if log is not None and (done % (CHUNK * 16) == 0 or done == len(files)):
                log(f"{done}/{len(files)} images")
    return shape
