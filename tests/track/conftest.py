"""A tiny toy run for the tracker and export tests, and readers of its metrics log."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

#: 500 points of toy:8gaussians in a file: 400 train (held-out: every fifth), batch 20,
#: so 20 steps an epoch; a small network. A run of 40 steps takes well under a second.
PER_EPOCH = 20


def toy_file(folder: Path) -> str:
    """Write (once) 500 points of toy:8gaussians to FOLDER/toy.npy; returns the path."""
    import numpy as np

    from vegan.data import sample_toy

    path = Path(folder) / "toy.npy"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, sample_toy("8gaussians", 500, np.random.default_rng(0)))
    return str(path)


def train_toy(out: Path, steps: int = 2 * PER_EPOCH, **options):
    """Train wae-mmd on the toy file beside ``out`` (log every 5 steps); returns (model, result)."""
    import vegan

    kwargs = {"batch_size": 20, "hidden": 32, "log_every": 5, "progress": False, **options}
    data = toy_file(Path(out).parent)
    return vegan.fit("wae-mmd", data, out, steps=steps, **kwargs)


def logged(run: Path) -> dict[str, list[tuple[int, float]]]:
    """Each number of RUN/metrics.jsonl as (step, value) pairs, in order, once per step."""
    out: dict[str, list[tuple[int, float]]] = {}
    for line in (Path(run) / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        for key, value in record.items():
            if key == "step" or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            points = out.setdefault(key, [])
            if math.isfinite(value) and (not points or points[-1][0] < record["step"]):
                points.append((record["step"], float(value)))
    return out


@pytest.fixture
def toy_run():
    return train_toy


@pytest.fixture
def metrics_of():
    return logged
