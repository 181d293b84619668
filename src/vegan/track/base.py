"""What every experiment tracker does, and the callback that runs the chosen ones.

A tracker (:class:`Tracker`) is a training callback
(:mod:`vegan.train.callbacks`) that sends a run to an experiment-tracking
library: every line of ``metrics.jsonl`` as scalars at its step, the sample
and reconstruction grids as images (the pictures that
:class:`vegan.plots.SamplePictures` returns), the resolved options as
hyperparameters, and, when ``vegan eval`` evaluates the run,
its numbers (:func:`log_evaluation`). The loop calls callbacks on rank 0
only, so under torchrun one process logs.

A tracker keeps what it needs to find its run again in ``RUN/trackers.json``
(the MLflow run id, the W&B run id). A resumed training run continues the
same tracker run: steps the killed process had already logged after its last
checkpoint are not logged twice (TensorBoard purges them, MLflow and W&B skip
steps up to the ones their store already holds).

:class:`Trackers` is the callback ``vegan.fit`` plugs in: it makes the
trackers named by the run option ``log_to`` when the run starts.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from vegan.io import atomic_write_json
from vegan.train.callbacks import Callback, RunView
from vegan.train.options import check_trackers, tracker_names

#: The file in a run folder where trackers keep the ids of their runs.
STATE_FILE = "trackers.json"


def read_state(run_dir: Path) -> dict[str, Any]:
    """The trackers' saved state of a run (empty when none or unreadable)."""
    path = Path(run_dir) / STATE_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_state(run_dir: Path, name: str, value: dict[str, Any]) -> None:
    """Save tracker ``name``'s state beside the others' (atomically)."""
    state = read_state(run_dir)
    state[name] = value
    atomic_write_json(Path(run_dir) / STATE_FILE, state)


def hyperparameters(run_dir: Path, config: Any, options: Any) -> dict[str, Any]:
    """The run's resolved options, flat: recipe, data, the recipe's options, the run's.

    Values are numbers, booleans or strings (lists and None become text), as
    every tracker accepts.
    """
    info: dict[str, Any] = {}
    try:
        info = json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    out: dict[str, Any] = {
        "recipe": info.get("recipe", ""),
        "data": info.get("data", ""),
        "sample_shape": "x".join(str(s) for s in info.get("sample_shape", [])),
    }
    for source in (config, options):
        values = dataclasses.asdict(source) if dataclasses.is_dataclass(source) else {}
        out.update(values)
    return {k: _plain(v) for k, v in out.items()}


def _plain(v: Any) -> Any:
    if isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, list | tuple):
        return ",".join(str(x) for x in v)
    return str(v)


def scalars_of(record: dict[str, Any]) -> dict[str, float]:
    """The numbers of a metrics.jsonl line, without its step (finite values only)."""
    out = {}
    for k, v in record.items():
        if k == "step" or isinstance(v, bool) or not isinstance(v, int | float):
            continue
        if math.isfinite(v):
            out[k] = float(v)
    return out


class Tracker(Callback):
    """Base class of the trackers: the callback hooks, in terms of a few writing methods.

    A subclass sets ``name`` (the ``log_to`` name) and implements
    :meth:`open`, :meth:`scalars`, :meth:`images`, :meth:`hyperparameters`,
    :meth:`evaluation`, :meth:`flush` and :meth:`close`.
    """

    name = ""

    def __init__(self) -> None:
        self.run_dir: Path | None = None
        self.state: dict[str, Any] = {}
        self._logged: dict[str, int] = {}  # metric -> the last step this process logged it at
        self._pictures_step = -1  # the step this process last logged pictures at

    # ----------------------------------------------------------- to implement
    def open(
        self,
        run_dir: Path,
        step: int,
        state: dict[str, Any] | None,
        for_evaluation: bool = False,
    ) -> dict[str, Any]:
        """Start (``state`` None) or continue the tracker's run; returns the state to keep.

        ``step`` is where training continues from (the checkpoint's step; 0 for
        a new run); ``for_evaluation`` is True when the run is opened only to
        add the numbers of ``vegan eval`` (nothing is purged then).
        """
        raise NotImplementedError

    def scalars(self, values: dict[str, float], step: int) -> None:
        """Log ``values`` at ``step``."""

    def images(self, pictures: dict[str, Path], step: int) -> None:
        """Log the PNG files ``pictures`` (by name) at ``step``."""

    def hyperparameters(self, params: dict[str, Any]) -> None:
        """Log the run's resolved options (once, when its tracker run is new)."""

    def evaluation(self, metrics: dict[str, float], table: str, result: dict, step: int) -> None:
        """Log the numbers of ``vegan eval`` (``table``: its Markdown table; ``result``: JSON)."""

    def flush(self) -> None:
        """Make what was logged durable (called after each checkpoint)."""

    def close(self, finished: bool = True) -> None:
        """End the tracker's run (``finished``: the training reached its length)."""

    # ---------------------------------------------------------- callback hooks
    def on_start(self, run: RunView) -> None:
        self.run_dir = Path(run.run_dir)
        before = read_state(self.run_dir).get(self.name)
        self.state = self.open(self.run_dir, run.step, before)
        write_state(self.run_dir, self.name, self.state)
        if before is None:
            self.hyperparameters(hyperparameters(self.run_dir, run.config, run.options))

    def on_log(self, run: RunView, record: dict[str, Any]) -> None:
        # A metric is sent once per step: the lines the callbacks return at the
        # end of an epoch repeat ``epoch`` at the step of a training line.
        step = int(record.get("step", run.step))
        values = {k: v for k, v in scalars_of(record).items() if step > self._logged.get(k, -1)}
        if values:
            self.scalars(values, step)
            self._logged.update(dict.fromkeys(values, step))

    def on_epoch_end(self, run: RunView) -> None:
        self._pictures(run)

    def on_checkpoint(self, run: RunView, path: Path) -> None:
        self.flush()

    def on_end(self, run: RunView) -> None:
        self._pictures(run)
        self.close(finished=True)

    def on_stop(self, run: RunView) -> None:
        self.close(finished=False)  # e.g. MLflow: KILLED, not left RUNNING

    def _pictures(self, run: RunView) -> None:
        """Send the grids of this round of calls, once per step (the last epoch's end and the
        run's end draw the same model)."""
        if run.pictures and run.step > self._pictures_step:
            self.images(dict(run.pictures), run.step)
            self._pictures_step = run.step


def tracker_classes() -> dict[str, type[Tracker]]:
    """The tracker class of each ``log_to`` name (imported lazily: each module imports its
    library only when its tracker opens)."""
    from vegan.track.mlflow_tracker import MLflowTracker
    from vegan.track.tensorboard_tracker import TensorBoardTracker
    from vegan.track.wandb_tracker import WandbTracker

    return {"tensorboard": TensorBoardTracker, "mlflow": MLflowTracker, "wandb": WandbTracker}


def make_trackers(log_to: str) -> list[Tracker]:
    """The trackers a ``log_to`` value names (checked: known names, libraries installed)."""
    names = tracker_names(log_to)
    check_trackers(names)
    classes = tracker_classes()
    return [classes[n]() for n in names]


class Trackers(Callback):
    """The callback that runs the trackers of the run option ``log_to`` (``vegan.fit`` adds it).

    It makes them when the run starts (so a resumed run may change
    ``log_to``) and passes every hook on, in the order ``log_to`` names them.
    When one fails, the run's one-line error names it (``tracker mlflow``).
    """

    name = "experiment trackers"

    def __init__(self) -> None:
        self.trackers: list[Tracker] = []

    def _each(self, method: str, *args: Any) -> None:
        for t in self.trackers:
            try:
                getattr(t, method)(*args)
            except Exception:
                self.name = f"tracker {t.name}"  # the loop's error message names it
                raise

    def on_start(self, run: RunView) -> None:
        # The loop calls callbacks on rank 0 only; a callback list run by hand on
        # another rank still logs nothing (one tracker run per training run).
        names = getattr(run.options, "log_to", "") if run.is_main else ""
        self.trackers = make_trackers(names)
        self._each("on_start", run)

    def on_log(self, run: RunView, record: dict[str, Any]) -> None:
        self._each("on_log", run, record)

    def on_epoch_end(self, run: RunView) -> None:
        self._each("on_epoch_end", run)

    def on_checkpoint(self, run: RunView, path: Path) -> None:
        self._each("on_checkpoint", run, path)

    def on_end(self, run: RunView) -> None:
        self._each("on_end", run)

    def on_stop(self, run: RunView) -> None:
        for t in self.trackers:  # close every one, even when one fails
            try:
                t.on_stop(run)
            except Exception:  # the run is already ending with its own error
                pass


def evaluation_table(result: dict[str, Any]) -> str:
    """A Markdown table of an evaluation (``vegan eval --json``): metric, model, reference."""
    from vegan.eval.names import METRICS, RANKED

    rows = ["| metric | model | reference |", "|---|---:|---:|"]
    for key in RANKED:
        value = result.get(key)
        if value is None or key not in METRICS:
            continue
        m = METRICS[key]
        ref = result.get(m.reference) if m.reference else None
        what = "prior vs prior" if m.reference and m.reference.endswith("_ref") else "real vs real"
        if m.reference in ("sharpness_data", "high_quality_data"):
            what = "data"
        if m.reference == "modes_total":
            what = "of"
        ref_text = f"{_number(ref)} ({what})" if ref is not None else ""
        label = m.label.replace("|", "\\|")  # "|x - G(E(x))|" must not split the row
        rows.append(f"| {label} (`{key}`) | {_number(value)} | {ref_text} |")
    return "\n".join(rows)


def _number(v: float) -> str:
    """A number as the model card and the trackers print it: 6 significant digits."""
    return f"{float(v):.6g}"


def log_evaluation(run_dir: str | Path, result: Any) -> list[str]:
    """Send an evaluation of a run to the trackers of its ``log_to`` option.

    ``result`` is a :class:`vegan.eval.evaluation.Evaluation` (or its JSON
    dict). Each tracker continues the run's own tracker run (from
    ``RUN/trackers.json``) and logs the numbers as ``final/<metric>`` at the
    evaluated step. Returns the names of the trackers logged to; a missing
    library is a :class:`~vegan.errors.ConfigError`.
    """
    run_dir = Path(run_dir)
    try:
        info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    log_to = (info.get("run") or {}).get("log_to", "")
    if not log_to:
        return []
    data = result.to_json() if hasattr(result, "to_json") else dict(result)
    metrics = {
        k: float(v)
        for k, v in data.items()
        if k not in ("n", "seed", "seconds", "step")
        and isinstance(v, int | float)
        and not isinstance(v, bool)
    }
    step = int(data.get("step") or 0)
    table = evaluation_table(data)
    done = []
    for tracker in make_trackers(log_to):
        state = read_state(run_dir).get(tracker.name)
        tracker.run_dir = run_dir
        tracker.state = tracker.open(run_dir, step, state, for_evaluation=True)
        write_state(run_dir, tracker.name, tracker.state)
        try:
            tracker.evaluation(metrics, table, data, step)
        finally:
            tracker.close(finished=True)
        done.append(tracker.name)
    return done


__all__ = [
    "STATE_FILE",
    "Tracker",
    "Trackers",
    "evaluation_table",
    "hyperparameters",
    "log_evaluation",
    "make_trackers",
    "read_state",
    "scalars_of",
    "tracker_classes",
]
