"""Fixtures of the documentation tests: the code-block runner and a clean recipe registry."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def load_codeblocks():
    """docs/tools/codeblocks.py as a module (it lives with the docs, not in the package)."""
    name = "vegan_docs_codeblocks"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, DOCS / "tools" / "codeblocks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def codeblocks():
    return load_codeblocks()


@pytest.fixture
def docs_env(monkeypatch, tmp_path):
    """Quick mode, a headless plotting backend, and the recipe registry restored afterwards.

    Pages and examples may register recipes of their own (the new-recipe
    guide does); they must not leak into other tests of the same process.
    """
    from vegan.models import registry

    monkeypatch.setenv("VEGAN_DOCS_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    registry._load_all()
    recipes, aliases = dict(registry.RECIPES), dict(registry.ALIASES)
    yield tmp_path
    registry.RECIPES.clear()
    registry.RECIPES.update(recipes)
    registry.ALIASES.clear()
    registry.ALIASES.update(aliases)
