"""``vegan data``: write samples of a dataset to a ``.npy`` file, or list the datasets."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Write samples of a dataset to a .npy file (float32; images in [0, 1], shape
(n, C, H, W); vectors (n, d)), or list the datasets with --list.

Files and MNIST give the first N items of the split in file order (all when
--n is omitted); toy datasets draw N points (default 8000 train, 2000
held-out) with the given seed, the two splits from different random streams.
Files and image folders are split like the built-in MNIST: every fifth item
(index % 5 == 4) is held out.

vegan data prepare FOLDER --out FILE.npy decodes a folder of png/jpg images
(nested class folders allowed) once into a uint8 (n, C, H, W) .npy that
training memory-maps: later runs stream from it instead of decoding images
(--size resizes to SIZE x SIZE, --crop center crops a centered square first).
shapes64 (procedural 64x64 shapes, any --n) writes uint8 images: --out
FILE.npy gives a (n, 3, 64, 64) uint8 array written in chunks (never whole in
memory) and FILE.factors.csv beside it (row k: image k's index, shape and
factors); --out DIR/ (a trailing slash, a new or empty folder) gives one PNG
per image, DIR/SHAPE/INDEX.png, and DIR/factors.csv. Its seed is part of its
name (shapes64?seed=S), not --seed.

examples:
  vegan data --list
  vegan data prepare photos/ --out photos64.npy --size 64 --crop center
  vegan data mnist --n 10 --out digits.npy
  vegan data toy:8gaussians --split heldout --out ring.npy
  vegan data mnist-full --data-dir ~/mnist --out train.npy
  vegan data shapes64 --n 200000 --out shapes.npy
  vegan data shapes64 --split heldout --n 1000 --out pngs/"""


# "%(default).0s" prints nothing: it stops the formatter from appending "(default: None)".


def register(subparsers: argparse._SubParsersAction, formatter_class: type) -> None:
    """Add the ``data`` subcommand."""
    p = subparsers.add_parser(
        "data",
        help="write dataset samples to .npy, or list datasets",
        description=DESCRIPTION,
        formatter_class=formatter_class,
    )
    p.add_argument(
        "name",
        nargs="?",
        metavar="NAME",
        help="dataset: mnist, mnist-full, toy:NAME[?key=value&...], a .npy/.npz file or a "
        "folder of images (see --list)%(default).0s",
    )
    p.add_argument("--list", action="store_true", help="list the datasets and exit%(default).0s")
    p.add_argument(
        "--n",
        type=int,
        default=None,
        metavar="N",
        help="number of samples (default: the whole split; toy: 8000 train / 2000 heldout)"
        "%(default).0s",
    )
    p.add_argument(
        "--out",
        metavar="FILE.npy",
        help="output .npy file (written atomically); shapes64 also takes DIR/ for PNGs"
        "%(default).0s",
    )
    p.add_argument(
        "--split", default="train", metavar="SPLIT", help="which split: train or heldout"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (toy datasets only)")
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None,
        help="folder holding the MNIST IDX files for mnist-full (else $VEGAN_DATA_DIR, then "
        "the cache ~/.cache/vegan/mnist)%(default).0s",
    )
    # vegan data prepare FOLDER --out FILE.npy [--size S --crop center|none]
    p.add_argument(
        "folder",
        nargs="?",
        metavar="FOLDER",
        help="with NAME 'prepare': the folder of images to decode into --out%(default).0s",
    )
    p.add_argument(
        "--size",
        type=int,
        default=None,
        metavar="S",
        help="prepare: resize every image to S x S (default: keep the size, one for all)"
        "%(default).0s",
    )
    p.add_argument(
        "--crop",
        default="center",
        choices=["center", "none"],
        help="prepare with --size: crop a centered square first, or resize the whole image",
    )
    p.set_defaults(func=run)


def run_prepare(args: argparse.Namespace) -> int:
    """Run ``vegan data prepare FOLDER --out FILE.npy``; returns the exit status."""
    import sys

    from vegan.data.prepare import prepare_folder
    from vegan.errors import ConfigError

    if not args.folder:
        raise ConfigError("no folder given; use 'vegan data prepare FOLDER --out FILE.npy'")
    if not args.out:
        raise ConfigError("no output file given; add --out FILE.npy")

    def log(line: str) -> None:
        print(f"vegan: {line}", file=sys.stderr, flush=True)

    shape = prepare_folder(args.folder, args.out, size=args.size, crop=args.crop, log=log)
    print(f"wrote {shape[0]} images of {args.folder} (uint8, shape {shape}) to {args.out}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``vegan data``; returns the exit status."""
    from vegan.data import list_datasets, load_dataset
    from vegan.data.splits import check_n, check_split
    from vegan.errors import ConfigError
    from vegan.io import check_output_path, save_npy

    if args.name == "prepare":
        return run_prepare(args)
    if args.folder is not None:
        raise ConfigError(
            f"unexpected argument '{args.folder}'; only 'vegan data prepare' takes a folder"
        )
    if args.list:
        rows = list_datasets() + [
            ("PATH.npy | PATH.npz[:KEY]", "your array, (n, d) or (n, C, H, W); uint8 scaled"),
            ("FOLDER", "a folder of png/jpg images of one size (class subfolders allowed)"),
        ]
        width = max(len(name) for name, _ in rows)
        for name, desc in rows:
            print(f"{name:<{width}}  {desc}")
        return 0
    if not args.name:
        raise ConfigError(
            "no dataset given; name one (e.g. 'vegan data mnist --out x.npy') or use --list"
        )
    if not args.out:
        raise ConfigError("no output file given; add --out FILE.npy")
    check_n(args.n)
    check_split(args.split)
    from vegan.data import shapes

    if shapes.is_shapes_spec(args.name):
        return _write_shapes(args)
    out = check_output_path(args.out, (".npy",))
    ds = load_dataset(args.name, split=args.split, n=args.n, seed=args.seed, data_dir=args.data_dir)
    save_npy(out, ds.x.numpy())
    shape = tuple(ds.x.shape)
    print(f"wrote {len(ds)} {ds.split} samples of {ds.name} (float32, shape {shape}) to {out}")
    return 0


def _write_shapes(args: argparse.Namespace) -> int:
    """``vegan data shapes64``: uint8 .npy or a folder of PNGs, with the factors beside."""
    import os
    from pathlib import Path

    from vegan.data import shapes, shapes_files
    from vegan.errors import ConfigError, OutputError
    from vegan.io import check_output_path

    spec = shapes.parse_spec(args.name)
    if args.seed != 0:
        raise ConfigError(
            f"the seed of {shapes.NAME} is part of its name: use '{shapes.NAME}?seed={args.seed}' "
            "instead of --seed"
        )
    folder = args.out.endswith(("/", os.sep)) or Path(args.out).is_dir()
    if not folder and Path(args.out).suffix.lower() != ".npy":
        raise OutputError(
            f"output '{args.out}' must end with .npy (one uint8 array) or with / (a folder of "
            "PNGs); rename it"
        )
    log = shapes_files.progress_printer(f"{shapes.NAME} images")
    if folder:
        out, n = shapes_files.write_pngs(args.out, args.name, args.split, args.n, log)
        print(f"wrote {n} {args.split} images of {spec.name} as PNGs to {out}/ (factors.csv)")
        return 0
    out = check_output_path(args.out, (".npy",))
    out, csv, n = shapes_files.write_npy(out, args.name, args.split, args.n, log)
    print(
        f"wrote {n} {args.split} images of {spec.name} (uint8, shape ({n}, 3, 64, 64)) to "
        f"{out}, factors to {csv}"
    )
    return 0
