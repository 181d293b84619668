"""How a run goes: its length, its cadence, its limits (the options that may change on resume).

A recipe's config (:mod:`vegan.models.config`) says what is trained; these
options say for how long, how often the run logs, draws and saves, what it
does on a non-finite loss, and in which precision its steps compute. They
are the only options a resumed run may change, except ``precision``: the
others do not change the computation of a step, ``precision`` does (bfloat16
or float16 autocast, :mod:`vegan.train.precision`), so it is fixed for a run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from vegan.errors import ConfigError, closest, words
from vegan.models.config import check_ranges, fields, opt

#: The experiment trackers of ``log_to``: name -> (module it needs, what it is called).
#: Each is an optional extra of the same name (``pip install 'vegan-cookbook[NAME]'``).
TRACKERS = {
    "tensorboard": ("tensorboard", "TensorBoard"),
    "mlflow": ("mlflow", "MLflow"),
    "wandb": ("wandb", "Weights & Biases"),
}


@dataclass
class RunOptions:
    """The run's length and cadence (every recipe has them)."""

    epochs: int = opt(10, "training length in epochs (total, not added on --resume)")
    steps: int = opt(0, "training length in steps; overrides epochs when > 0")
    time_budget: float = opt(
        0.0,
        "stop after this many seconds of training (0: no limit); "
        "the run ends with a checkpoint as if its length were reached",
    )
    log_every: int = opt(50, "steps between logged lines in metrics.jsonl")
    checkpoint_every: int = opt(0, "steps between checkpoints; 0 means at the end of every epoch")
    keep_checkpoints: int = opt(2, "how many recent checkpoints to keep")
    samples_every: int = opt(
        1, "epochs between sample and reconstruction grids (0: only at the end)"
    )
    eval_every: int = opt(0, "epochs between quick evaluations logged to metrics.jsonl (0: off)")
    on_nan: str = opt(
        "stop",
        "on a non-finite loss: stop, or rollback (reload the last "
        "checkpoint and halve the learning rates)",
    )
    log_to: str = opt(
        "",
        "experiment trackers to log to, comma-separated: tensorboard, mlflow, wandb (each an "
        "optional extra: pip install 'vegan-cookbook[tensorboard]'); empty: none",
    )
    threads: int = opt(
        0,
        "CPU threads of this run; 0 chooses: OMP_NUM_THREADS when you set it, else 1 for "
        "small networks and the available cores (split among torchrun's local ranks) for "
        "large ones",
    )
    precision: str = opt(
        "32",
        "arithmetic of the training steps: 32 (float32), bf16 (bfloat16 autocast) or 16 "
        "(float16 autocast with loss scaling, for CUDA GPUs); transport, MMD, Sinkhorn, "
        "gradient-penalty, KL and likelihood terms stay float32; fixed for a run (not "
        "changed on resume)",
    )

    num_workers: int = opt(
        -1,
        "worker processes reading streamed data (image folders, memory-mapped .npy, a torch "
        "Dataset); -1 chooses: 0 for arrays (a batch is one copy of its rows), else the "
        "cores this process leaves free (at least 1, at most 4); the batches are the same "
        "with any number",
    )
    pin_memory: str = opt(
        "auto",
        "copy streamed batches to page-locked memory before moving them to a GPU: auto (on "
        "CUDA), true or false",
    )
    prefetch_factor: int = opt(2, "batches each data worker reads ahead (with num_workers > 0)")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Ranges, a length, and the choices of ``on_nan``."""
        check_ranges(self)
        if self.epochs == 0 and self.steps == 0:
            raise ConfigError("the run has no length: set epochs > 0 or steps > 0")
        if self.num_workers < -1:
            raise ConfigError(
                f"option 'num_workers' must be >= 0 (or -1 to choose), got {self.num_workers}"
            )
        if self.pin_memory not in ("auto", "true", "false"):
            raise ConfigError(
                f"option 'pin_memory' must be auto, true or false, got '{self.pin_memory}'"
            )
        if self.prefetch_factor < 1:
            raise ConfigError(f"option 'prefetch_factor' must be >= 1, got {self.prefetch_factor}")
        if self.on_nan not in ("stop", "rollback"):
            raise ConfigError(f"option 'on_nan' must be stop or rollback, got '{self.on_nan}'")
        from vegan.train.precision import check_precision

        check_precision(self.precision)
        check_trackers(tracker_names(self.log_to))

    def total_steps(self, per_epoch: int) -> int:
        """The run's length in steps, with ``per_epoch`` steps to an epoch."""
        return self.steps if self.steps > 0 else self.epochs * per_epoch


def tracker_names(log_to: str) -> list[str]:
    """The tracker names of a ``log_to`` value (``"tensorboard,mlflow"``), in order, once each."""
    names: list[str] = []
    for part in str(log_to).replace(" ", ",").split(","):
        name = part.strip().lower()
        if name and name not in names:
            names.append(name)
    return names


def check_trackers(names: list[str]) -> None:
    """Each name must be a known tracker whose library is installed, else a one-line ConfigError.

    Checked when the options are made, before a run writes anything; the
    library is looked up, not imported (``importlib.util.find_spec``).
    """
    import importlib.util

    for name in names:
        if name not in TRACKERS:
            raise ConfigError(
                f"unknown tracker '{name}' in log_to{closest(name, tuple(TRACKERS))}; "
                f"choose from {', '.join(TRACKERS)} (comma-separated)"
            )
        module, label = TRACKERS[name]
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise ConfigError(
                f"log_to={name} needs {label}, which is not installed: "
                f"pip install 'vegan-cookbook[{name}]' (or leave {name} out of log_to)"
            )
    if "wandb" in names:
        check_wandb_key()


#: W&B modes that never reach a server (``WANDB_MODE``).
WANDB_LOCAL_MODES = ("offline", "dryrun", "disabled")


def wandb_mode() -> str:
    """The W&B mode vegan uses: ``WANDB_MODE`` when set, else ``offline``."""
    import os

    return os.environ.get("WANDB_MODE", "").strip().lower() or "offline"


def check_wandb_key() -> None:
    """An online W&B run without an API key would prompt for one: a one-line ConfigError instead.

    The key is ``WANDB_API_KEY`` or the ``~/.netrc`` entry ``wandb login``
    writes for ``WANDB_BASE_URL``'s host. Offline (the default) needs none.
    """
    import netrc
    import os
    from urllib.parse import urlparse

    if wandb_mode() in WANDB_LOCAL_MODES or os.environ.get("WANDB_API_KEY", "").strip():
        return
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or ""
    try:
        found = netrc.netrc().authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        found = False
    if not found:
        raise ConfigError(
            f"WANDB_MODE={wandb_mode()} but no W&B API key is configured; run 'wandb login' "
            "or set WANDB_API_KEY, or unset WANDB_MODE to log offline"
        )


#: The options of :class:`RunOptions`, which a resumed run may change.
RUN_KEYS = frozenset(fields(RunOptions))


def split_options(config_cls: type, values: dict[str, Any]) -> tuple[dict, dict]:
    """Split user options into (the recipe's config, the run's options).

    An option that is neither is a one-line :class:`ConfigError` naming the
    closest known option of either half.
    """
    known = fields(config_cls)
    model, run = {}, {}
    for key, value in values.items():
        k = key.replace("-", "_")
        if k in RUN_KEYS:
            run[k] = value
        elif k in known:
            model[k] = value
        else:
            names = (*known, *RUN_KEYS)
            raise ConfigError(
                f"unknown option '{k}'{closest(k, names)} for this recipe; "
                + words(
                    "'vegan recipes --show RECIPE' lists the options",
                    "the fields of the recipe's config class and of RunOptions are the options",
                )
            )
    return model, run


def run_dict(opts: RunOptions) -> dict[str, Any]:
    """A JSON-ready dict of the run options."""
    return dataclasses.asdict(opts)
