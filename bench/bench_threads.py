"""Threads under load: one run alone, two runs at once, and a 2-rank torchrun, by thread policy.

Each scenario starts ``vegan train`` processes and reads the training time
(the ``time`` field of the last line of ``metrics.jsonl``: the loop alone,
without interpreter start-up and data loading) of every run:

* ``alone``: one run;
* ``two at once``: two identical runs started together (a sweep, a test
  suite, a busy workstation);
* ``torchrun x2``: one run as two ranks of a process group.

Policies: ``auto`` (vegan's default: no OMP_NUM_THREADS, no --threads),
``1 thread`` (--threads 1) and ``all cores`` (--threads = the cores of this
machine). Scenarios and policies alternate in rounds so that drift of the
machine's speed spreads evenly; medians over the rounds are reported, with
the ratio of "two at once" to "alone" for each policy.

    python bench/bench_threads.py            # toy and MNIST, 3 rounds, writes BENCHMARKS.md
    python bench/bench_threads.py --quick    # smoke run, prints only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, machine_line, median, write_section  # noqa: E402

WORKLOADS = {
    "toy": ["wae-mmd", "--data", "toy:8gaussians", "--steps", "400"],
    "mnist": ["wae-mmd", "--data", "mnist", "--steps", "60"],
}
QUICK = {
    "toy": ["wae-mmd", "--data", "toy:8gaussians", "--steps", "100"],
    "mnist": ["wae-mmd", "--data", "mnist", "--steps", "10"],
}
COMMON = ["--no-progress", "--set", "samples_every=0", "--set", "log_every=10000"]


def _env(policy: str = "auto") -> dict:
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)  # the policy decides unless a flag says otherwise
    env.pop("OMP_WAIT_POLICY", None)  # vegan's CLI sets PASSIVE (sleeping idle workers)
    if policy == "all cores, spinning":
        env["OMP_WAIT_POLICY"] = "ACTIVE"  # OpenMP's default before vegan chose PASSIVE
    return env


def _policy_args(policy: str, cores: int) -> list[str]:
    if policy == "auto":
        return []
    return ["--threads", "1" if policy == "1 thread" else str(cores)]


def _train_time(run: Path) -> float:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return float(json.loads(lines[-1])["time"])


def _threads_used(run: Path) -> int:
    return int(json.loads((run / "run.json").read_text())["threads"]["threads"])


def scenario(
    kind: str, work: list[str], policy: str, cores: int, tmp: Path
) -> tuple[list[float], int]:
    """Run one scenario; returns the training times of its runs and the threads they used."""
    extra, env = _policy_args(policy, cores), _env(policy)
    vegan = [sys.executable, "-m", "vegan", "train", *work, *COMMON, *extra]
    if kind == "torchrun x2":
        run = tmp / "dist"
        cmd = [
            sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
            "-m", "vegan", "train", *work, *COMMON, *extra, "--out", str(run),
        ]  # fmt: skip
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        return [_train_time(run)], _threads_used(run)
    count = 2 if kind == "two at once" else 1
    runs = [tmp / f"run{i}" for i in range(count)]
    procs = [
        subprocess.Popen([*vegan, "--out", str(r)], env=env, stdout=subprocess.DEVNULL)
        for r in runs
    ]
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"a run failed: {' '.join(vegan)}")
    return [_train_time(r) for r in runs], _threads_used(runs[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small runs, 1 round, no file written")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    workloads = QUICK if args.quick else WORKLOADS
    rounds = 1 if args.quick else args.rounds
    policies = ["auto", "1 thread", "all cores", "all cores, spinning"]
    kinds = ["alone", "two at once", "torchrun x2"]
    times: dict[tuple, list[float]] = {}
    used: dict[tuple, int] = {}
    for r in range(rounds):
        for name, work in workloads.items():
            for policy in policies if r % 2 == 0 else policies[::-1]:
                for kind in kinds:
                    with tempfile.TemporaryDirectory() as tmp:
                        t, n = scenario(kind, work, policy, cores, Path(tmp))
                    times.setdefault((name, policy, kind), []).extend(t)
                    used[(name, policy, kind)] = n
                    print(name, policy, kind, [round(v, 2) for v in t], f"threads {n}", flush=True)
    rows = [
        "| data | policy | threads per process | alone s | two at once s (each) | "
        "two / alone | torchrun x2 s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in workloads:
        for policy in policies:
            alone = median(times[(name, policy, "alone")])
            two = median(times[(name, policy, "two at once")])
            dist = median(times[(name, policy, "torchrun x2")])
            n = used[(name, policy, "alone")]
            nd = used[(name, policy, "torchrun x2")]
            rows.append(
                f"| {name} | {policy} | {n} (torchrun: {nd} per rank) | {alone:.2f} | "
                f"{two:.2f} | {two / alone:.2f} | {dist:.2f} |"
            )
    table = "\n".join(rows)
    print(table)
    if args.quick:
        return
    m = machine()
    work = "; ".join(f"{k}: `vegan train {' '.join(v)}`" for k, v in workloads.items())
    text = f"""## Threads

`python bench/bench_threads.py` ({rounds} rounds, scenarios and policies alternating;
medians). {machine_line(m)} Training time is the `time` field of the last line of
metrics.jsonl (the loop only). Workloads: {work}, each with `{" ".join(COMMON)}`.
"auto" is vegan's policy with no OMP_NUM_THREADS and no `--threads`
(`vegan.train.threads`: one thread when a step's forward multiply-adds are under
5e8, else the cores, split among torchrun's local ranks). vegan's command line
lets idle OpenMP workers sleep (`OMP_WAIT_POLICY=PASSIVE` unless set); "all cores,
spinning" runs with `OMP_WAIT_POLICY=ACTIVE`, OpenMP's own default.

{table}
"""
    write_section("## Threads", text)


if __name__ == "__main__":
    main()
