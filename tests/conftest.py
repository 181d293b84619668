"""Shared test fixtures."""

from __future__ import annotations

import os

import pytest

# Tests never use more than the machine's 2 cores per worker process.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def run_cli(capsys):
    """Run ``vegan ARGS...`` in-process; returns (exit code, stdout, stderr)."""
    from vegan.cli import main

    def _run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return _run
