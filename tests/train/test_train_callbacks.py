"""Callbacks: the order of their calls, what they see, the error path; progress off a terminal."""

from __future__ import annotations

import io
import json

import pytest

from vegan.train import api
from vegan.train.callbacks import Callback, CallbackError
from vegan.train.checkpoint import list_checkpoints
from vegan.train.loop import ProgressLines, _progress

#: 500 toy points in a file (400 train), batch 20: 20 steps an epoch; 40 steps, a line every 10.
RUN = {"steps": 40, "batch_size": 20, "hidden": 32, "log_every": 10, "progress": False}


@pytest.fixture
def toy(tmp_path) -> str:
    import numpy as np

    from vegan.data import sample_toy

    path = tmp_path / "toy.npy"
    np.save(path, sample_toy("8gaussians", 500, np.random.default_rng(0)))
    return str(path)


class Recorder(Callback):
    def __init__(self, name: str, calls: list, score: float | None = None) -> None:
        self.name, self.calls, self.score = name, calls, score

    def on_start(self, run):
        self.calls.append((self.name, "on_start", run.step))

    def on_log(self, run, record):
        keys = sorted(k for k in record if k.startswith("score/"))
        self.calls.append((self.name, "on_log", record["step"], *keys))

    def on_epoch_end(self, run):
        self.calls.append((self.name, "on_epoch_end", run.step, *sorted(run.pictures)))
        if self.score is not None:
            return {f"score/{self.name}": self.score}
        return None

    def on_checkpoint(self, run, path):
        self.calls.append((self.name, "on_checkpoint", run.step, path.name))

    def on_end(self, run):
        self.calls.append((self.name, "on_end", run.step))


def test_callbacks_are_called_in_order_and_see_the_pictures(toy, tmp_path):
    calls: list = []
    run = tmp_path / "run"
    api.fit(
        "wae-mmd",
        toy,
        run,
        callbacks=[Recorder("a", calls, score=2.5), Recorder("b", calls)],
        **RUN,
    )

    def epoch(step):
        pictures = (
            "samples",
        )  # drawn by the built-in callback before them (no reconstructions of 2-D data)
        return [
            ("a", "on_epoch_end", step, *pictures),
            ("a", "on_log", step, "score/a"),  # what a returned, logged before b's turn
            ("b", "on_log", step, "score/a"),
            ("b", "on_epoch_end", step, *pictures),
            ("a", "on_checkpoint", step, f"step-{step:08d}.json"),
            ("b", "on_checkpoint", step, f"step-{step:08d}.json"),
        ]

    def log(step):
        return [("a", "on_log", step), ("b", "on_log", step)]

    assert calls == [
        ("a", "on_start", 0),
        ("b", "on_start", 0),
        *log(10),
        *log(20),
        *epoch(20),
        *log(30),
        *log(40),
        *epoch(40),
        ("a", "on_end", 40),
        ("b", "on_end", 40),
    ]
    lines = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["score/a"]) for r in lines if "score/a" in r] == [(20, 2.5), (40, 2.5)]


class Boom(Callback):
    name = "boom"

    def on_log(self, run, record):
        if record["step"] == 30:
            raise ValueError("no more room\nsecond line")


def test_a_failing_callback_stops_the_run_after_a_checkpoint(toy, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(CallbackError) as info:
        api.fit("wae-mmd", toy, run, callbacks=[Boom()], **RUN)
    message = str(info.value)
    assert message == (
        f"callback 'boom' failed in on_log at step 30: ValueError: no more room; a checkpoint "
        f"is in '{run}'; fix the callback and continue with resume=True"
    )
    assert list_checkpoints(run)[-1].name == "step-00000030.json"
    _, result = api.fit("wae-mmd", toy, run, resume=True, **RUN)
    assert result.step == 40


def test_progress_lines_are_whole_lines():
    stream = io.StringIO()
    p = ProgressLines(100, 0, stream=stream, every=0.0)
    for _ in range(100):
        p.update(1)
        p.set_postfix({"autoencoder/loss": "0.0213"})
    p.close()
    p.close()  # once
    text = stream.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 100  # one per update before the last step, one on close
    assert lines[0].startswith("vegan: step 1/100 (1%), ")
    assert lines[-1].startswith("vegan: step 100/100 (100%), ")
    assert " left; autoencoder/loss 0.0213" in lines[-1]


def test_progress_lines_wait_their_period():
    stream = io.StringIO()
    p = ProgressLines(1000, 400, stream=stream, every=3600.0)
    for _ in range(600):
        p.update(1)
    p.close()
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("vegan: step 1000/1000 (100%)")


def test_a_file_gets_lines_a_terminal_a_bar(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert isinstance(_progress(10, 0, True), ProgressLines)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stderr", Terminal())
    bar = _progress(10, 0, True)
    assert not isinstance(bar, ProgressLines)
    bar.close()


def test_train_into_a_log_file_writes_no_partial_lines(run_cli, tmp_path):
    code, _, err = run_cli(
        "train", "wae-mmd", "--data", "toy:8gaussians", "--out", tmp_path / "run",
        "--steps", "20", "--set", "batch_size=100", "--set", "hidden=32",
    )  # fmt: skip
    assert code == 0, err
    assert "\r" not in err
    assert "vegan: step 20/20 (100%)" in err
