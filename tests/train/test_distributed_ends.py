"""Every way a distributed run ends leaves each rank a clear status and a resumable folder.

Ranks are started by hand (``start_ranks``) so that each rank's own exit
status and stderr are seen; torchrun's forwarding of signals is checked
separately. No rank may die of a signal (SIGABRT from gloo's threads at
interpreter shutdown was the failure seen under load).
"""

from __future__ import annotations

import signal
import textwrap
import time

import numpy as np
import pytest
import torch

from vegan.train.checkpoint import list_checkpoints, read_checkpoint

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch.distributed is not available"
)

OPTS = [
    "--seed", "1", "--no-progress", "--set", "samples_every=0", "--set", "hidden=64",
    "--set", "log_every=2", "--set", "checkpoint_every=4",
]  # fmt: skip
TRAIN = ["-m", "vegan", "train", "ae", "--data", "toy:8gaussians", *OPTS]

#: What a rank may never print: an abort, a crash report, a Python traceback.
CRASH = ("terminate called", "Fatal Python error", "Traceback", "Segmentation fault")


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and "Warning" not in line]


def _no_crash(ranks) -> None:
    for r in range(len(ranks.procs)):
        err = ranks.stderr(r)
        assert not any(c in err for c in CRASH), ranks.report()


def _wait_for_log(run, ranks, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not (run / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.2)
    assert (run / "metrics.jsonl").exists(), "training never started\n" + ranks.report()


def _resumes(run_cli, run, steps: int, *extra: str) -> None:
    code, out, err = run_cli(
        "train", "ae", "--data", "toy:8gaussians", *OPTS, "--out", run, "--steps", steps,
        "--resume", *extra,
    )  # fmt: skip
    assert code == 0, err
    assert read_checkpoint(list_checkpoints(run)[-1]).step == steps


def test_normal_end(start_ranks, tmp_path, run_cli):
    run = tmp_path / "run"
    ranks = start_ranks(*TRAIN, "--out", run, "--steps", "6")
    assert ranks.wait() == [0, 0], ranks.report()
    _no_crash(ranks)
    assert _lines(ranks.stderr(0)) == _lines(ranks.stderr(1)) == []
    _resumes(run_cli, run, 8)


def test_time_budget_ends_every_rank_at_the_same_step(start_ranks, tmp_path, run_cli):
    run = tmp_path / "run"
    ranks = start_ranks(*TRAIN, "--out", run, "--steps", "1000000", "--set", "time_budget=2")
    assert ranks.wait() == [0, 0], ranks.report()
    _no_crash(ranks)
    step = read_checkpoint(list_checkpoints(run)[-1]).step
    assert 0 < step < 1000000
    _resumes(run_cli, run, step + 2, "--set", "time_budget=0")  # the budget was spent


@pytest.mark.parametrize(
    ("sig", "who"),
    [(signal.SIGINT, "all"), (signal.SIGTERM, "all"), (signal.SIGTERM, "one"),
     (signal.SIGINT, "twice")],
)  # fmt: skip
def test_a_signal_stops_every_rank_with_a_checkpoint(start_ranks, tmp_path, run_cli, sig, who):
    # "all": Ctrl-C in a terminal or a scheduler's SIGTERM reaches every rank;
    # "one": a signal to one rank only (the ranks agree to stop at the same step);
    # "twice": every rank gets the signal twice (a terminal's and torchrun's copy).
    run = tmp_path / "run"
    ranks = start_ranks(*TRAIN, "--out", run, "--steps", "1000000")
    _wait_for_log(run, ranks)
    targets = ranks.procs[1:] if who == "one" else ranks.procs
    for _ in range(2 if who == "twice" else 1):
        for p in targets:
            p.send_signal(sig)
        time.sleep(0.05)
    assert ranks.wait() == [130, 130], ranks.report()
    _no_crash(ranks)
    for r in (0, 1):
        (line,) = _lines(ranks.stderr(r))
        assert line.startswith("vegan: training interrupted at step "), ranks.report()
        assert line.endswith("continue with the same command and --resume")
    step = read_checkpoint(list_checkpoints(run)[-1]).step
    assert f"at step {step}/" in ranks.stderr(0)
    _resumes(run_cli, run, step + 2)


def test_a_non_finite_loss_stops_every_rank_at_the_same_step(start_ranks, tmp_path, run_cli):
    # One row overflows (1e30 squared); the rank whose shard holds it sees a
    # non-finite loss, the other a non-finite averaged gradient: both stop.
    x = np.random.default_rng(0).normal(size=(500, 2)).astype(np.float32)
    x[:, :] = np.clip(x, -3, 3)
    x[7] = 1e30
    np.save(tmp_path / "x.npy", x)
    run = tmp_path / "run"
    args = [a if a != "toy:8gaussians" else str(tmp_path / "x.npy") for a in TRAIN]
    ranks = start_ranks(*args, "--out", run, "--steps", "200", "--set", "batch_size=50")
    assert ranks.wait() == [2, 2], ranks.report()
    _no_crash(ranks)
    lines = [_lines(ranks.stderr(r)) for r in (0, 1)]
    assert all(len(ls) == 1 and ls[0].startswith("vegan: error: non-finite ") for ls in lines)
    at = {ls[0].split(" at step ")[1].split(";")[0] for ls in lines}
    assert len(at) == 1, lines  # the same step on both ranks
    assert "'autoencoder'" in lines[0][0]


USER_SCRIPT = """
import sys
from vegan.errors import DataError
import vegan.train.loop as loop

_step = loop.Trainer.train_step

def train_step(self):
    if self.dist.rank == 1 and self.step == 5:
        raise DataError("rank 1 could not read its batch (injected)")
    return _step(self)

loop.Trainer.train_step = train_step
from vegan.cli import main
sys.exit(main())
"""


def test_an_error_on_one_rank_stops_both_with_clear_lines(start_ranks, tmp_path, run_cli):
    script = tmp_path / "inject.py"
    script.write_text(textwrap.dedent(USER_SCRIPT))
    run = tmp_path / "run"
    ranks = start_ranks(str(script), *TRAIN[2:], "--out", run, "--steps", "40")
    assert ranks.wait() == [2, 2], ranks.report()
    _no_crash(ranks)
    assert _lines(ranks.stderr(1)) == [
        "vegan: error: rank 1 could not read its batch (injected)"
    ], ranks.report()
    (line,) = _lines(ranks.stderr(0))
    assert line.startswith("vegan: error: rank 0: a collective failed"), ranks.report()
    assert line.endswith("resume with --resume")
    assert read_checkpoint(list_checkpoints(run)[-1]).step == 4
    _resumes(run_cli, run, 8)


def test_torchrun_forwards_sigterm_and_the_run_resumes(tmp_path, run_cli):
    # The launcher receives SIGTERM (a scheduler's preemption): it forwards the
    # signal, every rank writes its line and ends with status 130, none aborts.
    import os
    import subprocess
    import sys

    run, logs = tmp_path / "run", tmp_path / "logs"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
        "--log-dir", str(logs), "--tee", "3", *TRAIN, "--out", str(run), "--steps", "1000000",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "VEGAN_DIST_TIMEOUT": "60"}
    launcher = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while not (run / "metrics.jsonl").exists() and time.time() < deadline:
            time.sleep(0.2)
        launcher.send_signal(signal.SIGTERM)
        _, err = launcher.communicate(timeout=120)
    finally:
        launcher.kill()
    ranks = [sorted(logs.glob(f"**/attempt_*/{r}/stderr.log")) for r in (0, 1)]
    texts = [r[-1].read_text(errors="replace") if r else "" for r in ranks]
    report = err.decode(errors="replace")[-2000:] + "".join(f"\n--- rank:\n{t}" for t in texts)
    assert not any(c in t for t in texts for c in CRASH), report
    assert "SIGABRT" not in err.decode(errors="replace"), report
    for t in texts:
        assert "vegan: training interrupted at step " in t, report
    step = read_checkpoint(list_checkpoints(run)[-1]).step
    _resumes(run_cli, run, step + 2)
