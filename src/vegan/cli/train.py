"""``vegan train``: train a recipe on a dataset into a run folder."""

from __future__ import annotations

import argparse

from vegan.cli._common import add_device, positive_int

HELP = """\
Train RECIPE on DATA, writing a run folder: run.json, metrics.jsonl, sample
grids and reconstructions (PNG), and safetensors+JSON checkpoints.

Options are resolved in this order, each overriding the ones before: the
recipe's defaults, the preset of the data's family (toy, vectors, mnist,
rgb32, celeba64), --preset NAME, --config FILE, --set KEY=VALUE. run.json
records the resolved values and where each came from; 'vegan recipes
--show RECIPE --data DATA' prints them before a run.

--epochs/--steps are the run's totals: with --resume the run continues from
its last checkpoint up to that total (on CPU, with the same seed and options,
the result is bit-identical to an uninterrupted run); a run already at the
total trains nothing. --resume on a folder that holds no run is an error
that names the runs beside it.

Your own recipes (registered with @recipe) are found through --import
MODULE (a module name or a .py file; also VEGAN_IMPORT) or, for installed
packages, the 'vegan.recipes' entry-point group.

examples:
  vegan train wae-mmd --data mnist --out runs/wae --epochs 20
  vegan train vae --data toy:8gaussians --out runs/vae --set lam=0.5 --steps 2000
  vegan train wae-mmd --data mnist --out runs/wae --epochs 40 --resume
  vegan train wae-mmd --data mnist --out runs/wae-bf16 --steps 600 --precision bf16
"""


def register(sub, formatter) -> None:
    p = sub.add_parser(
        "train", help="train a recipe on a dataset", description=HELP, formatter_class=formatter
    )
    p.add_argument("recipe", help="recipe name; 'vegan recipes' lists them")
    p.add_argument(
        "--data",
        required=True,
        help="mnist (built-in), mnist-full, toy:NAME, or a path (.npy/.npz or an "
        "image folder); 'vegan data --list' lists them",
    )
    p.add_argument("--out", required=True, help="run folder to create (or to resume)")
    length = p.add_mutually_exclusive_group()
    length.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="total epochs (default: the recipe's 'epochs' option)",
    )
    length.add_argument(
        "--steps", type=positive_int, default=None, help="total steps (iterations of every player)"
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: 0)")
    p.add_argument(
        "--config",
        metavar="FILE.toml",
        default=None,
        help="TOML file of options (key = value lines)",
    )
    p.add_argument(
        "--preset",
        metavar="NAME",
        default=None,
        help="apply preset NAME over the data family's (the default); 'none' keeps the "
        "bare recipe defaults; 'vegan recipes --presets' lists them",
    )
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set an option, e.g. --set lam=10 (repeatable); "
        "'vegan recipes --show RECIPE' lists the options",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last checkpoint (an error when --out holds "
        "no run)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="delete the run in --out and start over"
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="CPU threads (default: OMP_NUM_THREADS if set, else 1 for small networks and "
        "the available cores, split among torchrun's local ranks, for large ones)",
    )
    p.add_argument(
        "--precision",
        choices=("32", "bf16", "16"),
        default=None,
        help="arithmetic of the training steps (the 'precision' option, default 32): 32 "
        "float32; bf16 bfloat16 autocast (CPU or a recent GPU); 16 float16 autocast with "
        "loss scaling (for CUDA GPUs); transport, MMD, Sinkhorn, gradient-penalty and "
        "likelihood terms stay float32; fixed for a run",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vegan.api import fit
    from vegan.errors import ConfigError
    from vegan.models.config import parse_sets
    from vegan.train.loop import Interrupted

    if args.resume and args.overwrite:
        raise ConfigError("--resume and --overwrite exclude each other; pick one")
    ok = False
    try:
        model, result = fit(
            args.recipe,
            args.data,
            args.out,
            epochs=args.epochs,
            steps=args.steps,
            seed=args.seed,
            config=args.config,
            preset=args.preset,
            sets={
                **parse_sets(args.sets),
                **({"threads": args.threads} if args.threads is not None else {}),
                **({"precision": args.precision} if args.precision is not None else {}),
            },
            device=args.device,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
        ok = True
    except Interrupted as exc:
        import sys

        print(f"vegan: {exc}", file=sys.stderr)
        return 130
    finally:
        from vegan.parallel import current, shutdown

        is_main = current().is_main
        shutdown(sync=ok)
    if not is_main:
        return 0
    from vegan.train.api import NothingToDo

    if isinstance(result, NothingToDo):
        return 0  # fit said "nothing to do: the run is already at step N"
    last = ", ".join(
        f"{k} {v:.4g}" for k, v in result.last.items() if "/" in k and not k.endswith("/lr")
    )
    print(
        f"trained {model.recipe} on {args.data}: {result.step} steps "
        f"({result.epoch:.1f} epochs) in {result.seconds:.1f} s" + (f"; {last}" if last else "")
    )
    print(
        f"run folder: {result.run_dir}  (samples.png, "
        + (
            "reconstructions.png, "
            if model.encoder is not None and len(model.sample_shape) == 3
            else ""
        )
        + "metrics.jsonl, checkpoints/)"
    )
    return 0
