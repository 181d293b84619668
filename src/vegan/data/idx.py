"""The IDX file format of the MNIST database: a safe reader and a small writer.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``,
``ndim`` big-endian unsigned 32-bit dimensions, then the array in C order,
big-endian. Files may be gzip-compressed (detected from the gzip magic bytes,
not from the file name).

The reader never trusts the header: the size it declares is checked against
the actual number of bytes before any array is built, decompression stops at
``max_bytes``, and a checksum (md5 of the *decompressed* bytes) can be
verified. Every problem is a :class:`vegan.errors.DataError` with one line.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from vegan.errors import DataError, ResourceError

#: IDX dtype code -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: Largest decompressed IDX file read by default (the 60k MNIST images take 47 MB).
MAX_IDX_BYTES = 1 << 30

_GZIP_MAGIC = b"\x1f\x8b"


def md5_hex(data: bytes) -> str:
    """Return the md5 hex digest of ``data``."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def decompress(data: bytes, source: str = "data", max_bytes: int = MAX_IDX_BYTES) -> bytes:
    """Return ``data`` gunzipped if it starts with the gzip magic, else unchanged.

    Stops with :class:`ResourceError` when the decompressed size would exceed
    ``max_bytes``, and with :class:`DataError` for a truncated or corrupted stream.
    """
    if not data.startswith(_GZIP_MAGIC):
        if len(data) > max_bytes:
            raise ResourceError(
                f"'{source}' is {len(data)} bytes, above the {max_bytes}-byte limit for IDX files"
            )
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            raw = fh.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"'{source}' is not a valid gzip file ({exc}); it is truncated or corrupted, "
            "download it again"
        ) from exc
    if len(raw) > max_bytes:
        raise ResourceError(
            f"'{source}' decompresses to more than {max_bytes} bytes; it is not an MNIST-size "
            "IDX file"
        )
    return raw


def decode_idx(
    data: bytes, source: str = "data", md5: str | None = None, max_bytes: int = MAX_IDX_BYTES
) -> np.ndarray:
    """Decode IDX bytes (raw or gzip-compressed) into a native-endian NumPy array.

    Parameters
    ----------
    data : bytes
        The file content.
    source : str
        Name used in error messages (usually the file path).
    md5 : str, optional
        Expected md5 hex digest of the decompressed bytes; a mismatch is a
        :class:`DataError`.
    max_bytes : int
        Refuse files that decompress to more than this.

    Returns
    -------
    numpy.ndarray
        The array with the dimensions of the header, in native byte order.
    """
    raw = decompress(data, source, max_bytes)
    if md5 is not None:
        got = md5_hex(raw)
        if got != md5.lower():
            raise DataError(
                f"'{source}' failed its checksum (md5 {got}, expected {md5}); the file is "
                "corrupted or not the expected one: delete it and download it again"
            )
    if len(raw) < 4:
        raise DataError(f"'{source}' is too short ({len(raw)} bytes) to be an IDX file")
    zero1, zero2, code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero1 != 0 or zero2 != 0 or code not in IDX_DTYPES:
        raise DataError(
            f"'{source}' is not an IDX file (magic number 0x{raw[:4].hex()}; expected "
            "0x0000 followed by a dtype code such as 0x08 and the number of dimensions)"
        )
    if ndim == 0:
        raise DataError(f"'{source}' declares 0 dimensions; an IDX array needs at least one")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"'{source}' is truncated inside its header ({len(raw)} bytes)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize  # Python int: no overflow
    got = len(raw) - header
    if got < expected:
        raise DataError(
            f"'{source}' is truncated: its header declares shape {dims} ({expected} bytes) "
            f"but only {got} bytes follow; download it again"
        )
    if got > expected:
        raise DataError(
            f"'{source}' has {got - expected} bytes after the {dims} array its header declares; "
            "the file is corrupted"
        )
    arr = np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=header)
    return arr.reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(
    path: str | os.PathLike, md5: str | None = None, max_bytes: int = MAX_IDX_BYTES
) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed (see :func:`decode_idx`).

    Parameters
    ----------
    path : path-like
        The ``.idx``/``-ubyte`` file, optionally gzipped.
    md5 : str, optional
        Expected md5 of the decompressed bytes.
    max_bytes : int
        Refuse files larger than this (compressed or decompressed).

    Returns
    -------
    numpy.ndarray
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"IDX file '{p}' does not exist; check the path")
    size = p.stat().st_size
    if size > max_bytes:
        raise ResourceError(f"'{p}' is {size} bytes, above the {max_bytes}-byte limit")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DataError(f"could not read '{p}': {exc.strerror or exc}") from exc
    return decode_idx(data, str(p), md5=md5, max_bytes=max_bytes)


def encode_idx(array: np.ndarray) -> bytes:
    """Encode an array as raw (uncompressed) IDX bytes; the inverse of :func:`decode_idx`."""
    arr = np.asarray(array)
    matches = [
        (code, dtype)
        for code, dtype in IDX_DTYPES.items()
        if arr.dtype.kind == dtype.kind and arr.dtype.itemsize == dtype.itemsize
    ]
    if not matches:
        raise DataError(f"IDX cannot store dtype {arr.dtype}; use uint8, int8/16/32 or float32/64")
    code, dtype = matches[0]
    if arr.ndim == 0 or arr.ndim > 255:
        raise DataError(f"IDX stores 1 to 255 dimensions, not {arr.ndim}")
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + np.ascontiguousarray(arr, dtype=dtype).tobytes()
