"""``vegan experiment``: names, errors, help."""

from __future__ import annotations

import pytest

from vegan.errors import ConfigError
from vegan.experiments import EXPERIMENTS, get_experiment, list_experiments


def test_unknown_name_names_the_closest(tmp_path, run_cli):
    code, out, err = run_cli("experiment", "theorm1", "--out", tmp_path / "x")
    assert code == 2
    assert "unknown experiment 'theorm1'" in err and "did you mean 'theorem1'" in err
    assert not (tmp_path / "x").exists()
    with pytest.raises(ConfigError):
        get_experiment("primal_dual")


def test_help_lists_every_experiment(capsys):
    from vegan.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["experiment", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in EXPERIMENTS:
        assert name in out
    assert "--quick" in out and "--json" in out


def test_every_experiment_has_the_interface():
    assert [n for n, _ in list_experiments()] == list(EXPERIMENTS)
    for name in EXPERIMENTS:
        mod = get_experiment(name)
        assert mod.NAME == name and mod.TITLE and mod.PAPER
        quick, full = mod.settings(True), mod.settings(False)
        assert set(quick) == set(full)


def test_output_is_a_file(tmp_path, run_cli):
    f = tmp_path / "file"
    f.write_text("x")
    code, _, err = run_cli("experiment", "remark1", "--out", f, "--quick")
    assert code == 2 and "not a folder" in err
