"""What a run folder says about its training: steps, epochs and seconds of the newest checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def training_summary(run_dir: str | Path) -> dict[str, Any]:
    """``{"step", "epoch", "seconds"}`` from the newest checkpoint's JSON (None when unknown).

    Only the JSON description is read (not the weights). Falls back to the
    last line of ``metrics.jsonl`` that has a ``time``.
    """
    from vegan.train.checkpoint import list_checkpoints

    out: dict[str, Any] = {"step": None, "epoch": None, "seconds": None}
    for path in reversed(list_checkpoints(Path(run_dir))):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(state, dict):
            out.update(
                step=state.get("step"), epoch=state.get("epoch"), seconds=state.get("seconds")
            )
            return out
    from vegan.eval.figures import read_metrics

    timed = [r for r in read_metrics(run_dir) if isinstance(r.get("time"), (int, float))]
    if timed:
        out.update(step=timed[-1]["step"], epoch=timed[-1].get("epoch"), seconds=timed[-1]["time"])
    return out


__all__ = ["training_summary"]
