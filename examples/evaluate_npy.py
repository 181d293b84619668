"""Evaluate samples made by any model, saved as .npy, the way ``vegan eval`` does.

    python examples/evaluate_npy.py SAMPLES.npy [--data mnist] [--n 2000]

Prints exact W2^2, W2, W1, sliced W2 and MMD^2 between the samples and the
held-out split of the data, each beside the same number between two real
samples, the sharpness of images, and for MNIST-shaped images the
feature-space metrics (FD, precision, recall in vegan-mnist-cnn features).
Without SAMPLES.npy it evaluates blurred real digits, to show why pixel
transport alone must not rank models.
"""

import argparse
import os

import numpy as np
import torch
import torch.nn.functional as F

from vegan.data import load_dataset
from vegan.eval import frechet_distance, mnist_features, precision_recall
from vegan.eval.metrics import sharpness, transport_metrics

QUICK = os.environ.get("VEGAN_DOCS_QUICK", "") not in ("", "0")


def blurred_digits(n: int) -> torch.Tensor:
    w = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    kernel = (w[:, None] * w[None, :] / 256)[None, None]
    return F.conv2d(load_dataset("mnist", "train", n=n).x, kernel, padding=2)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("samples", nargs="?", help=".npy file of samples (n, d) or (n, C, H, W)")
    p.add_argument("--data", default="mnist", help="dataset whose held-out split is the reference")
    p.add_argument("--n", type=int, default=300 if QUICK else 2000, help="samples per side")
    args = p.parse_args(argv)

    held = load_dataset(args.data, "heldout", n=args.n).x
    real = load_dataset(args.data, "train", n=args.n).x
    if args.samples:
        gen = torch.as_tensor(np.load(args.samples))[: args.n].float()
    else:
        gen = blurred_digits(2 * args.n)[args.n :]
    n = min(len(gen), len(held))
    gen, held, real = gen[:n], held[:n], real[:n]

    model, ref = transport_metrics(gen, held), transport_metrics(real, held)
    print(f"n = {n} per side, held-out split of {args.data}")
    print(f"{'metric':10s} {'samples':>10s} {'real vs real':>13s}")
    for key in model:
        print(f"{key:10s} {model[key]:10.4g} {ref[key]:13.4g}")
    if gen.dim() == 4:
        print(f"{'sharpness':10s} {sharpness(gen):10.4g} {sharpness(held):13.4g}  (data)")
    if tuple(gen.shape[1:]) == (1, 28, 28):
        net = mnist_features()
        fh, fg, fr = net(held), net(gen), net(real)
        print(f"{'FD':10s} {frechet_distance(fg, fh):10.4g} {frechet_distance(fr, fh):13.4g}")
        (pg, rg), (pr, rr) = precision_recall(fh, fg), precision_recall(fh, fr)
        print(f"{'precision':10s} {pg:10.4g} {pr:13.4g}")
        print(f"{'recall':10s} {rg:10.4g} {rr:13.4g}")


if __name__ == "__main__":
    main()
