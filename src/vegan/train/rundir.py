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
ever deleted). ``--resume`` on a folder that holds no run is refused too,
naming the runs beside it (:func:`no_run_to_resume`), except a folder left
empty by a run killed while it was being created
(:func:`interrupted_creation`), which starts that run. Messages speak the
words of the interface in use (``resume=True`` from Python).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from vegan import __version__
from vegan.errors import CheckpointError, OutputError, RunDirError, flag, words
from vegan.io import atomic_write_json

RUN_FILE = "run.json"
#: run.json keeps the recipe's options under "config" and the run's under "run".
RUN_FORMAT = "vegan-run/2"
#: The first format: every option under "config" (read, and upgraded, by read_run_info).
RUN_FORMAT_1 = "vegan-run/1"
#: The temporary file of an atomic write (``vegan.io.atomic_write``) cut short by a kill.
_TEMP = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]+\.tmp$")
#: Files of a run folder (and of its subfolders) whose stale temporary files are debris.
_RUN_FILES = re.compile(
    r"^(run\.json|metrics\.jsonl|samples\.png|reconstructions\.png|epoch-\d+\.png"
    r"|step-\d+\.(json|safetensors))$"
)


def is_run(path: Path) -> bool:
    """Whether ``path`` is a vegan run folder (it holds run.json)."""
    return (Path(path) / RUN_FILE).is_file()


def is_debris(path: Path) -> bool:
    """A temporary file that vegan's atomic write of a run file left behind when killed."""
    m = _TEMP.match(Path(path).name)
    return bool(m and _RUN_FILES.match(m.group("name")))


def _entries(run_dir: Path) -> list[Path]:
    """The folder's entries, without the debris of a run creation that was killed."""
    return [p for p in Path(run_dir).iterdir() if not (p.is_file() and is_debris(p))]


def remove_debris(run_dir: Path) -> int:
    """Delete the temporary files killed writes left in a run folder; returns how many."""
    run_dir, count = Path(run_dir), 0
    for folder in (run_dir, run_dir / "checkpoints", run_dir / "samples", run_dir / "recon"):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.is_file() and is_debris(p):
                p.unlink(missing_ok=True)
                count += 1
    return count


def check_new(run_dir: Path, overwrite: bool) -> None:
    """Raise :class:`RunDirError` when ``run_dir`` cannot hold a new run (writes nothing)."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"'{run_dir}' exists and is a file; choose another {_out_folder()}")
    # The nearest folder that exists must be writable (the rest is created in it).
    base = run_dir
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise RunDirError(
            f"'{base}' is a file, so the run folder '{run_dir}' cannot be created in it; "
            f"choose another {_out_folder()}"
        )
    if not os.access(base, os.W_OK | os.X_OK):
        raise OutputError(
            f"folder '{base}' is not writable, so the run folder '{run_dir}' cannot be "
            f"written; choose another {_out_folder()}"
        )
    if run_dir.is_dir() and _entries(run_dir):
        if not is_run(run_dir):
            raise RunDirError(
                f"'{run_dir}' is a non-empty folder that is not a vegan run; "
                f"choose another {_out_folder()} (vegan never deletes it)"
            )
        if not overwrite:
            raise RunDirError(
                f"run folder '{run_dir}' already exists; add {flag('resume')} to continue "
                f"it or {flag('overwrite')} to start over"
            )


def prepare_new(run_dir: Path, overwrite: bool) -> None:
    """Make ``run_dir`` ready for a new run, or refuse with a clear reason."""
    check_new(run_dir, overwrite)
    run_dir = Path(run_dir)
    if run_dir.is_dir() and _entries(run_dir):
        # check_new allowed it: a vegan run and --overwrite. run.json goes last, so a
        # deletion cut short by a kill leaves a folder that is still a vegan run.
        for p in run_dir.iterdir():
            if p.name != RUN_FILE:
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        (run_dir / RUN_FILE).unlink(missing_ok=True)
    if run_dir.is_dir():
        remove_debris(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"could not create the run folder '{run_dir}': {exc.strerror or exc}; "
            f"choose another {_out_folder()}"
        ) from exc


def write_run_info(
    run_dir: Path,
    recipe: str,
    data: str,
    sample_shape: tuple[int, ...],
    config: dict[str, Any],
    run: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write run.json: what trained (recipe, data, sample shape, its options, the run's options)."""
    atomic_write_json(
        Path(run_dir) / RUN_FILE,
        {
            "format": RUN_FORMAT,
            "vegan_version": __version__,
            "recipe": recipe,
            "data": data,
            "sample_shape": list(sample_shape),
            "config": config,
            "run": run,
            **(extra or {}),
        },
    )


def upgrade_run_info(info: dict[str, Any]) -> dict[str, Any]:
    """A run.json of the first format (every option under "config") in today's layout."""
    if info.get("format") != RUN_FORMAT_1:
        return info
    from vegan.train.options import RUN_KEYS

    config = info.get("config")
    if not isinstance(config, dict):
        return info  # refused by the field checks
    return {
        **info,
        "format": RUN_FORMAT,
        "config": {k: v for k, v in config.items() if k not in RUN_KEYS},
        "run": {k: v for k, v in config.items() if k in RUN_KEYS},
    }


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """Read and validate ``run.json`` of a run folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"run folder '{run_dir}' does not exist; check the path")
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise RunDirError(
            f"'{run_dir}' is not a vegan run (no {RUN_FILE}); give the folder "
            + words("that 'vegan train --out' created", "that vegan.fit (or 'vegan train') created")
        )
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(
            f"'{path}' is not readable JSON ({exc}); the run is corrupted"
        ) from exc
    if not isinstance(info, dict) or info.get("format") not in (RUN_FORMAT, RUN_FORMAT_1):
        raise CheckpointError(f"'{path}' is not a vegan run description ({RUN_FORMAT})")
    info = upgrade_run_info(info)
    shape = info.get("sample_shape")
    if (
        not isinstance(info.get("recipe"), str)
        or not isinstance(info.get("data"), str)
        or not isinstance(info.get("config"), dict)
        or not isinstance(info.get("run"), dict)
        or not isinstance(shape, list)
        or not shape
        or not all(isinstance(s, int) and 0 < s <= 1 << 20 for s in shape)
    ):
        raise CheckpointError(f"'{path}' has missing or ill-typed fields; the run is corrupted")
    from vegan.models.registry import run_recipe

    run_recipe(info, run_dir)  # a user's recipe not imported: one line naming its module
    return info


def _out_folder() -> str:
    """The run folder's argument in the user's words."""
    return words("--out folder", "out folder")


def nearby_runs(path: Path, limit: int = 5) -> list[Path]:
    """Run folders beside ``path`` (in its nearest existing parent), the most alike first."""
    import difflib

    path = Path(path)
    base = path.parent
    while not base.is_dir() and base != base.parent:
        base = base.parent
    try:
        runs = [p for p in base.iterdir() if p.is_dir() and is_run(p)]
    except OSError:
        return []
    name = path.name
    runs.sort(key=lambda p: (-difflib.SequenceMatcher(None, name, p.name).ratio(), p.name))
    return runs[:limit]


def interrupted_creation(path: Path) -> bool:
    """Whether ``path`` is a folder with no run yet: empty, or holding only the debris of one.

    A run killed while it was being created leaves such a folder (made, but
    run.json not yet written, or only its temporary file): ``--resume``
    then starts that run, so the same command restarts it at any moment.
    """
    path = Path(path)
    return path.is_dir() and not is_run(path) and not _entries(path)


def no_run_to_resume(path: Path) -> str:
    """The message for resuming a folder that holds no run: what is there, and what is near."""
    path = Path(path)
    if not path.exists():
        where = f"there is no folder '{path}' to resume"
    elif not path.is_dir():
        where = f"'{path}' is a file, not a run folder to resume"
    else:
        where = f"'{path}' is not a vegan run (no {RUN_FILE}), so there is nothing to resume"
    near = nearby_runs(path)
    if near:
        also = f"; runs nearby: {', '.join(str(p) for p in near)}"
    else:
        parent = path.parent
        also = f"; there are no runs in '{parent}'" if parent.is_dir() else ""
    return f"{where}{also}; check the path, or drop {flag('resume')} to start a new run"
