"""Shared test fixtures: the CLI in-process, and launchers for distributed tests.

A failing distributed test shows what every rank printed (its own stderr
file), not only the tail of torchrun's report, which hides the rank's own
message (a SIGABRT's "terminate called ..." or a Python traceback).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# The cores are shared among xdist's workers (and inherited by the subprocesses
# and torchrun ranks the tests start): no worker spins on another's core. Set
# before torch is imported, so torch and vegan's thread policy both see it.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _cores() // max(1, _workers))))


@pytest.fixture
def run_cli(capsys):
    """Run ``vegan ARGS...`` in-process; returns (exit code, stdout, stderr)."""
    from vegan.cli import main

    def _run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def dist_env(**extra: str) -> dict:
    """Environment of a rank: one thread, a short collective timeout, faulthandler on."""
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "VEGAN_DIST_TIMEOUT": "60",
        "PYTHONFAULTHANDLER": "1",
        **extra,
    }


@dataclass
class Launched:
    """A finished launch: exit status, torchrun's stderr, and each rank's stderr."""

    returncode: int
    stdout: str
    stderr: str
    rank_stderr: list[str]

    def report(self) -> str:
        parts = [
            f"exit status {self.returncode}",
            "--- launcher stderr (tail):",
            self.stderr[-1500:],
        ]
        for r, text in enumerate(self.rank_stderr):
            parts += [f"--- rank {r} stderr:", text[-3000:]]
        return "\n".join(parts)


@pytest.fixture
def torchrun(tmp_path):
    """Run ``python -m vegan ARGS`` (or ``python SCRIPT ARGS``) under ``torchrun --standalone``.

    Each rank's stderr is kept in a file and shown by :meth:`Launched.report`.
    """
    count = [0]

    def _run(
        *args: str, nproc: int = 2, timeout: float = 240, script: Path | None = None
    ) -> Launched:
        count[0] += 1
        logs = tmp_path / f"torchrun-logs-{count[0]}"
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={nproc}",
            "--standalone",  # torchrun picks a free port itself (no race between tests)
            "--log-dir",
            str(logs),
            "--tee",
            "3",  # each rank's stdout and stderr to the console and to a file
            *(["-m", "vegan"] if script is None else [str(script)]),
            *map(str, args),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, env=dist_env(), timeout=timeout)
        ranks = []
        for r in range(nproc):
            found = sorted(logs.glob(f"**/attempt_*/{r}/stderr.log"))
            ranks.append(found[-1].read_text(errors="replace") if found else "(no log)")
        return Launched(done.returncode, done.stdout, done.stderr, ranks)

    return _run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Ranks:
    """Rank processes started by hand (no torchrun between them and the test)."""

    procs: list[subprocess.Popen]
    err_files: list[Path]

    def wait(self, timeout: float = 180) -> list[int]:
        try:
            return [p.wait(timeout=timeout) for p in self.procs]
        finally:
            self.kill()

    def kill(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def stderr(self, r: int) -> str:
        return self.err_files[r].read_text(errors="replace")

    def report(self) -> str:
        return "\n".join(
            f"--- rank {r} (exit {p.poll()}) stderr:\n{self.stderr(r)[-3000:]}"
            for r, p in enumerate(self.procs)
        )


@pytest.fixture
def start_ranks(tmp_path):
    """Start ``world`` processes running ``python ARGS`` as ranks of one group (by hand)."""
    started: list[Ranks] = []
    count = [0]

    def _start(*args: str, world: int = 2, **env: str) -> Ranks:
        count[0] += 1
        port = str(free_port())
        procs, errs = [], []
        for rank in range(world):
            out = tmp_path / f"ranks-{count[0]}-{rank}.out"
            err = tmp_path / f"ranks-{count[0]}-{rank}.err"
            e = dist_env(
                WORLD_SIZE=str(world),
                RANK=str(rank),
                LOCAL_RANK=str(rank),
                LOCAL_WORLD_SIZE=str(world),
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=port,
                **env,
            )
            with open(out, "w") as fo, open(err, "w") as fe:
                procs.append(
                    subprocess.Popen([sys.executable, *map(str, args)], env=e, stdout=fo, stderr=fe)
                )
            errs.append(err)
        ranks = Ranks(procs, errs)
        started.append(ranks)
        return ranks

    yield _start
    for r in started:
        r.kill()
