"""Divergence: an injected NaN is caught the step it appears, and the last checkpoint survives.

NaNs are injected two ways: a user decoder network (Python API) that returns
NaN, or whose gradient is NaN, from a chosen step on; and a data file with one
huge value (1e30, finite in float32) whose squared reconstruction error
overflows to inf the first time its row is in a batch (command line).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import vegan
from vegan.errors import DivergenceError, OutputError
from vegan.train.checkpoint import list_checkpoints, read_checkpoint

OPTS = {"progress": False, "samples_every": 0, "checkpoint_every": 3, "batch_size": 100}


class Breaks(torch.nn.Module):
    """A decoder network that turns bad on chosen calls.

    ``fit`` calls the decoder once to probe shapes, then once per training
    step (``ae``), so call ``step + 1`` is the one of training step ``step``.
    ``mode`` is ``"loss"`` (NaN outputs) or ``"grad"`` (finite outputs, NaN
    gradients).
    """

    def __init__(self, bad_steps: set[int], mode: str = "loss") -> None:
        super().__init__()
        torch.manual_seed(0)  # the same inner weights in every run of a test
        self.inner = torch.nn.Sequential(
            torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2)
        )
        self.calls, self.bad, self.mode = 0, {s + 1 for s in bad_steps}, mode

    def forward(self, z):
        self.calls += 1
        out = self.inner(z)
        if self.calls in self.bad and torch.is_grad_enabled():
            if self.mode == "loss":
                return out * float("nan")
            return _NaNGrad.apply(out)
        return out


class _NaNGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g * float("nan")


def _tensors(run, step):
    return load_file(run / "checkpoints" / f"step-{step:08d}.safetensors")


def _fit(run, breaks, steps=20, **kw):
    return vegan.fit(
        "ae", "toy:8gaussians", run, steps=steps, nets={"decoder": breaks}, **OPTS, **kw
    )


@pytest.mark.parametrize("mode", ["loss", "gradient"])
def test_nan_stops_the_run_at_its_step_naming_the_player(tmp_path, mode):
    run = tmp_path / "run"
    with pytest.raises(DivergenceError) as info:
        _fit(run, Breaks({8, 9, 10}, "loss" if mode == "loss" else "grad"))
    msg = str(info.value)
    assert f"non-finite {mode} in player 'autoencoder' at step 8;" in msg
    assert "the last good checkpoint (step-00000006) is intact" in msg
    assert "on_nan=rollback" in msg
    # Nothing after the bad step reached the disk, and the checkpoint still verifies ...
    assert [p.name for p in list_checkpoints(run)] == ["step-00000003.json", "step-00000006.json"]
    assert read_checkpoint(list_checkpoints(run)[-1]).step == 6
    # ... and holds exactly the state of a healthy run stopped at step 6.
    healthy = tmp_path / "healthy"
    _fit(healthy, Breaks(set()), steps=6)
    a, b = _tensors(run, 6), _tensors(healthy, 6)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.isfinite(v).all() for k, v in a.items() if v.is_floating_point())


def test_rollback_reloads_the_checkpoint_and_halves_the_learning_rate(tmp_path, capsys):
    run = tmp_path / "run"
    _, result = _fit(run, Breaks({8}), on_nan="rollback", log_every=1)
    assert result.step == 20
    out = capsys.readouterr().out
    assert "non-finite loss in player 'autoencoder'; rolled back to step 6" in out
    assert "learning rates x0.5" in out
    meta = json.loads(list_checkpoints(run)[-1].read_text())
    assert meta["lr_scale"] == 0.5 and meta["rollbacks"] == 1
    lines = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == list(range(1, 21))  # steps 7.. redone once
    lr = {r["step"]: r["autoencoder/lr"] for r in lines}
    assert lr[6] == pytest.approx(1e-3) and lr[7] == pytest.approx(5e-4)
    # The reloaded model is that of step 6, which then trains on.
    assert read_checkpoint(list_checkpoints(run)[-1]).step == 20


def test_rollback_gives_up_after_three_tries(tmp_path, capsys):
    run = tmp_path / "run"
    # Bad from step 8 on (after a rollback the redone steps stay bad): three rollbacks, then stop.
    with pytest.raises(DivergenceError, match=r"at step 7;.*gave up after 3 rollbacks"):
        _fit(run, Breaks(set(range(8, 100))), on_nan="rollback")
    assert capsys.readouterr().out.count("rolled back to step 6") == 3
    assert read_checkpoint(list_checkpoints(run)[-1]).step == 6


def test_rollback_without_a_checkpoint_says_so(tmp_path):
    with pytest.raises(DivergenceError, match=r"at step 2;.*no checkpoint to roll back to"):
        _fit(tmp_path / "run", Breaks({2}), on_nan="rollback")


def test_huge_value_in_the_data_overflows_at_the_step_its_row_is_drawn(run_cli, tmp_path):
    # 400 of the 500 rows are in the train split (every fifth row is held out);
    # batch 50 gives 8 steps per epoch, batches in the order of the seeded permutation.
    seed, batch, first_bad = 4, 50, 5  # the huge row is drawn in batch index 5: step 6
    perm = torch.randperm(400, generator=torch.Generator().manual_seed(seed))
    t = int(perm[first_bad * batch])  # its index in the train split
    row = t + t // 4  # its index in the file
    x = np.random.default_rng(0).normal(size=(500, 2)).astype(np.float32)
    x[row] = 1e30  # finite in float32; its square is not
    np.save(tmp_path / "x.npy", x)
    run = tmp_path / "run"
    code, _, err = run_cli(
        "train", "ae", "--data", tmp_path / "x.npy", "--out", run, "--steps", "40",
        "--seed", seed, "--set", f"batch_size={batch}", "--set", "checkpoint_every=2",
        "--set", "samples_every=0", "--no-progress",
    )  # fmt: skip
    assert code == 2
    assert err.strip().splitlines() == [
        "vegan: error: non-finite loss in player 'autoencoder' at step 6; the last good "
        "checkpoint (step-00000004) is intact; lower the learning rate or set on_nan=rollback"
    ]
    assert read_checkpoint(list_checkpoints(run)[-1]).step == 4


def test_a_full_disk_while_logging_is_a_clear_error(tmp_path, monkeypatch):
    import vegan.train.metricslog as metricslog

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(metricslog, "open", full, raising=False)
    with pytest.raises(OutputError, match=r"metrics.jsonl': No space left on device; free"):
        vegan.fit("ae", "toy:8gaussians", tmp_path / "run", steps=5, log_every=2, **OPTS)


def test_a_corrupted_metrics_log_does_not_stop_a_resume(tmp_path):
    run = tmp_path / "run"
    vegan.fit("ae", "toy:8gaussians", run, steps=6, log_every=1, **OPTS)
    with open(run / "metrics.jsonl", "ab") as fh:
        fh.write(b'{"step": "seven"}\n[1, 2]\n\xff\xfe garbage\n{"step": 9, "torn')
    vegan.fit("ae", "toy:8gaussians", run, steps=8, log_every=1, resume=True, **OPTS)
    steps = [json.loads(s)["step"] for s in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 9))
