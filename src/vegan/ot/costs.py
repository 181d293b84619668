r"""Ground costs c(x, y) between samples.

The transport cost of eq. (1) of the VEGAN paper,

.. math::
    W_c(P_X, P_G) = \inf_{\Gamma \in \mathcal{P}(X \sim P_X, Y \sim P_G)}
    \mathbb{E}_{(X, Y) \sim \Gamma}\, c(X, Y),

is defined by a cost c. A :class:`Cost` evaluates it two ways, both in
torch, differentiable and on any device:

* ``pairwise(x, y)`` -> (n, m) matrix C_ij = c(x_i, y_j): the cost matrix of
  the transport problems (exact, Sinkhorn) and of the latent penalties;
* ``paired(x, y)`` -> (n,) vector c(x_i, y_i): the fit term c(X, G(Z)) of
  eq. (11)-(13) between a batch and its reconstruction.

Samples of any trailing shape are flattened: images (n, C, H, W) become
vectors of C*H*W coordinates.

Built-in costs (no hidden factors):

* ``l2sq``: c(x, y) = |x - y|^2, the squared Euclidean distance (no 1/2), so
  W_c = W_2^2;
* ``l2``: c(x, y) = |x - y|, the Euclidean distance, so W_c = W_1;
* ``l1``: c(x, y) = |x - y|_1 = sum_k |x_k - y_k|.

Precision of ``pairwise`` for ``l2sq``/``l2``: the matrix is computed with the
expansion |x|^2 + |y|^2 - 2 <x, y> (one matrix product, BLAS speed, no
(n, m, d) tensor). For nearly identical points this suffers catastrophic
cancellation: the absolute error is about ``machine_eps * |x - mu|^2`` where
mu is the mean of the two sample sets (the data are centered first, which
removes most of the error for data far from the origin). Negative round-off
is clamped at 0, so a duplicated point gets a cost of 0 or a tiny positive
number (about 1e-13 relative in float64, 1e-5 relative in float32), not an
exact 0. ``paired`` computes (x - y)^2 directly and is exact.

Mixed precision: both methods (and :func:`sqeuclidean_matrix`) run with
autocast off and float16/bfloat16 inputs cast to float32
(:mod:`vegan.ot.fp32`), so a cost is never a half-precision matrix product.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from vegan.errors import ConfigError, ShapeError, closest
from vegan.ot.fp32 import float32

CostFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _flat(x: torch.Tensor) -> torch.Tensor:
    if x.dim() == 1:
        return x[:, None]
    return x.reshape(x.shape[0], -1) if x.dim() > 2 else x


def _common(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _flat(x), _flat(y)
    if x.shape[1] != y.shape[1]:
        raise ShapeError(
            f"cannot compute a cost between dimension {x.shape[1]} and {y.shape[1]}; "
            "both sample sets must live in the same space"
        )
    if x.dtype != y.dtype:
        dt = torch.promote_types(x.dtype, y.dtype)
        x, y = x.to(dt), y.to(dt)
    return x, y


def _safe_sqrt(s: torch.Tensor) -> torch.Tensor:
    """sqrt(s) for s >= 0 with gradient 0 (a subgradient) instead of inf/NaN at s = 0."""
    pos = s > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, s, torch.ones_like(s))), 0.0 * s)


@float32
def sqeuclidean_matrix(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pairwise |x_i - y_j|^2 via |x|^2 + |y|^2 - 2 <x, y>, centered, clamped at 0.

    Always at least float32: autocast is off and half-precision inputs are cast up.
    """
    x, y = _common(x, y)
    with torch.no_grad():
        mu = (x.sum(0) + y.sum(0)) / (x.shape[0] + y.shape[0])
    xc, yc = x - mu, y - mu
    xx = (xc * xc).sum(1)
    yy = (yc * yc).sum(1)
    c = torch.addmm(xx[:, None] + yy[None, :], xc, yc.T, alpha=-2.0)
    return c.clamp_min(0.0)


def _l2sq_pairwise(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return sqeuclidean_matrix(x, y)


def _l2sq_paired(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    d = _flat(x) - _flat(y)
    return (d * d).sum(1)


def _l2_pairwise(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _safe_sqrt(sqeuclidean_matrix(x, y))


def _l2_paired(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _safe_sqrt(_l2sq_paired(x, y))


def _l1_pairwise(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x, y = _common(x, y)
    return torch.cdist(x[None], y[None], p=1.0)[0]


def _l1_paired(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (_flat(x) - _flat(y)).abs().sum(1)


class Cost:
    """A ground cost c(x, y), evaluated pairwise (n, m) or paired (n,), in torch.

    Parameters
    ----------
    name : str
        Display name (``"l2sq"``, ``"l2"``, ``"l1"`` or a user's name).
    pairwise : callable
        ``pairwise(x, y)`` maps (n, d) and (m, d) to the (n, m) matrix
        C_ij = c(x_i, y_j).
    paired : callable, optional
        ``paired(x, y)`` maps two (n, d) batches to (c(x_i, y_i))_i. When
        omitted it is the diagonal of ``pairwise`` computed in blocks of 256
        rows (n * 256 evaluations of c, never the full n x n matrix).
    scale : float
        Multiplies every value (the WAE code uses 0.05 * l2sq on MNIST).

    Notes
    -----
    Both methods flatten trailing dimensions, keep the device and dtype of
    the inputs and are differentiable with autograd, so the same object
    serves as the fit term c(X, G(Z)) (``paired``) and inside transport
    penalties (``pairwise``).
    """

    def __init__(
        self,
        name: str,
        pairwise: CostFn,
        paired: CostFn | None = None,
        scale: float = 1.0,
    ) -> None:
        self.name = name
        self._pairwise = pairwise
        self._paired = paired
        self.scale = float(scale)

    @float32
    def pairwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The (n, m) cost matrix C_ij = c(x_i, y_j), in float32 at least (autocast off)."""
        x, y = _common(x, y)
        c = self._pairwise(x, y)
        if tuple(c.shape) != (x.shape[0], y.shape[0]):
            raise ShapeError(
                f"cost {self.name!r} returned shape {tuple(c.shape)} for inputs of "
                f"{x.shape[0]} and {y.shape[0]} samples; a cost callable must map "
                "(n, d) and (m, d) to an (n, m) matrix"
            )
        return c if self.scale == 1.0 else self.scale * c

    @float32
    def paired(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The vector (c(x_i, y_i))_i between two batches of the same size.

        In float32 at least (autocast off): the fit term c(X, G(Z)) of a
        mixed-precision step is computed from float32 copies of the batch
        and of the reconstruction.
        """
        x, y = _common(x, y)
        if x.shape[0] != y.shape[0]:
            raise ShapeError(
                f"paired cost needs batches of the same size, got {x.shape[0]} and {y.shape[0]}"
            )
        if self._paired is not None:
            c = self._paired(x, y)
        else:
            c = torch.cat(
                [
                    self._pairwise(x[s : s + 256], y[s : s + 256]).diagonal()
                    for s in range(0, x.shape[0], 256)
                ]
            )
        return c if self.scale == 1.0 else self.scale * c

    __call__ = pairwise

    def scaled(self, factor: float) -> Cost:
        """This cost multiplied by ``factor`` (e.g. ``l2sq.scaled(0.05)``)."""
        return Cost(
            f"{factor:g}*{self.name}", self._pairwise, self._paired, self.scale * float(factor)
        )

    def __repr__(self) -> str:
        return f"Cost({self.name!r})"


#: Squared Euclidean cost |x - y|^2 (no 1/2 factor): W_c = W_2^2.
l2sq = Cost("l2sq", _l2sq_pairwise, _l2sq_paired)
#: Euclidean cost |x - y|: W_c = W_1.
l2 = Cost("l2", _l2_pairwise, _l2_paired)
#: Manhattan cost |x - y|_1.
l1 = Cost("l1", _l1_pairwise, _l1_paired)

#: Built-in costs by name.
COSTS: dict[str, Cost] = {"l2sq": l2sq, "l2": l2, "l1": l1}
#: Other names accepted for the built-in costs: POT's and SciPy's metric names
#: (``ot.dist(x, y, metric="sqeuclidean")``). The cost keeps its vegan name.
COST_ALIASES: dict[str, str] = {"sqeuclidean": "l2sq", "euclidean": "l2", "cityblock": "l1"}


def get_cost(cost: str | Cost | CostFn) -> Cost:
    """Return a :class:`Cost` from a name, a :class:`Cost` or a callable.

    Parameters
    ----------
    cost : str, Cost or callable
        ``"l2sq"``, ``"l2"`` or ``"l1"`` (or POT's names for them,
        ``"sqeuclidean"``, ``"euclidean"``, ``"cityblock"``); a :class:`Cost`
        (returned as is); or a callable ``c(x, y)`` mapping (n, d), (m, d)
        tensors to the (n, m) matrix of costs, which is wrapped (its paired
        form is the diagonal).

    Raises
    ------
    ConfigError
        For an unknown name (the message names the closest valid one) or an
        object that is neither.
    """
    if isinstance(cost, Cost):
        return cost
    if isinstance(cost, str):
        name = COST_ALIASES.get(cost, cost)
        if name not in COSTS:
            hint = closest(cost, tuple(COSTS) + tuple(COST_ALIASES))
            for alias, canonical in COST_ALIASES.items():
                hint = hint.replace(f"'{alias}'?", f"'{alias}', that is '{canonical}'?")
            raise ConfigError(
                f"unknown cost {cost!r}{hint}; choose one of {', '.join(COSTS)} (POT's names "
                f"{', '.join(COST_ALIASES)} also work) or pass a callable c(x, y)"
            )
        return COSTS[name]
    if callable(cost):
        name = getattr(cost, "__name__", type(cost).__name__)
        return Cost(name, cost)
    raise ConfigError(
        f"cost must be a name ({', '.join(COSTS)}), a vegan.ot.Cost or a callable c(x, y), "
        f"got {type(cost).__name__}"
    )
