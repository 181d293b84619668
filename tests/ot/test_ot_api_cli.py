"""wasserstein() and `vegan distance`: conventions, results, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from vegan.errors import ConfigError, DataError, ShapeError
from vegan.ot import OTResult, wasserstein


@pytest.fixture
def samples():
    rng = np.random.default_rng(0)
    return rng.normal(size=(120, 4)), rng.normal(size=(90, 4)) + 1.0


def test_methods_and_conventions(samples):
    x, y = samples
    exact = wasserstein(x, y)
    assert isinstance(exact, float)
    # sinkhorn's transport cost is above the exact value and close at small epsilon
    sk = wasserstein(x, y, method="sinkhorn", epsilon_rel=0.005)
    assert exact <= sk <= exact * 1.01
    # sliced SW2^2 is a lower bound of W2^2 (each 1-D projection is a contraction)
    assert 0 < wasserstein(x, y, method="sliced") < exact
    assert 0 < wasserstein(x, y, "l2", method="sliced") < wasserstein(x, y, "l2")


def test_result_object_and_plan(samples):
    x, y = samples
    r = wasserstein(x, y, return_plan=True)
    assert isinstance(r, OTResult)
    assert (r.n_a, r.n_b, r.method, r.cost) == (120, 90, "exact", "l2sq")
    assert r.plan.shape == (120, 90) and r.seconds >= 0
    assert r.distance == pytest.approx(math.sqrt(r.value))
    rs = wasserstein(x, y, method="sinkhorn", epsilon=0.5, return_result=True)
    assert rs.info["converged"] and rs.info["epsilon"] == 0.5
    assert rs.info["entropic"] > rs.value and rs.plan is None


def test_input_types_shapes_and_devices(samples):
    x, y = samples
    ref = wasserstein(x, y)
    assert wasserstein(torch.from_numpy(x).float(), torch.from_numpy(y)) == pytest.approx(
        ref, rel=1e-5
    )
    assert wasserstein(x.reshape(120, 1, 2, 2), y.reshape(90, 2, 2)) == pytest.approx(ref)
    assert wasserstein(x.tolist(), y) == pytest.approx(ref)
    # 1-D arrays are points on the line
    assert wasserstein(np.array([0.0, 1.0]), np.array([2.0, 3.0]), "l2") == pytest.approx(2.0)
    assert wasserstein(np.array([0, 1]), np.array([2, 3]), "l2sq") == pytest.approx(4.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_tensors(samples):
    x, y = samples
    ref = wasserstein(x, y)
    xc, yc = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()
    for method in ("exact", "sinkhorn", "sliced"):
        v = wasserstein(xc, yc, method=method, epsilon_rel=0.005)
        assert v == pytest.approx(wasserstein(x, y, method=method, epsilon_rel=0.005), rel=1e-6)
    assert ref > 0


@pytest.mark.parametrize(
    ("x", "y", "err", "match"),
    [
        (np.zeros((3, 2)), np.zeros((3, 5)), ShapeError, "dimension"),
        (np.array([[0.0, np.nan]]), np.zeros((3, 2)), DataError, "NaN"),
        (np.zeros((3, 2)), np.array([[np.inf, 0.0]]), DataError, "NaN or inf"),
        (np.zeros((0, 2)), np.zeros((3, 2)), DataError, "empty"),
        (np.array(1.0), np.zeros((3, 1)), DataError, "scalar"),
        (np.array(["a", "b"]), np.zeros((2, 1)), DataError, "numeric"),
    ],
)
def test_bad_samples_raise_typed_errors(x, y, err, match):
    for method in ("exact", "sinkhorn", "sliced"):
        with pytest.raises(err, match=match):
            wasserstein(x, y, method=method)


def test_bad_options_name_the_closest(samples):
    x, y = samples
    with pytest.raises(ConfigError, match="did you mean 'sinkhorn'"):
        wasserstein(x, y, method="sinkorn")
    with pytest.raises(ConfigError, match="did you mean 'l1'"):
        wasserstein(x, y, cost="l11")
    with pytest.raises(ConfigError, match="sliced"):
        wasserstein(x, y, cost="l1", method="sliced")
    with pytest.raises(ShapeError, match="one weight per sample"):
        wasserstein(x, y, a=np.ones(3) / 3)


def test_errors_have_one_line_messages(samples):
    x, _ = samples
    for call in (
        lambda: wasserstein(x, np.zeros((3, 7))),
        lambda: wasserstein(x, x, method="nope"),
        lambda: wasserstein(x, x, a=-np.ones(120)),
    ):
        with pytest.raises((ConfigError, DataError)) as info:
            call()
        assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def files(tmp_path, samples):
    x, y = samples
    np.save(tmp_path / "a.npy", x.astype(np.float32))
    np.save(tmp_path / "b.npy", y)
    np.savez(tmp_path / "c.npz", x=y, other=np.zeros((2, 4)))
    np.save(tmp_path / "img.npy", np.zeros((10, 1, 3, 3)))
    np.save(tmp_path / "nan.npy", np.array([[np.nan, 0, 0, 0]]))
    return tmp_path


def test_cli_human_and_json(run_cli, files, samples):
    x, y = samples
    code, out, err = run_cli("distance", files / "a.npy", files / "b.npy")
    assert code == 0 and err == ""
    ref = wasserstein(x.astype(np.float32), y)
    assert out.startswith("W_c (l2sq, exact) = ") and "W2 = " in out and "n_a=120 n_b=90" in out
    code, out, _ = run_cli("distance", files / "a.npy", f"{files / 'c.npz'}:x", "--json")
    obj = json.loads(out)
    assert code == 0 and obj["value"] == pytest.approx(ref, rel=1e-9)
    assert obj["w2"] == pytest.approx(math.sqrt(ref), rel=1e-9)
    assert {"method", "cost", "n_a", "n_b", "seconds"} <= set(obj)
    code, out, _ = run_cli(
        "distance", files / "a.npy", files / "b.npy", "--cost", "l2", "--method", "sliced",
        "--projections", "20", "--seed", "3", "--json",
    )  # fmt: skip
    obj = json.loads(out)
    assert code == 0 and obj["method"] == "sliced" and obj["sw1"] == obj["value"]
    code, out, _ = run_cli(
        "distance", files / "a.npy", files / "b.npy", "--method", "sinkhorn", "--epsilon", "0.5"
    )
    assert code == 0 and "epsilon=0.5" in out


def test_cli_help_says_l2sq_is_w2_squared(run_cli):
    with pytest.raises(SystemExit) as info:
        run_cli("distance", "--help")
    assert info.value.code == 0


def test_cli_help_text(capsys):
    from vegan.cli import main

    with pytest.raises(SystemExit):
        main(["distance", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "W2 squared" in out and "l2sq" in out


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["a.npy", "img.npy"], "same space"),
        (["a.npy", "nan.npy"], "NaN"),
        (["a.npy", "missing.npy"], "does not exist"),
        (["a.npy", "b.npy", "--cost", "l2sqr"], "did you mean 'l2sq'"),
        (["a.npy", "b.npy", "--method", "sinkorn"], "did you mean 'sinkhorn'"),
        (["a.npy", "b.npy", "--method", "sliced", "--cost", "l1"], "sliced"),
        (["a.npy", "b.npy", "--method", "sinkhorn", "--epsilon", "-1"], "positive"),
        (["a.npy", "c.npz:nope"], "no array 'nope'"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(run_cli, files, args, match):
    before = sorted(p.name for p in files.iterdir())
    paths = [str(files / a) if a.endswith((".npy", ".npz")) or ".npz:" in a else a for a in args]
    code, out, err = run_cli("distance", *paths)
    assert code == 2 and out == ""
    assert err.startswith("vegan: error: ") and err.count("\n") == 1 and match in err
    assert sorted(p.name for p in files.iterdir()) == before


def test_cli_accepts_pots_cost_names(run_cli, files, samples):
    x, y = samples
    code, out, _ = run_cli("distance", files / "a.npy", files / "b.npy", "--cost", "euclidean")
    assert code == 0 and out.startswith("W_c (l2, exact) = ")
    code, _, err = run_cli("distance", files / "a.npy", files / "b.npy", "--cost", "sqeuclidian")
    assert code == 2 and "did you mean 'sqeuclidean', that is 'l2sq'" in err
