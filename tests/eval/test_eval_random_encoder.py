"""Evaluation of a model with a random encoder depends on its seed alone.

A random (implicit or Gaussian) encoder draws noise from torch's global
generator; the reconstruction and code metrics seed it themselves, in a
forked state, so two evaluations in one process agree whatever ran in
between, and the caller's random stream is left as it was.
"""

from __future__ import annotations

import torch

import vegan
from vegan.eval.evaluation import evaluate_model


def _model():
    torch.manual_seed(0)
    return vegan.build("wae-mmd", (2,), encoder="implicit", hidden=16, depth=1).eval()


def test_two_evaluations_agree_whatever_ran_between():
    model = _model()
    held = torch.randn(200, 2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.manual_seed(5)
        first = evaluate_model(model, held, seed=0, features=False).metrics
        torch.randn(1000)  # the caller's stream moves on
        second = evaluate_model(model, held, seed=0, features=False).metrics
        third = evaluate_model(model, held, seed=1, features=False).metrics
    for key in ("recon_l2sq", "codes_mmd", "codes_w2sq"):
        assert first[key] == second[key], key
    assert first["recon_l2sq"] != third["recon_l2sq"]  # the seed is what decides


def test_the_callers_random_stream_is_left_as_it_was():
    model = _model()
    held = torch.randn(100, 2, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    with torch.no_grad():
        evaluate_model(model, held, seed=0, features=False)
    assert torch.equal(torch.rand(3), expected)
