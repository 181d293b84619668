"""`vegan export RUN --out DIR`, and the exported folder from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

TOY = [
    "--data", "toy:8gaussians", "--no-progress", "--set", "batch_size=200", "--set", "hidden=32",
    "--set", "checkpoint_every=20",
]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from vegan.cli import main

    out = tmp_path_factory.mktemp("cli-export") / "run"
    assert main(["train", "wae-mmd", *TOY, "--out", str(out), "--steps", "40"]) == 0
    return out


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_export_then_sample_from_the_folder(run, run_cli, tmp_path):
    code, out, err = run_cli("eval", run, "--n", "256")  # saves eval.json: the card reuses it
    assert code == 0, err
    before = _snapshot(run)
    dest = tmp_path / "models" / "wae"
    code, out, err = run_cli("export", run, "--out", dest)
    assert code == 0, err
    assert f"exported {run} to {dest}" in out
    assert "using the run's evaluation" in err
    assert _snapshot(run) == before  # the run is read, never written
    assert sorted(p.name for p in dest.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "samples.png",
    ]
    assert (dest / "samples.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((run / "eval.json").read_text())
    config = json.loads((dest / "config.json").read_text())
    assert config["evaluation"]["w2sq"] == saved["w2sq"] and config["evaluation"]["n"] == 256
    assert f"| {saved['w2sq']:.6g} |" in (dest / "README.md").read_text()
    # 'vegan sample' reads the folder as it reads the run.
    for source, name in ((run, "a.npy"), (dest, "b.npy")):
        code, _, err = run_cli(
            "sample", source, "--n", "9", "--seed", "3", "--out", tmp_path / name
        )
        assert code == 0, err
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.shape == (9, 2) and np.array_equal(a, b)


def test_no_eval(run, run_cli, tmp_path):
    code, _, err = run_cli("export", run, "--out", tmp_path / "m", "--no-eval")
    assert code == 0, err
    card = (tmp_path / "m" / "README.md").read_text()
    assert "not evaluated (exported with --no-eval)" in card and "(`w2sq`)" not in card
    assert "evaluation" not in json.loads((tmp_path / "m" / "config.json").read_text())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "{tmp}/nothing", "--out", "{tmp}/m"], "nothing"),
        (["export", "{run}", "--out", "{run}"], "is the run folder itself"),
        (["export", "{run}", "--out", "{tmp}/notes"], "not a vegan export"),
        (["export", "{run}", "--out", "{tmp}/m", "--step", "7"], "no checkpoint at step 7"),
        (["export", "{run}", "--out", "{tmp}/m", "--n", "1"], "at least 2"),
    ],
)
def test_bad_exports_exit_2_in_one_line_and_write_nothing(run, run_cli, tmp_path, args, message):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    before = _snapshot(tmp_path), _snapshot(run)
    argv = [a.format(tmp=tmp_path, run=run) for a in args]
    code, _, err = run_cli(*argv)
    assert code == 2
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert (_snapshot(tmp_path), _snapshot(run)) == before


def test_an_existing_export_needs_overwrite(run, run_cli, tmp_path):
    dest = tmp_path / "m"
    assert run_cli("export", run, "--out", dest, "--no-eval")[0] == 0
    code, _, err = run_cli("export", run, "--out", dest, "--no-eval", "--step", "20")
    assert code == 2 and "--overwrite" in err
    assert json.loads((dest / "config.json").read_text())["step"] == 40
    code, _, err = run_cli("export", run, "--out", dest, "--no-eval", "--step", "20", "--overwrite")
    assert code == 0, err
    assert json.loads((dest / "config.json").read_text())["step"] == 20


def test_a_damaged_export_is_one_line(run, run_cli, tmp_path):
    dest = tmp_path / "m"
    assert run_cli("export", run, "--out", dest, "--no-eval")[0] == 0
    with open(dest / "model.safetensors", "r+b") as f:
        f.truncate(100)
    code, _, err = run_cli("sample", dest, "--n", "4", "--out", tmp_path / "s.npy")
    assert code == 2 and "checksum" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.npy").exists()
