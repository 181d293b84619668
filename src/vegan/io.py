"""File input and output shared by every command: safe array loading and atomic writes.

Nothing here unpickles: ``.npy``/``.npz`` files are read with
``allow_pickle=False``. Every write goes to a temporary file in the target
folder first and is renamed into place, so a crash never leaves a half-written
file under the final name and an existing file is replaced only by a complete one.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from vegan.errors import DataError, OutputError, ResourceError

ARRAY_SUFFIXES = (".npy", ".npz")


def check_output_path(path: str | os.PathLike, suffixes: tuple[str, ...] | None = None) -> Path:
    """Validate an output file path before any work is done.

    Raises :class:`OutputError` when the parent folder does not exist or is not
    writable, or when the suffix is not one of ``suffixes``.
    """
    p = Path(path)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise OutputError(
            f"output file '{p}' must end with one of {', '.join(suffixes)}; rename it"
        )
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"folder '{parent}' for output '{p}' does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"folder '{parent}' is not writable; choose another output path")
    if p.is_dir():
        raise OutputError(f"output '{p}' is a folder; give a file name")
    return p


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "wb") -> Path:
    """Write a file atomically: ``write(fh)`` fills a temporary file that is then renamed.

    The temporary file lives in the same folder (same file system), is fsynced,
    and is removed if anything fails, so the final name only ever holds a
    complete file. A full disk raises :class:`OutputError`.
    """
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, p)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise OutputError(
            f"could not write '{p}': {exc.strerror or exc}; free space or "
            "choose another output path"
        ) from exc
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return p


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Save an array as ``.npy`` atomically, never with pickled objects."""
    arr = np.ascontiguousarray(array)
    if arr.dtype == object:
        raise DataError("refusing to save an object array; convert it to a numeric dtype")
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return atomic_write_bytes(path, buf.getvalue())


class NpyRows:
    """Rows of a ``.npy`` file being written: ``rows[a:b] = values`` maps only rows a..b.

    Each assignment maps its rows, copies, flushes and unmaps them, so the
    written pages leave the process: one mapping of the whole file would keep
    every page written so far resident (2.4 GB for 200,000 64x64 images).
    """

    def __init__(self, path: str, shape: tuple[int, ...], dtype: Any) -> None:
        head = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=tuple(shape))
        self.offset = head.offset  # where the data starts, after the .npy header
        del head
        self.path, self.shape, self.dtype = path, tuple(shape), np.dtype(dtype)
        self.row_bytes = math.prod(self.shape[1:]) * self.dtype.itemsize

    def __setitem__(self, rows: slice, values: np.ndarray) -> None:
        start, stop, step = rows.indices(self.shape[0])
        if step != 1:
            raise ValueError("NpyRows takes contiguous slices of rows")
        if stop <= start:
            return
        part = np.memmap(
            self.path,
            self.dtype,
            "r+",
            self.offset + start * self.row_bytes,
            (stop - start, *self.shape[1:]),
        )
        part[:] = values
        part.flush()
        del part


@contextmanager
def atomic_npy(path: str | os.PathLike, shape: tuple[int, ...], dtype: Any) -> Iterator[NpyRows]:
    """Write a large ``.npy`` in place of ``path``, a block of rows at a time, atomically.

    Yields the :class:`NpyRows` of a temporary file in the same folder, to be
    filled in chunks (``rows[a:b] = chunk``: nothing needs to fit in memory,
    and written pages are not kept resident); on a normal exit it is fsynced
    and renamed to ``path``; on an error it is removed, and ``path`` is as it
    was. A full disk raises :class:`OutputError`.
    """
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    try:
        yield NpyRows(tmp, shape, dtype)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, p)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise OutputError(
            f"could not write '{p}': {exc.strerror or exc}; free space or choose another "
            "output path"
        ) from exc
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


#: First bytes of a .npy file, of a zip archive (.npz; an empty one), of a pickle (protocol 2+).
_NPY_MAGIC, _ZIP_MAGICS, _PICKLE_MAGIC = b"\x93NUMPY", (b"PK\x03\x04", b"PK\x05\x06"), b"\x80"


def _check_magic(p: Path, suffix: str) -> None:
    """Refuse a file whose first bytes are not those of its format (NumPy would try pickle)."""
    try:
        with open(p, "rb") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise DataError(f"could not read '{p}': {exc.strerror or exc}") from exc
    ok = head == _NPY_MAGIC if suffix == ".npy" else head[:4] in _ZIP_MAGICS
    if ok:
        return
    if head[:1] == _PICKLE_MAGIC:
        raise DataError(f"'{p}' is a Python pickle, not a {suffix} array; vegan never unpickles")
    what = "NumPy .npy header" if suffix == ".npy" else "zip archive (.npz) header"
    raise DataError(
        f"'{p}' does not start with a {what}; it is not a {suffix} file or it is corrupted "
        "(save arrays with numpy.save / numpy.savez)"
    )


def _check_npy_header(fh: Any, size: int, name: str, in_memory: bool = True) -> None:
    """Check an .npy header against the bytes that follow it, before NumPy allocates.

    NumPy allocates the shape a header declares before reading the data: a
    crafted or truncated file declaring terabytes would raise MemoryError (or
    exhaust memory). ``size`` is the file's (or zip member's) size in bytes.
    ``in_memory`` also refuses data larger than the memory available (not
    for a memory map, which reads pages on demand).
    """
    from numpy.lib import format as npformat

    try:
        version = npformat.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = npformat.read_array_header_1_0(fh)
        else:
            shape, _, dtype = npformat.read_array_header_2_0(fh)
    except Exception as exc:  # NumPy's header parser raises ValueError, SyntaxError, TokenError
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise DataError(f"{name} has an invalid .npy header ({reason}); re-save it") from exc
    if dtype.hasobject:
        raise DataError(f"{name} holds Python objects (pickle); vegan only loads numeric arrays")
    need = math.prod(shape) * dtype.itemsize  # Python int: no overflow
    have = size - fh.tell()
    if need > have:
        raise DataError(
            f"{name} declares shape {shape} ({need} bytes) but only {max(have, 0)} bytes "
            "follow its header; it is truncated or corrupted"
        )
    from vegan.resources import available_memory, format_bytes

    free = available_memory() if in_memory else None
    if free is not None and need > free:
        raise ResourceError(
            f"{name} holds {format_bytes(need)} of data, more than the "
            f"{format_bytes(free)} of memory available; use a smaller file"
        )


def load_array(path: str | os.PathLike, key: str | None = None) -> np.ndarray:
    """Load a numeric array from ``.npy`` or ``.npz`` without unpickling.

    For ``.npz`` the array named ``key`` is returned, or the only array, or
    the one named ``x``/``data``/``samples``. Raises :class:`DataError` with a
    one-line reason for a missing, unreadable, truncated, pickled or
    non-numeric file.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"file '{p}' does not exist; check the path")
    if p.is_dir():
        raise DataError(f"'{p}' is a folder, expected a .npy or .npz file")
    suffix = p.suffix.lower()
    if suffix not in ARRAY_SUFFIXES:
        raise DataError(f"'{p}' is not a .npy or .npz file; save your samples with numpy.save")
    _check_magic(p, suffix)
    try:
        if suffix == ".npy":
            with open(p, "rb") as fh:
                _check_npy_header(fh, p.stat().st_size, f"'{p}'")
            arr = np.load(p, allow_pickle=False)
        else:
            with np.load(p, allow_pickle=False) as z:
                names = list(z.files)
                if not names:
                    raise DataError(f"'{p}' holds no arrays")
                if key is None:
                    if len(names) == 1:
                        key = names[0]
                    else:
                        key = next((k for k in ("x", "data", "samples") if k in names), None)
                        if key is None:
                            raise DataError(
                                f"'{p}' holds several arrays ({', '.join(names)}); "
                                "name one, e.g. FILE.npz:x"
                            )
                if key not in names:
                    raise DataError(f"'{p}' has no array '{key}' (it has {', '.join(names)})")
                member = key if key in z.zip.namelist() else f"{key}.npy"
                info = z.zip.getinfo(member)
                with z.zip.open(member) as fh:
                    _check_npy_header(fh, info.file_size, f"array '{key}' of '{p}'")
                arr = z[key]
    except (DataError, ResourceError):
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError(
                f"'{p}' holds Python objects (pickle); vegan only loads numeric arrays"
            ) from exc
        raise DataError(f"'{p}' is not a valid {suffix} file ({exc}); re-save it") from exc
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, MemoryError) as exc:
        raise DataError(
            f"'{p}' could not be read as {suffix} ({type(exc).__name__}: {exc}); "
            "it may be truncated or corrupted"
        ) from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise DataError(f"'{p}' has dtype {arr.dtype}; expected a numeric array")
    return arr


def map_npy(path: str | os.PathLike) -> np.ndarray:
    """Memory-map a ``.npy`` file read-only (``np.load(mmap_mode="r")``): only its header is read.

    The file is checked as :func:`load_array` checks it (magic bytes, no
    pickled objects, a numeric dtype, every byte the header declares
    present: a truncated file is a :class:`DataError` found from its size
    alone), but not against the memory available: the operating system
    pages the data in as it is indexed. An empty array is read normally
    (NumPy cannot map zero bytes).
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"file '{p}' does not exist; check the path")
    if p.is_dir() or p.suffix.lower() != ".npy":
        raise DataError(f"'{p}' is not a .npy file; save your samples with numpy.save")
    _check_magic(p, ".npy")
    try:
        with open(p, "rb") as fh:
            _check_npy_header(fh, p.stat().st_size, f"'{p}'", in_memory=False)
            empty = fh.tell() == p.stat().st_size
        arr = np.load(p, allow_pickle=False, mmap_mode=None if empty else "r")
    except (DataError, ResourceError):
        raise
    except (OSError, ValueError) as exc:
        raise DataError(
            f"'{p}' could not be memory-mapped ({type(exc).__name__}: {exc}); check the file"
        ) from exc
    if not (np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)):
        raise DataError(f"'{p}' has dtype {arr.dtype}; expected a numeric array")
    return arr


def check_samples(arr: np.ndarray, name: str = "samples", allow_1d: bool = True) -> np.ndarray:
    """Validate a sample array: at least one sample, finite, shape (n, d) or (n, C, H, W).

    A 1-D array is read as n samples in one dimension when ``allow_1d``.
    Returns the array as float64 for 1-D/2-D and unchanged dtype otherwise.
    """
    if arr.ndim == 0:
        raise DataError(f"{name} is a scalar; expected an array of shape (n, d)")
    if arr.ndim == 1:
        if not allow_1d:
            raise DataError(f"{name} has shape {arr.shape}; expected (n, d)")
        arr = arr[:, None]
    if arr.ndim not in (2, 3, 4):
        raise DataError(f"{name} has shape {tuple(arr.shape)}; expected (n, d) or (n, C, H, W)")
    if arr.shape[0] == 0 or int(np.prod(arr.shape[1:])) == 0:
        raise DataError(f"{name} is empty (shape {tuple(arr.shape)}); give at least one sample")
    if not np.all(np.isfinite(arr)):
        bad = int((~np.isfinite(arr)).sum())
        raise DataError(f"{name} contains {bad} NaN or inf values; remove or replace them")
    return arr
