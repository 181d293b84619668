"""Evaluation and reports as a new user meets them (issue 19).

``--n`` defaults to min(2000, the held-out size) and the output says which n
was used; an explicit ``--n`` that is too large stays an error. A report
shows the notes that apply to its data, and every option that is not the
recipe's default. (The own-data guide's ring, end to end:
``tests/docs/test_docs_first_hour.py``.)
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from vegan.errors import ConfigError
from vegan.eval.evaluation import DEFAULT_N, choose_n, n_note


@pytest.mark.parametrize(
    ("asked", "available", "used"),
    [
        (None, 1000, 1000),  # the own-data guide's ring: 5,000 points, a fifth held out
        (None, 2000, 2000),  # the built-in MNIST's held-out split
        (None, 10_000, 2000),
        (None, None, 2000),  # toy data: fresh draws, as many as asked
        (500, 1000, 500),
        (1000, 1000, 1000),
        (5000, None, 5000),
    ],
)
def test_choose_n(asked, available, used):
    assert DEFAULT_N == 2000
    assert choose_n(asked, available, "data") == used


def test_an_explicit_n_above_the_held_out_size_is_an_error(run_cli, mnist_run):
    with pytest.raises(ConfigError, match=r"has 1000 samples, fewer than n=1001; use n=1000"):
        choose_n(1001, 1000, "ring.npy")
    code, _, err = run_cli("eval", mnist_run, "--n", "2001", "--no-features")
    assert code == 2 and "has 2000 samples, fewer than --n 2001; use --n 2000 or less" in err


def test_the_note_says_which_n_and_why():
    assert n_note(None, 1000) == (
        "n = 1000, the whole held-out split (the default n is min(2000, the held-out size))"
    )
    assert n_note(None, 2000) == "n = 2000 (the default n is min(2000, the held-out size))"
    assert n_note(300, 300) == "n = 300 (asked)"


def test_eval_prints_the_n_it_used(run_cli, mnist_run):
    code, out, err = run_cli("eval", mnist_run, "--no-features", "--no-save", "--n", "100")
    assert code == 0, err
    assert "n = 100 (asked)" in out and "n = 100 (asked)" in err


def _report(shape, metrics, **info):
    from vegan.eval.evaluation import Evaluation

    ev = Evaluation(run="r", recipe="wae-mmd", dataset="d", n=10, seed=0)
    ev.metrics.update(metrics)
    from vegan.eval.report_model import RunReport

    return RunReport("r", Path("r"), {"sample_shape": list(shape), **info}, ev)


def test_report_notes_fit_the_data():
    from vegan.eval.report_model import FEATURES_NOTE, MODES_NOTE, PIXEL_NOTE, notes

    ring = notes([_report((2,), {"w2sq": 0.1})])
    assert PIXEL_NOTE not in ring and FEATURES_NOTE not in ring
    assert not any("MNIST" in note or "blur" in note for note in ring)
    toy = notes([_report((2,), {"modes_covered": 8})])
    assert MODES_NOTE in toy and PIXEL_NOTE not in toy
    mnist = notes([_report((1, 28, 28), {"fd_mnist_cnn": 3.0})])
    assert PIXEL_NOTE in mnist and FEATURES_NOTE in mnist


def test_report_options_show_every_non_default():
    from vegan.eval.report_model import options_text

    info = {
        "recipe": "wae-mmd",
        "config": {"lam": 10.0, "latent_dim": 2, "hidden": 16, "prior": "gaussian"},
        "run": {"steps": 200, "epochs": 0, "log_every": 50},
        "preset": {"origins": {"hidden": "--set", "latent_dim": "--set"}},
    }
    text = options_text(info)
    # lam=10 and prior=gaussian are the recipe's defaults; epochs=0 is the unused length.
    assert text.startswith("latent_dim=2, hidden=16 (--set)"), text
    assert "lam" not in text and "prior" not in text and "epochs" not in text
    assert text.endswith("steps=200"), text
    assert options_text({"recipe": "wae-mmd", "config": {}, "run": {"epochs": 3}}) == "epochs=3"


def test_options_of_a_user_recipe_that_are_not_defaults(monkeypatch):
    """A user's option (cov_weight) set away from its default shows; at its default it does not."""
    from dataclasses import dataclass

    from vegan.eval.report_model import options_text
    from vegan.models import registry
    from vegan.models.config import opt
    from vegan.models.primal import AutoEncoderConfig

    @dataclass
    class MomentsConfig(AutoEncoderConfig):
        cov_weight: float = opt(1.0, "weight of the covariance gap")

    registry._load_all()
    fake = SimpleNamespace(name="hour-moments", config=MomentsConfig)
    monkeypatch.setitem(registry.RECIPES, "hour-moments", fake)
    info = {"recipe": "hour-moments", "config": {"cov_weight": 2.0}, "run": {"steps": 5}}
    info["preset"] = {"origins": {"cov_weight": "--set"}}
    assert options_text(info) == "cov_weight=2.0 (--set); steps=5"
    info["config"]["cov_weight"] = 1.0
    assert options_text(info) == "steps=5"
