"""vegan.eval: measure trained models with optimal transport, and show them.

* :func:`evaluate` / :func:`evaluate_model` - every metric that applies to a run
  (:mod:`~vegan.eval.evaluation`): exact W2^2 / W2 / W1, sliced W2 and MMD^2 in
  data space beside the real-vs-real reference, sharpness, FD and k-NN
  precision/recall in the features of ``vegan-mnist-cnn``
  (:mod:`~vegan.eval.features`), Inception FID when available, toy mode
  metrics, reconstruction cost, codes vs prior and the -ELBO.
* Building blocks, arrays in and numbers out: :mod:`~vegan.eval.metrics`,
  :func:`frechet_distance` (:mod:`~vegan.eval.frechet`),
  :func:`precision_recall` (:mod:`~vegan.eval.prdc`),
  :func:`negative_elbo` (:mod:`~vegan.eval.elbo`).
* :func:`quick_metrics` - the small-n metrics the training loop logs
  (``eval_every``).
* :func:`make_report` - self-contained HTML or Markdown reports
  (:mod:`~vegan.eval.report`); :func:`run_zoo` - every recipe, same budget
  (:mod:`~vegan.eval.zoo`).

Metric keys, labels and which way is better: :mod:`~vegan.eval.names`.
"""

from __future__ import annotations

_LAZY = {
    "Evaluation": "vegan.eval.evaluation",
    "evaluate": "vegan.eval.evaluation",
    "evaluate_model": "vegan.eval.evaluation",
    "load_evaluation": "vegan.eval.evaluation",
    "save_evaluation": "vegan.eval.evaluation",
    "frechet_distance": "vegan.eval.frechet",
    "precision_recall": "vegan.eval.prdc",
    "negative_elbo": "vegan.eval.elbo",
    "mnist_features": "vegan.eval.features",
    "quick_metrics": "vegan.eval.quick",
    "make_report": "vegan.eval.report",
    "run_zoo": "vegan.eval.zoo",
    "METRICS": "vegan.eval.names",
}


def __getattr__(name: str):
    """Import the public names lazily (importing vegan.eval stays cheap for the training loop)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vegan.eval' has no attribute '{name}'")


__all__ = list(_LAZY)
