"""One step's loss on a tiny fixed network and batch, recomputed by hand from the equations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import vegan

X = np.array([[0.1, -0.4, 0.9], [1.2, 0.3, -0.5], [-0.7, 0.8, 0.2], [0.0, -1.1, 0.6]])
W_ENC = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.3]])
B_ENC = np.array([0.05, -0.1])
W_DEC = np.array([[0.7, -0.1], [0.2, 0.5], [-0.4, 0.3]])
B_DEC = np.array([0.0, 0.1, -0.2])


def _set_linear(layer: torch.nn.Linear, w: np.ndarray, b: np.ndarray) -> None:
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w))
        layer.bias.copy_(torch.tensor(b))


def _imq_mmd(x, y, cs):
    def k(a, b):
        d2 = float(((a - b) ** 2).sum())
        return sum(c / (c + d2) for c in cs)

    n = len(x)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(n)) / (n * n)
    return xx + yy - 2 * xy


def test_wae_mmd_loss_by_hand():
    model = vegan.build("wae-mmd", (3,), backbone="mlp", depth=0, latent_dim=2).double()
    _set_linear(model.encoder.net.net[0], W_ENC, B_ENC)
    _set_linear(model.decoder.net.net.net[0], W_DEC, B_DEC)
    torch.manual_seed(0)
    loss, terms = model.players[0].loss(torch.tensor(X), {})
    torch.manual_seed(0)
    zp = torch.randn(4, 2).double().numpy()  # the penalty's prior draw, the only random draw

    z = X @ W_ENC.T + B_ENC  # deterministic encoder E(x)
    y = z @ W_DEC.T + B_DEC  # deterministic decoder G(z), no output map
    fit = 0.05 * np.mean(((X - y) ** 2).sum(1))  # 0.05 * c(x, G(E(x))), c = |.|^2
    cs = [2 * 2 * 1.0 * s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10)]  # C = 2 d_z sigma_z^2 * s
    pen = _imq_mmd(z, zp, cs)
    assert terms["cost"].item() == pytest.approx(fit, rel=1e-12)
    assert terms["mmd"].item() == pytest.approx(pen, rel=1e-10)
    assert loss.item() == pytest.approx(fit + 10.0 * pen, rel=1e-10)  # eq. (12), lambda = 10


def test_vae_loss_by_hand():
    model = vegan.build("vae", (3,), backbone="mlp", depth=0, latent_dim=1).double()
    w_enc = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.3]])  # rows: mean, log-variance
    _set_linear(model.encoder.net.net[0], w_enc, B_ENC)
    _set_linear(model.decoder.net.net.net[0], W_DEC[:, :1], B_DEC)
    torch.manual_seed(1)
    loss, terms = model.players[0].loss(torch.tensor(X), {})
    torch.manual_seed(1)
    eps = torch.randn(4, 1, dtype=torch.float64).numpy()  # the reparametrization noise

    h = X @ w_enc.T + B_ENC
    mu, logvar = h[:, :1], h[:, 1:]
    z = mu + eps * np.exp(0.5 * logvar)
    mean = z @ W_DEC[:, :1].T + B_DEC
    sigma, d = 1.0, 3  # Gaussian decoder with learned sigma, initialised at 1
    nll = (
        0.5 * ((X - mean) ** 2).sum(1) / sigma**2
        + d * math.log(sigma)
        + 0.5 * d * math.log(2 * math.pi)
    )
    kl = 0.5 * (np.exp(logvar) + mu**2 - 1 - logvar).sum(1)
    assert terms["nll"].item() == pytest.approx(nll.mean(), rel=1e-12)
    assert terms["kl"].item() == pytest.approx(kl.mean(), rel=1e-12)
    assert loss.item() == pytest.approx(nll.mean() + kl.mean(), rel=1e-12)  # eq. (5)


def test_plain_autoencoder_has_no_penalty():
    model = vegan.build("ae", (3,), backbone="mlp", depth=0, latent_dim=2).double()
    _set_linear(model.encoder.net.net[0], W_ENC, B_ENC)
    _set_linear(model.decoder.net.net.net[0], W_DEC, B_DEC)
    loss, terms = model.players[0].loss(torch.tensor(X), {})
    y = (X @ W_ENC.T + B_ENC) @ W_DEC.T + B_DEC
    assert set(terms) == {"cost"}
    assert loss.item() == pytest.approx(0.05 * np.mean(((X - y) ** 2).sum(1)), rel=1e-12)


@pytest.mark.parametrize(
    ("step", "weight"), [(0, 2.5), (1, 5.0), (3, 10.0), (9, 10.0), (None, 10.0)]
)
def test_lam_warmup_ramps_the_penalty_weight_by_hand(step, weight):
    # lam_warmup=4, lam=10: the weight at iteration t is 10 * min(1, (t + 1) / 4);
    # outside the loop (no step in the cache) it is lam itself.
    model = vegan.build(
        "wae-mmd", (3,), backbone="mlp", depth=0, latent_dim=2, lam_warmup=4
    ).double()
    _set_linear(model.encoder.net.net[0], W_ENC, B_ENC)
    _set_linear(model.decoder.net.net.net[0], W_DEC, B_DEC)
    torch.manual_seed(0)
    cache = {} if step is None else {"step": step}
    loss, terms = model.players[0].loss(torch.tensor(X), cache)
    torch.manual_seed(0)
    zp = torch.randn(4, 2).double().numpy()
    z = X @ W_ENC.T + B_ENC
    y = z @ W_DEC.T + B_DEC
    fit = 0.05 * np.mean(((X - y) ** 2).sum(1))
    pen = _imq_mmd(z, zp, [2 * 2 * 1.0 * s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10)])
    assert loss.item() == pytest.approx(fit + weight * pen, rel=1e-10)
    assert terms["lam"].item() == pytest.approx(weight)


def test_lam_warmup_reaches_the_metrics_through_the_loop(tmp_path):
    # The loop gives the loss its 0-based step: with lam 1 (the VAE's) and a
    # warm-up of 10 steps, the weight logged after step s (1-based) is s / 10.
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    out = tmp_path / "run"
    vegan.fit(
        "vae", x, out, steps=3, progress=False, preset="none", lam_warmup=10, log_every=1,
        samples_every=0, batch_size=16,
    )  # fmt: skip
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    logged = {r["step"]: r["autoencoder/lam"] for r in lines if "autoencoder/lam" in r}
    assert logged == pytest.approx({1: 0.1, 2: 0.2, 3: 0.3})
