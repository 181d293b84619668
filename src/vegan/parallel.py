"""Data-parallel training on ``torch.distributed`` (launched by ``torchrun``).

vegan does not invent its own engine: ``vegan train`` started by
``torchrun --nproc_per_node N`` (or ``--nnodes``, or SLURM through torchrun)
finds ``WORLD_SIZE``/``RANK``/``LOCAL_RANK`` in the environment, joins the
process group (``gloo`` on CPU, ``nccl`` on CUDA) and trains as one run:

* **Shards.** Every rank draws the same permutation of the data (same seed);
  each global batch of ``batch_size`` items is cut into ``world`` equal
  local batches, rank r taking the r-th. The union of the local batches is
  exactly the batch a single process would draw.
* **Noise.** Random draws that belong to samples (prior codes fed to a
  generator, reparametrization noise) are drawn for the global batch with
  the shared RNG stream and sliced the same way (:meth:`DistContext.local`),
  so a run depends on the world size only through floating-point order.
* **Gradients.** After each player's backward pass the gradients of its
  parameters are averaged over ranks (one flattened all-reduce), which is
  what DistributedDataParallel does, done per player because a recipe's
  players call their networks in their own ways.
* **Penalties on the whole batch** (MMD, sliced, Sinkhorn, the latent
  adversary) default to ``penalty_scope = "global"``: codes are gathered
  from all ranks with gradients (``all_gather`` with autograd) so the
  penalty is the single-process one. ``"local"`` computes it on the local
  batch (cheaper, a different objective: an average of per-shard penalties).
* **Files.** Rank 0 alone writes logs, pictures and checkpoints; every rank
  resumes from the same checkpoint. Batch norm uses local batch statistics
  (as DDP does by default); running statistics are rank 0's.
* **Failures.** The process group has a timeout (``VEGAN_DIST_TIMEOUT``
  seconds, default 300): a rank that dies makes the others stop with an
  error instead of hanging (torchrun also stops the survivors).
* **Teardown.** The process group is left (:func:`shutdown`) before the
  interpreter finalizes, also when a user's script never calls it (an
  ``atexit`` hook), so that gloo's worker threads are joined while Python
  can still run them; see :func:`_bind_torch_defaults` for the upstream
  behaviour that made a rank abort (SIGABRT) at exit under load.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import torch

from vegan.errors import ConfigError, VeganError, flag


class DistributedError(VeganError, RuntimeError):
    """A collective failed or timed out (a rank died or the network broke)."""


@dataclass
class DistContext:
    """The process's place in the run: world size, rank, and helpers for shards."""

    world: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def local_size(self, global_n: int) -> int:
        """This rank's share of a global batch of ``global_n`` (must divide evenly)."""
        if global_n % self.world:
            raise ConfigError(
                f"batch_size {global_n} does not split over {self.world} "
                f"processes; use a multiple of {self.world}"
            )
        return global_n // self.world

    def local(self, x: torch.Tensor) -> torch.Tensor:
        """Rows of a global tensor (n_global, ...) that belong to this rank."""
        if not self.active:
            return x
        b = self.local_size(x.shape[0])
        return x[self.rank * b : (self.rank + 1) * b]

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate ``x`` from all ranks in rank order, keeping gradients to the local part."""
        if not self.active:
            return x
        try:
            return _GatherWithGrad.apply(x.contiguous(), self.world, self.rank)
        except RuntimeError as exc:
            raise _lost(exc) from exc

    def average_grads(self, params: list[torch.nn.Parameter]) -> None:
        """Average the gradients of ``params`` over ranks (one flattened all-reduce)."""
        if not self.active:
            return
        import torch.distributed as dist

        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        try:
            dist.all_reduce(flat)
        except RuntimeError as exc:
            raise _lost(exc) from exc
        flat.div_(self.world)
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """Average a tensor over ranks (for logged values)."""
        if not self.active:
            return values
        import torch.distributed as dist

        out = values.clone()
        try:
            dist.all_reduce(out)
        except RuntimeError as exc:
            raise _lost(exc) from exc
        return out / self.world

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            try:
                dist.barrier()
            except RuntimeError as exc:
                raise _lost(exc) from exc


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward returns to each rank the summed gradient of its own rows.

    Every rank computes a loss on the gathered tensor; the gradient of the
    sum of those losses with respect to rank r's rows is the sum over ranks
    of their gradients for those rows (an all-reduce, then this rank's slice).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, world: int, rank: int) -> torch.Tensor:
        import torch.distributed as dist

        ctx.rank, ctx.n = rank, x.shape[0]
        parts = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(parts, x)
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        import torch.distributed as dist

        grad = grad.contiguous().clone()
        try:
            dist.all_reduce(grad)
        except RuntimeError as exc:  # a rank died during the backward pass
            raise _lost(exc) from exc
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n], None, None


_CURRENT = DistContext()


def local_noise(draw, n_local: int, dim: int = 0) -> torch.Tensor:
    """Per-sample noise for this rank's ``n_local`` samples.

    ``draw(n)`` returns noise for n samples along ``dim``. In a distributed run
    it is called for the global batch (the same on every rank, whose RNG
    streams agree) and this rank keeps its slice, so the run draws what a
    single process would and the ranks' noises are independent.
    """
    ctx = _CURRENT
    if not ctx.active:
        return draw(n_local)
    full = draw(n_local * ctx.world)
    return full.narrow(dim, ctx.rank * n_local, n_local)


def current() -> DistContext:
    """The context of this process (world 1 unless :func:`init_from_env` joined a group)."""
    return _CURRENT


#: Set when a collective of a real process group failed (a peer died).
_BROKEN = False


def _lost(exc: Exception) -> DistributedError:
    global _BROKEN
    import torch.distributed as dist

    _BROKEN = _BROKEN or (dist.is_available() and dist.is_initialized())
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DistributedError(
        f"rank {_CURRENT.rank}: a collective failed ({first[:200]}); another "
        f"process probably died; see its log, then resume with {flag('resume')}"
    )


def sample_sharded(
    model, n: int, generator: torch.Generator | None = None, noise: bool | None = None
) -> torch.Tensor | None:
    """Draw n samples of a model, each rank decoding its share; rank 0 gets them all.

    Every rank draws the same n codes (cheap); rank r decodes rows
    [r * k, (r + 1) * k) with k = ceil(n / world); the decoded shares are
    gathered on rank 0, which returns the (n, ...) tensor (other ranks return
    None). With one process this is ``model.generate(prior.sample(n))``.
    """
    z = model.prior.sample(n, generator)
    ctx = _CURRENT
    if not ctx.active:
        return model.generate(z, noise).cpu()
    import torch.distributed as dist

    k = -(-n // ctx.world)
    mine = model.generate(z[ctx.rank * k : (ctx.rank + 1) * k], noise).cpu()
    padded = torch.zeros(k, *model.sample_shape)
    padded[: mine.shape[0]] = mine
    parts = [torch.empty_like(padded) for _ in range(ctx.world)] if ctx.is_main else None
    try:
        dist.gather(padded, parts, dst=0)
    except RuntimeError as exc:
        raise _lost(exc) from exc
    return torch.cat(parts)[:n] if ctx.is_main else None


def init_from_env(device_type: str = "cpu") -> DistContext:
    """Join the process group described by torchrun's environment variables, if any.

    Returns the world-1 context when ``WORLD_SIZE`` is unset or 1.
    """
    global _CURRENT
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        _CURRENT = DistContext()
        return _CURRENT
    import torch.distributed as dist

    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    timeout = float(os.environ.get("VEGAN_DIST_TIMEOUT", "300"))
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        _bind_torch_defaults()
        try:
            dist.init_process_group(backend=backend, timeout=timedelta(seconds=timeout))
        except (RuntimeError, ValueError) as exc:
            raise DistributedError(
                f"could not join the process group ({exc}); launch with "
                "torchrun, which sets MASTER_ADDR/MASTER_PORT"
            ) from exc
    _CURRENT = DistContext(world=world, rank=rank, local_rank=local_rank)
    global _ATEXIT, _JOINED
    _JOINED = True
    if not _ATEXIT:
        atexit.register(shutdown)  # before finalization: see _bind_torch_defaults
        _ATEXIT = True
    return _CURRENT


_ATEXIT = False
#: Set once this process joined a process group.
_JOINED = False


def _bind_torch_defaults() -> None:
    """Import the torch modules that capture the default process group, before it exists.

    Upstream behaviour (torch 2.x): ``torch.distributed.nn.functional`` binds
    ``group=group.WORLD`` as default arguments of ten functions when it is
    first imported. It is imported lazily by ``torch._dynamo``, which
    ``torch.optim`` imports when the first optimizer is made. Imported after
    ``init_process_group``, those defaults hold the default process group
    forever: ``destroy_process_group`` then cannot free it, its gloo worker
    threads (``pt_gloo_runloop``) outlive the run, and a worker that drops
    the last reference to a finished collective during interpreter
    finalization must take the GIL to release a tensor's Python object,
    which at that moment ends the thread (``PyThread_exit_thread``) through
    a ``noexcept`` C++ frame: ``terminate called without an active
    exception``, SIGABRT. On a loaded machine this hit about one run in ten.
    Imported here, before the group exists, the defaults bind ``None``
    ("the default group"), the group is freed by ``destroy_process_group``
    and its threads are joined. ``tests/train/test_distributed_teardown.py``
    keeps the minimal reproduction.
    """
    import torch.distributed.nn.functional  # noqa: F401
    import torch.optim  # noqa: F401  (imports torch._dynamo when it first builds)


def lingering_workers() -> int:
    """Threads of a process-group backend still alive in this process (Linux; else 0).

    After :func:`shutdown` this is 0 when the group was freed; a positive count
    means something still holds it (see :func:`_bind_torch_defaults`).
    """
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return 0
    count = 0
    for comm in tasks.glob("*/comm"):
        with contextlib.suppress(OSError):
            name = comm.read_text().strip()
            count += name.startswith(("pt_gloo", "gloo_"))
    return count


def shutdown(sync: bool = False) -> None:
    """Leave the process group (safe to call when none was joined).

    ``sync``: wait at a barrier first, so that no rank tears its connections
    down while another still talks to it (the end of a successful run; after
    an error the other ranks may never arrive, so no barrier then).
    """
    global _CURRENT
    if _CURRENT.active:
        import torch.distributed as dist

        if dist.is_initialized():
            if sync:
                with contextlib.suppress(RuntimeError):
                    dist.barrier()
            dist.destroy_process_group()
    _CURRENT = DistContext()


def exit_if_broken(code: int) -> None:
    """End the process at once (``os._exit``) after a collective failed.

    A gloo process group whose peer died can abort the interpreter while it
    shuts down ("terminate called without an active exception", SIGABRT),
    which would replace the clear error and exit status 2 that were already
    decided. The same holds when the group's worker threads outlived
    :func:`shutdown` (:func:`lingering_workers`). Files are written
    atomically, so nothing is lost by skipping the interpreter's clean-up.
    Does nothing in a healthy or single process.
    """
    if _BROKEN or (_JOINED and lingering_workers()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
