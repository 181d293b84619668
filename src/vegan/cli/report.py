"""``vegan report``: one page comparing trained runs, with metrics and pictures."""

from __future__ import annotations

import argparse
import sys

from vegan.cli._common import add_device, eval_options, positive_int

HELP = """\
Write a report of one or more runs: the metrics tables across runs (best
value per column marked, real-vs-real references beside them), and per run
a sample grid, held-out inputs next to their reconstructions, latent
interpolations between held-out images, the codes of held-out data against
prior samples (PCA to 2-D when d_z > 2), and the loss and metric curves of
training.

HTML (default) is one self-contained file: images are embedded, so it opens
offline. --format md writes Markdown with the PNG files in OUT_files/ beside
it. Runs are evaluated as 'vegan eval' does (RUN/eval.json is reused when it
is from the same checkpoint, n and seed, and written otherwise).
"""


def register(sub, formatter) -> None:
    p = sub.add_parser(
        "report",
        help="write an HTML or Markdown report comparing runs",
        description=HELP,
        formatter_class=formatter,
    )
    p.add_argument("run_dirs", metavar="RUN_DIR", nargs="+", help="run folders to compare")
    p.add_argument(
        "--out",
        required=True,
        default=argparse.SUPPRESS,
        help="output file: .html (or .md with --format md)",
    )
    p.add_argument(
        "--format",
        choices=("html", "md"),
        default=argparse.SUPPRESS,
        help="html (self-contained) or md (Markdown + PNG files); default from --out's suffix",
    )
    p.add_argument(
        "--n",
        type=positive_int,
        default=None,
        help="evaluation samples per side (default: min(2000, the held-out split's size))",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and pictures")
    p.add_argument("--k", type=positive_int, default=3, help="neighbours of precision/recall")
    p.add_argument("--title", default="vegan report", help="title of the page")
    p.add_argument(
        "--recompute", action="store_true", help="evaluate again even when RUN/eval.json fits"
    )
    p.add_argument("--no-save", action="store_true", help="do not write RUN/eval.json files")
    p.add_argument("--no-features", action="store_true", help="skip feature-space metrics")
    p.add_argument("--no-inception", action="store_true", help="skip Inception FID")
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vegan.eval.report import make_report

    def log(msg: str) -> None:
        print(f"vegan: {msg}", file=sys.stderr, flush=True)

    out = make_report(
        args.run_dirs,
        args.out,
        fmt=getattr(args, "format", None),
        options=eval_options(args),
        reuse=not args.recompute,
        save=not args.no_save,
        title=args.title,
        log=log,
    )
    print(f"wrote {out}")
    return 0
