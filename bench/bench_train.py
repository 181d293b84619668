"""Training throughput: vegan against pythae and a bare PyTorch loop, same networks, same math.

    .venv/bin/python bench/bench_train.py                 # 3 pairs x 3 contenders x 3 repeats
    .venv/bin/python bench/bench_train.py --quick         # tiny settings, checks the plumbing
    .venv/bin/python bench/bench_train.py --nets pythae   # pythae's MNIST benchmark networks
    .venv/bin/python bench/bench_train.py --compile       # torch.compile the shared networks

Pairs: pythae ``WAE_MMD`` / vegan ``wae-mmd``, pythae ``VAE`` / vegan ``vae``,
pythae ``Adversarial_AE`` / vegan ``aae``, each against a hand-written loop
doing the same math (:class:`_peers.BareLoop`). The networks are built once
per process with the same seed and handed to all three: vegan through
``vegan.fit(..., nets=...)``, pythae wrapped in its ``BaseEncoder`` /
``BaseDecoder`` / ``BaseDiscriminator`` interfaces. Before timing, the first
loss of the three on one batch with the same noise is checked to agree
(``--check``).

Each measurement is a fresh process (so its peak memory is its own) that
trains ``--warmup + --steps + --tail`` steps on the built-in MNIST (8,000
images, batch 100, so 80 steps per epoch) through the library's own
training loop; throughput is the images per second between step
``--warmup`` and step ``--warmup + --steps`` (epoch boundaries included, with
whatever each loop does there). vegan's clock is the ``time`` its loop logs
in ``metrics.jsonl``; pythae's a ``TrainingCallback`` at each batch end.
Contenders alternate in a rotating order over ``--repeats`` rounds; the
tables give medians. Writes "## Training throughput" and "## Memory" of
BENCHMARKS.md (``--section-suffix`` for other network sets).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, machine_line, median, spawn_child, write_section  # noqa: E402
from _peers import (  # noqa: E402
    PAIRS,
    BareLoop,
    StepClock,
    batches,
    build_nets,
    check_same_loss,
    compile_nets,
    max_rss_mib,
    mnist_split,
    pythae_model,
    pythae_trainer,
    pythae_version,
    vegan_options,
)

LIBS = ("bare", "vegan", "pythae")
PER_EPOCH = 80  # 8,000 images / batch 100


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


# --------------------------------------------------------------------------- children


def _nets(pair: str, o: dict) -> dict:

    nets = build_nets(pair, o["nets"], o["width"])
    if o.get("compile"):
        nets = compile_nets(nets)
    return nets


def child(lib: str, pair: str, o: dict) -> dict:
    import torch

    if o.get("threads"):
        torch.set_num_threads(o["threads"])
    w, s = o["warmup"], o["steps"]
    total = w + s + o["tail"]
    out = {"lib": lib, "pair": pair}
    tmp = tempfile.mkdtemp(prefix=f"vegan-bench-{lib}-")
    nets = _nets(pair, o)
    if lib == "bare":
        x = mnist_split("train")
        loop = BareLoop(pair, nets)
        times = {}
        stream = batches(x, 100)
        for i in range(1, total + 1):
            loop.step(next(stream))
            if i in (w, w + s):
                times[i] = time.perf_counter()
        t0, t1 = times[w], times[w + s]
    elif lib == "vegan":
        import vegan

        vegan.fit(
            PAIRS[pair]["vegan"],
            "mnist",
            Path(tmp) / "run",
            steps=total,
            nets=nets,
            overwrite=True,
            log_every=o["log_every"],
            samples_every=0,
            seed=0,
            **vegan_options(pair),
        )
        rec = {}
        for line in (Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines():
            r = json.loads(line)
            if "time" in r:
                rec[r["step"]] = r["time"]
        t0, t1 = rec[w], rec[w + s]
    elif lib == "pythae":
        x = mnist_split("train")
        model = pythae_model(pair, nets)
        clock = StepClock.make((w, w + s))
        trainer = pythae_trainer(
            pair, model, x, tmp, epochs=math.ceil(total / PER_EPOCH), callbacks=[clock]
        )
        trainer.train()
        t0, t1 = clock.times[w], clock.times[w + s]
    else:
        raise SystemExit(f"unknown lib {lib}")
    out["seconds"] = t1 - t0
    out["images_per_s"] = 100 * s / (t1 - t0)
    out["max_rss_mib"] = max_rss_mib()
    out["threads"] = torch.get_num_threads()
    return out


def spawn(lib: str, pair: str, o: dict) -> dict:
    return spawn_child(__file__, lib, pair, o)


# --------------------------------------------------------------------------- report


def render(res: dict, a: argparse.Namespace, m: dict, loads: tuple[str, str]) -> tuple[str, str]:
    o = res["opts"]
    nets = (
        f"vegan's default conv nets (width {o['width']}, the `wae-mmd` defaults)"
        if o["nets"] == "vegan"
        else "pythae's MNIST benchmark nets (Encoder/Decoder_Conv_(V)AE_MNIST, up to 1024 channels)"
    )
    cmd = " ".join(["`.venv/bin/python bench/bench_train.py", *res["argv"]]).strip() + "`"
    head = [
        f"Command: {cmd}",
        "",
        machine_line(m),
        f"Load average (1, 5, 15 min) before: {loads[0]}; after: {loads[1]}. "
        f"Date: {res['date']}. No GPU on this machine: CPU figures only.",
        "",
        f"Networks: {nets}, d_z = 8, built once per process with the same seed and handed "
        "to all three contenders. Batch 100 on the built-in MNIST (8,000 images, 80 steps "
        f"per epoch); steps {o['warmup']} to {o['warmup'] + o['steps']} are timed "
        f"({o['steps'] // PER_EPOCH} epochs, epoch ends included) after {o['warmup']} "
        f"warm-up steps; each run is a fresh process; median of {o['repeats']} runs "
        "per contender, contenders alternating."
        + (" Networks compiled with `torch.compile` (default mode)." if o.get("compile") else ""),
        "",
    ]
    rows = [
        "| pair (pythae / vegan) | bare loop img/s | vegan img/s | pythae img/s "
        "| vegan / bare | vegan / pythae |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    mem = [
        "| pair | bare loop MiB | vegan MiB | pythae MiB | vegan / pythae |",
        "|---|---:|---:|---:|---:|",
    ]
    verdict = []
    for pair, runs in res["runs"].items():
        ips = {lib: median([r["images_per_s"] for r in runs[lib]]) for lib in LIBS}
        rss = {lib: median([r["max_rss_mib"] for r in runs[lib]]) for lib in LIBS}
        spread = {}
        for lib in LIBS:
            v = [r["images_per_s"] for r in runs[lib]]
            spread[lib] = (min(v), max(v))
        name = f"{PAIRS[pair]['pythae']} / {PAIRS[pair]['vegan']}"
        rows.append(
            f"| {name} | {ips['bare']:.0f} ({spread['bare'][0]:.0f}-{spread['bare'][1]:.0f}) "
            f"| {ips['vegan']:.0f} ({spread['vegan'][0]:.0f}-{spread['vegan'][1]:.0f}) "
            f"| {ips['pythae']:.0f} ({spread['pythae'][0]:.0f}-{spread['pythae'][1]:.0f}) "
            f"| {ips['vegan'] / ips['bare']:.3f} | {ips['vegan'] / ips['pythae']:.2f} |"
        )
        mem.append(
            f"| {name} | {rss['bare']:.0f} | {rss['vegan']:.0f} | {rss['pythae']:.0f} "
            f"| {rss['vegan'] / rss['pythae']:.2f} |"
        )
        ok_bare = ips["vegan"] >= 0.95 * ips["bare"]
        ok_py = ips["vegan"] >= ips["pythae"]
        verdict.append(
            f"- {PAIRS[pair]['vegan']}: vegan at {100 * ips['vegan'] / ips['bare']:.1f}% of the "
            f"bare loop ({'met' if ok_bare else 'NOT met'}: within 5%), "
            f"{ips['vegan'] / ips['pythae']:.2f}x pythae ({'met' if ok_py else 'NOT met'}: "
            "never slower)."
        )
    throughput = [
        *head,
        "Images per second (median, range over runs in brackets):",
        "",
        *rows,
        "",
        "Targets (issue 7: within 5% of the bare loop, never slower than pythae):",
        "",
        *verdict,
        "",
        "Same math checked before timing: on one batch with the same seed the three give "
        "the same first loss (to float rounding): "
        + "; ".join(
            f"{p}: vegan {c['vegan']:.6g}, bare {c['bare']:.6g}, pythae {c['pythae']:.6g}"
            for p, c in res.get("check", {}).items()
        )
        + ". Settings: Adam lr 1e-3, betas (0.5, 0.999) everywhere; WAE-MMD: 0.05 |x - y|^2 + "
        "10 MMD (IMQ, scales 0.1 to 10, C = 2 d_z); VAE: Bernoulli likelihood + KL; AAE: "
        "Gaussian encoder, Bernoulli likelihood + 0.5 (-log D(z)), adversary MLP 4 x 512 "
        "with lr 5e-4. vegan runs through `vegan.fit` with its defaults (checkpoint every "
        "epoch, the per-step finiteness check, logging every "
        f"{o['log_every']} steps) except `samples_every=0` (sample grids only at the end; "
        "pythae's default draws none); pythae through its `BaseTrainer` / "
        "`AdversarialTrainer` (no evaluation set, no checkpoints: its defaults). The bare "
        "loop slices batches from the in-memory tensor and uses the same Adam flags as "
        "vegan.",
    ]
    memory = [
        "Peak resident memory (max RSS, `getrusage`) of the throughput runs above: each is "
        f"one process training {o['warmup'] + o['steps'] + o['tail']} steps (imports, data, "
        "networks, optimizer state, the library's per-epoch work and its end of run "
        "included). Median over the runs.",
        "",
        *mem,
    ]
    return "\n".join(throughput), "\n".join(memory)


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pairs", default="wae-mmd,vae,aae")
    ap.add_argument("--nets", default="vegan", choices=("vegan", "pythae"))
    ap.add_argument("--width", type=int, default=32, help="width of vegan's conv nets")
    ap.add_argument("--warmup", type=int, default=40, help="untimed steps first")
    ap.add_argument("--steps", type=int, default=240, help="timed steps")
    ap.add_argument("--tail", type=int, default=40, help="untimed steps after the window")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the shared networks")
    ap.add_argument("--quick", action="store_true", help="tiny run to check the plumbing")
    ap.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    ap.add_argument("--json", help="also save the raw results here")
    ap.add_argument("--from-json", help="re-render BENCHMARKS.md from saved results")
    ap.add_argument("--section-suffix", default="", help="e.g. ' (pythae nets)'")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--pair", help=argparse.SUPPRESS)
    ap.add_argument("--opts", default="{}", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.pair, json.loads(a.opts))))
        return
    loads = [loadavg()]
    if a.from_json:
        res = json.loads(Path(a.from_json).read_text())
        loads = res["loads"]
    else:
        if a.quick:
            a.warmup, a.steps, a.tail, a.repeats, a.log_every = 4, 8, 4, 1, 4
        o = {
            "nets": a.nets,
            "width": a.width,
            "warmup": a.warmup,
            "steps": a.steps,
            "tail": a.tail,
            "repeats": a.repeats,
            "threads": a.threads,
            "compile": a.compile,
            "log_every": getattr(a, "log_every", 40),
        }
        if (o["warmup"] % o["log_every"]) or (o["steps"] % o["log_every"]):
            raise SystemExit(f"--warmup and --steps must be multiples of {o['log_every']}")
        pairs = a.pairs.split(",")
        res = {
            "opts": o,
            "argv": sys.argv[1:],
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "runs": {},
            "check": {},
        }
        for pair in pairs:
            c = check_same_loss(pair, a.nets, a.width)
            res["check"][pair] = c
            print(f"{pair}: first losses {c}", flush=True)
            # vegan and the bare loop: the same float operations. pythae takes the
            # BCE of sigmoid outputs (clamped logs where float32 sigmoids saturate,
            # as pythae's big decoder does at initialization), not of logits.
            if abs(c["vegan"] - c["bare"]) > 1e-5 * abs(c["bare"]) or abs(
                c["vegan"] - c["pythae"]
            ) > 2e-2 * abs(c["bare"]):
                raise SystemExit(f"{pair}: the contenders do not compute the same loss: {c}")
            runs: dict = {lib: [] for lib in LIBS}
            for r in range(o["repeats"]):
                order = LIBS[r % 3 :] + LIBS[: r % 3]
                for lib in order:
                    out = spawn(lib, pair, o)
                    runs[lib].append(out)
                    print(
                        f"{pair} {lib}: {out['images_per_s']:.0f} img/s, "
                        f"{out['max_rss_mib']:.0f} MiB (load {loadavg()})",
                        flush=True,
                    )
            res["runs"][pair] = runs
        loads.append(loadavg())
        res["loads"] = loads
        if a.json:
            Path(a.json).write_text(json.dumps(res, indent=1))
    m = machine()
    if "pythae" not in m and pythae_version():
        m["pythae"] = pythae_version()
    throughput, memory = render(res, a, m, tuple(res["loads"]))
    print(throughput + "\n\n" + memory)
    if not a.no_write and not a.quick:
        for title, text in (("## Training throughput", throughput), ("## Memory", memory)):
            title += a.section_suffix
            write_section(title, f"{title}\n\n{text}\n")


if __name__ == "__main__":
    main()
