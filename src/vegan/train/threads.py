"""How many CPU threads a run uses: the user's choice, else one chosen from the work.

Small networks gain little from a second thread and lose a lot when another
process competes for the cores: idle OpenMP workers spin, so two runs with
two threads each on a 2-core machine were measured 10x slower than one
after the other (BENCHMARKS.md, "Threads"). Large convolution steps do gain
from threads when the machine is theirs. The policy, in order:

1. the run's ``threads`` option (``--threads``), when > 0;
2. ``OMP_NUM_THREADS``, when the user set it (torchrun sets it to 1 for its
   workers when the user did not; that default is not a choice and is
   recognised by reading the launcher's own environment);
3. otherwise from the work: a step under :data:`SMALL_STEP` multiply-adds
   (forward pass of every network a step calls, at the global batch) gets one
   thread; a larger one gets the cores this process may use
   (``os.sched_getaffinity``), divided among torchrun's local ranks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

#: Forward multiply-adds per step below which one thread is used. The default
#: networks of every recipe on 2-D data (at most 2.6e8, wae-gan's latent adversary)
#: and MLPs on 784-D vectors (at most 3.1e8) fall below; the default 28x28
#: convolution networks (8.4e8 to 1.7e9) above. BENCHMARKS.md, "Threads".
SMALL_STEP = 5e8


@dataclass(frozen=True)
class ThreadChoice:
    """The number of threads and why (recorded in run.json)."""

    threads: int
    source: str

    def as_dict(self) -> dict:
        return {"threads": self.threads, "source": self.source}


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def local_ranks() -> int:
    """Processes of this run on this machine (torchrun's LOCAL_WORLD_SIZE, else 1)."""
    try:
        return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        return 1


def user_omp_threads() -> int | None:
    """``OMP_NUM_THREADS`` when the user set it; None when unset or set by torchrun."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        return None
    if n < 1:
        return None
    if "TORCHELASTIC_RUN_ID" in os.environ and not _launcher_had_omp():
        return None  # torchrun's own default for its workers, not the user's choice
    return n


def _launcher_had_omp() -> bool:
    """Whether the launcher (parent) process was started with OMP_NUM_THREADS set."""
    try:
        env = open(f"/proc/{os.getppid()}/environ", "rb").read()
    except OSError:
        return True  # cannot tell: treat the value as the user's
    return any(item.startswith(b"OMP_NUM_THREADS=") for item in env.split(b"\0"))


def count_macs(model: nn.Module, run: Callable[[], object]) -> float:
    """Multiply-adds per sample of the Linear and convolution layers that ``run()`` calls.

    Each call of a layer on a batch of n counts its multiply-adds divided by n;
    a step's cost is then about this number times the batch size.
    """
    total = 0.0

    def hook(module: nn.Module, inputs, output) -> None:
        nonlocal total
        if not isinstance(output, torch.Tensor) or output.dim() == 0:
            return
        n = max(1, output.shape[0])
        if isinstance(module, nn.Linear):
            total += output.numel() / n * module.in_features
        elif isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            k = module.weight[0].numel()  # in_channels / groups * kernel size
            total += output.numel() / n * k
        elif isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            x = inputs[0]
            k = module.weight[0].numel()  # out_channels / groups * kernel size
            total += x.numel() / max(1, x.shape[0]) * k

    layers = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d) + (
        nn.ConvTranspose1d,
        nn.ConvTranspose2d,
        nn.ConvTranspose3d,
    )
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, layers)]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return total


def choose_threads(requested: int, macs_per_step: float | None) -> ThreadChoice:
    """The policy of this module: option, then the user's OMP_NUM_THREADS, then the work."""
    if requested > 0:
        return ThreadChoice(requested, "the threads option")
    omp = user_omp_threads()
    if omp is not None:
        return ThreadChoice(omp, "OMP_NUM_THREADS")
    cores, ranks = available_cores(), local_ranks()
    share = max(1, cores // ranks)
    where = f"{cores} cores" + (f" / {ranks} local ranks" if ranks > 1 else "")
    if macs_per_step is None:
        return ThreadChoice(share, f"auto: {where}")
    if macs_per_step < SMALL_STEP:
        return ThreadChoice(1, f"auto: small step ({macs_per_step:.2g} multiply-adds)")
    return ThreadChoice(share, f"auto: large step ({macs_per_step:.2g} multiply-adds), {where}")


@contextmanager
def using_threads(n: int):
    """Run a block with ``torch.set_num_threads(n)``, restoring the previous count after."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
