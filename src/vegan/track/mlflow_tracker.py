"""MLflow: a run in a local file store beside the run folder, or where ``MLFLOW_TRACKING_URI`` says.

The store is ``RUN/../mlruns`` by default (``mlflow ui --backend-store-uri
runs/mlruns`` shows every run trained into ``runs/``), the experiment
``vegan`` (or ``MLFLOW_EXPERIMENT_NAME``), the MLflow run named after the
run folder and tagged ``vegan.run_dir``. Logged: every metric at its step,
the resolved options as parameters, the grids as image artifacts
(``pictures/samples/step-00000500.png``), and the numbers of ``vegan eval``
as ``final/<metric>`` with ``eval.json`` and ``eval.md`` as artifacts.

MLflow 3 keeps its file store only on request: for a ``file:`` store vegan
sets ``MLFLOW_ALLOW_FILE_STORE=true`` unless it is already set. A resumed
run continues the same MLflow run (its id is in ``RUN/trackers.json``) and
skips, metric by metric, the steps the store already holds. Needs the
``mlflow`` extra (``mlflow-skinny`` is enough).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vegan.track.base import Tracker

#: The experiment vegan's runs go to unless MLFLOW_EXPERIMENT_NAME names another.
EXPERIMENT = "vegan"
#: Parameters per request (MLflow's log_batch limit).
BATCH = 100


def tracking_uri(run_dir: Path) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else the file store ``mlruns/`` beside the run folder."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    return uri or (Path(run_dir).resolve().parent / "mlruns").as_uri()


class MLflowTracker(Tracker):
    """Logs the run to an MLflow run (see the module docstring)."""

    name = "mlflow"

    def __init__(self) -> None:
        super().__init__()
        self.client = None
        self.run_id = ""
        self.had: dict[str, int] = {}  # metric -> last step the store held when we opened

    def open(self, run_dir, step, state, for_evaluation=False) -> dict[str, Any]:
        uri = tracking_uri(run_dir)
        if uri.startswith("file:") or "://" not in uri:
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=uri)
        run = None
        if state and state.get("tracking_uri") == uri and state.get("run_id"):
            try:
                run = self.client.get_run(state["run_id"])
            except MlflowException:
                run = None  # the store was moved or cleaned: start a new MLflow run
        if run is None:
            name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "").strip() or EXPERIMENT
            exp = self.client.get_experiment_by_name(name)
            exp_id = exp.experiment_id if exp is not None else self.client.create_experiment(name)
            run = self.client.create_run(
                exp_id,
                run_name=Path(run_dir).resolve().name,
                tags={"vegan.run_dir": str(Path(run_dir).resolve())},
            )
        else:
            for key in run.data.metrics:
                history = self.client.get_metric_history(run.info.run_id, key)
                self.had[key] = max((m.step for m in history), default=-1)
            if not for_evaluation:
                self.client.update_run(run.info.run_id, status="RUNNING")
        self.run_id = run.info.run_id
        return {
            "tracking_uri": uri,
            "experiment_id": run.info.experiment_id,
            "run_id": self.run_id,
        }

    def scalars(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = _now_ms()
        metrics = [
            Metric(key, value, now, step)
            for key, value in values.items()
            if step > self.had.get(key, -1)
        ]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def images(self, pictures: dict[str, Path], step: int) -> None:
        import numpy as np
        from PIL import Image

        for name, path in pictures.items():
            with Image.open(path) as im:
                pixels = np.asarray(im.convert("RGB"))
            self.client.log_image(
                self.run_id, pixels, artifact_file=f"pictures/{name}/step-{step:08d}.png"
            )

    def hyperparameters(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(items), BATCH):
            self.client.log_batch(self.run_id, params=items[i : i + BATCH])

    def evaluation(self, metrics: dict[str, float], table: str, result: dict, step: int) -> None:
        from mlflow.entities import Metric

        now = _now_ms()
        final = [Metric(f"final/{k}", v, now, step) for k, v in metrics.items()]
        for i in range(0, len(final), BATCH):
            self.client.log_batch(self.run_id, metrics=final[i : i + BATCH])
        self.client.log_dict(self.run_id, result, "eval.json")
        self.client.log_text(self.run_id, table + "\n", "eval.md")

    def close(self, finished: bool = True) -> None:
        if self.client is not None and self.run_id:
            self.client.set_terminated(self.run_id, "FINISHED" if finished else "KILLED")
        self.client = None


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


__all__ = ["MLflowTracker", "tracking_uri"]
