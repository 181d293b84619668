"""MNIST: the built-in 10,000-image copy and the full 70,000-image dataset.

Built-in ``mnist``
    The genuine MNIST test set (10,000 images) ships inside the package
    (``vegan/data/mnist/``, see its ``ATTRIBUTION.md``) and is read with
    :mod:`importlib.resources`, so it works offline. Split by index:
    held-out = images ``i`` with ``i % 5 == 4`` (2,000), train = the other
    8,000, both in file order.

Full ``mnist-full``
    The standard four IDX files. Train = the 60,000 training images,
    held-out = the 10,000 test images. The files are looked for, in order, in
    ``data_dir`` (``--data-dir``), ``$VEGAN_DATA_DIR`` and the cache folder
    :func:`mnist_cache_dir` (``~/.cache/vegan/mnist``; ``$VEGAN_CACHE_DIR``
    replaces ``~/.cache/vegan``), each also in its ``mnist/`` subfolder,
    raw or ``.gz``. Missing training files are downloaded into the cache from
    :data:`MIRRORS`; the test files fall back to the built-in copy.

Every file is verified by the md5 of its decompressed bytes (:data:`MD5`).
"""

from __future__ import annotations

import functools
import os
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path

import numpy as np

from vegan.data.idx import MAX_IDX_BYTES, decode_idx, decompress, md5_hex, read_idx
from vegan.data.splits import check_split, split_indices
from vegan.errors import DataError, VeganError
from vegan.io import atomic_write_bytes

__all__ = [
    "MD5",
    "MIRRORS",
    "load_mnist_builtin",
    "load_mnist_full",
    "mnist_cache_dir",
    "read_idx",
]

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"

#: md5 of the DECOMPRESSED IDX files (canonical; independent of how a mirror gzips them).
#: For reference, the md5s of the official .gz files are f68b3c2dcbeaaa9fbdd348bbdeb94873
#: (train images), d53e105ee54ea40749a09fcbcd1e9432 (train labels),
#: 9fb629c4189551a2d022fa330f9573f3 (test images), ec29112dd5afa0611ce80d1b7f02629c (test
#: labels); they are not used because the built-in copy is recompressed.
MD5: dict[str, str] = {
    TRAIN_IMAGES: "6bbc9ace898e44ae57da46a324031adb",
    TRAIN_LABELS: "a25bea736e30d166cdddb491f175f624",
    TEST_IMAGES: "2646ac647ad5339dbf082846283269ea",
    TEST_LABELS: "27ae3e4e09519cfbb04c329615203637",
}

#: The same checksums for the copy shipped in the package (a separate constant, fixed).
BUILTIN_MD5: dict[str, str] = {name: MD5[name] for name in (TEST_IMAGES, TEST_LABELS)}

#: Download mirrors for the gzipped IDX files (``<mirror><name>.gz``), tried in order.
MIRRORS: list[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]

#: Seconds to wait for a mirror before trying the next one.
DOWNLOAD_TIMEOUT = 15.0

#: Largest download accepted (the training images are about 10 MB gzipped).
MAX_DOWNLOAD_BYTES = 64 << 20


def _check_pair(images: np.ndarray, labels: np.ndarray, source: str) -> None:
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise DataError(
            f"{source}: images have shape {images.shape} and dtype {images.dtype}; "
            "expected (n, 28, 28) uint8"
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(
            f"{source}: {labels.shape} labels for {images.shape[0]} images; they must match"
        )
    if labels.size and int(labels.max()) > 9:
        raise DataError(f"{source}: labels go up to {int(labels.max())}; MNIST labels are 0..9")


def _to_float(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> read-only float32 (n, 1, 28, 28) in [0, 1]."""
    out = (images.astype(np.float32) / np.float32(255.0))[:, None]
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=1)
def _builtin_arrays() -> tuple[np.ndarray, np.ndarray]:
    folder = resources.files("vegan.data").joinpath("mnist")
    arrays = []
    for name in (TEST_IMAGES, TEST_LABELS):
        res = folder.joinpath(f"{name}.gz")
        try:
            data = res.read_bytes()
        except OSError as exc:
            raise DataError(
                f"the built-in MNIST file '{name}.gz' is missing from the vegan package "
                f"({exc}); reinstall vegan"
            ) from exc
        arrays.append(decode_idx(data, f"built-in {name}.gz", md5=BUILTIN_MD5[name]))
    images, labels = arrays
    _check_pair(images, labels, "built-in MNIST")
    labels = labels.astype(np.int64)
    labels.flags.writeable = False
    return _to_float(images), labels


def load_mnist_builtin(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Return the built-in MNIST split as (images, labels).

    Parameters
    ----------
    split : {"train", "heldout"}
        ``heldout`` = the 2,000 test images with index ``i % 5 == 4``;
        ``train`` = the other 8,000. File order is kept.

    Returns
    -------
    images : numpy.ndarray
        float32, shape (n, 1, 28, 28), values in [0, 1]. A fresh copy.
    labels : numpy.ndarray
        int64, shape (n,), values 0..9.
    """
    images, labels = _builtin_arrays()
    idx = split_indices(images.shape[0], check_split(split))
    return images[idx], labels[idx]


# ---------------------------------------------------------------------------- full MNIST


def vegan_cache_dir() -> Path:
    """vegan's cache folder: ``$VEGAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/vegan``, else
    ``~/.cache/vegan``."""
    env = os.environ.get("VEGAN_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "vegan"


def mnist_cache_dir() -> Path:
    """Where full MNIST is downloaded: ``<vegan cache>/mnist``."""
    return vegan_cache_dir() / "mnist"


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for the MNIST IDX files, in order (duplicates removed)."""
    bases: list[Path] = []
    if data_dir is not None:
        bases.append(Path(data_dir).expanduser())
    env = os.environ.get("VEGAN_DATA_DIR")
    if env:
        bases.append(Path(env).expanduser())
    dirs: list[Path] = []
    for base in bases:
        dirs += [base, base / "mnist"]
    dirs.append(mnist_cache_dir())
    seen: list[Path] = []
    for d in dirs:
        if d not in seen:
            seen.append(d)
    return seen


def find_idx(name: str, dirs: list[Path]) -> Path | None:
    """First existing ``<dir>/<name>`` or ``<dir>/<name>.gz`` in ``dirs``."""
    for d in dirs:
        for candidate in (d / name, d / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def download_idx(name: str, dest_dir: Path, mirrors: list[str] | None = None) -> Path:
    """Download ``<name>.gz`` from the first mirror that serves a file with the right md5.

    The gzip file is written atomically to ``dest_dir`` after its decompressed
    bytes match :data:`MD5`. Raises :class:`DataError` (one line) when no
    mirror works.
    """
    mirrors = MIRRORS if mirrors is None else mirrors
    reasons = []
    for mirror in mirrors:
        url = f"{mirror.rstrip('/')}/{name}.gz"
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as resp:  # noqa: S310
                data = resp.read(MAX_DOWNLOAD_BYTES + 1)
            if len(data) > MAX_DOWNLOAD_BYTES:
                raise DataError(f"{url} sent more than {MAX_DOWNLOAD_BYTES} bytes")
            raw = decompress(data, url, MAX_IDX_BYTES)
            if md5_hex(raw) != MD5[name]:
                raise DataError(f"{url} failed its md5 check")
        except (OSError, urllib.error.URLError, ValueError, VeganError) as exc:
            reasons.append(f"{url}: {getattr(exc, 'reason', None) or exc}")
            continue
        try:
            dest_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(
                f"cannot create the MNIST cache folder '{dest_dir}' ({exc.strerror or exc}); "
                "set VEGAN_CACHE_DIR to a writable folder"
            ) from exc
        return atomic_write_bytes(dest_dir / f"{name}.gz", data)
    raise DataError("; ".join(reasons) or "no download mirror configured")


def _missing_message(dirs: list[Path], reason: str) -> str:
    where = ", ".join(str(d) for d in dirs)
    source = MIRRORS[0] if MIRRORS else "an MNIST mirror"
    return (
        f"full MNIST training files not found (looked in {where}) and the download failed "
        f"({reason}); put {TRAIN_IMAGES}.gz and {TRAIN_LABELS}.gz (from {source}) "
        f"in {mnist_cache_dir()}, or in a folder given with --data-dir or VEGAN_DATA_DIR"
    )


@functools.lru_cache(maxsize=4)
def _read_pair(
    images_path: str, labels_path: str, stamp: tuple, images_md5: str, labels_md5: str
) -> tuple[np.ndarray, np.ndarray]:
    del stamp  # part of the cache key only: a changed file is read again
    images = read_idx(images_path, md5=images_md5)
    labels = read_idx(labels_path, md5=labels_md5)
    _check_pair(images, labels, f"'{images_path}'")
    labels = labels.astype(np.int64)
    labels.flags.writeable = False
    return _to_float(images), labels


def _stamp(*paths: Path) -> tuple:
    return tuple((st.st_mtime_ns, st.st_size) for st in (p.stat() for p in paths))


def load_mnist_full(
    split: str = "train", data_dir: str | os.PathLike | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Return a split of the full MNIST dataset as (images, labels).

    Parameters
    ----------
    split : {"train", "heldout"}
        ``train`` = the 60,000 training images; ``heldout`` = the 10,000 test images.
    data_dir : path-like, optional
        First folder searched for the IDX files (see the module docstring).
    download : bool
        Download missing training files into :func:`mnist_cache_dir`.

    Returns
    -------
    images : numpy.ndarray
        float32, shape (n, 1, 28, 28), values in [0, 1]. Read-only (shared with
        an in-memory cache): copy it before modifying it.
    labels : numpy.ndarray
        int64, shape (n,), read-only.
    """
    dirs = search_dirs(data_dir)
    if check_split(split) == "heldout":
        img, lab = find_idx(TEST_IMAGES, dirs), find_idx(TEST_LABELS, dirs)
        if img is None or lab is None:
            return _builtin_arrays()  # the built-in copy is this very test set
        names = (TEST_IMAGES, TEST_LABELS)
    else:
        names = (TRAIN_IMAGES, TRAIN_LABELS)
        found = [find_idx(name, dirs) for name in names]
        for i, name in enumerate(names):
            if found[i] is None:
                if not download:
                    raise DataError(_missing_message(dirs, "downloads are off"))
                try:
                    found[i] = download_idx(name, mnist_cache_dir())
                except DataError as exc:
                    raise DataError(_missing_message(dirs, str(exc))) from exc
        img, lab = found
    assert img is not None and lab is not None
    return _read_pair(str(img), str(lab), _stamp(img, lab), MD5[names[0]], MD5[names[1]])
