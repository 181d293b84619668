"""Datasets: toy distributions, MNIST (built in and full) and user arrays or image folders.

Everything goes through :func:`load_dataset`, which returns a :class:`Dataset`:
float32 tensors for toy data and MNIST, the items as stored for files and
image folders (:mod:`vegan.data.items`: memory-mapped, uint8 kept uint8,
images decoded when read; float32 in [0, 1] on the training device). :func:`list_datasets` names the
built-in specs; :mod:`vegan.data.toy` also exposes the raw samplers and the
mode centers of the Gaussian mixtures.
"""

from vegan.data.dataset import Dataset
from vegan.data.registry import TOY_DEFAULT_N, list_datasets, load_dataset
from vegan.data.toy import modes, sample_toy, toy_names

__all__ = [
    "TOY_DEFAULT_N",
    "Dataset",
    "list_datasets",
    "load_dataset",
    "modes",
    "sample_toy",
    "toy_names",
]
