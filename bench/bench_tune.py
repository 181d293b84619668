"""Tuning vegan's MNIST defaults: quality against steps for variants of one recipe's options.

    .venv/bin/python bench/bench_tune.py [--recipe wae-mmd] [--variants default,lr=2e-3,...]
        [--epochs 1,2,4,8,16,32,64] [--jobs 2] [--json FILE]

Each variant trains ``vegan.fit(recipe, "mnist", ..., **variant)`` with one
thread (``--jobs`` variants side by side, one core each) in segments ending
at the given epochs (resuming is exact, so each variant is one run) and
records, at each, the Frechet distance in ``vegan-mnist-cnn`` features
between 2,000 prior samples and the 2,000 held-out images. Quality per step
does not depend on the machine's load; the cost of a step does, so it is
measured separately (``--step-times``: all variants alternating in one
process, median seconds per step with the torch threads stated), and the
time to a given quality is steps x seconds per step.

Prints a table and saves the raw numbers (``--json``); the choice of the
defaults and the numbers behind it are written up in BENCHMARKS.md,
"## Time to quality".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_VARIANTS = (
    "default",
    "lr=2e-3",
    "lr=5e-4",
    "width=16",
    "width=64",
    "batch_size=50",
    "batch_size=200",
    "schedule=wae",
)


def parse_variant(v: str) -> dict:
    if v == "default":
        return {}
    return dict(kv.split("=", 1) for kv in v.split("+"))


def child(recipe: str, variant: str, epochs: list[int]) -> dict:
    import torch

    import vegan
    from bench_quality import FD, N_EVAL
    from vegan.train import checkpoint as ckpt

    fd = FD()
    out = Path(tempfile.mkdtemp(prefix="vegan-tune-")) / "run"
    curve = []
    for e in epochs:
        model, _ = vegan.fit(
            recipe,
            "mnist",
            out,
            epochs=e,
            resume=True,
            progress=False,
            samples_every=0,
            **parse_variant(variant),
        )
        c = ckpt.latest_checkpoint(out)
        x = model.sample(N_EVAL, generator=torch.Generator().manual_seed(0))
        curve.append({"epoch": e, "steps": c.step, "seconds": c.state["seconds"], "fd": fd(x)})
        print(json.dumps(curve[-1]), file=sys.stderr, flush=True)
    return {"variant": variant, "curve": curve}


def step_times(recipe: str, variants: list[str], rounds: int, threads: int) -> dict[str, float]:
    """Seconds per training step of each variant, alternating in one process."""
    import torch

    from bench_profile import alternate, steps_of
    from vegan.data import load_dataset
    from vegan.models.registry import build, make_config
    from vegan.train.loop import Trainer
    from vegan.train.options import RunOptions

    torch.set_num_threads(threads)
    x = load_dataset("mnist", "train").x
    fns = {}
    for v in variants:
        cfg = make_config(recipe, (1, 28, 28), parse_variant(v))
        torch.manual_seed(0)
        t = Trainer(
            build(recipe, (1, 28, 28), cfg),
            x,
            Path(tempfile.mkdtemp()),
            RunOptions(steps=10**6, samples_every=0),
            torch.device("cpu"),
            progress=False,
        )
        t._t0 = time.perf_counter()
        fns[v] = lambda k, t=t: steps_of(t, k)
    times = alternate(fns, block=5, rounds=rounds, warm=3)
    return {v: statistics.median(ts) for v, ts in times.items()}


def spawn(recipe: str, variant: str, epochs: list[int]) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--recipe",
        recipe,
        "--epochs",
        ",".join(map(str, epochs)),
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--recipe", default="wae-mmd")
    ap.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        help="comma-separated; 'default' or key=value joined by '+'",
    )
    ap.add_argument("--epochs", default="1,2,4,8,16,32,64")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--step-times", action="store_true", help="measure seconds per step only")
    ap.add_argument("--threads", type=int, default=2, help="threads for --step-times")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--json", help="save the raw numbers here (merged into an existing file)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    epochs = [int(e) for e in a.epochs.split(",")]
    variants = a.variants.split(",")
    if a.child:
        print(json.dumps(child(a.recipe, a.child, epochs)))
        return
    old = json.loads(Path(a.json).read_text()) if a.json and Path(a.json).exists() else {}
    res = old.setdefault(a.recipe, {"curves": {}, "step_s": {}})
    if a.step_times:
        st = step_times(a.recipe, variants, a.rounds, a.threads)
        res["step_s"].update(
            {
                v: {
                    "seconds": s,
                    "threads": a.threads,
                    "load": Path("/proc/loadavg").read_text().split()[:3],
                }
                for v, s in st.items()
            }
        )
        print(json.dumps(st, indent=1))
    else:
        with ThreadPoolExecutor(a.jobs) as pool:
            for r in pool.map(lambda v: spawn(a.recipe, v, epochs), variants):
                res["curves"][r["variant"]] = r["curve"]
                print(
                    r["variant"], [(c["epoch"], round(c["fd"], 1)) for c in r["curve"]], flush=True
                )
    if a.json:
        Path(a.json).write_text(json.dumps(old, indent=1))


if __name__ == "__main__":
    main()
