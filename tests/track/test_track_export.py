"""vegan.track.export: the exported folder is the model, alone; its card holds the run's numbers."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import torch
from safetensors.torch import load_file

import vegan
from vegan.errors import CheckpointError, OutputError
from vegan.eval.names import METRICS
from vegan.models.registry import get_recipe
from vegan.track.export import export_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "run"
    vegan.fit(
        "wae-mmd",
        "toy:8gaussians",
        out,
        steps=40,
        batch_size=200,  # 40 steps an epoch
        checkpoint_every=20,
        hidden=32,
        log_every=5,
        progress=False,
    )
    return out


def test_the_folder_alone_loads_and_samples_as_the_run(run, tmp_path):
    out = export_run(run, tmp_path / "m", evaluate=False)
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "samples.png",
    ]
    assert not list(tmp_path.glob(".m.*"))  # no temporary folder left beside it
    # Moved elsewhere, with the run folder out of reach, it still loads.
    moved = tmp_path / "far" / "away"
    shutil.copytree(out, moved)
    from_run, from_export = vegan.load(run), vegan.load(moved)
    a, b = from_run.state_dict(), from_export.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    x = from_run.sample(500, generator=torch.Generator().manual_seed(7))
    y = from_export.sample(500, generator=torch.Generator().manual_seed(7))
    assert torch.equal(x, y)
    weights = load_file(moved / "model.safetensors")
    assert weights.keys() == a.keys()
    config = json.loads((moved / "config.json").read_text())
    info = json.loads((run / "run.json").read_text())
    assert config["recipe"] == "wae-mmd" and config["sample_shape"] == [2]
    assert config["config"] == info["config"] and config["run"] == info["run"]
    assert config["vegan_version"] == vegan.__version__ and config["step"] == 40
    assert config["data"] == "toy:8gaussians" and config["n_train"] == 8000


def test_an_earlier_step(run, tmp_path):
    out = export_run(run, tmp_path / "m", step=20, evaluate=False)
    a, b = vegan.load(run, step=20).state_dict(), vegan.load(out).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((out / "config.json").read_text())["step"] == 20
    with pytest.raises(CheckpointError, match="holds the model of step 20, not step 40"):
        vegan.load(out, step=40)


def test_a_damaged_folder_is_refused(run, tmp_path):
    out = export_run(run, tmp_path / "m", evaluate=False)
    data = bytearray((out / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (out / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match the checksum"):
        vegan.load(out)


def _card_rows(card: str) -> list[tuple[str, float, float | None]]:
    """(metric key, model value, reference value) of each row of the card's evaluation table."""
    rows = []
    for key, value, ref in re.findall(r"\(`(\w+)`\) \| ([^|]+) \| ([^|]*) \|$", card, re.M):
        rows.append((key, float(value), float(ref.split()[0]) if ref.strip() else None))
    return rows


def test_model_card_numbers_equal_vegan_eval_json(run, run_cli, tmp_path):
    # A random encoder's codes come from the global generator: both commands
    # start from the same state, as two fresh processes would.
    torch.manual_seed(0)
    code, out, err = run_cli("eval", run, "--n", "256", "--json", "--no-save")
    assert code == 0, err
    expected = json.loads(out)
    # No eval.json in the run: the export evaluates the checkpoint as vegan eval does.
    torch.manual_seed(0)
    code, _, err = run_cli("export", run, "--out", tmp_path / "m", "--n", "256")
    assert code == 0, err
    card = (tmp_path / "m" / "README.md").read_text()
    rows = _card_rows(card)
    assert {"w2sq", "modes_covered", "high_quality"} <= {key for key, _, _ in rows}
    for key, value, ref in rows:
        assert value == pytest.approx(expected[key], rel=1e-5), key
        if ref is not None:
            assert ref == pytest.approx(expected[METRICS[key].reference], rel=1e-5), key
    assert "real vs real" in card
    saved = json.loads((tmp_path / "m" / "config.json").read_text())["evaluation"]
    assert {k: saved[k] for k, _, _ in rows} == {k: expected[k] for k, _, _ in rows}
    assert not (run / "eval.json").exists()  # the run is not changed
    # The card says what the model is.
    assert card.startswith("---\nlibrary_name: vegan\n")
    assert "# wae-mmd trained on toy:8gaussians" in card
    assert f"equation {get_recipe('wae-mmd').equation}" in card
    assert "- 40 steps (1 epoch)" in card and "n = 256 samples per side" in card
    assert "![samples of the model](samples.png)" in card


def test_output_folders_that_would_lose_files_are_refused(run, tmp_path):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not a vegan export"):
        export_run(run, other, evaluate=False)
    assert [p.name for p in other.iterdir()] == ["todo.txt"]
    with pytest.raises(OutputError, match="the run folder itself"):
        export_run(run, run, evaluate=False)
    export_run(run, tmp_path / "m", evaluate=False)
    with pytest.raises(OutputError, match="add --overwrite"):
        export_run(run, tmp_path / "m", evaluate=False)
    export_run(run, tmp_path / "m", step=20, evaluate=False, overwrite=True)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["step"] == 20
