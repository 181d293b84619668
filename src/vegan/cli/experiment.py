"""``vegan experiment``: run one of the paper's theory checks."""

from __future__ import annotations

import argparse
import json
import shlex
import sys

HELP = """\
Run one of the paper's claims as an experiment and write, into --out DIR:
result.json (settings, numbers, conclusions, provenance), PNG figures and
summary.md (what was found, in words and tables).

experiments:
  theorem1     Theorem 1, eq. (9)-(11): W_c(P_X, P_G) = inf over Q(Z|X) with
               Q_Z = P_Z of E c(X, G(Z)); strict gap for random decoders
  remark1      Remark 1: a Gaussian decoder adds exactly d sigma^2 to the
               primal value (squared cost); what noise does to exact W2
  prop2        Proposition 2: the minimizer of W_c(P_X, P_G^sigma) moves
               with sigma, the minimizer of the primal bound does not
  primal-dual  W1 from the auto-encoder (primal) and the critic (dual) vs the
               exact value: values and gradients, d = 2 to 128
  blur         why VAE samples are blurry: VAE vs WAE-MMD on MNIST

--quick runs a reduced setting in under a minute (a smoke test); the full
setting takes minutes on a CPU and is what docs/theory.md reports.

examples:
  vegan experiment theorem1 --out results/theorem1
  vegan experiment remark1 --out /tmp/r1 --quick --json
"""


def register(sub, formatter) -> None:
    p = sub.add_parser(
        "experiment",
        help="run a theory check of the paper (theorem1, remark1, prop2, primal-dual, blur)",
        description=HELP,
        formatter_class=formatter,
    )
    p.add_argument("name", metavar="NAME", help="theorem1, remark1, prop2, primal-dual or blur")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="reduced setting that finishes in under a minute (numbers are not the result)",
    )
    p.add_argument(
        "--json", action="store_true", help="print the result object (result.json) on stdout"
    )
    p.add_argument("--seed", type=int, default=0, help="base seed of every draw and initialization")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vegan.experiments import get_experiment, run_experiment
    from vegan.experiments._common import stderr_log

    get_experiment(args.name)  # unknown names fail before any work
    command = "vegan " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else None
    if command is None or "experiment" not in command:
        command = None  # called in-process (tests): record the equivalent command instead
    result = run_experiment(
        args.name,
        args.out,
        quick=args.quick,
        seed=args.seed,
        command=command,
        log=None if args.quiet else stderr_log,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"wrote {args.out}/result.json, summary.md and {len(result['figures'])} figure(s)")
        for line in result["conclusions"]:
            print(f"- {line}")
    return 0
