"""``vegan encode``: latent codes of data under a trained primal run."""

from __future__ import annotations

import argparse

from vegan.cli._common import add_device, output, positive_int

HELP = """\
Encode data with a trained auto-encoder recipe and write the codes as .npy
(n, d_z): the mean of Q(Z|X=x) for Gaussian encoders, a sample otherwise.
"""


def register(sub, formatter) -> None:
    p = sub.add_parser(
        "encode",
        help="write latent codes of data (primal runs)",
        description=HELP,
        formatter_class=formatter,
    )
    p.add_argument("run_dir", metavar="DIR", help="run folder of a primal recipe")
    p.add_argument("--data", required=True, help="dataset name or path (as for train)")
    p.add_argument(
        "--split", choices=("train", "heldout"), default="heldout", help="which split to encode"
    )
    p.add_argument("--n", type=positive_int, default=None, help="first N items (default: all)")
    p.add_argument("--out", required=True, help="output .npy file")
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vegan.cli.reconstruct import load_inputs
    from vegan.io import save_npy
    from vegan.train.api import load

    out = output(args.out, (".npy",))
    model = load(args.run_dir, device=args.device)
    z = model.encode(load_inputs(args, model)).cpu().numpy()
    save_npy(out, z)
    print(f"wrote codes of shape {z.shape} to {out}")
    return 0
