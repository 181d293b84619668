"""Built-in MNIST: shapes, range, the index split rule and labels, checked against a
direct gzip + numpy read of the shipped files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

import vegan.data
from vegan.data import load_dataset
from vegan.errors import ConfigError

FOLDER = Path(vegan.data.__file__).parent / "mnist"


@pytest.fixture(scope="module")
def raw():
    """Images and labels read independently: IDX headers are 16 and 8 bytes."""
    with gzip.open(FOLDER / "t10k-images-idx3-ubyte.gz") as fh:
        images = np.frombuffer(fh.read(), dtype=np.uint8, offset=16).reshape(10000, 28, 28)
    with gzip.open(FOLDER / "t10k-labels-idx1-ubyte.gz") as fh:
        labels = np.frombuffer(fh.read(), dtype=np.uint8, offset=8)
    return images, labels


def test_shapes_dtype_range():
    train = load_dataset("mnist")
    held = load_dataset("mnist", split="heldout")
    assert train.x.shape == (8000, 1, 28, 28) and held.x.shape == (2000, 1, 28, 28)
    assert train.x.dtype == torch.float32
    assert train.kind == "image" and train.split == "train" and held.split == "heldout"
    assert train.sample_shape == (1, 28, 28) and len(train) == 8000
    for ds in (train, held):
        assert float(ds.x.min()) == 0.0 and float(ds.x.max()) == 1.0


def test_split_follows_index_rule(raw):
    images, labels = raw
    train = load_dataset("mnist")
    held = load_dataset("mnist", split="heldout")
    np.testing.assert_array_equal(held.x[0, 0].numpy(), images[4] / np.float32(255))
    np.testing.assert_array_equal(held.x[1, 0].numpy(), images[9] / np.float32(255))
    np.testing.assert_array_equal(train.x[4, 0].numpy(), images[5] / np.float32(255))
    idx = np.arange(10000)
    np.testing.assert_array_equal(
        held.x[:, 0].numpy(), images[idx % 5 == 4].astype(np.float32) / 255
    )
    np.testing.assert_array_equal(train.y.numpy(), labels[idx % 5 != 4])
    np.testing.assert_array_equal(held.y.numpy(), labels[idx % 5 == 4])


def test_labels(raw):
    _, labels = raw
    train = load_dataset("mnist")
    held = load_dataset("mnist", split="heldout")
    for ds in (train, held):
        assert ds.y.dtype == torch.int64 and ds.y.shape == (len(ds),)
        assert int(ds.y.min()) == 0 and int(ds.y.max()) == 9
    counts = np.bincount(train.y.numpy(), minlength=10) + np.bincount(held.y.numpy(), minlength=10)
    assert counts.sum() == 10000
    np.testing.assert_array_equal(counts, np.bincount(labels, minlength=10))
    # the MNIST test set's published class counts
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_first_n_in_file_order():
    full = load_dataset("mnist", split="heldout")
    part = load_dataset("mnist", split="heldout", n=25)
    assert part.x.shape == (25, 1, 28, 28)
    torch.testing.assert_close(part.x, full.x[:25])
    torch.testing.assert_close(part.y, full.y[:25])


def test_loads_are_independent_copies():
    a = load_dataset("mnist", n=3)
    a.x.fill_(7.0)
    assert float(load_dataset("mnist", n=3).x.max()) == pytest.approx(1.0)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="split"):
        load_dataset("mnist", split="test")
    with pytest.raises(ConfigError, match="8000"):
        load_dataset("mnist", n=8001)
    with pytest.raises(ConfigError, match="positive"):
        load_dataset("mnist", n=0)
