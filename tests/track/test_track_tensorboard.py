"""TensorBoard: what a run logs, read back with TensorBoard's own event reader."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")

from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

from vegan.train.callbacks import CallbackError  # noqa: E402
from vegan.train.checkpoint import checkpoint_dir  # noqa: E402


def _events(run) -> EventAccumulator:
    ea = EventAccumulator(str(run), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    ea.Reload()
    return ea


def _scalars(ea: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in ea.Scalars(tag)]


def _event_files(run) -> list:
    return sorted(run.glob("events.out.tfevents.*"))


def test_scalars_images_and_options_are_logged(toy_run, metrics_of, tmp_path):
    run = tmp_path / "run"
    toy_run(run, log_to="tensorboard", eval_every=1)
    ea = _events(run)
    expected = metrics_of(run)
    assert "autoencoder/loss" in expected and "eval/w2sq" in expected  # the periodic evaluation
    assert [s for s, _ in expected["eval/w2sq"]] == [20, 40]
    assert set(expected) <= set(ea.Tags()["scalars"])
    for key, points in expected.items():
        got = _scalars(ea, key)
        assert [s for s, _ in got] == [s for s, _ in points], key  # every step, once
        assert [v for _, v in got] == pytest.approx([v for _, v in points], rel=1e-6), key
    steps = [s for s, _ in expected["autoencoder/loss"]]
    assert steps == list(range(5, 41, 5))
    # The grids of both epochs (20 steps each), once per step; the end repeats epoch 2.
    for tag in ("pictures/samples",):  # 2-D data: no reconstruction grid
        images = ea.Images(tag)
        assert [im.step for im in images] == [20, 40], tag
        assert images[0].encoded_image_string[:4] == b"\x89PNG"
    # The resolved options: in the HPARAMS tab and as a text table.
    info = json.loads((run / "run.json").read_text())
    content = ea.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hp = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    assert hp["lam"].number_value == pytest.approx(info["config"]["lam"])
    assert hp["recipe"].string_value == "wae-mmd"
    assert hp["log_to"].string_value == "tensorboard"
    assert "options/text_summary" in ea.Tags()["tensors"]
    state = json.loads((run / "trackers.json").read_text())
    assert set(state) == {"tensorboard"}


def test_resume_continues_without_duplicate_steps(toy_run, metrics_of, tmp_path):
    run = tmp_path / "run"
    toy_run(run, log_to="tensorboard", checkpoint_every=10)
    # A process killed after logging step 40 but before its checkpoint: the
    # newest checkpoint is step 30, and steps 35 and 40 are in the events.
    for p in checkpoint_dir(run).glob("step-00000040.*"):
        p.unlink()
    toy_run(run, steps=50, log_to="tensorboard", checkpoint_every=10, resume=True)
    assert len(_event_files(run)) == 2  # the same run, continued in a second file
    ea = _events(run)
    expected = metrics_of(run)
    got = _scalars(ea, "autoencoder/loss")
    assert [s for s, _ in got] == list(range(5, 51, 5))  # 35 and 40 once, not twice
    assert got == [(s, pytest.approx(v, rel=1e-6)) for s, v in expected["autoencoder/loss"]]
    # epoch 2 ends again at step 40 in the resumed run (its grids replace the purged ones)
    assert [im.step for im in ea.Images("pictures/samples")] == [20, 40, 50]


def test_vegan_eval_sends_its_numbers(toy_run, run_cli, tmp_path):
    run = tmp_path / "run"
    toy_run(run, log_to="tensorboard")
    code, out, err = run_cli("eval", run, "--json")
    assert code == 0, err
    assert "evaluation logged to tensorboard" in err
    result = json.loads(out)
    ea = _events(run)
    for key in ("w2sq", "mmd"):
        assert _scalars(ea, f"final/{key}") == [(40, pytest.approx(result[key], rel=1e-6))]
    assert "evaluation/text_summary" in ea.Tags()["tensors"]


def test_a_failing_tracker_stops_the_run_naming_it(toy_run, tmp_path, monkeypatch):
    from vegan.track.tensorboard_tracker import TensorBoardTracker

    def broken(self, values, step):
        if step == 15:
            raise OSError("disk on fire")

    monkeypatch.setattr(TensorBoardTracker, "scalars", broken)
    run = tmp_path / "run"
    with pytest.raises(CallbackError) as info:
        toy_run(run, log_to="tensorboard")
    message = str(info.value)
    assert "callback 'tracker tensorboard' failed in on_log at step 15" in message
    assert "OSError: disk on fire" in message and "resume=True" in message  # the API's words
    assert "\n" not in message
    assert (checkpoint_dir(run) / "step-00000015.json").is_file()  # saved before stopping


@pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")
def test_under_torchrun_only_rank_0_logs(metrics_of, tmp_path):
    run = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
        "-m", "vegan", "train", "wae-mmd", "--data", "toy:8gaussians", "--out", str(run),
        "--steps", "20", "--no-progress", "--set", "batch_size=200", "--set", "log_every=5",
        "--set", "hidden=32",
        "--set", "log_to=tensorboard",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "VEGAN_DIST_TIMEOUT": "60"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((run / "run.json").read_text())["world_size"] == 2
    assert len(_event_files(run)) == 1  # one writer: rank 0's
    ea = _events(run)
    got = _scalars(ea, "autoencoder/loss")
    assert got == [(s, pytest.approx(v, rel=1e-6)) for s, v in metrics_of(run)["autoencoder/loss"]]
    assert [s for s, _ in got] == [5, 10, 15, 20]
