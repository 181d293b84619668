"""Mixed precision on the CPU: bf16 against float32 at equal steps, and no divergence anywhere.

Three measurements, each through the user's path (``vegan train``, then
``vegan eval RUN --json``), every run a fresh process:

* **MNIST**: ``vegan train RECIPE --data mnist --steps 600 --precision P`` for
  wae-mmd and gan, P = 32 and bf16, the two precisions alternating; the step
  time is the loop's training time (the ``time`` field of the last line of
  metrics.jsonl, checkpoints included) over the steps, and the quality is
  the feature FD of ``vegan eval`` (vegan-mnist-cnn features, n = 2,000
  held-out images, seed 0).
* **float16 on the CPU**: a few steps of wae-mmd on MNIST at 16 and bf16, to
  say how slow PyTorch's CPU float16 kernels are (16 is meant for CUDA).
* **toy**: every recipe, ``--data toy:8gaussians --steps 400`` at bf16 and 32;
  every logged loss must be finite (a line every 20 steps), and ``vegan
  eval --n 500`` gives W2^2 to the held-out points and the modes covered.

    python bench/bench_precision.py            # writes "## Mixed precision" of BENCHMARKS.md
    python bench/bench_precision.py --quick    # small runs, prints only
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, machine_line, write_section  # noqa: E402

RECIPES = (
    "ae", "vae", "wae-mmd", "swae", "sinkhorn-wae", "wae-gan", "aae", "avb", "gan", "wgan",
    "wgan-gp",
)  # fmt: skip
COMMON = ["--no-progress", "--set", "samples_every=0", "--threads", "1"]


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def bf16_flags() -> str:
    """The bfloat16 instructions the CPU reports (/proc/cpuinfo), e.g. "avx512_bf16, amx_bf16"."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags = next(
        (ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), []
    )
    found = [f for f in ("avx512_bf16", "amx_bf16", "avx512_fp16") if f in flags]
    return ", ".join(found) or "none"


def train(recipe: str, data: str, steps: int, precision: str, out: Path, log_every: int) -> dict:
    """Run ``vegan train``; the training seconds, the logged lines and the command."""
    cmd = [
        "vegan", "train", recipe, "--data", data, "--steps", str(steps), "--precision",
        precision, *COMMON, "--set", f"log_every={log_every}", "--out", str(out),
    ]  # fmt: skip
    subprocess.run([sys.executable, "-m", *cmd], check=True, stdout=subprocess.DEVNULL)
    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [v for line in lines for k, v in line.items() if "/" in k and not k.endswith("/lr")]
    return {
        "seconds": float(lines[-1]["time"]),
        "finite": bool(losses) and all(math.isfinite(v) for v in losses),
        "n_losses": len(losses),
        "command": " ".join(cmd[:-2]),
    }


def evaluate(run: Path, n: int | None = None) -> dict:
    cmd = [sys.executable, "-m", "vegan", "eval", str(run), "--json", "--no-save"]
    if n:
        cmd += ["--n", str(n)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def mnist(steps: int, tmp: Path) -> tuple[list[str], list[dict]]:
    rows = []
    for recipe in ("wae-mmd", "gan"):
        for precision in ("32", "bf16") if recipe == "wae-mmd" else ("bf16", "32"):
            run = tmp / f"mnist-{recipe}-{precision}"
            t = train(recipe, "mnist", steps, precision, run, 100)
            e = evaluate(run)
            rows.append({"recipe": recipe, "amp": precision, **t, "eval": e})
            print(recipe, precision, round(t["seconds"], 1), "s", "FD", e.get("fd_mnist_cnn"))
    lines = [
        "| recipe | precision | steps | ms / step | FD (vegan-mnist-cnn) | precision (k=3) "
        "| recall | losses finite |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['recipe']} | {r['amp']} | {steps} | {1000 * r['seconds'] / steps:.0f} "
            f"| {r['eval']['fd_mnist_cnn']:.1f} | {r['eval']['precision']:.3f} "
            f"| {r['eval']['recall']:.3f} "
            f"| {'yes' if r['finite'] else 'NO'} |"
        )
    lines.append("")
    for recipe in ("wae-mmd", "gan"):
        by = {r["amp"]: r for r in rows if r["recipe"] == recipe}
        time_ratio = by["bf16"]["seconds"] / by["32"]["seconds"]
        fd_b, fd_f = by["bf16"]["eval"]["fd_mnist_cnn"], by["32"]["eval"]["fd_mnist_cnn"]
        lines.append(
            f"- {recipe}: bf16 / float32 step time {time_ratio:.2f}, FD {fd_b / fd_f:.2f} "
            f"({fd_b:.1f} against {fd_f:.1f})."
        )
    return lines, rows


def half_on_cpu(steps: int, tmp: Path) -> list[str]:
    seconds = {}
    for precision in ("bf16", "16"):
        run = tmp / f"half-{precision}"
        seconds[precision] = train("wae-mmd", "mnist", steps, precision, run, 1)["seconds"]
    ratio = seconds["16"] / seconds["bf16"]
    print("fp16 on cpu", seconds, round(ratio, 1))
    return [
        f"float16 on the CPU (`vegan train wae-mmd --data mnist --steps {steps} --precision 16`,"
        f" same flags): {1000 * seconds['16'] / steps:.0f} ms per step against "
        f"{1000 * seconds['bf16'] / steps:.0f} ms at bf16, {ratio:.0f}x slower: PyTorch's CPU "
        "float16 kernels are not fast ones, so `vegan train` warns and recommends bf16 on the "
        "CPU. precision=16 with its GradScaler is for CUDA GPUs and was not measured here "
        "(no GPU on this machine).",
    ]


def toy(steps: int, tmp: Path) -> list[str]:
    lines = [
        "| recipe | bf16 losses finite | bf16 ms / step | float32 ms / step | bf16 / float32 "
        "| W2^2 bf16 | W2^2 float32 | modes bf16 | modes float32 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    bad = []
    for i, recipe in enumerate(RECIPES):
        got = {}
        for precision in ("bf16", "32") if i % 2 == 0 else ("32", "bf16"):
            run = tmp / f"toy-{recipe}-{precision}"
            t = train(recipe, "toy:8gaussians", steps, precision, run, 20)
            got[precision] = {**t, "eval": evaluate(run, n=500)}
        b, f = got["bf16"], got["32"]
        if not (b["finite"] and f["finite"]):
            bad.append(recipe)
        lines.append(
            f"| {recipe} | {'yes' if b['finite'] else 'NO'} ({b['n_losses']} values) "
            f"| {1000 * b['seconds'] / steps:.1f} | {1000 * f['seconds'] / steps:.1f} "
            f"| {b['seconds'] / f['seconds']:.2f} | {b['eval']['w2sq']:.3f} "
            f"| {f['eval']['w2sq']:.3f} | {b['eval']['modes_covered']:.0f}/8 "
            f"| {f['eval']['modes_covered']:.0f}/8 |"
        )
        print(recipe, "finite", b["finite"], f["finite"], b["eval"]["w2sq"], f["eval"]["w2sq"])
    lines += [
        "",
        "Divergence: "
        + (
            "none; every logged loss of every recipe is finite at bf16 (and at float32)."
            if not bad
            else f"non-finite losses in {', '.join(bad)}."
        ),
        "",
        "One run per precision and recipe (seed 0). 400 steps leave the adversarial recipes "
        "far from converged, and another arithmetic puts a run on another trajectory, so "
        "their W2^2 differ between the precisions in either direction: these rows check "
        "that nothing diverges; the MNIST rows above compare quality.",
    ]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small runs, no file written")
    args = ap.parse_args()
    mnist_steps, toy_steps, half_steps = (20, 40, 2) if args.quick else (600, 400, 4)
    m = machine()
    start, load0 = time.strftime("%Y-%m-%d %H:%M"), _load()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        mnist_lines, _ = mnist(mnist_steps, tmp)
        half_lines = half_on_cpu(half_steps, tmp)
        toy_lines = toy(toy_steps, tmp)
    load1 = _load()
    text = "\n".join(
        [
            "## Mixed precision",
            "",
            "Command: `.venv/bin/python bench/bench_precision.py`",
            "",
            machine_line(m)
            + f" bfloat16/float16 instructions the CPU reports: {bf16_flags()}."
            + " Every run with `--threads 1`.",
            f"Date: {start}. Load average (1, 5, 15 min) before: {load0}; after: {load1}: "
            "other jobs shared the 2 cores, so the times carry their noise (the two "
            "precisions of a recipe alternate, which spreads it). No GPU on this machine.",
            "",
            f"### MNIST, {mnist_steps} steps, bf16 against float32",
            "",
            f"`vegan train RECIPE --data mnist --steps {mnist_steps} --precision P "
            f"{' '.join(COMMON)} --set log_every=100`, then `vegan eval RUN --json` "
            "(n = 2,000 held-out images, seed 0). One run per row (seed 0).",
            "",
            *mnist_lines,
            "",
            *half_lines,
            "",
            f"### Every recipe on toy:8gaussians, {toy_steps} steps",
            "",
            f"`vegan train RECIPE --data toy:8gaussians --steps {toy_steps} --precision P "
            f"{' '.join(COMMON)} --set log_every=20`, then `vegan eval RUN --json --n 500` "
            "(W2^2 between 500 samples and 500 held-out points; modes within 3 standard "
            "deviations).",
            "",
            *toy_lines,
        ]
    )
    print(text)
    if not args.quick:
        write_section("## Mixed precision", text)


if __name__ == "__main__":
    main()
