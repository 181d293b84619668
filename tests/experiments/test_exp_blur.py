"""Blur (quick): VAE vs WAE-MMD on MNIST end to end."""

from __future__ import annotations


def test_blur_quick(tmp_path, monkeypatch):
    from vegan.experiments import run_experiment

    # An empty feature cache: the quick setting then skips the feature-space distance
    # instead of training the classifier.
    monkeypatch.setenv("VEGAN_CACHE_DIR", str(tmp_path / "cache"))
    result = run_experiment("blur", tmp_path / "blur", quick=True)
    models = result["results"]["models"]
    assert set(models) == {"vae", "wae-mmd"}
    for m in models.values():
        assert 0 < m["sharpness_samples"] < 1 and m["pixel_w2sq_samples"] > 0
        assert "fd_samples" not in m
    assert models["wae-mmd"]["noise_share"] == 0.0
    assert 0 < models["vae"]["noise_share"] <= 1 and models["vae"]["effective_images"] >= 1
    assert (tmp_path / "blur" / "blur.png").is_file()
