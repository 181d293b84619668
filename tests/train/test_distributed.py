"""Data-parallel training with torch.distributed (gloo, 2 processes on this CPU)."""

from __future__ import annotations

import signal
import time

import pytest
import torch
from safetensors.torch import load_file

from vegan.train.checkpoint import list_checkpoints

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch.distributed is not available"
)
# The bare recipe defaults (no data-family preset): the tolerances below were measured with them.
BASE = [
    "--data", "toy:8gaussians", "--seed", "1", "--no-progress", "--set", "samples_every=0",
    "--preset", "none",
]  # fmt: skip


def _weights(run):
    path = list_checkpoints(run)[-1]
    return load_file(path.with_suffix(".safetensors"))


def _max_diff(a, b) -> float:
    keys = [k for k in a if k.startswith("model/")]
    return max((a[k].double() - b[k].double()).abs().max().item() for k in keys)


@pytest.mark.parametrize(
    ("recipe", "steps", "tol"),
    [
        # wae-mmd: the MMD penalty is computed on codes gathered from both ranks.
        # Float-order differences grow with Adam steps at a rate that depends on
        # the CPU's kernels (an Intel Xeon: 1.4e-7 after 1 step, 4.6e-7 after 10,
        # 3.9e-6 after 20, 2.4e-4 after 40), so the comparison stops at 10 steps;
        # a wrong penalty or gradient average differs by > 1e-3 after one step.
        ("wae-mmd", 10, 1e-5),
        # wgan-gp: Adam with beta1 = 0 turns float noise in near-zero gradients into
        # lr-sized steps after a few iterations, so the comparison is kept short
        # (3 generator and 15 critic steps; measured difference 6e-8).
        ("wgan-gp", 3, 1e-5),
    ],
)
def test_two_processes_match_one_process_with_the_global_batch(
    run_cli, torchrun, tmp_path, recipe, steps, tol
):
    batch = ["--set", "batch_size=64"]
    two = torchrun("train", recipe, *BASE, *batch, "--out", tmp_path / "two", "--steps", steps)
    assert two.returncode == 0, two.report()
    code, _, err = run_cli(
        "train", recipe, *BASE, *batch, "--out", tmp_path / "one", "--steps", steps
    )
    assert code == 0, err
    a, b = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    assert a.keys() == b.keys()
    assert _max_diff(a, b) < tol


def test_checkpoint_written_once_and_resumable_by_two_or_one_process(run_cli, torchrun, tmp_path):
    run = tmp_path / "run"
    first = torchrun(
        "train", "wae-mmd", *BASE, "--out", run, "--steps", "10", "--set", "checkpoint_every=5"
    )
    assert first.returncode == 0, first.report()
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == [
        "step-00000005.json",
        "step-00000005.safetensors",
        "step-00000010.json",
        "step-00000010.safetensors",
    ]
    assert sum(1 for _ in (run / "metrics.jsonl").read_text().splitlines()) >= 1
    import shutil

    shutil.copytree(run, tmp_path / "copy")
    again = torchrun("train", "wae-mmd", *BASE, "--out", run, "--steps", "20", "--resume")
    assert again.returncode == 0, again.report()
    code, _, err = run_cli(
        "train", "wae-mmd", *BASE, "--out", tmp_path / "copy", "--steps", "20", "--resume"
    )
    assert code == 0, err
    assert list_checkpoints(run)[-1].name == list_checkpoints(tmp_path / "copy")[-1].name
    assert _max_diff(_weights(run), _weights(tmp_path / "copy")) < 1e-4


def test_a_dead_rank_stops_the_run_with_a_clear_error(start_ranks, tmp_path):
    # Two processes started by hand (no torchrun to clean up): kill rank 1 and
    # rank 0 must stop with an error naming the failed collective, not hang.
    run = tmp_path / "run"
    ranks = start_ranks(
        "-m", "vegan", "train", "wae-mmd", *BASE, "--out", run, "--steps", "100000",
        VEGAN_DIST_TIMEOUT="30",
    )  # fmt: skip
    deadline = time.time() + 120
    while not (run / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.5)
    assert (run / "metrics.jsonl").exists(), "training never started\n" + ranks.report()
    ranks.procs[1].send_signal(signal.SIGKILL)
    try:
        code = ranks.procs[0].wait(timeout=120)
    finally:
        ranks.kill()
    err = ranks.stderr(0)
    assert code == 2, ranks.report()
    assert "collective failed" in err and "resume" in err
    assert "Traceback" not in err


def test_sampling_is_sharded_and_equals_one_process(run_cli, torchrun, tmp_path):
    run = tmp_path / "run"
    assert run_cli("train", "ae", *BASE, "--out", run, "--steps", "5")[0] == 0
    two = torchrun("sample", run, "--count", "1001", "--noise", "no", "--out", tmp_path / "b.npy")
    assert two.returncode == 0, two.report()
    assert (
        run_cli("sample", run, "--n", "1001", "--noise", "no", "--out", tmp_path / "a.npy")[0] == 0
    )
    import numpy as np

    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.shape == b.shape == (1001, 2)
    assert np.abs(a - b).max() < 1e-5
