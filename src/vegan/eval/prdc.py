"""Improved precision and recall (Kynkaanniemi et al. 2019), with k-NN manifolds.

Each set of features is turned into a manifold estimate: the union of balls
around its points, the radius of each ball being the distance to the point's
k-th nearest neighbour in its own set (the point itself not counted). Then

* precision = share of generated samples inside the real manifold
  (how many samples look real: quality);
* recall = share of real samples inside the generated manifold
  (how much of the data the model covers: diversity).

A set compared with itself has precision = recall = 1 (every point lies in
its own ball). k = 3 is the paper's default.
"""

from __future__ import annotations

import torch

from vegan.errors import ConfigError, ShapeError


def _as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(x).detach().cpu().double().flatten(1)


def knn_radii(x: torch.Tensor, k: int = 3, chunk: int = 1024) -> torch.Tensor:
    """Distance of every row of x (n, d) to its k-th nearest other row."""
    n = x.shape[0]
    if not 1 <= k < n:
        raise ConfigError(f"k must be between 1 and n - 1 = {n - 1}, got {k}")
    out = []
    for i in range(0, n, chunk):
        d = torch.cdist(x[i : i + chunk], x)
        # k + 1 smallest: the zero distance of a point to itself comes first
        out.append(d.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(out)


def _inside(points: torch.Tensor, centers: torch.Tensor, radii: torch.Tensor, chunk: int = 1024):
    """For each point: is it within radius of at least one center?"""
    hits = []
    for i in range(0, points.shape[0], chunk):
        d = torch.cdist(points[i : i + chunk], centers)
        hits.append((d <= radii[None, :] * (1 + 1e-9) + 1e-12).any(1))
    return torch.cat(hits)


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """(precision, recall) of samples ``fake`` against ``real`` (feature arrays (n, d))."""
    r, f = _as_tensor(real), _as_tensor(fake)
    if r.shape[1] != f.shape[1]:
        raise ShapeError(
            f"real and fake features differ in dimension: {r.shape[1]} vs {f.shape[1]}"
        )
    precision = _inside(f, r, knn_radii(r, k)).double().mean().item()
    recall = _inside(r, f, knn_radii(f, k)).double().mean().item()
    return precision, recall


__all__ = ["knn_radii", "precision_recall"]
