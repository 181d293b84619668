"""Write items of ``shapes64`` to disk: a folder of PNGs or one uint8 ``.npy``, with the factors.

``write_pngs`` fills ``DIR/SHAPE/INDEX.png`` (one folder per shape name, so
the folder reads as a labelled image folder; INDEX is the item's global
index, zero-padded) and ``DIR/factors.csv``; ``write_npy`` fills ``FILE.npy``
(uint8, shape (n, 3, 64, 64)) chunk by chunk through
``numpy.lib.format.open_memmap``, so the set is never whole in memory, and
``FILE.factors.csv`` (row k describes image k); each chunk is written
through its own mapping, unmapped after it, so the process's resident memory
stays at about one chunk whatever n. Both CSVs have the columns
``index, file, shape, shape_name`` and the factors of :data:`FACTORS`.

Writes are atomic: everything goes to a temporary name in the target folder
and is renamed into place at the end (the ``.npy`` last), so an interrupted
run leaves no partial output under the final names.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vegan.data import shapes
from vegan.errors import OutputError
from vegan.io import atomic_npy

__all__ = ["csv_header", "factors_beside", "progress_printer", "write_npy", "write_pngs"]

Log = Callable[[int, int], None]


def csv_header() -> str:
    """The first line of a factors CSV."""
    return ",".join(("index", "file", "shape", "shape_name", *shapes.FACTORS))


def _csv_rows(batch: shapes.Batch, files: list[str]) -> str:
    lines = []
    for k in range(len(batch.indices)):
        values = ",".join(f"{v:.6g}" for v in batch.factors[k].tolist())
        s = int(batch.shapes[k])
        lines.append(f"{int(batch.indices[k])},{files[k]},{s},{shapes.SHAPES[s]},{values}")
    return "\n".join(lines) + "\n"


def _check_space(folder: Path, need: int) -> None:
    from vegan.resources import format_bytes

    free = shutil.disk_usage(folder).free
    if need > free:
        raise OutputError(
            f"the output needs about {format_bytes(need)} but '{folder}' has "
            f"{format_bytes(free)} free; free space or choose another output path"
        )


def progress_printer(what: str, stream=None) -> Log:
    """A progress callback ``(done, total)`` printing to stderr: in place on a terminal,
    else every tenth."""
    out = stream or sys.stderr
    tty = getattr(out, "isatty", lambda: False)()
    t0 = time.perf_counter()
    shown = [-1]

    def log(done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if not tty and tenth == shown[0] and done < total:
            return
        shown[0] = tenth
        rate = done / max(time.perf_counter() - t0, 1e-9)
        line = f"vegan: {what} {done}/{total} ({100 * done // max(total, 1)} %, {rate:.0f}/s)"
        print(("\r" + line) if tty else line, end="" if tty and done < total else "\n", file=out)
        out.flush()

    return log


def write_npy(
    out: str | os.PathLike,
    spec: str,
    split: str = "train",
    n: int | None = None,
    log: Log | None = None,
) -> tuple[Path, Path, int]:
    """Write the first ``n`` items of ``split`` of ``spec`` to ``out`` (.npy) and its factors CSV.

    Returns (npy path, csv path, number of items). See the module docstring.
    """
    out = Path(out)
    parsed, idx = shapes.split_items(spec, split, n)
    folder = out.parent if str(out.parent) else Path(".")
    _check_space(folder, idx.size * (3 * shapes.SIZE**2 + 120))
    csv_path = out.with_name(out.stem + ".factors.csv")
    tmp_csv = _temp_name(folder, csv_path.name)
    try:
        shape = (idx.size, 3, shapes.SIZE, shapes.SIZE)
        with atomic_npy(out, shape, np.uint8) as rows:
            done = 0
            with open(tmp_csv, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(csv_header() + "\n")
                for batch in shapes.iter_chunks(idx, parsed.seed):
                    k = len(batch.indices)
                    rows[done : done + k] = batch.images
                    fh.write(_csv_rows(batch, [out.name] * k))
                    done += k
                    if log:
                        log(done, idx.size)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp_csv, 0o666 & ~_umask())
            # Before the .npy is renamed (at the end of the block): a FILE.npy always has
            # its factors beside it.
            os.replace(tmp_csv, csv_path)
    except OSError as exc:
        _remove(tmp_csv)
        raise OutputError(
            f"could not write '{csv_path}': {exc.strerror or exc}; free space or choose "
            "another output path"
        ) from exc
    except BaseException:
        _remove(tmp_csv)
        raise
    return out, csv_path, int(idx.size)


def write_pngs(
    out: str | os.PathLike,
    spec: str,
    split: str = "train",
    n: int | None = None,
    log: Log | None = None,
) -> tuple[Path, int]:
    """Write the first ``n`` items of ``split`` of ``spec`` as PNGs under the folder ``out``.

    ``out`` must not exist or be an empty folder (nothing is overwritten).
    Returns (folder, number of items). See the module docstring.
    """
    from PIL import Image

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        what = "a file" if not out.is_dir() else "a folder that is not empty"
        raise OutputError(f"'{out}' is {what}; choose a new folder for the PNGs")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"folder '{parent}' for output '{out}' does not exist; create it first")
    parsed, idx = shapes.split_items(spec, split, n)
    _check_space(parent, idx.size * 4096)
    width = max(6, len(str(int(idx[-1])))) if idx.size else 6
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    try:
        for name in shapes.SHAPES:
            (tmp / name).mkdir()
        done = 0
        with open(tmp / "factors.csv", "w", encoding="utf-8", newline="\n") as fh:
            fh.write(csv_header() + "\n")
            for batch in shapes.iter_chunks(idx, parsed.seed):
                files = []
                for k in range(len(batch.indices)):
                    name = shapes.SHAPES[int(batch.shapes[k])]
                    rel = f"{name}/{int(batch.indices[k]):0{width}d}.png"
                    Image.fromarray(batch.images[k].transpose(1, 2, 0)).save(tmp / rel)
                    files.append(rel)
                fh.write(_csv_rows(batch, files))
                done += len(files)
                if log:
                    log(done, idx.size)
        os.chmod(tmp, 0o777 & ~_umask())
        if out.is_dir():
            out.rmdir()  # empty (checked above)
        os.replace(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(
            f"could not write '{out}': {exc.strerror or exc}; free space or choose another "
            "output path"
        ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out, int(idx.size)


def factors_beside(
    npy: str | os.PathLike, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The factors and shape ids of rows ``rows`` of a ``.npy`` written by :func:`write_npy`.

    Reads ``FILE.factors.csv`` beside ``FILE.npy`` up to the last row asked.
    Returns None when there is no such CSV; raises :class:`DataError` when it
    is not one :func:`write_npy` wrote for this file, or has too few rows.
    """
    from vegan.errors import DataError

    npy = Path(npy)
    path = npy.with_name(npy.stem + ".factors.csv")
    if npy.suffix.lower() != ".npy" or not path.is_file():
        return None
    rows = np.asarray(rows, dtype=np.int64)
    wanted = {int(r): k for k, r in enumerate(rows.tolist())}
    factors = np.zeros((len(rows), len(shapes.FACTORS)), dtype=np.float32)
    labels = np.zeros(len(rows), dtype=np.int64)
    last = int(rows.max()) if rows.size else -1
    found = 0
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.readline().strip() != csv_header():
                raise DataError(
                    f"'{path}' does not start with the shapes64 factors header; it was not "
                    f"written by 'vegan data shapes64 --out {npy.name}'"
                )
            for row, line in enumerate(fh):
                if row > last:
                    break
                if row in wanted:
                    cells = line.rstrip("\n").split(",")
                    if cells[1] != npy.name:
                        raise DataError(
                            f"'{path}' describes '{cells[1]}', not '{npy.name}'; write both "
                            "with 'vegan data shapes64 --out FILE.npy'"
                        )
                    k = wanted[row]
                    labels[k] = int(cells[2])
                    factors[k] = [float(c) for c in cells[4:]]
                    found += 1
    except (OSError, ValueError, IndexError) as exc:
        raise DataError(
            f"could not read the factors in '{path}' ({exc}); rewrite the file"
        ) from exc
    if found < len(wanted):
        raise DataError(
            f"'{path}' has fewer rows than images asked for ({last + 1}); it does not belong to "
            f"'{npy.name}'"
        )
    return factors, labels


def _temp_name(folder: Path, name: str) -> str:
    fd, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    return path


def _remove(*paths: str) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
