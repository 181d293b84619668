"""Reports: one page comparing runs, with their metrics and pictures.

This module collects (:func:`collect`: evaluate or reuse, draw the pictures)
and writes; :mod:`vegan.eval.report_model` holds the content as data and
the tables, :mod:`vegan.eval.report_html` and :mod:`vegan.eval.report_md`
lay it out. :func:`make_report` evaluates each run (or reuses its ``eval.json`` when it
is from the same checkpoint, n and seed), draws its pictures and writes

* HTML (default): one self-contained file, every image embedded as a
  base64 ``data:`` URI and the style inline, so it opens offline and can be
  mailed or put on a screen as is;
* Markdown: ``REPORT.md`` with its PNG files in ``REPORT_files/`` beside it.

The page has the metrics tables across runs (best value per column marked,
real-vs-real references in their own row), then per run: a sample grid,
held-out inputs with their reconstructions, latent interpolations between
held-out images, codes of held-out data against prior samples, and the loss
and metric curves of training.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from vegan.errors import ConfigError
from vegan.eval import figures as figs
from vegan.eval.evaluation import (
    EvalOptions,
    evaluate,
    load_evaluation,
    resolve_n,
    save_evaluation,
)
from vegan.eval.report_html import render_html
from vegan.eval.report_md import render_markdown
from vegan.eval.report_model import GROUPS, Figure, RunReport, table_model


def _quiet(_: str) -> None:
    pass


def run_names(paths: list[Path]) -> list[str]:
    """Short unique names: the folder name, with its parent when names collide."""
    names = [p.name or str(p) for p in paths]
    if len(set(names)) == len(names):
        return names
    return [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 else p.name for p in paths]


def collect(
    run_dir: str | Path,
    name: str | None = None,
    options: EvalOptions | None = None,
    reuse: bool = True,
    save: bool = True,
    log: Callable[[str], None] | None = None,
) -> RunReport:
    """Evaluate (or reuse the evaluation of) one run and draw its pictures."""
    from vegan.models.registry import get_recipe
    from vegan.train.api import load

    opts = options or EvalOptions()
    n, seed = opts.n, opts.seed
    log = log or _quiet
    path = Path(run_dir)
    model = load(path, device=opts.device)
    info = model.info
    spec = info["data"]
    ev = load_evaluation(path) if reuse else None
    if ev is not None and (n is None and spec not in ("array", "dataset", "dataloader")):
        n = resolve_n(spec, None, int(model.config.seed))  # what a new evaluation would take
    if ev is not None and (ev.step != info.get("step") or ev.n != n or ev.seed != seed):
        ev = None
    if ev is None:
        log(f"{path}: evaluating")
        ev = evaluate(path, opts, log=lambda s: log(f"{path}: {s}"))
        if save:
            save_evaluation(path, ev)
    else:
        log(f"{path}: reusing {path / 'eval.json'}")
    rr = RunReport(name or path.name, path, info, ev)
    r = get_recipe(info["recipe"])
    rr.summary = f"{r.side} recipe, eq. {r.equation}: {r.summary}"
    from vegan.eval.runinfo import training_summary

    records = figs.read_metrics(path)
    rr.train_seconds = training_summary(path)["seconds"]
    rr.figures = run_figures(model, spec, seed, records, log=lambda s: log(f"{path}: {s}"))
    return rr


def run_figures(model, spec: str, seed: int, records: list[dict], log=_quiet) -> list[Figure]:
    """Every picture of one run, as PNG bytes."""
    from vegan.data import load_dataset

    toy = spec.lower().startswith("toy:")
    held = load_dataset(spec, "heldout", n=2000 if toy else None, seed=int(model.config.seed))
    held_x = held.head(2000)
    labels = None if held.y is None else held.y[:2000]
    image = held_x.dim() == 4
    out: list[Figure] = []
    log("pictures")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = torch.Generator(device=model.device).manual_seed(seed)
        samples = model.sample(64 if image else len(held_x), generator=g).cpu()
    out.append(
        Figure(
            "samples",
            "Samples G(z), z ~ P_Z"
            + (" (decoder means)" if image else " (red), held-out data (grey)"),
            figs.samples_png(samples, None if image else held_x),
        )
    )
    if model.encoder is not None:
        x = held_x[:36] if image else held_x
        out.append(
            Figure(
                "reconstructions",
                "Held-out inputs (odd rows) above their reconstructions G(E(x)) (even rows)"
                if image
                else "Reconstructions G(E(x)) (red) over held-out inputs (grey)",
                figs.reconstructions_png(x, model.reconstruct(x).cpu()),
            )
        )
    if image and len(held_x) >= 2:
        out.append(
            Figure(
                "interpolations",
                "Decoded straight lines between the codes of pairs of held-out images "
                "(first and last columns: the two inputs)"
                if model.encoder is not None
                else "Decoded straight lines between pairs of prior samples (no encoder)",
                figs.interpolations_png(model, held_x, pairs=min(8, len(held_x) // 2)),
            )
        )
    if model.encoder is not None and len(held_x) >= 3:
        codes = model.encode(held_x).cpu()
        gp = torch.Generator(device=model.prior.device).manual_seed(seed + 2)
        prior = model.prior.sample(len(held_x), gp).cpu()
        out.append(
            Figure(
                "codes",
                "Codes E(x) of held-out data (coloured by label when known) over prior samples"
                + ("" if codes.shape[1] <= 2 else "; projected on the prior's top two PCA axes"),
                figs.codes_png(codes, prior, labels),
            )
        )
    curves = figs.curves_png(records)
    if curves is not None:
        out.append(
            Figure("curves", "Losses (blue) and logged metrics (green) over training steps", curves)
        )
    return out


def _readable(path: Path) -> None:
    """Reports are for sharing: rw-r--r-- (atomic writes create private temporary files)."""
    import os

    try:
        os.chmod(path, 0o644)
    except OSError:  # pragma: no cover - e.g. a file system without modes
        pass


def make_report(
    run_dirs: list[str | Path],
    out: str | Path,
    fmt: str | None = None,
    options: EvalOptions | None = None,
    reuse: bool = True,
    save: bool = True,
    title: str = "vegan report",
    log: Callable[[str], None] | None = None,
    **kwargs,
) -> Path:
    """Evaluate and draw every run of ``run_dirs`` and write the report to ``out``.

    ``fmt`` is ``"html"`` or ``"md"`` (default: from the suffix of ``out``);
    ``options`` (or its fields as keywords, e.g. ``n=500``) say how to
    evaluate. Returns the path written.
    """
    options = options or EvalOptions(**kwargs)
    from vegan.io import atomic_write_bytes, atomic_write_text, check_output_path

    out = Path(out)
    suffix = out.suffix.lower()
    if fmt is None:
        fmt = "md" if suffix == ".md" else "html"
    if fmt not in ("html", "md"):
        raise ConfigError(f"unknown report format '{fmt}'; use html or md")
    want = (".html", ".htm") if fmt == "html" else (".md",)
    out = check_output_path(out, want)
    if not run_dirs:
        raise ConfigError("no run folders given; name at least one RUN_DIR")
    log = log or _quiet
    t0 = time.perf_counter()
    paths = [Path(p) for p in run_dirs]
    names = run_names(paths)
    reports = [
        collect(p, name, options, reuse=reuse, save=save, log=log) for p, name in zip(paths, names)
    ]
    if fmt == "html":
        _readable(atomic_write_text(out, render_html(reports, title)))
    else:
        files_dir = f"{out.stem}_files"
        text, files = render_markdown(reports, files_dir, title)
        folder = out.parent / files_dir
        folder.mkdir(exist_ok=True)
        for fname, data in files.items():
            _readable(atomic_write_bytes(folder / fname, data))
        _readable(atomic_write_text(out, text))
    log(f"report written in {time.perf_counter() - t0:.0f} s")
    return out


__all__ = [
    "GROUPS",
    "Figure",
    "RunReport",
    "collect",
    "make_report",
    "render_html",
    "render_markdown",
    "table_model",
]
