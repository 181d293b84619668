"""The vegan-mnist-cnn feature network: trained once, cached, validated."""

from __future__ import annotations

import json

import pytest
import torch

from vegan.eval import features as F


def test_classifier_is_accurate_and_cached(feature_cache):
    net = F.mnist_features(log=False)
    assert net.accuracy > 0.95
    weights, meta = F.cache_paths()
    assert weights.is_file() and meta.is_file() and weights.parent.parent == feature_cache
    info = json.loads(meta.read_text())
    assert info["name"] == "vegan-mnist-cnn" and info["heldout_accuracy"] == net.accuracy
    # a fresh process would load it, not train it again
    again = F._read_cached(weights, meta)
    assert again is not None and again.accuracy == net.accuracy
    x = torch.rand(5, 1, 28, 28)
    assert torch.equal(again(x), net(x)) and net(x).shape == (5, F.FEATURE_DIM)


def test_corrupted_cache_is_rejected(tmp_path):
    net = F.mnist_features(log=False)
    weights, meta = F.cache_paths(tmp_path)
    weights.write_bytes(net.path.read_bytes())
    good = json.loads(F.cache_paths()[1].read_text())
    meta.write_text(json.dumps(good))
    assert F._read_cached(weights, meta) is not None
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")  # flipped bytes
    assert F._read_cached(weights, meta) is None
    meta.write_text("{not json")
    assert F._read_cached(weights, meta) is None


def test_only_mnist_gets_feature_metrics():
    assert F.mnist_like("mnist", (1, 28, 28)) and F.mnist_like("mnist-full", (1, 28, 28))
    assert not F.mnist_like("toy:8gaussians", (2,))
    assert not F.mnist_like("faces/", (3, 28, 28))


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_classifier_trains_when_the_caller_turned_gradients_off(monkeypatch, mode):
    # the first evaluation of a fresh machine builds the network, and a caller may
    # evaluate under no_grad or inference_mode (bench_quality_mnist.py did)
    monkeypatch.setitem(F.TRAIN, "epochs", 1)
    with mode():
        net, acc = F.train_classifier()
    assert acc > 0.8  # one epoch; chance is 0.1
    assert all(p.requires_grad for p in net.parameters())
