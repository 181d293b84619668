"""Mixed precision of a training step: the run option ``precision`` ("32", "bf16" or "16").

* ``"32"`` (the default): everything in float32, as before this option existed.
* ``"bf16"``: each player's loss is computed under ``torch.autocast(device,
  torch.bfloat16)``: matrix products and convolutions of the networks run
  in bfloat16 (8 significant bits, float32's range), the weights, the
  gradients and the optimizer states stay float32. No loss scaling is
  needed (the range is float32's).
* ``"16"``: the same with float16 (11 significant bits, a range up to
  65504), so small gradients underflow without loss scaling: each player
  has a ``torch.amp.GradScaler`` (Micikevicius et al. 2018, "Mixed
  precision training") that multiplies its loss before the backward pass,
  unscales the gradients before the optimizer step, skips a step whose
  gradients overflowed and halves the scale, and doubles it after 2,000
  steps without overflow. Meant for CUDA GPUs; PyTorch's CPU autocast
  accepts float16 too, but CPUs rarely compute it faster than float32.

Whatever the precision, the transport costs, the MMD, Sinkhorn and sliced
penalties, the gradient penalty, the KL and likelihood terms and the
adversaries' losses are computed in float32 (:mod:`vegan.ot.fp32`), and
evaluation, sampling and pictures run in float32 outside autocast.

Resume stays bit-identical for a given precision: the scalers' states (scale
and growth counter) are saved in every checkpoint's JSON. The precision of
a run cannot change on resume.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any

import torch

from vegan.errors import CheckpointError, ConfigError, closest

#: The values of the run option ``precision``.
PRECISIONS = ("32", "bf16", "16")
#: The autocast dtype of each mixed precision.
DTYPES = {"bf16": torch.bfloat16, "16": torch.float16}
#: Other libraries' names of the precisions, for the hint of an error.
ALIASES = {
    "fp32": "32", "float32": "32", "32-true": "32", "full": "32",
    "bfloat16": "bf16", "bf16-mixed": "bf16", "bf16-true": "bf16",
    "fp16": "16", "float16": "16", "half": "16", "16-mixed": "16", "16-true": "16",
}  # fmt: skip
#: A loss scale below this means the gradients overflow even unscaled: the run diverged.
#: 2^-16 is 32 overflows in a row from GradScaler's initial 2^16.
MIN_SCALE = 2.0**-16


def check_precision(value: Any) -> str:
    """``value`` if it is one of :data:`PRECISIONS`, else a one-line :class:`ConfigError`."""
    if value in PRECISIONS:
        return value
    if not isinstance(value, str):
        raise ConfigError(
            f"option 'precision' must be the string 32, bf16 or 16, got {value!r}; "
            'in a config file write precision = "32" (quoted)'
        )
    alias = ALIASES.get(value.strip().lower())
    hint = f" (did you mean '{alias}'?)" if alias else closest(value, PRECISIONS)
    raise ConfigError(
        f"option 'precision' must be 32, bf16 or 16, got '{value}'{hint}; 32 is float32, "
        "bf16 bfloat16 autocast, 16 float16 autocast with loss scaling"
    )


def autocast_supported(device_type: str, dtype: torch.dtype) -> bool:
    """Whether ``torch.autocast(device_type, dtype)`` really switches autocast on here.

    PyTorch warns and disables autocast for a dtype a device type does not
    support; this enters the context once, with that warning caught.
    """
    from vegan.ot.fp32 import autocast_enabled

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.autocast(device_type, dtype=dtype):
                return autocast_enabled(device_type) and _autocast_dtype(device_type) == dtype
    except (RuntimeError, ValueError, TypeError):
        return False


def _autocast_dtype(device_type: str) -> torch.dtype:
    try:
        return torch.get_autocast_dtype(device_type)
    except (AttributeError, TypeError):  # pragma: no cover - torch < 2.4
        if device_type == "cpu":
            return torch.get_autocast_cpu_dtype()
        return torch.get_autocast_gpu_dtype()


def check_device(precision: str, device: torch.device) -> None:
    """A one-line :class:`ConfigError` when ``device`` cannot train at ``precision``."""
    check_precision(precision)
    if precision == "32":
        return
    dtype = DTYPES[precision]
    if device.type == "cuda" and precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            "precision=bf16 needs a GPU with bfloat16 support (compute capability 8.0 or "
            "newer); use precision=16 (float16 with loss scaling) or 32 on this GPU"
        )
    if not autocast_supported(device.type, dtype):
        fix = "use precision=bf16 on the CPU" if device.type == "cpu" else "use precision=32"
        raise ConfigError(
            f"precision={precision}: this PyTorch ({torch.__version__}) has no {device.type} "
            f"autocast for {dtype}; {fix}"
        )
    if precision == "16" and not hasattr(torch.amp, "GradScaler"):  # pragma: no cover
        raise ConfigError(
            f"precision=16 needs torch.amp.GradScaler (PyTorch 2.3 or newer; this is "
            f"{torch.__version__}); use precision=bf16"
        )


def device_warning(precision: str, device: torch.device) -> str | None:
    """The warning for a precision that works on ``device`` but is slow there, or None.

    PyTorch's CPU autocast takes float16, but its CPU float16 convolutions
    are far slower than float32 (on the 2-core Xeon of BENCHMARKS.md, "Mixed
    precision", a wae-mmd step on MNIST took 43 s in float16 against 0.16 s
    in bfloat16).
    """
    if precision == "16" and device.type == "cpu":
        return (
            "precision=16 on the CPU: PyTorch's CPU float16 kernels are slow (MNIST convolutions "
            "measured over 100x slower than bf16); use precision=bf16 on the CPU, 16 on CUDA GPUs"
        )
    return None


class MixedPrecision:
    """Autocast and loss scaling of one run's players.

    Parameters
    ----------
    precision : {"32", "bf16", "16"}
        The run option.
    device : torch.device
        Where the players compute (its type is the autocast device type).
    players : int
        Number of players; each has its own gradient scaler (used at
        ``"16"`` only), as each has its own loss and optimizer.
    """

    def __init__(self, precision: str, device: torch.device, players: int) -> None:
        check_device(precision, device)
        self.precision, self.device_type = precision, device.type
        self.dtype = DTYPES.get(precision, torch.float32)
        self.scaling = precision == "16"
        self.scalers = (
            [torch.amp.GradScaler(device.type) for _ in range(players)] if self.scaling else []
        )

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context a player's loss is computed in (nothing at ``"32"``)."""
        if self.precision == "32":
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, i: int, loss: torch.Tensor) -> None:
        """Back-propagate player ``i``'s loss (multiplied by its loss scale at ``"16"``)."""
        (self.scalers[i].scale(loss) if self.scaling else loss).backward()

    def unscale(self, i: int, opt: torch.optim.Optimizer) -> None:
        """Divide player ``i``'s gradients by its loss scale (before checks and the step)."""
        if self.scaling:
            self.scalers[i].unscale_(opt)

    def step(self, i: int, opt: torch.optim.Optimizer) -> bool:
        """Take player ``i``'s optimizer step; False when its loss scale collapsed.

        At ``"16"`` the scaler skips a step whose gradients are not finite
        and halves the scale; a scale below :data:`MIN_SCALE` means the
        gradients overflow however small the scale: the caller stops the run.
        """
        if not self.scaling:
            opt.step()
            return True
        scaler = self.scalers[i]
        scaler.step(opt)
        scaler.update()
        return scaler.get_scale() >= MIN_SCALE

    # ------------------------------------------------------------- checkpoints
    def state(self, names: list[str]) -> dict[str, dict[str, Any]]:
        """JSON-ready scaler states by player name (empty unless ``"16"``)."""
        out = {}
        for name, scaler in zip(names, self.scalers):
            sd = scaler.state_dict()
            out[name] = {"scale": float(sd["scale"]), "growth_tracker": int(sd["_growth_tracker"])}
        return out

    def load(self, saved: Any, names: list[str], where: str) -> None:
        """Load :meth:`state` from a checkpoint's JSON (validated; a no-op unless ``"16"``)."""
        if not self.scaling:
            return
        if not isinstance(saved, dict):
            raise CheckpointError(
                f"checkpoint '{where}' of a precision=16 run has no gradient-scaler state; "
                "it is corrupted"
            )
        for name, scaler in zip(names, self.scalers):
            entry = saved.get(name)
            own = scaler.state_dict()
            scale = entry.get("scale") if isinstance(entry, dict) else None
            tracker = entry.get("growth_tracker") if isinstance(entry, dict) else None
            if (
                type(scale) not in (int, float)
                or not math.isfinite(scale)
                or not scale > 0
                or type(tracker) is not int
                or not 0 <= tracker < own["growth_interval"]
            ):
                raise CheckpointError(
                    f"checkpoint '{where}' has a missing or invalid gradient-scaler state for "
                    f"player '{name}'; it is corrupted"
                )
            scaler.load_state_dict({**own, "scale": float(scale), "_growth_tracker": tracker})


__all__ = [
    "PRECISIONS",
    "DTYPES",
    "MIN_SCALE",
    "check_precision",
    "check_device",
    "autocast_supported",
    "device_warning",
    "MixedPrecision",
]
