"""A user's own recipe on the command line: ``--import``, ``VEGAN_IMPORT`` and entry points.

Issue 19, item 2: a recipe written with the new-recipe guide must work in
``vegan train``, ``eval``, ``sample`` and ``report``; ``run.json`` records
the module that defined it; a command on such a run that was not told to
import the module says which one, and vegan never imports a module on a
run folder's word. Each test starts from a registry without the user's
recipe and leaves it so (a fresh process would be in that state).
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

#: Tiny networks and few points: every run below trains in about a second.
TINY = ["--set", "hidden=16", "--set", "depth=1", "--set", "batch_size=50", "--no-progress"]

#: A user's recipe module, as the new-recipe guide writes one ({name}: the recipe's name).
MODULE = '''
"""A WAE whose latent penalty matches the first two moments of Q_Z and P_Z."""
from dataclasses import dataclass

import torch
from torch import nn

from vegan.models.config import opt
from vegan.models.penalties import codes_and_prior_draws
from vegan.models.primal import AutoEncoderConfig, autoencoder, fit_term
from vegan.models.registry import recipe

{preamble}

class MomentPenalty(nn.Module):
    name = "moments"

    def __init__(self, cov_weight):
        super().__init__()
        self.cov_weight = cov_weight

    def forward(self, enc, prior):
        z, zp = codes_and_prior_draws(enc, prior)
        mean_gap = (z.mean(0) - zp.mean(0)).pow(2).sum()
        return mean_gap + self.cov_weight * (torch.cov(z.T) - torch.cov(zp.T)).pow(2).sum()


@dataclass
class MomentsConfig(AutoEncoderConfig):
    cov_weight: float = opt(1.0, "weight of the covariance gap")


@recipe("{name}", MomentsConfig, side="primal", equation="(12)", summary="a test recipe"{extra})
def build(cfg, shape, nets):
    return autoencoder(cfg, shape, nets, fit_term(cfg), MomentPenalty(cfg.cov_weight))
'''


def write_module(folder, module: str, name: str, preamble: str = "", extra: str = ""):
    path = folder / f"{module}.py"
    path.write_text(MODULE.format(name=name, preamble=preamble, extra=extra), encoding="utf-8")
    return path


@pytest.fixture
def registry():
    """The recipe registry, restored afterwards; the test's ``hour_*`` modules forgotten."""
    from vegan.models import registry as reg

    reg._load_all()
    recipes, aliases = dict(reg.RECIPES), dict(reg.ALIASES)
    yield reg
    reg.RECIPES.clear()
    reg.RECIPES.update(recipes)
    reg.ALIASES.clear()
    reg.ALIASES.update(aliases)
    for name in [m for m in sys.modules if m.startswith("hour_")]:
        del sys.modules[name]


def forget(reg, module: str, recipe: str) -> None:
    """The state of a fresh process: the module not imported, its recipe not registered."""
    reg.RECIPES.pop(recipe, None)
    sys.modules.pop(module, None)
    assert recipe not in reg.RECIPES


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert err.startswith("vegan: error: ") and err.count("\n") == 1, err
    return err


def test_import_file_for_train_eval_sample_report(run_cli, registry, tmp_path):
    path = write_module(tmp_path, "hour_moments", "hour-moments")
    run = tmp_path / "runs" / "moments"
    code, out, err = run_cli(
        "--import", path, "train", "hour-moments", "--data", "toy:8gaussians", "--out", run,
        "--steps", "3", "--set", "cov_weight=2", *TINY,
    )  # fmt: skip
    assert code == 0, err
    assert "trained hour-moments" in out
    info = json.loads((run / "run.json").read_text())
    assert info["recipe"] == "hour-moments" and info["recipe_module"] == "hour_moments"
    assert info["config"]["cov_weight"] == 2.0

    code, out, err = run_cli("eval", run, "--import", path, "--n", "200", "--json", "--no-save")
    assert code == 0, err
    assert json.loads(out)["recipe"] == "hour-moments" and json.loads(out)["n"] == 200
    code, _, err = run_cli("sample", run, "--import", path, "--n", "7", "--out", tmp_path / "s.npy")
    assert code == 0, err
    assert np.load(tmp_path / "s.npy").shape == (7, 2)
    report = tmp_path / "report.md"
    code, _, err = run_cli("--import", path, "report", run, "--n", "200", "--out", report)
    assert code == 0, err
    text = report.read_text(encoding="utf-8")
    # Every option the user set that is not the recipe's default, and no MNIST-only notes.
    assert "cov_weight=2.0" in text
    assert "MNIST classifier" not in text and "Pixel-space" not in text
    assert "real-vs-real" in text

    exported = tmp_path / "exported"
    code, _, err = run_cli("--import", path, "export", run, "--out", exported, "--n", "200")
    assert code == 0, err
    assert json.loads((exported / "config.json").read_text())["recipe_module"] == "hour_moments"


def test_run_of_a_module_not_imported_names_it(run_cli, registry, tmp_path, monkeypatch):
    path = write_module(tmp_path, "hour_named", "hour-named")
    run = tmp_path / "run"
    code, _, err = run_cli(
        "train", "hour-named", "--import", path, "--data", "toy:8gaussians", "--out", run,
        "--steps", "2", *TINY,
    )  # fmt: skip
    assert code == 0, err
    forget(registry, "hour_named", "hour-named")

    for command in (["eval", run], ["sample", run, "--out", tmp_path / "s.npy"]):
        err = one_line_error(*run_cli(*command)[::2])
        assert "recipe 'hour-named'" in err and "module 'hour_named'" in err, err
        assert "--import hour_named" in err and "VEGAN_IMPORT" in err, err
    assert not (tmp_path / "s.npy").exists()

    # VEGAN_IMPORT names it for every command.
    monkeypatch.setenv("VEGAN_IMPORT", str(path))
    code, out, err = run_cli("eval", run, "--n", "100", "--json", "--no-save")
    assert code == 0, err
    assert json.loads(out)["recipe"] == "hour-named"


def test_a_run_folder_never_imports_its_module(run_cli, registry, tmp_path, monkeypatch):
    """The module lies in the current folder, but only naming it imports it."""
    marker = tmp_path / "imported.txt"
    preamble = f"open({str(marker)!r}, 'a').write('x')"
    write_module(tmp_path, "hour_sideeffect", "hour-side", preamble=preamble)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(
        "--import", "hour_sideeffect", "train", "hour-side", "--data", "toy:8gaussians",
        "--out", "run", "--steps", "2", *TINY,
    )  # fmt: skip
    assert code == 0, err
    assert marker.read_text() == "x"
    forget(registry, "hour_sideeffect", "hour-side")
    marker.unlink()

    err = one_line_error(*run_cli("eval", "run", "--n", "100")[::2])
    assert "hour_sideeffect" in err and not marker.exists()
    code, _, err = run_cli("eval", "run", "--n", "100", "--no-save", "--import", "hour_sideeffect")
    assert code == 0, err
    assert marker.read_text() == "x"


def test_python_load_of_a_module_not_imported_speaks_python(registry, tmp_path):
    import vegan
    from vegan.errors import ConfigError
    from vegan.models.registry import import_user_module

    path = write_module(tmp_path, "hour_py", "hour-py")
    import_user_module(str(path))
    model, _ = vegan.fit(
        "hour-py", "toy:8gaussians", tmp_path / "run", steps=2, hidden=16, depth=1,
        batch_size=50, progress=False,
    )  # fmt: skip
    forget(registry, "hour_py", "hour-py")
    with pytest.raises(ConfigError, match="import hour_py before loading the run") as exc:
        vegan.load(tmp_path / "run")
    assert "--" not in str(exc.value)
    import_user_module(str(path))
    assert vegan.load(tmp_path / "run").recipe == "hour-py"


def test_entry_point_of_an_installed_package(run_cli, registry, tmp_path, monkeypatch):
    """A package declaring ``hour-entry = hour_ep_recipes`` in group vegan.recipes: no flag."""
    site = tmp_path / "site"
    site.mkdir()
    write_module(site, "hour_ep_recipes", "hour-entry")
    dist = site / "hour_pkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hour-pkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[vegan.recipes]\nhour-entry = hour_ep_recipes\n")
    monkeypatch.syspath_prepend(str(site))
    run = tmp_path / "run"

    code, out, _ = run_cli("recipes")
    assert code == 0 and "hour-entry" in out
    forget(registry, "hour_ep_recipes", "hour-entry")
    code, _, err = run_cli(
        "train", "HOUR-ENTRY", "--data", "toy:8gaussians", "--out", run, "--steps", "2", *TINY
    )
    assert code == 0, err
    assert json.loads((run / "run.json").read_text())["recipe_module"] == "hour_ep_recipes"
    forget(registry, "hour_ep_recipes", "hour-entry")
    code, _, err = run_cli("sample", run, "--n", "5", "--out", tmp_path / "s.npy")
    assert code == 0, err
    assert np.load(tmp_path / "s.npy").shape == (5, 2)


def test_entry_point_found_by_the_module_a_run_records(registry, tmp_path, monkeypatch):
    """An entry point under another name still serves a run that records its module."""
    from vegan.models.registry import run_recipe

    site = tmp_path / "site"
    site.mkdir()
    write_module(site, "hour_bymodule", "hour-bymodule")
    dist = site / "hour_pkg2-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hour-pkg2\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[vegan.recipes]\nother-name = hour_bymodule\n")
    monkeypatch.syspath_prepend(str(site))
    info = {"recipe": "hour-bymodule", "recipe_module": "hour_bymodule"}
    assert run_recipe(info, tmp_path).name == "hour-bymodule"
    forget(registry, "hour_bymodule", "hour-bymodule")
    with pytest.raises(Exception, match="neither built in nor registered"):
        run_recipe({"recipe": "hour-bymodule"}, tmp_path)  # no module recorded: nothing loaded
    assert "hour_bymodule" not in sys.modules


def test_a_broken_entry_point_is_one_line(run_cli, registry, tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "hour_broken.py").write_text("raise RuntimeError('boom')\n")
    dist = site / "hour_pkg3-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hour-pkg3\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[vegan.recipes]\nhour-broken = hour_broken\n")
    monkeypatch.syspath_prepend(str(site))
    err = one_line_error(*run_cli("recipes", "--show", "hour-broken")[::2])
    assert "hour-broken = hour_broken" in err and "RuntimeError: boom" in err


@pytest.mark.parametrize(
    ("extra", "taken"),
    [("", "wae-mmd"), (", aliases=('pot',)", "pot")],
    ids=["name", "alias"],
)
def test_a_built_in_name_is_refused(run_cli, registry, tmp_path, extra, taken):
    name = "wae-mmd" if taken == "wae-mmd" else "hour-alias"
    path = write_module(tmp_path, "hour_clash", name, extra=extra)
    err = one_line_error(*run_cli("--import", path, "recipes")[::2])
    assert f"recipe name '{taken}' is taken by a built-in recipe" in err
    assert "replace=True" in err
    assert registry.get_recipe(taken).module.startswith("vegan.models.")


def test_replacing_a_built_in_on_purpose(run_cli, registry, tmp_path):
    path = write_module(tmp_path, "hour_replace", "WAE-MMD", extra=", replace=True")
    run = tmp_path / "run"
    code, _, err = run_cli(
        "--import", path, "train", "wae-mmd", "--data", "toy:8gaussians", "--out", run,
        "--steps", "2", *TINY,
    )  # fmt: skip
    assert code == 0, err
    info = json.loads((run / "run.json").read_text())
    # The replacement is the user's: run.json names its module, and its option exists.
    assert info["recipe_module"] == "hour_replace" and "cov_weight" in info["config"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("hour_nosuchmodule", "no module 'hour_nosuchmodule' (named by --import)"),
        ("missing/hour_file.py", "no file 'missing/hour_file.py' to import"),
        ("hour_raises.py", "importing 'hour_raises.py' (named by --import) raised ZeroDivision"),
        ("not a module", "is neither a module name nor a .py file"),
    ],
)
def test_import_errors_are_one_line(run_cli, registry, tmp_path, monkeypatch, spec, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hour_raises.py").write_text("x = 1 / 0\n")
    err = one_line_error(*run_cli("--import", spec, "recipes")[::2])
    assert message in err, err


def test_vegan_import_names_itself_in_errors(run_cli, registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VEGAN_IMPORT", "hour_absent")
    err = one_line_error(*run_cli("recipes")[::2])
    assert "no module 'hour_absent' (named by VEGAN_IMPORT)" in err


def test_recipe_names_are_case_insensitive(run_cli, registry, tmp_path):
    code, out, err = run_cli(
        "train", "WAE-MMD", "--data", "toy:8gaussians", "--out", tmp_path / "r", "--steps", "2",
        *TINY,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "r" / "run.json").read_text())["recipe"] == "wae-mmd"
    err = one_line_error(*run_cli("recipes", "--show", "WAE-MDD")[::2])
    assert "unknown recipe 'WAE-MDD' (did you mean 'wae-mmd'?)" in err
    assert "--import MODULE" in err
