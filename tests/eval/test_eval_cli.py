"""`vegan eval` on tiny trained runs: every key, references, typed errors."""

from __future__ import annotations

import json

import pytest

HEAD = {"run", "recipe", "dataset", "split", "n", "seed", "seconds", "step"}
PIXEL = {"w2sq", "w2", "w1", "sw2", "mmd"}
MNIST_KEYS = (
    PIXEL
    | {f"{k}_real" for k in PIXEL}
    | {"sharpness", "sharpness_data"}
    | {"fd_mnist_cnn", "fd_mnist_cnn_real", "precision", "recall", "precision_real"}
    | {"recall_real", "classifier_accuracy"}
)
PRIMAL_KEYS = {"recon_l2sq", "codes_mmd", "codes_mmd_ref", "codes_w2sq", "codes_w2sq_ref"}


def _eval_json(run_cli, run, *extra):
    code, out, err = run_cli("eval", run, "--n", "120", "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_eval_json_has_every_key(run_cli, mnist_run):
    obj = _eval_json(run_cli, mnist_run)
    assert HEAD | MNIST_KEYS | PRIMAL_KEYS <= set(obj)
    assert obj["recipe"] == "wae-mmd" and obj["dataset"] == "mnist" and obj["n"] == 120
    assert obj["split"] == "heldout" and obj["step"] == 3
    for key in MNIST_KEYS | PRIMAL_KEYS:
        assert isinstance(obj[key], float), key
    assert "fid_inception" in obj or "fid_inception" in obj["skipped"]
    assert obj["precision_real"] > 0.5 and obj["recall_real"] > 0.5
    assert obj["w2"] ** 2 == pytest.approx(obj["w2sq"])
    saved = json.loads((mnist_run / "eval.json").read_text())
    assert saved["w2sq"] == obj["w2sq"]
    assert _eval_json(run_cli, mnist_run, "--no-save")["w2sq"] == obj["w2sq"]  # seeded


def test_eval_table_names_its_features_and_references(run_cli, mnist_run):
    code, out, err = run_cli("eval", mnist_run, "--n", "100", "--no-save")
    assert code == 0, err
    assert "FD (vegan-mnist-cnn features)" in out and "real vs real" in out
    assert "prior vs prior" in out and "held-out accuracy" in out
    assert "FID" not in out.replace("Inception FID", "")


def test_vae_and_avb_report_negative_elbo(run_cli, vae_run, avb_run):
    for run in (vae_run, avb_run):
        obj = _eval_json(run_cli, run, "--no-features", "--no-save")
        assert obj["neg_elbo"] > 0 and "features" in obj["skipped"]
        assert obj["settings"]["elbo_samples"] >= 1


def test_dual_recipe_on_toy_data(run_cli, toy_gan_run):
    obj = _eval_json(run_cli, toy_gan_run, "--no-save")
    assert {"modes_covered", "modes_total", "high_quality", "high_quality_data"} <= set(obj)
    assert obj["modes_total"] == 8 and obj["high_quality_data"] > 0.95
    assert "primal" in obj["skipped"] and "features" in obj["skipped"]
    assert "sharpness" in obj["skipped"] and not PRIMAL_KEYS & set(obj)


def test_eval_more_samples_than_heldout(run_cli, mnist_run):
    code, _, err = run_cli("eval", mnist_run, "--n", "5000")
    assert code == 2 and "has 2000 samples" in err and "--n 2000" in err


def test_eval_missing_run(run_cli, tmp_path):
    code, _, err = run_cli("eval", tmp_path / "nope")
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err


def test_inception_fid_goes_through_torch_fidelity(run_cli, mnist_run, monkeypatch, tmp_path):
    import importlib.machinery
    import sys
    import types

    import torch

    seen = {}

    def calculate_metrics(input1, input2, fid, **kw):
        seen["x"], seen["kw"] = input1[0], kw
        assert fid and len(input1) == len(input2) == 60
        return {"frechet_inception_distance": 12.5}

    fake = types.ModuleType("torch_fidelity")
    fake.__spec__ = importlib.machinery.ModuleSpec("torch_fidelity", None)
    fake.calculate_metrics = calculate_metrics
    monkeypatch.setitem(sys.modules, "torch_fidelity", fake)
    weights = tmp_path / "inception.pth"
    weights.write_bytes(b"weights")
    monkeypatch.setenv("VEGAN_INCEPTION_WEIGHTS", str(weights))
    obj = _eval_json(run_cli, mnist_run, "--n", "60", "--no-save")
    assert obj["fid_inception"] == 12.5 and "fid_inception" not in obj["skipped"]
    assert seen["x"].dtype == torch.uint8 and seen["x"].shape == (3, 28, 28)
    assert seen["kw"]["feature_extractor_weights_path"] == str(weights)
    monkeypatch.setenv("VEGAN_INCEPTION_WEIGHTS", str(tmp_path / "missing.pth"))
    obj = _eval_json(run_cli, mnist_run, "--n", "60", "--no-save")
    assert "weights not found" in obj["skipped"]["fid_inception"]


def test_non_mnist_images_skip_the_feature_metrics(run_cli, tmp_path):
    import numpy as np

    import vegan

    data = tmp_path / "imgs.npy"
    np.save(data, np.random.default_rng(0).random((60, 1, 8, 8), dtype=np.float32))
    run = tmp_path / "run"
    sets = {"backbone": "mlp", "hidden": 16, "depth": 1, "batch_size": 16}
    vegan.fit("ae", str(data), run, steps=2, sets=sets, progress=False)
    obj = _eval_json(run_cli, run, "--n", "12", "--no-save")
    assert "MNIST" in obj["skipped"]["features"] and "fd_mnist_cnn" not in obj
    assert obj["sharpness"] > 0 and obj["n"] == 12 and "w2sq_real" in obj
