"""The optimal-transport toolkit on its own: exact, Sinkhorn, sliced, closed forms and the dual.

    python examples/ot_toolkit.py

Checks each solver against an oracle and prints its time:

* Gaussians N(m1, S1), N(m2, S2): exact and Sinkhorn W2^2 on samples against
  the Bures formula (they converge as n grows; the gap at finite n is the
  sampling error of the empirical measures);
* a translation by v: W2^2 = |v|^2 exactly, SW2^2 = |v|^2 / d;
* one dimension: exact equals the quantile formula;
* W1 by a trained critic (dual, eq. (2)) against the exact W1.
"""

import os
import time

import numpy as np

import vegan
from vegan.ot import gaussian_w2, sinkhorn, sliced_wasserstein, wasserstein_1d
from vegan.ot.dual import dual_w1

QUICK = os.environ.get("VEGAN_DOCS_QUICK", "") not in ("", "0")
SIZES = (200,) if QUICK else (250, 1000, 4000)
CRITIC_STEPS = 20 if QUICK else 1000


def timed(f, *args, **kwargs):
    t0 = time.perf_counter()
    value = float(f(*args, **kwargs))
    return value, time.perf_counter() - t0


def main() -> None:
    rng = np.random.default_rng(0)
    d = 5
    m1, m2 = np.zeros(d), np.full(d, 0.5)
    S1, S2 = np.eye(d), np.diag(np.linspace(0.5, 2.0, d))
    print(f"Gaussians in d = {d}: Bures W2^2 = {gaussian_w2(m1, S1, m2, S2):.4f}")
    print(f"{'n':>6} {'exact':>9} {'s':>7} {'sinkhorn':>9} {'s':>7} {'sliced SW2^2':>12} {'s':>7}")
    for n in SIZES:
        x = rng.multivariate_normal(m1, S1, n)
        y = rng.multivariate_normal(m2, S2, n)
        ex, tex = timed(vegan.wasserstein, x, y, cost="l2sq", method="exact")
        sk, tsk = timed(sinkhorn, x, y, epsilon_rel=0.01)
        sl, tsl = timed(sliced_wasserstein, x, y, n_projections=200, power=True)
        print(f"{n:>6} {ex:>9.4f} {tex:>7.3f} {sk:>9.4f} {tsk:>7.3f} {sl:>12.4f} {tsl:>7.3f}")

    v = np.array([1.0, 2.0, 0.0, 0.0, 0.0])
    x = rng.normal(size=(300, d))
    print(
        f"translation |v|^2 = {v @ v:.4f}: exact {vegan.wasserstein(x, x + v):.4f}, "
        f"sliced {float(sliced_wasserstein(x, x + v, n_projections=2000, power=True)):.4f} "
        f"(|v|^2 / d = {v @ v / d:.4f})"
    )

    u, w = rng.exponential(size=500), rng.normal(size=500)
    print(
        f"1-D: quantile formula {wasserstein_1d(u, w, p=2):.6f}, "
        f"exact {vegan.wasserstein(u, w, cost='l2sq'):.6f}"
    )

    x = rng.normal(size=(1000, 2))
    y = x + np.array([0.6, 0.8])  # |v| = 1
    for constraint in ("gp", "clip"):
        est = dual_w1(x, y, constraint=constraint, steps=CRITIC_STEPS, seed=0)
        exact = vegan.wasserstein(x, y, cost="l2")
        print(f"dual W1 ({constraint}): {est:.4f}   exact W1: {exact:.4f}")


if __name__ == "__main__":
    main()
