"""Presets: resolution order, recording, the --show table, and definition-time checks."""

from __future__ import annotations

import json

import pytest

import vegan
from vegan.errors import ConfigError
from vegan.models import presets as P
from vegan.models.registry import get_recipe

TOY = (2,)


@pytest.fixture
def extra_preset():
    """A preset defined for the test (removed after it)."""
    made = []

    def define(name, **kw):
        made.append(name)
        return P.preset(name, None, "test preset", "a test", **kw)

    yield define
    for name in made:
        P.PRESETS.pop(name, None)


def test_data_families_follow_the_shape():
    assert P.data_family((2,)) == "toy"
    assert P.data_family((16,)) == "toy"
    assert P.data_family((17,)) == "vectors"
    assert P.data_family((1, 28, 28)) == "mnist"
    assert P.data_family((3, 32, 32)) == "rgb32"
    assert P.data_family((3, 64, 64)) == "rgb64"
    assert P.data_family((3, 28, 28)) is None


def test_each_layer_overrides_the_ones_before(extra_preset):
    default = get_recipe("wgan-gp").config()
    fam = P.get_preset("toy").values_for("wgan-gp")
    assert fam["batch_size"] != default.batch_size and fam["hidden"] != default.hidden
    extra_preset("layered", recipes={"wgan-gp": {"batch_size": 32, "n_critic": 2, "lr": 1e-3}})
    res = P.resolve(
        "wgan-gp", TOY, "layered",
        ("config file", {"n_critic": 3, "lr": 2e-3}),
        ("--set", {"lr": 3e-3}),
    )  # fmt: skip
    cfg, origin = res.config, res.origins
    assert (cfg.gp_weight, origin["gp_weight"]) == (fam["gp_weight"], "preset toy")
    assert (cfg.hidden, origin["hidden"]) == (fam["hidden"], "preset toy")
    assert (cfg.batch_size, origin["batch_size"]) == (32, "preset layered")
    assert (cfg.n_critic, origin["n_critic"]) == (3, "config file")
    assert (cfg.lr, origin["lr"]) == (3e-3, "--set")
    assert (cfg.clip if hasattr(cfg, "clip") else None) is None
    assert (cfg.prior, origin["prior"]) == (default.prior, "default")
    assert res.presets == ["toy", "layered"]


def test_none_gives_the_bare_recipe_defaults():
    res = P.resolve("wgan-gp", TOY, "none")
    bare = get_recipe("wgan-gp").config()
    assert res.config.batch_size == bare.batch_size and res.config.hidden == bare.hidden
    assert res.presets == [] and set(res.origins.values()) == {"default"}


def test_an_unknown_preset_is_one_line_listing_the_names():
    with pytest.raises(ConfigError) as info:
        P.resolve("wae-mmd", TOY, "celeb64")
    msg = str(info.value)
    assert "\n" not in msg
    assert "unknown preset 'celeb64' (did you mean 'celeba64'?)" in msg
    for name in ("toy", "vectors", "mnist", "rgb32", "celeba64", "none"):
        assert name in msg


def test_a_preset_naming_a_missing_option_fails_when_defined(extra_preset):
    with pytest.raises(ConfigError, match="preset 'bad1', recipe 'gan': unknown option 'lam'"):
        extra_preset("bad1", recipes={"gan": {"lam": 1.0}})
    with pytest.raises(ConfigError, match="common option 'gp_weight' is not an option of every"):
        extra_preset("bad2", common={"gp_weight": 1.0})
    with pytest.raises(ConfigError, match="unknown recipe 'wgan-pg'"):
        extra_preset("bad3", recipes={"wgan-pg": {"lr": 1.0}})
    with pytest.raises(ConfigError, match="option 'n_critic' expects int"):
        extra_preset("bad4", recipes={"wgan-gp": {"n_critic": "five"}})
    with pytest.raises(ConfigError, match="steps for 'gan' must be a positive integer"):
        extra_preset("bad5", steps={"gan": 0})
    with pytest.raises(ConfigError, match="unknown recipe 'ganx'"):
        extra_preset("bad6", steps={"ganx": 10})
    assert not {"bad1", "bad2", "bad3", "bad4", "bad5", "bad6"} & set(P.PRESETS)


def test_every_built_in_preset_names_a_source_and_a_known_family():
    names = [p.name for p in P.list_presets()]
    assert {"toy", "vectors", "mnist", "rgb32", "celeba64"} <= set(names)
    for p in P.list_presets():
        assert p.source and (p.family is None or p.family in P.FAMILIES)
    assert [p.name for p in vegan.presets()] == names


def _train(tmp_path, name, *extra):
    return ["train", "wgan-gp", "--data", "toy:8gaussians", "--out", tmp_path / name,
            "--steps", "1", "--no-progress", "--set", "samples_every=0", *extra]  # fmt: skip


def test_run_json_records_the_resolved_values_and_their_origins(run_cli, tmp_path):
    code, _, err = run_cli(*_train(tmp_path, "a", "--set", "n_critic=1"))
    assert code == 0, err
    info = json.loads((tmp_path / "a" / "run.json").read_text())
    fam = P.get_preset("toy").values_for("wgan-gp")
    assert info["config"]["batch_size"] == fam["batch_size"]
    assert info["config"]["n_critic"] == 1
    rec = info["preset"]
    assert rec["applied"] == ["toy"] and "gan_toy.py" in rec["sources"]["toy"]
    assert rec["origins"]["batch_size"] == "preset toy"
    assert rec["origins"]["n_critic"] == "--set"
    assert rec["origins"]["steps"] == "length/seed argument"


def test_preset_none_from_the_cli_and_the_api(run_cli, tmp_path):
    assert run_cli(*_train(tmp_path, "a", "--preset", "none", "--set", "n_critic=1"))[0] == 0
    info = json.loads((tmp_path / "a" / "run.json").read_text())
    bare = get_recipe("wgan-gp").config()
    assert info["config"]["batch_size"] == bare.batch_size
    assert info["preset"]["applied"] == []
    vegan.fit("wgan-gp", "toy:8gaussians", tmp_path / "b", steps=1, preset="none",
              progress=False, samples_every=0, n_critic=1)  # fmt: skip
    info = json.loads((tmp_path / "b" / "run.json").read_text())
    assert info["config"]["batch_size"] == bare.batch_size
    assert info["preset"]["origins"]["n_critic"] == "keyword argument"


def test_an_unknown_preset_on_the_cli_writes_nothing(run_cli, tmp_path):
    code, out, err = run_cli(*_train(tmp_path, "a", "--preset", "toys"))
    assert code == 2 and not out
    assert err.strip().splitlines() == [
        "vegan: error: unknown preset 'toys' (did you mean 'toy'?); use one of toy, vectors, "
        "mnist, rgb32, celeba64, none"
    ]
    assert not (tmp_path / "a").exists()


def test_a_resume_keeps_its_preset(run_cli, tmp_path):
    assert run_cli(*_train(tmp_path, "a", "--set", "n_critic=1"))[0] == 0
    code, _, err = run_cli(*_train(tmp_path, "a", "--set", "n_critic=1", "--resume",
                                   "--preset", "none"))  # fmt: skip
    assert code == 2
    assert "preset cannot change on resume" in err and "trained with preset toy" in err


def test_show_prints_each_value_with_its_origin(run_cli):
    code, out, err = run_cli(
        "recipes", "--show", "wgan-gp", "--data", "toy:8gaussians", "--set", "lr=0.003"
    )
    assert code == 0, err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:2] == "  "}
    fam = P.get_preset("toy").values_for("wgan-gp")
    assert rows["batch_size"] == [str(fam["batch_size"]), "preset", "toy"]
    assert rows["lr"] == ["0.003", "--set"]
    assert rows["prior"] == ["gaussian", "default"]
    assert "family toy" in out and "preset toy:" in out
    code, out, _ = run_cli("recipes", "--show", "wgan-gp", "--data", "toy:8gaussians",
                           "--preset", "none")  # fmt: skip
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:2] == "  "}
    assert rows["batch_size"] == [str(get_recipe("wgan-gp").config().batch_size), "default"]
    assert "no preset" in out


def test_a_preset_length_applies_only_when_the_user_gives_none(extra_preset, tmp_path):
    """The toy preset's run length (steps) is used without --epochs/--steps, never over them."""
    toy = P.get_preset("toy")
    assert toy.steps["gan"] >= 1000  # the default 10 epochs (~300 steps) learn too little
    extra_preset("short", steps={"gan": 7})
    res = P.resolve("gan", TOY, "short")
    assert (res.steps, res.steps_from) == (7, "preset short")  # the named preset wins
    assert P.resolve("gan", TOY, "none").steps is None
    assert P.resolve("ae", TOY).steps is None  # a recipe the preset gives no length
    common = {"progress": False, "samples_every": 0}
    vegan.fit("gan", "toy:8gaussians", tmp_path / "a", preset="short", **common)
    info = json.loads((tmp_path / "a" / "run.json").read_text())
    assert (info["run"]["steps"], info["run"]["epochs"]) == (7, 0)
    assert info["preset"]["origins"]["steps"] == "preset short"
    assert [json.loads(x)["step"] for x in (tmp_path / "a" / "metrics.jsonl").open()][-1] == 7
    vegan.fit("gan", "toy:8gaussians", tmp_path / "b", preset="short", epochs=1, **common)
    info = json.loads((tmp_path / "b" / "run.json").read_text())
    assert (info["run"]["steps"], info["run"]["epochs"]) == (0, 1)
    assert info["preset"]["origins"]["steps"] == "length/seed argument"


def test_show_prints_the_preset_length(run_cli):
    code, out, err = run_cli("recipes", "--show", "gan", "--data", "toy:8gaussians")
    assert code == 0, err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:2] == "  "}
    assert rows["steps"] == [str(P.get_preset("toy").steps["gan"]), "preset", "toy"]
    assert rows["epochs"][0] == "0"
    code, out, _ = run_cli("recipes", "--show", "gan", "--data", "toy:8gaussians",
                           "--set", "epochs=2")  # fmt: skip
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:2] == "  "}
    assert rows["steps"] == ["0", "default"] and rows["epochs"] == ["2", "--set"]
