"""Share a trained model: ``vegan export RUN --out DIR`` writes a folder that describes itself.

The folder (:mod:`vegan.train.exported`) holds ``model.safetensors``,
``config.json`` (recipe, resolved options, data shape, vegan version),
``samples.png`` (64 images, or a scatter of 2,000 points, from seed 0) and
``README.md``, a model card: the recipe and its equation in the VEGAN
cookbook, the data, the training length, the evaluation table beside its
real-vs-real references (the numbers of ``vegan eval --json``) and the
sample grid, with the YAML header a model hub reads. ``vegan.load(DIR)``
rebuilds the model from the folder alone.

The evaluation is the run's ``eval.json`` when it evaluated the exported
step (``vegan eval RUN`` writes it); otherwise the export evaluates the
checkpoint as ``vegan eval`` would, with the same defaults, without writing
into the run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from vegan.errors import ConfigError, OutputError
from vegan.track.base import evaluation_table

CARD_FILE = "README.md"
SAMPLES_FILE = "samples.png"


def export_run(
    run_dir: str | Path,
    out: str | Path,
    *,
    step: int | None = None,
    evaluate: bool = True,
    eval_options: Any = None,
    overwrite: bool = False,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write the model of ``run_dir`` (its newest checkpoint, or ``step``) to folder ``out``.

    Parameters
    ----------
    run_dir : path
        A run folder made by ``vegan train``.
    out : path
        The folder to write; refused when it exists and is not empty, unless
        ``overwrite`` and it is an earlier export.
    step : int, optional
        The checkpoint to export (default: the newest).
    evaluate : bool
        Put the evaluation table in the model card (the run's ``eval.json``
        of that step with the same seed and n, else a fresh evaluation with
        ``eval_options``, as ``vegan eval`` does it).
    eval_options : vegan.eval.evaluation.EvalOptions, optional
        How to evaluate when the run has no evaluation of the step.

    Returns
    -------
    Path
        The folder written. Everything is written to a temporary folder
        beside it first, so a failure leaves no partial folder.
    """
    from vegan.train import exported
    from vegan.train.api import load
    from vegan.train.rundir import read_run_info

    run_dir, out = Path(run_dir), Path(out)
    log = log or (lambda _msg: None)
    info = read_run_info(run_dir)
    _check_out(run_dir, out, overwrite)
    model = load(run_dir, step=step)
    info = {**info, **{k: model.info.get(k) for k in ("step", "epoch", "seconds")}}
    ev, why = _evaluation(run_dir, model, evaluate, eval_options, log)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        config = exported.write_exported(model, info, tmp)
        if ev is not None:
            config["evaluation"] = ev
            from vegan.io import atomic_write_json

            atomic_write_json(tmp / exported.CONFIG_FILE, config)
        _sample_picture(model, tmp / SAMPLES_FILE)
        from vegan.io import atomic_write_text

        atomic_write_text(tmp / CARD_FILE, model_card(config, ev, why, out.name))
        if out.exists():  # an earlier export (checked above), replaced
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _check_out(run_dir: Path, out: Path, overwrite: bool) -> None:
    """Refuse an output folder that would lose or mix files (writes nothing)."""
    from vegan.train import exported

    if out.resolve() == run_dir.resolve():
        raise OutputError(f"--out '{out}' is the run folder itself; choose a new folder")
    if out.exists() and not out.is_dir():
        raise OutputError(f"'{out}' exists and is a file; choose a folder for --out")
    if out.is_dir() and any(out.iterdir()):
        if not exported.is_exported(out):
            raise OutputError(
                f"'{out}' is a non-empty folder that is not a vegan export; choose another "
                "--out folder (vegan never deletes it)"
            )
        if not overwrite:
            raise OutputError(f"'{out}' already holds an export; add --overwrite to replace it")
    base = out.parent
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise OutputError(f"'{base}' is a file, so '{out}' cannot be created; choose another --out")


def _evaluation(run_dir: Path, model, evaluate: bool, options, log) -> tuple[dict | None, str]:
    """(the evaluation's JSON, or None with the reason) for the model card."""
    if not evaluate:
        return None, "not evaluated (exported with --no-eval)"
    from vegan.eval.evaluation import (
        EvalOptions,
        eval_data,
        evaluate_model,
        load_evaluation,
        n_note,
        shapes_factors,
    )

    options = options or EvalOptions()
    saved = load_evaluation(run_dir)
    if (
        saved is not None
        and saved.step == model.info.get("step")
        and saved.seed == options.seed
        and (options.n is None or saved.n == options.n)
    ):
        log(f"using the run's evaluation ({run_dir / 'eval.json'}, step {saved.step})")
        return saved.to_json(), ""
    if model.info.get("data") in ("array", "dataset", "dataloader"):
        what = model.info["data"]
        return None, f"not evaluated: the run was trained on an in-memory {what} (no held-out data)"
    # As vegan.eval.evaluation.evaluate does, on the checkpoint being exported.
    t0 = time.perf_counter()
    spec = model.info["data"]
    held, ref, _ = eval_data(spec, options.n, options.seed, int(model.config.seed))
    log(f"evaluating step {model.info.get('step')} ({n_note(options.n, len(held))})")
    factors = shapes_factors(spec, len(held))  # shapes64: the probe of its factors
    result = evaluate_model(
        model, held, ref, dataset=spec, options=options, log=log, factors=factors
    )
    result.settings["n"] = n_note(options.n, len(held))
    result.run, result.step = str(run_dir), model.info.get("step")
    result.seconds = round(time.perf_counter() - t0, 2)
    return result.to_json(), ""


def _sample_picture(model, path: Path) -> None:
    """64 images (a grid) or 2,000 points (a scatter) of the model, from seed 0."""
    from vegan.plots import save_samples_picture

    n = 64 if len(model.sample_shape) == 3 else 2000
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        x = model.sample(n, generator=torch.Generator(device=model.device).manual_seed(0))
    save_samples_picture(x.cpu(), path, title=f"{model.recipe}, seed 0")


def model_card(config: dict, ev: dict | None, why: str, folder: str) -> str:
    """The README.md of an exported folder (a model card with a model hub's YAML header)."""
    from vegan.models.registry import get_recipe

    recipe = config["recipe"]
    try:
        r = get_recipe(recipe)
        summary, equation, side = r.summary, r.equation, r.side
    except ConfigError:
        summary, equation, side = "", "?", "?"
    shape = "x".join(str(s) for s in config["sample_shape"])
    data = config.get("data") or "?"
    seconds = config.get("seconds")
    epoch = config.get("epoch")
    lines = [
        "---",
        "library_name: vegan",
        "tags:",
        "- vegan",
        "- generative-model",
        "- optimal-transport",
        f"- {recipe}",
        "---",
        "",
        f"# {recipe} trained on {data}",
        "",
        f"{summary}" if summary else "",
        "",
        "## Model",
        "",
        f"- recipe: `{recipe}` ({side} side), equation {equation} of Bousquet et al., "
        "*From optimal transport to generative modeling: the VEGAN cookbook* (2017)",
        f"- trained with vegan {config.get('trained_with') or '?'}, exported with vegan "
        f"{config.get('vegan_version')}",
        "",
        "## Data",
        "",
        f"- dataset `{data}`, samples of shape {shape}"
        + (f", {config['n_train']:,} training samples" if config.get("n_train") else ""),
        "",
        "## Training",
        "",
        f"- {config['step']:,} steps"
        + (
            f" ({float(epoch):.4g} epoch{'' if float(epoch) == 1 else 's'})"
            if epoch is not None
            else ""
        )
        + (f", {float(seconds):.1f} s of training" if seconds is not None else ""),
        f"- batch size {config['config'].get('batch_size', '?')}, seed "
        f"{config['config'].get('seed', '?')}",
        "",
        "## Evaluation",
        "",
    ]
    if ev is None:
        lines += [why, ""]
    else:
        lines += [
            f"`vegan eval` of step {ev.get('step')}: `{ev.get('dataset')}`, "
            f"{ev.get('split', 'heldout')} split, n = {ev.get('n')} samples per side, seed "
            f"{ev.get('seed')}. The reference column compares two real samples of the same "
            "size (or, for codes, two prior samples): read each number beside it"
            + (
                "; pixel transport rewards blur, so never rank models on pixel W2 alone."
                if len(config["sample_shape"]) == 3
                else "."
            ),
            "",
            evaluation_table(ev),
            "",
        ]
        skipped = ev.get("skipped") or {}
        lines += [f"- skipped {k}: {v}" for k, v in skipped.items()]
        if skipped:
            lines.append("")
    lines += [
        "## Samples",
        "",
        f"![samples of the model]({SAMPLES_FILE})",
        "",
        "## Use",
        "",
        "```python",
        "import torch",
        "import vegan",
        "",
        f'model = vegan.load("{folder}")',
        "x = model.sample(64, generator=torch.Generator().manual_seed(0))",
        "```",
        "",
        f"or `vegan sample {folder} --n 64 --out samples.png`. Install with "
        "`pip install vegan-cookbook`.",
        "",
        "## Options",
        "",
        "| option | value |",
        "|---|---|",
    ]
    options = {**config.get("config", {}), **config.get("run", {})}
    lines += [f"| {k} | {json.dumps(v)} |" for k, v in options.items()]
    return "\n".join(lines) + "\n"


__all__ = ["export_run", "model_card"]
