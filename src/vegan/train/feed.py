"""Where a run's batches come from: memory, a stream of stored items, or a user's DataLoader.

Every feed has the calls the loop makes of its batch stream (``next``,
``state``, ``load``, ``per_epoch``) and returns float32 batches on the
training device; uint8 images travel as uint8 and are divided by 255 there
(:func:`vegan.data.items.to_float`).

* :class:`MemoryFeed`: data held whole on the device (toy data, MNIST, an
  ``.npz``, a user's array), sliced by :class:`~vegan.train.batches.BatchStream`.
* :class:`StreamFeed`: items read batch by batch (a memory-mapped ``.npy``,
  an image folder, a user's ``torch.utils.data.Dataset``). The order is the
  same :class:`~vegan.train.batches.BatchStream`, so a function of (seed,
  step, rank, world) alone: each rank reads only its share of each batch,
  and with ``num_workers > 0`` a ``DataLoader``'s workers read the item
  numbers the stream chose (its sampler runs ahead on a copy of the stream,
  :meth:`BatchStream.ahead`), so a resumed run reads the very same batches.
* :class:`LoaderFeed`: a user's ``DataLoader``, iterated as it is: its own
  sampler decides the order, which vegan can neither shard nor restore (see
  docs/howto/own-data.md).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from vegan.data.items import ArrayItems, Items, to_float
from vegan.errors import CheckpointError, ConfigError, DataError, ShapeError, VeganError, flag
from vegan.train.batches import BatchStream

__all__ = [
    "PREVIEW_N",
    "LoaderData",
    "LoaderFeed",
    "MemoryFeed",
    "StreamFeed",
    "choose_workers",
    "make_feed",
]

#: Samples of streamed data kept as float32 on the device for the callbacks (``RunView.data``).
PREVIEW_N = 256


def choose_workers(asked: int, items: Items, local_ranks: int = 1) -> int:
    """Worker processes reading ``items``: the option, else 0 for arrays, else spare cores.

    A batch of an array (in memory or memory-mapped) is one copy of its rows:
    workers would only add transfers between processes. Decoding images or
    calling a user's ``__getitem__`` is work: it gets the cores this rank
    leaves free (one less than its share, at least 1, at most 4).
    """
    if asked >= 0:
        return asked
    if isinstance(items, ArrayItems):
        return 0
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores // max(1, local_ranks) - 1))


def _pin(option: str, device: torch.device) -> bool:
    return option == "true" or (option == "auto" and device.type == "cuda")


class MemoryFeed:
    """Batches sliced from data held whole on the device (float32, or uint8 images)."""

    def __init__(
        self, x: torch.Tensor, batch_size: int, seed: int, rank: int, world: int, device
    ) -> None:
        self.x = x.to(device) if x.dtype == torch.uint8 else x.to(device, torch.float32)
        self.stream = BatchStream(self.x, batch_size, seed, rank=rank, world=world)
        self.per_epoch = self.stream.per_epoch
        self.preview = self.x if self.x.dtype == torch.float32 else to_float(self.x[:PREVIEW_N])

    def next(self) -> torch.Tensor:
        """This rank's next batch, float32 on the device."""
        return to_float(self.stream.next())

    def state(self) -> dict:
        """The stream's state (see :meth:`BatchStream.state`)."""
        return self.stream.state()

    def load(self, state: dict) -> None:
        """Continue from ``state``."""
        self.stream.load(state)

    def close(self) -> None:
        """Nothing to release."""


class _Fetch(torch.utils.data.Dataset):
    """What a worker runs: read the items a batch of the stream names.

    A :class:`~vegan.errors.VeganError` (a broken file) comes back as the
    batch, so that the main process raises it as one line (a DataLoader
    wraps a worker's exception in a multi-line message).
    """

    def __init__(self, items: Items) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: torch.Tensor) -> tuple[torch.Tensor, Any]:
        try:
            return idx, torch.from_numpy(self.items.read(idx.numpy()))
        except VeganError as exc:
            return idx, exc


class StreamFeed:
    """Batches of items read on demand, in :class:`BatchStream` order.

    Parameters
    ----------
    items : Items
        The training split as stored.
    batch_size, seed, rank, world
        As :class:`BatchStream`.
    device : torch.device
        Where batches go.
    workers : int
        ``DataLoader`` worker processes (0: read in this process).
    pin_memory : bool
        Copy batches to page-locked memory first (faster transfers to a GPU).
    prefetch_factor : int
        Batches each worker reads ahead.
    """

    def __init__(
        self,
        items: Items,
        batch_size: int,
        seed: int,
        rank: int,
        world: int,
        device: torch.device,
        workers: int = 0,
        pin_memory: bool = False,
        prefetch_factor: int = 2,
    ) -> None:
        self.items, self.device = items, device
        self.workers, self.pin, self.prefetch = workers, pin_memory, prefetch_factor
        self.stream = BatchStream(len(items), batch_size, seed, rank=rank, world=world)
        self.per_epoch = self.stream.per_epoch
        self._it: Any = None
        self.preview = to_float(
            torch.from_numpy(items.read(np.arange(min(PREVIEW_N, len(items))))).to(device)
        )

    def _loader(self):
        return iter(
            torch.utils.data.DataLoader(
                _Fetch(self.items),
                batch_size=None,
                sampler=self.stream.ahead(),
                num_workers=self.workers,
                pin_memory=self.pin,
                prefetch_factor=self.prefetch,
                generator=torch.Generator(),  # its workers' seeds: the training RNG is left alone
            )
        )

    def next(self) -> torch.Tensor:
        """This rank's next batch, float32 on the device."""
        if self.workers and self._it is None:
            self._it = self._loader()  # its sampler starts where the stream is now
        idx = self.stream.next_indices()
        if self.workers == 0:
            batch = torch.from_numpy(self.items.read(idx.numpy()))
            if self.pin:
                batch = batch.pin_memory()
        else:
            got, batch = next(self._it)
            if isinstance(batch, VeganError):
                raise batch
            if not torch.equal(got, idx):  # pragma: no cover - a bug, not a user error
                raise RuntimeError("the data loader's batches left the sampler's order")
        return to_float(batch.to(self.device, non_blocking=self.pin))

    def state(self) -> dict:
        """The stream's state: the batches used so far (not those read ahead)."""
        return self.stream.state()

    def load(self, state: dict) -> None:
        """Continue from ``state``; batches read ahead from elsewhere are dropped."""
        self.stream.load(state)
        self.close()

    def close(self) -> None:
        """Stop the workers (a later :meth:`next` starts them again)."""
        self._it = None


def _batch_x(batch: Any, what: str) -> torch.Tensor:
    """The samples of a DataLoader batch: a tensor, or the first element of a pair."""
    x = batch[0] if isinstance(batch, (tuple, list)) and batch else batch
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor) or not (x.dtype == torch.uint8 or x.is_floating_point()):
        kind = type(x).__name__ if not isinstance(x, torch.Tensor) else f"a {x.dtype} tensor"
        raise DataError(
            f"{what} is {kind}; a DataLoader must yield float or uint8 tensors of samples "
            "(or (x, label) pairs)"
        )
    if x.dim() == 3:
        x = x[:, None]
    if x.dim() not in (2, 4):
        raise ShapeError(
            f"{what} has shape {tuple(x.shape)}; batches must be (batch, d) vectors or "
            "(batch, C, H, W) images"
        )
    return x


class LoaderData:
    """A user's ``torch.utils.data.DataLoader`` as training data, checked on its first batch.

    The first batch fixes the sample shape (a one-line error when it is not
    a batch of float or uint8 samples); ``head(n)`` returns samples of that
    batch (the probe of the networks, the pictures). ``len`` is the length
    of the loader's dataset when it has one, else the batches times the
    batch size.
    """

    name = "dataloader"
    y = None
    fingerprint = None
    split = "train"

    def __init__(self, loader: torch.utils.data.DataLoader) -> None:
        try:
            self.per_epoch = len(loader)
        except TypeError as exc:
            raise DataError(
                "the DataLoader has no length (an IterableDataset without __len__); give "
                "one whose dataset has a length"
            ) from exc
        if self.per_epoch < 1:
            raise DataError("the DataLoader yields no batch; give it at least one sample")
        self.loader = loader
        try:
            first = next(iter(loader))
        except VeganError:
            raise
        except Exception as exc:  # noqa: BLE001 - a user's code: report it on one line
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise DataError(f"the DataLoader's first batch could not be read ({reason})") from exc
        x = _batch_x(first, "the DataLoader's first batch")
        if x.dtype != torch.uint8:
            x = x.float()
            if not torch.isfinite(x).all():
                raise DataError("the DataLoader's first batch contains NaN or inf values")
        self.first = to_float(x.detach().cpu())
        self.sample_shape = tuple(x.shape[1:])
        self.kind = "image" if x.dim() == 4 else "vector"
        try:
            self.n = len(loader.dataset)
        except TypeError:
            self.n = self.per_epoch * len(x)
        self.batch_size = loader.batch_size

    def __len__(self) -> int:
        return self.n

    @property
    def dim(self) -> int:
        """Number of values per sample."""
        return int(np.prod(self.sample_shape))

    def head(self, n: int) -> torch.Tensor:
        """Up to ``n`` samples of the first batch, float32."""
        return self.first[:n]


class LoaderFeed:
    """Batches of a user's DataLoader, in its own order, pass after pass.

    Each pass (an epoch) is a new iterator of the loader; its sampler's
    ``set_epoch`` (a ``DistributedSampler``'s) is called first. The state
    records the epoch and the position for the record; a resumed run starts
    a new pass of the loader: the model, optimizers and random streams are
    restored exactly, the batch order is the loader's.
    """

    def __init__(self, data: LoaderData, device: torch.device) -> None:
        self.data, self.loader, self.device = data, data.loader, device
        self.per_epoch = data.per_epoch
        self.preview = data.first.to(device)
        self.epoch, self.pos, self.seen = 0, 0, 0
        self._it: Any = None

    def _start(self) -> None:
        sampler = getattr(self.loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self.epoch)
        self._it = iter(self.loader)

    def next(self) -> torch.Tensor:
        """The loader's next batch, float32 on the device."""
        if self._it is None:
            self._start()
        try:
            batch = next(self._it)
        except StopIteration:
            self.epoch, self.pos = self.epoch + 1, 0
            self._start()
            batch = next(self._it)
        self.pos += 1
        self.seen += 1
        x = _batch_x(batch, f"batch {self.seen} of the DataLoader")
        if tuple(x.shape[1:]) != self.data.sample_shape:
            raise ShapeError(
                f"batch {self.seen} of the DataLoader has samples of shape "
                f"{tuple(x.shape[1:])} but the first batch had {self.data.sample_shape}; "
                "every sample must have one shape"
            )
        return to_float(x.to(self.device, non_blocking=True))

    def state(self) -> dict:
        """Where the loader is (for the record: a resumed run starts a new pass)."""
        return {
            "loader": True,
            "epoch": self.epoch,
            "pos": self.pos,
            "n": self.data.n,
            "batch_size": self.data.batch_size,
        }

    def load(self, state: dict) -> None:
        """Take the epoch count from ``state`` and start a new pass of the loader."""
        if not isinstance(state, dict) or not state.get("loader") or state.get("n") != self.data.n:
            raise CheckpointError(
                "the checkpoint was made with other data than this DataLoader; resume with "
                f"the same {flag('data', None)}"
            )
        epoch = state.get("epoch")
        if not isinstance(epoch, int) or epoch < 0:
            raise CheckpointError("the checkpoint's sampler state is ill-formed")
        self.epoch, self.pos, self._it = epoch + 1, 0, None

    def close(self) -> None:
        """Stop the loader's workers."""
        self._it = None


def make_feed(data: Any, cfg: Any, options: Any, device: torch.device, dist: Any):
    """The feed of ``data``: a tensor, a :class:`vegan.data.Dataset` or a :class:`LoaderData`."""
    from vegan.data.dataset import Dataset

    rank, world = dist.rank, dist.world
    if isinstance(data, LoaderData):
        return LoaderFeed(data, device)
    if isinstance(data, torch.Tensor):
        return MemoryFeed(data, cfg.batch_size, cfg.seed, rank, world, device)
    if not isinstance(data, Dataset):
        raise ConfigError(f"training data must be a tensor or a Dataset, got {type(data)}")
    if data.in_memory:
        return MemoryFeed(data.stored(), cfg.batch_size, cfg.seed, rank, world, device)
    from vegan.train.threads import local_ranks

    workers = choose_workers(getattr(options, "num_workers", -1), data.items, local_ranks())
    return StreamFeed(
        data.items,
        cfg.batch_size,
        cfg.seed,
        rank,
        world,
        device,
        workers=workers,
        pin_memory=_pin(getattr(options, "pin_memory", "auto"), device),
        prefetch_factor=getattr(options, "prefetch_factor", 2),
    )
