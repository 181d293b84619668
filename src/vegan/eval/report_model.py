"""The report's content as plain data: runs, their pictures, and the metrics tables.

:class:`RunReport` holds what the report shows of one run (collected by
:mod:`vegan.eval.report`); :func:`table_model` turns a list of them into
tables (columns, rows, best values, real-vs-real reference rows) that the
renderers (:mod:`vegan.eval.report_html`, :mod:`vegan.eval.report_md`) only
lay out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vegan.eval.evaluation import Evaluation
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


def options_text(info: dict) -> str:
    """The options of a run worth a line in a report (recipe's and run's)."""
    cfg = {**info.get("config", {}), **info.get("run", {})}
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


def fmt_seconds(s: float | None) -> str:
    """A duration for people: seconds below two minutes, else minutes."""
    if s is None:
        return "unknown"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"
