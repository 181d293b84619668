"""The feature network of vegan's feature-space metrics: a small MNIST classifier.

Frechet distance and precision/recall need a feature space in which
distances mean something. Inception-v3 features (FID) are the convention for
natural images, but they are a poor fit for 28x28 digits and need weights
from the internet. vegan instead trains a small convolutional classifier,
``vegan-mnist-cnn``, on the train split of the built-in MNIST the first time
it is needed (fixed seed, a few epochs, well under a minute on two CPU
cores), and caches it as safetensors + JSON in ``<vegan cache>/features``
(``$VEGAN_CACHE_DIR``). Its features are the 128 ReLU units before the last
layer. The JSON records its accuracy on the built-in held-out split, which
every report prints: numbers computed in these features are called
"FD (vegan-mnist-cnn features)", never FID.

Concurrent processes (pytest-xdist workers, parallel evaluations) share the
cache safely: training happens under a file lock and every file is written
atomically (temporary file, then rename), weights first, JSON last.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vegan.errors import CheckpointError, ShapeError
from vegan.io import atomic_write_bytes, atomic_write_json

NAME = "vegan-mnist-cnn"
VERSION = 1
FEATURE_DIM = 128
#: Training recipe of the classifier (changing it changes the cache key).
TRAIN = {"seed": 0, "epochs": 5, "batch_size": 64, "lr": 2e-3}


class MnistCNN(nn.Module):
    """conv(16) - pool - conv(32) - pool - fc(128) - fc(10), for 1x28x28 images in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, FEATURE_DIM)
        self.fc2 = nn.Linear(FEATURE_DIM, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return F.relu(self.fc1(h.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.features(x))


@dataclass
class FeatureNet:
    """A trained classifier and what is known about it."""

    net: MnistCNN
    accuracy: float
    path: Path
    trained_now: bool = False

    name: str = NAME

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """Features (n, 128) of images (n, 1, 28, 28) in [0, 1], float32 on the CPU."""
        x = torch.as_tensor(x).float()
        if tuple(x.shape[1:]) != (1, 28, 28):
            raise ShapeError(
                f"{NAME} takes 1x28x28 images, got samples of shape {tuple(x.shape[1:])}"
            )
        self.net.eval()
        out = [self.net.features(x[i : i + batch_size].cpu()) for i in range(0, len(x), batch_size)]
        return torch.cat(out)

    @torch.inference_mode()
    def predict(self, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """Predicted digit (n,) of images (n, 1, 28, 28)."""
        self.net.eval()
        x = torch.as_tensor(x).float().cpu()
        return torch.cat(
            [self.net(x[i : i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)]
        )


def cache_paths(cache_dir: str | Path | None = None) -> tuple[Path, Path]:
    """(weights, description) paths of the cached classifier."""
    from vegan.data.mnist import vegan_cache_dir

    base = Path(cache_dir) if cache_dir is not None else vegan_cache_dir() / "features"
    stem = f"{NAME}-v{VERSION}"
    return base / f"{stem}.safetensors", base / f"{stem}.json"


def train_classifier(log: bool = False) -> tuple[MnistCNN, float]:
    """Train ``vegan-mnist-cnn`` on the built-in MNIST train split; returns (net, held-out acc).

    Deterministic given the torch version and thread count: seed 0, Adam with a
    one-cycle schedule, 5 epochs. Gradients are on whatever the caller's mode: the
    first evaluation of a session may run under ``torch.no_grad()`` or
    ``torch.inference_mode()`` and still has to build the network.
    """
    with torch.inference_mode(False), torch.enable_grad():
        return _train_classifier(log)


def _train_classifier(log: bool) -> tuple[MnistCNN, float]:
    from vegan.data import load_dataset

    train = load_dataset("mnist", "train")
    held = load_dataset("mnist", "heldout")
    g = torch.Generator().manual_seed(TRAIN["seed"])
    devices: list = []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(TRAIN["seed"])
        net = MnistCNN()
        opt = torch.optim.Adam(net.parameters(), lr=TRAIN["lr"])
        n, bs = len(train.x), TRAIN["batch_size"]
        steps = TRAIN["epochs"] * (n // bs)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, TRAIN["lr"], total_steps=steps)
        net.train()
        t0 = time.perf_counter()
        for epoch in range(TRAIN["epochs"]):
            perm = torch.randperm(n, generator=g)
            for i in range(n // bs):
                idx = perm[i * bs : (i + 1) * bs]
                loss = F.cross_entropy(net(train.x[idx]), train.y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
            if log:
                print(
                    f"vegan: {NAME} epoch {epoch + 1}/{TRAIN['epochs']} "
                    f"({time.perf_counter() - t0:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    net.eval()
    fn = FeatureNet(net, 0.0, Path())
    acc = float((fn.predict(held.x) == held.y).float().mean())
    return net, acc


@contextlib.contextmanager
def _lock(path: Path):
    """An exclusive advisory lock on ``path`` (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _read_cached(weights: Path, meta_path: Path) -> FeatureNet | None:
    """The cached classifier if both files exist and agree, else None."""
    from safetensors.torch import load_file

    if not (weights.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        blob = weights.read_bytes()
        if (
            meta.get("name") != NAME
            or meta.get("version") != VERSION
            or meta.get("train") != TRAIN
            or meta.get("sha256") != hashlib.sha256(blob).hexdigest()
        ):
            return None
        net = MnistCNN()
        net.load_state_dict(load_file(str(weights)))
    except (OSError, ValueError, RuntimeError, KeyError, TypeError):
        return None
    return FeatureNet(net.eval(), float(meta["heldout_accuracy"]), weights)


_MEMO: dict[str, FeatureNet] = {}


def mnist_features(cache_dir: str | Path | None = None, log: bool = True) -> FeatureNet:
    """The cached ``vegan-mnist-cnn``, trained and cached on first use.

    A missing, stale or corrupted cache is (re)built; the lock makes a second
    process wait for the first instead of training twice.
    """
    from safetensors.torch import save

    weights, meta_path = cache_paths(cache_dir)
    key = str(weights.absolute())
    if key in _MEMO and weights.is_file():
        return _MEMO[key]
    found = _read_cached(weights, meta_path)
    if found is None:
        try:
            weights.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(
                f"cannot create the feature cache '{weights.parent}' ({exc.strerror}); "
                "set VEGAN_CACHE_DIR to a writable folder"
            ) from exc
        with _lock(weights.parent / f".{weights.stem}.lock"):
            found = _read_cached(weights, meta_path)  # another process may have built it
            if found is None:
                if log:
                    print(
                        f"vegan: training the {NAME} feature network once "
                        f"(cached in {weights.parent})",
                        file=sys.stderr,
                        flush=True,
                    )
                t0 = time.perf_counter()
                net, acc = train_classifier(log=log)
                blob = save({k: v.contiguous() for k, v in net.state_dict().items()})
                atomic_write_bytes(weights, blob)
                atomic_write_json(
                    meta_path,
                    {
                        "name": NAME,
                        "version": VERSION,
                        "train": TRAIN,
                        "data": "mnist (built-in train split, 8,000 images)",
                        "heldout_accuracy": acc,
                        "seconds": round(time.perf_counter() - t0, 1),
                        "torch": torch.__version__,
                        "threads": torch.get_num_threads(),
                        "sha256": hashlib.sha256(blob).hexdigest(),
                    },
                )
                found = FeatureNet(net, acc, weights, trained_now=True)
    _MEMO[key] = found
    return found


def mnist_like(data: str, sample_shape: tuple[int, ...]) -> bool:
    """Whether the feature metrics apply: MNIST data (built in or full), 1x28x28."""
    return data.lower() in ("mnist", "mnist-full") and tuple(sample_shape) == (1, 28, 28)


__all__ = ["NAME", "FeatureNet", "MnistCNN", "cache_paths", "mnist_features", "mnist_like"]
