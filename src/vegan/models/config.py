"""Recipe options: typed dataclasses, TOML files and ``--set key=value`` overrides.

Every recipe has a config dataclass (pythae's way of making each option
discoverable): what is trained (networks, prior, penalty, optimisation,
seed). How a run goes (its length, how often it logs and saves) is the other
half, :class:`vegan.train.options.RunOptions`. A config validates itself
when it is made (``validate``, extended by each recipe's config). Options
come, in increasing priority, from the recipe's defaults, the data family's
preset (:mod:`vegan.models.presets`), a TOML file, and ``key=value`` strings.
An unknown key is a :class:`~vegan.errors.ConfigError` that names the
closest valid key; a value of the wrong type says what type is expected.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vegan.errors import ConfigError, closest, words


def opt(default: Any, help: str) -> Any:  # noqa: A002 - mirrors argparse
    """A config field with a help line (shown by ``vegan recipes --show``)."""
    return field(default=default, metadata={"help": help})


@dataclass
class Config:
    """Options every recipe shares: the prior, the networks' size, the optimisation, the seed.

    Validated when made (:meth:`validate`); a recipe's config extends
    :meth:`validate` with the checks of its own options.
    """

    latent_dim: int = opt(
        0,
        "latent dimension d_z; 0 picks from the data (8 for 28x28, "
        "64 for larger images, 2 for 2-D data, else min(d, 16))",
    )
    prior: str = opt("gaussian", "prior P_Z: gaussian, uniform (box) or sphere")
    prior_scale: float = opt(1.0, "scale of P_Z (standard deviation, box half-width or radius)")
    backbone: str = opt(
        "auto", "network family: auto (conv for images, mlp for vectors), conv, mlp"
    )
    width: int = opt(
        32,
        "conv backbones: channels of the first layer (doubles per layer; the WAE paper used 128)",
    )
    hidden: int = opt(256, "mlp backbones: units per hidden layer")
    depth: int = opt(3, "mlp backbones: number of hidden layers")
    batch_size: int = opt(100, "samples per step (the WAE paper used 100)")
    lr: float = opt(1e-3, "learning rate of the main player")
    beta1: float = opt(0.5, "Adam beta1 (the WAE paper used 0.5)")
    beta2: float = opt(0.999, "Adam beta2")
    weight_decay: float = opt(0.0, "L2 weight decay of every optimizer")
    schedule: str = opt(
        "constant",
        "learning-rate schedule: constant, wae (the WAE paper's "
        "manual steps: /2 at epoch 30, /5 at 50, /10 at 100) or cosine",
    )
    seed: int = opt(0, "random seed: same seed and settings give the same run on CPU")
    penalty_scope: str = opt(
        "global",
        "distributed runs: compute batch-wide latent penalties on codes gathered from all "
        "processes (global, the single-process objective) or per process (local)",
    )
    channels_last: bool = opt(
        True,
        "CPU: keep convolution weights channels-last (NHWC), the order oneDNN computes in "
        "(faster on the default MNIST nets, BENCHMARKS.md); values equal up to float rounding",
    )

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Range checks shared by every recipe (sizes, rates, choices)."""
        check_ranges(self)
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"unknown schedule '{self.schedule}'{closest(self.schedule, SCHEDULES)}; "
                "choose constant, wae or cosine"
            )
        if self.penalty_scope not in ("global", "local"):
            raise ConfigError(
                f"option 'penalty_scope' must be global or local, got '{self.penalty_scope}'"
            )


def fields(cfg_cls: type) -> dict[str, dataclasses.Field]:
    """The fields of a config class by name."""
    return {f.name: f for f in dataclasses.fields(cfg_cls)}


def field_types(cfg_cls: type) -> dict[str, Any]:
    """Resolved type hints of a config class."""
    return typing.get_type_hints(cfg_cls)


def _coerce(name: str, value: Any, typ: Any) -> Any:
    """Convert ``value`` (a TOML value or a string from --set) to ``typ`` or raise."""
    origin = typing.get_origin(typ)
    try:
        if typ is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                return int(value)
            return int(str(value).replace("_", ""))
        if typ is float:
            if isinstance(value, bool):
                raise ValueError
            out = float(value)
            if not math.isfinite(out):
                raise ValueError
            return out
        if typ is str:
            if not isinstance(value, str):
                raise ValueError
            return value
        if origin is tuple:
            (inner, *_) = typing.get_args(typ)
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(
                _coerce(name, v.strip() if isinstance(v, str) else v, inner)
                for v in items
                if not (isinstance(v, str) and not v.strip())
            )
    except (TypeError, ValueError):
        pass
    else:
        raise ConfigError(f"option '{name}' has an unsupported type")  # pragma: no cover
    tname = getattr(typ, "__name__", str(typ)).replace("tuple", "comma-separated list")
    raise ConfigError(f"option '{name}' expects {tname}, got {value!r}")


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """Parse ``["key=value", ...]`` into a dict; a malformed item is a ConfigError."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got '{item}' (example: --set lam=10)")
        key, value = item.split("=", 1)
        out[key.strip().replace("-", "_")] = value.strip()
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a flat TOML table of options (a ``[recipe]``-free file of key = value lines)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file '{p}' does not exist; check the path")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file '{p}' is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file '{p}' is not valid TOML: {exc}") from exc
    for key, value in data.items():
        if isinstance(value, dict):
            raise ConfigError(
                f"config file '{p}': tables such as [{key}] are not supported; "
                "write the options as top-level key = value lines"
            )
    return data


def build_config(cfg_cls: type, *sources: dict[str, Any]) -> Any:
    """Make a ``cfg_cls`` from its defaults overridden by each mapping in ``sources`` in turn."""
    known = fields(cfg_cls)
    types = field_types(cfg_cls)
    values: dict[str, Any] = {}
    for source in sources:
        for key, value in source.items():
            key = key.replace("-", "_")
            if key not in known:
                raise ConfigError(
                    f"unknown option '{key}'{closest(key, tuple(known))} for this recipe; "
                    + words(
                        "'vegan recipes --show RECIPE' lists the options",
                        "the fields of the recipe's config class are the options",
                    )
                )
            values[key] = _coerce(key, value, types[key])
    return cfg_cls(**values)  # a config validates itself


_POSITIVE = ("batch_size", "log_every", "keep_checkpoints", "width", "hidden")
_NON_NEGATIVE = (
    "threads",
    "time_budget",
    "latent_dim",
    "epochs",
    "steps",
    "checkpoint_every",
    "samples_every",
    "eval_every",
    "depth",
    "lam",
    "weight_decay",
)
SCHEDULES = ("constant", "wae", "cosine")

#: Most hidden layers a network may have (building a model creates one module per layer).
MAX_DEPTH = 1024


def check_ranges(cfg: Any) -> None:
    """Range checks by option name, for any options dataclass: sizes, counts, rates, betas."""
    values = dataclasses.asdict(cfg)
    for name, value in values.items():
        if name.endswith("depth") and isinstance(value, int) and value > MAX_DEPTH:
            raise ConfigError(f"option '{name}' must be <= {MAX_DEPTH} (layers), got {value}")
    for name in _POSITIVE:
        if name in values and values[name] <= 0:
            raise ConfigError(f"option '{name}' must be > 0, got {values[name]}")
    for name in _NON_NEGATIVE:
        if name in values and values[name] < 0:
            raise ConfigError(f"option '{name}' must be >= 0, got {values[name]}")
    for name, value in values.items():
        if (name == "lr" or name.endswith("_lr")) and not value > 0:
            raise ConfigError(f"option '{name}' (a learning rate) must be > 0, got {value}")
    for name in ("beta1", "beta2"):
        if name in values and not 0.0 <= values[name] < 1.0:
            raise ConfigError(f"option '{name}' must be in [0, 1), got {values[name]}")


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}


def describe(cfg_cls: type) -> list[tuple[str, str, Any, str]]:
    """(name, type, default, help) for every option of a config class."""
    types = field_types(cfg_cls)
    rows = []
    for f in dataclasses.fields(cfg_cls):
        t = types[f.name]
        tname = getattr(t, "__name__", str(t))
        if typing.get_origin(t) is tuple:
            tname = "list"
        rows.append((f.name, tname, f.default, f.metadata.get("help", "")))
    return rows
