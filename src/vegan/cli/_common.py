"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from vegan.io import check_output_path, save_npy


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where to compute: auto picks CUDA when available",
    )


def positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def write_samples(x: torch.Tensor, out: Path) -> str:
    """Write samples as .npy (float32) or a .png picture; returns a description."""
    from vegan.plots import save_samples_picture

    arr = x.detach().float().cpu()
    if out.suffix.lower() == ".png":
        save_samples_picture(arr, out)
        return f"a picture of {len(arr)} samples"
    save_npy(out, arr.numpy().astype(np.float32))
    return f"an array of shape {tuple(arr.shape)}"


def output(path: str, suffixes: tuple[str, ...]) -> Path:
    return check_output_path(path, suffixes)


def eval_options(args):
    """The :class:`~vegan.eval.evaluation.EvalOptions` of ``vegan eval`` / ``report`` arguments."""
    from vegan.eval.evaluation import EvalOptions

    return EvalOptions(
        n=args.n,
        seed=args.seed,
        k=args.k,
        features=not args.no_features,
        inception=not args.no_inception,
        device=args.device,
    )
