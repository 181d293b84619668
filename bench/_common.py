"""Shared pieces of the benchmarks: machine facts, medians, and BENCHMARKS.md sections."""

from __future__ import annotations

import importlib
import os
import platform
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "BENCHMARKS.md"


def machine() -> dict:
    """nproc, RAM, CPU model, library versions: the facts every table is stated with."""
    cpu, mem = "unknown", 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    import numpy
    import torch

    facts = {
        "nproc": os.cpu_count(),
        "ram_gib": round(mem / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "numpy": numpy.__version__,
    }
    for name in ("ot", "pythae", "geomloss"):
        try:
            facts[name if name != "ot" else "pot"] = importlib.import_module(name).__version__
        except Exception:  # noqa: BLE001 - optional peers
            pass
    return facts


def machine_line(m: dict) -> str:
    libs = ", ".join(f"{k} {m[k]}" for k in ("torch", "pot", "pythae", "geomloss") if k in m)
    return (
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, "
        f"Python {m['python']}, {libs}, {m['torch_threads']} torch threads."
    )


def median(values: list[float]) -> float:
    return statistics.median(values)


def write_section(title: str, text: str, path: Path = BENCHMARKS) -> None:
    """Replace (or append) the section ``title`` ("## ...") of BENCHMARKS.md, atomically."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = old.rstrip("\n").splitlines()
    body = text.rstrip("\n").splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == title), None)
    if start is None:
        lines = [*lines, "", *body]
    else:
        end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith("## ")), None)
        rest = [] if end is None else ["", *lines[end:]]
        lines = [*lines[:start], *body, *rest]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)


def spawn_child(script: str, lib: str, pair: str, o: dict) -> dict:
    """Run ``script --child LIB --pair PAIR --opts JSON`` in a fresh process; its last stdout line.

    Each contender of a benchmark runs in its own process (its own peak memory,
    no state shared with the others); ``o["threads"]`` sets OMP_NUM_THREADS.
    """
    import json
    import subprocess
    import sys

    env = dict(os.environ)
    if o.get("threads"):
        env["OMP_NUM_THREADS"] = str(o["threads"])
    cmd = [sys.executable, script, "--child", lib, "--pair", pair, "--opts", json.dumps(o)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{lib}/{pair} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])
