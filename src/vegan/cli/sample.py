"""``vegan sample``: draw samples from a trained run."""

from __future__ import annotations

import argparse

from vegan.cli._common import add_device, output, positive_int, write_samples

HELP = """\
Draw N samples of P_G from the newest checkpoint of a run and write them as
.npy (float32; images (n, C, H, W) in [0, 1], vectors (n, d)) or as a .png
picture (a grid for images, a scatter plot for 2-D data). Under torchrun each
process decodes a share of the N codes and rank 0 writes the file.
"""


def register(sub, formatter) -> None:
    p = sub.add_parser(
        "sample",
        help="draw samples from a trained run",
        description=HELP,
        formatter_class=formatter,
    )
    p.add_argument("run_dir", metavar="DIR", help="run folder made by 'vegan train'")
    p.add_argument(
        "--n",
        "--count",
        dest="n",
        type=positive_int,
        default=64,
        help="number of samples (--count is the same; use it under torchrun)",
    )
    p.add_argument("--out", required=True, help="output file, .npy or .png")
    p.add_argument("--seed", type=int, default=0, help="seed of the prior draws")
    p.add_argument(
        "--noise",
        choices=("auto", "yes", "no"),
        default="auto",
        help="add the decoder's noise (auto: for vector data only; images show G(z))",
    )
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from vegan.parallel import init_from_env, sample_sharded, shutdown
    from vegan.train.api import load

    out = output(args.out, (".npy", ".png"))
    model = load(args.run_dir, device=args.device)
    ctx = init_from_env(model.device.type)  # under torchrun each rank decodes a share
    ok = False
    try:
        gen = torch.Generator().manual_seed(args.seed)
        noise = None if args.noise == "auto" else args.noise == "yes"
        torch.manual_seed(args.seed)
        x = sample_sharded(model, args.n, generator=gen, noise=noise)
        ok = True
    finally:
        shutdown(sync=ok)
    if not ctx.is_main:
        return 0
    what = write_samples(x, out)
    print(f"wrote {what} to {out}")
    return 0
