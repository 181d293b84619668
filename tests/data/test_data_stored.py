"""Data held as stored: memory-mapped .npy, uint8 kept uint8, image folders read lazily, prepare."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vegan.data import load_dataset
from vegan.data.files import fingerprint
from vegan.data.items import ArrayItems, to_float
from vegan.data.prepare import prepare_folder
from vegan.errors import ConfigError, DataError, ShapeError


def _rss() -> int:
    """Resident bytes of this process (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _big_u8(path, n=1600, shape=(3, 64, 64)):
    """A uint8 .npy of n * 12 KiB (about 19 MiB), written through a memory map."""
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, *shape))
    for s in range(0, n, 400):
        arr[s : s + 400] = (np.arange(s, s + 400) % 251)[:, None, None, None]
    arr.flush()
    del arr
    return path


def test_npy_is_memory_mapped_and_never_read_whole(tmp_path):
    path = _big_u8(tmp_path / "big.npy", n=4000)  # 47 MiB
    size = path.stat().st_size
    before = _rss()
    ds = load_dataset(str(path))
    items = ds.items
    assert isinstance(items.array, np.memmap) and items.mapped and not ds.in_memory
    assert ds.sample_shape == (3, 64, 64) and len(ds) == 3200
    # the split is an index mapping: item 4 of train is stored item 5 (4 is held out)
    assert items.index[:5].tolist() == [0, 1, 2, 3, 5]
    assert _rss() - before < size / 4  # loading read the header, not the data
    # read every item of the split (38 MiB) in random batches: the pages are handed back
    order = np.random.default_rng(0).permutation(len(ds))
    for s in range(0, len(ds), 64):
        b = items.read(order[s : s + 64])
        assert b.dtype == np.uint8
    assert _rss() - before < size / 4
    # the oracle: stored item i holds the value i % 251 everywhere
    got = items.read(np.array([4, 3199]))
    assert got[0].min() == got[0].max() == 5 % 251
    assert got[1].min() == got[1].max() == (3199 + 3199 // 4) % 251  # 4 train per 5 stored


def test_uint8_path_equals_float_path_to_rounding(tmp_path):
    rng = np.random.default_rng(3)
    arr = rng.integers(0, 256, size=(25, 3, 5, 4), dtype=np.uint8)
    np.save(tmp_path / "u8.npy", arr)
    ds = load_dataset(str(tmp_path / "u8.npy"))
    assert ds.items.dtype == np.uint8  # stays uint8 until the batch is on its device
    batch = to_float(torch.from_numpy(ds.items.read(np.arange(len(ds)))))
    want = arr[[i for i in range(25) if i % 5 != 4]].astype(np.float64) / 255.0
    err = np.abs(batch.numpy().astype(np.float64) - want).max()
    assert err <= 1 / 255 / 2
    # and on the CPU it is the float32 path bit for bit (IEEE division)
    np.testing.assert_array_equal(batch.numpy(), want.astype(np.float32))
    np.testing.assert_array_equal(ds.x.numpy(), batch.numpy())


def test_head_take_first_read_only_what_they_need(tmp_path):
    arr = np.arange(40 * 2, dtype=np.float64).reshape(40, 2) / 100
    np.save(tmp_path / "v.npy", arr)
    ds = load_dataset(str(tmp_path / "v.npy"), split="heldout")  # items 4, 9, ..., 39
    np.testing.assert_array_equal(ds.head(2).numpy(), arr[[4, 9]].astype(np.float32))
    np.testing.assert_array_equal(ds.take([7, 0]).numpy(), arr[[39, 4]].astype(np.float32))
    part = ds.first(3)
    assert len(part) == 3 and part.items.index.tolist() == [4, 9, 14]


def test_workers_unpickle_a_map_not_the_data(tmp_path):
    import pickle

    path = _big_u8(tmp_path / "m.npy", n=400)
    items = load_dataset(str(path)).items
    blob = pickle.dumps(items)
    assert len(blob) < 100_000  # the index, not the 4.7 MiB of pixels
    again = pickle.loads(blob)
    assert isinstance(again.array, np.memmap)
    np.testing.assert_array_equal(again.read(np.arange(5)), items.read(np.arange(5)))


def _folder(tmp_path, classes=("cat", "dog"), per=5, size=(6, 4)):
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    arrays = {}
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per):
            a = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(a).save(root / c / f"{i}.png")
            arrays[f"{c}/{i}.png"] = a.transpose(2, 0, 1)
    return root, arrays


def test_nested_folder_lazy_uint8_with_class_labels(tmp_path):
    root, arrays = _folder(tmp_path)
    ds = load_dataset(str(root))
    order = sorted(arrays)  # cat/0.png ... dog/4.png
    train = [k for i, k in enumerate(order) if i % 5 != 4]
    assert ds.items.files == train and ds.items.dtype == np.uint8 and not ds.in_memory
    assert ds.y.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    np.testing.assert_array_equal(ds.items.read(np.array([5])), arrays[train[5]][None])
    np.testing.assert_allclose(ds.head(1).numpy(), arrays[train[0]][None] / 255.0, rtol=1e-6)


def test_truncated_png_in_the_middle_is_named(tmp_path):
    root, _ = _folder(tmp_path)
    target = root / "cat" / "2.png"
    target.write_bytes(target.read_bytes()[:-30])  # the header is intact, the data is not
    with pytest.raises(DataError, match=r"could not read image '.*cat/2.png'"):
        load_dataset(str(root))


def test_fingerprint_sees_names_sizes_and_times(tmp_path):
    root, _ = _folder(tmp_path)
    fp = fingerprint(root)
    assert fp["files"] == 10 and fp == fingerprint(root)
    import os

    st = (root / "cat" / "0.png").stat()
    os.utime(root / "cat" / "0.png", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert fingerprint(root) != fp
    (root / "dog" / "9.png").write_bytes((root / "dog" / "0.png").read_bytes())
    assert fingerprint(root)["files"] == 11


def test_prepare_center_crop_matches_pillow(tmp_path):
    root, arrays = _folder(tmp_path, size=(12, 8))
    out = tmp_path / "p.npy"
    shape = prepare_folder(root, out, size=4, crop="center")
    assert shape == (10, 3, 4, 4)
    got = np.load(out, mmap_mode="r")
    assert got.dtype == np.uint8 and got.shape == shape
    # the oracle: the center 8x8 square of the 12x8 image (box by hand), resized by Pillow
    first = Image.fromarray(arrays["cat/0.png"].transpose(1, 2, 0))
    square = first.resize((4, 4), Image.Resampling.LANCZOS, box=(2, 0, 10, 8))
    np.testing.assert_array_equal(got[0], np.asarray(square).transpose(2, 0, 1))
    whole = np.asarray(first.resize((4, 4), Image.Resampling.LANCZOS))
    assert not np.array_equal(got[0], whole.transpose(2, 0, 1))  # it did crop
    # no resizing: the exact pixels, in the folder's order
    prepare_folder(root, tmp_path / "q.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "q.npy")[7], arrays["dog/2.png"])
    assert load_dataset(str(tmp_path / "q.npy")).items.dtype == np.uint8


def test_prepare_bad_image_leaves_nothing(tmp_path):
    root, _ = _folder(tmp_path)
    (root / "dog" / "3.png").write_bytes((root / "dog" / "3.png").read_bytes()[:-30])
    with pytest.raises(DataError, match=r"dog/3.png"):
        prepare_folder(root, tmp_path / "p.npy", size=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs"]
    Image.new("RGB", (9, 9)).save(root / "dog" / "3.png")
    with pytest.raises(ShapeError, match=r"is 9x9 but .* is 6x4; all images must have one size"):
        prepare_folder(root, tmp_path / "p.npy")
    with pytest.raises(ConfigError, match="unknown crop"):
        prepare_folder(root, tmp_path / "p.npy", size=4, crop="left")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs"]


def test_channels_last_memmap(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 6, 3), dtype=np.uint8)
    np.save(tmp_path / "c.npy", rgb)
    items = ArrayItems(np.load(tmp_path / "c.npy", mmap_mode="r"), "c", str(tmp_path / "c.npy"))
    assert items.sample_shape == (3, 7, 6)
    np.testing.assert_array_equal(items.read(np.array([2]))[0], rgb[2].transpose(2, 0, 1))
