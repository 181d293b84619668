"""Every code block of the documentation and every script of examples/ runs.

Pages run in quick mode (``VEGAN_DOCS_QUICK=1``, see docs/tools/codeblocks.py
for the exact rewrites): training is cut to a few steps, evaluation to
n = 256, so the whole set takes well under two minutes on two CPU cores.
Blocks marked ``<!-- slow -->`` run only with ``-m slow``.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p for p in (ROOT / "docs").rglob("*.md"))
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_page_code_blocks_run(page, codeblocks, docs_env):
    blocks = codeblocks.extract(page)
    log = codeblocks.run_blocks(blocks, docs_env)
    print("\n".join(log))


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_page_code_blocks_run_with_slow_ones(page, codeblocks, docs_env):
    blocks = codeblocks.extract(page)
    if not any(b.marker == "slow" for b in blocks):
        pytest.skip("no block marked slow on this page")
    print("\n".join(codeblocks.run_blocks(blocks, docs_env, include_slow=True)))


@pytest.mark.parametrize("script", EXAMPLES, ids=_ids(EXAMPLES))
def test_example_script_runs(script, docs_env, monkeypatch):
    monkeypatch.chdir(docs_env)
    monkeypatch.setattr(sys, "argv", [str(script)])
    runpy.run_path(str(script), run_name="__main__")


def test_there_are_pages_and_examples():
    assert len(PAGES) >= 10
    assert len(EXAMPLES) >= 3


def test_runner_sees_every_kind_of_block(codeblocks, tmp_path):
    """The extractor finds markers, joins continuation lines and tells vegan blocks apart."""
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n<!-- skip: needs a GPU -->\n```bash\nvegan train x --device cuda\n```\n\n"
        "```bash\nvegan recipes \\\n  --show vae   # one option list\n```\n\n"
        "```bash\npip install vegan-cookbook\n```\n\n"
        "<!-- file: a.toml -->\n```toml\nlam = 2\n```\n\n"
        "```python\nx = 1\n```\n",
        encoding="utf-8",
    )
    blocks = codeblocks.extract(page)
    assert [b.marker for b in blocks] == ["skip", "", "", "file", ""]
    assert blocks[0].arg == "needs a GPU"
    assert blocks[1].vegan_commands() == ["vegan recipes --show vae   # one option list"]
    assert blocks[2].vegan_commands() is None
    assert codeblocks.quicken("vegan train r --epochs 40 && fit(epochs=5, steps=60)") == (
        "vegan train r --steps 4 && fit(steps=1, steps=3)"
    )
    assert (
        codeblocks.quicken("vegan eval runs/a   # measure")
        == "vegan eval runs/a --n 256  # measure"
    )
    assert codeblocks.quicken("vegan report runs/a --n 2000 --out r.html") == (
        "vegan report runs/a --n 256 --out r.html"
    )
    assert (
        codeblocks.quicken("vegan experiment prop2 --out p")
        == "vegan experiment prop2 --out p --quick"
    )
    assert codeblocks.quicken("load_dataset('mnist', n=2000)") == "load_dataset('mnist', n=2000)"


def test_runner_reports_the_failing_block(codeblocks, tmp_path, docs_env):
    page = tmp_path / "bad.md"
    page.write_text("```python\nraise ValueError('boom')\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"bad.md:1: python block raised ValueError"):
        codeblocks.run_blocks(codeblocks.extract(page), docs_env)
    page.write_text("```bash\nvegan train no-such-recipe --data mnist --out r\n```\n")
    with pytest.raises(AssertionError, match="exited 2, expected 0"):
        codeblocks.run_blocks(codeblocks.extract(page), docs_env)
