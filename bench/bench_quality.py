"""Time to quality: each library with its own recommended MNIST settings, same wall-clock budget.

    .venv/bin/python bench/bench_quality.py [--budget 480] [--pairs wae-mmd,vae,aae]
    .venv/bin/python bench/bench_quality.py --quick          # 20 s budgets, checks the plumbing

Quality is the Frechet distance in the features of vegan's MNIST classifier
(``vegan-mnist-cnn``) between 2,000 samples from the prior and the 2,000
held-out images of the built-in MNIST, measured at fixed points of training
time (5, 10, 20, 30, 45, 60, 90, 120 s, then every 60 s) up to ``--budget``
seconds. Evaluation pauses the clock.

* pythae: its documented MNIST benchmark configuration
  (``examples/scripts/training.py`` with ``configs/mnist/*.json``): the
  ``Encoder_Conv_AE_MNIST`` / ``Encoder_Conv_VAE_MNIST`` / ``Decoder_Conv_AE_MNIST``
  networks (4 conv layers up to 1024 channels), d_z = 16, batch 100, Adam
  with learning rate 1e-3 (torch's default betas); WAE_MMD: IMQ kernel,
  ``reg_weight`` 1, ``kernel_bandwidth`` 2; VAE: MSE reconstruction; AAE:
  MSE reconstruction, ``adversarial_loss_scale`` 0.5, and the
  ``AdversarialTrainerConfig`` read from the same training file keeps its
  default learning rates (1e-4 for the auto-encoder and the discriminator).
  No evaluation set is passed (the script passes one: its per-epoch
  evaluation pass would count as training time). Clock: a ``TrainingCallback``.
* vegan: ``vegan.fit(recipe, "mnist", ...)`` with the recipe's defaults,
  run in segments with ``time_budget`` and ``resume`` (resuming is exact, so
  this is one run); clock: the training time the loop stores in its
  checkpoints (start-up and the evaluation excluded).

Each contender runs in a fresh process. Writes "## Time to quality" of
BENCHMARKS.md and ``bench/figures/quality.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, machine_line, spawn_child, write_section  # noqa: E402
from _peers import PAIRS, max_rss_mib, mnist_split, pythae_version  # noqa: E402

SECTION = "## Time to quality"
FIGURE = ROOT / "bench" / "figures" / "quality.png"
N_EVAL = 2000


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def marks(budget: float) -> list[float]:
    base = [5, 10, 20, 30, 45, 60, 90, 120]
    out = [t for t in base if t < budget]
    t = 180
    while t < budget:
        out.append(t)
        t += 60
    return [*out, budget]


class FD:
    """FD of images (n, 1, 28, 28) against the held-out split, in vegan-mnist-cnn features."""

    def __init__(self) -> None:
        from vegan.eval.features import mnist_features
        from vegan.eval.frechet import gaussian_moments

        self.net = mnist_features(log=False)
        self.ref = gaussian_moments(self.net(mnist_split("heldout")[:N_EVAL]))

    def __call__(self, samples) -> float:
        from vegan.eval.frechet import frechet_from_moments, gaussian_moments

        return frechet_from_moments(*gaussian_moments(self.net(samples)), *self.ref)


# --------------------------------------------------------------------------- children


def child_pythae(pair: str, o: dict) -> dict:
    import torch
    from pythae.models import (
        VAE,
        WAE_MMD,
        Adversarial_AE,
        Adversarial_AE_Config,
        VAEConfig,
        WAE_MMD_Config,
    )
    from pythae.models.nn.benchmarks.mnist import (
        Decoder_Conv_AE_MNIST,
        Encoder_Conv_AE_MNIST,
        Encoder_Conv_VAE_MNIST,
    )
    from pythae.trainers.training_callbacks import TrainingCallback

    from _peers import pythae_trainer

    shape, d = (1, 28, 28), 16
    if pair == "wae-mmd":
        cfg = WAE_MMD_Config(
            input_dim=shape, latent_dim=d, kernel_choice="imq", reg_weight=1, kernel_bandwidth=2.0
        )
        model = WAE_MMD(cfg, encoder=Encoder_Conv_AE_MNIST(cfg), decoder=Decoder_Conv_AE_MNIST(cfg))
    elif pair == "vae":
        cfg = VAEConfig(input_dim=shape, latent_dim=d, reconstruction_loss="mse")
        model = VAE(cfg, encoder=Encoder_Conv_VAE_MNIST(cfg), decoder=Decoder_Conv_AE_MNIST(cfg))
    else:
        cfg = Adversarial_AE_Config(
            input_dim=shape, latent_dim=d, reconstruction_loss="mse", adversarial_loss_scale=0.5
        )
        model = Adversarial_AE(
            cfg, encoder=Encoder_Conv_VAE_MNIST(cfg), decoder=Decoder_Conv_AE_MNIST(cfg)
        )
    fd = FD()
    todo = marks(o["budget"])
    curve: list[dict] = []

    class Stop(Exception):
        pass

    class Clock(TrainingCallback):
        def on_train_begin(self, training_config, **kw):
            self.t0, self.paused, self.steps = time.perf_counter(), 0.0, 0

        def on_train_step_end(self, training_config, **kw):
            self.steps += 1
            t = time.perf_counter() - self.t0 - self.paused
            if not todo or t < todo[0]:
                return
            while todo and t >= todo[0]:
                todo.pop(0)
            s = time.perf_counter()
            was = model.training
            model.eval()
            with torch.no_grad():
                z = torch.randn(N_EVAL, d, generator=torch.Generator().manual_seed(0))
                x = torch.cat(
                    [model.decoder(z[i : i + 500])["reconstruction"] for i in (0, 500, 1000, 1500)]
                )
            model.train(was)
            curve.append({"seconds": t, "steps": self.steps, "fd": fd(x)})
            print(json.dumps(curve[-1]), file=sys.stderr, flush=True)
            self.paused += time.perf_counter() - s
            if not todo:
                raise Stop

    tmp = tempfile.mkdtemp(prefix="vegan-quality-pythae-")
    kw = {"lr": 1e-3, "betas": (0.9, 0.999)}
    if pair == "aae":  # AdversarialTrainerConfig's own defaults (training_config json has neither)
        kw = {"lr": 1e-4, "adv_lr": 1e-4, "betas": (0.9, 0.999)}
    trainer = pythae_trainer(pair, model, mnist_split("train"), tmp, 100, [Clock()], **kw)
    try:
        trainer.train()
    except Stop:
        pass
    return {"curve": curve, "max_rss_mib": max_rss_mib(), "latent_dim": d}


def child_vegan(pair: str, o: dict) -> dict:
    import torch

    import vegan
    from vegan.train import checkpoint as ckpt

    fd = FD()
    out = Path(tempfile.mkdtemp(prefix="vegan-quality-vegan-")) / "run"
    curve = []
    for t in marks(o["budget"]):
        model, _ = vegan.fit(
            PAIRS[pair]["vegan"],
            "mnist",
            out,
            steps=10**7,
            resume=True,
            progress=False,
            time_budget=t,
            **o.get("sets", {}),
        )
        c = ckpt.latest_checkpoint(out)
        x = model.sample(N_EVAL, generator=torch.Generator().manual_seed(0))
        curve.append({"seconds": c.state["seconds"], "steps": c.step, "fd": fd(x)})
        print(json.dumps(curve[-1]), file=sys.stderr, flush=True)
    cfg = json.loads((out / "run.json").read_text())["config"]
    return {"curve": curve, "max_rss_mib": max_rss_mib(), "config": cfg}


def spawn(lib: str, pair: str, o: dict) -> dict:
    return spawn_child(__file__, lib, pair, o)


# --------------------------------------------------------------------------- report


def first_time(curve: list[dict], level: float) -> float | None:
    """Training seconds at the first evaluation with FD <= level (None if never)."""
    return next((c["seconds"] for c in curve if c["fd"] <= level), None)


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = list(res["runs"])
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.4), squeeze=False)
    for ax, pair in zip(axes[0], pairs):
        for lib, style in (("pythae", "o-"), ("vegan", "s-")):
            c = res["runs"][pair][lib]["curve"]
            ax.plot([p["seconds"] for p in c], [p["fd"] for p in c], style, ms=3, label=lib)
        best = min(p["fd"] for p in res["runs"][pair]["pythae"]["curve"])
        ax.axhline(best, color="grey", lw=0.8, ls="--", label="pythae's best")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training time (s)")
        ax.set_title(f"{PAIRS[pair]['pythae']} / {PAIRS[pair]['vegan']}")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("FD (vegan-mnist-cnn features)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def render(res: dict) -> str:
    m = machine()
    if "pythae" not in m and pythae_version():
        m["pythae"] = pythae_version()
    o = res["opts"]
    L = [
        SECTION,
        "",
        "Command: `.venv/bin/python bench/bench_quality.py " + " ".join(res["argv"]) + "`",
        "",
        machine_line(m),
        f"Load average before: {res['loads'][0]}; after: {res['loads'][1]}. "
        f"Date: {res['date']}. Budget: {o['budget']:.0f} s of training per run.",
        "",
        "Quality: Frechet distance (FD) in `vegan-mnist-cnn` features between 2,000 prior "
        "samples and the 2,000 held-out images (real train vs held-out: about 2.8), measured "
        "at 5, 10, 20, 30, 45, 60, 90, 120 s of training and every minute after (evaluation "
        "pauses the clock). pythae runs its documented MNIST benchmark configuration "
        "(benchmark conv nets up to 1024 channels, d_z = 16, batch 100, lr 1e-3; the AAE's "
        "trainer keeps its default 1e-4), vegan its recipe defaults (conv nets of width 32, "
        "d_z = 8, batch 100, lr 1e-3, Adam beta1 0.5; WAE-MMD lambda 10). One run each.",
        "",
        "| pair (pythae / vegan) | pythae best FD | at s (steps) | vegan best FD | at s "
        "(steps) | vegan s to pythae's best | vegan / pythae time | target (<= 0.5) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for pair, r in res["runs"].items():
        pc, vc = r["pythae"]["curve"], r["vegan"]["curve"]
        pb = min(pc, key=lambda c: c["fd"])
        vb = min(vc, key=lambda c: c["fd"])
        tv = first_time(vc, pb["fd"])
        tp = first_time(pc, pb["fd"])
        ratio = tv / tp if tv is not None else None
        verdict = "met" if ratio is not None and ratio <= 0.5 else "NOT met"
        L.append(
            f"| {PAIRS[pair]['pythae']} / {PAIRS[pair]['vegan']} | {pb['fd']:.1f} | "
            f"{pb['seconds']:.0f} ({pb['steps']}) | {vb['fd']:.1f} | {vb['seconds']:.0f} "
            f"({vb['steps']}) | {'-' if tv is None else f'{tv:.0f}'} | "
            f"{'-' if ratio is None else f'{ratio:.3f}'} | {verdict} |"
        )
    L += ["", "FD at each evaluation (training seconds: FD):", ""]
    for pair, r in res["runs"].items():
        for lib in ("pythae", "vegan"):
            pts = ", ".join(f"{c['seconds']:.0f}: {c['fd']:.1f}" for c in r[lib]["curve"])
            L.append(f"- {PAIRS[pair][lib]} ({lib}): {pts}")
    rel = FIGURE.relative_to(ROOT).as_posix()
    L += ["", f"![FD against training time]({rel})", ""]
    return "\n".join(L)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pairs", default="wae-mmd,vae,aae")
    ap.add_argument("--budget", type=float, default=480.0, help="training seconds per run")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--libs", default="pythae,vegan")
    ap.add_argument("--set", action="append", default=[], help="vegan option key=value")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--json", help="also save the raw results here")
    ap.add_argument("--from-json", help="re-render from saved results")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--pair", help=argparse.SUPPRESS)
    ap.add_argument("--opts", default="{}", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        fn = child_pythae if a.child == "pythae" else child_vegan
        print(json.dumps(fn(a.pair, json.loads(a.opts))))
        return
    if a.from_json:
        res = json.loads(Path(a.from_json).read_text())
    else:
        if a.quick:
            a.budget = 20.0
        sets = dict(s.split("=", 1) for s in a.set)
        o = {"budget": a.budget, "threads": a.threads, "sets": sets}
        res = {
            "opts": o,
            "argv": sys.argv[1:],
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "runs": {},
            "loads": [loadavg()],
        }
        for pair in a.pairs.split(","):
            res["runs"][pair] = {}
            for lib in a.libs.split(","):
                r = spawn(lib, pair, o)
                res["runs"][pair][lib] = r
                best = min(c["fd"] for c in r["curve"])
                print(f"{pair} {lib}: best FD {best:.1f} (load {loadavg()})", flush=True)
        res["loads"].append(loadavg())
        if a.json:
            Path(a.json).write_text(json.dumps(res, indent=1))
    if not all({"pythae", "vegan"} <= set(r) for r in res["runs"].values()):
        print(json.dumps(res["runs"], indent=1))
        return
    text = render(res)
    print(text)
    if not a.no_write and not a.quick:
        plot(res, FIGURE)
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
