"""Full MNIST without the network: local IDX files, the offline failure, and a download
from a throwaway HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import struct
import threading

import numpy as np
import pytest

from vegan.data import load_dataset, mnist
from vegan.errors import DataError

TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"


def idx_bytes(arr: np.ndarray) -> bytes:
    """A hand-written uint8 IDX encoder."""
    head = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Never touch the real cache or the network."""
    monkeypatch.setenv("VEGAN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VEGAN_DATA_DIR", raising=False)
    monkeypatch.setattr(mnist, "MIRRORS", ["http://127.0.0.1:9/"])
    monkeypatch.setattr(mnist, "DOWNLOAD_TIMEOUT", 2.0)


@pytest.fixture
def fake(monkeypatch):
    """Small fake MNIST arrays, and MD5 patched to their checksums."""
    rng = np.random.default_rng(0)
    arrays = {
        TRAIN_IMAGES: rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8),
        TRAIN_LABELS: rng.integers(0, 10, size=7, dtype=np.uint8),
        TEST_IMAGES: rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
        TEST_LABELS: rng.integers(0, 10, size=3, dtype=np.uint8),
    }
    md5 = {k: hashlib.md5(idx_bytes(v)).hexdigest() for k, v in arrays.items()}
    monkeypatch.setattr(mnist, "MD5", md5)
    return arrays


def write(folder, arrays, names, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        data = idx_bytes(arrays[name])
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def test_offline_failure_is_one_clear_line(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset("mnist-full", data_dir=tmp_path / "mine")
    msg = str(info.value)
    assert "\n" not in msg
    assert str(tmp_path / "cache" / "mnist") in msg  # where to put the files
    assert "--data-dir" in msg and "VEGAN_DATA_DIR" in msg and TRAIN_IMAGES in msg
    assert not (tmp_path / "cache" / "mnist" / f"{TRAIN_IMAGES}.gz").exists()


def test_local_directory(tmp_path, fake):
    folder = tmp_path / "mine"
    write(folder, fake, [TRAIN_IMAGES], gz=True)
    write(folder, fake, [TRAIN_LABELS], gz=False)
    ds = load_dataset("mnist-full", data_dir=folder)
    assert ds.x.shape == (7, 1, 28, 28) and ds.name == "mnist-full"
    np.testing.assert_array_equal(ds.x[:, 0].numpy(), fake[TRAIN_IMAGES] / np.float32(255))
    np.testing.assert_array_equal(ds.y.numpy(), fake[TRAIN_LABELS])
    assert load_dataset("mnist-full", data_dir=folder, n=2).x.shape == (2, 1, 28, 28)


def test_heldout_is_the_test_set(tmp_path, fake):
    folder = tmp_path / "mine"
    write(folder, fake, [TRAIN_IMAGES, TRAIN_LABELS])
    # without local test files: the built-in copy of the 10,000 test images
    held = load_dataset("mnist-full", split="heldout", data_dir=folder)
    assert held.x.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(held.x[4].numpy(), load_dataset("mnist", "heldout").x[0])
    write(folder, fake, [TEST_IMAGES, TEST_LABELS])
    held = load_dataset("mnist-full", split="heldout", data_dir=folder)
    np.testing.assert_array_equal(held.y.numpy(), fake[TEST_LABELS])


def test_env_data_dir_and_subfolder(tmp_path, fake, monkeypatch):
    write(tmp_path / "root" / "mnist", fake, [TRAIN_IMAGES, TRAIN_LABELS])
    monkeypatch.setenv("VEGAN_DATA_DIR", str(tmp_path / "root"))
    assert load_dataset("mnist-full").x.shape == (7, 1, 28, 28)


def test_local_file_with_wrong_checksum(tmp_path, fake, monkeypatch):
    folder = tmp_path / "mine"
    write(folder, fake, [TRAIN_IMAGES, TRAIN_LABELS])
    monkeypatch.setitem(mnist.MD5, TRAIN_IMAGES, "0" * 32)
    with pytest.raises(DataError, match="checksum"):
        load_dataset("mnist-full", data_dir=folder)


def test_download_from_mirror(tmp_path, fake, monkeypatch):
    served = tmp_path / "served"
    write(served, fake, [TRAIN_IMAGES, TRAIN_LABELS])
    (served / "bad").mkdir()  # a mirror serving a corrupted copy is skipped
    (served / "bad" / f"{TRAIN_IMAGES}.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01junk"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    monkeypatch.setattr(mnist, "MIRRORS", ["http://127.0.0.1:9/", base + "bad/", base])
    try:
        ds = load_dataset("mnist-full")
    finally:
        server.shutdown()
        server.server_close()
    np.testing.assert_array_equal(ds.y.numpy(), fake[TRAIN_LABELS])
    cache = tmp_path / "cache" / "mnist"
    assert (cache / f"{TRAIN_IMAGES}.gz").is_file() and (cache / f"{TRAIN_LABELS}.gz").is_file()
    # served from the cache now that the server is gone
    np.testing.assert_array_equal(load_dataset("mnist-full").x.numpy(), ds.x.numpy())
