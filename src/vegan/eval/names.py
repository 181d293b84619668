"""Every metric vegan reports: its key, its label, which way is better, and its reference.

Keys are what ``vegan eval --json`` prints and what ``eval.json`` stores;
labels are what tables show. ``better`` is ``"lower"``, ``"higher"``,
``"closer"`` (closest to the reference value is best, e.g. sharpness) or
``None`` (not ranked: references and information). ``reference`` names the
key of the real-vs-real (or prior-vs-prior) value printed beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from vegan.data.shapes import FACTORS as SHAPE_FACTORS
from vegan.eval.features import NAME as FEATURES


@dataclass(frozen=True)
class Metric:
    """A metric's key, its printed label and which way is better."""

    key: str
    label: str
    better: str | None
    reference: str | None = None
    group: str = "samples"
    fmt: str = "{:.4g}"

    def format(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.key in ("modes_covered", "modes_total"):
            return f"{value:.0f}"
        return self.fmt.format(value)


_ALL = [
    # samples vs held-out data, in data space
    Metric("w2sq", "W2² (exact, l2sq)", "lower", "w2sq_real"),
    Metric("w2", "W2 (exact)", "lower", "w2_real"),
    Metric("w1", "W1 (exact, l2)", "lower", "w1_real"),
    Metric("sw2", "sliced W2", "lower", "sw2_real"),
    Metric("mmd", "MMD² (IMQ)", "lower", "mmd_real", fmt="{:.3g}"),
    Metric("sharpness", "sharpness (mean |grad|)", "closer", "sharpness_data"),
    # toy mixtures
    Metric("modes_covered", "modes covered", "higher", "modes_total", group="toy"),
    Metric("high_quality", "high-quality share (3 std)", "higher", "high_quality_data", "toy"),
    # feature space
    Metric("fd_mnist_cnn", f"FD ({FEATURES} features)", "lower", "fd_mnist_cnn_real", "features"),
    Metric("precision", f"precision (k-NN, {FEATURES})", "higher", "precision_real", "features"),
    Metric("recall", f"recall (k-NN, {FEATURES})", "higher", "recall_real", "features"),
    Metric("fid_inception", "Inception FID (torch-fidelity)", "lower", None, "features"),
    # primal recipes
    Metric("recon_l2sq", "reconstruction |x - G(E(x))|²", "lower", None, "primal"),
    Metric("codes_mmd", "codes vs prior MMD²", "lower", "codes_mmd_ref", "primal", "{:.3g}"),
    Metric("codes_w2sq", "codes vs prior W2²", "lower", "codes_w2sq_ref", "primal"),
    Metric("neg_elbo", "-ELBO (nats/image)", "lower", None, "primal"),
    # known factors (shapes64) read back from the codes by a linear probe
    Metric("probe_position", "position from codes (R²)", "higher", None, "factors", "{:.3f}"),
    Metric("probe_scale", "scale from codes (R²)", "higher", None, "factors", "{:.3f}"),
    Metric("probe_rotation", "rotation from codes (R²)", "higher", None, "factors", "{:.3f}"),
    Metric("probe_color", "shape color from codes (R²)", "higher", None, "factors", "{:.3f}"),
    Metric("probe_background", "background from codes (R²)", "higher", None, "factors", "{:.3f}"),
    Metric("probe_stripes", "stripes from codes (R²)", "higher", None, "factors", "{:.3f}"),
    Metric(
        "probe_shape",
        "shape from codes (accuracy)",
        "higher",
        "probe_shape_chance",
        "factors",
        "{:.3f}",
    ),
]
_REFS = [
    Metric("w2sq_real", "W2² real vs real", None),
    Metric("w2_real", "W2 real vs real", None),
    Metric("w1_real", "W1 real vs real", None),
    Metric("sw2_real", "sliced W2 real vs real", None),
    Metric("mmd_real", "MMD² real vs real", None, fmt="{:.3g}"),
    Metric("sharpness_data", "sharpness of the data", None),
    Metric("modes_total", "modes", None, group="toy"),
    Metric("high_quality_data", "high-quality share of the data", None, group="toy"),
    Metric("fd_mnist_cnn_real", f"FD real vs real ({FEATURES})", None, group="features"),
    Metric("precision_real", "precision real vs real", None, group="features"),
    Metric("recall_real", "recall real vs real", None, group="features"),
    Metric("classifier_accuracy", f"{FEATURES} held-out accuracy", None, group="features"),
    Metric("codes_mmd_ref", "MMD² prior vs prior", None, group="primal", fmt="{:.3g}"),
    Metric("codes_w2sq_ref", "W2² prior vs prior", None, group="primal"),
    Metric("probe_shape_chance", "shape: chance accuracy", None, group="factors", fmt="{:.3f}"),
]
# One R² per factor of shapes64 (eval.json; the tables show the groups above).
_REFS += [
    Metric(f"probe_r2_{f}", f"{f} from codes (R²)", None, group="factors", fmt="{:.3f}")
    for f in SHAPE_FACTORS
]

#: Every metric by key, ranked ones first, in display order.
METRICS: dict[str, Metric] = {m.key: m for m in _ALL + _REFS}
#: The ranked metrics (model values), in display order.
RANKED: list[str] = [m.key for m in _ALL]


def label(key: str) -> str:
    """The display label of a metric key (the key itself when unknown)."""
    m = METRICS.get(key)
    return m.label if m else key


def best_index(key: str, values: list[float | None], reference: float | None = None) -> set[int]:
    """Indices of the best value(s) in ``values`` for metric ``key`` (empty when unranked)."""
    m = METRICS.get(key)
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    if m is None or m.better is None or len(present) < 2:
        return set()
    if m.better == "lower":
        score = {i: v for i, v in present}
    elif m.better == "higher":
        score = {i: -v for i, v in present}
    else:  # closer to the reference value
        if reference is None:
            return set()
        score = {i: abs(v - reference) for i, v in present}
    top = min(score.values())
    tol = 1e-12 * max(1.0, abs(top))
    best = {i for i, s in score.items() if s <= top + tol}
    return set() if len(best) == len(score) else best  # a column of ties has no best


__all__ = ["METRICS", "RANKED", "Metric", "best_index", "label"]
