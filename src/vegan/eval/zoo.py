"""The zoo: every recipe on the same data, with the same time budget and seed.

``run_zoo(data, budget_minutes, out)`` trains each registered recipe into
``OUT/RECIPE`` with ``time_budget = 60 * budget_minutes`` seconds and a
practically unbounded number of epochs (so the budget is what stops it),
the same seed and the recipe's settings for the data otherwise (its defaults
and the data family's preset); evaluates each run
(``OUT/RECIPE/eval.json``); and writes ``OUT/report.html`` (or ``.md``),
``OUT/zoo.json`` and ``OUT/zoo.md`` (the table, ready for BENCHMARKS.md).
Losses are logged every 10 steps and quick metrics every epoch (both can be
changed with ``sets``), so even short budgets draw curves.
This is the cookbook in one command.

A recipe that fails (diverges, or cannot take the data) is recorded with
its one-line reason and the zoo goes on. ``resume=True`` keeps runs that
were already evaluated and continues unfinished ones.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vegan.errors import ConfigError, RunDirError, VeganError
from vegan.eval.evaluation import (
    DEFAULT_N,
    EvalOptions,
    evaluate,
    load_evaluation,
    save_evaluation,
)
from vegan.eval.names import METRICS

#: Epochs given to every run: large, so that the time budget ends training.
ZOO_EPOCHS = 1_000_000

#: Columns of the zoo table (metric keys), in order.
TABLE = [
    "w2sq",
    "w1",
    "sharpness",
    "mmd",
    "fd_mnist_cnn",
    "precision",
    "recall",
    "modes_covered",
    "high_quality",
    "recon_l2sq",
    "codes_mmd",
    "neg_elbo",
    "probe_position",
    "probe_shape",
]


@dataclass
class ZooEntry:
    """One recipe of the zoo: its run folder, training record and evaluation (or why it failed)."""

    recipe: str
    side: str
    run_dir: Path
    status: str = "ok"
    reason: str = ""
    steps: int | None = None
    epochs: float | None = None
    seconds: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class ZooResult:
    """The whole zoo: data, budget, seed and one entry per recipe."""

    data: str
    budget_minutes: float
    seed: int
    n: int
    out: Path
    entries: list[ZooEntry]
    report: Path | None = None
    references: dict[str, float] = field(default_factory=dict)


def _quiet(_: str) -> None:
    pass


def zoo_recipes(names: list[str] | None = None) -> list[str]:
    """The recipes a zoo trains: the named ones, or every registered recipe."""
    from vegan.models.registry import get_recipe, list_recipes

    if not names:
        return [r.name for r in list_recipes()]
    out = []
    for name in names:
        r = get_recipe(name)  # unknown names raise ConfigError with a suggestion
        if r.name not in out:
            out.append(r.name)
    return out


def run_zoo(
    data: str,
    budget_minutes: float,
    out: str | Path,
    recipes: list[str] | None = None,
    seed: int = 0,
    n: int = DEFAULT_N,
    sets: dict[str, Any] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    device: str = "auto",
    preset: str | None = None,
    eval_every: int = 1,
    report_format: str = "html",
    features: bool = True,
    log: Callable[[str], None] | None = None,
) -> ZooResult:
    """Train, evaluate and report every recipe (see the module docstring)."""
    from vegan.eval.quick import QuickEval
    from vegan.models.registry import get_recipe
    from vegan.train import rundir
    from vegan.train.api import fit
    from vegan.train.loop import Interrupted

    log = log or _quiet
    eval_opts = EvalOptions(n=n, seed=seed, features=features, device=device)
    if not budget_minutes > 0:
        raise ConfigError(f"--budget must be > 0 minutes, got {budget_minutes}")
    out = Path(out)
    names = zoo_recipes(recipes)
    if out.exists() and not out.is_dir():
        raise RunDirError(f"'{out}' exists and is a file; choose another --out folder")
    if out.is_dir() and any(out.iterdir()) and not (resume or overwrite):
        raise RunDirError(
            f"zoo folder '{out}' already exists; add --resume to keep finished runs or "
            "--overwrite to start over"
        )
    out.mkdir(parents=True, exist_ok=True)
    user_sets = dict(sets or {})
    for key in ("time_budget", "epochs", "steps", "seed"):
        if key in user_sets:
            raise ConfigError(
                f"--set {key}=... is fixed by the zoo (same budget and seed for every recipe); "
                "use --budget and --seed"
            )
    options = {
        "eval_every": eval_every,
        "log_every": 10,  # short budgets still draw curves
        **user_sets,
        "time_budget": 60.0 * budget_minutes,
        "epochs": ZOO_EPOCHS,
        "steps": 0,
        "seed": seed,
    }
    entries: list[ZooEntry] = []
    for i, name in enumerate(names):
        r = get_recipe(name)
        run_dir = out / name
        entry = ZooEntry(name, r.side, run_dir)
        entries.append(entry)
        prefix = f"[{i + 1}/{len(names)}] {name}"
        try:
            ev = load_evaluation(run_dir) if resume else None
            if ev is not None and ev.n == n and ev.seed == seed:
                log(f"{prefix}: kept (already trained and evaluated)")
            else:
                log(f"{prefix}: training for {budget_minutes:g} min")
                fit(
                    name,
                    data,
                    run_dir,
                    sets=options,
                    preset=preset,
                    device=device,
                    callbacks=[QuickEval()],
                    resume=resume and rundir.is_run(run_dir),
                    overwrite=overwrite and not resume,
                    progress=False,
                )
                log(f"{prefix}: evaluating (n = {n})")
                ev = evaluate(run_dir, eval_opts, log=lambda s, p=prefix: log(f"{p}: {s}"))
                save_evaluation(run_dir, ev)
            entry.metrics = dict(ev.metrics)
            _training_stats(entry)
        except Interrupted:
            raise  # Ctrl-C stops the zoo (the run keeps its checkpoint; --resume continues)
        except VeganError as exc:
            entry.status, entry.reason = "failed", " ".join(str(exc).split())
            log(f"{prefix}: failed: {entry.reason}")
        except Exception as exc:  # noqa: BLE001 - one broken recipe must not end a long zoo
            first = (str(exc).splitlines() or [""])[0]
            entry.status, entry.reason = "failed", f"internal error {type(exc).__name__}: {first}"
            log(f"{prefix}: failed: {entry.reason} (a bug: please report it)")
    result = ZooResult(data, budget_minutes, seed, n, out, entries)
    ok = [e for e in entries if e.status == "ok"]
    for e in ok:
        for key in (
            "w2sq_real",
            "w1_real",
            "sharpness_data",
            "mmd_real",
            "fd_mnist_cnn_real",
            "precision_real",
            "recall_real",
            "high_quality_data",
            "modes_total",
        ):
            if key in e.metrics and key not in result.references:
                result.references[key] = e.metrics[key]
    if ok:
        from vegan.eval.report import make_report

        suffix = ".md" if report_format == "md" else ".html"
        log("writing the report")
        result.report = make_report(
            [e.run_dir for e in ok],
            out / f"report{suffix}",
            fmt=report_format,
            options=eval_opts,
            title=f"vegan zoo: {data}, {budget_minutes:g} min per recipe, seed {seed}",
            log=log,
        )
    from vegan.io import atomic_write_json, atomic_write_text

    atomic_write_json(out / "zoo.json", zoo_json(result))
    atomic_write_text(out / "zoo.md", zoo_markdown(result))
    return result


def _training_stats(entry: ZooEntry) -> None:
    from vegan.eval.runinfo import training_summary

    s = training_summary(entry.run_dir)
    entry.steps, entry.epochs, entry.seconds = s["step"], s["epoch"], s["seconds"]


def zoo_json(result: ZooResult) -> dict[str, Any]:
    """The zoo as a JSON-ready dict (what `zoo.json` holds)."""
    return {
        "data": result.data,
        "budget_minutes": result.budget_minutes,
        "seed": result.seed,
        "n": result.n,
        "machine": f"{platform.machine()}, {platform.system()}",
        "written": time.strftime("%Y-%m-%d %H:%M"),
        "references": result.references,
        "runs": [
            {
                "recipe": e.recipe,
                "side": e.side,
                "status": e.status,
                "reason": e.reason,
                "run_dir": str(e.run_dir),
                "steps": e.steps,
                "epochs": e.epochs,
                "seconds": e.seconds,
                "metrics": e.metrics,
            }
            for e in result.entries
        ],
    }


def zoo_markdown(result: ZooResult) -> str:
    """The zoo table in Markdown, with a reference row (real data) under it."""
    cols = [k for k in TABLE if any(k in e.metrics for e in result.entries)]
    head = ["recipe", "side", "steps", "epochs"] + [METRICS[k].label for k in cols]
    lines = [
        "| " + " | ".join(h.replace("|", "\\|") for h in head) + " |",
        "|---|---|---:|---:|" + "---:|" * len(cols),
    ]
    for e in result.entries:
        if e.status != "ok":
            lines.append(
                f"| {e.recipe} | {e.side} | failed: {e.reason.replace('|', '/')} | |"
                + " |" * len(cols)
            )
            continue
        cells = [METRICS[k].format(e.metrics.get(k)) for k in cols]
        ep = f"{e.epochs:.1f}" if isinstance(e.epochs, (int, float)) else "?"
        lines.append(f"| {e.recipe} | {e.side} | {e.steps} | {ep} | " + " | ".join(cells) + " |")
    refs = []
    for k in cols:
        ref_key = METRICS[k].reference
        v = result.references.get(ref_key) if ref_key else None
        refs.append(METRICS[ref_key].format(v) if v is not None else "")
    if any(refs):
        lines.append("| *real data (train vs held-out)* | | | | " + " | ".join(refs) + " |")
    return "\n".join(lines) + "\n"


__all__ = ["TABLE", "ZooEntry", "ZooResult", "run_zoo", "zoo_markdown", "zoo_recipes"]
