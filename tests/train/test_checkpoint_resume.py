"""Checkpoints: safetensors + JSON only, round trip, and bit-identical resume on CPU."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import vegan
from vegan.train.checkpoint import list_checkpoints, read_checkpoint

ALLOWED = {".json", ".jsonl", ".safetensors", ".png"}


def _final_tensors(run):
    path = list_checkpoints(run)[-1]
    meta = json.loads(path.read_text())
    return meta["step"], load_file(path.parent / meta["tensors"])


@pytest.mark.parametrize(
    ("recipe", "data", "extra"),
    [
        ("wae-mmd", "mnist", ["--set", "width=8", "--set", "batch_size=200"]),
        # The toy preset decays the VAE's rate (cosine) over the run's total; a finished
        # run extended to a larger total restarts that decay by design
        # (docs/choosing-settings.md): a constant rate keeps the two runs comparable.
        ("vae", "toy:8gaussians", ["--set", "batch_size=200", "--set", "schedule=constant"]),
    ],
)
def test_resume_is_bit_identical(run_cli, tmp_path, recipe, data, extra):
    # 40 steps per epoch at batch 200 on 8,000 items: the split at 30 lies
    # inside an epoch and the run crosses an epoch boundary after it.
    base = ["train", recipe, "--data", data, "--seed", "3", "--no-progress", *extra]
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli(*base, "--out", one, "--steps", "60")[0] == 0
    assert run_cli(*base, "--out", two, "--steps", "30")[0] == 0
    assert _final_tensors(two)[0] == 30
    code, _, err = run_cli(*base, "--out", two, "--steps", "60", "--resume")
    assert code == 0, err
    (s1, t1), (s2, t2) = _final_tensors(one), _final_tensors(two)
    assert s1 == s2 == 60
    assert t1.keys() == t2.keys() and any(k.startswith("optim/") for k in t1)
    for key in t1:
        assert torch.equal(t1[key], t2[key]), key
    # The metrics log has each step once after the resume.
    steps = [json.loads(s)["step"] for s in (two / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))


def test_run_folder_holds_no_pickle_and_round_trips(run_cli, tmp_path):
    run = tmp_path / "run"
    assert (
        run_cli(
            "train",
            "vae",
            "--data",
            "mnist",
            "--out",
            run,
            "--steps",
            "10",
            "--set",
            "width=8",
            "--no-progress",
        )[0]
        == 0
    )
    for f in run.rglob("*"):
        if f.is_file():
            assert f.suffix in ALLOWED, f
            assert f.read_bytes()[:1] != b"\x80", f"{f} starts like a pickle"
    model = vegan.load(run)
    step, tensors = _final_tensors(run)
    for key, value in model.state_dict().items():
        assert torch.equal(value, tensors[f"model/{key}"]), key
    c = read_checkpoint(list_checkpoints(run)[-1])
    assert c.step == step == 10
    x = model.sample(4)
    assert x.shape == (4, 1, 28, 28)


def test_checkpoints_are_pruned_and_corruption_falls_back(run_cli, tmp_path):
    run = tmp_path / "run"
    assert (
        run_cli(
            "train",
            "ae",
            "--data",
            "toy:8gaussians",
            "--out",
            run,
            "--steps",
            "12",
            "--set",
            "checkpoint_every=3",
            "--set",
            "keep_checkpoints=2",
            "--no-progress",
        )[0]
        == 0
    )
    names = [p.name for p in list_checkpoints(run)]
    assert names == ["step-00000009.json", "step-00000012.json"]
    # A torn newest tensor file: loading falls back to the previous checkpoint.
    newest = run / "checkpoints" / "step-00000012.safetensors"
    newest.write_bytes(newest.read_bytes()[:100])
    model = vegan.load(run)
    assert model.info["step"] == 9
