"""``vegan reconstruct``: encode and decode data with a trained primal run."""

from __future__ import annotations

import argparse

from vegan.cli._common import add_device, output, positive_int, write_samples

HELP = """\
Reconstruct data with a trained auto-encoder recipe: G(E(x)) for the first N
items of the split. Writes .npy or a .png grid (inputs above reconstructions).
"""


def register(sub, formatter) -> None:
    p = sub.add_parser(
        "reconstruct",
        help="reconstruct data with a trained primal run",
        description=HELP,
        formatter_class=formatter,
    )
    p.add_argument("run_dir", metavar="DIR", help="run folder of a primal recipe")
    p.add_argument("--data", required=True, help="dataset name or path (as for train)")
    p.add_argument(
        "--split",
        choices=("train", "heldout"),
        default="heldout",
        help="which split to reconstruct",
    )
    p.add_argument("--n", type=positive_int, default=None, help="first N items (default: all)")
    p.add_argument("--out", required=True, help="output file, .npy or .png")
    add_device(p)
    p.set_defaults(func=run)


def load_inputs(args: argparse.Namespace, model):
    from vegan.data import load_dataset

    ds = load_dataset(args.data, args.split, n=args.n)
    return ds.x


def run(args: argparse.Namespace) -> int:
    import torch

    from vegan.plots import save_image_grid
    from vegan.train.api import load

    out = output(args.out, (".npy", ".png"))
    model = load(args.run_dir, device=args.device)
    x = load_inputs(args, model)
    recon = model.reconstruct(x).cpu()
    if out.suffix.lower() == ".png" and recon.dim() == 4:
        k = min(len(x), 32)
        save_image_grid(torch.cat([x[:k], recon[:k]]), out, nrow=16)
        print(f"wrote {k} inputs above their reconstructions to {out}")
        return 0
    print(f"wrote {write_samples(recon, out)} to {out}")
    return 0
