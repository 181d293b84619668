"""``vegan data``: writing samples, listing, and one-line errors that create no file."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import vegan.data


def test_writes_first_mnist_train_images(run_cli, tmp_path):
    out = tmp_path / "f.npy"
    code, stdout, err = run_cli("data", "mnist", "--n", "10", "--out", out)
    assert code == 0 and err == ""
    arr = np.load(out)
    assert arr.shape == (10, 1, 28, 28) and arr.dtype == np.float32
    folder = Path(vegan.data.__file__).parent / "mnist"
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as fh:
        raw = np.frombuffer(fh.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    train_idx = [0, 1, 2, 3, 5, 6, 7, 8, 10, 11]
    np.testing.assert_array_equal(arr[:, 0], raw[train_idx] / np.float32(255))
    assert stdout.count("\n") == 1 and "(10, 1, 28, 28)" in stdout and str(out) in stdout


def test_toy_defaults_and_seed(run_cli, tmp_path):
    code, _, _ = run_cli(
        "data", "toy:8gaussians", "--split", "heldout", "--out", tmp_path / "a.npy"
    )
    assert code == 0 and np.load(tmp_path / "a.npy").shape == (2000, 2)
    run_cli("data", "toy:8gaussians", "--out", tmp_path / "b.npy", "--seed", "1")
    run_cli("data", "toy:8gaussians", "--out", tmp_path / "c.npy", "--seed", "2")
    assert np.load(tmp_path / "b.npy").shape == (8000, 2)
    assert not np.allclose(np.load(tmp_path / "b.npy"), np.load(tmp_path / "c.npy"))


def test_list(run_cli):
    code, out, err = run_cli("data", "--list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    for name in ("mnist", "mnist-full", "toy:8gaussians", "toy:gaussian"):
        assert any(line.split()[0] == name and len(line.split()) > 1 for line in lines)


@pytest.mark.parametrize(
    "args, match",
    [
        (["mnist", "--n", "0"], "positive integer"),
        (["mnist", "--n", "-4"], "positive integer"),
        ([], "no dataset given"),
        (["mnsit"], "did you mean 'mnist'"),
        (["mnist", "--split", "test"], "'train' or 'heldout'"),
        (["mnist", "--n", "8001"], "8000"),
        (["toy:gaussian?dd=2"], "did you mean 'd'"),
    ],
)
def test_errors_exit_2_one_line_no_file(run_cli, tmp_path, args, match):
    out = tmp_path / "x.npy"
    code, stdout, err = run_cli("data", *args, "--out", out)
    assert code == 2
    assert err.startswith("vegan: error:") and err.count("\n") == 1
    assert match in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_output_paths(run_cli, tmp_path):
    code, _, err = run_cli("data", "mnist", "--out", tmp_path / "x.txt")
    assert code == 2 and ".npy" in err
    code, _, err = run_cli("data", "mnist", "--out", tmp_path / "missing" / "x.npy")
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli("data", "mnist")
    assert code == 2 and "--out" in err
    assert list(tmp_path.iterdir()) == []
