"""Out of the box on the 2-D toys: each recipe the toy preset fixes learns the modes.

Slow (minutes each): run with ``pytest -m slow tests/models/test_quality_slow.py``.
The user's path: ``vegan train RECIPE --data toy:NAME --steps N`` with
no option but the length and the seed (the toy preset supplies the rest), then ``vegan
eval --json``: modes covered and the share of high-quality samples (within 3
std of a mode) of 2,000 samples. The floors sit under what seed 0 measured
(BENCHMARKS.md, "Quality on toy data"); the bare defaults (``--preset none``)
cover at most 1 of the 8 modes (and of the grid's 25, at most 6) for every
recipe here, so each floor can fail.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

#: (recipe, data, steps, modes at least, high-quality share at least, seed). Seed 1 of
#: the VAE on the grid is one whose posterior collapsed onto the prior (0/25 modes)
#: before the preset's KL annealing (lam_warmup); with it, 25/25 at 67.7 %. WAE-GAN's
#: and AVB's floors sit under their preset rows (8/8 at 91.4 %, 25/25 at 64.0 %, 7/8 at
#: 39.1 %); the grid's target (70 %) and the ring's for AVB (80 %) are not met yet. The
#: AAE's floor sits under its seed 0 (8/8 at 82.5 %; the defaults: 0/8 at 1 %).
CASES = [
    ("gan", "toy:8gaussians", 3000, 8, 0.80, 0),
    ("gan", "toy:25gaussians", 3000, 24, 0.55, 0),
    ("wgan-gp", "toy:8gaussians", 1000, 8, 0.80, 0),
    ("wae-mmd", "toy:8gaussians", 10000, 8, 0.80, 0),
    ("swae", "toy:8gaussians", 10000, 8, 0.75, 0),
    ("sinkhorn-wae", "toy:8gaussians", 5000, 8, 0.75, 0),
    ("vae", "toy:8gaussians", 10000, 8, 0.50, 0),
    ("vae", "toy:25gaussians", 10000, 24, 0.60, 1),
    ("swae", "toy:25gaussians", 20000, 24, 0.75, 0),
    ("sinkhorn-wae", "toy:25gaussians", 10000, 24, 0.70, 0),
    ("wgan-gp", "toy:25gaussians", 3000, 24, 0.80, 0),
    ("wae-gan", "toy:8gaussians", 10000, 8, 0.80, 0),
    ("wae-gan", "toy:25gaussians", 10000, 24, 0.55, 0),
    ("avb", "toy:8gaussians", 10000, 6, 0.30, 0),
    ("aae", "toy:8gaussians", 10000, 8, 0.75, 0),
]


@pytest.mark.parametrize(("recipe", "data", "steps", "modes", "hq", "seed"), CASES)
def test_the_toy_preset_learns_the_modes(run_cli, tmp_path, recipe, data, steps, modes, hq, seed):
    out = tmp_path / "run"
    code, _, err = run_cli(
        "train", recipe, "--data", data, "--steps", steps, "--seed", seed, "--out", out,
        "--no-progress", "--set", "samples_every=0",
    )  # fmt: skip
    assert code == 0, err
    code, text, err = run_cli("eval", out, "--json", "--no-save")
    assert code == 0, err
    metrics = json.loads(text)
    assert metrics["modes_covered"] >= modes, metrics
    assert metrics["high_quality"] >= hq, metrics
