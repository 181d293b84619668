"""Regenerate the sample grids of the cookbook page (docs/figures/cookbook/).

Every figure is the picture ``RUN/samples.png`` that ``vegan train`` writes at
the end of a run (for 2-D data: 2,000 samples over the data; for images: a
grid of 64 samples), made by the exact command that ``docs/cookbook.md``
prints under it and copied to ``docs/figures/cookbook/DATASET-RECIPE.png``:

    vegan train RECIPE --data DATA --out runs/figures/DATASET/RECIPE ARGS

Usage (from the repository root)::

    OMP_NUM_THREADS=1 python docs/make_figures.py                 # everything
    python docs/make_figures.py --data toy --recipes wae-mmd,vae  # a subset
    python docs/make_figures.py --list                            # print the commands

Runs go to ``runs/figures/`` (not committed); an existing run is resumed up
to the stated total rather than trained again, so an interrupted regeneration
continues where it stopped. ``docs/figures/cookbook/budgets.json`` records,
per figure, the command, the steps reached and the wall time on the machine
that made it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from vegan.models.presets import get_preset

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures" / "cookbook"
RUNS = Path("runs") / "figures"
RECORD = FIGURES / "budgets.json"
PAGE = ROOT / "docs" / "cookbook.md"

RECIPES = (
    "ae",
    "vae",
    "wae-mmd",
    "swae",
    "sinkhorn-wae",
    "wae-gan",
    "aae",
    "avb",
    "gan",
    "wgan",
    "wgan-gp",
)

#: Training budget per dataset (the mnist preset gives WGAN and WGAN-GP one critic
#: step per generator step, so they get the GAN's two epochs).
BUDGETS: dict[str, dict[str, list[str]]] = {
    # the toy preset's run lengths (what `vegan train` runs without --steps), else 2,000
    "toy": {r: ["--steps", str(get_preset("toy").steps.get(r, 2000))] for r in RECIPES},
    "mnist": {
        **{r: ["--epochs", "2"] for r in RECIPES},
        "gan": ["--epochs", "2"],
        # one critic step per generator step with the mnist preset: the GAN's budget
        "wgan": ["--epochs", "2"],
        "wgan-gp": ["--epochs", "2"],
    },
}
DATA = {"toy": "toy:8gaussians", "mnist": "mnist"}


def commands(dataset: str, recipe: str) -> tuple[list[str], Path]:
    """(train command, figure path) for one figure, as run from the repository root."""
    run = RUNS / dataset / recipe
    fig = FIGURES / f"{dataset}-{recipe}.png"
    train = ["vegan", "train", recipe, "--data", DATA[dataset], "--out", str(run)]
    train += BUDGETS[dataset][recipe]
    return train, fig


def _vegan(args: list[str]) -> None:
    exe = Path(sys.executable).parent / "vegan"
    cmd = [str(exe) if exe.exists() else "vegan", *args[1:]]
    subprocess.run(cmd, check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", default="toy,mnist", help="toy, mnist or both (comma-separated)")
    p.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated recipes")
    p.add_argument("--list", action="store_true", help="print the commands and exit")
    p.add_argument(
        "--page-only",
        action="store_true",
        help="only rewrite the figure blocks of docs/cookbook.md from budgets.json",
    )
    args = p.parse_args(argv)
    FIGURES.mkdir(parents=True, exist_ok=True)
    record = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    if args.page_only:
        update_page(record)
        return 0
    for dataset in args.data.split(","):
        for recipe in args.recipes.split(","):
            train, fig = commands(dataset, recipe)
            if args.list:
                print(shlex.join(train))
                continue
            run = ROOT / train[train.index("--out") + 1]
            t0 = time.time()
            resume = ["--resume"] if run.exists() else []
            _vegan([*train, "--no-progress", *resume])
            seconds = time.time() - t0
            shutil.copyfile(run / "samples.png", fig)
            lines = (run / "metrics.jsonl").read_text().splitlines()
            steps = [s for s in map(json.loads, lines) if "step" in s]
            key = f"{dataset}-{recipe}"
            record = json.loads(RECORD.read_text()) if RECORD.exists() else {}  # others may write
            old = record.get(key, {})
            # the run's options: equal steps with other options (a preset changed) is a new run
            options = json.loads((run / "run.json").read_text()).get("config", {})
            fingerprint = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()
            same_options = old.get("options_sha256", fingerprint) == fingerprint
            if (
                steps
                and old.get("steps") == steps[-1].get("step")
                and "eval" in old
                and "options_sha256" in old
                and same_options
            ):
                continue  # nothing new was trained: keep the record of the run that made it
            # A fresh run folder was trained just now: its machine, date and time are new.
            same_run = (
                bool(resume)
                and same_options
                and old.get("steps") == (steps[-1].get("step") if steps else None)
            )
            record[key] = {
                "train": shlex.join(train),
                "figure": str(fig.relative_to(ROOT)),
                "steps": steps[-1].get("step") if steps else None,
                "epochs": round(steps[-1].get("epoch", 0), 2) if steps else None,
                "train_seconds": round(steps[-1].get("time", seconds), 1) if steps else None,
                "machine": f"{_cpu()}, {_cores()} CPU cores, torch {_torch()}",
                "date": time.strftime("%Y-%m-%d"),
                "options_sha256": fingerprint,
            }
            if same_run:  # only the evaluation is new: keep when and where it was trained
                record[key].update(
                    {k: old[k] for k in ("machine", "date", "train_seconds") if k in old}
                )
            record[key]["eval"] = evaluate(run)
            record = (
                {**json.loads(RECORD.read_text()), key: record[key]} if RECORD.exists() else record
            )
            RECORD.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
            update_page(record)
            print(f"{fig.relative_to(ROOT)}: {seconds:.0f} s", flush=True)
    return 0


#: Metrics of ``vegan eval`` kept in budgets.json and shown under each figure:
#: (key, reference key, label).
SHOWN = {
    "toy": [
        ("w2sq", "w2sq_real", "W2²"),
        ("modes_covered", "modes_total", "modes"),
        ("high_quality", "high_quality_data", "high quality"),
    ],
    "mnist": [
        ("fd_mnist_cnn", "fd_mnist_cnn_real", "FD"),
        ("w2sq", "w2sq_real", "W2²"),
        ("sharpness", "sharpness_data", "sharpness"),
    ],
}


def evaluate(run: Path) -> dict:
    """``vegan eval RUN --json --no-save`` (n = 2,000 held-out items, seed 0): every metric."""
    exe = Path(sys.executable).parent / "vegan"
    out = subprocess.run(
        [str(exe) if exe.exists() else "vegan", "eval", str(run), "--json", "--no-save"],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(out)
    keep = {k for rows in SHOWN.values() for pair in rows for k in pair[:2]}
    return {k: round(v, 4) for k, v in result.items() if k in keep and isinstance(v, float)}


def _metrics_line(dataset: str, metrics: dict) -> str:
    parts = []
    for key, ref, label in SHOWN[dataset]:
        if key not in metrics:
            continue
        if key == "modes_covered":
            parts.append(f"modes {metrics[key]:.0f}/{metrics.get(ref, 0):.0f}")
        else:
            parts.append(f"{label} {metrics[key]:.3g} (data: {metrics.get(ref, float('nan')):.3g})")
    return ", ".join(parts)


def _caption(dataset: str, entry: dict) -> str:
    steps, epochs, seconds = entry["steps"], entry["epochs"], entry["train_seconds"]
    text = (
        f"`{entry['train']}`<br>{steps:,} steps ({epochs:g} epochs), "
        f"{seconds:.0f} s of training on {entry['machine']}, {entry['date']}"
    )
    if entry.get("eval"):
        text += f"<br>`vegan eval` (n = 2,000): {_metrics_line(dataset, entry['eval'])}"
    return text


def gallery_block(recipe: str, record: dict) -> str:
    """The Markdown table of one recipe's figures (those that exist) and their commands."""
    cols = [(d, record[f"{d}-{recipe}"]) for d in DATA if f"{d}-{recipe}" in record]
    if not cols:
        return "*Figures not made yet: `python docs/make_figures.py --recipes " + recipe + "`.*"
    title = {"toy": "`toy:8gaussians`", "mnist": "built-in MNIST"}
    rows = [
        "| " + " | ".join(title[d] for d, _ in cols) + " |",
        "| " + " | ".join("---" for _ in cols) + " |",
        "| "
        + " | ".join(
            f"![{recipe} on {DATA[d]}]({Path(e['figure']).relative_to('docs').as_posix()})"
            for d, e in cols
        )
        + " |",
        "| " + " | ".join(_caption(d, e) for d, e in cols) + " |",
    ]
    return "\n".join(rows)


def _num(entry: dict | None, key: str, fmt: str = "{:.3g}") -> str:
    value = (entry or {}).get("eval", {}).get(key)
    return "—" if value is None else fmt.format(value)


def summary_table(record: dict) -> str:
    """One row per recipe: the numbers under its figures, side by side."""
    rows = [
        "| recipe | toy W2² | toy modes | toy steps | MNIST FD | MNIST W2² | MNIST sharpness "
        "| MNIST steps | MNIST training (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in RECIPES:
        toy, mnist = record.get(f"toy-{r}"), record.get(f"mnist-{r}")
        rows.append(
            f"| `{r}` | {_num(toy, 'w2sq')} | {_num(toy, 'modes_covered', '{:.0f}')}/8 "
            f"| {(toy or {}).get('steps', '—')} | {_num(mnist, 'fd_mnist_cnn', '{:.0f}')} "
            f"| {_num(mnist, 'w2sq')} | {_num(mnist, 'sharpness')} "
            f"| {(mnist or {}).get('steps', '—')} | {(mnist or {}).get('train_seconds', '—')} |"
        )
    toy = next((e for k, e in record.items() if k.startswith("toy-") and "eval" in e), None)
    mnist = next((e for k, e in record.items() if k.startswith("mnist-") and "eval" in e), None)
    rows.append(
        f"| *data (real vs real)* | {_num(toy, 'w2sq_real')} | 8/8 | "
        f"| {_num(mnist, 'fd_mnist_cnn_real', '{:.2f}')} | {_num(mnist, 'w2sq_real')} "
        f"| {_num(mnist, 'sharpness_data')} | | |"
    )
    return "\n".join(rows)


def update_page(record: dict, page: Path | None = None) -> str:
    """Rewrite the generated blocks of the cookbook page (figures, summary); returns the text."""
    import re

    page = page or PAGE
    text = page.read_text(encoding="utf-8")
    new = re.sub(
        r"<!-- figures: ([\w-]+) -->\n.*?<!-- /figures -->",
        lambda m: f"<!-- figures: {m[1]} -->\n{gallery_block(m[1], record)}\n<!-- /figures -->",
        text,
        flags=re.S,
    )
    new = re.sub(
        r"<!-- figures-summary -->\n.*?<!-- /figures-summary -->",
        lambda m: f"<!-- figures-summary -->\n{summary_table(record)}\n<!-- /figures-summary -->",
        new,
        flags=re.S,
    )
    if new != text:
        page.write_text(new, encoding="utf-8")
    return new


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _torch() -> str:
    import torch

    return torch.__version__


if __name__ == "__main__":
    sys.exit(main())
