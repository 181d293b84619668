"""Data-parallel speed-up: one process against torchrun with 2 processes, same global batch.

    .venv/bin/python bench/bench_distributed.py [--steps 150] [--repeats 3]

Trains ``wae-mmd`` on the built-in MNIST (conv nets, global batch 100) and on
``toy:8gaussians`` (MLP, batch 100) for ``--steps`` steps, and reads the
training time the run records in its last checkpoint (``seconds``: the loop
only, without start-up). Rows: 1 process with 1 and with 2 intra-op threads;
2 processes (torchrun, gloo) with 1 thread each. Writes the "## Distributed"
section of BENCHMARKS.md. GPU rows need a machine with GPUs (nccl).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, machine_line, median, write_section  # noqa: E402

SECTION = "## Distributed"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(data: str, steps: int, procs: int, threads: int) -> float:
    out = Path(tempfile.mkdtemp(prefix="vegan-dist-")) / "run"
    args = [
        "train",
        "wae-mmd",
        "--data",
        data,
        "--out",
        str(out),
        "--steps",
        str(steps),
        "--no-progress",
        "--set",
        "samples_every=0",
        "--set",
        f"log_every={steps}",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    if procs == 1:
        cmd = [sys.executable, "-m", "vegan", *args]
    else:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={procs}",
            "--standalone",
            "-m",
            "vegan",
            *args,
        ]
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    last = sorted((out / "checkpoints").glob("step-*.json"))[-1]
    return float(json.loads(last.read_text())["seconds"])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    rows = []
    for data in ("mnist", "toy:8gaussians"):
        base = None
        for procs, threads in ((1, 1), (1, 2), (2, 1)):
            secs = median([run(data, a.steps, procs, threads) for _ in range(a.repeats)])
            base = base or secs
            rows.append((data, procs, threads, secs, a.steps / secs, base / secs))
            print(rows[-1], flush=True)
    m = machine()
    lines = [
        SECTION,
        "",
        "Command: `.venv/bin/python bench/bench_distributed.py "
        f"--steps {a.steps} --repeats {a.repeats}`",
        "",
        machine_line(m),
        "",
        f"`wae-mmd`, global batch 100, {a.steps} steps, median of {a.repeats} runs; "
        "time is the training loop's own clock (start-up excluded).",
        "",
        "| data | processes | threads each | seconds | steps/s | speed-up vs 1x1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {d} | {p} | {t} | {s:.2f} | {r:.1f} | {x:.2f} |" for d, p, t, s, r, x in rows]
    lines += [
        "",
        "On 2 cores two processes cannot beat one process using both cores: "
        "the rows measure the cost of the collectives (gradient all-reduce, the "
        "gathered MMD codes). No GPU rows: no GPU was available.",
    ]
    write_section(SECTION, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
