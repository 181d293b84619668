"""`vegan zoo` on toy data with a tiny budget."""

from __future__ import annotations

import json


def test_zoo_trains_evaluates_and_reports(run_cli, tmp_path):
    out = tmp_path / "zoo"
    args = ["zoo", "--data", "toy:8gaussians", "--budget", "0.02", "--out", out]
    args += ["--recipes", "ae,gan", "--n", "100", "--set", "hidden=32", "--set", "depth=1"]
    code, stdout, err = run_cli(*args)
    assert code == 0, err
    zoo = json.loads((out / "zoo.json").read_text())
    assert zoo["budget_minutes"] == 0.02 and [r["recipe"] for r in zoo["runs"]] == ["ae", "gan"]
    for r in zoo["runs"]:
        assert r["status"] == "ok" and r["steps"] >= 1
        assert "w2sq" in r["metrics"] and "modes_covered" in r["metrics"]
        info = json.loads((out / r["recipe"] / "run.json").read_text())
        cfg, run = info["config"], info["run"]
        assert run["time_budget"] == 1.2 and cfg["seed"] == 0 and run["epochs"] >= 10000
        assert (out / r["recipe"] / "eval.json").is_file()
    table = (out / "zoo.md").read_text()
    assert "| ae | primal |" in table and "| gan | dual |" in table and "real data" in table
    assert table in stdout and (out / "report.html").is_file()

    # the same folder again: refused, then kept with --resume
    code, _, err = run_cli(*args)
    assert code == 2 and "--resume" in err
    code, _, err = run_cli(*args, "--resume")
    assert code == 0 and "kept" in err


def test_zoo_rejects_fixed_options_and_unknown_recipes(run_cli, tmp_path):
    base = ["zoo", "--data", "toy:8gaussians", "--budget", "1", "--out", tmp_path / "z"]
    code, _, err = run_cli(*base, "--set", "seed=3")
    assert code == 2 and "fixed by the zoo" in err
    code, _, err = run_cli(*base, "--recipes", "wae-mdm")
    assert code == 2 and "wae-mmd" in err


def test_a_failing_recipe_is_recorded_and_the_zoo_goes_on(run_cli, tmp_path):
    out = tmp_path / "zoo"
    args = ["zoo", "--data", "toy:8gaussians", "--budget", "0.01", "--out", out, "--n", "50"]
    # fit=nll needs a random decoder: the plain auto-encoder cannot take it, the VAE can
    args += ["--recipes", "ae,vae", "--set", "fit=nll", "--set", "hidden=16", "--set", "depth=1"]
    code, stdout, err = run_cli(*args)
    assert code == 0, err
    runs = {r["recipe"]: r for r in json.loads((out / "zoo.json").read_text())["runs"]}
    assert runs["ae"]["status"] == "failed" and "random decoder" in runs["ae"]["reason"]
    assert runs["vae"]["status"] == "ok" and "neg_elbo" in runs["vae"]["metrics"]
    assert "| ae | primal | failed:" in stdout
