"""The first hour of a new user (issue 19): each place they stumbled, as they met it.

A transposed array, ``--resume`` on a misspelled folder, ``--resume`` on a
finished run, CLI words in errors raised from Python, the model's mode after
``vegan.fit``, the length run.json records, ``dir(vegan)`` and the README's
variable names. (Their own recipe from the command line:
``test_cli_user_recipes.py``; ``vegan eval`` on their own data:
``tests/docs/test_docs_first_hour.py``.)
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--set", "hidden=16", "--set", "depth=1", "--set", "batch_size=50", "--no-progress"]
TINY_KW = {"hidden": 16, "depth": 1, "batch_size": 50, "progress": False}


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _ring(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi, n)
    return (np.stack([np.cos(angle), np.sin(angle)], 1) * 2).astype(np.float32)


def _one_line(code: int, err: str) -> str:
    assert code == 2, err
    assert err.startswith("vegan: error: ") and err.count("\n") == 1, err
    return err


# ------------------------------------------------------------ 3. a transposed array


def test_transposed_array_is_refused_before_any_write(run_cli, tmp_path):
    np.save(tmp_path / "ring-t.npy", _ring(5000).T)  # (2, 5000): 5,000 points in columns
    run = tmp_path / "runs" / "ring"
    code, _, err = run_cli(
        "train", "wae-mmd", "--data", tmp_path / "ring-t.npy", "--out", run, "--steps", "10",
        "--no-progress",
    )  # fmt: skip
    err = _one_line(code, err)
    # The training split keeps 4 of every 5 rows: 2 rows give 2 samples (index 4 is held out).
    assert "has 2 samples of dimension 5000" in err and "looks transposed" in err, err
    assert "np.save(PATH, x.T)" in err
    assert not (tmp_path / "runs").exists()


def test_transposed_array_from_python(tmp_path):
    import vegan
    from vegan.errors import ShapeError

    with pytest.raises(ShapeError, match=r"2 samples of dimension 5000.*transposed.*\(x\.T\)"):
        vegan.fit("wae-mmd", _ring(5000).T, tmp_path / "run", steps=2, progress=False)
    assert not (tmp_path / "run").exists()
    model, _ = vegan.fit("wae-mmd", _ring(300), tmp_path / "run", steps=2, **TINY_KW)
    assert model.sample_shape == (2,)


@pytest.mark.parametrize(
    ("shape", "warning"),
    [
        ((30, 2), "has 24 samples, fewer than batch_size 50"),
        ((100, 1200), "has 80 samples of dimension 1200, far fewer samples than dimensions"),
    ],
    ids=["smaller-than-a-batch", "n-much-smaller-than-d"],
)
def test_suspicious_shapes_train_with_a_warning(run_cli, tmp_path, shape, warning):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(size=shape).astype(np.float32))
    code, _, err = run_cli(
        "train", "wae-mmd", "--data", tmp_path / "x.npy", "--out", tmp_path / "r", "--steps",
        "2", *TINY,
    )  # fmt: skip
    assert code == 0, err
    assert f"vegan: warning: the training split of '{tmp_path / 'x.npy'}' {warning}" in err, err


def test_well_shaped_data_trains_without_a_warning(run_cli, tmp_path):
    np.save(tmp_path / "ring.npy", _ring(500))
    code, _, err = run_cli(
        "train", "wae-mmd", "--data", tmp_path / "ring.npy", "--out", tmp_path / "r",
        "--steps", "2", *TINY,
    )  # fmt: skip
    assert code == 0, err
    assert "warning" not in err


# ------------------------------------------------------------ 4. resume


def test_resume_of_a_misspelled_folder_names_the_runs_nearby(run_cli, tmp_path):
    runs = tmp_path / "runs"
    for name in ("ring", "moons"):
        code, _, err = run_cli(
            "train", "wae-mmd", "--data", "toy:8gaussians", "--out", runs / name, "--steps", "1",
            *TINY,
        )  # fmt: skip
        assert code == 0, err
    before = _snapshot(tmp_path)
    err = _one_line(
        *run_cli(
            "train", "wae-mmd", "--data", "toy:8gaussians", "--out", runs / "rnig", "--steps",
            "2", "--resume", *TINY,
        )[::2]
    )  # fmt: skip
    assert f"there is no folder '{runs / 'rnig'}' to resume" in err, err
    # The most alike first: 'ring' before 'moons'.
    assert f"runs nearby: {runs / 'ring'}, {runs / 'moons'}" in err, err
    assert "drop --resume to start a new run" in err
    assert _snapshot(tmp_path) == before and not (runs / "rnig").exists()

    (runs / "notes").mkdir()
    (runs / "notes" / "todo.txt").write_text("mine")
    err = _one_line(
        *run_cli(
            "train", "wae-mmd", "--data", "toy:8gaussians", "--out", runs / "notes", "--steps",
            "2", "--resume", *TINY,
        )[::2]
    )  # fmt: skip
    assert "is not a vegan run (no run.json), so there is nothing to resume" in err
    assert [p.name for p in (runs / "notes").iterdir()] == ["todo.txt"]


def test_resume_starts_a_run_killed_while_it_was_being_created(run_cli, tmp_path):
    """An empty folder, or one with only a torn run.json write: the same --resume starts it."""
    for name, debris in (("empty", None), ("torn", ".run.json.k2j4x9_a.tmp")):
        run = tmp_path / name
        run.mkdir()
        if debris:
            (run / debris).write_text('{"format": "vegan-')
        code, _, err = run_cli(
            "train", "wae-mmd", "--data", "toy:8gaussians", "--out", run, "--steps", "2",
            "--resume", *TINY,
        )  # fmt: skip
        assert code == 0, err
        assert "holds no run yet (its creation was interrupted); starting it" in err
        assert json.loads((run / "run.json").read_text())["run"]["steps"] == 2


def test_resume_with_no_run_anywhere_says_so(tmp_path):
    import vegan
    from vegan.errors import RunDirError

    with pytest.raises(RunDirError) as exc:
        vegan.fit("wae-mmd", "toy:8gaussians", tmp_path / "nothere", steps=2, resume=True)
    msg = str(exc.value)
    assert f"there are no runs in '{tmp_path}'" in msg
    assert "drop resume=True" in msg and "--" not in msg


def test_resume_of_a_finished_run_has_nothing_to_do(run_cli, tmp_path):
    run = tmp_path / "run"
    base = ["train", "wae-mmd", "--data", "toy:8gaussians", "--out", run, *TINY]
    code, _, err = run_cli(*base, "--steps", "4")
    assert code == 0, err
    before = _snapshot(run)
    for total in ("2", "4"):
        code, out, err = run_cli(*base, "--steps", total, "--resume")
        assert code == 0, err
        said = out + err
        assert "nothing to do: the run is already at step 4" in said, said
        assert f"the total asked is {total} steps" in said and "trained" not in said
        assert _snapshot(run) == before  # nothing trained, nothing written


def test_resume_from_python_returns_the_run_as_it_is(tmp_path):
    import torch

    import vegan
    from vegan.train.api import NothingToDo

    vegan.fit("wae-mmd", "toy:8gaussians", tmp_path / "r", steps=3, **TINY_KW)
    model, result = vegan.fit(
        "wae-mmd", "toy:8gaussians", tmp_path / "r", steps=1, resume=True, **TINY_KW
    )
    assert isinstance(result, NothingToDo) and result.step == 3
    loaded = vegan.load(tmp_path / "r").state_dict()
    assert all(torch.equal(v, loaded[k]) for k, v in model.state_dict().items())
    assert not model.training


# ------------------------------------------------------------ 5. the API's words


def test_python_errors_speak_python(tmp_path):
    import vegan
    from vegan.errors import RunDirError, ShapeError

    vegan.fit("wae-mmd", "toy:8gaussians", tmp_path / "r", steps=1, **TINY_KW)
    with pytest.raises(RunDirError) as exc:
        vegan.fit("wae-mmd", "toy:8gaussians", tmp_path / "r", steps=1, **TINY_KW)
    msg = str(exc.value)
    assert "resume=True" in msg and "overwrite=True" in msg and "--" not in msg, msg
    with pytest.raises(ShapeError) as exc:
        vegan.fit("ae", _ring(100), tmp_path / "conv", steps=1, backbone="conv", progress=False)
    assert "backbone='mlp'" in str(exc.value) and "--set" not in str(exc.value)


def test_the_same_errors_speak_the_command_line(run_cli, tmp_path):
    args = ["train", "wae-mmd", "--data", "toy:8gaussians", "--out", tmp_path / "r"]
    assert run_cli(*args, "--steps", "1", *TINY)[0] == 0
    err = _one_line(*run_cli(*args, "--steps", "1", *TINY)[::2])
    assert "add --resume to continue it or --overwrite to start over" in err
    np.save(tmp_path / "ring.npy", _ring(100))
    err = _one_line(
        *run_cli(
            "train", "ae", "--data", tmp_path / "ring.npy", "--out", tmp_path / "c",
            "--set", "backbone=conv", "--steps", "1",
        )[::2]
    )  # fmt: skip
    assert "use --set backbone=mlp" in err


def test_eval_options_speak_python():
    from vegan.errors import ConfigError
    from vegan.eval.evaluation import EvalOptions, choose_n

    with pytest.raises(ConfigError, match=r"^n must be at least 2"):
        EvalOptions(n=1)
    with pytest.raises(ConfigError) as exc:
        choose_n(3000, 1000, "ring.npy")
    assert "fewer than n=3000; use n=1000 or less" in str(exc.value)


# ------------------------------------------------------------ surprises


def test_fit_and_load_return_the_model_in_eval_mode(tmp_path):
    import vegan

    model, _ = vegan.fit("wae-mmd", "toy:8gaussians", tmp_path / "r", steps=1, **TINY_KW)
    assert not any(m.training for m in model.modules())
    loaded = vegan.load(tmp_path / "r")
    assert not any(m.training for m in loaded.modules())


def test_run_json_records_the_length_that_was_used(run_cli, tmp_path):
    np.save(tmp_path / "ring.npy", _ring(250))  # 200 train points, 4 batches of 50 an epoch
    base = ["train", "wae-mmd", "--data", tmp_path / "ring.npy", *TINY]
    assert run_cli(*base, "--out", tmp_path / "s", "--steps", "3")[0] == 0
    assert run_cli(*base, "--out", tmp_path / "e", "--epochs", "1")[0] == 0
    steps = json.loads((tmp_path / "s" / "run.json").read_text())["run"]
    epochs = json.loads((tmp_path / "e" / "run.json").read_text())["run"]
    assert (steps["steps"], steps["epochs"]) == (3, 0)
    assert (epochs["epochs"], epochs["steps"]) == (1, 0)
    last = json.loads((tmp_path / "e" / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 4  # one epoch of 200 points in batches of 50


def test_dir_of_vegan_shows_the_lazy_names():
    import vegan

    names = dir(vegan)
    for name in ("fit", "load", "wasserstein", "recipes", "presets", "build", "load_dataset"):
        assert name in names, name
        assert callable(getattr(vegan, name))
    assert "VeganError" in names and "__version__" in names


def test_readme_quick_start_does_not_name_samples_like_weights():
    """vegan.wasserstein(x, y, a=None, b=None): the samples must not be called a and b."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## Python quick start\s+```python\n(.*?)```", text, re.S)[1]
    calls = [
        node
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "wasserstein"
    ]
    assert calls, "the quick start lost its vegan.wasserstein example"
    for call in calls:
        names = {a.id for a in call.args if isinstance(a, ast.Name)}
        assert not names & {"a", "b"}, names
