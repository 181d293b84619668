"""``vegan export``: write a trained model as a folder to share (weights, config, model card)."""

from __future__ import annotations

import argparse
import sys

from vegan.cli._common import positive_int

HELP = """\
Write the model of RUN_DIR (its newest checkpoint, or --step) to the folder
--out, which then describes itself and needs nothing else:

  model.safetensors  the weights (no optimizer state, nothing pickled)
  config.json        recipe, resolved options, data shape, vegan version
  README.md          a model card: recipe and equation, data, training
                     length, the evaluation table with its real-vs-real
                     references, the sample grid
  samples.png        64 samples (a scatter of 2,000 points for 2-D data)

vegan.load(DIR) and 'vegan sample DIR' read the folder. The card's table is
the run's eval.json when it evaluated the exported step with the same --seed
(and --n, when given), as 'vegan eval RUN' writes it; else a fresh evaluation
with --n and --seed, as 'vegan eval' would do it (the run is not changed). To put
the folder on a model hub, upload it as it is (the card has the hub's YAML
header); the how-to guide 'Track and share runs' shows how.

examples:
  vegan export runs/wae --out models/wae-mnist
  vegan export runs/wae --out models/wae-mnist --step 3000 --no-eval
"""


def register(sub, formatter) -> None:
    p = sub.add_parser(
        "export",
        help="write a trained model as a folder to share (weights, config, model card)",
        description=HELP,
        formatter_class=formatter,
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="run folder made by 'vegan train'")
    p.add_argument("--out", required=True, help="folder to write (new, or an earlier export)")
    p.add_argument("--step", type=int, default=None, help="checkpoint to export (default: newest)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    p.add_argument(
        "--no-eval", action="store_true", help="write the model card without an evaluation"
    )
    p.add_argument(
        "--n",
        type=positive_int,
        default=None,
        help="samples per side when the export evaluates, as 'vegan eval --n' (default: "
        "min(2000, the held-out split's size))",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of that evaluation")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vegan.eval.evaluation import EvalOptions
    from vegan.track.export import export_run

    def log(msg: str) -> None:
        print(f"vegan: {msg}", file=sys.stderr, flush=True)

    out = export_run(
        args.run_dir,
        args.out,
        step=args.step,
        evaluate=not args.no_eval,
        eval_options=EvalOptions(n=args.n, seed=args.seed),
        overwrite=args.overwrite,
        log=log,
    )
    print(f"exported {args.run_dir} to {out} (model.safetensors, config.json, README.md)")
    return 0
