"""Crashes and resume: SIGKILL at random moments, SIGINT, and bit-identical results.

A training run (``python -m vegan train``) runs in a subprocess and is killed
with SIGKILL again and again; after each kill every checkpoint on disk must
verify, and ``--resume`` must continue the run. At the end the parameters (and
optimizer state) equal those of a run that was never interrupted, bit for bit.

How the kill moments are chosen (a seeded ``random.Random``):

* ``setup``: as soon as the run folder appears (while ``run.json`` is written);
* ``write``: as soon as the temporary tensor file of the k-th new checkpoint
  of this life is created in ``checkpoints/`` (k drawn in 2..3, so every
  life makes progress). The creation is seen through Linux inotify (the
  kernel queues the event, so none is missed). A checkpoint write (tensor
  file, fsync, rename, JSON, fsync, rename, pruning) takes about 30 ms here;
  a kill inside it leaves evidence on disk: a temporary file (an atomic write
  renames or removes it otherwise), a tensor file without its JSON, or one
  checkpoint more than ``keep_checkpoints``. The test counts the kills with
  such evidence and requires at least one;
* ``random``: once this life has written a checkpoint, after a uniform delay
  in [0, 0.15] s (anywhere in a step, a log line or a checkpoint write).
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from vegan.train.checkpoint import list_checkpoints, read_checkpoint

OPTS = [
    "--data",
    "toy:8gaussians",
    "--seed",
    "5",
    "--no-progress",
    "--set",
    "hidden=128",
    "--set",
    "samples_every=0",
    "--set",
    "checkpoint_every=3",
    "--set",
    "log_every=5",
]


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _start(run: Path, steps: int, logs: Path, tag: str, resume: bool = True) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "vegan", "train", "ae", *OPTS, "--out", str(run)]
    cmd += ["--steps", str(steps)] + (["--resume"] if resume else [])
    logs.mkdir(exist_ok=True)
    out = open(logs / f"{tag}.out", "w")  # noqa: SIM115 - closed by the caller via proc
    err = open(logs / f"{tag}.err", "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=_env())
    proc._logs = (out, err)  # type: ignore[attr-defined]
    return proc


def _finish(proc: subprocess.Popen, timeout: float = 240) -> int:
    try:
        return proc.wait(timeout=timeout)
    finally:
        for fh in proc._logs:  # type: ignore[attr-defined]
            fh.close()


def _final_tensors(run: Path) -> tuple[int, dict[str, torch.Tensor]]:
    path = list_checkpoints(run)[-1]
    meta = json.loads(path.read_text())
    return meta["step"], load_file(path.parent / meta["tensors"])


def _temp_files(cdir: Path) -> set[str]:
    try:
        return {n for n in os.listdir(cdir) if n.startswith(".") and n.endswith(".tmp")}
    except FileNotFoundError:
        return set()


def _newest_step(cdir: Path) -> int:
    """Step of the newest committed checkpoint (-1 when none)."""
    try:
        names = [n for n in os.listdir(cdir) if n.endswith(".json") and n.startswith("step-")]
    except FileNotFoundError:
        return -1
    return max((int(n[5:-5]) for n in names), default=-1)


def _wait_for(cond, proc: subprocess.Popen, limit: float = 120.0, poll: float = 0.001) -> bool:
    """Poll ``cond()`` until it holds (True) or the process ends (False); ``poll=0`` spins."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return True
        if proc.poll() is not None:
            return False
        if poll:
            time.sleep(poll)
    raise AssertionError("the training process made no progress for 2 minutes")


class _Inotify:
    """Names of files created in one folder, from Linux inotify (ctypes, no dependency)."""

    IN_CREATE = 0x100

    def __init__(self, folder: Path) -> None:
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK)
        if (
            self.fd < 0
            or self.libc.inotify_add_watch(self.fd, str(folder).encode(), self.IN_CREATE) < 0
        ):
            raise OSError(ctypes.get_errno(), "inotify is not available")

    def created(self, timeout: float) -> list[str]:
        if not select.select([self.fd], [], [], timeout)[0]:
            return []
        data, names, i = os.read(self.fd, 65536), [], 0
        while i + 16 <= len(data):
            _, _, _, size = struct.unpack_from("iIII", data, i)
            names.append(data[i + 16 : i + 16 + size].rstrip(b"\0").decode())
            i += 16 + size
        return names

    def close(self) -> None:
        os.close(self.fd)


def _wait_for_writes(cdir: Path, k: int, proc: subprocess.Popen) -> bool:
    """Block until the k-th checkpoint tensor file of this life starts being written."""
    if not _wait_for(cdir.is_dir, proc):
        return False
    watch, seen = _Inotify(cdir), 0
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            for name in watch.created(0.05):
                seen += name.startswith(".step-") and ".safetensors." in name
            if seen >= k:
                return True
            if proc.poll() is not None:
                return False
    finally:
        watch.close()
    raise AssertionError("the training process wrote no checkpoint for 2 minutes")


def _torn_write(cdir: Path, before_tmp: set[str]) -> str:
    """What shows that the kill cut a checkpoint write short ("" when nothing does).

    A checkpoint write is: tensor file to a temporary file, fsync, rename; JSON
    likewise; then pruning of old checkpoints. A kill inside it leaves a
    temporary file, a tensor file without its JSON, or one checkpoint too many.
    """
    if _temp_files(cdir) - before_tmp:
        return "temporary file left"
    tensors = {p.stem for p in cdir.glob("step-*.safetensors")}
    if tensors - {p.stem for p in cdir.glob("step-*.json")}:
        return "tensor file without its JSON"
    if len(list_checkpoints(cdir.parent)) > 2:  # keep_checkpoints = 2
        return "not yet pruned"
    return ""


def _verify_all_checkpoints(run: Path) -> int:
    """Every checkpoint that is on disk (its JSON, the commit marker) verifies and loads."""
    paths = list_checkpoints(run)
    for p in paths:
        c = read_checkpoint(p)  # sha256 of the tensor file, header, offsets
        assert c.step == int(p.stem.split("-")[1])
        assert any(k.startswith("model/") for k in c.tensors)
    return len(paths)


#: Write kills added at the end while none has cut a checkpoint write short.
EXTRA_WRITE_KILLS = 8


def kill_and_resume(tmp_path: Path, n_kills: int, seed: int, total: int) -> dict:
    """Kill a run ``n_kills`` times, resuming each time; returns what happened."""
    rng = random.Random(seed)
    run, logs = tmp_path / "run", tmp_path / "logs"
    cdir = run / "checkpoints"
    ref_dir = tmp_path / "reference"
    reference = _start(ref_dir, total, logs, "reference", resume=False)  # runs alongside
    n_write = max(3, n_kills // 3)
    modes = ["write"] * n_write + ["random"] * (n_kills - 1 - n_write)
    rng.shuffle(modes)
    modes = ["setup", *modes]
    kills, mid_write, kinds, life = 0, 0, [], 0
    # A kill aimed at a write lands inside it unless this process is scheduled too
    # late (a loaded machine): then more write kills follow, up to EXTRA_WRITE_KILLS.
    while kills < n_kills or (mid_write == 0 and kills < n_kills + EXTRA_WRITE_KILLS):
        mode = modes[kills] if kills < n_kills else "write"
        before_tmp, before_step = _temp_files(cdir), _newest_step(cdir)
        # The first life starts the run: --resume on a folder that does not exist is an error.
        proc = _start(run, total, logs, f"life-{life}", resume=life > 0)
        life += 1
        if mode == "setup":
            alive = _wait_for(run.exists, proc, poll=0)
        elif mode == "write":
            alive = _wait_for_writes(cdir, rng.randint(2, 3), proc)
        else:
            alive = _wait_for(lambda b=before_step: _newest_step(cdir) > b, proc)
            if alive:
                time.sleep(rng.uniform(0.0, 0.15))
        if not alive or proc.poll() is not None:
            _finish(proc)
            raise AssertionError(
                f"the run ended before kill {kills + 1} ({mode}); raise the total steps; "
                f"so far: {kinds}"
            )
        proc.send_signal(signal.SIGKILL)
        assert _finish(proc) == -signal.SIGKILL
        kills += 1
        torn = _torn_write(cdir, before_tmp)
        mid_write += bool(torn)
        _verify_all_checkpoints(run)
        last = list_checkpoints(run)
        kinds.append(
            f"{mode}{f' (during a checkpoint write: {torn})' if torn else ''} "
            f"@{last[-1].stem if last else '-'}"
        )
    # The last life runs to the end.
    proc = _start(run, total, logs, "final")
    code = _finish(proc)
    assert code == 0, (logs / "final.err").read_text()
    assert _finish(reference) == 0, (logs / "reference.err").read_text()
    return {"kills": kills, "mid_write": mid_write, "kinds": kinds, "run": run, "ref": ref_dir}


def _check_result(res: dict, total: int) -> None:
    run, ref = res["run"], res["ref"]
    assert _verify_all_checkpoints(run) >= 1
    (s1, t1), (s2, t2) = _final_tensors(ref), _final_tensors(run)
    assert s1 == s2 == total
    assert t1.keys() == t2.keys() and any(k.startswith("optim/") for k in t1)
    for key in t1:
        assert torch.equal(t1[key], t2[key]), f"{key} differs from the uninterrupted run"
    # Each logged step appears once, in order, after all the kills.
    steps = [json.loads(s)["step"] for s in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == total
    # No debris: killed writes leave temporary files; the finished run cleaned them up.
    assert not _temp_files(run / "checkpoints"), sorted(_temp_files(run / "checkpoints"))
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.slow  # a minute; the SIGINT and resume tests cover the default run
def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path):
    total = 240
    res = kill_and_resume(tmp_path, n_kills=6, seed=20240917, total=total)
    assert res["kills"] >= 6
    assert res["mid_write"] >= 1, res["kinds"]
    _check_result(res, total)


@pytest.mark.slow
def test_sigkill_many_times_slow(tmp_path):
    total = 600
    res = kill_and_resume(tmp_path, n_kills=30, seed=7, total=total)
    assert res["mid_write"] >= 3, res["kinds"]
    _check_result(res, total)


def test_sigint_writes_a_checkpoint_and_resume_finishes_identically(tmp_path, run_cli):
    total = 90
    run, logs = tmp_path / "run", tmp_path / "logs"
    proc = _start(run, total, logs, "interrupted", resume=False)
    # Interrupt once training is under way (the first checkpoint is on disk), at
    # once: a run left alone could reach its end first on a loaded machine, and a
    # SIGINT after training (no handler then) is not what this test is about.
    assert _wait_for(lambda: _newest_step(run / "checkpoints") >= 0, proc)
    proc.send_signal(signal.SIGINT)
    code = _finish(proc)
    # The uninterrupted reference, trained afterwards in this process.
    ref = tmp_path / "reference"
    ref_code, _, ref_err = run_cli("train", "ae", *OPTS, "--out", ref, "--steps", total)
    assert ref_code == 0, ref_err
    err = (logs / "interrupted.err").read_text()
    assert code == 130, err
    assert "Traceback" not in err
    assert "interrupted at step" in err and "--resume" in err
    step = read_checkpoint(list_checkpoints(run)[-1]).step
    assert f"interrupted at step {step}/{total}" in err  # the checkpoint is of that step
    assert 0 < step < total
    proc = _start(run, total, logs, "resumed")
    assert _finish(proc) == 0, (logs / "resumed.err").read_text()
    (s1, t1), (s2, t2) = _final_tensors(ref), _final_tensors(run)
    assert s1 == s2 == total
    for key in t1:
        assert torch.equal(t1[key], t2[key]), key


# Deterministic versions of what a kill can leave behind (each one a bug found above).

TINY = ["--data", "toy:8gaussians", "--no-progress", "--set", "samples_every=0"]


def test_kill_during_run_creation_leaves_a_resumable_folder(run_cli, tmp_path):
    # Killed while run.json was being written: only its temporary file exists.
    run = tmp_path / "run"
    run.mkdir()
    (run / ".run.json.k2j4x9_a.tmp").write_text('{"format": "vegan-')
    code, _, err = run_cli("train", "ae", *TINY, "--out", run, "--steps", "3", "--resume")
    assert code == 0, err
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []
    # The same debris does not block a plain new run either.
    other = tmp_path / "other"
    other.mkdir()
    (other / ".run.json.abcdefgh.tmp").write_text("")
    assert run_cli("train", "ae", *TINY, "--out", other, "--steps", "3")[0] == 0


def test_a_user_folder_with_other_hidden_files_is_still_refused(run_cli, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / ".notes.abcdefgh.tmp").write_text("precious")
    code, _, err = run_cli("train", "ae", *TINY, "--out", mine, "--steps", "3", "--overwrite")
    assert code == 2 and "not a vegan run" in err
    assert (mine / ".notes.abcdefgh.tmp").read_text() == "precious"


def test_overwrite_cut_short_leaves_a_vegan_run(run_cli, tmp_path, monkeypatch):
    import shutil

    run = tmp_path / "run"
    assert run_cli("train", "ae", *TINY, "--out", run, "--steps", "3")[0] == 0
    calls = []
    real_unlink, real_rmtree = Path.unlink, shutil.rmtree

    def unlink(self, *a, **k):
        calls.append(self.name)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the kill, after one file is gone
        return real_unlink(self, *a, **k)

    def rmtree(path, *a, **k):
        calls.append(Path(path).name)
        return real_rmtree(path, *a, **k)

    monkeypatch.setattr(Path, "unlink", unlink)
    monkeypatch.setattr(shutil, "rmtree", rmtree)
    code, _, _ = run_cli("train", "ae", *TINY, "--out", run, "--steps", "3", "--overwrite")
    monkeypatch.undo()
    assert code == 130 and len(calls) == 2
    assert (run / "run.json").is_file()  # run.json goes last: still a vegan run
    code, _, err = run_cli("train", "ae", *TINY, "--out", run, "--steps", "3", "--overwrite")
    assert code == 0, err


def test_debris_of_killed_checkpoint_writes_is_removed(run_cli, tmp_path):
    run = tmp_path / "run"
    opts = [*TINY, "--out", run, "--set", "checkpoint_every=2"]
    assert run_cli("train", "ae", *opts, "--steps", "4")[0] == 0
    cdir = run / "checkpoints"
    (cdir / ".step-00000006.safetensors.a1b2c3d4.tmp").write_bytes(b"\0" * 64)
    (cdir / ".step-00000006.json.a1b2c3d4.tmp").write_text("{")
    (cdir / "step-00000006.safetensors").write_bytes(b"\0" * 64)  # renamed, JSON never came
    (run / ".metrics.jsonl.zzzzzzzz.tmp").write_text("")
    (cdir / "notes.txt").write_text("mine")  # not vegan's: kept
    assert run_cli("train", "ae", *opts, "--steps", "8", "--resume")[0] == 0
    names = sorted(p.name for p in cdir.iterdir())
    assert names == [
        "notes.txt",
        "step-00000006.json",
        "step-00000006.safetensors",
        "step-00000008.json",
        "step-00000008.safetensors",
    ]
    assert read_checkpoint(cdir / "step-00000006.json").step == 6  # rewritten, valid
    assert not list(run.glob(".*.tmp"))


def test_a_rank_dying_during_the_gathered_backward_is_a_clear_error(monkeypatch):
    # Found by killing a rank of a distributed WAE-MMD run: the all-reduce in the
    # backward pass of the gathered codes raised a bare RuntimeError (a traceback).
    from types import SimpleNamespace

    import torch.distributed as dist

    from vegan.parallel import DistributedError, _GatherWithGrad

    def all_reduce(*a, **k):
        raise RuntimeError("Connection reset by peer")

    monkeypatch.setattr(dist, "all_reduce", all_reduce)
    ctx = SimpleNamespace(rank=0, n=2)
    with pytest.raises(DistributedError, match="a collective failed .*resume"):
        _GatherWithGrad.backward(ctx, torch.ones(4, 2))
