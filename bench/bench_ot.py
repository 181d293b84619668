"""Optimal-transport benchmark: vegan.ot against bare POT (and GeomLoss when installed).

Writes the "## Optimal transport" section of BENCHMARKS.md (other sections
are left alone); ``--json FILE`` also keeps the raw numbers.

    .venv/bin/python bench/bench_ot.py            # full run (about an hour on 2 cores)
    .venv/bin/python bench/bench_ot.py --quick    # small sizes, a minute or two

Every measurement runs in a fresh subprocess, so its peak memory (max RSS
from ``resource.getrusage``, which sees NumPy's and POT's C allocations) is
its own; the RSS of a process that only loads the data and the libraries is
reported as the baseline. Times are wall-clock medians over ``--repeats``
runs, vegan and POT alternating so that machine load affects both alike.

Data: the 10,000 MNIST test images built into vegan (gz IDX, read here with
gzip + NumPy), pixels in [0, 1], 784-D, float64. Size n uses images
[0, n) against [5000, 5000 + n); for n = 10,000 the second set is the same
10,000 images, each shifted by a random (dy, dx) in {-2, ..., 2}^2 pixels,
in a random order.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT / "src" / "vegan" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"
SECTION = "## Optimal transport"


# --------------------------------------------------------------------------- data


def mnist() -> np.ndarray:
    with gzip.open(MNIST, "rb") as fh:
        raw = fh.read()
    n = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, np.uint8, offset=16).reshape(n, 784).astype(np.float64) / 255.0


def pair(n: int) -> tuple[np.ndarray, np.ndarray]:
    X = mnist()
    if n <= 5000:
        return np.ascontiguousarray(X[:n]), np.ascontiguousarray(X[5000 : 5000 + n])
    if n > 10000:
        raise SystemExit("n is at most 10,000 (the MNIST test set)")
    # n > 5,000: the n images against the same images each shifted by a random
    # (dy, dx) in {-2, ..., 2}^2 (np.roll), in a random order. A 2-pixel shift
    # moves a digit far in l2, so the optimal plan is not the identity (at
    # n = 2,000 this instance takes the simplex as long as real vs real).
    rng = np.random.default_rng(0)
    shifts = rng.integers(-2, 3, size=(n, 2))
    imgs = X[:n].reshape(n, 28, 28)
    y = np.stack([np.roll(im, (int(s[0]), int(s[1])), axis=(0, 1)) for im, s in zip(imgs, shifts)])
    return np.ascontiguousarray(X[:n]), np.ascontiguousarray(y.reshape(n, 784)[rng.permutation(n)])


def max_iter(n: int, m: int) -> int:
    """The network-simplex limit vegan uses by default, given to POT as well."""
    return max(10**7, 1000 * (n + m))


# --------------------------------------------------------------------------- child tasks


def child(task: str, n: int, opts: dict) -> dict:
    """Run one measurement in this (fresh) process; return a JSON-able dict."""
    import torch

    import vegan.ot as vot

    ot = importlib.import_module("ot")  # POT
    # Warm-up on a tiny problem (first-call costs of torch and POT are not measured).
    xw, yw = np.random.default_rng(0).random((2, 20, 784))
    vot.wasserstein(xw, yw)
    vot.sinkhorn(xw, yw, 1.0)
    vot.sliced_wasserstein(torch.from_numpy(xw), torch.from_numpy(yw), 5, seed=0)
    ot.emd2(np.full(20, 0.05), np.full(20, 0.05), ot.dist(xw, yw))
    ot.sliced_wasserstein_distance(xw, yw, n_projections=5, seed=0)

    x, y = pair(n)
    a = np.full(n, 1.0 / n)
    out: dict = {"task": task, "n": n}
    if task == "baseline":
        pass
    elif task == "exact_vegan":
        t, c = time.perf_counter(), time.process_time()
        out["value"] = vot.wasserstein(x, y, "l2sq")
        out["seconds"], out["cpu_seconds"] = time.perf_counter() - t, time.process_time() - c
    elif task == "exact_pot":
        t, c = time.perf_counter(), time.process_time()
        M = ot.dist(x, y)  # squared Euclidean
        out["value"] = float(ot.emd2(a, a, M, numItermax=max_iter(n, n)))
        out["seconds"], out["cpu_seconds"] = time.perf_counter() - t, time.process_time() - c
    elif task == "sinkhorn_vegan":
        dtype = torch.float32 if opts.get("float32") else torch.float64
        t, c = time.perf_counter(), time.process_time()
        r = vot.sinkhorn(
            x,
            y,
            opts["epsilon"],
            tol=opts["tol"],
            dtype=dtype,
            return_plan=True,
            check_convergence=False,
            max_iter=100_000,
        )
        out["seconds"], out["cpu_seconds"] = time.perf_counter() - t, time.process_time() - c
        P = torch.as_tensor(r.plan).double()
        out.update(
            value=float(r.value),
            entropic=float(r.entropic),
            n_iter=r.n_iter,
            n_newton=r.n_newton,
            converged=r.converged,
            err_l1=float((P.sum(0) - 1.0 / n).abs().sum()),
            err_l2=float((P.sum(0) - 1.0 / n).norm()),
            row_err_l1=float((P.sum(1) - 1.0 / n).abs().sum()),
        )
    elif task == "sinkhorn_pot":
        t, c = time.perf_counter(), time.process_time()
        M = ot.dist(x, y)
        G, log = ot.sinkhorn(
            a,
            a,
            M,
            opts["epsilon"],
            method="sinkhorn_log",
            stopThr=opts["tol"],
            numItermax=1_000_000,
            log=True,
        )
        value = float(np.sum(G * M))  # = ot.sinkhorn2's value
        out["seconds"], out["cpu_seconds"] = time.perf_counter() - t, time.process_time() - c
        out.update(
            value=value,
            n_iter=int(log["niter"]),
            err_l1=float(np.abs(G.sum(0) - a).sum()),
            err_l2=float(np.linalg.norm(G.sum(0) - a)),
            row_err_l1=float(np.abs(G.sum(1) - a).sum()),
        )
    elif task == "sinkhorn_pot_rate":
        # POT's time per sinkhorn_log iteration at this n (a fixed number of iterations)
        M = ot.dist(x, y)
        k = opts["iterations"]
        t, c = time.perf_counter(), time.process_time()
        ot.sinkhorn(
            a, a, M, opts["epsilon"], method="sinkhorn_log", stopThr=0.0, numItermax=k, warn=False
        )
        out["seconds"], out["cpu_seconds"] = time.perf_counter() - t, time.process_time() - c
        out["per_iter"] = out["seconds"] / k
    elif task == "sinkhorn_geomloss":
        from geomloss import SamplesLoss

        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        # GeomLoss's cost is |x - y|^2 / 2: epsilon e on that cost is epsilon 2e on ours.
        eps_half = opts["epsilon"] / 2.0
        loss = SamplesLoss(
            "sinkhorn", p=2, blur=eps_half**0.5, debias=False, scaling=0.9, backend="tensorized"
        )
        t, c = time.perf_counter(), time.process_time()
        v = float(loss(xt, yt))
        out["seconds"], out["cpu_seconds"] = time.perf_counter() - t, time.process_time() - c
        out["entropic"] = 2.0 * v  # back to the units of |x - y|^2
    elif task == "sliced_vegan":
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        times, cpus = [], []
        for rep in range(opts["inner"]):
            t, c = time.perf_counter(), time.process_time()
            v = float(
                vot.sliced_wasserstein(xt, yt, opts["projections"], p=2, seed=rep, power=False)
            )
            times.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        out.update(seconds=statistics.median(times), cpu_seconds=statistics.median(cpus), value=v)
        theta = vot.random_projections(784, opts["projections"], seed=0).numpy()
        out["same_dirs_vegan"] = float(vot.sliced_wasserstein(x, y, projections=theta, power=False))
        out["same_dirs_pot"] = float(ot.sliced_wasserstein_distance(x, y, projections=theta))
    elif task == "sliced_pot":
        times, cpus = [], []
        for rep in range(opts["inner"]):
            t, c = time.perf_counter(), time.process_time()
            v = float(
                ot.sliced_wasserstein_distance(x, y, n_projections=opts["projections"], seed=rep)
            )
            times.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        out.update(seconds=statistics.median(times), cpu_seconds=statistics.median(cpus), value=v)
    else:
        raise SystemExit(f"unknown task {task}")
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def run_child(task: str, n: int, opts: dict | None = None, timeout: float | None = None) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        task,
        "--n",
        str(n),
        "--opts",
        json.dumps(opts or {}),
    ]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{task} n={n} failed:\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall"] = time.perf_counter() - t
    print(
        f"  {task:18s} n={n:5d}  {res.get('seconds', 0):9.3f} s  rss {res['maxrss_mb']:7.0f} MB"
        + (f"  value {res['value']:.6f}" if "value" in res else ""),
        flush=True,
    )
    return res


# --------------------------------------------------------------------------- machine facts


def machine() -> dict:
    return {**common.machine(), "load_start": os.getloadavg()}


# --------------------------------------------------------------------------- benchmark


def median(rs: list[dict], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in rs)


def cpu(rs: list[dict]) -> str:
    """Median CPU seconds (all threads) as a table cell, '-' for old results."""
    if not all("cpu_seconds" in r for r in rs):
        return "-"
    v = median(rs, "cpu_seconds")
    return f"{v:.2f}" if v >= 0.1 else f"{v:.4f}"


def bench(args: argparse.Namespace) -> dict:
    res: dict = {"machine": machine(), "command": " ".join([Path(sys.executable).name, *sys.argv])}
    res["command"] = "python bench/bench_ot.py " + " ".join(sys.argv[1:])
    print("machine:", res["machine"], flush=True)
    res["baseline"] = run_child("baseline", 1000)

    # exact
    res["exact"] = []
    for n in args.exact_sizes:
        reps = args.repeats + 2 if n <= 2000 else args.repeats if n <= 5000 else 1
        v, p = [], []
        for i in range(reps):  # alternate which goes first
            if i % 2:
                p.append(run_child("exact_pot", n))
            v.append(run_child("exact_vegan", n))
            if not i % 2:
                p.append(run_child("exact_pot", n))
        res["exact"].append({"n": n, "vegan": v, "pot": p})

    # sinkhorn
    import torch

    import vegan.ot as vot

    res["sinkhorn"] = []
    for n in sorted({args.sinkhorn_n, args.pot_sinkhorn_n}):
        x, y = pair(n)
        C = vot.l2sq.pairwise(torch.from_numpy(x), torch.from_numpy(y))
        eps = 0.01 * float(C.reshape(-1).median())
        del C
        opts = {"epsilon": eps, "tol": args.tol}
        entry = {"n": n, "epsilon": eps, "tol": args.tol, "vegan": [], "vegan32": [], "pot": []}
        for _ in range(args.repeats):
            entry["vegan"].append(run_child("sinkhorn_vegan", n, opts))
        if args.float32 and n == args.pot_sinkhorn_n:
            entry["vegan32"].append(run_child("sinkhorn_vegan", n, {**opts, "float32": True}))
        if n == args.pot_sinkhorn_n and not args.no_pot_sinkhorn:
            for _ in range(args.pot_repeats):
                entry["pot"].append(run_child("sinkhorn_pot", n, opts))
        if not args.no_pot_sinkhorn:
            entry["pot_rate"] = run_child("sinkhorn_pot_rate", n, {**opts, "iterations": 20})
        if args.geomloss:
            try:
                entry["geomloss"] = [run_child("sinkhorn_geomloss", n, opts)]
            except RuntimeError as exc:
                print("  geomloss skipped:", str(exc).splitlines()[-1], flush=True)
        exact = [e for e in res["exact"] if e["n"] == n]
        entry["exact"] = exact[0]["vegan"][0]["value"] if exact else None
        res["sinkhorn"].append(entry)

    # sliced
    res["sliced"] = []
    for k in args.projections:
        opts = {"projections": k, "inner": 5}
        v, p = [], []
        for i in range(args.repeats):
            if i % 2:
                p.append(run_child("sliced_pot", args.sliced_n, opts))
            v.append(run_child("sliced_vegan", args.sliced_n, opts))
            if not i % 2:
                p.append(run_child("sliced_pot", args.sliced_n, opts))
        res["sliced"].append({"n": args.sliced_n, "projections": k, "vegan": v, "pot": p})
    res["machine"]["load_end"] = os.getloadavg()
    return res


# --------------------------------------------------------------------------- report


def report(res: dict) -> str:
    m = res["machine"]
    base = res["baseline"]["maxrss_mb"]
    L = [
        SECTION,
        "",
        f"Command: `{res['command']}` (section written by `bench/bench_ot.py`; `--json FILE` "
        "keeps the raw numbers).",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM; Python {m['python']}, "
        f"torch {m['torch']} ({m['torch_threads']} threads), POT {m['pot']}, NumPy {m['numpy']}. "
        f"Load average at start {tuple(round(v, 1) for v in m['load_start'])}, at end "
        f"{tuple(round(v, 1) for v in m['load_end'])} (the machine is shared: other jobs ran "
        "during the measurements, so times are noisy; vegan and POT alternate to share the load).",
        "",
        "Data: MNIST test images, 784-D, pixels in [0, 1], float64; n images [0, n) against "
        "[5000, 5000 + n); n = 10,000: all images against the same images, each shifted by a "
        "random (dy, dx) in {-2..2}^2 pixels, shuffled. "
        "Times are wall-clock medians; CPU s is the process CPU time of the same calls (all "
        "threads: vegan's torch and BLAS use both cores, POT's network simplex and its "
        "sinkhorn_log loop mostly one), less sensitive to other jobs than wall time; memory is "
        "the peak RSS of the measuring process minus "
        f"the {base:.0f} MB of a process that only loads the data and the libraries.",
        "",
        "### Exact W2^2 (network simplex)",
        "",
        "vegan: `vegan.ot.wasserstein(x, y)` (cost matrix in row blocks + `ot.emd2`). "
        "POT: `ot.emd2(a, b, ot.dist(x, y), numItermax=...)` with the same iteration limit.",
        "",
        "| n per side | repeats | vegan s | POT s | vegan / POT | vegan CPU s | POT CPU s "
        "| vegan peak MB | POT peak MB | W2^2 |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for e in res["exact"]:
        tv, tp = median(e["vegan"]), median(e["pot"])
        mv = max(r["maxrss_mb"] for r in e["vegan"]) - base
        mp = max(r["maxrss_mb"] for r in e["pot"]) - base
        val = e["vegan"][0]["value"]
        assert abs(val - e["pot"][0]["value"]) <= 1e-9 * abs(val), "exact values differ"
        L.append(
            f"| {e['n']:,} | {len(e['vegan'])} | {tv:.2f} | {tp:.2f} | {tv / tp:.2f} | "
            f"{cpu(e['vegan'])} | {cpu(e['pot'])} | {mv:.0f} | {mp:.0f} | {val:.4f} |"
        )
    cpu_ratios = [
        median(e["vegan"], "cpu_seconds") / median(e["pot"], "cpu_seconds")
        for e in res["exact"]
        if all("cpu_seconds" in r for r in e["vegan"] + e["pot"])
    ]
    overhead = ""
    if cpu_ratios:
        overhead = (
            f" In CPU time vegan / POT is {min(cpu_ratios):.2f} to {max(cpu_ratios):.2f}: the "
            "library's overhead (validation, blocked cost matrix) is lost in the noise; wall-time "
            "ratios away from 1 come from other jobs (n = 10,000 is a single run of each)."
        )
    L += [
        "",
        "The two values agree to 1e-9 relative at every size (checked by the script)." + overhead,
        "",
        "### Sinkhorn, epsilon = 1% of the median pairwise cost, marginal tolerance 1e-6",
        "",
        "vegan: `vegan.ot.sinkhorn(x, y, epsilon, tol=1e-6)` (float64; stops when the L1 error "
        "of the column marginal is below tol). POT: `ot.sinkhorn(a, b, ot.dist(x, y), epsilon, "
        "method='sinkhorn_log', stopThr=1e-6)` and the transport cost <P, M> (what "
        "`ot.sinkhorn2` returns; POT stops on the L2 norm of the same marginal error, a looser "
        "test). Errors below are recomputed from each returned plan.",
        "",
        "| n | solver | s | CPU s | iterations | <P, C> | rel. diff to POT | L1 marg. err "
        "| L2 marg. err | exact W2^2 |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ratios = []
    geo_notes: list[str] = []
    for e in res["sinkhorn"]:
        pot = e["pot"][0] if e["pot"] else None
        rows = [("vegan float64", e["vegan"])]
        if e.get("vegan32"):
            rows.append(("vegan float32", e["vegan32"]))
        if pot:
            rows.append(("POT sinkhorn_log", e["pot"]))
        for name, rs in rows:
            r = rs[0]
            t = median(rs)
            rel = f"{abs(r['value'] - pot['value']) / pot['value']:.1e}" if pot else "-"
            it = f"{r['n_iter']}" + (f" ({r['n_newton']} Newton)" if r.get("n_newton") else "")
            ex = f"{e['exact']:.4f}" if e["exact"] else "-"
            L.append(
                f"| {e['n']:,} | {name} ({len(rs)}x) | {t:.2f} | {cpu(rs)} | {it} | "
                f"{r['value']:.6f} | {rel} | "
                f"{r['err_l1']:.1e} | {r['err_l2']:.1e} | {ex} |"
            )
        if pot:
            ratios.append((e["n"], median(e["pot"]) / median(e["vegan"]), False))
        if e.get("geomloss"):
            g = e["geomloss"][0]
            gap = (e["vegan"][0]["entropic"] - g["entropic"]) / e["vegan"][0]["entropic"]
            geo_notes.append(
                f"GeomLoss at n = {e['n']:,}: `SamplesLoss('sinkhorn', p=2, blur=sqrt(eps/2), "
                f"debias=False, scaling=0.9, backend='tensorized')` (its cost is |x-y|^2/2, so "
                f"blur^2 = eps/2 is the same regularization; its value doubled is OT_eps) took "
                f"{g['seconds']:.1f} s and gave OT_eps = {g['entropic']:.4f}, against vegan's "
                f"converged {e['vegan'][0]['entropic']:.4f}: {100 * gap:.1f}% low. GeomLoss runs "
                "a fixed annealing schedule with no tolerance and has not converged at this "
                "small epsilon when it stops, so its time is not comparable at equal accuracy."
            )
    L.append("")
    pot_runs = [e for e in res["sinkhorn"] if e["pot"]]
    for e in res["sinkhorn"]:
        if e["pot"] or "pot_rate" not in e or not pot_runs:
            continue
        ref = pot_runs[0]
        iters = ref["pot"][0]["n_iter"]
        est = e["pot_rate"]["per_iter"] * iters
        ratios.append((e["n"], est / median(e["vegan"]), True))
        L.append(
            f"POT at n = {e['n']:,} was not run to convergence (it would take over 15 minutes): "
            f"its sinkhorn_log iteration costs {e['pot_rate']['per_iter']:.2f} s there (20 "
            f"iterations timed), so at the {iters} iterations it needed at n = {ref['n']:,} it "
            f"would take about {est / 60:.0f} minutes (an extrapolation, not a measurement)."
        )
        L.append("")
    for note in geo_notes:
        L += [note, ""]
    if any(e.get("vegan32") for e in res["sinkhorn"]):
        L += [
            "float32 (`dtype=torch.float32`) runs plain Sinkhorn iterations: Newton steps need "
            "float64 accuracy, so they are off, and at this epsilon the plain tail is long.",
            "",
        ]
    for n, r, estimated in ratios:
        how = "against the extrapolated POT time" if estimated else "measured, wall time"
        L.append(
            f"- Speed-up of vegan over POT `sinkhorn_log` at n = {n:,}: **{r:.0f}x** ({how}) "
            "at equal tolerance (vegan's L1 test is the stricter one)."
        )
    for earlier in res.get("earlier", []):
        for e in earlier["sinkhorn"]:
            if e["pot"]:
                tv, tp = median(e["vegan"]), median(e["pot"])
                load = tuple(round(v, 1) for v in earlier["machine"]["load_start"])
                L.append(
                    f"- An earlier run of the same script on a less loaded machine (load average "
                    f"{load} at start) measured, at n = {e['n']:,}: vegan {tv:.1f} s, POT "
                    f"{tp:.0f} s, **{tp / tv:.0f}x**. vegan's products with the kernel are "
                    "memory-bound, which likely explains why other jobs slow it down more than "
                    "POT's compute-bound loop."
                )
    L += [
        "",
        "### Sliced W2 (50 and 500 random directions)",
        "",
        "vegan: `vegan.ot.sliced_wasserstein(x, y, K, p=2, seed=s, power=False)` (torch "
        "tensors). POT: "
        "`ot.sliced_wasserstein_distance(x, y, n_projections=K, seed=s)`. Median over 5 calls "
        "in each of the repeats; with the same directions both give the same value.",
        "",
        "| n per side | K | vegan s | POT s | POT / vegan | vegan CPU s | POT CPU s "
        "| value (vegan, same dirs) | value (POT, same dirs) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for e in res["sliced"]:
        tv, tp = median(e["vegan"]), median(e["pot"])
        r = e["vegan"][0]
        L.append(
            f"| {e['n']:,} | {e['projections']} | {tv:.4f} | {tp:.4f} | {tp / tv:.1f} | "
            f"{cpu(e['vegan'])} | {cpu(e['pot'])} | {r['same_dirs_vegan']:.6f} | "
            f"{r['same_dirs_pot']:.6f} |"
        )
    L.append("")
    return "\n".join(L)


def write_section(text: str, path: Path) -> None:
    """Replace (or append) the '## Optimal transport' section of BENCHMARKS.md, atomically."""
    common.write_section(SECTION, text, path)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="small sizes (1,000 and 2,000), one repeat"
    )
    ap.add_argument("--exact-sizes", default="1000,2000,5000,10000", help="comma-separated n")
    ap.add_argument("--sinkhorn-n", type=int, default=5000, help="n for vegan's Sinkhorn")
    ap.add_argument(
        "--pot-sinkhorn-n", type=int, default=2000, help="n where POT's Sinkhorn runs too"
    )
    ap.add_argument("--no-pot-sinkhorn", action="store_true", help="skip POT's (slow) sinkhorn_log")
    ap.add_argument("--pot-repeats", type=int, default=2, help="repeats of POT's sinkhorn_log")
    ap.add_argument(
        "--float32", action="store_true", help="also time vegan's Sinkhorn in float32 (POT's n)"
    )
    ap.add_argument("--geomloss", action="store_true", help="also time GeomLoss (if installed)")
    ap.add_argument("--tol", type=float, default=1e-6, help="Sinkhorn marginal tolerance")
    ap.add_argument("--sliced-n", type=int, default=5000, help="n for sliced Wasserstein")
    ap.add_argument("--projections", default="50,500", help="comma-separated numbers of directions")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per measurement")
    ap.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    ap.add_argument("--json", help="also save the raw results to this file")
    ap.add_argument("--from-json", help="re-render BENCHMARKS.md from a saved results file")
    ap.add_argument(
        "--earlier-json",
        action="append",
        default=[],
        help="results of an earlier run whose Sinkhorn comparison is quoted (repeatable)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--opts", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n, json.loads(args.opts))))
        return
    if args.from_json:
        res = json.loads(Path(args.from_json).read_text())
    else:
        args.exact_sizes = [int(s) for s in args.exact_sizes.split(",")]
        args.projections = [int(s) for s in args.projections.split(",")]
        if args.quick:
            args.exact_sizes = [1000, 2000]
            args.sinkhorn_n = args.pot_sinkhorn_n = 1000
            args.sliced_n = 2000
            args.repeats = args.pot_repeats = 1
        res = bench(args)
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=1))
    res["earlier"] = [json.loads(Path(p).read_text()) for p in args.earlier_json]
    text = report(res)
    print(text)
    if not args.no_write:
        write_section(text, ROOT / "BENCHMARKS.md")


if __name__ == "__main__":
    main()
