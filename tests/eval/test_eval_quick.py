"""Quick metrics logged during training (eval_every)."""

from __future__ import annotations

import json

import torch


def _fit(folder, eval_every):
    import vegan
    from vegan.data import load_dataset

    data = load_dataset("toy:8gaussians", "train", n=200)  # 4 steps per epoch
    sets = {"backbone": "mlp", "hidden": 16, "depth": 1, "batch_size": 50}
    sets["eval_every"] = eval_every
    model, _ = vegan.fit("wae-mmd", data, folder, steps=8, sets=sets, progress=False)
    return model


def test_quick_metrics_are_logged_and_leave_training_unchanged(tmp_path):
    with_eval = _fit(tmp_path / "a", 1)
    without = _fit(tmp_path / "b", 0)
    lines = [json.loads(s) for s in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    quick = [r for r in lines if "eval/w2sq" in r]
    assert [r["epoch"] for r in quick] == [1.0, 2.0]
    assert json.loads((tmp_path / "a" / "run.json").read_text())["data"] == "toy:8gaussians"
    for key in ("eval/w2sq", "eval/mmd", "eval/recon_l2sq", "eval/codes_mmd"):
        assert isinstance(quick[-1][key], float)
    # the quick evaluation never touches the training RNG or weights
    for (k, a), (_, b) in zip(with_eval.state_dict().items(), without.state_dict().items()):
        assert torch.equal(a, b), k
