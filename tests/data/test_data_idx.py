"""The IDX reader: valid files (raw and gzip), checksums, and every way a file can be broken."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

import vegan.data
from vegan.data.idx import decode_idx, encode_idx
from vegan.data.mnist import MD5, read_idx
from vegan.errors import DataError

FOLDER = Path(vegan.data.__file__).parent / "mnist"


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    """A hand-written IDX encoder (independent of vegan's)."""
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def test_reads_raw_and_gzip(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(arr))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(arr)))
    for name in ("a", "a.gz"):
        out = read_idx(tmp_path / name)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, arr)


def test_other_dtypes_and_round_trip(tmp_path):
    f = np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)
    (tmp_path / "f").write_bytes(idx_bytes(f, 0x0D))
    out = read_idx(tmp_path / "f")
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, f)
    i = np.array([-5, 70000, 3], dtype=np.int32)
    assert encode_idx(i) == idx_bytes(i, 0x0C)
    np.testing.assert_array_equal(decode_idx(encode_idx(i)), i)


def test_builtin_checksums_are_the_canonical_ones():
    with gzip.open(FOLDER / "t10k-images-idx3-ubyte.gz") as fh:
        assert hashlib.md5(fh.read()).hexdigest() == MD5["t10k-images-idx3-ubyte"]
    labels = read_idx(FOLDER / "t10k-labels-idx1-ubyte.gz", md5=MD5["t10k-labels-idx1-ubyte"])
    assert labels.shape == (10000,)


def test_corrupted_copy_fails_checksum(tmp_path):
    raw = bytearray(gzip.decompress((FOLDER / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # still a valid IDX file with valid labels
    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(bytes(raw)))
    assert read_idx(bad).shape == (10000,)  # readable without a checksum ...
    with pytest.raises(DataError, match="checksum"):  # ... rejected with it
        read_idx(bad, md5=MD5["t10k-labels-idx1-ubyte"])


def test_truncated_file(tmp_path):
    data = idx_bytes(np.zeros((10, 28, 28), dtype=np.uint8))
    (tmp_path / "t").write_bytes(data[:1000])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "t")
    (tmp_path / "h").write_bytes(data[:10])  # cut inside the header
    with pytest.raises(DataError, match="header"):
        read_idx(tmp_path / "h")


def test_truncated_gzip(tmp_path):
    gz = gzip.compress(idx_bytes(np.arange(5000, dtype=np.uint8).reshape(50, 100)))
    (tmp_path / "t.gz").write_bytes(gz[: len(gz) // 2])
    with pytest.raises(DataError, match="gzip"):
        read_idx(tmp_path / "t.gz")


def test_trailing_bytes(tmp_path):
    (tmp_path / "x").write_bytes(idx_bytes(np.zeros(4, dtype=np.uint8)) + b"\x00\x00")
    with pytest.raises(DataError, match="2 bytes after"):
        read_idx(tmp_path / "x")


def test_huge_declared_size_is_not_allocated(tmp_path):
    head = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 2**32 - 1, 2**32 - 1, 2**32 - 1)
    (tmp_path / "big").write_bytes(head + b"\x00" * 64)
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "big")


@pytest.mark.parametrize(
    "head",
    [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"PK\x03\x04", b"\x00\x00\x08\x00"],
)
def test_wrong_magic(tmp_path, head):
    (tmp_path / "m").write_bytes(head + struct.pack(">I", 4) + b"\x00" * 4)
    with pytest.raises(DataError):
        read_idx(tmp_path / "m")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_idx(tmp_path / "nope")
