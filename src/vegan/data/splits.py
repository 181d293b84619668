"""The train / held-out split rule shared by built-in MNIST, user arrays and image folders.

Held-out = the items with index ``i % 5 == 4`` (every fifth item, 20 %),
train = the others, both in file order; ``n`` keeps the first ``n`` of a split.
"""

from __future__ import annotations

import numpy as np

from vegan.errors import ConfigError, DataError

SPLITS = ("train", "heldout")
HELDOUT_EVERY = 5


def check_split(split: str) -> str:
    """Return ``split`` if it is ``"train"`` or ``"heldout"``, else raise :class:`ConfigError`."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split '{split}'; use 'train' or 'heldout'")
    return split


def check_n(n: int | None) -> int | None:
    """Return ``n`` if it is None or a positive integer, else raise :class:`ConfigError`."""
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"number of samples must be a positive integer, got {n!r}")
    return int(n)


def split_indices(total: int, split: str) -> np.ndarray:
    """Indices of ``split`` among ``total`` items: held-out = ``i % 5 == 4``, train = the rest."""
    idx = np.arange(total)
    heldout = idx % HELDOUT_EVERY == HELDOUT_EVERY - 1
    return idx[heldout] if check_split(split) == "heldout" else idx[~heldout]


def select(available: int, n: int | None, source: str, split: str) -> slice:
    """Slice taking the first ``n`` of ``available`` items of a split (all when None).

    Raises :class:`DataError` when the split is empty and :class:`ConfigError`
    when ``n`` is larger than the split.
    """
    if available == 0:
        raise DataError(
            f"{source} has no items in its {split} split (every fifth item is held out); "
            "give more data"
        )
    if n is not None and n > available:
        raise ConfigError(
            f"asked for {n} samples but the {split} split of {source} has {available}; "
            f"use n <= {available}"
        )
    return slice(0, n)
