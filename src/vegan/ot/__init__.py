"""vegan.ot: the optimal-transport toolkit (arrays in, numbers out).

One implementation of each tool, used by the models (penalties, fit terms)
and by the evaluation (metrics):

* :mod:`~vegan.ot.costs` - ground costs c(x, y): ``l2sq`` (|x - y|^2, so
  W_c = W_2^2), ``l2`` (W_1), ``l1`` (or POT's names ``sqeuclidean``,
  ``euclidean``, ``cityblock``), or any callable; :func:`get_cost`.
* :mod:`~vegan.ot.exact` - exact W_c between empirical measures (eq. (1)),
  network simplex via POT; many pairs at once with :func:`exact_ot_batch`.
* :mod:`~vegan.ot.sinkhorn` - entropic OT and debiased Sinkhorn divergences
  in torch (log-stabilized, epsilon-scaling, Newton-accelerated, batched,
  GPU-capable, differentiable).
* :mod:`~vegan.ot.sliced` - sliced Wasserstein SW_p^p (or SW_p).
* :mod:`~vegan.ot.closed_form` - oracles: 1-D quantile formula, Gaussian
  Bures W_2^2.
* :mod:`~vegan.ot.dual` - the Kantorovich-Rubinstein critic estimate of W_1
  (eq. (2)), :func:`dual_w1`, and the Lipschitz constraints it shares with
  the WGAN recipes (gradient penalty, weight clipping).
* :func:`wasserstein` - one call for all methods.

Conventions (the same for every function; docs/ot.md, "Conventions"):
the value is the transport cost min E c(X, Y) (W_p^p, SW_p^p, never its
p-th root unless asked); weights are used as given, so values scale with
the common total mass, and unequal totals raise ``DataError``; NumPy inputs
give Python floats, torch inputs 0-d tensors, and ``return_result=True``
(or ``return_plan=True``) a result object with plans and dual potentials.
"""

from vegan.ot.api import METHODS, OTResult, wasserstein
from vegan.ot.closed_form import gaussian_w2, wasserstein_1d
from vegan.ot.costs import COST_ALIASES, COSTS, Cost, get_cost, l1, l2, l2sq
from vegan.ot.dual import clip_weights, dual_w1, gradient_penalty
from vegan.ot.exact import (
    ExactResult,
    cost_matrix,
    exact_ot,
    exact_ot_batch,
    exact_ot_from_cost,
)
from vegan.ot.sinkhorn import (
    DivergenceResult,
    SinkhornResult,
    sinkhorn,
    sinkhorn_divergence,
    sinkhorn_from_cost,
)
from vegan.ot.sliced import (
    SlicedResult,
    random_projections,
    sliced_wasserstein,
    wasserstein_1d_batch,
)

__all__ = [
    "COSTS",
    "COST_ALIASES",
    "METHODS",
    "Cost",
    "DivergenceResult",
    "ExactResult",
    "OTResult",
    "SinkhornResult",
    "SlicedResult",
    "clip_weights",
    "cost_matrix",
    "dual_w1",
    "exact_ot",
    "exact_ot_batch",
    "exact_ot_from_cost",
    "gaussian_w2",
    "get_cost",
    "gradient_penalty",
    "l1",
    "l2",
    "l2sq",
    "random_projections",
    "sinkhorn",
    "sinkhorn_divergence",
    "sinkhorn_from_cost",
    "sliced_wasserstein",
    "wasserstein",
    "wasserstein_1d",
    "wasserstein_1d_batch",
]
