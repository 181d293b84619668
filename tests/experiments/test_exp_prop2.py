"""Proposition 2 (quick): the W-minimizer moves with sigma, the primal bound's does not."""

from __future__ import annotations

import pytest


def test_prop2_quick(tmp_path):
    from vegan.experiments import run_experiment

    result = run_experiment("prop2", tmp_path / "p2", quick=True)
    fams = result["results"]["families"]
    aff = fams["affine"]["rows"]
    # argmin W follows a*(sigma) = sqrt(s*^2 - sigma^2); argmin W^dagger does not move.
    for r in aff:
        assert r["theta_w"]["a"] == pytest.approx(r["a_closed_form"], abs=0.05)
        assert r["theta_dagger"]["a"] == pytest.approx(aff[0]["theta_dagger"]["a"], abs=1e-6)
    assert aff[-1]["theta_w"]["a"] < aff[0]["theta_w"]["a"] - 0.1
    for fam in fams.values():
        for r in fam["rows"]:
            # Each minimizer is at least as good as the other for its own objective.
            assert r["w_at_w_minimizer"] <= r["w_at_dagger_minimizer"] + 1e-9
            assert r["dagger_at_dagger_minimizer"] <= r["dagger_at_w_minimizer"] + 1e-9
    assert (tmp_path / "p2" / "prop2.png").is_file()
