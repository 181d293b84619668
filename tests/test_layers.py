"""Imports point one way: each layer of the package uses only the layers below it.

Read from the source with ``ast`` (every ``import`` and ``from ... import``,
also those inside functions, which a lazy import would hide from a plain
import check). The picture, highest first (CONTRIBUTING.md, "Layers"):

    cli > api > track > experiments > eval > train > models > ot > nets, data, plots > io
        > parallel, resources > errors

Two layers on one floor may not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import vegan

SRC = Path(vegan.__file__).resolve().parent

#: Floor of each unit (a subpackage or a top-level module of vegan); higher may use lower.
FLOOR = {
    "vegan.errors": 0,
    "vegan.parallel": 1,
    "vegan.resources": 1,
    "vegan.io": 2,
    "vegan.nets": 3,
    "vegan.data": 3,
    "vegan.plots": 3,
    "vegan.ot": 4,
    "vegan.models": 5,
    "vegan.train": 6,
    "vegan.eval": 7,
    "vegan.experiments": 8,
    "vegan.track": 9,
    "vegan.api": 10,
    "vegan.cli": 11,
    "vegan.__main__": 12,
}


def _unit(module: str) -> str:
    """The subpackage or top-level module a dotted name belongs to ("vegan" for the root)."""
    parts = module.split(".")
    unit = ".".join(parts[:2])
    return unit if unit in FLOOR or (len(parts) > 2) else "vegan"


def imports(src: Path = SRC) -> list[tuple[str, str, str]]:
    """(importing module, imported module, file) for every vegan import in the package."""
    out = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            out += [(module, n, str(rel)) for n in names if n.split(".")[0] == "vegan"]
    return out


def test_every_unit_has_a_floor():
    units = {_unit(m) for m, _, _ in imports()} - {"vegan"}
    assert units <= set(FLOOR), f"units without a floor: {sorted(units - set(FLOOR))}"


def test_imports_point_down():
    wrong = []
    for module, target, path in imports():
        a, b = _unit(module), _unit(target)
        if a == b or b == "vegan":  # within a unit; the root holds only the version
            continue
        if a == "vegan":  # the root's lazy shortcuts
            continue
        if FLOOR[b] >= FLOOR[a]:
            wrong.append(f"{path}: {module} imports {target} ({a} floor {FLOOR[a]}, "
                         f"{b} floor {FLOOR[b]})")  # fmt: skip
    assert not wrong, "imports that point up or sideways:\n" + "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path):
    # The test above can fail: a models module importing train (even lazily) is seen.
    fake = tmp_path / "vegan" / "models"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("def f():\n    from vegan.train.loop import Trainer\n")
    found = imports(tmp_path / "vegan")
    assert found == [("vegan.models.bad", "vegan.train.loop.Trainer", "vegan/models/bad")]
    assert FLOOR[_unit(found[0][1])] > FLOOR[_unit(found[0][0])]
