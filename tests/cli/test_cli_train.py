"""`vegan train`, `sample`, `reconstruct`, `encode` from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

TINY = ["--set", "width=8", "--set", "batch_size=50", "--no-progress"]


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_train_sample_reconstruct_encode(run_cli, tmp_path):
    run = tmp_path / "run"
    code, out, err = run_cli(
        "train", "wae-mmd", "--data", "mnist", "--out", run, "--steps", "20", *TINY
    )
    assert code == 0, err
    assert "run folder" in out
    info = json.loads((run / "run.json").read_text())
    assert info["recipe"] == "wae-mmd" and info["sample_shape"] == [1, 28, 28]
    assert info["config"]["latent_dim"] == 8 and info["config"]["lam"] == 10.0
    assert (run / "samples.png").is_file() and (run / "reconstructions.png").is_file()
    lines = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["step"] == 20 and "autoencoder/mmd" in lines[-1]

    code, out, err = run_cli("sample", run, "--n", "7", "--out", tmp_path / "s.npy")
    assert code == 0, err
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (7, 1, 28, 28) and s.dtype == np.float32 and s.min() >= 0 and s.max() <= 1
    assert run_cli("sample", run, "--n", "16", "--out", tmp_path / "s.png")[0] == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"

    code, _, err = run_cli(
        "reconstruct", run, "--data", "mnist", "--n", "5", "--out", tmp_path / "r.npy"
    )
    assert code == 0, err
    assert np.load(tmp_path / "r.npy").shape == (5, 1, 28, 28)
    code, _, err = run_cli(
        "encode", run, "--data", "mnist", "--n", "6", "--out", tmp_path / "z.npy"
    )
    assert code == 0, err
    assert np.load(tmp_path / "z.npy").shape == (6, 8)


def test_recipes_lists_and_shows(run_cli):
    code, out, _ = run_cli("recipes")
    assert code == 0
    for name in ("ae", "vae", "wae-mmd", "swae", "sinkhorn-wae"):
        assert name in out
    code, out, _ = run_cli("recipes", "--show", "wae-mmd")
    assert code == 0 and "kernel" in out and "lam" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "wea-mmd", "--data", "toy:8gaussians"], "did you mean 'wae-mmd'"),
        (
            ["train", "wae-mmd", "--data", "toy:8gaussians", "--set", "lamda=3"],
            "did you mean 'lam'",
        ),
        (["train", "wae-mmd", "--data", "toy:8gaussians", "--set", "lam=ten"], "expects float"),
        (["train", "wae-mmd", "--data", "toy:8gaussians", "--set", "batch_size=0"], "> 0"),
        (["train", "wae-mmd", "--data", "toy:8gaussians", "--set", "lr=-1"], "learning rate"),
        (["train", "wae-mmd", "--data", "toy:8gaussinas"], "8gaussians"),
        (["train", "wae-mmd", "--data", "toy:8gaussians", "--set", "nokey"], "key=value"),
    ],
)
def test_bad_options_exit_2_and_create_nothing(run_cli, tmp_path, args, message):
    out = tmp_path / "run"
    code, _, err = run_cli(*args, "--out", out, "--steps", "5", "--no-progress")
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_wrong_image_size_for_backbone(run_cli, tmp_path):
    np.save(tmp_path / "odd.npy", np.random.default_rng(0).random((20, 1, 30, 30), np.float32))
    out = tmp_path / "run"
    code, _, err = run_cli(
        "train",
        "wae-mmd",
        "--data",
        tmp_path / "odd.npy",
        "--out",
        out,
        "--steps",
        "2",
        "--no-progress",
    )
    assert code == 2 and "30x30" in err and "backbone" in err
    assert not out.exists()


def test_empty_dataset(run_cli, tmp_path):
    np.save(tmp_path / "empty.npy", np.zeros((0, 2), np.float32))
    code, _, err = run_cli(
        "train",
        "ae",
        "--data",
        tmp_path / "empty.npy",
        "--out",
        tmp_path / "run",
        "--steps",
        "2",
        "--no-progress",
    )
    assert code == 2 and "empty" in err
    assert not (tmp_path / "run").exists()


def test_existing_run_folder_is_refused_and_untouched(run_cli, tmp_path):
    run = tmp_path / "run"
    args = [
        "train",
        "ae",
        "--data",
        "toy:8gaussians",
        "--out",
        run,
        "--steps",
        "3",
        "--no-progress",
    ]
    assert run_cli(*args)[0] == 0
    before = _snapshot(run)
    code, _, err = run_cli(*args)
    assert code == 2 and "--resume" in err and "--overwrite" in err
    assert _snapshot(run) == before
    # --overwrite starts over; a folder that is not a vegan run is never deleted.
    assert run_cli(*args, "--overwrite")[0] == 0
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    code, _, err = run_cli(
        "train",
        "ae",
        "--data",
        "toy:8gaussians",
        "--out",
        other,
        "--steps",
        "3",
        "--overwrite",
        "--no-progress",
    )
    assert code == 2 and "not a vegan run" in err
    assert (other / "thesis.tex").read_text() == "precious"


def test_sample_errors(run_cli, tmp_path):
    code, _, err = run_cli("sample", tmp_path / "nope", "--n", "3", "--out", tmp_path / "s.npy")
    assert code == 2 and "does not exist" in err
    (tmp_path / "notrun").mkdir()
    code, _, err = run_cli("sample", tmp_path / "notrun", "--n", "3", "--out", tmp_path / "s.npy")
    assert code == 2 and "not a vegan run" in err
    assert not (tmp_path / "s.npy").exists()
