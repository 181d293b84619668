"""``vegan eval``: measure a trained run against held-out data."""

from __future__ import annotations

import argparse
import json
import sys

from vegan.cli._common import add_device, eval_options, positive_int

HELP = """\
Evaluate the newest checkpoint of a run on the held-out split of its data
(for the built-in MNIST: the 2,000 images with index % 5 == 4), with n
samples and a seed:

  data space     exact W2^2 / W2 (l2sq) and W1 (l2), sliced W2, MMD^2, each
                 beside the same number between n train and n held-out items
                 (real vs real), and the sharpness (mean gradient magnitude)
                 of samples and data. Pixel transport rewards blur: never
                 rank models on pixel W2 alone.
  MNIST          FD, precision and recall (k-NN, k=3) in the features of
                 vegan-mnist-cnn, a small classifier trained once and cached
                 (its held-out accuracy is printed); Inception FID when
                 torch-fidelity and its weights are installed.
  toy mixtures   modes covered and the share of high-quality samples.
  primal         reconstruction cost |x - G(E(x))|^2 on held-out data, codes
                 vs prior (MMD^2, exact W2^2, with prior-vs-prior references),
                 and the -ELBO for VAE/AVB.

The result is saved to RUN/eval.json (reports reuse it) unless --no-save;
a run trained with --set log_to=... also sends it to those trackers (the
same TensorBoard, MLflow or W&B run, as final/<metric>).
"""


def register(sub, formatter) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a trained run (transport, feature and latent metrics)",
        description=HELP,
        formatter_class=formatter,
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="run folder made by 'vegan train'")
    p.add_argument(
        "--n",
        type=positive_int,
        default=None,
        help="samples per side, generated and held-out (default: min(2000, the held-out "
        "split's size); a larger --n is an error)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and projections")
    p.add_argument(
        "--k", type=positive_int, default=3, help="nearest neighbours of precision and recall"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument(
        "--no-features", action="store_true", help="skip the feature-space metrics (MNIST)"
    )
    p.add_argument(
        "--no-inception", action="store_true", help="skip Inception FID even when available"
    )
    p.add_argument("--no-save", action="store_true", help="do not write RUN/eval.json")
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vegan.eval.evaluation import evaluate, save_evaluation
    from vegan.eval.text import format_evaluation

    def log(msg: str) -> None:
        print(f"vegan: {msg}", file=sys.stderr, flush=True)

    options = eval_options(args)
    result = evaluate(args.run_dir, options, log=None if args.json else log)
    if not args.no_save:
        save_evaluation(args.run_dir, result)
        _send_to_trackers(args.run_dir, result)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(format_evaluation(result))
    return 0


def _send_to_trackers(run_dir: str, result) -> None:
    """Log the saved evaluation to the run's trackers (``log_to``); a failure only warns."""
    from vegan.errors import VeganError
    from vegan.track import log_evaluation

    try:
        done = log_evaluation(run_dir, result)
    except Exception as exc:  # noqa: BLE001 - eval.json is written; a tracker only warns
        why = str(exc) if isinstance(exc, VeganError) else f"{type(exc).__name__}: {exc}"
        first = why.strip().splitlines()[0] if why.strip() else type(exc).__name__
        print(f"vegan: warning: evaluation not sent to the trackers: {first}", file=sys.stderr)
        return
    if done:
        print(f"vegan: evaluation logged to {', '.join(done)}", file=sys.stderr, flush=True)
