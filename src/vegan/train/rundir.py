"""Run folders: what a training run writes, and the rules for reusing a folder.

Layout::

    RUN/run.json                 recipe, data, data shape, resolved options, vegan version
    RUN/metrics.jsonl            one JSON object per logged step
    RUN/checkpoints/step-*.{safetensors,json}
    RUN/samples/epoch-*.png      sample grids (scatter plots for vector data)
    RUN/recon/epoch-*.png        inputs above their reconstructions (primal recipes)
    RUN/samples.png, RUN/reconstructions.png   the latest of each

A new run refuses an existing non-empty folder unless ``--resume`` (continue
it) or ``--overwrite`` (start over; only a folder that is a vegan run is
ever deleted).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from vegan import __version__
from vegan.errors import CheckpointError, RunDirError
from vegan.io import atomic_write_json

RUN_FILE = "run.json"
RUN_FORMAT = "vegan-run/1"


def is_run(path: Path) -> bool:
    return (Path(path) / RUN_FILE).is_file()


def check_new(run_dir: Path, overwrite: bool) -> None:
    """Raise :class:`RunDirError` when ``run_dir`` cannot hold a new run (writes nothing)."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"'{run_dir}' exists and is a file; choose another --out folder")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if not is_run(run_dir):
            raise RunDirError(
                f"'{run_dir}' is a non-empty folder that is not a vegan run; "
                "choose another --out folder (vegan never deletes it)"
            )
        if not overwrite:
            raise RunDirError(
                f"run folder '{run_dir}' already exists; add --resume to continue "
                "it or --overwrite to start over"
            )


def prepare_new(run_dir: Path, overwrite: bool) -> None:
    """Make ``run_dir`` ready for a new run, or refuse with a clear reason."""
    check_new(run_dir, overwrite)
    run_dir = Path(run_dir)
    if run_dir.is_dir() and any(run_dir.iterdir()):
        shutil.rmtree(run_dir)  # check_new allowed it: a vegan run and --overwrite
    parent = run_dir.parent
    if not parent.exists():
        parent.mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(exist_ok=True)


def write_run_info(
    run_dir: Path,
    recipe: str,
    data: str,
    sample_shape: tuple[int, ...],
    config: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> None:
    atomic_write_json(
        Path(run_dir) / RUN_FILE,
        {
            "format": RUN_FORMAT,
            "vegan_version": __version__,
            "recipe": recipe,
            "data": data,
            "sample_shape": list(sample_shape),
            "config": config,
            **(extra or {}),
        },
    )


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """Read and validate ``run.json`` of a run folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"run folder '{run_dir}' does not exist; check the path")
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise RunDirError(
            f"'{run_dir}' is not a vegan run (no {RUN_FILE}); give the folder "
            "that 'vegan train --out' created"
        )
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(
            f"'{path}' is not readable JSON ({exc}); the run is corrupted"
        ) from exc
    if not isinstance(info, dict) or info.get("format") != RUN_FORMAT:
        raise CheckpointError(f"'{path}' is not a vegan run description ({RUN_FORMAT})")
    shape = info.get("sample_shape")
    if (
        not isinstance(info.get("recipe"), str)
        or not isinstance(info.get("data"), str)
        or not isinstance(info.get("config"), dict)
        or not isinstance(shape, list)
        or not shape
        or not all(isinstance(s, int) and 0 < s <= 1 << 20 for s in shape)
    ):
        raise CheckpointError(f"'{path}' has missing or ill-typed fields; the run is corrupted")
    return info
