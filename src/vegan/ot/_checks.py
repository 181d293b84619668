"""Input checks shared by the optimal-transport functions (private).

Every problem a user can cause raises a typed :mod:`vegan.errors` error with
a one-line message: samples that are empty, non-finite or of mismatched
dimension, weights that are negative or of the wrong total, options out of
range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from vegan.errors import ConfigError, DataError, ShapeError, closest
from vegan.resources import (  # noqa: F401  (re-exported for the ot modules)
    CHECK_ABOVE,
    available_memory,
    check_allocation,
    device_memory,
    format_bytes,
)

#: Relative tolerance on the equality of the total masses of two weight vectors.
MASS_RTOL = 1e-6


def as_samples(x: Any, name: str = "x", dtype: torch.dtype | None = None) -> torch.Tensor:
    """Return ``x`` as a 2-D floating tensor (n, d), validated.

    Accepts a NumPy array, a torch tensor (any device) or a nested list. A
    1-D array (n,) is read as n samples in one dimension; images (n, C, H, W)
    and any other trailing shape are flattened. Integer and boolean arrays
    become float64 (NumPy) or the default float dtype (torch). ``dtype``
    converts the result. Raises :class:`DataError` for empty or non-finite
    samples and for non-numeric input.
    """
    checked = False  # entries already proven finite (NumPy input)
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{name} cannot be read as a numeric array ({exc})") from exc
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
        ):
            raise DataError(f"{name} has dtype {arr.dtype}; expected a numeric array")
        if arr.ndim == 0:
            raise DataError(f"{name} is a scalar; expected samples of shape (n, d)")
        if np.iscomplexobj(arr):
            raise DataError(f"{name} is complex; expected real-valued samples")
        if not np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float64)
        if arr.size and not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).sum())
            raise DataError(f"{name} contains {bad} NaN or inf values; remove or replace them")
        t = torch.from_numpy(np.ascontiguousarray(arr))
        checked = True
    if t.is_complex():
        raise DataError(f"{name} is complex; expected real-valued samples")
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    if t.dim() == 0:
        raise DataError(f"{name} is a scalar; expected samples of shape (n, d)")
    if t.dim() == 1:
        t = t[:, None]
    elif t.dim() > 2:
        t = t.reshape(t.shape[0], -1)
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise DataError(f"{name} is empty (shape {tuple(t.shape)}); give at least one sample")
    if dtype is not None and dtype != t.dtype:
        checked = checked and torch.finfo(dtype).max >= torch.finfo(t.dtype).max
        t = t.to(dtype)
    # A finite sum proves every entry finite (fast); otherwise count the bad ones.
    if not checked and not bool(torch.isfinite(t.detach().sum())):
        bad = int((~torch.isfinite(t)).sum())
        if bad:
            raise DataError(f"{name} contains {bad} NaN or inf values; remove or replace them")
    return t


def check_same_dim(x: torch.Tensor, y: torch.Tensor, names: tuple[str, str] = ("x", "y")) -> None:
    """Raise :class:`ShapeError` when two sample sets live in different dimensions."""
    if x.shape[1] != y.shape[1]:
        raise ShapeError(
            f"{names[0]} has dimension {x.shape[1]} but {names[1]} has dimension "
            f"{y.shape[1]}; both sample sets must live in the same space"
        )


def as_weights(
    w: Any, n: int, name: str, dtype: torch.dtype, device: torch.device | str
) -> torch.Tensor:
    """Validate a weight vector for ``n`` samples; ``None`` gives uniform weights 1/n.

    Raises :class:`ShapeError` for a wrong length and :class:`DataError` for
    negative, non-finite or all-zero weights.
    """
    if w is None:
        return torch.full((n,), 1.0 / n, dtype=dtype, device=device)
    t = w if isinstance(w, torch.Tensor) else torch.as_tensor(np.asarray(w, dtype=np.float64))
    t = t.to(dtype=dtype, device=device)
    if t.dim() != 1 or t.shape[0] != n:
        raise ShapeError(
            f"weights {name} have shape {tuple(t.shape)} but there are {n} samples; "
            f"give one weight per sample (shape ({n},))"
        )
    t_ = t.detach()
    if not bool(torch.isfinite(t_).all()):
        raise DataError(f"weights {name} contain NaN or inf values")
    if bool((t_ < 0).any()):
        raise DataError(f"weights {name} contain negative values; weights must be >= 0")
    if float(t_.sum()) <= 0:
        raise DataError(f"weights {name} sum to 0; give at least one positive weight")
    return t


def check_masses(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Check that ``a`` and ``b`` carry the same total mass; return ``b`` rescaled exactly onto it.

    The mass rule of every solver (POT's): weights are used as given, not
    normalized, so the value scales with the common total mass; unequal
    totals (relative gap above :data:`MASS_RTOL`) raise :class:`DataError`,
    as vegan has no unbalanced solver. Works on single weight vectors and on
    batches (..., n), (..., m).
    """
    sa, sb = a.sum(-1, keepdim=True), b.sum(-1, keepdim=True)
    gap = float(((sa - sb).abs() / torch.maximum(sa, sb)).detach().max())
    if gap > MASS_RTOL:
        i = int(((sa - sb).abs() / torch.maximum(sa, sb)).detach().reshape(-1).argmax())
        raise DataError(mass_message(float(sa.reshape(-1)[i]), float(sb.reshape(-1)[i])))
    return b * (sa / sb)


def mass_message(sa: float, sb: float) -> str:
    """The one-line message for weights of unequal totals."""
    return (
        f"weights a sum to {sa:.9g} but weights b sum to {sb:.9g}; balanced optimal "
        "transport needs equal total mass (vegan has no unbalanced solver): rescale one "
        "side, e.g. b * a.sum() / b.sum(), or normalize both to 1"
    )


def is_tensor(*values: Any) -> bool:
    """True when any of ``values`` is a torch tensor (the value then comes back as one)."""
    return any(isinstance(v, torch.Tensor) for v in values)


def as_value(v: Any, torch_out: bool, dtype: torch.dtype, device: Any) -> Any:
    """A value in the kind of the inputs: a Python float, or a tensor of ``dtype`` on ``device``.

    The return rule of :mod:`vegan.ot`: NumPy arrays or lists in, Python floats
    out (NumPy arrays for batches); torch tensors in, tensors out (gradients
    kept). ``v`` may be a float, a NumPy array or a tensor.
    """
    if torch_out:
        if isinstance(v, torch.Tensor):
            return v.to(dtype=dtype, device=device)
        return torch.as_tensor(v, dtype=dtype, device=device)
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    v = np.asarray(v, dtype=np.float64)
    return float(v) if v.ndim == 0 else v


def as_array(v: Any, torch_out: bool, dtype: torch.dtype, device: Any) -> Any:
    """An array (plan, potentials) in the kind of the inputs: NumPy float64, or a tensor."""
    if v is None:
        return None
    if torch_out:
        return torch.as_tensor(v).to(dtype=dtype, device=device)
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=np.float64)


def output_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """The floating dtype of the values returned for these validated inputs (their promotion)."""
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = torch.promote_types(dt, t.dtype)
    return dt


def check_choice(value: str, choices: tuple[str, ...] | list[str], what: str) -> str:
    """Raise :class:`ConfigError` naming the closest valid choice when ``value`` is unknown."""
    if not isinstance(value, str) or value not in choices:
        hint = closest(value, choices) if isinstance(value, str) else ""
        raise ConfigError(
            f"unknown {what} {value!r}{hint}; choose one of {', '.join(map(repr, choices))}"
        )
    return value


def positive_float(value: Any, name: str, allow_none: bool = False) -> float | None:
    """Return ``value`` as a finite positive float, or raise :class:`ConfigError`."""
    if value is None and allow_none:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a positive number, got {value!r}") from exc
    if not math.isfinite(v) or v <= 0:
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
    return v


def positive_int(value: Any, name: str) -> int:
    """Return ``value`` as a positive int, or raise :class:`ConfigError`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
