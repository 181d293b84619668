"""The bad-input catalog: every mistake a user can make gets one clear line and changes nothing.

Each case builds a small "world" folder (input files, trained runs), runs one
command line (in process, ``vegan.cli.main``) or one Python call, and checks:

* CLI: exit status 2; stderr holds one ``vegan: error: ...`` line naming the
  problem (and the fix, matched by the case's pattern), no traceback.
  Mistakes caught by the argument parser itself (``--n 0``, ``--epochs x``)
  print argparse's usage block first and then one ``error:`` line; the test
  allows the usage block for those cases only (``usage=True``).
* API: a :class:`vegan.errors.VeganError` subclass of the stated type whose
  message matches the pattern.
* Both: no file or folder of the world was created, changed or removed
  (paths, bytes, permissions and modification times are compared).

Conditions that cannot be produced for real in a test are simulated:

* a non-writable folder: the tests run as root, for whom ``chmod`` does not
  stop writes, so ``os.access`` is patched to deny writes to that folder (and
  a path *under a file* is used as a second, real, unwritable location);
* a full disk: ``os.fsync`` (called by every atomic write before its rename)
  is patched to raise ``OSError(ENOSPC)``;
* little memory: the available-memory probe is patched to a small number.

``docs/reliability.md`` lists every case id (checked by the last test).
"""

from __future__ import annotations

import errno
import gzip
import os
import re
import shutil
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import vegan
from vegan import errors as E
from vegan.data import load_dataset
from vegan.data.idx import read_idx
from vegan.io import load_array
from vegan.models.config import parse_sets

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
RNG = np.random.default_rng(0)
TOY = ["--data", "toy:8gaussians"]
QUIET = ["--no-progress", "--set", "samples_every=0"]


# --------------------------------------------------------------------------- world helpers


def _npy(name: str, arr: np.ndarray) -> Callable[[Path], None]:
    return lambda w: np.save(w / name, arr, allow_pickle=True)


def _bytes(name: str, data: bytes) -> Callable[[Path], None]:
    def make(w: Path) -> None:
        (w / name).parent.mkdir(parents=True, exist_ok=True)
        (w / name).write_bytes(data)

    return make


def _text(name: str, text: str) -> Callable[[Path], None]:
    return _bytes(name, text.encode())


def _run(name: str, kind: str = "ae") -> Callable[[Path], None]:
    """Copy a prebuilt run (see the ``runs`` fixture) into the world as ``name``."""

    def make(w: Path) -> None:
        shutil.copytree(RUNS[kind], w / name)

    return make


def _truncated_npy(w: Path) -> None:
    np.save(w / "cut.npy", RNG.random((50, 2)))
    data = (w / "cut.npy").read_bytes()
    (w / "cut.npy").write_bytes(data[: len(data) // 2])


def _truncated_npz(w: Path) -> None:
    np.savez(w / "cut.npz", x=RNG.random((50, 2)))
    data = (w / "cut.npz").read_bytes()
    (w / "cut.npz").write_bytes(data[: len(data) - 40])


def _png(path: Path, size: tuple[int, int], mode: str = "L") -> None:
    from PIL import Image

    Image.new(mode, size, color=128 if mode == "L" else (1, 2, 3)).save(path)


def _images(sizes: list[tuple[int, int]], broken: bool = False) -> Callable[[Path], None]:
    def make(w: Path) -> None:
        (w / "imgs").mkdir()
        for i, size in enumerate(sizes):
            _png(w / "imgs" / f"{i:03d}.png", size)
        if broken:
            (w / "imgs" / "000-broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")

    return make


def _nested_images(
    truncate: str | None = None, odd: str | None = None, only: bool = False
) -> Callable[[Path], None]:
    """imgs/a/000..004.png and imgs/b/000..004.png (28x28 grey); one truncated or of 16x16.

    ``only``: just write (or replace) the ``odd`` file, in a world made already.
    """

    def make(w: Path) -> None:
        if not only:
            for c in ("a", "b"):
                (w / "imgs" / c).mkdir(parents=True)
                for i in range(5):
                    _png(w / "imgs" / c / f"{i:03d}.png", (28, 28))
        if truncate:
            p = w / "imgs" / truncate
            p.write_bytes(p.read_bytes()[:-20])
        if odd:
            _png(w / "imgs" / odd, (16, 16) if not only else (28, 28))

    return make


def _folder_run(w: Path) -> None:
    """A 2-step run trained on the world's image folder (its fingerprint in run.json)."""
    vegan.fit(
        "ae",
        str(w / "imgs"),
        w / "run",
        steps=2,
        progress=False,
        samples_every=0,
        backbone="mlp",
        hidden=16,
        batch_size=4,
    )


def _edit_json(rel: str, edit: Callable[[Any], Any]) -> Callable[[Path], None]:
    import json

    def make(w: Path) -> None:
        p = w / rel
        p.write_text(json.dumps(edit(json.loads(p.read_text()))))

    return make


def _run_json(edit: Callable[[dict], dict], kind: str = "ae") -> list[Callable[[Path], None]]:
    return [_run("run", kind), _edit_json("run/run.json", edit)]


def _newest(w: Path, run: str = "run") -> Path:
    from vegan.train.checkpoint import list_checkpoints

    return list_checkpoints(w / run)[-1]


def _swap_checkpoints(src_kind: str) -> list[Callable[[Path], None]]:
    """An 'ae' run whose checkpoints come from another run (another recipe or size)."""

    def make(w: Path) -> None:
        shutil.rmtree(w / "run" / "checkpoints")
        shutil.copytree(RUNS[src_kind] / "checkpoints", w / "run" / "checkpoints")

    return [_run("run"), make]


def _truncate_newest(suffix: str) -> list[Callable[[Path], None]]:
    def make(w: Path) -> None:
        for p in (w / "run" / "checkpoints").glob(f"*{suffix}"):
            p.write_bytes(p.read_bytes()[:100])

    return [_run("run"), make]


def _flip_tensor_bytes(w: Path) -> None:
    for p in (w / "run" / "checkpoints").glob("*.safetensors"):
        data = bytearray(p.read_bytes())
        data[-5] ^= 0xFF
        p.write_bytes(bytes(data))


def _deny_writes(folder: str):
    """Patch: ``os.access`` says ``folder`` (inside the world) is not writable."""

    def patch(mp: pytest.MonkeyPatch, w: Path) -> None:
        real = os.access
        denied = os.path.realpath(w / folder)

        def access(path, mode, *a, **k):
            if mode & os.W_OK and os.path.realpath(path) == denied:
                return False
            return real(path, mode, *a, **k)

        mp.setattr(os, "access", access)

    return patch


def _disk_full(mp: pytest.MonkeyPatch, w: Path) -> None:
    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    mp.setattr(os, "fsync", fsync)


def _little_memory(nbytes: int):
    def patch(mp: pytest.MonkeyPatch, w: Path) -> None:
        import vegan.ot.exact as exact
        import vegan.resources as checks

        mp.setattr(checks, "available_memory", lambda: nbytes)
        mp.setattr(exact, "available_memory", lambda: nbytes)

    return patch


# --------------------------------------------------------------------------- the catalog


@dataclass
class Case:
    """One bad input: a CLI line (``argv``) or a Python call (``call``) and what it must say."""

    id: str
    what: str
    match: str
    argv: list[str] | None = None
    call: Callable[[Path], Any] | None = None
    error: type[E.VeganError] = E.VeganError
    setup: list[Callable[[Path], None]] = field(default_factory=list)
    patch: Callable[[pytest.MonkeyPatch, Path], None] | None = None
    usage: bool = False  # caught by argparse: its usage block may precede the error line


def train(*args: str, steps: str | None = "2") -> list[str]:
    tail = ["--out", "{w}/new"] + (["--steps", steps] if steps else [])
    return ["train", *args, *tail, *QUIET]


def sample(*args: str) -> list[str]:
    return ["sample", "{w}/run", *args]


CLI: list[Case] = [
    # ---- recipes and options
    Case(
        "unknown-recipe",
        "unknown recipe",
        r"unknown recipe 'wea-mmd' \(did you mean 'wae-mmd'\?\)",
        train("wea-mmd", *TOY),
    ),
    Case(
        "recipes-show-unknown",
        "unknown recipe in recipes --show",
        r"did you mean 'wae-mmd'",
        ["recipes", "--show", "wea-mmd"],
    ),
    Case(
        "misspelled-key",
        "misspelled option",
        r"unknown option 'lamda' \(did you mean 'lam'\?\)",
        train("wae-mmd", *TOY, "--set", "lamda=3"),
    ),
    Case(
        "misspelled-key-toml",
        "misspelled option in a TOML file",
        r"unknown option 'batchsize' \(did you mean 'batch_size'\?\)",
        train("ae", *TOY, "--config", "{w}/c.toml"),
        setup=[_text("c.toml", "batchsize = 10\n")],
    ),
    Case(
        "set-no-equals",
        "--set without '='",
        r"--set expects key=value.*example",
        train("ae", *TOY, "--set", "lam"),
    ),
    Case(
        "wrong-type-int",
        "text for an integer",
        r"option 'batch_size' expects int, got 'abc'",
        train("ae", *TOY, "--set", "batch_size=abc"),
    ),
    Case(
        "wrong-type-fraction",
        "fraction for an integer",
        r"option 'hidden' expects int, got '2.5'",
        train("ae", *TOY, "--set", "hidden=2.5"),
    ),
    Case(
        "wrong-type-toml",
        "string for an integer in TOML",
        r"option 'batch_size' expects int, got 'big'",
        train("ae", *TOY, "--config", "{w}/c.toml"),
        setup=[_text("c.toml", 'batch_size = "big"\n')],
    ),
    Case(
        "nan-option",
        "NaN learning rate",
        r"option 'lr' expects float, got 'nan'",
        train("ae", *TOY, "--set", "lr=nan"),
    ),
    Case(
        "zero-batch",
        "batch size 0",
        r"'batch_size' must be > 0, got 0",
        train("ae", *TOY, "--set", "batch_size=0"),
    ),
    Case(
        "negative-batch",
        "negative batch size",
        r"'batch_size' must be > 0, got -4",
        train("ae", *TOY, "--set", "batch_size=-4"),
    ),
    Case(
        "zero-width",
        "network width 0",
        r"'hidden' must be > 0",
        train("ae", *TOY, "--set", "hidden=0"),
    ),
    Case(
        "negative-latent",
        "negative latent dimension",
        r"'latent_dim' must be >= 0",
        train("ae", *TOY, "--set", "latent_dim=-2"),
    ),
    Case(
        "zero-lr",
        "learning rate 0",
        r"'lr' \(a learning rate\) must be > 0, got 0",
        train("ae", *TOY, "--set", "lr=0"),
    ),
    Case(
        "negative-lr",
        "negative learning rate",
        r"learning rate\) must be > 0",
        train("ae", *TOY, "--set", "lr=-0.001"),
    ),
    Case(
        "negative-lam",
        "negative penalty weight",
        r"'lam' must be >= 0",
        train("wae-mmd", *TOY, "--set", "lam=-1"),
    ),
    Case(
        "bad-beta",
        "Adam beta out of range",
        r"'beta1' must be in \[0, 1\)",
        train("ae", *TOY, "--set", "beta1=1.5"),
    ),
    Case(
        "zero-epochs-flag",
        "--epochs 0",
        r"argument --epochs: must be > 0, got 0",
        train("ae", *TOY, "--epochs", "0", steps=None),
        usage=True,
    ),
    Case(
        "negative-steps-flag",
        "--steps -5",
        r"argument --steps: must be > 0, got -5",
        train("ae", *TOY, steps="-5"),
        usage=True,
    ),
    Case(
        "epochs-not-a-number",
        "--epochs two",
        r"expected a whole number, got 'two'",
        train("ae", *TOY, "--epochs", "two", steps=None),
        usage=True,
    ),
    Case(
        "no-length",
        "epochs=0 and no steps",
        r"the run has no length: set epochs > 0 or steps > 0",
        train("ae", *TOY, "--set", "epochs=0", steps=None),
    ),
    Case(
        "unknown-schedule",
        "misspelled schedule",
        r"unknown schedule 'cosin' \(did you mean 'cosine'\?\)",
        train("ae", *TOY, "--set", "schedule=cosin"),
    ),
    Case(
        "unknown-prior",
        "misspelled prior",
        r"unknown prior 'gausian' \(did you mean 'gaussian'\?\)",
        train("ae", *TOY, "--set", "prior=gausian"),
    ),
    Case(
        "bad-on-nan",
        "unknown on_nan",
        r"'on_nan' must be stop or rollback",
        train("ae", *TOY, "--set", "on_nan=ignore"),
    ),
    Case(
        "no-cuda",
        "--device cuda without a GPU",
        r"no CUDA GPU is available; use --device cpu",
        train("ae", *TOY, "--device", "cuda"),
    ),
    Case(
        "resume-and-overwrite",
        "--resume with --overwrite",
        r"--resume and --overwrite exclude each other",
        train("ae", *TOY, "--resume", "--overwrite"),
    ),
    # ---- config files
    Case(
        "missing-toml",
        "config file missing",
        r"config file '.*nope.toml' does not exist",
        train("ae", *TOY, "--config", "{w}/nope.toml"),
    ),
    Case(
        "truncated-toml",
        "truncated TOML",
        r"is not valid TOML",
        train("ae", *TOY, "--config", "{w}/c.toml"),
        setup=[_text("c.toml", "lam = 3\nbatch_size = \n")],
    ),
    Case(
        "binary-toml",
        "binary file as TOML",
        r"is not UTF-8 text",
        train("ae", *TOY, "--config", "{w}/c.toml"),
        setup=[_bytes("c.toml", b"\xff\xfe\x00\x81garbage")],
    ),
    Case(
        "toml-table",
        "TOML with a [table]",
        r"tables such as \[wae\] are not supported",
        train("ae", *TOY, "--config", "{w}/c.toml"),
        setup=[_text("c.toml", "[wae]\nlam = 1\n")],
    ),
    # ---- data: files and formats
    Case(
        "missing-data",
        "data file missing",
        r"'.*nope.npy' does not exist; check the path",
        train("ae", "--data", "{w}/nope.npy"),
    ),
    Case(
        "unknown-dataset",
        "misspelled dataset",
        r"unknown dataset 'mnits' \(did you mean 'mnist'\?\)",
        train("ae", "--data", "mnits"),
    ),
    Case(
        "unknown-toy",
        "misspelled toy dataset",
        r"8gaussians",
        train("ae", "--data", "toy:8gausians"),
    ),
    Case(
        "text-as-data",
        "a text file as data",
        r"is not a .npy or .npz file; save your samples with numpy.save",
        train("ae", "--data", "{w}/notes.txt"),
        setup=[_text("notes.txt", "1,2\n3,4\n")],
    ),
    Case(
        "csv-renamed-npy",
        "a CSV renamed .npy",
        r"does not start with a NumPy .npy header",
        train("ae", "--data", "{w}/x.npy"),
        setup=[_text("x.npy", "1,2\n3,4\n")],
    ),
    Case(
        "truncated-npy",
        "truncated .npy",
        r"cut.npy.*(truncated|corrupted|re-save)",
        train("ae", "--data", "{w}/cut.npy"),
        setup=[_truncated_npy],
    ),
    Case(
        "truncated-npz",
        "truncated .npz",
        r"cut.npz.*(truncated|corrupted)",
        train("ae", "--data", "{w}/cut.npz"),
        setup=[_truncated_npz],
    ),
    Case(
        "pickled-npy",
        "object array (pickle) in .npy",
        r"holds Python objects \(pickle\); vegan only loads numeric arrays",
        train("ae", "--data", "{w}/obj.npy"),
        setup=[_npy("obj.npy", np.array([{"a": 1}, None], dtype=object))],
    ),
    Case(
        "npz-several-arrays",
        ".npz with several arrays and no key",
        r"holds several arrays \(a, b\); name one, e.g. FILE.npz:x",
        train("ae", "--data", "{w}/two.npz"),
        setup=[lambda w: np.savez(w / "two.npz", a=RNG.random((20, 2)), b=RNG.random((20, 2)))],
    ),
    Case(
        "npz-missing-key",
        ".npz:KEY that is not there",
        r"has no array 'z' \(it has a\)",
        train("ae", "--data", "{w}/one.npz:z"),
        setup=[lambda w: np.savez(w / "one.npz", a=RNG.random((20, 2)))],
    ),
    Case(
        "npz-bad-labels",
        "labels that do not match the samples",
        r"labels 'y' have shape \(7,\) but there are 20 samples",
        train("ae", "--data", "{w}/xy.npz"),
        setup=[lambda w: np.savez(w / "xy.npz", x=RNG.random((20, 2)), y=np.arange(7))],
    ),
    # ---- data: values and shapes
    Case(
        "nan-data",
        "NaN in the data",
        r"contains 1 NaN or inf values; remove or replace them",
        train("ae", "--data", "{w}/nan.npy"),
        setup=[_npy("nan.npy", np.where(np.arange(40).reshape(20, 2) == 7, np.nan, 1.0))],
    ),
    Case(
        "inf-data",
        "inf in the data",
        r"contains 3 NaN or inf values",
        train("ae", "--data", "{w}/inf.npy"),
        setup=[_npy("inf.npy", np.where(np.arange(40).reshape(20, 2) % 17 == 3, np.inf, 1.0))],
    ),
    Case(
        "too-large-for-float32",
        "values beyond float32",
        r"too large for float32; rescale it",
        train("ae", "--data", "{w}/big.npy"),
        setup=[_npy("big.npy", np.full((20, 2), 1e300))],
    ),
    Case(
        "empty-data",
        "zero samples",
        r"empty \(shape \(0, 2\)\); give at least one sample",
        train("ae", "--data", "{w}/empty.npy"),
        setup=[_npy("empty.npy", np.zeros((0, 2), np.float32))],
    ),
    Case(
        "one-sample",
        "one sample",
        r"training needs at least 2 samples, the data has 1",
        train("ae", "--data", "{w}/one.npy"),
        setup=[_npy("one.npy", np.ones((1, 2), np.float32))],
    ),
    Case(
        "one-dim-array",
        "a 1-D array",
        r"expected \(n, d\) vectors.*x\[:, None\]",
        train("ae", "--data", "{w}/flat.npy"),
        setup=[_npy("flat.npy", RNG.random(30))],
    ),
    Case(
        "five-dims",
        "a 5-D array",
        r"has 5 dimensions.*expected \(n, d\) vectors or \(n, C, H, W\) images",
        train("ae", "--data", "{w}/d5.npy"),
        setup=[_npy("d5.npy", RNG.random((3, 2, 2, 2, 2)))],
    ),
    Case(
        "string-array",
        "an array of strings",
        r"has dtype <U1; expected a numeric array",
        train("ae", "--data", "{w}/s.npy"),
        setup=[_npy("s.npy", np.array(["a", "b", "c"]))],
    ),
    Case(
        "complex-array",
        "complex numbers",
        r"complex dtype complex128; give real numbers",
        train("ae", "--data", "{w}/c.npy"),
        setup=[_npy("c.npy", RNG.random((10, 2)) + 1j)],
    ),
    Case(
        "image-range",
        "images outside [0, 1]",
        r"values in \[0, 5\]; images must be in \[0, 1\]",
        train("ae", "--data", "{w}/im.npy"),
        setup=[
            _npy("im.npy", np.linspace(0, 5, 20 * 784, dtype=np.float32).reshape(20, 1, 28, 28))
        ],
    ),
    Case(
        "image-size-backbone",
        "30x30 images for the conv backbone",
        r"no built-in convolutional backbone for 30x30 images .*use --set backbone=mlp",
        train("ae", "--data", "{w}/im.npy"),
        setup=[_npy("im.npy", RNG.random((20, 1, 30, 30), np.float32))],
    ),
    Case(
        "image-folder-empty",
        "a folder without images",
        r"holds no png/jpg/jpeg images",
        train("ae", "--data", "{w}/imgs"),
        setup=[lambda w: (w / "imgs").mkdir(), _text("imgs/readme.txt", "hi")],
    ),
    Case(
        "image-folder-sizes",
        "images of two sizes",
        r"is 32x32 but .* is 28x28; all images must have one size",
        train("ae", "--data", "{w}/imgs"),
        setup=[_images([(28, 28)] * 4 + [(32, 32)] * 2)],
    ),
    Case(
        "image-folder-broken",
        "a broken image file",
        r"could not read image .*000-broken.png.*remove or replace it",
        train("ae", "--data", "{w}/imgs"),
        setup=[_images([(28, 28)] * 4, broken=True)],
    ),
    Case(
        "image-folder-truncated",
        "a truncated PNG in the middle of a nested folder",
        r"could not read image .*b/002.png.*remove or replace it",
        train("ae", "--data", "{w}/imgs"),
        setup=[_nested_images(truncate="b/002.png")],
    ),
    Case(
        "image-folder-nested-size",
        "a nested folder with an image of another size",
        r"is 16x16 but .* is 28x28; all images must have one size",
        train("ae", "--data", "{w}/imgs"),
        setup=[_nested_images(odd="b/003.png")],
    ),
    Case(
        "image-folder-changed-resume",
        "--resume after the image folder changed",
        r"the data '.*imgs' changed since run .* resume with the data as it was",
        [
            "train",
            "ae",
            "--data",
            "{w}/imgs",
            "--out",
            "{w}/run",
            "--steps",
            "4",
            "--resume",
            *QUIET,
        ],
        setup=[_nested_images(), _folder_run, _nested_images(odd="b/009.png", only=True)],
    ),
    Case(
        "prepare-truncated",
        "vegan data prepare: a truncated image in the middle",
        r"could not read image .*b/002.png",
        ["data", "prepare", "{w}/imgs", "--out", "{w}/p.npy", "--size", "8"],
        setup=[_nested_images(truncate="b/002.png")],
    ),
    Case(
        "prepare-empty",
        "vegan data prepare: a folder without images",
        r"holds no png/jpg/jpeg images",
        ["data", "prepare", "{w}/imgs", "--out", "{w}/p.npy"],
        setup=[lambda w: (w / "imgs").mkdir(), _text("imgs/readme.txt", "hi")],
    ),
    Case(
        "prepare-no-out",
        "vegan data prepare without --out",
        r"no output file given; add --out FILE.npy",
        ["data", "prepare", "{w}/imgs"],
        setup=[_nested_images()],
    ),
    # ---- run folders and checkpoints
    Case(
        "run-exists",
        "--out is an existing run",
        r"run folder .* already exists; add --resume to continue it or --overwrite",
        ["train", "ae", *TOY, "--out", "{w}/run", "--steps", "2", *QUIET],
        setup=[_run("run")],
    ),
    Case(
        "not-a-run-overwrite",
        "--overwrite on a folder that is not a run",
        r"not a vegan run; choose another --out folder \(vegan never deletes it\)",
        ["train", "ae", *TOY, "--out", "{w}/mine", "--steps", "2", "--overwrite", *QUIET],
        setup=[_text("mine/thesis.tex", "precious")],
    ),
    Case(
        "out-is-file",
        "--out is a file",
        r"exists and is a file; choose another --out folder",
        ["train", "ae", *TOY, "--out", "{w}/f.txt", "--steps", "2", *QUIET],
        setup=[_text("f.txt", "x")],
    ),
    Case(
        "out-under-file",
        "--out inside a file",
        r"f.txt' is a file, so the run folder .* cannot be created",
        ["train", "ae", *TOY, "--out", "{w}/f.txt/run", "--steps", "2", *QUIET],
        setup=[_text("f.txt", "x")],
    ),
    Case(
        "out-not-writable",
        "--out in a read-only folder (simulated)",
        r"folder '.*ro' is not writable",
        ["train", "ae", *TOY, "--out", "{w}/ro/run", "--steps", "2", *QUIET],
        setup=[lambda w: (w / "ro").mkdir()],
        patch=_deny_writes("ro"),
    ),
    Case(
        "resume-other-recipe",
        "--resume with another recipe",
        r"was trained with recipe 'ae', not 'vae'; resume it with the same recipe",
        ["train", "vae", *TOY, "--out", "{w}/run", "--steps", "4", "--resume", *QUIET],
        setup=[_run("run")],
    ),
    Case(
        "resume-other-data",
        "--resume with other data",
        r"was trained on 'toy:8gaussians', not 'toy:moons'",
        [
            "train",
            "ae",
            "--data",
            "toy:moons",
            "--out",
            "{w}/run",
            "--steps",
            "4",
            "--resume",
            *QUIET,
        ],
        setup=[_run("run")],
    ),
    Case(
        "resume-changed-option",
        "--resume changing a fixed option",
        r"option 'hidden' cannot change on --resume .*start a new run",
        [
            "train",
            "ae",
            *TOY,
            "--out",
            "{w}/run",
            "--steps",
            "4",
            "--resume",
            "--set",
            "hidden=64",
            *QUIET,
        ],
        setup=[_run("run")],
    ),
    Case(
        "resume-checkpoint-other-recipe",
        "--resume with a checkpoint of another recipe",
        r"is from recipe 'vae', not 'ae'",
        ["train", "ae", *TOY, "--out", "{w}/run", "--steps", "4", "--resume", *QUIET],
        setup=_swap_checkpoints("vae"),
    ),
    Case(
        "resume-checkpoint-other-size",
        "--resume with a checkpoint of another network size",
        r"has shape \(.*64.*the model needs \(.*128.*another recipe or network size",
        ["train", "ae", *TOY, "--out", "{w}/run", "--steps", "4", "--resume", *QUIET],
        setup=_swap_checkpoints("ae64"),
    ),
    Case(
        "resume-disk-full",
        "--resume on a full disk (simulated)",
        r"could not write .*No space left on device; free space",
        ["train", "ae", *TOY, "--out", "{w}/run", "--steps", "4", "--resume", *QUIET],
        setup=[_run("run")],
        patch=_disk_full,
    ),
    Case(
        "new-run-disk-full",
        "new run on a full disk (simulated): no empty folder left",
        r"could not write .*run.json.*No space left on device",
        train("ae", *TOY),
        patch=_disk_full,
    ),
    Case(
        "model-too-large",
        "a model larger than memory",
        r"has 40,001,400,004 parameters .*lower hidden, width, depth or latent_dim",
        train("ae", *TOY, "--set", "hidden=100000"),
    ),
    Case(
        "mmd-batch-too-large",
        "an MMD batch larger than memory (simulated: 64 MiB free)",
        r"the MMD between 2000 and 2000 samples needs about .*use a smaller batch_size",
        train("wae-mmd", *TOY, "--set", "batch_size=2000", "--set", "hidden=16"),
        patch=_little_memory(64 * 2**20),
    ),
    # ---- sample, reconstruct, encode
    Case(
        "sample-n-zero",
        "sample --n 0",
        r"argument --n/--count: must be > 0, got 0",
        sample("--n", "0", "--out", "{w}/s.npy"),
        setup=[_run("run")],
        usage=True,
    ),
    Case(
        "sample-n-negative",
        "sample --n -3",
        r"must be > 0, got -3",
        sample("--n", "-3", "--out", "{w}/s.npy"),
        setup=[_run("run")],
        usage=True,
    ),
    Case(
        "sample-n-text",
        "sample --n many",
        r"expected a whole number, got 'many'",
        sample("--n", "many", "--out", "{w}/s.npy"),
        setup=[_run("run")],
        usage=True,
    ),
    Case(
        "sample-missing-run",
        "run folder missing",
        r"run folder '.*run' does not exist; check the path",
        sample("--out", "{w}/s.npy"),
    ),
    Case(
        "sample-not-a-run",
        "a folder that is not a run",
        r"is not a vegan run \(no run.json\); give the folder that 'vegan train --out' created",
        sample("--out", "{w}/s.npy"),
        setup=[_text("run/data.csv", "1,2")],
    ),
    Case(
        "sample-truncated-run-json",
        "truncated run.json",
        r"run.json' is not readable JSON .*the run is corrupted",
        sample("--out", "{w}/s.npy"),
        setup=[
            _run("run"),
            lambda w: (w / "run/run.json").write_text('{"format": "vegan-run/1", "reci'),
        ],
    ),
    Case(
        "sample-run-json-other-format",
        "run.json of another format version",
        r"is not a vegan run description \(vegan-run/2\)",
        sample("--out", "{w}/s.npy"),
        setup=_run_json(lambda d: {**d, "format": "vegan-run/99"}),
    ),
    Case(
        "sample-run-json-unknown-recipe",
        "run.json naming an unknown recipe",
        r"unknown recipe 'wae-mmmd'",
        sample("--out", "{w}/s.npy"),
        setup=_run_json(lambda d: {**d, "recipe": "wae-mmmd"}),
    ),
    Case(
        "sample-run-json-bad-shape",
        "run.json with a negative sample shape",
        r"has missing or ill-typed fields; the run is corrupted",
        sample("--out", "{w}/s.npy"),
        setup=_run_json(lambda d: {**d, "sample_shape": [-2]}),
    ),
    Case(
        "sample-run-json-bad-option",
        "run.json with an ill-typed option",
        r"option 'hidden' expects int",
        sample("--out", "{w}/s.npy"),
        setup=_run_json(lambda d: {**d, "config": {**d["config"], "hidden": "wide"}}),
    ),
    Case(
        "sample-no-checkpoint",
        "a run without checkpoints",
        r"has no checkpoint yet; train it first",
        sample("--out", "{w}/s.npy"),
        setup=[_run("run"), lambda w: shutil.rmtree(w / "run" / "checkpoints")],
    ),
    Case(
        "sample-truncated-tensors",
        "every tensor file truncated",
        r"no valid checkpoint in .*it is truncated or corrupted",
        sample("--out", "{w}/s.npy"),
        setup=_truncate_newest(".safetensors"),
    ),
    Case(
        "sample-flipped-byte",
        "one byte of every tensor file changed (same size)",
        r"no valid checkpoint in .*does not match its checksum",
        sample("--out", "{w}/s.npy"),
        setup=[_run("run"), _flip_tensor_bytes],
    ),
    Case(
        "sample-truncated-checkpoint-json",
        "every checkpoint JSON truncated",
        r"no valid checkpoint in .*is not readable JSON",
        sample("--out", "{w}/s.npy"),
        setup=_truncate_newest(".json"),
    ),
    Case(
        "sample-checkpoint-other-recipe",
        "a checkpoint of another recipe",
        r"is from recipe .vae., but the run is .ae.; the run folder was mixed up",
        sample("--out", "{w}/s.npy"),
        setup=_swap_checkpoints("vae"),
    ),
    Case(
        "sample-checkpoint-other-size",
        "a checkpoint of another network size",
        r"has shape \(.*64.*the model needs \(.*128",
        sample("--out", "{w}/s.npy"),
        setup=_swap_checkpoints("ae64"),
    ),
    Case(
        "sample-out-missing-folder",
        "output in a missing folder",
        r"folder '.*nodir' for output .* does not exist; create it first",
        sample("--out", "{w}/nodir/s.npy"),
        setup=[_run("run")],
    ),
    Case(
        "sample-out-under-file",
        "output path under a file",
        r"f.txt' for output .* does not exist",
        sample("--out", "{w}/f.txt/s.npy"),
        setup=[_run("run"), _text("f.txt", "x")],
    ),
    Case(
        "sample-out-not-writable",
        "output in a read-only folder (simulated)",
        r"folder '.*ro' is not writable; choose another output path",
        sample("--out", "{w}/ro/s.npy"),
        setup=[_run("run"), lambda w: (w / "ro").mkdir()],
        patch=_deny_writes("ro"),
    ),
    Case(
        "sample-out-suffix",
        "output with an unknown suffix",
        r"must end with one of .npy, .png; rename it",
        sample("--out", "{w}/s.txt"),
        setup=[_run("run")],
    ),
    Case(
        "sample-out-is-folder",
        "output path is a folder",
        r"output '.*s.npy' is a folder; give a file name",
        sample("--out", "{w}/s.npy"),
        setup=[_run("run"), lambda w: (w / "s.npy").mkdir()],
    ),
    Case(
        "sample-disk-full",
        "sampling to a full disk (simulated)",
        r"could not write .*s.npy.*No space left on device; free space",
        sample("--n", "5", "--out", "{w}/s.npy"),
        setup=[_run("run")],
        patch=_disk_full,
    ),
    Case(
        "sample-overwrite-disk-full",
        "a full disk leaves the existing output file as it was",
        r"No space left on device",
        sample("--n", "5", "--out", "{w}/s.npy"),
        setup=[_run("run"), _npy("s.npy", np.zeros(3))],
        patch=_disk_full,
    ),
    Case(
        "reconstruct-dual",
        "reconstruct with a recipe without encoder",
        r"recipe 'gan' has no encoder \(it is a dual recipe\)",
        ["reconstruct", "{w}/run", *TOY, "--n", "5", "--out", "{w}/r.npy"],
        setup=[_run("run", "gan")],
    ),
    Case(
        "reconstruct-wrong-dim",
        "reconstruct data of another dimension",
        r"the model takes samples of shape \(2,\), got \(5,\)",
        ["reconstruct", "{w}/run", "--data", "{w}/v.npy", "--out", "{w}/r.npy"],
        setup=[_run("run"), _npy("v.npy", RNG.random((30, 5), np.float32))],
    ),
    Case(
        "encode-wrong-channels",
        "encode images with 3 channels for a 2-D model",
        r"takes samples of shape \(2,\), got \(3, 28, 28\)",
        ["encode", "{w}/run", "--data", "{w}/rgb.npy", "--out", "{w}/z.npy"],
        setup=[_run("run"), _npy("rgb.npy", RNG.random((10, 3, 28, 28), np.float32))],
    ),
    Case(
        "encode-out-png",
        "encode to a .png",
        r"must end with one of .npy",
        ["encode", "{w}/run", *TOY, "--out", "{w}/z.png"],
        setup=[_run("run")],
    ),
    # ---- vegan data
    Case(
        "data-n-zero",
        "vegan data --n 0",
        r"number of samples must be a positive integer, got 0",
        ["data", "toy:8gaussians", "--n", "0", "--out", "{w}/x.npy"],
    ),
    Case(
        "data-bad-split",
        "unknown split",
        r"unknown split 'test'; use 'train' or 'heldout'",
        ["data", "toy:8gaussians", "--split", "test", "--out", "{w}/x.npy"],
    ),
    Case(
        "data-no-name",
        "vegan data without a dataset",
        r"no dataset given",
        ["data", "--out", "{w}/x.npy"],
    ),
    Case(
        "data-no-out",
        "vegan data without --out",
        r"no output file given; add --out FILE.npy",
        ["data", "toy:8gaussians"],
    ),
    Case(
        "data-toy-huge-dim",
        "a toy Gaussian of dimension 10^8 (once a MemoryError)",
        r"toy:gaussian supports d <= 4096, got d=100000000; use a smaller dimension",
        ["data", "toy:gaussian?d=100000000", "--n", "10", "--out", "{w}/x.npy"],
    ),
    Case(
        "data-toy-overflow",
        "toy parameters beyond float32 (once wrote inf silently)",
        r"gives values beyond float32; use smaller parameters",
        ["data", "toy:8gaussians?std=1e308", "--n", "10", "--out", "{w}/x.npy"],
    ),
    Case(
        "data-too-many",
        "more samples than the split has",
        r"asked for 9999 samples but the train split .* has 16; use n <= 16",
        ["data", "{w}/v.npy", "--n", "9999", "--out", "{w}/x.npy"],
        setup=[_npy("v.npy", RNG.random((20, 2), np.float32))],
    ),
]


class _Conv1(torch.nn.Module):
    """An encoder network for 1-channel 28x28 images."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 4, 2, 1)
        self.out = torch.nn.Linear(4 * 14 * 14, 8)

    def forward(self, x):
        return self.out(self.conv(x).flatten(1))


def _fit(data: Any = "toy:8gaussians", recipe: str = "ae", **kw: Any) -> Callable[[Path], Any]:
    kw.setdefault("steps", 2)
    return lambda w: vegan.fit(recipe, data, w / "new", progress=False, samples_every=0, **kw)


def _corrupt_gzip() -> bytes:
    data = bytearray(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 5000) + RNG.bytes(5000)))
    data[40:60] = b"\xff" * 20
    return bytes(data)


class _Strings(torch.utils.data.Dataset):
    """A torch Dataset whose items are file names, not tensors."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> tuple[str, int]:
        return f"img{i}.png", 0


API: list[Case] = [
    Case(
        "api-torch-dataset-type",
        "fit: a torch Dataset returning strings",
        r"item 0 of the _Strings is str; a Dataset must return a tensor",
        call=_fit(_Strings()),
        error=E.DataError,
    ),
    Case(
        "api-dataloader-shape",
        "fit: a DataLoader of (batch, 2, 3, 4, 5) tensors",
        r"the DataLoader's first batch has shape \(2, 2, 3, 4, 5\)",
        call=_fit(torch.utils.data.DataLoader(torch.zeros(4, 2, 3, 4, 5), batch_size=2)),
        error=E.ShapeError,
    ),
    Case(
        "api-unknown-recipe",
        "fit: unknown recipe",
        r"did you mean 'wae-mmd'",
        call=_fit(recipe="wea-mmd"),
        error=E.ConfigError,
    ),
    Case(
        "api-misspelled-option",
        "fit: misspelled keyword option",
        r"unknown option 'lamda' \(did you mean 'lam'\?\)",
        call=_fit(recipe="wae-mmd", lamda=2.0),
        error=E.ConfigError,
    ),
    Case(
        "api-wrong-type",
        "fit: ill-typed option",
        r"option 'lr' expects float, got 'fast'",
        call=_fit(lr="fast"),
        error=E.ConfigError,
    ),
    Case(
        "api-zero-epochs",
        "fit: epochs=0",
        r"the run has no length",
        call=_fit(epochs=0, steps=None),
        error=E.ConfigError,
    ),
    Case(
        "api-negative-steps",
        "fit: steps=-1",
        r"'steps' must be >= 0, got -1",
        call=_fit(steps=-1),
        error=E.ConfigError,
    ),
    Case(
        "api-nan-array",
        "fit: NaN in an array",
        r"NaN or inf",
        call=_fit(np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0]], np.float32)),
        error=E.DataError,
    ),
    Case(
        "api-one-sample",
        "fit: one-sample array",
        r"at least 2 samples",
        call=_fit(np.ones((1, 2), np.float32)),
        error=E.DataError,
    ),
    Case(
        "api-3d-array",
        "fit: (n, 5, 5) array",
        r"must have 2 dimensions, got shape \(10, 5, 5\)",
        call=_fit(np.zeros((10, 5, 5), np.float32)),
        error=E.ShapeError,
    ),
    Case(
        "api-data-type",
        "fit: a dict as data",
        r"data must be a dataset name, a path, an array, a torch Dataset or a DataLoader, "
        r"got dict",
        call=_fit({"x": 1}),
        error=E.DataError,
    ),
    Case(
        "api-missing-config",
        "fit: missing TOML file",
        r"does not exist",
        call=_fit(config="/nonexistent/c.toml"),
        error=E.ConfigError,
    ),
    Case(
        "api-bad-device",
        "fit: unknown device",
        r"unknown device 'tpu'",
        call=_fit(device="tpu"),
        error=E.ConfigError,
    ),
    Case(
        "api-net-name",
        "fit: misspelled part in nets",
        r"recipe 'ae' has no part 'encodr' \(did you mean 'encoder'\?\)",
        call=_fit(nets={"encodr": torch.nn.Linear(2, 2)}),
        error=E.ConfigError,
    ),
    Case(
        "api-net-channels",
        "fit: a 1-channel encoder network on 3-channel images",
        r"networks cannot take data of shape \(3, 28, 28\)",
        call=_fit(np.full((10, 3, 28, 28), 0.5, np.float32), nets={"encoder": _Conv1()}),
        error=E.ShapeError,
    ),
    Case(
        "api-net-output-dim",
        "fit: a decoder with the wrong output size",
        r"between dimension 2 and 3",
        call=_fit(nets={"decoder": torch.nn.Linear(2, 3)}),
        error=E.ShapeError,
    ),
    Case(
        "api-net-latent",
        "fit: a decoder of your own built for another latent size than the resolved one",
        r"mat1 and mat2.*latent_dim is 2 here \(a preset may set it.*set it to your "
        r"networks' code size",
        call=_fit(nets={"decoder": torch.nn.Linear(3, 2)}),
        error=E.ShapeError,
    ),
    Case(
        "api-load-missing",
        "load: missing run",
        r"does not exist",
        call=lambda w: vegan.load(w / "nope"),
        error=E.RunDirError,
    ),
    Case(
        "api-load-step",
        "load: a step without checkpoint",
        r"has no checkpoint at step 999",
        call=lambda w: vegan.load(w / "run", step=999),
        error=E.CheckpointError,
        setup=[_run("run")],
    ),
    Case(
        "api-load-other-size",
        "load: checkpoint of another network size",
        r"another recipe or network size",
        call=lambda w: vegan.load(w / "run"),
        error=E.CheckpointError,
        setup=_swap_checkpoints("ae64"),
    ),
    Case(
        "api-sample-zero",
        "model.sample(0)",
        r"number of samples must be > 0, got 0",
        call=lambda w: vegan.load(w / "run").sample(0),
        error=E.ConfigError,
        setup=[_run("run")],
    ),
    Case(
        "api-load-dataset-split",
        "load_dataset: unknown split",
        r"unknown split 'test'",
        call=lambda w: load_dataset("toy:8gaussians", "test"),
        error=E.ConfigError,
    ),
    Case(
        "api-parse-sets",
        "parse_sets: item without '='",
        r"--set expects key=value",
        call=lambda w: parse_sets(["lam"]),
        error=E.ConfigError,
    ),
    Case(
        "api-idx-truncated",
        "read_idx: truncated file",
        r"is truncated: its header declares shape \(10, 28, 28\)",
        call=lambda w: read_idx(w / "a.idx"),
        error=E.DataError,
        setup=[_bytes("a.idx", bytes([0, 0, 8, 3]) + struct.pack(">3I", 10, 28, 28) + b"\0" * 100)],
    ),
    Case(
        "api-idx-magic",
        "read_idx: not an IDX file",
        r"is not an IDX file \(magic number",
        call=lambda w: read_idx(w / "a.idx"),
        error=E.DataError,
        setup=[_bytes("a.idx", b"PK\x03\x04rest")],
    ),
    Case(
        "api-idx-gzip",
        "read_idx: corrupted gzip",
        r"is not a valid gzip file",
        call=lambda w: read_idx(w / "a.idx.gz"),
        error=E.DataError,
        setup=[_bytes("a.idx.gz", _corrupt_gzip())],
    ),
    Case(
        "api-load-array-pickle",
        "load_array: a pickle renamed .npy",
        r"is a Python pickle, not a .npy array; vegan never unpickles",
        call=lambda w: load_array(w / "p.npy"),
        error=E.DataError,
        setup=[_bytes("p.npy", b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.")],
    ),
    Case(
        "api-wasserstein-dims",
        "wasserstein: samples of different dimension",
        r"dimension",
        call=lambda w: vegan.wasserstein(np.zeros((5, 2)), np.zeros((5, 3))),
        error=E.ShapeError,
    ),
    Case(
        "api-wasserstein-nan",
        "wasserstein: NaN samples",
        r"NaN",
        call=lambda w: vegan.wasserstein(np.full((5, 2), np.nan), np.zeros((5, 2))),
        error=E.DataError,
    ),
    Case(
        "api-exact-too-large",
        "exact W beyond memory (simulated: 64 MiB free)",
        r"exact transport between 3000 and 3000 samples needs about",
        call=lambda w: vegan.wasserstein(np.zeros((3000, 2)), np.ones((3000, 2)), method="exact"),
        error=E.ResourceError,
        patch=_little_memory(64 * 2**20),
    ),
]

CASES = CLI + API
RUNS: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def runs(tmp_path_factory):
    """Tiny trained runs the cases copy: ae, vae, ae with hidden=64, gan (toy data)."""
    base = tmp_path_factory.mktemp("runs")
    specs = {
        "ae": ("ae", {"hidden": 128}),
        "ae64": ("ae", {"hidden": 64}),
        "vae": ("vae", {"hidden": 128}),
        "gan": ("gan", {"hidden": 32}),
    }
    for name, (recipe, opts) in specs.items():
        vegan.fit(
            recipe, "toy:8gaussians", base / name, steps=2, progress=False, samples_every=0, **opts
        )
        RUNS[name] = base / name
    yield RUNS


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every path under ``folder``: files with bytes, permissions and mtime; folders by name.

    A folder's own mtime is left out: it changes when a temporary file is
    created and removed in it, which leaves every file as it was.
    """
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            st = p.lstat()
            if p.is_dir():
                out[str(p.relative_to(folder))] = ("folder", st.st_mode)
            else:
                out[str(p.relative_to(folder))] = (p.read_bytes(), st.st_mode, st.st_mtime_ns)
    return out


def _world(tmp_path: Path, case: Case) -> Path:
    w = tmp_path / "w"
    w.mkdir()
    for make in case.setup:
        make(w)
    return w


#: Warning categories Python does not show by default (the others print to stderr).
_HIDDEN_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def _check_one_line(case: Case, code: int, err: str) -> str:
    assert code == 2, f"exit status {code}: {err}"
    assert "Traceback" not in err, err
    lines = [s for s in err.splitlines() if s.strip()]
    if case.usage:
        assert lines[0].startswith("usage: vegan"), err
        errors = [s for s in lines if "error:" in s]
        assert len(errors) == 1 and errors[0] == lines[-1], err
        return lines[-1]
    assert len(lines) == 1, err
    assert lines[0].startswith("vegan: error: "), err
    return lines[0]


@pytest.mark.parametrize("case", CLI, ids=[c.id for c in CLI])
def test_cli_bad_input(case: Case, tmp_path, run_cli, monkeypatch, capsys):
    w = _world(tmp_path, case)
    before = snapshot(w)
    if case.patch:
        case.patch(monkeypatch, w)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code, _, err = run_cli(*[a.replace("{w}", str(w)) for a in case.argv])
        except SystemExit as exc:  # argparse exits by itself
            code, err = exc.code, capsys.readouterr().err
    monkeypatch.undo()
    shown = [str(c.message) for c in caught if not issubclass(c.category, _HIDDEN_WARNINGS)]
    assert not shown, f"warnings would add lines to stderr: {shown}"
    line = _check_one_line(case, code, err)
    assert re.search(case.match, line), f"{case.match!r} not in {line!r}"
    assert snapshot(w) == before, "the command created or changed files"


@pytest.mark.parametrize("case", API, ids=[c.id for c in API])
def test_api_bad_input(case: Case, tmp_path, monkeypatch):
    w = _world(tmp_path, case)
    before = snapshot(w)
    if case.patch:
        case.patch(monkeypatch, w)
    with pytest.raises(case.error) as info:
        case.call(w)
    monkeypatch.undo()
    assert isinstance(info.value, E.VeganError)
    msg = str(info.value)
    assert "\n" not in msg.strip(), msg
    assert re.search(case.match, msg), f"{case.match!r} not in {msg!r}"
    assert snapshot(w) == before, "the call created or changed files"


def test_debug_shows_the_traceback(run_cli, tmp_path):
    with pytest.raises(E.ConfigError, match="did you mean 'wae-mmd'"):
        run_cli("--debug", "train", "wea-mmd", *TOY, "--out", tmp_path / "x", "--steps", "1")


def test_catalog_size_and_docs():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 40
    text = DOCS.read_text(encoding="utf-8")
    missing = [i for i in ids if f"`{i}`" not in text]
    assert not missing, f"docs/reliability.md does not list {missing}"
