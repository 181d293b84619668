"""The documentation builds with warnings as errors (``mkdocs build --strict``).

Strict mode turns every warning into a failure: a broken link between
pages, a missing page of the navigation, an API reference (``::: vegan...``)
that mkdocstrings cannot resolve, a docstring it cannot parse. Needs the
``docs`` extra (mkdocs, mkdocs-material, mkdocstrings[python]).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _have_mkdocs() -> str | None:
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        try:
            __import__(module)
        except ImportError:
            return module
    return None


def test_docs_build_strict(tmp_path):
    missing = _have_mkdocs()
    if missing:
        pytest.skip(
            f"{missing} is not installed: pip install -e '.[docs]' "
            "(mkdocs, mkdocs-material, mkdocstrings[python]) to build the docs"
        )
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(site),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:] + proc.stdout[-2000:]
    assert (site / "index.html").is_file()
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    for command in ("vegan train", "vegan distance", "vegan eval", "--resume"):
        assert command in cli, f"the generated CLI reference lacks '{command}'"
    api = (site / "api" / "ot" / "index.html").read_text(encoding="utf-8")
    assert "wasserstein" in api and "sinkhorn_divergence" in api


def test_cli_reference_covers_every_command():
    """The hook renders one section per subcommand of the real parser."""
    import argparse
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "docs" / "hooks" / "cli_reference.py"
    )
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    text = hook.render()
    from vegan.cli import build_parser

    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name in action.choices:
                assert f"## vegan {name}\n" in text
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert hook.MARKER in page
