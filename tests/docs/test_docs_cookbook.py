"""The cookbook page agrees with the code: its recipe table, its defaults, its figures.

* Every registered recipe has a row; every row names a registered recipe
  (or alias), with the side and the equation number the registry gives.
* Every ``key=value`` of the "defaults" column equals the recipe's default
  for the built-in MNIST, as ``vegan recipes --show RECIPE`` prints it.
* The figure blocks are what ``docs/make_figures.py`` writes from
  ``docs/figures/cookbook/budgets.json`` (so each figure shows the command
  that made it), and each figure file exists.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cookbook.md"
MNIST_SHAPE = (1, 28, 28)


def _table_rows() -> list[list[str]]:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("## The recipes", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            rows.append(cells)
    return rows


def _recipe_of(cell: str) -> str:
    return re.match(r"`([\w-]+)`", cell)[1]


def _make_figures():
    name = "vegan_docs_make_figures"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_every_recipe_has_a_row_with_its_side_and_equation():
    from vegan.models import get_recipe, list_recipes

    rows = _table_rows()
    named = {get_recipe(_recipe_of(r[0])).name: r for r in rows}
    assert sorted(named) == sorted(r.name for r in list_recipes()), "table and registry differ"
    for name, row in named.items():
        r = get_recipe(name)
        assert row[1] == r.side, f"{name}: side {row[1]!r}, registry says {r.side!r}"
        eq = re.match(r"\((\d+)\)", r.equation)[1]
        assert row[5] == f"({eq})", f"{name}: equation {row[5]}, registry says {r.equation!r}"


def _parse_defaults(cell: str) -> dict[str, str]:
    inner = cell.strip().strip("`")
    return dict(item.strip().split("=", 1) for item in inner.split(",") if item.strip())


@pytest.mark.parametrize("row", _table_rows(), ids=lambda r: _recipe_of(r[0]))
def test_defaults_column_matches_the_code(row):
    from vegan.models import get_recipe, make_config

    name = get_recipe(_recipe_of(row[0])).name
    cfg = dataclasses.asdict(make_config(name, MNIST_SHAPE))
    shown = _parse_defaults(row[6])
    assert shown, f"{name}: empty defaults cell"
    for key, text in shown.items():
        assert key in cfg, f"{name}: the page shows unknown option {key!r}"
        actual = cfg[key]
        if isinstance(actual, bool):
            assert text.lower() == str(actual).lower(), (name, key, text, actual)
        elif isinstance(actual, (int, float)):
            assert math.isclose(float(text), float(actual), rel_tol=1e-12), (
                name,
                key,
                text,
                actual,
            )
        else:
            assert text == str(actual), (name, key, text, actual)


def test_figure_blocks_are_what_make_figures_writes(tmp_path):
    mf = _make_figures()
    record = json.loads(mf.RECORD.read_text()) if mf.RECORD.exists() else {}
    copy = tmp_path / "cookbook.md"
    copy.write_text(PAGE.read_text(encoding="utf-8"), encoding="utf-8")
    assert mf.update_page(record, copy) == PAGE.read_text(encoding="utf-8"), (
        "docs/cookbook.md is out of date: run python docs/make_figures.py --page-only"
    )
    blocks = re.findall(r"<!-- figures: ([\w-]+) -->", PAGE.read_text(encoding="utf-8"))
    assert sorted(blocks) == sorted(mf.RECIPES), "one figure block per recipe"


def test_recorded_figures_exist_and_match_their_commands():
    mf = _make_figures()
    if not mf.RECORD.exists():
        pytest.skip("no figures made yet (python docs/make_figures.py)")
    record = json.loads(mf.RECORD.read_text())
    for key, entry in record.items():
        dataset, recipe = key.split("-", 1)
        train, fig = mf.commands(dataset, recipe)
        assert (ROOT / entry["figure"]).is_file(), f"missing figure {entry['figure']}"
        assert entry["train"] == " ".join(train), f"{key}: budgets.json has another command"
