"""Memory: what is available, what a computation needs, and the refusal when it will not fit.

Used by every layer that allocates on a user's behalf (reading a file in
:mod:`vegan.io`, transport plans in :mod:`vegan.ot`, MMD kernels, models and
batches in :mod:`vegan.train`), so that a computation too large for the
machine is refused with a :class:`~vegan.errors.ResourceError` naming what to
change, before it allocates, instead of being killed by the system.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from vegan.errors import ResourceError


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable`` on Linux), or None."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


#: Below this many bytes an allocation is not checked (no /proc read per training step).
CHECK_ABOVE = 256 * 2**20


def device_memory(device: Any = "cpu") -> int | None:
    """Bytes free for a new allocation on ``device`` (None when unknown)."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":
        return None
    return available_memory()


def check_allocation(need: int, device: Any, what: str, fix: str) -> None:
    """Raise :class:`ResourceError` when ``need`` bytes will not fit on ``device``.

    ``what`` names the computation ("the Sinkhorn plan between 10 and 20
    samples"), ``fix`` says what to change. Small needs are not checked.
    """
    if need <= CHECK_ABOVE:
        return
    have = device_memory(device)
    if have is not None and need > have:
        raise ResourceError(
            f"{what} needs about {format_bytes(need)} but {format_bytes(have)} is available; {fix}"
        )


def format_bytes(n: float) -> str:
    """Human-readable byte count (GiB/MiB)."""
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.0f} MiB"
