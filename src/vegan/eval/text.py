"""Plain-text rendering of an evaluation (what ``vegan eval`` prints)."""

from __future__ import annotations

from vegan.eval.evaluation import Evaluation
from vegan.eval.names import METRICS, RANKED


def format_evaluation(ev: Evaluation) -> str:
    """A table: metric, model value, and the reference value beside it."""
    head = (
        f"run {ev.run}  recipe {ev.recipe}  step {ev.step}\n"
        f"data {ev.dataset}, {ev.split} split, {ev.settings.get('n') or f'n = {ev.n}'}, "
        f"seed {ev.seed} "
        f"({ev.seconds:.1f} s)"
    )
    rows = []
    for key in RANKED:
        if key not in ev.metrics:
            continue
        m = METRICS[key]
        ref = ""
        if m.reference and m.reference in ev.metrics:
            ref = f"{METRICS[m.reference].format(ev.metrics[m.reference])}"
            what = {
                "modes_total": "of",
                "codes_mmd_ref": "prior vs prior",
                "codes_w2sq_ref": "prior vs prior",
                "sharpness_data": "data",
                "high_quality_data": "data",
                "probe_shape_chance": "chance",
            }.get(m.reference, "real vs real")
            ref = f"{ref:>10}  ({what})"
        better = {
            "lower": "lower is better",
            "higher": "higher is better",
            "closer": "closer to data is better",
        }.get(m.better or "", "")
        rows.append((m.label, m.format(ev.metrics[key]), ref, better))
    w = max([len(r[0]) for r in rows] + [6])
    lines = [head, "", f"{'metric':<{w}}  {'model':>10}  {'reference':>10}"]
    lines += [f"{a:<{w}}  {b:>10}  {c:<30} {d}".rstrip() for a, b, c, d in rows]
    if "classifier_accuracy" in ev.metrics:
        lines.append("")
        lines.append(
            f"features: {ev.settings.get('features', '')}; precision/recall with "
            f"k = {ev.settings.get('prdc_k', '?')}"
        )
    if "elbo_samples" in ev.settings:
        lines.append(f"-ELBO: {ev.settings['elbo_samples']} draws of z per held-out image")
    for k, v in ev.skipped.items():
        lines.append(f"skipped {k}: {v}")
    return "\n".join(lines)


__all__ = ["format_evaluation"]
