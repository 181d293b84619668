"""Run every benchmark (what ``make bench`` does); each writes its own section of BENCHMARKS.md.

    .venv/bin/python bench/run_all.py [--quick] [--only train,quality,...] [--skip ot]

Benchmarks, in order: ``train`` (throughput and memory vs pythae and a bare
loop), ``profile`` (where the time goes, levers), ``scaling`` (batch size,
exact W vs n), ``quality`` (time to quality vs pythae), ``ot`` (exact,
Sinkhorn and sliced transport vs POT and GeomLoss), ``distributed``.
Timings taken on a busy machine are not worth much: the script prints the
load average before each benchmark and warns when it is above 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BENCHMARKS = {
    "train": ["bench_train.py"],
    "profile": ["bench_profile.py"],
    "scaling": ["bench_scaling.py"],
    "quality": ["bench_quality.py"],
    "ot": ["bench_ot.py"],
    "distributed": ["bench_distributed.py"],
}
QUICK = {  # small settings that exercise every script without writing BENCHMARKS.md
    "train": ["--quick", "--no-write"],
    "profile": ["--quick", "--no-write"],
    "scaling": ["--quick", "--no-write"],
    "quality": ["--quick", "--no-write", "--pairs", "wae-mmd"],
    "ot": ["--quick", "--no-write"],
    "distributed": None,  # no quick mode: skipped by --quick
}


def load1() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError):
        return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="tiny settings, nothing written")
    ap.add_argument("--only", help="comma-separated subset of " + ", ".join(BENCHMARKS))
    ap.add_argument("--skip", default="", help="comma-separated benchmarks to leave out")
    a = ap.parse_args()
    names = a.only.split(",") if a.only else list(BENCHMARKS)
    names = [n for n in names if n not in a.skip.split(",")]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    failed = []
    for name in names:
        extra = QUICK[name] if a.quick else []
        if extra is None:
            print(f"== {name}: skipped (no quick mode)", flush=True)
            continue
        load = load1()
        note = "  (busy machine: timings will be noisy)" if load > 1.0 else ""
        print(f"== {name} (load average {load:.2f}){note}", flush=True)
        t = time.perf_counter()
        cmd = [sys.executable, str(HERE / BENCHMARKS[name][0]), *extra]
        rc = subprocess.run(cmd, cwd=HERE.parent, env=dict(os.environ)).returncode
        print(f"== {name}: exit {rc} after {time.perf_counter() - t:.0f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
