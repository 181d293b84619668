"""Remark 1: the Monte Carlo increment of the primal value is d sigma^2, within its CI."""

from __future__ import annotations

import json

import pytest

from vegan.experiments.remark1 import mc_increment


@pytest.mark.parametrize(("d", "sigma"), [(1, 0.5), (8, 1.0), (32, 0.3), (128, 0.1)])
def test_mc_estimate_within_ci_of_d_sigma2(d, sigma):
    r = mc_increment(d, sigma, 100_000, seed=d)
    assert r["exact"] == pytest.approx(d * sigma**2)
    assert r["ci_low"] <= d * sigma**2 <= r["ci_high"], r
    # The interval is informative: narrower than 20% of the value.
    assert r["ci_high"] - r["ci_low"] < 0.2 * d * sigma**2
    assert r["primal_gaussian"] == pytest.approx(r["primal_deterministic"] + r["estimate"])


def test_remark1_quick_cli_json(tmp_path, run_cli):
    code, out, _ = run_cli("experiment", "remark1", "--out", tmp_path / "r1", "--quick", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["experiment"] == "remark1"
    mc = result["results"]["monte_carlo"]
    assert mc and all(r["covered"] for r in mc)
    rows = result["results"]["exact_w2"]
    assert any(r["data"].startswith("mnist") for r in rows)
    for r in rows:
        assert r["lp_noisy"] >= 0 and r["d_sigma2"] > 0
    assert (tmp_path / "r1" / "remark1_mc.png").is_file()
