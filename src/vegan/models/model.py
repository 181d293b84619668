"""The one model: a prior P_Z and a generator P_G(Y|Z), plus whatever a recipe trains with.

Every recipe returns a :class:`GenerativeModel`. Its ``prior`` and ``decoder``
define P_G, the law of Y (eq. (3) of the VEGAN paper); the ``encoder`` exists
for the primal (auto-encoder) recipes; ``players`` are the parties of the
training game; ``parts`` hold the other networks (latent adversary, critic).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from vegan.errors import ConfigError, ShapeError
from vegan.models.priors import Prior


class GenerativeModel(nn.Module):
    """P_G = law of Y where Z ~ prior and Y ~ decoder(Z); optionally an encoder Q(Z|X)."""

    def __init__(
        self,
        config: Any,
        sample_shape: tuple[int, ...],
        prior: Prior,
        decoder: nn.Module,
        encoder: nn.Module | None = None,
        **parts: nn.Module,
    ) -> None:
        super().__init__()
        # The recipe's name is set by the registry that built the model (``@recipe``).
        self.recipe, self.config, self.sample_shape = "", config, tuple(sample_shape)
        self.prior, self.decoder, self.encoder = prior, decoder, encoder
        self.parts = nn.ModuleDict(parts)
        self.players: list = []

    @property
    def latent_dim(self) -> int:
        return self.prior.dim

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _check_x(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.sample_shape:
            raise ShapeError(
                f"the model takes samples of shape {self.sample_shape}, got {tuple(x.shape[1:])}"
            )
        return x.to(self.device, torch.float32)

    @torch.inference_mode()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        noise: bool | None = None,
        batch_size: int = 1000,
    ) -> torch.Tensor:
        """Draw n samples of P_G. ``noise`` adds the decoder's noise (default: only for vectors).

        Images are returned as the mean G(z), the field's convention; vector
        data as a draw of P_G(Y|Z).
        """
        if n <= 0:
            raise ConfigError(f"the number of samples must be > 0, got {n}")
        noise = (len(self.sample_shape) != 3) if noise is None else noise
        was_training = self.training
        self.eval()
        try:
            out = []
            for start in range(0, n, batch_size):
                z = self.prior.sample(min(batch_size, n - start), generator)
                h = self.decoder(z)
                out.append(self.decoder.sample(h) if noise else self.decoder.mean(h))
            return torch.cat(out).float()
        finally:
            self.train(was_training)

    @torch.inference_mode()
    def generate(
        self, z: torch.Tensor, noise: bool | None = None, batch_size: int = 1000
    ) -> torch.Tensor:
        """Samples of P_G(Y|Z=z) for given codes (the mean G(z) when ``noise`` is False)."""
        noise = (len(self.sample_shape) != 3) if noise is None else noise
        was_training = self.training
        self.eval()
        try:
            out = []
            for start in range(0, z.shape[0], batch_size):
                h = self.decoder(z[start : start + batch_size].to(self.device, torch.float32))
                out.append(self.decoder.sample(h) if noise else self.decoder.mean(h))
            if not out:
                return torch.empty(0, *self.sample_shape)
            return torch.cat(out).float()
        finally:
            self.train(was_training)

    @torch.inference_mode()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """G(z): the decoder's mean for codes z (n, d_z)."""
        was_training = self.training
        self.eval()
        try:
            return self.decoder.mean(self.decoder(z.to(self.device, torch.float32))).float()
        finally:
            self.train(was_training)

    @torch.inference_mode()
    def encode(self, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """Codes of x: the mean of Q(Z|X=x) for Gaussian encoders, a sample otherwise."""
        if self.encoder is None:
            raise ConfigError(f"recipe '{self.recipe}' has no encoder (it is a dual recipe)")
        x = self._check_x(x)
        was_training = self.training
        self.eval()
        try:
            return torch.cat(
                [
                    self.encoder(x[i : i + batch_size]).mean
                    if self.encoder.kind == "gaussian"
                    else self.encoder(x[i : i + batch_size]).z
                    for i in range(0, x.shape[0], batch_size)
                ]
            ).float()
        finally:
            self.train(was_training)

    def reconstruct(self, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """G(E(x)): decode the codes of x."""
        z = self.encode(x, batch_size)
        return torch.cat([self.decode(z[i : i + batch_size]) for i in range(0, len(z), batch_size)])
