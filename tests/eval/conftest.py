"""Fixtures shared by the evaluation tests: a feature cache and tiny trained runs.

The classifier cache lives in one folder per pytest invocation, shared by
xdist workers (vegan's file lock makes the second worker wait for the
first). The tiny runs are trained once per worker (session scope).
"""

from __future__ import annotations

import os

import pytest

#: Tiny MLP networks: a run trains in a second or two.
TINY = {"backbone": "mlp", "hidden": 32, "depth": 1, "batch_size": 50}


@pytest.fixture(scope="session", autouse=True)
def feature_cache(tmp_path_factory, request):
    base = tmp_path_factory.getbasetemp()
    worker = getattr(request.config, "workerinput", None)  # set under pytest-xdist
    root = base if worker is None else base.parent
    cache = root / "vegan-eval-cache"
    cache.mkdir(exist_ok=True)
    old = os.environ.get("VEGAN_CACHE_DIR")
    os.environ["VEGAN_CACHE_DIR"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("VEGAN_CACHE_DIR", None)
    else:
        os.environ["VEGAN_CACHE_DIR"] = old


def _train(folder, recipe, data, steps=3, **sets):
    import vegan

    vegan.fit(recipe, data, folder, steps=steps, sets={**TINY, **sets}, progress=False)
    return folder


@pytest.fixture(scope="session")
def mnist_run(tmp_path_factory):
    """A wae-mmd run on the built-in MNIST (3 steps, MLP networks)."""
    return _train(tmp_path_factory.mktemp("runs") / "wae", "wae-mmd", "mnist", log_every=1)


@pytest.fixture(scope="session")
def vae_run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("runs") / "vae", "vae", "mnist")


@pytest.fixture(scope="session")
def avb_run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("runs") / "avb", "avb", "mnist")


@pytest.fixture(scope="session")
def toy_gan_run(tmp_path_factory):
    """A dual recipe on a toy mixture (no encoder; modes are counted)."""
    return _train(tmp_path_factory.mktemp("runs") / "gan", "gan", "toy:8gaussians")
