"""User arrays (.npy/.npz) and folders of images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vegan.data import load_dataset
from vegan.errors import ConfigError, DataError, ShapeError

TRAIN = np.array([i for i in range(23) if i % 5 != 4])
HELDOUT = np.array([4, 9, 14, 19])


def test_npy_vectors_split_rule(tmp_path):
    arr = np.arange(23 * 3, dtype=np.float64).reshape(23, 3)
    np.save(tmp_path / "v.npy", arr)
    train = load_dataset(str(tmp_path / "v.npy"))
    held = load_dataset(str(tmp_path / "v.npy"), split="heldout")
    assert train.kind == "vector" and train.x.dtype == torch.float32 and train.y is None
    np.testing.assert_array_equal(train.x.numpy(), arr[TRAIN])
    np.testing.assert_array_equal(held.x.numpy(), arr[HELDOUT])
    np.testing.assert_array_equal(
        load_dataset(str(tmp_path / "v.npy"), n=5).x.numpy(), arr[TRAIN[:5]]
    )
    with pytest.raises(ConfigError, match="has 4"):
        load_dataset(str(tmp_path / "v.npy"), split="heldout", n=5)


def test_uint8_images_scaled(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, size=(10, 1, 6, 5), dtype=np.uint8)
    arr[0, 0, 0, 0], arr[1, 0, 0, 0] = 0, 255
    np.save(tmp_path / "img.npy", arr)
    ds = load_dataset(str(tmp_path / "img.npy"))
    assert ds.kind == "image" and ds.sample_shape == (1, 6, 5) and len(ds) == 8
    np.testing.assert_allclose(ds.x.numpy(), arr[TRAIN[:8]] / 255.0, rtol=1e-6)
    assert float(ds.x.max()) == 1.0 and float(ds.x.min()) == 0.0


def test_three_dim_and_channels_last(tmp_path):
    gray = np.random.default_rng(0).integers(0, 256, size=(5, 7, 6), dtype=np.uint8)
    np.save(tmp_path / "g.npy", gray)
    assert load_dataset(str(tmp_path / "g.npy")).x.shape == (4, 1, 7, 6)
    rgb = np.random.default_rng(0).random((5, 7, 6, 3)).astype(np.float32)
    np.save(tmp_path / "c.npy", rgb)
    ds = load_dataset(str(tmp_path / "c.npy"))
    assert ds.x.shape == (4, 3, 7, 6)
    np.testing.assert_array_equal(ds.x[0].numpy(), rgb[0].transpose(2, 0, 1))


def test_npz_with_labels_and_key(tmp_path):
    x = np.random.default_rng(0).random((10, 4))
    y = np.arange(10) % 3
    np.savez(tmp_path / "d.npz", x=x, y=y)
    ds = load_dataset(str(tmp_path / "d.npz"), split="heldout")
    np.testing.assert_allclose(ds.x.numpy(), x[[4, 9]].astype(np.float32))
    assert ds.y.dtype == torch.int64 and ds.y.tolist() == [1, 0]
    np.savez(tmp_path / "e.npz", images=x, other=x * 2)
    with pytest.raises(DataError, match="several arrays"):
        load_dataset(str(tmp_path / "e.npz"))
    ds = load_dataset(f"{tmp_path / 'e.npz'}:other")
    np.testing.assert_allclose(ds.x.numpy(), (x * 2)[TRAIN[:8]].astype(np.float32))
    np.savez(tmp_path / "f.npz", x=x, y=np.arange(3))
    with pytest.raises(ShapeError, match="one label per sample"):
        load_dataset(str(tmp_path / "f.npz"))


@pytest.mark.parametrize(
    "arr, match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0]]), "NaN or inf"),
        (np.zeros((0, 3)), "empty"),
        (np.zeros((5, 0)), "empty"),
        (np.zeros(5), r"x\[:, None\]"),
        (np.zeros((2, 1, 1, 1, 1)), "5 dimensions"),
        (np.full((5, 1, 4, 4), 2.0), r"\[0, 1\]"),
        (np.zeros((3, 2)), "no items in its heldout"),
    ],
)
def test_bad_arrays(tmp_path, arr, match):
    np.save(tmp_path / "bad.npy", arr)
    split = "heldout" if arr.shape == (3, 2) else "train"
    with pytest.raises(DataError, match=match):
        load_dataset(str(tmp_path / "bad.npy"), split=split)


def test_pickled_object_array_is_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="pickle"):
        load_dataset(str(tmp_path / "obj.npy"))


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(str(tmp_path / "nope.npy"))


def _png_folder(tmp_path, n, size=(5, 6), mode="L"):
    """Write n images named img000.png... ; returns their arrays as (n, C, H, W) uint8."""
    rng = np.random.default_rng(1)
    folder = tmp_path / "imgs"
    folder.mkdir()
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    arrays = rng.integers(0, 256, size=(n, size[1], size[0], channels), dtype=np.uint8)
    for i, a in enumerate(arrays):
        Image.fromarray(a[..., 0] if mode == "L" else a, mode=mode).save(folder / f"img{i:03d}.png")
    return folder, arrays.transpose(0, 3, 1, 2)


def test_grayscale_png_folder(tmp_path):
    folder, arrays = _png_folder(tmp_path, 12)
    (folder / "notes.txt").write_text("ignored")
    train = load_dataset(str(folder))
    held = load_dataset(str(folder), split="heldout")
    assert train.kind == "image" and train.x.shape == (10, 1, 6, 5)
    np.testing.assert_allclose(held.x.numpy(), arrays[[4, 9]] / 255.0, rtol=1e-6)
    np.testing.assert_allclose(load_dataset(str(folder), n=3).x.numpy(), arrays[:3] / 255.0)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_colour_png_folder(tmp_path, mode):
    folder, arrays = _png_folder(tmp_path, 6, mode=mode)
    ds = load_dataset(str(folder))
    assert ds.x.shape == (5, 3, 6, 5)
    np.testing.assert_allclose(ds.x[0].numpy(), arrays[0, :3] / 255.0, rtol=1e-6)


def test_mixed_sizes_and_broken_files(tmp_path):
    folder, _ = _png_folder(tmp_path, 3)
    Image.new("L", (9, 9)).save(folder / "img999.png")
    with pytest.raises(ShapeError, match="one size"):
        load_dataset(str(folder))
    (folder / "img999.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="img999.png"):
        load_dataset(str(folder))


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no png"):
        load_dataset(str(tmp_path / "empty"))


def test_mixed_gray_and_colour_folder_gives_three_channels(tmp_path):
    folder, arrays = _png_folder(tmp_path, 3, mode="RGB")
    gray = np.full((6, 5), 200, dtype=np.uint8)
    Image.fromarray(gray, mode="L").save(folder / "img000.png")  # replace the first one
    ds = load_dataset(str(folder))
    assert ds.x.shape == (3, 3, 6, 5)
    np.testing.assert_allclose(ds.x[0].numpy(), np.full((3, 6, 5), 200 / 255.0), rtol=1e-6)
    np.testing.assert_allclose(ds.x[1].numpy(), arrays[1] / 255.0, rtol=1e-6)
