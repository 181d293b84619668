"""Data at scale: the peak memory of training on a 2.4 GB uint8 .npy, and images per second by path.

(a) Memory: ``vegan train wae-mmd`` on a 200,000 x 3 x 64 x 64 uint8 ``.npy``
(2.4 GB, memory-mapped) against the same run on its first 2,000 images: the
peak resident memory of each training process (``os.wait4``'s ``ru_maxrss``,
the same figure as ``/usr/bin/time -v``'s "Maximum resident set size").
Target: under 1.5 GB more on the large file.

(b) Speed: images per second of the training loop (``steps_per_s`` of
metrics.jsonl times the batch, the first logged interval left out as
warm-up) on the same 20,000 images held three ways: a memory-mapped
``.npy`` (streamed), an ``.npz`` (read whole into memory: the in-memory
path) and a folder of PNG files (decoded by Pillow in ``num_workers``
processes). Target: memory-mapped >= 0.95x in memory.

Runs alternate A B A B so that drift of the machine's speed spreads evenly;
medians are reported. The data are random uint8 pixels (a worst case for PNG
decoding: incompressible), made with numpy in chunks through
``np.lib.format.open_memmap`` under ``--dir`` (default /tmp/vegan-bench) and
deleted at the end unless ``--keep``.

    OMP_NUM_THREADS=1 python bench/bench_data.py            # writes BENCHMARKS.md
    OMP_NUM_THREADS=1 python bench/bench_data.py --quick    # small sizes, prints only
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, machine_line, median, write_section  # noqa: E402

#: Recipe options of every run: a small conv net, so that reading data weighs as much as it can.
MODEL = ["--set", "width=16", "--set", "latent_dim=16"]
QUIET = ["--no-progress", "--set", "samples_every=0", "--set", "eval_every=0"]


def make_npy(path: Path, n: int, chunk: int = 5000) -> None:
    """n random (3, 64, 64) uint8 images, written through a memory map in chunks."""
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, 3, 64, 64))
    for s in range(0, n, chunk):
        rng = np.random.default_rng(s)
        arr[s : s + chunk] = rng.integers(
            0, 256, size=(min(chunk, n - s), 3, 64, 64), dtype=np.uint8
        )
    arr.flush()
    del arr


def make_others(big: Path, folder: Path, n_small: int, n_speed: int) -> dict[str, Path]:
    """The first images of ``big`` as a small .npy, a speed .npy, the same as .npz and as PNGs."""
    from PIL import Image

    src = np.load(big, mmap_mode="r")
    out = {"small": folder / "small.npy", "speed": folder / "speed.npy"}
    np.save(out["small"], np.asarray(src[:n_small]))
    np.save(out["speed"], np.asarray(src[:n_speed]))
    out["speed_npz"] = folder / "speed.npz"
    np.savez(out["speed_npz"], x=np.asarray(src[:n_speed]))
    pngs = folder / "pngs"
    pngs.mkdir(exist_ok=True)
    for i in range(n_speed):
        Image.fromarray(np.ascontiguousarray(src[i].transpose(1, 2, 0))).save(
            pngs / f"{i:06d}.png", compress_level=1
        )
    out["pngs"] = pngs
    return out


def train(data: Path, run: Path, steps: int, batch: int, extra: list[str]) -> dict:
    """One ``vegan train`` process: its peak RSS (bytes), wall seconds and images/s of the loop."""
    shutil.rmtree(run, ignore_errors=True)
    cmd = [
        sys.executable, "-m", "vegan", "train", "wae-mmd", "--data", str(data), "--out", str(run),
        "--steps", str(steps), "--set", f"batch_size={batch}", "--set", "log_every=10",
        *MODEL, *QUIET, *extra,
    ]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    lines = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    rates = [r["steps_per_s"] for r in lines if "steps_per_s" in r][1:]  # the first: warm-up
    return {
        "rss": usage.ru_maxrss * 1024,
        "wall": wall,
        "images_per_s": median(rates) * batch if rates else float("nan"),
    }


def pairs(a: tuple, b: tuple, rounds: int) -> tuple[list[dict], list[dict]]:
    """Run a and b (each ``(data, run, steps, batch, extra)``) alternately, A B A B ..."""
    ra, rb = [], []
    for _ in range(rounds):
        ra.append(train(*a))
        rb.append(train(*b))
        print("  A", ra[-1], "\n  B", rb[-1], flush=True)
    return ra, rb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 round, no file written")
    ap.add_argument("--dir", default="/tmp/vegan-bench", help="where the data are made")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    ap.add_argument("--make", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    n_big, n_small, n_speed = (20_000, 2_000, 2_000) if args.quick else (200_000, 2_000, 10_000)
    rounds = 1 if args.quick else args.rounds
    folder = Path(args.dir)
    big = folder / "big.npy"
    files = {
        "small": folder / "small.npy",
        "speed": folder / "speed.npy",
        "speed_npz": folder / "speed.npz",
        "pngs": folder / "pngs",
    }
    if args.make:  # in a process of its own: see below
        folder.mkdir(parents=True, exist_ok=True)
        make_npy(big, n_big)
        make_others(big, folder, n_small, n_speed)
        return
    try:
        t0 = time.perf_counter()
        if not (files["pngs"].is_dir() and big.is_file()):
            # A child's peak RSS (ru_maxrss) starts from its parent's at fork: this
            # process never maps the data, so the training processes' figures are theirs.
            argv = [sys.executable, __file__, "--make", "--dir", str(folder)]
            subprocess.run(argv + (["--quick"] if args.quick else []), check=True)
        print(f"data made in {time.perf_counter() - t0:.0f} s", flush=True)
        runs = folder / "runs"

        # (a) memory: 20 steps of batch 32 on the large file and on its first 2,000 images
        print("memory", flush=True)
        mem_big, mem_small = pairs(
            (big, runs / "big", 20, 32, []), (files["small"], runs / "small", 20, 32, []), rounds
        )
        rss_big = median([r["rss"] for r in mem_big])
        rss_small = median([r["rss"] for r in mem_small])

        # (b) speed: the same images memory-mapped, in memory, and as PNG files
        steps, batch = (30, 64) if args.quick else (50, 64)
        print("speed: memory-mapped vs in memory", flush=True)
        s_map, s_mem = pairs(
            (files["speed"], runs / "map", steps, batch, []),
            (files["speed_npz"], runs / "mem", steps, batch, []),
            rounds,
        )
        print("speed: PNG folder (auto workers) vs in memory", flush=True)
        s_png, s_mem2 = pairs(
            (files["pngs"], runs / "png", steps, batch, []),
            (files["speed_npz"], runs / "mem", steps, batch, []),
            rounds,
        )
        print("speed: PNG folder, no workers", flush=True)
        s_png0 = [
            train(files["pngs"], runs / "png0", steps, batch, ["--set", "num_workers=0"])
            for _ in range(rounds)
        ]
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    def ips(rs: list[dict]) -> float:
        return median([r["images_per_s"] for r in rs])

    def ratio(a: list[dict], b: list[dict]) -> float:
        return median([x["images_per_s"] / y["images_per_s"] for x, y in zip(a, b)])

    gb = 2**30

    def each(rs: list[dict]) -> str:
        return ", ".join(f"{r['rss'] / gb:.2f}" for r in rs)

    size_gb = n_big * 3 * 64 * 64 / 1e9
    rows_mem = [
        "| data | peak RSS (median) | runs |",
        "| --- | --- | --- |",
        f"| {n_big:,} images, {size_gb:.2f} GB uint8 .npy (memory-mapped) | "
        f"{rss_big / gb:.2f} GiB | {each(mem_big)} |",
        f"| its first {n_small:,} images (.npy) | {rss_small / gb:.2f} GiB | {each(mem_small)} |",
        f"| difference | **{(rss_big - rss_small) / 2**20:.0f} MiB** (target: under 1.5 GB) | |",
    ]
    rows_speed = [
        "| held as | images/s (median) | ratio to in memory (pairwise median) |",
        "| --- | --- | --- |",
        f"| .npz, read whole into memory (uint8) | {ips(s_mem + s_mem2):.0f} | 1 |",
        f"| .npy, memory-mapped, 0 workers | {ips(s_map):.0f} | **{ratio(s_map, s_mem):.3f}** "
        "(target >= 0.95) |",
        f"| folder of {n_speed:,} PNG files, auto workers | {ips(s_png):.0f} | "
        f"{ratio(s_png, s_mem2):.3f} |",
        f"| folder of PNG files, 0 workers | {ips(s_png0):.0f} | "
        f"{ips(s_png0) / ips(s_mem2):.3f} (medians) |",
    ]
    table = "\n".join(rows_mem) + "\n\n" + "\n".join(rows_speed)
    print(table)
    if args.quick:
        return
    m = machine()
    mem_table, speed_table = "\n".join(rows_mem), "\n".join(rows_speed)
    text = f"""## Data at scale

`OMP_NUM_THREADS=1 python bench/bench_data.py` ({rounds} rounds, A B A B; medians).
{machine_line(m)} The data: random uint8 pixels (n, 3, 64, 64), made with numpy in
chunks through `np.lib.format.open_memmap` (the procedural shapes64 set was not
used). Every run: `vegan train wae-mmd --data DATA --steps S --set batch_size=B
--set log_every=10 {" ".join(MODEL)} {" ".join(QUIET)}`.

**Memory** (S = 20, B = 32): the peak resident memory of the training process
(`ru_maxrss`, as `/usr/bin/time -v` reports it). The file is memory-mapped, the
split is an index mapping, and a batch copies its rows out of the map.

{mem_table}

**Speed** (S = {steps}, B = {batch}): images per second of the training loop
(`steps_per_s` of metrics.jsonl times the batch, the first 10 steps left out), on the
same {n_speed:,} images held three ways.

{speed_table}
"""
    write_section("## Data at scale", text)


if __name__ == "__main__":
    main()
