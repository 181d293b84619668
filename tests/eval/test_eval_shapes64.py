"""The 64x64 path end to end on shapes64: the celeba64 preset trains, evaluates and reports."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from vegan.data import shapes

#: Narrow networks so a step takes a fraction of a second; the preset's other settings stay.
NARROW = ["--set", "width=8", "--set", "latent_dim=8"]


def test_train_eval_report_on_shapes64(run_cli, tmp_path):
    run = tmp_path / "s64"
    code, _, err = run_cli(
        "train", "wae-mmd", "--data", "shapes64?n=400", "--steps", "2", "--out", run, *NARROW
    )
    assert code == 0, err
    info = json.loads((run / "run.json").read_text())
    assert info["sample_shape"] == [3, 64, 64] and info["preset"]["applied"] == ["celeba64"]
    assert info["config"]["lam"] == 100.0 and info["config"]["batch_size"] == 100

    code, stdout, err = run_cli("eval", run, "--json")
    assert code == 0, err
    ev = json.loads(stdout)
    assert ev["n"] == 80  # the whole held-out split: 400 / 5
    for key in ("w2sq", "w2sq_real", "recon_l2sq", "probe_position", "probe_shape"):
        assert math.isfinite(ev[key]), key
    assert all(f"probe_r2_{f}" in ev for f in shapes.FACTORS)
    # The chance accuracy is the most frequent shape among held-out items 40..79.
    _, labels = shapes.draw_factors([4 + 5 * k for k in range(40, 80)])
    assert ev["probe_shape_chance"] == np.bincount(labels).max() / 40
    assert 0.0 <= ev["probe_shape"] <= 1.0
    assert "features" in ev["skipped"]  # the MNIST feature net does not take 64x64 RGB

    code, _, err = run_cli("report", run, "--out", tmp_path / "r.md")
    assert code == 0, err
    text = (tmp_path / "r.md").read_text()
    assert "Factors read back from the codes" in text and "shape from codes" in text


def test_probe_skipped_when_too_few_codes(run_cli, tmp_path):
    run = tmp_path / "s64"
    args = ["train", "wae-mmd", "--data", "shapes64?n=100", "--steps", "1", "--out", run]
    assert run_cli(*args, *NARROW)[0] == 0
    code, stdout, _ = run_cli("eval", run, "--json")
    ev = json.loads(stdout)
    assert code == 0 and "probe_shape" not in ev
    assert "n >= 4 (d_z + 1) = 36" in ev["skipped"]["factors"]


@pytest.mark.slow
def test_zoo_on_shapes64(run_cli, tmp_path):
    out = tmp_path / "zoo"
    args = ["zoo", "--data", "shapes64?n=500", "--budget", "0.05", "--out", out, "--n", "100"]
    args += ["--recipes", "wae-mmd,wgan-gp", *NARROW, "--eval-every", "0"]
    code, stdout, err = run_cli(*args)
    assert code == 0, err
    runs = {r["recipe"]: r for r in json.loads((out / "zoo.json").read_text())["runs"]}
    assert runs["wae-mmd"]["status"] == "ok" and runs["wgan-gp"]["status"] == "ok"
    assert "probe_shape" in runs["wae-mmd"]["metrics"]
    assert "factors" in json.loads((out / "wgan-gp" / "eval.json").read_text())["skipped"]
    assert "shape from codes" in (out / "zoo.md").read_text()
    assert (out / "report.html").is_file()
