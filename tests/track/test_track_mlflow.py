"""MLflow: what a run logs, read back through MLflow's own client from the file store."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("mlflow", reason="the mlflow extra is not installed")

from mlflow.tracking import MlflowClient  # noqa: E402

from vegan.train.checkpoint import checkpoint_dir  # noqa: E402


@pytest.fixture(autouse=True)
def _own_store(monkeypatch):
    """No tracking URI or experiment from the environment: the default store beside the run."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_ALLOW_FILE_STORE"):
        monkeypatch.delenv(name, raising=False)


def _runs(store):
    client = MlflowClient(tracking_uri=store.as_uri())
    exp = client.get_experiment_by_name("vegan")
    assert exp is not None, "no 'vegan' experiment in the store"
    return client, client.search_runs([exp.experiment_id])


def _history(client, run_id, key):
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_metrics_params_and_pictures_in_the_store_beside_the_run(toy_run, metrics_of, tmp_path):
    run = tmp_path / "runs" / "wae"
    toy_run(run, log_to="mlflow")
    client, runs = _runs(tmp_path / "runs" / "mlruns")
    assert len(runs) == 1
    r = runs[0]
    assert r.info.run_name == "wae" and r.info.status == "FINISHED"
    assert r.data.tags["vegan.run_dir"] == str(run.resolve())
    info = json.loads((run / "run.json").read_text())
    assert float(r.data.params["lam"]) == info["config"]["lam"]
    assert r.data.params["recipe"] == "wae-mmd" and r.data.params["log_to"] == "mlflow"
    for key, points in metrics_of(run).items():
        got = _history(client, r.info.run_id, key)
        assert [s for s, _ in got] == [s for s, _ in points], key
        assert [v for _, v in got] == pytest.approx([v for _, v in points], rel=1e-6), key
    pictures = [a.path for a in client.list_artifacts(r.info.run_id, "pictures/samples")]
    assert pictures == ["pictures/samples/step-00000020.png", "pictures/samples/step-00000040.png"]
    state = json.loads((run / "trackers.json").read_text())
    assert state["mlflow"]["run_id"] == r.info.run_id


def test_resume_continues_the_same_run_without_duplicate_steps(toy_run, metrics_of, tmp_path):
    run = tmp_path / "runs" / "wae"
    ckpt = {"checkpoint_every": 10, "keep_checkpoints": 5}
    toy_run(run, steps=50, log_to="mlflow", **ckpt)
    # A process killed after logging step 50 whose last checkpoint was step 30.
    for p in [
        *checkpoint_dir(run).glob("step-00000040.*"),
        *checkpoint_dir(run).glob("step-00000050.*"),
    ]:
        p.unlink()
    toy_run(run, steps=50, log_to="mlflow", resume=True, **ckpt)
    client, runs = _runs(tmp_path / "runs" / "mlruns")
    assert len(runs) == 1  # the same MLflow run, continued
    assert runs[0].info.status == "FINISHED"
    got = _history(client, runs[0].info.run_id, "autoencoder/loss")
    assert [s for s, _ in got] == list(range(5, 51, 5))  # 35 to 50 once, not twice
    # The resumed steps repeat the killed ones exactly (a CPU resume is bit-identical).
    assert got == [(s, pytest.approx(v, rel=1e-6)) for s, v in metrics_of(run)["autoencoder/loss"]]


def test_tracking_uri_from_the_environment_and_vegan_eval(toy_run, run_cli, tmp_path, monkeypatch):
    store = tmp_path / "elsewhere"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.as_uri())
    run = tmp_path / "runs" / "wae"
    toy_run(run, log_to="mlflow")
    assert not (tmp_path / "runs" / "mlruns").exists()
    code, out, err = run_cli("eval", run, "--json")
    assert code == 0, err
    result = json.loads(out)
    client, runs = _runs(store)
    assert len(runs) == 1
    rid = runs[0].info.run_id
    assert _history(client, rid, "final/w2sq") == [(40, pytest.approx(result["w2sq"], rel=1e-6))]
    files = {a.path for a in client.list_artifacts(rid)}
    assert {"eval.json", "eval.md"} <= files


def test_an_interrupted_run_is_killed_not_left_running(toy_run, tmp_path):
    """Ctrl-C (SIGINT) mid-run: the MLflow run ends KILLED, and a resume finishes it."""
    import os
    import signal

    from vegan.train.callbacks import Callback
    from vegan.train.loop import Interrupted

    class CtrlC(Callback):
        def on_log(self, run, record):
            if record.get("step") == 10:
                os.kill(os.getpid(), signal.SIGINT)

    run = tmp_path / "runs" / "wae"
    with pytest.raises(Interrupted):
        toy_run(run, steps=40, log_to="mlflow", callbacks=[CtrlC()])
    client, runs = _runs(tmp_path / "runs" / "mlruns")
    assert [r.info.status for r in runs] == ["KILLED"]
    toy_run(run, steps=40, log_to="mlflow", resume=True)
    client, runs = _runs(tmp_path / "runs" / "mlruns")
    assert [r.info.status for r in runs] == ["FINISHED"]
