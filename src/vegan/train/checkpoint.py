"""Checkpoints: tensors in safetensors, everything else in JSON, written atomically.

A checkpoint of step ``s`` is two files in ``RUN/checkpoints/``:

* ``step-<s>.safetensors`` - model weights (``model/<name>``) and optimizer
  state tensors (``optim/<player>/<param index>/<key>``);
* ``step-<s>.json`` - step, epoch, the players' optimizer settings, RNG and
  sampler states, the run options (its ``precision`` among them), for a
  ``precision = "16"`` run the players' gradient-scaler states (``scalers``:
  scale and growth counter, :mod:`vegan.train.precision`), and the SHA-256
  of the tensor file.

The tensor file is written first and the JSON last, each through a temporary
file and a rename, so the JSON is the commit marker: a checkpoint counts only
when its JSON exists and the hash of its tensor file matches. A kill at any
moment therefore leaves the previous checkpoint intact. Nothing is pickled:
loading parses a JSON header and raw tensor bytes, validates every field, and
refuses tensors whose names, shapes or dtypes differ from the model's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from vegan import __version__
from vegan.errors import CheckpointError
from vegan.io import atomic_write_bytes, atomic_write_json

FORMAT = "vegan-checkpoint/1"
_NAME = re.compile(r"^step-(\d{8,})\.json$")
#: A tensor file may not declare a header larger than this (bytes).
MAX_HEADER = 16 * 2**20
#: Bytes per element of the safetensors dtypes a checkpoint may hold.
DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


@dataclass
class Checkpoint:
    """A loaded checkpoint: tensors by key and the JSON state."""

    step: int
    tensors: dict[str, torch.Tensor]
    state: dict[str, Any]
    path: Path


def checkpoint_dir(run_dir: Path) -> Path:
    """The folder holding a run's checkpoints."""
    return Path(run_dir) / "checkpoints"


def b64(t: torch.Tensor) -> str:
    """Encode a uint8 tensor (an RNG state) as base64 text."""
    return base64.b64encode(t.cpu().numpy().tobytes()).decode("ascii")


def unb64(s: str) -> torch.Tensor:
    """Decode :func:`b64` text back to a uint8 tensor."""
    if not isinstance(s, str):
        raise CheckpointError("checkpoint RNG state is not text; the checkpoint is corrupted")
    try:
        raw = base64.b64decode(s.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise CheckpointError("checkpoint RNG state is not valid base64; it is corrupted") from exc
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).clone()


def optimizer_to_flat(
    name: str, opt: torch.optim.Optimizer
) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer's state into tensors (for safetensors) and JSON-ready settings."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optim/{name}/{idx}/{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}
        for g in sd["param_groups"]
    ]
    return tensors, {"param_groups": groups, "scalars": scalars}


def _fits(own: Any, saved: Any) -> bool:
    """Whether a saved optimizer setting has the kind of value this optimizer uses."""
    if own is None or isinstance(own, bool):
        return saved is None or isinstance(saved, bool)
    if isinstance(own, int | float):
        return type(saved) in (int, float) and math.isfinite(saved)
    if isinstance(own, tuple | list):
        return (
            isinstance(saved, list)
            and len(saved) == len(own)
            and all(_fits(a, b) for a, b in zip(own, saved))
        )
    if isinstance(own, str):
        return isinstance(saved, str)
    return saved == own


def _is_switch(value: Any) -> bool:
    return value is None or isinstance(value, bool | str)


def optimizer_from_flat(
    name: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict
) -> None:
    """Load an optimizer's state saved by :func:`optimizer_to_flat` (validated)."""
    ref = opt.state_dict()
    groups = meta.get("param_groups") if isinstance(meta, dict) else None
    if not isinstance(groups, list) or len(groups) != len(ref["param_groups"]):
        raise CheckpointError(f"optimizer state of player '{name}' does not match this model")
    for saved, own in zip(groups, ref["param_groups"]):
        if not isinstance(saved, dict) or saved.get("params") != own["params"]:
            raise CheckpointError(f"optimizer state of player '{name}' does not match this model")
        for key, value in own.items():
            if key != "params" and (key not in saved or not _fits(value, saved[key])):
                raise CheckpointError(
                    f"optimizer setting '{key}' of player '{name}' is missing or ill-typed"
                )
    state: dict[int, dict[str, Any]] = {}
    prefix = f"optim/{name}/"
    n_params = sum(len(g["params"]) for g in ref["param_groups"])
    for key, value in tensors.items():
        if not key.startswith(prefix):
            continue
        idx_s, _, field = key[len(prefix) :].partition("/")
        if not idx_s.isdigit() or int(idx_s) >= n_params or not field:
            raise CheckpointError(f"unexpected optimizer tensor '{key}' in checkpoint")
        state.setdefault(int(idx_s), {})[field] = value
    scalars = meta.get("scalars") or {}
    if not isinstance(scalars, dict):
        raise CheckpointError(f"optimizer state of player '{name}' is ill-formed")
    for idx_s, entry in scalars.items():
        if (
            not str(idx_s).isdigit()
            or int(idx_s) >= n_params
            or not isinstance(entry, dict)
            or not all(
                type(v) in (int, float, bool) and k not in state.get(int(idx_s), {})
                for k, v in entry.items()
            )
        ):
            raise CheckpointError(f"optimizer state of player '{name}' is ill-formed")
        state.setdefault(int(idx_s), {}).update(entry)
    params = [p for g in opt.param_groups for p in g["params"]]
    for idx, entry in state.items():
        for field, value in entry.items():
            if not torch.is_tensor(value):
                continue
            if value.dim() > 0 and (
                value.shape != params[idx].shape or value.dtype != params[idx].dtype
            ):
                raise CheckpointError(
                    f"optimizer tensor {field} of parameter {idx} of player '{name}' is "
                    f"{tuple(value.shape)} {value.dtype}, the model needs "
                    f"{tuple(params[idx].shape)} {params[idx].dtype}"
                )
            if value.dim() == 0 and not value.is_floating_point():
                raise CheckpointError(
                    f"optimizer counter {field} of parameter {idx} of player '{name}' is "
                    f"{value.dtype}, not a floating-point number"
                )
    # Numbers (lr, betas, eps, weight_decay) come from the checkpoint; switches such as
    # amsgrad, foreach or capturable stay this optimizer's own (they are not training state).
    sd = {
        "state": state,
        "param_groups": [
            {k: (v if _is_switch(v) else saved[k]) for k, v in own.items()}
            for saved, own in zip(groups, ref["param_groups"])
        ],
    }
    for g in sd["param_groups"]:
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
        try:  # the optimizer's own range checks (0 <= beta < 1, eps >= 0, ...)
            type(opt)([torch.zeros(1, requires_grad=True)], **{k: g[k] for k in opt.defaults})
        except (ValueError, TypeError, RuntimeError) as exc:
            raise CheckpointError(
                f"optimizer settings of player '{name}' are out of range ({exc})"
            ) from exc
    try:
        opt.load_state_dict(sd)
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(
            f"optimizer state of player '{name}' could not be loaded ({exc})"
        ) from exc


def save_checkpoint(
    run_dir: Path, step: int, tensors: dict[str, torch.Tensor], state: dict[str, Any], keep: int = 2
) -> Path:
    """Write checkpoint ``step`` atomically and prune all but the ``keep`` newest."""
    cdir = checkpoint_dir(run_dir)
    cdir.mkdir(parents=True, exist_ok=True)
    data = st_save(
        {k: v.detach().cpu().contiguous() for k, v in tensors.items()}, metadata={"format": FORMAT}
    )
    stem = f"step-{step:08d}"
    atomic_write_bytes(cdir / f"{stem}.safetensors", data)
    meta = {
        "format": FORMAT,
        "vegan_version": __version__,
        "step": step,
        "tensors": f"{stem}.safetensors",
        "sha256": hashlib.sha256(data).hexdigest(),
        "n_bytes": len(data),
        **state,
    }
    path = atomic_write_json(cdir / f"{stem}.json", meta)
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        for p in (old, old.with_suffix(".safetensors")):
            p.unlink(missing_ok=True)
    _remove_orphans(run_dir)
    return path


def _remove_orphans(run_dir: Path) -> None:
    """Delete what killed runs left: tensor files without their JSON, temporary files.

    Called by the one writer of a run right after a checkpoint is committed,
    so every tensor file without a JSON is debris, never a checkpoint in progress.
    """
    from vegan.train.rundir import remove_debris

    cdir = checkpoint_dir(run_dir)
    for p in cdir.glob("step-*.safetensors"):
        if not p.with_suffix(".json").exists():
            p.unlink(missing_ok=True)
    remove_debris(run_dir)


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoint JSON files of a run, oldest first (by step)."""
    cdir = checkpoint_dir(run_dir)
    if not cdir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in cdir.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def read_checkpoint(path: Path) -> Checkpoint:
    """Read and verify one checkpoint (its JSON, the hash and header of its tensor file)."""
    try:
        meta = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"checkpoint '{path}' is not readable JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"'{path}' is not a vegan checkpoint (format {FORMAT} expected)")
    step = meta.get("step")
    if not isinstance(step, int) or step < 0:
        raise CheckpointError(f"checkpoint '{path}' has an invalid step")
    tname = meta.get("tensors")
    if (
        not isinstance(tname, str)
        or "/" in tname
        or "\\" in tname
        or tname.startswith(".")
        or not tname.endswith(".safetensors")
    ):
        raise CheckpointError(f"checkpoint '{path}' names an unsafe tensor file '{tname}'")
    m = _NAME.match(Path(path).name)
    if m and int(m.group(1)) != step:
        raise CheckpointError(
            f"checkpoint '{path}' says step {step} but its name says {int(m.group(1))}; "
            "it was edited or crafted"
        )
    if not isinstance(meta.get("vegan_version", ""), str):
        raise CheckpointError(f"checkpoint '{path}' has an ill-typed vegan_version")
    n_bytes = meta.get("n_bytes")
    tpath = Path(path).parent / tname
    try:
        size = tpath.stat().st_size
        if n_bytes is not None and (not isinstance(n_bytes, int) or size != n_bytes):
            raise CheckpointError(
                f"tensor file '{tpath}' has {size} bytes, its checkpoint says {n_bytes!r}; "
                "it is truncated or corrupted"
            )
        data = tpath.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"tensor file '{tpath}' of checkpoint '{path}' is missing") from exc
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        raise CheckpointError(
            f"tensor file '{tpath}' does not match its checksum; it is truncated or corrupted"
        )
    tensors = parse_safetensors(data, str(tpath))
    return Checkpoint(step, tensors, meta, Path(path))


def parse_safetensors(data: bytes, name: str) -> dict[str, torch.Tensor]:
    """Load safetensors bytes after checking the header's size and every tensor's extent."""
    if len(data) < 8:
        raise CheckpointError(f"'{name}' is too short to be a safetensors file")
    (hlen,) = struct.unpack("<Q", data[:8])
    if hlen > MAX_HEADER or 8 + hlen > len(data):
        raise CheckpointError(
            f"'{name}' declares a header of {hlen} bytes, beyond the file; "
            "it is corrupted or crafted"
        )
    try:
        header = json.loads(data[8 : 8 + hlen])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"'{name}' has an unreadable safetensors header") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"'{name}' has an ill-formed safetensors header")
    body = len(data) - 8 - hlen
    for key, info in header.items():
        if key == "__metadata__":
            if not isinstance(info, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in info.items()
            ):
                raise CheckpointError(f"'{name}' has ill-formed safetensors metadata")
            continue
        offs = info.get("data_offsets") if isinstance(info, dict) else None
        shape = info.get("shape") if isinstance(info, dict) else None
        dtype = info.get("dtype") if isinstance(info, dict) else None
        if (
            not isinstance(offs, list)
            or len(offs) != 2
            or not all(type(o) is int for o in offs)
            or not 0 <= offs[0] <= offs[1] <= body
        ):
            raise CheckpointError(
                f"tensor '{key}' in '{name}' lies outside the file; "
                "the file is corrupted or crafted"
            )
        if (
            not isinstance(shape, list)
            or not all(type(d) is int and d >= 0 for d in shape)
            or dtype not in DTYPE_BYTES
            or math.prod(shape) * DTYPE_BYTES[dtype] != offs[1] - offs[0]
        ):
            raise CheckpointError(
                f"tensor '{key}' in '{name}' declares dtype {dtype!r} and shape {shape!r}, "
                f"which do not match its {offs[1] - offs[0]} bytes; the file is corrupted "
                "or crafted"
            )
    try:
        return st_load(data)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"'{name}' is not a valid safetensors file ({exc})") from exc


def latest_checkpoint(run_dir: Path) -> Checkpoint | None:
    """The newest checkpoint of a run that verifies, or None when there is none.

    A newer checkpoint that fails to verify (a write cut short) is skipped in
    favour of the previous one.
    """
    errors = []
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return read_checkpoint(path)
        except CheckpointError as exc:
            errors.append(str(exc))
    if errors:
        raise CheckpointError(f"no valid checkpoint in '{run_dir}': {errors[0]}")
    return None


def load_model_tensors(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Copy ``model/...`` tensors into ``model`` after checking names, shapes and dtypes."""
    own = model.state_dict()
    saved = {k[len("model/") :]: v for k, v in tensors.items() if k.startswith("model/")}
    missing = sorted(set(own) - set(saved))
    extra = sorted(set(saved) - set(own))
    if missing or extra:
        what = f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}"
        raise CheckpointError(
            f"checkpoint does not fit this model ({what}); it is from another "
            "recipe or network size"
        )
    for key, value in saved.items():
        if value.shape != own[key].shape or value.dtype != own[key].dtype:
            raise CheckpointError(
                f"checkpoint tensor '{key}' has shape {tuple(value.shape)} {value.dtype}, the "
                f"model needs {tuple(own[key].shape)} {own[key].dtype}; it is from another "
                "recipe or network size"
            )
    model.load_state_dict(saved, strict=True)


def training_state(
    model: torch.nn.Module,
    players: list,
    optimizers: list,
    device: torch.device,
    *,
    step: int,
    epoch: float,
    sampler: dict[str, Any],
    lr_scale: float,
    rollbacks: int,
    seconds: float,
    config: dict[str, Any],
    options: dict[str, Any],
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and the JSON state of a checkpoint: weights, optimizers, RNG, sampler."""
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    optim_meta = {}
    for player, opt in zip(players, optimizers):
        t, meta = optimizer_to_flat(player.name, opt)
        tensors.update(t)
        optim_meta[player.name] = meta
    rng = {"torch": b64(torch.get_rng_state())}
    if device.type == "cuda":
        rng["cuda"] = [b64(s) for s in torch.cuda.get_rng_state_all()]
    state = {
        "epoch": epoch,
        "players": [p.name for p in players],
        "optimizers": optim_meta,
        "rng": rng,
        "sampler": sampler,
        "lr_scale": lr_scale,
        "rollbacks": rollbacks,
        "seconds": seconds,
        "recipe": getattr(model, "recipe", ""),
        "config": config,
        "run": options,
    }
    return tensors, state


@dataclass
class Resumed:
    """What a checkpoint gives back besides the weights and optimizer states."""

    step: int
    sampler: Any
    lr_scale: float
    rollbacks: int
    seconds: float


def restore_training_state(
    c: Checkpoint, model: torch.nn.Module, players: list, optimizers: list, device: torch.device
) -> Resumed:
    """Load model, optimizers and RNG from checkpoint ``c`` after validating every field."""
    s = c.state
    recipe = getattr(model, "recipe", "")
    if s.get("recipe") != recipe:
        raise CheckpointError(
            f"checkpoint '{c.path}' is from recipe '{s.get('recipe')}', not '{recipe}'"
        )
    if s.get("players") != [p.name for p in players]:
        raise CheckpointError(
            f"checkpoint '{c.path}' has players {s.get('players')}, "
            f"this recipe has {[p.name for p in players]}"
        )
    load_model_tensors(model, c.tensors)
    optim_meta = s.get("optimizers")
    if not isinstance(optim_meta, dict):
        raise CheckpointError(f"checkpoint '{c.path}' has no optimizer state")
    for player, opt in zip(players, optimizers):
        optimizer_from_flat(player.name, opt, c.tensors, optim_meta.get(player.name))
    rng = s.get("rng")
    if not isinstance(rng, dict):
        raise CheckpointError(f"checkpoint '{c.path}' has no RNG state")
    try:
        torch.set_rng_state(unb64(rng.get("torch")))
        if device.type == "cuda" and isinstance(rng.get("cuda"), list):
            torch.cuda.set_rng_state_all([unb64(r) for r in rng["cuda"]])
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint '{c.path}' has an invalid RNG state") from exc
    lr_scale, rollbacks = s.get("lr_scale", 1.0), s.get("rollbacks", 0)
    if (
        not isinstance(lr_scale, int | float)
        or not 0 < lr_scale <= 1
        or not isinstance(rollbacks, int)
    ):
        raise CheckpointError(f"checkpoint '{c.path}' has an invalid learning-rate state")
    secs = s.get("seconds", 0.0)
    return Resumed(
        c.step,
        s.get("sampler"),
        float(lr_scale),
        rollbacks,
        float(secs) if isinstance(secs, int | float) else 0.0,
    )
