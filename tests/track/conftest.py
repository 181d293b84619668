"""A tiny toy run for the tracker and export tests, and readers of its metrics log."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

#: 8,000 toy points at batch 400: 20 steps an epoch.
PER_EPOCH = 20


def train_toy(out: Path, steps: int = 2 * PER_EPOCH, **options):
    """Train wae-mmd on toy:8gaussians into ``out`` (log every 5 steps); returns (model, result)."""
    import vegan

    kwargs = {"batch_size": 400, "log_every": 5, "progress": False, **options}
    return vegan.fit("wae-mmd", "toy:8gaussians", out, steps=steps, **kwargs)


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
