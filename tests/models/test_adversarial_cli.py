"""The adversarial and dual recipes from the command line: list, train, resume, sample."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from vegan.train.checkpoint import list_checkpoints

NEW = ("aae", "wae-gan", "avb", "gan", "wgan", "wgan-gp")

#: Tiny networks so that each run takes a second.
TINY = {
    "aae": ["--set", "adv_hidden=16", "--set", "adv_depth=1"],
    "wae-gan": ["--set", "adv_hidden=16", "--set", "adv_depth=1"],
    "avb": ["--set", "hidden=16", "--set", "ac_samples=4"],
    "gan": [],
    "wgan": ["--set", "critic_boost=false"],
    "wgan-gp": [],
}


def test_recipes_lists_every_recipe_and_the_pot_alias(run_cli):
    code, out, _ = run_cli("recipes", "--show", "pot")
    assert code == 0 and out.startswith("wae-gan") and "adv_lr" in out and "prior_trick" in out
    code, out, _ = run_cli("recipes")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    for name in NEW:
        assert name in lines, name
    assert "(pot)" in lines["wae-gan"]
    assert "dual" in lines["wgan-gp"] and "primal" in lines["avb"]
    code, out, _ = run_cli("recipes", "--show", "wgan-gp")
    assert code == 0 and "gp_weight" in out and "n_critic" in out


def test_recipes_shows_the_alias_in_a_fresh_process():
    out = subprocess.run(
        [sys.executable, "-m", "vegan", "recipes"], capture_output=True, text=True, check=True
    ).stdout
    assert "wae-gan (pot)" in out


@pytest.mark.parametrize("recipe", NEW)
def test_train_then_sample_on_mnist(run_cli, tmp_path, recipe):
    run = tmp_path / "run"
    code, _, err = run_cli(
        "train",
        recipe,
        "--data",
        "mnist",
        "--out",
        run,
        "--steps",
        "2",
        "--set",
        "width=8",
        "--set",
        "batch_size=16",
        "--no-progress",
        *TINY[recipe],
    )
    assert code == 0, err
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["step"] == 2
    assert all(np.isfinite(v) for k, v in record.items() if "/" in k)
    code, _, err = run_cli("sample", run, "--n", "4", "--out", tmp_path / "s.npy")
    assert code == 0, err
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (4, 1, 28, 28) and 0 <= s.min() and s.max() <= 1


def test_pot_alias_trains_wae_gan(run_cli, tmp_path):
    run = tmp_path / "run"
    args = ["train", "pot", "--data", "toy:8gaussians", "--out", run, "--steps", "2"]
    code, _, err = run_cli(*args, "--set", "adv_hidden=8", "--no-progress")
    assert code == 0, err
    assert json.loads((run / "run.json").read_text())["recipe"] == "wae-gan"


def _final_tensors(run):
    path = list_checkpoints(run)[-1]
    meta = json.loads(path.read_text())
    return meta["step"], load_file(path.parent / meta["tensors"])


@pytest.mark.parametrize(
    ("recipe", "extra"),
    [
        ("wgan-gp", ["--set", "hidden=32", "--set", "depth=2"]),
        ("wae-gan", ["--set", "hidden=32", "--set", "depth=2", "--set", "adv_hidden=32"]),
        ("avb", ["--set", "hidden=32", "--set", "depth=2"]),
    ],
)
def test_resume_is_bit_identical(run_cli, tmp_path, recipe, extra):
    # 40 steps per epoch at batch 200 on 8,000 items: the split at 30 lies
    # inside an epoch and the run crosses an epoch boundary after it (the
    # critic's extra steps draw extra batches, which the sampler state keeps).
    # --preset none: a constant learning rate (the toy preset's cosine decay depends
    # on the total, which this test extends from 30 to 60 steps)
    base = ["train", recipe, "--data", "toy:8gaussians", "--seed", "3", "--no-progress"]
    base += ["--preset", "none"]
    base += ["--set", "batch_size=200", "--set", "samples_every=0", *extra]
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli(*base, "--out", one, "--steps", "60")[0] == 0
    assert run_cli(*base, "--out", two, "--steps", "30")[0] == 0
    assert _final_tensors(two)[0] == 30
    code, _, err = run_cli(*base, "--out", two, "--steps", "60", "--resume")
    assert code == 0, err
    (s1, t1), (s2, t2) = _final_tensors(one), _final_tensors(two)
    assert s1 == s2 == 60
    assert t1.keys() == t2.keys()
    players = {k.split("/")[1] for k in t1 if k.startswith("optim/")}
    assert len(players) == 2, players  # both players' optimizer states are saved
    for key in t1:
        assert torch.equal(t1[key], t2[key]), key


class _BreaksAfter(torch.nn.Module):
    """A critic that returns NaN from its ``n``-th call on (a divergence on cue)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.net, self.calls, self.n = torch.nn.Linear(2, 1), 0, n

    def forward(self, x):
        self.calls += 1
        out = self.net(x)
        return out * float("nan") if self.calls >= self.n else out


def test_divergence_names_the_player_and_keeps_the_last_checkpoint(tmp_path):
    import vegan
    from vegan.errors import DivergenceError

    run = tmp_path / "run"
    # wgan-gp calls the critic 3 times per critic step (real, fake,
    # interpolates), 5 steps per iteration, plus once per generator step: 16
    # calls per iteration after the 4 of fit's shape probe. Call 118 falls in
    # iteration 8; checkpoints were written at steps 3 and 6.
    with pytest.raises(DivergenceError, match=r"player 'critic' at step 8;.*step-00000006"):
        vegan.fit(
            "wgan-gp",
            "toy:8gaussians",
            run,
            steps=20,
            progress=False,
            nets={"critic": _BreaksAfter(8 * 16 - 10)},
            checkpoint_every=3,
            samples_every=0,
        )
    assert [p.name for p in list_checkpoints(run)][-1] == "step-00000006.json"
