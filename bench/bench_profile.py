"""Where a training step's time goes, and what each speed lever is worth.

    .venv/bin/python bench/bench_profile.py [--pairs wae-mmd,vae,aae] [--rounds 15]

Three measurements, all in one process on vegan's default MNIST networks
(width 32, batch 100):

1. ``torch.profiler`` over 20 steps of vegan's ``Trainer.train_step``
   (``wae-mmd``): self CPU time by operator, grouped.
2. vegan's step (the real ``Trainer.train_step``: batch, learning rate,
   players, finiteness check, optimizer) against the bare loop's step on
   copies of the same networks, in alternating blocks.
3. Levers, each as a variant of the same trainer against the baseline, in
   alternating blocks of ``--block`` steps over ``--rounds`` rounds: the
   per-step finiteness check off, Adam for-loop / foreach / fused,
   channels-first instead of vegan's channels-last, 1 vs 2 threads,
   ``torch.compile`` of the networks; and the per-epoch extras (sample
   grids, checkpoint) timed against an epoch.

Ratios are medians of per-round ratios, so a busy machine slows both sides
of each ratio alike. Writes the "## Profile" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, machine_line, write_section  # noqa: E402
from _peers import PAIRS, BareLoop, batches, build_nets, compile_nets, vegan_options  # noqa: E402

SECTION = "## Profile"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def make_trainer(pair: str, nets: dict, x: torch.Tensor, **cfg_over):
    from vegan.models.registry import build, make_config
    from vegan.train.loop import Trainer
    from vegan.train.options import RunOptions

    recipe = PAIRS[pair]["vegan"]
    cfg = make_config(recipe, (1, 28, 28), {**vegan_options(pair), **cfg_over})
    torch.manual_seed(0)
    model = build(recipe, (1, 28, 28), cfg, nets=nets)
    run = Path(tempfile.mkdtemp(prefix="vegan-prof-"))
    options = RunOptions(steps=10**6, samples_every=0)
    t = Trainer(model, x, run, options, torch.device("cpu"), progress=False)
    t._t0 = time.perf_counter()
    return t


def steps_of(trainer, k: int) -> float:
    t = time.perf_counter()
    for _ in range(k):
        trainer.train_step()
        trainer.step += 1
    return time.perf_counter() - t


def alternate(fns: dict, block: int, rounds: int, warm: int = 2) -> dict[str, list[float]]:
    """Per-round seconds per step of each fn(k) (k steps), in rotating order."""
    names = list(fns)
    for n in names:
        fns[n](warm)
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for n in order:
            out[n].append(fns[n](block) / block)
    return out


def ratio(times: dict, a: str, b: str) -> float:
    """Median over rounds of time(a) / time(b)."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


# --------------------------------------------------------------------------- 1. profile


GROUPS = [
    ("convolutions (forward and backward)", ("conv", "mkldnn_convolution")),
    ("batch norm", ("batch_norm",)),
    ("matrix products (linear layers, MMD Gram)", ("mm", "addmm", "linear", "bmm")),
    ("optimizer (Adam, foreach kernels)", ("_foreach", "lerp", "addcdiv", "addcmul")),
]


def profile_ops(x: torch.Tensor, pair: str = "wae-mmd") -> tuple[list, float, dict]:
    from torch.profiler import ProfilerActivity, profile

    t = make_trainer(pair, build_nets(pair), x)
    steps_of(t, 5)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        steps_of(t, 20)
    ev = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in ev)
    top = sorted(ev, key=lambda e: -e.self_cpu_time_total)[:12]
    rows = [(e.key, e.self_cpu_time_total / total, e.count // 20) for e in top]
    grouped: dict[str, float] = {}
    for e in ev:
        name = e.key.lower()
        g = next(
            (label for label, keys in GROUPS if any(k in name for k in keys)),
            "elementwise and everything else",
        )
        grouped[g] = grouped.get(g, 0.0) + e.self_cpu_time_total / total
    return rows, total / 20 / 1000.0, grouped


# --------------------------------------------------------------------------- 2.-3. levers


def bare_fn(pair, nets, x):
    loop = BareLoop(pair, nets)
    stream = batches(x, 100)

    def fn(k):
        t = time.perf_counter()
        for _ in range(k):
            loop.step(next(stream))
        return time.perf_counter() - t

    return fn


def trainer_fn(t):
    return lambda k: steps_of(t, k)


def variant(pair: str, x: torch.Tensor, name: str):
    """A (baseline fn, variant fn) pair of trainers differing by lever ``name``."""
    base_nets = build_nets(pair)
    var_nets = copy.deepcopy(base_nets)
    if name == "torch.compile":
        var_nets = compile_nets(var_nets)
    base = make_trainer(pair, base_nets, x)
    # vegan's default is channels-last (option channels_last); the lever turns it off
    var = make_trainer(pair, var_nets, x, **({"channels_last": False} if name == LAYOUT else {}))
    if name == "no finiteness check":
        var._check_finite = lambda *a, **k: None
    if name.startswith("Adam "):
        kind = name.split()[1]
        flags = {"for-loop": {"foreach": False}, "fused": {"fused": True}}[kind]
        var.optimizers = [
            torch.optim.Adam(o.param_groups[0]["params"], lr=p.lr, betas=p.betas, **flags)
            for o, p in zip(var.optimizers, var.players)
        ]
    fb, fv = trainer_fn(base), trainer_fn(var)
    if name == "1 thread (vs 2)":
        n, inner = torch.get_num_threads(), trainer_fn(var)

        def fv(k):
            torch.set_num_threads(1)
            try:
                return inner(k)
            finally:
                torch.set_num_threads(n)

    return fb, fv


LAYOUT = "channels-first (vegan's default: channels-last)"
LEVERS = [
    "no finiteness check",
    "Adam for-loop",
    "Adam fused",
    LAYOUT,
    "1 thread (vs 2)",
    "torch.compile",
]


def epoch_extras(pair: str, x: torch.Tensor, rounds: int) -> dict[str, float]:
    """Seconds of one sample-grid drawing and one checkpoint, vs one epoch of steps."""
    from vegan.plots import SamplePictures

    t = make_trainer(pair, build_nets(pair), x)
    steps_of(t, 5)
    pics, saves = [], []
    pictures = SamplePictures()
    pictures.draw(t.view(), 0)  # first call imports matplotlib
    for _ in range(max(3, rounds // 3)):
        s = time.perf_counter()
        pictures.draw(t.view(), 1)
        pics.append(time.perf_counter() - s)
        s = time.perf_counter()
        t.save()
        saves.append(time.perf_counter() - s)
    step = statistics.median(steps_of(t, 10) / 10 for _ in range(3))
    return {
        "pictures_s": statistics.median(pics),
        "checkpoint_s": statistics.median(saves),
        "epoch_s": step * t.per_epoch,
    }


def sampling(pair: str, x: torch.Tensor) -> dict[str, float]:
    """model.sample(2,000) under inference_mode (vegan's) vs no_grad vs autograd on."""
    t = make_trainer(pair, build_nets(pair), x)
    model = t.model
    dec = model.decoder

    def draw(ctx):
        def f(k):
            s = time.perf_counter()
            for _ in range(k):
                with ctx():
                    z = model.prior.sample(2000)
                    dec.mean(dec(z))
            return time.perf_counter() - s

        return f

    was = model.training
    model.eval()
    times = alternate(
        {
            "inference_mode": draw(torch.inference_mode),
            "no_grad": draw(torch.no_grad),
            "grad": draw(torch.enable_grad),
        },
        block=3,
        rounds=7,
        warm=1,
    )
    model.train(was)
    return {k: statistics.median(v) for k, v in times.items()}


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pairs", default="wae-mmd,vae,aae")
    ap.add_argument("--levers", default=",".join(LEVERS))
    ap.add_argument("--block", type=int, default=10, help="steps per block")
    ap.add_argument("--rounds", type=int, default=15, help="alternation rounds")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--json", help="also save the raw results here")
    a = ap.parse_args()
    if a.quick:
        a.block, a.rounds, a.pairs = 2, 2, "wae-mmd"
    from vegan.data import load_dataset

    x = load_dataset("mnist", "train").x
    load0 = loadavg()
    res: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "argv": sys.argv[1:]}
    rows, ms, grouped = profile_ops(x)
    res["profile"] = {"rows": rows, "ms_per_step": ms, "grouped": grouped}
    print(json.dumps(res["profile"], indent=1), flush=True)
    res["vs_bare"] = {}
    for pair in a.pairs.split(","):
        nets = build_nets(pair)
        t = make_trainer(pair, copy.deepcopy(nets), x)
        times = alternate(
            {"vegan": trainer_fn(t), "bare": bare_fn(pair, nets, x)}, a.block, a.rounds
        )
        res["vs_bare"][pair] = {
            "vegan_ms": 1000 * statistics.median(times["vegan"]),
            "bare_ms": 1000 * statistics.median(times["bare"]),
            "ratio": ratio(times, "vegan", "bare"),
        }
        print(pair, res["vs_bare"][pair], flush=True)
    res["levers"] = {}
    for name in a.levers.split(","):
        fb, fv = variant("wae-mmd", x, name)
        times = alternate(
            {"base": fb, "var": fv}, a.block, a.rounds, warm=3 + 12 * (name == "torch.compile")
        )
        res["levers"][name] = {
            "base_ms": 1000 * statistics.median(times["base"]),
            "var_ms": 1000 * statistics.median(times["var"]),
            "ratio": ratio(times, "var", "base"),
        }
        print(name, res["levers"][name], flush=True)
    res["extras"] = epoch_extras("wae-mmd", x, a.rounds)
    res["sampling"] = sampling("wae-mmd", x)
    print(res["extras"], res["sampling"], flush=True)
    res["loads"] = [load0, loadavg()]
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))
    text = render(res)
    print(text)
    if not a.no_write and not a.quick:
        write_section(SECTION, text)


def render(res: dict) -> str:
    m = machine()
    p = res["profile"]
    L = [
        SECTION,
        "",
        "Command: `.venv/bin/python bench/bench_profile.py " + " ".join(res["argv"]) + "`",
        "",
        machine_line(m),
        f"Load average before: {res['loads'][0]}; after: {res['loads'][1]}. Date: {res['date']}.",
        "",
        "### Where the time of a step goes",
        "",
        "`torch.profiler` over 20 steps of `Trainer.train_step` for `wae-mmd` (vegan's default "
        f"networks, batch 100): {p['ms_per_step']:.0f} ms of CPU time per step, by group:",
        "",
        "| group | share of self CPU time |",
        "|---|---:|",
    ]
    for g, share in sorted(p["grouped"].items(), key=lambda kv: -kv[1]):
        L.append(f"| {g} | {100 * share:.1f}% |")
    L += ["", "Top operators:", "", "| operator | share | calls per step |", "|---|---:|---:|"]
    for name, share, calls in p["rows"]:
        L.append(f"| `{name}` | {100 * share:.1f}% | {calls} |")
    L += [
        "",
        "### vegan's step against the bare loop's (same networks, same math)",
        "",
        "| recipe | vegan ms/step | bare ms/step | vegan / bare (median of rounds) |",
        "|---|---:|---:|---:|",
    ]
    for pair, r in res["vs_bare"].items():
        L.append(f"| {pair} | {r['vegan_ms']:.1f} | {r['bare_ms']:.1f} | {r['ratio']:.3f} |")
    L += [
        "",
        "### Levers (wae-mmd; time of the variant's step / the baseline's, < 1 is faster)",
        "",
        "| lever | baseline ms/step | variant ms/step | variant / baseline |",
        "|---|---:|---:|---:|",
    ]
    for name, r in res["levers"].items():
        L.append(f"| {name} | {r['base_ms']:.1f} | {r['var_ms']:.1f} | {r['ratio']:.3f} |")
    e, s = res["extras"], res["sampling"]
    L += [
        "",
        f"Per-epoch extras: one sample grid + reconstructions picture takes "
        f"{e['pictures_s']:.2f} s and one checkpoint {e['checkpoint_s']:.3f} s, against "
        f"{e['epoch_s']:.1f} s for the 80 steps of an epoch "
        f"({100 * e['pictures_s'] / e['epoch_s']:.1f}% and "
        f"{100 * e['checkpoint_s'] / e['epoch_s']:.1f}%).",
        "",
        f"Sampling 2,000 images: {1000 * s['inference_mode']:.0f} ms under `inference_mode` "
        f"(what `model.sample` uses), {1000 * s['no_grad']:.0f} ms under `no_grad`, "
        f"{1000 * s['grad']:.0f} ms with autograd recording.",
        "",
    ]
    return "\n".join(L)


if __name__ == "__main__":
    main()
