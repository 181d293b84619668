"""Reports: one page comparing runs, with their metrics and pictures.

:func:`make_report` evaluates each run (or reuses its ``eval.json`` when it
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

import base64
import datetime as _dt
import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vegan.errors import ConfigError
from vegan.eval import figures as figs
from vegan.eval.evaluation import (
    DEFAULT_K,
    DEFAULT_N,
    Evaluation,
    evaluate,
    load_evaluation,
    save_evaluation,
)
from vegan.eval.names import METRICS, best_index

#: Metric groups of the report's tables: (title, keys, reference row label).
GROUPS: list[tuple[str, list[str]]] = [
    (
        "Samples vs held-out data",
        ["w2sq", "w2", "w1", "sw2", "mmd", "sharpness", "modes_covered", "high_quality"],
    ),
    ("Feature space", ["fd_mnist_cnn", "precision", "recall", "fid_inception"]),
    ("Encoder and codes", ["recon_l2sq", "codes_mmd", "codes_w2sq", "neg_elbo"]),
]
#: Metrics whose reference is shown inside each cell (it depends on the run, e.g. on d_z).
INLINE_REFERENCE = ("codes_mmd", "codes_w2sq")

NOTE = (
    "Pixel-space transport rewards blur: a model whose samples are smooth averages can score "
    "below two real samples. Read W2/W1 beside the real-vs-real reference and the sharpness, "
    "and never rank models on pixel W2 alone. FD is computed in the features of vegan's own "
    "MNIST classifier; it is not Inception FID."
)


@dataclass
class Figure:
    """One picture of a report: a key, its caption and the PNG bytes."""

    key: str
    caption: str
    png: bytes


@dataclass
class RunReport:
    """What the report shows about one run."""

    name: str
    path: Path
    info: dict
    evaluation: Evaluation
    figures: list[Figure] = field(default_factory=list)
    train_seconds: float | None = None
    summary: str = ""


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
    n: int = DEFAULT_N,
    seed: int = 0,
    k: int = DEFAULT_K,
    device: str = "cpu",
    reuse: bool = True,
    save: bool = True,
    features: bool = True,
    inception: bool = True,
    log: Callable[[str], None] | None = None,
) -> RunReport:
    """Evaluate (or reuse the evaluation of) one run and draw its pictures."""
    from vegan.models.registry import get_recipe
    from vegan.train.api import load

    log = log or _quiet
    path = Path(run_dir)
    model = load(path, device=device)
    info = model.info
    spec = info["data"]
    ev = load_evaluation(path) if reuse else None
    if ev is not None and (ev.step != info.get("step") or ev.n != n or ev.seed != seed):
        ev = None
    if ev is None:
        log(f"{path}: evaluating (n = {n})")
        ev = evaluate(
            path,
            n=n,
            seed=seed,
            k=k,
            device=device,
            features=features,
            inception=inception,
            log=lambda s: log(f"{path}: {s}"),
        )
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
    held_x = held.x[:2000]
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


# --------------------------------------------------------------------------- tables


def _groups_by_dataset(reports: list[RunReport]) -> dict[tuple[str, int], list[int]]:
    out: dict[tuple[str, int], list[int]] = {}
    for i, r in enumerate(reports):
        out.setdefault((r.evaluation.dataset, r.evaluation.n), []).append(i)
    return out


def table_model(reports: list[RunReport]) -> list[dict]:
    """The report's tables as plain data: for each group, columns, rows and best flags."""
    groups = _groups_by_dataset(reports)
    tables = []
    for title, keys in GROUPS:
        cols = [k for k in keys if any(k in r.evaluation.metrics for r in reports)]
        if not cols:
            continue
        best: dict[tuple[int, str], bool] = {}
        for key in cols:
            ref_key = METRICS[key].reference
            for members in groups.values():
                vals = [reports[i].evaluation.metrics.get(key) for i in members]
                ref = None
                if ref_key:
                    ref = next(
                        (
                            reports[i].evaluation.metrics.get(ref_key)
                            for i in members
                            if ref_key in reports[i].evaluation.metrics
                        ),
                        None,
                    )
                for j in best_index(key, vals, ref):
                    best[(members[j], key)] = True
        rows = []
        for i, r in enumerate(reports):
            cells = []
            for key in cols:
                v = r.evaluation.metrics.get(key)
                text = METRICS[key].format(v)
                ref_key = METRICS[key].reference
                if key in INLINE_REFERENCE and v is not None and ref_key in r.evaluation.metrics:
                    text += f" (ref {METRICS[ref_key].format(r.evaluation.metrics[ref_key])})"
                cells.append({"text": text, "best": best.get((i, key), False)})
            rows.append({"name": r.name, "recipe": r.evaluation.recipe, "cells": cells})
        refs = []
        for (dataset, n), members in groups.items():
            cells, any_ref = [], False
            for key in cols:
                ref_key = METRICS[key].reference
                v = None
                if ref_key and key not in INLINE_REFERENCE:
                    v = next(
                        (
                            reports[i].evaluation.metrics.get(ref_key)
                            for i in members
                            if ref_key in reports[i].evaluation.metrics
                        ),
                        None,
                    )
                any_ref |= v is not None
                cells.append(
                    {"text": METRICS[ref_key].format(v) if v is not None else "", "best": False}
                )
            if any_ref:
                refs.append(
                    {
                        "name": f"real data ({dataset}, train vs held-out, n = {n})",
                        "recipe": "reference",
                        "cells": cells,
                    }
                )
        tables.append({"title": title, "columns": cols, "rows": rows, "references": refs})
    return tables


# ----------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;
max-width:1200px;padding:0 16px;color:#222;line-height:1.4}
h1{margin-bottom:4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:36px}
.meta{color:#666;font-size:13px}.note{background:#fff8e1;border-left:4px solid #f0b400;
padding:8px 12px;font-size:13px}
table{border-collapse:collapse;margin:8px 0 20px;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#f4f4f4;white-space:normal;vertical-align:bottom}.wide{overflow-x:auto}td.name,th.name{text-align:left}
td.best{font-weight:bold;background:#e6f4ea}td.best::after{content:" \\2605";color:#188038}
tr.ref td{color:#666;font-style:italic;background:#fafafa}
.figs{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
figure{margin:0;max-width:100%}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:12px;color:#555;max-width:560px}
ul.skip{font-size:12px;color:#666}code{font-size:12px}
"""


def _img_tag(fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(fig.caption)}" '
        f'data-key="{fig.key}"><figcaption>{html.escape(fig.caption)}</figcaption></figure>'
    )


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "unknown"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def render_html(reports: list[RunReport], title: str = "vegan report") -> str:
    """The report as one self-contained HTML page."""
    from vegan import __version__

    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="meta">vegan {e(__version__)} &middot; '
        f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} &middot; {len(reports)} run(s)</p>",
        f'<p class="note">{e(NOTE)}</p>',
    ]
    for t in table_model(reports):
        parts.append(f'<h3>{e(t["title"])}</h3><div class="wide"><table><thead><tr>')
        parts.append('<th class="name">run</th><th class="name">recipe</th>')
        parts += [f"<th>{e(METRICS[c].label)}</th>" for c in t["columns"]]
        parts.append("</tr></thead><tbody>")
        for row in t["rows"] + t["references"]:
            cls = ' class="ref"' if row["recipe"] == "reference" else ""
            parts.append(
                f'<tr{cls}><td class="name">{e(row["name"])}</td>'
                f'<td class="name">{e(row["recipe"])}</td>'
            )
            for c in row["cells"]:
                parts.append(
                    f'<td class="best">{e(c["text"])}</td>'
                    if c["best"]
                    else f"<td>{e(c['text'])}</td>"
                )
            parts.append("</tr>")
        parts.append("</tbody></table></div>")
    parts.append(
        '<p class="meta">&#9733; best value per column among runs on the same data '
        "(sharpness: closest to the data's). Rows in grey italics are references.</p>"
    )
    for r in reports:
        ev = r.evaluation
        parts.append(f'<h2 id="{e(r.name)}">{e(r.name)} &mdash; {e(ev.recipe)}</h2>')
        parts.append(
            f'<p class="meta">{e(r.summary)}<br>data <code>{e(ev.dataset)}</code>, '
            f"step {e(str(ev.step))}, training time {_fmt_seconds(r.train_seconds)}, "
            f"evaluated on n = {ev.n} held-out samples, seed {ev.seed} "
            f"({ev.seconds:.0f} s); folder <code>{e(str(r.path))}</code></p>"
        )
        parts.append(f'<p class="meta">options: {e(_options(r.info))}</p>')
        if ev.skipped:
            parts.append(
                '<ul class="skip">'
                + "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in ev.skipped.items())
                + "</ul>"
            )
        parts.append('<div class="figs">')
        parts += [_img_tag(f) for f in r.figures]
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _options(info: dict) -> str:
    cfg = info.get("config", {})
    keys = (
        "latent_dim",
        "prior",
        "encoder",
        "decoder",
        "lam",
        "batch_size",
        "lr",
        "width",
        "epochs",
        "steps",
        "time_budget",
        "seed",
    )
    return ", ".join(f"{k}={cfg[k]}" for k in keys if k in cfg)


# ------------------------------------------------------------------------- Markdown


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def render_markdown(reports: list[RunReport], files_dir: str, title: str = "vegan report"):
    """(Markdown text, {relative file name: PNG bytes}) of the report."""
    from vegan import __version__

    lines = [
        f"# {title}",
        "",
        f"vegan {__version__}, {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
        f"{len(reports)} run(s).",
        "",
        f"> {NOTE}",
        "",
    ]
    files: dict[str, bytes] = {}
    for t in table_model(reports):
        lines += [f"### {t['title']}", ""]
        head = ["run", "recipe"] + [METRICS[c].label for c in t["columns"]]
        lines.append("| " + " | ".join(_md_escape(h) for h in head) + " |")
        lines.append("|" + "---|" * 2 + "---:|" * len(t["columns"]))
        for row in t["rows"] + t["references"]:
            ref = row["recipe"] == "reference"
            cells = [(f"**{c['text']}** ★" if c["best"] else c["text"]) for c in row["cells"]]
            name = f"*{row['name']}*" if ref else row["name"]
            lines.append(
                "| " + " | ".join(_md_escape(s) for s in [name, row["recipe"], *cells]) + " |"
            )
        lines.append("")
    lines += [
        "★ best value per column among runs on the same data (sharpness: closest to "
        "the data's). Italic rows are references.",
        "",
    ]
    for r in reports:
        ev = r.evaluation
        lines += [
            f"## {r.name} — {ev.recipe}",
            "",
            r.summary,
            "",
            f"data `{ev.dataset}`, step {ev.step}, training time "
            f"{_fmt_seconds(r.train_seconds)}, evaluated on n = {ev.n} held-out samples, "
            f"seed {ev.seed}; folder `{r.path}`",
            "",
            f"options: {_options(r.info)}",
            "",
        ]
        for k, v in ev.skipped.items():
            lines.append(f"- skipped {k}: {v}")
        if ev.skipped:
            lines.append("")
        for f in r.figures:
            fname = f"{_slug(r.name)}-{f.key}.png"
            files[fname] = f.png
            lines += [f"![{f.caption}]({files_dir}/{fname})", "", f"*{f.caption}*", ""]
    return "\n".join(lines) + "\n", files


def _slug(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in s).strip("-") or "run"


# ---------------------------------------------------------------------------- entry


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
    n: int = DEFAULT_N,
    seed: int = 0,
    k: int = DEFAULT_K,
    device: str = "cpu",
    reuse: bool = True,
    save: bool = True,
    features: bool = True,
    inception: bool = True,
    title: str = "vegan report",
    log: Callable[[str], None] | None = None,
) -> Path:
    """Evaluate and draw every run of ``run_dirs`` and write the report to ``out``.

    ``fmt`` is ``"html"`` or ``"md"`` (default: from the suffix of ``out``).
    Returns the path written.
    """
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
        collect(
            p,
            name,
            n=n,
            seed=seed,
            k=k,
            device=device,
            reuse=reuse,
            save=save,
            features=features,
            inception=inception,
            log=log,
        )
        for p, name in zip(paths, names)
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


__all__ = ["GROUPS", "RunReport", "collect", "make_report", "render_html", "render_markdown"]
