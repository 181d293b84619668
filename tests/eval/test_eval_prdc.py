"""Improved precision and recall (Kynkaanniemi et al. 2019)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vegan.errors import ConfigError
from vegan.eval.prdc import knn_radii, precision_recall


def test_set_against_itself_has_precision_and_recall_one():
    x = np.random.default_rng(0).standard_normal((300, 8))
    assert precision_recall(x, x, k=3) == (1.0, 1.0)


def test_far_apart_sets_score_zero():
    x = np.random.default_rng(0).standard_normal((200, 4))
    assert precision_recall(x, x + 100.0) == (0.0, 0.0)


def test_mode_dropping_lowers_recall_not_precision():
    rng = np.random.default_rng(1)
    real = np.concatenate([rng.standard_normal((300, 2)), rng.standard_normal((300, 2)) + 20])
    fake = rng.standard_normal((300, 2))  # only the first mode
    p, r = precision_recall(real, fake, k=3)
    assert p > 0.9 and 0.3 < r < 0.6


def test_knn_radii_excludes_the_point_itself():
    x = torch.tensor([[0.0], [1.0], [3.0], [6.0]])
    assert knn_radii(x, k=1).tolist() == [1.0, 1.0, 2.0, 3.0]
    assert knn_radii(x, k=2).tolist() == [3.0, 2.0, 3.0, 5.0]
    with pytest.raises(ConfigError):
        knn_radii(x, k=4)
