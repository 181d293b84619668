"""The Python face of training: ``vegan.fit`` and ``vegan.load``.

``fit`` does what ``vegan train`` does (the command line calls it): resolve
the options, load the data, build the recipe's model, prepare the run folder
and run the loop. ``load`` rebuilds a trained model from a run folder.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vegan.errors import (
    ConfigError,
    DataError,
    OutputError,
    ResourceError,
    RunDirError,
    ShapeError,
    VeganError,
    closest,
    flag,
    words,
)
from vegan.models.config import build_config, load_toml, to_dict
from vegan.models.presets import resolve
from vegan.models.registry import build, get_recipe, make_config, run_recipe
from vegan.nets.layout import use_channels_last
from vegan.parallel import init_from_env
from vegan.plots import SamplePictures
from vegan.train import checkpoint as ckpt
from vegan.train import exported, rundir
from vegan.train.loop import Trainer, TrainResult
from vegan.train.options import RUN_KEYS, RunOptions, run_dict, split_options
from vegan.train.precision import check_device, device_warning
from vegan.train.threads import choose_threads, count_macs, using_threads

#: Options that may differ when a run is resumed: the run's, not the recipe's.
RESUMABLE = RUN_KEYS


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else the CPU; ``cuda`` without a GPU is an error."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"{flag('device', device)} was asked but no CUDA GPU is available; "
            f"use {flag('device', 'cpu')}"
        )
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise ConfigError(f"unknown device '{device}'; use cpu, cuda or auto")
    return torch.device(device)


def _data_spec(data: Any) -> str:
    """The name run.json records for ``data``."""
    from vegan.data import Dataset

    if isinstance(data, str):
        return data
    if isinstance(data, Dataset):
        return data.name
    if isinstance(data, torch.utils.data.DataLoader):
        return "dataloader"
    if isinstance(data, torch.utils.data.Dataset):
        return "dataset"
    return "array"


def _training_data(data: Any, seed: int):
    """(train split: Dataset or LoaderData, held-out Dataset or None, spec string).

    Names and paths load both splits (files and folders as stored, see
    :mod:`vegan.data.items`); a vegan Dataset is used as it is; a
    ``torch.utils.data.Dataset`` is read item by item in vegan's order
    (:class:`~vegan.data.items.TorchItems`); a ``DataLoader`` is iterated as
    it is (:class:`~vegan.train.feed.LoaderData`, checked on its first
    batch); an array or tensor is held in memory (uint8 kept uint8).
    """
    from vegan.data import Dataset, load_dataset
    from vegan.data.items import ArrayItems, TorchItems
    from vegan.data.registry import OBJECT_SPECS
    from vegan.train.feed import LoaderData

    if isinstance(data, Dataset):
        return data, None, data.name
    if isinstance(data, torch.utils.data.DataLoader):
        return LoaderData(data), None, "dataloader"
    if isinstance(data, torch.utils.data.Dataset):
        items = TorchItems(data, type(data).__name__)
        return Dataset(None, None, "dataset", items.kind, "train", items=items), None, "dataset"
    if isinstance(data, (torch.Tensor,)) or hasattr(data, "__array__"):
        if isinstance(data, torch.Tensor) and data.dtype == torch.uint8:
            data = data.numpy()
        if isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim in (3, 4):
            items = ArrayItems(np.ascontiguousarray(data), "the array")
            ds = Dataset(None, None, "array", items.kind, "train", items=items)
            _validate_data(ds)
            return ds, None, "array"
        x = torch.as_tensor(data, dtype=torch.float32)
        ds = Dataset(
            x=x, y=None, name="array", kind="image" if x.dim() == 4 else "vector", split="train"
        )
        _validate_tensor(ds.x)
        return ds, None, "array"
    if not isinstance(data, str):
        raise DataError(
            "data must be a dataset name, a path, an array, a torch Dataset or a DataLoader, "
            f"got {type(data).__name__}"
        )
    if data in OBJECT_SPECS:
        raise ConfigError(
            f"the run was trained on a Python object ({data}); pass the same data again to "
            "resume it"
        )
    train = load_dataset(data, "train", seed=seed)
    try:
        held = load_dataset(data, "heldout", seed=seed)
    except DataError:
        held = None
    return train, held, data


def _validate_data(train: Any) -> None:
    """Training data of at least 2 samples; a float32 tensor also checked for NaN/inf.

    Stored items were checked when loaded (float files) or are checked as
    they are read (a torch Dataset); a DataLoader on its first batch.
    """
    from vegan.data import Dataset

    if isinstance(train, Dataset) and train.is_tensor:
        _validate_tensor(train.x)
    elif len(train) < 2:
        raise DataError(f"training needs at least 2 samples, the data has {len(train)}")


def _check_fingerprint(out: Path, info: dict, train: Any) -> None:
    """A resumed run reads the files it started with: same names, sizes, modification times."""
    before, now = info.get("data_fingerprint"), getattr(train, "fingerprint", None)
    if before is None or now is None or before == now:
        return
    raise DataError(
        f"the data '{info['data']}' changed since run '{out}' started ({before.get('files')} "
        f"files, {before.get('bytes')} bytes then; {now.get('files')} files, "
        f"{now.get('bytes')} bytes now, or other names or modification times); resume with "
        "the data as it was, or start a new run"
    )


def _loader_batch(train: Any, user_model: dict[str, Any], world: int) -> dict[str, Any]:
    """A DataLoader's batch fixes the run's batch_size (its batch times the processes)."""
    from vegan.train.feed import LoaderData

    if not isinstance(train, LoaderData) or not train.batch_size:
        return {}
    size = int(train.batch_size) * world
    if "batch_size" in user_model and int(user_model["batch_size"]) != size:
        raise ConfigError(
            f"the DataLoader makes batches of {train.batch_size} (x {world} processes) but "
            f"batch_size is {user_model['batch_size']}; leave batch_size out or make them agree"
        )
    return {"batch_size": size}


def _validate_tensor(x: torch.Tensor) -> None:
    if x.dim() not in (2, 4):
        raise DataError(
            f"training data must have shape (n, d) or (n, C, H, W), got {tuple(x.shape)}"
        )
    if x.shape[0] < 2:
        raise DataError(f"training needs at least 2 samples, the data has {x.shape[0]}")
    if not torch.isfinite(x).all():
        raise DataError("the training data contains NaN or inf values; clean it first")


def fit(
    recipe: str,
    data: Any,
    out: str | Path,
    *,
    epochs: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    config: str | Path | dict | None = None,
    sets: dict[str, Any] | None = None,
    preset: str | None = None,
    device: str | torch.device = "auto",
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    nets: dict[str, nn.Module] | None = None,
    callbacks: Sequence[Any] = (),
    **options: Any,
):
    """Train ``recipe`` on ``data`` into run folder ``out``; returns (model, TrainResult).

    The model comes back in eval mode (``model.eval()``), as :func:`load`
    returns it: call ``model.train()`` before training it further by hand.

    Parameters
    ----------
    recipe : str
        A recipe name (``vegan.recipes()`` lists them), e.g. ``"wae-mmd"``.
    data : str or array or Dataset or torch Dataset or DataLoader
        ``"mnist"``, ``"mnist-full"``, ``"toy:8gaussians"``, a path (a
        ``.npy`` is memory-mapped, an image folder decoded as batches need
        it), an array (uint8 images kept uint8), a vegan Dataset, a
        ``torch.utils.data.Dataset`` returning a tensor or an ``(x, label)``
        pair (read in vegan's order: resume bit-identical, sharded under
        torchrun), or a ``DataLoader`` (iterated in its own order: its batch
        size is the run's, and vegan can neither shard nor restore its
        order; see docs/howto/own-data.md). Shapes are checked on the first
        item or batch. ``resume`` takes the same data again (None: the name
        or path in run.json).
    out : path
        Run folder (refused when it exists, unless ``resume`` or ``overwrite``).
    epochs, steps : int, optional
        Total training length; totals, not increments, on resume. The one
        given is recorded in run.json and the other as 0 (``steps`` wins
        when both are given). A resumed run already at its total trains
        nothing, writes nothing and returns a :class:`NothingToDo` result.
    config : path or dict, optional
        A TOML file (or dict) of options; ``sets`` and ``options`` override it.
    preset : str, optional
        None applies the preset of the data's family (``vegan.presets()``);
        a name applies that preset over it; ``"none"`` keeps the bare recipe
        defaults. Order: recipe defaults < family preset < named preset <
        ``config`` < ``sets`` < ``options``.
    resume : bool
        Continue the run in ``out`` from its last checkpoint up to the total;
        a folder that holds no run is an error naming the runs beside it
        (but an empty one, left by a run killed while it was being created,
        starts that run).
    nets : dict, optional
        User modules replacing default backbones ("encoder", "decoder", ...).
    callbacks : sequence, optional
        Called by the loop after the built-in sample pictures
        (:mod:`vegan.train.callbacks`).
    **options
        Recipe or run options by name, as ``--set`` gives them (``lam=10``,
        ``threads=1``, ``precision="bf16"``: :mod:`vegan.train.precision`).
    """
    r = get_recipe(recipe)
    out = Path(out)
    length = {k: v for k, v in (("epochs", epochs), ("steps", steps)) if v is not None}
    if epochs is not None and steps is None:
        length["steps"] = 0
    if steps is not None and epochs is None:
        length["epochs"] = 0  # run.json records the length that was used, and only it
    file_opts = load_toml(config) if isinstance(config, (str, Path)) else dict(config or {})
    sources = [
        (f"config file {config}" if isinstance(config, (str, Path)) else "config", file_opts),
        ("--set", dict(sets or {})),
        ("keyword argument", dict(options)),
        ("length/seed argument", {**length, **({"seed": seed} if seed is not None else {})}),
    ]
    # Each source splits into the recipe's options and the run's (length, cadence).
    split = [(label, *split_options(r.config, values)) for label, values in sources]
    user_model = {k: v for _, m, _ in split for k, v in m.items()}
    user_run = {k: v for _, _, ru in split for k, v in ru.items()}
    device_ = resolve_device(device)
    ctx = init_from_env(device_.type)  # torchrun: join the process group
    if ctx.active and device_.type == "cuda":
        device_ = torch.device("cuda", ctx.local_rank)
    ctx.barrier()  # every rank sees the folder before anyone writes to it

    notes: list[str] = []  # printed once every check has passed
    if resume and not rundir.is_run(out):
        if not rundir.interrupted_creation(out):
            raise RunDirError(rundir.no_run_to_resume(out))
        resume = False  # a run killed while it was being created: start it
        notes.append(f"'{out}' holds no run yet (its creation was interrupted); starting it")
    fresh = not resume
    if not fresh:
        info = rundir.read_run_info(out)
        if get_recipe(info["recipe"]).name != r.name:
            raise ConfigError(
                f"run '{out}' was trained with recipe '{info['recipe']}', not "
                f"'{recipe}'; resume it with the same recipe"
            )
        spec = info["data"] if data is None else _data_spec(data)
        if spec != info["data"]:
            raise ConfigError(
                f"run '{out}' was trained on '{info['data']}', not '{spec}'; "
                f"resume with the same {flag('data', None)}"
            )
        stored = info["config"]
        _check_preset_unchanged(out, info, preset)
        asked = make_config(r.name, tuple(info["sample_shape"]), user_model).__dict__
        changed = {k: asked[k] for k in user_model if stored.get(k) != _jsonable(asked[k])}
        if changed:
            k = sorted(changed)[0]
            raise ConfigError(
                f"option '{k}' cannot change on {flag('resume')} (the run has "
                f"{stored.get(k)!r}, asked {changed[k]!r}); start a new run instead"
            )
        source = info["data"] if data is None or isinstance(data, str) else data
        train, held, spec = _training_data(source, stored.get("seed", 0))
        _check_fingerprint(out, info, train)
        cfg = make_config(r.name, tuple(train.sample_shape), stored)
        if (want := _loader_batch(train, {}, ctx.world)) and want["batch_size"] != cfg.batch_size:
            raise ConfigError(
                f"the DataLoader makes batches of {want['batch_size']} but run '{out}' was "
                f"trained with batch_size {cfg.batch_size}; resume with the same batch size"
            )
        run_opts = one_length(build_config(RunOptions, info["run"], user_run), user_run)
        _check_precision_unchanged(out, info, run_opts)
        record = info.get("preset")
    else:
        seed_ = user_model.get("seed", 0)
        train, held, spec = _training_data(data, int(seed_) if str(seed_).isdigit() else 0)
        loader_batch = _loader_batch(train, user_model, ctx.world)
        resolved = resolve(
            r.name,
            tuple(train.sample_shape),
            preset,
            *([("DataLoader", loader_batch)] if loader_batch else []),
            *[(lab, m) for lab, m, _ in split],
        )
        cfg = resolved.config
        user_run = with_preset_length(user_run, resolved)
        run_opts = one_length(build_config(RunOptions, user_run), user_run)
        for label, _, run_values in split:
            resolved.origins.update({k: label for k in run_values})
        record = resolved.record()
    _validate_data(train)
    check_device(run_opts.precision, device_)  # e.g. bf16 on a GPU without it: before writes
    warning = _check_orientation((len(train), *train.sample_shape), cfg.batch_size, spec)
    slow = device_warning(run_opts.precision, device_)
    check_model_memory(r.name, tuple(train.sample_shape), cfg, nets, TRAIN_COPIES, device_)
    torch.manual_seed(cfg.seed)
    model = build(r.name, tuple(train.sample_shape), cfg, nets=nets)
    # Fail on a shape the networks cannot take, before any write; count the work of a step.
    probe_hint = (
        f"; with networks of your own, latent_dim is {cfg.latent_dim} here (a preset may set "
        "it: `vegan recipes --show RECIPE --data DATA` says where it comes from): set it to "
        "your networks' code size"
        if nets and hasattr(cfg, "latent_dim")
        else ""
    )
    macs = count_macs(model, lambda: _probe(model, train.head(2), probe_hint)) * cfg.batch_size
    threads = choose_threads(run_opts.threads, macs)
    _check_batch_memory(model, min(cfg.batch_size, len(train)), device_)
    if fresh:
        rundir.check_new(out, overwrite=overwrite)
        if ctx.is_main:  # after every check: a refused run prints only its error
            for note in notes:
                print(f"vegan: {note}", file=sys.stderr, flush=True)
            for text in (warning, slow):
                if text:
                    print(f"vegan: warning: {text}", file=sys.stderr, flush=True)
        ctx.barrier()
        if ctx.is_main:
            created = _first_missing(out)
            rundir.prepare_new(out, overwrite=overwrite)
            try:
                rundir.write_run_info(
                    out,
                    r.name,
                    spec,
                    tuple(train.sample_shape),
                    to_dict(cfg),
                    run_dict(run_opts),
                    {
                        "n_train": len(train),
                        "world_size": ctx.world,
                        "threads": threads.as_dict(),
                        "preset": record,
                        **(
                            {"data_fingerprint": train.fingerprint}
                            if getattr(train, "fingerprint", None)
                            else {}
                        ),
                        **({} if r.built_in else {"recipe_module": r.module}),
                    },
                )
            except OutputError:  # e.g. a full disk: leave no empty folder behind
                if created is not None:
                    shutil.rmtree(created, ignore_errors=True)
                raise
        ctx.barrier()
    reference = train.head(2000).numpy() if len(train.sample_shape) == 1 else None
    if not fresh and (done := _already_done(model, train, cfg, run_opts, out, ctx)) is not None:
        return model.to(device_).eval(), done
    pictures = SamplePictures(held.head(32) if held else None, reference)
    trainer = Trainer(
        model, train, out, run_opts, device_, callbacks=[pictures, *callbacks], progress=progress
    )
    try:
        with using_threads(threads.threads):
            result: TrainResult = trainer.fit(resume=resume)
    finally:
        trainer.stream.close()  # a DataLoader's workers
    return model.eval(), result


@dataclass
class NothingToDo(TrainResult):
    """What :func:`fit` returns when a resumed run is already at (or past) the total asked.

    Nothing was trained or written; the model holds the run's newest
    checkpoint. ``step`` is where the run is.
    """


def _already_done(model, train, cfg, run_opts: RunOptions, out: Path, ctx) -> NothingToDo | None:
    """A resumed run whose newest checkpoint is at the total: load it, say so, train nothing."""
    from vegan.train.batches import BatchStream

    last = ckpt.latest_checkpoint(out)
    if last is None:
        return None
    per_epoch = (
        getattr(train, "per_epoch", None)
        or BatchStream(
            len(train), cfg.batch_size, cfg.seed, rank=ctx.rank, world=ctx.world
        ).per_epoch
    )
    total = run_opts.total_steps(per_epoch)
    if last.step < total:
        return None
    ckpt.load_model_tensors(model, last.tensors)
    if ctx.is_main:
        asked = (
            f"{total} steps" if run_opts.steps > 0 else f"{run_opts.epochs} epochs = {total} steps"
        )
        print(
            f"vegan: nothing to do: the run is already at step {last.step} (the total asked "
            f"is {asked}; {flag('steps', None)} and {flag('epochs', None)} are totals, not "
            "increments)",
            flush=True,
        )
    seconds = float(last.state.get("seconds") or 0.0)
    return NothingToDo(out, last.step, last.step / per_epoch, seconds)


def with_preset_length(user_run: dict[str, Any], resolved: Any) -> dict[str, Any]:
    """``user_run`` with the preset's run length when the user gave none.

    A preset may say how many steps its values were measured at (e.g. the
    toy preset's GAN: 3,000); that length applies only when neither
    ``epochs`` nor ``steps`` was given anywhere (argument, ``--set``, config
    file). The origin is recorded in ``resolved.origins["steps"]``.
    """
    if resolved.steps is None or {"epochs", "steps"} & set(user_run):
        return user_run
    resolved.origins["steps"] = resolved.steps_from
    return {**user_run, "steps": resolved.steps}


def one_length(opts: RunOptions, user_run: dict[str, Any]) -> RunOptions:
    """The run's length as one number: the one the user gave (the other becomes 0).

    A run given ``steps`` (anywhere: argument, ``--set``, config file)
    records ``epochs = 0``, and one given ``epochs`` alone records
    ``steps = 0``, so run.json never shows two lengths of which one was
    ignored. Both given: ``steps`` wins, as :meth:`RunOptions.total_steps`
    says, and ``epochs`` is recorded as 0.
    """
    if "epochs" in user_run and "steps" not in user_run:
        return dataclasses.replace(opts, steps=0) if opts.steps else opts
    if opts.steps > 0 and opts.epochs != 0:
        return dataclasses.replace(opts, epochs=0)
    return opts


def _check_orientation(shape: tuple[int, ...], batch_size: int, spec: str) -> str | None:
    """Refuse vectors that look transposed; the warning for a suspicious shape, or None.

    An ``(n, d)`` array is n samples of dimension d. A ``(2, 5000)`` array of
    5,000 2-D points would train as 2 samples of dimension 5,000: fewer
    samples than dimensions *and* than a batch is refused as a likely
    transposition (:class:`ShapeError`, nothing written). A split smaller
    than a batch, or with ten times more dimensions than samples, trains,
    with the warning returned here (printed on stderr once every other
    check has passed).
    """
    if len(shape) != 2:
        return None
    n, d = int(shape[0]), int(shape[1])
    what = "the training data" if spec == "array" else f"the training split of '{spec}'"
    fix = words("save the transposed array (np.save(PATH, x.T))", "pass the transposed array (x.T)")
    if n < d and n < batch_size:
        raise ShapeError(
            f"{what} has {n} samples of dimension {d}, fewer samples than dimensions and "
            f"than batch_size {batch_size}: the array looks transposed (vegan reads an (n, d) "
            f"array as n samples in rows); {fix}"
        )
    if n < batch_size:
        return (
            f"{what} has {n} samples, fewer than batch_size {batch_size}: every step sees all "
            f"of them; lower batch_size, or check the data's shape ({n} samples of dimension {d})"
        )
    if d > 10 * n:
        return (
            f"{what} has {n} samples of dimension {d}, far fewer samples than dimensions; if "
            f"the rows are features and the columns samples, {fix}"
        )
    return None


#: Copies of every parameter that training holds: weights, gradients, Adam's two moments.
TRAIN_COPIES = 4
#: Copies that loading holds: the weights and the checkpoint's tensors.
LOAD_COPIES = 2


def _check_preset_unchanged(out: Path, info: dict, preset: str | None) -> None:
    """A resumed run keeps its resolved options: ``preset`` may only repeat what it had."""
    if preset in (None, "auto"):
        return
    applied = (info.get("preset") or {}).get("applied", [])
    if (preset == "none" and applied) or (preset != "none" and preset not in applied):
        had = ", ".join(applied) or "none"
        raise ConfigError(
            f"preset cannot change on resume (run '{out}' was trained with preset {had}, "
            f"asked {preset}); start a new run instead"
        )


def _check_precision_unchanged(out: Path, info: dict, run_opts: RunOptions) -> None:
    """A resumed run keeps its ``precision`` (a run.json without one was trained at 32)."""
    had = info["run"].get("precision", "32")
    if run_opts.precision != had:
        raise ConfigError(
            f"option 'precision' cannot change on {flag('resume')} (run '{out}' was trained "
            f"with precision={had}, asked {run_opts.precision}); resume with precision={had} "
            "or start a new run"
        )


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (None when it exists)."""
    missing = None
    for p in (path, *path.parents):
        if p.exists():
            break
        missing = p
    return missing


class _AskedNets(dict):
    """The user's ``nets``, remembering which part names a recipe builder asks for."""

    def __init__(self, nets: dict) -> None:
        super().__init__(nets)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        self.asked.add(key)
        return super().__contains__(key)


def check_model_memory(
    recipe: str,
    sample_shape: tuple[int, ...],
    cfg: Any,
    nets: dict[str, nn.Module] | None,
    copies: int,
    device: torch.device,
) -> int:
    """Check a model before building it: the user's part names, and its memory.

    The model is built on PyTorch's ``meta`` device (shapes only, no memory,
    no random numbers drawn). A key of ``nets`` that the recipe never asks
    for (a misspelled part name, which would silently train the default
    network) is a :class:`ConfigError`. ``copies`` times the parameter and
    buffer bytes must fit in the memory available now (``MemAvailable``, or
    the GPU's free memory), else :class:`ResourceError`. Returns the model's
    bytes (0 when it could not be estimated).
    """
    from vegan.resources import format_bytes

    r = get_recipe(recipe)
    asked = _AskedNets(nets or {})
    try:
        with torch.device("meta"):
            meta = r.build(cfg, tuple(sample_shape), asked)
    except VeganError:
        raise
    except Exception:  # a builder or user module that cannot run on meta: no estimate
        return 0
    unknown = sorted(set(nets or {}) - asked.asked)
    if unknown:
        parts = sorted(k for k in asked.asked if isinstance(k, str))
        raise ConfigError(
            f"recipe '{r.name}' has no part '{unknown[0]}'{closest(unknown[0], parts)} to "
            f"replace; its parts are {', '.join(parts)}"
        )
    tensors = [*meta.parameters(), *meta.buffers()]
    n_params = sum(p.numel() for p in meta.parameters())
    size = sum(t.numel() * t.element_size() for t in tensors)
    from vegan.resources import device_memory

    have = device_memory(device)
    if have is not None and copies * size > have:
        raise ResourceError(
            f"recipe '{recipe}' with these options has {n_params:,} parameters "
            f"({format_bytes(size)}); {'training' if copies > LOAD_COPIES else 'loading'} "
            f"needs about {format_bytes(copies * size)} but {format_bytes(have)} of memory is "
            "available; lower hidden, width, depth or latent_dim"
        )
    return size


def _check_batch_memory(model, batch: int, device: torch.device) -> None:
    """Batch-wide penalties whose memory grows as batch^2 (MMD) must fit, before any write."""
    from vegan.models.kernels import check_mmd_memory
    from vegan.models.penalties import MMDPenalty

    if any(isinstance(m, MMDPenalty) for m in model.modules()):
        check_mmd_memory(batch, batch, 4, True, device)


def _probe(model, x: torch.Tensor, hint: str = "") -> None:
    """Run two samples through every player's loss without touching any state.

    ``hint`` ends the message of a shape error (what else to check).
    """
    from vegan.errors import ShapeError

    devices: list = []
    with torch.random.fork_rng(devices=devices):
        was = model.training
        model.eval()
        try:
            cache: dict = {}
            for player in model.players:
                player.loss(x if player.uses_data else None, cache)
        except RuntimeError as exc:
            if "allocate" in str(exc) or "out of memory" in str(exc):
                raise ResourceError(
                    f"the model ran out of memory on 2 samples ({str(exc).splitlines()[0]}); "
                    "lower the sizes in its options"
                ) from exc
            raise ShapeError(
                f"the networks cannot take data of shape {tuple(x.shape[1:])} "
                f"({str(exc).splitlines()[0]}); choose another backbone or "
                f"pass your own modules{hint}"
            ) from exc
        finally:
            model.train(was)


def _jsonable(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def load(
    run_dir: str | Path,
    device: str | torch.device = "cpu",
    nets: dict[str, nn.Module] | None = None,
    step: int | None = None,
):
    """Rebuild the model of a run folder from its newest valid checkpoint (or ``step``).

    ``run_dir`` may also be a folder written by ``vegan export``
    (:mod:`vegan.train.exported`): its ``config.json`` and
    ``model.safetensors`` are all it needs (``step`` must then be None or
    the exported step). Nothing is unpickled: the options come from
    ``run.json`` (or ``config.json``), the weights from safetensors, each
    validated against the rebuilt model.
    """
    run_dir = Path(run_dir)
    if exported.is_exported(run_dir) and not rundir.is_run(run_dir):
        return _load_exported(run_dir, device, nets, step)
    info = rundir.read_run_info(run_dir)
    r = run_recipe(info, run_dir)
    shape = tuple(info["sample_shape"])
    cfg = make_config(r.name, shape, info["config"])
    check_model_memory(r.name, shape, cfg, nets, LOAD_COPIES, resolve_device(device))
    model = build(r.name, shape, cfg, nets=nets)
    if step is None:
        c = ckpt.latest_checkpoint(run_dir)
    else:
        path = ckpt.checkpoint_dir(run_dir) / f"step-{step:08d}.json"
        if not path.is_file():
            raise ckpt.CheckpointError(f"run '{run_dir}' has no checkpoint at step {step}")
        c = ckpt.read_checkpoint(path)
    if c is None:
        raise ckpt.CheckpointError(
            f"run '{run_dir}' has no checkpoint yet; train it first (or resume it with "
            f"{flag('resume')})"
        )
    if c.state.get("recipe") != r.name:
        raise ckpt.CheckpointError(
            f"checkpoint '{c.path}' is from recipe {c.state.get('recipe')!r}, but the run is "
            f"'{r.name}'; the run folder was mixed up or edited"
        )
    ckpt.load_model_tensors(model, c.tensors)
    model.info = {
        **info,
        "step": c.step,
        "epoch": c.state.get("epoch"),
        "seconds": c.state.get("seconds"),
    }
    return _placed(model, cfg, device)


def _placed(model, cfg: Any, device: str | torch.device):
    """The loaded model on ``device``, in inference mode (channels-last where asked)."""
    device_ = resolve_device(device)
    model = model.to(device_).eval()
    if getattr(cfg, "channels_last", False):
        use_channels_last(model, device_)
    return model


def _load_exported(folder: Path, device, nets, step: int | None):
    """:func:`load` of a ``vegan export`` folder (config.json + model.safetensors)."""
    info, tensors = exported.read_exported(folder)
    if step is not None and step != info["step"]:
        raise ckpt.CheckpointError(
            f"'{folder}' holds the model of step {info['step']}, not step {step}; "
            "load it without a step"
        )
    r = run_recipe(info, folder)
    shape = tuple(info["sample_shape"])
    cfg = make_config(r.name, shape, info["config"])
    check_model_memory(r.name, shape, cfg, nets, LOAD_COPIES, resolve_device(device))
    model = build(r.name, shape, cfg, nets=nets)
    ckpt.load_model_tensors(model, {f"model/{k}": v for k, v in tensors.items()})
    model.info = dict(info)
    return _placed(model, cfg, device)
