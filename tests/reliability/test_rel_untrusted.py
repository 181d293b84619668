"""Untrusted files: loading a run folder or checkpoint never unpickles, never imports code.

Every crafted file here carries a payload that would create a marker file if
it were ever unpickled or imported; each test asserts that the marker does not
exist afterwards, and that nothing in the run folder changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import vegan
from vegan.errors import CheckpointError, DataError, VeganError
from vegan.io import load_array
from vegan.train.checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    parse_safetensors,
    read_checkpoint,
)

RUN: dict[str, Path] = {}


class Payload:
    """Unpickling this creates ``path`` (what an attacker's code would do)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _pickle(marker: Path) -> bytes:
    return pickle.dumps({"weights": Payload(marker)}, protocol=4)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("trained") / "run"
    vegan.fit(
        "ae", "toy:8gaussians", run, steps=4, progress=False, samples_every=0, hidden=32,
        checkpoint_every=2,
    )  # fmt: skip
    return run


@pytest.fixture
def run(trained, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(trained, dst)
    return dst


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _all_ways_refuse(run: Path, run_cli, tmp_path: Path, match: str) -> None:
    """vegan.load, vegan sample and vegan train --resume all refuse the run, writing nothing."""
    before = _snapshot(run)
    with pytest.raises(CheckpointError, match=match):
        vegan.load(run)
    code, _, err = run_cli("sample", run, "--n", "3", "--out", tmp_path / "s.npy")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "s.npy").exists()
    code, _, err = run_cli(
        "train", "ae", "--data", "toy:8gaussians", "--out", run, "--steps", "8", "--resume",
        "--no-progress",
    )  # fmt: skip
    assert code == 2 and "Traceback" not in err, err
    assert _snapshot(run) == before


def _rewrite_newest(run: Path, data: bytes, **fields) -> Path:
    """Replace every checkpoint's tensor file by ``data``, with a JSON that vouches for it."""
    for path in list_checkpoints(run):
        meta = json.loads(path.read_text())
        (path.parent / meta["tensors"]).write_bytes(data)
        meta.update(sha256=hashlib.sha256(data).hexdigest(), n_bytes=len(data), **fields)
        path.write_text(json.dumps(meta))
    return list_checkpoints(run)[-1]


# --------------------------------------------------------------------------- pickles


def test_the_payload_is_live(tmp_path):
    # The control: unpickling the payload does create the marker.
    marker = tmp_path / "PWNED"
    pickle.loads(_pickle(marker))  # noqa: S301 - on purpose
    assert marker.exists()


def test_pickle_disguised_as_safetensors_is_refused(run, run_cli, tmp_path):
    marker = tmp_path / "PWNED"
    _rewrite_newest(run, _pickle(marker))  # checksum and size match: only the format is wrong
    _all_ways_refuse(run, run_cli, tmp_path, "declares a header of .* bytes|safetensors")
    assert not marker.exists()


def test_torch_save_file_disguised_as_safetensors_is_refused(run, run_cli, tmp_path):
    marker = tmp_path / "PWNED"
    import io

    buf = io.BytesIO()
    torch.save({"w": torch.ones(2), "evil": Payload(marker)}, buf)  # a zip with a pickle
    _rewrite_newest(run, buf.getvalue())
    _all_ways_refuse(run, run_cli, tmp_path, "safetensors|header")
    assert not marker.exists()


def test_pickle_files_in_a_run_folder_are_ignored(run, tmp_path):
    marker = tmp_path / "PWNED"
    for name in ("model.pt", "model.pkl", "checkpoints/step-99999999.pt", "optimizer.pth"):
        (run / name).write_bytes(_pickle(marker))
    (run / "checkpoints" / "step-99999999.pkl").write_bytes(_pickle(marker))
    model = vegan.load(run)  # loads the real checkpoint, ignores the rest
    assert model.info["step"] == 4
    assert not marker.exists()
    # A run folder holding only pickles has no checkpoint at all.
    for p in (run / "checkpoints").glob("step-0*"):
        p.unlink()
    with pytest.raises(CheckpointError, match="has no checkpoint yet"):
        vegan.load(run)
    assert not marker.exists()


def test_python_files_in_a_run_folder_are_never_imported(run, tmp_path, monkeypatch):
    marker = tmp_path / "PWNED"
    code = f"open({str(marker)!r}, 'w').close()\n"
    for name in ("__init__.py", "config.py", "model.py", "vegan.py", "checkpoints/__init__.py"):
        (run / name).write_text(code)
    monkeypatch.chdir(run)  # even as the working folder
    vegan.load(run)
    vegan.load(".")
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_pickled_data_arrays_are_refused(tmp_path, suffix):
    marker = tmp_path / "PWNED"
    arr = np.array([Payload(marker), 1.0], dtype=object)
    path = tmp_path / f"data{suffix}"
    if suffix == ".npy":
        np.save(path, arr, allow_pickle=True)
    else:
        np.savez(path, x=arr)
    with pytest.raises(DataError, match="pickle"):
        load_array(path)
    with pytest.raises(DataError, match="pickle"):
        vegan.fit("ae", str(path), tmp_path / "run", steps=1, progress=False)
    assert not marker.exists() and not (tmp_path / "run").exists()


def test_raw_pickle_named_npy_is_refused(tmp_path):
    marker = tmp_path / "PWNED"
    (tmp_path / "x.npy").write_bytes(_pickle(marker))
    with pytest.raises(DataError, match="is a Python pickle"):
        load_array(tmp_path / "x.npy")
    assert not marker.exists()


# --------------------------------------------------------------------------- path traversal


@pytest.mark.parametrize(
    "name",
    [
        "../../outside.safetensors",
        "../run.json",
        "/etc/passwd",
        "sub/step-00000004.safetensors",
        "..\\..\\outside.safetensors",
        ".hidden.safetensors",
        "step-00000004.json",
        "step-00000004.safetensors\x00.txt",
        "",
        None,
        ["step-00000004.safetensors"],
        42,
    ],
)
def test_unsafe_tensor_file_names_are_refused(run, tmp_path, name):
    # A perfectly valid tensor file sits outside the checkpoint folder, with the
    # right checksum: following the name would load it. It must not be followed.
    good = list_checkpoints(run)[-1]
    data = (good.parent / json.loads(good.read_text())["tensors"]).read_bytes()
    (tmp_path / "outside.safetensors").write_bytes(data)
    meta = json.loads(good.read_text())
    meta["tensors"] = name
    good.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="unsafe tensor file"):
        read_checkpoint(good)
    # Loading falls back to the previous, valid checkpoint.
    assert vegan.load(run).info["step"] < 4


# --------------------------------------------------------------------------- giant sizes


def _safetensors(header: dict, body: bytes = b"", hlen: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if hlen is None else hlen) + raw + body


_T = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


def _one(dtype="F32", shape=(2,), offs=(0, 8)) -> bytes:
    """A tensor file holding one tensor 't' of 8 bytes, described by a crafted header."""
    info = {"dtype": dtype, "shape": list(shape), "data_offsets": list(offs)}
    return _safetensors({"t": info}, b"\0" * 8)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (struct.pack("<Q", 2**63) + b"{}", "declares a header of"),
        (struct.pack("<Q", 2**40) + b"{}" * 10, "declares a header of"),
        (struct.pack("<Q", 64 * 2**20) + b"{" * 100, "declares a header of"),
        (b"\x01\x02", "too short"),
        (_one(shape=[2**40, 2**40]), "do not match its 8 bytes"),
        (_one(offs=[0, 2**62]), "lies outside the file"),
        (_one(offs=[-8, 0]), "lies outside the file"),
        (_one(offs=[True, 8]), "lies outside the file"),
        (_one(shape=[-2]), "do not match"),
        (_one(shape=[2.0]), "do not match"),
        (_one(dtype="O", shape=[8]), "do not match"),
        (_safetensors({"t": [1, 2, 3]}, b""), "lies outside"),
        (_safetensors({"__metadata__": {"format": 1}}, b""), "metadata"),
        (_safetensors([1, 2], b""), "ill-formed"),
        (struct.pack("<Q", 4) + b"\xff\xfe{}", "unreadable"),
        (_safetensors({"a": _T, "b": _T}, b"\0" * 8), "safetensors"),  # overlapping tensors
    ],
)  # fmt: skip
def test_crafted_tensor_files_are_refused_without_allocating(data, match):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CheckpointError, match=match):
        parse_safetensors(data, "crafted.safetensors")
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 64 * 1024  # nothing near the declared sizes was allocated


def test_crafted_tensor_file_in_a_run(run, run_cli, tmp_path):
    header = {"model/x": {"dtype": "F32", "shape": [2**31, 2**31], "data_offsets": [0, 16]}}
    _rewrite_newest(run, _safetensors(header, b"\0" * 16))
    _all_ways_refuse(run, run_cli, tmp_path, "do not match its 16 bytes")


# --------------------------------------------------------------------------- every JSON field


def _edit(path: Path, **fields) -> None:
    meta = json.loads(path.read_text())
    for k, v in fields.items():
        if v is _DROP:
            meta.pop(k, None)
        else:
            meta[k] = v
    path.write_text(json.dumps(meta))


_DROP = object()


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"format": "vegan-checkpoint/2"}, "is not a vegan checkpoint"),
        ({"format": _DROP}, "is not a vegan checkpoint"),
        ({"step": "4"}, "invalid step"),
        ({"step": -1}, "invalid step"),
        ({"step": 10**12}, "says step 1000000000000 but its name says 4"),
        ({"sha256": "0" * 64}, "does not match its checksum"),
        ({"sha256": _DROP}, "does not match its checksum"),
        ({"n_bytes": 12}, "its checkpoint says 12"),
        ({"n_bytes": "many"}, "its checkpoint says 'many'"),
        ({"vegan_version": ["1"]}, "ill-typed vegan_version"),
    ],
    ids=lambda v: str(v)[:40] if not isinstance(v, dict) else ",".join(v),
)
def test_checkpoint_json_fields_are_validated(run, fields, match):
    newest = list_checkpoints(run)[-1]
    _edit(newest, **fields)
    with pytest.raises(CheckpointError, match=match):
        read_checkpoint(newest)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"recipe": "vae"}, "from recipe 'vae'"),
        ({"recipe": None}, "from recipe .None."),
        ({"players": ["critic"]}, "has players"),
        ({"optimizers": []}, "no optimizer state"),
        ({"optimizers": {"autoencoder": {"param_groups": "x"}}}, "optimizer state of player"),
        ({"rng": {"torch": "not base64!"}}, "RNG state"),
        ({"rng": {"torch": "AAAA"}}, "invalid RNG state"),
        ({"rng": None}, "no RNG state"),
        ({"sampler": {"n": 3}}, "other data or another batch size"),
        ({"lr_scale": -1}, "invalid learning-rate state"),
        ({"lr_scale": "half"}, "invalid learning-rate state"),
        ({"rollbacks": 0.5}, "invalid learning-rate state"),
    ],
    ids=lambda v: ",".join(v) if isinstance(v, dict) else str(v)[:30],
)
def test_resume_validates_the_training_state(run, run_cli, fields, match):
    for path in list_checkpoints(run):  # every checkpoint, so none can be fallen back to
        _edit(path, **fields)
    before = _snapshot(run)
    with pytest.raises(CheckpointError, match=match):
        vegan.fit("ae", "toy:8gaussians", run, steps=8, resume=True, progress=False)
    assert _snapshot(run) == before
    code, _, err = run_cli(
        "train", "ae", "--data", "toy:8gaussians", "--out", run, "--steps", "8", "--resume",
        "--no-progress",
    )  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        ({"format": "vegan-run/9"}, CheckpointError, "not a vegan run description"),
        ({"recipe": "no-such-recipe"}, VeganError, "unknown recipe"),
        ({"recipe": ["ae"]}, CheckpointError, "missing or ill-typed"),
        ({"sample_shape": [2**21]}, CheckpointError, "missing or ill-typed"),
        ({"sample_shape": []}, CheckpointError, "missing or ill-typed"),
        ({"sample_shape": ["2"]}, CheckpointError, "missing or ill-typed"),
        ({"config": "lam=1"}, CheckpointError, "missing or ill-typed"),
        ({"config": {"import": "os"}}, VeganError, "unknown option 'import'"),
        ({"config": {"hidden": 10**6}}, VeganError, "lower hidden"),
        ({"config": {"hidden": -1}}, VeganError, "'hidden' must be > 0"),
    ],
    ids=lambda v: ",".join(v) if isinstance(v, dict) else "",
)
def test_run_json_fields_are_validated(run, fields, error, match):
    path = run / "run.json"
    info = json.loads(path.read_text())
    for k, v in fields.items():
        info[k] = {**info[k], **v} if isinstance(v, dict) and k == "config" else v
    path.write_text(json.dumps(info))
    with pytest.raises(error, match=match):
        vegan.load(run)


def test_latest_checkpoint_skips_a_crafted_newest_one(run, tmp_path):
    marker = tmp_path / "PWNED"
    newest = list_checkpoints(run)[-1]
    _rewrite_newest_only(newest, _pickle(marker))
    assert latest_checkpoint(run).step < 4
    assert not marker.exists()


def _rewrite_newest_only(path: Path, data: bytes) -> None:
    meta = json.loads(path.read_text())
    (path.parent / meta["tensors"]).write_bytes(data)
    meta.update(sha256=hashlib.sha256(data).hexdigest(), n_bytes=len(data))
    path.write_text(json.dumps(meta))


def test_giant_npy_header_is_refused_before_allocating(tmp_path):
    import io

    from numpy.lib import format as npformat

    buf = io.BytesIO()
    npformat.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10**7, 10**6)}
    )
    data = buf.getvalue() + b"\0" * 64
    (tmp_path / "g.npy").write_bytes(data)
    with zipfile.ZipFile(tmp_path / "g.npz", "w") as z:
        z.writestr("x.npy", data)
    for name in ("g.npy", "g.npz"):
        with pytest.raises(DataError, match=r"declares shape \(10000000, 1000000\)"):
            load_array(tmp_path / name)


def test_zip_bomb_npz_is_refused(tmp_path, monkeypatch):
    # An honest header, but more data than memory (simulated: 1 MiB free).
    import vegan.resources as checks

    np.savez_compressed(tmp_path / "bomb.npz", x=np.zeros((1000, 1000)))  # 8 MB -> ~8 kB
    assert os.path.getsize(tmp_path / "bomb.npz") < 100_000
    monkeypatch.setattr(checks, "available_memory", lambda: 2**20)
    from vegan.errors import ResourceError

    with pytest.raises(ResourceError, match="more than the 1 MiB of memory available"):
        load_array(tmp_path / "bomb.npz")


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        # Each of these once escaped as AttributeError, ZeroDivisionError or AssertionError
        # (found by test_rel_fuzz): now refused, or ignored where it is not training state.
        (("scalars",), True, "ill-formed"),
        (("scalars",), {"0": {"exp_avg": 5}}, "ill-formed"),
        (("param_groups", 0, "betas"), [1, 0.999], "out of range"),
        (("param_groups", 0, "betas"), [0.5], "missing or ill-typed"),
        (("param_groups", 0, "lr"), [0.1], "missing or ill-typed"),
        (("param_groups", 0, "eps"), -1.0, "out of range"),
        (("param_groups", 0, "capturable"), True, None),  # a switch: this optimizer's own
    ],
)
def test_resume_validates_optimizer_settings(run, path, value, match):
    for ck in list_checkpoints(run):
        meta = json.loads(ck.read_text())
        obj = meta["optimizers"]["autoencoder"]
        for k in path[:-1]:
            obj = obj[k]
        obj[path[-1]] = value
        ck.write_text(json.dumps(meta))
    if match is None:
        _, result = vegan.fit("ae", "toy:8gaussians", run, steps=6, resume=True, progress=False)
        assert result.step == 6
        return
    with pytest.raises(CheckpointError, match=match):
        vegan.fit("ae", "toy:8gaussians", run, steps=6, resume=True, progress=False)


def test_npy_header_that_numpy_cannot_tokenize_is_a_data_error(tmp_path):
    # Found by test_rel_fuzz: NumPy's header parser raised tokenize.TokenError.
    import io as _io

    b = _io.BytesIO()
    np.save(b, np.zeros((3, 2), np.float32))
    buf = bytearray(b.getvalue())
    buf[10] = ord("(")  # '{' -> '(' : an unbalanced header
    (tmp_path / "x.npy").write_bytes(bytes(buf))
    with pytest.raises(DataError, match="invalid .npy header"):
        load_array(tmp_path / "x.npy")
