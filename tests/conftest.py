"""Shared test fixtures."""

from __future__ import annotations

import os

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
