"""The new-recipe guide's penalty is right under torchrun: 2 ranks equal 1 process.

The guide's first code block (the energy-distance penalty and its recipe,
``docs/howto/new-recipe.md``) is written to a module; a launcher imports it
and runs ``vegan train``. Trained on 2 ranks with the global batch, the
weights equal those of one process (to float rounding): the penalty sees the
codes of every rank and draws its prior samples as one process would. A
penalty reading only its rank's codes gives a different objective, which
the last test shows this comparison detects.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from vegan.train.checkpoint import list_checkpoints

DOCS = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs"

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch.distributed is not available"
)

LAUNCH = """
import sys
sys.path.insert(0, {folder!r})
import guide_recipe  # noqa: F401  (registers wae-energy)
from vegan.cli import main
sys.exit(main())
"""

ARGS = ["train", "wae-energy", "--data", "toy:8gaussians", "--seed", "2", "--steps", "8",
        "--no-progress", "--set", "samples_every=0", "--set", "batch_size=64",
        "--set", "hidden=64"]  # fmt: skip


def _guide_module(codeblocks, folder, scope: str | None = None) -> None:
    blocks = codeblocks.extract(DOCS / "howto" / "new-recipe.md")
    code = next(b.code for b in blocks if b.lang == "python" and "class EnergyPenalty" in b.code)
    if scope is not None:  # a deliberately wrong variant: the penalty on this rank's codes only
        code = code.replace("EnergyPenalty(cfg.penalty_scope)", f"EnergyPenalty({scope!r})")
    (folder / "guide_recipe.py").write_text(code)
    (folder / "launch.py").write_text(LAUNCH.format(folder=str(folder)))


def _weights(out) -> dict:
    return load_file(list_checkpoints(out)[-1].with_suffix(".safetensors"))


def _train_one(folder, out) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(folder / "launch.py"), *ARGS, "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return _weights(out)


def _train_two(torchrun, folder, out) -> dict:
    done = torchrun(*ARGS, "--out", out, script=folder / "launch.py", timeout=300)
    assert done.returncode == 0, done.report()
    return _weights(out)


def _max_diff(a: dict, b: dict) -> float:
    keys = [k for k in a if k.startswith("model/")]
    return max((a[k].double() - b[k].double()).abs().max().item() for k in keys)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, codeblocks) -> dict:
    """The guide's recipe trained in one process, once for both tests.

    In one process the penalty's scope makes no difference (its codes are all
    the codes), so this is the reference of the wrong variant too.
    """
    folder = tmp_path_factory.mktemp("one")
    _guide_module(codeblocks, folder)
    return _train_one(folder, folder / "run")


def test_the_guides_penalty_on_two_ranks_equals_one_process(
    tmp_path, codeblocks, torchrun, one_process
):
    _guide_module(codeblocks, tmp_path)
    one = one_process
    two = _train_two(torchrun, tmp_path, tmp_path / "two")
    assert _max_diff(one, two) < 1e-5


def test_a_per_rank_penalty_is_caught_by_the_same_comparison(
    tmp_path, codeblocks, torchrun, one_process
):
    _guide_module(codeblocks, tmp_path, scope="local")
    one = one_process
    two = _train_two(torchrun, tmp_path, tmp_path / "two")
    assert _max_diff(one, two) > 1e-4
