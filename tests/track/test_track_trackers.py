"""The tracker machinery, with a recording tracker (no tracking library needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from vegan.track import base
from vegan.track.base import Tracker, Trackers
from vegan.train import options as run_options
from vegan.train.callbacks import RunView
from vegan.train.checkpoint import checkpoint_dir
from vegan.train.options import tracker_names


class Recording(Tracker):
    """A tracker that writes down every call (its 'library' is a list)."""

    name = "tensorboard"  # stands in for a known name
    calls: list[tuple] = []

    def open(self, run_dir, step, state, for_evaluation=False):
        self.calls.append(("open", step, state, for_evaluation))
        return {"id": "run-1", "opened_at": step}

    def scalars(self, values, step):
        self.calls.append(("scalars", step, dict(values)))

    def images(self, pictures, step):
        assert all(Path(p).is_file() for p in pictures.values())
        self.calls.append(("images", step, sorted(pictures)))

    def hyperparameters(self, params):
        self.calls.append(("hyperparameters", dict(params)))

    def evaluation(self, metrics, table, result, step):
        self.calls.append(("evaluation", step, dict(metrics), table))

    def flush(self):
        self.calls.append(("flush",))

    def close(self, finished=True):
        self.calls.append(("close", finished))


@pytest.fixture
def recording(monkeypatch):
    """log_to=tensorboard makes a Recording tracker, whether TensorBoard is installed or not."""
    Recording.calls = []
    monkeypatch.setattr(run_options, "check_trackers", lambda names: None)
    monkeypatch.setattr(base, "check_trackers", lambda names: None)
    monkeypatch.setattr(base, "tracker_classes", lambda: {"tensorboard": Recording})
    return Recording.calls


def _kinds(calls, kind):
    return [c for c in calls if c[0] == kind]


def test_a_run_reaches_the_tracker(recording, toy_run, metrics_of, tmp_path):
    run = tmp_path / "run"
    toy_run(run, log_to="tensorboard", eval_every=1)
    assert recording[0] == ("open", 0, None, False)
    (hp,) = _kinds(recording, "hyperparameters")
    assert hp[1]["recipe"] == "wae-mmd" and hp[1]["sample_shape"] == "2"
    assert hp[1]["lam"] == json.loads((run / "run.json").read_text())["config"]["lam"]
    assert all(isinstance(v, bool | int | float | str) for v in hp[1].values())
    # Every number of metrics.jsonl, at its step, once.
    sent: dict[str, list] = {}
    for _, step, values in _kinds(recording, "scalars"):
        for key, value in values.items():
            sent.setdefault(key, []).append((step, value))
    assert sent == metrics_of(run)
    assert [s for s, _ in sent["eval/w2sq"]] == [20, 40]
    assert _kinds(recording, "images") == [
        ("images", 20, ["samples"]),
        ("images", 40, ["samples"]),
    ]
    assert len(_kinds(recording, "flush")) == 2  # a checkpoint at each epoch's end
    assert recording[-1] == ("close", True)
    assert json.loads((run / "trackers.json").read_text()) == {
        "tensorboard": {"id": "run-1", "opened_at": 0}
    }


def test_resume_reopens_the_same_tracker_run(recording, toy_run, tmp_path):
    run = tmp_path / "run"
    toy_run(run, log_to="tensorboard", checkpoint_every=10)
    for p in checkpoint_dir(run).glob("step-00000040.*"):
        p.unlink()
    recording.clear()
    toy_run(run, steps=50, log_to="tensorboard", checkpoint_every=10, resume=True)
    # Opened at the checkpoint's step with the state the first process kept.
    assert recording[0] == ("open", 30, {"id": "run-1", "opened_at": 0}, False)
    assert not _kinds(recording, "hyperparameters")  # logged once, by the first process
    steps = [
        step for _, step, values in _kinds(recording, "scalars") if "autoencoder/loss" in values
    ]
    assert steps == [35, 40, 45, 50]


def test_vegan_eval_logs_to_the_run_trackers(recording, toy_run, run_cli, tmp_path):
    run = tmp_path / "run"
    toy_run(run, log_to="tensorboard")
    recording.clear()
    code, out, err = run_cli("eval", run, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert recording[0] == ("open", 40, {"id": "run-1", "opened_at": 0}, True)
    (_, step, metrics, table) = _kinds(recording, "evaluation")[0]
    assert step == 40
    assert metrics["w2sq"] == result["w2sq"] and metrics["mmd"] == result["mmd"]
    assert "(`w2sq`)" in table
    assert recording[-1] == ("close", True)


def test_only_the_main_process_makes_trackers(recording, tmp_path):
    view = RunView(
        run_dir=tmp_path, model=None, config=None, options=run_options.RunOptions(
            steps=1, log_to="tensorboard"
        ), step=0, total=1, epoch=0.0, seconds=0.0, device=torch.device("cpu"),
        data=torch.zeros(1), is_main=False,
    )  # fmt: skip
    t = Trackers()
    t.on_start(view)
    t.on_log(view, {"step": 1, "gen/loss": 1.0})
    t.on_end(view)
    assert t.trackers == [] and recording == []
    assert not (tmp_path / "trackers.json").exists()


def test_log_to_names():
    assert tracker_names("TensorBoard, mlflow,tensorboard") == ["tensorboard", "mlflow"]
    assert tracker_names("") == []


@pytest.mark.parametrize(
    ("log_to", "missing", "message"),
    [
        (
            "tensorbaord",
            None,
            "unknown tracker 'tensorbaord' in log_to (did you mean 'tensorboard'?)",
        ),
        ("mlflow", "mlflow", "pip install 'vegan-cookbook[mlflow]'"),
        ("tensorboard,wandb", "wandb", "pip install 'vegan-cookbook[wandb]'"),
        ("tensorboard", "tensorboard", "log_to=tensorboard needs TensorBoard, which is not"),
    ],
)
def test_unknown_or_missing_tracker_is_one_line_and_writes_nothing(
    run_cli, tmp_path, monkeypatch, log_to, missing, message
):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == missing else (object() if name in
        run_options.TRACKERS else real(name, *a)),
    )  # fmt: skip
    monkeypatch.setenv("WANDB_MODE", "offline")
    out = tmp_path / "run"
    code, _, err = run_cli(
        "train", "wae-mmd", "--data", "toy:8gaussians", "--out", out, "--steps", "5",
        "--no-progress", "--set", f"log_to={log_to}",
    )  # fmt: skip
    assert code == 2
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
