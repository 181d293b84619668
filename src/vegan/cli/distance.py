"""``vegan distance``: the transport cost between two sample files."""

from __future__ import annotations

import argparse
import json
import math

HELP = """\
Transport cost W_c(A, B) = min over couplings of E c(X, Y) between the
empirical measures of two sample files (eq. (1) of the VEGAN paper).

A and B are .npy or .npz files of shape (n, d) or (n, C, H, W) (images are
flattened; name an array of an .npz as FILE.npz:KEY). The value is the
transport cost itself:

  --cost l2sq   c = |x - y|^2, so the value is W2 squared (W2 is printed too)
  --cost l2     c = |x - y|,   so the value is W1
  --cost l1     c = |x - y|_1

Methods:

  exact      network simplex (POT), exact; memory about 48 bytes per pair
             (n = 10,000 per side: about 5 GB)
  sinkhorn   transport cost of the entropic plan (>= exact, tends to it as
             epsilon -> 0); --epsilon (units of the cost) or --epsilon-rel
             (fraction of the median pairwise cost, default 0.01)
  sliced     sliced Wasserstein over --projections random directions:
             l2sq gives SW2^2, l2 gives SW1 (a different, smaller quantity)

Examples:
  vegan distance real.npy fake.npy
  vegan distance real.npy fake.npz:x --cost l2 --json
  vegan distance a.npy b.npy --method sinkhorn --epsilon-rel 0.01
"""


def register(sub, formatter) -> None:
    p = sub.add_parser(
        "distance",
        help="transport cost between two sample files (l2sq gives W2 squared)",
        description=HELP,
        formatter_class=formatter,
    )
    p.add_argument("a", metavar="A", help="first sample file (.npy, or .npz[:KEY])")
    p.add_argument("b", metavar="B", help="second sample file (.npy, or .npz[:KEY])")
    p.add_argument(
        "--cost",
        default="l2sq",
        metavar="COST",
        help="ground cost: l2sq (|x-y|^2, value = W2 squared), l2 (value = W1) or l1",
    )
    p.add_argument(
        "--method",
        default="exact",
        metavar="METHOD",
        help="exact (network simplex), sinkhorn (entropic) or sliced (random projections)",
    )
    p.add_argument(
        "--epsilon",
        type=float,
        default=None,
        metavar="E",
        help="sinkhorn: absolute regularization, in units of the cost",
    )
    p.add_argument(
        "--epsilon-rel",
        type=float,
        default=None,
        metavar="R",
        help="sinkhorn: regularization as a fraction of the median pairwise cost "
        "(used when --epsilon is not given; default 0.01)",
    )
    p.add_argument(
        "--tol",
        type=float,
        default=1e-6,
        metavar="T",
        help="sinkhorn: tolerance on the L1 marginal error",
    )
    p.add_argument(
        "--projections",
        type=int,
        default=50,
        metavar="K",
        help="sliced: number of random directions",
    )
    p.add_argument("--seed", type=int, default=0, help="sliced: seed of the random directions")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (value, method, cost, n_a, n_b, seconds, ...)",
    )
    p.set_defaults(func=run)


def _load(spec: str, name: str):
    from vegan.io import check_samples, load_array

    path, key = spec, None
    head, sep, tail = spec.rpartition(":")
    if sep and head.lower().endswith(".npz") and tail:
        path, key = head, tail
    return check_samples(load_array(path, key), name=f"{name} ('{path}')")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from vegan.errors import ShapeError
    from vegan.ot import wasserstein
    from vegan.ot._checks import check_choice, positive_float, positive_int
    from vegan.ot.api import METHODS
    from vegan.ot.costs import get_cost

    get_cost(args.cost)  # a known name or one of POT's (ConfigError naming the closest)
    check_choice(args.method, METHODS, "method")
    if args.method == "sinkhorn":
        positive_float(args.epsilon, "--epsilon", allow_none=True)
        positive_float(args.epsilon_rel, "--epsilon-rel", allow_none=True)
        positive_float(args.tol, "--tol")
    if args.method == "sliced":
        positive_int(args.projections, "--projections")
    x = _load(args.a, "A")
    y = _load(args.b, "B")
    dx, dy = int(np.prod(x.shape[1:])), int(np.prod(y.shape[1:]))
    if dx != dy:
        raise ShapeError(
            f"A ('{args.a}') has {dx} values per sample (shape {x.shape}) but B ('{args.b}') "
            f"has {dy} (shape {y.shape}); both files must hold samples of the same space"
        )
    eps_rel = args.epsilon_rel
    if args.method == "sinkhorn" and args.epsilon is not None:
        eps_rel = None
    r = wasserstein(
        x,
        y,
        cost=args.cost,
        method=args.method,
        epsilon=args.epsilon if args.method == "sinkhorn" else None,
        epsilon_rel=eps_rel if args.method == "sinkhorn" else None,
        n_projections=args.projections,
        seed=args.seed,
        tol=args.tol,
        return_result=True,
    )
    out = {
        "value": r.value,
        "method": r.method,
        "cost": r.cost,
        "n_a": r.n_a,
        "n_b": r.n_b,
        "seconds": round(r.seconds, 4),
    }
    sliced = r.method == "sliced"
    if r.cost == "l2sq":
        out["sw2" if sliced else "w2"] = math.sqrt(max(r.value, 0.0))
    elif r.cost == "l2":
        out["sw1" if sliced else "w1"] = r.value
    out.update({k: v for k, v in r.info.items() if k != "max_iter"})
    if args.json:
        print(json.dumps(out))
        return 0
    name = "SW" if sliced else "W_c"
    extra = ""
    if r.cost == "l2sq":
        extra = f"  [{'SW2' if sliced else 'W2'} = {math.sqrt(max(r.value, 0.0)):.6g}]"
    if r.method == "sinkhorn":
        extra += f"  epsilon={r.info['epsilon']:.4g} iterations={r.info['n_iter']}"
    if sliced:
        extra += f"  projections={r.info['n_projections']} seed={r.info['seed']}"
    print(
        f"{name} ({r.cost}, {r.method}) = {r.value:.6g}{extra}  "
        f"n_a={r.n_a} n_b={r.n_b}  {r.seconds:.3g} s"
    )
    return 0
