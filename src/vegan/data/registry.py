"""``load_dataset``: one entry point from a dataset spec to a :class:`Dataset`.

A spec is ``mnist``, ``mnist-full``, ``shapes64[?n=N&seed=S]``, ``toy:NAME[?key=value&...]``, a
``.npy``/``.npz`` file (``FILE.npz:KEY`` picks an array) or a folder of images.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from vegan.data import files, mnist, shapes, toy
from vegan.data.dataset import Dataset
from vegan.data.items import ArrayItems
from vegan.data.splits import check_n, check_split, select
from vegan.errors import ConfigError, DataError, closest

__all__ = ["OBJECT_SPECS", "TOY_DEFAULT_N", "list_datasets", "load_dataset"]

#: How a run names training data given as a Python object (an array, a torch Dataset or
#: DataLoader): it has no held-out split to load, and resuming needs the object again.
OBJECT_SPECS = ("array", "dataset", "dataloader")

#: Number of toy samples drawn when ``n`` is not given, per split.
TOY_DEFAULT_N = {"train": 8000, "heldout": 2000}

_NAMED = {
    "mnist": "MNIST built in (10,000 test images, 1x28x28): 8,000 train / 2,000 held-out "
    "(index % 5 == 4)",
    "mnist-full": "MNIST, 60,000 train / 10,000 held-out (test set), 1x28x28; downloaded "
    "once into the cache or read from --data-dir / VEGAN_DATA_DIR",
    "shapes64": "procedural 3x64x64 shapes with known factors, no download: 20,000 items "
    "(shapes64?n=N&seed=S for others), held-out index % 5 == 4, y = shape",
}


def list_datasets() -> list[tuple[str, str]]:
    """Every named dataset spec with a one-line description.

    Files (``PATH.npy``, ``PATH.npz[:KEY]``) and image folders are accepted by
    :func:`load_dataset` too but are not listed.
    """
    named = list(_NAMED.items())
    return named + [(f"toy:{t.name}", t.description) for t in toy.TOY_DISTRIBUTIONS.values()]


def _tensor(a: np.ndarray, dtype: np.dtype) -> torch.Tensor:
    a = np.asarray(a, dtype=dtype)
    if not (a.flags.writeable and a.flags.c_contiguous):
        a = np.array(a, dtype=dtype, order="C")  # never share memory with a cache
    return torch.from_numpy(a)


def _split_path(spec: str) -> tuple[Path, str | None]:
    """``FILE.npz:KEY`` -> (FILE.npz, KEY); anything else -> (path, None)."""
    head, sep, key = spec.rpartition(":")
    if sep and head.lower().endswith(".npz") and key and not Path(spec).exists():
        return Path(head), key
    return Path(spec), None


def _unknown(spec: str) -> ConfigError:
    names = [name for name, _ in list_datasets()]
    hint = closest(spec, names)
    if spec in toy.TOY_DISTRIBUTIONS:
        hint = f" (did you mean 'toy:{spec}'?)"
    return ConfigError(
        f"unknown dataset '{spec}'{hint}; use one of {', '.join(names)}, a .npy/.npz file "
        "or a folder of images (vegan data --list)"
    )


def load_dataset(
    spec: str,
    split: str = "train",
    n: int | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
) -> Dataset:
    """Load one split of a dataset.

    Parameters
    ----------
    spec : str
        ``"mnist"`` (built in: 8,000 train / 2,000 held-out images of the MNIST
        test set, held-out = index ``i % 5 == 4``), ``"mnist-full"`` (60,000 /
        10,000; see :mod:`vegan.data.mnist`), ``"shapes64[?n=N&seed=S]"`` (procedural
        64x64 images, N = 20,000 by default; see :mod:`vegan.data.shapes`),
        ``"toy:NAME"`` with optional ``?key=value&...`` parameters (see :mod:`vegan.data.toy`), a
        ``.npy``/``.npz`` file (``FILE.npz:KEY`` picks an array) or a folder of
        png/jpg images (see :mod:`vegan.data.files`). Files and folders use the
        same split rule as built-in MNIST: held-out = every fifth item
        (``i % 5 == 4``), train = the others.
    split : {"train", "heldout"}
        Which split.
    n : int, optional
        Files and MNIST: keep the first ``n`` items of the split, in file order
        (all when None; more than the split holds is an error). shapes64: the
        first ``n`` items of the split (any ``n``: the sequence is unbounded). Toy data:
        number of points drawn (default 8,000 for train, 2,000 for held-out).
    seed : int
        Toy data only: train points use ``numpy.random.default_rng([seed, 0])``,
        held-out points ``default_rng([seed, 1])``, so the splits differ.
    data_dir : path-like, optional
        ``mnist-full`` only: folder holding the IDX files.

    Returns
    -------
    Dataset
        Toy data and MNIST as float32 tensors; files and folders as stored
        (:mod:`vegan.data.items`: a ``.npy`` memory-mapped, uint8 images kept
        uint8, image files decoded when read), with the file list's
        fingerprint. ``x`` gives float32 samples (images in [0, 1]) either way;
        int64 labels ``y`` when known.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("no dataset given; name one, e.g. 'mnist' or 'toy:8gaussians'")
    spec = spec.strip()
    check_split(split)
    n = check_n(n)

    if spec.lower().startswith("toy:"):
        name = "toy:" + spec[4:]
        count = TOY_DEFAULT_N[split] if n is None else n
        rng = np.random.default_rng([int(seed), 0 if split == "train" else 1])
        x = toy.sample_toy(spec[4:], count, rng)
        return Dataset(_tensor(x, np.float32), None, name, "vector", split)

    if shapes.is_shapes_spec(spec):  # held as generated: uint8, a quarter of float32
        batch = shapes.load_shapes(spec, split, n)
        items = ArrayItems(batch.images, f"dataset '{spec}'")
        return Dataset(None, torch.from_numpy(batch.shapes), spec, "image", split, items=items)

    if spec.lower() in _NAMED:
        name = spec.lower()
        if name == "mnist":
            images, labels = mnist.load_mnist_builtin(split)
        else:
            images, labels = mnist.load_mnist_full(split, data_dir=data_dir)
        take = select(images.shape[0], n, name, split)
        return Dataset(
            _tensor(images[take], np.float32),
            _tensor(labels[take], np.int64),
            name,
            "image",
            split,
        )

    path, key = _split_path(spec)
    if path.is_dir():
        items, y = files.folder_items(path, split, n)
    elif path.is_file():
        items, y = files.array_items(path, split, n, key)
    elif path.suffix.lower() in (".npy", ".npz") or os.sep in spec or "/" in spec:
        raise DataError(f"dataset file or folder '{path}' does not exist; check the path")
    else:
        raise _unknown(spec)
    return Dataset(
        None,
        None if y is None else _tensor(y, np.int64),
        spec,
        items.kind,
        split,
        items=items,
        fingerprint=files.fingerprint(path),
    )
