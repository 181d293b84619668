"""Theorem 1 on empirical measures (both sides are linear programs), and the quick run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vegan.experiments.theorem1 import discrete_identity

linprog = pytest.importorskip("scipy.optimize").linprog


def _lp_oracle(a: np.ndarray, b: np.ndarray, C: np.ndarray) -> float:
    """min <P, C> over P >= 0 with marginals (a, b), by SciPy's HiGHS (an independent solver)."""
    n, m = C.shape
    rows = []
    for i in range(n):
        r = np.zeros((n, m))
        r[i, :] = 1
        rows.append(r.ravel())
    for j in range(m):
        r = np.zeros((n, m))
        r[:, j] = 1
        rows.append(r.ravel())
    res = linprog(
        C.ravel(),
        A_eq=np.array(rows),
        b_eq=np.concatenate([a, b]),
        bounds=(0, None),
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    assert res.status == 0
    return float(res.fun)


def _cost(x, y, cost):
    d = x[:, None, :] - y[None, :, :]
    return (d**2).sum(-1) if cost == "l2sq" else np.sqrt((d**2).sum(-1))


GENERATORS = {
    # many-to-one: codes on a small integer grid, |z| and cos z merge +-z
    "abs-cos": lambda z: np.concatenate([np.abs(z[:, :1]), np.cos(z[:, :1])], axis=1),
    # injective linear map
    "linear": lambda z: z @ np.array([[1.0, 0.5], [-0.3, 2.0]]),
    # constant: every code has the same image
    "constant": lambda z: np.zeros((len(z), 2)),
}


@pytest.mark.parametrize("cost", ["l2sq", "l2"])
@pytest.mark.parametrize("gname", sorted(GENERATORS))
def test_discrete_identity_matches_lp_oracle(cost, gname):
    rng = np.random.default_rng(abs(hash((cost, gname))) % 2**32)
    G = GENERATORS[gname]
    for _ in range(12):
        n, m = int(rng.integers(2, 9)), int(rng.integers(2, 11))
        x = rng.normal(size=(n, 2))
        codes = rng.integers(-2, 3, size=(m, 2)).astype(np.float64)
        w = rng.random(m) + 0.05
        w /= w.sum()
        a = rng.random(n) + 0.05
        a /= a.sum()
        r = discrete_identity(x, codes, w, G, cost=cost, data_weights=a)
        # The identity: W_c(P_X, P_G) = min over couplings of (X, Z) with Z ~ P_Z.
        assert abs(r["lhs"] - r["rhs"]) <= 1e-9
        # Both sides against an independent LP solver.
        y = G(codes)
        atoms, inv = np.unique(np.round(y, 12), axis=0, return_inverse=True)
        b = np.bincount(inv.reshape(-1), weights=w)
        assert abs(r["lhs"] - _lp_oracle(a, b, _cost(x, atoms, cost))) <= 1e-9
        assert abs(r["rhs"] - _lp_oracle(a, w, _cost(x, y, cost))) <= 1e-9
        # The proof's coupling is feasible (Q_Z = P_Z) and attains the value.
        pi = r["coupling"]
        assert pi.min() >= -1e-15
        np.testing.assert_allclose(pi.sum(1), a, atol=1e-12)
        np.testing.assert_allclose(pi.sum(0), w, atol=1e-12)
        assert abs(r["coupling_value"] - r["lhs"]) <= 1e-9


def test_discrete_identity_merges_equal_images():
    x = np.array([[0.0, 0.0], [3.0, 0.0]])
    codes = np.array([[-1.0], [1.0], [2.0]])
    w = np.array([0.25, 0.25, 0.5])
    r = discrete_identity(x, codes, w, lambda z: np.concatenate([np.abs(z), 0 * z], axis=1))
    assert r["atoms"] == 2  # -1 and 1 share the image (1, 0)
    # x=(0,0) goes to (1,0) (mass 1/2, cost 1), x=(3,0) to (2,0) (mass 1/2, cost 1).
    assert abs(r["lhs"] - 1.0) < 1e-12 and abs(r["rhs"] - 1.0) < 1e-12


def test_theorem1_quick_writes_everything(tmp_path):
    from vegan.experiments import run_experiment

    out = tmp_path / "t1"
    result = run_experiment("theorem1", out, quick=True)
    assert (out / "result.json").is_file() and (out / "summary.md").is_file()
    on_disk = json.loads((out / "result.json").read_text())
    assert on_disk["experiment"] == "theorem1" and on_disk["quick"] is True
    assert set(on_disk["results"]) == {"discrete", "onedim", "toy", "random_decoder"}
    assert on_disk["results"]["discrete"]["max_abs_difference"] < 1e-9
    for key in ("monotone", "non-monotone", "abs"):
        r = on_disk["results"]["onedim"][key]
        assert r["exact"] > 0 and r["quadrature_error"] < 1e-3
        assert all(st["drift_w2sq"] >= 0 for st in r["stages"])
    # The random decoder's gap W^dagger - W is positive for sigma > 0 and 0 at sigma = 0.
    rows = on_disk["results"]["random_decoder"]["rows"]
    assert abs(rows[0]["gap"]) < 1e-3 and all(r["gap"] > 0 for r in rows[1:])
    for fig in result["figures"]:
        assert (out / fig).stat().st_size > 1000
    md = (out / "summary.md").read_text()
    assert "Theorem 1" in md and "theorem1_1d.png" in md and "Quick setting" in md
    assert on_disk["provenance"]["command"].startswith("vegan experiment theorem1")
