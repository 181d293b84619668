"""load_dataset's spec handling, list_datasets and the Dataset container."""

from __future__ import annotations

import pytest
import torch

from vegan.data import Dataset, list_datasets, load_dataset
from vegan.errors import ConfigError, ShapeError


def test_list_datasets_names_all_specs():
    rows = list_datasets()
    names = [name for name, _ in rows]
    for name in (
        "mnist",
        "mnist-full",
        "toy:8gaussians",
        "toy:25gaussians",
        "toy:swissroll",
        "toy:moons",
        "toy:rings",
        "toy:checkerboard",
        "toy:gaussian",
    ):
        assert name in names
    assert all(desc and "\n" not in desc for _, desc in rows)


def test_every_listed_name_except_full_mnist_loads():
    for name, _ in list_datasets():
        if name != "mnist-full":
            assert len(load_dataset(name, n=3)) == 3


@pytest.mark.parametrize(
    "spec, hint",
    [
        ("mnsit", "did you mean 'mnist'"),
        ("8gaussians", "did you mean 'toy:8gaussians'"),
        ("toy:swissrol", "did you mean 'swissroll'"),
        ("", "no dataset"),
    ],
)
def test_unknown_names(spec, hint):
    with pytest.raises(ConfigError, match=hint):
        load_dataset(spec)


def test_bad_split_and_n():
    with pytest.raises(ConfigError, match="'train' or 'heldout'"):
        load_dataset("toy:moons", split="valid")
    for n in (0, -3, 2.5):
        with pytest.raises(ConfigError, match="positive integer"):
            load_dataset("toy:moons", n=n)


def test_dataset_container_checks():
    ds = Dataset(torch.zeros(4, 3), torch.arange(4), "t", "vector", "train")
    assert ds.sample_shape == (3,) and len(ds) == 4 and ds.dim == 3
    with pytest.raises(ShapeError):
        Dataset(torch.zeros(4, 3, dtype=torch.float64), None, "t", "vector", "train")
    with pytest.raises(ShapeError):
        Dataset(torch.zeros(4, 3), None, "t", "image", "train")
    with pytest.raises(ShapeError):
        Dataset(torch.zeros(4, 3), torch.arange(3), "t", "vector", "train")
