"""Float32 regions: transport terms are computed in float32 even inside mixed precision.

Training may run its networks under ``torch.autocast`` in bfloat16 or
float16 (the run option ``precision``, :mod:`vegan.train.precision`). A
matrix product under autocast is computed in the low-precision dtype,
whose 8 (bfloat16) or 11 (float16) significant bits are too few for the
quantities vegan's objectives are made of: a squared distance through the
Gram expansion |x|^2 + |y|^2 - 2 <x, y> cancels catastrophically, Sinkhorn
iterates exponentials of costs over epsilon, an MMD is a small difference
of large kernel sums, and a gradient penalty differentiates twice.

So the transport costs (:mod:`vegan.ot.costs`), the Sinkhorn solvers, the
sliced distance, the gradient penalty (:mod:`vegan.ot.dual`), and, in the
models, the MMD, the KL and likelihood terms and the adversaries' losses
run inside :func:`float32` / :func:`autocast_off`: autocast is switched off
for their body and their low-precision tensor arguments are cast to
float32 (float64 stays float64). Outside mixed precision these are no-ops.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import torch

#: Device types whose autocast state is switched off by :func:`autocast_off`.
DEVICE_TYPES = ("cpu", "cuda")
#: Floating dtypes narrower than float32, cast up by :func:`as_float32`.
HALF_DTYPES = (torch.float16, torch.bfloat16)

F = TypeVar("F", bound=Callable[..., Any])


def autocast_enabled(device_type: str) -> bool:
    """Whether autocast is on for ``device_type`` here (torch < 2.4 has one call per device)."""
    try:
        return bool(torch.is_autocast_enabled(device_type))
    except TypeError:  # pragma: no cover - torch < 2.4
        if device_type == "cpu":
            return bool(torch.is_autocast_cpu_enabled())
        return bool(torch.is_autocast_enabled())


@contextlib.contextmanager
def autocast_off() -> Iterator[None]:
    """Switch autocast off, on every device type where it is on, for the ``with`` body.

    Operations inside run in the dtype of their inputs (autocast's casts do
    not apply); combine with :func:`as_float32` on the inputs.
    """
    with contextlib.ExitStack() as stack:
        for device_type in DEVICE_TYPES:
            if autocast_enabled(device_type):
                stack.enter_context(torch.autocast(device_type, enabled=False))
        yield


def as_float32(t: Any) -> Any:
    """``t`` in float32 when it is a float16 or bfloat16 tensor; anything else unchanged."""
    if isinstance(t, torch.Tensor) and t.dtype in HALF_DTYPES:
        return t.float()
    return t


def float32(fn: F) -> F:
    """Decorate ``fn`` to run with autocast off and its half-precision tensor arguments in float32.

    Positional and keyword arguments that are float16 or bfloat16 tensors
    are cast to float32 (differentiably: gradients flow back in the
    argument's own dtype); other arguments pass as they are.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        args = tuple(as_float32(a) for a in args)
        kwargs = {k: as_float32(v) for k, v in kwargs.items()}
        with autocast_off():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


__all__ = ["autocast_enabled", "autocast_off", "as_float32", "float32", "HALF_DTYPES"]
