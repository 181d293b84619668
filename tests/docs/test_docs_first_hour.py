"""The guides a new user follows say what now happens (issue 19).

The own-data guide's ring, as a new user runs it: ``vegan eval runs/ring`` with no ``--n``.

The page test (``test_docs_examples.py``) runs every block in quick mode,
which adds ``--n 256`` to ``vegan eval`` lines; that hid issue 19's first
stumble (the default ``--n 2000`` against a held-out fifth of 1,000 points).
Here the guide's Python block makes its 5,000-point ring, ``vegan train``
runs shortened as quick mode shortens it, and ``vegan eval`` / ``vegan
report`` run exactly as the page writes them.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "howto" / "own-data.md"


def test_the_guides_ring_evaluates_with_its_own_held_out_size(codeblocks, docs_env, monkeypatch):
    blocks = codeblocks.extract(PAGE)
    make = next(b for b in blocks if b.lang == "python" and "ring.npy" in b.code)
    cli = next(b for b in blocks if (b.vegan_commands() or [""])[-1] == "vegan eval runs/ring")
    monkeypatch.chdir(docs_env)
    namespace: dict = {}
    exec(compile(make.code, make.where, "exec"), namespace)  # noqa: S102 - the page's own code
    assert namespace["ring"].shape == (5000, 2)

    for command in cli.vegan_commands():
        if command.startswith("vegan train"):
            command = codeblocks.quicken(command)  # the length only: --steps 1000 -> --steps 4
        status, err = codeblocks.run_vegan(command)
        assert status == 0, (command, err)
    # 5,000 points, every fifth held out (index % 5 == 4): 1,000 held-out points.
    assert "n = 1000, the whole held-out split" in err, err
    saved = json.loads((docs_env / "runs" / "ring" / "eval.json").read_text())
    assert saved["n"] == 1000

    # An explicit --n above the held-out size stays an error that says what works.
    status, err = codeblocks.run_vegan("vegan eval runs/ring --n 1500")
    assert status == 2 and "has 1000 samples, fewer than --n 1500; use --n 1000 or less" in err

    # The report takes the same n, so it reuses eval.json instead of evaluating again.
    status, err = codeblocks.run_vegan("vegan report runs/ring --out ring.md")
    assert status == 0, err
    assert "evaluating" not in err, err
    text = (docs_env / "ring.md").read_text(encoding="utf-8")
    assert "MNIST classifier" not in text and "Pixel-space" not in text, text[:2000]
    assert "latent_dim=2 (--set)" in text, text[:2000]


def test_the_guides_say_what_now_happens():
    howto = ROOT / "docs" / "howto"
    own = PAGE.read_text(encoding="utf-8")
    assert "min(2000, the held-out size)" in own and "looks transposed" in own
    recipe = (howto / "new-recipe.md").read_text(encoding="utf-8")
    for words in ("--import my_recipes.py", "VEGAN_IMPORT", '"vegan.recipes"', "recipe_module"):
        assert words in recipe, words
    assert "python -c" not in recipe  # the old workaround
    resume = (howto / "resume.md").read_text(encoding="utf-8")
    assert "nothing to do: the run is already at step" in resume
    assert "runs nearby" in resume


def test_the_documented_messages_are_the_real_ones(codeblocks, docs_env, monkeypatch):
    """The ``text`` blocks that quote an error of the own-data and resume guides."""
    import numpy as np

    monkeypatch.chdir(docs_env)
    rng = np.random.default_rng(0)
    np.save("ring-columns.npy", rng.normal(size=(2, 5000)).astype(np.float32))
    _, err = codeblocks.run_vegan(
        "vegan train wae-mmd --data ring-columns.npy --out runs/ring-columns --steps 4"
    )
    assert _quoted(PAGE, "looks transposed") == " ".join(err.split())

    resume = ROOT / "docs" / "howto" / "resume.md"
    base = "vegan train wae-mmd --data toy:8gaussians --set hidden=16 --no-progress"
    assert codeblocks.run_vegan(f"{base} --out runs/r --steps 3")[0] == 0
    _, err = codeblocks.run_vegan(f"{base} --out runs/rr --steps 3 --resume")
    assert _quoted(resume, "runs nearby") == " ".join(err.split())


def test_the_new_recipe_guides_module_from_the_command_line(codeblocks, docs_env, monkeypatch):
    """The guide's my_recipes.py through --import, then its run without it: the quoted line."""
    import sys

    from vegan.models import registry

    page = ROOT / "docs" / "howto" / "new-recipe.md"
    module = next(b for b in codeblocks.extract(page) if b.marker == "file")
    assert module.arg == "my_recipes.py"
    monkeypatch.chdir(docs_env)
    Path(module.arg).write_text(module.code, encoding="utf-8")
    monkeypatch.delitem(sys.modules, "my_recipes", raising=False)
    train = (
        "vegan --import my_recipes.py train wae-moments --data toy:8gaussians --out runs/moments "
        "--steps 3 --set cov_weight=2 --set hidden=16 --no-progress"
    )
    status, err = codeblocks.run_vegan(train)
    assert status == 0, err
    registry.RECIPES.pop("wae-moments")  # a new shell: the module is not imported
    del sys.modules["my_recipes"]
    status, err = codeblocks.run_vegan("vegan eval runs/moments")
    assert status == 2
    assert _quoted(page, "which is not imported") == "$ vegan eval runs/moments " + " ".join(
        err.split()
    )


def _quoted(page: Path, words: str) -> str:
    """The ``text`` block of ``page`` holding ``words``, on one line."""
    import sys

    codeblocks = sys.modules["vegan_docs_codeblocks"]
    block = next(b for b in codeblocks.extract(page) if b.lang == "text" and words in b.code)
    return " ".join(block.code.split())
