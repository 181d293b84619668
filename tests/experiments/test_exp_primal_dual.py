"""Primal vs dual (quick run) and its gradient metrics."""

from __future__ import annotations

import math

import pytest
import torch

from vegan.experiments.primal_dual import _stratified_counts, grad_metrics, make_problem, settings


def test_grad_metrics_basic():
    ref = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    m = grad_metrics(ref * 2, ref)
    assert m["cos"] == pytest.approx(1.0) and m["norm_ratio"] == pytest.approx(2.0)
    assert m["rel_err"] == pytest.approx(1.0)
    m = grad_metrics(-ref, ref)
    assert m["cos"] == pytest.approx(-1.0) and m["rel_err"] == pytest.approx(2.0)


def test_problems():
    s = settings(quick=True)
    tr = make_problem("translation", 8, s)
    g = torch.Generator().manual_seed(0)
    z = tr.sample_z(5, g)
    assert torch.allclose(tr.G(z) - z, (tr.G(z) - z)[0].expand(5, 8))
    assert float((tr.G(z) - z)[0].norm()) == pytest.approx(tr.exact)
    mix = make_problem("mixture", 8, s)
    assert mix.exact is None and mix.sample_x(100, g).shape == (100, 8)
    assert _stratified_counts(10, torch.tensor([0.4, 0.3, 0.2, 0.1])).tolist() == [4, 3, 2, 1]
    assert int(_stratified_counts(7, torch.full((4,), 0.25)).sum()) == 7


@pytest.mark.slow  # half a minute; the primal-dual functions have their own fast tests here
def test_primal_dual_quick(tmp_path):
    from vegan.experiments import run_experiment

    result = run_experiment("primal-dual", tmp_path / "pd", quick=True)
    res = result["results"]
    assert res["references"]["translation/d=2"]["value"] == 1.0
    mix = res["references"]["mixture/d=2"]
    assert mix["value"] > 0 and mix["how"].startswith("exact LP")
    ests = {r["estimator"] for r in res["summary_table"]}
    assert {"exact LP (plug-in)", "dual-clip", "dual-gp", "primal lam=1"} <= ests
    for r in res["records"]:
        assert math.isfinite(r["value"]) and -1.0 - 1e-9 <= r["grad_lp_cos"] <= 1.0 + 1e-9
        if r["estimator"] == "exact LP (plug-in)":
            assert r["grad_lp_cos"] == pytest.approx(1.0)
    assert len(result["conclusions"]) == 4  # value and gradient, per problem
    assert "population gradient" in result["conclusions"][1]
    assert (tmp_path / "pd" / "primal_dual.png").is_file()
