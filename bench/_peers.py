"""Pieces shared by the training benchmarks: data, the shared networks, pythae adapters, bare loops.

Everything here builds the *same* networks for every contender: the plain
modules (an encoder net mapping images to ``latent_dim`` or ``2 * latent_dim``
features, a decoder net mapping codes to data-shaped logits, a latent
adversary mapping codes to logits) are what vegan takes through ``nets=``;
:func:`pythae_model` wraps the very same modules in pythae's
``BaseEncoder`` / ``BaseDecoder`` / ``BaseDiscriminator`` interfaces; and
:class:`BareLoop` trains them with a hand-written PyTorch loop doing the math
of vegan's recipe (which is also pythae's: see :func:`check_same_loss`).
"""

from __future__ import annotations

import gzip
import importlib.metadata
import resource
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
MNIST_IMAGES = ROOT / "src" / "vegan" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"

#: The WAE code's kernel scales (vegan's default, also pythae's default list).
WAE_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)

#: Per pair: vegan's recipe and the options that make it the same math as pythae's model.
PAIRS = {
    "wae-mmd": {"vegan": "wae-mmd", "pythae": "WAE_MMD", "gaussian": False, "adversary": False},
    "vae": {"vegan": "vae", "pythae": "VAE", "gaussian": True, "adversary": False},
    "aae": {"vegan": "aae", "pythae": "Adversarial_AE", "gaussian": True, "adversary": True},
}

#: AAE settings shared by both libraries: pythae's default Gaussian posterior and
#: adversarial_loss_scale 0.5 (vegan: encoder=gaussian, lam=0.5), adversary lr 5e-4.
AAE_LAM, ADV_LR = 0.5, 5e-4


def max_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def pythae_version() -> str | None:
    try:
        return importlib.metadata.version("pythae")
    except importlib.metadata.PackageNotFoundError:
        return None


def mnist_split(split: str = "train") -> torch.Tensor:
    """vegan's built-in MNIST split read with gzip + NumPy (no vegan import): float32 in [0, 1].

    held-out = images i with i % 5 == 4 (2,000), train = the other 8,000, in file order.
    """
    with gzip.open(MNIST_IMAGES, "rb") as fh:
        raw = fh.read()
    n = int.from_bytes(raw[4:8], "big")
    x = np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, 28, 28)
    keep = (np.arange(n) % 5 == 4) if split == "heldout" else (np.arange(n) % 5 != 4)
    return torch.from_numpy(x[keep].astype(np.float32) / 255.0)


# ----------------------------------------------------------------------------- networks


class PythaeBenchEncoder(nn.Module):
    """pythae's MNIST benchmark encoder (Encoder_Conv_(V)AE_MNIST) as a plain tensor module."""

    def __init__(self, latent_dim: int, gaussian: bool) -> None:
        super().__init__()
        from pythae.models import VAEConfig
        from pythae.models.nn.benchmarks.mnist import Encoder_Conv_AE_MNIST, Encoder_Conv_VAE_MNIST

        cfg = VAEConfig(input_dim=(1, 28, 28), latent_dim=latent_dim)
        self.net = (Encoder_Conv_VAE_MNIST if gaussian else Encoder_Conv_AE_MNIST)(cfg)
        self.gaussian = gaussian

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if self.gaussian:
            return torch.cat([out["embedding"], out["log_covariance"]], 1)
        return out["embedding"]


class PythaeBenchDecoder(nn.Module):
    """pythae's MNIST benchmark decoder (Decoder_Conv_AE_MNIST) returning logits (no sigmoid)."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        from pythae.models import VAEConfig
        from pythae.models.nn.benchmarks.mnist import Decoder_Conv_AE_MNIST

        net = Decoder_Conv_AE_MNIST(VAEConfig(input_dim=(1, 28, 28), latent_dim=latent_dim))
        last = net.layers[-1]
        self.fc, self.up1, self.up2 = net.layers[0], net.layers[1], net.layers[2]
        self.out = last[0]  # the last ConvTranspose2d; its Sigmoid is the decoder ingredient's

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).reshape(z.shape[0], 1024, 4, 4)
        return self.out(self.up2(self.up1(h)))


def build_nets(pair: str, nets: str = "vegan", width: int = 32, latent_dim: int = 8, seed=0):
    """The networks of ``pair`` (dict of plain modules), identical for every contender.

    ``nets="vegan"``: vegan's default DCGAN-style conv nets (``width`` channels
    in the first layer); ``"pythae"``: pythae's MNIST benchmark nets (up to
    1024 channels). The AAE adds vegan's default latent adversary (MLP 4 x 512).
    """
    spec = PAIRS[pair]
    torch.manual_seed(seed)
    out_dim = 2 * latent_dim if spec["gaussian"] else latent_dim
    if nets == "vegan":
        from vegan.nets.conv import ConvDecoder, ConvEncoder

        found = {
            "encoder": ConvEncoder((1, 28, 28), out_dim, width=width),
            "decoder": ConvDecoder(latent_dim, (1, 28, 28), width=width),
        }
    elif nets == "pythae":
        found = {
            "encoder": PythaeBenchEncoder(latent_dim, spec["gaussian"]),
            "decoder": PythaeBenchDecoder(latent_dim),
        }
    else:
        raise SystemExit(f"unknown nets '{nets}' (vegan or pythae)")
    if spec["adversary"]:
        from vegan.models.critics import LatentAdversary

        found["adversary"] = LatentAdversary(latent_dim, 512, 4)
    return found


class Compiled(nn.Module):
    """``torch.compile(net)`` behind a plain module.

    (vegan's ``nets=`` tests a user module with ``user or default``, which
    calls ``len()`` on the compiled wrapper and fails; this wrapper has no
    ``__len__``.)
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.fn = torch.compile(net)

    def forward(self, *args):
        return self.fn(*args)


def compile_nets(nets: dict) -> dict:
    return {k: Compiled(v) for k, v in nets.items()}


# ----------------------------------------------------------------------------- vegan


def vegan_options(pair: str, latent_dim: int = 8) -> dict:
    """vegan's recipe options for the throughput pairs (recipe defaults unless pythae differs)."""
    opts: dict = {"latent_dim": latent_dim}
    if pair == "aae":
        opts.update(encoder="gaussian", lam=AAE_LAM, adv_lr=ADV_LR)
    return opts


# ----------------------------------------------------------------------------- pythae


def pythae_model(pair: str, nets: dict, latent_dim: int = 8):
    """pythae's model for ``pair`` around the shared ``nets`` (same math as vegan's recipe)."""
    from pythae.models import (
        VAE,
        WAE_MMD,
        Adversarial_AE,
        Adversarial_AE_Config,
        VAEConfig,
        WAE_MMD_Config,
    )
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseDiscriminator, BaseEncoder

    gaussian = PAIRS[pair]["gaussian"]

    class Enc(BaseEncoder):
        def __init__(self, net):
            BaseEncoder.__init__(self)
            self.net = net

        def forward(self, x):
            h = self.net(x)
            if gaussian:
                return ModelOutput(embedding=h[:, :latent_dim], log_covariance=h[:, latent_dim:])
            return ModelOutput(embedding=h)

    class Dec(BaseDecoder):
        def __init__(self, net):
            BaseDecoder.__init__(self)
            self.net = net

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))

    class Disc(BaseDiscriminator):
        def __init__(self, net):
            BaseDiscriminator.__init__(self)
            self.net = net

        def forward(self, z):
            return ModelOutput(embedding=torch.sigmoid(self.net(z)))

    shape = (1, 28, 28)
    enc, dec = Enc(nets["encoder"]), Dec(nets["decoder"])
    if pair == "wae-mmd":
        cfg = WAE_MMD_Config(
            input_dim=shape,
            latent_dim=latent_dim,
            kernel_choice="imq",
            reg_weight=10.0,
            kernel_bandwidth=1.0,  # C = 2 d_z sigma^2 with sigma = 1, as vegan's c_base
            scales=list(WAE_SCALES),
            reconstruction_loss_scale=0.05,
        )
        return WAE_MMD(cfg, encoder=enc, decoder=dec)
    if pair == "vae":
        cfg = VAEConfig(input_dim=shape, latent_dim=latent_dim, reconstruction_loss="bce")
        return VAE(cfg, encoder=enc, decoder=dec)
    if pair == "aae":
        cfg = Adversarial_AE_Config(
            input_dim=shape,
            latent_dim=latent_dim,
            reconstruction_loss="bce",
            adversarial_loss_scale=AAE_LAM,
        )
        return Adversarial_AE(cfg, encoder=enc, decoder=dec, discriminator=Disc(nets["adversary"]))
    raise SystemExit(f"unknown pair '{pair}'")


def pythae_trainer(pair: str, model, x: torch.Tensor, out: str, epochs: int, callbacks=(), **kw):
    """pythae's own trainer for ``model`` on ``x`` (batch 100, Adam lr 1e-3, betas (0.5, 0.999))."""
    from pythae.data.datasets import BaseDataset
    from pythae.trainers import (
        AdversarialTrainer,
        AdversarialTrainerConfig,
        BaseTrainer,
        BaseTrainerConfig,
    )

    common = dict(
        output_dir=out,
        per_device_train_batch_size=kw.pop("batch_size", 100),
        num_epochs=epochs,
        seed=0,
        no_cuda=True,
        steps_saving=None,
    )
    betas = kw.pop("betas", (0.5, 0.999))
    lr = kw.pop("lr", 1e-3)
    data = BaseDataset(x, torch.zeros(len(x)))
    if pair == "aae":
        cfg = AdversarialTrainerConfig(
            **common,
            autoencoder_learning_rate=lr,
            discriminator_learning_rate=kw.pop("adv_lr", ADV_LR),
            autoencoder_optimizer_params={"betas": betas},
            discriminator_optimizer_params={"betas": betas},
            **kw,
        )
        return AdversarialTrainer(model, data, training_config=cfg, callbacks=list(callbacks))
    cfg = BaseTrainerConfig(**common, learning_rate=lr, optimizer_params={"betas": betas}, **kw)
    return BaseTrainer(model, data, training_config=cfg, callbacks=list(callbacks))


class StepClock:
    """A pythae TrainingCallback factory: the time at chosen step counts (per batch)."""

    @staticmethod
    def make(marks: tuple[int, ...]):
        from pythae.trainers.training_callbacks import TrainingCallback

        class _Clock(TrainingCallback):
            def __init__(self):
                self.step, self.times = 0, {}

            def on_train_step_end(self, training_config, **kwargs):
                self.step += 1
                if self.step in marks:
                    self.times[self.step] = time.perf_counter()

        return _Clock()


# ----------------------------------------------------------------------------- bare loop


def _sqdist(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    xx = x.pow(2).sum(1, keepdim=True)
    yy = y.pow(2).sum(1, keepdim=True)
    return (xx + yy.T - 2.0 * (x @ y.T)).clamp_min_(0.0)


def bare_mmd(z: torch.Tensor, zp: torch.Tensor, c_base: float) -> torch.Tensor:
    """Unbiased multi-scale IMQ MMD^2 (the WAE code's estimator), written out."""
    n = z.shape[0]
    zz = torch.cat([z, zp])
    d2 = _sqdist(zz, zz)
    k = torch.zeros_like(d2)
    for s in WAE_SCALES:
        c = c_base * s
        k = k + c / (c + d2)
    kxx, kyy, kxy = k[:n, :n], k[n:, n:], k[:n, n:]
    xx = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return xx + yy - 2.0 * kxy.mean()


class BareLoop:
    """A hand-written loop over the shared nets doing vegan's math for ``pair``.

    Batches are sliced from the in-memory tensor (a fresh permutation per
    epoch); Adam with betas (0.5, 0.999) and ``adam_kw`` (vegan's flags by
    default); no checks, no logging, nothing else.
    """

    def __init__(self, pair: str, nets: dict, latent_dim: int = 8, **adam_kw) -> None:
        self.pair, self.d = pair, latent_dim
        self.enc, self.dec = nets["encoder"], nets["decoder"]
        self.adv = nets.get("adversary")
        kw = {"betas": (0.5, 0.999), "foreach": True, **adam_kw}
        ae_params = list(self.enc.parameters()) + list(self.dec.parameters())
        self.opt = torch.optim.Adam(ae_params, lr=1e-3, **kw)
        self.adv_opt = (
            torch.optim.Adam(self.adv.parameters(), lr=ADV_LR, **kw) if self.adv else None
        )
        for m in nets.values():
            m.train()

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(autoencoder loss, codes for the adversary or None) on batch ``x``."""
        d = self.d
        if self.pair == "wae-mmd":
            z = self.enc(x)
            y = torch.sigmoid(self.dec(z))
            diff = (x - y).flatten(1)
            rec = 0.05 * (diff * diff).sum(1).mean()
            zp = torch.randn(z.shape[0], d)
            return rec + 10.0 * bare_mmd(z, zp, 2.0 * d), None
        h = self.enc(x)
        mu, logvar = h[:, :d], h[:, d:].clamp(-12.0, 8.0)
        z = mu + torch.randn(mu.shape) * (0.5 * logvar).exp()
        logits = self.dec(z)
        nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        if self.pair == "vae":
            kl = 0.5 * (logvar.exp() + mu.pow(2) - 1.0 - logvar)
            return nll.mean() + kl.sum(1).mean(), None
        gen = F.softplus(-self.adv(z)).mean()  # non-saturating -log D(z)
        return nll.mean() + AAE_LAM * gen, z.detach()

    def adversary_loss(self, z_q: torch.Tensor) -> torch.Tensor:
        z_p = torch.randn(z_q.shape[0], self.d)
        lp, lq = self.adv(z_p), self.adv(z_q)
        return AAE_LAM * (F.softplus(-lp).mean() + F.softplus(lq).mean())

    def step(self, x: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        loss, z = self.loss(x)
        loss.backward()
        self.opt.step()
        if self.adv is not None:
            self.adv_opt.zero_grad(set_to_none=True)
            self.adversary_loss(z).backward()
            self.adv_opt.step()


def batches(x: torch.Tensor, batch_size: int, seed: int = 0):
    """Endless batches sliced from ``x``, a fresh permutation per epoch."""
    gen = torch.Generator().manual_seed(seed)
    per_epoch = len(x) // batch_size
    while True:
        perm = torch.randperm(len(x), generator=gen)
        for i in range(per_epoch):
            yield x.index_select(0, perm[i * batch_size : (i + 1) * batch_size])


# ----------------------------------------------------------------------------- agreement


def check_same_loss(pair: str, nets_kind: str = "vegan", width: int = 32) -> dict[str, float]:
    """The first loss of vegan, pythae and the bare loop on one batch with the same noise.

    Same seed before each forward pass, and each draws its noise in the same
    order, so equal math gives equal numbers (up to float rounding).
    """
    import vegan
    from vegan.models.registry import make_config

    x = mnist_split("train")[:100]
    out = {}
    nets = build_nets(pair, nets_kind, width)
    spec = PAIRS[pair]
    cfg = make_config(spec["vegan"], (1, 28, 28), vegan_options(pair))
    model = vegan.build(spec["vegan"], (1, 28, 28), cfg, nets=nets)
    torch.manual_seed(123)
    cache: dict = {}
    out["vegan"] = float(model.players[0].loss(x, cache)[0].detach())
    if spec["adversary"]:
        out["vegan_adversary"] = float(model.players[1].loss(x, cache)[0].detach())
    torch.manual_seed(123)
    bare = BareLoop(pair, nets)
    loss, z = bare.loss(x)
    out["bare"] = float(loss.detach())
    if spec["adversary"]:
        out["bare_adversary"] = float(bare.adversary_loss(z).detach())
    pm = pythae_model(pair, nets)
    pm.train()
    torch.manual_seed(123)
    o = pm({"data": x})
    if spec["adversary"]:
        out["pythae"] = float(o.autoencoder_loss.detach())
        # pythae's discriminator loss is the BCE sum without vegan's weight lam
        out["pythae_adversary"] = AAE_LAM * float(o.discriminator_loss.detach())
    else:
        out["pythae"] = float(o.loss.detach())
    return out
