"""Every row of the "Coming from POT" table of docs/ot.md gives POT's number (POT as oracle).

The table's first column is a POT call, the second the vegan call said to
give the same value; both are evaluated in the namespace of the Python block
that opens the section (the page's own code, run by the docs tests too).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ot = pytest.importorskip("ot")  # POT

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "ot.md"
SECTION = "## Coming from POT"


def _codeblocks():
    """docs/tools/codeblocks.py (the docs tests' block extractor), as a module."""
    name = "vegan_docs_codeblocks"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "docs/tools/codeblocks.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


def _section() -> tuple[str, list[tuple[str, str]]]:
    """The setup code and the (POT, vegan) rows of the migration section."""
    text = PAGE.read_text(encoding="utf-8")
    start = text.index(SECTION)
    first_line = text[:start].count("\n") + 1
    setup = next(
        b.code for b in _codeblocks().extract(PAGE) if b.lang == "python" and b.line > first_line
    )
    body = text[start:].split("\n## ", 1)[0]
    rows = []
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`") and cells[1].startswith("`"):
            rows.append((cells[0].strip("`"), cells[1].strip("`")))
    return setup, rows


SETUP, ROWS = _section()


def test_the_table_is_found_and_covers_the_toolkit():
    assert len(ROWS) >= 15
    used = " ".join(v for _, v in ROWS)
    for name in (
        "exact_ot",
        "exact_ot_from_cost",
        "exact_ot_batch",
        "sinkhorn(",
        "sinkhorn_from_cost",
        "sinkhorn_divergence",
        "sliced_wasserstein",
        "wasserstein_1d",
        "gaussian_w2",
        "wasserstein(",
        "cost_matrix",
    ):
        assert name in used, name


@pytest.mark.parametrize(("pot_call", "vegan_call"), ROWS, ids=[r[0][:60] for r in ROWS])
def test_row_gives_pots_value(pot_call, vegan_call):
    ns: dict = {}
    exec(compile(SETUP, f"{PAGE}:{SECTION}", "exec"), ns)  # noqa: S102 - the docs' own code
    want = eval(pot_call, ns)  # noqa: S307
    got = eval(vegan_call, ns)  # noqa: S307
    if isinstance(got, torch.Tensor):
        assert got.dim() == 0  # a torch call gives a tensor, as POT's does
    want = np.asarray(want.detach() if isinstance(want, torch.Tensor) else want, dtype=float)
    got = np.asarray(got.detach() if isinstance(got, torch.Tensor) else got, dtype=float)
    assert got.shape == want.shape
    assert np.all(np.isfinite(got)) and np.abs(want).max() > 0
    # exact solvers to rounding; Sinkhorn within its stopping rules (POT: 1,000
    # iterations or an L2 error of 1e-9; vegan: an L1 error of 1e-6)
    sinkhorn = re.search(r"sinkhorn|reg=", pot_call) is not None
    tol = 1e-6 if sinkhorn else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
