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
    (
        "Factors read back from the codes (linear probe)",
        [
            "probe_position",
            "probe_scale",
            "probe_rotation",
            "probe_color",
            "probe_background",
            "probe_stripes",
            "probe_shape",
        ],
    ),
]
#: Metrics whose reference is shown inside each cell (it depends on the run, e.g. on d_z).
INLINE_REFERENCE = ("codes_mmd", "codes_w2sq", "probe_shape")

#: What every report says: transport numbers are read against real-vs-real references.
REFERENCE_NOTE = (
    "Each transport metric is estimated from n samples: read it beside the real-vs-real "
    "reference row (the same number between n training and n held-out points), the value "
    "the data itself reaches at this n."
)
#: For runs on images: pixel-space transport rewards blur.
PIXEL_NOTE = (
    "Pixel-space transport rewards blur: a model whose samples are smooth averages can score "
    "below two real samples. Read W2/W1 beside the real-vs-real reference and the sharpness, "
    "and never rank models on pixel W2 alone."
)
#: For runs with the feature-space metrics of vegan's MNIST classifier.
FEATURES_NOTE = (
    "FD is computed in the features of vegan's own MNIST classifier; it is not Inception FID."
)
#: For runs on data with known factors (shapes64).
PROBE_NOTE = (
    "Factors: a ridge regression from the codes of half of the held-out images, scored on the "
    "other half: R² 1 reads the factor back exactly, 0 no better than its mean; the shape by "
    "a least-squares classifier, its chance accuracy (the most frequent shape) beside it."
)
#: For runs on toy mixtures (modes and high-quality samples).
MODES_NOTE = (
    "A sample is high quality when it lies within 3 standard deviations of its nearest mode; "
    "a mode is covered when it gets at least 20 % of its fair share of high-quality samples."
)


def notes(reports: list[RunReport]) -> list[str]:
    """The notes that apply to the runs of a report (no pixel or MNIST notes for 2-D data)."""
    out = [REFERENCE_NOTE]
    if any(len(r.info.get("sample_shape", ())) == 3 for r in reports):
        out.append(PIXEL_NOTE)
    if any("fd_mnist_cnn" in r.evaluation.metrics for r in reports):
        out.append(FEATURES_NOTE)
    if any("modes_covered" in r.evaluation.metrics for r in reports):
        out.append(MODES_NOTE)
    if any("probe_shape" in r.evaluation.metrics for r in reports):
        out.append(PROBE_NOTE)
    return out


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
    """Every option of a run that is not its default, grouped by where it came from; the length.

    The origins are run.json's ``preset`` record (the preset, ``--config``
    file, ``--set`` or keyword argument that set each value); a value equal
    to the recipe's default is left out, and so is one whose default is
    unknown when nothing set it (a run of an older vegan without origins
    shows the values that differ from the defaults). The length used comes
    last: ``steps=N`` or ``epochs=N``.
    """
    cfg, run = dict(info.get("config") or {}), dict(info.get("run") or {})
    origins = dict((info.get("preset") or {}).get("origins") or {})
    defaults = _defaults(str(info.get("recipe", "")))
    groups: dict[str, list[str]] = {}
    for key, value in [*cfg.items(), *run.items()]:
        if key in ("epochs", "steps"):
            continue
        default = defaults.get(key, _UNKNOWN)
        if _same(value, default):
            continue
        origin = origins.get(key)
        if origin is None:
            if key == "latent_dim" and default == 0:
                origin = "from the data"
            elif default is _UNKNOWN:
                continue
            else:
                origin = "set"
        groups.setdefault(origin, []).append(f"{key}={_shown(value)}")
    parts = [f"{', '.join(items)} ({origin})" for origin, items in groups.items()]
    steps, epochs = run.get("steps", 0), run.get("epochs", 0)
    if steps:
        parts.append(f"steps={steps}")
    elif epochs:
        parts.append(f"epochs={epochs}")
    return "; ".join(parts) or "the recipe's defaults"


_UNKNOWN = object()


def _defaults(recipe: str) -> dict:
    """The default of every option of ``recipe`` and of the run ({} for an unknown recipe)."""
    import dataclasses

    from vegan.errors import VeganError
    from vegan.models.registry import get_recipe
    from vegan.train.options import RunOptions

    out = {f.name: f.default for f in dataclasses.fields(RunOptions)}
    try:
        r = get_recipe(recipe)
    except VeganError:
        return out
    out.update({f.name: f.default for f in dataclasses.fields(r.config)})
    return out


def _same(value, default) -> bool:
    """Whether a run.json value is the default (JSON turns tuples into lists)."""
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return list(value) == list(default)
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    return value == default


def _shown(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def fmt_seconds(s: float | None) -> str:
    """A duration for people: seconds below two minutes, else minutes."""
    if s is None:
        return "unknown"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"
