"""``vegan zoo``: every recipe, same data, same time budget, same seed; evaluated and reported."""

from __future__ import annotations

import argparse
import sys

from vegan.cli._common import add_device, positive_int

HELP = """\
The cookbook in one command. Trains every registered recipe (or those of
--recipes) on the same data with the same time budget and seed, each into
OUT/RECIPE (time_budget = 60 * MINUTES seconds and a very large number of
epochs, so the budget is what stops it; every other option is the recipe's
setting for the data (its defaults and the data family's preset) unless given
with --set), evaluates each as 'vegan eval' does, and
writes OUT/report.html (or .md), OUT/zoo.json and OUT/zoo.md (the table).

Example: vegan zoo --data mnist --budget 2 --out runs/zoo
"""


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected minutes as a number, got '{text}'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value:g}")
    return value


def register(sub, formatter) -> None:
    p = sub.add_parser(
        "zoo",
        help="train, evaluate and report every recipe with the same time budget",
        description=HELP,
        formatter_class=formatter,
    )
    hide = argparse.SUPPRESS  # no "(default: None)" in the help
    p.add_argument(
        "--data", required=True, default=hide, help="dataset: mnist, toy:8gaussians, a path..."
    )
    p.add_argument(
        "--budget",
        type=_minutes,
        required=True,
        default=hide,
        help="training time per recipe, in minutes",
    )
    p.add_argument(
        "--out", required=True, default=hide, help="zoo folder (one run folder per recipe)"
    )
    p.add_argument(
        "--recipes",
        default=hide,
        help="comma-separated recipes to train; every registered recipe when not given",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every run and of the evaluation")
    p.add_argument("--n", type=positive_int, default=2000, help="evaluation samples per side")
    p.add_argument(
        "--eval-every",
        type=int,
        default=1,
        help="epochs between quick metrics logged during training (0: off)",
    )
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        metavar="KEY=VALUE",
        default=hide,
        help="option for every recipe (repeatable), e.g. --set batch_size=64",
    )
    p.add_argument(
        "--preset",
        metavar="NAME",
        default=None,
        help="preset for every recipe over the data family's (the default); 'none' for the "
        "bare recipe defaults",
    )
    p.add_argument("--format", choices=("html", "md"), default="html", help="report format")
    p.add_argument("--no-features", action="store_true", help="skip feature-space metrics")
    p.add_argument(
        "--resume", action="store_true", help="keep evaluated runs, continue unfinished ones"
    )
    p.add_argument("--overwrite", action="store_true", help="start every run over")
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vegan.errors import ConfigError
    from vegan.eval.zoo import run_zoo, zoo_markdown
    from vegan.models.config import parse_sets

    if args.resume and args.overwrite:
        raise ConfigError("--resume and --overwrite exclude each other; choose one")
    if args.eval_every < 0:
        raise ConfigError(f"--eval-every must be >= 0, got {args.eval_every}")

    def log(msg: str) -> None:
        print(f"vegan zoo: {msg}", file=sys.stderr, flush=True)

    names = getattr(args, "recipes", "")
    recipes = [r.strip() for r in names.split(",") if r.strip()] or None
    result = run_zoo(
        args.data,
        args.budget,
        args.out,
        recipes=recipes,
        seed=args.seed,
        n=args.n,
        sets=parse_sets(getattr(args, "sets", None)),
        resume=args.resume,
        overwrite=args.overwrite,
        device=args.device,
        preset=args.preset,
        eval_every=args.eval_every,
        report_format=args.format,
        features=not args.no_features,
        log=log,
    )
    print(zoo_markdown(result), end="")
    if result.report is not None:
        print(f"report: {result.report}")
    failed = [e for e in result.entries if e.status != "ok"]
    return 1 if failed and len(failed) == len(result.entries) else 0
