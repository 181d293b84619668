"""The batch order: a seeded permutation per epoch, sharded over ranks, resumable at any step."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from vegan.errors import CheckpointError, flag


class BatchStream:
    """An endless stream of batches of ``x`` (n, ...), without per-item Python overhead.

    Each epoch draws a permutation from its own generator (seeded), then
    yields ``n // batch_size`` batches (the last incomplete batch is dropped;
    data smaller than one batch gives whole-data batches). The state (the
    generator state at the start of the epoch and the position in it) is
    small and restores the stream exactly.

    In a distributed run every rank draws the same permutation and keeps its
    ``1/world`` share of each global batch (``rank``-th slice), so the union
    of the ranks' batches is the single-process batch.

    ``x`` is the data (a tensor: :meth:`next` returns its rows) or only the
    number of items (:meth:`next_indices` returns which to read): the order
    is a function of (seed, step, rank, world) alone, whoever reads the items.
    """

    def __init__(
        self, x: torch.Tensor | int, batch_size: int, seed: int, rank: int = 0, world: int = 1
    ) -> None:
        self.x = x if isinstance(x, torch.Tensor) else None
        self.n = int(x.shape[0]) if isinstance(x, torch.Tensor) else int(x)
        self.batch_size = min(batch_size, self.n)
        self.rank, self.world = rank, world
        if self.batch_size % world:
            from vegan.errors import ConfigError

            raise ConfigError(
                f"batch_size {self.batch_size} does not split over {world} "
                f"processes; use a multiple of {world}"
            )
        self.local = self.batch_size // world
        self.per_epoch = max(1, self.n // self.batch_size)
        self.gen = torch.Generator().manual_seed(seed)
        self.epoch, self.pos = 0, 0
        self._start_epoch()

    def _start_epoch(self) -> None:
        self._epoch_state = self.gen.get_state()
        self.perm = torch.randperm(self.n, generator=self.gen)
        if self.x is not None:
            self.perm = self.perm.to(self.x.device)

    def next_indices(self) -> torch.Tensor:
        """The item numbers of this rank's next batch (int64, in batch order)."""
        if self.pos >= self.per_epoch:
            self.epoch += 1
            self.pos = 0
            self._start_epoch()
        start = self.pos * self.batch_size + self.rank * self.local
        self.pos += 1
        return self.perm[start : start + self.local]

    def next(self) -> torch.Tensor:
        """This rank's next batch of ``x``."""
        return self.x.index_select(0, self.next_indices())

    def ahead(self) -> Iterator[torch.Tensor]:
        """The batches' item numbers from here on, endlessly, leaving this stream where it is.

        A copy of the generator and the position: a prefetching reader (a
        ``DataLoader``'s sampler) runs ahead on it while this stream advances
        one batch at a time as batches are used, so its :meth:`state` is that
        of the batches used.
        """
        twin = object.__new__(BatchStream)
        twin.__dict__.update(self.__dict__)
        twin.x = None
        twin.gen = torch.Generator().manual_seed(0)
        twin.gen.set_state(self.gen.get_state())
        twin.perm = self.perm.cpu()
        while True:
            yield twin.next_indices()

    def state(self) -> dict:
        from vegan.train.checkpoint import b64

        return {
            "epoch": self.epoch,
            "pos": self.pos,
            "gen": b64(self._epoch_state),
            "n": self.n,
            "batch_size": self.batch_size,
        }

    def load(self, state: dict) -> None:
        from vegan.train.checkpoint import unb64

        if (
            not isinstance(state, dict)
            or state.get("n") != self.n
            or state.get("batch_size") != self.batch_size
        ):
            raise CheckpointError(
                "the checkpoint was made with other data or another batch size; "
                f"resume with the same {flag('data', None)} and options"
            )
        epoch, pos = state.get("epoch"), state.get("pos")
        if not isinstance(epoch, int) or not isinstance(pos, int) or not 0 <= pos <= self.per_epoch:
            raise CheckpointError("the checkpoint's sampler state is ill-formed")
        try:
            self.gen.set_state(unb64(state.get("gen")))
        except RuntimeError as exc:
            raise CheckpointError("the checkpoint's sampler RNG state is invalid") from exc
        self.epoch, self.pos = epoch, pos
        self._start_epoch()
