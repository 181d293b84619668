"""The dual (Kantorovich-Rubinstein) estimate of W1 with a trained critic, eq. (2).

By Kantorovich-Rubinstein duality,

    W_1(P, Q) = sup_{T 1-Lipschitz} E_{X ~ P} T(X) - E_{Y ~ Q} T(Y),        eq. (2)

so training a network T to maximize the right-hand side, with the Lipschitz
constraint enforced approximately, gives an estimate of W_1. This is the
quantity a WGAN critic tracks. :func:`dual_w1` trains such a critic between
two sample sets and returns its value on them.

Critic estimates are biased, and how much is not known in advance:

* neither constraint makes T 1-Lipschitz. The gradient penalty is a soft
  constraint whose optimum is steeper than 1: for a linear critic and a
  translation by v its slope is 1 + |v| / (2 gp_weight), and the raw value
  overshoots W_1 by that factor. Clipping weights to [-c, c] makes T
  K-Lipschitz for an unknown K (far below 1 at the usual c = 0.01), so the
  raw value is on another scale altogether;
* the critic is a finite network trained for finitely many steps: it
  never reaches the supremum, which biases the value down;
* on finite samples the target itself, the empirical W_1, is biased upward.

:func:`dual_w1` therefore divides the raw value by the critic's slope
between the two sample sets (see ``normalize``): the result is a feasible
point of the dual linear program of the empirical problem, hence a lower
bound of the empirical W_1, and it approaches it from below as the critic
improves.

Mallasto et al. (2019, "How well do WGANs estimate the Wasserstein metric?")
and Stanczuk et al. (2021, "Wasserstein GANs work because they fail to
approximate the Wasserstein distance") found trained critics' values far
from the true W_1; Korotin et al. (2022) found no dual solver computing W_1
faithfully in high dimension. Use it as a critic's estimate, and
:func:`vegan.ot.wasserstein` (exact, network simplex) for the number itself
where the samples are small enough.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from vegan.errors import ConfigError
from vegan.ot.fp32 import as_float32, float32
from vegan.parallel import local_noise

__all__ = ["dual_w1", "gradient_penalty", "clip_weights", "kr_value", "pair_slope"]

CONSTRAINTS = ("gp", "clip")


@float32
def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float = 10.0,
    interpolates: torch.Tensor | None = None,
) -> torch.Tensor:
    """Two-sided gradient penalty of WGAN-GP, weight * E (|grad T(x_hat)| - 1)^2.

    x_hat = eps * real + (1 - eps) * fake with eps ~ U(0, 1) per sample
    (Gulrajani et al. 2017, Algorithm 1), the Lipschitz constraint of eq. (2)
    made a penalty. The graph is kept so the penalty can be minimized over
    the critic's parameters. For a linear critic T(x) = <w, x> + b the value
    is weight * (|w| - 1)^2 whatever the interpolates.

    Always computed in float32, mixed precision or not: autocast is off for
    the critic's pass at the interpolates and for the gradient of that pass
    (a second-order quantity, minimized through a double backward), and
    half-precision inputs are cast to float32 first (:mod:`vegan.ot.fp32`).

    Parameters
    ----------
    interpolates : tensor, optional
        Points at which to take the gradient, instead of random interpolates.
    """
    if interpolates is None:
        shape = [1] * (real.dim() - 1)
        eps = local_noise(lambda n: torch.rand(n, *shape, device=real.device), real.shape[0])
        interpolates = eps * real.detach() + (1.0 - eps) * fake.detach()
    x_hat = interpolates.detach().requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norm = grad.flatten(1).norm(dim=1)
    return weight * (norm - 1.0).pow(2).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` to [-c, c] in place (WGAN, Algorithm 1)."""
    for p in module.parameters():
        p.clamp_(-c, c)


def kr_value(critic_real: torch.Tensor, critic_fake: torch.Tensor) -> torch.Tensor:
    """E_X T(X) - E_Y T(Y): the Kantorovich-Rubinstein objective of eq. (2), in float32.

    Half-precision critic values (a mixed-precision step) are averaged in float32.
    """
    return as_float32(critic_real).mean() - as_float32(critic_fake).mean()


def _as_tensor(a, name: str, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a.detach())
    if t.dim() == 1:
        t = t[:, None]
    if t.dim() < 2 or t.shape[0] < 1:
        raise ConfigError(f"{name} must be samples of shape (n, d), got {tuple(t.shape)}")
    t = t.reshape(t.shape[0], -1).to(device, torch.float32)
    if not torch.isfinite(t).all():
        raise ConfigError(f"{name} contains NaN or inf values")
    return t


def pair_slope(t_x: torch.Tensor, t_y: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    """max over pairs (i, j) of (T(x_i) - T(y_j)) / |x_i - y_j|.

    Dividing T by this slope L > 0 makes (T / L (x_i), T / L (y_j)) feasible
    for the dual of the empirical transport problem (f_i - g_j <= |x_i - y_j|),
    so E_x T / L - E_y T / L is at most the empirical W_1 (weak duality).
    O(n m) time; rows are taken in chunks of at most 2^24 pairs.
    """
    best = -math.inf
    chunk = max(1, 2**24 // max(1, len(y)))
    for i in range(0, len(x), chunk):
        gap = t_x[i : i + chunk, None] - t_y[None, :]
        dist = torch.cdist(x[i : i + chunk], y).clamp_min(1e-12)
        best = max(best, float((gap / dist).max()))
    return best


def dual_w1(
    x,
    y,
    constraint: str = "gp",
    *,
    steps: int = 1000,
    batch_size: int = 256,
    hidden: int = 128,
    depth: int = 3,
    lr: float | None = None,
    gp_weight: float = 10.0,
    clip: float = 0.01,
    critic: nn.Module | None = None,
    seed: int = 0,
    normalize: bool = True,
    device: str | torch.device = "cpu",
    history_every: int = 0,
):
    """Estimate W_1(P, Q) from samples by training a critic T, eq. (2).

    Maximizes E_x T(x) - E_y T(y) over an MLP critic with the Lipschitz
    constraint ``constraint`` and returns that value on all of ``x`` and
    ``y``, divided by the critic's slope between the sets when ``normalize``
    (the default). See the module docstring for the bias of this estimate.

    Why normalize: neither constraint makes T 1-Lipschitz (the penalty's
    optimum is steeper than 1, clipping makes the slope arbitrary). With
    L = max_{i,j} (T(x_i) - T(y_j)) / |x_i - y_j| (:func:`pair_slope`), T / L
    is feasible for the dual linear program of the empirical problem, so the
    normalized value is a lower bound of the empirical W_1 whatever the
    critic, and equals it for an optimal one.

    Parameters
    ----------
    x, y : array-like, shape (n, d) and (m, d)
        Samples of P and Q (NumPy arrays or tensors; other shapes are
        flattened per sample). Uniform weights.
    constraint : {"gp", "clip"}
        ``"gp"``: two-sided gradient penalty ``gp_weight`` * E (|grad T| - 1)^2
        at random interpolates (Gulrajani et al. 2017), Adam(lr, betas=(0.5, 0.9)),
        default lr 1e-3. ``"clip"``: every parameter clamped to [-clip, clip]
        after each step (Arjovsky et al. 2017), RMSProp, default lr 5e-4;
        the raw value is then W_1 times an unknown Lipschitz constant.
    steps : int
        Critic updates.
    batch_size : int
        Samples of each set per update.
    hidden, depth : int
        Size of the default critic (``depth`` hidden layers of ``hidden``
        leaky-ReLU units, no normalisation).
    critic : nn.Module, optional
        Your own critic mapping (n, d) to (n,) or (n, 1); trained in place.
    normalize : bool
        Divide the value by the slope L of :func:`pair_slope` (see above;
        O(n m) time). False gives the raw E_x T(x) - E_y T(y) that a WGAN
        critic reports.
    seed : int
        Seeds the critic's initialization, the batches and the interpolates;
        the global RNG is left as it was. Same inputs and seed, same value (CPU).
    history_every : int
        If > 0, also return the value on the full sets every this many steps.

    Returns
    -------
    value : float
        (E_x T(x) - E_y T(y)) / L for the trained critic when that difference
        is positive (the raw difference otherwise, and without ``normalize``).
    history : numpy.ndarray, shape (k, 2)
        Only if ``history_every > 0``: rows (step, value), step 0 included.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(1000, 2))
    >>> dual_w1(x, x + [1.0, 0.0], steps=300)  # a little below W_1 = |v| = 1
    """
    from vegan.nets import MLP

    if constraint not in CONSTRAINTS:
        raise ConfigError(f"constraint must be 'gp' or 'clip', got '{constraint}'")
    if steps < 0 or batch_size < 1 or history_every < 0:
        raise ConfigError("steps and history_every must be >= 0 and batch_size >= 1")
    device = torch.device(device)
    xs, ys = _as_tensor(x, "x", device), _as_tensor(y, "y", device)
    if xs.shape[1] != ys.shape[1]:
        raise ConfigError(f"x and y have different dimensions ({xs.shape[1]} and {ys.shape[1]})")
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        if critic is None:
            critic = MLP(xs.shape[1], 1, hidden=hidden, depth=depth, act="leaky_relu")
        critic = critic.to(device)
        if constraint == "gp":
            opt = torch.optim.Adam(critic.parameters(), lr=lr or 1e-3, betas=(0.5, 0.9))
        else:
            opt = torch.optim.RMSprop(critic.parameters(), lr=lr or 5e-4)
            clip_weights(critic, clip)
        # Cosine decay of the learning rate: the last critics are the settled ones.
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda i: 0.5 * (1.0 + math.cos(math.pi * min(i / max(steps, 1), 1.0)))
        )

        def T(a: torch.Tensor) -> torch.Tensor:
            return critic(a).reshape(a.shape[0])

        def value() -> float:
            with torch.no_grad():
                tx = torch.cat([T(xs[i : i + 4096]) for i in range(0, len(xs), 4096)])
                ty = torch.cat([T(ys[i : i + 4096]) for i in range(0, len(ys), 4096)])
                raw = float(kr_value(tx, ty))
                if not normalize or raw <= 0:
                    return raw
                return raw / pair_slope(tx, ty, xs, ys)

        history = [(0, value())] if history_every else []
        bx, by = min(batch_size, len(xs)), min(batch_size, len(ys))
        for step in range(1, steps + 1):
            xb = xs[torch.randint(len(xs), (bx,), generator=gen).to(device)]
            yb = ys[torch.randint(len(ys), (by,), generator=gen).to(device)]
            loss = -kr_value(T(xb), T(yb))
            if constraint == "gp":
                n = min(bx, by)
                loss = loss + gradient_penalty(T, xb[:n], yb[:n], gp_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if constraint == "clip":
                clip_weights(critic, clip)
            if history_every and step % history_every == 0:
                history.append((step, value()))
        result = value()
    if history_every:
        return result, np.asarray(history, dtype=np.float64)
    return result
