r"""Entropic optimal transport and Sinkhorn divergences, in torch.

Entropic OT (Cuturi 2013) regularizes eq. (1) of the VEGAN paper with the
relative entropy of the plan:

.. math::
    \mathrm{OT}_\varepsilon(\mu, \nu) = \min_{P \ge 0,\ P\mathbf 1 = a,\ P^\top \mathbf 1 = b}
    \langle P, C\rangle + \varepsilon\, \mathrm{KL}(P \,|\, a \otimes b)
    = \max_{f, g}\ \langle a, f\rangle + \langle b, g\rangle
    - \varepsilon \sum_{ij} a_i b_j \big(e^{(f_i + g_j - C_{ij})/\varepsilon} - 1\big),

with optimal plan :math:`P_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/\varepsilon}`.
:func:`sinkhorn` returns the *transport cost* :math:`\langle P, C\rangle` of
that plan (the number POT's ``ot.sinkhorn2`` returns, and the one that tends
to W_c of eq. (1) as epsilon -> 0); the full entropic objective
:math:`\mathrm{OT}_\varepsilon` (the dual value above) is in the result as
``entropic``. :func:`sinkhorn_divergence` debiases the **full entropic
objective** (Feydy et al. 2019, the GeomLoss convention):

.. math::
    S_\varepsilon(\mu, \nu) = \mathrm{OT}_\varepsilon(\mu, \nu)
    - \tfrac12 \mathrm{OT}_\varepsilon(\mu, \mu) - \tfrac12 \mathrm{OT}_\varepsilon(\nu, \nu),

which is >= 0, is 0 iff mu = nu, and tends to W_c(mu, nu) as epsilon -> 0.
POT's ``ot.bregman.empirical_sinkhorn_divergence`` debiases the transport
term only, :math:`T_\varepsilon(\mu, \nu) - \tfrac12 T_\varepsilon(\mu, \mu)
- \tfrac12 T_\varepsilon(\nu, \nu)` with :math:`T_\varepsilon = \langle
P_\varepsilon, C\rangle` (and clamps it at 0): ``debias="transport"``.

``epsilon`` is absolute, in units of the cost (POT's ``reg`` when its ``M``
is the cost matrix). ``epsilon_rel`` instead multiplies the median of the
n*m entries of the cost matrix C(x, y) (for the divergence, of the cross
term; NumPy's median): ``epsilon_rel=0.01`` is 1% of the median pairwise
cost, and the default when neither is given.

Weights are used as given (POT's rule): the plan, <P, C> and S_eps scale
linearly with the common total mass m of a and b, unequal totals raise
:class:`DataError`. (OT_eps itself is not linear in m: with the reference
measure a x b of mass m^2, OT_eps(m mu, m nu) = m OT_eps(mu, nu)
+ eps (m^2 - m - m log m); the constant cancels in S_eps.)

Return kind (the rule of :mod:`vegan.ot`): NumPy inputs give a Python float
(and NumPy arrays in a result), torch inputs a 0-d tensor on their device;
``return_result=True`` or ``return_plan=True`` give a :class:`SinkhornResult`.

Mixed precision: the solvers run with autocast off and cast float16 or
bfloat16 inputs to float32 before anything else (:mod:`vegan.ot.fp32`);
the computation dtype is then float64 (default) or float32 (``dtype``),
never a half-precision one, and the value comes back in float32.

Algorithm
---------
Log-stabilized Sinkhorn with kernel absorption (Schmitzer 2019), in torch
on any device, for one problem or a batch (B, n, m) of equal-size problems:

1. *epsilon-scaling*: epsilon is annealed geometrically (factor ``scaling``)
   from the spread of the cost down to the target, each stage warm-started
   from the previous potentials and stopped at a loose marginal error.
2. *absorption*: at each stage the potentials are folded into a resident
   kernel K_ij = exp((f_i + g_j - C_ij) / eps) (exponents clamped to the
   normal floating range, so no underflow to denormals and no overflow);
   the iterations then only update small scalings u = e^alpha, v = e^beta,
   which costs two matrix-vector products per iteration (memory-bound BLAS,
   30 to 50x cheaper than a logsumexp pass over the n x m matrix; batched
   problems are multiplied one at a time, as CPU BLAS is slow on batched
   matrix-vector products). The
   scalings are folded back into (f, g) and K is rebuilt when they grow
   past e^100 (float64) or e^20 (float32).
3. *Newton acceleration* at the target epsilon (float64 only by default):
   once the marginal error is below 1e-2, inexact Newton steps on the
   semi-dual (Brauer et al. 2017, "A Sinkhorn-Newton method for entropic
   optimal transport"): the Newton system on g, with f eliminated, is solved
   by Jacobi-preconditioned conjugate gradients (two kernel products per CG
   iteration); a step changes no log-scaling by more than 10 (trust region)
   and is accepted by backtracking (Armijo on the semi-dual, or a smaller
   marginal error), with a fall-back to plain Sinkhorn iterations when it
   fails. Sinkhorn's sublinear tail at small epsilon (thousands of
   iterations, sometimes a plateau) becomes a few Newton steps: on 2,000
   MNIST images per side at epsilon = 1% of the median cost, about 500
   iteration-equivalents instead of about 4,000.

Stopping: the solver stops when the marginal error is below ``tol``, when
the work budget ``max_iter`` is spent (``converged=False``; raising it
continues the iterations), or on *stagnation*: 1,000 iterations in which
neither the marginal error fell by 10% nor the dual objective, which Sinkhorn
iterations increase monotonically, rose above its rounding noise (100
machine epsilons times its scale). A plateau of the marginal error is not
stagnation: Sinkhorn iterations can sit thousands of iterations on one
(POT's ``make_1D_gauss`` problem at epsilon = 1e-5 of the cost range: about
0.079 from iteration 4,000 to 5,500) while the dual objective keeps rising,
and then converge. Stagnation is a rounding floor, typically float32
asked for a tolerance below its precision.

Stopping rule: the L1 error of the column marginal, sum_j |(P^T 1)_j - b_j|,
evaluated after the row update (so the row marginal is exact). POT's
``sinkhorn_log`` uses the L2 norm of the same vector, which is never larger,
so a vegan result at ``tol`` also satisfies POT's test at ``stopThr=tol``.

Gradients (envelope theorem)
----------------------------
The iterations run without autograd. The returned values are then attached
to the graph through the final plan only: their gradient with respect to the
cost matrix is P, and with respect to the weights a, b it is f, g (the
gradient of OT_eps by the envelope theorem, Danskin). Gradients flow to x
and y through C = c(x, y) (any differentiable cost), for a cost of one
kernel pass instead of back-propagating through hundreds of iterations. For
``value`` = <P, C> this is the gradient of OT_eps, not the (costlier) exact
derivative of <P(C), C>,

.. math::
    \frac{d\langle P(C), C\rangle}{dC} = P + \Big\langle \frac{\partial P}{\partial C},
    C\Big\rangle \quad\text{vs. vegan's}\quad \frac{d\,\mathrm{OT}_\varepsilon}{dC} = P;

both agree as epsilon -> 0. POT's ``sinkhorn2`` with a torch backend
differentiates through the iterations (approximating the former at the cost
of storing every iteration); vegan's gradient costs one kernel pass.

Precision: computations run in ``dtype``, float64 by default whatever the
input dtype (the values are returned in the input's floating dtype, so a
float32 training graph stays float32). float32 is faster on CPU, but its
potentials carry a relative error of about 1e-7 * max(C) / epsilon,
so marginal tolerances much below 1e-5 may be out of reach (the solver then
stops on stagnation); Newton steps are off by default in float32.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from vegan.errors import ConfigError, ConvergenceError, DataError, ShapeError
from vegan.ot._checks import (
    as_array,
    as_samples,
    as_value,
    as_weights,
    check_allocation,
    check_choice,
    check_masses,
    check_same_dim,
    is_tensor,
    output_dtype,
    positive_float,
    positive_int,
)
from vegan.ot.costs import Cost, CostFn, get_cost
from vegan.ot.fp32 import float32

#: Work limit when ``max_iter`` is not given (in kernel product pairs, see :class:`SinkhornResult`).
DEFAULT_MAX_ITER = 10_000
#: Epsilon when neither ``epsilon`` nor ``epsilon_rel`` is given: this fraction of the median cost.
DEFAULT_EPSILON_REL = 0.01
#: Ways :func:`sinkhorn_divergence` debiases: the full entropic objective (Feydy et al.,
#: GeomLoss) or the transport term only (POT's ``empirical_sinkhorn_divergence``).
DEBIAS = ("entropic", "transport")
#: n x m matrices of a solve and its backward pass, for the memory check: 3.2 alive at
#: the peak (n = m = 2,000, float64, with gradients; tests/reliability/test_rel_limits.py),
#: with room for what the allocator keeps after frees (the resident peak was 4.1 to 6.7
#: matrices from run to run with glibc's default, dynamic mmap threshold)
PLAN_MATRICES = 6
#: Marginal error at which an annealing stage hands over to the next, smaller epsilon.
STAGE_TOL = 1e-3
#: Marginal error below which Newton steps start at the target epsilon.
NEWTON_START = 1e-2
#: Iterations in which neither the marginal error fell by 10% nor the dual objective rose
#: above its rounding noise, after which the solver reports stagnation.
STALL_ITER = 1000
#: Rounding noise of the dual objective, in units of eps_machine * (sum a|f| + sum b|g| + spread).
DUAL_NOISE = 100.0
#: Largest change of a log-scaling (units of epsilon) tried by a Newton step.
NEWTON_MAX_STEP = 10.0
#: Entries per block when the median of a cost matrix looks for its upper middle value.
MEDIAN_BLOCK = 2**20
#: Kernel entries (B n m) up to which CPU problems run on one intra-op thread.
SMALL_PROBLEM = 2**18
#: Conjugate-gradient iterations allowed per Newton step.
CG_MAX_ITER = 1000


@dataclass
class SinkhornResult:
    """Result of an entropic OT solve.

    Attributes
    ----------
    value : Tensor
        Transport cost <P, C> of the entropic plan: a scalar, or (B,) for a
        batch. Differentiable (gradient of OT_eps, see the module notes).
    entropic : Tensor
        OT_eps = <P, C> + eps KL(P | a x b), as the dual objective at the
        final potentials. Differentiable likewise.
    f, g : Tensor
        Dual potentials (n,), (m,) (or batched), detached:
        P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps).
    plan : Tensor or None
        The plan P (n, m), when requested.
    epsilon : float
        The absolute epsilon used.
    n_iter : int
        Work done, in Sinkhorn-iteration equivalents (pairs of products with
        the n x m kernel): Sinkhorn iterations, CG iterations and line-search
        trials together. ``max_iter`` bounds this number.
    n_newton : int
        Newton steps taken.
    marginal_error : float
        L1 error of the column marginal with the row marginal exact (the
        maximum over the batch).
    converged : bool
        Whether ``marginal_error < tol``.
    """

    value: torch.Tensor
    entropic: torch.Tensor
    f: torch.Tensor
    g: torch.Tensor
    plan: torch.Tensor | None
    epsilon: float
    n_iter: int
    n_newton: int
    marginal_error: float
    converged: bool


# --------------------------------------------------------------------------- core solver


@dataclass
class _State:
    f: torch.Tensor  # (B, n) potentials absorbed in K
    g: torch.Tensor  # (B, m)
    alpha: torch.Tensor  # (B, n) log-scalings on top of K
    beta: torch.Tensor  # (B, m)
    K: torch.Tensor  # (B, n, m) kernel exp((f + g - C) / eps)
    err: float = math.inf
    work2: int = 0  # kernel products (two per iteration)
    n_newton: int = 0
    stagnated: bool = False
    trace: list = field(default_factory=list)  # (epsilon, products so far, error) per stage
    trace_err: list = field(default_factory=list)  # (products so far, error) per iteration


def _schedule(eps: float, spread: float, scaling: float | None) -> list[float]:
    """Geometric epsilon schedule from ``spread`` down to ``eps`` (inclusive)."""
    if scaling is None or spread <= eps:
        return [eps]
    out = []
    e = spread
    while e > eps:
        out.append(e)
        e *= scaling
    out.append(eps)
    return out


def _solve(
    C: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    eps: float,
    tol: float,
    max_iter: int,
    scaling: float | None,
    newton: bool,
) -> tuple[_State, bool]:
    """Run epsilon-scaling + absorbed Sinkhorn (+ Newton) on C (B, n, m); no autograd."""
    B, n, m = C.shape
    dt = C.dtype
    info = torch.finfo(dt)
    absorb_at = 100.0 if dt == torch.float64 else 20.0
    # Exponent clamp: kernel entries, and their products with the scaled weights
    # b e^beta >= e^-absorb_at / m, stay normal numbers (denormals slow BLAS down
    # tenfold); the floor is below 1e-17 of the entries that matter.
    lo = math.log(info.tiny) + absorb_at + 2.0 * math.log(max(n, m)) + 10.0
    hi = math.log(info.max) - math.log(max(n, m)) - 2.0

    f = C.amin(dim=2)  # row minima: every row of the first kernel has an entry exp(0) = 1
    g = torch.zeros(B, m, dtype=dt, device=C.device)
    spread = float(C.amax() - f.amin())
    schedule = _schedule(eps, spread, scaling)
    if len(schedule) > max(1, max_iter // 4):
        # a tight budget: fewer, coarser stages, so most of it goes to the target epsilon
        k = max(1, max_iter // 4)
        coarse = (eps / spread) ** (1.0 / k) if k > 1 else None
        schedule = _schedule(eps, spread, coarse)[-k:]
    st = _State(f=f, g=g, alpha=torch.zeros_like(f), beta=g.clone(), K=torch.empty_like(C))
    eps_dt = info.eps
    budget2 = 2 * max_iter
    stage_budget2 = 2 * max(1, max_iter // (2 * max(1, len(schedule) - 1)))

    # Matrix-vector products one problem at a time: batched (B, n, m) x (B, m, 1)
    # products take a slow path in CPU BLAS (10x slower than B separate gemv).
    def kv(w: torch.Tensor) -> torch.Tensor:  # K w, (B, m) -> (B, n)
        st.work2 += 1
        return torch.stack([torch.mv(st.K[i], w[i]) for i in range(B)])

    def ktu(w: torch.Tensor) -> torch.Tensor:  # K^T w, (B, n) -> (B, m)
        st.work2 += 1
        return torch.stack([torch.mv(st.K[i].T, w[i]) for i in range(B)])

    def absorb(e: float) -> None:
        st.f += e * st.alpha
        st.g += e * st.beta
        st.alpha.zero_()
        st.beta.zero_()
        K = st.K
        torch.add(st.f.unsqueeze(-1), st.g.unsqueeze(-2), out=K)
        K.sub_(C).div_(e).clamp_(min=lo, max=hi).exp_()

    def semi_dual(e: float) -> tuple[list[float], list[float]]:
        """<a, f + e alpha> + <b, g + e beta> (rows exact) and its rounding noise."""
        dual = (a * (st.f + e * st.alpha)).sum(-1) + (b * (st.g + e * st.beta)).sum(-1)
        size = (a * st.f.abs()).sum(-1) + (b * st.g.abs()).sum(-1) + spread * a.sum(-1)
        return dual.tolist(), (DUAL_NOISE * eps_dt * size).tolist()

    converged = False
    for k, e in enumerate(schedule):
        final = k == len(schedule) - 1
        target = tol if final else max(tol, STAGE_TOL)
        stop2 = budget2 if final else min(budget2, st.work2 + stage_budget2)
        absorb(e)
        st.alpha = -torch.log(kv(b))
        use_newton = newton and final
        cooldown = 0
        ref_err, ref_work2, ref_dual = math.inf, st.work2, None
        s = ktu(a * st.alpha.exp())

        while True:
            col = b * st.beta.exp() * s
            err_b = (col - b).abs().sum(-1)
            st.err = float(err_b.max())
            if not math.isfinite(st.err):
                raise ConvergenceError(
                    f"Sinkhorn broke down numerically at epsilon={e:.3g} (non-finite "
                    "marginals); use float64 or a larger epsilon"
                )
            if final:
                st.trace_err.append((st.work2, st.err))
            if st.err < target:
                converged = final
                break
            if st.work2 >= stop2:
                break
            if st.err < 0.9 * ref_err:
                ref_err, ref_work2 = st.err, st.work2
                ref_dual = semi_dual(e)[0] if final else None
            elif final and st.work2 - ref_work2 > 2 * STALL_ITER:
                # No 10% drop of the marginal error in STALL_ITER iterations. A plateau
                # is not a stall while the dual objective (increasing along Sinkhorn
                # iterations) still rises above its rounding noise for an unsolved problem.
                dual, noise = semi_dual(e)
                errs = err_b.tolist()
                rising = ref_dual is not None and any(
                    errs[i] >= target and dual[i] - ref_dual[i] > noise[i] for i in range(B)
                )
                if not rising:
                    st.stagnated = True  # neither measure moves: a rounding floor (float32)
                    break
                ref_work2, ref_dual = st.work2, dual
            if use_newton and cooldown == 0 and st.err < NEWTON_START:
                s_new, all_ok = _newton_step(st, a, b, s, err_b, tol, kv, ktu, stop2)
                if s_new is not None:
                    s = s_new
                    if max(float(st.alpha.abs().max()), float(st.beta.abs().max())) > absorb_at:
                        absorb(e)
                        s = ktu(a * st.alpha.exp())
                if all_ok:
                    continue
                cooldown = 20  # a step failed: a few plain iterations, then try again
                if s_new is not None:
                    continue
            cooldown = max(0, cooldown - 1)
            st.beta = -torch.log(s)
            st.alpha = -torch.log(kv(b * st.beta.exp()))
            if max(float(st.alpha.abs().max()), float(st.beta.abs().max())) > absorb_at:
                absorb(e)
            s = ktu(a * st.alpha.exp())
        st.f += e * st.alpha
        st.g += e * st.beta
        st.trace.append((e, st.work2, st.err))
        if not final:
            st.alpha.zero_()
            st.beta.zero_()
    return st, converged


def _newton_step(
    st: _State,
    a: torch.Tensor,
    b: torch.Tensor,
    s: torch.Tensor,
    err_b: torch.Tensor,
    tol: float,
    kv: Any,
    ktu: Any,
    stop2: int,
) -> tuple[torch.Tensor | None, bool]:
    """One inexact Newton step on the semi-dual in beta.

    Returns the new K^T(a u) (None when no problem of the batch improved)
    and whether every problem of the batch improved.

    With alpha eliminated (alpha(beta) = -log K(b e^beta), rows exact) the
    semi-dual phi(beta) = <a, alpha(beta)> + <b, beta> is concave with
    gradient b - c (c the column marginal) and Hessian -S,
    S = diag(c) - P^T diag(1/a) P. S d = b - c is solved by Jacobi-PCG;
    the step is accepted by backtracking (Armijo on phi, or a smaller marginal error).
    """
    u = st.alpha.exp()
    bv = b * st.beta.exp()
    c = bv * s
    rhs = b - c
    au2 = a * u * u
    cinv = torch.where(c > 0, 1.0 / c, torch.zeros_like(c))
    rtol = (0.3 * tol / err_b).clamp(0.01, 0.1).unsqueeze(-1)

    def S(p: torch.Tensor) -> torch.Tensor:
        return c * p - bv * ktu(au2 * kv(bv * p))

    d = torch.zeros_like(rhs)
    r = rhs.clone()
    z = r * cinv
    p = z.clone()
    rz = (r * z).sum(-1, keepdim=True)
    r0 = r.norm(dim=-1, keepdim=True)
    active = r0 > 0
    for _ in range(CG_MAX_ITER):
        if st.work2 + 2 > stop2:
            break
        Sp = S(p)
        pSp = (p * Sp).sum(-1, keepdim=True)
        active = active & (pSp > 0)
        step = torch.where(active, rz / torch.where(active, pSp, 1.0), 0.0)
        d += step * p
        r -= step * Sp
        active = active & (r.norm(dim=-1, keepdim=True) > rtol * r0)
        if not bool(active.any()):
            break
        z = r * cinv
        rz_new = (r * z).sum(-1, keepdim=True)
        ratio = torch.where(active & (rz > 0), rz_new / torch.where(rz > 0, rz, 1.0), 0.0)
        p = z + ratio * p
        rz = torch.where(active, rz_new, rz)
    if not bool(torch.isfinite(d).all()):
        return None, False
    # Backtracking, per problem of the batch: accept a step that increases the
    # concave semi-dual phi (Armijo) or decreases the marginal error.
    B = d.shape[0]
    # trust region: a first trial changes no log-scaling by more than NEWTON_MAX_STEP
    dmax = d.abs().amax(-1, keepdim=True)
    t = torch.where(dmax > NEWTON_MAX_STEP, NEWTON_MAX_STEP / dmax, torch.ones_like(dmax))
    done = torch.zeros(B, dtype=torch.bool, device=d.device)
    phi0 = (a * st.alpha).sum(-1) + (b * st.beta).sum(-1)
    slope = (rhs * d).sum(-1)
    alpha, beta, s_out = st.alpha.clone(), st.beta.clone(), s.clone()
    for _ in range(12):
        if st.work2 + 2 > stop2:
            break
        bt = st.beta + t * d
        at = -torch.log(kv(b * bt.exp()))
        st_ = ktu(a * at.exp())
        err_t = (b * bt.exp() * st_ - b).abs().sum(-1)
        phi_t = (a * at).sum(-1) + (b * bt).sum(-1)
        better = (phi_t >= phi0 + 1e-4 * t[:, 0] * slope) | (err_t < err_b)
        ok = ~done & torch.isfinite(err_t) & torch.isfinite(phi_t) & better
        if bool(ok.any()):
            alpha[ok], beta[ok], s_out[ok] = at[ok], bt[ok], st_[ok]
            done |= ok
        if bool(done.all()):
            break
        t = torch.where(done.unsqueeze(-1), t, 0.5 * t)
    if not bool(done.any()):
        return None, False
    st.alpha, st.beta = alpha, beta
    st.n_newton += 1
    return s_out, bool(done.all())


# --------------------------------------------------------------------------- helpers


def _median(C: torch.Tensor) -> float:
    """The median of all entries of ``C``, NumPy's definition (mean of the two middle values).

    ``torch.median`` returns the lower of the two middle values for an even
    count; the upper one is then the smallest entry above it (unless ties
    reach past the middle), found block by block, so no temporary of the
    size of C is made beyond ``torch.median``'s own copy.
    """
    flat = C.detach().reshape(-1)
    k = flat.numel()
    lower = flat.median()
    if k % 2:
        return float(lower)
    at_most, upper = 0, math.inf
    for s in range(0, k, MEDIAN_BLOCK):
        part = flat[s : s + MEDIAN_BLOCK]
        at_most += int((part <= lower).sum())
        above = part[part > lower]
        if above.numel():
            upper = min(upper, float(above.min()))
    if at_most > k // 2:  # ties: the upper middle value equals the lower one
        upper = float(lower)
    return 0.5 * (float(lower) + upper)


def _resolve_epsilon(epsilon: Any, epsilon_rel: Any, C: torch.Tensor) -> float:
    """Absolute epsilon from ``epsilon``, or ``epsilon_rel`` (default 0.01) * median(C)."""
    if epsilon is not None and epsilon_rel is not None:
        raise ConfigError(
            "give one of epsilon (absolute, in units of the cost) and epsilon_rel "
            "(a fraction of the median pairwise cost, e.g. 0.01), not both"
        )
    if epsilon is not None:
        return positive_float(epsilon, "epsilon")
    if epsilon_rel is None:
        epsilon_rel = DEFAULT_EPSILON_REL
    rel = positive_float(epsilon_rel, "epsilon_rel")
    med = _median(C)
    if not med > 0:
        raise ConfigError(
            "epsilon_rel needs a positive median cost, but the median pairwise cost is 0 "
            "(mostly identical points); give an absolute epsilon instead"
        )
    return rel * med


def _compute_dtype(dtype: torch.dtype | None) -> torch.dtype:
    if dtype is None:
        dtype = torch.float64
    if dtype not in (torch.float32, torch.float64):
        raise ConfigError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    return dtype


def _check_options(
    tol: Any, max_iter: Any, scaling: Any, check_convergence: bool | None
) -> tuple[float, int, float | None, bool]:
    tol_ = positive_float(tol, "tol")
    if max_iter is None:
        iters, check = DEFAULT_MAX_ITER, True if check_convergence is None else check_convergence
    else:
        iters = positive_int(max_iter, "max_iter")
        check = False if check_convergence is None else bool(check_convergence)
    if scaling is not None:
        sc = positive_float(scaling, "scaling")
        if not sc < 1:
            raise ConfigError(
                f"scaling must be in (0, 1) (or None for no annealing), got {scaling}"
            )
        scaling = sc
    return tol_, iters, scaling, check


def _bdot(P: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """Batched Frobenius product sum_ij P_ij C_ij -> (B,)."""
    return torch.stack([torch.dot(P[i].reshape(-1), C[i].reshape(-1)) for i in range(P.shape[0])])


@contextlib.contextmanager
def _intra_op_threads(entries: int, device: torch.device) -> Iterator[None]:
    """Run small CPU problems on one intra-op thread.

    Below :data:`SMALL_PROBLEM` kernel entries the solver is bound by the
    overhead of its many small tensor operations, and torch's thread pool
    only adds latency; on a busy machine every parallel region can wait
    milliseconds for a descheduled worker (measured: a 100-point divergence
    took 3.6 s with 2 threads on a loaded 2-core machine, 63 ms with 1).
    The previous setting is restored on exit (it is process-wide meanwhile).
    """
    n_threads = torch.get_num_threads()
    if device.type != "cpu" or entries > SMALL_PROBLEM or n_threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n_threads)


def _entropic_ot(
    C: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    eps: float,
    tol: float,
    max_iter: int,
    scaling: float | None,
    newton: bool | None,
    dtype: torch.dtype,
    check: bool,
    return_plan: bool,
    out_dtype: torch.dtype,
) -> SinkhornResult:
    """Solve batched problems C (B, n, m) with weights (B, n), (B, m); attach gradients."""
    Cd = C.detach().to(dtype).contiguous()
    ad, bd = a.detach().to(dtype), b.detach().to(dtype)
    use_newton = (dtype == torch.float64) if newton is None else bool(newton)
    with torch.no_grad(), _intra_op_threads(Cd.numel(), Cd.device):
        st, converged = _solve(Cd, ad, bd, eps, tol, max_iter, scaling, use_newton)
        # plan P = diag(a e^alpha) K diag(b e^beta), built in place of the kernel
        P = st.K
        P.mul_((ad * st.alpha.exp()).unsqueeze(-1)).mul_((bd * st.beta.exp()).unsqueeze(-2))
        transport = _bdot(P, Cd)
        mass = P.sum((-2, -1))
        dual = (ad * st.f).sum(-1) + (bd * st.g).sum(-1) - eps * (mass - ad.sum(-1) * bd.sum(-1))
    if check and not converged:
        raise ConvergenceError(_failure_message(st, tol, eps, max_iter, dtype))
    value, entropic = transport, dual
    if C.requires_grad or a.requires_grad or b.requires_grad:
        Cg = C.to(dtype)
        link = _bdot(P, Cg) + (a.to(dtype) * st.f).sum(-1) + (b.to(dtype) * st.g).sum(-1)
        link = link - link.detach()
        value, entropic = transport + link, dual + link
    return SinkhornResult(
        value=value.to(out_dtype),
        entropic=entropic.to(out_dtype),
        f=st.f,
        g=st.g,
        plan=P if return_plan else None,
        epsilon=eps,
        n_iter=st.work2 // 2,
        n_newton=st.n_newton,
        marginal_error=st.err,
        converged=converged,
    )


def _failure_message(st: _State, tol: float, eps: float, max_iter: int, dtype: torch.dtype) -> str:
    """One line saying why the solver stopped short of ``tol`` and what will help."""
    it = st.work2 // 2
    where = f"marginal error {st.err:.2e} > tol={tol:g} (epsilon={eps:.4g})"
    if st.stagnated:
        hint = "use dtype=torch.float64, " if dtype == torch.float32 else ""
        return (
            f"Sinkhorn stagnated after {it} iterations with {where}: neither the marginal "
            f"error nor the dual objective moved for {STALL_ITER} iterations (a rounding "
            f"floor); {hint}raise tol or epsilon, or pass check_convergence=False"
        )
    # the work budget was spent: say how the error moved over its second half
    half = next((e for w, e in st.trace_err if w >= st.work2 // 2), math.inf)
    trend = ""
    if math.isfinite(half):
        trend = f"; it was {half:.2e} at iteration {it // 2}"
        if st.err < 0.9 * half:  # geometric extrapolation of the second half down to tol
            more = (it - it // 2) * math.log(st.err / tol) / math.log(half / st.err)
            trend += f", a rate that needs about {_round_up(more)} more iterations"
    return (
        f"Sinkhorn used its budget of max_iter={max_iter} iterations with {where}{trend}: "
        "raise max_iter (the iterations continue from where they are, plateaus included), "
        "raise epsilon or tol, or pass check_convergence=False"
    )


def _round_up(k: float) -> str:
    """A count rounded up to two significant digits, with thousands separators."""
    if not math.isfinite(k) or k > 1e12:
        return "more than 10^12"
    k = max(int(math.ceil(k)), 1)
    q = 10 ** max(len(str(k)) - 2, 0)
    return f"{-(-k // q) * q:,}"


def _squeeze(res: SinkhornResult) -> SinkhornResult:
    res.value, res.entropic = res.value[0], res.entropic[0]
    res.f, res.g = res.f[0], res.g[0]
    if res.plan is not None:
        res.plan = res.plan[0]
    return res


def _to_kind(res: SinkhornResult, torch_out: bool) -> SinkhornResult:
    """Return the result's value and arrays in the inputs' kind (module notes)."""
    if not torch_out:
        res.value = as_value(res.value, False, res.value.dtype, "cpu")
        res.entropic = as_value(res.entropic, False, res.entropic.dtype, "cpu")
        res.f = as_array(res.f, False, res.f.dtype, "cpu")
        res.g = as_array(res.g, False, res.g.dtype, "cpu")
        res.plan = as_array(res.plan, False, torch.float64, "cpu")
    return res


# --------------------------------------------------------------------------- public API


@float32
def sinkhorn_from_cost(
    C: Any,
    epsilon: float | None = None,
    *,
    epsilon_rel: float | None = None,
    a: Any = None,
    b: Any = None,
    tol: float = 1e-6,
    max_iter: int | None = None,
    scaling: float | None = 0.5,
    newton: bool | None = None,
    dtype: torch.dtype | None = None,
    check_convergence: bool | None = None,
    return_result: bool = False,
    return_plan: bool = False,
) -> Any:
    r"""Entropic OT for a given cost matrix C (n, m), or a batch C (B, n, m).

    Solves min_P <P, C> + eps KL(P | a x b) (module notes) and returns the
    transport cost <P, C> of the entropic plan (POT's ``ot.sinkhorn2(a, b,
    C, reg)`` with its log-domain method), or a :class:`SinkhornResult` with
    ``return_result=True`` or ``return_plan=True``. For a batch every field
    gains a leading B axis and ``a``, ``b`` may be (n,), (m,) or (B, n),
    (B, m). A tensor ``C`` gives tensors (and may require grad: the gradient
    of ``value`` and ``entropic`` is P, the envelope theorem); a NumPy ``C``
    gives floats and NumPy arrays. Parameters are those of :func:`sinkhorn`.
    """
    torch_out = is_tensor(C)
    if not torch_out:
        try:
            C = torch.as_tensor(np.asarray(C, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise DataError(f"the cost matrix cannot be read as a numeric array ({exc})") from exc
    if not C.is_floating_point():
        C = C.to(torch.get_default_dtype())
    if C.dim() not in (2, 3) or C.shape[-1] == 0 or C.shape[-2] == 0 or C.numel() == 0:
        raise ShapeError(
            f"cost matrix has shape {tuple(C.shape)}; expected a non-empty (n, m) or (B, n, m)"
        )
    if not bool(torch.isfinite(C.detach()).all()):
        raise DataError("the cost matrix contains NaN or inf values; check the cost function")
    batched = C.dim() == 3
    Cb = C if batched else C.unsqueeze(0)
    B, n, m = Cb.shape
    dt = _compute_dtype(dtype)
    tol_, iters, scaling, check = _check_options(tol, max_iter, scaling, check_convergence)
    eps = _resolve_epsilon(epsilon, epsilon_rel, Cb)
    wa = _batch_weights(a, B, n, "a", dt, C.device)
    wb = check_masses(wa, _batch_weights(b, B, m, "b", dt, C.device))
    res = _entropic_ot(
        Cb, wa, wb, eps, tol_, iters, scaling, newton, dt, check, return_plan, C.dtype
    )
    res = _to_kind(res if batched else _squeeze(res), torch_out)
    return res if (return_result or return_plan) else res.value


def _batch_weights(
    w: Any, B: int, n: int, name: str, dt: torch.dtype, device: torch.device
) -> torch.Tensor:
    if isinstance(w, (torch.Tensor, np.ndarray)) and w.ndim == 2:
        if w.shape[0] != B:
            raise ShapeError(f"weights {name} have batch size {w.shape[0]}, expected {B}")
        return torch.stack([as_weights(wi, n, name, dt, device) for wi in w])
    return as_weights(w, n, name, dt, device).expand(B, n)


def _prepare(
    x: Any, y: Any, cost: Any, a: Any, b: Any, dtype: torch.dtype | None
) -> tuple[torch.Tensor, torch.Tensor, Cost, torch.Tensor, torch.Tensor, torch.dtype, torch.dtype]:
    """Validated samples and weights in the compute dtype, plus (compute, output) dtypes."""
    xs = as_samples(x, "x")
    ys = as_samples(y, "y").to(xs.device)
    check_same_dim(xs, ys)
    out = output_dtype(xs, ys)
    dt = _compute_dtype(dtype)
    xs, ys = xs.to(dt), ys.to(dt)
    c = get_cost(cost)
    wa = as_weights(a, xs.shape[0], "a", dt, xs.device)
    wb = check_masses(wa, as_weights(b, ys.shape[0], "b", dt, xs.device))
    n, m = xs.shape[0], ys.shape[0]
    check_allocation(
        PLAN_MATRICES * n * m * dt.itemsize,
        xs.device,
        f"entropic transport between {n} and {m} samples",
        f"it holds {PLAN_MATRICES} n x m matrices: subsample, or use method='sliced'",
    )
    return xs, ys, c, wa, wb, dt, out


@float32
def sinkhorn(
    x: Any,
    y: Any,
    epsilon: float | None = None,
    *,
    epsilon_rel: float | None = None,
    cost: str | Cost | CostFn = "l2sq",
    a: Any = None,
    b: Any = None,
    tol: float = 1e-6,
    max_iter: int | None = None,
    scaling: float | None = 0.5,
    newton: bool | None = None,
    dtype: torch.dtype | None = None,
    check_convergence: bool | None = None,
    return_result: bool = False,
    return_plan: bool = False,
) -> Any:
    r"""Transport cost <P_eps, C> of the entropic plan between two sample sets.

    Parameters
    ----------
    x, y : tensor or array, (n, ...) and (m, ...)
        Samples (flattened; 1-D means points on the line). Tensors keep their
        device; gradients flow to them through the cost.
    epsilon : float, optional
        Absolute regularization, in units of the cost (POT's ``reg``).
    epsilon_rel : float, optional
        Instead of ``epsilon``: a fraction of the median of the cost matrix
        (NumPy's median). With neither, ``epsilon_rel=0.01``.
    cost : str, Cost or callable
        Ground cost; ``"l2sq"`` (default) makes the value tend to W_2^2.
    a, b : array, optional
        Sample weights of equal total (default uniform); not normalized:
        the value scales with the total mass.
    tol : float
        Target L1 marginal error (module notes; default 1e-6).
    max_iter : int, optional
        Work budget in Sinkhorn-iteration equivalents. Left at None: up to
        10,000 and a :class:`ConvergenceError` if ``tol`` is not reached. Set
        explicitly it is a budget (e.g. 100 per training step): the solver
        stops there without error unless ``check_convergence=True``. Only a
        rounding floor ends a run before its budget (module notes).
    scaling : float or None
        Epsilon-annealing factor in (0, 1) (default 0.5); None: no annealing.
    newton : bool, optional
        Newton acceleration at the target epsilon; default: on in float64.
    dtype : torch.dtype, optional
        Computation dtype, float64 (default) or float32; the value is
        returned in the floating dtype of the inputs.
    check_convergence : bool, optional
        Raise :class:`ConvergenceError` when ``tol`` is not reached (default:
        True when ``max_iter`` is None, else False).
    return_result : bool
        Return the :class:`SinkhornResult` (value, entropic value, potentials,
        iterations, marginal error) instead of the value.
    return_plan : bool
        Also store the plan (n, m) in the result (implies ``return_result``).

    Returns
    -------
    float, Tensor or SinkhornResult
        <P, C>: a float for NumPy inputs, a differentiable 0-d tensor for
        torch inputs; or the full result, of the same kind.
    """
    xs, ys, c, wa, wb, dt, out = _prepare(x, y, cost, a, b, dtype)
    tol_, iters, scaling, check = _check_options(tol, max_iter, scaling, check_convergence)
    with _intra_op_threads(xs.shape[0] * ys.shape[0], xs.device):
        C = c.pairwise(xs, ys)
        eps = _resolve_epsilon(epsilon, epsilon_rel, C)
        args = (eps, tol_, iters, scaling, newton, dt, check, return_plan, out)
        res = _squeeze(_entropic_ot(C[None], wa[None], wb[None], *args))
    res = _to_kind(res, is_tensor(x, y))
    return res if (return_result or return_plan) else res.value


@dataclass
class DivergenceResult:
    """Result of :func:`sinkhorn_divergence` with ``return_result=True``.

    Attributes
    ----------
    value : float or Tensor
        S_eps (``debias="entropic"``) or the transport-only variant.
    xy, xx, yy : SinkhornResult
        The three entropic problems (values, potentials, iterations).
    f, g : numpy.ndarray or Tensor
        Debiased potentials f_xy - f_xx on x and g_xy - g_yy on y: the
        gradient of S_eps with respect to the weights a and b (Feydy et al.
        2019), up to an additive constant.
    debias : str
        ``"entropic"`` or ``"transport"``.
    """

    value: Any
    xy: SinkhornResult
    xx: SinkhornResult
    yy: SinkhornResult
    f: Any
    g: Any
    debias: str


@float32
def sinkhorn_divergence(
    x: Any,
    y: Any,
    epsilon: float | None = None,
    *,
    epsilon_rel: float | None = None,
    cost: str | Cost | CostFn = "l2sq",
    a: Any = None,
    b: Any = None,
    tol: float = 1e-6,
    max_iter: int | None = None,
    scaling: float | None = 0.5,
    newton: bool | None = None,
    dtype: torch.dtype | None = None,
    check_convergence: bool | None = None,
    debias: str = "entropic",
    return_result: bool = False,
) -> Any:
    r"""Debiased Sinkhorn divergence S_eps = OT_eps(x, y) - (OT_eps(x, x) + OT_eps(y, y)) / 2.

    With ``debias="entropic"`` (default) OT_eps is the full entropic
    objective, transport cost plus eps KL(P | a x b) (the dual value), as in
    Feydy et al. 2019 ("Interpolating between optimal transport and MMD
    using Sinkhorn divergences", eq. (4)) and GeomLoss: S_eps >= 0, it
    vanishes when the two weighted sample sets are equal, and tends to W_c as
    epsilon -> 0, so it can be used as a latent penalty (Sinkhorn-WAE).
    With ``debias="transport"`` each term is the transport cost
    T_eps = <P_eps, C> of its entropic plan, POT's
    ``ot.bregman.empirical_sinkhorn_divergence`` (without POT's clamp at 0):
    also 0 for equal sets, but not guaranteed >= 0. Both are linear in the
    common total mass of the weights (the mass terms of KL cancel).

    With ``epsilon_rel`` (default 0.01) the same absolute epsilon, from the
    median of C(x, y), is used in all three terms. When n = m the three
    problems are solved as one batch. Parameters are those of
    :func:`sinkhorn`; the work budget applies to each problem. Gradients are
    envelope gradients (module notes): each term contributes its plan, which
    is the exact gradient of the entropic variant and, for
    ``debias="transport"``, the gradient of the entropic objective in place
    of that of the transport term (POT differentiates through the
    iterations instead; the two agree as epsilon -> 0).

    Returns
    -------
    float, Tensor or DivergenceResult
        A float for NumPy inputs, a differentiable 0-d tensor for torch
        inputs; with ``return_result=True`` a :class:`DivergenceResult`.
    """
    check_choice(debias, DEBIAS, "debias")
    xs, ys, c, wa, wb, dt, out = _prepare(x, y, cost, a, b, dtype)
    tol_, iters, scaling, check = _check_options(tol, max_iter, scaling, check_convergence)
    n, m = xs.shape[0], ys.shape[0]
    with _intra_op_threads(n * m + n * n + m * m, xs.device):
        Cxy = c.pairwise(xs, ys)
        eps = _resolve_epsilon(epsilon, epsilon_rel, Cxy)
        Cxx = c.pairwise(xs, xs)
        Cyy = c.pairwise(ys, ys)
        args = (eps, tol_, iters, scaling, newton, dt, check, False, out)
        if n == m:
            res = _entropic_ot(
                torch.stack([Cxy, Cxx, Cyy]),
                torch.stack([wa, wa, wb]),
                torch.stack([wb, wa, wb]),
                *args,
            )
            parts = [_pick(res, k) for k in range(3)]
        else:
            parts = [
                _squeeze(_entropic_ot(C[None], u[None], v[None], *args))
                for C, u, v in ((Cxy, wa, wb), (Cxx, wa, wa), (Cyy, wb, wb))
            ]
    key = "entropic" if debias == "entropic" else "value"
    t_xy, t_xx, t_yy = (getattr(r, key) for r in parts)
    value = t_xy - 0.5 * (t_xx + t_yy)
    torch_out = is_tensor(x, y)
    if not return_result:
        return value if torch_out else float(value)
    f, g = parts[0].f - parts[1].f, parts[0].g - parts[2].g
    xy, xx, yy = (_to_kind(r, torch_out) for r in parts)
    return DivergenceResult(
        value=value if torch_out else float(value),
        xy=xy,
        xx=xx,
        yy=yy,
        f=as_array(f, torch_out, f.dtype, f.device),
        g=as_array(g, torch_out, g.dtype, g.device),
        debias=debias,
    )


def _pick(res: SinkhornResult, k: int) -> SinkhornResult:
    """Problem k of a batched result, as an unbatched result."""
    return SinkhornResult(
        value=res.value[k],
        entropic=res.entropic[k],
        f=res.f[k],
        g=res.g[k],
        plan=None if res.plan is None else res.plan[k],
        epsilon=res.epsilon,
        n_iter=res.n_iter,
        n_newton=res.n_newton,
        marginal_error=res.marginal_error,
        converged=res.converged,
    )
