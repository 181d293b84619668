"""Run folders of the first format (every option under "config") stay usable.

``data/run_v1`` was written by vegan 0.1.0 before the recipe's options and
the run's options were split (``vegan-run/1``): 2 steps of ``ae`` on
``toy:8gaussians``. Today's code loads it, samples from it, and resumes it;
the resumed run equals a run of today's code trained from the start (to the last bits
of rounding, which differ between CPUs).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file

import vegan
from vegan.train import rundir
from vegan.train.checkpoint import list_checkpoints

OLD = Path(__file__).parent / "data" / "run_v1"
OPTS = ["--data", "toy:8gaussians", "--seed", "0", "--no-progress", "--preset", "none",
        "--set", "hidden=8", "--set", "depth=1", "--set", "samples_every=0"]  # fmt: skip


def _copy(tmp_path) -> Path:
    run = tmp_path / "old"
    shutil.copytree(OLD, run)
    return run


def test_the_old_run_json_is_read_in_todays_layout(tmp_path):
    raw = json.loads((OLD / "run.json").read_text())
    assert raw["format"] == "vegan-run/1" and "steps" in raw["config"]
    info = rundir.read_run_info(_copy(tmp_path))
    assert info["format"] == rundir.RUN_FORMAT
    assert info["run"]["steps"] == 2 and "steps" not in info["config"]
    assert info["config"]["hidden"] == 8 and "hidden" not in info["run"]


def test_an_old_run_loads_and_samples(tmp_path):
    model = vegan.load(_copy(tmp_path))
    assert model.recipe == "ae" and model.sample(5).shape == (5, 2)


def test_an_old_run_resumes_like_a_run_of_today(run_cli, tmp_path):
    old = _copy(tmp_path)
    code, _, err = run_cli("train", "ae", *OPTS, "--out", old, "--steps", "4", "--resume")
    assert code == 0, err
    assert json.loads((old / "run.json").read_text())["format"] == "vegan-run/1"  # not rewritten
    new = tmp_path / "new"
    code, _, err = run_cli("train", "ae", *OPTS, "--out", new, "--steps", "4")
    assert code == 0, err
    a = load_file(list_checkpoints(old)[-1].with_suffix(".safetensors"))
    b = load_file(list_checkpoints(new)[-1].with_suffix(".safetensors"))
    assert a.keys() == b.keys()
    # The stored 2 steps were computed on another CPU, whose kernels may round the last
    # bit differently (1e-9 here, an AMD EPYC against an Intel Xeon): equal up to that.
    # A resume that lost the optimizer's state or a step differs by 1e-4 and more.
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-7, msg=k)
