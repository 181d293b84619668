"""Exported models: a folder that holds one trained model and everything needed to rebuild it.

``vegan export RUN --out DIR`` (:mod:`vegan.track.export`) writes::

    DIR/model.safetensors   the model's weights, by state-dict name (no optimizer state)
    DIR/config.json         format, recipe, data, data shape, the resolved recipe and run
                            options, the training length, the vegan version, the weights' SHA-256
    DIR/README.md           the model card
    DIR/samples.png         a sample grid of the model

:func:`vegan.load` rebuilds the model from ``config.json`` and
``model.safetensors`` alone: nothing is unpickled, the hash is checked and
every tensor is validated against the rebuilt model. This module holds the
format (both sides); the model card is written above, where evaluation is
known.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as st_save

from vegan import __version__
from vegan.errors import CheckpointError
from vegan.io import atomic_write_bytes, atomic_write_json
from vegan.train.checkpoint import parse_safetensors

FORMAT = "vegan-model/1"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
#: Keys config.json must have, and their types.
_REQUIRED = {
    "recipe": str,
    "sample_shape": list,
    "config": dict,
    "step": int,
    "sha256": str,
}


def is_exported(path: str | Path) -> bool:
    """Whether ``path`` is an exported model folder (config.json of this format, and weights)."""
    p = Path(path)
    if not (p / CONFIG_FILE).is_file() or not (p / WEIGHTS_FILE).is_file():
        return False
    try:
        return json.loads((p / CONFIG_FILE).read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def write_exported(model: torch.nn.Module, info: dict[str, Any], out: str | Path) -> dict:
    """Write ``model.safetensors`` and ``config.json`` of ``model`` into folder ``out``.

    ``info`` is the run's description (``run.json`` with ``step``, ``epoch``
    and ``seconds`` of the exported checkpoint); returns the config written.
    """
    out = Path(out)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    data = st_save(tensors, metadata={"format": FORMAT})
    atomic_write_bytes(out / WEIGHTS_FILE, data)
    config = {
        "format": FORMAT,
        "vegan_version": __version__,
        "recipe": info["recipe"],
        "data": info.get("data", ""),
        "sample_shape": list(info["sample_shape"]),
        "n_train": info.get("n_train"),
        "config": info["config"],
        "run": info.get("run", {}),
        "preset": info.get("preset"),
        "step": int(info.get("step") or 0),
        "epoch": info.get("epoch"),
        "seconds": info.get("seconds"),
        "trained_with": info.get("vegan_version"),
        # a user recipe's module, so that loading names it when it is not imported
        **({"recipe_module": info["recipe_module"]} if info.get("recipe_module") else {}),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    atomic_write_json(out / CONFIG_FILE, config)
    return config


def read_exported(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(config.json, the weights by state-dict name) of an exported folder, verified."""
    p = Path(path)
    try:
        config = json.loads((p / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"'{p / CONFIG_FILE}' is not readable JSON ({exc})") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"'{p / CONFIG_FILE}' is not a vegan model ({FORMAT} expected)")
    for key, typ in _REQUIRED.items():
        if not isinstance(config.get(key), typ):
            raise CheckpointError(
                f"'{p / CONFIG_FILE}' has no valid '{key}'; the folder was edited or is damaged"
            )
    try:
        data = (p / WEIGHTS_FILE).read_bytes()
    except OSError as exc:
        raise CheckpointError(f"'{p / WEIGHTS_FILE}' is missing or unreadable") from exc
    if hashlib.sha256(data).hexdigest() != config["sha256"]:
        raise CheckpointError(
            f"'{p / WEIGHTS_FILE}' does not match the checksum in {CONFIG_FILE}; "
            "it is truncated or corrupted"
        )
    return config, parse_safetensors(data, str(p / WEIGHTS_FILE))


__all__ = ["FORMAT", "is_exported", "read_exported", "write_exported"]
